/* risk_config — the settings of risk-svc (see risk_config.h). */
#include "risk_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(risk_config_t, f)

static const conf_entry_t entries[] = {
    {.key = "privacy.hmac_key_file",
     .env = "PRIVACY_HMAC_KEY_FILE",
     .type = CONF_STRING,
     .offset = OFF(hmac_key_file),
     .required = 1,
     .doc = "pseudonym key file, the same Secret as privacy-shield's"},
    {.key = "privacy.key_id",
     .env = "PRIVACY_KEY_ID",
     .type = CONF_STRING,
     .offset = OFF(key_id),
     .doc = "key name in every hash (default: the key's fingerprint)"},
    {.key = "http.addr",
     .env = "RISK_HTTP_ADDR",
     .type = CONF_STRING,
     .def = "0.0.0.0:8080",
     .offset = OFF(http_addr),
     .doc = "host:port of the API"},
    {.key = "http.threads",
     .env = "RISK_HTTP_THREADS",
     .type = CONF_INT,
     .def = "8",
     .offset = OFF(http_threads),
     .min = 1,
     .max = 64,
     .doc = "API threads, each with its own Redis connection (a handler waits for Redis, so "
            "more threads than cores keep the core busy)"},
    {.key = "http.max_body",
     .env = "RISK_HTTP_MAX_BODY",
     .type = CONF_INT,
     .def = "65536",
     .offset = OFF(http_max_body),
     .min = 1024,
     .max = 16777216,
     .doc = "largest request body in bytes; larger ones are answered 413"},
    {.key = "risk.api_keys_file",
     .env = "RISK_API_KEYS_FILE",
     .type = CONF_STRING,
     .offset = OFF(api_keys_file),
     .doc = "API keys (a Secret): lines NAME SCOPES SHA256HEX; required to serve"},
    {.key = "risk.rate_limit",
     .env = "RISK_RATE_LIMIT",
     .type = CONF_DOUBLE,
     .def = "2000",
     .offset = OFF(rate_limit),
     .doc = "requests per second per API key (0: no limit)"},
    {.key = "risk.rate_burst",
     .env = "RISK_RATE_BURST",
     .type = CONF_DOUBLE,
     .def = "0",
     .offset = OFF(rate_burst),
     .doc = "burst per API key (0: one second's worth)"},
    {.key = "risk.fail_mode",
     .env = "RISK_FAIL_MODE",
     .type = CONF_STRING,
     .def = "open",
     .offset = OFF(fail_mode),
     .doc = "Redis down: open (accept unless the request alone says otherwise) or closed "
            "(advance payment for COD)"},
    {.key = "rules.file",
     .env = "RISK_RULES_FILE",
     .type = CONF_STRING,
     .offset = OFF(rules_file),
     .doc = "rules YAML (default: the built-in rules)"},
    {.key = "decisions.topic",
     .env = "RISK_DECISIONS_TOPIC",
     .type = CONF_STRING,
     .def = "risk.decisions",
     .offset = OFF(decisions_topic),
     .doc = "where every decision is published (empty: not published)"},
    {.key = "decisions.queue_max",
     .env = "RISK_DECISIONS_QUEUE_MAX",
     .type = CONF_INT,
     .def = "100000",
     .offset = OFF(decisions_queue_max),
     .min = 1,
     .max = 10000000,
     .doc = "decisions queued for Kafka at most; more are dropped and counted"},
    {.key = "history.prefix",
     .env = "RISK_HISTORY_PREFIX",
     .type = CONF_STRING,
     .def = "risk",
     .offset = OFF(history_prefix),
     .required = 1,
     .doc = "Redis key prefix"},
    {.key = "history.order_ttl_days",
     .type = CONF_INT,
     .def = "90",
     .offset = OFF(order_ttl_days),
     .min = 1,
     .max = 3650,
     .doc = "how long an order's statuses are remembered (redelivery detection)"},
    {.key = "history.customer_ttl_days",
     .type = CONF_INT,
     .def = "400",
     .offset = OFF(customer_ttl_days),
     .min = 1,
     .max = 3650,
     .doc = "a customer's history expires this long after their last order"},
    {.key = "history.velocity_max",
     .type = CONF_INT,
     .def = "1000",
     .offset = OFF(velocity_max),
     .min = 10,
     .max = 1000000,
     .doc = "order times kept per customer for the velocity windows"},
    {0},
};

const conf_entry_t *risk_config_entries(void) {
  return entries;
}

const conf_entry_t *risk_redis_entries(void) {
  static conf_entry_t copy[16];
  if (!copy[0].key) {
    const conf_entry_t *e = redis_conf_entries();
    for (size_t i = 0; e[i].key && i + 1 < sizeof(copy) / sizeof(copy[0]); i++) {
      copy[i] = e[i];
      if (strcmp(e[i].key, "redis.command_timeout_ms") == 0)
        copy[i].def = "50";
      else if (strcmp(e[i].key, "redis.connect_timeout_ms") == 0)
        copy[i].def = "200";
    }
  }
  return copy;
}

int risk_config_check(const risk_config_t *c, risk_fail_mode_t *mode, char *errstr,
                      size_t errstr_size) {
  if (strcmp(c->fail_mode, "open") == 0)
    *mode = RISK_FAIL_OPEN;
  else if (strcmp(c->fail_mode, "closed") == 0)
    *mode = RISK_FAIL_CLOSED;
  else {
    snprintf(errstr, errstr_size, "risk.fail_mode (RISK_FAIL_MODE): must be open or closed");
    return -1;
  }
  if (c->rate_limit < 0 || c->rate_burst < 0) {
    snprintf(errstr, errstr_size, "risk.rate_limit / risk.rate_burst: must be >= 0");
    return -1;
  }
  return 0;
}
