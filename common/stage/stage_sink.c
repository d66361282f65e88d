/* The sink mode's batch, shared by both transports: records that passed the
 * checks and the store's prepare() wait here, across polls, until a
 * threshold (count, bytes, age) or an event (revoke, shutdown, end of input)
 * hands them to the store's write(). The transports own the messages (a
 * Kafka message, a stdio line) and get back, per record, whether it was
 * written or rejected (then as a dead letter to produce). See stage.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/log.h"
#include "stage/stage_internal.h"

enum {
  SINK_DEFAULT_RECORDS = 500,
  SINK_DEFAULT_BYTES = 4 << 20,
  SINK_DEFAULT_AGE_MS = 1000,
};

struct sink_batch {
  stage_runtime_t *rt;
  const stage_sink_t *sink;
  void *ctx;
  sink_reject_fn reject; /* the transport's: make a dead letter durable */
  void *transport;
  size_t max_records, max_bytes;
  double max_age;
  stage_sink_record_t *recs; /* [max_records] */
  stage_fail_t *fails;       /* [max_records] */
  void **tags;               /* [max_records]: the transport's handle per record */
  size_t n, bytes;
  double oldest; /* clock_mono() when the first record joined */
  stage_sink_range_t *ranges;
  size_t nranges, ranges_cap;
  /* metrics (NULL without a registry) */
  metrics_histogram_t *write_seconds;
  metrics_counter_t *retries, *rejected;
};

size_t sink_batch_capacity(const stage_sink_t *sink) {
  return sink->max_records ? sink->max_records : SINK_DEFAULT_RECORDS;
}

sink_batch_t *sink_batch_new(stage_runtime_t *rt, sink_reject_fn reject, void *transport) {
  const stage_sink_t *sink = rt->opts->sink;
  sink_batch_t *b = calloc(1, sizeof(*b)); /* owned by the transport: sink_batch_destroy() */
  if (!b)
    return NULL;
  b->rt = rt;
  b->reject = reject;
  b->transport = transport;
  b->sink = sink;
  b->ctx = rt->opts->ctx;
  b->max_records = sink_batch_capacity(sink);
  b->max_bytes = sink->max_bytes ? sink->max_bytes : SINK_DEFAULT_BYTES;
  b->max_age = (sink->max_age_ms > 0 ? sink->max_age_ms : SINK_DEFAULT_AGE_MS) / 1000.0;
  b->recs = calloc(b->max_records, sizeof(*b->recs));
  b->fails = calloc(b->max_records, sizeof(*b->fails));
  b->tags = calloc(b->max_records, sizeof(*b->tags));
  if (!b->recs || !b->fails || !b->tags) {
    sink_batch_destroy(b);
    return NULL;
  }
  metrics_t *m = rt->opts->metrics;
  if (m) {
    b->write_seconds = metrics_histogram(m, "sink_write_seconds",
                                         "Time the store took to write one batch", NULL, NULL);
    b->retries = metrics_counter(m, "sink_write_retries_total",
                                 "Batch writes the store could not take (retried)", NULL, NULL);
    b->rejected =
        metrics_counter(m, "sink_rejected_total",
                        "Records the store rejected for good (dead-lettered)", NULL, NULL);
  }
  return b;
}

static void release_record(sink_batch_t *b, stage_sink_record_t *r) {
  if (r->row && b->sink->release)
    b->sink->release(b->ctx, r->row);
  json_decref(r->doc);
  memset(r, 0, sizeof(*r));
}

void sink_batch_clear(sink_batch_t *b) {
  for (size_t i = 0; i < b->n; i++)
    release_record(b, &b->recs[i]);
  b->n = 0;
  b->bytes = 0;
}

void sink_batch_destroy(sink_batch_t *b) {
  if (!b)
    return;
  if (b->recs)
    sink_batch_clear(b);
  free(b->recs);
  free(b->fails);
  free(b->tags);
  free(b->ranges);
  free(b);
}

size_t sink_batch_count(const sink_batch_t *b) {
  return b->n;
}

void *sink_batch_tag(const sink_batch_t *b, size_t i) {
  return b->tags[i];
}

int sink_batch_add(stage_runtime_t *rt, sink_batch_t *b, const stage_msg_t *msg,
                   size_t original_len, void *tag, stage_result_t *res) {
  int fatal = 0;
  json_t *doc = NULL;
  /* A tombstone (NULL value) has nothing to parse; the store decides. */
  if (msg->payload) {
    doc = stage_prepare(rt, msg, original_len, res, &fatal);
    if (!doc)
      return fatal ? -1 : 0;
  }
  stage_sink_record_t *r = &b->recs[b->n];
  stage_fail_t *fail = &b->fails[b->n];
  memset(fail, 0, sizeof(*fail));
  *r = (stage_sink_record_t){.msg = msg, .doc = doc, .status = STAGE_OK, .fail = fail};
  if (b->sink->prepare && b->sink->prepare(b->ctx, r) != STAGE_OK) {
    if (!fail->code)
      fail->code = "invalid_record";
    release_record(b, r);
    return stage_make_dead_letter(rt, msg, original_len, fail, res) == 0 ? 0 : -1;
  }
  if (b->n == 0)
    b->oldest = clock_mono();
  b->tags[b->n++] = tag;
  b->bytes += r->row_bytes ? r->row_bytes : msg->len;
  return 1;
}

