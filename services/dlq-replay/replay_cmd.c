/* The dlq-replay commands. Data (list lines, show's payload, replay --file
 * payloads) goes to stdout; everything else to stderr, as JSON log lines plus
 * one human summary line, so `dlq-replay ... | tool` pipes only data. */
#include "replay_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/signals.h"
#include "replay_kafka.h"
#include "replay_letter.h"

/* A file line can hold an envelope of the largest input a stage accepts
 * (64 MiB) in base64 with room for the fields; longer lines are refused. */
#define DLQR_MAX_LINE ((size_t)96 * 1024 * 1024)

static const conf_entry_t dlqr_entries[] = {
    {"kafka.brokers", "KAFKA_BROKERS", CONF_STRING, "127.0.0.1:9092",
     offsetof(dlqr_config_t, brokers), 0, 0, 0, "Kafka bootstrap servers (host:port,...)"},
    {"dlq.key_file", "DLQ_KEY_FILE", CONF_STRING, NULL, offsetof(dlqr_config_t, key_file), 0, 0, 0,
     "file with the 32-byte AES-256-GCM key of sealed dead letters (show, replay)"},
    {"log.level", "LOG_LEVEL", CONF_STRING, "info", offsetof(dlqr_config_t, log_level), 0, 0, 0,
     "debug, info, warn or error"},
    {"topic", NULL, CONF_STRING, NULL, offsetof(dlqr_config_t, topic), 0, 0, 0,
     "dead-letter topic to read, e.g. dead-letters-market"},
    {"file", NULL, CONF_STRING, NULL, offsetof(dlqr_config_t, file), 0, 0, 0,
     "read envelopes from this JSON-lines file instead (what --dlq-file writes; - is stdin)"},
    {"partition", NULL, CONF_INT, "-1", offsetof(dlqr_config_t, partition), 0, -1, INT32_MAX,
     "show: partition of the dead letter"},
    {"offset", NULL, CONF_INT, "-1", offsetof(dlqr_config_t, offset), 0, -1, INT64_MAX,
     "show: offset of the dead letter (with --file: its line number, from 1)"},
    {"limit", NULL, CONF_INT, "0", offsetof(dlqr_config_t, limit), 0, 0, INT64_MAX,
     "list, replay: stop after this many selected dead letters (0: all)"},
    {"code", NULL, CONF_STRING, NULL, offsetof(dlqr_config_t, code), 0, 0, 0,
     "list, replay: only dead letters with this error code (schema, invalid_json, ...)"},
    {"source_topic", NULL, CONF_STRING, NULL, offsetof(dlqr_config_t, source_topic), 0, 0, 0,
     "list, replay: only dead letters that came from this topic"},
    {"to", NULL, CONF_STRING, NULL, offsetof(dlqr_config_t, to), 0, 0, 0,
     "replay: produce to this topic instead of each letter's source topic"},
    {"group", "DLQ_REPLAY_GROUP", CONF_STRING, NULL, offsetof(dlqr_config_t, group), 0, 0, 0,
     "replay: consumer group remembering what was replayed (default dlq-replay; required, "
     "and not dlq-replay, with --code/--source-topic)"},
    {"dry_run", NULL, CONF_BOOL, "false", offsetof(dlqr_config_t, dry_run), 0, 0, 0,
     "replay: print what would be replayed; produce and commit nothing"},
    {"no_commit", NULL, CONF_BOOL, "false", offsetof(dlqr_config_t, no_commit), 0, 0, 0,
     "replay: read the whole topic without a group and remember nothing"},
    {"skip_refused", NULL, CONF_BOOL, "false", offsetof(dlqr_config_t, skip_refused), 0, 0, 0,
     "replay: move the group past refused letters (truncated, wrong key) instead of halting "
     "their partition"},
    {"json", NULL, CONF_BOOL, "false", offsetof(dlqr_config_t, json), 0, 0, 0,
     "list: one JSON object per dead letter (the envelope without its payload)"},
    {"timeout_ms", "DLQ_REPLAY_TIMEOUT_MS", CONF_INT, "30000", offsetof(dlqr_config_t, timeout_ms),
     0, 1000, 3600000, "how long to wait for the brokers (metadata, reads, deliveries, commit)"},
    {NULL, NULL, 0, NULL, 0, 0, 0, 0, NULL},
};

const conf_entry_t *dlqr_config_entries(void) {
  return dlqr_entries;
}

static int set_(const char *s) {
  return s && *s;
}

