/* Unit tests for common/net/metrics.c: exposition text, atomics under contention,
 * readiness conditions, and the HTTP endpoints (on metrics_serve's server and on
 * a program's own) fetched with a plain socket client. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "net/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Asserts that the rendered text contains line as a whole line. */
static void assert_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
    if ((p == text || p[-1] == '\n') && p[n] == '\n')
      return;
  }
  fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static size_t count_substr(const char *text, const char *needle) {
  size_t c = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    c++;
  return c;
}

static void test_counter_gauge(void **state) {
  (void)state;
  metrics_t *m = metrics_new("privacy-shield");
  metrics_counter_t *in = metrics_counter(m, "messages_in_total", "Messages consumed.", "topic",
                                          "source.market.shopify");
  metrics_counter_t *in2 =
      metrics_counter(m, "messages_in_total", "ignored", "topic", "source.market.daraz");
  metrics_counter_t *errs = metrics_counter(m, "errors_total", "Errors.", NULL, NULL);
  metrics_gauge_t *lag = metrics_gauge(m, "consumer_lag", "Lag.", NULL, NULL);
  metrics_gauge_t *temp = metrics_gauge(m, "ratio", "Ratio.", "kind", "a");
  assert_non_null(in);
  assert_non_null(in2);
  assert_non_null(errs);
  assert_non_null(lag);
  /* same arguments, same series */
  assert_ptr_equal(in,
                   metrics_counter(m, "messages_in_total", NULL, "topic", "source.market.shopify"));
  /* a name is one type only; label names must be valid */
  assert_null(metrics_gauge(m, "messages_in_total", "x", NULL, NULL));
  assert_null(metrics_counter(m, "bad-name", "x", NULL, NULL));
  assert_null(metrics_counter(m, "ok_total", "x", "bad-label", "v"));
  assert_null(metrics_counter(m, "ok_total", "x", "label", NULL));

  metrics_counter_add(in, 3);
  metrics_counter_add(in, 4);
  metrics_counter_add(in2, 1);
  metrics_gauge_set(lag, 12345);
  metrics_gauge_set(temp, 0.1);
  metrics_gauge_set(temp, -2.5);
  char *text = metrics_render(m);
  assert_non_null(text);
  assert_line(text, "# HELP privacy_shield_messages_in_total Messages consumed.");
  assert_line(text, "# TYPE privacy_shield_messages_in_total counter");
  assert_line(text, "privacy_shield_messages_in_total{topic=\"source.market.shopify\"} 7");
  assert_line(text, "privacy_shield_messages_in_total{topic=\"source.market.daraz\"} 1");
  assert_line(text, "privacy_shield_errors_total 0");
  assert_line(text, "# TYPE privacy_shield_consumer_lag gauge");
  assert_line(text, "privacy_shield_consumer_lag 12345");
  assert_line(text, "privacy_shield_ratio{kind=\"a\"} -2.5");
  assert_int_equal(count_substr(text, "# TYPE privacy_shield_messages_in_total"), 1);
  /* the two series of one family are adjacent, right after its TYPE line */
  const char *type = strstr(text, "# TYPE privacy_shield_messages_in_total counter\n");
  const char *expect = "# TYPE privacy_shield_messages_in_total counter\n"
                       "privacy_shield_messages_in_total{topic=\"source.market.shopify\"} 7\n"
                       "privacy_shield_messages_in_total{topic=\"source.market.daraz\"} 1\n";
  assert_memory_equal(type, expect, strlen(expect));
  free(text);

  metrics_gauge_set(temp, 0.1);
  text = metrics_render(m);
  assert_line(text, "privacy_shield_ratio{kind=\"a\"} 0.1");
  free(text);
  metrics_destroy(m);
  metrics_destroy(NULL);
}

