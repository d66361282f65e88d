/* risk_api — request handling of risk-svc's API (see risk_api.h): auth, the
 * contracts, the phone's pseudonym, scoring, the answer and the published
 * decision, and the API's metrics. */
#include "risk_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/clock.h"
#include "json/jsonf.h"

/* Statuses whose latency series are registered up front (others are
 * registered on first use). */
static const int known_status[] = {200, 400, 401, 403, 429, 500, 503};
#define NSTATUS (sizeof(known_status) / sizeof(known_status[0]))

enum { ROUTE_SCORE, ROUTE_BLACKLIST_PUT, ROUTE_BLACKLIST_DELETE, ROUTE_COUNT };
/* The route label of http_request_seconds: method and path template. */
static const char *const route_label[ROUTE_COUNT] = {
    "POST /api/v1/risk-score",
    "PUT /api/v1/blacklist",
    "DELETE /api/v1/blacklist",
};
#define LATENCY_METRIC "http_request_seconds"
#define LATENCY_HELP "API request handling time per route and answered status"

static metrics_histogram_t *latency_series(metrics_t *m, int route, int status) {
  char st[8];
  snprintf(st, sizeof(st), "%d", status);
  const char *labels[] = {"route", route_label[route], "status", st, NULL};
  return metrics_histogram_labels(m, LATENCY_METRIC, LATENCY_HELP, labels);
}

struct risk_api {
  risk_api_options_t o;
  schema_t *request_schema, *blacklist_schema;
  metrics_histogram_t *latency[ROUTE_COUNT][NSTATUS];
  metrics_counter_t *decisions[2]; /* accept, advance_payment_required */
  metrics_counter_t *degraded;
  metrics_counter_t *rule_hits[RISK_RULE_COUNT];
  metrics_counter_t *auth_fail[3]; /* missing/invalid key, scope */
  metrics_counter_t *rate_limited;
  metrics_counter_t *bad_request;
};

static int64_t mono_us(void) {
  return (int64_t)(clock_mono() * 1e6);
}

/* ---- decision ids ------------------------------------------------------- */

/* xorshift128+ per thread, seeded from the kernel: ids must be unique, not
 * secret, and a syscall per request is not needed for that. */
static __thread uint64_t rng_s[2];

static uint64_t rng_next(void) {
  if (!rng_s[0] && !rng_s[1]) {
    if (getrandom(rng_s, sizeof(rng_s), 0) != (ssize_t)sizeof(rng_s) || (!rng_s[0] && !rng_s[1])) {
      rng_s[0] = (uint64_t)mono_us() ^ 0x9e3779b97f4a7c15ull;
      rng_s[1] = (uint64_t)(uintptr_t)&rng_s ^ 0xbf58476d1ce4e5b9ull;
    }
  }
  uint64_t x = rng_s[0];
  const uint64_t y = rng_s[1];
  rng_s[0] = y;
  x ^= x << 23;
  rng_s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
  return rng_s[1] + y;
}

void risk_uuid7(int64_t unix_ms, char out[37]) {
  unsigned char b[16];
  uint64_t r1 = rng_next(), r2 = rng_next();
  uint64_t ms = (uint64_t)unix_ms;
  for (int i = 0; i < 6; i++)
    b[i] = (unsigned char)(ms >> (40 - 8 * i));
  b[6] = (unsigned char)(0x70 | (r1 & 0x0f));
  b[7] = (unsigned char)(r1 >> 8);
  b[8] = (unsigned char)(0x80 | ((r1 >> 16) & 0x3f));
  for (int i = 9; i < 16; i++)
    b[i] = (unsigned char)(r2 >> (8 * (i - 9)));
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
}

/* ---- construction ------------------------------------------------------- */

static schema_t *load_contract(const char *dir, const char *name, char *errstr,
                               size_t errstr_size) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
  return schema_load_file(path, errstr, errstr_size);
}

