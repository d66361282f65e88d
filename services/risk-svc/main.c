/* risk-svc: the COD Shield — scores a cash-on-delivery order before it ships
 * (POST /api/v1/risk-score), on pseudonyms only; learns each customer's
 * history from sink.snowflake.orders; publishes every decision to
 * risk.decisions.
 *
 *   risk-svc [--config FILE] [options]                     the service
 *   risk-svc blacklist load FILE.csv                       operator bulk load
 *   risk-svc backtest --rules NEW.yaml --from file:orders.jsonl|topic:NAME [--json]
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/service.h"
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
  risk_cli_args_t cli;
  service_t svc;

  if (risk_cli_take(&argc, argv, &cli) != 0) {
    log_init("risk-svc", LOG_LEVEL_INFO);
    log_error("usage", "--rules and --from need a value");
    return 2;
  }
  /* Operator commands may run inside a serving pod: keep off its ports. */
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "blacklist") == 0 || strcmp(argv[i], "backtest") == 0)
      setenv("METRICS_ADDR", "", 1);
  if (service_init(&svc, "risk-svc", "sink.snowflake.orders", own, 2, argc, argv, usage, 0) != 0)
    goto out;
  const char *cmd = svc.conf.arg_count ? svc.conf.args[0] : NULL;
  if (!cmd)
    svc.exit_code = risk_serve(&svc, &cfg, &redis);
  else if (strcmp(cmd, "blacklist") == 0 && svc.conf.arg_count == 3 &&
           strcmp(svc.conf.args[1], "load") == 0)
    svc.exit_code = risk_blacklist_load(&cfg, &redis, svc.conf.args[2]);
  else if (strcmp(cmd, "backtest") == 0 && svc.conf.arg_count == 1)
    svc.exit_code = risk_backtest_cmd(&svc, &cfg, &cli);
  else {
    log_error("usage", "expected no argument, `blacklist load FILE` or `backtest ...`");
    svc.exit_code = 2;
  }
out:
  service_fini(&svc, own, 2);
  return svc.exit_code;
}
