/* httpd — the one HTTP server of every program: /metrics, /healthz and
 * /readyz (registered by metrics_routes()) next to whatever routes a program
 * registers (risk-svc's API), on libmicrohttpd.
 *
 * Threads: libmicrohttpd's own, each running an epoll event loop. With
 * opts.threads <= 1 one internal thread runs the loop and every handler; with
 * threads = N a pool of N threads each runs its own loop, and a connection
 * stays on the thread that accepted it. A handler may therefore run
 * concurrently with itself and with other handlers: handlers must be
 * thread-safe, and a handler that blocks stalls every connection of its
 * thread. httpd_thread_index() tells a handler which thread it is on
 * (0..N-1), for per-thread state such as a Redis connection. Routes are
 * registered before httpd_start() and never change afterwards.
 *
 * Requests: routes match by method and exact path (the query string is not
 * part of the path; percent-escapes are decoded first). HEAD is served by the
 * GET route unless a HEAD route exists (the body is then not sent). An
 * unknown path is answered 404, a known path with another method 405 with an
 * Allow header. A body larger than the route's limit is answered 413 and
 * the handler never runs. Most clients send a whole body before reading, so
 * the body is read and dropped and 413 answered after it, keeping the
 * connection, up to 1 MiB past the limit: a longer chunked body has the
 * connection closed there, and a Content-Length more than 1 MiB over (or any
 * over, with "Expect: 100-continue") is answered at once and the connection
 * closed after the answer. A route flagged HTTPD_JSON
 * gets its body parsed (jsonf: strict JSON, depth-limited) and a malformed
 * body is answered 400 invalid_json without calling the handler. Connections
 * are kept alive (HTTP/1.1) until idle for opts.idle_timeout_s.
 *
 * Every error body the server writes is JSON,
 * {"error":{"code","message","path"}}, with path null (it names a place in
 * the request body, which only a handler knows). Requests that are not HTTP
 * (a broken request line, bad chunk framing, headers over 32 KiB) are
 * refused by libmicrohttpd itself with its own small HTML body.
 *
 * Nothing of a request body or of header values is ever logged; library code
 * does not log at all. A request costs no allocation here beyond
 * libmicrohttpd's response object and the JSON values of the request and of
 * the response: bodies are kept in per-connection buffers reused across
 * keep-alive requests.
 */
#ifndef SENSORY_NET_HTTPD_H
#define SENSORY_NET_HTTPD_H

#include <jansson.h>
#include <stddef.h>

typedef struct httpd httpd_t;

typedef struct httpd_opts {
  const char *addr;        /* "host:port", "[v6]:port", ":port" (every IPv4 interface);
                              port 0 picks a free one */
  unsigned threads;        /* event-loop threads; 0 or 1: one */
  size_t max_body;         /* default body limit of routes (0: 64 KiB) */
  unsigned max_conns;      /* concurrent connections (0: 1024) */
  unsigned idle_timeout_s; /* an idle keep-alive connection is closed after this (0: 30) */
  int json_max_depth;      /* nesting limit of HTTPD_JSON bodies (0: 32) */
} httpd_opts_t;

typedef struct httpd_request {
  const char *method; /* "GET", "POST", ... ("HEAD" when a GET route serves HEAD) */
  const char *path;   /* without the query string */
  const char *body;   /* NUL-terminated copy of the body ("" when none) */
  size_t body_len;
  json_t *json; /* HTTPD_JSON routes: the parsed body, borrowed for the call */
  void *conn;   /* for httpd_header() and httpd_query() */
} httpd_request_t;

/* A response the handler fills, owned by the server and valid during the
 * call. status defaults to 200 with an empty body; set a body with the
 * httpd_respond_* helpers. */
typedef struct httpd_response httpd_response_t;

typedef void (*httpd_handler_fn)(void *ctx, const httpd_request_t *req, httpd_response_t *resp);

enum { HTTPD_JSON = 1 };

/* Creates a server for opts (copied; addr is parsed and resolved now). Does
 * not listen. Caller owns the result (httpd_destroy). NULL with errstr on a
 * bad address or allocation failure. */
httpd_t *httpd_new(const httpd_opts_t *opts, char *errstr, size_t errstr_size);

/* Registers handler for method and exact path (copied; path starts with '/').
 * flags: HTTPD_JSON or 0; max_body 0 takes the server's default. ctx is
 * passed to every call and must outlive the server. Returns 0, or -1
 * (errstr) when started already, on a duplicate route, a bad method or path,
 * or allocation failure. */
int httpd_route(httpd_t *h, const char *method, const char *path, int flags, size_t max_body,
                httpd_handler_fn handler, void *ctx, char *errstr, size_t errstr_size);

/* Starts listening and serving on the server's threads. Returns 0, or -1
 * with errstr (address in use, not local, already started). */
int httpd_start(httpd_t *h, char *errstr, size_t errstr_size);

/* The bound port once started, else -1. */
int httpd_port(const httpd_t *h);

/* Stops serving (waits for running handlers, closes every connection) and
 * frees; NULL and a server never started are accepted. Not from a handler. */
void httpd_destroy(httpd_t *h);

/* Inside a handler: the thread it runs on, 0..threads-1 (0 elsewhere). */
unsigned httpd_thread_index(void);

/* A request header (case-insensitive name) or query argument, NULL when
 * absent. Valid during the handler call. */
const char *httpd_header(const httpd_request_t *req, const char *name);
const char *httpd_query(const httpd_request_t *req, const char *name);

/* Response helpers; each replaces a status and body set before. status must
 * be 200..599. Return 0, or -1 on allocation failure or a bad argument: any
 * -1 makes the server answer 500 internal_error instead of this response. */
int httpd_respond_json(httpd_response_t *resp, int status, json_t *body /* stolen, NULL: -1 */);
/* content_type (copied, < 128 bytes) may be NULL for none; text (copied) may
 * be NULL for an empty body. */
int httpd_respond_text(httpd_response_t *resp, int status, const char *content_type,
                       const char *text);
/* {"error":{"code":code,"message":message,"path":path or null}}. message and
 * path must not quote request values. */
int httpd_respond_error(httpd_response_t *resp, int status, const char *code, const char *message,
                        const char *path);
/* Adds a response header (copied), e.g. Retry-After. At most 16 per
 * response, 2 KiB in all. The server's own headers (Content-Type,
 * Content-Length, Transfer-Encoding, Connection, Date) are refused, as are
 * names that are not HTTP tokens and values with CR, LF or NUL. */
int httpd_respond_header(httpd_response_t *resp, const char *name, const char *value);

#endif
