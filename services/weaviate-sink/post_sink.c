/* post_sink: the sink callbacks that join the stage to a post store, the
 * sink's settings, and the store's start-up (migrations or class check). */
#include "post_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "pg_store.h"
#include "post_record.h"
#include "post_store.h"
#include "weaviate_store.h"
#include "json/schema.h"

static const conf_entry_t entries[] = {
    {.key = "sink.backend",
     .env = "SINK_BACKEND",
     .type = CONF_STRING,
     .def = "postgres",
     .offset = offsetof(post_sink_config_t, backend),
     .doc = "where posts go: weaviate (production) or postgres (table social_posts, local)"},
    {.key = "weaviate.batch_objects",
     .env = "WEAVIATE_BATCH_OBJECTS",
     .type = CONF_INT,
     .def = "100",
     .offset = offsetof(post_sink_config_t, wv_batch_objects),
     .min = 1,
     .max = 10000,
     .doc = "most objects per POST /v1/batch/objects request"},
    {.key = "weaviate.max_request_bytes",
     .env = "WEAVIATE_MAX_REQUEST_BYTES",
     .type = CONF_INT,
     .def = "4194304",
     .offset = offsetof(post_sink_config_t, wv_max_request_bytes),
     .min = 16384,
     .max = 1073741824,
     .doc = "no request body exceeds this (an object alone over it is dead-lettered)"},
    {.key = "weaviate.object_retries",
     .env = "WEAVIATE_OBJECT_RETRIES",
     .type = CONF_INT,
     .def = "3",
     .offset = offsetof(post_sink_config_t, wv_object_retries),
     .min = 0,
     .max = 100,
     .doc = "resends of objects failing transiently before the whole batch is retried"},
    {.key = "weaviate.startup_wait_ms",
     .env = "WEAVIATE_STARTUP_WAIT_MS",
     .type = CONF_INT,
     .def = "60000",
     .offset = offsetof(post_sink_config_t, wv_startup_wait_ms),
     .min = 0,
     .max = 3600000,
     .doc = "how long start-up waits for Weaviate to answer the class check"},
    {0},
};

const conf_entry_t *post_sink_conf_entries(void) {
  return entries;
}

struct post_sink {
  const post_store_ops_t *ops;
  void *impl;
  schema_t *schema;
  post_metrics_t pm;
  metrics_histogram_t *batch_seconds;
  stage_sink_t stage;
};

void post_sink_destroy(post_sink_t *s) {
  if (!s)
    return;
  if (s->ops && s->impl)
    s->ops->destroy(s->impl);
  schema_destroy(s->schema);
  free(s);
}

static int prepare(void *ctx, stage_sink_record_t *rec) {
  post_sink_t *s = ctx;
  const stage_msg_t *m = rec->msg;
  post_row_t *row =
      post_row_from_record(s->schema, rec->doc, m ? m->key : NULL, m ? m->key_len : 0, rec->fail);
  if (!row && rec->fail->code)
    return STAGE_DEAD_LETTER;
  if (!row || s->ops->encode(s->impl, row) != 0) {
    /* Out of memory: prepare() cannot ask for a retry; the dead letter keeps
     * the record for dlq-replay. */
    post_row_free(row);
    rec->fail->code = "out_of_memory";
    snprintf(rec->fail->message, sizeof(rec->fail->message), "out of memory preparing the row");
    return STAGE_DEAD_LETTER;
  }
  rec->row = row;
  rec->row_bytes = row->wire_len ? row->wire_len : 64;
  return STAGE_OK;
}

static int write_batch(void *ctx, stage_sink_batch_t *batch) {
  post_sink_t *s = ctx;
  double t0 = clock_mono();
  int rc = s->ops->write(s->impl, batch);
  if (rc == STAGE_OK)
    metrics_histogram_observe(s->batch_seconds, clock_mono() - t0);
  return rc;
}

static int stored_offset(void *ctx, const char *topic, int32_t partition, int64_t *next) {
  post_sink_t *s = ctx;
  return s->ops->stored_offset(s->impl, topic, partition, next);
}

static void release(void *ctx, void *row) {
  (void)ctx;
  post_row_free(row);
}

