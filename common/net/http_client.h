/* http_client — the small libcurl client every program that calls an HTTP API
 * uses (scraper sources, the Snowflake and Weaviate stores): timeouts,
 * retries with jittered exponential back-off on 429, 5xx and transport
 * errors (honouring Retry-After), a per-client request rate limit and a cap
 * on the body size. One client per caller; not thread-safe.
 */
#ifndef SENSORY_NET_HTTP_CLIENT_H
#define SENSORY_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_client http_client_t;

typedef struct http_client_opts {
  long timeout_ms; /* whole request */
  long connect_timeout_ms;
  int retries;     /* extra attempts after the first */
  long backoff_ms; /* first back-off, doubled per retry */
  long backoff_max_ms;
  long retry_after_max_s; /* a longer Retry-After gives up instead of waiting */
  double rate_per_sec;    /* <= 0: unlimited */
  size_t max_body;        /* responses larger than this fail */
  const char *user_agent; /* borrowed; NULL: "sensory/<version>" */
} http_client_opts_t;

typedef struct http_resp {
  long status; /* last HTTP status, 0 when no response */
  char *body;  /* NUL-terminated, owned; NULL when none */
  size_t len;
  char *link; /* the Link header of the final response, or NULL */
} http_resp_t;

enum { HTTP_CLIENT_OK = 0, HTTP_CLIENT_FAILED = -1, HTTP_CLIENT_UNREACHABLE = -2 };

/* Counters of one client, for the run's metrics. */
typedef struct http_client_stats {
  uint64_t requests, retries, throttled, errors;
} http_client_stats_t;

/* Creates a client; opts is copied. Caller owns the result (http_client_destroy).
 * NULL with errstr when libcurl cannot be initialised. */
http_client_t *http_client_new(const http_client_opts_t *opts, char *errstr, size_t errstr_size);

/* Frees a client; NULL is accepted. */
void http_client_destroy(http_client_t *h);

/* Sends method ("GET", "POST", "PUT", "DELETE", ...) to url with headers
 * (NULL-terminated array of "Name: value", may be NULL) and body (NULL for
 * none). Retries 429, 5xx and transport errors. Returns HTTP_CLIENT_OK for a
 * 2xx with resp filled; HTTP_CLIENT_FAILED for another status (resp->status
 * and resp->body tell which and why) or an oversized body;
 * HTTP_CLIENT_UNREACHABLE when retries ran out on transport errors, 429 or
 * 5xx. Free resp with http_resp_free in every case. errstr never holds header
 * values (tokens). */
int http_client_request(http_client_t *h, const char *method, const char *url,
                        const char *const *headers, const char *body, http_resp_t *resp,
                        char *errstr, size_t errstr_size);

/* Same as http_client_request, but every retry goes to retry_url instead of
 * url (NULL: url): an API whose requests carry an idempotency key marks a
 * resubmission in the URL, so the server answers it from the first
 * execution instead of running it again (Snowflake's
 * `?requestId=ID&retry=true`). */
int http_client_request_retry(http_client_t *h, const char *method, const char *url,
                              const char *retry_url, const char *const *headers, const char *body,
                              http_resp_t *resp, char *errstr, size_t errstr_size);

/* Frees what a request put into resp; NULL-safe, resp is zeroed. */
void http_resp_free(http_resp_t *resp);

/* The client's counters. */
http_client_stats_t http_client_stats(const http_client_t *h);

/* Finds the rel="next" target of an RFC 8288 Link header value, e.g.
 * `<https://x/orders.json?page_info=abc&limit=2>; rel="next", <…>; rel="previous"`,
 * and copies the URL exactly as given into out. Returns 1 when found, 0 when
 * there is no next link, -1 when it does not fit out_size. */
int http_link_next(const char *link, char *out, size_t out_size);

/* Parses a Retry-After value (delta seconds or an HTTP date) relative to
 * now_s. Returns seconds to wait (>= 0) or -1 when unparsable. */
long http_retry_after_parse(const char *value, long now_s);

/* Percent-encodes s (RFC 3986 unreserved kept) into out. Returns 0, or -1 when
 * it does not fit. */
int http_url_escape(const char *s, char *out, size_t out_size);

#endif
