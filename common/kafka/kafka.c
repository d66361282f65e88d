#include "kafka/kafka.h"

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
