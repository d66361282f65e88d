/* risk-svc's risk.decisions producer while Kafka is unreachable: publishing
 * never blocks, the queue is bounded by decisions.queue_max, and what does
 * not fit is refused at once and counted (a blocking publish would hang
 * this test). No broker is contacted (127.0.0.1:1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "risk_decisions.h"

static void test_bounded_queue_counts_drops(void **state) {
  (void)state;
  char err[512];
  metrics_t *m = metrics_new("risk-svc");
  risk_decisions_opts_t o = {
      .brokers = "127.0.0.1:1", .topic = "risk.decisions", .queue_max = 3, .metrics = m};
  risk_decisions_t *d = risk_decisions_new(&o, err, sizeof(err));
  if (!d)
    fail_msg("%s", err);
  int queued = 0, dropped = 0;
  for (int i = 0; i < 10; i++) {
    char key[16], payload[64];
    snprintf(key, sizeof(key), "o-%d", i);
    int n = snprintf(payload, sizeof(payload), "{\"order_id\":\"o-%d\"}", i);
    if (risk_decisions_publish(d, key, strlen(key), payload, (size_t)n) == 0)
      queued++;
    else
      dropped++;
  }
  assert_int_equal(queued, 3);
  assert_int_equal(dropped, 7);
  assert_int_equal(risk_decisions_up(d), 0);
  char *text = metrics_render(m);
  assert_non_null(strstr(text, "risk_svc_decisions_dropped_total 7"));
  free(text);
  assert_int_equal(risk_decisions_destroy(d, 0), 3); /* unacknowledged at shutdown */
  metrics_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_bounded_queue_counts_drops)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
