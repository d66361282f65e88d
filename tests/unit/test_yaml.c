/* json/yaml: a YAML document read into jansson — scalar typing (YAML 1.2
 * core schema on plain scalars only), nesting, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/jsonf.h"
#include "json/yaml.h"

static char *as_json(const char *yaml) {
  char err[256];
  json_t *v = yaml_parse_json(yaml, strlen(yaml), err, sizeof(err));
  if (!v)
    fail_msg("%s: %s", yaml, err);
  char *s = jsonf_dumps(v, NULL);
  json_decref(v);
  return s;
}

static void test_scalars_and_nesting(void **state) {
  (void)state;
  static const struct {
    const char *yaml, *json;
  } cases[] = {
      {"a: 1\nb: -7\nc: 2.5\nd: 1e3\n", "{\"a\":1,\"b\":-7,\"c\":2.5,\"d\":1000.0}"},
      {"a: true\nb: False\nc: ~\nd: null\ne:\n",
       "{\"a\":true,\"b\":false,\"c\":null,\"d\":null,\"e\":null}"},
      {"a: \"1\"\nb: '2.5'\nc: 'true'\nd: 0x1F\ne: 1.2.3\n",
       "{\"a\":\"1\",\"b\":\"2.5\",\"c\":\"true\",\"d\":\"0x1F\",\"e\":\"1.2.3\"}"},
      {"a: [1, two, {b: 3}]\n", "{\"a\":[1,\"two\",{\"b\":3}]}"},
      {"m:\n  x:\n    y: ৳ 500\n", "{\"m\":{\"x\":{\"y\":\"৳ 500\"}}}"},
      {"a: 99999999999999999999\n", "{\"a\":1e20}"},
      {"", "null"},
      {"- 1\n- 2\n", "[1,2]"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *got = as_json(cases[i].yaml);
    if (strcmp(got, cases[i].json) != 0)
      fail_msg("case %zu: %s, want %s", i, got, cases[i].json);
    free(got);
  }
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *yaml, *want;
  } bad[] = {
      {"a: &x [1]\nb: *x\n", "line 2: aliases are not supported"},
      {"a: 1\na: 2\n", "line 2: duplicate or invalid key"},
      {"? [1, 2]\n: x\n", "keys must be plain text"},
      {"a: [1\n", "line"},
      /* fuzz_yaml: a NUL in a value reached C-string readers cut short */
      {"a: x\nb: \"topic\\0evil\"\n", "line 2: NUL character in a value"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char err[256] = "";
    json_t *v = yaml_parse_json(bad[i].yaml, strlen(bad[i].yaml), err, sizeof(err));
    if (v || !strstr(err, bad[i].want))
      fail_msg("case %zu: want \"%s\", got \"%s\"", i, bad[i].want, err);
  }
  char deep[400] = "";
  for (int i = 0; i < 70; i++)
    deep[i] = '[';
  char err[256];
  assert_null(yaml_parse_json(deep, strlen(deep), err, sizeof(err)));
  assert_null(yaml_load_json_file("/nonexistent/x.yaml", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/x.yaml"));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_scalars_and_nesting),
                                     cmocka_unit_test(test_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
