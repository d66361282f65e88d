/* risk-svc rules: the defaults the issue pins (a table of cases), loading
 * errors, per-merchant overrides and rules_version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "risk_rules.h"
#include "testutil.h"
#include "json/yaml.h"

static risk_rules_t *defaults(void) {
  char err[512];
  risk_rules_t *r = risk_rules_load(NULL, err, sizeof(err));
  if (!r)
    fail_msg("built-in rules: %s", err);
  return r;
}

static int has_code(const risk_result_t *res, const char *code) {
  for (size_t i = 0; i < res->nreasons; i++)
    if (strcmp(res->reasons[i].code, code) == 0)
      return 1;
  return 0;
}

typedef struct rcase {
  const char *name;
  risk_features_t f;
  int min_score, max_score;
  int advance;
  int cold_start;
  const char *code;   /* must be among the reasons (NULL: none required) */
  const char *absent; /* must not be */
} rcase_t;

#define HIST .history_known = 1

static const rcase_t cases[] = {
    {"new customer, ordinary amount: cold start, accept",
     {HIST, .amount = 1500, .cod = 1},
     0,
     0,
     0,
     1,
     NULL,
     "velocity_1h"},
    {"new customer, large first order: raised, still accepted",
     {HIST, .amount = 25000, .cod = 1},
     40,
     40,
     0,
     1,
     "new_customer_amount",
     NULL},
    {"blacklisted: 100 whatever else",
     {HIST, .blacklisted = 1, .orders = 10, .delivered = 10, .amount = 500, .cod = 1},
     100,
     100,
     1,
     0,
     "blacklist",
     NULL},
    {"blacklisted prepaid: 100 but never advance payment",
     {HIST, .blacklisted = 1, .amount = 500, .cod = 0},
     100,
     100,
     0,
     1,
     "blacklist",
     NULL},
    {"4 COD orders, 3 returned/failed (75 %): above 80",
     {HIST, .orders = 4, .cod_orders = 4, .cod_bad = 3, .returned = 2, .failed_delivery = 1,
      .delivered = 1, .amount = 1200, .cod = 1},
     81,
     100,
     1,
     0,
     "return_rate",
     NULL},
    {"4 COD orders, all returned: above 80",
     {HIST, .orders = 4, .cod_orders = 4, .cod_bad = 4, .returned = 4, .amount = 900, .cod = 1},
     81,
     100,
     1,
     0,
     "return_rate",
     NULL},
    {"4 COD orders, 2 returned (50 %): no return_rate",
     {HIST, .orders = 4, .cod_orders = 4, .cod_bad = 2, .returned = 2, .delivered = 2,
      .amount = 900, .cod = 1},
     0,
     80,
     0,
     0,
     NULL,
     "return_rate"},
    {"3 COD orders all returned: below the minimum count",
     {HIST, .orders = 3, .cod_orders = 3, .cod_bad = 3, .returned = 3, .amount = 900, .cod = 1},
     0,
     80,
     0,
     0,
     NULL,
     "return_rate"},
    {"bad COD history but prepaid: accept",
     {HIST, .orders = 6, .cod_orders = 6, .cod_bad = 6, .returned = 6, .amount = 900, .cod = 0},
     81,
     100,
     0,
     0,
     "return_rate",
     NULL},
    {"5 orders in the last hour raise the score",
     {HIST, .orders = 5, .cod_orders = 5, .velocity_1h = 5, .velocity_24h = 5, .velocity_7d = 5,
      .cod_outstanding = 0, .amount = 1000, .cod = 1},
     45,
     45,
     0,
     0,
     "velocity_1h",
     NULL},
    {"4 orders in the last hour: no velocity_1h",
     {HIST, .orders = 4, .velocity_1h = 4, .velocity_24h = 4, .velocity_7d = 4, .amount = 1000,
      .cod = 1},
     0,
     0,
     0,
     0,
     NULL,
     "velocity_1h"},
    {"burst of 10 unfulfilled COD orders: advance payment",
     {HIST, .orders = 10, .cod_orders = 10, .cod_outstanding = 10, .velocity_1h = 10,
      .velocity_24h = 10, .velocity_7d = 10, .amount = 1000, .cod = 1},
     90,
     90,
     1,
     0,
     "velocity_1h",
     NULL},
    {"loyal customer lowers the score (clamped at 0)",
     {HIST, .orders = 5, .cod_orders = 5, .delivered = 5, .amount = 1000, .cod = 1},
     0,
     0,
     0,
     0,
     "loyal_customer",
     NULL},
    {"cancellations: 2 of 3",
     {HIST, .orders = 3, .cancelled = 2, .delivered = 1, .amount = 1000, .cod = 1},
     20,
     20,
     0,
     0,
     "cancel_rate",
     NULL},
    {"very large amount of a known customer",
     {HIST, .orders = 1, .delivered = 1, .amount = 60000, .cod = 1},
     15,
     15,
     0,
     0,
     "high_amount",
     "new_customer_amount"},
    {"degraded (history unknown), fail-open: accept with reason degraded",
     {.history_known = 0, .amount = 1000, .cod = 1},
     0,
     0,
     0,
     0,
     "degraded",
     "blacklist"},
    {"degraded, the request alone: a large amount still scores",
     {.history_known = 0, .amount = 80000, .cod = 1},
     15,
     15,
     0,
     0,
     "high_amount",
     NULL},
};