const char *sink_batch_full(const sink_batch_t *b) {
  if (b->n >= b->max_records)
    return "count";
  if (b->bytes >= b->max_bytes)
    return "bytes";
  return NULL;
}

double sink_batch_deadline(const sink_batch_t *b) {
  return b->n ? b->oldest + b->max_age : 0;
}

/* One range per (topic, partition), first/last over the batch's records. */
static int build_ranges(sink_batch_t *b) {
  b->nranges = 0;
  for (size_t i = 0; i < b->n; i++) {
    const stage_msg_t *m = b->recs[i].msg;
    size_t j = 0;
    while (j < b->nranges &&
           !(b->ranges[j].partition == m->partition && strcmp(b->ranges[j].topic, m->topic) == 0))
      j++;
    if (j == b->nranges) {
      if (array_reserve(&b->ranges, &b->ranges_cap, b->nranges + 1, sizeof(*b->ranges), 8) != 0)
        return -1;
      b->ranges[b->nranges++] = (stage_sink_range_t){
          .topic = m->topic, .partition = m->partition, .first = m->offset, .last = m->offset};
      continue;
    }
    if (m->offset < b->ranges[j].first)
      b->ranges[j].first = m->offset;
    if (m->offset > b->ranges[j].last)
      b->ranges[j].last = m->offset;
  }
  return 0;
}

int sink_batch_write(stage_runtime_t *rt, sink_batch_t *b, const char *reason) {
  if (build_ranges(b) != 0) {
    log_error("out_of_memory", "cannot describe the batch's offsets");
    return STAGE_FATAL;
  }
  stage_sink_batch_t batch = {.records = b->recs,
                              .n = b->n,
                              .ranges = b->ranges,
                              .nranges = b->nranges,
                              .reason = reason,
                              .stage = b};
  double t0 = clock_mono();
  int rc = b->sink->write(b->ctx, &batch);
  metrics_histogram_observe(b->write_seconds, clock_mono() - t0);
  if (rc == STAGE_RETRY) {
    metrics_counter_add(b->retries, 1);
    return STAGE_RETRY;
  }
  if (rc != STAGE_OK)
    return STAGE_FATAL;
  if (rt->opts->metrics)
    metrics_counter_add(metrics_counter(rt->opts->metrics, "sink_flushes_total",
                                        "Batches written, by why they were flushed", "reason",
                                        reason),
                        1);
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < b->n; i++) {
    stage_sink_record_t *r = &b->recs[i];
    stage_topic_metrics_t *tm =
        r->status == STAGE_DEAD_LETTER ? NULL : stage_metrics_for(rt, r->msg->topic);
    if (!tm)
      continue;
    metrics_counter_add(tm->written, 1);
    if (r->msg->timestamp_ms > 0 && now >= r->msg->timestamp_ms)
      metrics_histogram_observe(tm->end_to_end, (double)(now - r->msg->timestamp_ms) / 1000.0);
  }
  return STAGE_OK;
}

int sink_batch_rejected(const sink_batch_t *b, size_t i) {
  return b->recs[i].status == STAGE_DEAD_LETTER;
}

int stage_sink_reject(stage_sink_batch_t *batch, size_t i) {
  sink_batch_t *b = batch->stage;
  stage_sink_record_t *r = &b->recs[i];
  if (r->status == STAGE_DEAD_LETTER)
    return 0; /* rejected by an earlier try of this batch: its letter is out */
  if (!r->fail->code)
    r->fail->code = "store_rejected";
  stage_result_t res = {0};
  int rc = stage_make_dead_letter(b->rt, r->msg, r->msg->len, r->fail, &res) == 0 &&
                   b->reject(b->transport, b->tags[i], &res) == 0
               ? 0
               : -1;
  stage_result_free(&res);
  if (rc == 0) {
    r->status = STAGE_DEAD_LETTER;
    metrics_counter_add(b->rejected, 1);
  }
  return rc;
}

void sink_batch_remove_if(sink_batch_t *b, int (*drop)(void *ctx, void *tag), void *ctx) {
  size_t k = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (drop(ctx, b->tags[i])) {
      b->bytes -= b->recs[i].row_bytes ? b->recs[i].row_bytes : b->recs[i].msg->len;
      release_record(b, &b->recs[i]);
      continue;
    }
    if (k != i) {
      b->recs[k] = b->recs[i];
      b->recs[k].fail = &b->fails[k];
      b->fails[k] = b->fails[i];
      b->tags[k] = b->tags[i];
    }
    k++;
  }
  b->n = k;
}
