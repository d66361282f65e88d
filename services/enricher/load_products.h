/* load_products — `enricher load-products FILE.jsonl|FILE.csv`: loads a
 * product catalogue into Redis (product:<id> hashes, newer-wins on
 * updated_at). */
#ifndef SENSORY_ENRICHER_LOAD_PRODUCTS_H
#define SENSORY_ENRICHER_LOAD_PRODUCTS_H

#include <stddef.h>

#include "net/redis.h"

/* Loads path in batches of batch rows. Returns the exit code: 0 when every
 * row loaded, 1 when some rows were bad or Redis failed, 2 for usage errors
 * (unknown format, unreadable file). Counts go to stdout, reasons to the log
 * (line numbers, never row values). */
int load_products(redis_t *store, const char *path, size_t batch);

#endif
