/* replay_source — walks the letters of a dead-letter topic or file for a
 * visitor (see replay_source.h). Lines and messages are parsed here, so a
 * visitor sees an envelope or the reason there is none. */
#include "replay_source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/signals.h"
#include "replay_kafka.h"

/* A file line can hold an envelope of the largest input a stage accepts
 * (64 MiB) in base64 with room for the fields; longer lines are refused. */
#define REPLAY_MAX_LINE ((size_t)96 * 1024 * 1024)

/* Calls fn for every envelope line of path ("-": stdin), or only line `only`
 * when only > 0. Returns 0, or -1 with errstr when the file cannot be read. */
static int each_file(const char *path, int64_t only, replay_visit_fn fn, void *ctx, char *errstr,
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
    snprintf(where, sizeof(where), "%s:%" PRId64, path, lineno);
    replay_letter_t l;
    if ((size_t)n > REPLAY_MAX_LINE) {
      l = (replay_letter_t){.where = where};
      snprintf(l.bad, sizeof(l.bad), "line longer than %zu bytes", REPLAY_MAX_LINE);
    } else {
      replay_letter_parse(&l, where, line, (size_t)n);
    }
    int stop = fn(ctx, &l);
    replay_letter_clear(&l);
    if (stop || only > 0)
      break;
  }
  if (ferror(f)) {
    snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
    rc = -1;
  } else if (signals_stop) {
    snprintf(errstr, errstr_size, "interrupted");
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

/* Calls fn for every letter of the topic from the low to the high watermark
 * (or the one letter at partition/offset), with no group. */
static int each_kafka(const replay_config_t *cfg, const conf_result_t *res, replay_visit_fn fn,
                      void *ctx, char *errstr, size_t errstr_size) {
  replay_kafka_opts_t o = replay_config_kafka(cfg, res);
  rd_kafka_t *rk = replay_kafka_consumer(&o, NULL, errstr, errstr_size);
  if (!rk)
    return -1;
  int rc = -1;
  replay_reader_t *r = replay_reader_open(rk, cfg->topic, (int32_t)cfg->partition, cfg->offset, 0,
                                          cfg->timeout_ms, errstr, errstr_size);
  if (!r)
    goto out;
  for (;;) {
    if (signals_stop) {
      snprintf(errstr, errstr_size, "interrupted");
      goto out;
    }
    rd_kafka_message_t *m;
    int st = replay_reader_next(r, &m, errstr, errstr_size);
    if (st == REPLAY_READ_ERROR)
      goto out;
    if (st == REPLAY_READ_END)
      break;
    if (st != REPLAY_READ_MSG)
      continue;
    char where[512];
    snprintf(where, sizeof(where), "%s/%" PRId32 "@%" PRId64, cfg->topic, m->partition, m->offset);
    replay_letter_t l;
    replay_letter_parse(&l, where, m->payload, m->len);
    int stop = fn(ctx, &l);
    replay_letter_clear(&l);
    rd_kafka_message_destroy(m);
    if (stop)
      break;
  }
  rc = 0;
out:
  replay_reader_destroy(r);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}

int replay_source_each(const replay_config_t *cfg, const conf_result_t *res, replay_visit_fn fn,
                       void *ctx, char *errstr, size_t errstr_size) {
  return replay_config_set(cfg->file)
             ? each_file(cfg->file, cfg->offset, fn, ctx, errstr, errstr_size)
             : each_kafka(cfg, res, fn, ctx, errstr, errstr_size);
}
