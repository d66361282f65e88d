/* testutil — small helpers the unit tests share: where the fixtures are and
 * reading a fixture file whole. Header-only (static): each test program is
 * one translation unit. Include after <cmocka.h>. */
#ifndef SENSORY_TESTUTIL_H
#define SENSORY_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* The fixtures directory: $SENSORY_FIXTURES (ctest sets it), else the
 * repository's tests/fixtures relative to the working directory. */
static inline const char *test_fixtures(void) {
  const char *f = getenv("SENSORY_FIXTURES");
  return f && *f ? f : "tests/fixtures";
}

/* Reads the file at path into a new NUL-terminated buffer (caller frees);
 * *len (may be NULL) receives its size. Fails the test if it cannot. */
static inline char *test_slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    fail_msg("cannot open fixture %s (set SENSORY_FIXTURES)", path);
  fseek(fp, 0, SEEK_END);
  long sz = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)sz + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)sz, fp), (size_t)sz);
  buf[sz] = '\0';
  fclose(fp);
  if (len)
    *len = (size_t)sz;
  return buf;
}

#endif
