/* The Kafka transport of the stage loop.
 *
 * One thread does everything: consume, transform (or batch for a store),
 * produce, serve delivery reports. Each input message gets a tracker that
 * counts its outputs in flight; the in-order tracker of kafka/offsets.h
 * stores a partition's offset only over the prefix of messages whose outputs
 * (or store write, and dead letters) are all acknowledged. That is what makes
 * a crash at any point redeliver rather than lose.
 *
 * Sink mode: records wait in a sink_batch (stage_sink.c) until a threshold or
 * an event; the store's write() replaces producing outputs, its rejections
 * become dead letters, and a store that cannot take the batch pauses the
 * partitions exactly like a dependency outage of a transform.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "kafka/kafka.h"
#include "kafka/offsets.h"
#include "stage/stage_internal.h"

/* Most messages taken from the consumer queue in one call (more only when a
 * batch transform asks for bigger batches: buffers follow the setting). */
#define CONSUME_CHUNK 1000

typedef struct tracker {
  offsets_entry_t entry;       /* position in its partition (kafka/offsets.h) */
  struct tracker *prev, *next; /* every live tracker, for the final cleanup */
  rd_kafka_message_t *rkm;     /* the input, kept for a late dead letter */
  stage_msg_t msg;             /* its view, valid while rkm lives */
  int pending;                 /* outputs not yet acknowledged (+1 while being handled) */
  rd_kafka_resp_err_t err;     /* first delivery error */
  int dead_lettered;           /* its dead letter is what is in flight */
  double t0;
  stage_topic_metrics_t *tm;
  char first_failed_at[40]; /* from a replay header, for a new dead letter */
} tracker_t;

typedef struct kctx {
  stage_runtime_t *rt;
  rd_kafka_t *consumer, *producer;
  offsets_t *offsets;
  int fatal;
  size_t inflight;
  tracker_t *live;     /* head of the list of live trackers */
  int paused;          /* partitions paused while a dependency or the store is down */
  int brokers_down;    /* every broker was reported down; cleared by the next message */
  sink_batch_t *batch; /* sink mode only */
} kctx_t;

/* ---- trackers --------------------------------------------------------------- */

static void tracker_link(kctx_t *k, tracker_t *t) {
  t->next = k->live;
  if (k->live)
    k->live->prev = t;
  k->live = t;
  k->inflight++;
}

/* Frees a tracker and its input message. Messages hold a reference on the
 * consumer, so every one must be freed before the consumer is destroyed. */
static void tracker_free(kctx_t *k, tracker_t *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    k->live = t->next;
  if (t->next)
    t->next->prev = t->prev;
  rd_kafka_message_destroy(t->rkm);
  free(t);
  k->inflight--;
}

/* offsets callbacks: a finished prefix leaves the tracker; a position moved. */
static void on_release(void *ctx, offsets_entry_t *e) {
  tracker_free(ctx, OFFSETS_CONTAINER_OF(e, tracker_t, entry));
}

static void on_advance(void *ctx, const char *topic, int32_t partition, int64_t next) {
  kctx_t *k = ctx;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->consumer, l);
  if (err) /* e.g. the partition was revoked meanwhile: the next owner reprocesses */
    log_debug("offset_store", "%s [%d] offset %lld not stored: %s", topic, partition,
              (long long)next, rd_kafka_err2str(err));
  rd_kafka_topic_partition_list_destroy(l);
}

/* A message that dlq-replay sent back carries its failure history in
 * headers; the next dead letter continues it. */
