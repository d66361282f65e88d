/* Unit tests for common/json/jsonf.c: differential against jansson (parse result
 * json_equal()s json_loadb's, dump output is byte-identical to json_dumps
 * JSON_COMPACT) on generated records and the JSON Schema Test Suite, a table of
 * malformed inputs, and a seeded mutation fuzz loop comparing accept/reject. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
// clang-format on

#include "json/jsonf.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEPTH 128
#define JANSSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

static const char *src_dir(void) {
  const char *s = getenv("SENSORY_SOURCE_DIR");
  return s ? s : ".";
}

/* Checks one document both ways; returns 1 when jansson accepted it. */
static int check_doc(const char *buf, size_t len) {
  json_error_t jerr;
  char err[256];
  json_t *ref = json_loadb(buf, len, JANSSON_FLAGS, &jerr);
  json_t *got = jsonf_parse(buf, len, 2048, err, sizeof err);
  if ((ref != NULL) != (got != NULL))
    fail_msg("accept mismatch (jansson %s, jsonf %s) on %zu bytes: %.*s", ref ? "ok" : jerr.text,
             got ? "ok" : err, len, (int)(len > 300 ? 300 : len), buf);
  if (!ref)
    return 0;
  assert_true(json_equal(ref, got));
  char *a = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t blen = 0;
  char *b = jsonf_dumps(ref, &blen);
  assert_non_null(a);
  assert_non_null(b);
  if (strcmp(a, b) != 0)
    fail_msg("dump mismatch:\n jansson %s\n jsonf   %s", a, b);
  assert_int_equal(blen, strlen(a));
  free(a);
  free(b);
  json_decref(ref);
  json_decref(got);
  return 1;
}

static int check_str(const char *s) {
  return check_doc(s, strlen(s));
}

static void gen_and_check(const char *kind, int count, const char *extra) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 %s/tests/tools/gen_records.py --kind %s --count %d %s", src_dir(),
           kind, count, extra);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int docs = 0, ok = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n')
      n--;
    ok += check_doc(line, (size_t)n);
    docs++;
  }
  free(line);
  assert_int_equal(pclose(f), 0);
  assert_true(docs >= count);
  assert_true(ok >= count * 9 / 10);
}

static void test_generated_records(void **state) {
  (void)state;
  gen_and_check("market", 3000, "--seed 7");
  gen_and_check("social", 3000, "--seed 8");
  gen_and_check("mix", 1000, "--seed 9 --poison");
}

/* Every suite file whole, then every schema and data value on its own (re-serialised
 * by jansson so scalars at the top level are covered too). */
static void test_schema_suite(void **state) {
  (void)state;
  char pat[512];
  glob_t g;
  int values = 0, whole = 0;
  const char *fx = getenv("SENSORY_FIXTURES");
  snprintf(pat, sizeof pat, "%s/json-schema-test-suite/draft2020-12/*.json",
           fx ? fx : "tests/fixtures");
  assert_int_equal(glob(pat, 0, NULL, &g), 0);
  assert_true(g.gl_pathc > 10);
  for (size_t i = 0; i < g.gl_pathc; i++) {
    size_t len;
    char *buf = test_slurp(g.gl_pathv[i], &len);
    whole += check_doc(buf, len); /* const.json and enum.json hold "\u0000": both reject */
    json_t *doc = json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
    assert_non_null(doc);
    size_t gi, ti;
    json_t *group, *t;
    json_array_foreach(doc, gi, group) {
      json_array_foreach(json_object_get(group, "tests"), ti, t) {
        char *s = json_dumps(json_object_get(t, "data"), JSON_ENCODE_ANY);
        assert_non_null(s);
        check_str(s);
        free(s);
        values++;
      }
      char *s = json_dumps(json_object_get(group, "schema"), JSON_ENCODE_ANY | JSON_INDENT(2));
      check_str(s);
      free(s);
    }
    json_decref(doc);
    free(buf);
  }
  assert_true(whole >= (int)g.gl_pathc - 2);
  globfree(&g);
  assert_true(values > 500);
}

static void expect_dump(json_t *v, const char *want) {
  assert_non_null(v);
  char *a = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  char *b = jsonf_dumps(v, NULL);
  assert_non_null(b);
  assert_string_equal(a, want); /* documents what jansson itself emits */
  assert_string_equal(b, want);
  free(a);
  free(b);
  json_decref(v);
}

