/* test_contracts — the message contracts in schemas/ (every .json): every file loads,
 * every topic of topics.yaml names a loadable schema, the sample documents in
 * tests/fixtures/contracts/ are valid, and table-driven mutations of them fail
 * with the exact error strings services and dead letters rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topics.h"
#include "privacy/dlq.h"
#include "privacy/pii.h"
#include "json/schema.h"

#define HASH "k1a2b3c4d:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const contracts[] = {
    "social_post",        "market_order",  "weather_observation", "clean_social_post",
    "clean_market_order", "enriched_post", "vector_record",       "risk_decision",
    "privacy_audit",      "dlq_envelope",
};

static schema_t *load_contract(const char *name) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char path[1024], err[512];
  schema_t *s;

  snprintf(path, sizeof(path), "%s/schemas/%s.json", src ? src : ".", name);
  s = schema_load_file(path, err, sizeof(err));
  if (!s)
    fail_msg("%s", err);
  return s;
}

static json_t *load_sample(const char *name) {
  const char *fx = getenv("SENSORY_FIXTURES");
  char path[1024];
  json_error_t jerr;
  json_t *doc;

  snprintf(path, sizeof(path), "%s/contracts/%s.valid.json", fx ? fx : "tests/fixtures", name);
  doc = json_load_file(path, 0, &jerr);
  if (!doc)
    fail_msg("%s: %s", path, jerr.text);
  return doc;
}

static void test_every_schema_file_loads(void **state) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char dir[1024], path[1400], err[512];
  struct dirent *de;
  size_t n = 0;
  DIR *d;

  (void)state;
  snprintf(dir, sizeof(dir), "%s/schemas", src ? src : ".");
  assert_non_null(d = opendir(dir));
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l < 6 || strcmp(de->d_name + l - 5, ".json"))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    schema_t *s = schema_load_file(path, err, sizeof(err));
    if (!s)
      fail_msg("%s", err);
    assert_string_not_equal(schema_name(s), "");
    schema_destroy(s);
    n++;
  }
  closedir(d);
  assert_true(n >= sizeof(contracts) / sizeof(contracts[0]));
}

/* topics.yaml is the deploy source of truth: each "schema: X" must load. */
static void test_topics_yaml_schemas_exist(void **state) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char path[1024], err[512];
  (void)state;
  snprintf(path, sizeof(path), "%s/schemas/topics.yaml", src ? src : ".");
  topics_t *t = topics_load(path, err, sizeof(err));
  if (!t)
    fail_msg("%s", err);
  for (size_t i = 0; i < topics_count(t); i++) {
    const char *file = topics_at(t, i)->schema;
    assert_non_null(file);
    size_t l = strlen(file);
    assert_true(l > 5 && l < 128 && strcmp(file + l - 5, ".json") == 0);
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)(l - 5), file); /* load_contract adds ".json" */
    schema_destroy(load_contract(name));
  }
  assert_int_equal(topics_count(t), 13);
  topics_destroy(t);
}

static void test_samples_valid(void **state) {
  char err[512];
  (void)state;
  for (size_t i = 0; i < sizeof(contracts) / sizeof(contracts[0]); i++) {
    schema_t *s = load_contract(contracts[i]);
    json_t *doc = load_sample(contracts[i]);
    if (schema_validate(s, doc, err, sizeof(err)) != 0)
      fail_msg("%s sample: %s", contracts[i], err);
    json_decref(doc);
    schema_destroy(s);
  }
}

/* One mutation of a sample: set (or, value NULL, delete) the member at a
 * top-level or "a/b" path ("" replaces the document), then expect err
 * exactly (NULL: still valid). */
typedef struct mutation {
  const char *schema;
  const char *path;
  const char *value;
  const char *err;
} mutation_t;

