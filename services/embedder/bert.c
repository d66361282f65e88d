#include "bert.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

typedef struct bert_layer {
  const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;
  const float *ao_w, *ao_b, *aln_g, *aln_b;
  const float *i_w, *i_b, *o_w, *o_b, *oln_g, *oln_b;
} bert_layer_t;

struct bert_model {
  bert_config_t cfg;
  st_file_t *st; /* owns the mapping every weight pointer points into */
  const float *word, *pos, *type, *eln_g, *eln_b;
  bert_layer_t *layer; /* cfg.layers entries (owned) */
};

void bert_destroy(bert_model_t *m) {
  if (!m)
    return;
  st_close(m->st);
  free(m->layer);
  free(m);
}

const bert_config_t *bert_config(const bert_model_t *m) {
  return &m->cfg;
}

static int conf_int(json_t *root, const char *key, int *out, const char *path, char *errstr,
                    size_t errstr_size) {
  json_t *v = json_object_get(root, key);
  if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 24)) {
    snprintf(errstr, errstr_size, "%s: \"%s\" must be a positive integer", path, key);
    return -1;
  }
  *out = (int)json_integer_value(v);
  return 0;
}

static int read_config(const char *dir, bert_config_t *c, char *errstr, size_t errstr_size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/config.json", dir);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  int rc = -1;
  if (!json_is_object(root)) {
    snprintf(errstr, errstr_size, "%s: %s", path, root ? "not a JSON object" : jerr.text);
    goto out;
  }
  const char *act = json_string_value(json_object_get(root, "hidden_act"));
  const char *pet = json_string_value(json_object_get(root, "position_embedding_type"));
  json_t *eps = json_object_get(root, "layer_norm_eps");
  if (conf_int(root, "vocab_size", &c->vocab_size, path, errstr, errstr_size) ||
      conf_int(root, "hidden_size", &c->hidden, path, errstr, errstr_size) ||
      conf_int(root, "num_hidden_layers", &c->layers, path, errstr, errstr_size) ||
      conf_int(root, "num_attention_heads", &c->heads, path, errstr, errstr_size) ||
      conf_int(root, "intermediate_size", &c->intermediate, path, errstr, errstr_size) ||
      conf_int(root, "max_position_embeddings", &c->max_positions, path, errstr, errstr_size) ||
      conf_int(root, "type_vocab_size", &c->type_vocab, path, errstr, errstr_size))
    goto out;
  if (!act || strcmp(act, "gelu") != 0) {
    snprintf(errstr, errstr_size, "%s: hidden_act must be \"gelu\" (erf), not %s", path,
             act ? act : "missing");
    goto out;
  }
  if (pet && strcmp(pet, "absolute") != 0) {
    snprintf(errstr, errstr_size, "%s: position_embedding_type %s not supported", path, pet);
    goto out;
  }
  if (c->hidden % c->heads != 0) {
    snprintf(errstr, errstr_size, "%s: hidden_size %d not divisible by num_attention_heads %d",
             path, c->hidden, c->heads);
    goto out;
  }
  c->eps = eps ? (float)json_number_value(eps) : 1e-12f;
  if (eps && (!json_is_number(eps) || !(c->eps > 0) || c->eps > 0.1f)) {
    snprintf(errstr, errstr_size, "%s: layer_norm_eps must be a small positive number", path);
    goto out;
  }
  rc = 0;
out:
  json_decref(root);
  return rc;
}

/* Finds "name" or "bert.name", checks F32 and the expected shape. */
static const float *weight(const bert_model_t *m, const char *path, const char *name, int64_t d0,
                           int64_t d1, char *errstr, size_t errstr_size) {
  char pref[256];
  snprintf(pref, sizeof(pref), "bert.%s", name);
  const st_tensor_t *t = st_find(m->st, name);
  if (!t)
    t = st_find(m->st, pref);
  if (!t) {
    snprintf(errstr, errstr_size, "%s: tensor %s (or bert.%s) missing", path, name, name);
    return NULL;
  }
  if (strcmp(t->dtype, "F32") != 0) {
    snprintf(errstr, errstr_size, "%s: tensor %s: dtype %s, expected F32", path, t->name, t->dtype);
    return NULL;
  }
  int want_ndim = d1 ? 2 : 1;
  if (t->ndim != want_ndim || t->shape[0] != d0 || (d1 && t->shape[1] != d1)) {
    char got[96] = "";
    size_t used = 0;
    for (int i = 0; i < t->ndim && used < sizeof(got) - 24; i++)
      used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%lld", i ? ", " : "",
                               (long long)t->shape[i]);
    if (d1)
      snprintf(errstr, errstr_size, "%s: tensor %s: shape [%s], config.json implies [%lld, %lld]",
               path, t->name, got, (long long)d0, (long long)d1);
    else
      snprintf(errstr, errstr_size, "%s: tensor %s: shape [%s], config.json implies [%lld]", path,
               t->name, got, (long long)d0);
    return NULL;
  }
  return t->data;
}