int dlqr_config_check(const dlqr_config_t *cfg, const conf_result_t *res, dlqr_command_t *cmd,
                      char *errstr, size_t errstr_size) {
  const char *name = res->arg_count ? res->args[0] : NULL;
  if (!name) {
    snprintf(errstr, errstr_size, "no command: use list, show or replay (see --help)");
    return -1;
  }
  if (strcmp(name, "list") == 0)
    *cmd = DLQR_LIST;
  else if (strcmp(name, "show") == 0)
    *cmd = DLQR_SHOW;
  else if (strcmp(name, "replay") == 0)
    *cmd = DLQR_REPLAY;
  else {
    snprintf(errstr, errstr_size, "unknown command '%.64s': use list, show or replay", name);
    return -1;
  }
  if (res->arg_count > 1) {
    snprintf(errstr, errstr_size, "unexpected argument '%.64s' after %s", res->args[1], name);
    return -1;
  }
  if (set_(cfg->topic) == set_(cfg->file)) {
    snprintf(errstr, errstr_size, "%s needs exactly one of --topic DLQ_TOPIC or --file PATH", name);
    return -1;
  }
  int replay = *cmd == DLQR_REPLAY, show = *cmd == DLQR_SHOW, file = set_(cfg->file);
  /* Options that mean nothing for a command are errors, not silently ignored:
   * at 3 a.m. "--dry-run" on the wrong command must not look like it worked. */
  struct {
    int given, allowed;
    const char *flag;
  } opts[] = {
      {set_(cfg->to), replay && !file, "--to (replay from --topic)"},
      {set_(cfg->group), replay && !file, "--group (replay from --topic)"},
      {cfg->no_commit, replay && !file, "--no-commit (replay from --topic)"},
      {cfg->skip_refused, replay && !file, "--skip-refused (replay from --topic)"},
      {cfg->dry_run, replay, "--dry-run (replay)"},
      {cfg->partition >= 0, show && !file, "--partition (show from --topic)"},
      {cfg->offset >= 0, show, "--offset (show)"},
      {cfg->limit > 0, !show, "--limit (list, replay)"},
      {set_(cfg->code), !show, "--code (list, replay)"},
      {set_(cfg->source_topic), !show, "--source-topic (list, replay)"},
      {cfg->json, *cmd == DLQR_LIST, "--json (list)"},
  };
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
    if (opts[i].given && !opts[i].allowed) {
      snprintf(errstr, errstr_size, "%s: option only valid for %s", name, opts[i].flag);
      return -1;
    }
  if (show && (cfg->offset < (file ? 1 : 0) || (!file && cfg->partition < 0))) {
    snprintf(errstr, errstr_size,
             file ? "show --file needs --offset LINE (line numbers start at 1)"
                  : "show --topic needs --partition P and --offset O (see list)");
    return -1;
  }
  if (replay && !file) {
    replay_filter_t f = {cfg->code, cfg->source_topic};
    if (set_(cfg->to) && strncmp(cfg->to, "dead-letters-", 13) == 0) {
      snprintf(errstr, errstr_size, "--to %.128s: replaying into a dead-letter topic would loop",
               cfg->to);
      return -1;
    }
    if (replay_filter_active(&f) && !cfg->no_commit &&
        (!set_(cfg->group) || strcmp(cfg->group, DLQR_DEFAULT_GROUP) == 0)) {
      snprintf(errstr, errstr_size,
               "--code/--source-topic with the group %s would commit past the dead letters the "
               "filter does not select, and a later unfiltered replay would never see them: add "
               "--group NAME (a group of its own for this filter) or --no-commit",
               DLQR_DEFAULT_GROUP);
      return -1;
    }
    if (cfg->no_commit && set_(cfg->group)) {
      snprintf(errstr, errstr_size, "--no-commit uses no group: drop --group");
      return -1;
    }
  }
  return 0;
}

/* ---- stop on SIGINT/SIGTERM ------------------------------------------------ */

/* ---- reading letters -------------------------------------------------------- */

typedef struct letter {
  const char *where; /* "dead-letters-market/0@12" or "dlq.jsonl:3" */
  json_t *env;       /* NULL when the bytes are not a JSON object */
  char bad[128];     /* why env is NULL */
  const void *key;   /* the dead letter's own Kafka key; NULL in files */
  size_t key_len;
  int32_t partition; /* -1 in files */
  int64_t offset;    /* line number in files */
} letter_t;

/* Returns 0 to go on, 1 to stop reading (limit, show found its letter). */
typedef int (*visit_fn)(void *ctx, letter_t *l);

static void letter_parse(letter_t *l, const char *data, size_t len) {
  json_error_t je;
  l->env = json_loadb(data, len, 0, &je);
  if (!l->env)
    /* Only the position: jansson's text may quote the bytes, which may be
     * a plaintext payload with personal data. */
    snprintf(l->bad, sizeof(l->bad), "not JSON (error at byte %d)", je.position);
  else if (!json_is_object(l->env)) {
    json_decref(l->env);
    l->env = NULL;
    snprintf(l->bad, sizeof(l->bad), "not a JSON object");
  }
}

