/* app — the start-up every program shares (see app.h): the shared settings
 * table, the order of the start-up steps, and the defaults that depend on
 * where the program runs from. */
#include "app/app.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/signals.h"
#include "kafka/kafka.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

#define INSTALLED_SCHEMAS "/usr/local/share/sensory/schemas"

/* Where the contracts are when nothing says: the installed copy, or the
 * source tree's when this binary sits in the build tree it was built in (so
 * `build/bin/privacy-shield --stdio ...` works from a checkout). */
static const char *default_schemas_dir(void) {
#if defined(SENSORY_BUILD_DIR) && defined(SENSORY_SOURCE_DIR)
  static char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  size_t b = strlen(SENSORY_BUILD_DIR);
  if (n > 0) {
    exe[n] = '\0';
    if (strncmp(exe, SENSORY_BUILD_DIR, b) == 0 && exe[b] == '/')
      return SENSORY_SOURCE_DIR "/schemas";
  }
#endif
  return INSTALLED_SCHEMAS;
}

/* The shared settings, declared once; a program gets the rows of what it uses. */
static int shared_entries(unsigned uses, conf_entry_t *out) {
  const conf_entry_t rows[] = {
      {.key = "kafka.brokers",
       .env = "KAFKA_BROKERS",
       .type = CONF_STRING,
       .def = "127.0.0.1:9092",
       .offset = offsetof(app_settings_t, brokers),
       .doc = "Kafka bootstrap servers (host:port,...)"},
      {.key = "log.level",
       .env = "LOG_LEVEL",
       .type = CONF_STRING,
       .def = "info",
       .offset = offsetof(app_settings_t, log_level),
       .doc = "debug, info, warn or error"},
      {.key = "dlq.key_file",
       .env = "DLQ_KEY_FILE",
       .type = CONF_STRING,
       .offset = offsetof(app_settings_t, dlq_key_file),
       .required = (uses & APP_DLQ_KEY_REQUIRED) != 0,
       .doc = "file with the 32-byte AES-256-GCM key for sealed dead letters (raw or 64 hex)"},
      {.key = "schemas.dir",
       .env = "SCHEMAS_DIR",
       .type = CONF_STRING,
       .def = default_schemas_dir(),
       .offset = offsetof(app_settings_t, schemas_dir),
       .required = 1,
       .doc = "directory of the JSON Schema contracts and topics.yaml"},
      {.key = "topics.file",
       .env = "TOPICS_FILE",
       .type = CONF_STRING,
       .offset = offsetof(app_settings_t, topics_file),
       .doc = "the topic routing (default: topics.yaml in schemas.dir)"},
      {.key = "metrics.addr",
       .env = "METRICS_ADDR",
       .type = CONF_STRING,
       .def = "0.0.0.0:9102",
       .offset = offsetof(app_settings_t, metrics_addr),
       .doc = "host:port for /metrics, /healthz and /readyz (empty: off)"},
  };
  const unsigned need[] = {APP_KAFKA,   0,           APP_DLQ_KEY | APP_DLQ_KEY_REQUIRED,
                           APP_SCHEMAS, APP_SCHEMAS, APP_METRICS};
  int n = 0;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    if (!need[i] || (uses & need[i]))
      out[n++] = rows[i];
  out[n] = (conf_entry_t){.key = NULL};
  return n;
}

/* The sink's batch thresholds, with the program's defaults (as text in
 * defs, which must outlive the settings' loading). */
static void sink_entries(const app_sink_batch_t *d, char defs[3][24], conf_entry_t *out) {
  snprintf(defs[0], 24, "%lld", (long long)(d->records > 0 ? d->records : 500));
  snprintf(defs[1], 24, "%lld", (long long)(d->bytes > 0 ? d->bytes : 4194304));
  snprintf(defs[2], 24, "%lld", (long long)(d->age_ms > 0 ? d->age_ms : 1000));
  out[0] = (conf_entry_t){.key = "sink.batch_records",
                          .env = "SINK_BATCH_RECORDS",
                          .type = CONF_INT,
                          .def = defs[0],
                          .offset = offsetof(app_sink_batch_t, records),
                          .min = 1,
                          .max = 100000,
                          .doc = "a batch is written to the store when it holds this many records"};
  out[1] = (conf_entry_t){.key = "sink.batch_bytes",
                          .env = "SINK_BATCH_BYTES",
                          .type = CONF_INT,
                          .def = defs[1],
                          .offset = offsetof(app_sink_batch_t, bytes),
                          .min = 4096,
                          .max = 1073741824,
                          .doc = "... or this many bytes of records"};
  out[2] = (conf_entry_t){.key = "sink.batch_age_ms",
                          .env = "SINK_BATCH_AGE_MS",
                          .type = CONF_INT,
                          .def = defs[2],
                          .offset = offsetof(app_sink_batch_t, age_ms),
                          .min = 1,
                          .max = 600000,
                          .doc = "... or when its oldest record has waited this long (latency "
                                 "against statements per second)"};
  out[3] = (conf_entry_t){.key = NULL};
}

