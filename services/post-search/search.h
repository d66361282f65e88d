/* search — post-search's two backends behind one call: the query (text,
 * vector, alpha, fusion, filters), the rows it returns, and how they are
 * printed. postgres: exact cosine over every stored vector in C, fused with
 * PostgreSQL's full-text rank (ranking.h); weaviate: the GraphQL
 * Get { SocialPost(hybrid: {...}, where: {...}) } query.
 */
#ifndef SENSORY_SEARCH_H
#define SENSORY_SEARCH_H

#include <stdint.h>
#include <stdio.h>

#include "ranking.h"
#include "store/pg.h"
#include "store/weaviate.h"

typedef struct ps_query {
  const char *text;    /* the keyword query ("" for none) */
  const float *vector; /* the query vector, or NULL (alpha 0) */
  size_t dim;
  double alpha;         /* 1: vector only, 0: keyword only */
  int fusion;           /* RANK_RELATIVE or RANK_RANKED */
  size_t limit, pool;   /* results; candidates per leg */
  const char *platform; /* NULL: every platform */
  const char *since;    /* RFC 3339 lower bound of the event time, or NULL */
  const uint8_t *pin;   /* --like: the post itself wins ties (NULL: none) */
} ps_query_t;

typedef struct ps_row {
  double score;
  int has_parts; /* vector_score / keyword_score are known (postgres) */
  int in_vector, in_keyword;
  double vector_score, keyword_score;
  char id[37];
  char *post_id, *platform, *timestamp, *content;
  int64_t engagement;
  char *hashtags, *product_ids; /* JSON arrays as text */
} ps_row_t;

void ps_rows_free(ps_row_t *rows, size_t n);

/* The stored vector and content of post_id (for --like). Returns 1 when
 * found (*vec, *content owned by the caller), 0 when not, -1 on error. */
int ps_pg_like(pg_t *pg, const char *post_id, float **vec, size_t *dim, char **content,
               char *errstr, size_t errstr_size);
int ps_wv_like(weaviate_t *w, const char *post_id, float **vec, size_t *dim, char **content,
               char *errstr, size_t errstr_size);

/* Runs q; *rows (caller frees with ps_rows_free) best first. 0 or -1.
 * kw_pg (may be NULL): a second connection on which the keyword leg runs
 * while the vector leg streams on pg. */
int ps_pg_search(pg_t *pg, pg_t *kw_pg, const ps_query_t *q, ps_row_t **rows, size_t *n,
                 char *errstr, size_t errstr_size);
int ps_wv_search(weaviate_t *w, const ps_query_t *q, ps_row_t **rows, size_t *n, char *errstr,
                 size_t errstr_size);

/* The GraphQL query of q for class (caller frees); NULL on allocation
 * failure. */
char *ps_wv_graphql(const char *class_name, const ps_query_t *q);

/* Reads a GraphQL answer into rows. 0, or -1 with errstr (the errors the
 * answer carries, or why it is not one). */
int ps_wv_parse(const char *body, size_t len, const char *class_name, ps_row_t **rows, size_t *n,
                char *errstr, size_t errstr_size);

/* Prints rows as the table (rank, score, platform, date, post id, the first
 * 80 characters of content) or as JSON lines. */
void ps_print_table(FILE *out, const ps_row_t *rows, size_t n);
void ps_print_json(FILE *out, const ps_row_t *rows, size_t n);

#endif
