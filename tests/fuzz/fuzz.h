/* fuzz — what the libFuzzer targets of tests/fuzz share: a check that
 * aborts with a message (libFuzzer then keeps the input as a crash), where
 * the source tree is, searching bytes, and a file holding an input for the
 * parsers that take a path. Header-only (static): each target is one
 * translation unit, built either with libFuzzer (clang, SENSORY_FUZZ) or with
 * replay_main.c (any compiler; the regression tests of the normal suite). */
#ifndef SENSORY_FUZZ_H
#define SENSORY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the parser under test: when it does not hold, say which
 * and abort, so libFuzzer saves the input and the replay test fails. */
#define FUZZ_CHECK(cond, what)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz: %s:%d: invariant failed: %s (%s)\n", __FILE__, __LINE__, what,        \
              #cond);                                                                              \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* The source tree: $SENSORY_SOURCE_DIR (ctest sets it), else the one this
 * binary was built from. */
static inline const char *fuzz_source_dir(void) {
  const char *s = getenv("SENSORY_SOURCE_DIR");
  return s && *s ? s : FUZZ_SOURCE_DIR;
}

/* path = the source tree + "/" + rel. */
static inline void fuzz_path(char *out, size_t out_size, const char *rel) {
  snprintf(out, out_size, "%s/%s", fuzz_source_dir(), rel);
}

/* 1 when needle[0..nlen) occurs in hay[0..hlen). An empty needle never does
 * (callers ask whether a value leaked, and "" is in everything). */
static inline int fuzz_contains(const void *hay, size_t hlen, const void *needle, size_t nlen) {
  return nlen > 0 && hlen >= nlen && memmem(hay, hlen, needle, nlen) != NULL;
}

/* A file whose content is data[0..size), for parsers that read a path: an
 * anonymous memory file (nothing on disk), reached as /proc/self/fd/N, which
 * path receives. Returns the descriptor (close it when done), -1 on failure. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t path_size) {
  int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t off = 0;
  while (off < size) {
    ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)n;
  }
  snprintf(path, path_size, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
