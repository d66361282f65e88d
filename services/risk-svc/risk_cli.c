/* risk_cli — the operator commands of risk-svc: `blacklist load FILE` and
 * `backtest` (its option parsing and its two sources, a JSONL file and a
 * Kafka topic read from the beginning). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "kafka/kafka.h"
#include "risk_app.h"
#include "risk_backtest.h"
#include "risk_history.h"
#include "json/jsonf.h"

int risk_cli_take(int *argc, char **argv, risk_cli_args_t *out) {
  memset(out, 0, sizeof(*out));
  int is_backtest = 0;
  for (int i = 1; i < *argc; i++)
    is_backtest |= strcmp(argv[i], "backtest") == 0;
  if (!is_backtest)
    return 0;
  int w = 1;
  for (int i = 1; i < *argc; i++) {
    const char **slot = strcmp(argv[i], "--rules") == 0  ? &out->rules
                        : strcmp(argv[i], "--from") == 0 ? &out->from
                                                         : NULL;
    if (slot) {
      if (i + 1 >= *argc)
        return -1;
      *slot = argv[++i];
    } else if (strcmp(argv[i], "--json") == 0) {
      out->json = 1;
    } else {
      argv[w++] = argv[i];
    }
  }
  argv[w] = NULL;
  *argc = w;
  return 0;
}

/* ---- blacklist load ----------------------------------------------------- */

/* Splits one CSV line into at most 3 fields (double quotes, "" inside
 * quotes); fields are unquoted in place. Returns the count, -1 if malformed. */
static int csv_fields(char *line, char **f, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == max)
      return -1;
    char *w = p;
    f[n++] = w;
    if (*p == '"') {
      p++;
      for (;;) {
        if (!*p)
          return -1;
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          *w++ = *p++;
        }
      }
      if (*p && *p != ',')
        return -1;
    } else {
      while (*p && *p != ',')
        *w++ = *p++;
    }
    int more = *p == ',';
    char *end = p;
    *w = '\0';
    if (!more)
      break;
    p = end + 1;
  }
  for (int i = 0; i < n; i++) { /* trim */
    while (isspace((unsigned char)*f[i]))
      f[i]++;
    size_t l = strlen(f[i]);
    while (l && isspace((unsigned char)f[i][l - 1]))
      f[i][--l] = '\0';
  }
  return n;
}

