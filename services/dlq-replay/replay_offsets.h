/* replay_offsets — the in-order offset tracker of `replay`: which offset of
 * each dead-letter partition the consumer group may move to. A letter is
 * tracked when it is handled and acknowledged when its replay is delivered
 * (or when it needs none: skipped by the filter, refused with
 * --skip-refused); the offset to commit only ever moves past a run of
 * acknowledged letters, never past one that is unacknowledged, failed or
 * refused. Pure bookkeeping: no Kafka, no I/O, one thread.
 */
#ifndef DLQ_REPLAY_OFFSETS_H
#define DLQ_REPLAY_OFFSETS_H

#include <stdint.h>

typedef struct replay_offsets replay_offsets_t;

/* A tracker with no partitions; partitions appear on their first track.
 * Owned by the caller (replay_offsets_destroy). NULL when out of memory. */
replay_offsets_t *replay_offsets_new(void);

/* Frees the tracker; NULL is accepted. */
void replay_offsets_destroy(replay_offsets_t *t);

/* Starts tracking offset of partition as not acknowledged. A partition's
 * offsets must be tracked in ascending order (the order they are read).
 * Returns 0, or -1 when out of memory or offset is not above the last one
 * tracked for partition. */
int replay_offsets_track(replay_offsets_t *t, int32_t partition, int64_t offset);

/* Marks a tracked offset acknowledged. Returns 0, or -1 when it is not
 * tracked (never was, or already passed by replay_offsets_next). */
int replay_offsets_ack(replay_offsets_t *t, int32_t partition, int64_t offset);

/* Forgets the acknowledged offsets at the head of partition and returns the
 * offset to commit after them (the last one + 1), or -1 when there is nothing
 * new to commit (the oldest tracked offset is unacknowledged, or nothing is
 * tracked). */
int64_t replay_offsets_next(replay_offsets_t *t, int32_t partition);

#endif