/* Calls fn for every envelope line of path ("-": stdin), or only line `only`
 * when only > 0. Returns 0, or -1 with errstr when the file cannot be read. */
static int each_file(const char *path, int64_t only, visit_fn fn, void *ctx, char *errstr,
                     size_t errstr_size) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) {
    snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL, where[512];
  size_t cap = 0;
  ssize_t n;
  int64_t lineno = 0;
  int rc = 0, found = 0;
  while (!signals_stop && (n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (only > 0 && lineno != only)
      continue;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n == 0 && only <= 0)
      continue;
    found = 1;
    letter_t l = {.where = where, .partition = -1, .offset = lineno};
    snprintf(where, sizeof(where), "%s:%" PRId64, path, lineno);
    if ((size_t)n > DLQR_MAX_LINE)
      snprintf(l.bad, sizeof(l.bad), "line longer than %zu bytes", DLQR_MAX_LINE);
    else
      letter_parse(&l, line, (size_t)n);
    int stop = fn(ctx, &l);
    json_decref(l.env);
    if (stop || only > 0)
      break;
  }
  if (ferror(f)) {
    snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
    rc = -1;
  } else if (only > 0 && !found) {
    snprintf(errstr, errstr_size, "%s has no line %" PRId64, path, only);
    rc = -1;
  }
  free(line);
  if (f != stdin)
    fclose(f);
  return rc;
}

static dlqr_kafka_opts_t kafka_opts(const dlqr_config_t *cfg, const conf_result_t *res) {
  dlqr_kafka_opts_t o = {cfg->brokers, res->kafka, res->kafka_count, cfg->timeout_ms};
  return o;
}

/* Calls fn for every letter of the topic from the low to the high watermark
 * (or the one letter at partition/offset), with no group: reading never
 * changes what a replay will do. Returns 0 or -1 (errstr). */
static int each_kafka(const dlqr_config_t *cfg, const conf_result_t *res, visit_fn fn, void *ctx,
                      char *errstr, size_t errstr_size) {
  dlqr_kafka_opts_t o = kafka_opts(cfg, res);
  rd_kafka_t *rk = dlqr_kafka_consumer(&o, NULL, errstr, errstr_size);
  if (!rk)
    return -1;
  int rc = -1;
  dlqr_reader_t *r = dlqr_reader_open(rk, cfg->topic, (int32_t)cfg->partition, cfg->offset, 0,
                                      cfg->timeout_ms, errstr, errstr_size);
  if (!r)
    goto out;
  for (;;) {
    if (signals_stop) {
      snprintf(errstr, errstr_size, "interrupted");
      goto out;
    }
    rd_kafka_message_t *m;
    int st = dlqr_reader_next(r, &m, errstr, errstr_size);
    if (st == DLQR_READ_ERROR)
      goto out;
    if (st == DLQR_READ_END)
      break;
    if (st != DLQR_READ_MSG)
      continue;
    char where[512];
    snprintf(where, sizeof(where), "%s/%" PRId32 "@%" PRId64, cfg->topic, m->partition, m->offset);
    letter_t l = {.where = where,
                  .key = m->key,
                  .key_len = m->key_len,
                  .partition = m->partition,
                  .offset = m->offset};
    letter_parse(&l, m->payload ? m->payload : "", m->len);
    int stop = fn(ctx, &l);
    json_decref(l.env);
    rd_kafka_message_destroy(m);
    if (stop)
      break;
  }
  rc = 0;
out:
  dlqr_reader_destroy(r);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}

static int each_letter(const dlqr_config_t *cfg, const conf_result_t *res, visit_fn fn, void *ctx,
                       char *errstr, size_t errstr_size) {
  return set_(cfg->file) ? each_file(cfg->file, cfg->offset, fn, ctx, errstr, errstr_size)
                         : each_kafka(cfg, res, fn, ctx, errstr, errstr_size);
}

/* ---- list ------------------------------------------------------------------- */

typedef struct list_ctx {
  const dlqr_config_t *cfg;
  replay_filter_t filter;
  uint64_t listed, skipped, bad;
  int write_failed;
} list_ctx_t;

static int list_visit(void *vctx, letter_t *l) {
  list_ctx_t *c = vctx;
  if (!l->env) {
    c->bad++;
    printf("%s  MALFORMED: %s\n", l->where, l->bad);
    return 0;
  }
  if (!replay_filter_match(&c->filter, l->env)) {
    c->skipped++;
    return 0;
  }
  char *line = NULL;
  if (c->cfg->json) {
    json_t *meta = replay_envelope_meta(l->env, l->where);
    line = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
  } else {
    line = replay_list_line(l->env, l->where);
  }
  if (!line || printf("%s\n", line) < 0)
    c->write_failed = 1;
  free(line);
  c->listed++;
  return c->write_failed || (c->cfg->limit > 0 && c->listed >= (uint64_t)c->cfg->limit);
}

