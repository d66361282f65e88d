#include "pcache.h"

#include <stdlib.h>
#include <string.h>

/* One entry: in a hash chain (next) and in the recency list (prev/newer).
 * Owned by the cache. */
typedef struct pnode {
  struct pnode *chain;
  struct pnode *older, *newer;
  int negative;
  int64_t expires_ms;
  product_t p; /* p.id is the key, also for negative entries */
} pnode_t;

struct pcache {
  pnode_t **buckets;
  size_t nbuckets; /* power of two, >= 2 * capacity */
  size_t capacity, count;
  int64_t ttl_ms;
  pnode_t *newest, *oldest;
  uint64_t evictions;
};

static uint64_t hash_id(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

pcache_t *pcache_new(size_t capacity, int64_t ttl_ms) {
  if (capacity == 0 || capacity > ((size_t)1 << 40))
    return NULL;
  pcache_t *c = calloc(1, sizeof(*c)); /* caller owns: pcache_destroy() */
  if (!c)
    return NULL;
  c->nbuckets = 16;
  while (c->nbuckets < capacity * 2)
    c->nbuckets <<= 1;
  c->capacity = capacity;
  c->ttl_ms = ttl_ms;
  if (!(c->buckets = calloc(c->nbuckets, sizeof(*c->buckets)))) {
    free(c);
    return NULL;
  }
  return c;
}

static void node_free(pnode_t *n) {
  product_clear(&n->p);
  free(n);
}

void pcache_destroy(pcache_t *c) {
  if (!c)
    return;
  pnode_t *n = c->newest;
  while (n) {
    pnode_t *next = n->older;
    node_free(n);
    n = next;
  }
  free(c->buckets);
  free(c);
}

static void list_unlink(pcache_t *c, pnode_t *n) {
  if (n->newer)
    n->newer->older = n->older;
  else
    c->newest = n->older;
  if (n->older)
    n->older->newer = n->newer;
  else
    c->oldest = n->newer;
  n->newer = n->older = NULL;
}

static void list_push_newest(pcache_t *c, pnode_t *n) {
  n->older = c->newest;
  n->newer = NULL;
  if (c->newest)
    c->newest->newer = n;
  c->newest = n;
  if (!c->oldest)
    c->oldest = n;
}

static pnode_t **slot_of(pcache_t *c, const char *id) {
  pnode_t **slot = &c->buckets[hash_id(id) & (c->nbuckets - 1)];
  while (*slot && strcmp((*slot)->p.id, id) != 0)
    slot = &(*slot)->chain;
  return slot;
}

/* Unlinks and frees the node in *slot. */
static void drop(pcache_t *c, pnode_t **slot) {
  pnode_t *n = *slot;
  *slot = n->chain;
  list_unlink(c, n);
  node_free(n);
  c->count--;
}

int pcache_get(pcache_t *c, const char *id, int64_t now_ms, const product_t **out) {
  pnode_t **slot = slot_of(c, id);
  if (!*slot)
    return PCACHE_MISS;
  pnode_t *n = *slot;
  if (now_ms >= n->expires_ms) {
    drop(c, slot);
    return PCACHE_MISS;
  }
  list_unlink(c, n);
  list_push_newest(c, n);
  if (n->negative)
    return PCACHE_NEGATIVE;
  if (out)
    *out = &n->p;
  return PCACHE_HIT;
}

int pcache_put(pcache_t *c, const char *id, const product_t *p, int64_t now_ms) {
  if (strlen(id) > PRODUCT_ID_MAX)
    return -1;
  pnode_t *n = calloc(1, sizeof(*n)); /* owned by the cache from here on */
  if (!n)
    return -1;
  if (p && product_copy(&n->p, p) != 0) {
    free(n);
    return -1;
  }
  memset(n->p.id, 0, sizeof(n->p.id));
  memcpy(n->p.id, id, strlen(id));
  n->negative = p == NULL;
  n->expires_ms = now_ms + c->ttl_ms;

  pnode_t **slot = slot_of(c, id);
  if (*slot)
    drop(c, slot);
  if (c->count >= c->capacity) {
    /* Evict the least recently used; an expired one is not counted as an eviction. */
    pnode_t *victim = c->oldest;
    if (now_ms < victim->expires_ms)
      c->evictions++;
    drop(c, slot_of(c, victim->p.id));
  }
  slot = slot_of(c, id);
  *slot = n;
  list_push_newest(c, n);
  c->count++;
  return 0;
}

void pcache_remove(pcache_t *c, const char *id) {
  pnode_t **slot = slot_of(c, id);
  if (*slot)
    drop(c, slot);
}

size_t pcache_size(const pcache_t *c) {
  return c->count;
}

uint64_t pcache_evictions(const pcache_t *c) {
  return c->evictions;
}