static void replay_headers(tracker_t *t) {
  rd_kafka_headers_t *hdrs = NULL;
  const void *v;
  size_t n;
  if (rd_kafka_message_headers(t->rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  if (rd_kafka_header_get_last(hdrs, "sensory-dlq-attempts", &v, &n) == 0 && v && n > 0 && n < 12) {
    char num[12];
    memcpy(num, v, n);
    num[n] = '\0';
    char *end;
    long a = strtol(num, &end, 10);
    if (*end == '\0' && a > 0 && a < 1000000)
      t->msg.attempts = (int)a;
  }
  if (rd_kafka_header_get_last(hdrs, "sensory-dlq-first-failed-at", &v, &n) == 0 && v &&
      n < sizeof(t->first_failed_at)) {
    memcpy(t->first_failed_at, v, n);
    t->first_failed_at[n] = '\0';
    t->msg.first_failed_at = t->first_failed_at;
  }
}

/* Starts tracking a consumed message (taking it over). Returns NULL (fatal)
 * on no memory; the message is then destroyed. */
static tracker_t *track(kctx_t *k, rd_kafka_message_t *m) {
  const char *topic = rd_kafka_topic_name(m->rkt);
  tracker_t *t = calloc(1, sizeof(*t)); /* owned by the live list; freed by on_release */
  if (!t || offsets_track(k->offsets, &t->entry, topic, m->partition, m->offset) != 0) {
    log_error("tracking_failed", "cannot track %s [%d]: out of memory", topic, m->partition);
    free(t);
    rd_kafka_message_destroy(m);
    return NULL;
  }
  tracker_link(k, t);
  t->rkm = m;
  /* A NULL value is a tombstone: kept NULL for a sink, "" for a transform
   * (where it fails the JSON check and is dead-lettered). */
  const char *payload = m->payload ? m->payload : k->rt->opts->sink ? NULL : "";
  t->msg = (stage_msg_t){.topic = topic,
                         .partition = m->partition,
                         .offset = m->offset,
                         .key = m->key,
                         .key_len = m->key_len,
                         .payload = payload,
                         .len = m->len,
                         .timestamp_ms = rd_kafka_message_timestamp(m, NULL)};
  replay_headers(t);
  t->t0 = clock_mono();
  t->tm = stage_metrics_for(k->rt, topic);
  /* A guard reference: a delivery report served while later outputs are still
   * being produced must not finish the tracker early. */
  t->pending = 1;
  k->rt->in++;
  if (t->tm)
    metrics_counter_add(t->tm->in, 1);
  return t;
}

static int produce_one(kctx_t *k, tracker_t *t, const char *topic, const char *key, size_t key_len,
                       const char *payload, size_t len) {
  /* Back-pressure for up to 10 minutes: far beyond any healthy broker's
   * delivery time, short enough that a wedged producer ends the process. */
  rd_kafka_resp_err_t err =
      kafka_produce(k->producer, topic, key, key_len, payload, len, NULL,
                    t->msg.timestamp_ms > 0 ? t->msg.timestamp_ms : 0, t, 600000);
  if (!err)
    t->pending++;
  return (int)err;
}

static void tracker_finish(kctx_t *k, tracker_t *t);

/* Dead-letters a tracker whose outputs the broker refused for a reason tied
 * to the message itself. */
static void dead_letter_tracker(kctx_t *k, tracker_t *t, const char *code, const char *why) {
  stage_runtime_t *rt = k->rt;
  stage_fail_t fail = {.code = code};
  snprintf(fail.message, sizeof(fail.message), "%s", why);
  stage_result_t res = {0};
  if (stage_make_dead_letter(rt, &t->msg, t->msg.len, &fail, &res) != 0 ||
      produce_one(k, t, res.dead_topic, t->msg.key, t->msg.key_len, res.dead, res.dead_len) != 0) {
    log_error("dead_letter_failed", "cannot dead-letter %s [%d] offset %lld", t->msg.topic,
              t->msg.partition, (long long)t->msg.offset);
    k->fatal = 1;
  } else {
    t->dead_lettered = 1;
    rt->dead++;
    if (t->tm)
      metrics_counter_add(t->tm->dead, 1);
  }
  stage_result_free(&res);
}

/* Called whenever a tracker's pending count may have reached zero. */
static void tracker_finish(kctx_t *k, tracker_t *t) {
  if (t->pending > 0)
    return;
  if (t->err) {
    rd_kafka_resp_err_t err = t->err;
    t->err = 0;
    if (!t->dead_lettered && kafka_message_level_error(err)) {
      char why[256];
      snprintf(why, sizeof(why), "output rejected by the broker: %s", rd_kafka_err2str(err));
      dead_letter_tracker(k, t, "output_rejected", why);
      if (t->pending > 0)
        return;
    }
    log_error("delivery_failed", "output of %s [%d] offset %lld not delivered: %s", t->msg.topic,
              t->msg.partition, (long long)t->msg.offset, rd_kafka_err2str(err));
    k->fatal = 1;
    return; /* never done: its offset is not stored */
  }
  if (t->tm)
    metrics_histogram_observe(t->tm->latency, clock_mono() - t->t0);
  offsets_done(k->offsets, &t->entry); /* may free t */
}

/* Drops the guard reference taken by track(). */
static void tracker_release_guard(kctx_t *k, tracker_t *t) {
  t->pending--;
  tracker_finish(k, t);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kctx_t *k = opaque;
  tracker_t *t = m->_private;
  if (m->err && !t->err)
    t->err = m->err;
  if (!m->err && !t->dead_lettered) {
    stage_topic_metrics_t *otm = stage_metrics_for(k->rt, rd_kafka_topic_name(m->rkt));
    if (otm)
      metrics_counter_add(otm->out, 1);
  }
  t->pending--;
  tracker_finish(k, t);
}

/* Produces one message's outputs or dead letter. Returns 0, or -1 (fatal). */
static int produce_result(kctx_t *k, tracker_t *t, stage_result_t *res) {
  stage_runtime_t *rt = k->rt;
  if (res->status == STAGE_DEAD_LETTER) {
    rt->dead++;
    if (t->tm)
      metrics_counter_add(t->tm->dead, 1);
    t->dead_lettered = 1;
    int err =
        produce_one(k, t, res->dead_topic, t->msg.key, t->msg.key_len, res->dead, res->dead_len);
    if (err)
      log_error("produce_failed", "dead letter to %s: %s", res->dead_topic,
                rd_kafka_err2str((rd_kafka_resp_err_t)err));
    return err ? -1 : 0;
  }
  for (size_t i = 0; i < res->out.count; i++) {
    stage_item_t *it = &res->out.items[i];
    int err = produce_one(k, t, it->topic, it->key, it->key_len, it->payload, it->len);
    if (err && kafka_message_level_error((rd_kafka_resp_err_t)err)) {
      char why[256];
      snprintf(why, sizeof(why), "output to %s rejected: %s", it->topic,
               rd_kafka_err2str((rd_kafka_resp_err_t)err));
      dead_letter_tracker(k, t, "output_rejected", why);
      return 0;
    }
    if (err) {
      log_error("produce_failed", "output to %s: %s", it->topic,
                rd_kafka_err2str((rd_kafka_resp_err_t)err));
      return -1;
    }
  }
  rt->out += res->out.count;
  return 0;
}

/* ---- dependency and store outages -------------------------------------------- */

/* Pauses (once) every assigned partition and waits ms milliseconds while
 * polling the consumer, so the group keeps this member through an outage of
 * any length (max.poll.interval.ms is about polling, not progress). A message
 * the poll still hands over was never processed: its partition is rewound to
 * it, so it is fetched again after the outage. */
static void outage_wait(kctx_t *k, int ms) {
  if (!k->paused) {
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(k->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a)
      rd_kafka_pause_partitions(k->consumer, a);
    if (a)
      rd_kafka_topic_partition_list_destroy(a);
    k->paused = 1;
  }
  rd_kafka_topic_partition_list_t *rewound = rd_kafka_topic_partition_list_new(4);
  double until = clock_mono() + ms / 1000.0;
  while (!signals_stop) {
    int left = (int)((until - clock_mono()) * 1000);
    if (left <= 0)
      break;
    rd_kafka_poll(k->producer, 0);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, left > 100 ? 100 : left);
    if (!m)
      continue;
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
    /* Only the first (lowest) offset seen per partition counts: later ones
     * from the same partition are behind it anyway. */
    if (!m->err && topic && !rd_kafka_topic_partition_list_find(rewound, topic, m->partition)) {
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, topic, m->partition)->offset = m->offset;
      rd_kafka_topic_partition_list_add(rewound, topic, m->partition);
      rd_kafka_error_t *e = rd_kafka_seek_partitions(k->consumer, l, 0);
      if (e) {
        log_warn("seek_failed", "cannot rewind %s [%d]: %s", topic, m->partition,
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
      rd_kafka_pause_partitions(k->consumer, l);
      rd_kafka_topic_partition_list_destroy(l);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_topic_partition_list_destroy(rewound);
}

/* Resumes what outage_wait() paused. */
static void outage_over(kctx_t *k) {
  if (!k->paused)
    return;
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(k->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a)
    rd_kafka_resume_partitions(k->consumer, a);
  if (a)
    rd_kafka_topic_partition_list_destroy(a);
  k->paused = 0;
  log_info("dependency_back", "resuming consumption");
}

/* ---- transform mode ------------------------------------------------------------ */

/* Handles consumed messages in batches of the stage's batch size: transform,
 * produce, track. Takes ownership of every message. Returns 0, or -1 (fatal). */
static int handle_messages(kctx_t *k, rd_kafka_message_t **ms, size_t n) {
  size_t batch = stage_batch_size(k->rt);
  tracker_t **ts = calloc(batch, sizeof(*ts)); /* owned here, per call */
  stage_msg_t *msgs = calloc(batch, sizeof(*msgs));
  size_t *lens = calloc(batch, sizeof(*lens));
  stage_result_t *res = calloc(batch, sizeof(*res));
  int rc = ts && msgs && lens && res ? 0 : -1;
  size_t i = 0;
  while (!rc && i < n) {
    size_t b = 0;
    for (; i < n && b < batch; i++) {
      rd_kafka_message_t *m = ms[i];
      ms[i] = NULL;
      if (!(ts[b] = track(k, m))) {
        rc = -1;
        break;
      }
      msgs[b] = ts[b]->msg;
      lens[b] = m->len;
      b++;
    }
    /* Transform the batch; messages whose dependency is down are offered
     * again with a growing pause, partitions paused and the consumer polled
     * meanwhile. Nothing is committed for them; on a stop request they stay
     * unprocessed (never done, so never committed). */
    double backoff = 0.1;
    size_t from = 0, done_upto = b;
    while (!rc && from < b) {
      for (size_t j = from; j < b; j++)
        stage_result_reset(&res[j]);
      if (stage_handle_batch(k->rt, msgs + from, lens + from, b - from, res + from) != 0) {
        rc = -1;
        break;
      }
      size_t j = from;
      for (; j < b && res[j].status != STAGE_RETRY; j++)
        if (produce_result(k, ts[j], &res[j]) != 0) {
          rc = -1;
          break;
        }
      if (rc || j == b)
        break;
      from = j;
      if (signals_stop) {
        done_upto = from;
        break;
      }
      log_warn("dependency_down", "a dependency is unavailable; retrying in %.1f s", backoff);
      outage_wait(k, (int)(backoff * 1000));
      backoff = backoff * 2 > 5 ? 5 : backoff * 2;
    }
    outage_over(k);
    for (size_t j = 0; j < b; j++) {
      if (j < done_upto && !rc)
        tracker_release_guard(k, ts[j]); /* done at once when nothing is in flight */
      /* else: never done, so never committed; freed at the end */
    }
  }
  for (; i < n; i++)
    if (ms[i])
      rd_kafka_message_destroy(ms[i]);
  for (size_t j = 0; res && j < batch; j++)
    stage_result_free(&res[j]);
  free(ts);
  free(msgs);
  free(lens);
  free(res);
  return rc;
}

/* ---- sink mode ------------------------------------------------------------------ */

/* Writes the pending batch. A store that cannot take it pauses the
 * partitions and is retried with back-off while the consumer keeps polling;
 * give_up_at (clock_mono() time, 0: never) bounds that for revocation and
 * shutdown. Inside the rebalance callback the consumer must not be polled
 * (in_rebalance): the retries then only sleep, and give_up_at bounds them.
 * Returns STAGE_OK (written, or emptied meanwhile by a revocation; verdicts
 * applied), STAGE_RETRY (gave up; what is left is still pending) or
 * STAGE_FATAL. */
static int sink_flush(kctx_t *k, const char *reason, double give_up_at, int in_rebalance) {
  stage_runtime_t *rt = k->rt;
  sink_batch_t *b = k->batch;
  double backoff = 0.1;
  int rc = STAGE_OK;
  /* A revocation served by the polls of outage_wait() may write or shrink
   * the batch under us: check it on every round. */
  while (sink_batch_count(b) > 0) {
    rc = sink_batch_write(rt, b, reason);
    if (rc != STAGE_RETRY)
      break;
    metrics_ready_condition(rt->opts->metrics, "store", 0);
    if (signals_stop && !give_up_at)
      give_up_at = clock_mono(); /* stopping: the batch stays uncommitted */
    if (give_up_at && clock_mono() + backoff > give_up_at)
      break;
    log_warn("store_unavailable", "the store did not take a batch of %zu; retrying in %.1f s",
             sink_batch_count(b), backoff);
    if (in_rebalance) {
      rd_kafka_poll(k->producer, (int)(backoff * 1000));
    } else {
      outage_wait(k, (int)(backoff * 1000));
    }
    backoff = backoff * 2 > 5 ? 5 : backoff * 2;
  }
  if (sink_batch_count(b) == 0 && rc == STAGE_RETRY)
    rc = STAGE_OK;
  if (!in_rebalance)
    outage_over(k);
  if (rc == STAGE_FATAL) {
    log_error("store_failed", "the store cannot write; stopping without committing the batch");
    k->fatal = 1;
    return rc;
  }
  if (rc == STAGE_RETRY)
    return rc;
  metrics_ready_condition(rt->opts->metrics, "store", 1);
  if (sink_batch_count(b) == 0)
    return STAGE_OK;
  /* Rejected records' dead letters are out already; every record is done. */
  size_t n = sink_batch_count(b);
  for (size_t i = 0; i < n; i++)
    rt->out += !sink_batch_rejected(b, i);
  /* The records' documents and rows go before their messages do. */
  tracker_t **ts = malloc(n * sizeof(*ts));
  for (size_t i = 0; ts && i < n; i++)
    ts[i] = sink_batch_tag(b, i);
  sink_batch_clear(b);
  for (size_t i = 0; ts && i < n && !k->fatal; i++)
    tracker_release_guard(k, ts[i]);
  if (!ts)
    k->fatal = 1;
  free(ts);
  return STAGE_OK;
}

/* stage_sink_reject() over Kafka: produce the dead letter and serve delivery
 * reports until it is acknowledged (bounded by shutdown.timeout_ms). */
static int sink_reject(void *transport, void *tag, stage_result_t *res) {
  kctx_t *k = transport;
  tracker_t *t = tag;
  t->err = 0;
  if (produce_result(k, t, res) != 0)
    return -1;
  double until = clock_mono() + k->rt->cfg->shutdown_timeout_ms / 1000.0;
  while (t->pending > 1 && clock_mono() < until)
    rd_kafka_poll(k->producer, 10);
  if (t->pending > 1 || t->err) {
    log_warn("dead_letter_unacknowledged", "%s [%d] offset %lld: %s", t->msg.topic,
             t->msg.partition, (long long)t->msg.offset,
             t->err ? rd_kafka_err2str(t->err) : "no acknowledgement in time");
    t->err = 0; /* the batch is retried; the tracker must not fail for it */
    return -1;
  }
  return 0;
}

/* Adds consumed messages to the batch, writing it whenever it fills. Takes
 * ownership of every message; messages left when a stop interrupts a full
 * batch's write are dropped untracked (never committed, read again later).
 * Returns 0, or -1 (fatal). */
static int sink_messages(kctx_t *k, rd_kafka_message_t **ms, size_t n) {
  stage_result_t res = {0};
  int rc = 0, stopped = 0;
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_t *m = ms[i];
    ms[i] = NULL;
    const char *full = rc || stopped ? NULL : sink_batch_full(k->batch);
    if (full) {
      int w = sink_flush(k, full, 0, 0);
      rc = w == STAGE_FATAL ? -1 : 0;
      stopped = w == STAGE_RETRY;
    }
    if (rc || stopped) {
      rd_kafka_message_destroy(m);
      continue;
    }
    tracker_t *t = track(k, m);
    if (!t) {
      rc = -1;
      continue;
    }
    stage_result_reset(&res);
    int added = sink_batch_add(k->rt, k->batch, &t->msg, m->len, t, &res);
    /* A record refused before it joins the batch is dead-lettered durably
     * now: a later batch's store commit (with its offsets) must never pass a
     * record whose dead letter could still be lost. */
    if (added < 0 || (added == 0 && sink_reject(k, t, &res) != 0)) {
      rc = -1;
      continue;
    }
    if (added == 0)
      tracker_release_guard(k, t);
  }
  stage_result_free(&res);
  const char *full = rc || stopped ? NULL : sink_batch_full(k->batch);
  if (full && sink_flush(k, full, 0, 0) == STAGE_FATAL)
    rc = -1;
  return rc;
}

/* rebalance helper for sink mode: does tag (a tracker) belong to a partition
 * of the list? */
static int in_partitions(void *ctx, void *tag) {
  const rd_kafka_topic_partition_list_t *parts = ctx;
  const tracker_t *t = tag;
  return rd_kafka_topic_partition_list_find(parts, t->msg.topic, t->msg.partition) != NULL;
}

/* On assignment: start each partition at the store's position when the store
 * holds one ahead of the group's committed offset (the crash window between
 * the store's commit and Kafka's). Returns how many partitions it moved. */
static int seek_to_store(kctx_t *k, rd_kafka_topic_partition_list_t *parts) {
  int moved = 0;
  const stage_sink_t *sink = k->rt->opts->sink;
  rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
  rd_kafka_resp_err_t err = rd_kafka_committed(k->consumer, committed, 10000);
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *p = &parts->elems[i];
    int64_t stored = -1;
    int have = sink->stored_offset(k->rt->opts->ctx, p->topic, p->partition, &stored);
    if (have < 0)
      log_warn("store_offset_unknown",
               "%s [%d]: the store's position cannot be read; starting at the group's", p->topic,
               p->partition);
    if (have != 1)
      continue;
    int64_t group = err ? -1 : committed->elems[i].offset;
    if (stored > group) {
      p->offset = stored;
      moved++;
      log_event(LOG_LEVEL_INFO, "seek_to_store",
                json_pack("{s:s,s:i,s:I,s:I}", "topic", p->topic, "partition", p->partition,
                          "store_offset", (json_int_t)stored, "group_offset", (json_int_t)group),
                "starting %s [%d] at the store's offset", p->topic, p->partition);
    }
  }
  rd_kafka_topic_partition_list_destroy(committed);
  return moved;
}

/* ---- consumer callbacks ----------------------------------------------------------- */

static void commit_sync(kctx_t *k, const char *why) {
  rd_kafka_resp_err_t err = rd_kafka_commit(k->consumer, NULL, 0);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    log_warn("commit_failed", "commit (%s): %s", why, rd_kafka_err2str(err));
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  kctx_t *k = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    log_event(LOG_LEVEL_INFO, "assigned", json_pack("{s:i}", "partitions", parts->cnt),
              "assigned %d partitions", parts->cnt);
    int sought = k->batch && k->rt->opts->sink->stored_offset && seek_to_store(k, parts) > 0;
    rd_kafka_assign(rk, parts);
    if (sought) {
      /* The store's position becomes the group's at the next commit, also for
       * a partition that gets no new record (else its lag would stay). */
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
      for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset >= 0)
          rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, parts->elems[i].partition)
              ->offset = parts->elems[i].offset;
      rd_kafka_resp_err_t e = rd_kafka_offsets_store(k->consumer, l);
      if (e)
        log_warn("offset_store", "store positions not stored: %s", rd_kafka_err2str(e));
      rd_kafka_topic_partition_list_destroy(l);
    }
    if (k->paused) /* assigned during an outage: wait like the rest */
      rd_kafka_pause_partitions(rk, parts);
    metrics_set_ready(k->rt->opts->metrics, 1);
    return;
  }
  /* Revoked: finish what is in flight for these partitions, commit, and only
   * then let them go, so the next owner starts exactly after our last
   * acknowledged message. A store that cannot take the pending batch in
   * time loses nothing: the revoked partitions' records leave the batch
   * uncommitted and their next owner reads them again. */
  log_event(LOG_LEVEL_INFO, "revoked", json_pack("{s:i}", "partitions", parts->cnt),
            "revoking %d partitions", parts->cnt);
  tracker_t **dropped = NULL;
  size_t ndropped = 0;
  if (k->batch && sink_flush(k, "revoke", clock_mono() + k->rt->cfg->shutdown_timeout_ms / 1000.0,
                             1) != STAGE_OK) {
    size_t n = sink_batch_count(k->batch);
    if ((dropped = malloc(n * sizeof(*dropped))))
      for (size_t i = 0; i < n; i++)
        if (in_partitions(parts, sink_batch_tag(k->batch, i)))
          dropped[ndropped++] = sink_batch_tag(k->batch, i);
    sink_batch_remove_if(k->batch, in_partitions, parts);
  }
  kafka_flush(k->producer, (int)k->rt->cfg->shutdown_timeout_ms);
  commit_sync(k, "revoke");
  /* Whatever is still unacknowledged is orphaned: its offset is never
   * stored, and the next owner reprocesses it (at-least-once). */
  for (int i = 0; i < parts->cnt; i++)
    offsets_forget(k->offsets, parts->elems[i].topic, parts->elems[i].partition);
  for (size_t i = 0; i < ndropped; i++)
    tracker_release_guard(k, dropped[i]); /* orphans now: freed, never committed */
  free(dropped);
  rd_kafka_assign(rk, NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  kctx_t *k = opaque;
  kafka_error_cb(rk, err, reason, opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL)
    k->fatal = 1;
  else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    k->brokers_down = 1;
    metrics_set_ready(k->rt->opts->metrics, 0);
  }
}

