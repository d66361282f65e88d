/* Shared between stage.c (message handling) and the two transports
 * (stage_stdio.c, stage_kafka.c). Not part of the public API. */
#ifndef SENSORY_STAGE_INTERNAL_H
#define SENSORY_STAGE_INTERNAL_H

#include "core/clock.h"
#include "core/signals.h"

#include "stage/stage.h"

typedef struct stage_item {
  int kind;
  char *topic;
  char *key;
  size_t key_len;
  char *payload;
  size_t len;
} stage_item_t;

struct stage_out {
  stage_item_t *items;
  size_t count, cap;
};

/* Per-topic metric series, looked up once per topic name and cached, so the
 * hot path does no registry lookups. */
typedef struct stage_topic_metrics {
  char *topic;
  metrics_counter_t *in, *out, *dead;
  metrics_histogram_t *latency;
  metrics_counter_t *written;      /* sink mode: records the store committed */
  metrics_histogram_t *end_to_end; /* sink mode: record timestamp to store commit */
} stage_topic_metrics_t;

typedef struct stage_runtime {
  const stage_config_t *cfg;
  const stage_options_t *opts;
  stage_topic_metrics_t *tm;
  size_t tm_count, tm_cap;
  uint64_t in, out, dead; /* totals for the closing summary */
} stage_runtime_t;

/* Outcome of handling one input message. */
typedef struct stage_result {
  int status;      /* STAGE_OK, STAGE_DEAD_LETTER, STAGE_RETRY */
  stage_out_t out; /* outputs when STAGE_OK */
  char *dead;      /* serialized envelope when STAGE_DEAD_LETTER */
  size_t dead_len;
  const char *dead_topic;
} stage_result_t;

/* Runs checks and the transform on msgs[0..n) (a payload may be shorter than
 * its original_lens[i] when the input was cut at max_message_bytes), through
 * the batch transform when the stage has one. Fills res[i] (reset by the
 * caller with stage_result_reset() before reuse). Returns 0, or -1 only when
 * a dead letter could not even be built (fatal). */
int stage_handle_batch(stage_runtime_t *rt, const stage_msg_t *msgs, const size_t *original_lens,
                       size_t n, stage_result_t *res);

/* Size, UTF-8 and JSON checks shared by every stage. Returns the parsed
 * object (caller decrefs), or NULL with res holding the dead letter (or
 * *fatal set when even that could not be built). */
json_t *stage_prepare(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len,
                      stage_result_t *res, int *fatal);

/* The batch size the transport should aim for: batch_max, or 1 without a
 * batch transform. */
size_t stage_batch_size(const stage_runtime_t *rt);

/* Builds the dead-letter envelope for msg into res (status STAGE_DEAD_LETTER). */
int stage_make_dead_letter(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len,
                           const stage_fail_t *fail, stage_result_t *res);

void stage_result_reset(stage_result_t *res);
void stage_result_free(stage_result_t *res);

stage_topic_metrics_t *stage_metrics_for(stage_runtime_t *rt, const char *topic);
void stage_runtime_free(stage_runtime_t *rt);

/* ---- sink mode (stage_sink.c) ------------------------------------------ */

/* A batch of records waiting for the store; the transport keeps each
 * record's message valid until the batch is cleared, and passes a tag per
 * record (its own handle) that it gets back with the verdicts. */
typedef struct sink_batch sink_batch_t;

/* Most records a batch holds (the sink's max_records or the default): the
 * transports size their buffers from this. */
size_t sink_batch_capacity(const stage_sink_t *sink);

/* The transport's half of stage_sink_reject(): sends the dead letter in res
 * for the record tagged tag and waits until it is durable. 0 or -1. */
typedef int (*sink_reject_fn)(void *transport, void *tag, stage_result_t *res);
sink_batch_t *sink_batch_new(stage_runtime_t *rt, sink_reject_fn reject, void *transport);
void sink_batch_destroy(sink_batch_t *b);

/* Checks msg (size, UTF-8, JSON; tombstones skip these) and runs prepare().
 * Returns 1 when it joined the batch, 0 when it was dead-lettered (res holds
 * the letter), -1 when even the letter could not be built. The batch must
 * not be full (sink_batch_full()). */
int sink_batch_add(stage_runtime_t *rt, sink_batch_t *b, const stage_msg_t *msg,
                   size_t original_len, void *tag, stage_result_t *res);

/* "count" or "bytes" when the batch must be written before another record
 * joins, else NULL. */
const char *sink_batch_full(const sink_batch_t *b);

/* clock_mono() time by which the batch must be written (its oldest record's
 * age limit); 0 when empty. */
double sink_batch_deadline(const sink_batch_t *b);

size_t sink_batch_count(const sink_batch_t *b);
void *sink_batch_tag(const sink_batch_t *b, size_t i);

/* Hands the batch to the store: STAGE_OK, STAGE_RETRY or STAGE_FATAL. */
int sink_batch_write(stage_runtime_t *rt, sink_batch_t *b, const char *reason);

/* After a STAGE_OK write: 1 when the store rejected record i (its dead
 * letter is out already), 0 when it was written. */
int sink_batch_rejected(const sink_batch_t *b, size_t i);

/* Releases every record (rows, documents) and empties the batch. */
void sink_batch_clear(sink_batch_t *b);

/* Removes the records whose tag drop() selects (a revoked partition's),
 * keeping the others in order. */
void sink_batch_remove_if(sink_batch_t *b, int (*drop)(void *ctx, void *tag), void *ctx);

int stage_run_stdio(stage_runtime_t *rt);
int stage_run_kafka(stage_runtime_t *rt);

#endif
