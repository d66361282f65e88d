/* risk_app — risk-svc serving: wires the hasher, rules, keys, history,
 * decisions producer, API and HTTP server, watches Redis and Kafka for
 * readiness, and runs the history consumer as a stage transform. */
#include "risk_app.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/signals.h"
#include "risk_api.h"
#include "risk_decisions.h"
#include "risk_history.h"
#include "risk_http.h"

typedef struct serving {
  risk_history_t *history;
  risk_decisions_t *decisions;
  metrics_t *metrics;
  unsigned stage_slot, probe_slot;
  metrics_counter_t *applied, *duplicate, *no_customer;
  metrics_gauge_t *redis_up;
  atomic_int stop;
} serving_t;

/* ---- the store and the stage ------------------------------------------- */

static int store_lookup(void *ctx, unsigned thread, const char *phash, int64_t now,
                        risk_features_t *f) {
  return risk_history_lookup(((serving_t *)ctx)->history, thread, phash, now, f);
}

static int store_put(void *ctx, unsigned thread, const char *phash, const char *note, int64_t ttl) {
  return risk_history_blacklist_put(((serving_t *)ctx)->history, thread, phash, note, ttl);
}

static int store_del(void *ctx, unsigned thread, const char *phash, int *removed) {
  return risk_history_blacklist_del(((serving_t *)ctx)->history, thread, phash, removed);
}

/* sink.snowflake.orders → counters. Emits nothing. */
static int history_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                             stage_fail_t *fail) {
  (void)msg;
  (void)out;
  serving_t *a = ctx;
  risk_order_event_t ev;
  char err[256];
  int rc = risk_order_event_from_json(doc, &ev, fail->message, sizeof(fail->message));
  if (rc < 0) {
    fail->code = "invalid_order";
    const char *colon = strstr(fail->message, ": ");
    if (colon && (size_t)(colon - fail->message) < sizeof(fail->path))
      snprintf(fail->path, sizeof(fail->path), "%.*s", (int)(colon - fail->message), fail->message);
    return STAGE_DEAD_LETTER;
  }
  if (rc == 0) {
    metrics_counter_add(a->no_customer, 1);
    return STAGE_OK;
  }
  rc = risk_history_apply(a->history, a->stage_slot, &ev, err, sizeof(err));
  if (rc < 0)
    return STAGE_RETRY; /* the stage pauses its partitions and offers it again */
  metrics_counter_add(rc ? a->applied : a->duplicate, 1);
  return STAGE_OK;
}

/* ---- readiness ---------------------------------------------------------- */

