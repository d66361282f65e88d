/* The --stdio transport: JSON lines in, JSON lines out, so every stage is a
 * Unix filter and golden tests need no broker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "stage/stage_internal.h"

/* A line buffer that grows as needed up to a cap: memory follows the lines
 * actually seen, not the configured maximum. */
typedef struct line {
  char *data;
  size_t len, cap; /* bytes kept, bytes allocated */
  long long full;  /* the line's whole length (more than len when cut) */
  long long no;    /* line number */
} line_t;

/* Input is read in large blocks and split with memchr: per-byte reads cost
 * more than the rest of a simple stage. */
typedef struct reader {
  FILE *in;
  char buf[1 << 16];
  size_t pos, end;
  int eof;
} reader_t;

static int reader_fill(reader_t *r) {
  if (r->eof)
    return -1;
  r->pos = 0;
  r->end = fread(r->buf, 1, sizeof(r->buf), r->in);
  if (r->end == 0) {
    r->eof = 1;
    return -1;
  }
  return 0;
}

/* Appends n bytes to the line, keeping at most limit bytes in total. */
static int line_append(line_t *l, const char *p, size_t n, size_t limit) {
  if (l->len + n > limit)
    n = limit - l->len;
  if (n == 0)
    return 0;
  if (l->len + n > l->cap) {
    size_t cap = l->cap ? l->cap : 4096;
    while (cap < l->len + n)
      cap *= 2;
    if (cap > limit)
      cap = limit;
    char *grown = realloc(l->data, cap);
    if (!grown)
      return -1;
    l->data = grown;
    l->cap = cap;
  }
  memcpy(l->data + l->len, p, n);
  l->len += n;
  return 0;
}

/* Reads one line (without its newline) into l, keeping at most limit bytes
 * and discarding the rest. Returns 0, or -1 at end of input (or on no memory). */
static int read_line(reader_t *r, line_t *l, size_t limit) {
  long long total = 0;
  l->len = 0;
  for (;;) {
    if (r->pos == r->end && reader_fill(r) != 0)
      break;
    const char *start = r->buf + r->pos;
    size_t avail = r->end - r->pos;
    const char *nl = memchr(start, '\n', avail);
    size_t n = nl ? (size_t)(nl - start) : avail;
    if (line_append(l, start, n, limit) != 0)
      return -1;
    total += (long long)n;
    r->pos += n;
    if (nl) {
      r->pos++; /* the newline */
      l->full = total;
      return 0;
    }
  }
  l->full = total;
  return total == 0 ? -1 : 0;
}

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
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

/* Writes one dead letter to the dead-letter file. Returns 0 or 1 (fatal). */
static int write_dead(stage_runtime_t *rt, FILE *dlq, stage_topic_metrics_t *in_tm,
                      const stage_result_t *res) {
  rt->dead++;
  if (in_tm)
    metrics_counter_add(in_tm->dead, 1);
  if (fwrite(res->dead, 1, res->dead_len, dlq) != res->dead_len || fputc('\n', dlq) == EOF) {
    log_error("write_failed", "cannot write dead letter: %s", strerror(errno));
    return 1;
  }
  return 0;
}

/* Writes one message's result where it belongs. Returns 0 or 1 (fatal). */
static int deliver(stage_runtime_t *rt, FILE *side, FILE *dlq, stage_topic_metrics_t *in_tm,
                   const stage_msg_t *msg, const stage_result_t *res) {
  rt->in++;
  if (in_tm && in_tm->in)
    metrics_counter_add(in_tm->in, 1);
  if (res->status == STAGE_RETRY) {
    /* No broker to come back to on stdio: a dependency outage is fatal here. */
    log_error("retry_unavailable", "line %lld needs a retry; stopping", (long long)msg->offset);
    return 1;
  }
  if (res->status == STAGE_DEAD_LETTER)
    return write_dead(rt, dlq, in_tm, res);
  for (size_t i = 0; i < res->out.count; i++) {
    const stage_item_t *it = &res->out.items[i];
    int werr = 0;
    if ((it->kind & STAGE_OUTPUT_KIND_MASK) == STAGE_OUTPUT_PRIMARY)
      werr = fwrite(it->payload, 1, it->len, stdout) != it->len || putchar('\n') == EOF;
    else if (side)
      werr = write_side(side, it) != 0;
    if (werr) {
      log_error("write_failed", "cannot write output: %s", strerror(errno));
      return 1;
    }
    rt->out++;
    stage_topic_metrics_t *otm = rt->opts->metrics ? stage_metrics_for(rt, it->topic) : NULL;
    if (otm && otm->out)
      metrics_counter_add(otm->out, 1);
  }
  return 0;
}

typedef struct stdio_sink {
  stage_runtime_t *rt;
  FILE *dlq;
  stage_topic_metrics_t *in_tm;
} stdio_sink_t;

/* stage_sink_reject() on stdio: the dead letter is written and flushed. */
static int sink_reject(void *transport, void *tag, stage_result_t *res) {
  (void)tag;
  stdio_sink_t *s = transport;
  return write_dead(s->rt, s->dlq, s->in_tm, res) == 0 && fflush(s->dlq) == 0 ? 0 : -1;
}

/* Sink mode on stdio: the lines' records go to the store in batches (the
 * line buffers live until their batch is written); rejected and invalid
 * records go to the dead-letter file. A store that cannot take a batch is
 * retried with back-off until it does or a stop is requested (then exit 1:
 * the file was not loaded completely). Nothing goes to stdout. */
