#include "core/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "kafka/kafka.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

int service_init(service_t *svc, const char *name, const char *default_topics,
                 const conf_section_t *own, size_t own_count, int argc, char **argv,
                 const char *usage, int flags) {
  memset(svc, 0, sizeof(*svc));
  svc->name = name;
  svc->exit_code = 2;
  log_init(name, LOG_LEVEL_INFO);

  conf_section_t sections[16];
  if (own_count > 15) {
    log_error("config", "too many config sections");
    return -1;
  }
  sections[0] = (conf_section_t){stage_config_entries(name, default_topics), &svc->stage};
  for (size_t i = 0; i < own_count; i++)
    sections[i + 1] = own[i];
  char errstr[1024], version[64];
  snprintf(version, sizeof(version), "%s %s", name, SENSORY_VERSION);
  int rc = conf_load(sections, own_count + 1, argc, argv, usage, version, &svc->conf, errstr,
                     sizeof(errstr));
  if (rc == CONF_EXIT) {
    svc->exit_code = 0;
    return -1;
  }
  if (rc != CONF_OK) {
    log_error("config", "%s", errstr);
    return -1;
  }
  log_level_t level;
  if (log_level_parse(svc->stage.log_level, &level) != 0) {
    log_error("config", "log.level: '%s' is not debug, info, warn or error", svc->stage.log_level);
    return -1;
  }
  log_init(name, level);

  /* librdkafka checks property names and values locally: do it now, so a
   * typo is a config error (exit 2) and not a failure after start-up. */
  for (int role = 0; role < 2; role++) {
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    int bad = kafka_conf_apply(kc, svc->conf.kafka, svc->conf.kafka_count,
                               role ? "producer" : "consumer", errstr, sizeof(errstr));
    rd_kafka_conf_destroy(kc);
    if (bad) {
      log_error("config", "%s", errstr);
      return -1;
    }
  }

  const char *key_file = svc->stage.dlq_key_file;
  if ((flags & SERVICE_NEED_DLQ_KEY) || (key_file && *key_file)) {
    if (!(svc->dlq_key = dlq_key_load(key_file, errstr, sizeof(errstr)))) {
      log_error("config", "dlq.key_file (DLQ_KEY_FILE): %s", errstr);
      return -1;
    }
  }

  if (!(svc->metrics = metrics_new(name))) {
    svc->exit_code = 1;
    return -1;
  }
  if (!svc->stage.stdio && svc->stage.metrics_addr && *svc->stage.metrics_addr) {
    if (metrics_serve(svc->metrics, svc->stage.metrics_addr, errstr, sizeof(errstr)) != 0) {
      log_error("config", "metrics.addr (METRICS_ADDR): %s", errstr);
      return -1;
    }
    log_event(
        LOG_LEVEL_INFO, "metrics",
        json_pack("{s:s,s:i}", "addr", svc->stage.metrics_addr, "port", metrics_port(svc->metrics)),
        "serving /metrics, /healthz, /readyz");
  }
  svc->exit_code = 0;
  return 0;
}

void service_stage_options(const service_t *svc, stage_options_t *opts) {
  opts->service = svc->name;
  opts->version = SENSORY_VERSION;
  opts->metrics = svc->metrics;
  opts->dlq_key = svc->dlq_key;
  opts->kafka_props = svc->conf.kafka;
  opts->kafka_prop_count = svc->conf.kafka_count;
}

void service_fini(service_t *svc, const conf_section_t *own, size_t own_count) {
  if (!svc)
    return;
  metrics_destroy(svc->metrics);
  dlq_key_destroy(svc->dlq_key);
  conf_section_t stage = {stage_config_entries(svc->name, NULL), &svc->stage};
  conf_free(&stage);
  for (size_t i = 0; i < own_count; i++)
    conf_free(&own[i]);
  conf_result_free(&svc->conf);
  svc->metrics = NULL;
  svc->dlq_key = NULL;
}
