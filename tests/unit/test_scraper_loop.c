/* Unit tests for scraper-ingest's page loop (source_loop.c): a fake source
 * over recorded responses, table-driven: last page, empty page, malformed
 * page and refused page (PARTIAL, cursor at the last good page), HTTP 4xx
 * and unreachable, unmappable and invalid items, a stop request between
 * pages, max_pages, resume from a stored cursor, a retried request, streams
 * that fail alone, a missing credential, a failing sink. Every cursor write
 * is checked to come after everything before it was acknowledged. Then the
 * Shopify source itself on recorded responses: its token never leaves
 * shopify.base_url when a Link rel="next" points elsewhere. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scraper_test.h"
#include "source.h"

/* ---- recorded responses ---------------------------------------------------- */

typedef struct recorded {
  const char *url;  /* as requested */
  int rc;           /* HTTP_CLIENT_*; 0: 200 with body */
  const char *body; /* NULL: none */
  const char *link; /* Link header, or NULL */
  int fail_first;   /* the first request fails (HTTP_CLIENT_FAILED, 410), later ones succeed */
  int stop;         /* a stop request (SIGTERM) arrives while this page is in hand */
} recorded_t;

typedef struct transport {
  const recorded_t *pages;
  const char *auth; /* the credential header every request must carry first */
  char urls[16][512];
  size_t n;
  int failed_once[16];
} transport_t;

static int replay(void *ctx, const char *method, const char *url, const char *const *headers,
                  const char *body, http_resp_t *resp, char *errstr, size_t errstr_size) {
  transport_t *t = ctx;
  (void)method;
  (void)body;
  if (t->n < 16)
    snprintf(t->urls[t->n], sizeof(t->urls[0]), "%s", url);
  t->n++;
  if (t->auth)
    assert_string_equal(headers[0], t->auth);
  for (size_t i = 0; t->pages[i].url; i++) {
    const recorded_t *p = &t->pages[i];
    if (strcmp(p->url, url) != 0)
      continue;
    if (p->stop)
      signals_stop = 1;
    if (p->fail_first && !t->failed_once[i]) {
      t->failed_once[i] = 1;
      resp->status = 410;
      snprintf(errstr, errstr_size, "HTTP 410");
      return HTTP_CLIENT_FAILED;
    }
    if (p->rc != HTTP_CLIENT_OK) {
      resp->status = p->rc == HTTP_CLIENT_FAILED ? 404 : 0;
      snprintf(errstr, errstr_size, p->rc == HTTP_CLIENT_FAILED ? "HTTP 404" : "timed out");
      return p->rc;
    }
    resp->status = 200;
    if (p->body) {
      resp->body = strdup(p->body);
      resp->len = strlen(p->body);
    }
    resp->link = p->link ? strdup(p->link) : NULL;
    return HTTP_CLIENT_OK;
  }
  fail_msg("unexpected request %s", url);
  return HTTP_CLIENT_FAILED;
}

/* ---- cursors in memory, checked against what was acknowledged --------------- */

typedef struct cursors {
  char key[8][128], val[8][SCR_CURSOR_MAX];
  size_t n;
  unsigned sets;
  FILE *out, *dlq;       /* the stdio sink's outputs */
  const scr_stats_t *st; /* the source being run */
} cursors_t;

/* Lines that reached the file (flushed), not those in the FILE buffer. */
static uint64_t lines_flushed(FILE *fp) {
  char buf[4096];
  uint64_t lines = 0;
  off_t at = 0;
  ssize_t got;
  while ((got = pread(fileno(fp), buf, sizeof(buf), at)) > 0) {
    for (ssize_t i = 0; i < got; i++)
      lines += buf[i] == '\n';
    at += got;
  }
  return lines;
}

static char *cursor_slot(cursors_t *c, const char *source, const char *stream, int create) {
  char key[128];
  snprintf(key, sizeof(key), "%s:%s", source, stream);
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->key[i], key) == 0)
      return c->val[i];
  if (!create || c->n == 8)
    return NULL;
  snprintf(c->key[c->n], sizeof(c->key[0]), "%s", key);
  return c->val[c->n++];
}

static int cursor_get(void *ctx, const char *source, const char *stream, char *out, size_t out_size,
                      char *errstr, size_t errstr_size) {
  (void)errstr;
  (void)errstr_size;
  const char *v = cursor_slot(ctx, source, stream, 0);
  snprintf(out, out_size, "%s", v ? v : "");
  return v != NULL;
}