static const mutation_t mutations[] = {
    {"social_post", "platform", "\"instagram\"",
     "/platform: must be one of [\"tiktok\",\"facebook\"]"},
    {"social_post", "content", "\"hey\"", "/content: must be at least 5 characters"},
    {"social_post", "content", "\"আমি\"", "/content: must be at least 5 characters"},
    {"social_post", "content", "\"আমি ভাল\"", NULL},
    {"social_post", "engagement_count", "-1", "/engagement_count: must be >= 0"},
    {"social_post", "engagement_count", "1.5", "/engagement_count: must be integer"},
    {"social_post", "engagement_count", "7.0", NULL},
    {"social_post", "timestamp", "\"2026-06-01 09:30\"",
     "/timestamp: must be a valid date-time (RFC 3339)"},
    {"social_post", "author_username", NULL, "/author_username: is required"},
    {"social_post", "author_username", "123", "/author_username: must be string"},
    {"social_post", "url", "\"https://facebook.com/x\"", "/url: unexpected property"},
    {"social_post", "author_hash", "\"" HASH "\"", "/author_hash: unexpected property"},
    {"social_post", "hashtags", "[\"ok\", 5]", "/hashtags/1: must be string"},
    {"social_post", "hashtags", NULL, NULL},
    {"social_post", "product_mentions", "[\"bad id!\"]",
     "/product_mentions/0: must match pattern ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"},
    {"social_post", "", "[]", ": must be object"},
    {"market_order", "quantity", "0", "/quantity: must be > 0"},
    {"market_order", "quantity", "1.0", NULL},
    {"market_order", "quantity", "\"2\"", "/quantity: must be integer"},
    {"market_order", "price", "0", "/price: must be > 0"},
    {"market_order", "price", "-10.5", "/price: must be > 0"},
    {"market_order", "currency", "\"bdt\"", "/currency: must match pattern ^[A-Z]{3}$"},
    {"market_order", "currency", NULL, NULL},
    {"market_order", "payment_method", "\"card\"",
     "/payment_method: must be one of [\"cod\",\"prepaid\"]"},
    {"market_order", "order_status", "\"lost\"",
     "/order_status: must be one of "
     "[\"pending\",\"confirmed\",\"shipped\",\"delivered\",\"cancelled\",\"returned\",\"failed_"
     "delivery\"]"},
    {"market_order", "customer_phone", "1711234567", "/customer_phone: must be string"},
    {"market_order", "customer_phone", NULL, NULL},
    {"market_order", "customer_phone_hash", "\"" HASH "\"",
     "/customer_phone_hash: unexpected property"},
    {"market_order", "order_id", NULL, "/order_id: is required"},
    {"clean_market_order", "customer_phone", "\"01711234567\"",
     "/customer_phone: unexpected property"},
    {"clean_market_order", "customer_email", "\"a@b.com\"", "/customer_email: unexpected property"},
    {"clean_market_order", "customer_name", "\"Rahim\"", "/customer_name: unexpected property"},
    {"clean_market_order", "customer_phone_hash", "\"abc\"",
     "/customer_phone_hash: must match pattern ^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$"},
    {"clean_market_order", "customer_phone_hash", NULL, NULL},
    {"clean_market_order", "quantity", "0", "/quantity: must be > 0"},
    {"clean_social_post", "author_username", "\"rahim\"", "/author_username: unexpected property"},
    {"clean_social_post", "author_name", "\"Rahim\"", "/author_name: unexpected property"},
    {"clean_social_post", "author_hash", NULL, "/author_hash: is required"},
    {"clean_social_post", "author_hash", "\"rahim\"",
     "/author_hash: must match pattern ^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$"},
    {"enriched_post", "products", "[{\"id\":\"P-1\"}]", "/products/0/name: is required"},
    {"enriched_post", "products", "[]", NULL},
    {"enriched_post", "enriched_text", NULL, "/enriched_text: is required"},
    {"enriched_post", "author_username", "\"rahim\"", "/author_username: unexpected property"},
    {"weather_observation", "humidity", "101", "/humidity: must be <= 100"},
    {"weather_observation", "humidity", "-0.5", "/humidity: must be >= 0"},
    {"weather_observation", "wind_speed", "-1", "/wind_speed: must be >= 0"},
    {"weather_observation", "is_extreme_weather", "\"yes\"",
     "/is_extreme_weather: must be boolean"},
    {"weather_observation", "temperature", "\"31\"", "/temperature: must be number"},
    {"weather_observation", "rain_1h_mm", NULL, NULL},
    {"weather_observation", "city", NULL, "/city: is required"},
    {"vector_record", "vector", "[0.1]", "/vector: must have at least 384 items"},
    {"vector_record", "id", "\"not-a-uuid\"", "/id: must be a valid uuid"},
    {"vector_record", "engagement", "-5", "/engagement: must be >= 0"},
    {"risk_decision", "score", "101", "/score: must be <= 100"},
    {"risk_decision", "decision", "\"reject\"",
     "/decision: must be one of [\"accept\",\"advance_payment_required\"]"},
    {"risk_decision", "reasons", "\"x\"", "/reasons: must be array"},
    {"risk_decision", "platform", NULL, NULL},
    {"privacy_audit", "counts/phone", "-1", "/counts/phone: must be >= 0"},
    {"privacy_audit", "counts/identifiers_hashed", NULL, "/counts/identifiers_hashed: is required"},
    {"privacy_audit", "message_key", "\"D-1\"", "/message_key: unexpected property"},
    {"privacy_audit", "key_id", "\"bad id!\"", "/key_id: must match pattern ^[A-Za-z0-9_-]{1,16}$"},
    {"privacy_audit", "event_id", NULL, NULL},
    {"dlq_envelope", "payload", "\"x\"",
     ": must match exactly one schema in oneOf (matched more than one)"},
    {"dlq_envelope", "payload_enc", NULL,
     ": must match exactly one schema in oneOf (matched none)"},
    {"dlq_envelope", "envelope_version", "2", "/envelope_version: must be equal to 1"},
    {"dlq_envelope", "error/path", NULL, "/error/path: is required"},
    {"dlq_envelope", "error/path", "null", NULL},
    {"dlq_envelope", "attempts", "0", "/attempts: must be >= 1"},
    {"dlq_envelope", "payload_enc/alg", "\"AES-128-CBC\"",
     "/payload_enc/alg: must be equal to \"AES-256-GCM\""},
};