risk_api_t *risk_api_new(const risk_api_options_t *o, char *errstr, size_t errstr_size) {
  risk_api_t *a = calloc(1, sizeof(*a));
  if (!a) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  a->o = *o;
  if (!(a->request_schema =
            load_contract(o->schemas_dir, "risk_request.json", errstr, errstr_size)) ||
      !(a->blacklist_schema =
            load_contract(o->schemas_dir, "risk_blacklist_request.json", errstr, errstr_size))) {
    risk_api_destroy(a);
    return NULL;
  }
  metrics_t *m = o->metrics;
  if (m) {
    for (int r = 0; r < ROUTE_COUNT; r++)
      for (size_t s = 0; s < NSTATUS; s++)
        a->latency[r][s] = latency_series(m, r, known_status[s]);
    a->decisions[0] =
        metrics_counter(m, "decisions_total", "Scoring decisions by outcome", "decision", "accept");
    a->decisions[1] = metrics_counter(m, "decisions_total", "Scoring decisions by outcome",
                                      "decision", "advance_payment_required");
    a->degraded =
        metrics_counter(m, "degraded_total",
                        "Answers given without the customer's history (store down)", NULL, NULL);
    for (int i = 0; i < RISK_RULE_COUNT; i++)
      a->rule_hits[i] = metrics_counter(m, "rule_hits_total", "Decisions each rule fired in",
                                        "rule", risk_rule_code((risk_rule_id_t)i));
    static const char *const why[3] = {"missing_key", "invalid_key", "scope"};
    for (int i = 0; i < 3; i++)
      a->auth_fail[i] = metrics_counter(m, "auth_failures_total",
                                        "Requests refused by authentication", "reason", why[i]);
    a->rate_limited = metrics_counter(m, "rate_limited_total",
                                      "Requests refused by the per-key rate limit", NULL, NULL);
    a->bad_request = metrics_counter(m, "bad_requests_total",
                                     "Requests refused by the request contract", NULL, NULL);
  }
  return a;
}

void risk_api_destroy(risk_api_t *a) {
  if (!a)
    return;
  schema_destroy(a->request_schema);
  schema_destroy(a->blacklist_schema);
  free(a);
}

/* ---- responses ---------------------------------------------------------- */

static void error_resp(risk_api_response_t *resp, int status, const char *code, const char *message,
                       const char *path) {
  resp->status = status;
  resp->body =
      json_pack("{s:{s:s,s:s,s:s?}}", "error", "code", code, "message", message, "path", path);
}

static void observe(risk_api_t *a, int route, int status, int64_t t0_us) {
  if (!a->o.metrics)
    return;
  metrics_histogram_t *h = NULL;
  for (size_t s = 0; s < NSTATUS; s++)
    if (known_status[s] == status)
      h = a->latency[route][s];
  if (!h)
    h = latency_series(a->o.metrics, route, status);
  metrics_histogram_observe(h, (double)(mono_us() - t0_us) / 1e6);
}

/* Authentication, scope and rate limit. Returns the key index, or -1 with
 * resp filled. */
static int authorize(risk_api_t *a, const risk_api_request_t *req, unsigned scope,
                     risk_api_response_t *resp) {
  const char *key;
  size_t len;
  if (!risk_auth_presented(req->x_api_key, req->authorization, &key, &len)) {
    metrics_counter_add(a->auth_fail[0], 1);
    error_resp(resp, 401, "unauthorized",
               "an API key is required (X-API-Key or Authorization: Bearer)", NULL);
    resp->authenticate = 1;
    return -1;
  }
  int i = risk_keys_find(a->o.keys, key, len);
  if (i < 0) {
    metrics_counter_add(a->auth_fail[1], 1);
    error_resp(resp, 401, "unauthorized", "the API key is not valid", NULL);
    resp->authenticate = 1;
    return -1;
  }
  if (!(risk_keys_scopes(a->o.keys, i) & scope)) {
    metrics_counter_add(a->auth_fail[2], 1);
    error_resp(resp, 403, "forbidden",
               scope == RISK_SCOPE_ADMIN ? "this key lacks the admin scope"
                                         : "this key lacks the score scope",
               NULL);
    return -1;
  }
  int retry = 0;
  if (!risk_keys_admit(a->o.keys, i, mono_us(), &retry)) {
    metrics_counter_add(a->rate_limited, 1);
    error_resp(resp, 429, "rate_limited", "too many requests for this key; retry later", NULL);
    resp->retry_after = retry;
    return -1;
  }
  return i;
}

