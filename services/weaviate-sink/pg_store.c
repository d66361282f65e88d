/* pg_store: social_posts in PostgreSQL — migrations, COPY encoding, the
 * batch transaction with its offsets, and isolating rejected rows. */
#include "pg_store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/uuid.h"
#include "post_plan.h"

static const pg_migration_t migrations[] = {
    {.version = 1,
     .name = "social_posts",
     .sql = "CREATE TABLE IF NOT EXISTS social_posts (\n"
            "  id uuid PRIMARY KEY,\n"
            "  post_id text NOT NULL,\n"
            "  platform text NOT NULL,\n"
            "  content text NOT NULL,\n"
            "  hashtags text[] NOT NULL DEFAULT '{}',\n"
            "  product_ids text[] NOT NULL DEFAULT '{}',\n"
            "  engagement bigint NOT NULL CHECK (engagement >= 0),\n"
            "  event_time timestamptz NOT NULL,\n"
            "  model text NOT NULL,\n"
            "  vector real[384] NOT NULL,\n"
            "  vector_f32 bytea NOT NULL,\n"
            "  tsv tsvector NOT NULL,\n"
            "  ingested_at timestamptz NOT NULL DEFAULT now(),\n"
            "  kafka_topic text,\n"
            "  kafka_partition integer,\n"
            "  kafka_offset bigint\n"
            ");\n"
            /* Floats do not compress: never try. The search scans vector_f32,
             * so keep it in the heap page; real[] may move to TOAST. */
            "ALTER TABLE social_posts ALTER COLUMN vector SET STORAGE EXTERNAL,\n"
            "  ALTER COLUMN vector_f32 SET STORAGE MAIN;\n"
            "CREATE INDEX IF NOT EXISTS social_posts_tsv_idx ON social_posts USING gin (tsv);\n"
            "CREATE INDEX IF NOT EXISTS social_posts_event_time_idx ON social_posts (event_time);\n"
            "CREATE INDEX IF NOT EXISTS social_posts_post_id_idx ON social_posts (post_id);\n"},
};

const pg_migration_t *pg_store_migrations(size_t *n) {
  *n = sizeof(migrations) / sizeof(migrations[0]);
  return migrations;
}

static const char create_staging[] =
    "CREATE TEMP TABLE IF NOT EXISTS social_posts_in (id uuid, post_id text, platform text, "
    "content text, hashtags text[], product_ids text[], engagement bigint, event_time "
    "timestamptz, model text, vector real[], vector_f32 bytea, kafka_topic text, "
    "kafka_partition integer, kafka_offset bigint) ON COMMIT DELETE ROWS";

static const char copy_staging[] = "COPY social_posts_in FROM STDIN WITH (FORMAT binary)";

static const char merge_staging[] =
    "INSERT INTO social_posts (id, post_id, platform, content, hashtags, product_ids, "
    "engagement, event_time, model, vector, vector_f32, tsv, kafka_topic, kafka_partition, "
    "kafka_offset) "
    "SELECT id, post_id, platform, content, hashtags, product_ids, engagement, event_time, "
    "model, vector, vector_f32, to_tsvector('simple', content || ' ' || "
    "array_to_string(hashtags, ' ')), kafka_topic, kafka_partition, kafka_offset "
    "FROM social_posts_in "
    "ON CONFLICT (id) DO UPDATE SET post_id = EXCLUDED.post_id, platform = EXCLUDED.platform, "
    "content = EXCLUDED.content, hashtags = EXCLUDED.hashtags, product_ids = "
    "EXCLUDED.product_ids, engagement = EXCLUDED.engagement, event_time = EXCLUDED.event_time, "
    "model = EXCLUDED.model, vector = EXCLUDED.vector, vector_f32 = EXCLUDED.vector_f32, "
    "tsv = EXCLUDED.tsv, ingested_at = now(), kafka_topic = EXCLUDED.kafka_topic, "
    "kafka_partition = EXCLUDED.kafka_partition, kafka_offset = EXCLUDED.kafka_offset";

struct pg_store {
  pg_t *pg;
  char *sink_name;
  post_metrics_t *metrics;
  post_reject_fn reject;
  pg_buf_t copy;   /* COPY data of a batch */
  pg_buf_t params; /* the uuid[] literal of a batch's deletions */
};

static const char *backend = "postgres";

