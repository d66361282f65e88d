/* Unit tests for common/net/httpd.c over real loopback connections, with a
 * raw-socket client so that keep-alive, chunked bodies, headers-only
 * requests and pipelining are under the test's control. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "net/httpd.h"
#include "json/jsonf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- a small HTTP/1.1 client --------------------------------------------- */

typedef struct client {
  int fd;
  char buf[1 << 17];
  size_t len; /* bytes received and not yet consumed */
} client_t;

typedef struct resp {
  int status;
  char head[4096]; /* status line and headers, NUL-terminated */
  char body[1 << 16];
  size_t body_len;
} resp_t;

static client_t *client_open(int port) {
  client_t *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(c->fd >= 0);
  struct timeval tv = {10, 0}; /* a hung server fails the test instead of hanging it */
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return c;
}

static void client_close(client_t *c) {
  if (c) {
    close(c->fd);
    free(c);
  }
}

/* Sends all of s[0..n); returns 0, or -1 when the server hung up. */
static int client_send(client_t *c, const char *s, size_t n) {
  while (n) {
    ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static void client_sends(client_t *c, const char *s) {
  assert_int_equal(client_send(c, s, strlen(s)), 0);
}

/* Receives more bytes; returns the count, 0 on EOF, -1 on error. */
static ssize_t client_fill(client_t *c) {
  assert_true(c->len < sizeof(c->buf));
  ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
  if (r > 0)
    c->len += (size_t)r;
  return r;
}

static const char *find_header(const char *head, const char *name) {
  static __thread char value[512];
  size_t n = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ')
        v++;
      size_t len = strcspn(v, "\r");
      assert_true(len < sizeof(value));
      memcpy(value, v, len);
      value[len] = '\0';
      return value;
    }
  }
  return NULL;
}

/* Reads one response (no body for HEAD). Returns 0, or -1 when the server
 * closed the connection (or reset it) before a whole response came. */
static int client_read(client_t *c, resp_t *r, int head_only) {
  char *end;
  while (!(c->len && (end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL))
    if (client_fill(c) <= 0)
      return -1;
  size_t hlen = (size_t)(end - c->buf) + 4;
  assert_true(hlen < sizeof(r->head));
  memcpy(r->head, c->buf, hlen);
  r->head[hlen] = '\0';
  assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
  const char *cl = find_header(r->head, "Content-Length");
  size_t blen = head_only || !cl ? 0 : strtoul(cl, NULL, 10);
  assert_true(blen < sizeof(r->body));
  while (c->len < hlen + blen)
    if (client_fill(c) <= 0)
      return -1;
  memcpy(r->body, c->buf + hlen, blen);
  r->body[blen] = '\0';
  r->body_len = blen;
  memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
  c->len -= hlen + blen;
  return 0;
}

/* 1 when the server closed the connection (EOF or reset) and sent nothing. */
static int client_closed(client_t *c) {
  return c->len == 0 && client_fill(c) <= 0;
}

/* One request on a connection of its own; the response is returned in r. */
static void request(int port, const char *method, const char *path, const char *body, resp_t *r) {
  client_t *c = client_open(port);
  char head[512];
  snprintf(head, sizeof(head),
           "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n"
           "Content-Type: application/json\r\n\r\n",
           method, path, body ? strlen(body) : 0);
  client_sends(c, head);
  if (body)
    client_sends(c, body);
  assert_int_equal(client_read(c, r, strcmp(method, "HEAD") == 0), 0);
  client_close(c);
}

/* Asserts r carries {"error":{"code":code,"message":<string>,"path":null}}. */
static void assert_error_body(const resp_t *r, const char *code) {
  assert_string_equal(find_header(r->head, "Content-Type"), "application/json");
  char err[128];
  json_t *doc = jsonf_parse(r->body, r->body_len, 8, err, sizeof(err));
  if (!doc)
    fail_msg("error body is not JSON (%s): %s", err, r->body);
  json_t *e = json_object_get(doc, "error");
  assert_true(json_is_object(e));
  assert_int_equal(json_object_size(doc), 1);
  assert_int_equal(json_object_size(e), 3);
  assert_string_equal(json_string_value(json_object_get(e, "code")), code);
  assert_true(json_is_string(json_object_get(e, "message")));
  assert_true(json_string_length(json_object_get(e, "message")) > 0);
  assert_true(json_is_null(json_object_get(e, "path")));
  json_decref(doc);
}

/* ---- handlers ----------------------------------------------------------- */

static atomic_int calls; /* handler calls, to prove which requests reach a handler */
/* Handlers run on the server's threads, where a cmocka assertion cannot
 * unwind: they count what is wrong here and the tests assert it is 0. */
static atomic_int handler_faults;
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      atomic_fetch_add(&handler_faults, 1);                                                        \
  } while (0)

