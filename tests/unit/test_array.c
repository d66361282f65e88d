/* test_array — array_reserve: doubling from the first capacity, nothing
 * moved when the room is there, and overflow refused with the array intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>

#include "core/array.h"

static void test_growth(void **state) {
  (void)state;
  int *v = NULL;
  size_t cap = 0;
  assert_int_equal(array_reserve(&v, &cap, 1, sizeof(*v), 4), 0);
  assert_int_equal(cap, 4);
  for (int i = 0; i < 4; i++)
    v[i] = i;
  int *before = v;
  assert_int_equal(array_reserve(&v, &cap, 4, sizeof(*v), 4), 0); /* fits: nothing moves */
  assert_ptr_equal(v, before);
  assert_int_equal(array_reserve(&v, &cap, 5, sizeof(*v), 4), 0);
  assert_int_equal(cap, 8);
  assert_int_equal(array_reserve(&v, &cap, 100, sizeof(*v), 4), 0);
  assert_int_equal(cap, 128);
  for (int i = 0; i < 4; i++)
    assert_int_equal(v[i], i); /* contents kept */
  free(v);
  char *c = NULL;
  size_t ccap = 0;
  assert_int_equal(array_reserve(&c, &ccap, 3, 1, 0), 0); /* first 0 means 1 */
  assert_int_equal(ccap, 4);
  free(c);
}

static void test_overflow(void **state) {
  (void)state;
  double *v = NULL;
  size_t cap = 0;
  assert_int_equal(array_reserve(&v, &cap, 2, sizeof(*v), 2), 0);
  v[0] = 1.5;
  double *before = v;
  assert_int_equal(array_reserve(&v, &cap, SIZE_MAX / 4, sizeof(*v), 2), -1);
  assert_int_equal(array_reserve(&v, &cap, SIZE_MAX, 1, 2), -1);
  assert_ptr_equal(v, before); /* unchanged on failure */
  assert_int_equal(cap, 2);
  assert_true(v[0] == 1.5);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