static void *probe_main(void *arg) {
  serving_t *a = arg;
  int redis_was = -1, kafka_was = -1;
  for (unsigned round = 0; !atomic_load(&a->stop); round++) {
    /* Traffic keeps the state fresh; while down, and every 2 s without
     * traffic, ask. */
    if (!risk_history_up(a->history) || redis_was != 1 || round % 4 == 0)
      risk_history_ping(a->history, a->probe_slot);
    int redis = risk_history_up(a->history);
    int kafka = a->decisions ? risk_decisions_up(a->decisions) : 1;
    metrics_gauge_set(a->redis_up, redis);
    if (redis != redis_was) {
      if (redis)
        log_info("redis_recovered", "Redis answers: answers use the customer history");
      else
        log_warn("redis_unavailable", "Redis does not answer: answers are degraded");
    }
    if (kafka != kafka_was && a->decisions) {
      if (kafka)
        log_info("kafka_recovered", "Kafka answers: decisions are published");
      else
        log_warn("kafka_unavailable", "Kafka does not answer: decisions are queued");
    }
    redis_was = redis;
    kafka_was = kafka;
    /* /readyz reflects both; the API answers either way (degraded, queued).
     * The stage's "kafka" condition means "partitions assigned", but a
     * replica beyond the topic's partitions serves the API all the same: here
     * it follows whether a broker answers. */
    metrics_ready_condition(a->metrics, "redis", redis);
    metrics_set_ready(a->metrics, kafka);
    struct timespec ts = {0, 500 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* ---- serve -------------------------------------------------------------- */

int risk_serve(app_t *app, const risk_config_t *cfg, const redis_settings_t *redis) {
  char errstr[1024];
  int code = 2;
  risk_fail_mode_t mode;
  pii_hasher_t *hasher = NULL;
  risk_rules_t *rules = NULL;
  risk_keys_t *keys = NULL;
  risk_api_t *api = NULL;
  risk_http_t *http = NULL;
  pthread_t probe;
  int probe_started = 0;
  const int stdio = app->stage.stdio;
  unsigned threads = (unsigned)cfg->http_threads;
  serving_t a = {.metrics = app->metrics, .stage_slot = threads, .probe_slot = threads + 1};

  if (risk_config_check(cfg, &mode, errstr, sizeof(errstr)) != 0) {
    log_error("config", "%s", errstr);
    goto out;
  }
  if (!(hasher = pii_hasher_from_file(cfg->hmac_key_file, cfg->key_id, errstr, sizeof(errstr)))) {
    log_error("config", "privacy.hmac_key_file (PRIVACY_HMAC_KEY_FILE): %s", errstr);
    goto out;
  }
  if (!(rules = risk_rules_load(cfg->rules_file, errstr, sizeof(errstr)))) {
    log_error("config", "rules.file (RISK_RULES_FILE): %s", errstr);
    goto out;
  }
  if (!stdio && !(keys = risk_keys_load(cfg->api_keys_file, cfg->rate_limit, cfg->rate_burst,
                                        errstr, sizeof(errstr)))) {
    log_error("config", "risk.api_keys_file (RISK_API_KEYS_FILE): %s", errstr);
    goto out;
  }
  risk_history_opts_t ho = {.redis = redis,
                            .prefix = cfg->history_prefix,
                            .slots = threads + 2,
                            .order_ttl_s = cfg->order_ttl_days * 86400,
                            .customer_ttl_s = cfg->customer_ttl_days * 86400,
                            .velocity_max = cfg->velocity_max};
  if (!(a.history = risk_history_new(&ho, errstr, sizeof(errstr)))) {
    log_error("config", "redis: %s", errstr);
    goto out;
  }
  metrics_t *m = app->metrics;
  a.applied = metrics_counter(m, "history_updates_total", "Order statuses applied to the history",
                              "result", "applied");
  a.duplicate = metrics_counter(m, "history_updates_total", "Order statuses applied to the history",
                                "result", "duplicate");
  a.no_customer = metrics_counter(m, "history_updates_total",
                                  "Order statuses applied to the history", "result", "no_customer");
  a.redis_up = metrics_gauge(m, "redis_up", "1 while Redis answers", NULL, NULL);
  metrics_ready_condition(m, "redis", 0);

  if (!stdio) {
    if (cfg->decisions_topic && *cfg->decisions_topic) {
      risk_decisions_opts_t dopts = {.brokers = app->settings.brokers,
                                     .topic = cfg->decisions_topic,
                                     .props = app->conf.kafka,
                                     .nprops = app->conf.kafka_count,
                                     .queue_max = cfg->decisions_queue_max,
                                     .metrics = m};
      if (!(a.decisions = risk_decisions_new(&dopts, errstr, sizeof(errstr)))) {
        log_error("config", "decisions producer: %s", errstr);
        goto out;
      }
    }
    risk_api_options_t ao = {
        .rules = rules,
        .keys = keys,
        .hasher = hasher,
        .schemas_dir = app->settings.schemas_dir,
        .store = {store_lookup, store_put, store_del, &a},
        .sink = {a.decisions ? risk_decisions_publish : NULL, a.decisions},
        .fail_mode = mode,
        .metrics = m,
    };
    if (!(api = risk_api_new(&ao, errstr, sizeof(errstr)))) {
      log_error("config", "schemas.dir (SCHEMAS_DIR): %s", errstr);
      goto out;
    }
    if (!(http = risk_http_start(cfg->http_addr, threads, (size_t)cfg->http_max_body, api, errstr,
                                 sizeof(errstr)))) {
      log_error("config", "http.addr (RISK_HTTP_ADDR): %s", errstr);
      goto out;
    }
    if (pthread_create(&probe, NULL, probe_main, &a) == 0)
      probe_started = 1;
    log_event(LOG_LEVEL_INFO, "ready",
              json_pack("{s:s,s:i,s:s,s:I,s:I,s:s,s:s}", "addr", cfg->http_addr, "port",
                        risk_http_port(http), "rules_version", risk_rules_version(rules),
                        "merchant_overrides", (json_int_t)risk_rules_merchant_count(rules),
                        "api_keys", (json_int_t)risk_keys_count(keys), "key_id",
                        pii_hasher_key_id(hasher), "fail_mode", cfg->fail_mode),
              "serving the API");
  }
  stage_options_t opts = {.transform = history_transform, .ctx = &a};
  app_stage_options(app, &opts);
  code = stage_run(&app->stage, &opts);
out:
  atomic_store(&a.stop, 1);
  if (probe_started)
    pthread_join(probe, NULL);
  risk_http_stop(http); /* no handler runs after this */
  int left = risk_decisions_destroy(a.decisions, (int)app->stage.shutdown_timeout_ms);
  if (left)
    log_warn("decisions_unpublished", "%d decisions not acknowledged at shutdown", left);
  risk_api_destroy(api);
  risk_history_destroy(a.history);
  risk_keys_destroy(keys);
  risk_rules_destroy(rules);
  pii_hasher_destroy(hasher);
  return code;
}
