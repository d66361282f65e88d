/* risk_config — risk-svc's own settings table (the start-up's shared and
 * stage settings and the Redis section come on top; see main.c). */
#ifndef RISK_CONFIG_H
#define RISK_CONFIG_H

#include <stdint.h>

#include "core/config.h"
#include "net/redis.h"
#include "risk_rules.h"

typedef struct risk_config {
  char *hmac_key_file;
  char *key_id;
  char *http_addr;
  int64_t http_threads;
  int64_t http_max_body;
  char *api_keys_file;
  double rate_limit;
  double rate_burst;
  char *fail_mode;
  char *rules_file;
  char *decisions_topic;
  int64_t decisions_queue_max;
  char *history_prefix;
  int64_t order_ttl_days;
  int64_t customer_ttl_days;
  int64_t velocity_max;
} risk_config_t;

/* The table (static storage) for a risk_config_t section. */
const conf_entry_t *risk_config_entries(void);

/* The shared Redis settings (net/redis.h) with risk-svc's defaults: a
 * command timeout of 50 ms and a connect timeout of 200 ms, because an
 * answer waits for Redis at most that long before it is given degraded.
 * Static storage, built on the first call (at start-up, one thread). */
const conf_entry_t *risk_redis_entries(void);

/* Checks what the table cannot (fail_mode's values, rate >= 0). Returns 0,
 * or -1 with errstr naming the setting. */
int risk_config_check(const risk_config_t *c, risk_fail_mode_t *mode, char *errstr,
                      size_t errstr_size);

#endif
