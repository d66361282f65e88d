/* post_store — the store interface of weaviate-sink: one object (row) per
 * post, upserted by its UUIDv5 id, deleted by a tombstone. Two backends,
 * chosen by sink.backend: weaviate (REST batches, production) and postgres
 * (the social_posts table, the local default). Both give a batch the same
 * meaning: records apply in consumption order, so only the last operation
 * on an id decides what the store holds — unless that operation is
 * rejected for good, in which case the one before it does.
 */
#ifndef SENSORY_POST_STORE_H
#define SENSORY_POST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "net/metrics.h"
#include "post_record.h"
#include "stage/stage.h"

/* The counters every backend updates (each may be NULL). */
typedef struct post_metrics {
  metrics_t *m;
  metrics_counter_t *written; /* objects upserted */
  metrics_counter_t *deleted; /* tombstones applied */
  metrics_counter_t *retries; /* a request or transaction tried again */
} post_metrics_t;

/* Counts one per-object error under its message class ("property_type",
 * "timeout", "22P02", ...; a static or bounded label, never a value). */
void post_metrics_error(post_metrics_t *pm, const char *error_class);

/* A backend. */
typedef struct post_store_ops {
  const char *name; /* "weaviate", "postgres" */
  /* Sets row->wire (the backend's encoding). 0, or -1 on allocation failure. */
  int (*encode)(void *impl, post_row_t *row);
  /* The stage's write(): records[i].row are post_row_t. */
  int (*write)(void *impl, stage_sink_batch_t *batch);
  /* The stage's stored_offset(), or NULL when the store keeps no offsets. */
  int (*stored_offset)(void *impl, const char *topic, int32_t partition, int64_t *next_offset);
  void (*destroy)(void *impl);
} post_store_ops_t;

/* How a store dead-letters record i of a batch: stage_sink_reject() (tests
 * pass their own). Returns 0 when the dead letter is durable, else -1. */
typedef int (*post_reject_fn)(stage_sink_batch_t *batch, size_t i);

/* Rejects record i for good: fills its fail (code "store_rejected", message
 * "<backend>: <message>", no values) and dead-letters it through reject
 * (NULL: stage_sink_reject). Returns 0, or -1 when the dead letter could not
 * be made durable: the store must not commit and returns STAGE_RETRY. */
int post_store_reject(post_reject_fn reject, stage_sink_batch_t *batch, size_t i,
                      const char *backend, const char *message);

/* Sleeps ms milliseconds (resumed after signals). */
void post_sleep_ms(long ms);

#endif
