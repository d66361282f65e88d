/* snowflake-sink: sink.snowflake.orders, context.weather, risk.decisions and
 * audit.privacy in; the warehouse tables (and price_history) out, each
 * clean record exactly once — PostgreSQL by default, Snowflake in
 * production.
 *
 *   snowflake-sink [--config FILE] [options]          the sink (Kafka or --stdio)
 *   snowflake-sink --init-schema                       apply the migrations, exit
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/log.h"
#include "sink.h"
#include "sink_config.h"
#include "store_postgres.h"
#include "store_snowflake.h"

static const char usage[] =
    "usage: snowflake-sink [--config FILE] [options]\n"
    "       snowflake-sink --init-schema [options]\n"
    "       snowflake-sink --stdio --topic sink.snowflake.orders --dlq-file DLQ.jsonl < records\n"
    "\n"
    "Writes clean orders, weather, risk decisions and privacy audit events into the\n"
    "warehouse (PostgreSQL via DATABASE_URL, or Snowflake's SQL API), exactly once:\n"
    "Kafka offsets are kept in the same transaction as the rows. Rows the store\n"
    "rejects become dead letters; --init-schema applies the DDL and exits.";

int main(int argc, char **argv) {
  sink_config_t cfg = {0};
  pg_settings_t pgs = {0};
  conf_section_t own[] = {{sink_config_entries(), &cfg}, {pg_conf_entries(), &pgs}};
  app_spec_t spec = {.name = "snowflake-sink",
                     .usage = usage,
                     .uses = APP_SINK | APP_DLQ_KEY | APP_METRICS,
                     .sink_batch = {.records = 2000, .bytes = 4194304, .age_ms = 1000},
                     .default_topics = SINK_DEFAULT_TOPICS,
                     .sections = own,
                     .nsections = 2};
  app_t app;
  store_t *store = NULL;
  sink_t *sink = NULL;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  app.exit_code = 2;
  const char *group = app.stage.group_id ? app.stage.group_id : "snowflake-sink";
  if (sink_config_check(&cfg, errstr, sizeof(errstr)) != 0) {
    log_error("config", "%s", errstr);
    goto out;
  }
  store = strcmp(cfg.backend, "snowflake") == 0
              ? store_snowflake_new(&cfg, group, errstr, sizeof(errstr))
              : store_postgres_new(&pgs, group, errstr, sizeof(errstr));
  if (!store) {
    log_error("config", "%s", errstr);
    goto out;
  }
  if (cfg.init_schema) {
    int n = store->ops->init_schema(store->impl, errstr, sizeof(errstr));
    if (n < 0)
      log_error("init_schema", "%s", errstr);
    else
      log_event(LOG_LEVEL_INFO, "init_schema",
                json_pack("{s:s,s:i}", "store", store->ops->name, "applied", n),
                "warehouse schema is current (%d migrations applied now)", n);
    app.exit_code = n < 0 ? 1 : 0;
    goto out;
  }
  sink_options_t so = {
      .schemas_dir = app.settings.schemas_dir, .tables = cfg.tables, .name = group};
  if (!(sink = sink_new(&so, store, app.metrics, errstr, sizeof(errstr)))) {
    log_error("config", "%s", errstr);
    goto out;
  }
  stage_sink_t st;
  sink_stage(sink, &st);
  app_sink_limits(&app, &st);
  stage_options_t opts = {.sink = &st, .ctx = sink};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:
  sink_destroy(sink);
  store_destroy(store);
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
