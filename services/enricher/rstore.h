/* rstore — the product store in Redis: one hash per product,
 *
 *   product:<id>  name, price, currency, category, updated_at (epoch ms)
 *
 * read with pipelined HMGETs (one round trip for all ids of a message) and
 * written by a small Lua script that compares updated_at and writes only a
 * newer version, so order replays and out-of-order partitions never move a
 * price backwards and two writers never interleave.
 *
 * The connection is made lazily and remade after any I/O error: a call on a
 * broken or absent connection first tries to (re)connect; if that fails it
 * returns -1 and the caller retries later. Not thread-safe.
 */
#ifndef SENSORY_ENRICHER_RSTORE_H
#define SENSORY_ENRICHER_RSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "product.h"

/* A parsed REDIS_URL: redis://[[user]:password@]host[:port][/db]. */
typedef struct rstore_url {
  char host[256];
  int port;
  int db;
  char user[128];     /* empty: the default user */
  char password[256]; /* empty: no AUTH */
} rstore_url_t;

/* Parses url into *out (percent-escapes in user and password decoded).
 * Returns 0, or -1 with errstr (which never repeats the password). */
int rstore_url_parse(const char *url, rstore_url_t *out, char *errstr, size_t errstr_size);

typedef struct rstore rstore_t;

/* A store for url; password (may be NULL) overrides the URL's, e.g. from a
 * Secret file. timeout_ms bounds connecting and every reply. Does not
 * connect. Caller owns the result (rstore_destroy); NULL + errstr on a bad URL. */
rstore_t *rstore_new(const char *url, const char *password, int64_t timeout_ms, char *errstr,
                     size_t errstr_size);

/* Closes the connection and frees; NULL-safe. */
void rstore_destroy(rstore_t *s);

/* Connects now if not connected (AUTH and SELECT included). Returns 0 or -1. */
int rstore_connect(rstore_t *s, char *errstr, size_t errstr_size);

/* enr_store_t.fetch over Redis (ctx is the rstore_t). */
int rstore_fetch(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
                 char *errstr, size_t errstr_size);

/* enr_store_t.update over Redis (ctx is the rstore_t). */
int rstore_update(void *ctx, const product_t *p, int64_t updated_at_ms, int *applied, char *errstr,
                  size_t errstr_size);

/* Writes n products in one pipelined round trip, each with the same
 * newer-wins rule (updated_at_ms[i]). Adds to *applied and *stale. Returns 0,
 * or -1 (connection lost: the batch may be partly written; rerunning the load
 * is safe). */
int rstore_load(rstore_t *s, const product_t *ps, const int64_t *updated_at_ms, size_t n,
                size_t *applied, size_t *stale, char *errstr, size_t errstr_size);

#endif
