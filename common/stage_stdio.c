/* The --stdio transport: JSON lines in, JSON lines out, so every stage is a
 * Unix filter and golden tests need no broker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stage_internal.h"

/* Reads one line into buf (capacity cap, lines longer than cap are cut there
 * and the rest discarded). Returns the line's full length, or -1 at end of
 * input. *kept receives how many bytes are in buf. */
static long long read_line(FILE *in, char *buf, size_t cap, size_t *kept) {
  long long total = 0;
  size_t n = 0;
  int c;
  while ((c = getc_unlocked(in)) != EOF) {
    if (c == '\n') {
      *kept = n;
      return total;
    }
    if (n < cap)
      buf[n++] = (char)c;
    total++;
  }
  *kept = n;
  return total > 0 ? total : -1;
}

static int write_side(FILE *fp, const stage_item_t *it) {
  json_t *value = json_loadb(it->payload, it->len, 0, NULL);
  if (!value)
    value = json_stringn(it->payload, it->len);
  json_t *line = json_pack("{s:s,s:o?,s:o}", "topic", it->topic, "key",
                           it->key ? json_stringn(it->key, it->key_len) : NULL, "value", value);
  if (!line)
    return -1;
  int rc = json_dumpf(line, fp, JSON_COMPACT) == 0 && fputc('\n', fp) != EOF ? 0 : -1;
  json_decref(line);
  return rc;
}

int stage_run_stdio(stage_runtime_t *rt) {
  const stage_config_t *cfg = rt->cfg;
  if (!cfg->topic || !*cfg->topic || !cfg->dlq_file || !*cfg->dlq_file) {
    log_error("config", "--stdio needs --topic NAME and --dlq-file FILE");
    return 2;
  }
  FILE *dlq = fopen(cfg->dlq_file, "a");
  if (!dlq) {
    log_error("config", "cannot open dead-letter file %s: %s", cfg->dlq_file, strerror(errno));
    return 2;
  }
  FILE *side = NULL;
  if (cfg->side_file && *cfg->side_file && !(side = fopen(cfg->side_file, "a"))) {
    log_error("config", "cannot open side-output file %s: %s", cfg->side_file, strerror(errno));
    fclose(dlq);
    return 2;
  }
  size_t cap = (size_t)cfg->max_message_bytes + 1;
  char *buf = malloc(cap); /* owned here: one line at a time */
  if (!buf) {
    fclose(dlq);
    if (side)
      fclose(side);
    return 1;
  }
  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

  stage_result_t res = {0};
  stage_topic_metrics_t *in_tm = stage_metrics_for(rt, cfg->topic);
  int rc = 0;
  long long line_no = 0, full;
  size_t kept;
  while (!stage_stop_flag && (full = read_line(stdin, buf, cap, &kept)) >= 0) {
    line_no++;
    if (kept == 0 || strspn(buf, " \t\r") == kept)
      continue; /* blank lines are not messages */
    stage_msg_t msg = {cfg->topic, -1, line_no, NULL, 0, buf, kept, -1};
    double t0 = stage_now();
    stage_result_reset(&res);
    if (stage_handle(rt, &msg, (size_t)full, &res) != 0) {
      rc = 1;
      break;
    }
    rt->in++;
    if (in_tm && in_tm->in)
      metrics_counter_add(in_tm->in, 1);
    if (res.status == STAGE_RETRY) {
      /* No broker to come back to on stdio: a dependency outage is fatal here. */
      log_error("retry_unavailable", "line %lld needs a retry; stopping", line_no);
      rc = 1;
      break;
    }
    if (res.status == STAGE_DEAD_LETTER) {
      rt->dead++;
      if (in_tm && in_tm->dead)
        metrics_counter_add(in_tm->dead, 1);
      if (fwrite(res.dead, 1, res.dead_len, dlq) != res.dead_len || fputc('\n', dlq) == EOF) {
        rc = 1;
        break;
      }
      continue;
    }
    for (size_t i = 0; i < res.out.count; i++) {
      const stage_item_t *it = &res.out.items[i];
      int werr = 0;
      if (it->kind == STAGE_OUTPUT_PRIMARY)
        werr = fwrite(it->payload, 1, it->len, stdout) != it->len || putchar('\n') == EOF;
      else if (side)
        werr = write_side(side, it) != 0;
      if (werr) {
        log_error("write_failed", "cannot write output: %s", strerror(errno));
        rc = 1;
        break;
      }
      rt->out++;
      stage_topic_metrics_t *otm = stage_metrics_for(rt, it->topic);
      if (otm && otm->out)
        metrics_counter_add(otm->out, 1);
    }
    if (in_tm && in_tm->latency)
      metrics_histogram_observe(in_tm->latency, stage_now() - t0);
    if (rc)
      break;
  }
  stage_result_free(&res);
  free(buf);
  if (fflush(stdout) != 0 || fclose(dlq) != 0 || (side && fclose(side) != 0))
    rc = rc ? rc : 1;
  return rc;
}