static int cursor_set(void *ctx, const char *source, const char *stream, const char *value,
                      char *errstr, size_t errstr_size) {
  cursors_t *c = ctx;
  (void)errstr;
  (void)errstr_size;
  /* Acknowledged first: every record and dead letter so far is out. */
  assert_int_equal(lines_flushed(c->out), c->st->produced);
  assert_int_equal(lines_flushed(c->dlq), c->st->dead);
  snprintf(cursor_slot(c, source, stream, 1), SCR_CURSOR_MAX, "%s", value);
  c->sets++;
  return 0;
}

/* ---- one run over recorded responses and in-memory cursors ----------------- */

typedef struct fixture {
  scr_config_t *cfg;
  dlq_key_t *key;
  FILE *out, *dlq;
  transport_t tr;
  scr_transport_t transport;
  cursors_t cur;
  scr_cursor_store_t store;
  scr_stats_t st;
  scr_run_t run;
} fixture_t;

/* Fills fx in place (it points into itself). broken_sink: records cannot be
 * written. */
static void fixture_open(fixture_t *fx, scr_config_t *cfg, const char *source,
                         const recorded_t *pages, const char *auth, int broken_sink) {
  static const unsigned char k[32] = {9};
  char dir[4096];
  memset(fx, 0, sizeof(*fx));
  fx->cfg = cfg;
  fx->key = dlq_key_new(k);
  fx->out = broken_sink ? fopen("/dev/null", "r") : tmpfile();
  fx->dlq = tmpfile();
  fx->tr = (transport_t){.pages = pages, .auth = auth};
  fx->transport = (scr_transport_t){replay, &fx->tr};
  fx->st.source = source;
  fx->cur = (cursors_t){.out = fx->out, .dlq = fx->dlq, .st = &fx->st};
  fx->store = (scr_cursor_store_t){cursor_get, cursor_set, &fx->cur};
  fx->run = (scr_run_t){.cfg = cfg,
                        .dlq_key = fx->key,
                        .producer = "scraper-ingest/test",
                        .cursors = &fx->store,
                        .transport = &fx->transport};
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(dir, sizeof(dir), "%s/schemas", src ? src : ".");
  assert_int_equal(test_scraper_topics(&fx->run, dir), 0);
  fx->run.sink = scr_sink_stdio_new(fx->out, fx->dlq);
}

static void fixture_close(fixture_t *fx) {
  scr_sink_destroy(fx->run.sink);
  fclose(fx->out);
  fclose(fx->dlq);
  test_scraper_fini(&fx->run);
  dlq_key_destroy(fx->key);
}

/* ---- the fake source -------------------------------------------------------
 * Streams "a", "b"; page URL fake://<stream>/<page>; a page is
 * {"items":[...], "next":"<page>"}; the cursor is the page to ask next
 * ("done" after the last). An item {"city":C} maps to a weather record. */

typedef struct fake {
  char next[SCR_CURSOR_MAX];
} fake_t;

static int fake_begin(scr_loop_t *lp) {
  fake_t *f = lp->self;
  snprintf(f->next, sizeof(f->next), "%s", lp->cursor[0] ? lp->cursor : "p1");
  return 0;
}

static int fake_request(scr_loop_t *lp, scr_request_t *req) {
  fake_t *f = lp->self;
  snprintf(req->url, sizeof(req->url), "fake://%s/%s", lp->stream, f->next);
  req->what = "fake page";
  return 0;
}

static int fake_retry(scr_loop_t *lp, int http_rc) {
  return http_rc == HTTP_CLIENT_FAILED && lp->st->restarts++ == 0;
}

static int fake_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc, scr_page_t *page) {
  (void)resp;
  fake_t *f = lp->self;
  const json_t *items = json_object_get(doc, "items");
  if (!json_is_array(items))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "fake page: without an items array");
  const char *next = json_string_value(json_object_get(doc, "next"));
  page->items = items;
  page->more = next != NULL;
  snprintf(f->next, sizeof(f->next), "%s", next ? next : "done");
  snprintf(page->cursor, sizeof(page->cursor), "%s", f->next);
  return 0;
}

static size_t fake_map(scr_loop_t *lp, const json_t *item, json_t *out) {
  (void)lp;
  if (!json_is_object(item))
    return 0;
  const char *city = json_string_value(json_object_get(item, "city"));
  /* no city: an empty one, which the contract refuses (/city) */
  return scr_map_one(json_pack("{s:s,s:f,s:s,s:f,s:f,s:s,s:b}", "city", city ? city : "",
                               "temperature", 30.0, "condition", "Clear", "humidity", 70.0,
                               "wind_speed", 3.0, "timestamp", "2024-05-01T12:00:00Z",
                               "is_extreme_weather", 0),
                     out);
}

