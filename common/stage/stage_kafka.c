/* The Kafka transport of the stage loop.
 *
 * One thread does everything: consume a batch, transform, produce, serve
 * delivery reports. Each input message gets a tracker counting its outputs in
 * flight; trackers queue per partition in consumption order, and an offset is
 * stored only when the tracker at the head of its partition's queue (and every
 * one before it) is fully acknowledged. That is what makes a crash at any point
 * redeliver rather than lose.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "kafka/kafka.h"
#include "stage/stage_internal.h"

#define BATCH_SIZE 1000

typedef struct partq partq_t;

typedef struct tracker {
  struct tracker *prev, *next; /* every live tracker, for the final cleanup */
  partq_t *pq;                 /* NULL once orphaned by a revocation */
  rd_kafka_message_t *rkm;     /* the input, kept for a late dead letter */
  int pending;                 /* outputs not yet acknowledged */
  rd_kafka_resp_err_t err;     /* first delivery error */
  int dead_lettered;           /* its dead letter is what is in flight */
  int done;
  double t0;
  stage_topic_metrics_t *tm;
  char first_failed_at[40]; /* from a replay header, for a new dead letter */
} tracker_t;

struct partq {
  char *topic;
  int32_t partition;
  tracker_t **ring;
  size_t head, count, cap;
};

typedef struct kctx {
  stage_runtime_t *rt;
  rd_kafka_t *consumer, *producer;
  partq_t *pqs;
  size_t pq_count, pq_cap;
  int fatal;
  size_t inflight;
  tracker_t *live; /* head of the list of live trackers */
  int paused;      /* partitions paused while a dependency is down */
} kctx_t;

/* ---- librdkafka configuration -------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char errstr[600];
  if (kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != 0) {
    log_error("config", "%s", errstr);
    return -1;
  }
  return 0;
}

static int apply_props(rd_kafka_conf_t *conf, const stage_options_t *o, const char *role) {
  char errstr[600];
  if (kafka_conf_apply(conf, o->kafka_props, o->kafka_prop_count, role, errstr, sizeof(errstr)) !=
      0) {
    log_error("config", "%s", errstr);
    return -1;
  }
  return 0;
}

/* ---- partition queues ----------------------------------------------------- */

static partq_t *partq_get(kctx_t *k, const char *topic, int32_t partition) {
  for (size_t i = 0; i < k->pq_count; i++)
    if (k->pqs[i].partition == partition && strcmp(k->pqs[i].topic, topic) == 0)
      return &k->pqs[i];
  if (k->pq_count == k->pq_cap) {
    /* Trackers point at their queue: grow by moving to a new array would
     * dangle them, so queues are allocated once with a generous bound. */
    return NULL;
  }
  partq_t *pq = &k->pqs[k->pq_count];
  memset(pq, 0, sizeof(*pq));
  if (!(pq->topic = strdup(topic)))
    return NULL;
  pq->partition = partition;
  k->pq_count++;
  return pq;
}

static int partq_push(partq_t *pq, tracker_t *t) {
  if (pq->count == pq->cap) {
    size_t cap = pq->cap ? pq->cap * 2 : 1024;
    tracker_t **ring = malloc(cap * sizeof(*ring));
    if (!ring)
      return -1;
    for (size_t i = 0; i < pq->count; i++)
      ring[i] = pq->ring[(pq->head + i) % pq->cap];
    free(pq->ring);
    pq->ring = ring;
    pq->head = 0;
    pq->cap = cap;
  }
  pq->ring[(pq->head + pq->count) % pq->cap] = t;
  pq->count++;
  return 0;
}

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

/* Pops every finished tracker at the head of pq and stores the offset after
 * the last one: everything before it is fully acknowledged. */
