/* embedder model: each layer against hand-checked small cases, the
 * safetensors loader (good, prefixed names, truncated, wrong dtype, wrong
 * shape, lying offsets), golden parity with PyTorch on the committed tiny
 * random BERT (tests/fixtures/embedding/tiny, made by
 * tests/tools/embedder_golden_gen.py) and batch invariance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert.h"
#include "safetensors.h"
#include "tokenizer.h"

static char tiny[1024];

/* ---- layers, by hand --------------------------------------------------- */

static void test_layer_norm(void **state) {
  (void)state;
  /* [1,2,3]: mean 2, var 2/3 → (x-2)/sqrt(2/3) = [-1.2247449, 0, 1.2247449];
   * then *g + b with g = [1,2,1], b = [0,0,1]. */
  float x[3] = {1, 2, 3}, g[3] = {1, 2, 1}, b[3] = {0, 0, 1};
  bert_layer_norm(x, 1, 3, g, b, 1e-12f);
  assert_float_equal(x[0], -1.2247449f, 1e-6);
  assert_float_equal(x[1], 0.0f, 1e-6);
  assert_float_equal(x[2], 2.2247449f, 1e-6);
  /* A constant row normalises to b (variance 0, eps keeps it finite). */
  float c[2] = {5, 5}, g2[2] = {1, 1}, b2[2] = {0.5f, -0.5f};
  bert_layer_norm(c, 1, 2, g2, b2, 1e-12f);
  assert_float_equal(c[0], 0.5f, 1e-6);
  assert_float_equal(c[1], -0.5f, 1e-6);
}

static void test_gelu(void **state) {
  (void)state;
  /* 0.5 x (1 + erf(x / sqrt 2)): Phi(1) = 0.8413447, Phi(-1) = 0.1586553. */
  float x[5] = {0, 1, -1, 3, -10};
  bert_gelu(x, 5);
  assert_float_equal(x[0], 0.0f, 1e-7);
  assert_float_equal(x[1], 0.8413447f, 1e-6);
  assert_float_equal(x[2], -0.1586553f, 1e-6);
  assert_float_equal(x[3], 2.9959502f, 1e-6);
  assert_float_equal(x[4], 0.0f, 1e-6);
}

static void test_gelu_accuracy(void **state) {
  (void)state;
  /* The vectorised erf against libm's erf in double over [-12, 12]. */
  enum { N = 24001 };
  float *x = malloc(N * sizeof(float));
  for (int i = 0; i < N; i++)
    x[i] = -12.0f + (float)i * 0.001f;
  bert_gelu(x, N);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double v = -12.0 + (float)i * 0.001f;
    double want = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    double err = fabs(x[i] - want) / fmax(1.0, fabs(v));
    worst = err > worst ? err : worst;
  }
  fprintf(stderr, "gelu: max error vs exact %.3g (relative to max(1,|x|))\n", worst);
  assert_true(worst < 1e-6);
  free(x);
}

static void test_softmax(void **state) {
  (void)state;
  float x[4] = {0, logf(2), 1000, 1000}; /* second row: no overflow */
  bert_softmax(x, 2, 2);
  assert_float_equal(x[0], 1.0f / 3, 1e-6);
  assert_float_equal(x[1], 2.0f / 3, 1e-6);
  assert_float_equal(x[2], 0.5f, 1e-6);
  assert_float_equal(x[3], 0.5f, 1e-6);
}

static void test_attention(void **state) {
  (void)state;
  /* One head of dim 2, two tokens. q = k = [[a, 0], [0, 0]], a^2 = sqrt 2 ln 4:
   * token 0 scores (q0.k / sqrt 2) = [ln 4, 0] → softmax [0.8, 0.2];
   * token 1 scores [0, 0] → [0.5, 0.5]. v = [[1, 0], [0, 1]]. */
  float a = sqrtf(logf(4) * sqrtf(2));
  float q[4] = {a, 0, 0, 0}, v[4] = {1, 0, 0, 1}, ctx[4], scores[4];
  bert_attention(q, q, v, ctx, 2, 2, 1, 2, scores);
  assert_float_equal(ctx[0], 0.8f, 1e-6);
  assert_float_equal(ctx[1], 0.2f, 1e-6);
  assert_float_equal(ctx[2], 0.5f, 1e-6);
  assert_float_equal(ctx[3], 0.5f, 1e-6);
  /* Two heads of dim 1 over a row stride of 2: heads are independent. */
  float q2[4] = {1, 0, 1, 0}, v2[4] = {2, 4, 6, 8}, ctx2[4];
  bert_attention(q2, q2, v2, ctx2, 2, 2, 2, 1, scores);
  assert_float_equal(ctx2[1], 6.0f, 1e-6); /* head 1: uniform → mean(4, 8) */
  assert_float_equal(ctx2[3], 6.0f, 1e-6);
}

