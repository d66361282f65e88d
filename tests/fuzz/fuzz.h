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

/* Digit groups of the longest digit run of a text, for the checks of scrubbed text (digits joined
 * by one separator or parenthesis), roughly as the scanner counts them. A run of more than 32
 * groups is judged in windows of 32 (pii_phone.c), whose edges depend on
 * where the run starts: a token's trailing digits joining the run shift
 * them, so the second-pass check holds only for shorter runs. */
static inline size_t fuzz_digit_len(const char *s, size_t n, size_t i) {
  if (s[i] >= '0' && s[i] <= '9')
    return 1;
  if (i + 2 < n && (unsigned char)s[i] == 0xE0 && (unsigned char)s[i + 1] == 0xA7 &&
      (unsigned char)s[i + 2] >= 0xA6 && (unsigned char)s[i + 2] <= 0xAF)
    return 3; /* Bengali digits U+09E6..U+09EF */
  return 0;
}

static inline size_t fuzz_longest_run(const char *s, size_t n) {
  size_t best = 0, groups = 0;
  for (size_t i = 0; i < n;) {
    size_t k = fuzz_digit_len(s, n, i);
    if (k) {
      groups++;
      while (i < n && (k = fuzz_digit_len(s, n, i)) != 0)
        i += k;
      if (groups > best)
        best = groups;
      if (i < n && s[i] != '\0' && strchr(" -.()+", s[i]))
        i++;
      else
        groups = 0;
    } else {
      if (s[i] == '\0' || !strchr("()+", s[i]))
        groups = 0;
      i++;
    }
  }
  return best;
}

#endif
