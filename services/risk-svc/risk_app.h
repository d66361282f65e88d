/* risk_app — what main.c runs: the service (API + history consumer), and
 * the operator commands `blacklist load FILE` and `backtest`. Each returns
 * the process exit code: 0 done, 1 a runtime failure, 2 bad configuration
 * or usage (reported before anything connects). Messages go to the log;
 * command results to stdout.
 */
#ifndef RISK_APP_H
#define RISK_APP_H

#include "app/app.h"
#include "net/redis.h"
#include "risk_config.h"

/* The options of `backtest`, taken out of argv before the settings are read
 * (they are not settings). */
typedef struct risk_cli_args {
  const char *rules; /* --rules NEW.yaml */
  const char *from;  /* --from file:PATH | topic:NAME */
  int json;          /* --json */
} risk_cli_args_t;

/* Removes --rules X, --from Y and --json from argv when argv holds the
 * command "backtest", shifting the rest; updates *argc. Returns 0, or -1 when
 * an option lacks its value. */
int risk_cli_take(int *argc, char **argv, risk_cli_args_t *out);

/* The service: API on http.addr, history from the input topics (or --stdio),
 * decisions to decisions.topic; until SIGTERM. */
int risk_serve(app_t *app, const risk_config_t *cfg, const redis_settings_t *redis);

/* risk-svc blacklist load FILE: CSV rows "phone or hash[,reason[,ttl_days]]". */
int risk_blacklist_load(const risk_config_t *cfg, const redis_settings_t *redis, const char *path);

/* risk-svc backtest --rules NEW.yaml --from file:orders.jsonl|topic:NAME. */
int risk_backtest_cmd(app_t *app, const risk_config_t *cfg, const risk_cli_args_t *args);

#endif