static void test_pool_normalize(void **state) {
  (void)state;
  float x[4] = {2, 4, 4, 4}, out[2]; /* mean [3, 4] → /5 */
  bert_mean_pool_normalize(x, 2, 2, out);
  assert_float_equal(out[0], 0.6f, 1e-7);
  assert_float_equal(out[1], 0.8f, 1e-7);
  float z[2] = {0, 0};
  bert_mean_pool_normalize(z, 1, 2, out);
  assert_float_equal(out[0], 0.0f, 0);
}

/* ---- safetensors and model loading ------------------------------------- */

typedef struct fake_tensor {
  char name[96];
  const char *dtype;
  int64_t d0, d1; /* d1 = 0: 1-D */
} fake_tensor_t;

/* Writes a safetensors file of the given tensors (values i * 0.01);
 * lie_offset adds to the last tensor's end offset; cut drops trailing bytes. */
static void write_st(const char *path, const fake_tensor_t *t, size_t n, int64_t lie_offset,
                     size_t cut) {
  json_t *h = json_object();
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t esz = strcmp(t[i].dtype, "F32") == 0 ? 4 : 2;
    size_t bytes = (size_t)t[i].d0 * (size_t)(t[i].d1 ? t[i].d1 : 1) * esz;
    json_t *shape = t[i].d1 ? json_pack("[I,I]", t[i].d0, t[i].d1) : json_pack("[I]", t[i].d0);
    int64_t end = (int64_t)(off + bytes) + (i + 1 == n ? lie_offset : 0);
    json_object_set_new(h, t[i].name,
                        json_pack("{s:s,s:o,s:[I,I]}", "dtype", t[i].dtype, "shape", shape,
                                  "data_offsets", (json_int_t)off, (json_int_t)end));
    off += bytes;
  }
  char *hs = json_dumps(h, JSON_COMPACT);
  size_t hl = strlen(hs), pad = (8 - hl % 8) % 8;
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  uint64_t le = hl + pad;
  unsigned char lb[8];
  for (int i = 0; i < 8; i++)
    lb[i] = (unsigned char)(le >> (8 * i));
  fwrite(lb, 1, 8, fp);
  fwrite(hs, 1, hl, fp);
  for (size_t i = 0; i < pad; i++)
    fputc(' ', fp);
  size_t total = off > cut ? off - cut : 0;
  for (size_t i = 0; i < total / 4; i++) {
    float v = (float)i * 0.01f;
    fwrite(&v, 4, 1, fp);
  }
  for (size_t i = 0; i < total % 4; i++)
    fputc(0, fp);
  fclose(fp);
  free(hs);
  json_decref(h);
}

/* A 1-layer model: vocab 8, hidden 4, 2 heads, intermediate 8, 8 positions. */
static size_t mini_tensors(fake_tensor_t *t, const char *prefix) {
  static const struct {
    const char *n;
    int d0, d1;
  } spec[] = {{"embeddings.word_embeddings.weight", 8, 4},
              {"embeddings.position_embeddings.weight", 8, 4},
              {"embeddings.token_type_embeddings.weight", 2, 4},
              {"embeddings.LayerNorm.weight", 4, 0},
              {"embeddings.LayerNorm.bias", 4, 0},
              {"encoder.layer.0.attention.self.query.weight", 4, 4},
              {"encoder.layer.0.attention.self.query.bias", 4, 0},
              {"encoder.layer.0.attention.self.key.weight", 4, 4},
              {"encoder.layer.0.attention.self.key.bias", 4, 0},
              {"encoder.layer.0.attention.self.value.weight", 4, 4},
              {"encoder.layer.0.attention.self.value.bias", 4, 0},
              {"encoder.layer.0.attention.output.dense.weight", 4, 4},
              {"encoder.layer.0.attention.output.dense.bias", 4, 0},
              {"encoder.layer.0.attention.output.LayerNorm.weight", 4, 0},
              {"encoder.layer.0.attention.output.LayerNorm.bias", 4, 0},
              {"encoder.layer.0.intermediate.dense.weight", 8, 4},
              {"encoder.layer.0.intermediate.dense.bias", 8, 0},
              {"encoder.layer.0.output.dense.weight", 4, 8},
              {"encoder.layer.0.output.dense.bias", 4, 0},
              {"encoder.layer.0.output.LayerNorm.weight", 4, 0},
              {"encoder.layer.0.output.LayerNorm.bias", 4, 0},
              {"pooler.dense.weight", 4, 4}};
  size_t n = sizeof(spec) / sizeof(spec[0]);
  for (size_t i = 0; i < n; i++) {
    snprintf(t[i].name, sizeof(t[i].name), "%s%s", prefix, spec[i].n);
    t[i].dtype = "F32";
    t[i].d0 = spec[i].d0;
    t[i].d1 = spec[i].d1;
  }
  return n;
}

