/* enricher: clean.social in, enriched.social out — each post carries the
 * name and price of the products it mentions (Redis, behind an in-process
 * cache), and sink.snowflake.orders keeps those names and prices fresh.
 *
 *   enricher [--config FILE] [options]              the stage (Kafka or --stdio)
 *   enricher load-products FILE.jsonl|FILE.csv      operator bulk load, then exit
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/secret.h"
#include "core/service.h"
#include "enricher.h"
#include "loader.h"
#include "rstore.h"

typedef struct enricher_config {
  char *schemas_dir;
  char *redis_url;
  char *redis_password_file;
  int64_t redis_timeout_ms;
  int64_t cache_size;
  int64_t cache_ttl_ms;
  int64_t missing_log_interval_ms;
  int64_t missing_log_ids;
  int64_t load_batch;
} enricher_config_t;

static const conf_entry_t enricher_entries[] = {
    {"schemas.dir", "SCHEMAS_DIR", CONF_STRING, "/usr/local/share/sensory/schemas",
     offsetof(enricher_config_t, schemas_dir), 1, 0, 0, "directory of the JSON Schema contracts"},
    {"redis.url", "REDIS_URL", CONF_STRING, "redis://127.0.0.1:6379",
     offsetof(enricher_config_t, redis_url), 1, 0, 0,
     "product store, redis://[[user]:password@]host[:port][/db]"},
    {"redis.password_file", "REDIS_PASSWORD_FILE", CONF_STRING, NULL,
     offsetof(enricher_config_t, redis_password_file), 0, 0, 0,
     "file with the Redis password (a k8s Secret); overrides one in the URL"},
    {"redis.timeout_ms", "REDIS_TIMEOUT_MS", CONF_INT, "2000",
     offsetof(enricher_config_t, redis_timeout_ms), 0, 50, 60000,
     "bound on connecting and on every Redis reply"},
    {"cache.size", "ENRICHER_CACHE_SIZE", CONF_INT, "10000",
     offsetof(enricher_config_t, cache_size), 0, 1, 10000000,
     "products (and known-missing ids) kept in memory"},
    {"cache.ttl_ms", "ENRICHER_CACHE_TTL_MS", CONF_INT, "60000",
     offsetof(enricher_config_t, cache_ttl_ms), 0, 1, 86400000,
     "how long a cached product is trusted before asking Redis again"},
    {"missing.log_interval_ms", "ENRICHER_MISSING_LOG_INTERVAL_MS", CONF_INT, "300000",
     offsetof(enricher_config_t, missing_log_interval_ms), 0, 1, 86400000,
     "a missing product id is logged at most once per interval"},
    {"missing.log_ids", "ENRICHER_MISSING_LOG_IDS", CONF_INT, "10000",
     offsetof(enricher_config_t, missing_log_ids), 0, 1, 1000000,
     "missing ids remembered for that (bounded memory)"},
    {"load.batch", "ENRICHER_LOAD_BATCH", CONF_INT, "1000", offsetof(enricher_config_t, load_batch),
     0, 1, 100000, "load-products: rows per pipelined round trip"},
    {NULL, NULL, 0, NULL, 0, 0, 0, 0, NULL},
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

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one batch, retrying a lost connection a few times (the script is
 * newer-wins, so resending rows already written changes nothing). */
static int load_batch(rstore_t *store, const product_t *ps, const int64_t *ts, size_t n,
                      size_t *applied, size_t *stale) {
  char errstr[512];
  for (int attempt = 0;; attempt++) {
    size_t a = 0, s = 0;
    if (rstore_load(store, ps, ts, n, &a, &s, errstr, sizeof(errstr)) == 0) {
      *applied += a;
      *stale += s;
      return 0;
    }
    if (attempt == 4) {
      log_error("load_failed", "redis: %s", errstr);
      return -1;
    }
    log_warn("redis_unavailable", "redis: %s; retrying", errstr);
    struct timespec pause = {0, 200000000L << (attempt > 2 ? 2 : attempt)};
    nanosleep(&pause, NULL);
  }
}

/* enricher load-products FILE: exit 0 when every row loaded, 1 when some rows
 * were bad or Redis failed, 2 for usage errors. Counts go to stdout. */
