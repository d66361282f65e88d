/* offsets — the in-order offset tracker: which position of a partition may be
 * stored (committed) now that some of its messages are finished.
 *
 * Messages finish out of order (a later message's outputs are acknowledged
 * before an earlier one's), but a consumer position means "everything before
 * it is done". So every tracked message waits in its partition's queue, in
 * consumption order, and a partition's position moves only over the finished
 * prefix of that queue. The stage loop (outputs acknowledged, or the store
 * committed) and dlq-replay (replays acknowledged) both use it.
 *
 * Entries are intrusive: embed an offsets_entry_t in your per-message struct
 * and recover it with OFFSETS_CONTAINER_OF() in the release callback, so
 * tracking costs no allocation per message. Partitions are unbounded in
 * number (one small allocation each, on first use).
 *
 * Not thread-safe: one tracker per consumer loop. Nothing here logs.
 */
#ifndef SENSORY_KAFKA_OFFSETS_H
#define SENSORY_KAFKA_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct offsets offsets_t;
typedef struct offsets_part offsets_part_t;

/* One tracked message; embed it, zero-initialised, in your own struct. The
 * fields are the tracker's. */
typedef struct offsets_entry {
  struct offsets_entry *next;
  offsets_part_t *part; /* NULL once its partition was forgotten */
  int64_t offset;
  int done;
} offsets_entry_t;

#define OFFSETS_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Called for every entry leaving the tracker (finished prefix popped, or a
 * forgotten partition's finished entries): the owner frees its struct here. */
typedef void (*offsets_release_fn)(void *ctx, offsets_entry_t *e);

/* Called when a partition's position moved: next is the offset after the last
 * finished message of the prefix (what a consumer stores/commits). */
typedef void (*offsets_advance_fn)(void *ctx, const char *topic, int32_t partition, int64_t next);

/* A tracker; release and advance may be NULL. Caller owns the result
 * (offsets_destroy); NULL on allocation failure. */
offsets_t *offsets_new(offsets_release_fn release, offsets_advance_fn advance, void *ctx);

/* Releases every entry still queued (finished or not, without advancing)
 * and frees the tracker; NULL is accepted. Orphans of forgotten partitions
 * are no longer the tracker's: their owners free them. */
void offsets_destroy(offsets_t *o);

/* Starts tracking e (zeroed by the caller, or reused after release) as the
 * message at (topic, partition, offset), behind every message tracked for that
 * partition before. Returns 0, or -1 on allocation failure (first message of
 * a new partition only). */
int offsets_track(offsets_t *o, offsets_entry_t *e, const char *topic, int32_t partition,
                  int64_t offset);

/* Marks e finished. Pops the finished prefix of its partition (release for
 * each) and reports the new position through advance. An entry whose
 * partition was forgotten is released at once, without advancing. */
void offsets_done(offsets_t *o, offsets_entry_t *e);

/* Forgets (topic, partition), e.g. on revocation: finished entries are
 * released; unfinished ones stay with their owners as orphans (released when
 * they finish, never advancing a position the next owner of the partition
 * now holds). Unknown partitions are ignored. */
void offsets_forget(offsets_t *o, const char *topic, int32_t partition);

/* Messages tracked and not yet released, over all partitions. */
size_t offsets_pending(const offsets_t *o);

#endif
