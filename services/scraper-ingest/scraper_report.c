/* Summary log lines and run metrics of scraper-ingest. */
#include "scraper_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/http_client.h"

const char *scr_status_name(scr_status_t s) {
  switch (s) {
  case SCR_SRC_OK:
    return "ok";
  case SCR_SRC_LOCKED:
    return "locked";
  case SCR_SRC_CONFIG:
    return "config_error";
  case SCR_SRC_UNREACHABLE:
    return "unreachable";
  case SCR_SRC_PARTIAL:
    return "partial";
  case SCR_SRC_KAFKA:
    return "kafka_error";
  case SCR_SRC_STATE:
    return "state_error";
  }
  return "unknown";
}

void scr_report_log(const scr_stats_t *st) {
  json_t *f =
      json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:f}", "source", st->source, "status",
                scr_status_name(st->status), "fetched", (json_int_t)st->fetched, "produced",
                (json_int_t)st->produced, "dead_lettered", (json_int_t)st->dead, "pages",
                (json_int_t)st->pages, "http_requests", (json_int_t)st->http_requests,
                "http_retries", (json_int_t)st->http_retries, "cursor_before", st->cursor_before,
                "cursor_after", st->cursor_after, "duration_s", st->duration);
  if (f && st->restarts)
    json_object_set_new(f, "restarts", json_integer((json_int_t)st->restarts));
  if (f && st->error[0])
    json_object_set_new(f, "error", json_string(st->error));
  log_level_t level = st->status == SCR_SRC_OK       ? LOG_LEVEL_INFO
                      : st->status == SCR_SRC_LOCKED ? LOG_LEVEL_WARN
                                                     : LOG_LEVEL_ERROR;
  log_event(level, "source_summary", f, "%s: %s", st->source, scr_status_name(st->status));
}

void scr_report_metrics(metrics_t *m, const scr_stats_t *st) {
  const char *s = st->source;
  metrics_counter_add(
      metrics_counter(m, "records_fetched_total", "records read from the source", "source", s),
      st->fetched);
  metrics_counter_add(metrics_counter(m, "records_produced_total",
                                      "records acknowledged by Kafka (or written with --stdio)",
                                      "source", s),
                      st->produced);
  metrics_counter_add(metrics_counter(m, "records_dead_lettered_total",
                                      "records sent to the dead-letter topic", "source", s),
                      st->dead);
  metrics_counter_add(
      metrics_counter(m, "pages_total", "pages (or file batches) checkpointed", "source", s),
      st->pages);
  metrics_counter_add(metrics_counter(m, "http_requests_total", "HTTP requests sent", "source", s),
                      st->http_requests);
  metrics_counter_add(metrics_counter(m, "http_retries_total",
                                      "HTTP requests retried (429, 5xx, transport)", "source", s),
                      st->http_retries);
  metrics_counter_add(metrics_counter(m, "http_throttled_total", "HTTP 429 answers", "source", s),
                      st->http_throttled);
  metrics_gauge_set(metrics_gauge(m, "source_success",
                                  "1 when the source's last run ended ok (or was skipped: "
                                  "locked by a concurrent run), else 0",
                                  "source", s),
                    st->status == SCR_SRC_OK || st->status == SCR_SRC_LOCKED ? 1 : 0);
  metrics_gauge_set(
      metrics_gauge(m, "source_duration_seconds", "duration of the source's run", "source", s),
      st->duration);
}

void scr_report_run(metrics_t *m, int exit_code, double duration) {
  metrics_gauge_set(metrics_gauge(m, "exit_code", "exit code of the last run", NULL, NULL),
                    exit_code);
  metrics_gauge_set(
      metrics_gauge(m, "last_run_timestamp_seconds", "UNIX time the last run ended", NULL, NULL),
      (double)time(NULL));
  metrics_gauge_set(
      metrics_gauge(m, "run_duration_seconds", "duration of the last run", NULL, NULL), duration);
}

int scr_report_write_file(metrics_t *m, const char *path, char *errstr, size_t errstr_size) {
  char *text = metrics_render(m);
  if (!text) {
    snprintf(errstr, errstr_size, "cannot render metrics");
    return -1;
  }
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
  FILE *fp = fopen(tmp, "w");
  int rc = -1;
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
  } else {
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, fp) == n;
    ok = (fclose(fp) == 0) && ok;
    if (!ok) {
      snprintf(errstr, errstr_size, "%s: write failed", tmp);
      unlink(tmp);
    } else if (rename(tmp, path) != 0) {
      snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
      unlink(tmp);
    } else {
      rc = 0;
    }
  }
  free(text);
  return rc;
}

int scr_report_push(metrics_t *m, const char *url, const char *group, long timeout_ms, char *errstr,
                    size_t errstr_size) {
  char *text = metrics_render(m);
  if (!text) {
    snprintf(errstr, errstr_size, "cannot render metrics");
    return -1;
  }
  char esc[512], target[2048];
  if (http_url_escape(group, esc, sizeof(esc)) != 0 ||
      (size_t)snprintf(target, sizeof(target), "%s/metrics/job/scraper-ingest/run/%s", url, esc) >=
          sizeof(target)) {
    free(text);
    snprintf(errstr, errstr_size, "pushgateway URL too long");
    return -1;
  }
  http_client_opts_t o = {.timeout_ms = timeout_ms,
                          .connect_timeout_ms = timeout_ms,
                          .retries = 2,
                          .backoff_ms = 500,
                          .backoff_max_ms = 2000,
                          .retry_after_max_s = 5,
                          .max_body = 1 << 20};
  http_client_t *h = http_client_new(&o, errstr, errstr_size);
  int rc = -1;
  if (h) {
    static const char *const hdr[] = {"Content-Type: text/plain; version=0.0.4", NULL};
    http_resp_t resp;
    rc = http_client_request(h, "PUT", target, hdr, text, &resp, errstr, errstr_size) == 0 ? 0 : -1;
    http_resp_free(&resp);
    http_client_destroy(h);
  }
  free(text);
  return rc;
}

/* Worst outcome wins; a skipped (locked) source is not a failure. */
int scr_exit_code(const scr_stats_t *st, size_t n) {
  int any_ok = 0, unreachable = 0, partial = 0, kafka = 0, state = 0;
  for (size_t i = 0; i < n; i++) {
    switch (st[i].status) {
    case SCR_SRC_OK:
    case SCR_SRC_LOCKED:
      any_ok = 1;
      break;
    case SCR_SRC_UNREACHABLE:
      unreachable = 1;
      break;
    case SCR_SRC_CONFIG:
    case SCR_SRC_PARTIAL:
      partial = 1;
      break;
    case SCR_SRC_KAFKA:
      kafka = 1;
      break;
    case SCR_SRC_STATE:
      state = 1;
      break;
    }
  }
  if (kafka)
    return EXIT_KAFKA;
  if (state)
    return EXIT_STATE;
  if (unreachable && !any_ok && !partial)
    return EXIT_UNREACHABLE;
  if (unreachable || partial)
    return EXIT_PARTIAL;
  return EXIT_OK;
}
