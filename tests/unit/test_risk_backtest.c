/* risk-svc backtest: a small history replayed with the default rules and a
 * stricter candidate; the counts of changed decisions, caught returns and
 * delivered orders asked to prepay are known by construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "risk_backtest.h"

#define HA "k1a2b3c4d:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "k1a2b3c4d:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static json_t *order(const char *phash, const char *id, const char *status, int64_t ts) {
  char when[CLOCK_RFC3339_MAX];
  clock_format_ms(ts, when, sizeof(when));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,s:s,s:s,s:s,s:s}", "platform", "daraz",
                   "order_id", id, "merchant_id", "m-1", "product_id", "P-1", "product_name",
                   "Saree", "quantity", 2, "price", 750.0, "order_status", status, "payment_method",
                   "cod", "shipping_city", "Dhaka", "customer_phone_hash", phash, "timestamp",
                   when);
}

static void add(risk_backtest_t *b, json_t *o) {
  char err[256];
  int rc = risk_backtest_add(b, o, err, sizeof(err));
  if (rc != 1)
    fail_msg("add: %d %s", rc, err);
  json_decref(o);
}

static void test_backtest_counts(void **state) {
  (void)state;
  char err[512];
  risk_rules_t *cur = risk_rules_load(NULL, err, sizeof(err));
  const char *y = "threshold: 80\nrules:\n  return_rate: {weight: 85, min_cod_orders: 2, "
                  "min_rate: 0.75}\n";
  risk_rules_t *cand = risk_rules_parse(y, strlen(y), "cand", err, sizeof(err));
  assert_non_null(cur);
  assert_non_null(cand);
  risk_backtest_t *b = risk_backtest_new(cur, cand, 1000);
  int64_t day = 86400000, t0 = 1780000000000LL;
  char id[32];
  /* Added out of time order on purpose: the replay sorts by event time. */
  for (int i = 5; i >= 0; i--) { /* A: six COD orders, each returned a day later */
    snprintf(id, sizeof(id), "A-%d", i);
    add(b, order(HA, id, "returned", t0 + (2 * i + 1) * day));
    add(b, order(HA, id, "pending", t0 + 2 * i * day));
  }
  for (int i = 0; i < 5; i++) { /* B: five COD orders, delivered */
    snprintf(id, sizeof(id), "B-%d", i);
    add(b, order(HB, id, "pending", t0 + 2 * i * day));
    add(b, order(HB, id, "shipped", t0 + 2 * i * day + 1000));
    add(b, order(HB, id, "delivered", t0 + (2 * i + 1) * day));
    add(b, order(HB, id, "delivered", t0 + (2 * i + 1) * day)); /* redelivered */
  }
  json_t *anon = order(HA, "X-1", "pending", t0);
  json_object_del(anon, "customer_phone_hash");
  assert_int_equal(risk_backtest_add(b, anon, err, sizeof(err)), 0);
  json_decref(anon);
  /* A {"topic","key","value"} line is read through to its value. */
  json_t *o = order(HB, "B-9", "pending", t0 + 20 * day);
  char *text = json_dumps(o, JSON_COMPACT);
  json_t *line =
      json_pack("{s:s,s:s,s:s}", "topic", "sink.snowflake.orders", "key", "B-9", "value", text);
  free(text);
  json_decref(o);
  add(b, line);

  risk_backtest_report_t r;
  assert_int_equal(risk_backtest_run(b, &r), 0);
  assert_int_equal(r.events, 12 + 20 + 1);
  assert_int_equal(r.orders, 12);
  assert_int_equal(r.cod_orders, 12);
  assert_int_equal(r.bad_cod, 6);
  assert_int_equal(r.caught_current, 2);   /* A's 5th and 6th (4 and 5 past returns) */
  assert_int_equal(r.caught_candidate, 4); /* from the 3rd on */
  assert_int_equal(r.changed, 2);
  assert_int_equal(r.to_advance, 2);
  assert_int_equal(r.to_accept, 0);
  assert_int_equal(r.delivered_cod, 5);
  assert_int_equal(r.prepay_current, 0);
  assert_int_equal(r.prepay_candidate, 0);

  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  risk_backtest_print(&r, cur, cand, "file:x.jsonl", 1, f);
  fclose(f);
  assert_non_null(strstr(out, "decisions changed: 2"));
  assert_non_null(strstr(out, "caught: current 2 of 6 (33.3 %), candidate 4 of 6 (66.7 %)"));
  assert_non_null(strstr(out, "prepay: current 0 of 5"));
  free(out);
  json_t *j = risk_backtest_json(&r, cur, cand);
  assert_int_equal(json_integer_value(json_object_get(j, "caught_candidate")), 4);
  json_decref(j);
  risk_backtest_destroy(b);
  risk_rules_destroy(cur);
  risk_rules_destroy(cand);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_backtest_counts)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