static int is_pseudonym(const char *s) {
  const char *colon = strchr(s, ':');
  if (!colon || colon == s || colon - s > 16 || strlen(colon + 1) != 64)
    return 0;
  for (const char *p = s; p < colon; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
      return 0;
  for (const char *p = colon + 1; *p; p++)
    if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
      return 0;
  return 1;
}

static int put_with_retry(risk_history_t *h, const char *phash, const char *note, int64_t ttl) {
  for (int attempt = 0; attempt < 5; attempt++) {
    if (risk_history_blacklist_put(h, 0, phash, note, ttl) == 0)
      return 0;
    struct timespec pause = {0, 200000000L};
    nanosleep(&pause, NULL);
  }
  return -1;
}

int risk_blacklist_load(const risk_config_t *cfg, const redis_settings_t *redis, const char *path) {
  char errstr[512];
  pii_hasher_t *hasher =
      pii_hasher_from_file(cfg->hmac_key_file, cfg->key_id, errstr, sizeof(errstr));
  if (!hasher) {
    log_error("config", "privacy.hmac_key_file (PRIVACY_HMAC_KEY_FILE): %s", errstr);
    return 2;
  }
  risk_history_opts_t ho = {.redis = redis, .prefix = cfg->history_prefix, .slots = 1};
  risk_history_t *h = risk_history_new(&ho, errstr, sizeof(errstr));
  FILE *fp = h ? fopen(path, "rb") : NULL;
  if (!fp) {
    if (h)
      log_error("usage", "cannot open %s: %s", path, strerror(errno));
    else
      log_error("config", "redis: %s", errstr);
    risk_history_destroy(h);
    pii_hasher_destroy(hasher);
    return 2;
  }
  const char *kid = pii_hasher_key_id(hasher);
  size_t kl = strlen(kid);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long lineno = 0, rows = 0, loaded = 0, bad = 0;
  int rc = 0;
  while ((len = getline(&line, &cap, fp)) >= 0) {
    lineno++;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    char *f[3] = {0};
    int n = len ? csv_fields(line, f, 3) : 0;
    if (n == 0 || (n >= 1 && !*f[0]) || f[0][0] == '#')
      continue;
    if (lineno == 1 &&
        (strcasecmp(f[0], "customer_phone") == 0 || strcasecmp(f[0], "phone") == 0 ||
         strcasecmp(f[0], "customer_phone_hash") == 0 || strcasecmp(f[0], "hash") == 0))
      continue; /* a header */
    rows++;
    char phash[PII_HASH_MAX], err[128];
    long ttl_days = 0;
    const char *why = NULL;
    if (n < 0)
      why = "malformed CSV";
    else if (is_pseudonym(f[0])) {
      if (strncmp(f[0], kid, kl) != 0 || f[0][kl] != ':')
        why = "a pseudonym made with another key";
      else
        snprintf(phash, sizeof(phash), "%s", f[0]);
    } else if (pii_hash_identifier(hasher, "phone", f[0], strlen(f[0]), phash, sizeof(phash), err,
                                   sizeof(err)) != 0)
      why = "neither a phone number nor a pseudonym";
    if (!why && n == 3 && *f[2]) {
      char *end = NULL;
      ttl_days = strtol(f[2], &end, 10);
      if (!end || *end || ttl_days < 1 || ttl_days > 3650)
        why = "ttl_days must be 1..3650";
    }
    if (why) { /* the line number, never the value */
      bad++;
      log_warn("bad_row", "%s line %ld: %s", path, lineno, why);
      continue;
    }
    const char *reason = n >= 2 && *f[1] ? f[1] : "loaded from a file";
    char *scrubbed = pii_scrub_text(hasher, reason, strlen(reason), NULL, NULL);
    json_t *note = json_pack("{s:s,s:s,s:I}", "reason", scrubbed ? scrubbed : "", "by",
                             "blacklist-load", "at_ms", (json_int_t)clock_wall_ms());
    char *text = note ? jsonf_dumps(note, NULL) : NULL;
    int ok = text && put_with_retry(h, phash, text, (int64_t)ttl_days * 86400) == 0;
    free(text);
    json_decref(note);
    free(scrubbed);
    if (!ok) {
      log_error("redis_unavailable", "blacklist load stopped at line %ld: Redis unavailable",
                lineno);
      rc = 1;
      break;
    }
    loaded++;
  }
  free(line);
  fclose(fp);
  printf("rows %ld loaded %ld bad %ld\n", rows, loaded, bad);
  log_event(LOG_LEVEL_INFO, "blacklist_load",
            json_pack("{s:I,s:I,s:I}", "rows", (json_int_t)rows, "loaded", (json_int_t)loaded,
                      "bad", (json_int_t)bad),
            "blacklist load finished");
  risk_history_destroy(h);
  pii_hasher_destroy(hasher);
  return rc ? rc : bad ? 1 : 0;
}

/* ---- backtest ----------------------------------------------------------- */

static int add_text(risk_backtest_t *b, const char *text, size_t len, long *skipped, long *bad,
                    const char *where, long n) {
  char err[256];
  json_t *doc = jsonf_parse(text, len, 64, err, sizeof(err));
  int rc = doc ? risk_backtest_add(b, doc, err, sizeof(err)) : -1;
  json_decref(doc);
  if (rc == 0)
    (*skipped)++;
  if (rc < 0) {
    (*bad)++;
    log_warn("bad_record", "%s record %ld: %s", where, n, err);
  }
  return rc;
}

static int read_file(risk_backtest_t *b, const char *path, long *skipped, long *bad) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!fp) {
    log_error("usage", "--from file:%s: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long n = 0;
  while ((len = getline(&line, &cap, fp)) >= 0) {
    n++;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      len--;
    if (len)
      add_text(b, line, (size_t)len, skipped, bad, path, n);
  }
  free(line);
  if (fp != stdin)
    fclose(fp);
  return 0;
}

static int read_topic(risk_backtest_t *b, app_t *app, const char *topic, long *skipped, long *bad) {
  char errstr[512];
  conf_kv_t over[] = {{.key = "enable.auto.commit", .value = "false"},
                      {.key = "enable.partition.eof", .value = "true"}};
  kafka_client_opts_t ko = {.brokers = app->settings.brokers,
                            .client_id = "risk-svc-backtest",
                            .props = app->conf.kafka,
                            .nprops = app->conf.kafka_count,
                            .overrides = over,
                            .noverrides = 2,
                            .group_id = "risk-svc-backtest"};
  rd_kafka_t *rk = kafka_consumer_new(&ko, errstr, sizeof(errstr));
  if (!rk) {
    log_error("config", "kafka: %s", errstr);
    return -1;
  }
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 10000);
  int rc = -1;
  if (err || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
    log_error("usage", "--from topic:%s: %s", topic, err ? rd_kafka_err2str(err) : "no such topic");
    goto out;
  }
  int parts = md->topics[0].partition_cnt, eof = 0;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++)
    rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[p].id)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  long n = 0;
  double idle_until = clock_mono() + 30;
  while (eof < parts && clock_mono() < idle_until && !signals_stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (!m)
      continue;
    idle_until = clock_mono() + 30;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      eof++;
    else if (!m->err && m->payload)
      add_text(b, m->payload, m->len, skipped, bad, topic, ++n);
    rd_kafka_message_destroy(m);
  }
  rc = eof == parts ? 0 : -1;
  if (rc)
    log_error("kafka", "--from topic:%s: stopped before the end of every partition", topic);
  rd_kafka_assign(rk, NULL);