static void on_hello(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  atomic_fetch_add(&calls, 1);
  char text[256];
  const char *name = httpd_query(req, "name");
  const char *agent = httpd_header(req, "x-client"); /* case-insensitive */
  snprintf(text, sizeof(text), "hello %s from %s via %s\n", name ? name : "-", agent ? agent : "-",
           req->method);
  httpd_respond_text(resp, 200, "text/plain; charset=utf-8", text);
}

/* Echoes the parsed body and its length: {"got":<body>,"len":n}. */
static void on_echo(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  atomic_fetch_add(&calls, 1);
  CHECK(req->json);
  CHECK(strlen(req->body) == req->body_len); /* NUL-terminated copy */
  httpd_respond_json(resp, 201,
                     json_pack("{s:O,s:I}", "got", req->json, "len", (json_int_t)req->body_len));
}

/* A raw (non-JSON) route: answers the body length. */
static void on_upload(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  char text[32];
  CHECK(!req->json);
  snprintf(text, sizeof(text), "%zu", req->body_len);
  for (size_t i = 0; i < req->body_len; i++)
    CHECK(req->body[i] == 'a' + (int)(i % 26)); /* chunks reassembled in order */
  httpd_respond_text(resp, 200, "text/plain", text);
}

static void on_limited(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_text(resp, 200, "text/plain", "replaced below");
  httpd_respond_error(resp, 429, "rate_limited", "slow down", NULL);
  CHECK(httpd_respond_header(resp, "Retry-After", "7") == 0);
  CHECK(httpd_respond_header(resp, "X-Request-Id", "abc-123") == 0);
}

static void on_bad_header(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_text(resp, 200, "text/plain", "never sent");
  CHECK(httpd_respond_header(resp, "Content-Length", "3") == -1);
}

static void on_injection(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_text(resp, 200, "text/plain", "never sent");
  CHECK(httpd_respond_header(resp, "X-Evil", "a\r\nSet-Cookie: x=1") == -1);
}

static void on_nothing(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  (void)resp;
}

static void on_null_json(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  CHECK(httpd_respond_json(resp, 200, NULL) == -1);
}

static httpd_t *start_server(unsigned threads, int *port) {
  char err[256];
  httpd_opts_t o = {.addr = "127.0.0.1:0", .threads = threads, .json_max_depth = 4};
  httpd_t *h = httpd_new(&o, err, sizeof(err));
  assert_non_null(h);
  assert_int_equal(httpd_port(h), -1);
#define ROUTE(m, p, f, lim, fn)                                                                    \
  if (httpd_route(h, m, p, f, lim, fn, NULL, err, sizeof(err)) != 0)                               \
  fail_msg("route %s %s: %s", m, p, err)
  ROUTE("GET", "/hello", 0, 0, on_hello);
  ROUTE("POST", "/echo", HTTPD_JSON, 0, on_echo);
  ROUTE("GET", "/items", 0, 0, on_hello);
  ROUTE("POST", "/items", HTTPD_JSON, 0, on_echo);
  ROUTE("DELETE", "/items", 0, 0, on_hello);
  ROUTE("PUT", "/upload", 0, 100, on_upload);
  ROUTE("POST", "/big", 0, 0, on_upload);
  ROUTE("GET", "/limited", 0, 0, on_limited);
  ROUTE("GET", "/bad-header", 0, 0, on_bad_header);
  ROUTE("GET", "/injection", 0, 0, on_injection);
  ROUTE("GET", "/nothing", 0, 0, on_nothing);
  ROUTE("GET", "/null-json", 0, 0, on_null_json);
#undef ROUTE
  if (httpd_start(h, err, sizeof(err)) != 0)
    fail_msg("start: %s", err);
  *port = httpd_port(h);
  assert_true(*port > 0 && *port < 65536);
  return h;
}

/* ---- tests --------------------------------------------------------------- */

/* Most tests talk to one single-threaded server with the routes above. */
typedef struct fixture {
  httpd_t *h;
  int port;
  resp_t *r;
} fixture_t;