/* Validates body against schema; -1 with a 400 in resp. The schema error
 * names the pointer and the rule, never the value. */
static int check_contract(risk_api_t *a, const schema_t *schema, json_t *body,
                          risk_api_response_t *resp) {
  char err[512];
  if (!json_is_object(body)) {
    metrics_counter_add(a->bad_request, 1);
    error_resp(resp, 400, "invalid_request", "the body must be a JSON object", "");
    return -1;
  }
  int has_phone = json_object_get(body, "customer_phone") != NULL;
  int has_hash = json_object_get(body, "customer_phone_hash") != NULL;
  if (has_phone == has_hash) {
    metrics_counter_add(a->bad_request, 1);
    error_resp(resp, 400, "invalid_request",
               has_phone ? "give customer_phone or customer_phone_hash, not both"
                         : "customer_phone or customer_phone_hash is required",
               has_phone ? "/customer_phone_hash" : "/customer_phone");
    return -1;
  }
  if (schema_validate(schema, body, err, sizeof(err)) != 0) {
    metrics_counter_add(a->bad_request, 1);
    const char *colon = strstr(err, ": ");
    char path[256] = "";
    if (colon && (size_t)(colon - err) < sizeof(path)) {
      memcpy(path, err, (size_t)(colon - err));
      path[colon - err] = '\0';
    }
    error_resp(resp, 400, "invalid_request", err, path);
    return -1;
  }
  return 0;
}

/* The customer's pseudonym from customer_phone (hashed now) or
 * customer_phone_hash (checked against our key id). -1 with a 400. */
static int customer_hash(risk_api_t *a, json_t *body, char out[PII_HASH_MAX],
                         risk_api_response_t *resp) {
  json_t *phone = json_object_get(body, "customer_phone");
  if (phone) {
    char err[128];
    if (pii_hash_identifier(a->o.hasher, "phone", json_string_value(phone),
                            json_string_length(phone), out, PII_HASH_MAX, err, sizeof(err)) != 0) {
      metrics_counter_add(a->bad_request, 1);
      error_resp(resp, 400, "invalid_phone", "customer_phone: not a phone number",
                 "/customer_phone");
      return -1;
    }
    return 0;
  }
  const char *h = json_string_value(json_object_get(body, "customer_phone_hash"));
  const char *kid = pii_hasher_key_id(a->o.hasher);
  size_t kl = strlen(kid);
  if (strncmp(h, kid, kl) != 0 || h[kl] != ':') {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "customer_phone_hash: made with another key than this service's (%s)", kid);
    metrics_counter_add(a->bad_request, 1);
    error_resp(resp, 400, "unknown_key_id", msg, "/customer_phone_hash");
    return -1;
  }
  snprintf(out, PII_HASH_MAX, "%s", h);
  return 0;
}

/* ---- POST /api/v1/risk-score -------------------------------------------- */

