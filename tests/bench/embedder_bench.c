/* embedder_bench — the C side of tests/bench/embedder_bench.sh: loads a model
 * directory, then measures (tokenisation included, cache off)
 *   - latency of one short post (20-40 tokens), one at a time: p50, p95;
 *   - throughput of batches of 32 posts: sentences/s;
 *   - peak RSS.
 * Texts come from a JSONL file of {"text": ...} lines. It also writes the
 * token ids it used (--ids-out) so the PyTorch peer runs the same inputs.
 * Prints one JSON object on stdout.
 *
 * usage: embedder_bench MODEL_DIR CASES.jsonl THREADS IDS_OUT.json
 */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedder.h"
#include "tokenizer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: embedder_bench MODEL_DIR CASES.jsonl THREADS IDS_OUT.json\n");
    return 2;
  }
  long threads = strtol(argv[3], NULL, 10);
  openblas_set_num_threads(threads > 0 ? (int)threads : 1);
  char err[1024], vpath[4200];
  embedder_options_t o = {.model_dir = argv[1], .model_id = "bench"};
  embedder_t *e = embedder_new(&o, err, sizeof(err));
  snprintf(vpath, sizeof(vpath), "%s/vocab.txt", argv[1]);
  tokenizer_t *tok = tokenizer_load(vpath, err, sizeof(err));
  if (!e || !tok) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  /* Short posts (20-40 tokens) for latency; every post of 8-128 tokens for
   * the batches (realistic social text lengths). */
  FILE *fp = fopen(argv[2], "r");
  if (!fp)
    return 2;
  char *line = NULL, **shorts = NULL, **posts = NULL;
  size_t cap = 0, nshort = 0, nposts = 0;
  json_t *ids_short = json_array(), *ids_posts = json_array();
  int32_t ids[512];
  while (getline(&line, &cap, fp) > 0) {
    json_t *rec = json_loads(line, JSON_ALLOW_NUL, NULL);
    const char *t = json_string_value(json_object_get(rec, "text"));
    int n = t ? tokenizer_encode(tok, t, strlen(t), ids, 256, NULL) : 0;
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
      json_array_append_new(arr, json_integer(ids[i]));
    if (n >= 20 && n <= 40) {
      shorts = realloc(shorts, (nshort + 1) * sizeof(*shorts));
      shorts[nshort++] = strdup(t);
      json_array_append(ids_short, arr);
    }
    if (n >= 8 && n <= 128) {
      posts = realloc(posts, (nposts + 1) * sizeof(*posts));
      posts[nposts++] = strdup(t);
      json_array_append(ids_posts, arr);
    }
    json_decref(arr);
    json_decref(rec);
  }
  fclose(fp);
  free(line);
  json_t *dump = json_pack("{s:o,s:o}", "short", ids_short, "posts", ids_posts);
  json_dump_file(dump, argv[4], JSON_COMPACT);
  json_decref(dump);

  int dim = embedder_dim(e);
  float *out = malloc(32 * (size_t)dim * sizeof(float));
  enum { SINGLE = 300, WARM = 20 };
  double lat[SINGLE];
  for (int i = 0; i < WARM + SINGLE; i++) {
    const char *t = shorts[i % nshort];
    double t0 = now();
    if (embedder_embed_batch(e, &t, NULL, 1, out, NULL, err, sizeof(err)) != 0)
      return 1;
    if (i >= WARM)
      lat[i - WARM] = now() - t0;
  }
  qsort(lat, SINGLE, sizeof(double), cmp_double);
  /* Batches of 32 consecutive posts, cycling through the set. */
  int batches = 0;
  size_t at = 0;
  double t0 = now(), elapsed = 0;
  while (batches < 10 || elapsed < 5.0) {
    const char *b[32];
    for (int k = 0; k < 32; k++)
      b[k] = posts[at++ % nposts];
    if (embedder_embed_batch(e, b, NULL, 32, out, NULL, err, sizeof(err)) != 0)
      return 1;
    batches++;
    elapsed = now() - t0;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"impl\":\"C\",\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"batch32_per_s\":%.1f,"
         "\"peak_rss_mb\":%.1f,\"short_posts\":%zu,\"batch_posts\":%zu}\n",
         lat[SINGLE / 2] * 1e3, lat[SINGLE * 95 / 100] * 1e3, batches * 32 / elapsed,
         ru.ru_maxrss / 1024.0, nshort, nposts);
  for (size_t i = 0; i < nshort; i++)
    free(shorts[i]);
  for (size_t i = 0; i < nposts; i++)
    free(posts[i]);
  free(shorts);
  free(posts);
  free(out);
  tokenizer_destroy(tok);
  embedder_destroy(e);
  return 0;
}
