/* schema_validate_derived against schema_validate_node: for records valid
 * against a source schema, changed a member at a time (kept members marked),
 * both give the same verdict and message. The contracts privacy-shield pairs
 * (clean against source) and synthetic pairs in which the target is stricter,
 * looser or different on a kept member: a kept member the target checks
 * differently is still checked, and reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonf.h"
#include "json/schema.h"

static schema_t *compile(const char *text) {
  char err[512];
  json_t *doc = json_loads(text, 0, NULL);
  assert_non_null(doc);
  schema_t *s = schema_load_json(doc, err, sizeof(err));
  if (!s)
    fail_msg("%s: %s", text, err);
  json_decref(doc);
  return s;
}

/* Builds into d: src's members, with member `change` (index) set to the raw
 * JSON value `value` (NULL: removed), and `extra` ("\"k\":v") appended when not
 * NULL; kept gets the members copied as they were. */
static const jsonf_node_t *derive(jsonf_doc_t *d, const jsonf_node_t *src, long change,
                                  const char *value, const char *extra, uint64_t *kept) {
  static char text[8192];
  jsonf_buf_t b = {0};
  *kept = 0;
  assert_int_equal(jsonf_buf_append(&b, "{", 1), 0);
  size_t member = 0;
  const jsonf_node_t *k = src + 1;
  for (uint32_t i = 0; i < src->len; i++, k = k + 1 + k[1].size) {
    const char *with = (long)i == change ? value : NULL;
    if ((long)i == change && !with)
      continue;
    if (member)
      assert_int_equal(jsonf_buf_append(&b, ",", 1), 0);
    assert_int_equal(jsonf_dump_node(k, &b), 0);
    assert_int_equal(jsonf_buf_append(&b, ":", 1), 0);
    if (with) {
      assert_int_equal(jsonf_buf_append(&b, with, strlen(with)), 0);
    } else {
      assert_int_equal(jsonf_dump_node(k + 1, &b), 0);
      if (member < 64)
        *kept |= UINT64_C(1) << member;
    }
    member++;
  }
  if (extra) {
    if (member)
      assert_int_equal(jsonf_buf_append(&b, ",", 1), 0);
    assert_int_equal(jsonf_buf_append(&b, extra, strlen(extra)), 0);
  }
  assert_int_equal(jsonf_buf_append(&b, "}", 1), 0);
  assert_true(b.len < sizeof(text));
  size_t len = b.len;
  memcpy(text, b.data, len);
  jsonf_buf_free(&b);
  const jsonf_node_t *root = jsonf_doc_parse(d, text, len, 64, NULL, 0);
  assert_non_null(root);
  return root;
}

typedef struct counts {
  size_t compared, failed;
} counts_t;

static void same_answer(const schema_t *target, const schema_pair_t *pair, const jsonf_node_t *x,
                        uint64_t kept, counts_t *c) {
  char e1[512] = "", e2[512] = "";
  int r1 = schema_validate_node(target, x, e1, sizeof(e1));
  int r2 = schema_validate_derived(pair, x, kept, e2, sizeof(e2));
  if (r1 != r2 || (r1 != 0 && strcmp(e1, e2) != 0)) {
    jsonf_buf_t b = {0};
    jsonf_dump_node(x, &b);
    fail_msg("full %d \"%s\", derived %d \"%s\" on %.*s (kept %llx)", r1, e1, r2, e2, (int)b.len,
             b.data, (unsigned long long)kept);
  }
  c->compared++;
  c->failed += r1 != 0;
}

static const char *const values[] = {
    "null",
    "0",
    "-3",
    "1.5",
    "\"\"",
    "\"x\"",
    "\"ABC\"",
    "\"ab\"",
    "true",
    "[]",
    "[\"a\"]",
    "{\"a\":1}",
    "\"P-RAIN-01\"",
    "\"shopify\"",
    "5000.0",
    "\"k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
    "\"2026-11-20T10:00:00Z\"",
    "\"a very long value that goes on well past any short limit\""};

/* Every member of every record changed to every value and removed, plus
 * extra members, each compared both ways. */
static void sweep(const schema_t *target, const schema_t *source, const char *lines, counts_t *c) {
  schema_pair_t *pair = schema_pair_new(target, source);
  assert_non_null(pair);
  jsonf_doc_t *src = jsonf_doc_new(), *d = jsonf_doc_new();
  assert_non_null(src);
  assert_non_null(d);
  const char *line = lines;
  while (*line) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const jsonf_node_t *root = jsonf_doc_parse(src, line, len, 64, NULL, 0);
    assert_non_null(root);
    if (schema_validate_node(source, root, NULL, 0) == 0) { /* the precondition */
      uint64_t kept = 0;
      const jsonf_node_t *x = derive(d, root, -1, NULL, NULL, &kept);
      same_answer(target, pair, x, kept, c);
      for (long m = 0; m < (long)root->len; m++) {
        x = derive(d, root, m, NULL, NULL, &kept);
        same_answer(target, pair, x, kept, c);
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
          x = derive(d, root, m, values[v], NULL, &kept);
          same_answer(target, pair, x, kept, c);
        }
      }
      static const char *const extras[] = {"\"zz\":1", "\"customer_phone_hash\":\"k1:00\"",
                                           "\"author_hash\":\"bad\""};
      for (size_t e = 0; e < sizeof(extras) / sizeof(extras[0]); e++) {
        x = derive(d, root, -1, NULL, extras[e], &kept);
        same_answer(target, pair, x, kept, c);
      }
    }
    line += len + (nl != NULL);
  }
  jsonf_doc_destroy(src);
  jsonf_doc_destroy(d);
  schema_pair_destroy(pair);
}