static void test_histogram(void **state) {
  (void)state;
  metrics_t *m = metrics_new("risk-svc");
  metrics_histogram_t *h = metrics_histogram(m, "request_seconds", "Latency.", "route", "score");
  assert_non_null(h);
  assert_null(metrics_histogram(m, "other_seconds", "x", "le", "1"));
  metrics_histogram_observe(h, 0.00005); /* first bucket */
  metrics_histogram_observe(h, 0.001);   /* bounds are inclusive: le="0.001" */
  metrics_histogram_observe(h, 0.3);
  metrics_histogram_observe(h, 20); /* only +Inf */
  char *text = metrics_render(m);
  assert_line(text, "# TYPE risk_svc_request_seconds histogram");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.0001\"} 1");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.00025\"} 1");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.0005\"} 1");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.001\"} 2");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.25\"} 2");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"0.5\"} 3");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"1\"} 3");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"2.5\"} 3");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"10\"} 3");
  assert_line(text, "risk_svc_request_seconds_bucket{route=\"score\",le=\"+Inf\"} 4");
  assert_line(text, "risk_svc_request_seconds_sum{route=\"score\"} 20.30105");
  assert_line(text, "risk_svc_request_seconds_count{route=\"score\"} 4");
  assert_int_equal(count_substr(text, "_bucket{"), 17);
  free(text);

  metrics_histogram_t *plain = metrics_histogram(m, "poll_seconds", "Poll.", NULL, NULL);
  text = metrics_render(m);
  assert_line(text, "risk_svc_poll_seconds_bucket{le=\"+Inf\"} 0");
  assert_line(text, "risk_svc_poll_seconds_sum 0");
  assert_line(text, "risk_svc_poll_seconds_count 0");
  free(text);
  (void)plain;
  metrics_destroy(m);
}

/* Several labels per series: per partition, per route and status. */
static void test_label_sets(void **state) {
  (void)state;
  metrics_t *m = metrics_new("privacy-shield");
  const char *const p0[] = {"topic", "clean.social", "partition", "0", NULL};
  const char *const p1[] = {"topic", "clean.social", "partition", "1", NULL};
  metrics_gauge_t *g0 = metrics_gauge_labels(m, "consumer_lag", "Lag.", p0);
  metrics_gauge_t *g1 = metrics_gauge_labels(m, "consumer_lag", "Lag.", p1);
  assert_non_null(g0);
  assert_ptr_not_equal(g0, g1);
  assert_ptr_equal(g0, metrics_gauge_labels(m, "consumer_lag", "Lag.", p0)); /* same series */
  metrics_gauge_set(g0, 7);
  metrics_gauge_set(g1, 0);
  const char *const rs[] = {"route", "/api/v1/risk-score", "status", "200", NULL};
  metrics_histogram_t *h = metrics_histogram_labels(m, "request_seconds", "Latency.", rs);
  metrics_histogram_observe(h, 0.002);
  /* The single-pair form and a one-pair list are one series. */
  metrics_counter_t *c = metrics_counter(m, "in_total", "In.", "topic", "a");
  const char *const a[] = {"topic", "a", NULL};
  assert_ptr_equal(c, metrics_counter_labels(m, "in_total", "In.", a));
  /* Refused: repeated, reserved and invalid names, a missing value, too many pairs. */
  const char *const dup[] = {"topic", "a", "topic", "b", NULL};
  const char *const le[] = {"status", "200", "le", "1", NULL};
  const char *const bad[] = {"9x", "a", NULL};
  const char *const novalue[] = {"topic", NULL};
  const char *const five[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL};
  assert_null(metrics_counter_labels(m, "x_total", "x", dup));
  assert_null(metrics_histogram_labels(m, "y_seconds", "y", le));
  assert_null(metrics_counter_labels(m, "x_total", "x", bad));
  assert_null(metrics_counter_labels(m, "x_total", "x", novalue));
  assert_null(metrics_counter_labels(m, "x_total", "x", five));
  assert_null(metrics_counter(m, "x_total", "x", NULL, "only-a-value"));
  char *text = metrics_render(m);
  assert_line(text, "privacy_shield_consumer_lag{topic=\"clean.social\",partition=\"0\"} 7");
  assert_line(text, "privacy_shield_consumer_lag{topic=\"clean.social\",partition=\"1\"} 0");
  assert_line(text, "privacy_shield_request_seconds_bucket{route=\"/api/v1/risk-score\","
                    "status=\"200\",le=\"0.0025\"} 1");
  assert_line(text, "privacy_shield_request_seconds_count{route=\"/api/v1/risk-score\","
                    "status=\"200\"} 1");
  assert_int_equal(count_substr(text, "# TYPE privacy_shield_consumer_lag gauge"), 1);
  free(text);
  metrics_destroy(m);
}