static int cmd_list(const dlqr_config_t *cfg, const conf_result_t *res) {
  list_ctx_t c = {.cfg = cfg, .filter = {cfg->code, cfg->source_topic}};
  char errstr[1024];
  int rc = each_letter(cfg, res, list_visit, &c, errstr, sizeof(errstr));
  if (fflush(stdout) != 0)
    c.write_failed = 1;
  if (rc != 0)
    log_error("list_failed", "%s", errstr);
  if (c.write_failed)
    log_error("write_failed", "cannot write to stdout");
  log_event(LOG_LEVEL_INFO, "summary",
            json_pack("{s:s,s:I,s:I,s:I}", "command", "list", "listed", (json_int_t)c.listed,
                      "skipped_by_filter", (json_int_t)c.skipped, "malformed", (json_int_t)c.bad),
            "listed %" PRIu64 " dead letters", c.listed);
  fprintf(stderr,
          "dlq-replay: listed %" PRIu64 " dead letter(s), %" PRIu64 " skipped by filter, %" PRIu64
          " malformed\n",
          c.listed, c.skipped, c.bad);
  return rc != 0 || c.write_failed || c.bad ? 1 : 0;
}

/* ---- show ------------------------------------------------------------------- */

typedef struct show_ctx {
  const dlq_key_t *key;
  int rc;
} show_ctx_t;

static int show_visit(void *vctx, letter_t *l) {
  show_ctx_t *c = vctx;
  char errstr[512];
  c->rc = 1;
  if (!l->env) {
    log_error("malformed", "%s: %s", l->where, l->bad);
    return 1;
  }
  json_t *meta = replay_envelope_meta(l->env, l->where);
  char *text = meta ? json_dumps(meta, JSON_INDENT(2)) : NULL;
  json_decref(meta);
  fprintf(stderr, "%s\n", text ? text : "(out of memory)");
  free(text);

  unsigned char *payload = NULL;
  size_t len = 0;
  if (dlq_envelope_payload(l->env, c->key, &payload, &len, errstr, sizeof(errstr)) != 0) {
    log_error("payload_unreadable", "%s: %s%s", l->where, errstr,
              c->key ? "" : " (set DLQ_KEY_FILE to the key the stages seal with)");
    return 1;
  }
  fprintf(stderr,
          "WARNING: the payload below (stdout) is the original message and may hold personal "
          "data (names, phone numbers, addresses). Do not paste it into tickets or chat.\n");
  if (json_is_true(json_object_get(l->env, "payload_truncated")))
    fprintf(stderr, "WARNING: TRUNCATED: only the first %zu of %lld bytes were kept\n", len,
            (long long)json_integer_value(json_object_get(l->env, "payload_size")));
  int ok =
      fwrite(payload, 1, len, stdout) == len && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
  memset(payload, 0, len);
  free(payload);
  if (!ok)
    log_error("write_failed", "cannot write the payload to stdout");
  c->rc = ok ? 0 : 1;
  return 1;
}

static int cmd_show(const dlqr_config_t *cfg, const conf_result_t *res, const dlq_key_t *key) {
  show_ctx_t c = {key, 1};
  char errstr[1024];
  if (each_letter(cfg, res, show_visit, &c, errstr, sizeof(errstr)) != 0) {
    log_error("show_failed", "%s", errstr);
    return 1;
  }
  return c.rc;
}

/* ---- replay: shared bookkeeping -------------------------------------------- */

typedef struct summary {
  uint64_t selected, replayed, skipped, refused, truncated, wrong_key, other, failed;
  int halted;
} summary_t;

static void count_refusal(summary_t *s, replay_refusal_t why) {
  s->refused++;
  if (why == REPLAY_REFUSED_TRUNCATED)
    s->truncated++;
  else if (why == REPLAY_REFUSED_KEY)
    s->wrong_key++;
  else
    s->other++;
}