static int server_up(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->h = start_server(1, &f->port);
  f->r = calloc(1, sizeof(*f->r));
  assert_non_null(f->r);
  *state = f;
  return 0;
}

static int server_down(void **state) {
  fixture_t *f = *state;
  httpd_destroy(f->h);
  free(f->r);
  free(f);
  return atomic_load(&handler_faults) == 0 ? 0 : -1; /* a handler saw a wrong request */
}

static void test_routing(void **state) {
  fixture_t *f = *state;
  int port = f->port;
  resp_t *r = f->r;

  client_t *c = client_open(port);
  client_sends(c, "GET /hello?name=ada HTTP/1.1\r\nHost: x\r\nX-Client: unit\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "hello ada from unit via GET\n");
  assert_string_equal(find_header(r->head, "Content-Type"), "text/plain; charset=utf-8");
  client_close(c);

  /* HEAD is served by the GET route: same headers, no body */
  c = client_open(port);
  client_sends(c, "HEAD /hello?name=ada HTTP/1.1\r\nHost: x\r\nX-Client: unit\r\n\r\n"
                  "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(client_read(c, r, 1), 0);
  assert_int_equal(r->status, 200);
  assert_string_equal(find_header(r->head, "Content-Length"), "29"); /* "... via HEAD\n" */
  assert_int_equal(r->body_len, 0);
  /* the next response starts right after the headers: no body was sent */
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "hello - from - via GET\n");
  client_close(c);

  request(port, "GET", "/nope", NULL, r);
  assert_int_equal(r->status, 404);
  assert_error_body(r, "not_found");
  request(port, "GET", "/hello/", NULL, r); /* exact paths only */
  assert_int_equal(r->status, 404);
  request(port, "GET", "/HELLO", NULL, r);
  assert_int_equal(r->status, 404);

  int before = atomic_load(&calls);
  request(port, "DELETE", "/hello", NULL, r);
  assert_int_equal(r->status, 405);
  assert_string_equal(find_header(r->head, "Allow"), "GET, HEAD");
  assert_error_body(r, "method_not_allowed");
  request(port, "PATCH", "/items", "{}", r);
  assert_int_equal(r->status, 405);
  assert_string_equal(find_header(r->head, "Allow"), "GET, HEAD, POST, DELETE");
  request(port, "GET", "/echo", NULL, r);
  assert_int_equal(r->status, 405);
  assert_string_equal(find_header(r->head, "Allow"), "POST");
  assert_int_equal(atomic_load(&calls), before); /* no handler ran for any of them */

  request(port, "DELETE", "/items", NULL, r);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "hello - from - via DELETE\n");
}

static void test_json(void **state) {
  fixture_t *f = *state;
  int port = f->port;
  resp_t *r = f->r;

  request(port, "POST", "/echo", "{\"amount\": 12.5, \"city\": \"ঢাকা\"}", r);
  assert_int_equal(r->status, 201);
  assert_string_equal(find_header(r->head, "Content-Type"), "application/json");
  assert_string_equal(r->body, "{\"got\":{\"amount\":12.5,\"city\":\"ঢাকা\"},\"len\":40}");

  int before = atomic_load(&calls);
  static const char *const bad[] = {
      "{\"amount\": 12.5,", /* truncated */
      "{\"a\":1} x",        /* trailing garbage */
      "{\"a\":1,\"a\":2}",  /* duplicate key */
      "",                   /* no body at all */
      "[[[[[1]]]]]",        /* deeper than json_max_depth 4 */
      "{'a':1}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    request(port, "POST", "/echo", bad[i], r);
    if (r->status != 400)
      fail_msg("body %zu: want 400, got %d", i, r->status);
    assert_error_body(r, "invalid_json");
    assert_non_null(strstr(r->body, "invalid JSON at byte"));
  }
  assert_int_equal(atomic_load(&calls), before);  /* the handler never saw them */
  request(port, "POST", "/echo", "[[[[1]]]]", r); /* exactly the depth limit */
  assert_int_equal(r->status, 201);
}