static void test_default_cases(void **state) {
  (void)state;
  risk_rules_t *r = defaults();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const rcase_t *c = &cases[i];
    risk_result_t res;
    risk_rules_evaluate(r, "m-1", &c->f, RISK_FAIL_OPEN, &res);
    if (res.score < c->min_score || res.score > c->max_score || res.advance_payment != c->advance ||
        res.cold_start != c->cold_start || (c->code && !has_code(&res, c->code)) ||
        (c->absent && has_code(&res, c->absent)))
      fail_msg("case \"%s\": score %d advance %d cold_start %d first reason %s", c->name, res.score,
               res.advance_payment, res.cold_start, res.nreasons ? res.reasons[0].code : "-");
    for (size_t j = 0; j < res.nreasons; j++) /* details carry counts, never digits runs of ids */
      assert_true(strlen(res.reasons[j].detail) > 0);
  }
  risk_rules_destroy(r);
}

static void test_fail_closed(void **state) {
  (void)state;
  risk_rules_t *r = defaults();
  risk_features_t f = {.history_known = 0, .amount = 100, .cod = 1};
  risk_result_t res;
  risk_rules_evaluate(r, NULL, &f, RISK_FAIL_CLOSED, &res);
  assert_int_equal(res.advance_payment, 1);
  assert_true(has_code(&res, "degraded"));
  assert_non_null(strstr(res.reasons[res.nreasons - 1].detail, "fail-closed"));
  f.cod = 0; /* prepaid is never asked to pay in advance, even fail-closed */
  risk_rules_evaluate(r, NULL, &f, RISK_FAIL_CLOSED, &res);
  assert_int_equal(res.advance_payment, 0);
  risk_rules_destroy(r);
}

static void test_reasons_sorted(void **state) {
  (void)state;
  risk_rules_t *r = defaults();
  risk_features_t f = {.history_known = 1,
                       .orders = 10,
                       .cod_orders = 10,
                       .cod_outstanding = 10,
                       .velocity_1h = 10,
                       .velocity_24h = 10,
                       .velocity_7d = 10,
                       .amount = 10,
                       .cod = 1};
  risk_result_t res;
  risk_rules_evaluate(r, NULL, &f, RISK_FAIL_OPEN, &res);
  assert_int_equal(res.nreasons, 3);
  assert_string_equal(res.reasons[0].code, "velocity_1h");
  assert_int_equal(res.reasons[0].weight, 45);
  assert_string_equal(res.reasons[2].code, "velocity_24h");
  risk_rules_destroy(r);
}

static void test_shipped_file_is_the_default(void **state) {
  (void)state;
  char path[1024], err[512];
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(path, sizeof(path), "%s/services/risk-svc/rules.yaml", src && *src ? src : ".");
  risk_rules_t *file = risk_rules_load(path, err, sizeof(err));
  if (!file)
    fail_msg("%s", err);
  risk_rules_t *def = defaults();
  assert_string_equal(risk_rules_version(file), risk_rules_version(def));
  assert_int_equal(strlen(risk_rules_version(def)), 13);
  assert_int_equal(risk_rules_version(def)[0], 'r');
  risk_rules_destroy(file);
  risk_rules_destroy(def);
}

/* The ConfigMap carries the same rules (k8s/base/configmap.yaml). */
static void test_configmap_rules_are_the_default(void **state) {
  (void)state;
  char path[1024], err[512];
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(path, sizeof(path), "%s/k8s/base/configmap.yaml", src && *src ? src : ".");
  json_t *cm = yaml_load_json_file(path, err, sizeof(err));
  if (!cm)
    fail_msg("%s", err);
  json_t *text = json_object_get(json_object_get(cm, "data"), "risk-rules.yaml");
  assert_true(json_is_string(text));
  risk_rules_t *r =
      risk_rules_parse(json_string_value(text), json_string_length(text), "cm", err, sizeof(err));
  if (!r)
    fail_msg("%s", err);
  risk_rules_t *def = defaults();
  assert_string_equal(risk_rules_version(r), risk_rules_version(def));
  risk_rules_destroy(r);
  risk_rules_destroy(def);
  json_decref(cm);
}