bert_model_t *bert_load(const char *dir, char *errstr, size_t errstr_size) {
  bert_model_t *m = calloc(1, sizeof(*m)); /* caller owns: bert_destroy() */
  char path[4096], n[128];
  if (!m) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if (read_config(dir, &m->cfg, errstr, errstr_size))
    goto fail;
  const bert_config_t *c = &m->cfg;
  snprintf(path, sizeof(path), "%s/model.safetensors", dir);
  if (!(m->st = st_open(path, errstr, errstr_size)))
    goto fail;
  if (!(m->layer = calloc((size_t)c->layers, sizeof(*m->layer)))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  const int64_t H = c->hidden, IN = c->intermediate;
#define W(field, name, d0, d1)                                                                     \
  if (!((field) = weight(m, path, (name), (d0), (d1), errstr, errstr_size)))                       \
  goto fail
  W(m->word, "embeddings.word_embeddings.weight", c->vocab_size, H);
  W(m->pos, "embeddings.position_embeddings.weight", c->max_positions, H);
  W(m->type, "embeddings.token_type_embeddings.weight", c->type_vocab, H);
  W(m->eln_g, "embeddings.LayerNorm.weight", H, 0);
  W(m->eln_b, "embeddings.LayerNorm.bias", H, 0);
  static const struct {
    const char *suffix;
    size_t off;
    int rows, cols; /* 'H' or 'I', 0 = 1-D */
  } per_layer[] = {
      {"attention.self.query.weight", offsetof(bert_layer_t, q_w), 'H', 'H'},
      {"attention.self.query.bias", offsetof(bert_layer_t, q_b), 'H', 0},
      {"attention.self.key.weight", offsetof(bert_layer_t, k_w), 'H', 'H'},
      {"attention.self.key.bias", offsetof(bert_layer_t, k_b), 'H', 0},
      {"attention.self.value.weight", offsetof(bert_layer_t, v_w), 'H', 'H'},
      {"attention.self.value.bias", offsetof(bert_layer_t, v_b), 'H', 0},
      {"attention.output.dense.weight", offsetof(bert_layer_t, ao_w), 'H', 'H'},
      {"attention.output.dense.bias", offsetof(bert_layer_t, ao_b), 'H', 0},
      {"attention.output.LayerNorm.weight", offsetof(bert_layer_t, aln_g), 'H', 0},
      {"attention.output.LayerNorm.bias", offsetof(bert_layer_t, aln_b), 'H', 0},
      {"intermediate.dense.weight", offsetof(bert_layer_t, i_w), 'I', 'H'},
      {"intermediate.dense.bias", offsetof(bert_layer_t, i_b), 'I', 0},
      {"output.dense.weight", offsetof(bert_layer_t, o_w), 'H', 'I'},
      {"output.dense.bias", offsetof(bert_layer_t, o_b), 'H', 0},
      {"output.LayerNorm.weight", offsetof(bert_layer_t, oln_g), 'H', 0},
      {"output.LayerNorm.bias", offsetof(bert_layer_t, oln_b), 'H', 0},
  };
  for (int l = 0; l < c->layers; l++) {
    for (size_t k = 0; k < sizeof(per_layer) / sizeof(per_layer[0]); k++) {
      snprintf(n, sizeof(n), "encoder.layer.%d.%s", l, per_layer[k].suffix);
      int64_t d0 = per_layer[k].rows == 'I' ? IN : H;
      int64_t d1 = per_layer[k].cols == 0 ? 0 : per_layer[k].cols == 'I' ? IN : H;
      const float **slot = (const float **)((char *)&m->layer[l] + per_layer[k].off);
      W(*slot, n, d0, d1);
    }
  }
#undef W
  return m;
fail:
  bert_destroy(m);
  return NULL;
}

/* ---- building blocks ---------------------------------------------------- */

void bert_layer_norm(float *x, int rows, int cols, const float *g, const float *b, float eps) {
  for (int r = 0; r < rows; r++) {
    float *v = x + (size_t)r * (size_t)cols;
    double mean = 0, var = 0;
    for (int i = 0; i < cols; i++)
      mean += v[i];
    mean /= cols;
    for (int i = 0; i < cols; i++)
      var += (v[i] - mean) * (v[i] - mean);
    var /= cols; /* biased, as torch.nn.LayerNorm */
    float inv = (float)(1.0 / sqrt(var + eps));
    for (int i = 0; i < cols; i++)
      v[i] = (float)(v[i] - mean) * inv * g[i] + b[i];
  }
}

/* exp(x) for x <= 0 (all callers), branch-free so loops over it vectorise:
 * 2^n * p(r), n = round(x / ln 2), r = x - n ln 2 in two parts (Cody-Waite),
 * p the degree-6 Taylor polynomial: relative error < 2e-7 on [-87, 0]; below
 * that the result flushes to 0 as expf's does. */
static inline float exp_neg(float x) {
  x = x < -87.0f ? -87.0f : x;
  /* Round to nearest by the 1.5 * 2^23 trick: no libm call in the loop. */
  float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f +
                                                r * (4.16666679e-2f +
                                                     r * (8.33333377e-3f + r * 1.38888892e-3f)))));
  int32_t bits = (int32_t)(n + 127.0f) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