/* A chunked body of n bytes ('a'..'z' repeating) in chunks of k. */
static void send_chunked(client_t *c, const char *path, size_t n, size_t k, int *hung_up) {
  char head[256], *chunk = malloc(k + 32);
  assert_non_null(chunk);
  snprintf(head, sizeof(head), "PUT %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
           path);
  *hung_up = client_send(c, head, strlen(head)) != 0;
  for (size_t off = 0; off < n && !*hung_up; off += k) {
    size_t len = n - off < k ? n - off : k;
    int hl = snprintf(chunk, 32, "%zx\r\n", len);
    for (size_t i = 0; i < len; i++)
      chunk[hl + i] = (char)('a' + (off + i) % 26);
    memcpy(chunk + hl + len, "\r\n", 2);
    *hung_up = client_send(c, chunk, (size_t)hl + len + 2) != 0;
  }
  if (!*hung_up)
    *hung_up = client_send(c, "0\r\n\r\n", 5) != 0;
  free(chunk);
}

static void test_body_limits(void **state) {
  fixture_t *f = *state;
  int port = f->port, hung_up;
  resp_t *r = f->r;
  char body[101];
  for (int i = 0; i < 100; i++)
    body[i] = (char)('a' + i % 26);
  body[100] = '\0';

  /* at the limit: served */
  request(port, "PUT", "/upload", body, r);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "100");

  /* announced over the limit, body sent: read, dropped, 413, connection kept */
  client_t *c = client_open(port);
  client_sends(c, "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
  client_sends(c, body);
  client_sends(c, "!");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 413);
  assert_error_body(r, "payload_too_large");
  assert_non_null(strstr(r->body, "100 bytes"));
  client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 200);
  client_close(c);

  /* a client waiting for "100 Continue" gets 413 instead, then the close */
  c = client_open(port);
  client_sends(c, "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n"
                  "Expect: 100-continue\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 413);
  assert_true(client_closed(c));
  client_close(c);

  /* far over (more than 1 MiB past the limit): 413 at once, before the body */
  c = client_open(port);
  client_sends(c, "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 413);
  assert_true(client_closed(c));
  client_close(c);

  /* the server's default limit (64 KiB) for a route without its own */
  char *big = malloc(65537 + 1);
  assert_non_null(big);
  for (int i = 0; i < 65537; i++)
    big[i] = (char)('a' + i % 26);
  big[65536] = '\0';
  request(port, "POST", "/big", big, r);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "65536");
  big[65536] = (char)('a' + 65536 % 26);
  big[65537] = '\0';
  request(port, "POST", "/big", big, r);
  assert_int_equal(r->status, 413);
  free(big);

  /* chunked under the limit: reassembled, connection kept */
  c = client_open(port);
  send_chunked(c, "/upload", 90, 7, &hung_up);
  assert_false(hung_up);
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 200);
  assert_string_equal(r->body, "90");
  /* chunked over the limit: 413 after the body, and the connection stays */
  send_chunked(c, "/upload", 150, 40, &hung_up);
  assert_false(hung_up);
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 413);
  assert_error_body(r, "payload_too_large");
  client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 200);
  client_close(c);

  /* a chunked body far over the limit (1 MiB past it) gets the connection
   * closed without an answer */
  c = client_open(port);
  send_chunked(c, "/upload", (size_t)3 << 20, 16384, &hung_up);
  /* (or the body fitted in socket buffers before the close: then no answer) */
  assert_true(hung_up || client_read(c, r, 0) == -1);
  client_close(c);

  /* the server still serves */
  request(port, "GET", "/hello", NULL, r);
  assert_int_equal(r->status, 200);
}

static void test_handler_responses(void **state) {
  fixture_t *f = *state;
  int port = f->port;
  resp_t *r = f->r;

  request(port, "GET", "/limited", NULL, r);
  assert_int_equal(r->status, 429);
  assert_string_equal(find_header(r->head, "Retry-After"), "7");
  assert_string_equal(find_header(r->head, "X-Request-Id"), "abc-123");
  assert_string_equal(
      r->body, "{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\",\"path\":null}}");

  /* a refused header makes the whole answer a 500, without the handler's headers */
  request(port, "GET", "/bad-header", NULL, r);
  assert_int_equal(r->status, 500);
  assert_error_body(r, "internal_error");
  request(port, "GET", "/injection", NULL, r);
  assert_int_equal(r->status, 500);
  assert_null(find_header(r->head, "Set-Cookie"));
  assert_null(find_header(r->head, "X-Evil"));
  request(port, "GET", "/null-json", NULL, r);
  assert_int_equal(r->status, 500);

  /* a handler that sets nothing answers 200 with an empty body */
  request(port, "GET", "/nothing", NULL, r);
  assert_int_equal(r->status, 200);
  assert_int_equal(r->body_len, 0);
  assert_string_equal(find_header(r->head, "Content-Length"), "0");
}