static void apply(json_t **doc, const mutation_t *m) {
  char parent[64];
  const char *slash = strchr(m->path, '/'), *leaf = m->path;
  json_t *obj = *doc, *val = NULL;

  if (m->value) {
    json_error_t jerr;
    val = json_loads(m->value, JSON_DECODE_ANY, &jerr);
    if (!val)
      fail_msg("bad test value %s: %s", m->value, jerr.text);
  }
  if (!*m->path) {
    json_decref(*doc);
    *doc = val;
    return;
  }
  if (slash) {
    size_t l = (size_t)(slash - m->path);
    assert_true(l < sizeof(parent));
    memcpy(parent, m->path, l);
    parent[l] = '\0';
    obj = json_object_get(*doc, parent);
    assert_non_null(obj);
    leaf = slash + 1;
  }
  if (val)
    json_object_set_new(obj, leaf, val);
  else
    json_object_del(obj, leaf);
}

static void test_mutations(void **state) {
  char err[512];
  (void)state;
  for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
    const mutation_t *m = &mutations[i];
    schema_t *s = load_contract(m->schema);
    json_t *doc = load_sample(m->schema);
    apply(&doc, m);
    int rc = schema_validate(s, doc, err, sizeof(err));
    if (!m->err && rc != 0)
      fail_msg("%s %s: expected valid, got %s", m->schema, m->path, err);
    if (m->err && (rc == 0 || strcmp(err, m->err)))
      fail_msg("%s %s: expected \"%s\", got %s", m->schema, m->path, m->err, rc ? err : "valid");
    json_decref(doc);
    schema_destroy(s);
  }
}

typedef struct pii_expect {
  const char *name, *kind, *target;
  schema_pii_action_t action;
} pii_expect_t;

static void check_pii(const char *schema, const pii_expect_t *want, size_t n_want) {
  schema_t *s = load_contract(schema);
  const schema_pii_field_t *f;
  size_t n = schema_pii_fields(s, &f);
  assert_int_equal(n, n_want);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(f[i].name, want[i].name);
    assert_int_equal(f[i].action, want[i].action);
    if (want[i].kind) {
      assert_string_equal(f[i].kind, want[i].kind);
      assert_string_equal(f[i].target, want[i].target);
    } else {
      assert_null(f[i].kind);
      assert_null(f[i].target);
    }
  }
  schema_destroy(s);
}

