/* Unit tests for common/privacy/dlq.c: envelope round trips, sealing, tampering and key files. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "core/b64.h"
#include "core/secret.h"
#include "privacy/dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* schema.c is written in parallel with this module; the schema check compiles
 * in only once it exists (the library globs every common .c file at build time). */
#if __has_include("schema.c")
#include "json/schema.h"
#define HAVE_SCHEMA 1
#else
#define HAVE_SCHEMA 0
#endif

static const unsigned char KEY_A[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                        23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char KEY_B[32] = {0xff, 0xee, 0xdd};

static const dlq_error_t ERR = {"privacy-shield", "schema", "must be > 0", "/quantity"};

static dlq_origin_t origin(const char *key) {
  dlq_origin_t o = {"source.market.shopify", 3, 42, key, key ? strlen(key) : 0, 1795822148123LL};
  return o;
}

/* Builds, serializes, parses back and opens an envelope; returns the payload. */
static json_t *roundtrip(const void *p, size_t n, const dlq_key_t *seal, unsigned char **out,
                         size_t *out_len) {
  char err[256];
  dlq_origin_t o = origin("order-1001");
  json_t *env = dlq_envelope_new(p, n, &ERR, &o, seal, "privacy-shield/0.1.0", 1, err, sizeof(err));
  assert_non_null(env);
  char *text = json_dumps(env, JSON_COMPACT);
  assert_non_null(text);
  json_decref(env);
  json_error_t jerr;
  json_t *back = json_loads(text, 0, &jerr);
  free(text);
  assert_non_null(back);
  assert_int_equal(dlq_envelope_payload(back, seal, out, out_len, err, sizeof(err)), 0);
  return back;
}

static void test_plaintext_utf8(void **state) {
  (void)state;
  const char *msg = "{\"order_id\":\"1001\",\"note\":\"দ্রুত\"}";
  unsigned char *out;
  size_t n;
  json_t *env = roundtrip(msg, strlen(msg), NULL, &out, &n);
  assert_string_equal(json_string_value(json_object_get(env, "payload")), msg);
  assert_null(json_object_get(env, "payload_b64"));
  assert_int_equal(n, strlen(msg));
  assert_memory_equal(out, msg, n);
  assert_int_equal(json_integer_value(json_object_get(env, "envelope_version")), 1);
  json_t *src = json_object_get(env, "source");
  assert_string_equal(json_string_value(json_object_get(src, "key")), "order-1001");
  assert_string_equal(json_string_value(json_object_get(src, "topic")), "source.market.shopify");
  assert_int_equal(json_integer_value(json_object_get(src, "partition")), 3);
  assert_int_equal(json_integer_value(json_object_get(src, "offset")), 42);
  json_t *e = json_object_get(env, "error");
  assert_string_equal(json_string_value(json_object_get(e, "path")), "/quantity");
  assert_string_equal(json_string_value(json_object_get(env, "producer")), "privacy-shield/0.1.0");
  free(out);
  json_decref(env);
}

static void test_plaintext_binary(void **state) {
  (void)state;
  const unsigned char bin[] = {0xff, 0xfe, 0x00, 'a', 0xc0, 0x80, 0x0a};
  const char with_nul[] = "ab\0cd";
  unsigned char *out;
  size_t n;
  json_t *env = roundtrip(bin, sizeof(bin), NULL, &out, &n);
  assert_null(json_object_get(env, "payload"));
  assert_non_null(json_string_value(json_object_get(env, "payload_b64")));
  assert_int_equal(n, sizeof(bin));
  assert_memory_equal(out, bin, n);
  free(out);
  json_decref(env);

  /* valid UTF-8 but with NUL: base64 too, so C-string readers cannot truncate */
  env = roundtrip(with_nul, 5, NULL, &out, &n);
  assert_non_null(json_object_get(env, "payload_b64"));
  assert_int_equal(n, 5);
  assert_memory_equal(out, with_nul, 5);
  free(out);
  json_decref(env);
}

static void test_plaintext_empty(void **state) {
  (void)state;
  unsigned char *out;
  size_t n;
  json_t *env = roundtrip(NULL, 0, NULL, &out, &n);
  assert_string_equal(json_string_value(json_object_get(env, "payload")), "");
  assert_int_equal(n, 0);
  assert_non_null(out);
  free(out);
  json_decref(env);
}

static void test_sealed_roundtrip(void **state) {
  (void)state;
  dlq_key_t *k = dlq_key_new(KEY_A);
  const char *msg = "{\"customer_phone\":\"+8801711234567\"}";
  unsigned char *out;
  size_t n;
  json_t *env = roundtrip(msg, strlen(msg), k, &out, &n);
  assert_null(json_object_get(env, "payload"));
  json_t *enc = json_object_get(env, "payload_enc");
  assert_string_equal(json_string_value(json_object_get(enc, "alg")), "AES-256-GCM");
  assert_string_equal(json_string_value(json_object_get(enc, "key_id")), dlq_key_id(k));
  assert_int_equal(n, strlen(msg));
  assert_memory_equal(out, msg, n);
  free(out);
  json_decref(env);

  env = roundtrip("", 0, k, &out, &n);
  assert_int_equal(n, 0);
  free(out);
  json_decref(env);
  dlq_key_destroy(k);
}

static void test_sealed_large(void **state) {
  (void)state;
  size_t len = 10u << 20;
  unsigned char *big = malloc(len);
  assert_non_null(big);
  for (size_t i = 0; i < len; i++)
    big[i] = (unsigned char)(i * 2654435761u >> 13);
  dlq_key_t *k = dlq_key_new(KEY_A);
  unsigned char *out;
  size_t n;
  json_t *env = roundtrip(big, len, k, &out, &n);
  assert_int_equal(n, len);
  assert_memory_equal(out, big, len);
  free(out);
  json_decref(env);
  /* and unsealed: not UTF-8, so base64 */
  env = roundtrip(big, len, NULL, &out, &n);
  assert_int_equal(n, len);
  assert_memory_equal(out, big, len);
  free(out);
  json_decref(env);
  dlq_key_destroy(k);
  free(big);
}

static void test_fresh_iv(void **state) {
  (void)state;
  char err[256];
  dlq_key_t *k = dlq_key_new(KEY_A);
  dlq_origin_t o = origin(NULL);
  json_t *a = dlq_envelope_new("same", 4, &ERR, &o, k, "p/1", 1, err, sizeof(err));
  json_t *b = dlq_envelope_new("same", 4, &ERR, &o, k, "p/1", 1, err, sizeof(err));
  assert_non_null(a);
  assert_non_null(b);
  const char *iva = json_string_value(json_object_get(json_object_get(a, "payload_enc"), "iv"));
  const char *ivb = json_string_value(json_object_get(json_object_get(b, "payload_enc"), "iv"));
  assert_string_not_equal(iva, ivb);
  assert_true(json_is_null(json_object_get(json_object_get(a, "source"), "key")));
  json_decref(a);
  json_decref(b);
  dlq_key_destroy(k);
}

static void test_sealed_hides_plaintext(void **state) {
  (void)state;
  char err[256];
  dlq_key_t *k = dlq_key_new(KEY_A);
  const char *msg = "{\"author_username\":\"MARKER-rahim-karim-MARKER\"}";
  dlq_origin_t o = origin("user-MARKER-rahim");
  json_t *env =
      dlq_envelope_new(msg, strlen(msg), &ERR, &o, k, "scraper-ingest/0.1.0", 1, err, sizeof(err));
  assert_non_null(env);
  char *text = json_dumps(env, JSON_COMPACT);
  assert_null(strstr(text, "MARKER"));
  assert_null(strstr(text, "rahim"));
  json_t *src = json_object_get(env, "source");
  assert_null(json_object_get(src, "key"));
  /* only the hex SHA-256 of the key remains */
  const char *h = json_string_value(json_object_get(src, "key_sha256"));
  assert_non_null(h);
  assert_int_equal(strlen(h), 64);
  json_decref(env);
  free(text);
  o = origin("order-1001");
  env = dlq_envelope_new(msg, strlen(msg), &ERR, &o, k, "p/1", 1, err, sizeof(err));
  text = json_dumps(env, JSON_COMPACT);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(env, "source"), "key_sha256")),
      "50ac93f41009bb5828fbeb9b39ca5129a5888ba493196a343d69c38b2df5a412");
  free(text);
  json_decref(env);
  dlq_key_destroy(k);
}

