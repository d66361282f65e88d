/* risk-svc API without HTTP or Redis: the request contract (a table of
 * bodies), authentication and scopes, one customer in five written forms,
 * degraded answers (fail-open and fail-closed), the published decision
 * (valid against risk_decision.json, no raw phone anywhere) and the
 * blacklist routes. The store and the Kafka sink are fakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "risk_api.h"
#include "json/jsonf.h"
#include "json/schema.h"

#define KEY_SCORE "score-key-0123456789"
#define KEY_ADMIN "admin-key-0123456789"
#define KEY_SLOW "slow-key-0123456789"

typedef struct fake {
  int down;
  char last_hash[PII_HASH_MAX];
  risk_features_t features; /* what lookup answers */
  int lookups, puts, dels;
  char note[512];
  int64_t ttl;
  /* sink */
  char *published[16];
  size_t npublished;
} fake_t;

static int f_lookup(void *ctx, unsigned thread, const char *phash, int64_t now,
                    risk_features_t *f) {
  (void)thread;
  (void)now;
  fake_t *fk = ctx;
  fk->lookups++;
  snprintf(fk->last_hash, sizeof(fk->last_hash), "%s", phash);
  if (fk->down)
    return -1;
  *f = fk->features;
  return 0;
}

static int f_put(void *ctx, unsigned thread, const char *phash, const char *note, int64_t ttl) {
  (void)thread;
  fake_t *fk = ctx;
  if (fk->down)
    return -1;
  fk->puts++;
  snprintf(fk->last_hash, sizeof(fk->last_hash), "%s", phash);
  snprintf(fk->note, sizeof(fk->note), "%s", note);
  fk->ttl = ttl;
  return 0;
}

static int f_del(void *ctx, unsigned thread, const char *phash, int *removed) {
  (void)thread;
  (void)phash;
  fake_t *fk = ctx;
  if (fk->down)
    return -1;
  fk->dels++;
  *removed = 1;
  return 0;
}

static int f_publish(void *ctx, const char *key, size_t key_len, const char *payload, size_t len) {
  fake_t *fk = ctx;
  (void)key;
  (void)key_len;
  if (fk->npublished == 16)
    return -1;
  fk->published[fk->npublished++] = strndup(payload, len);
  return 0;
}

typedef struct env {
  fake_t fk;
  risk_rules_t *rules;
  risk_keys_t *keys;
  pii_hasher_t *hasher;
  risk_api_t *api;
  schema_t *decision_schema;
} env_t;