static void test_dump_values(void **state) {
  (void)state;
  expect_dump(json_real(450.0), "450.0");
  expect_dump(json_real(8500.0), "8500.0");
  expect_dump(json_real(-3.0), "-3.0");
  expect_dump(json_real(0.1), "0.10000000000000001"); /* jansson 2.14: %.17g */
  expect_dump(json_real(0.5), "0.5");
  expect_dump(json_real(1e300), "1.0000000000000001e300");
  expect_dump(json_real(-0.0), "-0.0");
  expect_dump(json_real(0.0), "0.0");
  expect_dump(json_real(5e-324), "4.9406564584124654e-324");
  expect_dump(json_real(1e16), "10000000000000000.0");
  expect_dump(json_real(1e17), "1e17");
  expect_dump(json_real(-1e-7), "-9.9999999999999995e-8");
  expect_dump(json_real(1.7976931348623157e308), "1.7976931348623157e308");
  expect_dump(json_integer(INT64_MAX), "9223372036854775807");
  expect_dump(json_integer(INT64_MIN), "-9223372036854775808");
  expect_dump(json_integer(0), "0");
  expect_dump(json_string("a\nb\tc\"d\\e\bf\fg\rh/i"), "\"a\\nb\\tc\\\"d\\\\e\\bf\\fg\\rh/i\"");
  expect_dump(json_string("\x01\x1f\x7f"), "\"\\u0001\\u001F\x7f\"");
  expect_dump(json_string("😀 আমার সোনার বাংলা"), "\"😀 আমার সোনার বাংলা\"");
  expect_dump(json_stringn("a\0b", 3), "\"a\\u0000b\"");
  expect_dump(json_pack("{s:[i,f,b,n,{}],s:[]}", "k", 1, 2.5, 0, "z"),
              "{\"k\":[1,2.5,false,null,{}],\"z\":[]}");

  /* insertion order, not sorted */
  json_t *o = json_object();
  json_object_set_new(o, "zeta", json_true());
  json_object_set_new(o, "alpha", json_false());
  expect_dump(o, "{\"zeta\":true,\"alpha\":false}");

  /* invalid UTF-8 smuggled in with a nocheck constructor: neither can dump it */
  json_t *bad = json_stringn_nocheck("a\xff", 2);
  assert_null(json_dumps(bad, JSON_ENCODE_ANY));
  assert_null(jsonf_dumps(bad, NULL));
  jsonf_buf_t b = {0};
  assert_int_equal(jsonf_dump(json_true(), &b), 0);
  assert_int_equal(jsonf_dump(bad, &b), -1);
  assert_int_equal(b.len, 4); /* a failed dump leaves the buffer as it was */
  assert_int_equal(jsonf_dump(json_null(), &b), 0);
  assert_memory_equal(b.data, "truenull", 8);
  jsonf_buf_free(&b);
  jsonf_buf_free(&b);
  jsonf_buf_free(NULL);
  json_decref(bad);
}

/* Hand-built documents: raw bytes and string literals escaped like jsonf_dump. */
static void test_dump_string(void **state) {
  (void)state;
  jsonf_buf_t b = {0};
  const char *s = "a\nb\"c\\d\x01 ঢাকা/";
  assert_int_equal(jsonf_buf_append(&b, "{\"m\":", 5), 0);
  assert_int_equal(jsonf_dump_string(s, strlen(s), &b), 0);
  assert_int_equal(jsonf_buf_append(&b, "}", 1), 0);
  assert_int_equal(jsonf_buf_append(&b, NULL, 0), 0);
  /* the same text as dumping the jansson string */
  json_t *v = json_pack("{s:s}", "m", s);
  char *want = jsonf_dumps(v, NULL);
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  free(want);
  json_decref(v);
  /* invalid UTF-8 or NULL with a length: -1 and the buffer as it was */
  size_t was = b.len;
  assert_int_equal(jsonf_dump_string("ok\xff", 3, &b), -1);
  assert_int_equal(jsonf_dump_string(NULL, 2, &b), -1);
  assert_int_equal(jsonf_buf_append(&b, NULL, 2), -1);
  assert_int_equal(b.len, was);
  assert_int_equal(jsonf_dump_string(NULL, 0, &b), 0);
  assert_memory_equal(b.data + was, "\"\"", 2);
  jsonf_buf_free(&b);
}