/* Statistics carry each partition's consumer lag: one gauge per assigned
 * partition (a partition this member no longer owns reads 0: its new owner
 * reports it). Per topic is sum by (topic) in PromQL. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  kctx_t *k = opaque;
  metrics_t *m = k->rt->opts->metrics;
  json_t *root = m ? json_loadb(json, len, 0, NULL) : NULL;
  const char *name;
  json_t *t;
  json_object_foreach(json_object_get(root, "topics"), name, t) {
    const char *pid;
    json_t *p;
    json_object_foreach(json_object_get(t, "partitions"), pid, p) {
      if (strcmp(pid, "-1") == 0)
        continue; /* librdkafka's internal unassigned partition */
      json_int_t lag = json_integer_value(json_object_get(p, "consumer_lag"));
      int owned = json_is_true(json_object_get(p, "desired"));
      const char *const labels[] = {"topic", name, "partition", pid, NULL};
      metrics_gauge_set(metrics_gauge_labels(m, "consumer_lag",
                                             "Messages behind the partition end, per partition "
                                             "this member consumes (librdkafka statistics)",
                                             labels),
                        owned && lag > 0 ? (double)lag : 0);
    }
  }
  json_decref(root);
  return 0;
}

/* ---- the loop ---------------------------------------------------------------------- */