out:
  if (md)
    rd_kafka_metadata_destroy(md);
  if (t)
    rd_kafka_topic_destroy(t);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}

int risk_backtest_cmd(app_t *app, const risk_config_t *cfg, const risk_cli_args_t *args) {
  char errstr[512];
  if (!args->rules || !args->from ||
      (strncmp(args->from, "file:", 5) != 0 && strncmp(args->from, "topic:", 6) != 0)) {
    log_error("usage", "backtest needs --rules NEW.yaml and --from file:PATH or topic:NAME");
    return 2;
  }
  risk_rules_t *cur = risk_rules_load(cfg->rules_file, errstr, sizeof(errstr));
  if (!cur) {
    log_error("config", "rules.file (RISK_RULES_FILE): %s", errstr);
    return 2;
  }
  risk_rules_t *cand = risk_rules_load(args->rules, errstr, sizeof(errstr));
  if (!cand) {
    log_error("usage", "--rules: %s", errstr);
    risk_rules_destroy(cur);
    return 2;
  }
  risk_backtest_t *b = risk_backtest_new(cur, cand, cfg->velocity_max);
  long skipped = 0, bad = 0;
  int rc = !b                     ? -1
           : args->from[0] == 'f' ? read_file(b, args->from + 5, &skipped, &bad)
                                  : read_topic(b, app, args->from + 6, &skipped, &bad);
  risk_backtest_report_t rep;
  if (rc == 0 && risk_backtest_run(b, &rep) == 0) {
    if (args->json) {
      json_t *j = risk_backtest_json(&rep, cur, cand);
      json_object_set_new(j, "skipped", json_integer(skipped));
      json_object_set_new(j, "bad", json_integer(bad));
      char *text = jsonf_dumps(j, NULL);
      printf("%s\n", text ? text : "{}");
      free(text);
      json_decref(j);
    } else {
      risk_backtest_print(&rep, cur, cand, args->from, skipped, stdout);
      if (bad)
        printf("malformed records ignored: %ld\n", bad);
    }
  } else if (rc == 0) {
    log_error("internal", "backtest: out of memory");
    rc = -1;
  }
  risk_backtest_destroy(b);
  risk_rules_destroy(cur);
  risk_rules_destroy(cand);
  return rc == 0 ? 0 : 1;
}