static int run_sink(stage_runtime_t *rt, FILE *dlq, reader_t *reader) {
  const stage_config_t *cfg = rt->cfg;
  size_t cap = sink_batch_capacity(rt->opts->sink);
  stdio_sink_t transport = {.rt = rt, .dlq = dlq, .in_tm = stage_metrics_for(rt, cfg->topic)};
  sink_batch_t *b = sink_batch_new(rt, sink_reject, &transport);
  line_t *lines = calloc(cap, sizeof(*lines)); /* one per batch slot; owned here */
  stage_msg_t *msgs = calloc(cap, sizeof(*msgs));
  stage_topic_metrics_t *in_tm = stage_metrics_for(rt, cfg->topic);
  stage_result_t res = {0};
  int rc = b && lines && msgs ? 0 : 1, eof = 0;
  long long line_no = 0;
  size_t slot = 0; /* next free line buffer: records in the batch use 0..slot-1 */
  while (!rc && !signals_stop) {
    const char *reason = sink_batch_full(b);
    if (!reason && eof)
      reason = "eof";
    if (reason && sink_batch_count(b)) {
      double backoff = 0.1;
      int w;
      while ((w = sink_batch_write(rt, b, reason)) == STAGE_RETRY && !signals_stop) {
        log_warn("store_unavailable", "the store did not take a batch of %zu; retrying in %.1f s",
                 sink_batch_count(b), backoff);
        struct timespec pause = {(time_t)backoff, (long)((backoff - (time_t)backoff) * 1e9)};
        nanosleep(&pause, NULL);
        backoff = backoff * 2 > 5 ? 5 : backoff * 2;
      }
      if (w != STAGE_OK) {
        log_error(w == STAGE_FATAL ? "store_failed" : "stopped", "%zu records not written",
                  sink_batch_count(b));
        rc = 1;
        break;
      }
      for (size_t i = 0; i < sink_batch_count(b); i++)
        rt->out += !sink_batch_rejected(b, i);
      sink_batch_clear(b);
      slot = 0;
    }
    if (eof)
      break;
    line_t *l = &lines[slot];
    if (read_line(reader, l, (size_t)cfg->max_message_bytes + 1) != 0) {
      eof = 1;
      continue;
    }
    l->no = ++line_no;
    if (is_blank(l->data, l->len))
      continue; /* blank lines are not messages */
    rt->in++;
    if (in_tm)
      metrics_counter_add(in_tm->in, 1);
    msgs[slot] = (stage_msg_t){.topic = cfg->topic,
                               .partition = -1,
                               .offset = l->no,
                               .payload = l->data ? l->data : "",
                               .len = l->len,
                               .timestamp_ms = -1};
    stage_result_reset(&res);
    int added = sink_batch_add(rt, b, &msgs[slot], (size_t)l->full, NULL, &res);
    if (added < 0)
      rc = 1;
    else if (added == 0)
      rc = write_dead(rt, dlq, in_tm, &res);
    else
      slot++;
  }
  if (signals_stop && !rc && sink_batch_count(b)) {
    log_error("stopped", "%zu records not written", sink_batch_count(b));
    rc = 1;
  }
  stage_result_free(&res);
  sink_batch_destroy(b);
  for (size_t i = 0; lines && i < cap; i++)
    free(lines[i].data);
  free(lines);
  free(msgs);
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
  if (rt->opts->sink) {
    static reader_t sink_reader;
    sink_reader.in = stdin;
    int rc = run_sink(rt, dlq, &sink_reader);
    if (fclose(dlq) != 0 || (side && fclose(side) != 0))
      rc = rc ? rc : 1;
    return rc;
  }
  size_t batch = stage_batch_size(rt);
  line_t *lines = calloc(batch, sizeof(*lines)); /* owned here */
  stage_msg_t *msgs = calloc(batch, sizeof(*msgs));
  size_t *full = calloc(batch, sizeof(*full));
  stage_result_t *res = calloc(batch, sizeof(*res));
  static reader_t reader;
  reader.in = stdin;
  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

  stage_topic_metrics_t *in_tm = stage_metrics_for(rt, cfg->topic);
  int rc = lines && msgs && full && res ? 0 : 1, eof = 0;
  long long line_no = 0;
  while (!rc && !eof && !signals_stop) {
    size_t n = 0;
    while (n < batch) {
      line_t *l = &lines[n];
      if (read_line(&reader, l, (size_t)cfg->max_message_bytes + 1) != 0) {
        eof = 1;
        break;
      }
      l->no = ++line_no;
      if (is_blank(l->data, l->len))
        continue; /* blank lines are not messages */
      msgs[n] = (stage_msg_t){cfg->topic, -1, l->no, NULL, 0, l->data, l->len, -1, 0, NULL};
      full[n] = (size_t)l->full;
      n++;
    }
    if (n == 0)
      break;
    double t0 = in_tm && in_tm->latency ? clock_mono() : 0;
    for (size_t i = 0; i < n; i++)
      stage_result_reset(&res[i]);
    if (stage_handle_batch(rt, msgs, full, n, res) != 0) {
      rc = 1;
      break;
    }
    for (size_t i = 0; i < n && !rc; i++)
      rc = deliver(rt, side, dlq, in_tm, &msgs[i], &res[i]);
    if (in_tm && in_tm->latency)
      for (size_t i = 0; i < n; i++)
        metrics_histogram_observe(in_tm->latency, clock_mono() - t0);
  }
  for (size_t i = 0; lines && i < batch; i++)
    free(lines[i].data);
  for (size_t i = 0; res && i < batch; i++)
    stage_result_free(&res[i]);
  free(lines);
  free(msgs);
  free(full);
  free(res);
  if (fflush(stdout) != 0 || fclose(dlq) != 0 || (side && fclose(side) != 0))
    rc = rc ? rc : 1;
  return rc;
}