static int make_clients(kctx_t *k) {
  const stage_config_t *cfg = k->rt->cfg;
  const stage_options_t *o = k->rt->opts;
  char errstr[512], pid[96], cid[96];
  snprintf(pid, sizeof(pid), "%s-producer", o->service);
  snprintf(cid, sizeof(cid), "%s-consumer", o->service);
  char interval[32];
  snprintf(interval, sizeof(interval), "%lld", (long long)cfg->commit_interval_ms);
  conf_kv_t consumer_defaults[] = {{.key = "auto.commit.interval.ms", .value = interval}};
  kafka_client_opts_t po = {.brokers = cfg->brokers,
                            .client_id = pid,
                            .props = o->kafka_props,
                            .nprops = o->kafka_prop_count,
                            .opaque = k,
                            .dr_msg_cb = dr_cb,
                            .max_message_bytes = cfg->max_message_bytes,
                            .error_cb = error_cb};
  kafka_client_opts_t co = {.brokers = cfg->brokers,
                            .client_id = cid,
                            .props = o->kafka_props,
                            .nprops = o->kafka_prop_count,
                            .defaults = consumer_defaults,
                            .ndefaults = 1,
                            .opaque = k,
                            .group_id = cfg->group_id,
                            .rebalance_cb = rebalance_cb,
                            .stats_cb = stats_cb,
                            .error_cb = error_cb};
  if (!(k->producer = kafka_producer_new(&po, errstr, sizeof(errstr))) ||
      !(k->consumer = kafka_consumer_new(&co, errstr, sizeof(errstr)))) {
    log_error("kafka_client", "%s", errstr);
    return -1;
  }
  return 0;
}

