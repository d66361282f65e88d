/* httpd — owns a program's libmicrohttpd daemon: the route table, the state
 * of each connection (the request body being read, the response being
 * built, both reused across keep-alive requests), the answers the server
 * gives by itself (404, 405, 413, 400 invalid_json, 500) and the thread
 * index of the event-loop threads. libmicrohttpd calls on_request() once
 * with the headers, once per piece of body, and once more when the request
 * is complete; the handler runs in that last call.
 */
#include "net/httpd.h"
#include "core/array.h"

#include "json/jsonf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY ((size_t)64 << 10)
#define MAX_BODY_CAP ((size_t)1 << 30)
/* A body over the limit is read on (and dropped) this far so the client,
 * which sends before it reads, gets its 413; then we hang up. */
#define DRAIN_MAX ((size_t)1 << 20)
/* Buffers that grew past this for one large request are freed before the
 * next, so 1,000 idle keep-alive connections do not each hold 64 KiB. */
#define KEEP_BUF ((size_t)16 << 10)
#define MAX_HEADERS 16
#define HEADER_ARENA 2048
#define METHOD_MAX 16
#define ALLOW_MAX 128
#define CTYPE_MAX 128

typedef struct route {
  char method[METHOD_MAX];
  char *path; /* owned */
  size_t path_len;
  int flags;
  size_t max_body;
  httpd_handler_fn fn;
  void *ctx;
  char allow[ALLOW_MAX]; /* every method of this path, filled by httpd_start */
} route_t;

struct httpd_response {
  int status;
  int failed;        /* a helper returned -1: answer 500 instead */
  const char *ctype; /* a literal or ctype_buf; NULL for none */
  char ctype_buf[CTYPE_MAX];
  jsonf_buf_t body; /* owned by the connection; the queued response points into it */
  unsigned nhdr;
  unsigned short hdr_name[MAX_HEADERS], hdr_value[MAX_HEADERS]; /* offsets into arena */
  size_t arena_len;
  char arena[HEADER_ARENA];
};

enum { ERR_NONE = 0, ERR_NOT_FOUND = 404, ERR_METHOD = 405, ERR_TOO_LARGE = 413, ERR_OOM = 500 };

typedef struct conn {
  httpd_t *h;
  const route_t *route;     /* the matched route, NULL on 404/405 */
  const route_t *same_path; /* 405: a route of this path, for its Allow */
  int error;                /* answered without the handler: ERR_* */
  size_t limit;             /* body limit of this request */
  size_t body_len, dropped; /* bytes kept / read and dropped (after an error) */
  char *body;               /* owned, NUL-terminated when handed out */
  size_t body_cap;
  httpd_response_t resp;
} conn_t;

struct httpd {
  httpd_opts_t opts;
  char *addr; /* owned copy of opts.addr, for messages */
  struct sockaddr_storage sa;
  socklen_t sa_len;
  route_t *routes; /* owned */
  size_t nroutes, cap;
  struct MHD_Daemon *daemon;
  int port;
  _Atomic unsigned next_thread;
};

static const char json_ctype[] = "application/json";
static const char oom_body[] =
    "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\",\"path\":null}}";

/* ---- threads ------------------------------------------------------------ */

/* Each event-loop thread takes the next index the first time it serves a
 * request of its server. Threads are libmicrohttpd's and die with the
 * daemon, so a (server, index) pair never outlives the server. */
static __thread const httpd_t *tls_server;
static __thread unsigned tls_index;

static void claim_thread(httpd_t *h) {
  if (tls_server != h) {
    tls_index = atomic_fetch_add_explicit(&h->next_thread, 1, memory_order_relaxed);
    tls_server = h;
  }
}

unsigned httpd_thread_index(void) {
  return tls_index;
}

/* ---- responses ---------------------------------------------------------- */

static void resp_reset(httpd_response_t *r) {
  r->status = 200;
  r->failed = 0;
  r->ctype = NULL;
  r->body.len = 0;
  r->nhdr = 0;
  r->arena_len = 0;
}

