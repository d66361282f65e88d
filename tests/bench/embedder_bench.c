/* embedder_bench — the C side of tests/bench/embedder_bench.sh: loads a model
 * directory, decides the thread count as the embedder does (threads.h: the
 * same runtime environment, re-executing once, the same clamp), then measures
 * (tokenisation included, cache off)
 *   - latency of one short post (20-40 tokens), one at a time: p50, p95;
 *   - throughput of batches of 32 posts: sentences/s;
 *   - CPU burnt by idle threads in the 300 ms after the last batch (spinning);
 *   - steady arrivals: posts (8-128 tokens) arriving at a fixed rate, batched
 *     as the stage's Kafka loop batches (take what is there; else wait for
 *     one; then wait up to linger_ms for the batch to fill), each batch run
 *     through the stage's own message handling (stage_handle_batch: size,
 *     UTF-8 and JSON checks, the embedder's batch hook, vector records):
 *     per-post latency from its scheduled arrival to its record, p50/p95/p99;
 *   - peak RSS.
 * Texts come from a JSONL file of {"text": ...} lines. It also writes the
 * token ids it used so the PyTorch peer runs the same inputs. Prints one JSON
 * object on stdout.
 *
 * usage: embedder_bench MODEL_DIR CASES.jsonl THREADS IDS_OUT.json [RATES [POSTS]]
 *   THREADS  0: automatic, as the embedder decides; N: explicit (clamped)
 *   RATES    comma-separated arrival rates in posts/s ("" or absent: none)
 *   POSTS    posts per rate (default 600)
 * env: SCHEMAS_DIR (inputs validated as the stage does), BENCH_LINGER_MS (5),
 * BENCH_BATCH_MAX (32), the stage's defaults.
 */
#include <cblas.h>
#include <jansson.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedder.h"
#include "stage/stage_internal.h"
#include "threads.h"
#include "tokenizer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
  struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
    ;
}

#define HASH64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p) {
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

/* ---- steady arrivals ------------------------------------------------------ */

/* Post i arrives at t0 + i / rate: the arrival thread only counts them in. */
typedef struct arrivals {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t arrived, total;
  double t0, rate;
} arrivals_t;

static void *arrive(void *arg) {
  arrivals_t *a = arg;
  for (size_t i = 0; i < a->total; i++) {
    sleep_until(a->t0 + (double)i / a->rate);
    pthread_mutex_lock(&a->mu);
    a->arrived = i + 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
  }
  return NULL;
}

/* Waits (mu held) until more than `have` posts arrived or the deadline
 * (CLOCK_MONOTONIC: the condition variable's clock). */