static void test_keepalive(void **state) {
  fixture_t *f = *state;
  int port = f->port;
  resp_t *r = f->r;
  client_t *c = client_open(port);
  for (int i = 0; i < 50; i++) {
    char req[256], want[64];
    if (i % 2) {
      snprintf(req, sizeof(req), "GET /hello?name=n%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
      snprintf(want, sizeof(want), "hello n%d from - via GET\n", i);
    } else {
      char body[32];
      int n = snprintf(body, sizeof(body), "{\"i\":%d}", i);
      snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s",
               n, body);
      snprintf(want, sizeof(want), "{\"got\":{\"i\":%d},\"len\":%d}", i, n);
    }
    client_sends(c, req);
    assert_int_equal(client_read(c, r, 0), 0);
    assert_string_equal(r->body, want);
    assert_null(find_header(r->head, "Connection")); /* not "close" */
  }
  /* pipelined: two requests in one write, two answers in order, and errors
   * do not end the connection either */
  client_sends(
      c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?name=p HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(client_read(c, r, 0), 0);
  assert_int_equal(r->status, 404);
  assert_int_equal(client_read(c, r, 0), 0);
  assert_string_equal(r->body, "hello p from - via GET\n");
  client_close(c);
}

/* ---- the thread pool ----------------------------------------------------- */

#define POOL 4

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int inside, release;
  unsigned seen[POOL];
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}};

static struct timespec deadline(int seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += seconds;
  return ts;
}

/* Stays inside until the test releases it: each blocked handler holds its
 * thread, so the next connection can only be taken by another thread. */
static void on_block(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  unsigned idx = httpd_thread_index();
  struct timespec until = deadline(20);
  pthread_mutex_lock(&pool.lock);
  if (pool.inside < POOL)
    pool.seen[pool.inside] = idx;
  pool.inside++;
  pthread_cond_broadcast(&pool.cond);
  while (!pool.release && pthread_cond_timedwait(&pool.cond, &pool.lock, &until) == 0) {
  }
  pthread_mutex_unlock(&pool.lock);
  json_t *body = json_pack("{s:i}", "thread", (int)idx);
  httpd_respond_json(resp, 200, body);
}

struct pool_client {
  int port;
  resp_t r;
  int rc;
};

