/* Micro-benchmark: jansson (json_loadb / json_dumps JSON_COMPACT) against jsonf
 * (jsonf_parse / jsonf_dump into and from jansson, and jsonf_doc_parse /
 * jsonf_dump_node into and from a reused jsonf document) on one JSON record per
 * line. Not a ctest test; build
 * and run it with tests/bench/jsonf_bench.sh, which also counts instructions per
 * message under callgrind (the one_* functions are the --toggle-collect targets).
 *
 *   jsonf_bench FILE [passes]         ns per message for the four operations
 *   jsonf_bench FILE 1 OP             run OP (jansson-parse, jsonf-parse,
 *                                     jansson-dump, jsonf-dump, doc-parse,
 *                                     doc-dump) once per record */
#include "json/jsonf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rec {
  char *buf;
  size_t len;
  json_t *doc;
  jsonf_doc_t *tape; /* for doc-dump */
} rec_t;

static volatile size_t sink; /* keeps the compiler from dropping the work */

__attribute__((noinline)) void one_jansson_parse(const rec_t *r) {
  json_t *v = json_loadb(r->buf, r->len, JSON_REJECT_DUPLICATES, NULL);
  sink += v != NULL;
  json_decref(v);
}

__attribute__((noinline)) void one_jsonf_parse(const rec_t *r) {
  char err[128];
  json_t *v = jsonf_parse(r->buf, r->len, 128, err, sizeof err);
  sink += v != NULL;
  json_decref(v);
}

__attribute__((noinline)) void one_jansson_dump(const rec_t *r) {
  char *s = json_dumps(r->doc, JSON_COMPACT);
  sink += s ? strlen(s) : 0;
  free(s);
}

/* A reused buffer, as a stage would keep one per worker. */
static jsonf_buf_t out;
__attribute__((noinline)) void one_jsonf_dump(const rec_t *r) {
  out.len = 0;
  sink += jsonf_dump(r->doc, &out) == 0 ? out.len : 0;
}

/* A reused document, as a stage keeps one. */
static jsonf_doc_t *scratch;
__attribute__((noinline)) void one_doc_parse(const rec_t *r) {
  char err[128];
  sink += jsonf_doc_parse(scratch, r->buf, r->len, 128, err, sizeof err) != NULL;
}

__attribute__((noinline)) void one_doc_dump(const rec_t *r) {
  out.len = 0;
  sink += jsonf_dump_node(jsonf_doc_root(r->tape), &out) == 0 ? out.len : 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: jsonf_bench FILE [passes [OP]]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  size_t n = 0, cap = 0, bytes = 0;
  rec_t *recs = NULL;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t got;
  while ((got = getline(&line, &lcap, f)) > 0) {
    if (line[got - 1] == '\n')
      got--;
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      recs = realloc(recs, cap * sizeof *recs);
      if (!recs)
        return 1;
    }
    recs[n].buf = malloc((size_t)got);
    memcpy(recs[n].buf, line, (size_t)got);
    recs[n].len = (size_t)got;
    recs[n].doc = json_loadb(line, (size_t)got, 0, NULL);
    if (!recs[n].doc) {
      free(recs[n].buf);
      continue; /* poison records are not what we measure */
    }
    recs[n].tape = jsonf_doc_new();
    if (!recs[n].tape || !jsonf_doc_parse(recs[n].tape, recs[n].buf, recs[n].len, 128, NULL, 0))
      return 1;
    bytes += (size_t)got;
    n++;
  }
  free(line);
  fclose(f);
  if (!(scratch = jsonf_doc_new()))
    return 1;
  int passes = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
  static const struct {
    const char *name;
    void (*fn)(const rec_t *);
  } ops[] = {{"jansson-parse", one_jansson_parse}, {"jsonf-parse", one_jsonf_parse},
             {"jansson-dump", one_jansson_dump},   {"jsonf-dump", one_jsonf_dump},
             {"doc-parse", one_doc_parse},         {"doc-dump", one_doc_dump}};
  printf("%zu records, %.0f bytes average\n", n, n ? (double)bytes / (double)n : 0.0);
  for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
    if (argc > 3 && strcmp(argv[3], ops[o].name) != 0)
      continue;
    double best = 1e300;
    for (int p = 0; p < passes; p++) {
      double t0 = now();
      for (size_t i = 0; i < n; i++)
        ops[o].fn(&recs[i]);
      double t = (now() - t0) / (double)n;
      if (t < best)
        best = t;
    }
    printf("%-14s %8.0f ns/message (best of %d passes)\n", ops[o].name, best, passes);
  }
  for (size_t i = 0; i < n; i++) {
    free(recs[i].buf);
    json_decref(recs[i].doc);
    jsonf_doc_destroy(recs[i].tape);
  }
  jsonf_doc_destroy(scratch);
  free(recs);
  jsonf_buf_free(&out);
  return 0;
}
