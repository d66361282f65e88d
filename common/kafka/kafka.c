#include "kafka/kafka.h"

#include "core/clock.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  /* librdkafka uses syslog levels: 3 error, 4 warning, 6 info, 7 debug. */
  log_level_t l = level <= 3   ? LOG_LEVEL_ERROR
                  : level <= 4 ? LOG_LEVEL_WARN
                  : level <= 6 ? LOG_LEVEL_INFO
                               : LOG_LEVEL_DEBUG;
  log_event(l, "librdkafka", json_pack("{s:s,s:s}", "facility", fac, "client", rd_kafka_name(rk)),
            "%s", buf);
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                   size_t errstr_size) {
  char why[512];
  if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
    snprintf(errstr, errstr_size, "kafka property %s: %s", key, why);
    return -1;
  }
  return 0;
}

int kafka_conf_apply(rd_kafka_conf_t *conf, const conf_kv_t *props, size_t count, const char *role,
                     char *errstr, size_t errstr_size) {
  size_t rl = strlen(role);
  for (size_t i = 0; i < count; i++) {
    const char *k = props[i].key;
    if (strncmp(k, "consumer.", 9) == 0 || strncmp(k, "producer.", 9) == 0) {
      if (strncmp(k, role, rl) != 0 || k[rl] != '.')
        continue;
      k += rl + 1;
    }
    if (kafka_conf_set(conf, k, props[i].value, errstr, errstr_size) != 0)
      return -1;
  }
  return 0;
}

void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof(buf));
    log_error("kafka_fatal", "%s: %s", rd_kafka_name(rk), buf);
    return;
  }
  log_warn("kafka_error", "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

static int apply_kv(rd_kafka_conf_t *conf, const conf_kv_t *kv, size_t n, char *errstr,
                    size_t errstr_size) {
  for (size_t i = 0; i < n; i++)
    if (kafka_conf_set(conf, kv[i].key, kv[i].value, errstr, errstr_size) != 0)
      return -1;
  return 0;
}

/* Builds a client of type from the role's defaults and opts; see kafka.h for
 * the order of the layers. */
static rd_kafka_t *client_new(rd_kafka_type_t type, const kafka_client_opts_t *o,
                              const conf_kv_t *role_defaults, size_t nrole, char *errstr,
                              size_t errstr_size) {
  const char *role = type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (kafka_conf_set(conf, "bootstrap.servers", o->brokers, errstr, errstr_size) ||
      (o->client_id && kafka_conf_set(conf, "client.id", o->client_id, errstr, errstr_size)) ||
      apply_kv(conf, role_defaults, nrole, errstr, errstr_size) ||
      apply_kv(conf, o->defaults, o->ndefaults, errstr, errstr_size) ||
      kafka_conf_apply(conf, o->props, o->nprops, role, errstr, errstr_size) ||
      apply_kv(conf, o->overrides, o->noverrides, errstr, errstr_size)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
  rd_kafka_conf_set_error_cb(conf, o->error_cb ? o->error_cb : kafka_error_cb);
  rd_kafka_conf_set_opaque(conf, o->opaque);
  if (type == RD_KAFKA_PRODUCER) {
    rd_kafka_conf_set_dr_msg_cb(conf, o->dr_msg_cb);
  } else {
    if (o->rebalance_cb)
      rd_kafka_conf_set_rebalance_cb(conf, o->rebalance_cb);
    if (o->stats_cb)
      rd_kafka_conf_set_stats_cb(conf, o->stats_cb);
  }
  char why[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof(why));
  if (!rk) {
    snprintf(errstr, errstr_size, "cannot create the Kafka %s: %s", role, why);
    rd_kafka_conf_destroy(conf);
  }
  return rk; /* on success the client owns conf */
}

rd_kafka_t *kafka_producer_new(const kafka_client_opts_t *o, char *errstr, size_t errstr_size) {
  if (!o->dr_msg_cb) {
    snprintf(errstr, errstr_size, "a producer needs a delivery report callback");
    return NULL;
  }
  /* Room for a dead letter that carries a whole input (sealed: base64). */
  char max[32];
  snprintf(max, sizeof(max), "%lld",
           (long long)(o->max_message_bytes > 0 ? o->max_message_bytes * 2 + 65536 : 1000000));
  conf_kv_t defaults[] = {
      {.key = "enable.idempotence", .value = "true"},
      {.key = "linger.ms", .value = "5"},
      {.key = "compression.codec", .value = "lz4"},
      {.key = "queue.buffering.max.kbytes", .value = "16384"},
      {.key = "message.max.bytes", .value = max},
  };
  return client_new(RD_KAFKA_PRODUCER, o, defaults, sizeof(defaults) / sizeof(defaults[0]), errstr,
                    errstr_size);
}

rd_kafka_t *kafka_consumer_new(const kafka_client_opts_t *o, char *errstr, size_t errstr_size) {
  if (!o->group_id || !*o->group_id) {
    snprintf(errstr, errstr_size, "a consumer needs a group id");
    return NULL;
  }
  conf_kv_t defaults[] = {
      {.key = "group.id", .value = (char *)o->group_id},
      {.key = "enable.auto.offset.store", .value = "false"},
      {.key = "enable.auto.commit", .value = "true"},
      {.key = "auto.commit.interval.ms", .value = "1000"},
      {.key = "auto.offset.reset", .value = "earliest"},
      {.key = "statistics.interval.ms", .value = o->stats_cb ? "5000" : "0"},
  };
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, o, defaults,
                              sizeof(defaults) / sizeof(defaults[0]), errstr, errstr_size);
  if (rk)
    rd_kafka_poll_set_consumer(rk); /* one queue: consumer_poll serves every event */
  return rk;
}

rd_kafka_resp_err_t kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
                                  size_t key_len, const void *payload, size_t len,
                                  rd_kafka_headers_t *headers, int64_t timestamp_ms, void *opaque,
                                  int64_t block_ms) {
  double deadline = 0;
  for (;;) {
    rd_kafka_resp_err_t err =
        headers
            ? rd_kafka_producev(
                  rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                  RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)payload, len),
                  RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                  RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END)
            : rd_kafka_producev(
                  rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                  RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)payload, len),
                  RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return err;
    /* Back-pressure: the queue is full, so serve delivery reports until it
     * drains (message.timeout.ms bounds how long a message can sit there). */
    if (block_ms >= 0) {
      double now = clock_mono();
      if (!deadline)
        deadline = now + (double)block_ms / 1000.0;
      if (now >= deadline)
        return err;
    } else if (signals_stop) {
      return err;
    }
    rd_kafka_poll(rk, 10);
  }
}

int kafka_flush(rd_kafka_t *rk, int timeout_ms) {
  rd_kafka_flush(rk, timeout_ms);
  return rd_kafka_outq_len(rk);
}

int kafka_message_level_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG ||
         err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE;
}