static void test_key_binary_plain(void **state) {
  (void)state;
  char err[256];
  const char key[] = {'k', (char)0xff, 'x'};
  dlq_origin_t o = origin(NULL);
  o.key = key;
  o.key_len = sizeof(key);
  json_t *env = dlq_envelope_new("x", 1, &ERR, &o, NULL, "p/1", 1, err, sizeof(err));
  assert_non_null(env);
  json_t *src = json_object_get(env, "source");
  assert_null(json_object_get(src, "key"));
  assert_string_equal(json_string_value(json_object_get(src, "key_b64")), "a/94");
  json_decref(env);
}

static void test_wrong_key(void **state) {
  (void)state;
  char err[256];
  dlq_key_t *a = dlq_key_new(KEY_A), *b = dlq_key_new(KEY_B);
  dlq_origin_t o = origin("1");
  json_t *env = dlq_envelope_new("secret", 6, &ERR, &o, a, "p/1", 1, err, sizeof(err));
  unsigned char *out = (unsigned char *)"sentinel";
  size_t n = 99;
  assert_int_equal(dlq_envelope_payload(env, b, &out, &n, err, sizeof(err)), -1);
  assert_null(out);
  char want[128];
  snprintf(want, sizeof(want), "sealed with key %s, have %s", dlq_key_id(a), dlq_key_id(b));
  assert_non_null(strstr(err, want));
  assert_int_equal(dlq_envelope_payload(env, NULL, &out, &n, err, sizeof(err)), -1);
  assert_non_null(strstr(err, dlq_key_id(a)));
  json_decref(env);
  dlq_key_destroy(a);
  dlq_key_destroy(b);
}

