/* risk_decisions — risk.decisions producer (see risk_decisions.h): the
 * client from the common factory, non-blocking produce, a poll thread for
 * delivery reports, the Kafka-up state and the decision counters. */
#include "risk_decisions.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "kafka/kafka.h"

struct risk_decisions {
  rd_kafka_t *rk;
  char *topic;
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_int up;
  metrics_counter_t *published, *dropped;
  metrics_gauge_t *queued, *kafka_up;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)m;
  risk_decisions_t *d = opaque;
  if (m->err) {
    metrics_counter_add(d->dropped, 1);
  } else {
    metrics_counter_add(d->published, 1);
    atomic_store(&d->up, 1);
  }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  kafka_error_cb(rk, err, reason, opaque);
  risk_decisions_t *d = opaque;
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT)
    atomic_store(&d->up, 0);
}

static void *poll_main(void *arg) {
  risk_decisions_t *d = arg;
  double next_probe = 0;
  while (!atomic_load(&d->stop)) {
    rd_kafka_poll(d->rk, 200);
    double now = clock_mono();
    /* While down (or before the first delivery), ask a broker for metadata
     * now and then: readiness must recover without traffic. */
    if (!atomic_load(&d->up) && now >= next_probe) {
      const struct rd_kafka_metadata *md = NULL;
      rd_kafka_topic_t *t = rd_kafka_topic_new(d->rk, d->topic, NULL);
      if (t && rd_kafka_metadata(d->rk, 0, t, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        atomic_store(&d->up, 1);
      if (md)
        rd_kafka_metadata_destroy(md);
      if (t)
        rd_kafka_topic_destroy(t);
      next_probe = clock_mono() + 2.0;
    }
    metrics_gauge_set(d->queued, (double)rd_kafka_outq_len(d->rk));
    metrics_gauge_set(d->kafka_up, atomic_load(&d->up));
  }
  return NULL;
}

risk_decisions_t *risk_decisions_new(const risk_decisions_opts_t *o, char *errstr,
                                     size_t errstr_size) {
  risk_decisions_t *d = calloc(1, sizeof(*d));
  if (!d || !(d->topic = strdup(o->topic))) {
    snprintf(errstr, errstr_size, "out of memory");
    free(d);
    return NULL;
  }
  char qmax[32];
  snprintf(qmax, sizeof(qmax), "%lld", (long long)(o->queue_max > 0 ? o->queue_max : 100000));
  conf_kv_t defaults[] = {{.key = "queue.buffering.max.messages", .value = qmax}};
  kafka_client_opts_t ko = {
      .brokers = o->brokers,
      .client_id = "risk-svc-decisions",
      .props = o->props,
      .nprops = o->nprops,
      .defaults = defaults,
      .ndefaults = 1,
      .opaque = d,
      .dr_msg_cb = dr_cb,
      .max_message_bytes = 65536,
      .error_cb = error_cb,
  };
  if (o->metrics) {
    d->published = metrics_counter(o->metrics, "decisions_published_total",
                                   "Decisions acknowledged by Kafka (risk.decisions)", NULL, NULL);
    d->dropped =
        metrics_counter(o->metrics, "decisions_dropped_total",
                        "Decisions not published: queue full or Kafka down too long", NULL, NULL);
    d->queued = metrics_gauge(o->metrics, "decisions_queued",
                              "Decisions waiting for Kafka's acknowledgement", NULL, NULL);
    d->kafka_up =
        metrics_gauge(o->metrics, "kafka_up",
                      "1 while a Kafka broker answers the decisions producer", NULL, NULL);
  }
  if (!(d->rk = kafka_producer_new(&ko, errstr, errstr_size))) {
    free(d->topic);
    free(d);
    return NULL;
  }
  if (pthread_create(&d->thread, NULL, poll_main, d) != 0) {
    snprintf(errstr, errstr_size, "cannot start the producer thread");
    risk_decisions_destroy(d, 0);
    return NULL;
  }
  d->thread_started = 1;
  return d;
}

int risk_decisions_destroy(risk_decisions_t *d, int flush_ms) {
  if (!d)
    return 0;
  int left = 0;
  if (d->thread_started) {
    atomic_store(&d->stop, 1);
    pthread_join(d->thread, NULL);
  }
  if (d->rk) {
    left = kafka_flush(d->rk, flush_ms);
    rd_kafka_destroy(d->rk);
  }
  free(d->topic);
  free(d);
  return left;
}

int risk_decisions_publish(void *ctx, const char *key, size_t key_len, const char *payload,
                           size_t len) {
  risk_decisions_t *d = ctx;
  /* block_ms 0: an HTTP thread never waits for Kafka. */
  rd_kafka_resp_err_t err =
      kafka_produce(d->rk, d->topic, key, key_len, payload, len, NULL, 0, NULL, 0);
  if (err) {
    metrics_counter_add(d->dropped, 1);
    return -1;
  }
  return 0;
}

int risk_decisions_up(const risk_decisions_t *d) {
  return atomic_load(&((risk_decisions_t *)d)->up);
}
