/* test_utf8 — strict decoding (overlongs, surrogates, truncation), lengths in
 * code points for Bengali text, and encode/decode round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "core/utf8.h"

static void test_decode_valid(void **state) {
  uint32_t cp;
  (void)state;
  assert_int_equal(utf8_decode("A", 1, &cp), 1);
  assert_int_equal(cp, 'A');
  assert_int_equal(utf8_decode("\xC3\xA9", 2, &cp), 2); /* é */
  assert_int_equal(cp, 0xE9);
  assert_int_equal(utf8_decode("\xE0\xA7\xAA", 3, &cp), 3); /* ৪ Bengali four */
  assert_int_equal(cp, 0x09EA);
  assert_int_equal(utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4); /* 😀 */
  assert_int_equal(cp, 0x1F600);
}

static void test_decode_invalid(void **state) {
  static const struct {
    const char *s;
    size_t len;
  } bad[] = {
      {"", 0},                 /* empty */
      {"\x80", 1},             /* lone continuation */
      {"\xC0\xAF", 2},         /* overlong '/' */
      {"\xE0\x80\xAF", 3},     /* overlong 3-byte */
      {"\xF0\x80\x80\xAF", 4}, /* overlong 4-byte */
      {"\xED\xA0\x80", 3},     /* surrogate U+D800 */
      {"\xF4\x90\x80\x80", 4}, /* above U+10FFFF */
      {"\xE0\xA7", 2},         /* truncated */
      {"\xC3\x28", 2},         /* bad continuation */
      {"\xFF", 1},
  };
  uint32_t cp;
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(utf8_decode(bad[i].s, bad[i].len, &cp), 0);
}

static void test_length_and_valid(void **state) {
  const char *bn = "০১৭১১২৩৪৫৬৭"; /* 11 Bengali digits, 3 bytes each */
  const char *mixed = "দাম 500 BDT";
  (void)state;
  assert_int_equal(utf8_length(bn, strlen(bn)), 11);
  assert_int_equal(strlen(bn), 33);
  assert_int_equal(utf8_length(mixed, strlen(mixed)), 11);
  assert_int_equal(utf8_length("", 0), 0);
  assert_true(utf8_valid(bn, strlen(bn)));
  assert_false(utf8_valid("ab\xC0\xAF", 4));
  assert_int_equal(utf8_length("ab\xE0\xA7", 4), (size_t)-1);
  /* NUL is a valid code point when the length is explicit. */
  assert_int_equal(utf8_length("a\0b", 3), 3);
  /* Where a text cut to fit a buffer must end. */
  assert_int_equal(utf8_valid_prefix(bn, 32), 30);
  assert_int_equal(utf8_valid_prefix(bn, 33), 33);
  assert_int_equal(utf8_valid_prefix("ab\xC0\xAF"
                                     "cd",
                                     6),
                   2);
  assert_int_equal(utf8_valid_prefix("", 0), 0);
  assert_int_equal(utf8_valid_prefix(mixed, strlen(mixed)), strlen(mixed));
}

/* utf8_count_valid agrees with utf8_length on valid text of every length
 * from 0 to 64, mixing 1- to 4-byte characters at every offset. */
static void test_count_valid(void **state) {
  (void)state;
  static const char *const chars[] = {"a", "\xc3\xa9", "\xe0\xa7\xa7", "\xf0\x9f\x98\x80"};
  uint64_t r = 88172645463325252ULL;
  for (int round = 0; round < 2000; round++) {
    char buf[300];
    size_t len = 0, want = 0;
    size_t target = (size_t)(round % 65);
    while (len < target) {
      r ^= r << 13;
      r ^= r >> 7;
      r ^= r << 17;
      const char *c = chars[r % 4];
      size_t n = strlen(c);
      memcpy(buf + len, c, n);
      len += n;
      want++;
    }
    assert_int_equal(utf8_length(buf, len), want);
    assert_int_equal(utf8_count_valid(buf, len), want);
  }
}

static void test_encode_roundtrip(void **state) {
  static const uint32_t cps[] = {0,     'x',    0x7F,   0x80,    0x7FF,
                                 0x800, 0x09E6, 0xFFFD, 0x10000, 0x10FFFF};
  char buf[4];
  uint32_t back;
  (void)state;
  for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
    size_t n = utf8_encode(cps[i], buf);
    assert_true(n >= 1 && n <= 4);
    assert_int_equal(utf8_decode(buf, n, &back), n);
    assert_int_equal(back, cps[i]);
  }
  assert_int_equal(utf8_encode(0xD800, buf), 0);
  assert_int_equal(utf8_encode(0x110000, buf), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_valid),     cmocka_unit_test(test_decode_invalid),
      cmocka_unit_test(test_length_and_valid), cmocka_unit_test(test_count_valid),
      cmocka_unit_test(test_encode_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