static json_t *features_json(const risk_api_t *a, const risk_features_t *f,
                             const risk_result_t *res, json_t *body, const char *phash) {
  json_t *cur = json_object_get(body, "currency");
  json_t *j = json_pack(
      "{s:O,s:s,s:s,s:f,s:s,s:b,s:b,s:b,s:s,s:i}", "merchant_id",
      json_object_get(body, "merchant_id"), "customer_phone_hash", phash, "payment_method",
      f->cod ? "cod" : "prepaid", "amount", f->amount, "currency",
      cur ? json_string_value(cur) : "BDT", "history_known", f->history_known, "cold_start",
      res->cold_start, "degraded", !f->history_known, "fail_mode",
      a->o.fail_mode == RISK_FAIL_CLOSED ? "closed" : "open", "threshold", res->threshold);
  if (j && f->history_known) {
    json_t *c = json_pack(
        "{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "blacklisted", f->blacklisted,
        "orders", (json_int_t)f->orders, "cod_orders", (json_int_t)f->cod_orders, "delivered",
        (json_int_t)f->delivered, "returned", (json_int_t)f->returned, "failed_delivery",
        (json_int_t)f->failed_delivery, "cancelled", (json_int_t)f->cancelled, "cod_bad",
        (json_int_t)f->cod_bad, "cod_outstanding", (json_int_t)f->cod_outstanding, "velocity_1h",
        (json_int_t)f->velocity_1h, "velocity_24h", (json_int_t)f->velocity_24h, "velocity_7d",
        (json_int_t)f->velocity_7d);
    json_object_update(j, c);
    json_decref(c);
  }
  return j;
}

static void publish_decision(risk_api_t *a, const char *decision_id, json_t *body,
                             const risk_features_t *f, const risk_result_t *res, const char *phash,
                             int64_t now_ms) {
  if (!a->o.sink.publish)
    return;
  char ts[CLOCK_RFC3339_MAX];
  clock_format_ms(now_ms, ts, sizeof(ts));
  json_t *reasons = json_array();
  for (size_t i = 0; i < res->nreasons; i++) {
    char line[256];
    snprintf(line, sizeof(line), "%s (%+d): %s", res->reasons[i].code, res->reasons[i].weight,
             res->reasons[i].detail);
    json_array_append_new(reasons, json_string(line));
  }
  json_t *order_id = json_object_get(body, "order_id");
  json_t *d = json_pack("{s:s,s:O,s:i,s:s,s:o,s:s,s:s,s:o}", "decision_id", decision_id, "order_id",
                        order_id, "score", res->score, "decision",
                        res->advance_payment ? "advance_payment_required" : "accept", "reasons",
                        reasons, "rules_version", risk_rules_version(a->o.rules), "timestamp", ts,
                        "features", features_json(a, f, res, body, phash));
  json_t *platform = json_object_get(body, "platform");
  if (d && platform)
    json_object_set(d, "platform", platform);
  size_t len = 0;
  char *payload = d ? jsonf_dumps(d, &len) : NULL;
  if (payload)
    a->o.sink.publish(a->o.sink.ctx, json_string_value(order_id), json_string_length(order_id),
                      payload, len);
  free(payload);
  json_decref(d);
}

void risk_api_score(risk_api_t *a, const risk_api_request_t *req, risk_api_response_t *resp) {
  int64_t t0 = mono_us();
  memset(resp, 0, sizeof(*resp));
  char phash[PII_HASH_MAX];
  json_t *body = req->body;
  if (authorize(a, req, RISK_SCOPE_SCORE, resp) < 0 ||
      check_contract(a, a->request_schema, body, resp) != 0 ||
      customer_hash(a, body, phash, resp) != 0)
    goto out;

  risk_features_t f = {0};
  int64_t now = clock_wall_ms();
  if (a->o.store.lookup && a->o.store.lookup(a->o.store.ctx, req->thread, phash, now, &f) == 0)
    f.history_known = 1;
  else
    memset(&f, 0, sizeof(f));
  f.amount = json_number_value(json_object_get(body, "amount"));
  f.cod = strcmp(json_string_value(json_object_get(body, "payment_method")), "cod") == 0;

  risk_result_t res;
  risk_rules_evaluate(a->o.rules, json_string_value(json_object_get(body, "merchant_id")), &f,
                      a->o.fail_mode, &res);
  char decision_id[37];
  risk_uuid7(now, decision_id);

  json_t *reasons = json_array();
  for (size_t i = 0; i < res.nreasons; i++)
    json_array_append_new(reasons,
                          json_pack("{s:s,s:i,s:s}", "code", res.reasons[i].code, "weight",
                                    res.reasons[i].weight, "detail", res.reasons[i].detail));
  resp->body =
      json_pack("{s:s,s:O,s:i,s:s,s:o,s:s,s:s,s:b,s:b}", "decision_id", decision_id, "order_id",
                json_object_get(body, "order_id"), "score", res.score, "decision",
                res.advance_payment ? "advance_payment_required" : "accept", "reasons", reasons,
                "rules_version", risk_rules_version(a->o.rules), "customer_phone_hash", phash,
                "cold_start", res.cold_start, "degraded", !f.history_known);
  if (!resp->body) {
    error_resp(resp, 500, "internal", "could not build the answer", NULL);
    goto out;
  }
  resp->status = 200;
  metrics_counter_add(a->decisions[res.advance_payment ? 1 : 0], 1);
  if (!f.history_known)
    metrics_counter_add(a->degraded, 1);
  for (int i = 0; i < RISK_RULE_COUNT; i++)
    if (res.fired & (1u << i))
      metrics_counter_add(a->rule_hits[i], 1);
  publish_decision(a, decision_id, body, &f, &res, phash, now);
out:
  observe(a, ROUTE_SCORE, resp->status, t0);
}

