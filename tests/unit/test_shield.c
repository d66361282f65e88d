/* privacy-shield's transform over plain strings: identifiers hashed and
 * dropped, PII in free text tokenised, one audit event per record, schema
 * failures dead-lettered with the failing path, and no raw value anywhere in
 * what it emits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/pii.h"
#include "shield.h"
#include "stage/stage_internal.h"
#include "json/schema.h"

typedef struct fixture {
  pii_hasher_t *hasher;
  shield_t *shield;
  schema_t *audit;
} fixture_t;

static int setup(void **state) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char dir[1024], path[1100], err[512];
  snprintf(dir, sizeof(dir), "%s/schemas", src ? src : ".");
  fixture_t *f = calloc(1, sizeof(*f));
  f->hasher = pii_hasher_new((const unsigned char *)"0123456789abcdef", 16, "k1", err, sizeof(err));
  assert_non_null(f->hasher);
  f->shield = shield_new(dir, f->hasher, err, sizeof(err));
  if (!f->shield)
    fail_msg("shield_new: %s", err);
  snprintf(path, sizeof(path), "%s/privacy_audit.json", dir);
  f->audit = schema_load_file(path, err, sizeof(err));
  assert_non_null(f->audit);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  shield_destroy(f->shield);
  pii_hasher_destroy(f->hasher);
  schema_destroy(f->audit);
  free(f);
  return 0;
}

/* Runs the transform on one JSON text; returns the status, fills out/fail. */
static int run(fixture_t *f, const char *topic, const char *text, stage_out_t *out,
               stage_fail_t *fail) {
  json_t *doc = json_loads(text, 0, NULL);
  assert_non_null(doc);
  stage_msg_t msg = {topic, 3, 42, "key-1", 5, text, strlen(text), -1, 0, NULL};
  memset(fail, 0, sizeof(*fail));
  int rc = shield_transform(f->shield, &msg, doc, out, fail);
  json_decref(doc);
  return rc;
}

static void out_free(stage_out_t *out) {
  for (size_t i = 0; i < out->count; i++) {
    free(out->items[i].topic);
    free(out->items[i].key);
    free(out->items[i].payload);
  }
  free(out->items);
  memset(out, 0, sizeof(*out));
}

static const char order[] =
    "{\"platform\":\"daraz\",\"order_id\":\"D-1001\",\"merchant_id\":\"m-7\","
    "\"product_id\":\"P-RAIN-01\",\"product_name\":\"Raincoat\",\"quantity\":2,\"price\":5000,"
    "\"currency\":\"BDT\",\"order_status\":\"pending\",\"payment_method\":\"cod\","
    "\"shipping_city\":\"Dhaka\",\"customer_phone\":\"01711-234567\","
    "\"customer_email\":\"Foo.Bar@Example.COM\",\"customer_name\":\"Rahim  Uddin\","
    "\"note\":\"call \\u09e6\\u09e7\\u09ed\\u09e7\\u09e7\\u09e8\\u09e9\\u09ea\\u09eb\\u09ec\\u09ed "
    "or mail foo.bar@example.com\",\"timestamp\":\"2026-11-20T10:00:00+06:00\"}";

static void test_order_cleaned(void **state) {
  fixture_t *f = *state;
  stage_out_t out = {0};
  stage_fail_t fail;
  assert_int_equal(run(f, "source.market.daraz", order, &out, &fail), STAGE_OK);
  assert_int_equal(out.count, 2);
  stage_item_t *clean = &out.items[0], *audit = &out.items[1];
  assert_string_equal(clean->topic, "sink.snowflake.orders");
  assert_int_equal(clean->kind, STAGE_OUTPUT_PRIMARY);
  assert_memory_equal(clean->key, "key-1", 5);
  json_t *c = json_loads(clean->payload, 0, NULL);
  assert_non_null(c);
  /* identifiers gone, hashes present; same person → same hash as the helper */
  const char *gone[] = {"customer_phone", "customer_email", "customer_name"};
  for (size_t i = 0; i < 3; i++)
    assert_null(json_object_get(c, gone[i]));
  char want[PII_HASH_MAX], err[128];
  assert_int_equal(pii_hash_identifier(f->hasher, "phone", "+8801711234567", 14, want, sizeof(want),
                                       err, sizeof(err)),
                   0);
  assert_string_equal(json_string_value(json_object_get(c, "customer_phone_hash")), want);
  assert_int_equal(pii_hash_identifier(f->hasher, "email", "foo.bar@example.com", 19, want,
                                       sizeof(want), err, sizeof(err)),
                   0);
  assert_string_equal(json_string_value(json_object_get(c, "customer_email_hash")), want);
  assert_non_null(json_object_get(c, "customer_name_hash"));
  /* the Bengali-digit phone in the note is the same person as the field */
  const char *note = json_string_value(json_object_get(c, "note"));
  char token[40];
  assert_int_equal(pii_hash_identifier(f->hasher, "phone", "01711234567", 11, want, sizeof(want),
                                       err, sizeof(err)),
                   0);
  snprintf(token, sizeof(token), "PHONE_%.16s", want + 3);
  assert_non_null(strstr(note, token));
  assert_non_null(strstr(note, "EMAIL_"));
  /* no raw value anywhere in either output */
  const char *raw[] = {"01711", "234567", "Foo.Bar", "foo.bar", "Rahim", "\xe0\xa7\xa7"};
  for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
    for (size_t j = 0; j < out.count; j++)
      if (strstr(out.items[j].payload, raw[i]))
        fail_msg("raw '%s' in %s", raw[i], out.items[j].topic);
  /* the rest of the record is untouched */
  assert_string_equal(json_string_value(json_object_get(c, "order_id")), "D-1001");
  assert_int_equal(json_integer_value(json_object_get(c, "quantity")), 2);
  json_decref(c);

  assert_string_equal(audit->topic, "audit.privacy");
  assert_int_equal(audit->kind, STAGE_OUTPUT_SIDE);
  json_t *a = json_loads(audit->payload, 0, NULL);
  assert_non_null(a);
  char verr[256];
  if (schema_validate(f->audit, a, verr, sizeof(verr)) != 0)
    fail_msg("audit event breaks privacy_audit.json: %s", verr);
  json_t *counts = json_object_get(a, "counts");
  assert_int_equal(json_integer_value(json_object_get(counts, "phone")), 1);
  assert_int_equal(json_integer_value(json_object_get(counts, "email")), 1);
  assert_int_equal(json_integer_value(json_object_get(counts, "identifiers_hashed")), 3);
  assert_string_equal(json_string_value(json_object_get(a, "topic")), "source.market.daraz");
  assert_int_equal(json_integer_value(json_object_get(a, "offset")), 42);
  assert_string_equal(json_string_value(json_object_get(a, "key_id")), "k1");
  json_decref(a);
  out_free(&out);
}

