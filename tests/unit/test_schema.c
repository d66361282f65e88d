/* test_schema — common/schema: the error message of each keyword, load-time
 * refusals, $ref resolution, deep nesting, code-point lengths, big integers,
 * x-pii parsing and the privacy rule that errors never echo instance values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "json/schema.h"

static schema_t *compile(const char *text) {
  json_error_t jerr;
  char err[512];
  json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);
  if (!doc)
    fail_msg("bad schema text %s: %s", text, jerr.text);
  schema_t *s = schema_load_json(doc, err, sizeof(err));
  json_decref(doc);
  if (!s)
    fail_msg("schema %s: %s", text, err);
  return s;
}

/* Loads schema text and returns the load error ("" if it loaded). */
static const char *load_error(const char *text) {
  static char err[512];
  json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
  assert_non_null(doc);
  err[0] = '\0';
  schema_t *s = schema_load_json(doc, err, sizeof(err));
  json_decref(doc);
  if (s) {
    schema_destroy(s);
    return "";
  }
  return err;
}

typedef struct vcase {
  const char *schema, *instance, *err; /* err NULL: valid */
} vcase_t;

static const vcase_t cases[] = {
    {"{\"type\":\"object\"}", "[]", ": must be object"},
    {"{\"type\":[\"string\",\"null\"]}", "1", ": must be string or null"},
    {"{\"type\":[\"integer\",\"string\",\"null\"]}", "true", ": must be integer, string or null"},
    {"{\"type\":\"integer\"}", "1.0", NULL},
    {"{\"type\":\"integer\"}", "1.5", ": must be integer"},
    {"{\"type\":\"number\"}", "7", NULL},
    {"{\"properties\":{\"customer_phone\":{\"type\":\"string\"}}}",
     "{\"customer_phone\":1711234567}", "/customer_phone: must be string"},
    {"{\"required\":[\"order_id\"]}", "{}", "/order_id: is required"},
    {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1,\"x\":2}",
     "/x: unexpected property"},
    {"{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"x\":\"s\"}", "/x: must be integer"},
    /* fuzz_risk_api: an unexpected key holding a phone or an email reached the
     * message (a 400 answer, a plaintext dead letter); long keys hid the reason. */
    {"{\"additionalProperties\":false}", "{\"call +880 1711-234567\":1}",
     "/(key withheld): unexpected property"},
    {"{\"additionalProperties\":false}", "{\"a@b.co\":1}", "/(key withheld): unexpected property"},
    {"{\"additionalProperties\":false}", "{\"order_2024_1\":1}",
     "/order_2024_1: unexpected property"},
    {"{\"additionalProperties\":false}",
     "{\"k123456789012345678901234567890123456789012345678901234567890abcdefghij\":1}",
     "/(key withheld): unexpected property"},
    {"{\"additionalProperties\":false}",
     "{\"kabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\":1}",
     "/kabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc...: unexpected property"},
    {"{\"properties\":{\"a~b/c\":{\"type\":\"string\"}}}", "{\"a~b/c\":1}",
     "/a~0b~1c: must be string"},
    {"{\"properties\":{\"a\":false}}", "{\"a\":1}", "/a: is not allowed"},
    {"{\"enum\":[\"tiktok\",\"facebook\"]}", "\"instagram\"",
     ": must be one of [\"tiktok\",\"facebook\"]"},
    {"{\"enum\":[1,null,{\"a\":[1]}]}", "{\"a\":[1.0]}", NULL},
    {"{\"enum\":[1,null,{\"a\":[1]}]}", "{\"a\":[2]}", ": must be one of [1,null,{\"a\":[1]}]"},
    {"{\"const\":\"x\"}", "\"y\"", ": must be equal to \"x\""},
    {"{\"const\":1}", "1.0", NULL},
    {"{\"minimum\":0}", "-1", ": must be >= 0"},
    {"{\"maximum\":100}", "100.5", ": must be <= 100"},
    {"{\"exclusiveMinimum\":0}", "0", ": must be > 0"},
    {"{\"exclusiveMaximum\":1.5}", "1.5", ": must be < 1.5"},
    {"{\"minLength\":5}", "\"abcd\"", ": must be at least 5 characters"},
    {"{\"minLength\":1}", "\"\"", ": must be at least 1 character"},
    {"{\"maxLength\":3}", "\"abcd\"", ": must be at most 3 characters"},
    /* Code points, not bytes: 4 Bengali letters are 12 bytes. */
    {"{\"maxLength\":4}", "\"আমার\"", NULL},
    {"{\"minLength\":5}", "\"আমার\"", ": must be at least 5 characters"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"bdt\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[\\\\p{L}\\\\p{M}]+$\"}", "\"রহিম\"", NULL}, /* ি is a mark */
    {"{\"pattern\":\"a+\"}", "\"xxaayy\"", NULL},
    {"{\"format\":\"date-time\"}", "\"2026-06-01T09:30:00+06:00\"", NULL},
    {"{\"format\":\"date-time\"}", "\"2026-02-30T09:30:00Z\"",
     ": must be a valid date-time (RFC 3339)"},
    {"{\"format\":\"date\"}", "\"2024-02-29\"", NULL},
    {"{\"format\":\"date\"}", "\"2023-02-29\"", ": must be a valid date (RFC 3339 full-date)"},
    {"{\"format\":\"uuid\"}", "\"x\"", ": must be a valid uuid"},
    {"{\"minItems\":2}", "[1]", ": must have at least 2 items"},
    {"{\"maxItems\":1}", "[1,2]", ": must have at most 1 item"},
    {"{\"uniqueItems\":true}", "[1,2,1.0]", ": must have unique items (items 0 and 2 are equal)"},
    {"{\"items\":{\"type\":\"string\"}}", "[\"a\",3]", "/1: must be string"},
    {"{\"prefixItems\":[{\"type\":\"integer\"}],\"items\":false}", "[1,2]", "/1: unexpected item"},
    {"{\"allOf\":[{\"minimum\":1},{\"maximum\":2}]}", "3", ": must be <= 2"},
    {"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1",
     ": must match at least one schema in anyOf"},
    {"{\"oneOf\":[{\"minimum\":0},{\"maximum\":10}]}", "5",
     ": must match exactly one schema in oneOf (matched more than one)"},
    {"{\"oneOf\":[{\"minimum\":10},{\"maximum\":0}]}", "5",
     ": must match exactly one schema in oneOf (matched none)"},
    {"{\"not\":{\"type\":\"null\"}}", "null", ": must not match the schema in not"},
    {"false", "1", ": is not allowed"},
    {"true", "{\"anything\":[1]}", NULL},
    {"{\"$defs\":{\"q\":{\"type\":\"integer\",\"exclusiveMinimum\":0}},\"properties\":{"
     "\"quantity\":{\"$ref\":\"#/$defs/q\"}}}",
     "{\"quantity\":0}", "/quantity: must be > 0"},
    /* ~0 ~1 and percent-decoding in pointers */
    {"{\"$defs\":{\"a/"
     "b\":{\"type\":\"string\"},\"c~d\":{\"type\":\"null\"},\"e%f\":{\"minimum\":1}},"
     "\"prefixItems\":[{\"$ref\":\"#/$defs/a~1b\"},{\"$ref\":\"#/$defs/c~0d\"},{\"$ref\":\"#/$defs/"
     "e%25f\"}]}",
     "[\"s\",null,0]", "/2: must be >= 1"},
    /* $anchor and $id within the document */
    {"{\"$id\":\"https://x.test/"
     "root.json\",\"$ref\":\"#pos\",\"$defs\":{\"p\":{\"$anchor\":\"pos\",\"minimum\":1}}}",
     "0", ": must be >= 1"},
    {"{\"$id\":\"https://x.test/a/root.json\",\"properties\":{\"n\":{\"$ref\":\"node.json\"}},"
     "\"$defs\":{\"n\":{\"$id\":\"node.json\",\"type\":\"integer\"}}}",
     "{\"n\":\"x\"}", "/n: must be integer"},
    /* recursion through "#" follows the instance */
    {"{\"properties\":{\"child\":{\"$ref\":\"#\"},\"v\":{\"type\":\"integer\"}}}",
     "{\"child\":{\"child\":{\"v\":\"x\"}}}", "/child/child/v: must be integer"},
    /* integers beyond 2^53 compare exactly */
    {"{\"maximum\":9007199254740992}", "9007199254740993", ": must be <= 9007199254740992"},
    {"{\"maximum\":9007199254740993}", "9007199254740993", NULL},
    {"{\"minimum\":9223372036854775807}", "9223372036854775806",
     ": must be >= 9223372036854775807"},
    {"{\"exclusiveMaximum\":9.3e18}", "9223372036854775807", NULL},
    {"{\"maximum\":1e300}", "9223372036854775807", NULL},
    {"{\"const\":9007199254740993}", "9007199254740992.0", ": must be equal to 9007199254740993"},
};

