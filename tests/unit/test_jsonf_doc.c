/* Unit tests for jsonf documents (common/json/jsonf.h): a document parsed and
 * written back gives the bytes jansson gives, one document reused over many
 * texts keeps every decoded string in place, duplicate keys are found per
 * object at any nesting and size, reals read on the fast path are the doubles
 * strtod returns, documents built by hand and laid out from jansson write the
 * same bytes as the jansson value, and a very large text does not pin memory. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "json/jsonf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEPTH 128

static const char *src_dir(void) {
  const char *s = getenv("SENSORY_SOURCE_DIR");
  return s ? s : ".";
}

/* Parses text into d and checks it against jansson: same verdict, and written
 * back it gives json_dumps' bytes. Returns 1 when valid. */
static int check_against_jansson(jsonf_doc_t *d, const char *text, size_t len) {
  char e1[256], e2[256];
  const jsonf_node_t *root = jsonf_doc_parse(d, text, len, DEPTH, e1, sizeof e1);
  json_t *ref = jsonf_parse(text, len, DEPTH, e2, sizeof e2);
  if ((root != NULL) != (ref != NULL))
    fail_msg("verdicts differ on %.*s", (int)len, text);
  if (!root) {
    assert_string_equal(e1, e2); /* the one reader, the same message */
    return 0;
  }
  char *want = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
  jsonf_buf_t got = {0};
  assert_int_equal(jsonf_dump_node(root, &got), 0);
  if (got.len != strlen(want) || memcmp(got.data, want, got.len) != 0)
    fail_msg("dump differs:\n jansson %s\n doc     %.*s", want, (int)got.len, got.data);
  free(want);
  jsonf_buf_free(&got);
  json_decref(ref);
  return 1;
}

static void test_generated_records_one_document(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 %s/tests/tools/gen_records.py --kind mix --count 4000 --seed 31 "
           "--poison",
           src_dir());
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int ok = 0, all = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    ok += check_against_jansson(d, line, (size_t)n);
    all++;
  }
  free(line);
  assert_int_equal(pclose(f), 0);
  assert_true(all >= 4000 && ok > all * 8 / 10 && ok < all);
  jsonf_doc_destroy(d);
}

static void test_values_and_reuse(void **state) {
  (void)state;
  static const char *const texts[] = {
      "{\"a\\n\":\"x\\u00e9\\ud83d\\ude00\",\"b\":[1,-0,2.5,1e3,-1.25e-2,true,false,null],"
      "\"c\\\"\":{\"d\":\"\\\\/\"}}",
      "[\"\\t\",\"plain\",\"\\u0041\\u0042\",{}]",
      "\"only a string\"",
      "12345678901234567",
      "0.1",
      "-9223372036854775808",
      "{\"k\":\"v\"}",
      "{\"k\":\"v\",\"k\":\"w\"}",
      "[1,2",
  };
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
      check_against_jansson(d, texts[i], strlen(texts[i]));
  /* Many escaped keys and values in one text: every decoded string stays put
   * while later ones are decoded. */
  char big[20000];
  size_t o = 0;
  o += (size_t)snprintf(big + o, sizeof big - o, "{");
  for (int i = 0; i < 500; i++)
    o += (size_t)snprintf(big + o, sizeof big - o, "%s\"k\\u00e9%d\":\"v\\n%d\"", i ? "," : "", i,
                          i);
  o += (size_t)snprintf(big + o, sizeof big - o, "}");
  const jsonf_node_t *root = jsonf_doc_parse(d, big, o, DEPTH, NULL, 0);
  assert_non_null(root);
  assert_int_equal(root->type, JSONF_OBJECT);
  assert_int_equal(root->len, 500);
  char key[32], val[32];
  for (int i = 0; i < 500; i += 37) {
    snprintf(key, sizeof key, "k\xc3\xa9%d", i);
    snprintf(val, sizeof val, "v\n%d", i);
    const jsonf_node_t *v = jsonf_object_get(root, key, strlen(key));
    assert_non_null(v);
    assert_int_equal(v->type, JSONF_STRING);
    assert_int_equal(v->len, strlen(val));
    assert_memory_equal(v->v.s, val, v->len);
    assert_int_equal(v->flags & JSONF_PLAIN, 0);
  }
  assert_null(jsonf_object_get(root, "nope", 4));
  check_against_jansson(d, big, o);
  jsonf_doc_destroy(d);
}

static void expect_error(jsonf_doc_t *d, const char *text, const char *want) {
  char err[256];
  assert_null(jsonf_doc_parse(d, text, strlen(text), DEPTH, err, sizeof err));
  if (strcmp(err, want) != 0)
    fail_msg("%s: got \"%s\", want \"%s\"", text, err, want);
  assert_null(jsonf_doc_root(d));
}

