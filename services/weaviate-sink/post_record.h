/* post_record — one vector record (schemas/vector_record.json) as the stores
 * see it: checked, with its object id, or a deletion.
 *
 * Deletions: a Kafka tombstone (null value, key = post_id) or, on --stdio,
 * where every line carries a value, the explicit record
 *   {"post_id": "<id>", "deleted": true}
 * Either deletes the post's object: id = UUIDv5(EMBEDDER namespace, post_id),
 * exactly as the embedder computes it.
 *
 * Dead letters (code, message never quoting values): schema (the record
 * breaks the contract), invalid_id (id is not the UUIDv5 of post_id — a
 * redelivery would not overwrite it, a tombstone would not find it),
 * no_key (a tombstone without a key).
 */
#ifndef SENSORY_POST_RECORD_H
#define SENSORY_POST_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "stage/stage.h"
#include "json/schema.h"

/* 51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7: the namespace of every post id
 * (see services/embedder/embedder.h). */
extern const uint8_t post_uuid_namespace[16];

typedef struct post_row {
  int deleted;           /* 1: delete the object (only id and post_id are set) */
  char id[UUID_STR_LEN]; /* canonical lower-case UUIDv5 of post_id */
  const char *post_id;   /* borrowed from the record or the Kafka key */
  size_t post_id_len;
  const char *platform; /* borrowed strings of the record (valid with it) */
  const char *content;  /* the record's content, else its enriched_text */
  const char *model;
  const char *timestamp;   /* RFC 3339 as given */
  const json_t *doc;       /* the record (borrowed; NULL for a deletion) */
  const json_t *content_v; /* the JSON value content points into */
  const json_t *hashtags;  /* arrays of strings, or NULL for none */
  const json_t *product_ids;
  int64_t engagement;
  float *vector; /* owned; dim floats */
  size_t dim;
  char *wire; /* the store's encoding of the row (owned), set by the store */
  size_t wire_len;
} post_row_t;

/* Maps one consumed record to a row. doc is the parsed record (NULL for a
 * tombstone, which takes its post_id from key/key_len); schema (may be
 * NULL) is vector_record.json. Returns a new row (caller frees with
 * post_row_free), or NULL with fail filled (a dead letter), or NULL with
 * fail->code NULL on allocation failure. */
post_row_t *post_row_from_record(const schema_t *schema, const json_t *doc, const char *key,
                                 size_t key_len, stage_fail_t *fail);

/* Frees a row and what it owns; NULL is accepted. */
void post_row_free(post_row_t *row);

/* Writes text that reads back as exactly f (9 significant digits) into out
 * (>= 24 bytes, NUL-terminated); returns its length. */
size_t post_float_text(float f, char *out);

#endif