static void hex_of(const char *key, char out[65]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(key, strlen(key), d, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *src_dir(void) {
  const char *s = getenv("SENSORY_SOURCE_DIR");
  return s && *s ? s : ".";
}

static env_t *env_new(risk_fail_mode_t mode) {
  env_t *e = calloc(1, sizeof(*e));
  char err[512], text[512], h1[65], h2[65], h3[65], path[1024];
  hex_of(KEY_SCORE, h1);
  hex_of(KEY_ADMIN, h2);
  hex_of(KEY_SLOW, h3);
  snprintf(text, sizeof(text), "gateway score %s\nops admin %s\nslow score %s\n", h1, h2, h3);
  e->keys = risk_keys_parse(text, strlen(text), "keys", 0, 0, err, sizeof(err));
  assert_non_null(e->keys);
  e->rules = risk_rules_load(NULL, err, sizeof(err));
  assert_non_null(e->rules);
  const char *k = "unit-test-hmac-key-0123456789";
  e->hasher = pii_hasher_new((const unsigned char *)k, strlen(k), NULL, err, sizeof(err));
  assert_non_null(e->hasher);
  snprintf(path, sizeof(path), "%s/schemas", src_dir());
  risk_api_options_t o = {
      .rules = e->rules,
      .keys = e->keys,
      .hasher = e->hasher,
      .schemas_dir = path,
      .store = {f_lookup, f_put, f_del, &e->fk},
      .sink = {f_publish, &e->fk},
      .fail_mode = mode,
      .metrics = NULL,
  };
  e->api = risk_api_new(&o, err, sizeof(err));
  if (!e->api)
    fail_msg("%s", err);
  snprintf(path, sizeof(path), "%s/schemas/risk_decision.json", src_dir());
  e->decision_schema = schema_load_file(path, err, sizeof(err));
  assert_non_null(e->decision_schema);
  return e;
}

static void env_free(env_t *e) {
  for (size_t i = 0; i < e->fk.npublished; i++)
    free(e->fk.published[i]);
  risk_api_destroy(e->api);
  risk_rules_destroy(e->rules);
  risk_keys_destroy(e->keys);
  pii_hasher_destroy(e->hasher);
  schema_destroy(e->decision_schema);
  free(e);
}

/* Runs one request; body is JSON text (parsed here as httpd would). */
static risk_api_response_t call(env_t *e, const char *method, const char *key, const char *body) {
  json_t *doc = jsonf_parse(body, strlen(body), 64, NULL, 0);
  assert_non_null(doc);
  risk_api_request_t req = {.method = method, .x_api_key = key, .body = doc};
  risk_api_response_t resp;
  if (strcmp(method, "POST") == 0)
    risk_api_score(e->api, &req, &resp);
  else
    risk_api_blacklist(e->api, &req, &resp);
  json_decref(doc);
  assert_non_null(resp.body);
  return resp;
}

static const char *err_code(const risk_api_response_t *r) {
  return json_string_value(json_object_get(json_object_get(r->body, "error"), "code"));
}

static const char *err_path(const risk_api_response_t *r) {
  return json_string_value(json_object_get(json_object_get(r->body, "error"), "path"));
}

#define ORDER                                                                                      \
  "\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":1500,\"payment_method\":\"cod\""

static void test_request_contract(void **state) {
  (void)state;
  env_t *e = env_new(RISK_FAIL_OPEN);
  static const struct {
    const char *body;
    int status;
    const char *code, *path;
  } cases[] = {
      {"{" ORDER ",\"customer_phone\":\"01711234567\"}", 200, NULL, NULL},
      {"{" ORDER ",\"customer_phone\":\"01711234567\",\"currency\":\"BDT\",\"shipping_city\":"
       "\"Dhaka\",\"platform\":\"daraz\",\"items\":[{\"product_id\":\"P-1\",\"quantity\":2,"
       "\"price\":750}]}",
       200, NULL, NULL},
      {"[1,2]", 400, "invalid_request", ""},
      {"{" ORDER "}", 400, "invalid_request", "/customer_phone"},
      {"{" ORDER ",\"customer_phone\":\"01711234567\",\"customer_phone_hash\":\"k1:"
       "0000"
       "\"}",
       400, "invalid_request", "/customer_phone_hash"},
      {"{\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":0,\"payment_method\":\"cod\","
       "\"customer_phone\":\"01711234567\"}",
       400, "invalid_request", "/amount"},
      {"{\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":-5,\"payment_method\":\"cod\","
       "\"customer_phone\":\"01711234567\"}",
       400, "invalid_request", "/amount"},
      {"{\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":\"12\",\"payment_method\":"
       "\"cod\",\"customer_phone\":\"01711234567\"}",
       400, "invalid_request", "/amount"},
      {"{\"order_id\":\"o-1\",\"merchant_id\":\"m-1\",\"amount\":12,\"payment_method\":\"card\","
       "\"customer_phone\":\"01711234567\"}",
       400, "invalid_request", "/payment_method"},
      {"{\"merchant_id\":\"m-1\",\"amount\":12,\"payment_method\":\"cod\",\"customer_phone\":"
       "\"01711234567\"}",
       400, "invalid_request", "/order_id"},
      {"{" ORDER ",\"customer_phone\":\"01711234567\",\"email\":\"a@b.co\"}", 400,
       "invalid_request", "/email"},
      {"{" ORDER ",\"customer_phone\":\"01711234567\",\"currency\":\"taka\"}", 400,
       "invalid_request", "/currency"},
      {"{" ORDER ",\"customer_phone\":\"01711234567\",\"items\":[{\"product_id\":\"P 1\","
       "\"quantity\":1}]}",
       400, "invalid_request", "/items/0/product_id"},
      {"{" ORDER ",\"customer_phone\":\"hello there\"}", 400, "invalid_phone", "/customer_phone"},
      {"{" ORDER ",\"customer_phone\":\"01011234567\"}", 400, "invalid_phone", "/customer_phone"},
      {"{" ORDER ",\"customer_phone_hash\":\"k9999999:"
       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
       400, "unknown_key_id", "/customer_phone_hash"},
      {"{" ORDER ",\"customer_phone_hash\":\"not-a-hash\"}", 400, "invalid_request",
       "/customer_phone_hash"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    risk_api_response_t r = call(e, "POST", KEY_SCORE, cases[i].body);
    if (r.status != cases[i].status ||
        (cases[i].code && (!err_code(&r) || strcmp(err_code(&r), cases[i].code) != 0)) ||
        (cases[i].path && (!err_path(&r) || strcmp(err_path(&r), cases[i].path) != 0))) {
      char *t = jsonf_dumps(r.body, NULL);
      fail_msg("case %zu: status %d body %s", i, r.status, t);
    }
    if (r.status == 400) { /* the error never quotes the request */
      char *t = jsonf_dumps(r.body, NULL);
      assert_null(strstr(t, "01711234567"));
      assert_null(strstr(t, "hello there"));
      assert_null(strstr(t, "taka"));
      free(t);
    }
    json_decref(r.body);
  }
  env_free(e);
}

static void test_auth(void **state) {
  (void)state;
  env_t *e = env_new(RISK_FAIL_OPEN);
  const char *body = "{" ORDER ",\"customer_phone\":\"01711234567\"}";
  risk_api_response_t r = call(e, "POST", NULL, body);
  assert_int_equal(r.status, 401);
  assert_int_equal(r.authenticate, 1);
  assert_string_equal(err_code(&r), "unauthorized");
  json_decref(r.body);
  r = call(e, "POST", "wrong-key", body);
  assert_int_equal(r.status, 401);
  json_decref(r.body);
  r = call(e, "POST", KEY_ADMIN, body); /* admin only: no score scope */
  assert_int_equal(r.status, 403);
  assert_string_equal(err_code(&r), "forbidden");
  json_decref(r.body);
  r = call(e, "PUT", KEY_SCORE, "{\"customer_phone\":\"01711234567\",\"reason\":\"x\"}");
  assert_int_equal(r.status, 403);
  json_decref(r.body);
  /* Bearer works as well as X-API-Key. */
  json_t *doc = jsonf_parse(body, strlen(body), 64, NULL, 0);
  risk_api_request_t req = {.method = "POST", .authorization = "Bearer " KEY_SCORE, .body = doc};
  risk_api_score(e->api, &req, &r);
  assert_int_equal(r.status, 200);
  json_decref(r.body);
  json_decref(doc);
  assert_int_equal(e->fk.lookups, 1); /* refused requests never reached the store */
  env_free(e);
}

static void test_rate_limit_429(void **state) {
  (void)state;
  char err[256], text[256], h[65];
  hex_of(KEY_SCORE, h);
  snprintf(text, sizeof(text), "gateway score %s\n", h);
  env_t *e = env_new(RISK_FAIL_OPEN);
  risk_keys_destroy(e->keys);
  /* 1 request/s, burst 2: the third in a row is refused with Retry-After. */
  e->keys = risk_keys_parse(text, strlen(text), "keys", 1, 2, err, sizeof(err));
  risk_api_destroy(e->api);
  char path[1024];
  snprintf(path, sizeof(path), "%s/schemas", src_dir());
  risk_api_options_t o = {.rules = e->rules,
                          .keys = e->keys,
                          .hasher = e->hasher,
                          .schemas_dir = path,
                          .store = {f_lookup, f_put, f_del, &e->fk}};
  e->api = risk_api_new(&o, err, sizeof(err));
  const char *body = "{" ORDER ",\"customer_phone\":\"01711234567\"}";
  int statuses[3];
  for (int i = 0; i < 3; i++) {
    risk_api_response_t r = call(e, "POST", KEY_SCORE, body);
    statuses[i] = r.status;
    if (i == 2) {
      assert_string_equal(err_code(&r), "rate_limited");
      assert_true(r.retry_after >= 1);
    }
    json_decref(r.body);
  }
  assert_int_equal(statuses[0], 200);
  assert_int_equal(statuses[1], 200);
  assert_int_equal(statuses[2], 429);
  env_free(e);
}

static void test_five_forms_one_customer(void **state) {
  (void)state;
  env_t *e = env_new(RISK_FAIL_OPEN);
  /* The store answers a bad COD history for exactly one pseudonym. */
  char want[PII_HASH_MAX], err[128];
  assert_int_equal(pii_hash_identifier(e->hasher, "phone", "+8801711234567", 14, want, sizeof(want),
                                       err, sizeof(err)),
                   0);
  e->fk.features =
      (risk_features_t){.orders = 5, .cod_orders = 5, .cod_bad = 4, .returned = 4, .delivered = 1};
  static const char *const forms[] = {"+8801711-234567", "01711234567",
                                      "\u09e6\u09e7\u09ed\u09e7\u09e7\u09e8\u09e9\u09ea\u09eb"
                                      "\u09ec\u09ed",
                                      "008801711234567", "+880 1711 234567"};
  for (size_t i = 0; i < 5; i++) {
    char body[512];
    snprintf(body, sizeof(body), "{" ORDER ",\"customer_phone\":\"%s\"}", forms[i]);
    risk_api_response_t r = call(e, "POST", KEY_SCORE, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "customer_phone_hash")), want);
    assert_string_equal(e->fk.last_hash, want);
    assert_string_equal(json_string_value(json_object_get(r.body, "decision")),
                        "advance_payment_required");
    assert_true(json_integer_value(json_object_get(r.body, "score")) > 80);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.body, "reasons"), 0), "code")),
                        "return_rate");
    assert_false(json_is_true(json_object_get(r.body, "degraded")));
    assert_false(json_is_true(json_object_get(r.body, "cold_start")));
    json_decref(r.body);
  }
  /* The pseudonym itself is accepted as customer_phone_hash, same answer. */
  char body[512];
  snprintf(body, sizeof(body), "{" ORDER ",\"customer_phone_hash\":\"%s\"}", want);
  risk_api_response_t r = call(e, "POST", KEY_SCORE, body);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_string_value(json_object_get(r.body, "decision")),
                      "advance_payment_required");
  json_decref(r.body);
  env_free(e);
}

