/* kafka — the one way every program makes a librdkafka client: the same log
 * callback (into our JSON log), the same error callback, the same defaults
 * (idempotent producer, bounded producer queue, manual offset storing), the
 * pass-through properties of config (see config.h) applied per client role,
 * and one produce call with back-pressure.
 *
 * Order in which properties are set, later wins: the factory's defaults for
 * the role, the caller's defaults (opts.defaults), the operator's
 * pass-through properties (opts.props), the caller's overrides
 * (opts.overrides: what the caller's correctness depends on, e.g. dlq-replay
 * never auto-committing). */
#ifndef SENSORY_KAFKA_H
#define SENSORY_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "core/config.h"
#include "core/signals.h"

/* librdkafka log callback (rd_kafka_conf_set_log_cb): one JSON log line per
 * message, syslog levels mapped to ours. */
void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* The common error callback: logs the error (a fatal one with librdkafka's
 * reason from rd_kafka_fatal_error); a program's loop stops on
 * rd_kafka_fatal_error() != 0. */
void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Sets one property; on failure fills errstr ("kafka property K: why") and
 * returns -1. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                   size_t errstr_size);

/* Applies pass-through properties for a client of the given role ("consumer"
 * or "producer"): plain keys apply to every client, "consumer.X" and
 * "producer.X" only to that role. Returns 0 or -1 (errstr names the property). */
int kafka_conf_apply(rd_kafka_conf_t *conf, const conf_kv_t *props, size_t count, const char *role,
                     char *errstr, size_t errstr_size);

typedef struct kafka_client_opts {
  const char *brokers;    /* bootstrap.servers */
  const char *client_id;  /* e.g. "privacy-shield-producer" */
  const conf_kv_t *props; /* operator pass-through (config.h), may be NULL */
  size_t nprops;
  const conf_kv_t *defaults; /* the caller's defaults, before props; may be NULL */
  size_t ndefaults;
  const conf_kv_t *overrides; /* set after props; may be NULL */
  size_t noverrides;
  void *opaque; /* rd_kafka_opaque() of the client */
  /* Producers: delivery reports (required) and the largest message the
   * caller produces (0: librdkafka's default), which sizes message.max.bytes. */
  void (*dr_msg_cb)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
  int64_t max_message_bytes;
  /* Consumers: group.id (required), and optional callbacks. */
  const char *group_id;
  void (*rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *parts, void *opaque);
  int (*stats_cb)(rd_kafka_t *rk, char *json, size_t len, void *opaque);
  /* Optional: replaces kafka_error_cb (which such a callback should call
   * first, to log), e.g. to mark the program not ready. */
  void (*error_cb)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
} kafka_client_opts_t;

/* An idempotent producer (enable.idempotence, linger.ms 5, lz4,
 * queue.buffering.max.kbytes 16384 — the stages pause consumption when it is
 * full, so a small queue costs no throughput but bounds memory —, and
 * message.max.bytes sized for max_message_bytes plus a sealed dead letter of
 * it). Caller owns the result (rd_kafka_destroy, after kafka_flush). NULL with
 * errstr naming the property or the problem. */
rd_kafka_t *kafka_producer_new(const kafka_client_opts_t *o, char *errstr, size_t errstr_size);

/* A group consumer with manual offset storing (enable.auto.offset.store
 * false; stored offsets auto-committed every 1 s unless overridden),
 * auto.offset.reset earliest, statistics every 5 s when stats_cb is set, and
 * its events on the consumer queue (rd_kafka_poll_set_consumer done). Caller
 * owns the result (rd_kafka_consumer_close, then rd_kafka_destroy). */
rd_kafka_t *kafka_consumer_new(const kafka_client_opts_t *o, char *errstr, size_t errstr_size);

/* Produces one message (payload and key copied; headers, may be NULL, are
 * taken over by librdkafka on success and destroyed by the caller otherwise),
 * with back-pressure: while the producer queue is full it serves delivery
 * reports (rd_kafka_poll) and tries again, for at most block_ms (< 0: until
 * signals_stop is set). timestamp_ms 0 lets librdkafka stamp it. Returns
 * RD_KAFKA_RESP_ERR_NO_ERROR, or the error (__QUEUE_FULL when block_ms
 * passed or a stop was requested). */
rd_kafka_resp_err_t kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
                                  size_t key_len, const void *payload, size_t len,
                                  rd_kafka_headers_t *headers, int64_t timestamp_ms, void *opaque,
                                  int64_t block_ms);

/* Waits up to timeout_ms for every queued message to be acknowledged.
 * Returns the number still unacknowledged (0 when all were). */
int kafka_flush(rd_kafka_t *rk, int timeout_ms);

/* 1 when the error is about the message itself (too large, invalid record):
 * dead-letter the input instead of stopping. */
int kafka_message_level_error(rd_kafka_resp_err_t err);

#endif
