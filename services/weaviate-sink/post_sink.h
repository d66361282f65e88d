/* post_sink — weaviate-sink's settings and the stage's sink callbacks:
 * prepare() checks a vector record (or deletion) and encodes it for the
 * store chosen by sink.backend, write() hands the batch to that store and
 * times it, stored_offset() asks the store (postgres keeps offsets with the
 * rows), release() frees a row.
 *
 * Metrics (prefix weaviate_sink_): objects_written_total,
 * objects_deleted_total, object_errors_total{class}, store_retries_total,
 * batch_seconds; the stage exports consumer lag and dead letters.
 */
#ifndef SENSORY_POST_SINK_H
#define SENSORY_POST_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "net/metrics.h"
#include "stage/stage.h"
#include "store/pg.h"
#include "store/weaviate.h"

typedef struct post_sink_config {
  char *backend; /* weaviate | postgres */
  int64_t wv_batch_objects, wv_max_request_bytes, wv_object_retries, wv_startup_wait_ms;
} post_sink_config_t;

/* The sink's own settings table (static storage). */
const conf_entry_t *post_sink_conf_entries(void);

typedef struct post_sink post_sink_t;

enum { POST_SINK_OK = 0, POST_SINK_BAD_CONFIG = 2, POST_SINK_UNAVAILABLE = 1 };

/* Loads the contract (the path of vector_record.json), opens the store (postgres: connect and
 * migrate; weaviate: check or create the class, waiting up to wv_startup_wait_ms for Weaviate to
 * answer). group names the offsets the postgres store keeps. Returns the sink, or NULL with errstr
 * and *exit_code: POST_SINK_BAD_CONFIG (bad settings, a conflicting class: do not start) or
 * POST_SINK_UNAVAILABLE (the store did not answer). Caller owns the result. */
post_sink_t *post_sink_new(const post_sink_config_t *c, const char *contract,
                           const weaviate_settings_t *ws, const pg_settings_t *ps,
                           const char *group, metrics_t *m, int *exit_code, char *errstr,
                           size_t errstr_size);

/* Fills the stage's sink callbacks (ctx: the post_sink); the thresholds are the
 * sink.batch_* settings (app_sink_limits). */
void post_sink_stage(post_sink_t *s, stage_sink_t *out);

void post_sink_destroy(post_sink_t *s);

#endif
