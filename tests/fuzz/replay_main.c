/* replay_main — runs a fuzz target over files without libFuzzer, so its
 * invariants are checked on the seed corpus and on every input a fuzzer
 * once crashed on (tests/fuzz/regressions/<target>/) by the normal test
 * suite, with whatever compiler and sanitizers that build uses.
 *
 *   fuzz_replay_json FILE_OR_DIR...   (directories: every file inside, recursively)
 *
 * Exits 0 when every input ran (the target aborts on a failed invariant), 1
 * when an argument cannot be read or no input was found at all. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Optional in a target, as in libFuzzer. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static size_t replayed;

static int run_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, fp)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int bad = ferror(fp) || !buf;
  fclose(fp);
  if (bad) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    free(buf);
    return -1;
  }
  /* An exact-size copy, so ASan sees a read past the input's end as libFuzzer's does. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  replayed++;
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return run_file(path);
  DIR *dir = opendir(path);
  if (!dir) {
    fprintf(stderr, "replay: cannot list %s: %s\n", path, strerror(errno));
    return -1;
  }
  /* Sorted, so a failure is reproduced in the same order. */
  char **names = NULL;
  size_t count = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof(*names));
      if (!nn) {
        rc = -1;
        break;
      }
      names = nn;
    }
    size_t need = strlen(path) + strlen(e->d_name) + 2;
    if (!(names[count] = malloc(need))) {
      rc = -1;
      break;
    }
    snprintf(names[count++], need, "%s/%s", path, e->d_name);
  }
  closedir(dir);
  if (count)
    qsort(names, count, sizeof(*names), compare_names);
  for (size_t i = 0; i < count; i++) {
    if (rc == 0 && run_path(names[i]) != 0)
      rc = -1;
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i]) != 0)
      return 1;
  if (!replayed) {
    fprintf(stderr, "replay: no input found\n");
    return 1;
  }
  printf("replay: %zu inputs, every invariant held\n", replayed);
  return 0;
}