/* The GELU BERT uses, 0.5 x (1 + erf(x / sqrt 2)), with erf from erfc(z) =
 * t exp(-z^2 - 1.26551223 + t (1.00002368 + ...)), t = 1 / (1 + z / 2)
 * (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7): branch-free,
 * so it vectorises (libm's erff does not and was 13 % of a forward pass).
 * Absolute error vs the exact GELU < 1e-6 (tested), far inside the 1e-5
 * parity bound on the embeddings. Built for AVX-512, AVX2 and baseline; the
 * loader picks one at run time. */
__attribute__((target_clones("avx512f", "avx2", "default"),
               optimize("tree-vectorize", "vect-cost-model=dynamic"))) void
bert_gelu(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i], z = __builtin_fabsf(v) * (float)M_SQRT1_2;
    float t = 1.0f / (1.0f + 0.5f * z);
    float poly =
        -z * z - 1.26551223f +
        t * (1.00002368f +
             t * (0.37409196f +
                  t * (0.09678418f +
                       t * (-0.18628806f +
                            t * (0.27886807f + t * (-1.13520398f +
                                                    t * (1.48851587f + t * (-0.82215223f +
                                                                            t * 0.17087277f))))))));
    float erfc = t * exp_neg(poly);
    float erf = v >= 0 ? 1.0f - erfc : erfc - 1.0f;
    x[i] = 0.5f * v * (1.0f + erf);
  }
}

void bert_softmax(float *x, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    float *v = x + (size_t)r * (size_t)cols, mx = v[0];
    for (int i = 1; i < cols; i++)
      mx = v[i] > mx ? v[i] : mx;
    float sum = 0;
    for (int i = 0; i < cols; i++) {
      v[i] = exp_neg(v[i] - mx);
      sum += v[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < cols; i++)
      v[i] *= inv;
  }
}

void bert_attention(const float *q, const float *k, const float *v, float *ctx, int len, int ld,
                    int heads, int head_dim, float *scores) {
  float scale = 1.0f / sqrtf((float)head_dim);
  for (int h = 0; h < heads; h++) {
    int off = h * head_dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, head_dim, scale, q + off, ld,
                k + off, ld, 0.0f, scores, len);
    bert_softmax(scores, len, len);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, head_dim, len, 1.0f, scores, len,
                v + off, ld, 0.0f, ctx + off, ld);
  }
}

void bert_mean_pool_normalize(const float *x, int rows, int cols, float *out) {
  double norm = 0;
  for (int c = 0; c < cols; c++) {
    double s = 0;
    for (int r = 0; r < rows; r++)
      s += x[(size_t)r * (size_t)cols + (size_t)c];
    out[c] = (float)(s / rows);
  }
  for (int c = 0; c < cols; c++)
    norm += (double)out[c] * out[c];
  if (norm > 0) {
    /* torch.nn.functional.normalize: x / max(||x||, 1e-12) */
    float inv = (float)(1.0 / fmax(sqrt(norm), 1e-12));
    for (int c = 0; c < cols; c++)
      out[c] *= inv;
  }
}

/* Row counts up to which linear() splits for OpenBLAS' small kernels. */
#define SMALL_ROWS 64

/* y (rows x out) = x (rows x in) W^T + b, W being out x in as torch.nn.Linear
 * stores it; with residual, y += residual.
 *
 * Few rows (one short post): OpenBLAS would spend about as long packing the
 * whole weight matrix as multiplying. Its small-matrix kernels skip packing;
 * OpenBLAS 0.3.21 (Debian 12) permits them for a transposed A when
 * M x N x K <= 1e6 and M x N <= 1200, so such calls get column blocks that
 * fit (any other BLAS just runs the blocks), and bias/residual are added
 * after the product (beta = 0). The small kernels run on the calling thread
 * only, so the blocks of one call are spread over the BLAS thread count with
 * OpenMP: that is what brings a single post's latency down on several cores. */