/* Weaviate: the class check, retried while Weaviate does not answer. */
static void *open_weaviate(post_sink_t *s, const post_sink_config_t *c,
                           const weaviate_settings_t *ws, int *exit_code, char *errstr,
                           size_t errstr_size) {
  weaviate_t *w = weaviate_new(ws, "weaviate-sink/" SENSORY_VERSION, errstr, errstr_size);
  if (!w) {
    *exit_code = POST_SINK_BAD_CONFIG;
    return NULL;
  }
  wv_store_options_t o = {.batch_objects = (size_t)c->wv_batch_objects,
                          .max_request_bytes = (size_t)c->wv_max_request_bytes,
                          .object_retries = (int)c->wv_object_retries,
                          .metrics = &s->pm};
  wv_store_t *st = wv_store_new(w, &o, errstr, errstr_size);
  if (!st) {
    *exit_code = POST_SINK_UNAVAILABLE;
    return NULL;
  }
  double deadline = clock_mono() + (double)c->wv_startup_wait_ms / 1000.0;
  long pause = 250;
  for (;;) {
    int created = 0;
    int r = wv_store_ensure_schema(st, &created, errstr, errstr_size);
    if (r == WV_SCHEMA_OK) {
      log_event(LOG_LEVEL_INFO, "schema",
                json_pack("{s:s,s:b}", "class", ws->class_name, "created", created),
                created ? "created the class (vectorizer none)" : "class checked");
      return st;
    }
    if (r == WV_SCHEMA_CONFLICT || clock_mono() + (double)pause / 1000.0 > deadline) {
      *exit_code = r == WV_SCHEMA_CONFLICT ? POST_SINK_BAD_CONFIG : POST_SINK_UNAVAILABLE;
      wv_store_destroy(st);
      return NULL;
    }
    log_warn("schema", "Weaviate does not answer the class check yet: %s", errstr);
    post_sleep_ms(pause);
    pause = pause * 2 > 5000 ? 5000 : pause * 2;
  }
}

post_sink_t *post_sink_new(const post_sink_config_t *c, const char *contract,
                           const weaviate_settings_t *ws, const pg_settings_t *ps,
                           const char *group, metrics_t *m, int *exit_code, char *errstr,
                           size_t errstr_size) {
  *exit_code = POST_SINK_BAD_CONFIG;
  int weaviate = strcmp(c->backend, "weaviate") == 0;
  if (!weaviate && strcmp(c->backend, "postgres") != 0) {
    snprintf(errstr, errstr_size,
             "sink.backend (SINK_BACKEND): '%.32s' is not weaviate or "
             "postgres",
             c->backend);
    return NULL;
  }
  if (weaviate && weaviate_settings_check(ws, errstr, errstr_size) != 0)
    return NULL;
  post_sink_t *s = calloc(1, sizeof(*s)); /* caller owns: post_sink_destroy() */
  if (!s) {
    snprintf(errstr, errstr_size, "out of memory");
    *exit_code = POST_SINK_UNAVAILABLE;
    return NULL;
  }
  if (!(s->schema = schema_load_file(contract, errstr, errstr_size))) {
    post_sink_destroy(s);
    return NULL;
  }
  s->pm.m = m;
  s->pm.written =
      metrics_counter(m, "objects_written_total", "objects upserted in the store", NULL, NULL);
  s->pm.deleted =
      metrics_counter(m, "objects_deleted_total", "objects deleted by tombstones", NULL, NULL);
  s->pm.retries = metrics_counter(
      m, "store_retries_total", "requests or transactions the store had to try again", NULL, NULL);
  s->batch_seconds =
      metrics_histogram(m, "batch_seconds", "time to write one batch to the store", NULL, NULL);
  if (weaviate) {
    s->ops = &wv_store_ops;
    s->impl = open_weaviate(s, c, ws, exit_code, errstr, errstr_size);
  } else {
    s->ops = &pg_store_ops;
    pg_store_options_t o = {.sink_name = group, .metrics = &s->pm};
    s->impl = pg_store_new(ps, &o, errstr, errstr_size);
    *exit_code = POST_SINK_UNAVAILABLE;
  }
  if (!s->impl) {
    post_sink_destroy(s);
    return NULL;
  }
  *exit_code = POST_SINK_OK;
  s->stage = (stage_sink_t){.prepare = prepare,
                            .write = write_batch,
                            .stored_offset = s->ops->stored_offset ? stored_offset : NULL,
                            .release = release};
  return s;
}

void post_sink_stage(post_sink_t *s, stage_sink_t *out) {
  *out = s->stage;
}
