/* weaviate_batch — the pure half of the Weaviate store: batch objects as
 * JSON, request bodies split by object count and bytes, the per-object
 * results of POST /v1/batch/objects and DELETE /v1/batch/objects, and what
 * an error message means (transient: retry; permanent: dead letter).
 *
 * Weaviate answers 200 even when single objects fail; each item of the
 * response array echoes its object and carries result.errors.error[].message
 * (and, from 1.2x, result.status FAILED).
 */
#ifndef SENSORY_WEAVIATE_BATCH_H
#define SENSORY_WEAVIATE_BATCH_H

#include <stddef.h>

#include "post_record.h"
#include "json/jsonf.h"

/* Bytes a request body adds around its objects: {"objects":[ ... ]}. */
#define WV_BATCH_OVERHEAD 14

/* Encodes row (not a deletion) as one batch object of class_name into
 * row->wire: {"class","id","vector","properties":{post_id, platform, content,
 * timestamp, engagement, hashtags, product_ids, model}}. Returns 0, or -1 on
 * allocation failure. */
int wv_encode_object(const char *class_name, post_row_t *row);

/* Appends to body (emptied first) the request of rows[0..k), where k is as
 * many rows as fit in max_objects objects and max_bytes bytes, and stores k
 * in *taken: 0 when rows[0] alone is over max_bytes (it can never be sent).
 * n >= 1. Returns 0, or -1 on allocation failure. */
int wv_batch_build(post_row_t *const *rows, size_t n, size_t max_objects, size_t max_bytes,
                   jsonf_buf_t *body, size_t *taken);

/* What became of one object. */
enum { WV_OK = 0, WV_TRANSIENT = 1, WV_PERMANENT = 2 };
typedef struct wv_result {
  int status;
  const char *error_class; /* static label for metrics ("property_type", "timeout", ...) */
  char message[400];       /* Weaviate's message, values redacted ("" when OK) */
} wv_result_t;

/* Reads the response of a batch create of rows[0..n) into results[0..n).
 * Items are matched by position, or by id when the echo differs. Returns 0,
 * or -1 with errstr when the body is not such a response (not an array, an
 * object missing): the caller treats the whole request as failed. */
int wv_batch_parse(const char *body, size_t len, post_row_t *const *rows, size_t n,
                   wv_result_t *results, char *errstr, size_t errstr_size);

/* Appends to body (emptied first) the batch deletion of ids[0..n) in
 * class_name (where id ContainsAny, output verbose). Returns 0 or -1. */
int wv_delete_build(const char *class_name, const char *const *ids, size_t n, jsonf_buf_t *body);

/* Reads a BatchDeleteResponse for ids[0..n) into results (ids it does not
 * list as FAILED are deleted, or were absent: both fine). Returns 0 or -1. */
int wv_delete_parse(const char *body, size_t len, const char *const *ids, size_t n,
                    wv_result_t *results, char *errstr, size_t errstr_size);

/* Classifies a Weaviate error message: WV_TRANSIENT (timeouts, unavailable
 * or read-only shards, replication, throttling, a class missing for a
 * moment) or WV_PERMANENT (the object itself: property types, vector
 * length, an invalid id, anything unrecognised). *label gets a static
 * metric label. */
int wv_error_classify(const char *message, const char **label);

/* Copies msg into out, replacing quoted values after "value" (Weaviate
 * quotes the offending value in some messages) with '…', so a dead letter
 * never repeats record data. */
void wv_error_redact(const char *msg, char *out, size_t out_size);

#endif