static int summarize(const summary_t *s, int dry_run, int fatal) {
  int rc = fatal || s->refused || s->failed ? 1 : 0;
  log_event(LOG_LEVEL_INFO, "summary",
            json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}", "command", "replay",
                      "dry_run", dry_run, "selected", (json_int_t)s->selected, "replayed",
                      (json_int_t)s->replayed, "skipped_by_filter", (json_int_t)s->skipped,
                      "refused", (json_int_t)s->refused, "refused_truncated",
                      (json_int_t)s->truncated, "refused_wrong_key", (json_int_t)s->wrong_key,
                      "refused_other", (json_int_t)s->other, "failed", (json_int_t)s->failed,
                      "halted_partitions", s->halted, "exit_code", rc),
            "replay finished");
  fprintf(stderr,
          "dlq-replay: %s %" PRIu64 " of %" PRIu64 " selected; %" PRIu64
          " skipped by filter; %" PRIu64 " refused (%" PRIu64 " truncated, %" PRIu64
          " wrong key, %" PRIu64 " other); %" PRIu64 " failed%s\n",
          dry_run ? "would replay" : "replayed", s->replayed, s->selected, s->skipped, s->refused,
          s->truncated, s->wrong_key, s->other, s->failed,
          fatal ? "; STOPPED EARLY (see the log)" : "");
  return rc;
}

/* error.code of an envelope for messages, "?" when there is none. */
static const char *error_code(const json_t *env) {
  const char *c = json_string_value(json_object_get(json_object_get(env, "error"), "code"));
  return c ? c : "?";
}

/* ---- replay --file: payloads to stdout --------------------------------------- */

typedef struct file_replay {
  const dlqr_config_t *cfg;
  const dlq_key_t *key;
  replay_filter_t filter;
  summary_t s;
  int write_failed;
} file_replay_t;

static int file_replay_visit(void *vctx, letter_t *l) {
  file_replay_t *c = vctx;
  char errstr[512];
  if (l->env && !replay_filter_match(&c->filter, l->env)) {
    c->s.skipped++;
    return 0;
  }
  c->s.selected++;
  replay_item_t it;
  replay_refusal_t why = REPLAY_REFUSED_MALFORMED;
  int ok = l->env &&
           replay_extract(l->env, c->key, NULL, 0, 0, NULL, &it, &why, errstr, sizeof(errstr)) == 0;
  if (!l->env)
    snprintf(errstr, sizeof(errstr), "%s", l->bad);
  if (ok && memchr(it.payload, '\n', it.payload_len)) {
    /* One message per line is the stdio contract: a payload with a newline
     * would become two broken messages downstream. */
    replay_item_free(&it);
    ok = 0;
    why = REPLAY_REFUSED_MALFORMED;
    snprintf(errstr, sizeof(errstr),
             "payload contains a newline: cannot be one line; replay it "
             "over Kafka instead");
  }
  if (!ok) {
    count_refusal(&c->s, why);
    log_event(LOG_LEVEL_WARN, "refused",
              json_pack("{s:s,s:s}", "dlq", l->where, "reason", replay_refusal_name(why)), "%s: %s",
              l->where, errstr);
  } else {
    if (c->cfg->dry_run)
      printf("would replay %s code=%s -> stdout (%zu bytes)\n", l->where, error_code(l->env),
             it.payload_len);
    else if (fwrite(it.payload, 1, it.payload_len, stdout) != it.payload_len ||
             fputc('\n', stdout) == EOF)
      c->write_failed = 1;
    if (!c->write_failed)
      c->s.replayed++;
    replay_item_free(&it);
  }
  return c->write_failed || (c->cfg->limit > 0 && c->s.selected >= (uint64_t)c->cfg->limit);
}

static int cmd_replay_file(const dlqr_config_t *cfg, const dlq_key_t *key) {
  file_replay_t c = {.cfg = cfg, .key = key, .filter = {cfg->code, cfg->source_topic}};
  char errstr[1024];
  int fatal = each_file(cfg->file, 0, file_replay_visit, &c, errstr, sizeof(errstr)) != 0;
  if (fflush(stdout) != 0)
    c.write_failed = 1;
  if (fatal)
    log_error("replay_failed", "%s", errstr);
  if (c.write_failed) {
    log_error("write_failed", "cannot write payloads to stdout");
    c.s.failed++;
  }
  return summarize(&c.s, cfg->dry_run, fatal || signals_stop);
}

/* ---- replay over Kafka ----------------------------------------------------- */

/* Per DLQ partition, the letters handled and not yet covered by a stored
 * offset, in offset order. An offset is stored only up to the first letter
 * that is not DONE, so the group never moves past a letter whose replay is
 * unacknowledged, failed or refused. */
enum { PE_PENDING = 0, PE_DONE = 1, PE_BLOCKED = 2 };

typedef struct pentry {
  int64_t offset;
  int state;
} pentry_t;

typedef struct ptrack {
  int32_t partition;
  pentry_t *q;
  size_t head, count, cap;
  int halted;
} ptrack_t;

typedef struct kreplay {
  const dlqr_config_t *cfg;
  const dlq_key_t *key;
  replay_filter_t filter;
  int commit;
  rd_kafka_t *consumer, *producer;
  dlqr_reader_t *reader;
  ptrack_t *pt;
  int npt;
  size_t inflight;
  summary_t s;
  int fatal;
} kreplay_t;

