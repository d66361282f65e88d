/* risk-svc history without Redis: reading order events from clean orders,
 * key names, and the in-memory model (the update script's rules): statuses
 * counted once per order, redelivery changes nothing, outstanding COD
 * orders, velocity windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "risk_model.h"
#include "risk_order.h"
#include "json/jsonf.h"

#define H1 "k1a2b3c4d:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "k1a2b3c4d:2222222222222222222222222222222222222222222222222222222222222222"

static risk_order_event_t ev(const char *phash, const char *id, const char *status, int cod,
                             int64_t ts) {
  risk_order_event_t e = {.cod = cod, .ts_ms = ts};
  snprintf(e.phash, sizeof(e.phash), "%s", phash);
  snprintf(e.platform, sizeof(e.platform), "daraz");
  snprintf(e.order_id, sizeof(e.order_id), "%s", id);
  snprintf(e.status, sizeof(e.status), "%s", status);
  return e;
}

static void test_event_from_json(void **state) {
  (void)state;
  char err[256];
  const char *good = "{\"platform\":\"daraz\",\"order_id\":\"D-1\",\"merchant_id\":\"m\","
                     "\"product_id\":\"P-1\",\"product_name\":\"x\",\"quantity\":1,\"price\":10,"
                     "\"order_status\":\"returned\",\"payment_method\":\"cod\",\"shipping_city\":"
                     "\"Dhaka\",\"customer_phone_hash\":\"" H1 "\",\"timestamp\":"
                     "\"2026-06-01T10:00:00+06:00\"}";
  json_t *j = jsonf_parse(good, strlen(good), 64, NULL, 0);
  risk_order_event_t e;
  assert_int_equal(risk_order_event_from_json(j, &e, err, sizeof(err)), 1);
  assert_string_equal(e.phash, H1);
  assert_string_equal(e.status, "returned");
  assert_int_equal(e.cod, 1);
  assert_int_equal(e.ts_ms, 1780286400000LL);
  json_object_del(j, "customer_phone_hash");
  assert_int_equal(risk_order_event_from_json(j, &e, err, sizeof(err)), 0);
  json_object_set_new(j, "customer_phone_hash", json_string("k1:{evil}"));
  assert_int_equal(risk_order_event_from_json(j, &e, err, sizeof(err)), -1);
  json_object_set_new(j, "customer_phone_hash", json_string(H1));
  json_object_set_new(j, "order_status", json_string("lost"));
  assert_int_equal(risk_order_event_from_json(j, &e, err, sizeof(err)), -1);
  assert_string_equal(err, "/order_status: not a known status");
  json_object_set_new(j, "order_status", json_string("pending"));
  json_object_set_new(j, "timestamp", json_string("yesterday"));
  assert_int_equal(risk_order_event_from_json(j, &e, err, sizeof(err)), -1);
  assert_null(strstr(err, "yesterday"));
  json_decref(j);
  char key[256];
  assert_int_equal(risk_customer_key("risk", H1, "c", key, sizeof(key)), 0);
  assert_string_equal(key, "risk:{" H1 "}:c");
  assert_int_equal(risk_customer_key("risk", H1, "c", key, 20), -1);
}

static void test_model_counts_once(void **state) {
  (void)state;
  risk_model_t *m = risk_model_new(1000);
  int64_t t = 1780000000000LL;
  /* Order 1 (COD): pending → shipped → delivered → returned, each delivered twice. */
  const char *path1[] = {"pending", "shipped", "delivered", "returned"};
  for (int i = 0; i < 4; i++) {
    risk_order_event_t e = ev(H1, "o1", path1[i], 1, t);
    assert_int_equal(risk_model_apply(m, &e), 1);
    assert_int_equal(risk_model_apply(m, &e), 0); /* redelivered: nothing */
  }
  /* Order 2 (COD): pending, still outstanding. Order 3 prepaid: cancelled. */
  risk_order_event_t e2 = ev(H1, "o2", "pending", 1, t + 1000);
  assert_int_equal(risk_model_apply(m, &e2), 1);
  risk_order_event_t e2b = ev(H1, "o2", "confirmed", 1, t + 2000);
  assert_int_equal(risk_model_apply(m, &e2b), 1);
  risk_order_event_t e3 = ev(H1, "o3", "cancelled", 0, t + 3000);
  assert_int_equal(risk_model_apply(m, &e3), 1);
  /* Order 4 (COD) seen first as failed_delivery, then a late "pending". */
  risk_order_event_t e4 = ev(H1, "o4", "failed_delivery", 1, t + 4000);
  assert_int_equal(risk_model_apply(m, &e4), 1);
  risk_order_event_t e4b = ev(H1, "o4", "pending", 1, t + 4000);
  assert_int_equal(risk_model_apply(m, &e4b), 1);

  risk_features_t f = {0};
  risk_model_features(m, H1, t + 5000, &f);
  assert_int_equal(f.orders, 4);
  assert_int_equal(f.cod_orders, 3);
  assert_int_equal(f.delivered, 1);
  assert_int_equal(f.returned, 1);
  assert_int_equal(f.failed_delivery, 1);
  assert_int_equal(f.cancelled, 1);
  assert_int_equal(f.cod_bad, 2);         /* o1 returned, o4 failed */
  assert_int_equal(f.cod_outstanding, 1); /* only o2 */
  assert_int_equal(f.velocity_1h, 4);
  risk_model_features(m, H2, t, &f);
  assert_int_equal(f.orders, 0);
  assert_int_equal(f.history_known, 1);
  risk_model_destroy(m);
}

static void test_model_velocity(void **state) {
  (void)state;
  risk_model_t *m = risk_model_new(5);
  int64_t hour = 3600000, t = 1780000000000LL;
  char id[16];
  for (int i = 0; i < 8; i++) { /* one order every 30 min: 8 orders over 3.5 h */
    snprintf(id, sizeof(id), "v%d", i);
    risk_order_event_t e = ev(H2, id, "pending", 1, t + i * hour / 2);
    assert_int_equal(risk_model_apply(m, &e), 1);
  }
  risk_features_t f;
  risk_model_features(m, H2, t + 7 * hour / 2, &f);
  assert_int_equal(f.orders, 8);
  assert_int_equal(f.velocity_1h, 3);  /* at -60, -30 and 0 min */
  assert_int_equal(f.velocity_24h, 5); /* capped at velocity_max 5 */
  risk_model_features(m, H2, t + 7 * 24 * hour + 2 * hour, &f);
  assert_int_equal(f.velocity_1h, 0);
  assert_int_equal(f.velocity_7d, 4); /* entries within 7 d of then */
  FILE *out = tmpfile();
  assert_int_equal(risk_model_dump(m, out), 1);
  rewind(out);
  char line[512];
  assert_non_null(fgets(line, sizeof(line), out));
  assert_non_null(strstr(line, "\"orders\":8"));
  assert_non_null(strstr(line, "\"velocity_entries\":5"));
  fclose(out);
  risk_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_from_json),
      cmocka_unit_test(test_model_counts_once),
      cmocka_unit_test(test_model_velocity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