static char mdir[256];

static void write_mini_config(const char *extra) {
  char p[512];
  snprintf(p, sizeof(p), "%s/config.json", mdir);
  FILE *fp = fopen(p, "w");
  assert_non_null(fp);
  fprintf(fp,
          "{\"vocab_size\":8,\"hidden_size\":4,\"num_hidden_layers\":1,"
          "\"num_attention_heads\":2,\"intermediate_size\":8,\"max_position_embeddings\":8,"
          "\"type_vocab_size\":2,\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12%s}",
          extra);
  fclose(fp);
}

/* Loads the mini model after writing it with the given tweak; returns the
 * error text ("" when it loaded). */
static const char *load_mini(const char *prefix, int tweak) {
  static char err[512];
  fake_tensor_t t[32];
  size_t n = mini_tensors(t, prefix);
  int64_t lie = 0;
  size_t cut = 0;
  if (tweak == 1)
    t[7].dtype = "F16"; /* key.weight */
  if (tweak == 2)
    t[15].d0 = 6; /* intermediate.dense.weight [6, 4] */
  if (tweak == 3)
    lie = 64; /* last end offset past the data */
  if (tweak == 4)
    cut = 10; /* truncated file */
  if (tweak == 5)
    n = 20; /* output.LayerNorm.bias missing (the pooler too) */
  char p[512];
  snprintf(p, sizeof(p), "%s/model.safetensors", mdir);
  write_st(p, t, n, lie, cut);
  err[0] = '\0';
  bert_model_t *m = bert_load(mdir, err, sizeof(err));
  if (m) {
    /* It also runs: any output is unit length. */
    int32_t ids[3] = {1, 5, 2};
    const int32_t *seqs[1] = {ids};
    int len = 3;
    float out[4];
    char e2[128];
    assert_int_equal(bert_embed(m, seqs, &len, 1, out, e2, sizeof(e2)), 0);
    float norm = 0;
    for (int i = 0; i < 4; i++)
      norm += out[i] * out[i];
    assert_float_equal(norm, 1.0f, 1e-5);
    /* Bad input is refused, not read out of bounds. */
    ids[1] = 8;
    assert_int_equal(bert_embed(m, seqs, &len, 1, out, e2, sizeof(e2)), -1);
    len = 9;
    ids[1] = 1;
    assert_int_equal(bert_embed(m, seqs, &len, 1, out, e2, sizeof(e2)), -1);
    bert_destroy(m);
  }
  return err;
}

