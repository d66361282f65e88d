/* ranking: exact cosine, bounded top-k and Weaviate's two fusions — the
 * arithmetic of post-search, kept free of I/O so tests can check it. */
#include "ranking.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a before b: higher score, then lower id. */
static int better(const rank_cand_t *a, const rank_cand_t *b) {
  if (a->score != b->score)
    return a->score > b->score;
  return memcmp(a->id, b->id, 16) < 0;
}

int rank_top_init(rank_top_t *t, size_t k) {
  t->n = 0;
  t->k = k ? k : 1;
  t->heap = malloc(t->k * sizeof(*t->heap));
  return t->heap ? 0 : -1;
}

void rank_top_free(rank_top_t *t) {
  free(t->heap);
  memset(t, 0, sizeof(*t));
}

static void swap(rank_cand_t *a, rank_cand_t *b) {
  rank_cand_t x = *a;
  *a = *b;
  *b = x;
}

/* The heap's root is the worst kept candidate. */
static void sift_down(rank_cand_t *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && better(&h[w], &h[l]))
      w = l;
    if (r < n && better(&h[w], &h[r]))
      w = r;
    if (w == i)
      return;
    swap(&h[i], &h[w]);
    i = w;
  }
}

void rank_top_push(rank_top_t *t, const uint8_t id[16], double score) {
  rank_cand_t c;
  memcpy(c.id, id, 16);
  c.score = score;
  if (t->n < t->k) {
    size_t i = t->n++;
    t->heap[i] = c;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!better(&t->heap[p], &t->heap[i]))
        break;
      swap(&t->heap[p], &t->heap[i]);
      i = p;
    }
    return;
  }
  if (!better(&c, &t->heap[0]))
    return;
  t->heap[0] = c;
  sift_down(t->heap, t->n, 0);
}

static int cmp_cand(const void *a, const void *b) {
  const rank_cand_t *x = a, *y = b;
  return better(x, y) ? -1 : better(y, x) ? 1 : 0;
}

size_t rank_top_sorted(rank_top_t *t) {
  qsort(t->heap, t->n, sizeof(*t->heap), cmp_cand);
  return t->n;
}

double rank_cosine(const float *a, const float *b, size_t dim) {
  /* Four partial sums per quantity: the additions of one chain wait for
   * each other, four chains keep the FPU busy (a scan does 100,000 of these). */
  double dot[4] = {0}, na[4] = {0}, nb[4] = {0};
  size_t i = 0;
  for (; i + 4 <= dim; i += 4)
    for (int k = 0; k < 4; k++) {
      dot[k] += (double)a[i + k] * b[i + k];
      na[k] += (double)a[i + k] * a[i + k];
      nb[k] += (double)b[i + k] * b[i + k];
    }
  for (; i < dim; i++) {
    dot[0] += (double)a[i] * b[i];
    na[0] += (double)a[i] * a[i];
    nb[0] += (double)b[i] * b[i];
  }
  double d = (dot[0] + dot[1]) + (dot[2] + dot[3]);
  double x = (na[0] + na[1]) + (na[2] + na[3]), y = (nb[0] + nb[1]) + (nb[2] + nb[3]);
  return x > 0 && y > 0 ? d / (sqrt(x) * sqrt(y)) : 0.0;
}

static int cmp_hit(const void *a, const void *b, void *arg) {
  const rank_hit_t *x = a, *y = b;
  const uint8_t *pinned = arg;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (pinned) {
    int px = memcmp(x->id, pinned, 16) == 0, py = memcmp(y->id, pinned, 16) == 0;
    if (px != py)
      return px ? -1 : 1;
  }
  double vx = x->in_vector ? x->vector_score : -INFINITY;
  double vy = y->in_vector ? y->vector_score : -INFINITY;
  if (vx != vy)
    return vx > vy ? -1 : 1;
  return memcmp(x->id, y->id, 16);
}

/* Adds one leg's contributions to out[0..*n), merging by id. */
static void add_leg(const rank_cand_t *leg, size_t nl, double weight, int fusion, int is_vector,
                    rank_hit_t *out, size_t *n) {
  if (!nl)
    return;
  double hi = leg[0].score, lo = leg[0].score;
  for (size_t i = 1; i < nl; i++) {
    hi = leg[i].score > hi ? leg[i].score : hi;
    lo = leg[i].score < lo ? leg[i].score : lo;
  }
  for (size_t i = 0; i < nl; i++) {
    double add;
    if (fusion == RANK_RANKED)
      add = weight / (double)(i + 60);
    else
      add = hi == lo ? weight : weight * (leg[i].score - lo) / (hi - lo);
    size_t j = 0;
    while (j < *n && memcmp(out[j].id, leg[i].id, 16) != 0)
      j++;
    if (j == *n) {
      memset(&out[j], 0, sizeof(out[j]));
      memcpy(out[j].id, leg[i].id, 16);
      (*n)++;
    }
    out[j].score += add;
    if (is_vector) {
      out[j].in_vector = 1;
      out[j].vector_score = leg[i].score;
    } else {
      out[j].in_keyword = 1;
      out[j].keyword_score = leg[i].score;
    }
  }
}

size_t rank_fuse(const rank_cand_t *vec, size_t nv, const rank_cand_t *kw, size_t nk, double alpha,
                 int fusion, const uint8_t *pin, rank_hit_t *out) {
  size_t n = 0;
  /* Legs are at most a few hundred candidates: a linear merge is enough. */
  add_leg(kw, nk, 1.0 - alpha, fusion, 0, out, &n);
  add_leg(vec, nv, alpha, fusion, 1, out, &n);
  qsort_r(out, n, sizeof(*out), cmp_hit, (void *)pin);
  return n;
}