static void test_keyword_messages(void **state) {
  char err[512];
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    schema_t *s = compile(cases[i].schema);
    json_error_t jerr;
    json_t *x = json_loads(cases[i].instance, JSON_DECODE_ANY, &jerr);
    if (!x)
      fail_msg("bad instance %s: %s", cases[i].instance, jerr.text);
    int rc = schema_validate(s, x, err, sizeof(err));
    if (!cases[i].err && rc != 0)
      fail_msg("case %zu %s / %s: expected valid, got \"%s\"", i, cases[i].schema,
               cases[i].instance, err);
    if (cases[i].err && (rc == 0 || strcmp(err, cases[i].err)))
      fail_msg("case %zu %s / %s: expected \"%s\", got \"%s\"", i, cases[i].schema,
               cases[i].instance, cases[i].err, rc ? err : "valid");
    json_decref(x);
    schema_destroy(s);
  }
}

/* The fast paths of schema_fast.c (property table, simple patterns) must give
 * exactly the general path's verdicts and first errors. */
#define ORD                                                                                        \
  "{\"required\":[\"b\",\"a\"],\"properties\":{\"a\":{\"type\":\"string\"},"                       \
  "\"b\":{\"type\":\"string\"}},\"additionalProperties\":false}"
static const vcase_t fast_cases[] = {
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"ABC\"", NULL},
    /* PCRE2's $ also matches before a final newline: kept as it was. */
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"ABC\\n\"", NULL},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"ABC\\n\\n\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"ABCD\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"AB\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"\\u00c0BC\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"\"", ": must match pattern ^[A-Z]{3}$"},
    {"{\"pattern\":\"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$\"}", "\"en\"", NULL},
    {"{\"pattern\":\"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$\"}", "\"eng-Latn-BD\"", NULL},
    {"{\"pattern\":\"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$\"}", "\"en-\"",
     ": must match pattern ^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
    {"{\"pattern\":\"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$\"}", "\"en-US-x\"",
     ": must match pattern ^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
    {"{\"pattern\":\"^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$\"}",
     "\"k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"", NULL},
    {"{\"pattern\":\"^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$\"}",
     "\"k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"",
     ": must match pattern ^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$"},
    /* Greedy alone fails here; PCRE2 backtracks and matches. */
    {"{\"pattern\":\"^[a-z]*[a-c]$\"}", "\"abc\"", NULL},
    {"{\"pattern\":\"^[a-c]?b$\"}", "\"b\"", NULL},
    {"{\"pattern\":\"^x[.]y$\"}", "\"x.y\"", NULL},
    {"{\"pattern\":\"^x[.]y$\"}", "\"xzy\"", ": must match pattern ^x[.]y$"},
    {"{\"pattern\":\"^x.y$\"}", "\"xzy\"", NULL},
    {"{\"pattern\":\"[0-9]{2}\"}", "\"a12b\"", NULL},
    {ORD, "{\"z\":1,\"a\":1}", "/b: is required"},
    {ORD, "{\"z\":1,\"b\":1,\"a\":1}", "/a: must be string"},
    {ORD, "{\"a\":\"x\",\"b\":\"x\",\"z\":1,\"y\":2}", "/z: unexpected property"},
    {ORD, "{\"y\":1,\"a\":\"x\",\"b\":\"x\"}", "/y: unexpected property"},
    {ORD, "{\"b\":\"x\",\"a\":\"x\"}", NULL},
    {"{\"required\":[\"q\"],\"properties\":{\"a\":{}}}", "{\"a\":1}", "/q: is required"},
    {"{\"required\":[\"a\",\"a\"],\"properties\":{\"a\":{}}}", "{\"b\":1}", "/a: is required"},
    {"{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"integer\"}}",
     "{\"b\":2,\"a\":\"s\",\"c\":\"x\"}", "/c: must be integer"},
    {"{\"properties\":{\"a\":false,\"b\":{}}}", "{\"b\":1,\"a\":1}", "/a: is not allowed"},
    {"{\"properties\":{\"\":{\"type\":\"string\"},\"a~b/c\":{\"type\":\"string\"}}}",
     "{\"a~b/c\":1}", "/a~0b~1c: must be string"},
    {"{\"properties\":{\"\":{\"type\":\"string\"}}}", "{\"\":1}", "/: must be string"},
};

static void test_fast_paths(void **state) {
  char err[512], text[4096];
  size_t o;
  (void)state;
  for (size_t i = 0; i < sizeof(fast_cases) / sizeof(fast_cases[0]); i++) {
    schema_t *s = compile(fast_cases[i].schema);
    json_t *x = json_loads(fast_cases[i].instance, JSON_DECODE_ANY, NULL);
    assert_non_null(x);
    int rc = schema_validate(s, x, err, sizeof(err));
    if (!fast_cases[i].err && rc != 0)
      fail_msg("case %zu %s / %s: expected valid, got \"%s\"", i, fast_cases[i].schema,
               fast_cases[i].instance, err);
    if (fast_cases[i].err && (rc == 0 || strcmp(err, fast_cases[i].err)))
      fail_msg("case %zu %s / %s: expected \"%s\", got \"%s\"", i, fast_cases[i].schema,
               fast_cases[i].instance, fast_cases[i].err, rc ? err : "valid");
    json_decref(x);
    schema_destroy(s);
  }
  /* More than 64 properties: the general path, same messages. */
  o = (size_t)snprintf(text, sizeof(text), "{\"required\":[\"p69\"],\"properties\":{");
  for (int p = 0; p < 70; p++)
    o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"p%d\":{\"type\":\"string\"}",
                          p ? "," : "", p);
  snprintf(text + o, sizeof(text) - o, "}}");
  schema_t *s = compile(text);
  json_t *x = json_pack("{s:i}", "p3", 1);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_string_equal(err, "/p69: is required");
  json_object_set_new(x, "p69", json_string("v"));
  json_object_set_new(x, "p66", json_integer(1));
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_string_equal(err, "/p3: must be string");
  json_decref(x);
  schema_destroy(s);
}

typedef struct lcase {
  const char *schema, *needle;
} lcase_t;

static const lcase_t load_cases[] = {
    {"{\"properties\":{\"a\":{\"dependentSchemas\":{}}}}",
     "unsupported keyword \"dependentSchemas\" at #/properties/a"},
    {"{\"patternProperties\":{}}", "unsupported keyword \"patternProperties\" at #"},
    {"{\"$defs\":{\"unused\":{\"if\":true}}}", "unsupported keyword \"if\" at #/$defs/unused"},
    {"{\"multipleOf\":2}", "unsupported keyword \"multipleOf\""},
    {"{\"pattern\":\"([a-z\"}", "bad \"pattern\" at #: "},
    {"{\"$ref\":\"#/$defs/missing\"}", "unresolvable $ref \"#/$defs/missing\" at #"},
    {"{\"$ref\":\"https://example.com/other.json\"}", "unresolvable $ref"},
    {"{\"format\":\"email\"}", "unsupported format \"email\" at #"},
    {"{\"type\":\"text\"}", "unknown type in \"type\" at #"},
    {"{\"minLength\":-1}", "\"minLength\" must be a non-negative integer at #"},
    {"{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", "unsupported $schema"},
    {"{\"items\":{\"x-pii\":{\"action\":\"scan\"}}}", "only top-level properties may carry x-pii"},
    {"{\"properties\":{\"p\":{\"x-pii\":{\"action\":\"hash\",\"kind\":\"phone\"}}}}",
     "bad x-pii at #/properties/p"},
    {"{\"properties\":{\"p\":{\"x-pii\":{\"action\":\"hash\",\"kind\":\"iban\",\"target\":\"p_"
     "hash\"}}}}",
     "kind must be"},
    {"{\"properties\":{\"p\":{\"x-pii\":{\"action\":\"drop\"}}}}", "action must be"},
    {"{\"properties\":{\"p\":{\"x-pii\":{\"action\":\"scan\",\"kind\":\"phone\"}}}}",
     "takes no kind"},
    {"{\"properties\":{\"p\":{\"x-pii\":\"hash\"}}}", "must be an object"},
    {"{\"properties\":{\"p\":{\"x-pii\":{\"action\":\"scan\",\"extra\":1}}}}",
     "unknown member \"extra\""},
    {"{\"properties\":{\"a\":{\"x-pii\":{\"action\":\"hash\",\"kind\":\"name\",\"target\":\"h\"}},"
     "\"b\":{\"x-pii\":{\"action\":\"hash\",\"kind\":\"name\",\"target\":\"h\"}}}}",
     "used twice"},
    {"{\"properties\":{\"a\":1}}", "schema must be an object or a boolean at #/properties/a"},
};

static void test_load_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
    const char *err = load_error(load_cases[i].schema);
    if (!strstr(err, load_cases[i].needle))
      fail_msg("%s: expected error containing \"%s\", got \"%s\"", load_cases[i].schema,
               load_cases[i].needle, *err ? err : "(loaded)");
  }
}