static void test_loader(void **state) {
  (void)state;
  snprintf(mdir, sizeof(mdir), "/tmp/sensory-emb-test-%d", (int)getpid());
  mkdir(mdir, 0700);
  write_mini_config("");
  assert_string_equal(load_mini("", 0), "");
  assert_string_equal(load_mini("bert.", 0), ""); /* names with the prefix */
  const char *e = load_mini("", 1);
  assert_non_null(strstr(e, "encoder.layer.0.attention.self.key.weight: dtype F16, expected F32"));
  e = load_mini("bert.", 2);
  assert_non_null(strstr(e, "bert.encoder.layer.0.intermediate.dense.weight: shape [6, 4], "
                            "config.json implies [8, 4]"));
  e = load_mini("", 3);
  assert_non_null(strstr(e, "data_offsets"));
  e = load_mini("", 4);
  assert_non_null(strstr(e, "outside"));
  e = load_mini("", 5);
  assert_non_null(strstr(e, "encoder.layer.0.output.LayerNorm.bias (or bert."));
  /* config.json that does not describe a supported BERT. */
  write_mini_config(",\"hidden_act\":\"relu\"");
  assert_non_null(strstr(load_mini("", 0), "hidden_act"));
  write_mini_config("");
  char p[512];
  snprintf(p, sizeof(p), "%s/config.json", mdir);
  unlink(p);
  assert_non_null(strstr(load_mini("", 0), "config.json"));
  write_mini_config("");

  /* Raw format errors seen by st_open itself. */
  char err[256];
  snprintf(p, sizeof(p), "%s/x.safetensors", mdir);
  FILE *fp = fopen(p, "wb");
  fwrite("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", 1, 13, fp); /* header cut short */
  fclose(fp);
  assert_null(st_open(p, err, sizeof(err)));
  assert_non_null(strstr(err, "header length"));
  fake_tensor_t two[2] = {{"a", "F32", 4, 0}, {"b", "F32", 4, 0}};
  write_st(p, two, 2, 0, 0);
  st_file_t *f = st_open(p, err, sizeof(err));
  assert_non_null(f);
  assert_int_equal(st_count(f), 2);
  assert_int_equal(st_find(f, "b")->nbytes, 16);
  assert_float_equal(((const float *)st_find(f, "b")->data)[1], 0.05f, 1e-7);
  st_close(f);
  /* Two names pointing at overlapping bytes: a header that lies. */
  fp = fopen(p, "wb");
  const char hdr[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  uint64_t hl = sizeof(hdr) - 1;
  fwrite(&hl, 8, 1, fp);
  fwrite(hdr, 1, hl, fp);
  fwrite("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 16, fp);
  fclose(fp);
  assert_null(st_open(p, err, sizeof(err)));
  assert_non_null(strstr(err, "overlap"));
  /* fuzz_safetensors: an empty tensor at another's offset was refused as an
   * overlap or not depending on the order of the header's entries. */
  static const char *const empties[] = {
      "{\"z\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
      "\"w\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}    ",
      "{\"w\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
      "\"z\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[0,0]}}    "};
  for (int k = 0; k < 2; k++) {
    fp = fopen(p, "wb");
    hl = strlen(empties[k]);
    fwrite(&hl, 8, 1, fp);
    fwrite(empties[k], 1, hl, fp);
    fwrite("abc", 1, 3, fp);
    fclose(fp);
    f = st_open(p, err, sizeof(err));
    if (!f)
      fail_msg("order %d: %s", k, err);
    assert_int_equal(st_find(f, "z")->nbytes, 0);
    assert_int_equal(st_find(f, "w")->nbytes, 3);
    st_close(f);
  }
  unlink(p);
  snprintf(p, sizeof(p), "%s/model.safetensors", mdir);
  unlink(p);
  snprintf(p, sizeof(p), "%s/config.json", mdir);
  unlink(p);
  rmdir(mdir);
  st_close(NULL);
  bert_destroy(NULL);
}

/* ---- golden parity and batch invariance ---------------------------------- */

typedef struct golden {
  char *text;
  float vec[512];
} golden_t;

static golden_t *goldens;
static size_t ngoldens;
static bert_model_t *model;
static tokenizer_t *tok;

static int setup(void **state) {
  (void)state;
  const char *fx = getenv("SENSORY_FIXTURES");
  char p[1200], err[512];
  snprintf(tiny, sizeof(tiny), "%s/embedding/tiny", fx ? fx : "tests/fixtures");
  if (!(model = bert_load(tiny, err, sizeof(err)))) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  snprintf(p, sizeof(p), "%s/vocab.txt", tiny);
  if (!(tok = tokenizer_load(p, err, sizeof(err))))
    return -1;
  snprintf(p, sizeof(p), "%s/goldens.jsonl", tiny);
  FILE *fp = fopen(p, "r");
  if (!fp)
    return -1;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, fp) > 0) {
    json_t *rec = json_loads(line, JSON_ALLOW_NUL, NULL);
    if (!rec)
      return -1;
    goldens = realloc(goldens, (ngoldens + 1) * sizeof(*goldens));
    golden_t *g = &goldens[ngoldens++];
    g->text = strdup(json_string_value(json_object_get(rec, "text")));
    json_t *v = json_object_get(rec, "vector");
    for (size_t i = 0; i < json_array_size(v) && i < 512; i++)
      g->vec[i] = (float)json_number_value(json_array_get(v, i));
    /* The golden's ids are the reference tokenizer's: ours must agree. */
    int32_t ids[256];
    int n = tokenizer_encode(tok, g->text, strlen(g->text), ids, 256, NULL);
    json_t *want = json_object_get(rec, "ids");
    if (n != (int)json_array_size(want))
      return -1;
    for (int i = 0; i < n; i++)
      if (ids[i] != json_integer_value(json_array_get(want, (size_t)i)))
        return -1;
    json_decref(rec);
  }
  free(line);
  fclose(fp);
  return ngoldens >= 40 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  for (size_t i = 0; i < ngoldens; i++)
    free(goldens[i].text);
  free(goldens);
  bert_destroy(model);
  tokenizer_destroy(tok);
  return 0;
}

