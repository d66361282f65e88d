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

/* Marks rec rejected for good by the store: a dead letter with code
 * "store_rejected" and "<backend>: <message>" (message without values). */
void post_store_reject(stage_sink_record_t *rec, const char *backend, const char *message);

/* Sleeps ms milliseconds (resumed after signals). */
void post_sleep_ms(long ms);

#endif
