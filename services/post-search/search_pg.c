/* search_pg: post-search over social_posts — every stored vector streamed
 * through a binary cursor and scored in C (exact cosine), the keyword leg
 * by PostgreSQL's ts_rank, fused as Weaviate fuses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/uuid.h"
#include "search.h"

/* The id of every post: UUIDv5 of its post id (as the embedder writes). */
static const uint8_t post_ns[16] = {0x51, 0xcb, 0x6f, 0xfd, 0x13, 0x12, 0x5f, 0x7b,
                                    0x8e, 0xa3, 0xb4, 0x24, 0x2f, 0xe1, 0xbf, 0xe7};

static const char filters[] =
    "($1::text IS NULL OR platform = $1) AND ($2::timestamptz IS NULL OR event_time >= $2)";

/* vector_f32 holds little-endian float32s. */
static void floats_le(const unsigned char *p, size_t dim, float *out) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(out, p, dim * sizeof(float));
  return;
#endif
  for (size_t i = 0; i < dim; i++) {
    uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                 (uint32_t)p[4 * i + 3] << 24;
    memcpy(&out[i], &u, 4);
  }
}

static int fail_res(pg_t *pg, PGresult *res, ExecStatusType want, char *errstr,
                    size_t errstr_size) {
  char state[6];
  pg_class_t c = pg_check(pg, res, want, state, errstr, errstr_size);
  PQclear(res);
  if (c == PG_OK)
    return 0;
  if (strcmp(state, "42P01") == 0)
    snprintf(errstr, errstr_size,
             "there is no social_posts table in this database (weaviate-sink creates it)");
  return -1;
}

