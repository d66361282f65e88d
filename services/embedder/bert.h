/* bert — a BERT encoder (Hugging Face BertModel layout) with mean pooling and
 * L2 normalisation: the sentence-transformers all-MiniLM-L6-v2 pipeline after
 * tokenisation. Weights are read in place from model.safetensors (mapped);
 * matrix products go to BLAS (cblas_sgemm), everything else is here.
 *
 * A batch is packed without padding: the dense layers run over all tokens of
 * all sequences at once and attention runs per sequence over its own length,
 * so a text's vector cannot depend on what else is in its batch.
 */
#ifndef SENSORY_BERT_H
#define SENSORY_BERT_H

#include <stddef.h>
#include <stdint.h>

typedef struct bert_config {
  int vocab_size, hidden, layers, heads, intermediate, max_positions, type_vocab;
  float eps;
} bert_config_t;

typedef struct bert_model bert_model_t;

/* Loads dir/config.json and dir/model.safetensors, accepting tensor names
 * with or without the "bert." prefix, and checks every tensor's dtype (F32)
 * and shape against config.json. NULL + errstr naming the file and the tensor
 * at fault. Caller owns the result (bert_destroy). */
bert_model_t *bert_load(const char *dir, char *errstr, size_t errstr_size);

/* Frees m (unmaps the weights); NULL is accepted. */
void bert_destroy(bert_model_t *m);

/* The configuration read from config.json (owned by m). */
const bert_config_t *bert_config(const bert_model_t *m);

/* Embeds n token sequences (ids[i] has lens[i] ids, 1 <= lens[i] <=
 * max_positions, each id < vocab_size) into out (n x hidden floats, row i =
 * the L2-normalised mean of sequence i's last hidden states). Thread-safe
 * (m is read-only; scratch memory is per call). Returns 0, or -1 with errstr
 * on bad input or out of memory. */
int bert_embed(const bert_model_t *m, const int32_t *const *ids, const int *lens, int n, float *out,
               char *errstr, size_t errstr_size);

/* ---- building blocks, exposed for the per-layer unit tests ---- */

/* In place over rows x cols: y = (x - mean) / sqrt(var + eps) * g + b. */
void bert_layer_norm(float *x, int rows, int cols, const float *g, const float *b, float eps);

/* In place: x = 0.5 x (1 + erf(x / sqrt 2)) (the exact GELU BERT uses). */
void bert_gelu(float *x, size_t n);

/* In place softmax of each of rows rows of cols values. */
void bert_softmax(float *x, int rows, int cols);

/* Self-attention of one sequence of len tokens: q, k, v and ctx are len x
 * ld (row stride ld), heads of head_dim columns each; scores is scratch of
 * len x len floats. ctx = softmax(q k^T / sqrt(head_dim)) v per head. */
void bert_attention(const float *q, const float *k, const float *v, float *ctx, int len, int ld,
                    int heads, int head_dim, float *scores);

/* out (cols) = mean of the rows x cols block x, then scaled to unit L2 norm
 * (left as is when the norm is 0). */
void bert_mean_pool_normalize(const float *x, int rows, int cols, float *out);

#endif
