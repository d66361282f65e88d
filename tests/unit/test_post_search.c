/* post-search, the pure parts: exact cosine, the bounded top-k against a
 * full sort, Weaviate's two fusions (relativeScoreFusion's min-max
 * normalisation with the all-equal case, rankedFusion's 1/(60+rank)),
 * alpha 1 and 0 as pure vector and pure keyword, ties (the pinned --like
 * post first), the GraphQL hybrid query and the reading of an answer, the
 * flags' checks, and the table's 80 characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "ranking.h"
#include "search.h"
#include "json/jsonf.h"

static void id_of(int i, uint8_t id[16]) {
  memset(id, 0, 16);
  id[15] = (uint8_t)i;
  id[14] = (uint8_t)(i >> 8);
}

static void test_cosine(void **state) {
  (void)state;
  float a[3] = {1, 2, 3}, b[3] = {2, 4, 6}, c[3] = {-1, -2, -3}, z[3] = {0};
  assert_true(fabs(rank_cosine(a, b, 3) - 1.0) < 1e-12);
  assert_true(fabs(rank_cosine(a, c, 3) + 1.0) < 1e-12);
  assert_true(rank_cosine(a, z, 3) == 0.0);
  float x[2] = {1, 0}, y[2] = {1, 1};
  assert_true(fabs(rank_cosine(x, y, 2) - sqrt(0.5)) < 1e-12);
}

static int by_score(const void *a, const void *b) {
  const rank_cand_t *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return memcmp(x->id, y->id, 16);
}

static void test_top_k(void **state) {
  (void)state;
  enum { N = 5000, K = 100 };
  rank_cand_t *all = malloc(N * sizeof(*all));
  rank_top_t t;
  assert_int_equal(rank_top_init(&t, K), 0);
  srand(7);
  for (int i = 0; i < N; i++) {
    id_of(i, all[i].id);
    all[i].score = (double)(rand() % 1000) / 1000.0; /* many ties */
    rank_top_push(&t, all[i].id, all[i].score);
  }
  qsort(all, N, sizeof(*all), by_score);
  assert_int_equal(rank_top_sorted(&t), K);
  for (int i = 0; i < K; i++) {
    assert_memory_equal(t.heap[i].id, all[i].id, 16);
    assert_true(t.heap[i].score == all[i].score);
  }
  rank_top_free(&t);
  free(all);
}

static void test_relative_fusion(void **state) {
  (void)state;
  /* Vector leg: A 0.9, B 0.7, C 0.5 → normalised 1, 0.5, 0.
   * Keyword leg: C 4, D 2, A 1 → 1, 1/3, 0. */
  rank_cand_t v[3], k[3];
  id_of(1, v[0].id), v[0].score = 0.9;
  id_of(2, v[1].id), v[1].score = 0.7;
  id_of(3, v[2].id), v[2].score = 0.5;
  id_of(3, k[0].id), k[0].score = 4;
  id_of(4, k[1].id), k[1].score = 2;
  id_of(1, k[2].id), k[2].score = 1;
  rank_hit_t out[6];
  size_t n = rank_fuse(v, 3, k, 3, 0.5, RANK_RELATIVE, NULL, out);
  assert_int_equal(n, 4);
  /* A: .5*1 + .5*0 = .5; B: .25; C: 0 + .5 = .5; D: .5/3. A and C tie at .5:
   * the higher cosine (A) first. */
  assert_int_equal(out[0].id[15], 1);
  assert_true(fabs(out[0].score - 0.5) < 1e-12);
  assert_int_equal(out[1].id[15], 3);
  assert_true(fabs(out[1].score - 0.5) < 1e-12);
  assert_int_equal(out[2].id[15], 2);
  assert_true(fabs(out[2].score - 0.25) < 1e-12);
  assert_int_equal(out[3].id[15], 4);
  assert_true(fabs(out[3].score - 0.5 / 3) < 1e-12);
  assert_true(out[0].in_vector && out[0].in_keyword);
  assert_true(!out[3].in_vector && out[3].in_keyword);
  /* alpha 1: the keyword leg weighs nothing; the order is the cosine order. */
  n = rank_fuse(v, 3, NULL, 0, 1.0, RANK_RELATIVE, NULL, out);
  assert_int_equal(n, 3);
  assert_int_equal(out[0].id[15], 1);
  assert_int_equal(out[1].id[15], 2);
  assert_int_equal(out[2].id[15], 3);
  assert_true(fabs(out[0].score - 1.0) < 1e-12 && fabs(out[2].score) < 1e-12);
  /* One candidate (all scores equal): it gets the whole weight. */
  n = rank_fuse(v, 1, NULL, 0, 0.75, RANK_RELATIVE, NULL, out);
  assert_true(fabs(out[0].score - 0.75) < 1e-12);
  /* alpha 0: keyword order. */
  n = rank_fuse(NULL, 0, k, 3, 0.0, RANK_RELATIVE, NULL, out);
  assert_int_equal(out[0].id[15], 3);
  assert_int_equal(out[1].id[15], 4);
  assert_int_equal(out[2].id[15], 1);
}