static void test_duplicate_keys(void **state) {
  (void)state;
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  /* The same key in different objects is fine, at any nesting. */
  const char *ok =
      "{\"a\":{\"a\":1,\"b\":{\"a\":2,\"b\":3}},\"b\":{\"a\":1},\"c\":[{\"a\":1},{\"a\":"
      "2}]}";
  assert_non_null(jsonf_doc_parse(d, ok, strlen(ok), DEPTH, NULL, 0));
  /* A repeat after an inner object that used the same names. */
  expect_error(d, "{\"a\":{\"a\":1,\"b\":2},\"b\":{\"a\":1},\"a\":3}",
               "invalid JSON at byte 31: duplicate object key");
  /* An error inside the repeated key's value comes first, as jansson reports. */
  expect_error(d, "{\"a\":1,\"a\":tru}", "invalid JSON at byte 11: invalid literal");
  /* Large objects: every key distinct, then one repeat at the end. */
  static char big[200000];
  size_t o = 0;
  big[o++] = '{';
  for (int i = 0; i < 5000; i++)
    o += (size_t)snprintf(big + o, sizeof big - o, "%s\"key-%d\":{\"key-%d\":%d}", i ? "," : "", i,
                          i, i);
  size_t before_last = o;
  o += (size_t)snprintf(big + o, sizeof big - o, "}");
  const jsonf_node_t *root = jsonf_doc_parse(d, big, o, DEPTH, NULL, 0);
  assert_non_null(root);
  assert_int_equal(root->len, 5000);
  assert_int_equal(root->size, 1 + 5000 * 4);
  o = before_last;
  o += (size_t)snprintf(big + o, sizeof big - o, ",\"key-4321\":0}");
  char err[128], want[128];
  assert_null(jsonf_doc_parse(d, big, o, DEPTH, err, sizeof err));
  snprintf(want, sizeof want, "invalid JSON at byte %zu: duplicate object key", before_last + 1);
  assert_string_equal(err, want);
  jsonf_doc_destroy(d);
}

static uint64_t rng = 0x1234567890abcdefULL;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * UINT64_C(2685821657736338717);
}

/* Decimals of every shape the fast path takes (and some it leaves to strtod):
 * the double must be strtod's, bit for bit. */
static void test_reals_are_strtods(void **state) {
  (void)state;
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  char text[64];
  for (int i = 0; i < 200000; i++) {
    int digits = 1 + (int)(rnd() % 20), point = (int)(rnd() % (size_t)(digits + 1));
    size_t o = 0;
    if (rnd() % 3 == 0)
      text[o++] = '-';
    for (int k = 0; k < digits; k++) {
      if (k == point && k > 0)
        text[o++] = '.';
      char c = (char)('0' + rnd() % 10);
      if (k == 0)
        c = point == 1 || digits == 1 ? c : (char)('1' + rnd() % 9);
      text[o++] = c;
    }
    if (point == 0 || point == digits) { /* no fraction yet: add one or an exponent */
      text[o++] = '.';
      text[o++] = (char)('0' + rnd() % 10);
    }
    if (rnd() % 2)
      o += (size_t)snprintf(text + o, sizeof text - o, "e%d", (int)(rnd() % 60) - 30);
    text[o] = '\0';
    const jsonf_node_t *v = jsonf_doc_parse(d, text, o, DEPTH, NULL, 0);
    if (!v)
      continue; /* e.g. a leading zero followed by digits */
    assert_int_equal(v->type, JSONF_REAL);
    double want = strtod(text, NULL);
    if (memcmp(&want, &v->v.d, sizeof want) != 0)
      fail_msg("%s: got %.17g, strtod %.17g", text, v->v.d, want);
  }
  jsonf_doc_destroy(d);
}

/* A document built by hand writes what the same jansson value writes. */
static void test_build(void **state) {
  (void)state;
  jsonf_doc_t *src = jsonf_doc_new(), *d = jsonf_doc_new();
  assert_non_null(src);
  assert_non_null(d);
  const char *in = "{\"keep\":[1,{\"x\":2.5}],\"drop\":\"raw\",\"n\":7}";
  const jsonf_node_t *root = jsonf_doc_parse(src, in, strlen(in), DEPTH, NULL, 0);
  assert_non_null(root);
  jsonf_doc_reset(d);
  size_t obj = jsonf_doc_open(d, JSONF_OBJECT);
  assert_int_equal(obj, 0);
  const jsonf_node_t *keep = jsonf_object_get(root, "keep", 4);
  assert_int_equal(jsonf_doc_add_key(d, "keep", 4, JSONF_PLAIN), 0);
  assert_int_equal(jsonf_doc_add_value(d, keep), 0);
  assert_int_equal(jsonf_doc_add_key(d, "new\n", 4, 0), 0);
  size_t arr = jsonf_doc_open(d, JSONF_ARRAY);
  assert_int_equal(jsonf_doc_add_string(d, "a\"b", 3, 0), 0);
  assert_int_equal(jsonf_doc_add_string(d, "plain", 5, JSONF_PLAIN), 0);
  jsonf_doc_close(d, arr);
  assert_int_equal(jsonf_doc_add_key(d, "n", 1, JSONF_PLAIN), 0);
  assert_int_equal(jsonf_doc_add_value(d, jsonf_object_get(root, "n", 1)), 0);
  jsonf_doc_close(d, obj);
  const jsonf_node_t *built = jsonf_doc_root(d);
  assert_int_equal(built->len, 3);
  assert_int_equal(built->size, 13);
  assert_non_null(jsonf_object_get(built, "new\n", 4));
  jsonf_buf_t out = {0};
  assert_int_equal(jsonf_dump_node(built, &out), 0);
  const char *want = "{\"keep\":[1,{\"x\":2.5}],\"new\\n\":[\"a\\\"b\",\"plain\"],\"n\":7}";
  assert_int_equal(out.len, strlen(want));
  assert_memory_equal(out.data, want, out.len);
  /* the caller's own text around values */
  out.len = 0;
  assert_int_equal(jsonf_buf_append(&out, "{\"t\":", 5), 0);
  assert_int_equal(jsonf_dump_string("a\x01\xc3\xa9", 4, &out), 0);
  assert_int_equal(jsonf_buf_append(&out, ",\"i\":", 5), 0);
  assert_int_equal(jsonf_buf_append_int(&out, INT64_MIN), 0);
  assert_int_equal(jsonf_buf_append(&out, "}", 1), 0);
  want = "{\"t\":\"a\\u0001\xc3\xa9\",\"i\":-9223372036854775808}";
  assert_int_equal(out.len, strlen(want));
  assert_memory_equal(out.data, want, out.len);
  size_t was = out.len;
  assert_int_equal(jsonf_dump_string("\xff", 1, &out), -1); /* invalid UTF-8 */
  assert_int_equal(out.len, was);
  jsonf_buf_free(&out);
  jsonf_doc_destroy(src);
  jsonf_doc_destroy(d);
}

