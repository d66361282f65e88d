/* risk-svc API keys: the keys file format, lookup by SHA-256, the constant-
 * time compare, scopes, the per-key rate limit and where a key is taken
 * from (X-API-Key / Authorization: Bearer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "risk_auth.h"

static void sha_hex(const char *key, char out[65]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  assert_true(EVP_Digest(key, strlen(key), d, &n, EVP_sha256(), NULL));
  for (unsigned i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static risk_keys_t *three_keys(double rate, double burst) {
  char a[65], b[65], c[65], text[512], err[256];
  sha_hex("gateway-secret-1", a);
  sha_hex("admin-secret-2", b);
  sha_hex("both-secret-3", c);
  for (char *p = c; *p; p++) /* upper-case hex is accepted too */
    if (*p >= 'a' && *p <= 'f')
      *p = (char)(*p - 32);
  snprintf(
      text, sizeof(text),
      "# name scopes sha256\n\ngateway score %s\nops-admin admin %s\r\n  both\tscore,admin  %s", a,
      b, c);
  risk_keys_t *k = risk_keys_parse(text, strlen(text), "keys", rate, burst, err, sizeof(err));
  if (!k)
    fail_msg("%s", err);
  return k;
}

static void test_lookup_and_scopes(void **state) {
  (void)state;
  risk_keys_t *k = three_keys(0, 0);
  assert_int_equal(risk_keys_count(k), 3);
  int i = risk_keys_find(k, "gateway-secret-1", 16);
  assert_int_equal(i, 0);
  assert_string_equal(risk_keys_name(k, i), "gateway");
  assert_int_equal(risk_keys_scopes(k, i), RISK_SCOPE_SCORE);
  i = risk_keys_find(k, "admin-secret-2", 14);
  assert_int_equal(risk_keys_scopes(k, i), RISK_SCOPE_ADMIN);
  i = risk_keys_find(k, "both-secret-3", 13);
  assert_int_equal(i, 2);
  assert_int_equal(risk_keys_scopes(k, i), RISK_SCOPE_SCORE | RISK_SCOPE_ADMIN);
  assert_int_equal(risk_keys_find(k, "gateway-secret-", 15), -1); /* a prefix is no key */
  assert_int_equal(risk_keys_find(k, "gateway-secret-11", 17), -1);
  assert_int_equal(risk_keys_find(k, "", 0), -1);
  assert_int_equal(risk_keys_find(k, NULL, 0), -1);
  /* The file holds digests: presenting a digest itself is not the key. */
  char hex[65];
  sha_hex("gateway-secret-1", hex);
  assert_int_equal(risk_keys_find(k, hex, 64), -1);
  risk_keys_destroy(k);
}

static void test_constant_time_compare(void **state) {
  (void)state;
  unsigned char a[32], b[32];
  for (int i = 0; i < 32; i++)
    a[i] = b[i] = (unsigned char)(i * 7 + 1);
  assert_int_equal(risk_digest_equal(a, b, 32), 1);
  int positions[] = {0, 1, 15, 31};
  for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
    b[positions[p]] ^= 0x80; /* one bit anywhere, first and last byte included */
    assert_int_equal(risk_digest_equal(a, b, 32), 0);
    b[positions[p]] ^= 0x80;
  }
  assert_int_equal(risk_digest_equal(a, b, 0), 1);
  assert_int_equal(risk_digest_equal(a, b, 32), 1);
}