/* Every published decision is valid against the extended contract and holds
 * no raw phone (in any of the digit runs of the forms used). */
static void check_published(env_t *e) {
  assert_true(e->fk.npublished > 0);
  for (size_t i = 0; i < e->fk.npublished; i++) {
    char err[512];
    json_t *d = jsonf_parse(e->fk.published[i], strlen(e->fk.published[i]), 64, NULL, 0);
    assert_non_null(d);
    if (schema_validate(e->decision_schema, d, err, sizeof(err)) != 0)
      fail_msg("decision %s: %s", e->fk.published[i], err);
    assert_null(strstr(e->fk.published[i], "1711234567"));
    assert_null(strstr(e->fk.published[i], "234567"));
    assert_non_null(json_object_get(d, "decision_id"));
    assert_true(json_is_object(json_object_get(d, "features")));
    json_decref(d);
  }
}

static void test_cold_start_and_decision_message(void **state) {
  (void)state;
  env_t *e = env_new(RISK_FAIL_OPEN);
  risk_api_response_t r = call(e, "POST", KEY_SCORE,
                               "{" ORDER ",\"customer_phone\":\"01711-234567\",\"platform\":"
                               "\"daraz\"}");
  assert_int_equal(r.status, 200);
  assert_true(json_is_true(json_object_get(r.body, "cold_start")));
  assert_string_equal(json_string_value(json_object_get(r.body, "decision")), "accept");
  assert_int_equal(json_integer_value(json_object_get(r.body, "score")), 0);
  const char *id = json_string_value(json_object_get(r.body, "decision_id"));
  assert_int_equal(strlen(id), 36);
  assert_int_equal(id[14], '7');
  char *text = jsonf_dumps(r.body, NULL);
  assert_null(strstr(text, "234567"));
  free(text);
  assert_int_equal(e->fk.npublished, 1);
  check_published(e);
  json_t *d = jsonf_parse(e->fk.published[0], strlen(e->fk.published[0]), 64, NULL, 0);
  assert_string_equal(json_string_value(json_object_get(d, "decision_id")), id);
  assert_string_equal(json_string_value(json_object_get(d, "platform")), "daraz");
  assert_string_equal(json_string_value(json_object_get(d, "rules_version")),
                      risk_rules_version(e->rules));
  json_t *f = json_object_get(d, "features");
  assert_true(json_is_true(json_object_get(f, "cold_start")));
  assert_int_equal(json_integer_value(json_object_get(f, "orders")), 0);
  json_decref(d);
  json_decref(r.body);
  env_free(e);
}