static int resp_fail(httpd_response_t *r) {
  r->failed = 1;
  return -1;
}

static int valid_status(int status) {
  return status >= 200 && status <= 599;
}

int httpd_respond_json(httpd_response_t *resp, int status, json_t *body) {
  if (!resp || !body || !valid_status(status)) {
    json_decref(body);
    return resp ? resp_fail(resp) : -1;
  }
  resp->body.len = 0;
  int rc = jsonf_dump(body, &resp->body);
  json_decref(body);
  if (rc < 0)
    return resp_fail(resp);
  resp->status = status;
  resp->ctype = json_ctype;
  return 0;
}

int httpd_respond_text(httpd_response_t *resp, int status, const char *content_type,
                       const char *text) {
  if (!resp)
    return -1;
  size_t clen = content_type ? strlen(content_type) : 0;
  if (!valid_status(status) || clen >= CTYPE_MAX || (content_type && strpbrk(content_type, "\r\n")))
    return resp_fail(resp);
  resp->body.len = 0;
  if (text && jsonf_buf_append(&resp->body, text, strlen(text)) < 0)
    return resp_fail(resp);
  resp->status = status;
  resp->ctype = NULL;
  if (content_type) {
    memcpy(resp->ctype_buf, content_type, clen + 1);
    resp->ctype = resp->ctype_buf;
  }
  return 0;
}

#define APPEND_LIT(b, lit) jsonf_buf_append((b), (lit), sizeof(lit) - 1)

int httpd_respond_error(httpd_response_t *resp, int status, const char *code, const char *message,
                        const char *path) {
  if (!resp)
    return -1;
  if (!valid_status(status) || !code || !message)
    return resp_fail(resp);
  jsonf_buf_t *b = &resp->body;
  b->len = 0;
  if (APPEND_LIT(b, "{\"error\":{\"code\":") < 0 || jsonf_dump_string(code, strlen(code), b) < 0 ||
      APPEND_LIT(b, ",\"message\":") < 0 || jsonf_dump_string(message, strlen(message), b) < 0 ||
      APPEND_LIT(b, ",\"path\":") < 0 ||
      (path ? jsonf_dump_string(path, strlen(path), b) : APPEND_LIT(b, "null")) < 0 ||
      APPEND_LIT(b, "}}") < 0)
    return resp_fail(resp);
  resp->status = status;
  resp->ctype = json_ctype;
  return 0;
}

/* RFC 9110 token characters. */
static int is_token(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= ' ' || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
      return 0;
  }
  return 1;
}

int httpd_respond_header(httpd_response_t *resp, const char *name, const char *value) {
  static const char *const reserved[] = {"Content-Type", "Content-Length", "Transfer-Encoding",
                                         "Connection", "Date"};
  if (!resp)
    return -1;
  if (!name || !value || !is_token(name) || strpbrk(value, "\r\n"))
    return resp_fail(resp);
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
    if (strcasecmp(name, reserved[i]) == 0)
      return resp_fail(resp);
  size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
  if (resp->nhdr == MAX_HEADERS || nl + vl > HEADER_ARENA - resp->arena_len)
    return resp_fail(resp);
  resp->hdr_name[resp->nhdr] = (unsigned short)resp->arena_len;
  memcpy(resp->arena + resp->arena_len, name, nl);
  resp->arena_len += nl;
  resp->hdr_value[resp->nhdr] = (unsigned short)resp->arena_len;
  memcpy(resp->arena + resp->arena_len, value, vl);
  resp->arena_len += vl;
  resp->nhdr++;
  return 0;
}

/* Queues c's response. The body is handed to libmicrohttpd without a copy:
 * it stays untouched until the next request of this connection, which
 * libmicrohttpd reads only after this response is sent. */
