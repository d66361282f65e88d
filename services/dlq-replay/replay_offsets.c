/* replay_offsets — per partition, a queue of the offsets handled and not yet
 * covered by a committable offset, in offset order; see replay_offsets.h.
 * Delivery reports arrive in any order across partitions, so an
 * acknowledgement is found by binary search in its partition's queue. */
#include "replay_offsets.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
  int64_t offset;
  int acked;
} entry_t;

typedef struct part {
  int32_t partition;
  entry_t *q; /* q[head .. head + count) are live, ascending */
  size_t head, count, cap;
  int64_t last; /* last offset tracked, -1 before the first */
} part_t;

struct replay_offsets {
  part_t *parts;
  size_t nparts, cap;
};

replay_offsets_t *replay_offsets_new(void) {
  return calloc(1, sizeof(replay_offsets_t)); /* owned by the caller */
}

void replay_offsets_destroy(replay_offsets_t *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->nparts; i++)
    free(t->parts[i].q);
  free(t->parts);
  free(t);
}

/* A topic has few partitions: a linear search is the fast path. */
static part_t *part_find(replay_offsets_t *t, int32_t partition) {
  for (size_t i = 0; i < t->nparts; i++)
    if (t->parts[i].partition == partition)
      return &t->parts[i];
  return NULL;
}

static part_t *part_get(replay_offsets_t *t, int32_t partition) {
  part_t *p = part_find(t, partition);
  if (p)
    return p;
  if (t->nparts == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    part_t *parts = realloc(t->parts, cap * sizeof(*parts));
    if (!parts)
      return NULL;
    t->parts = parts;
    t->cap = cap;
  }
  p = &t->parts[t->nparts++];
  *p = (part_t){.partition = partition, .last = -1};
  return p;
}

int replay_offsets_track(replay_offsets_t *t, int32_t partition, int64_t offset) {
  part_t *p = part_get(t, partition);
  if (!p || offset <= p->last)
    return -1;
  if (p->head > 0 && p->head + p->count == p->cap) {
    memmove(p->q, p->q + p->head, p->count * sizeof(*p->q));
    p->head = 0;
  }
  if (p->head + p->count == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    entry_t *q = realloc(p->q, cap * sizeof(*q));
    if (!q)
      return -1;
    p->q = q;
    p->cap = cap;
  }
  p->q[p->head + p->count++] = (entry_t){offset, 0};
  p->last = offset;
  return 0;
}

int replay_offsets_ack(replay_offsets_t *t, int32_t partition, int64_t offset) {
  part_t *p = part_find(t, partition);
  if (!p)
    return -1;
  size_t lo = p->head, hi = p->head + p->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->q[mid].offset == offset) {
      p->q[mid].acked = 1;
      return 0;
    }
    if (p->q[mid].offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

int64_t replay_offsets_next(replay_offsets_t *t, int32_t partition) {
  part_t *p = part_find(t, partition);
  int64_t next = -1;
  while (p && p->count && p->q[p->head].acked) {
    next = p->q[p->head].offset + 1;
    p->head++;
    p->count--;
  }
  return next;
}