static char *generated(const char *kind, int count, int seed) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "/usr/bin/python3 %s/tests/tools/gen_records.py --kind %s --count %d --seed %d",
           src ? src : ".", kind, count, seed);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 1 << 20, len = 0, n;
  char *buf = malloc(cap);
  assert_non_null(buf);
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 4096) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  buf[len] = '\0';
  assert_int_equal(pclose(p), 0);
  return buf;
}

static schema_t *contract(const char *name) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char path[1024], err[512];
  snprintf(path, sizeof(path), "%s/schemas/%s", src ? src : ".", name);
  schema_t *s = schema_load_file(path, err, sizeof(err));
  if (!s)
    fail_msg("%s", err);
  return s;
}

static void test_contract_pairs(void **state) {
  (void)state;
  counts_t c = {0, 0};
  static const char *const pairs[][3] = {
      {"clean_market_order.json", "market_order.json", "market"},
      {"clean_social_post.json", "social_post.json", "social"},
      /* a source against itself: every kept member is proven */
      {"market_order.json", "market_order.json", "market"},
      /* unrelated schemas: nothing is alike, everything is checked */
      {"clean_social_post.json", "market_order.json", "market"},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    schema_t *t = contract(pairs[i][0]), *s = contract(pairs[i][1]);
    char *lines = generated(pairs[i][2], 40, 61 + (int)i);
    sweep(t, s, lines, &c);
    free(lines);
    schema_destroy(t);
    schema_destroy(s);
  }
  print_message("contract pairs: %zu compared, %zu invalid\n", c.compared, c.failed);
  assert_true(c.compared > 10000 && c.failed > c.compared / 4 && c.failed < c.compared);
}

/* The target differs from the source on properties the record keeps: those
 * are checked (and fail), the alike ones are taken as proven. */
static void test_target_differs(void **state) {
  (void)state;
  counts_t c = {0, 0};
  schema_t *source =
      compile("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":10},"
              "\"b\":{\"$ref\":\"#/$defs/"
              "id\"},\"c\":{\"enum\":[\"x\",\"y\"]},\"d\":{\"type\":\"integer\"}},"
              "\"$defs\":{\"id\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}}}");
  schema_t *target = compile(
      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
      "\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":3},"
      "\"b\":{\"$ref\":\"#/$defs/id\"},\"c\":{\"enum\":[\"x\"]},\"d\":{\"type\":\"integer\"}},"
      "\"$defs\":{\"id\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}}}");
  schema_pair_t *pair = schema_pair_new(target, source);
  assert_non_null(pair);
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  static const struct {
    const char *text;
    uint64_t kept;
    const char *want; /* NULL: valid */
  } cases[] = {
      {"{\"a\":\"abcdefgh\",\"b\":\"id\",\"c\":\"x\",\"d\":1}", 0xf,
       "/a: must be at most 3 characters"},
      {"{\"a\":\"abc\",\"b\":\"id\",\"c\":\"y\",\"d\":1}", 0xf, "/c: must be one of [\"x\"]"},
      {"{\"a\":\"abc\",\"b\":\"id\",\"c\":\"x\",\"d\":1}", 0xf, NULL},
      {"{\"b\":\"id\"}", 0x1, "/a: is required"},
      {"{\"a\":\"abc\",\"e\":1}", 0x3, "/e: unexpected property"},
      /* b and d are alike: kept, they are proven; changed, they are checked */
      {"{\"a\":\"abc\",\"b\":\"ID\",\"d\":1.5}", 0x1, "/b: must match pattern ^[a-z]+$"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const jsonf_node_t *x = jsonf_doc_parse(d, cases[i].text, strlen(cases[i].text), 64, NULL, 0);
    assert_non_null(x);
    char err[256] = "";
    int rc = schema_validate_derived(pair, x, cases[i].kept, err, sizeof(err));
    if (cases[i].want ? rc == 0 || strcmp(err, cases[i].want) != 0 : rc != 0)
      fail_msg("case %zu: rc %d \"%s\"", i, rc, err);
    same_answer(target, pair, x, cases[i].kept, &c);
  }
  jsonf_doc_destroy(d);
  schema_pair_destroy(pair);
  schema_destroy(source);
  schema_destroy(target);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contract_pairs),
      cmocka_unit_test(test_target_differs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