void app_sink_limits(const app_t *app, stage_sink_t *sink) {
  sink->max_records = (size_t)app->sink_batch.records;
  sink->max_bytes = (size_t)app->sink_batch.bytes;
  sink->max_age_ms = (int)app->sink_batch.age_ms;
}

/* Every input topic (and the --stdio topic) must be routed by topics.yaml,
 * or its bad messages would have nowhere to go. */
static int check_input_topics(const app_t *app, char *errstr, size_t errstr_size) {
  size_t n = 0;
  char **list = conf_list_split(app->stage.input_topics, &n);
  int rc = 0;
  for (size_t i = 0; list && i < n && !rc; i++) {
    if (!stage_dlq_topic(app->topics, list[i])) {
      snprintf(errstr, errstr_size,
               "input.topics: %s is not in %s with a dead_letters topic (add it there first)",
               list[i], app->settings.topics_file);
      rc = -1;
    }
  }
  conf_list_free(list);
  if (!rc && app->stage.stdio && app->stage.topic && *app->stage.topic &&
      !stage_dlq_topic(app->topics, app->stage.topic)) {
    snprintf(errstr, errstr_size, "--topic %s is not in %s with a dead_letters topic",
             app->stage.topic, app->settings.topics_file);
    rc = -1;
  }
  return rc;
}

static int is_command(const app_spec_t *spec, const char *arg) {
  for (const char *const *c = spec->commands; c && *c; c++)
    if (strcmp(*c, arg) == 0)
      return 1;
  return 0;
}

