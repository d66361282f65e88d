/* risk_decisions — the producer of risk.decisions: every answered decision
 * is queued (key order_id) without ever blocking an HTTP thread. The queue
 * is bounded (decisions.queue_max messages and librdkafka's byte bound); a
 * decision that does not fit, or that librdkafka gives up on after
 * message.timeout.ms (Kafka down that long), is counted in
 * risk_svc_decisions_dropped_total and is lost — the answer to the merchant
 * was already given. A thread of its own serves delivery reports and tells
 * whether Kafka is reachable (for /readyz).
 */
#ifndef RISK_DECISIONS_H
#define RISK_DECISIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "net/metrics.h"

typedef struct risk_decisions risk_decisions_t;

typedef struct risk_decisions_opts {
  const char *brokers;
  const char *topic;
  const conf_kv_t *props; /* pass-through librdkafka properties; may be NULL */
  size_t nprops;
  int64_t queue_max;  /* queued decisions at most */
  metrics_t *metrics; /* may be NULL */
} risk_decisions_opts_t;

/* Creates the producer and its poll thread. NULL with errstr on a bad
 * property. */
risk_decisions_t *risk_decisions_new(const risk_decisions_opts_t *o, char *errstr,
                                     size_t errstr_size);

/* Waits up to flush_ms for queued decisions, stops the thread and frees;
 * NULL is accepted. Returns how many were still unacknowledged. */
int risk_decisions_destroy(risk_decisions_t *d, int flush_ms);

/* risk_sink_t publish: queues a copy; 0, or -1 when dropped (counted). */
int risk_decisions_publish(void *ctx, const char *key, size_t key_len, const char *payload,
                           size_t len);

/* 1 when a broker answered recently (a delivery or metadata succeeded and no
 * "all brokers down" came after), else 0. */
int risk_decisions_up(const risk_decisions_t *d);

#endif