/* Decodes a base64 member, flips one bit of byte i, stores it back. */
static void flip(json_t *obj, const char *name, size_t i) {
  unsigned char *buf;
  size_t n;
  const char *s = json_string_value(json_object_get(obj, name));
  assert_int_equal(b64_decode(s, strlen(s), &buf, &n), 0);
  assert_true(i < n);
  buf[i] ^= 0x01;
  char *enc = b64_encode(buf, n);
  json_object_set_new(obj, name, json_string(enc));
  free(enc);
  free(buf);
}

static void expect_auth_fail(json_t *env, const dlq_key_t *k) {
  char err[256];
  unsigned char *out;
  size_t n;
  assert_int_equal(dlq_envelope_payload(env, k, &out, &n, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "authentication failed"));
}

static void test_tamper(void **state) {
  (void)state;
  char err[256];
  dlq_key_t *k = dlq_key_new(KEY_A);
  dlq_origin_t o = origin("1");
  const char *fields[] = {"ciphertext", "tag", "iv"};
  for (size_t f = 0; f < 3; f++) {
    json_t *env = dlq_envelope_new("pii: 01711234567", 16, &ERR, &o, k, "p/1", 1, err, sizeof(err));
    flip(json_object_get(env, "payload_enc"), fields[f], 0);
    expect_auth_fail(env, k);
    json_decref(env);
  }
  /* AAD: the same ciphertext moved onto another topic must not open */
  json_t *env = dlq_envelope_new("pii", 3, &ERR, &o, k, "p/1", 1, err, sizeof(err));
  json_object_set_new(json_object_get(env, "source"), "topic", json_string("source.market.daraz"));
  expect_auth_fail(env, k);
  /* a topic with an embedded NUL must not pass as its prefix */
  json_object_set_new(json_object_get(env, "source"), "topic",
                      json_stringn("source.market.shopify\0x", 23));
  unsigned char *out;
  size_t n;
  assert_int_equal(dlq_envelope_payload(env, k, &out, &n, err, sizeof(err)), -1);
  json_decref(env);
  /* truncated tag is rejected before decryption */
  env = dlq_envelope_new("pii", 3, &ERR, &o, k, "p/1", 1, err, sizeof(err));
  json_object_set_new(json_object_get(env, "payload_enc"), "tag", json_string("AAAA"));
  assert_int_equal(dlq_envelope_payload(env, k, &out, &n, err, sizeof(err)), -1);
  json_decref(env);
  dlq_key_destroy(k);
}