int ps_pg_like(pg_t *pg, const char *post_id, float **vec, size_t *dim, char **content,
               char *errstr, size_t errstr_size) {
  char id[UUID_STR_LEN];
  uuid_v5(post_ns, post_id, strlen(post_id), id);
  const char *vals[1] = {id};
  PGresult *res =
      PQexecParams(pg_conn(pg), "SELECT vector_f32, content FROM social_posts WHERE id = $1::uuid",
                   1, NULL, vals, NULL, NULL, 1);
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    return fail_res(pg, res, PGRES_TUPLES_OK, errstr, errstr_size);
  if (PQntuples(res) == 0) {
    PQclear(res);
    return 0;
  }
  size_t len = (size_t)PQgetlength(res, 0, 0);
  *dim = len / 4;
  *vec = malloc(len ? len : 4);
  *content = strndup(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
  if (!*vec || !*content) {
    PQclear(res);
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  floats_le((const unsigned char *)PQgetvalue(res, 0, 0), *dim, *vec);
  PQclear(res);
  return 1;
}

/* Reads a big-endian integer of n bytes. */
static uint32_t be(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* One tuple of the binary COPY stream (after the header): id (16 bytes) and
 * vector_f32. Returns the bytes used, 0 for the trailer, -1 when malformed. */
static long copy_tuple(const unsigned char *p, size_t len, const ps_query_t *q, float *v,
                       rank_top_t *top) {
  if (len < 2)
    return -1;
  int16_t nf = (int16_t)be(p, 2);
  if (nf == -1)
    return 0;
  if (nf != 2 || len < 2 + 4 + 16 + 4)
    return -1;
  int32_t l1 = (int32_t)be(p + 2, 4);
  int32_t l2 = (int32_t)be(p + 2 + 4 + 16, 4);
  size_t need = 2 + 4 + 16 + 4 + (size_t)(l2 > 0 ? l2 : 0);
  if (l1 != 16 || len < need)
    return -1;
  if ((size_t)l2 == 4 * q->dim) { /* else a vector of another model: not comparable */
    floats_le(p + 2 + 4 + 16 + 4, q->dim, v);
    rank_top_push(top, p + 2 + 4, rank_cosine(q->vector, v, q->dim));
  }
  return (long)need;
}

/* The vector leg: every matching post's cosine, best `pool` kept. The rows
 * come as one binary COPY stream (big messages, no result sets to build);
 * COPY takes no parameters, so the two filters are quoted literals. */
static int vector_leg(pg_t *pg, const ps_query_t *q, rank_top_t *top, char *errstr,
                      size_t errstr_size) {
  PGconn *c = pg_conn(pg);
  char *plat = q->platform ? PQescapeLiteral(c, q->platform, strlen(q->platform)) : NULL;
  char *since = q->since ? PQescapeLiteral(c, q->since, strlen(q->since)) : NULL;
  char sql[768];
  snprintf(sql, sizeof(sql),
           "COPY (SELECT id, vector_f32 FROM social_posts WHERE %s%s%s%s%s) TO STDOUT WITH "
           "(FORMAT binary)",
           plat ? "platform = " : "true", plat ? plat : "", since ? " AND event_time >= " : "",
           since ? since : "", since ? "::timestamptz" : "");
  PQfreemem(plat);
  PQfreemem(since);
  if (fail_res(pg, PQexec(c, sql), PGRES_COPY_OUT, errstr, errstr_size))
    return -1;
  float *v = malloc(q->dim * sizeof(float));
  if (!v) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  int rc = 0, header = 1;
  char *buf;
  int n;
  while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
    const unsigned char *p = (const unsigned char *)buf;
    size_t len = (size_t)n;
    if (header) { /* "PGCOPY\n\377\r\n\0", flags, extension length, extension */
      if (len < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0 || be(p + 15, 4) > len - 19) {
        rc = -1;
      } else {
        size_t skip = 19 + be(p + 15, 4);
        p += skip;
        len -= skip;
      }
      header = 0;
    }
    while (rc == 0 && len > 0) { /* libpq hands over whole CopyData messages */
      long used = copy_tuple(p, len, q, v, top);
      if (used < 0)
        rc = -1;
      else if (used == 0)
        break;
      else {
        p += used;
        len -= (size_t)used;
      }
    }
    PQfreemem(buf);
  }
  free(v);
  PGresult *res;
  while ((res = PQgetResult(c)) != NULL) { /* the COPY's own end */
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
      rc = fail_res(pg, res, PGRES_COMMAND_OK, errstr, errstr_size);
      continue;
    }
    PQclear(res);
  }
  if (rc != 0 && !errstr[0])
    snprintf(errstr, errstr_size, "the vectors did not come as binary COPY rows of (uuid, bytea)");
  return rc;
}

/* The keyword leg: posts matching any word of the query, by ts_rank. Sent
 * without waiting (keyword_take() reads it), so that on its own connection
 * PostgreSQL ranks while the vector leg streams on the other. */
static int keyword_send(pg_t *pg, const ps_query_t *q, const char *const *fv, char *errstr,
                        size_t errstr_size) {
  char sql[768], pool[32];
  snprintf(pool, sizeof(pool), "%zu", q->pool);
  snprintf(sql, sizeof(sql),
           "SELECT id, ts_rank(tsv, s.q)::float8 FROM social_posts, (SELECT "
           "replace(plainto_tsquery('simple', $3)::text, '&', '|')::tsquery AS q) s "
           "WHERE tsv @@ s.q AND %s ORDER BY 2 DESC, 1 LIMIT $4",
           filters);
  const char *vals[4] = {fv[0], fv[1], q->text, pool};
  if (PQsendQueryParams(pg_conn(pg), sql, 4, NULL, vals, NULL, NULL, 1) != 1) {
    char state[6];
    pg_check(pg, NULL, PGRES_TUPLES_OK, state, errstr, errstr_size);
    return -1;
  }
  return 0;
}

static int keyword_take(pg_t *pg, rank_top_t *top, char *errstr, size_t errstr_size) {
  PGresult *res = PQgetResult(pg_conn(pg)), *more;
  while ((more = PQgetResult(pg_conn(pg))) != NULL)
    PQclear(more); /* the end of the command */
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    return fail_res(pg, res, PGRES_TUPLES_OK, errstr, errstr_size);
  for (int r = 0; r < PQntuples(res); r++) {
    uint64_t u = 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, 1);
    for (int k = 0; k < 8; k++)
      u = u << 8 | p[k]; /* float8 in network order */
    double d;
    memcpy(&d, &u, 8);
    rank_top_push(top, (const uint8_t *)PQgetvalue(res, r, 0), d);
  }
  PQclear(res);
  return 0;
}