static void test_ranked_fusion_and_pin(void **state) {
  (void)state;
  rank_cand_t v[2], k[2];
  id_of(1, v[0].id), v[0].score = 0.9;
  id_of(2, v[1].id), v[1].score = 0.8;
  id_of(2, k[0].id), k[0].score = 3;
  id_of(3, k[1].id), k[1].score = 1;
  rank_hit_t out[4];
  size_t n = rank_fuse(v, 2, k, 2, 0.5, RANK_RANKED, NULL, out);
  assert_int_equal(n, 3);
  /* B: .5/61 + .5/60; A: .5/60; C: .5/61. */
  assert_int_equal(out[0].id[15], 2);
  assert_true(fabs(out[0].score - (0.5 / 61 + 0.5 / 60)) < 1e-12);
  assert_int_equal(out[1].id[15], 1);
  assert_int_equal(out[2].id[15], 3);
  /* Two posts with the same vector: the pinned one (--like) first. */
  rank_cand_t same[2];
  id_of(5, same[0].id), same[0].score = 1.0;
  id_of(9, same[1].id), same[1].score = 1.0;
  uint8_t pin[16];
  id_of(9, pin);
  n = rank_fuse(same, 2, NULL, 0, 1.0, RANK_RELATIVE, pin, out);
  assert_int_equal(out[0].id[15], 9);
  n = rank_fuse(same, 2, NULL, 0, 1.0, RANK_RELATIVE, NULL, out);
  assert_int_equal(out[0].id[15], 5); /* unpinned: the lower id */
}

