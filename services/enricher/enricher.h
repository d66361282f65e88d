/* enricher — the enricher's transform: a clean post plus the metadata of the
 * products it mentions, and the text the embedder will turn into a vector:
 *
 *   clean.social          → enriched.social (validated against enriched_post)
 *   sink.snowflake.orders → no output; the product's latest name and price are
 *                           written to the store when the order is newer
 *
 * Product metadata comes from a store (Redis in production, a fake in unit
 * tests) through enr_store_t, behind a bounded LRU+TTL cache: ids the cache
 * cannot answer are fetched in one call (one Redis round trip) per message.
 * A missing product is not an error: the post goes on without that context,
 * counted and logged once per id per interval (the set of logged ids is an
 * LRU of missing_log_ids entries, so memory stays bounded however many
 * unknown ids arrive). An unreachable store is:
 * the transform returns STAGE_RETRY so nothing is emitted or committed.
 *
 * Single-threaded, like the stage loop that calls it.
 */
#ifndef SENSORY_ENRICHER_H
#define SENSORY_ENRICHER_H

#include <stddef.h>
#include <stdint.h>

#include "net/metrics.h"
#include "product.h"
#include "stage/stage.h"

enum { ENR_ABSENT = 0, ENR_FOUND = 1, ENR_INVALID = 2 };

/* Where products live. Both functions return 0, or -1 when the store cannot
 * be reached (errstr says why; the caller retries later). */
typedef struct enr_store {
  /* Looks up n ids in one round trip: state[i] is ENR_FOUND (out[i] filled,
   * the caller product_clear()s it), ENR_ABSENT or ENR_INVALID (present but
   * unusable, e.g. no price). */
  int (*fetch)(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
               char *errstr, size_t errstr_size);
  /* Writes p's name, price and currency (and category when set) if
   * updated_at_ms is newer than the stored version, atomically; *applied
   * tells whether it was. */
  int (*update)(void *ctx, const product_t *p, int64_t updated_at_ms, int *applied, char *errstr,
                size_t errstr_size);
  void *ctx;
} enr_store_t;

typedef struct enricher_options {
  const char *schemas_dir; /* clean_social_post, clean_market_order, enriched_post */
  enr_store_t store;       /* ctx borrowed; must outlive the enricher */
  size_t cache_size;       /* entries, >= 1 */
  int64_t cache_ttl_ms;
  int64_t missing_log_interval_ms; /* a missing id is logged at most once per interval */
  size_t missing_log_ids;          /* how many ids that suppression remembers */
  metrics_t *metrics;              /* may be NULL */
  int64_t (*now_ms)(void);         /* NULL: CLOCK_MONOTONIC; tests step their own clock */
} enricher_options_t;

typedef struct enricher enricher_t;

/* Loads the schemas and builds the caches. Caller owns the result
 * (enricher_destroy). NULL + errstr on a schema error or bad option. */
enricher_t *enricher_new(const enricher_options_t *opts, char *errstr, size_t errstr_size);

/* Frees the enricher; NULL-safe. */
void enricher_destroy(enricher_t *e);

/* The stage transform (ctx is the enricher_t). */
int enricher_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                       stage_fail_t *fail);

/* The text to embed: one "[Product: NAME PRICE CUR]" per product, in the
 * order given, then a space and content. Names have control characters and
 * runs of white space collapsed to one space. Products that would push the
 * text past max_codepoints are left out (whole, never cut). n may be 0 (the
 * text is content alone). Caller frees; NULL on allocation failure. */
char *enricher_text(const product_t *products, size_t n, const char *content,
                    size_t max_codepoints);

/* Formats a price the way people write it: "5000", "1299.5", "0.25"
 * (at most two decimals, no trailing zeros). */
void enricher_format_price(double price, char *out, size_t out_size);

/* The ids of a product_mentions array, first occurrence order, duplicates
 * and non-strings dropped. Fills ids (borrowed from the array) and returns
 * the count (at most max). */
size_t enricher_unique_ids(const json_t *mentions, const char **ids, size_t max);

/* Test and operator hooks: cache statistics. */
size_t enricher_cache_size(const enricher_t *e);
uint64_t enricher_cache_evictions(const enricher_t *e);

#endif