static void test_malformed(void **state) {
  (void)state;
  char err[256];
  unsigned char *out;
  size_t n;
  json_t *env =
      json_pack("{s:i, s:s, s:s}", "envelope_version", 1, "payload", "a", "payload_b64", "YQ==");
  assert_int_equal(dlq_envelope_payload(env, NULL, &out, &n, err, sizeof(err)), -1);
  json_decref(env);
  env = json_pack("{s:i, s:s}", "envelope_version", 2, "payload", "a");
  assert_int_equal(dlq_envelope_payload(env, NULL, &out, &n, err, sizeof(err)), -1);
  json_decref(env);
  env = json_pack("{s:i, s:s}", "envelope_version", 1, "payload_b64", "YQ=\n");
  assert_int_equal(dlq_envelope_payload(env, NULL, &out, &n, err, sizeof(err)), -1);
  json_decref(env);

  dlq_origin_t o = origin(NULL);
  assert_null(dlq_envelope_new("a", 1, &ERR, &o, NULL, "p/1", 0, err, sizeof(err)));
  assert_non_null(strstr(err, "attempts"));
  assert_null(dlq_envelope_new("a", 1, NULL, &o, NULL, "p/1", 1, err, sizeof(err)));
  o.topic = NULL;
  assert_null(dlq_envelope_new("a", 1, &ERR, &o, NULL, "p/1", 1, err, sizeof(err)));
}

static int is_rfc3339_ms(const char *s) {
  /* YYYY-MM-DDTHH:MM:SS.mmmZ */
  const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (!s || strlen(s) != strlen(pat))
    return 0;
  for (size_t i = 0; pat[i]; i++) {
    if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
      return 0;
  }
  return 1;
}

static void test_timestamps(void **state) {
  (void)state;
  char err[256];
  dlq_origin_t o = origin(NULL);
  json_t *env = dlq_envelope_new("a", 1, &ERR, &o, NULL, "p/1", 1, err, sizeof(err));
  const char *first = json_string_value(json_object_get(env, "first_failed_at"));
  const char *last = json_string_value(json_object_get(env, "last_failed_at"));
  assert_true(is_rfc3339_ms(first));
  assert_string_equal(first, last);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(env, "source"), "timestamp")),
      "2026-11-27T23:29:08.123Z");
  assert_int_equal(json_integer_value(json_object_get(env, "attempts")), 1);
  json_decref(env);
  o.timestamp_ms = -1;
  o.partition = -1;
  o.offset = -1;
  env = dlq_envelope_new("a", 1, &ERR, &o, NULL, "p/1", 3, err, sizeof(err));
  assert_true(json_is_null(json_object_get(json_object_get(env, "source"), "timestamp")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(env, "source"), "partition")),
                   -1);
  json_decref(env);
}

/* ---- key files ---------------------------------------------------------- */

static char *write_tmp(const void *data, size_t n) {
  char *path = strdup("/tmp/test_dlq_keyXXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, n), (ssize_t)n);
  close(fd);
  return path;
}

static void expect_key(const void *data, size_t n, const unsigned char *want) {
  char err[256] = "";
  char *path = write_tmp(data, n);
  dlq_key_t *k = dlq_key_load(path, err, sizeof(err));
  if (want) {
    assert_non_null(k);
    dlq_key_t *ref = dlq_key_new(want);
    assert_string_equal(dlq_key_id(k), dlq_key_id(ref));
    char id[16];
    secret_key_id(want, 32, id, sizeof(id));
    assert_string_equal(dlq_key_id(k), id);
    dlq_key_destroy(ref);
  } else {
    assert_null(k);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "32 raw bytes or 64 hex"));
  }
  dlq_key_destroy(k);
  unlink(path);
  free(path);
}