static void test_escaping(void **state) {
  (void)state;
  metrics_t *m = metrics_new("svc");
  metrics_counter_t *c =
      metrics_counter(m, "odd_total", "Help with \\ and\nnewline.", "v", "a\"b\\c\nd");
  metrics_counter_add(c, 1);
  char *text = metrics_render(m);
  assert_line(text, "# HELP svc_odd_total Help with \\\\ and\\nnewline.");
  assert_line(text, "svc_odd_total{v=\"a\\\"b\\\\c\\nd\"} 1");
  free(text);
  metrics_destroy(m);
}

#define THREADS 4
#define ITER 100000

struct worker {
  metrics_t *m;
  metrics_counter_t *c;
  metrics_histogram_t *h;
};

static void *work(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < ITER; i++) {
    metrics_counter_add(w->c, 1);
    metrics_histogram_observe(w->h, 0.5);
    if (i % 10000 == 0) /* registration of the same series races updates */
      metrics_counter_add(metrics_counter(w->m, "hits_total", "Hits.", NULL, NULL), 0);
  }
  return NULL;
}

static void test_concurrency(void **state) {
  (void)state;
  metrics_t *m = metrics_new("svc");
  struct worker w = {m, metrics_counter(m, "hits_total", "Hits.", NULL, NULL),
                     metrics_histogram(m, "op_seconds", "Op.", NULL, NULL)};
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, work, &w), 0);
  for (int i = 0; i < THREADS; i++) {
    char *text = metrics_render(m); /* scrape while writers run */
    free(text);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  char *text = metrics_render(m);
  assert_line(text, "svc_hits_total 400000");
  assert_line(text, "svc_op_seconds_count 400000");
  assert_line(text, "svc_op_seconds_sum 200000"); /* 0.5 sums exactly: no lost CAS */
  assert_line(text, "svc_op_seconds_bucket{le=\"0.25\"} 0");
  assert_line(text, "svc_op_seconds_bucket{le=\"0.5\"} 400000");
  free(text);
  metrics_destroy(m);
}

/* ---- HTTP --------------------------------------------------------------- */