static void linear(const float *x, int rows, int in, const float *w, const float *b, int out,
                   float *y, const float *residual) {
  int block = out, threads = 1;
  if ((double)rows * in * out > 1e6 && rows <= SMALL_ROWS) {
    int by_mnk = (int)(1e6 / ((double)rows * in)), by_mn = 1200 / rows;
    block = (by_mnk < by_mn ? by_mnk : by_mn) & ~15;
    block = block < 16 ? 16 : block;
    threads = openblas_get_num_threads();
  }
  int nblocks = (out + block - 1) / block;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && nblocks > 1)
  for (int i = 0; i < nblocks; i++) {
    int o = i * block, nb = out - o < block ? out - o : block;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nb, in, 1.0f, x, in,
                w + (size_t)o * (size_t)in, in, 0.0f, y + o, out);
  }
  for (int r = 0; r < rows; r++) {
    float *yr = y + (size_t)r * (size_t)out;
    const float *rr = residual ? residual + (size_t)r * (size_t)out : NULL;
    for (int i = 0; i < out; i++)
      yr[i] += b[i] + (rr ? rr[i] : 0.0f);
  }
}

int bert_embed(const bert_model_t *m, const int32_t *const *ids, const int *lens, int n, float *out,
               char *errstr, size_t errstr_size) {
  const bert_config_t *c = &m->cfg;
  const int H = c->hidden, IN = c->intermediate, hd = c->hidden / c->heads;
  size_t T = 0;
  int maxlen = 0;
  for (int s = 0; s < n; s++) {
    if (lens[s] < 1 || lens[s] > c->max_positions) {
      snprintf(errstr, errstr_size, "sequence %d: length %d outside 1..%d", s, lens[s],
               c->max_positions);
      return -1;
    }
    for (int i = 0; i < lens[s]; i++)
      if (ids[s][i] < 0 || ids[s][i] >= c->vocab_size) {
        snprintf(errstr, errstr_size, "sequence %d: token id %d outside the vocabulary", s,
                 (int)ids[s][i]);
        return -1;
      }
    T += (size_t)lens[s];
    maxlen = lens[s] > maxlen ? lens[s] : maxlen;
  }
  if (n == 0)
    return 0;
  /* Scratch for this call only (thread-safe): x, q, k, v, ctx, tmp: T x H;
   * inter: T x I; scores: maxlen^2. */
  size_t th = T * (size_t)H;
  float *buf = malloc((6 * th + T * (size_t)IN + (size_t)maxlen * (size_t)maxlen) * sizeof(float));
  if (!buf) {
    snprintf(errstr, errstr_size, "out of memory for a batch of %zu tokens", T);
    return -1;
  }
  float *x = buf, *q = x + th, *k = q + th, *v = k + th, *ctx = v + th, *tmp = ctx + th;
  float *inter = tmp + th, *scores = inter + T * (size_t)IN;

  /* Embeddings: word + position + token type 0 (single-segment input). */
  size_t t = 0;
  for (int s = 0; s < n; s++)
    for (int p = 0; p < lens[s]; p++, t++) {
      const float *we = m->word + (size_t)ids[s][p] * (size_t)H, *pe = m->pos + (size_t)p * H;
      for (int i = 0; i < H; i++)
        x[t * (size_t)H + (size_t)i] = we[i] + pe[i] + m->type[i];
    }
  bert_layer_norm(x, (int)T, H, m->eln_g, m->eln_b, c->eps);

  for (int l = 0; l < c->layers; l++) {
    const bert_layer_t *L = &m->layer[l];
    linear(x, (int)T, H, L->q_w, L->q_b, H, q, NULL);
    linear(x, (int)T, H, L->k_w, L->k_b, H, k, NULL);
    linear(x, (int)T, H, L->v_w, L->v_b, H, v, NULL);
    size_t o = 0;
    for (int s = 0; s < n; s++) {
      size_t at = o * (size_t)H;
      bert_attention(q + at, k + at, v + at, ctx + at, lens[s], H, c->heads, hd, scores);
      o += (size_t)lens[s];
    }
    linear(ctx, (int)T, H, L->ao_w, L->ao_b, H, tmp, x);
    bert_layer_norm(tmp, (int)T, H, L->aln_g, L->aln_b, c->eps);
    linear(tmp, (int)T, H, L->i_w, L->i_b, IN, inter, NULL);
    bert_gelu(inter, T * (size_t)IN);
    linear(inter, (int)T, IN, L->o_w, L->o_b, H, x, tmp);
    bert_layer_norm(x, (int)T, H, L->oln_g, L->oln_b, c->eps);
  }

  size_t o = 0;
  for (int s = 0; s < n; s++) {
    bert_mean_pool_normalize(x + o * (size_t)H, lens[s], H, out + (size_t)s * (size_t)H);
    o += (size_t)lens[s];
  }
  free(buf);
  return 0;
}
