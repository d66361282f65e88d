/* scr_source — the sources of scraper-ingest, one small file each, and the
 * helpers they share. A source runs once per process run: it reads its
 * cursor, fetches pages, emits records with scr_emit(), checkpoints after
 * every page and leaves its outcome in st->status / st->error.
 *
 * The mappers (scr_map_*) are pure: API JSON in, source-contract records
 * out, no I/O, so unit tests drive them with the documented payloads. They
 * map what is there and leave a field out when the API lacks it; the schema
 * check then dead-letters the record naming that field.
 */
#ifndef SCR_SOURCE_H
#define SCR_SOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "scr_http.h"
#include "scr_run.h"

typedef void (*scr_source_fn)(scr_run_t *run, scr_stats_t *st);

typedef struct scr_source_def {
  const char *name;  /* config name and lock/cursor name */
  const char *topic; /* where its records go */
  scr_source_fn run;
} scr_source_def_t;

/* The API sources, by name; NULL for an unknown name. */
const scr_source_def_t *scr_source_find(const char *name);

/* File / stdin source: path "-" is stdin (no cursor). */
void scr_src_file(scr_run_t *run, scr_stats_t *st, const char *path, const char *topic);

void scr_src_shopify(scr_run_t *run, scr_stats_t *st);
void scr_src_daraz(scr_run_t *run, scr_stats_t *st);
void scr_src_weather(scr_run_t *run, scr_stats_t *st);
void scr_src_facebook(scr_run_t *run, scr_stats_t *st);
void scr_src_tiktok(scr_run_t *run, scr_stats_t *st);

/* An HTTP client with the run's timeouts/retries and the given rate. NULL
 * with st->status/st->error set. */
scr_http_t *scr_source_http(const scr_run_t *run, scr_stats_t *st, double rate_per_sec);

/* Folds a client's counters into st and frees it (NULL-safe). */
void scr_source_http_done(scr_http_t *h, scr_stats_t *st);

/* Maps an HTTP failure to the source status and error text. */
void scr_source_http_fail(scr_stats_t *st, int http_rc, const char *what, const char *err);

/* Formats a UNIX time as RFC 3339 UTC ("2022-08-30T14:43:12Z"). out >= 32. */
void scr_time_rfc3339(int64_t t, char *out, size_t out_size);

/* Normalises a timestamp to RFC 3339: accepts RFC 3339 itself and the
 * "+0000" / " +0800" / "YYYY-MM-DD HH:MM:SS +0800" offsets some APIs use.
 * Returns 0, or -1 when it is not a recognisable timestamp. */
int scr_time_normalise(const char *in, char *out, size_t out_size);

/* Reads a JSON number or numeric string ("199.00", "1,500.00") as a double.
 * Returns 0, or -1 when absent or not numeric. */
int scr_json_number(const json_t *v, double *out);

/* A JSON string, integer or real as text (ids come as either). Returns 0, or -1. */
int scr_json_id(const json_t *v, char *out, size_t out_size);

/* Appends the #hashtags of text (without '#', deduplicated, at most 100) to
 * the array arr. */
void scr_hashtags_from_text(const char *text, json_t *arr);

#endif