static void test_load_file_errors(void **state) {
  char err[512];
  (void)state;
  assert_null(schema_load_file("/nonexistent/x.json", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/x.json"));
  assert_null(schema_load_json(NULL, err, sizeof(err)));
  schema_destroy(NULL);
  assert_int_equal(schema_pii_fields(NULL, NULL), 0);
  assert_string_equal(schema_name(NULL), "");
}

static void test_recursive_ref_loads_and_self_loop_is_bounded(void **state) {
  char err[512];
  (void)state;
  /* A schema that is only a reference to itself must not hang. */
  schema_t *s = compile("{\"$ref\":\"#\"}");
  json_t *x = json_integer(1);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_string_equal(err, ": schema recursion too deep");
  json_decref(x);
  schema_destroy(s);
  s = compile("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"items\":{\"$ref\":\"#/$defs/"
              "a\"}}},\"$ref\":\"#/$defs/a\"}");
  x = json_loads("[[[[]]]]", 0, NULL);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), 0);
  json_decref(x);
  schema_destroy(s);
}

static void test_deep_nesting(void **state) {
  char err[512], text[1024];
  size_t o = 0;
  (void)state;
  /* 65 nested arrays: refused before any recursion, even by schema true. */
  for (int i = 0; i < 65; i++)
    text[o++] = '[';
  for (int i = 0; i < 65; i++)
    text[o++] = ']';
  text[o] = '\0';
  schema_t *s = compile("true");
  json_t *x = json_loads(text, 0, NULL);
  assert_non_null(x);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_non_null(strstr(err, ": nesting too deep"));
  assert_int_equal(strncmp(err, "/0/0/0", 6), 0);
  json_decref(x);
  /* 64 levels are fine. */
  memset(text, '[', 64);
  memset(text + 64, ']', 64);
  text[128] = '\0';
  x = json_loads(text, 0, NULL);
  assert_non_null(x);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), 0);
  json_decref(x);
  schema_destroy(s);
}