static void test_key_files(void **state) {
  (void)state;
  char hex[66];
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", KEY_A[i]);
  expect_key(KEY_A, 32, KEY_A);
  expect_key(hex, 64, KEY_A);
  hex[64] = '\n';
  expect_key(hex, 65, KEY_A);
  for (int i = 0; i < 64; i++)
    if (hex[i] >= 'a' && hex[i] <= 'f')
      hex[i] = (char)(hex[i] - 'a' + 'A');
  expect_key(hex, 64, KEY_A);
  expect_key(KEY_A, 31, NULL);
  expect_key(hex, 63, NULL);
  hex[10] = 'g';
  expect_key(hex, 64, NULL);
  /* a raw key whose last byte is '\n' must not lose it to newline stripping */
  unsigned char nl[32];
  memcpy(nl, KEY_A, 32);
  nl[31] = '\n';
  expect_key(nl, 32, nl);
  nl[30] = '\r';
  expect_key(nl, 32, nl);
  unsigned char raw_nl[33];
  memcpy(raw_nl, KEY_A, 32);
  raw_nl[32] = '\n';
  expect_key(raw_nl, 33, KEY_A);
}

static void test_key_errors_hide_content(void **state) {
  (void)state;
  char err[256];
  const char *secret = "SECRETSECRETSECRETSECRET-not-a-key";
  char *path = write_tmp(secret, strlen(secret));
  assert_null(dlq_key_load(path, err, sizeof(err)));
  assert_null(strstr(err, "SECRET"));
  unlink(path);
  free(path);
  assert_null(dlq_key_load("/nonexistent/dlq.key", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/dlq.key"));
  dlq_key_destroy(NULL);
}

static void test_schema(void **state) {
  (void)state;
#if HAVE_SCHEMA
  const char *dir = getenv("SENSORY_SOURCE_DIR");
  char path[1024], err[512];
  snprintf(path, sizeof(path), "%s/schemas/dlq_envelope.json", dir ? dir : ".");
  if (access(path, R_OK) != 0) {
    print_message("schemas/dlq_envelope.json not present yet: schema check skipped\n");
    skip();
  }
  schema_t *sc = schema_load_file(path, err, sizeof(err));
  assert_non_null(sc);
  dlq_key_t *k = dlq_key_new(KEY_A);
  const unsigned char bin[] = {0xff, 0x00};
  for (int variant = 0; variant < 3; variant++) {
    dlq_origin_t o = origin(variant == 1 ? NULL : "order-1");
    dlq_error_t e = ERR;
    if (variant == 1)
      e.path = NULL;
    json_t *env = variant == 2 ? dlq_envelope_new(bin, 2, &e, &o, NULL, "p/1", 1, err, sizeof(err))
                               : dlq_envelope_new("x", 1, &e, &o, variant ? k : NULL, "p/1", 1, err,
                                                  sizeof(err));
    assert_non_null(env);
    if (schema_validate(sc, env, err, sizeof(err)) != 0)
      fail_msg("variant %d does not validate: %s", variant, err);
    json_decref(env);
  }
  dlq_key_destroy(k);
  schema_destroy(sc);
#else
  print_message("common/json/schema.c not present yet: schema check skipped\n");
  skip();
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plaintext_utf8),
      cmocka_unit_test(test_plaintext_binary),
      cmocka_unit_test(test_plaintext_empty),
      cmocka_unit_test(test_sealed_roundtrip),
      cmocka_unit_test(test_sealed_large),
      cmocka_unit_test(test_fresh_iv),
      cmocka_unit_test(test_sealed_hides_plaintext),
      cmocka_unit_test(test_key_binary_plain),
      cmocka_unit_test(test_wrong_key),
      cmocka_unit_test(test_tamper),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_timestamps),
      cmocka_unit_test(test_key_files),
      cmocka_unit_test(test_key_errors_hide_content),
      cmocka_unit_test(test_schema),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
