/* scr_http — the small libcurl client every HTTP source uses: timeouts,
 * retries with jittered exponential back-off on 429, 5xx and transport
 * errors (honouring Retry-After), a per-client request rate limit and a cap
 * on the body size. One client per source; not thread-safe.
 */
#ifndef SCR_HTTP_H
#define SCR_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct scr_http scr_http_t;

typedef struct scr_http_opts {
  long timeout_ms; /* whole request */
  long connect_timeout_ms;
  int retries;     /* extra attempts after the first */
  long backoff_ms; /* first back-off, doubled per retry */
  long backoff_max_ms;
  long retry_after_max_s; /* a longer Retry-After gives up instead of waiting */
  double rate_per_sec;    /* <= 0: unlimited */
  size_t max_body;        /* responses larger than this fail */
} scr_http_opts_t;

typedef struct scr_http_resp {
  long status; /* last HTTP status, 0 when no response */
  char *body;  /* NUL-terminated, owned; NULL when none */
  size_t len;
  char *link; /* the Link header of the final response, or NULL */
} scr_http_resp_t;

enum { SCR_HTTP_OK = 0, SCR_HTTP_FAILED = -1, SCR_HTTP_UNREACHABLE = -2 };

/* Counters of one client, for the run's metrics. */
typedef struct scr_http_stats {
  uint64_t requests, retries, throttled, errors;
} scr_http_stats_t;

/* Creates a client; opts is copied. Caller owns the result (scr_http_destroy).
 * NULL with errstr when libcurl cannot be initialised. */
scr_http_t *scr_http_new(const scr_http_opts_t *opts, char *errstr, size_t errstr_size);

/* Frees a client; NULL is accepted. */
void scr_http_destroy(scr_http_t *h);

/* Sends method ("GET" or "POST") to url with headers (NULL-terminated array
 * of "Name: value", may be NULL) and body (NULL for none). Retries 429, 5xx and
 * transport errors. Returns SCR_HTTP_OK for a 2xx with resp filled (free with
 * scr_http_resp_free); SCR_HTTP_FAILED for another status or an oversized
 * body (resp->status tells which); SCR_HTTP_UNREACHABLE when retries ran out
 * on transport errors, 429 or 5xx. errstr never holds header values (tokens). */
int scr_http_request(scr_http_t *h, const char *method, const char *url, const char *const *headers,
                     const char *body, scr_http_resp_t *resp, char *errstr, size_t errstr_size);

/* Frees what a request put into resp; NULL-safe, resp is zeroed. */
void scr_http_resp_free(scr_http_resp_t *resp);

/* The client's counters. */
scr_http_stats_t scr_http_stats(const scr_http_t *h);

/* Finds the rel="next" target of an RFC 8288 Link header value, e.g.
 * `<https://x/orders.json?page_info=abc&limit=2>; rel="next", <…>; rel="previous"`,
 * and copies the URL exactly as given into out. Returns 1 when found, 0 when
 * there is no next link, -1 when it does not fit out_size. */
int scr_link_next(const char *link, char *out, size_t out_size);

/* Parses a Retry-After value (delta seconds or an HTTP date) relative to
 * now_s. Returns seconds to wait (>= 0) or -1 when unparsable. */
long scr_retry_after_parse(const char *value, long now_s);

/* Percent-encodes s (RFC 3986 unreserved kept) into out. Returns 0, or -1 when
 * it does not fit. */
int scr_url_escape(const char *s, char *out, size_t out_size);

#endif