static void test_rate_limit(void **state) {
  (void)state;
  risk_keys_t *k = three_keys(2, 3); /* 2/s, burst 3 */
  int ra = -1;
  int64_t t = 1000000;
  for (int i = 0; i < 3; i++)
    assert_int_equal(risk_keys_admit(k, 0, t, &ra), 1);
  assert_int_equal(risk_keys_admit(k, 0, t, &ra), 0);
  assert_int_equal(ra, 1);
  assert_int_equal(risk_keys_admit(k, 1, t, &ra), 1);          /* buckets are per key */
  assert_int_equal(risk_keys_admit(k, 0, t + 500000, &ra), 1); /* 0.5 s → one token */
  assert_int_equal(risk_keys_admit(k, 0, t + 500000, &ra), 0);
  assert_int_equal(risk_keys_admit(k, 0, t + 10000000, &ra), 1); /* refilled, capped at burst */
  assert_int_equal(risk_keys_admit(k, 0, t + 10000000, &ra), 1);
  assert_int_equal(risk_keys_admit(k, 0, t + 10000000, &ra), 1);
  assert_int_equal(risk_keys_admit(k, 0, t + 10000000, &ra), 0);
  risk_keys_destroy(k);
  /* A slow rate: Retry-After rounds up to whole seconds. */
  k = three_keys(0.25, 1);
  assert_int_equal(risk_keys_admit(k, 2, t, &ra), 1);
  assert_int_equal(risk_keys_admit(k, 2, t, &ra), 0);
  assert_int_equal(ra, 4);
  risk_keys_destroy(k);
  k = three_keys(0, 0); /* 0: unlimited */
  for (int i = 0; i < 10000; i++)
    assert_int_equal(risk_keys_admit(k, 0, t, &ra), 1);
  risk_keys_destroy(k);
}

static void test_file_errors(void **state) {
  (void)state;
  char h[65], text[512];
  sha_hex("x", h);
  static const struct {
    const char *fmt, *want;
  } bad[] = {
      {"gateway score\n", "line 1: expected NAME SCOPES SHA256HEX"},
      {"gateway score %s extra\n", "line 1: expected NAME SCOPES SHA256HEX"},
      {"# c\nbad/name score %s\n", "line 2: name must be"},
      {"gateway read %s\n", "scopes must be score, admin or score,admin"},
      {"gateway score, %s\n", "scopes must be"},
      {"gateway score 12ab\n", "64 hex digits"},
      {"gateway score %.63sz\n", "64 hex digits"},
      {"a score %s\na admin 0000000000000000000000000000000000000000000000000000000000000000\n",
       "line 2: duplicate key name"},
      {"a score %s\nb admin %1$s\n", "line 2: the same key is listed twice"},
      {"# only comments\n\n", "no keys"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char err[256] = "";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    snprintf(text, sizeof(text), bad[i].fmt, h);
#pragma GCC diagnostic pop
    risk_keys_t *k = risk_keys_parse(text, strlen(text), "keys.txt", 0, 0, err, sizeof(err));
    if (k || !strstr(err, bad[i].want))
      fail_msg("case %zu: want \"%s\", got \"%s\"", i, bad[i].want, err);
    assert_null(strstr(err, h)); /* never the digest */
  }
  char err[256];
  assert_null(risk_keys_load("/nonexistent/keys", 0, 0, err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/keys"));
}

static void test_presented(void **state) {
  (void)state;
  const char *k;
  size_t n;
  assert_int_equal(risk_auth_presented("abc", "Bearer zzz", &k, &n), 1);
  assert_int_equal(n, 3);
  assert_memory_equal(k, "abc", 3);
  assert_int_equal(risk_auth_presented(NULL, "Bearer tok-1 ", &k, &n), 1);
  assert_int_equal(n, 5);
  assert_memory_equal(k, "tok-1", 5);
  assert_int_equal(risk_auth_presented("", "bearer  tok", &k, &n), 1);
  assert_int_equal(n, 3);
  assert_int_equal(risk_auth_presented(NULL, "Basic dXNlcjpwYXNz", &k, &n), 0);
  assert_int_equal(risk_auth_presented(NULL, "Bearer   ", &k, &n), 0);
  assert_int_equal(risk_auth_presented(NULL, NULL, &k, &n), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookup_and_scopes), cmocka_unit_test(test_constant_time_compare),
      cmocka_unit_test(test_rate_limit),        cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_presented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
