/* risk_http — httpd routes bound to risk_api (see risk_http.h). */
#include "risk_http.h"

#include <stdio.h>
#include <stdlib.h>

#include "net/httpd.h"

struct risk_http {
  httpd_t *h;
};

static void reply(httpd_response_t *resp, risk_api_response_t *out) {
  if (httpd_respond_json(resp, out->status, out->body) != 0)
    return; /* the server answers 500 */
  if (out->retry_after > 0) {
    char v[16];
    snprintf(v, sizeof(v), "%d", out->retry_after);
    httpd_respond_header(resp, "Retry-After", v);
  }
  if (out->authenticate)
    httpd_respond_header(resp, "WWW-Authenticate", "Bearer");
}

static void request_of(const httpd_request_t *req, risk_api_request_t *r) {
  r->method = req->method;
  r->x_api_key = httpd_header(req, "X-API-Key");
  r->authorization = httpd_header(req, "Authorization");
  r->body = req->json;
  r->thread = httpd_thread_index();
}

static void on_score(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  risk_api_request_t r;
  risk_api_response_t out;
  request_of(req, &r);
  risk_api_score(ctx, &r, &out);
  reply(resp, &out);
}

static void on_blacklist(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  risk_api_request_t r;
  risk_api_response_t out;
  request_of(req, &r);
  risk_api_blacklist(ctx, &r, &out);
  reply(resp, &out);
}

risk_http_t *risk_http_start(const char *addr, unsigned threads, size_t max_body, risk_api_t *api,
                             char *errstr, size_t errstr_size) {
  risk_http_t *h = calloc(1, sizeof(*h));
  httpd_opts_t o = {.addr = addr, .threads = threads, .max_body = max_body};
  if (!h || !(h->h = httpd_new(&o, errstr, errstr_size)) ||
      httpd_route(h->h, "POST", "/api/v1/risk-score", HTTPD_JSON, 0, on_score, api, errstr,
                  errstr_size) != 0 ||
      httpd_route(h->h, "PUT", "/api/v1/blacklist", HTTPD_JSON, 0, on_blacklist, api, errstr,
                  errstr_size) != 0 ||
      httpd_route(h->h, "DELETE", "/api/v1/blacklist", HTTPD_JSON, 0, on_blacklist, api, errstr,
                  errstr_size) != 0 ||
      httpd_start(h->h, errstr, errstr_size) != 0) {
    if (!h)
      snprintf(errstr, errstr_size, "out of memory");
    risk_http_stop(h);
    return NULL;
  }
  return h;
}

int risk_http_port(const risk_http_t *h) {
  return httpd_port(h->h);
}

void risk_http_stop(risk_http_t *h) {
  if (!h)
    return;
  httpd_destroy(h->h);
  free(h);
}
