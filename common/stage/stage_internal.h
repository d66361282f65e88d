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
  metrics_gauge_t *lag;
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

int stage_run_stdio(stage_runtime_t *rt);
int stage_run_kafka(stage_runtime_t *rt);

#endif