/* Privacy rule: no failure message may contain the instance's value. */
static void test_errors_never_echo_values(void **state) {
  static const char *const schemas[] = {
      "{\"enum\":[\"a\"]}",     "{\"const\":\"a\"}",
      "{\"type\":\"integer\"}", "{\"maxLength\":3}",
      "{\"pattern\":\"^x$\"}",  "{\"format\":\"date-time\"}",
      "{\"not\":{}}",           "{\"anyOf\":[{\"type\":\"null\"}]}",
  };
  char err[512];
  (void)state;
  json_t *x = json_string("+8801711234567 rahim@example.com");
  for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
    schema_t *s = compile(schemas[i]);
    assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
    assert_null(strstr(err, "1711234567"));
    assert_null(strstr(err, "rahim"));
    schema_destroy(s);
  }
  json_decref(x);
}

static void test_small_error_buffer(void **state) {
  char err[8];
  (void)state;
  schema_t *s = compile("{\"properties\":{\"customer_phone\":{\"type\":\"string\"}}}");
  json_t *x = json_loads("{\"customer_phone\":1}", 0, NULL);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_true(strlen(err) < sizeof(err));
  assert_int_equal(schema_validate(s, x, NULL, 0), -1);
  json_decref(x);
  schema_destroy(s);
}