/* ---- the table ------------------------------------------------------------- */

#define P1_OF(s, next)                                                                             \
  "{\"items\":[{\"city\":\"" s "1\"},{\"city\":\"" s "2\"}],\"next\":\"" next "\"}"

typedef struct loop_case {
  const char *name;
  recorded_t pages[8];
  const char *streams[3]; /* NULL-terminated; none: {"a"} */
  const char *stored_a;   /* cursor of stream a before the run */
  int64_t max_pages;      /* 0: 100 */
  int independent, retry, no_token, broken_sink;
  /* expected */
  scr_status_t status;
  uint64_t pages_read, fetched, produced, dead;
  size_t requests;
  const char *cursor_a, *cursor_b; /* NULL: never stored */
  const char *error;               /* a part of st->error, or NULL */
  const char *dlq_has;             /* a part of the dead letters, or NULL */
} loop_case_t;

static const loop_case_t cases[] = {
    {.name = "pages to the last one (no next)",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A3\"}],\"next\":\"p3\"}"},
               {"fake://a/p3", .body = "{\"items\":[{\"city\":\"A4\"}]}"}},
     .status = SCR_SRC_OK,
     .pages_read = 3,
     .fetched = 4,
     .produced = 4,
     .requests = 3,
     .cursor_a = "done"},
    {.name = "an empty last page",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[]}"}},
     .status = SCR_SRC_OK,
     .pages_read = 2,
     .fetched = 2,
     .produced = 2,
     .requests = 2,
     .cursor_a = "done"},
    {.name = "a malformed page: PARTIAL at the last good page",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A3\"}],\"next\":\"p3\"}"},
               {"fake://a/p3", .body = "<html>502 Bad Gateway</html>"},
               {"fake://a/p4", .body = "{\"items\":[]}"}},
     .status = SCR_SRC_PARTIAL,
     .pages_read = 2,
     .fetched = 3,
     .produced = 3,
     .requests = 3,
     .cursor_a = "p3",
     .error = "fake page: malformed page"},
    {.name = "a page the paging rule refuses",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"error\":\"later\"}"}},
     .status = SCR_SRC_PARTIAL,
     .pages_read = 1,
     .fetched = 2,
     .produced = 2,
     .requests = 2,
     .cursor_a = "p2",
     .error = "without an items array"},
    {.name = "HTTP 4xx: PARTIAL at the last good page",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .rc = HTTP_CLIENT_FAILED}},
     .status = SCR_SRC_PARTIAL,
     .pages_read = 1,
     .fetched = 2,
     .produced = 2,
     .requests = 2,
     .cursor_a = "p2",
     .error = "fake page: HTTP 404"},
    {.name = "unreachable: nothing stored",
     .pages = {{"fake://a/p1", .rc = HTTP_CLIENT_UNREACHABLE}},
     .status = SCR_SRC_UNREACHABLE,
     .requests = 1,
     .error = "fake page: timed out"},
    {.name = "an unmappable item and an invalid record are dead-lettered",
     .pages = {{"fake://a/p1", .body = "{\"items\":[{\"city\":\"A1\"},42,{}],\"next\":\"p2\"}"},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A2\"}]}"}},
     .status = SCR_SRC_OK,
     .pages_read = 2,
     .fetched = 4,
     .produced = 2,
     .dead = 2,
     .requests = 2,
     .cursor_a = "done",
     .dlq_has = "\"code\":\"unmappable\",\"message\":\"reading is not a JSON object\""},
    {.name = "a stop request between pages: the page in hand is checkpointed",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A3\"}],\"next\":\"p3\"}",
                .stop = 1},
               {"fake://a/p3", .body = "{\"items\":[]}"}},
     .status = SCR_SRC_PARTIAL,
     .pages_read = 2,
     .fetched = 3,
     .produced = 3,
     .requests = 2,
     .cursor_a = "p3",
     .error = "stopped by signal"},
    {.name = "max_pages: the next run continues",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A3\"}],\"next\":\"p3\"}"},
               {"fake://a/p3", .body = "{\"items\":[]}"}},
     .max_pages = 2,
     .status = SCR_SRC_OK,
     .pages_read = 2,
     .fetched = 3,
     .produced = 3,
     .requests = 2,
     .cursor_a = "p3"},
    {.name = "resume from the stored cursor",
     .pages = {{"fake://a/p3", .body = "{\"items\":[{\"city\":\"A5\"}]}"}},
     .stored_a = "p3",
     .status = SCR_SRC_OK,
     .pages_read = 1,
     .fetched = 1,
     .produced = 1,
     .requests = 1,
     .cursor_a = "done"},
    {.name = "retry() asks again after a failed request",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")},
               {"fake://a/p2", .body = "{\"items\":[{\"city\":\"A3\"}]}", .fail_first = 1}},
     .retry = 1,
     .status = SCR_SRC_OK,
     .pages_read = 2,
     .fetched = 3,
     .produced = 3,
     .requests = 3,
     .cursor_a = "done"},
    {.name = "a failed stream stops the source",
     .pages = {{"fake://a/p1", .body = "not json"}, {"fake://b/p1", .body = P1_OF("B", "p2")}},
     .streams = {"a", "b"},
     .status = SCR_SRC_PARTIAL,
     .requests = 1,
     .error = "malformed page"},
    {.name = "independent streams: the others still run",
     .pages = {{"fake://a/p1", .body = "not json"},
               {"fake://b/p1", .body = "{\"items\":[{\"city\":\"B1\"}]}"}},
     .streams = {"a", "b"},
     .independent = 1,
     .status = SCR_SRC_PARTIAL,
     .pages_read = 1,
     .fetched = 1,
     .produced = 1,
     .requests = 2,
     .cursor_b = "done",
     .error = "malformed page"},
    {.name = "no credential: CONFIG before any request",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")}},
     .no_token = 1,
     .status = SCR_SRC_CONFIG,
     .error = "fake.token_file is not set"},
    {.name = "the sink fails: the cursor stays",
     .pages = {{"fake://a/p1", .body = P1_OF("A", "p2")}},
     .broken_sink = 1,
     .status = SCR_SRC_KAFKA,
     .fetched = 1,
     .requests = 1,
     .error = "write failed"},
};