int app_init(app_t *app, const app_spec_t *spec, int argc, char **argv) {
  memset(app, 0, sizeof(*app));
  app->spec = spec;
  app->exit_code = 2;
  log_init(spec->name, LOG_LEVEL_INFO);
  /* SIGTERM/SIGINT request a stop; a closed socket or pipe is an error, not
   * a SIGPIPE (a command may talk to Redis before any stage loop runs). */
  signals_install();
  unsigned uses = spec->uses;
  if (uses & APP_SINK)
    uses |= APP_STAGE;
  if (uses & APP_STAGE)
    uses |= APP_KAFKA | APP_SCHEMAS;

  /* 1. settings: shared, stage, the program's own */
  static conf_entry_t shared[8], stage[16], sink[4];
  static char sink_defs[3][24];
  shared_entries(uses, shared);
  size_t nsec = 0;
  conf_section_t *sec = calloc(spec->nsections + 3, sizeof(*sec));
  if (!sec) {
    app->exit_code = 1;
    return -1;
  }
  sec[nsec++] = (conf_section_t){shared, &app->settings};
  if (uses & APP_STAGE) {
    const conf_entry_t *e = stage_config_entries();
    size_t i = 0;
    for (; e[i].key && i + 1 < sizeof(stage) / sizeof(stage[0]); i++)
      stage[i] = e[i];
    stage[i] = (conf_entry_t){.key = NULL};
    stage[STAGE_ENTRY_GROUP].def = spec->name;
    stage[STAGE_ENTRY_TOPICS].def = spec->default_topics;
    sec[nsec++] = (conf_section_t){stage, &app->stage};
  }
  if (uses & APP_SINK) {
    sink_entries(&spec->sink_batch, sink_defs, sink);
    sec[nsec++] = (conf_section_t){sink, &app->sink_batch};
  }
  for (size_t i = 0; i < spec->nsections; i++)
    sec[nsec++] = spec->sections[i];
  char errstr[1024], version[128];
  snprintf(version, sizeof(version), "%s %s", spec->name, SENSORY_VERSION);
  int rc =
      conf_load(sec, nsec, argc, argv, spec->usage, version, &app->conf, errstr, sizeof(errstr));
  free(sec);
  if (rc == CONF_EXIT) {
    app->exit_code = 0;
    return -1;
  }
  if (rc != CONF_OK) {
    log_error("config", "%s", errstr);
    return -1;
  }
  if (app->conf.arg_count) {
    if (is_command(spec, app->conf.args[0])) {
      app->command = app->conf.args[0];
    } else if (!(uses & APP_ARGS)) {
      log_error("config", "unexpected argument \"%s\" (see --help)", app->conf.args[0]);
      return -1;
    }
  }

  /* 2. logging, Kafka properties */
  log_level_t level;
  if (log_level_parse(app->settings.log_level, &level) != 0) {
    log_error("config", "log.level: '%s' is not debug, info, warn or error",
              app->settings.log_level);
    return -1;
  }
  log_init(spec->name, level);
  if (uses & APP_KAFKA) {
    /* librdkafka checks names and values locally: a typo is a config error
     * now, not a failure after start-up. */
    for (int role = 0; role < 2; role++) {
      rd_kafka_conf_t *kc = rd_kafka_conf_new();
      int bad = kafka_conf_apply(kc, app->conf.kafka, app->conf.kafka_count,
                                 role ? "producer" : "consumer", errstr, sizeof(errstr));
      rd_kafka_conf_destroy(kc);
      if (bad) {
        log_error("config", "%s", errstr);
        return -1;
      }
    }
    app->stage.brokers = app->settings.brokers;
  }

  /* 3. keys and routing */
  const char *key_file = app->settings.dlq_key_file;
  if ((uses & APP_DLQ_KEY_REQUIRED) || ((uses & APP_DLQ_KEY) && key_file && *key_file)) {
    if (!(app->dlq_key = dlq_key_load(key_file, errstr, sizeof(errstr)))) {
      log_error("config", "dlq.key_file (DLQ_KEY_FILE): %s", errstr);
      return -1;
    }
  }
  if (uses & APP_SCHEMAS) {
    int defaulted = !app->settings.topics_file || !*app->settings.topics_file;
    if (defaulted) {
      char path[PATH_MAX];
      snprintf(path, sizeof(path), "%s/topics.yaml", app->settings.schemas_dir);
      free(app->settings.topics_file);
      if (!(app->settings.topics_file = strdup(path))) {
        app->exit_code = 1;
        return -1;
      }
    }
    if (!(app->topics = topics_load(app->settings.topics_file, errstr, sizeof(errstr)))) {
      log_error("config", "%s: %s",
                defaulted ? "schemas.dir (SCHEMAS_DIR)" : "topics.file (TOPICS_FILE)", errstr);
      return -1;
    }
    if ((uses & APP_STAGE) && check_input_topics(app, errstr, sizeof(errstr)) != 0) {
      log_error("config", "%s", errstr);
      return -1;
    }
  }

  /* 4. metrics */
  if (!(app->metrics = metrics_new(spec->name))) {
    app->exit_code = 1;
    return -1;
  }
  const char *addr = app->settings.metrics_addr;
  if ((uses & APP_METRICS) && !app->stage.stdio && !app->command && addr && *addr) {
    if (metrics_serve(app->metrics, addr, errstr, sizeof(errstr)) != 0) {
      log_error("config", "metrics.addr (METRICS_ADDR): %s", errstr);
      return -1;
    }
    log_event(LOG_LEVEL_INFO, "metrics",
              json_pack("{s:s,s:i}", "addr", addr, "port", metrics_port(app->metrics)),
              "serving /metrics, /healthz, /readyz");
  }
  app->exit_code = 0;
  return 0;
}

void app_stage_options(const app_t *app, stage_options_t *opts) {
  opts->service = app->spec->name;
  opts->version = SENSORY_VERSION;
  opts->metrics = app->metrics;
  opts->dlq_key = app->dlq_key;
  opts->kafka_props = app->conf.kafka;
  opts->kafka_prop_count = app->conf.kafka_count;
  opts->topics = app->topics;
}

const char *app_schema_path(const app_t *app, const char *file, char *out, size_t out_size) {
  int n = snprintf(out, out_size, "%s/%s", app->settings.schemas_dir, file);
  return n < 0 || (size_t)n >= out_size ? NULL : out;
}

void app_fini(app_t *app) {
  if (!app || !app->spec)
    return;
  metrics_destroy(app->metrics);
  dlq_key_destroy(app->dlq_key);
  topics_destroy(app->topics);
  /* The tables only name fields; any table with the same offsets frees them. */
  static conf_entry_t shared[8];
  shared_entries(~0u, shared);
  conf_free(&(conf_section_t){shared, &app->settings});
  conf_free(&(conf_section_t){stage_config_entries(), &app->stage});
  for (size_t i = 0; i < app->spec->nsections; i++)
    conf_free(&app->spec->sections[i]);
  conf_result_free(&app->conf);
  memset(app, 0, sizeof(*app));
}