/* A message cut to fit (a long key, a small buffer) ends on a character
 * boundary: it goes into JSON, and a dead letter with a message that is not
 * UTF-8 could not be built, which stopped privacy-shield on one record. */
static void test_cut_messages_stay_utf8(void **state) {
  (void)state;
  schema_t *s = compile("{\"additionalProperties\":false}");
  char text[2048] = "{\"";
  for (int i = 0; i < 200; i++)
    strcat(text, "\xe0\xa6\x95"); /* Bengali KA, 3 bytes */
  strcat(text, "\":1}");
  json_t *x = json_loads(text, 0, NULL);
  assert_non_null(x);
  for (size_t cap = 2; cap <= 512; cap++) {
    char err[512];
    assert_int_equal(schema_validate(s, x, err, cap), -1);
    assert_true(utf8_valid(err, strlen(err)));
  }
  char err[512];
  schema_validate(s, x, err, sizeof(err));
  assert_non_null(strstr(err, "...: unexpected property"));
  json_decref(x);
  schema_destroy(s);
}

static void test_pii_fields_and_name(void **state) {
  const schema_pii_field_t *f;
  (void)state;
  schema_t *s = compile("{\"title\":\"t\",\"properties\":{"
                        "\"phone\":{\"type\":\"string\",\"x-pii\":{\"action\":\"hash\",\"kind\":"
                        "\"phone\",\"target\":\"phone_hash\"}},"
                        "\"plain\":{},"
                        "\"text\":{\"x-pii\":{\"action\":\"scan\"}}}}");
  assert_int_equal(schema_pii_fields(s, &f), 2);
  assert_string_equal(f[0].name, "phone");
  assert_int_equal(f[0].action, SCHEMA_PII_HASH);
  assert_string_equal(f[0].kind, "phone");
  assert_string_equal(f[0].target, "phone_hash");
  assert_string_equal(f[1].name, "text");
  assert_int_equal(f[1].action, SCHEMA_PII_SCAN);
  assert_null(f[1].kind);
  assert_string_equal(schema_name(s), "t");
  schema_destroy(s);
  s = compile("{\"$id\":\"urn:sensory:x\",\"title\":\"t\"}");
  assert_string_equal(schema_name(s), "urn:sensory:x");
  schema_destroy(s);
}