static void *pool_client_run(void *arg) {
  struct pool_client *pc = arg;
  client_t *c = client_open(pc->port);
  client_sends(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
  pc->rc = client_read(c, &pc->r, 0);
  client_close(c);
  return NULL;
}

static void test_thread_pool(void **state) {
  (void)state;
  char err[256];
  httpd_opts_t o = {.addr = "127.0.0.1:0", .threads = POOL};
  httpd_t *h = httpd_new(&o, err, sizeof(err));
  assert_non_null(h);
  assert_int_equal(httpd_route(h, "GET", "/block", 0, 0, on_block, NULL, err, sizeof(err)), 0);
  assert_int_equal(httpd_start(h, err, sizeof(err)), 0);
  assert_int_equal(httpd_thread_index(), 0); /* outside a handler */

  struct pool_client *pcs = calloc(POOL, sizeof(*pcs));
  pthread_t t[POOL];
  for (int i = 0; i < POOL; i++) {
    pcs[i].port = httpd_port(h);
    assert_int_equal(pthread_create(&t[i], NULL, pool_client_run, &pcs[i]), 0);
    /* the next client connects only once this one's handler holds a thread */
    struct timespec until = deadline(20);
    pthread_mutex_lock(&pool.lock);
    while (pool.inside < i + 1 && pthread_cond_timedwait(&pool.cond, &pool.lock, &until) == 0) {
    }
    int inside = pool.inside;
    pthread_mutex_unlock(&pool.lock);
    if (inside < i + 1)
      fail_msg("only %d of %d requests are being served at once", inside, i + 1);
  }
  pthread_mutex_lock(&pool.lock);
  pool.release = 1;
  pthread_cond_broadcast(&pool.cond);
  pthread_mutex_unlock(&pool.lock);
  unsigned mask = 0;
  for (int i = 0; i < POOL; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(pcs[i].rc, 0);
    assert_int_equal(pcs[i].r.status, 200);
    assert_true(pool.seen[i] < POOL);
    mask |= 1u << pool.seen[i];
  }
  assert_int_equal(mask, (1u << POOL) - 1); /* four threads, indices 0..3, each once */
  free(pcs);
  httpd_destroy(h);
}

/* ---- lifecycle and errors ------------------------------------------------ */

static void test_errors(void **state) {
  (void)state;
  char err[256];
  httpd_opts_t o = {.addr = "127.0.0.1:0"};
  static const char *const bad_addrs[] = {"no-port", "127.0.0.1:70000", "::1:80",
                                          "1.2.3.4:", "[::1]80"};
  for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
    o.addr = bad_addrs[i];
    err[0] = '\0';
    assert_null(httpd_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, bad_addrs[i]));
  }
  o.addr = NULL;
  assert_null(httpd_new(&o, err, sizeof(err)));

  o.addr = "127.0.0.1:0";
  httpd_t *a = httpd_new(&o, err, sizeof(err));
  assert_non_null(a);
  assert_int_equal(httpd_route(a, "GET", "/x", 0, 0, on_nothing, NULL, err, sizeof(err)), 0);
  assert_int_equal(httpd_route(a, "GET", "/x", 0, 0, on_nothing, NULL, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "duplicate"));
  assert_int_equal(httpd_route(a, "get", "/y", 0, 0, on_nothing, NULL, err, sizeof(err)), -1);
  assert_int_equal(httpd_route(a, "GET", "y", 0, 0, on_nothing, NULL, err, sizeof(err)), -1);
  assert_int_equal(httpd_route(a, "GET", "/y?q", 0, 0, on_nothing, NULL, err, sizeof(err)), -1);
  assert_int_equal(httpd_route(a, "GET", "/y", 0, 0, NULL, NULL, err, sizeof(err)), -1);
  assert_int_equal(httpd_start(a, err, sizeof(err)), 0);
  assert_int_equal(httpd_start(a, err, sizeof(err)), -1);
  assert_int_equal(httpd_route(a, "GET", "/z", 0, 0, on_nothing, NULL, err, sizeof(err)), -1);

  /* the port in use is an error with the reason, not a second listener */
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", httpd_port(a));
  o.addr = addr;
  httpd_t *b = httpd_new(&o, err, sizeof(err));
  assert_non_null(b);
  assert_int_equal(httpd_start(b, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "in use"));
  assert_int_equal(httpd_port(b), -1);
  httpd_destroy(b);

  /* an address that is not local */
  o.addr = "192.0.2.1:0";
  b = httpd_new(&o, err, sizeof(err));
  assert_non_null(b);
  assert_int_equal(httpd_start(b, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "192.0.2.1"));
  httpd_destroy(b);

  /* IPv6 loopback where the host has it */
  o.addr = "[::1]:0";
  b = httpd_new(&o, err, sizeof(err));
  if (b && httpd_start(b, err, sizeof(err)) == 0)
    assert_true(httpd_port(b) > 0);
  httpd_destroy(b);

  httpd_destroy(a);
  httpd_destroy(NULL);
  assert_int_equal(httpd_port(NULL), -1);
}

static void test_destroy_idle(void **state) {
  (void)state;
  int port;
  httpd_t *h = start_server(POOL, &port);
  resp_t *r = calloc(1, sizeof(*r));
  /* idle keep-alive connections, one mid-request (headers sent, body not) */
  client_t *idle = client_open(port), *half = client_open(port);
  client_sends(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(client_read(idle, r, 0), 0);
  assert_int_equal(r->status, 200);
  client_sends(half, "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc");
  client_t *never = client_open(port); /* connected, sent nothing */
  httpd_destroy(h);                    /* returns although clients hold connections */
  assert_true(client_closed(idle));
  assert_true(client_closed(never));
  client_close(idle);
  client_close(half);
  client_close(never);

  /* a server that was never started */
  char err[256];
  httpd_opts_t o = {.addr = ":0"};
  h = httpd_new(&o, err, sizeof(err));
  assert_non_null(h);
  assert_int_equal(httpd_route(h, "GET", "/x", 0, 0, on_nothing, NULL, err, sizeof(err)), 0);
  httpd_destroy(h);
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_routing, server_up, server_down),
      cmocka_unit_test_setup_teardown(test_json, server_up, server_down),
      cmocka_unit_test_setup_teardown(test_body_limits, server_up, server_down),
      cmocka_unit_test_setup_teardown(test_handler_responses, server_up, server_down),
      cmocka_unit_test_setup_teardown(test_keepalive, server_up, server_down),
      cmocka_unit_test(test_thread_pool),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_destroy_idle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
