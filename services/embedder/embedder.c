#include "embedder.h"

#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bert.h"
#include "core/uuid.h"
#include "tokenizer.h"
#include "json/schema.h"

const uint8_t embedder_uuid_namespace[16] = {0x51, 0xcb, 0x6f, 0xfd, 0x13, 0x12, 0x5f, 0x7b,
                                             0x8e, 0xa3, 0xb4, 0x24, 0x2f, 0xe1, 0xbf, 0xe7};

/* One cached vector: two independent 64-bit hashes of (model id, text) make
 * a 128-bit key, so a collision (a wrong vector served silently) is not a
 * practical concern; the table is direct-mapped: bounded, O(1), no LRU
 * bookkeeping — a replay or a duplicate post shortly after is what it is for. */
typedef struct cache_key {
  uint64_t h1, h2;
} cache_key_t;

struct embedder {
  tokenizer_t *tok;
  bert_model_t *model;
  schema_t *schema; /* NULL: no input validation */
  char *model_id;
  int max_tokens, batch_tokens, dim;
  size_t cache_cap;
  cache_key_t *cache_keys; /* cache_cap entries, {0,0} = empty (owned) */
  float *cache_vecs;       /* cache_cap x dim (owned) */
  metrics_counter_t *m_truncated, *m_hits, *m_misses, *m_empty, *m_tokens;
  metrics_histogram_t *m_forward;
};

void embedder_destroy(embedder_t *e) {
  if (!e)
    return;
  tokenizer_destroy(e->tok);
  bert_destroy(e->model);
  schema_destroy(e->schema);
  free(e->model_id);
  free(e->cache_keys);
  free(e->cache_vecs);
  free(e);
}

int embedder_dim(const embedder_t *e) {
  return e->dim;
}

embedder_t *embedder_new(const embedder_options_t *o, char *errstr, size_t errstr_size) {
  embedder_t *e = calloc(1, sizeof(*e)); /* caller owns: embedder_destroy() */
  char path[4096];
  if (!e || !(e->model_id = strdup(o->model_id ? o->model_id : "all-MiniLM-L6-v2"))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  /* vocab.txt as published; tokenizer.json when a directory has only that. */
  int use_json = 0;
  snprintf(path, sizeof(path), "%s/tokenizer.json", o->model_dir);
  use_json = access(path, F_OK) == 0;
  snprintf(path, sizeof(path), "%s/vocab.txt", o->model_dir);
  if (use_json && access(path, F_OK) == 0)
    use_json = 0;
  else if (use_json)
    snprintf(path, sizeof(path), "%s/tokenizer.json", o->model_dir);
  e->tok = use_json ? tokenizer_load_json(path, errstr, errstr_size)
                    : tokenizer_load(path, errstr, errstr_size);
  if (!e->tok)
    goto fail;
  if (!(e->model = bert_load(o->model_dir, errstr, errstr_size)))
    goto fail;
  const bert_config_t *c = bert_config(e->model);
  if (tokenizer_vocab_size(e->tok) != (size_t)c->vocab_size) {
    snprintf(errstr, errstr_size, "%s: %zu tokens but config.json vocab_size is %d", path,
             tokenizer_vocab_size(e->tok), c->vocab_size);
    goto fail;
  }
  e->dim = c->hidden;
  e->max_tokens = o->max_tokens > 0 ? o->max_tokens : 256;
  if (e->max_tokens > c->max_positions)
    e->max_tokens = c->max_positions;
  if (e->max_tokens < 2) {
    snprintf(errstr, errstr_size, "max tokens must be >= 2");
    goto fail;
  }
  e->batch_tokens = o->batch_tokens > 0 ? o->batch_tokens : 8192;
  if (o->schemas_dir) {
    snprintf(path, sizeof(path), "%s/enriched_post.json", o->schemas_dir);
    if (!(e->schema = schema_load_file(path, errstr, errstr_size)))
      goto fail;
  }
  if ((e->cache_cap = o->cache_entries) > 0) {
    e->cache_keys = calloc(e->cache_cap, sizeof(*e->cache_keys));
    e->cache_vecs = malloc(e->cache_cap * (size_t)e->dim * sizeof(float));
    if (!e->cache_keys || !e->cache_vecs) {
      snprintf(errstr, errstr_size, "out of memory for %zu cache entries", e->cache_cap);
      goto fail;
    }
  }
  metrics_t *m = o->metrics;
  e->m_truncated = metrics_counter(m, "truncated_total",
                                   "texts cut to the model's maximum sequence length", NULL, NULL);
  e->m_hits = metrics_counter(m, "cache_hits_total", "vectors served from the cache", NULL, NULL);
  e->m_misses = metrics_counter(m, "cache_misses_total", "vectors computed", NULL, NULL);
  e->m_empty =
      metrics_counter(m, "empty_text_total", "posts without any token (dead-lettered)", NULL, NULL);
  e->m_tokens = metrics_counter(m, "tokens_total", "tokens run through the model", NULL, NULL);
  e->m_forward =
      metrics_histogram(m, "forward_seconds", "time of one model forward pass", NULL, NULL);
  return e;
fail:
  embedder_destroy(e);
  return NULL;
}

/* ---- cache ----------------------------------------------------------- */

static cache_key_t cache_key(const embedder_t *e, const char *text, size_t len) {
  /* FNV-1a and a multiply-xorshift hash with different seeds over
   * model id, a separator, then the text. */
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  const char *parts[2] = {e->model_id, text};
  size_t lens[2] = {strlen(e->model_id) + 1, len};
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < lens[p]; i++) {
      unsigned char ch = (unsigned char)parts[p][i];
      a = (a ^ ch) * 1099511628211ull;
      b = (b ^ ch) * 0xff51afd7ed558ccdull;
      b ^= b >> 29;
    }
  cache_key_t k = {a, b | 1}; /* h2 never 0: {0,0} marks an empty slot */
  return k;
}