static void test_post_cleaned(void **state) {
  fixture_t *f = *state;
  stage_out_t out = {0};
  stage_fail_t fail;
  const char *post =
      "{\"platform\":\"tiktok\",\"post_id\":\"t-1\",\"author_username\":\"Rahim_77\","
      "\"content\":\"amar number +880 1711-234567 e call den\","
      "\"engagement_count\":5,\"timestamp\":\"2026-11-20T10:00:00Z\","
      "\"hashtags\":[\"sale\",\"01811234567\"],\"product_mentions\":[\"P-1\"]}";
  assert_int_equal(run(f, "source.social.tiktok", post, &out, &fail), STAGE_OK);
  assert_string_equal(out.items[0].topic, "clean.social");
  json_t *c = json_loads(out.items[0].payload, 0, NULL);
  assert_null(json_object_get(c, "author_username"));
  /* usernames are case-folded before hashing: one person, one pseudonym */
  char want[PII_HASH_MAX], err[128];
  assert_int_equal(pii_hash_identifier(f->hasher, "username", "rahim_77", 8, want, sizeof(want),
                                       err, sizeof(err)),
                   0);
  assert_string_equal(json_string_value(json_object_get(c, "author_hash")), want);
  const char *content = json_string_value(json_object_get(c, "content"));
  assert_true(strncmp(content, "amar number PHONE_", 18) == 0);
  assert_non_null(strstr(content, " e call den"));
  assert_true(strncmp(json_string_value(json_array_get(json_object_get(c, "hashtags"), 1)),
                      "PHONE_", 6) == 0);
  json_decref(c);
  out_free(&out);
}

/* Each invalid record: topic, document, expected code and path. */
static void test_dead_letters(void **state) {
  fixture_t *f = *state;
  struct {
    const char *topic, *doc, *code, *path, *message;
  } cases[] = {
      {"source.market.shopify",
       "{\"platform\":\"shopify\",\"order_id\":\"1\",\"merchant_id\":\"m\",\"product_id\":\"P\","
       "\"product_name\":\"x\",\"quantity\":0,\"price\":1,\"order_status\":\"pending\","
       "\"payment_method\":\"cod\",\"shipping_city\":\"Dhaka\",\"timestamp\":\"2026-11-20T10:00:"
       "00Z\"}",
       "schema", "/quantity", "/quantity: must be > 0"},
      {"source.market.shopify",
       "{\"platform\":\"shopify\",\"order_id\":\"1\",\"merchant_id\":\"m\",\"product_id\":\"P\","
       "\"product_name\":\"x\",\"quantity\":1,\"price\":1,\"order_status\":\"pending\","
       "\"payment_method\":\"cod\",\"shipping_city\":\"Dhaka\",\"timestamp\":\"2026-11-20T10:00:"
       "00Z\","
       "\"customer_phone\":\"ask the rider 555\"}",
       "invalid_identifier", "/customer_phone", "/customer_phone: not a phone number"},
      {"source.social.facebook",
       "{\"platform\":\"facebook\",\"post_id\":\"f\",\"author_username\":\"a\",\"content\":\"hi\","
       "\"engagement_count\":1,\"timestamp\":\"2026-11-20T10:00:00Z\"}",
       "schema", "/content", "/content: must be at least 5 characters"},
      {"source.social.facebook",
       "{\"platform\":\"facebook\",\"post_id\":\"f\",\"author_username\":\"a\",\"content\":"
       "\"hello\","
       "\"engagement_count\":1,\"timestamp\":\"2026-11-20T10:00:00Z\",\"url\":\"https://x/a\"}",
       "schema", "/url", "/url: unexpected property"},
      {"source.weather", "{}", "unknown_topic", "", "no route for input topic source.weather"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    stage_out_t out = {0};
    stage_fail_t fail;
    int rc = run(f, cases[i].topic, cases[i].doc, &out, &fail);
    if (rc != STAGE_DEAD_LETTER || strcmp(fail.code, cases[i].code) ||
        strcmp(fail.path, cases[i].path) || strcmp(fail.message, cases[i].message))
      fail_msg("case %zu: rc %d code %s path '%s' message '%s'", i, rc, fail.code ? fail.code : "",
               fail.path, fail.message);
    out_free(&out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_cleaned),
      cmocka_unit_test(test_post_cleaned),
      cmocka_unit_test(test_dead_letters),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
