/* scraper-ingest: one run per CronJob schedule. Pulls new records from each
 * configured source (or a JSONL file), validates them against the source
 * contracts, produces them to the source topics and moves each source's
 * cursor only after Kafka acknowledged everything up to it.
 *
 * Exit codes (also in --help and docs):
 *   0  every source ran to completion (or was skipped: another run holds it)
 *   1  internal error (out of memory, cannot write the metrics file)
 *   2  configuration error, before any connection
 *   3  source unreachable: no source succeeded and some API/file could not be
 *      reached after retries
 *   4  partial failure: some source failed (malformed page, HTTP 4xx, missing
 *      secret) or was unreachable while another succeeded
 *   5  Kafka unreachable or records not acknowledged: cursors not moved
 *   6  Redis unreachable or a source lock lost: cursors not moved
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/metrics.h"
#include "net/redis.h"
#include "scraper_config.h"
#include "scraper_report.h"
#include "scraper_run.h"
#include "source.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

static const char usage[] =
    "usage: scraper-ingest [--config FILE] --sources shopify,daraz,weather,facebook,tiktok\n"
    "       scraper-ingest [--config FILE] --from file:PATH --topic source.market.shopify\n"
    "       scraper-ingest --stdio --from file:PATH --topic TOPIC --dlq-file DLQ.jsonl > out\n"
    "\n"
    "One ingestion run: fetch what is new since each source's cursor (Redis), validate,\n"
    "produce to the source topics (invalid records: sealed dead letters), advance the\n"
    "cursor once Kafka acknowledged everything up to it. A Redis lock per source stops\n"
    "overlapping runs. --from file:- (or -) reads stdin.\n"
    "\n"
    "exit codes: 0 ok (locked sources are skipped), 1 internal error, 2 config error,\n"
    "3 source unreachable, 4 partial failure, 5 Kafka unreachable (cursors kept),\n"
    "6 Redis unreachable or lock lost (cursors kept).";

int main(int argc, char **argv) {
  scr_config_t cfg = {0};
  redis_settings_t rcfg = {0};
  conf_section_t sec[] = {{scr_config_entries(), &cfg}, {redis_conf_entries(), &rcfg}};
  app_spec_t spec = {.name = "scraper-ingest",
                     .usage = usage,
                     .uses = APP_KAFKA | APP_SCHEMAS | APP_DLQ_KEY_REQUIRED,
                     .sections = sec,
                     .nsections = sizeof(sec) / sizeof(sec[0])};
  app_t app;
  char errstr[1024];
  int code = EXIT_CONFIG;
  scr_run_t run = {.cfg = &cfg, .producer = "scraper-ingest/" SENSORY_VERSION};
  scr_sink_t *sink = NULL;
  redis_t *redis = NULL;
  scr_state_t *state = NULL;
  FILE *dlq_fp = NULL;
  scr_stats_t *stats = NULL;
  char **names = NULL;
  size_t nnames = 0, nstats = 0;
  double t0 = clock_mono();

  if (app_init(&app, &spec, argc, argv) != 0) {
    code = app.exit_code; /* 0 (--help), 1 or 2: the same codes as here */
    goto out;
  }
  run.dlq_key = app.dlq_key;
  run.topics = app.topics;

  /* --from file:PATH | PATH | - ; everything else comes from --sources. */
  const char *path = NULL;
  if (cfg.from && *cfg.from) {
    path = strncmp(cfg.from, "file:", 5) == 0 ? cfg.from + 5 : cfg.from;
    if (!*path) {
      log_error("config", "--from: empty path (use file:PATH or - for stdin)");
      goto out;
    }
    if (!cfg.topic ||
        scr_run_add_topic(&run, app.settings.schemas_dir, cfg.topic, errstr, sizeof(errstr)) != 0) {
      log_error("config", "--from needs --topic naming a source topic of topics.yaml%s%s",
                cfg.topic ? ": " : "", cfg.topic ? errstr : "");
      goto out;
    }
  }
  if (!(names = conf_list_split(cfg.sources ? cfg.sources : "", &nnames))) {
    code = EXIT_INTERNAL;
    goto out;
  }
  for (size_t i = 0; i < nnames; i++) {
    const scr_source_def_t *def = scr_source_find(names[i]);
    if (!def) {
      log_error("config",
                "sources: unknown source '%s' (shopify, daraz, weather, facebook, "
                "tiktok)",
                names[i]);
      goto out;
    }
    if (scr_run_add_topic(&run, app.settings.schemas_dir, scr_source_topic(def, &cfg), errstr,
                          sizeof(errstr)) != 0) {
      log_error("config", "%s.topic: %s", def->name, errstr);
      goto out;
    }
  }
  if (!path && nnames == 0) {
    log_error("config", "nothing to do: give --from file:PATH --topic TOPIC or --sources");
    goto out;
  }
  if (cfg.stdio && (!path || nnames)) {
    log_error("config", "--stdio runs the file source only: --from file:PATH --topic TOPIC");
    goto out;
  }
  if (cfg.stdio && (!cfg.dlq_file || !*cfg.dlq_file)) {
    log_error("config", "--stdio needs --dlq-file FILE");
    goto out;
  }
  if (!cfg.stdio && !(redis = redis_new(&rcfg, errstr, sizeof(errstr)))) {
    log_error("config", "%s", errstr);
    goto out;
  }

  /* Connections: Kafka first (exit 5), then Redis (exit 6). */
  if (cfg.stdio) {
    if (!(dlq_fp = fopen(cfg.dlq_file, "a"))) {
      log_error("config", "cannot open --dlq-file %s", cfg.dlq_file);
      goto out;
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    sink = scr_sink_stdio_new(stdout, dlq_fp);
  } else {
    sink = scr_sink_kafka_new(app.settings.brokers, app.conf.kafka, app.conf.kafka_count,
                              (long)cfg.kafka_timeout_ms, errstr, sizeof(errstr));
    if (!sink) {
      log_error("kafka_unreachable", "%s", errstr);
      code = EXIT_KAFKA;
      goto out;
    }
    if (redis_connect(redis, errstr, sizeof(errstr)) != 0) {
      log_error("redis_unreachable", "%s", errstr);
      code = EXIT_STATE;
      goto out;
    }
    if (!(state = scr_state_new(redis, cfg.redis_prefix, errstr, sizeof(errstr)))) {
      log_error("internal", "%s", errstr);
      code = EXIT_INTERNAL;
      goto out;
    }
  }
  run.sink = sink;
  run.state = state;

  nstats = nnames + (path ? 1 : 0);
  if (!(stats = calloc(nstats, sizeof(*stats)))) {
    code = EXIT_INTERNAL;
    goto out;
  }
  size_t k = 0;
  if (path) {
    char lock[4096];
    stats[k].source = "file";
    snprintf(lock, sizeof(lock), "file:%s:%s", cfg.topic, path);
    scr_source_run(&run, &stats[k], lock, NULL, path, cfg.topic);
    scr_report_log(&stats[k]);
    k++;
  }
  for (size_t i = 0; i < nnames; i++, k++) {
    const scr_source_def_t *def = scr_source_find(names[i]);
    stats[k].source = def->name;
    if (scr_stopping(&stats[k])) {
      k++;
      break;
    }
    scr_source_run(&run, &stats[k], def->name, def, NULL, NULL);
    scr_report_log(&stats[k]);
    /* Kafka is shared: once it fails, later sources would fail the same way. */
    if (stats[k].status == SCR_SRC_KAFKA) {
      k++;
      break;
    }
  }
  nstats = k;
  code = scr_exit_code(stats, nstats);

out:
  if (app.metrics && stats) {
    for (size_t i = 0; i < nstats; i++)
      scr_report_metrics(app.metrics, &stats[i]);
    scr_report_run(app.metrics, code, clock_mono() - t0);
    if (cfg.metrics_file && *cfg.metrics_file &&
        scr_report_write_file(app.metrics, cfg.metrics_file, errstr, sizeof(errstr)) != 0) {
      log_error("metrics", "metrics.file: %s", errstr);
      if (code == EXIT_OK)
        code = EXIT_INTERNAL;
    }
    if (cfg.pushgateway_url && *cfg.pushgateway_url &&
        scr_report_push(app.metrics, cfg.pushgateway_url,
                        cfg.sources && *cfg.sources ? cfg.sources : "file", 5000, errstr,
                        sizeof(errstr)) != 0)
      log_warn("metrics", "pushgateway: %s", errstr);
  }
  if (stats)
    log_event(code == EXIT_OK ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "run_done",
              json_pack("{s:i,s:f}", "exit_code", code, "duration_s", clock_mono() - t0),
              "run finished");
  scr_sink_destroy(sink);
  scr_state_destroy(state); /* releases a lock still held: before its client goes */
  redis_destroy(redis);
  if (dlq_fp)
    fclose(dlq_fp);
  if (cfg.stdio)
    fflush(stdout);
  scr_run_fini(&run);
  free(stats);
  conf_list_free(names);
  app_fini(&app);
  return code;
}
