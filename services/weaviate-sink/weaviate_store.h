/* weaviate_store — the weaviate backend: POST /v1/batch/objects with
 * consistency_level, requests split by weaviate.batch_objects and
 * weaviate.max_request_bytes, per-object results (transient errors retried
 * up to weaviate.object_retries times, then the whole batch is handed back
 * for the stage to retry; permanent ones dead-lettered with Weaviate's
 * message), deletions with DELETE /v1/batch/objects (id ContainsAny), and
 * the class check/creation at start. 5xx, timeouts and dropped connections
 * (after the HTTP client's quick retries) hand the batch back: ids make a
 * resend safe. 401/403 stop the program (STAGE_FATAL): a rotated key is read
 * again at the restart.
 */
#ifndef SENSORY_WEAVIATE_STORE_H
#define SENSORY_WEAVIATE_STORE_H

#include "post_store.h"
#include "store/weaviate.h"

typedef struct wv_store_options {
  size_t batch_objects;     /* most objects per request */
  size_t max_request_bytes; /* most bytes per request body */
  int object_retries;       /* resends of transiently failed objects within a write */
  int retry_backoff_ms;     /* first pause before such a resend (doubles) */
  post_metrics_t *metrics;  /* may be NULL */
  post_reject_fn reject;    /* NULL: stage_sink_reject */
} wv_store_options_t;

typedef struct wv_store wv_store_t;

/* A store over client w (taken over: freed with the store, also on
 * failure). Does not talk to Weaviate. Caller owns the result
 * (wv_store_destroy); NULL with errstr. */
wv_store_t *wv_store_new(weaviate_t *w, const wv_store_options_t *o, char *errstr,
                         size_t errstr_size);
void wv_store_destroy(wv_store_t *s);

enum { WV_SCHEMA_OK = 0, WV_SCHEMA_UNREACHABLE = -1, WV_SCHEMA_CONFLICT = -2 };

/* GET /v1/schema/{class}: creates the class when missing, adds missing
 * properties, refuses a conflicting class. Returns WV_SCHEMA_OK,
 * WV_SCHEMA_UNREACHABLE (errstr: why; worth retrying) or WV_SCHEMA_CONFLICT
 * (errstr: what conflicts; the program must not start). *created (may be
 * NULL) is set to 1 when the class was created. */
int wv_store_ensure_schema(wv_store_t *s, int *created, char *errstr, size_t errstr_size);

/* The backend operations (impl is a wv_store_t). */
extern const post_store_ops_t wv_store_ops;

#endif