static void partq_advance(kctx_t *k, partq_t *pq) {
  int64_t next = -1;
  while (pq->count && pq->ring[pq->head]->done) {
    tracker_t *t = pq->ring[pq->head];
    next = t->rkm->offset + 1;
    if (t->tm && t->tm->latency)
      metrics_histogram_observe(t->tm->latency, clock_mono() - t->t0);
    tracker_free(k, t);
    pq->head = (pq->head + 1) % pq->cap;
    pq->count--;
  }
  if (next < 0)
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, pq->topic, pq->partition)->offset = next;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->consumer, l);
  if (err)
    log_debug("offset_store", "%s [%d] offset %lld not stored: %s", pq->topic, pq->partition,
              (long long)next, rd_kafka_err2str(err));
  rd_kafka_topic_partition_list_destroy(l);
}

/* ---- producing ------------------------------------------------------------ */

static int produce_one(kctx_t *k, tracker_t *t, const char *topic, const char *key, size_t key_len,
                       const char *payload, size_t len) {
  double deadline = 0;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_OPAQUE(t),
        RD_KAFKA_V_END);
    if (!err) {
      t->pending++;
      return 0;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return (int)err;
    /* Back-pressure: the producer queue is full, so stop consuming and let
     * delivery reports drain it. */
    if (!deadline)
      deadline = clock_mono() + 600;
    if (clock_mono() > deadline)
      return (int)err;
    rd_kafka_poll(k->producer, 50);
  }
}

static void tracker_finish(kctx_t *k, tracker_t *t);
static void replay_headers(rd_kafka_message_t *m, stage_msg_t *msg, tracker_t *t);

/* A tracker whose outputs were rejected for a reason tied to the message
 * itself is dead-lettered instead; any other failure is fatal so the input
 * stays uncommitted and is redelivered after a restart. */
static int message_level_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG ||
         err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
         err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE;
}

static void dead_letter_tracker(kctx_t *k, tracker_t *t, const char *code, const char *why) {
  stage_runtime_t *rt = k->rt;
  rd_kafka_message_t *m = t->rkm;
  stage_msg_t msg = {rd_kafka_topic_name(m->rkt),
                     m->partition,
                     m->offset,
                     m->key,
                     m->key_len,
                     m->payload,
                     m->len,
                     rd_kafka_message_timestamp(m, NULL),
                     0,
                     NULL};
  replay_headers(m, &msg, t);
  stage_fail_t fail = {.code = code};
  snprintf(fail.message, sizeof(fail.message), "%s", why);
  stage_result_t res = {0};
  if (stage_make_dead_letter(rt, &msg, m->len, &fail, &res) != 0 ||
      produce_one(k, t, res.dead_topic, m->key, m->key_len, res.dead, res.dead_len) != 0) {
    log_error("dead_letter_failed", "cannot dead-letter %s [%d] offset %lld", msg.topic,
              m->partition, (long long)m->offset);
    k->fatal = 1;
  } else {
    t->dead_lettered = 1;
    rt->dead++;
    if (t->tm && t->tm->dead)
      metrics_counter_add(t->tm->dead, 1);
  }
  stage_result_free(&res);
}

static void tracker_finish(kctx_t *k, tracker_t *t) {
  if (t->pending > 0)
    return;
  if (t->err) {
    rd_kafka_resp_err_t err = t->err;
    t->err = 0;
    if (!t->dead_lettered && message_level_error(err)) {
      char why[256];
      snprintf(why, sizeof(why), "output rejected by the broker: %s", rd_kafka_err2str(err));
      dead_letter_tracker(k, t, "output_rejected", why);
      if (t->pending > 0)
        return;
    }
    log_error("delivery_failed", "output of %s [%d] offset %lld not delivered: %s",
              rd_kafka_topic_name(t->rkm->rkt), t->rkm->partition, (long long)t->rkm->offset,
              rd_kafka_err2str(err));
    k->fatal = 1;
    return; /* never done: its offset is not stored */
  }
  t->done = 1;
  if (!t->pq) {
    tracker_free(k, t);
    return;
  }
  partq_advance(k, t->pq);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kctx_t *k = opaque;
  tracker_t *t = m->_private;
  if (m->err && !t->err)
    t->err = m->err;
  if (!m->err) {
    stage_topic_metrics_t *otm = stage_metrics_for(k->rt, rd_kafka_topic_name(m->rkt));
    if (otm && otm->out && !t->dead_lettered)
      metrics_counter_add(otm->out, 1);
  }
  t->pending--;
  tracker_finish(k, t);
}

