/* loader — parsing of the operator's product files for `enricher
 * load-products FILE`: JSON lines or CSV with a header row, one product per
 * row. Pure: reads a FILE*, never touches Redis, so bad rows are unit-tested.
 *
 * Fields (CSV header names = JSON member names): id, name, price (required);
 * currency (default BDT), category, updated_at (RFC 3339 or epoch
 * milliseconds; optional). Unknown CSV columns and JSON members are ignored,
 * so a catalogue export with extra columns loads as is.
 */
#ifndef SENSORY_ENRICHER_LOADER_H
#define SENSORY_ENRICHER_LOADER_H

#include <stdint.h>
#include <stdio.h>

#include "product.h"

typedef enum { LOADER_JSONL = 1, LOADER_CSV = 2 } loader_format_t;

/* The format from a file name: .jsonl/.ndjson/.json → JSONL, .csv → CSV.
 * Returns 0, or -1 with errstr for any other name. */
int loader_format_for(const char *path, loader_format_t *out, char *errstr, size_t errstr_size);

typedef struct loader loader_t;

/* A reader of rows from f (borrowed; the caller closes it). NULL on allocation failure. */
loader_t *loader_new(FILE *f, loader_format_t format);

/* Frees the reader; NULL-safe. */
void loader_destroy(loader_t *l);

enum { LOADER_ROW = 1, LOADER_EOF = 0, LOADER_BAD_ROW = -1, LOADER_FATAL = -2 };

/* Reads the next row. LOADER_ROW: *p filled (caller owns, product_clear())
 * and *updated_at_ms set (-1 when the row has none). LOADER_BAD_ROW: errstr
 * says "line N: why" (never the row's values); reading may go on.
 * LOADER_FATAL: the file cannot be read further (I/O error, CSV header
 * without id/name/price); errstr says why. LOADER_EOF at the end. */
int loader_next(loader_t *l, product_t *p, int64_t *updated_at_ms, char *errstr,
                size_t errstr_size);

#endif
