/* ranking — how post-search orders posts, the way Weaviate's hybrid search
 * does: a vector leg (cosine similarity, exact, over every stored post) and
 * a keyword leg (full-text rank), each cut to its best `pool` candidates
 * (Weaviate's QUERY_HYBRID_MAXIMUM_RESULTS, 100), then fused:
 *
 *  - relativeScoreFusion (Weaviate's default since 1.24): each leg's scores
 *    are min-max normalised to [0, 1] (all equal: 1), multiplied by the
 *    leg's weight — alpha for the vector leg, 1 - alpha for the keyword leg
 *    — and summed per post;
 *  - rankedFusion: each leg adds weight / (60 + rank), rank from 0.
 *
 * alpha 1 is pure vector search, alpha 0 pure keyword search (the other leg
 * is not run). Ties: the higher cosine similarity first, then the lower id
 * (a pinned id — the post of --like — before any post it ties with).
 * Pure: no I/O.
 */
#ifndef SENSORY_RANKING_H
#define SENSORY_RANKING_H

#include <stddef.h>
#include <stdint.h>

enum { RANK_RELATIVE = 0, RANK_RANKED = 1 };

/* One candidate of a leg: a post (its 16-byte uuid) and its raw score. */
typedef struct rank_cand {
  uint8_t id[16];
  double score;
} rank_cand_t;

/* Keeps the best k candidates of a stream (higher score first, then lower
 * id): a bounded min-heap, so a scan of 100,000 posts holds only k. */
typedef struct rank_top {
  rank_cand_t *heap;
  size_t n, k;
} rank_top_t;

/* Returns 0, or -1 on allocation failure. */
int rank_top_init(rank_top_t *t, size_t k);
void rank_top_push(rank_top_t *t, const uint8_t id[16], double score);
/* Sorts the kept candidates best first (in place); returns their number. */
size_t rank_top_sorted(rank_top_t *t);
void rank_top_free(rank_top_t *t);

/* Cosine similarity of a and b (dim floats), accumulated in double; 0 when
 * either is all zeros. */
double rank_cosine(const float *a, const float *b, size_t dim);

/* A fused result. */
typedef struct rank_hit {
  uint8_t id[16];
  double score;         /* the fused score */
  double vector_score;  /* cosine similarity (when in_vector) */
  double keyword_score; /* full-text rank (when in_keyword) */
  int in_vector, in_keyword;
} rank_hit_t;

/* Fuses the two legs (each sorted best first, as rank_top_sorted leaves
 * them; either may be empty) into out (room for nv + nk), best first, and
 * returns how many. pin (may be NULL) wins ties. */
size_t rank_fuse(const rank_cand_t *vec, size_t nv, const rank_cand_t *kw, size_t nk, double alpha,
                 int fusion, const uint8_t *pin, rank_hit_t *out);

#endif
