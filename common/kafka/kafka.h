/* kafka — the librdkafka set-up every program shares: its log routed into our
 * JSON log, property setting with errors, and the pass-through properties of
 * config (see config.h) applied per client role. */
#ifndef SENSORY_KAFKA_H
#define SENSORY_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "core/config.h"

/* librdkafka log callback (rd_kafka_conf_set_log_cb): one JSON log line per
 * message, syslog levels mapped to ours. */
void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Sets one property; on failure fills errstr ("kafka property K: why") and
 * returns -1. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                   size_t errstr_size);

/* Applies pass-through properties for a client of the given role ("consumer"
 * or "producer"): plain keys apply to every client, "consumer.X" and
 * "producer.X" only to that role. Returns 0 or -1 (errstr names the property). */
int kafka_conf_apply(rd_kafka_conf_t *conf, const conf_kv_t *props, size_t count, const char *role,
                     char *errstr, size_t errstr_size);

#endif