static enum MHD_Result send_response(struct MHD_Connection *mc, conn_t *c) {
  httpd_response_t *resp = &c->resp;
  const char *body = resp->body.data;
  size_t len = resp->body.len;
  int status = resp->status;
  if (resp->failed) {
    resp->nhdr = 0; /* whatever the handler set belongs to the response that failed */
    resp->failed = 0;
    if (httpd_respond_error(resp, 500, "internal_error", "the response could not be built", NULL) ==
        0) {
      body = resp->body.data;
      len = resp->body.len;
    } else {
      body = oom_body;
      len = sizeof(oom_body) - 1;
      resp->ctype = json_ctype;
    }
    status = 500;
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, len ? (void *)body : (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO; /* out of memory: dropping the connection is all that is left */
  int ok = !resp->ctype ||
           MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype) == MHD_YES;
  for (unsigned i = 0; ok && i < resp->nhdr; i++)
    ok = MHD_add_response_header(r, resp->arena + resp->hdr_name[i],
                                 resp->arena + resp->hdr_value[i]) == MHD_YES;
  enum MHD_Result ret = ok ? MHD_queue_response(mc, (unsigned)status, r) : MHD_NO;
  MHD_destroy_response(r);
  return ret;
}

/* Fills c's response with one of the server's own errors. */
static void server_error(conn_t *c, int err) {
  httpd_response_t *resp = &c->resp;
  char msg[96];
  resp_reset(resp);
  switch (err) {
  case ERR_NOT_FOUND:
    httpd_respond_error(resp, 404, "not_found", "no route for this path", NULL);
    break;
  case ERR_METHOD:
    httpd_respond_error(resp, 405, "method_not_allowed", "this path does not take this method",
                        NULL);
    httpd_respond_header(resp, MHD_HTTP_HEADER_ALLOW, c->same_path->allow);
    break;
  case ERR_TOO_LARGE:
    snprintf(msg, sizeof(msg), "request body over the limit of %zu bytes", c->limit);
    httpd_respond_error(resp, 413, "payload_too_large", msg, NULL);
    break;
  default:
    resp_fail(resp);
    break;
  }
}

/* ---- requests ----------------------------------------------------------- */

static const route_t *find_route(const httpd_t *h, const char *method, const char *path,
                                 const route_t **same_path) {
  size_t plen = strlen(path);
  const route_t *get = NULL;
  *same_path = NULL;
  for (size_t i = 0; i < h->nroutes; i++) {
    const route_t *r = &h->routes[i];
    if (r->path_len != plen || memcmp(r->path, path, plen) != 0)
      continue;
    *same_path = r;
    if (strcmp(r->method, method) == 0)
      return r;
    if (strcmp(r->method, "GET") == 0)
      get = r;
  }
  return get && strcmp(method, "HEAD") == 0 ? get : NULL;
}

/* Readies c for a new request: buffers a large request left behind are
 * freed (the response that pointed into them has been sent). */
static void begin(conn_t *c, const char *method, const char *url) {
  if (c->body_cap > KEEP_BUF) {
    free(c->body);
    c->body = NULL;
    c->body_cap = 0;
  }
  if (c->resp.body.cap > KEEP_BUF)
    jsonf_buf_free(&c->resp.body);
  resp_reset(&c->resp);
  c->body_len = c->dropped = 0;
  c->route = find_route(c->h, method, url, &c->same_path);
  c->error = c->route ? ERR_NONE : c->same_path ? ERR_METHOD : ERR_NOT_FOUND;
  c->limit = c->route ? c->route->max_body : c->h->opts.max_body;
}

/* Takes n body bytes: kept while under the limit, else counted and dropped.
 * Returns 0, or -1 when the connection should be closed. */
static int take_body(conn_t *c, const char *data, size_t n) {
  if (c->error == ERR_NONE) {
    if (n > c->limit - c->body_len) {
      c->error = ERR_TOO_LARGE;
      c->dropped = c->body_len;
    } else {
      size_t need = c->body_len + n + 1; /* + the NUL */
      if (need > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 1024;
        while (cap < need)
          cap *= 2;
        char *nb = realloc(c->body, cap);
        if (!nb) {
          c->error = ERR_OOM;
        } else {
          c->body = nb;
          c->body_cap = cap;
        }
      }
      if (c->error == ERR_NONE) {
        memcpy(c->body + c->body_len, data, n);
        c->body_len += n;
        return 0;
      }
    }
  }
  c->dropped += n;
  return c->dropped > c->limit + DRAIN_MAX ? -1 : 0;
}

/* The request is complete: run the route's handler or answer an error. */
static enum MHD_Result finish(struct MHD_Connection *mc, conn_t *c, const char *method,
                              const char *url) {
  if (c->error != ERR_NONE) {
    server_error(c, c->error);
    return send_response(mc, c);
  }
  const route_t *rt = c->route;
  httpd_request_t req = {.method = method,
                         .path = url,
                         .body = c->body_len ? c->body : "",
                         .body_len = c->body_len,
                         .conn = mc};
  if (c->body_len)
    c->body[c->body_len] = '\0'; /* take_body kept room for it */
  if (rt->flags & HTTPD_JSON) {
    char err[160];
    req.json = jsonf_parse(req.body, req.body_len, c->h->opts.json_max_depth, err, sizeof(err));
    if (!req.json) {
      /* jsonf's reason never quotes the input; "out of memory" is ours */
      if (strstr(err, ": out of memory"))
        resp_fail(&c->resp);
      else
        httpd_respond_error(&c->resp, 400, "invalid_json", err, NULL);
      return send_response(mc, c);
    }
  }
  rt->fn(rt->ctx, &req, &c->resp);
  json_decref(req.json);
  return send_response(mc, c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_ctx) {
  httpd_t *h = cls;
  conn_t *c = *req_ctx;
  (void)version;
  if (!c) { /* first call: the headers are in */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    c = ci ? ci->socket_context : NULL;
    if (!c)
      return MHD_NO; /* its state could not be allocated: drop the connection */
    *req_ctx = c;
    claim_thread(h);
    begin(c, method, url);
    /* libmicrohttpd has validated Content-Length. A body announced over the
     * limit is answered now when the client waits for "100 Continue" or the
     * body is too large to drain (libmicrohttpd then closes the connection
     * after the answer); else it is read, dropped and answered after, since
     * most clients send the whole body before they read. */
    const char *cl =
        MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
    if (announced > c->limit) {
      if (c->error == ERR_NONE)
        c->error = ERR_TOO_LARGE;
      if (announced - c->limit > DRAIN_MAX ||
          MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT)) {
        server_error(c, c->error);
        return send_response(mc, c);
      }
    }
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    return take_body(c, upload, n) == 0 ? MHD_YES : MHD_NO;
  }
  return finish(mc, c, method, url);
}

/* Per-connection state lives from accept to close. */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code) {
  (void)mc;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    conn_t *c = calloc(1, sizeof(*c)); /* owned by the connection, freed on close */
    if (c)
      c->h = cls;
    *socket_ctx = c;
    return;
  }
  conn_t *c = *socket_ctx;
  if (c) {
    free(c->body);
    jsonf_buf_free(&c->resp.body);
    free(c);
  }
  *socket_ctx = NULL;
}