static void expect_count(const char *name, const char *what, uint64_t got, uint64_t want) {
  if (got != want)
    fail_msg("%s: %s %llu, want %llu", name, what, (unsigned long long)got,
             (unsigned long long)want);
}

/* want NULL: the stream's cursor was never stored. */
static void expect_cursor(const char *name, cursors_t *cur, const char *stream, const char *want) {
  char got[SCR_CURSOR_MAX];
  int has = cursor_get(cur, "fake", stream, got, sizeof(got), NULL, 0);
  if (has != (want != NULL) || (want && strcmp(got, want) != 0))
    fail_msg("%s: cursor of %s '%s', want '%s'", name, stream, has ? got : "(none)",
             want ? want : "(none)");
}

static void run_case(const loop_case_t *tc) {
  scr_config_t cfg = {.max_message_bytes = 1 << 20,
                      .max_pages = tc->max_pages ? tc->max_pages : 100};
  fixture_t fx;
  fixture_open(&fx, &cfg, "fake", tc->pages, "Authorization: Bearer tok-1", tc->broken_sink);
  scr_stats_t *st = &fx.st;
  if (tc->stored_a)
    snprintf(cursor_slot(&fx.cur, "fake", "a", 1), SCR_CURSOR_MAX, "%s", tc->stored_a);
  if (tc->no_token)
    unsetenv("FAKE_TOKEN");
  else
    setenv("FAKE_TOKEN", "tok-1", 1);

  static const char *const one[] = {"a"};
  size_t nstreams = 0;
  while (tc->streams[nstreams])
    nstreams++;
  fake_t self = {{0}};
  scr_loop_spec_t spec = {.topic = "context.weather",
                          .item = "reading",
                          .secret = {.setting = "fake.token_file",
                                     .env = "FAKE_TOKEN",
                                     .header = "Authorization: Bearer "},
                          .streams = nstreams ? tc->streams : one,
                          .nstreams = nstreams ? nstreams : 1,
                          .independent_streams = tc->independent,
                          .self = &self,
                          .begin = fake_begin,
                          .request = fake_request,
                          .retry = tc->retry ? fake_retry : NULL,
                          .page = fake_page,
                          .map = fake_map};
  scr_page_loop(&fx.run, st, &spec);
  signals_stop = 0;

  if (st->status != tc->status)
    fail_msg("%s: status %d, want %d (%s)", tc->name, st->status, tc->status, st->error);
  expect_count(tc->name, "pages", st->pages, tc->pages_read);
  expect_count(tc->name, "fetched", st->fetched, tc->fetched);
  expect_count(tc->name, "produced", st->produced, tc->produced);
  expect_count(tc->name, "dead letters", st->dead, tc->dead);
  expect_count(tc->name, "requests", fx.tr.n, tc->requests);
  expect_cursor(tc->name, &fx.cur, "a", tc->cursor_a);
  expect_cursor(tc->name, &fx.cur, "b", tc->cursor_b);
  if (tc->error && !strstr(st->error, tc->error))
    fail_msg("%s: error '%s' lacks '%s'", tc->name, st->error, tc->error);
  if (tc->status == SCR_SRC_OK)
    assert_string_equal(st->error, "");
  if (tc->dlq_has) {
    char buf[16384] = "";
    fflush(fx.dlq);
    size_t n = (size_t)pread(fileno(fx.dlq), buf, sizeof(buf) - 1, 0);
    buf[n] = '\0';
    if (!strstr(buf, tc->dlq_has))
      fail_msg("%s: the dead letters lack %s", tc->name, tc->dlq_has);
    assert_non_null(strstr(buf, "\"payload_enc\"")); /* sealed */
  }
  fixture_close(&fx);
  unsetenv("FAKE_TOKEN");
}

