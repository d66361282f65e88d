/* Kafka and stdio sinks of scraper-ingest. */
#include "scraper_sink.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "kafka/kafka.h"

struct scr_sink {
  rd_kafka_t *rk;
  FILE *out, *dlq;
  long timeout_ms;
  uint64_t acked, failed;
  rd_kafka_resp_err_t first_err;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  scr_sink_t *s = opaque;
  if (m->err) {
    if (!s->failed)
      s->first_err = m->err;
    s->failed++;
  } else {
    s->acked++;
  }
}

scr_sink_t *scr_sink_kafka_new(const char *brokers, const conf_kv_t *props, size_t nprops,
                               long timeout_ms, char *errstr, size_t errstr_size) {
  scr_sink_t *s = calloc(1, sizeof(*s)); /* owned by the caller */
  if (!s) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  s->timeout_ms = timeout_ms;
  char tmo[32];
  snprintf(tmo, sizeof(tmo), "%ld", timeout_ms);
  /* The message timeout bounds how long an unreachable broker can hold a
   * run; a CronJob's records come in pages, so waiting 20 ms fills batches. */
  conf_kv_t defaults[] = {{.key = "linger.ms", .value = "20"},
                          {.key = "message.timeout.ms", .value = tmo}};
  kafka_client_opts_t ko = {.brokers = brokers,
                            .client_id = "scraper-ingest",
                            .props = props,
                            .nprops = nprops,
                            .defaults = defaults,
                            .ndefaults = 2,
                            .opaque = s,
                            .dr_msg_cb = dr_cb};
  if (!(s->rk = kafka_producer_new(&ko, errstr, errstr_size)))
    goto fail;
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 0, NULL, &md, (int)timeout_ms);
  if (err) {
    snprintf(errstr, errstr_size, "kafka %s unreachable: %s", brokers, rd_kafka_err2str(err));
    goto fail;
  }
  rd_kafka_metadata_destroy(md);
  return s;
fail:
  if (s->rk)
    rd_kafka_destroy(s->rk);
  free(s);
  return NULL;
}

scr_sink_t *scr_sink_stdio_new(FILE *out, FILE *dlq) {
  scr_sink_t *s = calloc(1, sizeof(*s)); /* owned by the caller */
  if (!s)
    return NULL;
  s->out = out;
  s->dlq = dlq;
  return s;
}

void scr_sink_destroy(scr_sink_t *s) {
  if (!s)
    return;
  if (s->rk) {
    rd_kafka_flush(s->rk, (int)s->timeout_ms);
    rd_kafka_destroy(s->rk);
  }
  free(s);
}

int scr_sink_produce(scr_sink_t *s, int dead_letter, const char *topic, const char *key,
                     size_t key_len, const char *payload, size_t len, char *errstr,
                     size_t errstr_size) {
  if (!s->rk) {
    FILE *fp = dead_letter ? s->dlq : s->out;
    if (fwrite(payload, 1, len, fp) != len || fputc('\n', fp) == EOF) {
      snprintf(errstr, errstr_size, "write failed");
      return -1;
    }
    s->acked++;
    return 0;
  }
  if (s->failed) {
    snprintf(errstr, errstr_size, "delivery failed: %s", rd_kafka_err2str(s->first_err));
    return -1;
  }
  /* Back-pressure: message.timeout.ms bounds the wait, as undeliverable
   * messages fail and free their slots. */
  rd_kafka_resp_err_t err =
      kafka_produce(s->rk, topic, key, key_len, payload, len, NULL, 0, NULL, s->timeout_ms + 1000);
  if (err) {
    snprintf(errstr, errstr_size, "produce to %s: %s", topic,
             s->failed ? rd_kafka_err2str(s->first_err) : rd_kafka_err2str(err));
    return -1;
  }
  rd_kafka_poll(s->rk, 0);
  return 0;
}

int scr_sink_flush(scr_sink_t *s, char *errstr, size_t errstr_size) {
  if (!s->rk) {
    if (fflush(s->out) != 0 || (s->dlq && fflush(s->dlq) != 0)) {
      snprintf(errstr, errstr_size, "write failed");
      return -1;
    }
    return 0;
  }
  /* message.timeout.ms already bounds every message; the extra second lets
   * the last delivery reports arrive. */
  rd_kafka_flush(s->rk, (int)s->timeout_ms + 1000);
  int left = rd_kafka_outq_len(s->rk);
  if (s->failed) {
    snprintf(errstr, errstr_size, "%llu message(s) not delivered: %s",
             (unsigned long long)s->failed, rd_kafka_err2str(s->first_err));
    return -1;
  }
  if (left > 0) {
    snprintf(errstr, errstr_size, "%d message(s) not acknowledged after %ld ms", left,
             s->timeout_ms);
    return -1;
  }
  return 0;
}

uint64_t scr_sink_acked(const scr_sink_t *s) {
  return s ? s->acked : 0;
}
