/* app — the one start-up of every program, whatever it runs as: a stage
 * (Deployment), a CronJob (scraper-ingest), an operator CLI (dlq-replay,
 * post-search) or a server with an API (risk-svc).
 *
 * A program declares what it uses (APP_* flags) and its own settings
 * sections; app_init() then, in this order and before any connection:
 *   1. reads every setting — the shared ones declared here once
 *      (kafka.brokers, log.level, dlq.key_file, schemas.dir, topics.file,
 *      metrics.addr; each only when the program uses it), the stage's
 *      (APP_STAGE), a sink's batch thresholds (APP_SINK), and the program's
 *      sections — from defaults, --config YAML, environment and flags
 *      (core/config.h), printing --help/--version;
 *   2. sets the log level; checks librdkafka pass-through properties for both
 *      client roles (APP_KAFKA);
 *   3. loads the dead-letter key (APP_DLQ_KEY: when set; APP_DLQ_KEY_REQUIRED:
 *      always) and schemas.dir/topics.yaml (APP_SCHEMAS), and checks that the
 *      stage's input topics are in it with a dead-letter topic (APP_STAGE);
 *   4. creates the metrics registry and, with APP_METRICS, serves /metrics,
 *      /healthz and /readyz on metrics.addr (not on --stdio, not for a
 *      positional command such as `enricher load-products FILE`).
 * Any problem there is a configuration error: one clear log line and exit
 * code 2. A program then builds its own clients and runs.
 *
 * schemas.dir defaults to the installed contracts
 * (/usr/local/share/sensory/schemas), or to the source tree's schemas/ when
 * the program runs from the build tree it was built in.
 */
#ifndef SENSORY_APP_H
#define SENSORY_APP_H

#include "core/config.h"
#include "kafka/topics.h"
#include "net/metrics.h"
#include "privacy/dlq.h"
#include "stage/stage.h"

enum {
  APP_KAFKA = 1 << 0,            /* kafka.brokers, librdkafka pass-through */
  APP_SCHEMAS = 1 << 1,          /* schemas.dir and topics.file (the routing) */
  APP_DLQ_KEY = 1 << 2,          /* dlq.key_file, loaded when set */
  APP_DLQ_KEY_REQUIRED = 1 << 3, /* ... and required (sealed dead letters) */
  APP_METRICS = 1 << 4,          /* metrics.addr: /metrics, /healthz, /readyz */
  APP_STAGE = 1 << 5,            /* the stage loop's settings; implies KAFKA, SCHEMAS */
  APP_ARGS = 1 << 6,             /* free positional arguments (post-search's query):
                                    left in conf.args for the program to check */
  APP_SINK = 1 << 7,             /* a stage that writes a store: sink.batch_records,
                                    sink.batch_bytes, sink.batch_age_ms; implies STAGE */
};

/* When a sink writes its batch (APP_SINK): at this many records, this many
 * bytes, or when its oldest record has waited this long. */
typedef struct app_sink_batch {
  int64_t records, bytes, age_ms;
} app_sink_batch_t;

typedef struct app_spec {
  const char *name;               /* "privacy-shield": logs, metrics prefix, consumer group */
  const char *usage;              /* the top of --help */
  unsigned uses;                  /* APP_* */
  const char *default_topics;     /* APP_STAGE: input.topics default (comma list) */
  const conf_section_t *sections; /* the program's own settings, may be NULL */
  size_t nsections;
  const char *const *commands; /* positional commands the program accepts
                                  (NULL-terminated, may be NULL) */
  app_sink_batch_t sink_batch; /* APP_SINK: the program's defaults (0: the stage's,
                                  500 records, 4 MiB, 1000 ms) */
} app_spec_t;

/* The shared settings; NULL/empty when the program does not use them. */
typedef struct app_settings {
  char *brokers;
  char *log_level;
  char *dlq_key_file;
  char *schemas_dir;
  char *topics_file; /* default: <schemas.dir>/topics.yaml */
  char *metrics_addr;
} app_settings_t;

typedef struct app {
  const app_spec_t *spec;
  app_settings_t settings;
  stage_config_t stage;        /* APP_STAGE */
  app_sink_batch_t sink_batch; /* APP_SINK */
  conf_result_t conf;          /* librdkafka pass-through and positional arguments */
  const char *command;         /* args[0] when it is one of spec->commands, else NULL */
  dlq_key_t *dlq_key;          /* NULL unless loaded */
  topics_t *topics;            /* APP_SCHEMAS */
  metrics_t *metrics;          /* always (a CronJob pushes it, a CLI may ignore it) */
  int exit_code;               /* set when app_init() fails or asks to exit */
} app_t;

/* Runs the start-up described above. Returns 0 to go on, or -1 with
 * app->exit_code set (0 after --help/--version, 2 for bad configuration, 1
 * otherwise); the reason is logged. app_fini() must follow either way. */
int app_init(app_t *app, const app_spec_t *spec, int argc, char **argv);

/* Fills the stage options every program shares (service name, version,
 * metrics, dead-letter key, topic routing, pass-through properties). */
void app_stage_options(const app_t *app, stage_options_t *opts);

/* Sets a sink's flush thresholds from the sink.batch_* settings (APP_SINK). */
void app_sink_limits(const app_t *app, stage_sink_t *sink);

/* The path of a contract in schemas.dir (schemas.dir + "/" + file) in out.
 * Returns out, or NULL when it does not fit. */
const char *app_schema_path(const app_t *app, const char *file, char *out, size_t out_size);

/* Releases everything app_init() set up and the strings of every section
 * (NULL-safe; half-built is fine). */
void app_fini(app_t *app);

#endif
