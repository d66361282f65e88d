/* test_offsets — the in-order offset tracker: positions move only over the
 * finished prefix of a partition, partitions are independent and unbounded
 * in number, forgotten partitions orphan their unfinished entries, and every
 * entry is released exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/offsets.h"

typedef struct msg {
  offsets_entry_t entry;
  int released;
} msg_t;

typedef struct rec {
  char topic[32];
  int32_t partition;
  int64_t next;
  int advances;
  int released;
} rec_t;

static void on_release(void *ctx, offsets_entry_t *e) {
  rec_t *r = ctx;
  msg_t *m = OFFSETS_CONTAINER_OF(e, msg_t, entry);
  m->released++;
  r->released++;
}

static void on_advance(void *ctx, const char *topic, int32_t partition, int64_t next) {
  rec_t *r = ctx;
  snprintf(r->topic, sizeof(r->topic), "%s", topic);
  r->partition = partition;
  r->next = next;
  r->advances++;
}

static void test_in_order_prefix(void **state) {
  (void)state;
  rec_t r = {0};
  msg_t m[5] = {0};
  offsets_t *o = offsets_new(on_release, on_advance, &r);
  assert_non_null(o);
  for (int i = 0; i < 5; i++)
    assert_int_equal(offsets_track(o, &m[i].entry, "clean.social", 3, 100 + i), 0);
  assert_int_equal(offsets_pending(o), 5);
  /* Later ones finish first: nothing may move yet. */
  offsets_done(o, &m[2].entry);
  offsets_done(o, &m[1].entry);
  assert_int_equal(r.advances, 0);
  assert_int_equal(r.released, 0);
  /* The head finishes: the prefix 100..102 goes, position 103. */
  offsets_done(o, &m[0].entry);
  assert_int_equal(r.advances, 1);
  assert_string_equal(r.topic, "clean.social");
  assert_int_equal(r.partition, 3);
  assert_int_equal(r.next, 103);
  assert_int_equal(r.released, 3);
  assert_int_equal(offsets_pending(o), 2);
  offsets_done(o, &m[4].entry);
  assert_int_equal(r.advances, 1);
  offsets_done(o, &m[3].entry);
  assert_int_equal(r.next, 105);
  assert_int_equal(offsets_pending(o), 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(m[i].released, 1);
  offsets_destroy(o);
}

static void test_partitions_independent_and_unbounded(void **state) {
  (void)state;
  rec_t r = {0};
  enum { NP = 10000 }; /* well past the 4,096 the stage once allowed */
  msg_t *m = calloc(2 * NP, sizeof(*m));
  offsets_t *o = offsets_new(on_release, on_advance, &r);
  assert_non_null(m);
  char topic[32];
  for (int p = 0; p < NP; p++) {
    snprintf(topic, sizeof(topic), "t%d", p % 7);
    assert_int_equal(offsets_track(o, &m[2 * p].entry, topic, p, 10), 0);
    assert_int_equal(offsets_track(o, &m[2 * p + 1].entry, topic, p, 11), 0);
  }
  /* Finishing the second message of every partition moves none of them. */
  for (int p = 0; p < NP; p++)
    offsets_done(o, &m[2 * p + 1].entry);
  assert_int_equal(r.advances, 0);
  for (int p = NP - 1; p >= 0; p--) {
    offsets_done(o, &m[2 * p].entry);
    assert_int_equal(r.partition, p);
    assert_int_equal(r.next, 12);
  }
  assert_int_equal(r.advances, NP);
  assert_int_equal(r.released, 2 * NP);
  offsets_destroy(o);
  free(m);
}

static void test_forget_orphans(void **state) {
  (void)state;
  rec_t r = {0};
  msg_t m[4] = {0};
  offsets_t *o = offsets_new(on_release, on_advance, &r);
  for (int i = 0; i < 3; i++)
    assert_int_equal(offsets_track(o, &m[i].entry, "orders", 0, i), 0);
  offsets_done(o, &m[1].entry); /* finished, behind an unfinished head */
  offsets_forget(o, "orders", 0);
  assert_int_equal(m[1].released, 1); /* finished entries go at once */
  assert_int_equal(m[0].released, 0); /* unfinished ones stay with their owner */
  assert_int_equal(offsets_pending(o), 2);
  /* The partition comes back (reassigned): new messages do not wait behind
   * the orphans, and the orphans never move the new owner's position. */
  assert_int_equal(offsets_track(o, &m[3].entry, "orders", 0, 7), 0);
  offsets_done(o, &m[0].entry);
  assert_int_equal(m[0].released, 1);
  assert_int_equal(r.advances, 0);
  offsets_done(o, &m[3].entry);
  assert_int_equal(r.advances, 1);
  assert_int_equal(r.next, 8);
  offsets_forget(o, "unknown", 9); /* ignored */
  /* m[2] never finished: an orphan belongs to its owner, not the tracker. */
  assert_int_equal(offsets_pending(o), 1);
  offsets_destroy(o);
  assert_int_equal(m[2].released, 0);
  assert_int_equal(r.released, 3);
}

static void test_null_callbacks(void **state) {
  (void)state;
  msg_t m = {0};
  offsets_t *o = offsets_new(NULL, NULL, NULL);
  assert_int_equal(offsets_track(o, &m.entry, "x", 0, 1), 0);
  offsets_done(o, &m.entry);
  assert_int_equal(offsets_pending(o), 0);
  offsets_destroy(o);
  offsets_destroy(NULL);
  assert_int_equal(offsets_pending(NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_in_order_prefix),
      cmocka_unit_test(test_partitions_independent_and_unbounded),
      cmocka_unit_test(test_forget_orphans),
      cmocka_unit_test(test_null_callbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
