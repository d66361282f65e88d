/* post_store: what both backends share — per-object error counters, the
 * dead-letter form of a rejection, and the plan that gives a batch its
 * in-order meaning (the last operation per id decides). */
#include "post_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void post_metrics_error(post_metrics_t *pm, const char *error_class) {
  if (!pm || !pm->m)
    return;
  metrics_counter_add(metrics_counter(pm->m, "object_errors_total",
                                      "objects the store refused, by message class", "class",
                                      error_class && *error_class ? error_class : "other"),
                      1);
}

int post_store_reject(post_reject_fn reject, stage_sink_batch_t *batch, size_t i,
                      const char *backend, const char *message) {
  stage_sink_record_t *rec = &batch->records[i];
  if (rec->fail) {
    rec->fail->code = "store_rejected";
    snprintf(rec->fail->message, sizeof(rec->fail->message), "%s: %s", backend, message);
    rec->fail->path[0] = '\0';
  }
  return (reject ? reject : stage_sink_reject)(batch, i);
}

void post_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