/* ---- consumer callbacks --------------------------------------------------- */

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
    rd_kafka_assign(rk, parts);
    if (k->paused) /* assigned during an outage: wait like the rest */
      rd_kafka_pause_partitions(rk, parts);
    if (k->rt->opts->metrics)
      metrics_set_ready(k->rt->opts->metrics, 1);
    return;
  }
  /* Revoked: finish what is in flight for these partitions, commit, and only
   * then let them go, so the next owner starts exactly after our last
   * acknowledged message. */
  log_event(LOG_LEVEL_INFO, "revoked", json_pack("{s:i}", "partitions", parts->cnt),
            "revoking %d partitions", parts->cnt);
  rd_kafka_flush(k->producer, (int)k->rt->cfg->shutdown_timeout_ms);
  commit_sync(k, "revoke");
  for (int i = 0; i < parts->cnt; i++) {
    for (size_t q = 0; q < k->pq_count; q++) {
      partq_t *pq = &k->pqs[q];
      if (pq->partition != parts->elems[i].partition || strcmp(pq->topic, parts->elems[i].topic))
        continue;
      /* Whatever is still unacknowledged is orphaned: its offset is never
       * stored, and the next owner reprocesses it (at-least-once). */
      while (pq->count) {
        tracker_t *t = pq->ring[pq->head];
        pq->head = (pq->head + 1) % pq->cap;
        pq->count--;
        t->pq = NULL;
        if (t->done)
          tracker_free(k, t);
      }
    }
  }
  rd_kafka_assign(rk, NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  kctx_t *k = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof(buf));
    log_error("kafka_fatal", "%s: %s", rd_kafka_name(rk), buf);
    k->fatal = 1;
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && k->rt->opts->metrics)
    metrics_set_ready(k->rt->opts->metrics, 0);
  log_warn("kafka_error", "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

/* Statistics carry per-partition consumer lag: sum it per topic into a gauge. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  kctx_t *k = opaque;
  json_t *root = json_loadb(json, len, 0, NULL);
  json_t *topics = json_object_get(root, "topics");
  const char *name;
  json_t *t;
  json_object_foreach(topics, name, t) {
    json_int_t lag = 0;
    int known = 0;
    const char *pid;
    json_t *p;
    json_object_foreach(json_object_get(t, "partitions"), pid, p) {
      json_int_t l = json_integer_value(json_object_get(p, "consumer_lag"));
      if (strcmp(pid, "-1") != 0 && l >= 0 && json_is_true(json_object_get(p, "desired"))) {
        lag += l;
        known = 1;
      }
    }
    stage_topic_metrics_t *tm = known ? stage_metrics_for(k->rt, name) : NULL;
    if (tm && tm->lag)
      metrics_gauge_set(tm->lag, (double)lag);
  }
  json_decref(root);
  return 0;
}

/* ---- the loop ------------------------------------------------------------- */

static rd_kafka_t *make_client(kctx_t *k, rd_kafka_type_t type) {
  const stage_config_t *cfg = k->rt->cfg;
  const stage_options_t *o = k->rt->opts;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[512], buf[64];
  int bad = conf_set(conf, "bootstrap.servers", cfg->brokers) != 0;
  snprintf(buf, sizeof(buf), "%s-%s", o->service,
           type == RD_KAFKA_CONSUMER ? "consumer" : "producer");
  bad |= conf_set(conf, "client.id", buf) != 0;
  rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_opaque(conf, k);
  if (type == RD_KAFKA_CONSUMER) {
    bad |= conf_set(conf, "group.id", cfg->group_id) != 0;
    bad |= conf_set(conf, "enable.auto.offset.store", "false") != 0;
    bad |= conf_set(conf, "enable.auto.commit", "true") != 0;
    snprintf(buf, sizeof(buf), "%lld", (long long)cfg->commit_interval_ms);
    bad |= conf_set(conf, "auto.commit.interval.ms", buf) != 0;
    bad |= conf_set(conf, "auto.offset.reset", "earliest") != 0;
    bad |= conf_set(conf, "statistics.interval.ms", "5000") != 0;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    bad |= apply_props(conf, o, "consumer") != 0;
  } else {
    bad |= conf_set(conf, "enable.idempotence", "true") != 0;
    bad |= conf_set(conf, "linger.ms", "5") != 0;
    /* The stage already pauses consumption on a full queue, so a 16 MiB queue
     * costs no throughput (measured) but bounds memory: librdkafka's default
     * (1 GiB) lets a backlog pile up as unacknowledged outputs. */
    bad |= conf_set(conf, "queue.buffering.max.kbytes", "16384") != 0;
    /* Room for a dead letter that carries a whole input (sealed: base64). */
    snprintf(buf, sizeof(buf), "%lld", (long long)(cfg->max_message_bytes * 2 + 65536));
    bad |= conf_set(conf, "message.max.bytes", buf) != 0;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    bad |= apply_props(conf, o, "producer") != 0;
  }
  if (bad) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (!rk) {
    log_error("kafka_client", "cannot create %s: %s", buf, errstr);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

/* A message that dlq-replay sent back carries its failure history in
 * headers; the next dead letter continues it. */
static void replay_headers(rd_kafka_message_t *m, stage_msg_t *msg, tracker_t *t) {
  rd_kafka_headers_t *hdrs = NULL;
  const void *v;
  size_t n;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  if (rd_kafka_header_get_last(hdrs, "sensory-dlq-attempts", &v, &n) == 0 && v && n > 0 && n < 12) {
    char num[12];
    memcpy(num, v, n);
    num[n] = '\0';
    char *end;
    long a = strtol(num, &end, 10);
    if (*end == '\0' && a > 0 && a < 1000000)
      msg->attempts = (int)a;
  }
  if (rd_kafka_header_get_last(hdrs, "sensory-dlq-first-failed-at", &v, &n) == 0 && v &&
      n < sizeof(t->first_failed_at)) {
    memcpy(t->first_failed_at, v, n);
    t->first_failed_at[n] = '\0';
    msg->first_failed_at = t->first_failed_at;
  }
}

/* ---- dependency outages -------------------------------------------------- */

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

/* Starts tracking a consumed message. Returns NULL (fatal) on no memory. */
static tracker_t *track(kctx_t *k, rd_kafka_message_t *m) {
  const char *topic = rd_kafka_topic_name(m->rkt);
  partq_t *pq = partq_get(k, topic, m->partition);
  tracker_t *t = calloc(1, sizeof(*t));
  if (!pq || !t || partq_push(pq, t) != 0) {
    log_error("tracking_failed", "cannot track %s [%d]: %s", topic, m->partition,
              pq ? "out of memory" : "more partitions than the stage tracks (4096)");
    free(t);
    return NULL;
  }
  tracker_link(k, t);
  t->pq = pq;
  t->rkm = m;
  t->t0 = clock_mono();
  t->tm = stage_metrics_for(k->rt, topic);
  /* A guard reference: a delivery report served while later outputs are still
   * being produced must not finish the tracker early. */
  t->pending = 1;
  k->rt->in++;
  if (t->tm && t->tm->in)
    metrics_counter_add(t->tm->in, 1);
  return t;
}

/* Produces one message's outputs or dead letter. Returns 0, or -1 (fatal). */
static int produce_result(kctx_t *k, tracker_t *t, stage_result_t *res) {
  stage_runtime_t *rt = k->rt;
  rd_kafka_message_t *m = t->rkm;
  if (res->status == STAGE_DEAD_LETTER) {
    rt->dead++;
    if (t->tm && t->tm->dead)
      metrics_counter_add(t->tm->dead, 1);
    t->dead_lettered = 1;
    int err = produce_one(k, t, res->dead_topic, m->key, m->key_len, res->dead, res->dead_len);
    if (err)
      log_error("produce_failed", "dead letter to %s: %s", res->dead_topic,
                rd_kafka_err2str((rd_kafka_resp_err_t)err));
    return err ? -1 : 0;
  }
  for (size_t i = 0; i < res->out.count; i++) {
    stage_item_t *it = &res->out.items[i];
    int err = produce_one(k, t, it->topic, it->key, it->key_len, it->payload, it->len);
    if (err && message_level_error((rd_kafka_resp_err_t)err)) {
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
      if (m->err) {
        /* Consumer errors are informational (librdkafka retries); only fatal
         * ones surface through error_cb. */
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          log_warn("consume_error", "%s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        continue;
      }
      if (!(ts[b] = track(k, m))) {
        rd_kafka_message_destroy(m);
        rc = -1;
        break;
      }
      msgs[b] = (stage_msg_t){rd_kafka_topic_name(m->rkt),
                              m->partition,
                              m->offset,
                              m->key,
                              m->key_len,
                              m->payload ? m->payload : "",
                              m->len,
                              rd_kafka_message_timestamp(m, NULL),
                              0,
                              NULL};
      replay_headers(m, &msgs[b], ts[b]);
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
    for (size_t j = 0; j < done_upto; j++) {
      ts[j]->pending--; /* drop the guard */
      if (!rc)
        tracker_finish(k, ts[j]); /* at once when nothing is in flight */
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

int stage_run_kafka(stage_runtime_t *rt) {
  kctx_t k = {.rt = rt};
  k.pq_cap = 4096;
  k.pqs = calloc(k.pq_cap, sizeof(*k.pqs));
  int rc = 1;
  if (!k.pqs || !(k.producer = make_client(&k, RD_KAFKA_PRODUCER)) ||
      !(k.consumer = make_client(&k, RD_KAFKA_CONSUMER)))
    goto out;
  rd_kafka_poll_set_consumer(k.consumer);
  if (subscribe(&k) != 0)
    goto out;
  log_event(LOG_LEVEL_INFO, "started",
            json_pack("{s:s,s:s,s:s}", "brokers", rt->cfg->brokers, "group", rt->cfg->group_id,
                      "topics", rt->cfg->input_topics),
            "%s consuming", rt->opts->service);

  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(k.consumer);
  rd_kafka_message_t *batch[BATCH_SIZE];
  size_t want = stage_batch_size(rt);
  int linger = rt->opts->batch_linger_ms > 0 ? rt->opts->batch_linger_ms : 5;
  while (!signals_stop && !k.fatal) {
    /* Take what is there at once; when nothing is, wait for one message
     * (a full-timeout batch call would add its whole timeout to latency). */
    ssize_t n = rd_kafka_consume_batch_queue(q, 0, batch, BATCH_SIZE);
    if (n == 0 && (batch[0] = rd_kafka_consumer_poll(k.consumer, 100)))
      n = 1 + rd_kafka_consume_batch_queue(q, 0, batch + 1, BATCH_SIZE - 1);
    /* A batch transform waits a little for a fuller batch. */
    if (n > 0 && (size_t)n < want)
      n += rd_kafka_consume_batch_queue(q, linger, batch + n, want - (size_t)n);
    if (n > 0 && handle_messages(&k, batch, (size_t)n) != 0)
      k.fatal = 1;
    rd_kafka_poll(k.producer, 0);
  }
  rd_kafka_queue_destroy(q);

  /* Drain: wait for every output to be acknowledged so its offset can be
   * stored, then commit and leave the group cleanly. */
  log_info("draining", "stopping: %zu messages in flight", k.inflight);
  rd_kafka_flush(k.producer, (int)rt->cfg->shutdown_timeout_ms);
  if (rd_kafka_outq_len(k.producer) > 0)
    log_warn("drain_incomplete", "%d outputs unacknowledged; their inputs stay uncommitted",
             rd_kafka_outq_len(k.producer));
  commit_sync(&k, "shutdown");
  rd_kafka_consumer_close(k.consumer);
  rc = k.fatal ? 1 : 0;
out:
  if (k.producer)
    rd_kafka_destroy(k.producer);
  while (k.live)
    tracker_free(&k, k.live);
  if (k.consumer)
    rd_kafka_destroy(k.consumer);
  for (size_t i = 0; i < k.pq_count; i++) {
    free(k.pqs[i].ring);
    free(k.pqs[i].topic);
  }
  free(k.pqs);
  return rc;
}