static void test_parse_values(void **state) {
  (void)state;
  const char *ok[] = {
      "0",
      "-0",
      "-0.0",
      "1e5",
      "1E+5",
      "1e-5",
      "0.1",
      "450.0",
      "5e-324",
      "1e-400",
      "1e300",
      "9223372036854775807",
      "-9223372036854775808",
      "123456789012345678901234567890.5",
      "\"\\u00e9\\u0985\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
      "\"😀 আমার সোনার বাংলা\"",
      " \t\r\n[ true , false , null ] \n",
      "{\"a\":{\"b\":[{}]},\"c\":\"\\u001f\"}",
      "[]",
      "{}",
      "\"\\u007f\x7f\"",
      "{\"\\u0061\":1,\"b\\u0062\":2}",
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    assert_int_equal(check_str(ok[i]), 1);

  json_t *v = jsonf_parse("{\"k\":\"x\\ny\",\"n\":-9223372036854775808}", 37, DEPTH, NULL, 0);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "k")), "x\ny");
  assert_true(json_integer_value(json_object_get(v, "n")) == INT64_MIN);
  json_decref(v);
  v = jsonf_parse("-0.0", 4, DEPTH, NULL, 0);
  assert_true(json_is_real(v) && signbit(json_real_value(v)));
  json_decref(v);

  /* long escaped keys and values force the scratch stack to grow mid-object */
  char big[9000];
  size_t n = 0;
  n += (size_t)snprintf(big + n, sizeof big - n, "{\"");
  for (int i = 0; i < 700; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "k\\n");
  n += (size_t)snprintf(big + n, sizeof big - n, "\":{\"");
  for (int i = 0; i < 700; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "v\\t");
  n += (size_t)snprintf(big + n, sizeof big - n, "\":\"x\\u00e9\"}}");
  assert_int_equal(check_doc(big, n), 1);
}

static void test_depth(void **state) {
  (void)state;
  char buf[600], err[128];
  for (int d = 127; d <= 129; d++) {
    int n = 0;
    for (int i = 0; i < d; i++)
      buf[n++] = '[';
    for (int i = 0; i < d; i++)
      buf[n++] = ']';
    json_t *v = jsonf_parse(buf, (size_t)n, DEPTH, err, sizeof err);
    if (d <= DEPTH) {
      assert_non_null(v);
      json_decref(v);
    } else {
      assert_null(v);
      assert_string_equal(err, "invalid JSON at byte 128: maximum nesting depth exceeded");
    }
  }
  json_t *v = jsonf_parse("{}", 2, 0, err, sizeof err);
  assert_null(v);
  v = jsonf_parse("7", 1, 0, err, sizeof err);
  assert_int_equal(json_integer_value(v), 7);
  json_decref(v);
}

/* Each input carries personal-looking text; the error must not echo any of it. */
static void test_malformed(void **state) {
  (void)state;
  static const struct {
    const char *in;
    size_t len; /* 0: strlen */
    const char *reason;
  } bad[] = {
      {"{\"email\":\"rahim@example.com\"", 0, "unterminated object"},
      {"{\"email\":\"rahim@example.com", 0, "unterminated string"},
      {"[\"rahim\"", 0, "unterminated array"},
      {"\"rahim\\x\"", 0, "invalid escape"},
      {"\"rahim\\u12g4\"", 0, "invalid \\u escape"},
      {"\"rahim\\u12\"", 0, "invalid \\u escape"},
      {"\"rahim\\ud83d\"", 0, "lone surrogate in \\u escape"},
      {"\"rahim\\ud83d\\u0041\"", 0, "lone surrogate in \\u escape"},
      {"\"rahim\\ude00\"", 0, "lone surrogate in \\u escape"},
      {"\"rahim\\u0000\"", 0, "\\u0000 is not allowed"},
      {"\"rahim\xff\"", 0, "invalid UTF-8"},
      {"\"rahim\xc0\xaf\"", 0, "invalid UTF-8"},
      {"\"rahim\xed\xa0\x80\"", 0, "invalid UTF-8"},
      {"\"rahim\xf4\x90\x80\x80\"", 0, "invalid UTF-8"},
      {"\"rahim\xe0\xa6\"", 0, "invalid UTF-8"},
      {"\"rahim\x01\"", 0, "control character in string"},
      {"\"rahim\ttab\"", 0, "control character in string"},
      {"\"rahim\0\"", 8, "control character in string"},
      {"01719000000", 0, "leading zero in number"},
      {"-01", 0, "leading zero in number"},
      {"1.", 0, "invalid number"},
      {".5", 0, "unexpected character"},
      {"+1", 0, "unexpected character"},
      {"-", 0, "invalid number"},
      {"1e", 0, "invalid number"},
      {"1e+", 0, "invalid number"},
      {"NaN", 0, "unexpected character"},
      {"[Infinity]", 0, "unexpected character"},
      {"nul", 0, "invalid literal"},
      {"tru", 0, "invalid literal"},
      {"[1,]", 0, "unexpected character"},
      {"{\"rahim\":1,}", 0, "expected string key"},
      {"{\"rahim\":1,\"rahim\":2}", 0, "duplicate object key"},
      {"{\"rahim\":1,\"\\u0072ahim\":2}", 0, "duplicate object key"},
      {"{\"rahim\" 1}", 0, "expected ':'"},
      {"{rahim:1}", 0, "expected string key"},
      {"[1 2]", 0, "expected ',' or ']'"},
      {"{\"a\":1 \"rahim\":2}", 0, "expected ',' or '}'"},
      {"", 0, "unexpected end of input"},
      {" \n\t ", 0, "unexpected end of input"},
      {"{} rahim", 0, "unexpected data after the value"},
      {"\"rahim\" \"rahim\"", 0, "unexpected data after the value"},
      {"9223372036854775808", 0, "integer out of range"},
      {"-9223372036854775809", 0, "integer out of range"},
      {"[88017190000000000000000]", 0, "integer out of range"},
      {"1e400", 0, "real number overflow"},
      {"\xef\xbb\xbf{}", 0, "unexpected character"}, /* BOM: jansson rejects it too */
  };
  char err[200];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
    memset(err, 'X', sizeof err);
    json_t *v = jsonf_parse(bad[i].in, len, DEPTH, err, sizeof err);
    if (v)
      fail_msg("accepted case %zu", i);
    if (strncmp(err, "invalid JSON at byte ", 21) != 0 || !strstr(err, bad[i].reason))
      fail_msg("case %zu: got \"%s\", want reason \"%s\"", i, err, bad[i].reason);
    const char *colon = strchr(err + 21, ':');
    assert_non_null(colon);
    assert_string_equal(colon + 2, bad[i].reason); /* nothing of the input after it */
    assert_null(strstr(err, "rahim"));
    assert_null(strstr(err, "0171"));
    json_t *ref = json_loadb(bad[i].in, len, JANSSON_FLAGS, NULL);
    if (ref)
      fail_msg("jansson accepts case %zu", i);
  }
  /* tiny and absent error buffers are fine */
  assert_null(jsonf_parse("[", 1, DEPTH, err, 5));
  assert_string_equal(err, "inva");
  assert_null(jsonf_parse("[", 1, DEPTH, NULL, 0));
  assert_null(jsonf_parse(NULL, 0, DEPTH, err, sizeof err));
}