/* Fills the shown columns of rows[0..n) (ids set) from the table. */
static int details(pg_t *pg, ps_row_t *rows, size_t n, char *errstr, size_t errstr_size) {
  if (!n)
    return 0;
  char *lit = malloc(n * 37 + 3);
  if (!lit) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  size_t at = 0;
  lit[at++] = '{';
  for (size_t i = 0; i < n; i++) {
    if (i)
      lit[at++] = ',';
    memcpy(lit + at, rows[i].id, 36);
    at += 36;
  }
  lit[at++] = '}';
  lit[at] = '\0';
  const char *vals[1] = {lit};
  PGresult *res = PQexecParams(
      pg_conn(pg),
      "SELECT id::text, post_id, platform, to_char(event_time AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), content, engagement, array_to_json(hashtags)::text, "
      "array_to_json(product_ids)::text FROM social_posts WHERE id = ANY($1::uuid[])",
      1, NULL, vals, NULL, NULL, 0);
  free(lit);
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    return fail_res(pg, res, PGRES_TUPLES_OK, errstr, errstr_size);
  for (int r = 0; r < PQntuples(res); r++)
    for (size_t i = 0; i < n; i++) {
      if (strcmp(rows[i].id, PQgetvalue(res, r, 0)) != 0)
        continue;
      rows[i].post_id = strdup(PQgetvalue(res, r, 1));
      rows[i].platform = strdup(PQgetvalue(res, r, 2));
      rows[i].timestamp = strdup(PQgetvalue(res, r, 3));
      rows[i].content = strdup(PQgetvalue(res, r, 4));
      rows[i].engagement = strtoll(PQgetvalue(res, r, 5), NULL, 10);
      rows[i].hashtags = strdup(PQgetvalue(res, r, 6));
      rows[i].product_ids = strdup(PQgetvalue(res, r, 7));
    }
  PQclear(res);
  return 0;
}

int ps_pg_search(pg_t *pg, pg_t *kw_pg, const ps_query_t *q, ps_row_t **out, size_t *nout,
                 char *errstr, size_t errstr_size) {
  const char *fv[2] = {q->platform, q->since};
  rank_top_t vt = {0}, kt = {0};
  rank_hit_t *hits = NULL;
  ps_row_t *rows = NULL;
  size_t nrows = 0;
  int rc = -1;
  *out = NULL;
  *nout = 0;
  if (rank_top_init(&vt, q->pool) || rank_top_init(&kt, q->pool)) {
    snprintf(errstr, errstr_size, "out of memory");
    goto done;
  }
  int keyword = q->alpha < 1 && q->text && *q->text;
  pg_t *kpg = kw_pg ? kw_pg : pg;
  if (keyword && kw_pg && keyword_send(kpg, q, fv, errstr, errstr_size) != 0)
    goto done;
  if (q->alpha > 0 && q->vector && vector_leg(pg, q, &vt, errstr, errstr_size) != 0) {
    char ignored[8];
    if (keyword && kw_pg) /* drain that connection; the error to tell is the vector leg's */
      keyword_take(kpg, &kt, ignored, sizeof(ignored));
    goto done;
  }
  if (keyword && !kw_pg && keyword_send(kpg, q, fv, errstr, errstr_size) != 0)
    goto done;
  if (keyword && keyword_take(kpg, &kt, errstr, errstr_size) != 0)
    goto done;
  size_t nv = rank_top_sorted(&vt), nk = rank_top_sorted(&kt);
  hits = malloc((nv + nk + 1) * sizeof(*hits));
  if (!hits) {
    snprintf(errstr, errstr_size, "out of memory");
    goto done;
  }
  size_t n = rank_fuse(vt.heap, nv, kt.heap, nk, q->alpha, q->fusion, q->pin, hits);
  n = n < q->limit ? n : q->limit;
  rows = calloc(n ? n : 1, sizeof(*rows));
  nrows = n;
  if (!rows) {
    snprintf(errstr, errstr_size, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    rows[i].score = hits[i].score;
    rows[i].has_parts = 1;
    rows[i].in_vector = hits[i].in_vector;
    rows[i].in_keyword = hits[i].in_keyword;
    rows[i].vector_score = hits[i].vector_score;
    rows[i].keyword_score = hits[i].keyword_score;
    uuid_format(hits[i].id, rows[i].id);
  }
  if (details(pg, rows, n, errstr, errstr_size) != 0)
    goto done;
  *out = rows;
  *nout = n;
  rows = NULL;
  rc = 0;
done:
  ps_rows_free(rows, nrows);
  free(hits);
  rank_top_free(&vt);
  rank_top_free(&kt);
  return rc;
}