/* ---- embedding --------------------------------------------------------- */

/* Runs the model over the listed sequences in chunks of at most batch_tokens
 * tokens; row j of the result goes to out + rows[j] * dim. */
static int forward(embedder_t *e, int32_t **ids, int *lens, const size_t *rows, size_t n,
                   float *out, char *errstr, size_t errstr_size) {
  float *tmp = malloc((n ? n : 1) * (size_t)e->dim * sizeof(float));
  if (!tmp) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  size_t i = 0;
  while (i < n) {
    size_t j = i, tokens = 0;
    while (j < n && (j == i || tokens + (size_t)lens[j] <= (size_t)e->batch_tokens))
      tokens += (size_t)lens[j++];
    double t0 = clock_mono();
    if (bert_embed(e->model, (const int32_t *const *)(ids + i), lens + i, (int)(j - i),
                   tmp + i * (size_t)e->dim, errstr, errstr_size) != 0) {
      free(tmp);
      return -1;
    }
    metrics_histogram_observe(e->m_forward, clock_mono() - t0);
    metrics_counter_add(e->m_tokens, tokens);
    i = j;
  }
  for (size_t k = 0; k < n; k++)
    memcpy(out + rows[k] * (size_t)e->dim, tmp + k * (size_t)e->dim,
           (size_t)e->dim * sizeof(float));
  free(tmp);
  return 0;
}

