/* embedder — the embedder's transform: an enriched.social post in, one
 * vector_record out (topic sink.weaviate.vectors), the vector being the
 * all-MiniLM-L6-v2 sentence embedding of enriched_text computed in C
 * (tokenizer.c, bert.c). Pure: no Kafka and no I/O after embedder_new().
 *
 * Record id: UUIDv5(EMBEDDER_UUID_NAMESPACE, post_id), so a re-delivered post
 * overwrites its vector. The namespace is itself UUIDv5(NAMESPACE_URL,
 * "https://sensory.dev/ns/social-post") =
 * 51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7; any consumer can recompute an id
 * with python's uuid.uuid5(uuid.UUID("51cb6ffd-..."), post_id).
 *
 * Dead letters: schema (input breaks enriched_post.json), empty_text
 * (enriched_text has no token: empty or whitespace/control characters only).
 * Texts over max_tokens are truncated (as sentence-transformers does) and
 * counted in embedder_truncated_total.
 *
 * Not thread-safe: one stage thread drives an embedder (BLAS uses the cores).
 */
#ifndef SENSORY_EMBEDDER_H
#define SENSORY_EMBEDDER_H

#include <stddef.h>
#include <stdint.h>

#include "net/metrics.h"
#include "stage/stage.h"

#define EMBEDDER_UUID_NAMESPACE "51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7"
#define EMBEDDER_OUTPUT_TOPIC "sink.weaviate.vectors"

typedef struct embedder_options {
  const char *model_dir;   /* config.json, vocab.txt, model.safetensors */
  const char *model_id;    /* written in every record, part of the cache key */
  const char *schemas_dir; /* enriched_post.json; NULL: no input validation */
  int max_tokens;          /* 0: 256 (all-MiniLM-L6-v2's max_seq_length) */
  int batch_tokens;        /* tokens per forward pass; 0: 8192 */
  size_t cache_entries;    /* 0: no cache */
  metrics_t *metrics;      /* may be NULL */
} embedder_options_t;

typedef struct embedder embedder_t;

/* Loads the model directory and (when given) the input schema. NULL + errstr
 * naming the file and, for a malformed model, the tensor. Caller owns the
 * result (embedder_destroy); opts' strings are copied, metrics is borrowed. */
embedder_t *embedder_new(const embedder_options_t *opts, char *errstr, size_t errstr_size);

/* Frees e; NULL is accepted. */
void embedder_destroy(embedder_t *e);

/* Vector length (hidden size of the model, 384 for all-MiniLM-L6-v2). */
int embedder_dim(const embedder_t *e);

/* Embeds n UTF-8 texts (lens[i] bytes each; lens may be NULL for
 * NUL-terminated texts) into out (n x embedder_dim floats, unit length),
 * using the cache and one forward pass per batch_tokens tokens. truncated
 * (may be NULL) receives per text 1 when it was cut to max_tokens. Returns 0,
 * or -1 with errstr (out of memory). */
int embedder_embed_batch(embedder_t *e, const char *const *texts, const size_t *lens, size_t n,
                         float *out, int *truncated, char *errstr, size_t errstr_size);

/* One message of a batch: the parsed enriched post (borrowed), where its
 * record goes, and what becomes of it. Mirrors the stage's batch item so the
 * transform does not depend on how the stage loop batches. */
typedef struct embedder_item {
  json_t *doc;
  stage_out_t *out;
  stage_fail_t *fail;
  int status; /* set: STAGE_OK (one record emitted), STAGE_DEAD_LETTER (fail
               * filled) or STAGE_RETRY (out of memory) */
} embedder_item_t;

/* Transforms a batch with one forward pass per batch_tokens tokens. */
void embedder_transform_items(embedder_t *e, embedder_item_t *items, size_t n);

/* The stage's batch hook (stage_batch_fn; ctx is the embedder): one forward
 * pass per batch_tokens tokens for the whole batch. Items map one to one. */
void embedder_transform_batch(void *ctx, stage_batch_item_t *items, size_t n);

/* Stage transform for one message (a batch of one). */
int embedder_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                       stage_fail_t *fail);

/* Writes the UUIDv5 (RFC 4122 §4.3, SHA-1) of name in namespace ns (16
 * bytes) as 36 characters + NUL into out. */
void embedder_uuid5(const uint8_t ns[16], const char *name, size_t len, char out[37]);

/* The namespace bytes of EMBEDDER_UUID_NAMESPACE. */
extern const uint8_t embedder_uuid_namespace[16];

#endif