static int subscribe(kctx_t *k) {
  size_t n = 0;
  char **topics = conf_list_split(k->rt->cfg->input_topics, &n);
  if (!topics || n == 0) {
    log_error("config", "no input topics configured");
    conf_list_free(topics);
    return -1;
  }
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(k->consumer, l);
  rd_kafka_topic_partition_list_destroy(l);
  conf_list_free(topics);
  if (err) {
    log_error("subscribe_failed", "%s", rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

/* How long the next poll may wait: 100 ms, less when the pending batch
 * reaches its age limit sooner. */
static int poll_timeout_ms(const kctx_t *k) {
  double deadline = k->batch ? sink_batch_deadline(k->batch) : 0;
  if (!deadline)
    return 100;
  double left = (deadline - clock_mono()) * 1000;
  return left <= 0 ? 0 : left < 100 ? (int)left + 1 : 100;
}

int stage_run_kafka(stage_runtime_t *rt) {
  kctx_t k = {.rt = rt};
  const stage_options_t *o = rt->opts;
  int rc = 1;
  /* The consume buffer holds what one call may return: a chunk, or a whole
   * batch of a batch transform when that is larger — never less than a
   * setting asks for. */
  size_t want = stage_batch_size(rt);
  size_t cap = want > CONSUME_CHUNK ? want : CONSUME_CHUNK;
  rd_kafka_message_t **buf = calloc(cap, sizeof(*buf)); /* owned here */
  k.offsets = offsets_new(on_release, on_advance, &k);
  if (!buf || !k.offsets || (o->sink && !(k.batch = sink_batch_new(rt, sink_reject, &k))) ||
      make_clients(&k) != 0 || subscribe(&k) != 0)
    goto out;
  /* Not ready until partitions are assigned ("kafka"); a store starts out
   * trusted and is judged by its writes ("store"). */
  metrics_set_ready(o->metrics, 0);
  if (o->sink)
    metrics_ready_condition(o->metrics, "store", 1);
  log_event(LOG_LEVEL_INFO, "started",
            json_pack("{s:s,s:s,s:s}", "brokers", rt->cfg->brokers, "group", rt->cfg->group_id,
                      "topics", rt->cfg->input_topics),
            "%s consuming", o->service);

  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(k.consumer);
  int linger = o->batch_linger_ms > 0 ? o->batch_linger_ms : 5;
  while (!signals_stop && !k.fatal) {
    /* Take what is there at once; when nothing is, wait for one message
     * (a full-timeout batch call would add its whole timeout to latency). */
    ssize_t n = rd_kafka_consume_batch_queue(q, 0, buf, cap);
    if (n == 0 && (buf[0] = rd_kafka_consumer_poll(k.consumer, poll_timeout_ms(&k))))
      n = 1 + rd_kafka_consume_batch_queue(q, 0, buf + 1, cap - 1);
    /* A batch transform waits a little for a fuller batch. */
    if (n > 0 && !o->sink && (size_t)n < want)
      n += rd_kafka_consume_batch_queue(q, linger, buf + n, want - (size_t)n);
    /* Consumer errors are informational (librdkafka retries); fatal ones
     * surface through error_cb. */
    size_t kept = 0;
    for (ssize_t i = 0; i < n; i++) {
      if (!buf[i]->err) {
        buf[kept++] = buf[i];
        continue;
      }
      if (buf[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log_warn("consume_error", "%s", rd_kafka_message_errstr(buf[i]));
      rd_kafka_message_destroy(buf[i]);
    }
    if (kept && k.brokers_down) { /* a message came: the brokers are back */
      k.brokers_down = 0;
      metrics_set_ready(o->metrics, 1);
    }
    if (kept && (o->sink ? sink_messages(&k, buf, kept) : handle_messages(&k, buf, kept)) != 0)
      k.fatal = 1;
    if (k.batch && sink_batch_count(k.batch) && clock_mono() >= sink_batch_deadline(k.batch) &&
        sink_flush(&k, "age", 0, 0) == STAGE_FATAL)
      k.fatal = 1;
    rd_kafka_poll(k.producer, 0);
  }
  rd_kafka_queue_destroy(q);

  /* Drain: write what the store still holds, wait for every output to be
   * acknowledged so its offset can be stored, then commit and leave the
   * group cleanly. */
  log_info("draining", "stopping: %zu messages in flight", k.inflight);
  if (k.batch && !k.fatal)
    sink_flush(&k, "shutdown", clock_mono() + rt->cfg->shutdown_timeout_ms / 1000.0, 0);
  int left = kafka_flush(k.producer, (int)rt->cfg->shutdown_timeout_ms);
  if (left > 0)
    log_warn("drain_incomplete", "%d outputs unacknowledged; their inputs stay uncommitted", left);
  commit_sync(&k, "shutdown");
  rd_kafka_consumer_close(k.consumer);
  rc = k.fatal ? 1 : 0;
out:
  sink_batch_destroy(k.batch); /* documents and rows first: they point into messages */
  if (k.producer)
    rd_kafka_destroy(k.producer);
  offsets_destroy(k.offsets);
  while (k.live) /* orphans and trackers never finished */
    tracker_free(&k, k.live);
  if (k.consumer)
    rd_kafka_destroy(k.consumer);
  free(buf);
  return rc;
}
