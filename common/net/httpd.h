/* httpd — the one HTTP server of every program: /metrics, /healthz and
 * /readyz (registered by metrics_routes()) next to whatever routes a program
 * registers (risk-svc's API), on libmicrohttpd.
 *
 * Threads: libmicrohttpd's own. With opts.threads <= 1 one internal thread
 * runs the event loop and every handler; with threads = N a pool of N
 * threads each runs its own event loop (epoll). A handler may therefore run
 * concurrently with itself and with other handlers: handlers must be
 * thread-safe. httpd_thread_index() tells a handler which pool thread it is
 * on (0..N-1), for per-thread state such as a Redis connection. Routes are
 * registered before httpd_start() and never change afterwards.
 *
 * Requests: a body larger than the route's limit is answered 413 before the
 * handler runs (also when Content-Length announces it); a route flagged
 * HTTPD_JSON gets its body parsed (strict JSON, depth-limited) and a malformed
 * body is answered 400 invalid_json without calling the handler. An unknown
 * path is answered 404, a known path with another method 405 with an Allow
 * header. Every error body is JSON: {"error":{"code","message","path"}}.
 * Nothing of a request body or of header values is ever logged; library code
 * does not log at all.
 */
#ifndef SENSORY_NET_HTTPD_H
#define SENSORY_NET_HTTPD_H

#include <jansson.h>
#include <stddef.h>

typedef struct httpd httpd_t;

typedef struct httpd_opts {
  const char *addr;        /* "host:port", "[v6]:port", ":port"; port 0 picks a free one */
  unsigned threads;        /* event-loop threads; 0 or 1: one */
  size_t max_body;         /* default body limit of routes (0: 64 KiB) */
  unsigned max_conns;      /* concurrent connections (0: 1024) */
  unsigned idle_timeout_s; /* an idle keep-alive connection is closed after this (0: 30) */
} httpd_opts_t;

typedef struct httpd_request {
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* without the query string */
  const char *body;   /* NUL-terminated copy of the body ("" when none) */
  size_t body_len;
  json_t *json; /* HTTPD_JSON routes: the parsed body, borrowed for the call */
  void *conn;   /* for httpd_header() and httpd_query() */
} httpd_request_t;

/* A response the handler fills. status defaults to 200; the body is owned by
 * the response (set it with the httpd_respond_* helpers). */
typedef struct httpd_response httpd_response_t;

typedef void (*httpd_handler_fn)(void *ctx, const httpd_request_t *req, httpd_response_t *resp);

enum { HTTPD_JSON = 1 };

/* Creates a server for opts (copied; addr is parsed now). Does not listen.
 * Caller owns the result (httpd_destroy). NULL with errstr on a bad address
 * or allocation failure. */
httpd_t *httpd_new(const httpd_opts_t *opts, char *errstr, size_t errstr_size);

/* Registers handler for method and exact path. flags: HTTPD_JSON or 0;
 * max_body 0 takes the server's default. ctx is passed to every call and
 * must outlive the server. Returns 0, or -1 (errstr) when started already,
 * on a duplicate route or on allocation failure. */
int httpd_route(httpd_t *h, const char *method, const char *path, int flags, size_t max_body,
                httpd_handler_fn handler, void *ctx, char *errstr, size_t errstr_size);

/* Starts listening. Returns 0, or -1 with errstr (address in use, not
 * local, already started). */
int httpd_start(httpd_t *h, char *errstr, size_t errstr_size);

/* The bound port once started, else -1. */
int httpd_port(const httpd_t *h);

/* Stops serving (waits for running handlers) and frees; NULL is accepted. */
void httpd_destroy(httpd_t *h);

/* Inside a handler: the pool thread it runs on, 0..threads-1. */
unsigned httpd_thread_index(void);

/* A request header (case-insensitive name) or query argument, NULL when
 * absent. Valid during the handler call. */
const char *httpd_header(const httpd_request_t *req, const char *name);
const char *httpd_query(const httpd_request_t *req, const char *name);

/* Response helpers; each replaces a body set before. Return 0, or -1 on
 * allocation failure (the server then answers 500). */
int httpd_respond_json(httpd_response_t *resp, int status, json_t *body /* stolen */);
int httpd_respond_text(httpd_response_t *resp, int status, const char *content_type,
                       const char *text);
/* {"error":{"code":code,"message":message,"path":path or null}}. message and
 * path must not quote request values. */
int httpd_respond_error(httpd_response_t *resp, int status, const char *code, const char *message,
                        const char *path);
/* Adds a response header (copied), e.g. Retry-After. */
int httpd_respond_header(httpd_response_t *resp, const char *name, const char *value);

#endif