/* ---- server ------------------------------------------------------------- */

/* Splits "host:port" / "[v6]:port" / ":port" into host (may be "") and port. */
static int split_addr(const char *addr, char *host, size_t host_size, long *port) {
  const char *colon;
  size_t hlen;
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (!close || close[1] != ':')
      return -1;
    hlen = (size_t)(close - addr - 1);
    colon = close + 1;
    if (hlen >= host_size)
      return -1;
    memcpy(host, addr + 1, hlen);
  } else {
    colon = strrchr(addr, ':');
    if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
      return -1; /* a bare IPv6 address needs brackets */
    hlen = (size_t)(colon - addr);
    if (hlen >= host_size)
      return -1;
    memcpy(host, addr, hlen);
  }
  host[hlen] = '\0';
  char *end;
  errno = 0;
  *port = strtol(colon + 1, &end, 10);
  if (errno || end == colon + 1 || *end || *port < 0 || *port > 65535)
    return -1;
  return 0;
}

httpd_t *httpd_new(const httpd_opts_t *opts, char *errstr, size_t errstr_size) {
  char host[256], portstr[8];
  long port;
  if (!opts || !opts->addr) {
    snprintf(errstr, errstr_size, "httpd: no listen address");
    return NULL;
  }
  if (split_addr(opts->addr, host, sizeof(host), &port) == -1) {
    snprintf(errstr, errstr_size,
             "httpd: bad listen address \"%s\": expected host:port, [ipv6]:port or :port",
             opts->addr);
    return NULL;
  }
  if (opts->max_body > MAX_BODY_CAP) {
    snprintf(errstr, errstr_size, "httpd: body limit over %zu bytes", MAX_BODY_CAP);
    return NULL;
  }
  snprintf(portstr, sizeof(portstr), "%ld", port);
  struct addrinfo hints = {0}, *res = NULL;
  /* ":port" is every IPv4 interface whatever gai.conf prefers ("[::]:port"
   * for IPv6), as every program's metrics.addr has always meant. */
  hints.ai_family = *host ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(*host ? host : NULL, portstr, &hints, &res);
  if (gai != 0 || !res) {
    snprintf(errstr, errstr_size, "httpd: cannot resolve \"%s\": %s", opts->addr,
             gai_strerror(gai));
    if (res)
      freeaddrinfo(res);
    return NULL;
  }
  httpd_t *h = calloc(1, sizeof(*h)); /* owned by the caller */
  if (!h || !(h->addr = strdup(opts->addr)) || res->ai_addrlen > sizeof(h->sa)) {
    freeaddrinfo(res);
    httpd_destroy(h);
    snprintf(errstr, errstr_size, "httpd: out of memory");
    return NULL;
  }
  memcpy(&h->sa, res->ai_addr, res->ai_addrlen);
  h->sa_len = res->ai_addrlen;
  freeaddrinfo(res);
  h->opts = *opts;
  h->opts.addr = h->addr;
  if (h->opts.threads == 0)
    h->opts.threads = 1;
  if (h->opts.max_body == 0)
    h->opts.max_body = DEFAULT_MAX_BODY;
  if (h->opts.max_conns == 0)
    h->opts.max_conns = 1024;
  if (h->opts.idle_timeout_s == 0)
    h->opts.idle_timeout_s = 30;
  if (h->opts.json_max_depth <= 0)
    h->opts.json_max_depth = 32;
  h->port = -1;
  return h;
}

