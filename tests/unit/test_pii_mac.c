/* The pseudonym MAC against OpenSSL's own HMAC-SHA256, for every message
 * length from empty to several blocks (the one-block path pads the block
 * itself; longer messages go through SHA256_Update/Final) and for keys
 * shorter than, equal to and longer than the SHA-256 block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/pii.h"

/* "<id>:<64 hex>" of OpenSSL's HMAC-SHA256(key, msg). */
static void reference(const unsigned char *key, size_t key_len, const char *id, const char *msg,
                      size_t msg_len, char *out, size_t out_size) {
  unsigned char md[32];
  unsigned int md_len = 0;
  assert_non_null(
      HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, md, &md_len));
  assert_int_equal(md_len, 32);
  int o = snprintf(out, out_size, "%s:", id);
  for (size_t i = 0; i < 32; i++)
    o += snprintf(out + o, out_size - (size_t)o, "%02x", md[i]);
}

static void test_every_length(void **state) {
  (void)state;
  static const size_t key_lens[] = {16, 63, 64, 65, 100};
  unsigned char key[100];
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (unsigned char)(i * 7 + 3);
  for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
    char err[128];
    pii_hasher_t *h = pii_hasher_new(key, key_lens[k], "t", err, sizeof(err));
    assert_non_null(h);
    /* Usernames are hashed as "username:" + the lower-cased value: lengths
     * 1..600 cross the one-block limit (55 bytes of message), the next
     * blocks, and the 256-byte chunks the lower-casing feeds the MAC in. */
    for (size_t n = 1; n <= 600; n++) {
      char value[601], msg[700], got[PII_HASH_MAX], want[PII_HASH_MAX];
      for (size_t i = 0; i < n; i++)
        value[i] = (char)('a' + (i * 5 + n) % 26);
      int ml = snprintf(msg, sizeof(msg), "username:%.*s", (int)n, value);
      value[0] = (char)(value[0] - 'a' + 'A'); /* folded before hashing */
      assert_int_equal(
          pii_hash_identifier(h, "username", value, n, got, sizeof(got), err, sizeof(err)), 0);
      reference(key, key_lens[k], "t", msg, (size_t)ml, want, sizeof(want));
      if (strcmp(got, want) != 0)
        fail_msg("key %zu bytes, username of %zu bytes: %s != %s", key_lens[k], n, got, want);
    }
    pii_hasher_destroy(h);
  }
}

/* A token is the first 16 hex digits of the identifier hash (pii.h), so the
 * scrubber's MAC is checked through the same reference. */
static void test_tokens(void **state) {
  (void)state;
  const unsigned char key[] = "0123456789abcdef";
  char err[128], want[PII_HASH_MAX];
  pii_hasher_t *h = pii_hasher_new(key, 16, "k1", err, sizeof(err));
  assert_non_null(h);
  const char *text = "call 01711234567 or write to Some.One@Example.com";
  size_t out_len = 0;
  pii_counts_t counts = {0, 0};
  char *clean = pii_scrub_text(h, text, strlen(text), &out_len, &counts);
  assert_non_null(clean);
  assert_int_equal(counts.phones, 1);
  assert_int_equal(counts.emails, 1);
  reference(key, 16, "k1", "phone:+8801711234567", 20, want, sizeof(want));
  char expect[200];
  snprintf(expect, sizeof(expect), "call PHONE_%.16s or write to ", want + 3);
  reference(key, 16, "k1", "email:some.one@example.com", 26, want, sizeof(want));
  size_t el = strlen(expect);
  snprintf(expect + el, sizeof(expect) - el, "EMAIL_%.16s", want + 3);
  assert_string_equal(clean, expect);
  assert_int_equal(out_len, strlen(expect));
  free(clean);
  pii_hasher_destroy(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_length),
      cmocka_unit_test(test_tokens),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