/* jansson -> document -> bytes equals jansson -> bytes, for the JSON Schema
 * suite's files (every kind of value). */
static void test_from_jansson(void **state) {
  (void)state;
  char path[1024];
  const char *fx = getenv("SENSORY_FIXTURES");
  static const char *const files[] = {"const.json", "enum.json", "uniqueItems.json",
                                      "properties.json", "items.json"};
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/json-schema-test-suite/draft2020-12/%s",
             fx ? fx : "tests/fixtures", files[i]);
    json_t *v = json_load_file(path, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    const jsonf_node_t *root = jsonf_doc_from_jansson(d, v);
    assert_non_null(root);
    jsonf_buf_t out = {0};
    assert_int_equal(jsonf_dump_node(root, &out), 0);
    size_t wl = 0;
    char *want = jsonf_dumps(v, &wl);
    assert_non_null(want);
    assert_int_equal(out.len, wl);
    assert_memory_equal(out.data, want, wl);
    free(want);
    jsonf_buf_free(&out);
    json_decref(v);
  }
  /* Deeper than any parser produces: refused. */
  json_t *deep = json_array(), *cur = deep;
  for (int i = 0; i < 2100; i++) {
    json_t *next = json_array();
    json_array_append_new(cur, next);
    cur = next;
  }
  assert_null(jsonf_doc_from_jansson(d, deep));
  json_decref(deep);
  jsonf_doc_destroy(d);
}

/* A huge text parses, and the next small one still does: the document let go
 * of the big buffers (nothing to assert on memory here but no failure). */
static void test_large_then_small(void **state) {
  (void)state;
  size_t n = 3 * 1000 * 1000;
  char *big = malloc(n);
  assert_non_null(big);
  size_t o = 0;
  big[o++] = '[';
  while (o < n - 10)
    o += (size_t)snprintf(big + o, n - o, "\"\\u00e9\",");
  big[o - 1] = ']';
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  const jsonf_node_t *root = jsonf_doc_parse(d, big, o, DEPTH, NULL, 0);
  assert_non_null(root);
  assert_true(root->len > 300000);
  free(big);
  assert_non_null(jsonf_doc_parse(d, "[\"\\n\"]", 6, DEPTH, NULL, 0));
  jsonf_doc_destroy(d);
}

/* Whole files: a contract reads as jansson reads it; errors name the file
 * or give the reader's message. */
static void test_parse_file(void **state) {
  (void)state;
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/schemas/market_order.json", src_dir());
  json_t *v = jsonf_parse_file(path, 512, err, sizeof err);
  assert_non_null(v);
  json_t *ref = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
  assert_non_null(ref);
  assert_true(json_equal(v, ref));
  json_decref(v);
  json_decref(ref);
  assert_null(jsonf_parse_file("/nonexistent/x.json", 512, err, sizeof err));
  assert_non_null(strstr(err, "cannot read /nonexistent/x.json"));
  char tmp[] = "/tmp/test_jsonf_doc_XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"a\":1,\"a\":2}", 13), 13);
  close(fd);
  assert_null(jsonf_parse_file(tmp, 512, err, sizeof err));
  assert_string_equal(err, "invalid JSON at byte 7: duplicate object key");
  unlink(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generated_records_one_document),
      cmocka_unit_test(test_values_and_reuse),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_reals_are_strtods),
      cmocka_unit_test(test_build),
      cmocka_unit_test(test_from_jansson),
      cmocka_unit_test(test_large_then_small),
      cmocka_unit_test(test_parse_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