static int valid_method(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n >= METHOD_MAX)
    return 0;
  for (; *m; m++)
    if (*m < 'A' || *m > 'Z')
      return 0;
  return 1;
}

int httpd_route(httpd_t *h, const char *method, const char *path, int flags, size_t max_body,
                httpd_handler_fn handler, void *ctx, char *errstr, size_t errstr_size) {
  if (!h || !handler || !method || !path) {
    snprintf(errstr, errstr_size, "httpd: route without server, method, path or handler");
    return -1;
  }
  if (h->daemon) {
    snprintf(errstr, errstr_size, "httpd: %s %s: routes are fixed once started", method, path);
    return -1;
  }
  if (!valid_method(method) || path[0] != '/' || strpbrk(path, "?# \t\r\n") ||
      max_body > MAX_BODY_CAP || (flags & ~HTTPD_JSON)) {
    snprintf(errstr, errstr_size, "httpd: bad route %s %s", method, path);
    return -1;
  }
  for (size_t i = 0; i < h->nroutes; i++) {
    if (strcmp(h->routes[i].method, method) == 0 && strcmp(h->routes[i].path, path) == 0) {
      snprintf(errstr, errstr_size, "httpd: duplicate route %s %s", method, path);
      return -1;
    }
  }
  if (array_reserve(&h->routes, &h->cap, h->nroutes + 1, sizeof(*h->routes), 8) != 0) {
    snprintf(errstr, errstr_size, "httpd: out of memory");
    return -1;
  }
  route_t *r = &h->routes[h->nroutes];
  memset(r, 0, sizeof(*r));
  if (!(r->path = strdup(path))) {
    snprintf(errstr, errstr_size, "httpd: out of memory");
    return -1;
  }
  memcpy(r->method, method, strlen(method) + 1);
  r->path_len = strlen(path);
  r->flags = flags;
  r->max_body = max_body ? max_body : h->opts.max_body;
  r->fn = handler;
  r->ctx = ctx;
  h->nroutes++;
  return 0;
}