static int load_products(const enricher_config_t *cfg, rstore_t *store, const char *path) {
  char errstr[512];
  loader_format_t fmt;
  if (loader_format_for(path, &fmt, errstr, sizeof(errstr)) != 0) {
    log_error("usage", "%s", errstr);
    return 2;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    log_error("usage", "cannot open %s: %s", path, strerror(errno));
    return 2;
  }
  size_t cap = (size_t)cfg->load_batch, n = 0, rows = 0, bad = 0, applied = 0, stale = 0;
  product_t *ps = calloc(cap, sizeof(*ps));
  int64_t *ts = calloc(cap, sizeof(*ts));
  loader_t *l = loader_new(f, fmt);
  int rc = 0, r;
  if (!ps || !ts || !l) {
    log_error("internal", "out of memory");
    rc = 1;
    goto out;
  }
  int64_t now = wall_ms();
  while ((r = loader_next(l, &ps[n], &ts[n], errstr, sizeof(errstr))) != LOADER_EOF) {
    if (r == LOADER_FATAL) {
      log_error("bad_file", "%s: %s", path, errstr);
      rc = 1;
      break;
    }
    if (r == LOADER_BAD_ROW) {
      bad++;
      log_warn("bad_row", "%s: %s", path, errstr);
      continue;
    }
    rows++;
    if (ts[n] < 0)
      ts[n] = now;
    if (++n == cap) {
      rc = load_batch(store, ps, ts, n, &applied, &stale);
      for (size_t i = 0; i < n; i++)
        product_clear(&ps[i]);
      n = 0;
      if (rc != 0)
        break;
    }
  }
  if (rc == 0 && n)
    rc = load_batch(store, ps, ts, n, &applied, &stale);
  if (rc != 0 || bad)
    rc = 1;
  printf("rows %zu loaded %zu stale %zu bad %zu\n", rows, applied, stale, bad);
  log_event(LOG_LEVEL_INFO, "load_products",
            json_pack("{s:I,s:I,s:I,s:I}", "rows", (json_int_t)rows, "loaded", (json_int_t)applied,
                      "stale", (json_int_t)stale, "bad", (json_int_t)bad),
            "load-products finished");
out:
  for (size_t i = 0; ps && i < n; i++)
    product_clear(&ps[i]);
  loader_destroy(l);
  free(ps);
  free(ts);
  fclose(f);
  return rc;
}

int main(int argc, char **argv) {
  enricher_config_t cfg = {0};
  conf_section_t own[] = {{enricher_entries, &cfg}};
  service_t svc;
  rstore_t *store = NULL;
  enricher_t *enr = NULL;
  char *password = NULL;
  char errstr[1024];

  /* The operator command must not take the service's metrics port (it may run
   * inside the enricher pod): off unless asked for on the command line. */
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "load-products") == 0)
      setenv("METRICS_ADDR", "", 1);

  if (service_init(&svc, "enricher", "clean.social,sink.snowflake.orders", own, 1, argc, argv,
                   usage, 0) != 0)
    goto out;
  svc.exit_code = 2;
  const char *cmd = svc.conf.arg_count ? svc.conf.args[0] : NULL;
  if (cmd && (strcmp(cmd, "load-products") != 0 || svc.conf.arg_count != 2)) {
    log_error("usage", "expected no argument or `load-products FILE`");
    goto out;
  }
  if (cfg.redis_password_file && *cfg.redis_password_file) {
    unsigned char *raw = NULL;
    size_t len = 0;
    if (secret_read_file(cfg.redis_password_file, &raw, &len, errstr, sizeof(errstr)) != 0) {
      log_error("config", "redis.password_file (REDIS_PASSWORD_FILE): %s", errstr);
      goto out;
    }
    if ((password = malloc(len + 1))) { /* NUL-terminated copy; wiped at exit */
      memcpy(password, raw, len);
      password[len] = '\0';
    }
    secret_free(raw, len);
    if (!password || strlen(password) != len) {
      log_error("config", "redis.password_file (REDIS_PASSWORD_FILE): %s",
                password ? "password contains a NUL byte" : "out of memory");
      goto out;
    }
  }
  if (!(store =
            rstore_new(cfg.redis_url, password, cfg.redis_timeout_ms, errstr, sizeof(errstr)))) {
    log_error("config", "redis.url (REDIS_URL): %s", errstr);
    goto out;
  }
  if (cmd) {
    svc.exit_code = load_products(&cfg, store, svc.conf.args[1]);
    goto out;
  }
  enricher_options_t eo = {
      .schemas_dir = cfg.schemas_dir,
      .store = {rstore_fetch, rstore_update, store},
      .cache_size = (size_t)cfg.cache_size,
      .cache_ttl_ms = cfg.cache_ttl_ms,
      .missing_log_interval_ms = cfg.missing_log_interval_ms,
      .missing_log_ids = (size_t)cfg.missing_log_ids,
      .metrics = svc.metrics,
  };
  if (!(enr = enricher_new(&eo, errstr, sizeof(errstr)))) {
    log_error("config", "schemas.dir (SCHEMAS_DIR): %s", errstr);
    goto out;
  }
  /* Not fatal: Redis may come up after us; the first message retries until it does. */
  if (rstore_connect(store, errstr, sizeof(errstr)) != 0)
    log_warn("redis_unavailable", "redis not reachable yet: %s", errstr);

  stage_options_t opts = {.transform = enricher_transform, .ctx = enr, .seal_dead_letters = 0};
  service_stage_options(&svc, &opts);
  svc.exit_code = stage_run(&svc.stage, &opts);
out:
  enricher_destroy(enr);
  rstore_destroy(store);
  if (password) {
    memset(password, 0, strlen(password));
    free(password);
  }
  service_fini(&svc, own, 1);
  return svc.exit_code;
}
