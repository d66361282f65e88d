/* replay_list — the list command: one line per dead letter (or one JSON
 * object with --json), never a payload or a key, so its output is safe to
 * paste into a ticket. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "replay_cmd.h"
#include "replay_source.h"

typedef struct list_ctx {
  const replay_config_t *cfg;
  replay_filter_t filter;
  uint64_t listed, at_max, skipped, bad;
  int write_failed;
} list_ctx_t;

/* The JSON form: the envelope without its payload, plus whether replay
 * would refuse it for its attempts. */
static char *json_line(const replay_letter_t *l, int at_max) {
  json_t *meta = replay_envelope_meta(l->env, l->where);
  char *line = NULL;
  if (meta && json_object_set_new(meta, "max_attempts_reached", json_boolean(at_max)) == 0)
    line = json_dumps(meta, JSON_COMPACT);
  json_decref(meta);
  return line;
}

static int list_visit(void *vctx, replay_letter_t *l) {
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
  int at_max = replay_at_max_attempts(l->env, c->cfg->max_attempts);
  char *line = c->cfg->json ? json_line(l, at_max)
                            : replay_list_line(l->env, l->where, c->cfg->max_attempts);
  if (!line || printf("%s\n", line) < 0)
    c->write_failed = 1;
  free(line);
  c->listed++;
  c->at_max += (uint64_t)at_max;
  return c->write_failed || (c->cfg->limit > 0 && c->listed >= (uint64_t)c->cfg->limit);
}

int replay_list(const replay_config_t *cfg, const conf_result_t *res) {
  list_ctx_t c = {.cfg = cfg, .filter = {cfg->code, cfg->source_topic}};
  char errstr[1024];
  int rc = replay_source_each(cfg, res, list_visit, &c, errstr, sizeof(errstr));
  if (fflush(stdout) != 0)
    c.write_failed = 1;
  if (rc != 0)
    log_error("list_failed", "%s", errstr);
  if (c.write_failed)
    log_error("write_failed", "cannot write to stdout");
  log_event(LOG_LEVEL_INFO, "summary",
            json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "command", "list", "listed",
                      (json_int_t)c.listed, "at_max_attempts", (json_int_t)c.at_max, "max_attempts",
                      (json_int_t)cfg->max_attempts, "skipped_by_filter", (json_int_t)c.skipped,
                      "malformed", (json_int_t)c.bad),
            "listed %" PRIu64 " dead letters", c.listed);
  fprintf(stderr,
          "dlq-replay: listed %" PRIu64 " dead letter(s) (%" PRIu64 " at max attempts %" PRId64
          "), %" PRIu64 " skipped by filter, %" PRIu64 " malformed\n",
          c.listed, c.at_max, cfg->max_attempts, c.skipped, c.bad);
  return rc != 0 || c.write_failed || c.bad ? 1 : 0;
}
