/* replay_kafka — the Kafka side of dlq-replay: clients configured like the
 * stages' (common/stage/stage_kafka.c: JSON log callback, pass-through properties
 * with "consumer."/"producer." prefixes), and a bounded reader that reads a
 * dead-letter topic from a start position to the high watermark seen when it
 * opened, then stops — an operator command must end, not wait for new letters.
 */
#ifndef DLQ_REPLAY_KAFKA_H
#define DLQ_REPLAY_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef struct replay_kafka_opts {
  const char *brokers;
  const conf_kv_t *props; /* pass-through librdkafka properties, may be NULL */
  size_t prop_count;
  int64_t timeout_ms; /* metadata, watermarks, commit, flush, and "no progress" */
} replay_kafka_opts_t;

/* Creates a consumer that never commits on its own (enable.auto.commit and
 * enable.auto.offset.store are false whatever the pass-through says). group
 * may be NULL (list, show, --no-commit): the consumer then carries the group
 * id "dlq-replay-reader" only because assign() needs one, and never commits
 * or reads that group's offsets.
 * Returns NULL with errstr on a bad property or client failure. */
rd_kafka_t *replay_kafka_consumer(const replay_kafka_opts_t *o, const char *group, char *errstr,
                                  size_t errstr_size);

/* Creates an idempotent producer whose delivery reports go to dr_cb with
 * opaque as the client opaque. Returns NULL with errstr on failure. */
rd_kafka_t *replay_kafka_producer(const replay_kafka_opts_t *o,
                                  void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                                  void *opaque, char *errstr, size_t errstr_size);

typedef struct replay_reader replay_reader_t;

/* Opens topic on consumer for reading, every partition (partition < 0) or one,
 * from: offset when offset >= 0 (one partition only), else the group's
 * committed offset when use_committed, else the low watermark; up to the high
 * watermark queried now. Fails (NULL, errstr) when the topic or partition
 * does not exist, the broker does not answer within timeout_ms, or offset is
 * outside the partition's range. The consumer is borrowed and must outlive
 * the reader. */
replay_reader_t *replay_reader_open(rd_kafka_t *consumer, const char *topic, int32_t partition,
                                    int64_t offset, int use_committed, int64_t timeout_ms,
                                    char *errstr, size_t errstr_size);

enum { REPLAY_READ_IDLE = 0, REPLAY_READ_MSG = 1, REPLAY_READ_END = 2, REPLAY_READ_ERROR = -1 };

/* Waits up to 100 ms for the next message in range. Returns REPLAY_READ_MSG
 * with *msg (caller destroys it with rd_kafka_message_destroy), REPLAY_READ_IDLE
 * when nothing came (serve other work and call again), REPLAY_READ_END when
 * every partition reached its end or was halted, or REPLAY_READ_ERROR (errstr)
 * when nothing arrived for timeout_ms while messages were still expected. */
int replay_reader_next(replay_reader_t *r, rd_kafka_message_t **msg, char *errstr,
                       size_t errstr_size);

/* Stops reading one partition (refusal or failed delivery): later messages of
 * it are dropped unread. Unknown partitions are ignored. */
void replay_reader_halt(replay_reader_t *r, int32_t partition);

/* Stops reading every partition (--limit reached, signal). */
void replay_reader_halt_all(replay_reader_t *r);

/* Number of partitions of the topic, and the [start, end) range read of the
 * i-th one (end is the high watermark at open). */
int replay_reader_partitions(const replay_reader_t *r);
void replay_reader_range(const replay_reader_t *r, int i, int32_t *partition, int64_t *start,
                         int64_t *end);

/* Unassigns and frees the reader; NULL is accepted. */
void replay_reader_destroy(replay_reader_t *r);

#endif
