/* enricher: clean.social in, enriched.social out — each post carries the
 * name and price of the products it mentions (Redis, behind an in-process
 * cache), and sink.snowflake.orders keeps those names and prices fresh.
 *
 *   enricher [--config FILE] [options]              the stage (Kafka or --stdio)
 *   enricher load-products FILE.jsonl|FILE.csv      operator bulk load, then exit
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/log.h"
#include "enricher.h"
#include "load_products.h"
#include "net/redis.h"
#include "rstore.h"

typedef struct enricher_config {
  int64_t cache_size;
  int64_t cache_ttl_ms;
  int64_t missing_log_interval_ms;
  int64_t missing_log_ids;
  int64_t load_batch;
} enricher_config_t;

/* The Redis settings (redis.url, redis.password_file, timeouts) are the
 * shared client's section: redis_conf_entries(). */
static const conf_entry_t enricher_entries[] = {
    {.key = "cache.size",
     .env = "ENRICHER_CACHE_SIZE",
     .type = CONF_INT,
     .def = "10000",
     .offset = offsetof(enricher_config_t, cache_size),
     .min = 1,
     .max = 10000000,
     .doc = "products (and known-missing ids) kept in memory"},
    {.key = "cache.ttl_ms",
     .env = "ENRICHER_CACHE_TTL_MS",
     .type = CONF_INT,
     .def = "60000",
     .offset = offsetof(enricher_config_t, cache_ttl_ms),
     .min = 1,
     .max = 86400000,
     .doc = "how long a cached product is trusted before asking Redis again"},
    {.key = "missing.log_interval_ms",
     .env = "ENRICHER_MISSING_LOG_INTERVAL_MS",
     .type = CONF_INT,
     .def = "300000",
     .offset = offsetof(enricher_config_t, missing_log_interval_ms),
     .min = 1,
     .max = 86400000,
     .doc = "a missing product id is logged at most once per interval"},
    {.key = "missing.log_ids",
     .env = "ENRICHER_MISSING_LOG_IDS",
     .type = CONF_INT,
     .def = "10000",
     .offset = offsetof(enricher_config_t, missing_log_ids),
     .min = 1,
     .max = 1000000,
     .doc = "missing ids remembered for that (bounded memory)"},
    {.key = "load.batch",
     .env = "ENRICHER_LOAD_BATCH",
     .type = CONF_INT,
     .def = "1000",
     .offset = offsetof(enricher_config_t, load_batch),
     .min = 1,
     .max = 100000,
     .doc = "load-products: rows per pipelined round trip"},
    {.key = NULL},
};

static const char usage[] =
    "usage: enricher [--config FILE] [options]\n"
    "       enricher --stdio --topic clean.social --dlq-file DLQ.jsonl < in > out\n"
    "       enricher load-products FILE.jsonl|FILE.csv [options]\n"
    "\n"
    "Adds the mentioned products' name and price (Redis hashes product:<id>)\n"
    "to each clean post and builds the text to embed; orders on\n"
    "sink.snowflake.orders keep those names and prices current.\n"
    "load-products bulk-loads a catalogue (columns/members id, name, price,\n"
    "currency, category, updated_at); a row only replaces a newer version\n"
    "when its updated_at (default: now) is later.";

int main(int argc, char **argv) {
  enricher_config_t cfg = {0};
  redis_settings_t rcfg = {0};
  conf_section_t own[] = {{enricher_entries, &cfg}, {redis_conf_entries(), &rcfg}};
  static const char *const commands[] = {"load-products", NULL};
  app_spec_t spec = {.name = "enricher",
                     .usage = usage,
                     .uses = APP_STAGE | APP_DLQ_KEY | APP_METRICS,
                     .default_topics = "clean.social,sink.snowflake.orders",
                     .sections = own,
                     .nsections = sizeof(own) / sizeof(own[0]),
                     .commands = commands};
  app_t app;
  redis_t *store = NULL;
  enricher_t *enr = NULL;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  app.exit_code = 2;
  if (app.command && app.conf.arg_count != 2) {
    log_error("usage", "expected `load-products FILE`");
    goto out;
  }
  if (!(store = redis_new(&rcfg, errstr, sizeof(errstr)))) {
    log_error("config", "%s", errstr);
    goto out;
  }
  if (app.command) {
    app.exit_code = load_products(store, app.conf.args[1], (size_t)cfg.load_batch);
    goto out;
  }
  enricher_options_t eo = {
      .schemas_dir = app.settings.schemas_dir,
      .store = {rstore_fetch, rstore_update, store},
      .cache_size = (size_t)cfg.cache_size,
      .cache_ttl_ms = cfg.cache_ttl_ms,
      .missing_log_interval_ms = cfg.missing_log_interval_ms,
      .missing_log_ids = (size_t)cfg.missing_log_ids,
      .metrics = app.metrics,
  };
  if (!(enr = enricher_new(&eo, errstr, sizeof(errstr)))) {
    log_error("config", "schemas.dir (SCHEMAS_DIR): %s", errstr);
    goto out;
  }
  /* Not fatal: Redis may come up after us; the first message retries until it does. */
  if (redis_connect(store, errstr, sizeof(errstr)) != 0)
    log_warn("redis_unavailable", "redis not reachable yet: %s", errstr);

  stage_options_t opts = {.transform = enricher_transform, .ctx = enr, .seal_dead_letters = 0};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:
  enricher_destroy(enr);
  redis_destroy(store);
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
