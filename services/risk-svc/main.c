/* risk-svc: the COD Shield — scores a cash-on-delivery order before it ships
 * (POST /api/v1/risk-score), on pseudonyms only; learns each customer's
 * history from sink.snowflake.orders; publishes every decision to
 * risk.decisions.
 *
 *   risk-svc [--config FILE] [options]                     the service
 *   risk-svc blacklist load FILE.csv                       operator bulk load
 *   risk-svc backtest --rules NEW.yaml --from file:orders.jsonl|topic:NAME [--json]
 */
#include <string.h>

#include "app/app.h"
#include "core/log.h"
#include "risk_app.h"

static const char usage[] =
    "usage: risk-svc [--config FILE] [options]\n"
    "       risk-svc blacklist load FILE.csv [options]\n"
    "       risk-svc backtest --rules NEW.yaml --from file:orders.jsonl|topic:NAME [--json]\n"
    "\n"
    "Scores COD orders (POST /api/v1/risk-score) from the customer's history,\n"
    "kept in Redis per phone pseudonym and learnt from sink.snowflake.orders;\n"
    "publishes every decision to risk.decisions. A phone is hashed on arrival\n"
    "with privacy-shield's key and never stored, logged or returned.";

int main(int argc, char **argv) {
  risk_config_t cfg = {0};
  redis_settings_t redis = {0};
  conf_section_t own[] = {{risk_config_entries(), &cfg}, {risk_redis_entries(), &redis}};
  static const char *const commands[] = {"blacklist", "backtest", NULL};
  app_spec_t spec = {.name = "risk-svc",
                     .usage = usage,
                     .uses = APP_STAGE | APP_DLQ_KEY | APP_METRICS,
                     .default_topics = "sink.snowflake.orders",
                     .sections = own,
                     .nsections = sizeof(own) / sizeof(own[0]),
                     .commands = commands};
  risk_cli_args_t cli;
  app_t app;

  if (risk_cli_take(&argc, argv, &cli) != 0) {
    log_init("risk-svc", LOG_LEVEL_INFO);
    log_error("usage", "--rules and --from need a value");
    return 2;
  }
  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  if (!app.command)
    app.exit_code = risk_serve(&app, &cfg, &redis);
  else if (strcmp(app.command, "blacklist") == 0 && app.conf.arg_count == 3 &&
           strcmp(app.conf.args[1], "load") == 0)
    app.exit_code = risk_blacklist_load(&cfg, &redis, app.conf.args[2]);
  else if (strcmp(app.command, "backtest") == 0 && app.conf.arg_count == 1)
    app.exit_code = risk_backtest_cmd(&app, &cfg, &cli);
  else {
    log_error("usage", "expected no argument, `blacklist load FILE` or `backtest ...`");
    app.exit_code = 2;
  }
out:;
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