/* ---- PUT / DELETE /api/v1/blacklist ------------------------------------- */

void risk_api_blacklist(risk_api_t *a, const risk_api_request_t *req, risk_api_response_t *resp) {
  int64_t t0 = mono_us();
  memset(resp, 0, sizeof(*resp));
  int del = strcmp(req->method, "DELETE") == 0;
  int route = del ? ROUTE_BLACKLIST_DELETE : ROUTE_BLACKLIST_PUT;
  char phash[PII_HASH_MAX];
  json_t *body = req->body;
  int key = authorize(a, req, RISK_SCOPE_ADMIN, resp);
  if (key < 0 || check_contract(a, a->blacklist_schema, body, resp) != 0 ||
      customer_hash(a, body, phash, resp) != 0)
    goto out;
  json_t *reason = json_object_get(body, "reason");
  if (!del && !reason) {
    metrics_counter_add(a->bad_request, 1);
    error_resp(resp, 400, "invalid_request", "/reason: is required", "/reason");
    goto out;
  }
  int rc, removed = 0;
  json_int_t ttl_days = json_integer_value(json_object_get(body, "ttl_days"));
  if (del) {
    rc = a->o.store.blacklist_del
             ? a->o.store.blacklist_del(a->o.store.ctx, req->thread, phash, &removed)
             : -1;
  } else {
    /* An operator's note may quote a phone or an email: store tokens instead. */
    char *scrubbed = pii_scrub_text(a->o.hasher, json_string_value(reason),
                                    json_string_length(reason), NULL, NULL);
    int64_t now = clock_wall_ms();
    json_t *note = json_pack("{s:s,s:s,s:I}", "reason", scrubbed ? scrubbed : "", "by",
                             risk_keys_name(a->o.keys, key), "at_ms", (json_int_t)now);
    char *text = note ? jsonf_dumps(note, NULL) : NULL;
    rc = text && a->o.store.blacklist_put
             ? a->o.store.blacklist_put(a->o.store.ctx, req->thread, phash, text,
                                        (int64_t)ttl_days * 86400)
             : -1;
    free(text);
    json_decref(note);
    free(scrubbed);
  }
  if (rc != 0) {
    error_resp(resp, 503, "unavailable", "the history store is unavailable; retry later", NULL);
    resp->retry_after = 1;
    goto out;
  }
  resp->status = 200;
  if (del)
    resp->body = json_pack("{s:s,s:b,s:b}", "customer_phone_hash", phash, "blacklisted", 0,
                           "removed", removed);
  else
    resp->body = ttl_days ? json_pack("{s:s,s:b,s:I}", "customer_phone_hash", phash, "blacklisted",
                                      1, "ttl_days", ttl_days)
                          : json_pack("{s:s,s:b,s:n}", "customer_phone_hash", phash, "blacklisted",
                                      1, "ttl_days");
out:
  observe(a, route, resp->status, t0);
}