int embedder_embed_batch(embedder_t *e, const char *const *texts, const size_t *lens, size_t n,
                         float *out, int *truncated, char *errstr, size_t errstr_size) {
  int rc = -1;
  size_t nmiss = 0, dim = (size_t)e->dim;
  int32_t *idbuf = malloc((n ? n : 1) * (size_t)e->max_tokens * sizeof(int32_t));
  int32_t **ids = malloc((n ? n : 1) * sizeof(*ids));
  int *nids = malloc((n ? n : 1) * sizeof(*nids));
  size_t *rows = malloc((n ? n : 1) * sizeof(*rows));
  cache_key_t *keys = malloc((n ? n : 1) * sizeof(*keys));
  if (!idbuf || !ids || !nids || !rows || !keys) {
    snprintf(errstr, errstr_size, "out of memory for a batch of %zu", n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    size_t len = lens ? lens[i] : strlen(texts[i]);
    if (truncated)
      truncated[i] = 0;
    if (e->cache_cap) {
      keys[i] = cache_key(e, texts[i], len);
      size_t slot = keys[i].h1 % e->cache_cap;
      if (e->cache_keys[slot].h1 == keys[i].h1 && e->cache_keys[slot].h2 == keys[i].h2) {
        memcpy(out + i * dim, e->cache_vecs + slot * dim, dim * sizeof(float));
        metrics_counter_add(e->m_hits, 1);
        continue;
      }
    }
    int trunc = 0;
    int32_t *dst = idbuf + nmiss * (size_t)e->max_tokens;
    int k = tokenizer_encode(e->tok, texts[i], len, dst, (size_t)e->max_tokens, &trunc);
    if (k < 0) {
      snprintf(errstr, errstr_size, "out of memory tokenizing");
      goto out;
    }
    if (trunc) {
      metrics_counter_add(e->m_truncated, 1);
      if (truncated)
        truncated[i] = 1;
    }
    ids[nmiss] = dst;
    nids[nmiss] = k;
    rows[nmiss++] = i;
  }
  metrics_counter_add(e->m_misses, nmiss);
  if (nmiss && forward(e, ids, nids, rows, nmiss, out, errstr, errstr_size) != 0)
    goto out;
  for (size_t j = 0; e->cache_cap && j < nmiss; j++) {
    size_t i = rows[j], slot = keys[i].h1 % e->cache_cap;
    e->cache_keys[slot] = keys[i];
    memcpy(e->cache_vecs + slot * dim, out + i * dim, dim * sizeof(float));
  }
  rc = 0;
out:
  free(idbuf);
  free(ids);
  free(nids);
  free(rows);
  free(keys);
  return rc;
}

/* ---- records ----------------------------------------------------------- */

void embedder_uuid5(const uint8_t ns[16], const char *name, size_t len, char out[37]) {
  uuid_v5(ns, name, len, out);
}

static void fail_set(stage_fail_t *fail, const char *code, const char *path, const char *msg) {
  fail->code = code;
  snprintf(fail->message, sizeof(fail->message), "%s", msg);
  snprintf(fail->path, sizeof(fail->path), "%s", path);
}

/* Checks one input; returns 0 or -1 with fail filled. */
static int check_input(const embedder_t *e, json_t *doc, stage_fail_t *fail) {
  char err[512];
  if (e->schema && schema_validate(e->schema, doc, err, sizeof(err)) != 0) {
    const char *colon = strstr(err, ": ");
    fail_set(fail, "schema", "", err);
    if (colon && (size_t)(colon - err) < sizeof(fail->path))
      snprintf(fail->path, sizeof(fail->path), "%.*s", (int)(colon - err), err);
    return -1;
  }
  if (!json_is_string(json_object_get(doc, "enriched_text")) ||
      !json_is_string(json_object_get(doc, "post_id"))) {
    fail_set(fail, "schema", "/enriched_text", "post_id and enriched_text must be strings");
    return -1;
  }
  return 0;
}

/* Builds and emits the vector_record of doc. */
static int emit_record(const embedder_t *e, json_t *doc, const float *vec, stage_out_t *out) {
  json_t *pid = json_object_get(doc, "post_id");
  char id[37];
  embedder_uuid5(embedder_uuid_namespace, json_string_value(pid), json_string_length(pid), id);
  json_t *v = json_array();
  for (int i = 0; v && i < e->dim; i++)
    if (json_array_append_new(v, json_real(vec[i])) != 0) {
      json_decref(v);
      v = NULL;
    }
  /* What the vector store shows and filters on besides the vector: the
   * pseudonymised content, hashtags and mentioned product ids (never an
   * author hash or any other identifier). */
  json_t *tags = json_object_get(doc, "hashtags"), *pids = json_object_get(doc, "product_mentions");
  json_t *rec = json_pack(
      "{s:s, s:O, s:s, s:o?, s:O, s:O*, s:O*, s:O*, s:O*, s:o, s:o}", "id", id, "post_id", pid,
      "model", e->model_id, "vector", v, "enriched_text", json_object_get(doc, "enriched_text"),
      "platform", json_object_get(doc, "platform"), "timestamp", json_object_get(doc, "timestamp"),
      "engagement", json_object_get(doc, "engagement_count"), "content",
      json_object_get(doc, "content"), "hashtags", tags ? json_incref(tags) : json_array(),
      "product_ids", pids ? json_incref(pids) : json_array());
  if (!rec || !v)
    return -1;
  /* 9 significant digits round-trip every float32 exactly. */
  char *s = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(9));
  json_decref(rec);
  if (!s)
    return -1;
  return stage_emit_owned(out, STAGE_OUTPUT_PRIMARY, EMBEDDER_OUTPUT_TOPIC, json_string_value(pid),
                          json_string_length(pid), s, strlen(s));
}