static void test_graphql(void **state) {
  (void)state;
  float vec[3] = {0.25f, -1.5f, 3.0e-5f};
  ps_query_t q = {.text = "price \"too\" high",
                  .vector = vec,
                  .dim = 3,
                  .alpha = 0.5,
                  .fusion = RANK_RELATIVE,
                  .limit = 7,
                  .pool = 100,
                  .platform = "tiktok",
                  .since = "2026-11-01T00:00:00.000Z"};
  char *g = ps_wv_graphql("SocialPost", &q);
  assert_non_null(g);
  assert_non_null(strstr(g, "{ Get { SocialPost(hybrid: {query: \"price \\\"too\\\" high\", "
                            "alpha: 0.5, vector: [0.25,-1.5,2.99999992e-05], fusionType: "
                            "relativeScoreFusion}"));
  assert_non_null(strstr(g, "where: {operator: And, operands: [{path: [\"platform\"], operator: "
                            "Equal, valueText: \"tiktok\"}, {path: [\"timestamp\"], operator: "
                            "GreaterThanEqual, valueDate: \"2026-11-01T00:00:00.000Z\"}]}"));
  assert_non_null(strstr(g, "limit: 7) { post_id platform content"));
  assert_non_null(strstr(g, "_additional { id score }"));
  free(g);
  /* alpha 0: no vector; one filter: no And. */
  q.alpha = 0;
  q.since = NULL;
  q.fusion = RANK_RANKED;
  g = ps_wv_graphql("SocialPost", &q);
  assert_null(strstr(g, "vector:"));
  assert_non_null(strstr(g, "fusionType: rankedFusion"));
  assert_non_null(strstr(g, "where: {path: [\"platform\"]"));
  free(g);

  const char *answer =
      "{\"data\":{\"Get\":{\"SocialPost\":[{\"post_id\":\"p1\",\"platform\":\"tiktok\","
      "\"content\":\"Price too high\",\"timestamp\":\"2026-11-21T10:00:00Z\",\"engagement\":5,"
      "\"hashtags\":[\"rain\"],\"product_ids\":null,\"_additional\":{\"id\":"
      "\"1B9A6E0F-4D04-5135-B5B6-35161A022474\",\"score\":\"0.8125\"}}]}}}";
  ps_row_t *rows;
  size_t n;
  char err[256];
  assert_int_equal(ps_wv_parse(answer, strlen(answer), "SocialPost", &rows, &n, err, sizeof(err)),
                   0);
  assert_int_equal(n, 1);
  assert_true(rows[0].score == 0.8125);
  assert_string_equal(rows[0].id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  assert_string_equal(rows[0].post_id, "p1");
  assert_string_equal(rows[0].hashtags, "[\"rain\"]");
  assert_string_equal(rows[0].product_ids, "[]");
  assert_int_equal(rows[0].engagement, 5);
  ps_rows_free(rows, n);
  const char *bad = "{\"errors\":[{\"message\":\"Cannot query field \\\"X\\\"\"}],\"data\":null}";
  assert_int_equal(ps_wv_parse(bad, strlen(bad), "SocialPost", &rows, &n, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "Cannot query field"));
}

static void test_checks(void **state) {
  (void)state;
  ps_config_t c = {.limit = 10,
                   .alpha = 0.5,
                   .fusion = "relativeScoreFusion",
                   .backend = "postgres",
                   .model_dir = "/m",
                   .candidates = 100};
  char *args[] = {"price too high", NULL};
  ps_plan_t p;
  char err[256];
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), 0);
  assert_string_equal(p.text, "price too high");
  assert_int_equal(ps_check(&c, args, 0, &p, err, sizeof(err)), -1); /* no query */
  c.since = "2026-11-01";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), 0);
  assert_string_equal(p.since, "2026-11-01T00:00:00.000Z");
  c.since = "2026-11-01T06:00:00+06:00";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), 0);
  assert_string_equal(p.since, "2026-11-01T00:00:00.000Z");
  c.since = "yesterday";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1);
  c.since = NULL;
  c.alpha = 1.5;
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1);
  c.alpha = 0.5;
  c.platform = "instagram";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1);
  c.platform = NULL;
  c.fusion = "bm25";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1);
  c.fusion = "rankedFusion";
  c.like = "p1";
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1); /* both */
  assert_int_equal(ps_check(&c, args, 0, &p, err, sizeof(err)), 0);
  assert_int_equal(p.fusion, RANK_RANKED);
  assert_true(p.alpha == 0.5); /* given */
  c.alpha = -1;                /* unset: --like is a vector question */
  assert_int_equal(ps_check(&c, args, 0, &p, err, sizeof(err)), 0);
  assert_true(p.alpha == 1.0);
  c.like = NULL;
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), 0);
  assert_true(p.alpha == 0.5); /* unset, a query */
  c.like = "p1";
  c.alpha = 0.5;
  c.like = NULL;
  c.model_dir = NULL;
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), -1); /* no model */
  c.alpha = 0;
  assert_int_equal(ps_check(&c, args, 1, &p, err, sizeof(err)), 0); /* keywords need none */
}

static void test_table(void **state) {
  (void)state;
  char long_text[800];
  size_t at = 0;
  const char *word = "ডেলিভারি\t"; /* 9 characters, 25 bytes */
  for (int i = 0; i < 30; i++, at += strlen(word))
    memcpy(long_text + at, word, strlen(word));
  long_text[at] = '\0';
  ps_row_t r = {.score = 0.5,
                .post_id = "p1",
                .platform = "facebook",
                .timestamp = "2026-11-21T10:00:00Z",
                .content = long_text};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ps_print_table(f, &r, 1);
  fclose(f);
  char *line = strchr(buf, '\n') + 1;
  assert_non_null(strstr(line, "   1   0.5000  facebook  2026-11-21  p1 "));
  assert_null(strchr(line, '\t')); /* one line per post */
  const char *content = strstr(line, "ডেলি");
  size_t chars = 0;
  for (const char *c = content; *c && *c != '\n'; c++)
    chars += ((unsigned char)*c & 0xc0) != 0x80;
  assert_int_equal(chars, 81); /* 80 characters and the "…" */
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cosine),          cmocka_unit_test(test_top_k),
      cmocka_unit_test(test_relative_fusion), cmocka_unit_test(test_ranked_fusion_and_pin),
      cmocka_unit_test(test_graphql),         cmocka_unit_test(test_checks),
      cmocka_unit_test(test_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