/* The loaded schema does not depend on the caller's document. */
static void test_document_is_copied(void **state) {
  char err[512];
  (void)state;
  json_t *doc = json_loads("{\"properties\":{\"a\":{\"enum\":[\"x\"]}}}", 0, NULL);
  schema_t *s = schema_load_json(doc, err, sizeof(err));
  assert_non_null(s);
  json_decref(doc);
  json_t *x = json_loads("{\"a\":\"y\"}", 0, NULL);
  assert_int_equal(schema_validate(s, x, err, sizeof(err)), -1);
  assert_string_equal(err, "/a: must be one of [\"x\"]");
  json_decref(x);
  schema_destroy(s);
}

typedef struct thread_arg {
  const schema_t *s;
  int failures;
} thread_arg_t;

static void *validate_many(void *p) {
  thread_arg_t *a = p;
  char err[256];
  json_t *good = json_loads("{\"c\":\"ABC\",\"n\":3}", 0, NULL),
         *bad = json_loads("{\"c\":\"abc\",\"n\":3}", 0, NULL);
  for (int i = 0; i < 2000; i++) {
    if (schema_validate(a->s, good, err, sizeof(err)) != 0)
      a->failures++;
    if (schema_validate(a->s, bad, err, sizeof(err)) != -1 ||
        strcmp(err, "/c: must match pattern ^[A-Z]{3}$"))
      a->failures++;
  }
  json_decref(good);
  json_decref(bad);
  return NULL;
}

static void test_concurrent_validation(void **state) {
  pthread_t t[4];
  thread_arg_t a[4];
  (void)state;
  schema_t *s =
      compile("{\"properties\":{\"c\":{\"pattern\":\"^[A-Z]{3}$\"},\"n\":{\"type\":\"integer\"}}}");
  for (int i = 0; i < 4; i++) {
    a[i].s = s;
    a[i].failures = 0;
    assert_int_equal(pthread_create(&t[i], NULL, validate_many, &a[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(a[i].failures, 0);
  }
  schema_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keyword_messages),
      cmocka_unit_test(test_fast_paths),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_load_file_errors),
      cmocka_unit_test(test_recursive_ref_loads_and_self_loop_is_bounded),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_errors_never_echo_values),
      cmocka_unit_test(test_small_error_buffer),
      cmocka_unit_test(test_cut_messages_stay_utf8),
      cmocka_unit_test(test_pii_fields_and_name),
      cmocka_unit_test(test_document_is_copied),
      cmocka_unit_test(test_concurrent_validation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