/* Whether text has any token: a text of whitespace and control characters
 * only has none. Checked before the forward pass (cheap: stops at the first
 * token), so such posts never reach the model. */
static int has_tokens(const embedder_t *e, const char *text, size_t len) {
  int32_t ids[3];
  return tokenizer_encode(e->tok, text, len, ids, 3, NULL) != 2;
}

void embedder_transform_items(embedder_t *e, embedder_item_t *items, size_t n) {
  const char **texts = calloc(n ? n : 1, sizeof(*texts));
  size_t *lens = calloc(n ? n : 1, sizeof(*lens)), *idx = calloc(n ? n : 1, sizeof(*idx));
  float *vecs = malloc((n ? n : 1) * (size_t)e->dim * sizeof(float));
  size_t m = 0;
  char err[256];
  if (!texts || !lens || !idx || !vecs) {
    /* Out of memory: stop (the pod restarts); dead-lettering good posts is wrong,
     * and it is not a dependency outage to wait out. */
    for (size_t i = 0; i < n; i++)
      items[i].status = STAGE_FATAL;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    embedder_item_t *it = &items[i];
    it->status = STAGE_DEAD_LETTER;
    if (check_input(e, it->doc, it->fail) != 0)
      continue;
    json_t *t = json_object_get(it->doc, "enriched_text");
    if (!has_tokens(e, json_string_value(t), json_string_length(t))) {
      metrics_counter_add(e->m_empty, 1);
      fail_set(it->fail, "empty_text", "/enriched_text",
               "enriched_text has no token (empty, whitespace or control characters only)");
      continue;
    }
    texts[m] = json_string_value(t);
    lens[m] = json_string_length(t);
    idx[m++] = i;
  }
  if (embedder_embed_batch(e, texts, lens, m, vecs, NULL, err, sizeof(err)) != 0) {
    for (size_t j = 0; j < m; j++)
      items[idx[j]].status = STAGE_FATAL;
    goto out;
  }
  for (size_t j = 0; j < m; j++) {
    embedder_item_t *it = &items[idx[j]];
    it->status =
        emit_record(e, it->doc, vecs + j * (size_t)e->dim, it->out) == 0 ? STAGE_OK : STAGE_FATAL;
  }
out:
  free(texts);
  free(lens);
  free(idx);
  free(vecs);
}

/* The embedder's item type keeps the transform independent of the stage's
 * batching details; chunks of 64 keep the copies on the stack. */
void embedder_transform_batch(void *ctx, stage_batch_item_t *items, size_t n) {
  enum { CHUNK = 64 };
  embedder_item_t mine[CHUNK];
  for (size_t at = 0; at < n; at += CHUNK) {
    size_t k = n - at < CHUNK ? n - at : CHUNK;
    for (size_t i = 0; i < k; i++)
      mine[i] = (embedder_item_t){items[at + i].doc, items[at + i].out, items[at + i].fail, 0};
    embedder_transform_items(ctx, mine, k);
    for (size_t i = 0; i < k; i++)
      items[at + i].status = mine[i].status;
  }
}

int embedder_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                       stage_fail_t *fail) {
  (void)msg;
  embedder_item_t it = {.doc = doc, .out = out, .fail = fail};
  embedder_transform_items(ctx, &it, 1);
  return it.status;
}