void pg_store_destroy(pg_store_t *p) {
  if (!p)
    return;
  pg_destroy(p->pg);
  free(p->sink_name);
  pg_buf_free(&p->copy);
  pg_buf_free(&p->params);
  free(p);
}

pg_store_t *pg_store_new(const pg_settings_t *s, const pg_store_options_t *o, char *errstr,
                         size_t errstr_size) {
  pg_store_t *p = calloc(1, sizeof(*p)); /* caller owns: pg_store_destroy() */
  if (!p || !(p->sink_name = strdup(o->sink_name ? o->sink_name : "weaviate-sink"))) {
    free(p);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  p->metrics = o->metrics;
  p->reject = o->reject;
  if (!(p->pg = pg_new(s, "weaviate-sink", errstr, errstr_size)) ||
      pg_connect(p->pg, errstr, errstr_size) != 0 ||
      pg_migrate(p->pg, "weaviate-sink", migrations, sizeof(migrations) / sizeof(migrations[0]),
                 errstr, errstr_size) < 0) {
    pg_store_destroy(p);
    return NULL;
  }
  return p;
}

/* ---- encoding ---------------------------------------------------------- */

/* COPY's binary format: a tuple is an int16 field count, then per field an
 * int32 length (-1: NULL) and the value in the type's binary form, all
 * integers big-endian. Binary, because a vector is 384 floats: as text they
 * cost a conversion on each side (printf here, float4in in the server). */
static int put_be(pg_buf_t *b, uint64_t v, int bytes) {
  char o[8];
  for (int i = 0; i < bytes; i++)
    o[i] = (char)(v >> (8 * (bytes - 1 - i)));
  return pg_buf_raw(b, o, (size_t)bytes);
}

static int put_field(pg_buf_t *b, const void *data, size_t len) {
  return put_be(b, (uint32_t)len, 4) || pg_buf_raw(b, data, len);
}

static int put_text(pg_buf_t *b, const char *s) {
  return put_field(b, s, strlen(s));
}

/* A one-dimensional array header of n elements of type oid. */
static int put_array_head(pg_buf_t *b, size_t n, uint32_t oid, size_t body) {
  if (n == 0) /* ndim 0: the empty array */
    return put_be(b, 12, 4) || put_be(b, 0, 4) || put_be(b, 0, 4) || put_be(b, oid, 4);
  return put_be(b, (uint32_t)(20 + body), 4) || put_be(b, 1, 4) || put_be(b, 0, 4) ||
         put_be(b, oid, 4) || put_be(b, (uint32_t)n, 4) || put_be(b, 1, 4);
}

enum { OID_TEXT = 25, OID_FLOAT4 = 700 };

static int put_text_array(pg_buf_t *b, const json_t *arr) {
  size_t n = json_array_size(arr), body = 0, i;
  const json_t *v;
  json_array_foreach(arr, i, v) body += 4 + json_string_length(v);
  if (put_array_head(b, n, OID_TEXT, body))
    return -1;
  json_array_foreach(arr, i, v) {
    if (put_field(b, json_string_value(v) ? json_string_value(v) : "", json_string_length(v)))
      return -1;
  }
  return 0;
}

/* PostgreSQL's timestamps count microseconds from 2000-01-01T00:00:00Z. */
#define PG_EPOCH_MS 946684800000LL

int pg_store_encode(post_row_t *row) {
  if (row->deleted)
    return -1;
  int64_t ms;
  if (clock_parse_rfc3339_ms(row->timestamp, &ms) != 0)
    return -1; /* the contract checked the format already */
  pg_buf_t b = {0};
  uint8_t id[16];
  uuid_parse(row->id, 36, id);
  int bad = put_be(&b, 14, 2) || put_field(&b, id, 16) ||
            put_field(&b, row->post_id, row->post_id_len) || put_text(&b, row->platform) ||
            put_text(&b, row->content) || put_text_array(&b, row->hashtags) ||
            put_text_array(&b, row->product_ids) || put_be(&b, 8, 4) ||
            put_be(&b, (uint64_t)row->engagement, 8) || put_be(&b, 8, 4) ||
            put_be(&b, (uint64_t)((ms - PG_EPOCH_MS) * 1000), 8) || put_text(&b, row->model) ||
            put_array_head(&b, row->dim, OID_FLOAT4, row->dim * 8);
  for (size_t i = 0; !bad && i < row->dim; i++) {
    uint32_t u;
    memcpy(&u, &row->vector[i], 4);
    bad = put_be(&b, 4, 4) || put_be(&b, u, 4);
  }
  /* vector_f32: the same floats, little-endian, as post-search reads them. */
  bad = bad || put_be(&b, (uint32_t)(row->dim * 4), 4);
  for (size_t i = 0; !bad && i < row->dim; i++) {
    uint32_t u;
    memcpy(&u, &row->vector[i], 4);
    char le[4] = {(char)u, (char)(u >> 8), (char)(u >> 16), (char)(u >> 24)};
    bad = pg_buf_raw(&b, le, 4);
  }
  if (bad) {
    pg_buf_free(&b);
    return -1;
  }
  free(row->wire);
  row->wire = b.data; /* owned by the row */
  row->wire_len = b.len;
  return 0;
}

static int encode(void *impl, post_row_t *row) {
  (void)impl;
  return row->deleted ? 0 : pg_store_encode(row);
}

/* ---- writing ----------------------------------------------------------- */

/* One binary COPY tuple: the row's columns, then where it came from. */
static int copy_tuple(pg_buf_t *b, const stage_sink_record_t *rec) {
  const post_row_t *row = rec->row;
  const stage_msg_t *m = rec->msg;
  if (pg_buf_raw(b, row->wire, row->wire_len))
    return -1;
  if (m && m->partition >= 0)
    return put_text(b, m->topic) || put_be(b, 4, 4) || put_be(b, (uint32_t)m->partition, 4) ||
           put_be(b, 8, 4) || put_be(b, (uint64_t)m->offset, 8);
  return put_be(b, 0xffffffffu, 4) || put_be(b, 0xffffffffu, 4) || put_be(b, 0xffffffffu, 4);
}

static const char copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

/* Runs sql; on failure logs it unless it is a rejection the caller handles. */
static pg_class_t run(pg_store_t *p, const char *sql, const char *what, char sqlstate[6],
                      char *errstr, size_t errstr_size) {
  pg_class_t c = pg_exec(p->pg, sql, sqlstate, errstr, errstr_size);
  if (c != PG_OK && c != PG_REJECT)
    log_event(c == PG_RETRY ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR, "store_retry",
              json_pack("{s:s,s:s,s:s}", "backend", backend, "step", what, "sqlstate", sqlstate),
              "%s failed: %s; the batch will be retried", what, errstr);
  return c;
}

static pg_class_t delete_ids(pg_store_t *p, post_row_t *const *rows, const size_t *idx, size_t n,
                             char sqlstate[6], char *errstr, size_t errstr_size) {
  if (!n)
    return PG_OK;
  p->params.len = 0;
  if (pg_buf_raw(&p->params, "{", 1))
    return PG_RETRY;
  for (size_t i = 0; i < n; i++)
    if ((i && pg_buf_raw(&p->params, ",", 1)) || pg_buf_raw(&p->params, rows[idx[i]]->id, 36))
      return PG_RETRY;
  if (pg_buf_raw(&p->params, "}", 1) || pg_buf_raw(&p->params, "", 0))
    return PG_RETRY;
  char *lit = strndup(p->params.data, p->params.len);
  if (!lit)
    return PG_RETRY;
  const char *vals[1] = {lit};
  PGresult *res =
      PQexecParams(pg_conn(p->pg), "DELETE FROM social_posts WHERE id = ANY($1::uuid[])", 1, NULL,
                   vals, NULL, NULL, 0);
  free(lit);
  pg_class_t c = pg_check(p->pg, res, PGRES_COMMAND_OK, sqlstate, errstr, errstr_size);
  PQclear(res);
  return c;
}

/* COPY records idx[0..n) and merge them. */
static pg_class_t upsert(pg_store_t *p, stage_sink_batch_t *batch, const size_t *idx, size_t n,
                         char sqlstate[6], char *errstr, size_t errstr_size) {
  if (!n)
    return PG_OK;
  p->copy.len = 0;
  if (pg_buf_raw(&p->copy, copy_header, sizeof(copy_header)))
    return PG_RETRY;
  for (size_t i = 0; i < n; i++)
    if (copy_tuple(&p->copy, &batch->records[idx[i]]) != 0)
      return PG_RETRY;
  if (put_be(&p->copy, 0xffff, 2)) /* the trailer */
    return PG_RETRY;
  pg_class_t c =
      pg_copy(p->pg, copy_staging, p->copy.data, p->copy.len, sqlstate, errstr, errstr_size);
  if (c == PG_OK)
    c = pg_exec(p->pg, merge_staging, sqlstate, errstr, errstr_size);
  if (c == PG_OK)
    c = pg_exec(p->pg, "TRUNCATE social_posts_in", sqlstate, errstr, errstr_size);
  return c;
}

/* Applies the plan one upsert at a time under savepoints: rejected rows are
 * dead-lettered and give way to the previous upsert of their id. */
static pg_class_t isolate(pg_store_t *p, stage_sink_batch_t *batch, post_row_t *const *rows,
                          const post_plan_t *plan, const size_t *active, size_t *queue,
                          size_t *written, char sqlstate[6], char *errstr, size_t errstr_size) {
  size_t nq = plan->nupserts;
  for (size_t i = 0; i < nq; i++)
    queue[i] = plan->upserts[i];
  for (size_t q = 0; q < nq; q++) {
    size_t rec = active[queue[q]];
    pg_class_t c = pg_exec(p->pg, "SAVEPOINT row_sp", sqlstate, errstr, errstr_size);
    if (c != PG_OK)
      return c;
    c = upsert(p, batch, &rec, 1, sqlstate, errstr, errstr_size);
    if (c == PG_REJECT) {
      char msg[400];
      snprintf(msg, sizeof(msg), "%s %s", sqlstate, errstr);
      post_metrics_error(p->metrics, sqlstate);
      if (post_store_reject(p->reject, batch, rec, backend, msg) != 0)
        return PG_RETRY; /* the dead letter is not durable: commit nothing */
      c = pg_exec(p->pg, "ROLLBACK TO SAVEPOINT row_sp", sqlstate, errstr, errstr_size);
      if (c != PG_OK)
        return c;
      size_t fb = post_plan_fallback(plan, rows, queue[q]);
      if (fb != SIZE_MAX)
        queue[nq++] = fb;
      continue;
    }
    if (c != PG_OK)
      return c;
    (*written)++;
    c = pg_exec(p->pg, "RELEASE SAVEPOINT row_sp", sqlstate, errstr, errstr_size);
    if (c != PG_OK)
      return c;
  }
  return PG_OK;
}

static int pg_write(void *impl, stage_sink_batch_t *batch) {
  pg_store_t *p = impl;
  size_t n = batch->n, na = 0, written = 0;
  char sqlstate[6] = "", errstr[512] = "";
  int rc = STAGE_RETRY, isolating = 0;
  size_t *active = malloc((n ? n : 1) * sizeof(*active));
  size_t *queue = malloc((n ? n : 1) * sizeof(*queue));
  post_row_t **rows = malloc((n ? n : 1) * sizeof(*rows));
  int64_t *next = malloc((batch->nranges ? batch->nranges : 1) * sizeof(*next));
  post_plan_t plan = {0};
  if (!active || !queue || !rows || !next)
    goto out;
  if (pg_connect(p->pg, errstr, sizeof(errstr)) != 0) {
    log_event(LOG_LEVEL_WARN, "store_retry", json_pack("{s:s}", "backend", backend),
              "cannot connect: %s; the batch will be retried", errstr);
    goto out;
  }
again:
  if (run(p, "BEGIN", "BEGIN", sqlstate, errstr, sizeof(errstr)) != PG_OK)
    goto out;
  /* Records below a partition's stored offset are in the table already
   * (a crash between COMMIT and the Kafka commit, or a hand-over): the
   * ranges' sink_offsets rows are locked and read once, inside this
   * transaction, so a second writer of a partition (a zombie after a
   * rebalance) waits for this one and then skips what it wrote. */
  {
    pg_class_t lc = pg_offsets_lock(p->pg, p->sink_name, batch->ranges, batch->nranges, next,
                                    sqlstate, errstr, sizeof(errstr));
    if (lc == PG_FATAL) {
      log_event(LOG_LEVEL_ERROR, "store_fatal",
                json_pack("{s:s,s:s}", "backend", backend, "sqlstate", sqlstate),
                "cannot lock stored offsets: %s; stopping", errstr);
      rc = STAGE_FATAL;
      goto rollback;
    }
    if (lc != PG_OK) {
      log_event(LOG_LEVEL_WARN, "store_retry", json_pack("{s:s}", "backend", backend),
                "cannot lock stored offsets: %s; the batch will be retried", errstr);
      goto rollback;
    }
  }
  na = 0;
  for (size_t i = 0; i < n; i++) {
    const stage_msg_t *m = batch->records[i].msg;
    int skip = 0;
    for (size_t r = 0; m && m->partition >= 0 && r < batch->nranges; r++) {
      const stage_sink_range_t *rg = &batch->ranges[r];
      if (rg->partition == m->partition && strcmp(rg->topic, m->topic) == 0)
        skip = next[r] >= 0 && m->offset < next[r];
    }
    /* Rejected by an earlier try of this batch (or just now, while
     * isolating): its dead letter is out, it is not written. */
    if (!skip && batch->records[i].status != STAGE_DEAD_LETTER) {
      rows[na] = batch->records[i].row;
      active[na++] = i;
    }
  }
  post_plan_free(&plan);
  if (post_plan_make(rows, na, &plan) != 0)
    goto rollback;
  pg_class_t c = run(p, create_staging, "create staging table", sqlstate, errstr, sizeof(errstr));
  if (c == PG_OK)
    c = delete_ids(p, rows, plan.deletes, plan.ndeletes, sqlstate, errstr, sizeof(errstr));
  if (c == PG_OK && !isolating) {
    for (size_t j = 0; j < plan.nupserts; j++)
      queue[j] = active[plan.upserts[j]];
    c = upsert(p, batch, queue, plan.nupserts, sqlstate, errstr, sizeof(errstr));
    written = plan.nupserts;
  } else if (c == PG_OK) {
    written = 0;
    c = isolate(p, batch, rows, &plan, active, queue, &written, sqlstate, errstr, sizeof(errstr));
  }
  if (c == PG_REJECT && !isolating) {
    /* One row or more is refused: find them row by row. */
    pg_exec(p->pg, "ROLLBACK", sqlstate, errstr, sizeof(errstr));
    isolating = 1;
    goto again;
  }
  if (c == PG_OK)
    c = pg_offsets_save(p->pg, p->sink_name, batch->ranges, batch->nranges, sqlstate, errstr,
                        sizeof(errstr));
  if (c == PG_OK)
    c = run(p, "COMMIT", "COMMIT", sqlstate, errstr, sizeof(errstr));
  if (c == PG_OK) {
    metrics_counter_add(p->metrics ? p->metrics->written : NULL, written);
    metrics_counter_add(p->metrics ? p->metrics->deleted : NULL, plan.ndeletes);
    rc = STAGE_OK;
    goto out;
  }
  if (c == PG_FATAL) {
    log_event(LOG_LEVEL_ERROR, "store_fatal",
              json_pack("{s:s,s:s}", "backend", backend, "sqlstate", sqlstate),
              "batch failed: %s; stopping (a deployment error, not the data)", errstr);
    rc = STAGE_FATAL;
  } else if (c != PG_RETRY) {
    log_event(LOG_LEVEL_ERROR, "store_retry",
              json_pack("{s:s,s:s}", "backend", backend, "sqlstate", sqlstate),
              "batch failed: %s; the batch will be retried", errstr);
  }
rollback:
  if (pg_conn(p->pg))
    pg_exec(p->pg, "ROLLBACK", sqlstate, errstr, sizeof(errstr));
  metrics_counter_add(p->metrics ? p->metrics->retries : NULL, 1);
out:
  post_plan_free(&plan);
  free(active);
  free(queue);
  free(rows);
  free(next);
  return rc;
}

static int stored_offset(void *impl, const char *topic, int32_t partition, int64_t *next) {
  pg_store_t *p = impl;
  char errstr[512];
  if (pg_connect(p->pg, errstr, sizeof(errstr)) != 0)
    return -1;
  return pg_offsets_load(p->pg, p->sink_name, topic, partition, next, errstr, sizeof(errstr));
}

static void destroy(void *impl) {
  pg_store_destroy(impl);
}

const post_store_ops_t pg_store_ops = {
    .name = "postgres",
    .encode = encode,
    .write = pg_write,
    .stored_offset = stored_offset,
    .destroy = destroy,
};