static void test_pii_annotations(void **state) {
  static const pii_expect_t social[] = {
      {"author_username", "username", "author_hash", SCHEMA_PII_HASH},
      {"author_name", "name", "author_name_hash", SCHEMA_PII_HASH},
      {"content", NULL, NULL, SCHEMA_PII_SCAN},
      {"hashtags", NULL, NULL, SCHEMA_PII_SCAN},
  };
  static const pii_expect_t order[] = {
      {"customer_phone", "phone", "customer_phone_hash", SCHEMA_PII_HASH},
      {"customer_email", "email", "customer_email_hash", SCHEMA_PII_HASH},
      {"customer_name", "name", "customer_name_hash", SCHEMA_PII_HASH},
      {"note", NULL, NULL, SCHEMA_PII_SCAN},
  };
  (void)state;
  check_pii("social_post", social, 4);
  check_pii("market_order", order, 4);
  for (size_t i = 2; i < sizeof(contracts) / sizeof(contracts[0]); i++)
    check_pii(contracts[i], NULL, 0); /* only source contracts carry policy */
}

/* Every hash target of a source contract is declared by its clean contract,
 * and every raw identifier is refused by it. */
static void test_clean_contracts_follow_policy(void **state) {
  static const char *const pairs[][2] = {{"social_post", "clean_social_post"},
                                         {"social_post", "enriched_post"},
                                         {"market_order", "clean_market_order"}};
  char err[512], want[256];
  (void)state;
  for (size_t p = 0; p < 3; p++) {
    schema_t *src = load_contract(pairs[p][0]), *clean = load_contract(pairs[p][1]);
    const schema_pii_field_t *f;
    size_t n = schema_pii_fields(src, &f);
    for (size_t i = 0; i < n; i++) {
      if (f[i].action != SCHEMA_PII_HASH)
        continue;
      json_t *doc = load_sample(pairs[p][1]);
      json_object_set_new(doc, f[i].target, json_string(HASH));
      if (schema_validate(clean, doc, err, sizeof(err)) != 0)
        fail_msg("%s: target %s refused: %s", pairs[p][1], f[i].target, err);
      json_object_set_new(doc, f[i].name, json_string("raw"));
      assert_int_equal(schema_validate(clean, doc, err, sizeof(err)), -1);
      snprintf(want, sizeof(want), "/%s: unexpected property", f[i].name);
      assert_string_equal(err, want);
      json_decref(doc);
    }
    schema_destroy(src);
    schema_destroy(clean);
  }
}

/* The real producers' output matches the contracts: pii hashes and dlq envelopes. */
static void test_real_producers_match(void **state) {
  static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
  char err[512], hash[PII_HASH_MAX];
  (void)state;

  pii_hasher_t *h = pii_hasher_new(key, sizeof(key), NULL, err, sizeof(err));
  if (!h)
    fail_msg("%s", err);
  assert_int_equal(
      pii_hash_identifier(h, "phone", "01711-234567", 12, hash, sizeof(hash), err, sizeof(err)), 0);
  schema_t *s = load_contract("clean_market_order");
  json_t *doc = load_sample("clean_market_order");
  json_object_set_new(doc, "customer_phone_hash", json_string(hash));
  if (schema_validate(s, doc, err, sizeof(err)) != 0)
    fail_msg("real hash %s refused: %s", hash, err);
  json_decref(doc);
  schema_destroy(s);
  pii_hasher_destroy(h);

  s = load_contract("dlq_envelope");
  dlq_key_t *k = dlq_key_new(key);
  dlq_error_t e = {"privacy-shield", "schema", "/quantity: must be > 0", "/quantity"};
  dlq_origin_t o = {"source.market.daraz", 1, 1234, "D-1", 3, 1780000000000LL};
  const char *payload = "{\"quantity\":0}";
  for (int sealed = 0; sealed < 2; sealed++) {
    json_t *env = dlq_envelope_new(payload, strlen(payload), &e, &o, sealed ? k : NULL,
                                   "privacy-shield/0.1.0", 1, err, sizeof(err));
    if (!env)
      fail_msg("%s", err);
    if (schema_validate(s, env, err, sizeof(err)) != 0)
      fail_msg("dlq envelope (sealed=%d) refused: %s", sealed, err);
    json_decref(env);
  }
  dlq_key_destroy(k);
  schema_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_schema_file_loads),
      cmocka_unit_test(test_topics_yaml_schemas_exist),
      cmocka_unit_test(test_samples_valid),
      cmocka_unit_test(test_mutations),
      cmocka_unit_test(test_pii_annotations),
      cmocka_unit_test(test_clean_contracts_follow_policy),
      cmocka_unit_test(test_real_producers_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
