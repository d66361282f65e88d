/* Micro-benchmark of schema_validate (jansson values) and schema_validate_node
 * (jsonf documents) on one JSON record per line. Not a ctest test;
 * tests/bench/schema_bench.sh builds it against libsensory_common.a and also
 * counts instructions per message under callgrind (one_validate and
 * one_validate_doc are the --toggle-collect targets, so parsing and set-up are
 * not counted).
 *
 *   schema_bench SCHEMA FILE [passes]   ns per validation, valid/invalid counts
 *   schema_bench SCHEMA FILE 1 cg       validate each record once (for callgrind)
 *   schema_bench SCHEMA FILE 1 cgdoc    the same, as documents
 *   schema_bench SCHEMA FILE 0 check    validate many mutations of each record and
 *                                       print every error message, so two builds
 *                                       of the validator can be diffed */
#include "json/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rec {
  json_t *doc;
  jsonf_doc_t *tape;
} rec_t;

static volatile size_t sink; /* keeps the compiler from dropping the work */

__attribute__((noinline)) int one_validate(const schema_t *s, const json_t *doc, char *err,
                                           size_t err_size) {
  return schema_validate(s, doc, err, err_size);
}

__attribute__((noinline)) int one_validate_doc(const schema_t *s, const jsonf_doc_t *doc, char *err,
                                               size_t err_size) {
  return schema_validate_node(s, jsonf_doc_root(doc), err, err_size);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void check_one(const schema_t *s, json_t *doc, const char *what, size_t line) {
  char err[512];
  if (one_validate(s, doc, err, sizeof err) == 0)
    printf("%zu %s: ok\n", line, what);
  else
    printf("%zu %s: %s\n", line, what, err);
}

/* Replacement values that hit every keyword of the contracts: types, lengths
 * around the bounds, pattern edge cases ("ABC\n" against ^...$), invalid UTF-8. */
static json_t *variant(int i) {
  static const char *const texts[] = {
      "null",
      "0",
      "-3",
      "1.5",
      "\"\"",
      "\"x\"",
      "\"ABC\"",
      "\"ABC\\n\"",
      "\"ab\"",
      "\"a\\u00e9\"",
      NULL /* invalid UTF-8, below */,
      NULL /* 65 */,
      NULL /* 129 */,
      NULL /* 600 */,
      "\"k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
      "\"k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF\"",
      "\"-x\"",
      "\"P-1.a:b_c\"",
      "\"en-US\"",
      "\"2026-11-01T23:13:00Z\"",
      "[\"a\",\"b\"]",
      "[\"a\",\"a\"]",
      "{\"a\":1}",
      "true",
      "\"\\u00e9\\u00e9\\u00e9\"",
      "\"ABCD\""};
  static char big[700];
  if (i < 0 || (size_t)i >= sizeof(texts) / sizeof(texts[0]))
    return NULL;
  memset(big, 'a', sizeof big - 1);
  switch (i) {
  case 10:
    return json_stringn_nocheck("A\xffz", 3);
  case 11:
    return json_stringn(big, 65);
  case 12:
    return json_stringn(big, 129);
  case 13:
    return json_stringn(big, 600);
  default:
    return json_loads(texts[i], JSON_DECODE_ANY, NULL);
  }
}

static void check_record(const schema_t *s, json_t *doc, size_t line) {
  const char *k;
  json_t *v, *c;
  char what[160];

  check_one(s, doc, "as-is", line);
  json_object_foreach(doc, k, v) {
    c = json_deep_copy(doc);
    json_object_del(c, k);
    snprintf(what, sizeof what, "del %s", k);
    check_one(s, c, what, line);
    json_decref(c);
    for (int i = 0;; i++) {
      json_t *r = variant(i);
      if (!r)
        break;
      c = json_deep_copy(doc);
      json_object_set_new(c, k, r);
      snprintf(what, sizeof what, "set %s #%d", k, i);
      check_one(s, c, what, line);
      json_decref(c);
    }
  }
  /* Two faults at once: which one is reported first is part of the contract. */
  c = json_object();
  json_object_set_new(c, "zz_first", json_integer(1));
  json_object_foreach(doc, k, v) json_object_set(c, k, v);
  check_one(s, c, "extra first", line);
  json_object_del(c, "timestamp");
  check_one(s, c, "extra first, no timestamp", line);
  json_object_set_new(c, "quantity", json_string("1"));
  check_one(s, c, "extra, no timestamp, bad quantity", line);
  json_decref(c);
  c = json_deep_copy(doc);
  json_object_set_new(c, "platform", json_string("nope"));
  json_object_set_new(c, "text", json_integer(1));
  json_object_set_new(c, "quantity", json_integer(0));
  json_object_set_new(c, "zzz", json_integer(0));
  check_one(s, c, "several bad", line);
  json_object_clear(c);
  check_one(s, c, "empty", line);
  json_decref(c);
  c = json_array();
  check_one(s, c, "array", line);
  json_decref(c);
}

int main(int argc, char **argv) {
  char err[512], line[1 << 16];
  rec_t *recs = NULL;
  size_t n = 0, cap = 0, bad = 0;
  int passes = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 5;
  FILE *f;
  schema_t *s;

  if (argc < 3) {
    fprintf(stderr, "usage: schema_bench SCHEMA FILE [passes [cg|check]]\n");
    return 2;
  }
  if (!(s = schema_load_file(argv[1], err, sizeof err))) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if (!(f = fopen(argv[2], "r"))) {
    perror(argv[2]);
    return 1;
  }
  while (fgets(line, sizeof line, f)) {
    json_t *d = json_loads(line, 0, NULL);
    if (!d)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      recs = realloc(recs, cap * sizeof(*recs));
      if (!recs)
        return 1;
    }
    recs[n].doc = d;
    if (!(recs[n].tape = jsonf_doc_new()) ||
        !jsonf_doc_parse(recs[n].tape, strdup(line), strlen(line), 64, NULL, 0))
      return 1; /* the copy of the line stays for the life of the run */
    n++;
  }
  fclose(f);
  if (argc > 4 && !strcmp(argv[4], "check")) {
    for (size_t i = 0; i < n; i++)
      check_record(s, recs[i].doc, i + 1);
  } else if (argc > 4 && !strcmp(argv[4], "cg")) {
    for (size_t i = 0; i < n; i++)
      sink += (size_t)one_validate(s, recs[i].doc, err, sizeof err);
  } else if (argc > 4 && !strcmp(argv[4], "cgdoc")) {
    for (size_t i = 0; i < n; i++)
      sink += (size_t)one_validate_doc(s, recs[i].tape, err, sizeof err);
  } else {
    for (int form = 0; form < 2; form++) {
      double best = 1e300;
      for (int p = 0; p < passes; p++) {
        double t0 = now(), t;
        bad = 0;
        for (size_t i = 0; i < n; i++)
          bad += (form ? one_validate_doc(s, recs[i].tape, err, sizeof err)
                       : one_validate(s, recs[i].doc, err, sizeof err)) != 0;
        t = (now() - t0) / (double)n;
        if (t < best)
          best = t;
      }
      printf("%-28s %7.1f ns/message %s (best of %d passes, %zu records, %zu invalid)\n", argv[1],
             best, form ? "document" : "jansson ", passes, n, bad);
    }
  }
  for (size_t i = 0; i < n; i++) {
    json_decref(recs[i].doc);
    jsonf_doc_destroy(recs[i].tape);
  }
  free(recs);
  schema_destroy(s);
  return 0;
}
