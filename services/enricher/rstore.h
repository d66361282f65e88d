/* rstore — the product store in Redis: one hash per product,
 *
 *   product:<id>  name, price, currency, category, updated_at (epoch ms)
 *
 * read with pipelined HMGETs (one round trip for all ids of a message) and
 * written by a small Lua script that compares updated_at and writes only a
 * newer version, so order replays and out-of-order partitions never move a
 * price backwards and two writers never interleave.
 *
 * The connection, its URL, timeouts and reconnects belong to the shared
 * client (net/redis.h): a call while Redis is down returns -1 and the caller
 * retries later. Not thread-safe (one client per thread).
 */
#ifndef SENSORY_ENRICHER_RSTORE_H
#define SENSORY_ENRICHER_RSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "net/redis.h"
#include "product.h"

/* enr_store_t.fetch over Redis (ctx is the redis_t). A server error other
 * than WRONGTYPE (the key is not a hash: that product is ENR_INVALID) fails
 * the whole lookup, so the message is retried. */
int rstore_fetch(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
                 char *errstr, size_t errstr_size);

/* enr_store_t.update over Redis (ctx is the redis_t). */
int rstore_update(void *ctx, const product_t *p, int64_t updated_at_ms, int *applied, char *errstr,
                  size_t errstr_size);

/* Writes n products in one pipelined round trip, each with the same
 * newer-wins rule (updated_at_ms[i]). Adds to *applied and *stale. Returns 0,
 * or -1 (connection lost or a write refused: the batch may be partly written;
 * rerunning it is safe). */
int rstore_load(redis_t *r, const product_t *ps, const int64_t *updated_at_ms, size_t n,
                size_t *applied, size_t *stale, char *errstr, size_t errstr_size);

#endif
