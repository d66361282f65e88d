/* test_clock — RFC 3339 formatting and parsing round trips (offsets,
 * fractions, leap seconds, dates before 1970) and the clocks' monotonicity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "core/clock.h"

static void test_format(void **state) {
  (void)state;
  static const struct {
    int64_t ms;
    const char *want;
  } cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1661870592000, "2022-08-30T14:43:12.000Z"},
      {1796772548123, "2026-12-08T23:29:08.123Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {-1000, "1969-12-31T23:59:59.000Z"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[CLOCK_RFC3339_MAX];
    clock_format_ms(cases[i].ms, out, sizeof(out));
    assert_string_equal(out, cases[i].want);
  }
}

/* The date of the last second is cached per thread: the milliseconds of the
 * same second, the next second and an earlier one all come out right, and a
 * short buffer is cut as snprintf would cut it. */
static void test_format_cache_and_cut(void **state) {
  (void)state;
  char out[CLOCK_RFC3339_MAX];
  clock_format_ms(1796772548123, out, sizeof(out));
  clock_format_ms(1796772548999, out, sizeof(out));
  assert_string_equal(out, "2026-12-08T23:29:08.999Z");
  clock_format_ms(1796772549000, out, sizeof(out));
  assert_string_equal(out, "2026-12-08T23:29:09.000Z");
  clock_format_ms(1796772548007, out, sizeof(out));
  assert_string_equal(out, "2026-12-08T23:29:08.007Z");
  char small[11];
  clock_format_ms(1796772548007, small, sizeof(small));
  assert_string_equal(small, "2026-12-08");
  memset(small, 'x', sizeof(small));
  clock_format_ms(1796772548007, small, 0);
  assert_int_equal(small[0], 'x');
}

static void test_parse(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int rc;
    int64_t ms;
  } cases[] = {
      {"2026-06-01T04:00:00Z", 0, 1780286400000},
      {"2026-06-01T10:00:00+06:00", 0, 1780286400000}, /* Dhaka */
      {"2026-06-01T03:30:00-00:30", 0, 1780286400000},
      {"2026-06-01t04:00:00z", 0, 1780286400000},
      {"1970-01-01T00:00:00.5Z", 0, 500},
      {"1970-01-01T00:00:00.123456Z", 0, 123},    /* cut to ms, not rounded */
      {"2016-12-31T23:59:60Z", 0, 1483228799000}, /* leap second read as :59 */
      {"2026-06-01 04:00:00", -1, 0},             /* no zone */
      {"2026-13-01T04:00:00Z", -1, 0},
      {"2026-06-01T24:00:00Z", -1, 0},
      {"2026-06-01T04:00:00.Z", -1, 0},
      {"2026-06-01T04:00:00+0600", -1, 0},
      {"2026-06-01T04:00:00Zjunk", -1, 0},
      {"", -1, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t ms = -42;
    int rc = clock_parse_rfc3339_ms(cases[i].s, &ms);
    if (rc != cases[i].rc)
      fail_msg("%s: rc %d, want %d", cases[i].s, rc, cases[i].rc);
    if (rc == 0 && ms != cases[i].ms)
      fail_msg("%s: %lld, want %lld", cases[i].s, (long long)ms, (long long)cases[i].ms);
  }
  assert_int_equal(clock_parse_rfc3339_ms(NULL, &(int64_t){0}), -1);
}

static void test_round_trip(void **state) {
  (void)state;
  for (int64_t ms = -86400000LL * 400; ms < 86400000LL * 365 * 80; ms += 86399999LL * 17 + 7) {
    char out[CLOCK_RFC3339_MAX];
    int64_t back = 0;
    clock_format_ms(ms, out, sizeof(out));
    assert_int_equal(clock_parse_rfc3339_ms(out, &back), 0);
    assert_true(back == ms);
  }
}

static void test_clocks(void **state) {
  (void)state;
  double a = clock_mono();
  int64_t b = clock_mono_ms();
  double c = clock_mono();
  assert_true(c >= a);
  assert_true(b >= (int64_t)(a * 1000) - 1 && b <= (int64_t)(c * 1000) + 1);
  /* Wall time is after this code was written (2026) and before 2100. */
  assert_true(clock_wall_ms() > 1780000000000LL && clock_wall_ms() < 4102444800000LL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format), cmocka_unit_test(test_format_cache_and_cut),
      cmocka_unit_test(test_parse),  cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
