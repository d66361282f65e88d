/* The validator on jsonf documents (schema_validate_node) against the same
 * validator on jansson values (schema_validate), which the official suite
 * (test_schema_suite) and the contract tests pin: every test of the JSON Schema
 * Test Suite whose data jsonf reads, and generated records (valid and poison)
 * against the four privacy contracts, give the same verdict and the same
 * error message either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/schema.h"

/* Validates value both ways; returns 1 when valid. */
static int both_ways(const schema_t *s, jsonf_doc_t *d, const json_t *value, const char *what) {
  char e1[512] = "", e2[512] = "";
  char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
  assert_non_null(text);
  const jsonf_node_t *x = jsonf_doc_parse(d, text, strlen(text), 64, NULL, 0);
  if (!x) { /* "\u0000" in a string, or deeper than 64: not a message we would take */
    free(text);
    return -1;
  }
  int r1 = schema_validate(s, value, e1, sizeof(e1));
  int r2 = schema_validate_node(s, x, e2, sizeof(e2));
  if (r1 != r2 || (r1 != 0 && strcmp(e1, e2) != 0))
    fail_msg("%s: jansson %d \"%s\", document %d \"%s\" on %s", what, r1, e1, r2, e2, text);
  free(text);
  return r1 == 0;
}

static void test_suite_both_ways(void **state) {
  (void)state;
  const char *fx = getenv("SENSORY_FIXTURES");
  char dir[1024], path[1400];
  snprintf(dir, sizeof(dir), "%s/json-schema-test-suite/draft2020-12", fx ? fx : "tests/fixtures");
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  size_t compared = 0, valid = 0;
  struct dirent *de;
  while ((de = readdir(dp)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    json_t *groups = json_load_file(path, JSON_ALLOW_NUL, NULL), *g, *tc;
    assert_non_null(groups);
    size_t gi, ti;
    json_array_foreach(groups, gi, g) {
      char err[512];
      schema_t *s = schema_load_json(json_object_get(g, "schema"), err, sizeof(err));
      if (!s)
        continue; /* unsupported: test_schema_suite checks that it is refused */
      json_array_foreach(json_object_get(g, "tests"), ti, tc) {
        int r = both_ways(s, d, json_object_get(tc, "data"), de->d_name);
        if (r < 0)
          continue;
        compared++;
        valid += (size_t)r;
      }
      schema_destroy(s);
    }
    json_decref(groups);
  }
  closedir(dp);
  jsonf_doc_destroy(d);
  print_message("suite: %zu tests compared (%zu valid)\n", compared, valid);
  assert_true(compared > 500);
  assert_true(valid > 300 && valid < compared);
}

static void contract_both_ways(const char *schema_file, const char *kind, int seed) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char path[1024], cmd[1200], err[512];
  snprintf(path, sizeof(path), "%s/schemas/%s", src ? src : ".", schema_file);
  schema_t *s = schema_load_file(path, err, sizeof(err));
  if (!s)
    fail_msg("%s", err);
  snprintf(cmd, sizeof(cmd),
           "/usr/bin/python3 %s/tests/tools/gen_records.py --kind %s --count 3000 --seed %d "
           "--poison",
           src ? src : ".", kind, seed);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  jsonf_doc_t *d = jsonf_doc_new();
  assert_non_null(d);
  char *line = NULL;
  size_t cap = 0, all = 0, valid = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    json_t *v = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (!v)
      continue;
    int r = both_ways(s, d, v, schema_file);
    all += r >= 0;
    valid += r > 0;
    json_decref(v);
  }
  free(line);
  assert_int_equal(pclose(f), 0);
  assert_true(all > 2500 && valid > all / 2 && valid < all);
  jsonf_doc_destroy(d);
  schema_destroy(s);
}

static void test_contracts_both_ways(void **state) {
  (void)state;
  contract_both_ways("market_order.json", "market", 41);
  contract_both_ways("social_post.json", "social", 42);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_suite_both_ways),
      cmocka_unit_test(test_contracts_both_ways),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