static void test_degraded(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    env_t *e = env_new(mode ? RISK_FAIL_CLOSED : RISK_FAIL_OPEN);
    e->fk.down = 1;
    risk_api_response_t r =
        call(e, "POST", KEY_SCORE, "{" ORDER ",\"customer_phone\":\"01711234567\"}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.body, "degraded")));
    assert_false(json_is_true(json_object_get(r.body, "cold_start")));
    assert_string_equal(json_string_value(json_object_get(r.body, "decision")),
                        mode ? "advance_payment_required" : "accept");
    json_decref(r.body);
    /* prepaid is accepted either way */
    r = call(e, "POST", KEY_SCORE,
             "{\"order_id\":\"o-2\",\"merchant_id\":\"m-1\",\"amount\":10,\"payment_method\":"
             "\"prepaid\",\"customer_phone\":\"01711234567\"}");
    assert_string_equal(json_string_value(json_object_get(r.body, "decision")), "accept");
    json_decref(r.body);
    check_published(e);
    json_t *d = jsonf_parse(e->fk.published[0], strlen(e->fk.published[0]), 64, NULL, 0);
    json_t *f = json_object_get(d, "features");
    assert_true(json_is_false(json_object_get(f, "history_known")));
    assert_null(json_object_get(f, "orders")); /* unknown, not 0 */
    json_decref(d);
    /* The blacklist cannot be changed while the store is down: 503. */
    r = call(e, "PUT", KEY_ADMIN, "{\"customer_phone\":\"01711234567\",\"reason\":\"fraud\"}");
    assert_int_equal(r.status, 503);
    assert_int_equal(r.retry_after, 1);
    json_decref(r.body);
    env_free(e);
  }
}