/* Embeds goldens[order[0..n)] in one batch into out. */
static void embed(const size_t *order, size_t n, float *out) {
  int32_t(*ids)[256] = malloc(n * sizeof(*ids));
  const int32_t **seqs = malloc(n * sizeof(*seqs));
  int *lens = malloc(n * sizeof(*lens));
  for (size_t i = 0; i < n; i++) {
    const char *t = goldens[order[i]].text;
    lens[i] = tokenizer_encode(tok, t, strlen(t), ids[i], 256, NULL);
    seqs[i] = ids[i];
  }
  char err[256];
  assert_int_equal(bert_embed(model, seqs, lens, (int)n, out, err, sizeof(err)), 0);
  free(ids);
  free(seqs);
  free(lens);
}

static void test_golden_parity(void **state) {
  (void)state;
  int H = bert_config(model)->hidden;
  float *out = malloc((size_t)H * sizeof(float));
  double min_cos = 1, max_diff = 0;
  for (size_t g = 0; g < ngoldens; g++) {
    embed(&g, 1, out);
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < H; i++) {
      dot += (double)out[i] * goldens[g].vec[i];
      na += (double)out[i] * out[i];
      nb += (double)goldens[g].vec[i] * goldens[g].vec[i];
      double d = fabs((double)out[i] - goldens[g].vec[i]);
      max_diff = d > max_diff ? d : max_diff;
    }
    double cos = dot / sqrt(na * nb);
    min_cos = cos < min_cos ? cos : min_cos;
  }
  fprintf(stderr, "golden parity: %zu sentences, min cosine %.9f, max abs diff %.3g\n", ngoldens,
          min_cos, max_diff);
  assert_true(min_cos >= 0.99999);
  assert_true(max_diff <= 1e-5);
  free(out);
}

static void test_batch_invariance(void **state) {
  (void)state;
  size_t H = (size_t)bert_config(model)->hidden, n = ngoldens;
  float *single = malloc(n * H * sizeof(float)), *batch = malloc(2 * n * H * sizeof(float));
  size_t *order = calloc(2 * n, sizeof(*order));
  for (size_t g = 0; g < n; g++)
    embed(&g, 1, single + g * H);
  /* Reversed, each text twice, long and short mixed: same vectors. */
  for (size_t i = 0; i < 2 * n; i++)
    order[i] = (n - 1 - i % n + (i >= n ? 7 : 0)) % n;
  embed(order, 2 * n, batch);
  double max_diff = 0;
  for (size_t i = 0; i < 2 * n; i++)
    for (size_t k = 0; k < H; k++) {
      double d = fabs((double)batch[i * H + k] - single[order[i] * H + k]);
      max_diff = d > max_diff ? d : max_diff;
    }
  fprintf(stderr, "batch invariance: %zu texts in one batch vs one by one, max abs diff %.3g\n",
          2 * n, max_diff);
  assert_true(max_diff <= 1e-6);
  free(single);
  free(batch);
  free(order);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layer_norm),       cmocka_unit_test(test_gelu),
      cmocka_unit_test(test_gelu_accuracy),    cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_attention),        cmocka_unit_test(test_pool_normalize),
      cmocka_unit_test(test_loader),           cmocka_unit_test(test_golden_parity),
      cmocka_unit_test(test_batch_invariance),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