/* xorshift64*, seeded, so a failure replays */
static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

static void test_fuzz(void **state) {
  (void)state;
  static const char *seeds[] = {
      "{\"platform\":\"daraz\",\"order_id\":\"da-1\",\"quantity\":4,\"price\":8500.0,"
      "\"customer_phone\":\"০১৯৩১৭০৬৬৯০\",\"note\":\"a\\nb \\u00e9 \\ud83d\\ude00\",\"tags\":[],"
      "\"x\":[true,false,null,-0,1e-5,{\"a\":[1,[2,{\"b\":\"c\"}]]}]}",
      "[1.5e3,-12,\"\\\"\\\\\\/\",{},[[]],0.25,\"😀\"]",
  };
  static const char alphabet[] =
      "{}[]\":,.-+eE0123456789tfnrul\\ \t\nabu\x7f\xc3\xa9\xe0\xa6\xf0\x9f\x98\x80\xff\x01";
  const char *env = getenv("JSONF_FUZZ_SECONDS");
  double seconds = env ? strtod(env, NULL) : 2.0;
  rng_state = 0x5e5e0c0ffeeULL;
  char buf[512];
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long iters = 0, accepted = 0;
  do {
    for (int k = 0; k < 64; k++, iters++) {
      const char *s = seeds[rnd() % 2];
      size_t n = strlen(s);
      memcpy(buf, s, n);
      int muts = 1 + (int)(rnd() % 4);
      for (int m = 0; m < muts; m++) {
        size_t pos = n ? rnd() % n : 0;
        char c = alphabet[rnd() % (sizeof alphabet - 1)];
        switch (rnd() % 4) {
        case 0: /* replace */
          if (n)
            buf[pos] = c;
          break;
        case 1: /* insert */
          if (n < sizeof buf - 1) {
            memmove(buf + pos + 1, buf + pos, n - pos);
            buf[pos] = c;
            n++;
          }
          break;
        case 2: /* delete */
          if (n) {
            memmove(buf + pos, buf + pos + 1, n - pos - 1);
            n--;
          }
          break;
        default: /* truncate */
          n = pos;
        }
      }
      accepted += check_doc(buf, n);
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
  print_message("fuzz: %ld inputs, %ld accepted by both, no disagreement\n", iters, accepted);
  assert_true(accepted > 0 && accepted < iters);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dump_values),       cmocka_unit_test(test_dump_string),
      cmocka_unit_test(test_parse_values),      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_malformed),         cmocka_unit_test(test_schema_suite),
      cmocka_unit_test(test_generated_records), cmocka_unit_test(test_fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