/* Fills each route's Allow value: the methods of its path in registration
 * order, HEAD after GET when no HEAD route exists. */
static int fill_allow(httpd_t *h) {
  for (size_t i = 0; i < h->nroutes; i++) {
    route_t *r = &h->routes[i];
    int has_head = 0;
    size_t len = 0;
    for (size_t j = 0; j < h->nroutes; j++)
      if (strcmp(h->routes[j].path, r->path) == 0 && strcmp(h->routes[j].method, "HEAD") == 0)
        has_head = 1;
    r->allow[0] = '\0';
    for (size_t j = 0; j < h->nroutes; j++) {
      const route_t *o = &h->routes[j];
      if (strcmp(o->path, r->path) != 0)
        continue;
      int add_head = !has_head && strcmp(o->method, "GET") == 0;
      int n = snprintf(r->allow + len, sizeof(r->allow) - len, "%s%s%s", len ? ", " : "", o->method,
                       add_head ? ", HEAD" : "");
      if (n < 0 || (size_t)n >= sizeof(r->allow) - len)
        return -1;
      len += (size_t)n;
    }
  }
  return 0;
}

/* libmicrohttpd says only "no": bind a socket ourselves to learn why. */
static void explain_listen_failure(const httpd_t *h, char *errstr, size_t errstr_size) {
  int fd = socket(h->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1, err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&h->sa, h->sa_len) != 0)
      err = errno;
    close(fd);
  }
  if (err)
    snprintf(errstr, errstr_size, "httpd: cannot listen on %s: %s", h->addr, strerror(err));
  else
    snprintf(errstr, errstr_size, "httpd: cannot start serving on %s (threads, memory?)", h->addr);
}

int httpd_start(httpd_t *h, char *errstr, size_t errstr_size) {
  if (!h) {
    snprintf(errstr, errstr_size, "httpd: no server");
    return -1;
  }
  if (h->daemon) {
    snprintf(errstr, errstr_size, "httpd: already serving on port %d", h->port);
    return -1;
  }
  if (fill_allow(h) != 0) {
    snprintf(errstr, errstr_size, "httpd: too many methods on one path");
    return -1;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (h->sa.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  uint16_t port = ntohs(h->sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&h->sa)->sin6_port
                                                    : ((struct sockaddr_in *)&h->sa)->sin_port);
  struct MHD_OptionItem ops[] = {
      {MHD_OPTION_SOCK_ADDR, 0, &h->sa},
      {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)h->opts.max_conns, NULL},
      {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)h->opts.idle_timeout_s, NULL},
      {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h},
      /* the pool option last: left out for one thread */
      {h->opts.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
       (intptr_t)h->opts.threads, NULL},
      {MHD_OPTION_END, 0, NULL},
  };
  /* No MHD_USE_ERROR_LOG: library code does not write to stderr. */
  h->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, ops,
                               MHD_OPTION_END);
  if (!h->daemon) {
    explain_listen_failure(h, errstr, errstr_size);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info && info->port ? info->port : port;
  return 0;
}

int httpd_port(const httpd_t *h) {
  return h && h->daemon ? h->port : -1;
}

void httpd_destroy(httpd_t *h) {
  if (!h)
    return;
  if (h->daemon)
    MHD_stop_daemon(h->daemon);
  for (size_t i = 0; i < h->nroutes; i++)
    free(h->routes[i].path);
  free(h->routes);
  free(h->addr);
  free(h);
}

const char *httpd_header(const httpd_request_t *req, const char *name) {
  if (!req || !req->conn || !name)
    return NULL;
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_query(const httpd_request_t *req, const char *name) {
  if (!req || !req->conn || !name)
    return NULL;
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}