static void test_blacklist_routes(void **state) {
  (void)state;
  env_t *e = env_new(RISK_FAIL_OPEN);
  risk_api_response_t r =
      call(e, "PUT", KEY_ADMIN,
           "{\"customer_phone\":\"+880 1711-234567\",\"reason\":\"refused 3 parcels, called "
           "from 01811223344 and wrote a@b.com\",\"ttl_days\":30}");
  assert_int_equal(r.status, 200);
  assert_true(json_is_true(json_object_get(r.body, "blacklisted")));
  assert_int_equal(json_integer_value(json_object_get(r.body, "ttl_days")), 30);
  assert_int_equal(e->fk.ttl, 30 * 86400);
  assert_null(strstr(e->fk.note, "01811223344")); /* the note keeps tokens, not numbers */
  assert_null(strstr(e->fk.note, "a@b.com"));
  assert_non_null(strstr(e->fk.note, "PHONE_"));
  assert_non_null(strstr(e->fk.note, "\"by\":\"ops\""));
  json_decref(r.body);
  r = call(e, "PUT", KEY_ADMIN, "{\"customer_phone\":\"01711234567\"}");
  assert_int_equal(r.status, 400); /* PUT needs a reason */
  assert_string_equal(err_path(&r), "/reason");
  json_decref(r.body);
  r = call(e, "DELETE", KEY_ADMIN, "{\"customer_phone\":\"01711234567\"}");
  assert_int_equal(r.status, 200);
  assert_true(json_is_true(json_object_get(r.body, "removed")));
  assert_int_equal(e->fk.dels, 1);
  json_decref(r.body);
  r = call(e, "DELETE", KEY_ADMIN, "{\"customer_phone\":\"01711234567\",\"ttl_days\":0}");
  assert_int_equal(r.status, 400);
  json_decref(r.body);
  env_free(e);
}

static void test_uuid7(void **state) {
  (void)state;
  char a[37], b[37];
  risk_uuid7(1767225600000, a);
  risk_uuid7(1767225600000, b);
  assert_int_equal(strlen(a), 36);
  assert_string_not_equal(a, b);
  assert_memory_equal(a, "019b76da-a800-7", 15); /* 48-bit ms time, version 7 */
  assert_true(strchr("89ab", a[19]) != NULL);    /* RFC 9562 variant */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_contract),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_rate_limit_429),
      cmocka_unit_test(test_five_forms_one_customer),
      cmocka_unit_test(test_cold_start_and_decision_message),
      cmocka_unit_test(test_degraded),
      cmocka_unit_test(test_blacklist_routes),
      cmocka_unit_test(test_uuid7),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
