/* service — the start-up every streaming program shares: read config (the
 * shared stage table plus the service's own), set up logging, load the
 * dead-letter key, start the metrics/health endpoint. Bad config ends the
 * program with exit code 2 before any connection is made.
 */
#ifndef SENSORY_SERVICE_H
#define SENSORY_SERVICE_H

#include "core/config.h"
#include "net/metrics.h"
#include "privacy/dlq.h"
#include "stage/stage.h"

typedef struct service {
  const char *name;
  stage_config_t stage;
  conf_result_t conf;
  dlq_key_t *dlq_key; /* NULL unless loaded */
  metrics_t *metrics;
  int exit_code; /* set when service_init() fails or asks to exit */
} service_t;

enum { SERVICE_NEED_DLQ_KEY = 1 };

/* Parses config into svc->stage and the service's own sections, initialises
 * logging, loads the DLQ key (always when flags has SERVICE_NEED_DLQ_KEY,
 * else when dlq.key_file is set) and, unless in --stdio mode or metrics.addr
 * is empty, starts the metrics server (not ready until the stage is assigned).
 * Returns 0 to go on, or -1 with svc->exit_code set (0 after --help/--version,
 * 2 for bad config, 1 otherwise). Messages go to the log. */
int service_init(service_t *svc, const char *name, const char *default_topics,
                 const conf_section_t *own, size_t own_count, int argc, char **argv,
                 const char *usage, int flags);

/* Fills stage options common to every service (metrics, DLQ key, Kafka
 * pass-through properties) into opts. */
void service_stage_options(const service_t *svc, stage_options_t *opts);

/* Releases what service_init() set up (NULL-safe, half-built is fine). */
void service_fini(service_t *svc, const conf_section_t *own, size_t own_count);

#endif
