/* pcache — the enricher's in-process product cache: a bounded LRU with a TTL
 * per entry, in front of Redis so a hot product costs no round trip.
 *
 * Entries are either a product or a negative entry ("Redis has no such
 * product"), so a post that keeps mentioning an unknown id does not hit Redis
 * every time either. The same structure, with negative entries only, bounds
 * the "already logged this missing id" set.
 *
 * Time is passed in by the caller (milliseconds, any monotonic origin), which
 * keeps the cache pure and lets tests step the clock. Not thread-safe: one
 * cache per stage loop.
 */
#ifndef SENSORY_ENRICHER_PCACHE_H
#define SENSORY_ENRICHER_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "product.h"

typedef struct pcache pcache_t;

/* A cache of at most capacity entries (>= 1), each valid for ttl_ms after it
 * was put. Caller owns the result (pcache_destroy). NULL on allocation failure
 * or capacity 0. */
pcache_t *pcache_new(size_t capacity, int64_t ttl_ms);

/* Frees the cache; NULL-safe. */
void pcache_destroy(pcache_t *c);

enum { PCACHE_MISS = 0, PCACHE_HIT = 1, PCACHE_NEGATIVE = 2 };

/* Looks id up at time now_ms. PCACHE_HIT: *out (may be NULL) points at the
 * cached product, owned by the cache and valid until the next call that
 * changes the cache. PCACHE_NEGATIVE: id is known to be absent. PCACHE_MISS:
 * unknown or expired (an expired entry is dropped). A hit refreshes recency,
 * not the TTL. */
int pcache_get(pcache_t *c, const char *id, int64_t now_ms, const product_t **out);

/* Stores a copy of p (p == NULL: a negative entry for id) with a fresh TTL,
 * replacing any entry for id and evicting the least recently used entry when
 * full. Returns 0, or -1 on allocation failure (the cache is unchanged). */
int pcache_put(pcache_t *c, const char *id, const product_t *p, int64_t now_ms);

/* Drops the entry for id, if any. */
void pcache_remove(pcache_t *c, const char *id);

/* Number of entries held (expired ones included until they are touched or evicted). */
size_t pcache_size(const pcache_t *c);

/* Counters since creation: evictions of live entries for room. */
uint64_t pcache_evictions(const pcache_t *c);

#endif
