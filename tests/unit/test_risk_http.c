/* risk-svc's routes on the real HTTP server (common/net/httpd) with a fake
 * store: statuses, error bodies and headers as a client sees them —
 * 200/400 invalid_json/401 + WWW-Authenticate/403/404/405/413/429 +
 * Retry-After — and the server still serving after each. No Redis, no
 * Kafka; requests go to 127.0.0.1 only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "risk_http.h"

#define KEY "http-test-key-0123456789"
#define ADMIN "http-admin-key-0123456789"

typedef struct reply {
  long status;
  char body[8192];
  size_t len;
  char headers[4096];
  size_t hlen;
} reply_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  reply_t *r = ud;
  size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
  memcpy(r->body + r->len, p, k < room ? k : room);
  r->len += k < room ? k : room;
  r->body[r->len] = '\0';
  return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  reply_t *r = ud;
  size_t k = sz * n, room = sizeof(r->headers) - 1 - r->hlen;
  memcpy(r->headers + r->hlen, p, k < room ? k : room);
  r->hlen += k < room ? k : room;
  r->headers[r->hlen] = '\0';
  return k;
}

static int port;

static reply_t request(const char *method, const char *path, const char *key, const char *body) {
  reply_t r = {0};
  char url[256], hk[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (key) {
    snprintf(hk, sizeof(hk), "X-API-Key: %s", key);
    h = curl_slist_append(h, hk);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

static int down;
static int lookup(void *ctx, unsigned thread, const char *phash, int64_t now, risk_features_t *f) {
  (void)ctx;
  (void)thread;
  (void)phash;
  (void)now;
  memset(f, 0, sizeof(*f));
  return down ? -1 : 0;
}
static int put(void *ctx, unsigned t, const char *h, const char *note, int64_t ttl) {
  (void)ctx, (void)t, (void)h, (void)note, (void)ttl;
  return down ? -1 : 0;
}
static int del(void *ctx, unsigned t, const char *h, int *removed) {
  (void)ctx, (void)t, (void)h;
  *removed = 0;
  return down ? -1 : 0;
}

static void hex_of(const char *key, char out[65]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(key, strlen(key), d, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

#define BODY                                                                                       \
  "{\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":1500,\"payment_method\":\"cod\","      \
  "\"customer_phone\":\"01711234567\"}"

static void test_routes(void **state) {
  (void)state;
  char err[512], text[512], h1[65], h2[65], dir[1024];
  hex_of(KEY, h1);
  hex_of(ADMIN, h2);
  snprintf(text, sizeof(text), "gw score %s\nops admin %s\n", h1, h2);
  risk_keys_t *keys = risk_keys_parse(text, strlen(text), "keys", 5, 5, err, sizeof(err));
  risk_rules_t *rules = risk_rules_load(NULL, err, sizeof(err));
  const char *k = "http-test-hmac-key-0123456789";
  pii_hasher_t *hasher =
      pii_hasher_new((const unsigned char *)k, strlen(k), NULL, err, sizeof(err));
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(dir, sizeof(dir), "%s/schemas", src && *src ? src : ".");
  metrics_t *m = metrics_new("risk-svc");
  risk_api_options_t o = {.rules = rules,
                          .keys = keys,
                          .hasher = hasher,
                          .schemas_dir = dir,
                          .store = {lookup, put, del, NULL},
                          .metrics = m};
  risk_api_t *api = risk_api_new(&o, err, sizeof(err));
  assert_non_null(api);
  risk_http_t *http = risk_http_start("127.0.0.1:0", 2, 4096, api, err, sizeof(err));
  if (!http)
    fail_msg("%s", err);
  port = risk_http_port(http);
  assert_true(port > 0);

  reply_t r = request("POST", "/api/v1/risk-score", KEY, BODY);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"decision\":\"accept\""));
  assert_non_null(strstr(r.body, "\"cold_start\":true"));
  assert_null(strstr(r.body, "1711234567"));
  r = request("POST", "/api/v1/risk-score", NULL, BODY);
  assert_int_equal(r.status, 401);
  assert_non_null(strcasestr(r.headers, "WWW-Authenticate: Bearer"));
  assert_non_null(strstr(r.body, "\"code\":\"unauthorized\""));
  r = request("POST", "/api/v1/risk-score", ADMIN, BODY);
  assert_int_equal(r.status, 403);
  r = request("POST", "/api/v1/risk-score", KEY, "{\"order_id\":");
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(r.body, "invalid_json"));
  r = request("POST", "/api/v1/risk-score", KEY,
              "{\"order_id\":\"o\",\"merchant_id\":\"m\",\"amount\":0,\"payment_method\":\"cod\","
              "\"customer_phone\":\"01711234567\"}");
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(r.body, "\"path\":\"/amount\""));
  char big[6000];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  r = request("POST", "/api/v1/risk-score", KEY, big); /* over the 4 KiB limit set above */
  assert_int_equal(r.status, 413);
  r = request("GET", "/api/v1/risk-score", KEY, NULL);
  assert_int_equal(r.status, 405);
  r = request("POST", "/api/v1/nope", KEY, BODY);
  assert_int_equal(r.status, 404);
  r = request("PUT", "/api/v1/blacklist", ADMIN,
              "{\"customer_phone\":\"01711234567\",\"reason\":\"x\"}");
  assert_int_equal(r.status, 200);
  down = 1;
  r = request("DELETE", "/api/v1/blacklist", ADMIN, "{\"customer_phone\":\"01711234567\"}");
  assert_int_equal(r.status, 503);
  assert_non_null(strcasestr(r.headers, "Retry-After: 1"));
  r = request("POST", "/api/v1/risk-score", KEY, BODY);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"degraded\":true"));
  down = 0;
  /* 5/s, burst 5: the key has used 5 already (one was refused before the
   * bucket: 403 is for the admin key). Keep asking until 429. */
  int got429 = 0;
  for (int i = 0; i < 10 && !got429; i++) {
    r = request("POST", "/api/v1/risk-score", KEY, BODY);
    if (r.status == 429) {
      got429 = 1;
      assert_non_null(strcasestr(r.headers, "Retry-After: 1"));
      assert_non_null(strstr(r.body, "rate_limited"));
    }
  }
  assert_true(got429);
  risk_http_stop(http);
  /* Latency per route and status; outcomes, degraded answers, refusals. */
  char *mtext = metrics_render(m);
  assert_non_null(strstr(
      mtext,
      "risk_svc_http_request_seconds_count{route=\"POST /api/v1/risk-score\",status=\"200\"}"));
  assert_non_null(strstr(
      mtext,
      "risk_svc_http_request_seconds_count{route=\"DELETE /api/v1/blacklist\",status=\"503\"} 1"));
  assert_non_null(strstr(mtext, "risk_svc_degraded_total 1"));
  assert_non_null(strstr(mtext, "risk_svc_auth_failures_total{reason=\"scope\"} 1"));
  assert_non_null(strstr(mtext, "risk_svc_rate_limited_total 1"));
  assert_null(strstr(mtext, "1711234567"));
  free(mtext);
  risk_api_destroy(api);
  metrics_destroy(m);
  risk_keys_destroy(keys);
  risk_rules_destroy(rules);
  pii_hasher_destroy(hasher);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_routes)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