static void wait_until(arrivals_t *a, size_t have, double deadline) {
  struct timespec ts = {(time_t)deadline, (long)((deadline - (double)(time_t)deadline) * 1e9)};
  while (a->arrived <= have && now() < deadline)
    pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

typedef struct steady {
  double rate, p50, p95, p99, mean_batch, achieved;
  size_t posts, max_batch;
} steady_t;

/* One rate: the stage's batching (stage_kafka.c's loop, Kafka replaced by
 * the arrival counter) over stage_handle_batch. Returns 0 or -1. */
static int run_steady(stage_runtime_t *rt, char **lines, size_t total, double rate, int linger_ms,
                      steady_t *out) {
  size_t want = stage_batch_size(rt), cap = want > 1000 ? want : 1000, warm = 20;
  double *lat = malloc(total * sizeof(double));
  stage_msg_t *msgs = calloc(want, sizeof(*msgs));
  size_t *lens = calloc(want, sizeof(*lens)), batches = 0, maxb = 0;
  stage_result_t *res = calloc(want, sizeof(*res));
  arrivals_t a = {.total = total, .rate = rate, .t0 = now() + 0.05};
  pthread_t th;
  if (!lat || !msgs || !lens || !res)
    return -1;
  pthread_mutex_init(&a.mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a.cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_create(&th, NULL, arrive, &a);
  size_t taken = 0;
  int rc = 0;
  while (taken < total && !rc) {
    pthread_mutex_lock(&a.mu);
    /* Take what is there at once; when nothing is, wait for one message. */
    if (a.arrived == taken)
      wait_until(&a, taken, now() + 0.1);
    size_t n = a.arrived - taken;
    /* A batch transform waits a little for a fuller batch. */
    if (n > 0 && n < want) {
      double deadline = now() + linger_ms / 1000.0;
      while (a.arrived - taken < want && now() < deadline)
        wait_until(&a, a.arrived, deadline);
      n = a.arrived - taken < want ? a.arrived - taken : want;
    }
    n = n < cap ? n : cap;
    pthread_mutex_unlock(&a.mu);
    for (size_t from = taken; from < taken + n && !rc; from += want) {
      size_t b = taken + n - from < want ? taken + n - from : want;
      for (size_t j = 0; j < b; j++) {
        msgs[j] = (stage_msg_t){.topic = "enriched.social",
                                .partition = 0,
                                .offset = (int64_t)(from + j),
                                .payload = lines[from + j],
                                .len = strlen(lines[from + j]),
                                .timestamp_ms = -1};
        lens[j] = msgs[j].len;
        stage_result_reset(&res[j]);
      }
      rc = stage_handle_batch(rt, msgs, lens, b, res);
      double done = now();
      for (size_t j = 0; j < b; j++) {
        if (res[j].status != STAGE_OK)
          rc = -1;
        lat[from + j] = done - (a.t0 + (double)(from + j) / rate);
        stage_result_free(&res[j]);
      }
      batches++;
      maxb = b > maxb ? b : maxb;
    }
    taken += n;
  }
  pthread_join(th, NULL);
  pthread_cond_destroy(&a.cv);
  pthread_mutex_destroy(&a.mu);
  double elapsed = now() - a.t0;
  size_t m = total - warm;
  qsort(lat + warm, m, sizeof(double), cmp_double);
  *out = (steady_t){.rate = rate,
                    .p50 = pct(lat + warm, m, 0.50) * 1e3,
                    .p95 = pct(lat + warm, m, 0.95) * 1e3,
                    .p99 = pct(lat + warm, m, 0.99) * 1e3,
                    .mean_batch = (double)total / (double)batches,
                    .achieved = (double)total / elapsed,
                    .posts = total,
                    .max_batch = maxb};
  free(lat);
  free(msgs);
  free(lens);
  free(res);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 7) {
    fprintf(stderr,
            "usage: embedder_bench MODEL_DIR CASES.jsonl THREADS IDS_OUT.json [RATES [POSTS]]\n");
    return 2;
  }
  /* As the embedder starts: limits, runtimes that do not spin (unless the
   * environment says otherwise), the same decision. */
  char err[1024], vpath[4200];
  threads_limits_t lim;
  threads_probe(NULL, &lim, err, sizeof(err));
  if (threads_runtime_env(argv, threads_decide(lim.cores, lim.quota_us, lim.period_us, 0).threads,
                          err, sizeof(err)) != 0)
    fprintf(stderr, "%s\n", err);
  threads_decision_t td =
      threads_decide(lim.cores, lim.quota_us, lim.period_us, strtol(argv[3], NULL, 10));
  openblas_set_num_threads(td.threads);
  omp_set_num_threads(td.threads);

  const char *schemas = getenv("SCHEMAS_DIR");
  embedder_options_t o = {.model_dir = argv[1], .model_id = "bench", .schemas_dir = schemas};
  embedder_t *e = embedder_new(&o, err, sizeof(err));
  snprintf(vpath, sizeof(vpath), "%s/vocab.txt", argv[1]);
  tokenizer_t *tok = e ? tokenizer_load(vpath, err, sizeof(err)) : NULL;
  if (!e || !tok) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  /* Short posts (20-40 tokens) for latency; every post of 8-128 tokens for
   * the batches and the steady arrivals (realistic social text lengths). */
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
  /* Idle threads that spin burn CPU (and a pod's CPU quota) after the work. */
  double c0 = cpu_now();
  sleep_until(now() + 0.3);
  double idle_cpu_ms = (cpu_now() - c0) * 1e3;

  /* Steady arrivals through the stage's message handling. */
  const char *lg = getenv("BENCH_LINGER_MS"), *bm = getenv("BENCH_BATCH_MAX");
  int linger = lg ? (int)strtol(lg, NULL, 10) : 5;
  stage_config_t scfg = {.max_message_bytes = 1048576};
  stage_options_t sopts = {.service = "embedder",
                           .transform_batch = embedder_transform_batch,
                           .batch_max = bm ? (size_t)strtol(bm, NULL, 10) : 32,
                           .batch_linger_ms = linger,
                           .ctx = e};
  stage_runtime_t rt = {.cfg = &scfg, .opts = &sopts};
  size_t total = argc > 6 ? (size_t)strtol(argv[6], NULL, 10) : 600;
  total = total < 100 ? 100 : total;
  char **docs = calloc(total, sizeof(*docs));
  for (size_t i = 0; i < total; i++) { /* what enricher writes to enriched.social */
    char pid[32];
    snprintf(pid, sizeof(pid), "post_%zu", i);
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[],s:s}", "platform", "facebook", "post_id",
                          pid, "author_hash", "k1:" HASH64, "content", "some content",
                          "engagement_count", (int)i, "timestamp", "2026-11-21T10:00:00Z",
                          "products", "enriched_text", posts[i % nposts]);
    docs[i] = json_dumps(d, JSON_COMPACT);
    json_decref(d);
  }
  json_t *steady = json_array();
  const char *rates = argc > 5 ? argv[5] : "";
  for (const char *r = rates; *r;) {
    char *end;
    double rate = strtod(r, &end);
    if (end == r)
      break;
    steady_t s;
    if (rate > 0 && run_steady(&rt, docs, total, rate, linger, &s) != 0) {
      fprintf(stderr, "steady run at %g posts/s failed\n", rate);
      return 1;
    }
    if (rate > 0)
      json_array_append_new(steady,
                            json_pack("{s:f,s:I,s:f,s:f,s:f,s:f,s:I,s:f}", "rate", s.rate, "posts",
                                      (json_int_t)s.posts, "p50_ms", s.p50, "p95_ms", s.p95,
                                      "p99_ms", s.p99, "mean_batch", s.mean_batch, "max_batch",
                                      (json_int_t)s.max_batch, "achieved_per_s", s.achieved));
    r = *end == ',' ? end + 1 : end;
  }
  stage_runtime_free(&rt);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
  const char *timeout = getenv("OPENBLAS_THREAD_TIMEOUT");
  json_t *res = json_pack(
      "{s:s,s:i,s:i,s:o,s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:o}", "impl", "C", "threads",
      td.threads, "cores", lim.cores, "cpu_quota",
      lim.quota_us > 0 ? json_real((double)lim.quota_us / (double)lim.period_us) : json_null(),
      "omp_wait_policy", wait ? wait : "", "gomp_spincount", spin ? spin : "",
      "openblas_thread_timeout", timeout ? timeout : "", "p50_ms", pct(lat, SINGLE, 0.5) * 1e3,
      "p95_ms", pct(lat, SINGLE, 0.95) * 1e3, "batch32_per_s", batches * 32 / elapsed,
      "idle_cpu_ms", idle_cpu_ms, "peak_rss_mb", ru.ru_maxrss / 1024.0, "short_posts",
      (json_int_t)nshort, "batch_posts", (json_int_t)nposts, "steady", steady);
  char *s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(6));
  printf("%s\n", s);
  free(s);
  json_decref(res);
  for (size_t i = 0; i < total; i++)
    free(docs[i]);
  free(docs);
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
