/* risk_api — the HTTP API of risk-svc as plain functions: authentication,
 * scopes and rate limit, the request contract, hashing the phone, reading the
 * customer's history, the rules, the answer, and the decision published to
 * risk.decisions. Independent of the HTTP server (risk_http.c binds these to
 * common/net/httpd.h routes) and of Redis (the store is a table of
 * callbacks), so every path is unit-tested without either.
 *
 * Errors are answered as {"error":{"code","message","path"}} with messages
 * that never quote the request. Nothing here logs.
 *
 * Threads: every function may run concurrently on many threads; req->thread
 * (the HTTP pool thread, 0..threads-1) is handed to the store so it can keep
 * one connection per thread.
 */
#ifndef RISK_API_H
#define RISK_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "net/metrics.h"
#include "privacy/pii.h"
#include "risk_auth.h"
#include "risk_rules.h"
#include "json/schema.h"

/* The customer's state, read and written by the API. Each callback returns 0,
 * or -1 when the store is unavailable (the API then answers degraded, or 503
 * for blacklist changes). phash is "<key_id>:<64 hex>". */
typedef struct risk_store {
  /* Fills the history counters, velocity (windows ending at now_ms) and
   * blacklisted of *f; leaves amount and cod alone. */
  int (*lookup)(void *ctx, unsigned thread, const char *phash, int64_t now_ms, risk_features_t *f);
  /* Puts the customer on the blacklist with a JSON note (reason, by, at);
   * ttl_s 0: no expiry. */
  int (*blacklist_put)(void *ctx, unsigned thread, const char *phash, const char *note,
                       int64_t ttl_s);
  /* Removes the customer; *removed 1 when an entry existed. */
  int (*blacklist_del)(void *ctx, unsigned thread, const char *phash, int *removed);
  void *ctx;
} risk_store_t;

/* Where decisions go. publish copies key and payload and returns 0 when
 * queued, -1 when dropped (queue full; it counts that itself). NULL publish:
 * decisions are not published. */
typedef struct risk_sink {
  int (*publish)(void *ctx, const char *key, size_t key_len, const char *payload, size_t len);
  void *ctx;
} risk_sink_t;

typedef struct risk_api_options {
  const risk_rules_t *rules;
  risk_keys_t *keys;
  const pii_hasher_t *hasher;
  const char *schemas_dir; /* risk_request.json, risk_blacklist_request.json */
  risk_store_t store;
  risk_sink_t sink;
  risk_fail_mode_t fail_mode;
  metrics_t *metrics; /* may be NULL */
} risk_api_options_t;

typedef struct risk_api risk_api_t;

/* Loads the request contracts and registers the metrics. Borrowed pointers in
 * o must outlive the API. NULL with errstr when a contract cannot be loaded. */
risk_api_t *risk_api_new(const risk_api_options_t *o, char *errstr, size_t errstr_size);

/* Frees; NULL is accepted. */
void risk_api_destroy(risk_api_t *a);

/* One request as the HTTP layer hands it over. */
typedef struct risk_api_request {
  const char *method;        /* "POST", "PUT", "DELETE" */
  const char *x_api_key;     /* header values, NULL when absent */
  const char *authorization; /* */
  json_t *body;              /* the parsed body (borrowed) */
  unsigned thread;
} risk_api_request_t;

typedef struct risk_api_response {
  int status;
  json_t *body;     /* owned: the caller takes it (json_decref or hands it on) */
  int retry_after;  /* seconds for a Retry-After header; 0: none */
  int authenticate; /* 1: add "WWW-Authenticate: Bearer" (401) */
} risk_api_response_t;

/* POST /api/v1/risk-score. */
void risk_api_score(risk_api_t *a, const risk_api_request_t *req, risk_api_response_t *resp);

/* PUT and DELETE /api/v1/blacklist. */
void risk_api_blacklist(risk_api_t *a, const risk_api_request_t *req, risk_api_response_t *resp);

/* Writes a UUIDv7 (time-ordered, 74 random bits) for unix time ms into out
 * (>= 37 bytes). Thread-safe. */
void risk_uuid7(int64_t unix_ms, char out[37]);

#endif