/* Sends a raw request to 127.0.0.1:port and returns the whole response. */
static char *http(int port, const char *method, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  char req[256];
  int n = snprintf(req, sizeof(req),
                   "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path);
  assert_int_equal(send(fd, req, (size_t)n, 0), n);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while ((r = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
    len += (size_t)r;
    assert_true(len < cap - 1);
  }
  buf[len] = '\0';
  close(fd);
  return buf;
}

static void expect_status(const char *resp, const char *status, const char *body) {
  if (strncmp(resp, status, strlen(status)) != 0)
    fail_msg("want \"%s\", got:\n%s", status, resp);
  if (body) {
    const char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    assert_string_equal(b + 4, body);
  }
}

/* One request; asserts its status line prefix and (unless NULL) its body. */
static void expect_http(int port, const char *method, const char *path, const char *status,
                        const char *body) {
  char *r = http(port, method, path);
  expect_status(r, status, body);
  free(r);
}

static void test_http(void **state) {
  (void)state;
  char err[256];
  metrics_t *m = metrics_new("enricher");
  assert_int_equal(metrics_port(m), -1);
  metrics_counter_add(metrics_counter(m, "messages_out_total", "Out.", "topic", "enriched.social"),
                      5);
  assert_int_equal(metrics_serve(m, "127.0.0.1:0", err, sizeof(err)), 0);
  int port = metrics_port(m);
  assert_true(port > 0 && port < 65536);
  assert_int_equal(metrics_serve(m, "127.0.0.1:0", err, sizeof(err)), -1);

  char *r = http(port, "GET", "/metrics");
  expect_status(r, "HTTP/1.1 200", NULL);
  assert_non_null(strstr(r, "text/plain; version=0.0.4"));
  assert_non_null(strstr(r, "Cache-Control: no-store")); /* never a cached probe or scrape */
  assert_non_null(strstr(r, "\nenricher_messages_out_total{topic=\"enriched.social\"} 5\n"));
  free(r);
  expect_http(port, "GET", "/healthz", "HTTP/1.1 200", "ok\n");
  /* nothing reported yet: not ready */
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: starting\n");
  metrics_set_ready(m, 1); /* the stage loop's condition, "kafka" */
  expect_http(port, "GET", "/readyz", "HTTP/1.1 200", "ready\n");
  metrics_set_ready(m, 0);
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: kafka\n");
  r = http(port, "GET", "/nope");
  expect_status(r, "HTTP/1.1 404", NULL);
  assert_non_null(strstr(r, "{\"error\":{\"code\":\"not_found\""));
  free(r);
  expect_http(port, "HEAD", "/healthz", "HTTP/1.1 200", "");
  r = http(port, "POST", "/metrics");
  expect_status(r, "HTTP/1.1 405", NULL);
  assert_non_null(strstr(r, "GET, HEAD"));
  free(r);
  metrics_destroy(m);
}

static void test_ready_conditions(void **state) {
  (void)state;
  char err[256];
  metrics_t *m = metrics_new("risk-svc");
  assert_int_equal(metrics_serve(m, "127.0.0.1:0", err, sizeof(err)), 0);
  int port = metrics_port(m);
  assert_int_equal(metrics_ready_condition(m, "redis", 0), 0);
  assert_int_equal(metrics_ready_condition(m, "kafka", 1), 0);
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: redis\n");
  metrics_set_ready(m, 0); /* the same condition as "kafka" above */
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: redis, kafka\n");
  assert_int_equal(metrics_ready_condition(m, "redis", 1), 0);
  metrics_set_ready(m, 1);
  expect_http(port, "GET", "/readyz", "HTTP/1.1 200", "ready\n");
  /* one condition failing again is enough */
  assert_int_equal(metrics_ready_condition(m, "redis", 0), 0);
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: redis\n");
  /* names end up in the body: short, lower-case, no spaces */
  assert_int_equal(metrics_ready_condition(m, "", 1), -1);
  assert_int_equal(metrics_ready_condition(m, NULL, 1), -1);
  assert_int_equal(metrics_ready_condition(m, "Redis", 1), -1);
  assert_int_equal(metrics_ready_condition(m, "a b", 1), -1);
  assert_int_equal(metrics_ready_condition(m, "0123456789012345678901234567890123", 1), -1);
  assert_int_equal(metrics_ready_condition(NULL, "redis", 1), -1);
  char name[16];
  for (int i = 0; i < 14; i++) { /* 16 in all with redis and kafka */
    snprintf(name, sizeof(name), "dep%d", i);
    assert_int_equal(metrics_ready_condition(m, name, 1), 0);
  }
  assert_int_equal(metrics_ready_condition(m, "one-too-many", 1), -1);
  assert_int_equal(metrics_ready_condition(m, "dep3", 0), 0); /* existing ones still change */
  expect_http(port, "GET", "/readyz", "HTTP/1.1 503", "not ready: redis, dep3\n");
  metrics_destroy(m);
}

/* Readiness as series: what the probes see, for alerts (flapping, degraded). */
static void test_ready_series(void **state) {
  (void)state;
  metrics_t *m = metrics_new("risk-svc");
  char *text = metrics_render(m);
  /* no condition yet (a CronJob's registry): no readiness series at all */
  assert_null(strstr(text, "risk_svc_ready"));
  assert_null(strstr(text, "readiness_changes"));
  free(text);
  /* the names are the registry's own: a program cannot register them */
  assert_null(metrics_gauge(m, "ready", "x", NULL, NULL));
  assert_null(metrics_gauge(m, "ready_condition", "x", "condition", "kafka"));
  assert_null(metrics_counter(m, "readiness_changes_total", "x", NULL, NULL));

  assert_int_equal(metrics_ready_condition(m, "redis", 0), 0);
  metrics_set_ready(m, 1);
  text = metrics_render(m);
  assert_line(text, "# TYPE risk_svc_ready gauge");
  assert_line(text, "risk_svc_ready 0");
  assert_line(text, "# TYPE risk_svc_ready_condition gauge");
  assert_line(text, "risk_svc_ready_condition{condition=\"redis\"} 0");
  assert_line(text, "risk_svc_ready_condition{condition=\"kafka\"} 1");
  assert_line(text, "# TYPE risk_svc_readiness_changes_total counter");
  assert_line(text, "risk_svc_readiness_changes_total 0"); /* never ready yet */
  free(text);

  /* ready, then flapping: every flip counts, also with no scrape in between;
   * setting a condition to what it is already changes nothing */
  assert_int_equal(metrics_ready_condition(m, "redis", 1), 0);
  assert_int_equal(metrics_ready_condition(m, "redis", 1), 0);
  metrics_set_ready(m, 0);
  metrics_set_ready(m, 1);
  assert_int_equal(metrics_ready_condition(m, "redis", 0), 0);
  metrics_set_ready(m, 0); /* still not ready: no flip */
  text = metrics_render(m);
  assert_line(text, "risk_svc_ready 0");
  assert_line(text, "risk_svc_ready_condition{condition=\"kafka\"} 0");
  assert_line(text, "risk_svc_readiness_changes_total 4");
  free(text);
  assert_int_equal(metrics_ready_condition(m, "redis", 1), 0);
  metrics_set_ready(m, 1);
  text = metrics_render(m);
  assert_line(text, "risk_svc_ready 1");
  assert_line(text, "risk_svc_readiness_changes_total 5");
  free(text);
  metrics_destroy(m);
}

/* A program's own route next to /metrics, /healthz and /readyz on one server. */
static void on_score(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_text(resp, 200, "application/json", "{\"score\":7}");
}

static void test_routes_on_program_server(void **state) {
  (void)state;
  char err[256];
  metrics_t *m = metrics_new("risk-svc");
  metrics_counter_add(metrics_counter(m, "decisions_total", "Decisions.", NULL, NULL), 3);
  httpd_opts_t o = {.addr = "127.0.0.1:0", .threads = 2};
  httpd_t *h = httpd_new(&o, err, sizeof(err));
  assert_non_null(h);
  assert_int_equal(
      httpd_route(h, "POST", "/api/v1/risk-score", 0, 0, on_score, NULL, err, sizeof(err)), 0);
  assert_int_equal(metrics_routes(m, h, err, sizeof(err)), 0);
  assert_int_equal(metrics_routes(m, h, err, sizeof(err)), -1); /* taken */
  assert_int_equal(httpd_start(h, err, sizeof(err)), 0);
  assert_int_equal(metrics_port(m), -1); /* m serves nothing itself */
  int port = httpd_port(h);
  char *r = http(port, "GET", "/metrics");
  expect_status(r, "HTTP/1.1 200", NULL);
  assert_non_null(strstr(r, "\nrisk_svc_decisions_total 3\n"));
  free(r);
  expect_http(port, "POST", "/api/v1/risk-score", "HTTP/1.1 200", "{\"score\":7}");
  expect_http(port, "GET", "/healthz", "HTTP/1.1 200", "ok\n");
  metrics_ready_condition(m, "redis", 1);
  expect_http(port, "GET", "/readyz", "HTTP/1.1 200", "ready\n");
  httpd_destroy(h); /* before m: its handlers read m */
  metrics_destroy(m);
}

static void test_serve_errors(void **state) {
  (void)state;
  char err[256];
  metrics_t *m = metrics_new("svc");
  assert_int_equal(metrics_serve(m, "no-port", err, sizeof(err)), -1);
  assert_non_null(strstr(err, "no-port"));
  assert_int_equal(metrics_serve(m, "127.0.0.1:70000", err, sizeof(err)), -1);
  assert_int_equal(metrics_serve(m, "::1:9102", err, sizeof(err)), -1);
  /* IPv6 loopback in brackets works where the host has IPv6 */
  if (metrics_serve(m, "[::1]:0", err, sizeof(err)) == 0)
    assert_true(metrics_port(m) > 0);
  metrics_destroy(m);

  /* a port in use is an error, not a silent second listener */
  metrics_t *a = metrics_new("a"), *b = metrics_new("b");
  assert_int_equal(metrics_serve(a, "127.0.0.1:0", err, sizeof(err)), 0);
  char addr[32];
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", metrics_port(a));
  assert_int_equal(metrics_serve(b, addr, err, sizeof(err)), -1);
  metrics_destroy(a);
  metrics_destroy(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counter_gauge),
      cmocka_unit_test(test_histogram),
      cmocka_unit_test(test_label_sets),
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_concurrency),
      cmocka_unit_test(test_http),
      cmocka_unit_test(test_ready_conditions),
      cmocka_unit_test(test_ready_series),
      cmocka_unit_test(test_routes_on_program_server),
      cmocka_unit_test(test_serve_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