static void test_loop_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    run_case(&cases[i]);
}

/* ---- Shopify on recorded responses: the Link next origin check -------------- */

typedef struct link_case {
  const char *link; /* page 1's Link next */
  int followed;     /* 1: asked exactly as given; 0: refused (PARTIAL) */
} link_case_t;

static char *shopify_page(long long id) {
  const char *dir = getenv("SENSORY_FIXTURES");
  char path[4096];
  snprintf(path, sizeof(path), "%s/api/shopify_order_single.json", dir ? dir : "tests/fixtures");
  json_error_t e;
  json_t *doc = json_load_file(path, 0, &e);
  if (!doc)
    fail_msg("%s: %s", path, e.text);
  json_t *order = json_object_get(doc, "order");
  json_object_set_new(order, "id", json_integer(id));
  json_t *page = json_pack("{s:[O]}", "orders", order);
  char *text = json_dumps(page, JSON_COMPACT);
  json_decref(page);
  json_decref(doc);
  return text;
}

static void test_shopify_link_origin(void **state) {
  (void)state;
  static const link_case_t links[] = {
      {"<http://shop.test/admin/api/2024-01/orders.json?page_info=a%3D&limit=2>; rel=\"next\"", 1},
      {"<http://other.test/admin/api/2024-01/orders.json?page_info=a>; rel=\"next\"", 0},
      {"<http://shop.test.evil.example/admin/orders.json?page_info=a>; rel=\"next\"", 0},
      {"<https://shop.test/admin/orders.json?page_info=a>; rel=\"next\"", 0},
  };
  char *p1 = shopify_page(11), *p2 = shopify_page(12);
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
    char next[512];
    assert_int_equal(http_link_next(links[i].link, next, sizeof(next)), 1);
    recorded_t pages[] = {
        {"http://shop.test/admin/api/2024-01/orders.json?status=any&limit=2&since_id=0", .body = p1,
         .link = links[i].link},
        {next, .body = p2},
        {NULL}};
    scr_config_t cfg = {.max_message_bytes = 1 << 20,
                        .max_pages = 10,
                        .shopify_topic = "source.market.shopify",
                        .shopify_base_url = "http://shop.test",
                        .shopify_api_version = "2024-01",
                        .shopify_limit = 2};
    fixture_t fx;
    fixture_open(&fx, &cfg, "shopify", pages, "X-Shopify-Access-Token: shpat-unit", 0);
    setenv("SHOPIFY_ACCESS_TOKEN", "shpat-unit", 1);

    scr_src_shopify(&fx.run, &fx.st);

    char cursor[SCR_CURSOR_MAX];
    assert_int_equal(cursor_get(&fx.cur, "shopify", "orders", cursor, sizeof(cursor), NULL, 0), 1);
    if (links[i].followed) {
      assert_int_equal(fx.st.status, SCR_SRC_OK);
      assert_int_equal(fx.tr.n, 2);
      assert_string_equal(fx.tr.urls[1], next); /* exactly as given */
      assert_string_equal(cursor, "12");
    } else {
      assert_int_equal(fx.st.status, SCR_SRC_PARTIAL);
      assert_non_null(strstr(fx.st.error, "outside shopify.base_url"));
      assert_int_equal(fx.tr.n, 1);      /* the token never went there */
      assert_string_equal(cursor, "11"); /* page 1 is kept */
    }
    assert_int_equal(fx.st.fetched, links[i].followed ? 2 : 1);
    assert_int_equal(fx.st.produced + fx.st.dead,
                     links[i].followed ? 6 : 3); /* 3 line items each */
    fixture_close(&fx);
    unsetenv("SHOPIFY_ACCESS_TOKEN");
  }
  free(p1);
  free(p2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loop_table),
      cmocka_unit_test(test_shopify_link_origin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