static void test_version_changes_with_values_only(void **state) {
  (void)state;
  char err[512];
  const char *a = "threshold: 80\nrules:\n  blacklist: {weight: 100}\n  velocity_1h: {weight: 45, "
                  "min_orders: 5}\n";
  const char *b = "# a comment\nthreshold: 80\nrules:\n  velocity_1h:\n    min_orders: 5\n    "
                  "weight: 45\n  blacklist:\n    weight: 100\n";
  const char *c = "threshold: 80\nrules:\n  blacklist: {weight: 100}\n  velocity_1h: {weight: 45, "
                  "min_orders: 6}\n";
  risk_rules_t *ra = risk_rules_parse(a, strlen(a), "a", err, sizeof(err));
  risk_rules_t *rb = risk_rules_parse(b, strlen(b), "b", err, sizeof(err));
  risk_rules_t *rc = risk_rules_parse(c, strlen(c), "c", err, sizeof(err));
  assert_non_null(ra);
  assert_non_null(rb);
  assert_non_null(rc);
  assert_string_equal(risk_rules_version(ra), risk_rules_version(rb));
  assert_string_not_equal(risk_rules_version(ra), risk_rules_version(rc));
  risk_rules_destroy(ra);
  risk_rules_destroy(rb);
  risk_rules_destroy(rc);
}

static void test_merchant_overrides(void **state) {
  (void)state;
  char err[512];
  const char *y = "threshold: 80\n"
                  "rules:\n"
                  "  velocity_1h: {weight: 45, min_orders: 5}\n"
                  "  high_amount: {weight: 15, min_amount: 50000}\n"
                  "merchants:\n"
                  "  shop-42:\n"
                  "    threshold: 40\n"
                  "    rules:\n"
                  "      velocity_1h: {min_orders: 3}\n"
                  "      high_amount: {enabled: false}\n";
  risk_rules_t *r = risk_rules_parse(y, strlen(y), "t", err, sizeof(err));
  if (!r)
    fail_msg("%s", err);
  assert_int_equal(risk_rules_merchant_count(r), 1);
  risk_features_t f = {
      .history_known = 1, .orders = 3, .velocity_1h = 3, .amount = 60000, .cod = 1};
  risk_result_t res;
  risk_rules_evaluate(r, "shop-42", &f, RISK_FAIL_OPEN, &res);
  assert_int_equal(res.score, 45); /* velocity at 3 (merchant), high_amount off */
  assert_int_equal(res.threshold, 40);
  assert_int_equal(res.advance_payment, 1);
  risk_rules_evaluate(r, "other", &f, RISK_FAIL_OPEN, &res);
  assert_int_equal(res.score, 15); /* base: velocity needs 5, high_amount on */
  assert_int_equal(res.advance_payment, 0);
  risk_rules_destroy(r);
}

static void test_load_errors(void **state) {
  (void)state;
  static const struct {
    const char *yaml, *want;
  } bad[] = {
      {"rules: {blacklist: {weight: 100}}\n", "threshold: is required"},
      {"threshold: 80\n", "rules: is required"},
      {"threshold: 101\nrules: {}\n", "threshold: must be an integer 0..100"},
      {"threshold: 80\nrules: {blacklst: {weight: 100}}\n", "rules.blacklst: unknown rule code"},
      {"threshold: 80\nrules: {velocity_1h: {weight: 45}}\n",
       "rules.velocity_1h.min_orders: is required"},
      {"threshold: 80\nrules: {velocity_1h: {weight: 45, min_orders: 2.5}}\n",
       "must be an integer"},
      {"threshold: 80\nrules: {return_rate: {weight: 85, min_cod_orders: 4, min_rate: 1.5}}\n",
       "min_rate: must be a number 0..1"},
      {"threshold: 80\nrules: {blacklist: {weight: 300}}\n",
       "weight: must be an integer -100..100"},
      {"threshold: 80\nrules: {blacklist: {weight: 100, colour: red}}\n", "unknown parameter"},
      {"threshold: 80\nrules: {}\nextra: 1\n", "extra: unknown key"},
      {"threshold: 80\nrules: {}\nmerchants: {m1: {rules: {nope: {}}}}\n",
       "merchants.m1.rules.nope: unknown rule code"},
      {"threshold: 80\nrules: {}\nmerchants: {m1: {threshhold: 3}}\n", "merchants.m1.threshhold"},
      {"threshold: [80\n", "line"},
      {"a: &x 1\nb: *x\n", "aliases are not supported"},
      {"threshold: 80\nthreshold: 70\nrules: {}\n", "duplicate"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char err[512] = "";
    risk_rules_t *r =
        risk_rules_parse(bad[i].yaml, strlen(bad[i].yaml), "x.yaml", err, sizeof(err));
    if (r || !strstr(err, bad[i].want) || strncmp(err, "x.yaml: ", 8) != 0)
      fail_msg("case %zu: expected error containing \"%s\", got \"%s\"", i, bad[i].want, err);
  }
  char err[512];
  assert_null(risk_rules_load("/nonexistent/rules.yaml", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/rules.yaml"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_cases),
      cmocka_unit_test(test_fail_closed),
      cmocka_unit_test(test_reasons_sorted),
      cmocka_unit_test(test_shipped_file_is_the_default),
      cmocka_unit_test(test_configmap_rules_are_the_default),
      cmocka_unit_test(test_version_changes_with_values_only),
      cmocka_unit_test(test_merchant_overrides),
      cmocka_unit_test(test_load_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