/* Delivery-report opaque: which letter a replayed message stands for. */
typedef struct dr_ref {
  int32_t partition;
  int64_t offset;
} dr_ref_t;

static ptrack_t *ptrack_for(kreplay_t *k, int32_t partition) {
  for (int i = 0; i < k->npt; i++)
    if (k->pt[i].partition == partition)
      return &k->pt[i];
  return NULL;
}

static int ptrack_push(ptrack_t *p, int64_t offset, int state) {
  if (p->head > 0 && p->head + p->count == p->cap) {
    memmove(p->q, p->q + p->head, p->count * sizeof(*p->q));
    p->head = 0;
  }
  if (p->count == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    pentry_t *q = realloc(p->q, cap * sizeof(*q));
    if (!q)
      return -1;
    p->q = q;
    p->cap = cap;
  }
  p->q[p->head + p->count++] = (pentry_t){offset, state};
  return 0;
}

static pentry_t *ptrack_find(ptrack_t *p, int64_t offset) {
  size_t lo = p->head, hi = p->head + p->count; /* offsets ascend: binary search */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->q[mid].offset == offset)
      return &p->q[mid];
    if (p->q[mid].offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Pops the DONE head of p and stores the offset after it. */
static void ptrack_advance(kreplay_t *k, ptrack_t *p) {
  int64_t next = -1;
  while (p->count && p->q[p->head].state == PE_DONE) {
    next = p->q[p->head].offset + 1;
    p->head++;
    p->count--;
  }
  if (next < 0 || !k->commit)
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, k->cfg->topic, p->partition)->offset = next;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->consumer, l);
  if (err) {
    log_error("offset_store", "%s [%d] offset %lld not stored: %s", k->cfg->topic, p->partition,
              (long long)next, rd_kafka_err2str(err));
    k->fatal = 1;
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Stops a partition at a letter that was not replayed: nothing after it may
 * be replayed in this run, or the group could never be committed past it
 * without replaying those again. */
static void halt_partition(kreplay_t *k, ptrack_t *p, int64_t offset, const char *why) {
  if (p->halted)
    return;
  p->halted = 1;
  k->s.halted++;
  dlqr_reader_halt(k->reader, p->partition);
  log_event(LOG_LEVEL_ERROR, "partition_halted",
            json_pack("{s:s,s:i,s:I}", "topic", k->cfg->topic, "partition", p->partition, "offset",
                      (json_int_t)offset),
            "%s [%d] halted at offset %lld (%s): the group stays before it; fix the cause and "
            "run again, or pass --skip-refused to move past refused letters",
            k->cfg->topic, p->partition, (long long)offset, why);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kreplay_t *k = opaque;
  dr_ref_t *ref = m->_private;
  ptrack_t *p = ptrack_for(k, ref->partition);
  pentry_t *e = p ? ptrack_find(p, ref->offset) : NULL;
  k->inflight--;
  if (m->err) {
    k->s.failed++;
    log_event(LOG_LEVEL_ERROR, "delivery_failed",
              json_pack("{s:s,s:i,s:I,s:s}", "topic", k->cfg->topic, "partition", ref->partition,
                        "offset", (json_int_t)ref->offset, "target", rd_kafka_topic_name(m->rkt)),
              "replay of %s/%d@%lld to %s failed: %s", k->cfg->topic, ref->partition,
              (long long)ref->offset, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    if (e)
      e->state = PE_BLOCKED;
    if (p)
      halt_partition(k, p, ref->offset, "delivery failed");
  } else {
    k->s.replayed++;
    log_event(LOG_LEVEL_INFO, "replayed",
              json_pack("{s:s,s:i,s:I,s:s,s:i,s:I}", "topic", k->cfg->topic, "partition",
                        ref->partition, "offset", (json_int_t)ref->offset, "target",
                        rd_kafka_topic_name(m->rkt), "target_partition", m->partition,
                        "target_offset", (json_int_t)m->offset),
              "replayed %s/%d@%lld", k->cfg->topic, ref->partition, (long long)ref->offset);
    if (e)
      e->state = PE_DONE;
    if (p)
      ptrack_advance(k, p);
  }
  free(ref);
}

/* Produces one replay; returns 0 or a librdkafka error. The queue may be full
 * (many letters, slow broker): serve delivery reports and retry. */
static rd_kafka_resp_err_t produce_item(kreplay_t *k, const replay_item_t *it, dr_ref_t *ref) {
  char attempts[32];
  snprintf(attempts, sizeof(attempts), "%lld", it->attempts);
  for (int tries = 0;; tries++) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, REPLAY_HEADER_ATTEMPTS, -1, attempts, -1);
    rd_kafka_header_add(h, REPLAY_HEADER_FIRST_FAILED_AT, -1, it->first_failed_at, -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(it->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(it->key, it->key_len),
        RD_KAFKA_V_VALUE(it->payload_len ? it->payload : NULL, it->payload_len),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
    if (!err)
      return 0; /* the message owns the headers now */
    rd_kafka_headers_destroy(h);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries * 100 > k->cfg->timeout_ms)
      return err;
    rd_kafka_poll(k->producer, 100);
  }
}

static void kreplay_letter(kreplay_t *k, rd_kafka_message_t *m) {
  char where[512], errstr[512];
  snprintf(where, sizeof(where), "%s/%" PRId32 "@%" PRId64, k->cfg->topic, m->partition, m->offset);
  ptrack_t *p = ptrack_for(k, m->partition);
  if (!p || p->halted)
    return;
  letter_t l = {.where = where};
  letter_parse(&l, m->payload ? m->payload : "", m->len);
  if (l.env && !replay_filter_match(&k->filter, l.env)) {
    k->s.skipped++;
    /* Only reachable with a group of the filter's own (or --no-commit):
     * moving past what this filter does not select is that group's job. */
    if (ptrack_push(p, m->offset, PE_DONE) != 0)
      k->fatal = 1;
    ptrack_advance(k, p);
    json_decref(l.env);
    return;
  }
  k->s.selected++;
  if (k->cfg->limit > 0 && k->s.selected >= (uint64_t)k->cfg->limit)
    dlqr_reader_halt_all(k->reader); /* this one is the last */

  replay_item_t it;
  replay_refusal_t why = REPLAY_REFUSED_MALFORMED;
  int ok = l.env && replay_extract(l.env, k->key, m->key, m->key_len, 1, k->cfg->to, &it, &why,
                                   errstr, sizeof(errstr)) == 0;
  if (!l.env)
    snprintf(errstr, sizeof(errstr), "%s", l.bad);
  char code[64];
  snprintf(code, sizeof(code), "%s", error_code(l.env));
  json_decref(l.env);
  if (!ok) {
    count_refusal(&k->s, why);
    log_event(LOG_LEVEL_WARN, "refused",
              json_pack("{s:s,s:i,s:I,s:s}", "topic", k->cfg->topic, "partition", m->partition,
                        "offset", (json_int_t)m->offset, "reason", replay_refusal_name(why)),
              "%s refused: %s", where, errstr);
    int skip = k->cfg->skip_refused || !k->commit;
    if (ptrack_push(p, m->offset, skip ? PE_DONE : PE_BLOCKED) != 0)
      k->fatal = 1;
    if (skip)
      ptrack_advance(k, p);
    else
      halt_partition(k, p, m->offset, replay_refusal_name(why));
    return;
  }
  if (k->cfg->dry_run) {
    printf("would replay %s code=%s -> %s key=%s (%zu bytes, attempts %lld)\n", where, code,
           it.topic, it.key ? "original" : "none", it.payload_len, it.attempts);
    k->s.replayed++;
    replay_item_free(&it);
    return;
  }
  dr_ref_t *ref = malloc(sizeof(*ref)); /* freed by dr_cb */
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__NOENT;
  if (ref) {
    *ref = (dr_ref_t){m->partition, m->offset};
    err = ptrack_push(p, m->offset, PE_PENDING) == 0 ? produce_item(k, &it, ref)
                                                     : RD_KAFKA_RESP_ERR__NOENT;
  }
  if (err) {
    free(ref);
    k->s.failed++;
    log_error("produce_failed", "%s -> %s: %s", where, it.topic,
              ref ? rd_kafka_err2str(err) : "out of memory");
    pentry_t *e = ptrack_find(p, m->offset);
    if (e)
      e->state = PE_BLOCKED;
    halt_partition(k, p, m->offset, "produce failed");
  } else {
    k->inflight++;
  }
  replay_item_free(&it);
}

static int cmd_replay_kafka(const dlqr_config_t *cfg, const conf_result_t *res,
                            const dlq_key_t *key) {
  kreplay_t k = {.cfg = cfg, .key = key, .filter = {cfg->code, cfg->source_topic}};
  k.commit = !cfg->dry_run && !cfg->no_commit;
  const char *group = cfg->no_commit ? NULL : set_(cfg->group) ? cfg->group : DLQR_DEFAULT_GROUP;
  dlqr_kafka_opts_t o = kafka_opts(cfg, res);
  char errstr[1024], timeout[32];
  /* A replay to a topic that does not exist must fail within the run's
   * timeout, not librdkafka's 5-minute default; -X may still override it. */
  snprintf(timeout, sizeof(timeout), "%lld", (long long)cfg->timeout_ms);
  conf_kv_t *props = calloc(res->kafka_count + 1, sizeof(*props));
  if (!props) {
    log_error("out_of_memory", "cannot configure the producer");
    return 1;
  }
  props[0] = (conf_kv_t){"producer.message.timeout.ms", timeout};
  for (size_t i = 0; i < res->kafka_count; i++)
    props[i + 1] = res->kafka[i];
  dlqr_kafka_opts_t po = o;
  po.props = props;
  po.prop_count = res->kafka_count + 1;

  if (!(k.consumer = dlqr_kafka_consumer(&o, group, errstr, sizeof(errstr))) ||
      (!cfg->dry_run &&
       !(k.producer = dlqr_kafka_producer(&po, dr_cb, &k, errstr, sizeof(errstr)))) ||
      !(k.reader = dlqr_reader_open(k.consumer, cfg->topic, -1, -1, group != NULL, cfg->timeout_ms,
                                    errstr, sizeof(errstr)))) {
    log_error("replay_failed", "%s", errstr);
    k.fatal = 1;
    goto out;
  }
  k.npt = dlqr_reader_partitions(k.reader);
  if (!(k.pt = calloc((size_t)k.npt, sizeof(*k.pt)))) {
    k.fatal = 1;
    goto out;
  }
  for (int i = 0; i < k.npt; i++) {
    int64_t start, end;
    dlqr_reader_range(k.reader, i, &k.pt[i].partition, &start, &end);
    log_event(LOG_LEVEL_INFO, "range",
              json_pack("{s:s,s:i,s:I,s:I}", "topic", cfg->topic, "partition", k.pt[i].partition,
                        "from", (json_int_t)start, "to", (json_int_t)end),
              "%s [%d]: %lld letter(s) to read from offset %lld", cfg->topic, k.pt[i].partition,
              (long long)(end - start), (long long)start);
  }
  log_event(LOG_LEVEL_INFO, "started",
            json_pack("{s:s,s:s?,s:b,s:b}", "topic", cfg->topic, "group", group, "commit", k.commit,
                      "dry_run", cfg->dry_run),
            "replaying from %s", cfg->topic);

  while (!signals_stop && !k.fatal) {
    rd_kafka_message_t *m;
    int st = dlqr_reader_next(k.reader, &m, errstr, sizeof(errstr));
    if (k.producer)
      rd_kafka_poll(k.producer, 0);
    if (st == DLQR_READ_END)
      break;
    if (st == DLQR_READ_ERROR) {
      log_error("read_failed", "%s", errstr);
      k.fatal = 1;
      break;
    }
    if (st == DLQR_READ_MSG) {
      kreplay_letter(&k, m);
      rd_kafka_message_destroy(m);
    }
  }
  if (signals_stop)
    log_warn("interrupted", "stopping on signal: waiting for replays in flight, then committing");

out:
  if (k.producer) {
    /* Drain before committing: only acknowledged replays have stored offsets. */
    rd_kafka_flush(k.producer, (int)cfg->timeout_ms + 5000);
    if (k.inflight > 0) {
      log_error("drain_incomplete",
                "%zu replay(s) unacknowledged: their letters stay uncommitted and a rerun "
                "replays them again",
                k.inflight);
      /* Purged messages get their delivery report (an error) here, so dr_cb
       * counts them as failed and blocks their offsets. */
      rd_kafka_purge(k.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(k.producer, 1000);
      k.s.failed += k.inflight; /* reports that never came */
    }
  }
  if (k.commit && k.consumer && k.reader) {
    rd_kafka_resp_err_t err = rd_kafka_commit(k.consumer, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      log_error("commit_failed",
                "group %s: %s: the replays were delivered but not remembered; a rerun replays "
                "them again",
                group, rd_kafka_err2str(err));
      k.fatal = 1;
    }
  }
  dlqr_reader_destroy(k.reader);
  if (k.consumer) {
    rd_kafka_consumer_close(k.consumer);
    rd_kafka_destroy(k.consumer);
  }
  if (k.producer)
    rd_kafka_destroy(k.producer); /* after flush: any report left is dropped */
  for (int i = 0; i < k.npt; i++)
    free(k.pt[i].q);
  free(k.pt);
  free(props);
  if (fflush(stdout) != 0)
    k.fatal = 1;
  return summarize(&k.s, cfg->dry_run, k.fatal || signals_stop);
}

int dlqr_run(dlqr_command_t cmd, const dlqr_config_t *cfg, const conf_result_t *res,
             const dlq_key_t *key) {
  signals_install();
  switch (cmd) {
  case DLQR_LIST:
    return cmd_list(cfg, res);
  case DLQR_SHOW:
    return cmd_show(cfg, res, key);
  case DLQR_REPLAY:
    return set_(cfg->file) ? cmd_replay_file(cfg, key) : cmd_replay_kafka(cfg, res, key);
  }
  return 1;
}
