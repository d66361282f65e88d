/* offsets — per-partition queues of tracked messages in consumption order,
 * found through a small open-addressing hash table keyed by (topic,
 * partition). A partition's queue is a singly linked list threaded through
 * the callers' entries, so tracking allocates nothing per message. */
#include "kafka/offsets.h"

#include <stdlib.h>
#include <string.h>

struct offsets_part {
  char *topic;
  int32_t partition;
  uint64_t hash;
  offsets_entry_t *head, *tail;
};

struct offsets {
  offsets_part_t **slots; /* open addressing, linear probing; NULL = empty */
  size_t nslots, nparts;
  offsets_part_t *last; /* the partition of the previous call: usually the next one's too */
  size_t pending;
  offsets_release_fn release;
  offsets_advance_fn advance;
  void *ctx;
};

static uint64_t part_hash(const char *topic, int32_t partition) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return (h ^ (uint32_t)partition) * 1099511628211ULL;
}

offsets_t *offsets_new(offsets_release_fn release, offsets_advance_fn advance, void *ctx) {
  offsets_t *o = calloc(1, sizeof(*o)); /* caller owns: offsets_destroy() */
  if (!o)
    return NULL;
  o->nslots = 64;
  if (!(o->slots = calloc(o->nslots, sizeof(*o->slots)))) {
    free(o);
    return NULL;
  }
  o->release = release;
  o->advance = advance;
  o->ctx = ctx;
  return o;
}

static void release_entry(offsets_t *o, offsets_entry_t *e) {
  o->pending--;
  if (o->release)
    o->release(o->ctx, e);
}

void offsets_destroy(offsets_t *o) {
  if (!o)
    return;
  for (size_t i = 0; i < o->nslots; i++) {
    offsets_part_t *p = o->slots[i];
    if (!p)
      continue;
    for (offsets_entry_t *e = p->head, *next; e; e = next) {
      next = e->next;
      release_entry(o, e);
    }
    free(p->topic);
    free(p);
  }
  free(o->slots);
  free(o);
}

static int grow(offsets_t *o) {
  size_t n = o->nslots * 2;
  offsets_part_t **slots = calloc(n, sizeof(*slots));
  if (!slots)
    return -1;
  for (size_t i = 0; i < o->nslots; i++) {
    offsets_part_t *p = o->slots[i];
    if (!p)
      continue;
    size_t j = p->hash & (n - 1);
    while (slots[j])
      j = (j + 1) & (n - 1);
    slots[j] = p;
  }
  free(o->slots);
  o->slots = slots;
  o->nslots = n;
  return 0;
}

/* The slot holding (topic, partition), or the empty slot where it belongs. */
static size_t find_slot(const offsets_t *o, const char *topic, int32_t partition, uint64_t h) {
  size_t i = h & (o->nslots - 1);
  while (o->slots[i] &&
         !(o->slots[i]->partition == partition && strcmp(o->slots[i]->topic, topic) == 0))
    i = (i + 1) & (o->nslots - 1);
  return i;
}

static offsets_part_t *part_get(offsets_t *o, const char *topic, int32_t partition, int create) {
  offsets_part_t *last = o->last;
  if (last && last->partition == partition && strcmp(last->topic, topic) == 0)
    return last;
  uint64_t h = part_hash(topic, partition);
  size_t i = find_slot(o, topic, partition, h);
  if (o->slots[i] || !create)
    return o->last = o->slots[i];
  /* Keep the table at most half full so probes stay short. */
  if ((o->nparts + 1) * 2 > o->nslots) {
    if (grow(o) != 0)
      return NULL;
    i = find_slot(o, topic, partition, h);
  }
  offsets_part_t *p = calloc(1, sizeof(*p)); /* owned by the table */
  if (!p || !(p->topic = strdup(topic))) {
    free(p);
    return NULL;
  }
  p->partition = partition;
  p->hash = h;
  o->slots[i] = p;
  o->nparts++;
  return o->last = p;
}

int offsets_track(offsets_t *o, offsets_entry_t *e, const char *topic, int32_t partition,
                  int64_t offset) {
  offsets_part_t *p = part_get(o, topic, partition, 1);
  if (!p)
    return -1;
  e->next = NULL;
  e->part = p;
  e->offset = offset;
  e->done = 0;
  if (p->tail)
    p->tail->next = e;
  else
    p->head = e;
  p->tail = e;
  o->pending++;
  return 0;
}

void offsets_done(offsets_t *o, offsets_entry_t *e) {
  e->done = 1;
  offsets_part_t *p = e->part;
  if (!p) { /* an orphan of a forgotten partition */
    release_entry(o, e);
    return;
  }
  int64_t next = -1;
  while (p->head && p->head->done) {
    offsets_entry_t *h = p->head;
    p->head = h->next;
    next = h->offset + 1;
    release_entry(o, h);
  }
  if (!p->head)
    p->tail = NULL;
  if (next >= 0 && o->advance)
    o->advance(o->ctx, p->topic, p->partition, next);
}

void offsets_forget(offsets_t *o, const char *topic, int32_t partition) {
  offsets_part_t *p = part_get(o, topic, partition, 0);
  if (!p)
    return;
  for (offsets_entry_t *e = p->head, *next; e; e = next) {
    next = e->next;
    e->next = NULL;
    e->part = NULL;
    if (e->done)
      release_entry(o, e);
  }
  p->head = p->tail = NULL;
}

size_t offsets_pending(const offsets_t *o) {
  return o ? o->pending : 0;
}
