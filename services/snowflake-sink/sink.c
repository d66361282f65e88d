/* sink — prepare and write for the stage's sink mode (see sink.h). Owns the
 * contracts, the topic → table routes, the metric series and the scratch
 * arrays of one batch; borrows the store. */
#include "sink.h"
#include "core/array.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "warehouse.h"
#include "json/schema.h"

typedef struct route {
  char *topic;
  const wh_table_t *table;
  metrics_counter_t *skipped;
} route_t;

/* A record dead-lettered by prepare(): the offsets kept with the next
 * batch of its partition must not pass it before its letter is out. */
typedef struct held {
  char *topic;
  int32_t partition;
  int64_t offset;
} held_t;

struct sink {
  stage_sink_t cb;
  store_t *store;
  metrics_t *metrics;
  char *name;
  route_t *routes;
  size_t nroutes;
  schema_t *schema[WH_TABLE_COUNT];
  metrics_counter_t *rows[WH_TABLE_COUNT];
  metrics_gauge_t *batch_records;
  int (*reject)(stage_sink_batch_t *b, size_t i);
  held_t *held;
  size_t nheld, held_cap;
  /* scratch of one write(), grown as needed */
  size_t *range_of;
  stage_sink_record_t **todo;
  size_t rec_cap;
  int64_t *stored, *cap;
  stage_sink_range_t *saves;
  size_t range_cap;
  int retrying; /* the last write failed: log the recovery once */
};

static const char *route_table_name(const char *entry, size_t *topic_len) {
  const char *eq = strchr(entry, '=');
  *topic_len = eq ? (size_t)(eq - entry) : 0;
  return eq ? eq + 1 : NULL;
}

static const route_t *route_for(const sink_t *s, const char *topic) {
  for (size_t i = 0; i < s->nroutes; i++)
    if (strcmp(s->routes[i].topic, topic) == 0)
      return &s->routes[i];
  return NULL;
}

sink_t *sink_new(const sink_options_t *o, store_t *store, metrics_t *metrics, char *errstr,
                 size_t errstr_size) {
  sink_t *s = calloc(1, sizeof(*s)); /* owned by the caller */
  size_t n = 0;
  char **list = NULL;
  if (!s || !(s->name = strdup(o->name ? o->name : "snowflake-sink")) ||
      !(list = conf_list_split(o->tables ? o->tables : "", &n)) ||
      !(s->routes = calloc(n ? n : 1, sizeof(*s->routes)))) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  s->store = store;
  s->metrics = metrics;
  s->reject = o->reject ? o->reject : stage_sink_reject;
  for (size_t i = 0; i < n; i++) {
    size_t tlen;
    const char *tname = route_table_name(list[i], &tlen);
    const wh_table_t *t = wh_table_by_name(tname);
    if (!t || tlen == 0) {
      snprintf(errstr, errstr_size,
               "sink.tables: '%s' is not topic=table with a table of orders, "
               "weather_observations, risk_decisions, privacy_audit",
               list[i]);
      goto fail;
    }
    route_t *r = &s->routes[s->nroutes];
    if (!(r->topic = strndup(list[i], tlen))) {
      snprintf(errstr, errstr_size, "out of memory");
      goto fail;
    }
    s->nroutes++;
    if (route_for(s, r->topic) != r) {
      snprintf(errstr, errstr_size, "sink.tables: topic %s is routed twice", r->topic);
      goto fail;
    }
    r->table = t;
    r->skipped = metrics_counter(metrics, "records_skipped_total",
                                 "records already in the store (below its kept offset), skipped",
                                 "topic", r->topic);
    if (!s->schema[t->id]) {
      char path[4096], err[512];
      snprintf(path, sizeof(path), "%s/%s", o->schemas_dir, t->contract);
      if (!(s->schema[t->id] = schema_load_file(path, err, sizeof(err)))) {
        snprintf(errstr, errstr_size, "schemas.dir: %s", err);
        goto fail;
      }
      s->rows[t->id] = metrics_counter(metrics, "rows_written_total",
                                       "rows committed to the warehouse", "table", t->name);
    }
  }
  if (s->nroutes == 0) {
    snprintf(errstr, errstr_size, "sink.tables: no topic=table route");
    goto fail;
  }
  s->batch_records = metrics_gauge(metrics, "batch_records",
                                   "records in the last batch written (the stage counts flushes "
                                   "by reason)",
                                   NULL, NULL);
  s->cb = (stage_sink_t){.prepare = sink_prepare,
                         .write = sink_write,
                         .stored_offset = sink_stored_offset,
                         .release = sink_release};
  conf_list_free(list);
  return s;
fail:
  conf_list_free(list);
  sink_destroy(s);
  return NULL;
}

void sink_destroy(sink_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nroutes; i++)
    free(s->routes[i].topic);
  free(s->routes);
  for (int i = 0; i < WH_TABLE_COUNT; i++)
    schema_destroy(s->schema[i]);
  for (size_t i = 0; i < s->nheld; i++)
    free(s->held[i].topic);
  free(s->held);
  free(s->range_of);
  free(s->todo);
  free(s->stored);
  free(s->cap);
  free(s->saves);
  free(s->name);
  free(s);
}

void sink_stage(const sink_t *s, stage_sink_t *out) {
  *out = s->cb;
}

/* A dead letter's reason: "<what> <topic>" (topic names carry no personal
 * data; values never appear). */
static void fail_with(stage_fail_t *fail, const char *code, const char *what, const char *topic) {
  fail->code = code;
  snprintf(fail->message, sizeof(fail->message), "%.200s %.300s", what, topic);
  fail->path[0] = '\0';
}

/* Remembers a dead-lettered offset (the lowest per partition is enough). */
static void hold(sink_t *s, const stage_msg_t *msg) {
  if (msg->partition < 0)
    return;
  for (size_t i = 0; i < s->nheld; i++)
    if (s->held[i].partition == msg->partition && strcmp(s->held[i].topic, msg->topic) == 0) {
      if (msg->offset < s->held[i].offset)
        s->held[i].offset = msg->offset;
      return;
    }
  if (array_reserve(&s->held, &s->held_cap, s->nheld + 1, sizeof(*s->held), 16) != 0)
    return; /* only a narrower window for re-reading: not worth failing */
  if ((s->held[s->nheld].topic = strdup(msg->topic)) != NULL) {
    s->held[s->nheld].partition = msg->partition;
    s->held[s->nheld].offset = msg->offset;
    s->nheld++;
  }
}

int sink_prepare(void *ctx, stage_sink_record_t *rec) {
  sink_t *s = ctx;
  const stage_msg_t *msg = rec->msg;
  const route_t *r = route_for(s, msg->topic);
  char err[512];
  int status = STAGE_DEAD_LETTER;
  if (!rec->doc) {
    fail_with(rec->fail, "tombstone",
              "a record with no value (a deletion); the warehouse keeps history and deletes "
              "nothing; topic",
              msg->topic);
  } else if (!r) {
    fail_with(rec->fail, "unknown_topic", "no warehouse table (sink.tables) for topic", msg->topic);
  } else if (schema_validate(s->schema[r->table->id], rec->doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(rec->fail, "schema", "", err);
  } else {
    wh_row_t *row = wh_row_map(r->table, rec->doc, msg, err, sizeof(err));
    if (row) {
      rec->row = row;
      rec->row_bytes = sizeof(*row) + row->bytes;
      status = STAGE_OK;
    } else {
      fail_with(rec->fail, "invalid_field", "cannot map to a row:", err);
    }
  }
  if (status != STAGE_OK)
    hold(s, msg);
  return status;
}

void sink_release(void *ctx, void *row) {
  (void)ctx;
  free(row);
}

int sink_stored_offset(void *ctx, const char *topic, int32_t partition, int64_t *next_offset) {
  sink_t *s = ctx;
  return s->store->ops->stored_offset(s->store->impl, topic, partition, next_offset);
}

static int grow(sink_t *s, size_t nrec, size_t nranges) {
  if (nrec > s->rec_cap) {
    size_t *ro = realloc(s->range_of, nrec * sizeof(*ro));
    if (ro)
      s->range_of = ro;
    stage_sink_record_t **todo = realloc(s->todo, nrec * sizeof(*todo));
    if (todo)
      s->todo = todo;
    if (!ro || !todo)
      return -1;
    s->rec_cap = nrec;
  }
  if (nranges > s->range_cap) {
    int64_t *st = realloc(s->stored, nranges * sizeof(*st));
    if (st)
      s->stored = st;
    int64_t *cap = realloc(s->cap, nranges * sizeof(*cap));
    if (cap)
      s->cap = cap;
    stage_sink_range_t *sv = realloc(s->saves, nranges * sizeof(*sv));
    if (sv)
      s->saves = sv;
    if (!st || !cap || !sv)
      return -1;
    s->range_cap = nranges;
  }
  return 0;
}

/* The batch being written: what the bisection needs besides the store. */
typedef struct job {
  sink_t *s;
  stage_sink_batch_t *b;
  store_error_t err;
  int undelivered; /* a rejected record's dead letter could not be made durable */
} job_t;

static size_t range_index(const stage_sink_batch_t *b, const stage_msg_t *m) {
  for (size_t r = 0; r < b->nranges; r++)
    if (b->ranges[r].partition == m->partition && strcmp(b->ranges[r].topic, m->topic) == 0)
      return r;
  return 0; /* the stage lists every (topic, partition) of the batch */
}

/* The offsets to keep with recs[0..n): per partition the last record's
 * offset, never past a record prepare() dead-lettered (cap). */
static size_t saves_for(job_t *j, stage_sink_record_t *const *recs, size_t n) {
  sink_t *s = j->s;
  const stage_sink_batch_t *b = j->b;
  size_t ns = 0;
  for (size_t r = 0; r < b->nranges; r++) {
    int64_t last = -1;
    for (size_t i = 0; i < n; i++)
      if (s->range_of[recs[i] - b->records] == r && recs[i]->msg->offset > last)
        last = recs[i]->msg->offset;
    if (last < 0 || b->ranges[r].partition < 0)
      continue;
    if (last >= s->cap[r])
      last = s->cap[r] - 1;
    s->saves[ns] = b->ranges[r];
    s->saves[ns].last = last;
    ns++;
  }
  return ns;
}

/* Applies recs[0..n); on a rejection splits them in halves until each
 * rejected record is alone, then dead-letters it through the stage, which
 * makes the letter durable before anything commits past it. */
static store_status_t bisect(job_t *j, stage_sink_record_t **recs, size_t n) {
  sink_t *s = j->s;
  size_t ns = saves_for(j, recs, n);
  store_status_t st = s->store->ops->apply(s->store->impl, recs, n, s->saves, ns, &j->err);
  if (st != STORE_REJECT)
    return st;
  if (n == 1) {
    stage_sink_record_t *rec = recs[0];
    rec->fail->code = "store_rejected";
    snprintf(rec->fail->message, sizeof(rec->fail->message), "%s%s%.400s (%s)", j->err.code,
             *j->err.code ? ": " : "", j->err.message, s->store->ops->name);
    rec->fail->path[0] = '\0';
    metrics_counter_add(metrics_counter(s->metrics, "store_errors_total",
                                        "store failures by the store's error code", "code",
                                        *j->err.code ? j->err.code : "rejected"),
                        1);
    if (s->reject(j->b, (size_t)(rec - j->b->records)) != 0) {
      j->undelivered = 1;
      snprintf(j->err.message, sizeof(j->err.message),
               "a rejected row's dead letter was not "
               "acknowledged");
      return STORE_RETRY;
    }
    return STORE_OK;
  }
  size_t half = n / 2;
  st = bisect(j, recs, half);
  if (st == STORE_OK)
    st = bisect(j, recs + half, n - half);
  return st;
}

/* A failed batch: count it, log what the stage cannot know (the store's
 * words), and tell the stage to retry or stop. */
static int failed_batch(sink_t *s, store_status_t st, const store_error_t *err) {
  const char *code = *err->code ? err->code : st == STORE_RETRY ? "unavailable" : "fatal";
  metrics_counter_add(metrics_counter(s->metrics, "store_errors_total",
                                      "store failures by the store's error code", "code", code),
                      1);
  if (st == STORE_FATAL) {
    int missing = strcmp(err->code, "42P01") == 0 || strcmp(err->code, "42703") == 0 ||
                  strcmp(err->code, "002003") == 0;
    log_event(LOG_LEVEL_ERROR, "store_fatal",
              json_pack("{s:s,s:s}", "store", s->store->ops->name, "code", code),
              "the store refused the batch for a reason retrying cannot fix: %s%s", err->message,
              missing ? " (is the schema there? run snowflake-sink --init-schema)" : "");
    return STAGE_FATAL;
  }
  if (!s->retrying)
    log_event(LOG_LEVEL_WARN, "store_error",
              json_pack("{s:s,s:s}", "store", s->store->ops->name, "code", code),
              "batch not written: %s", err->message);
  s->retrying = 1;
  return STAGE_RETRY;
}

/* After a commit: the held offsets inside the batch's ranges have done
 * their job (the next batch of the partition may keep offsets past them). */
static void release_held(sink_t *s, const stage_sink_batch_t *b) {
  for (size_t h = 0; h < s->nheld; h++)
    for (size_t r = 0; r < b->nranges; r++) {
      held_t *hd = &s->held[h];
      if (hd->partition == b->ranges[r].partition && hd->offset <= b->ranges[r].last &&
          strcmp(hd->topic, b->ranges[r].topic) == 0) {
        free(hd->topic);
        s->held[h--] = s->held[--s->nheld];
        break;
      }
    }
}

int sink_write(void *ctx, stage_sink_batch_t *b) {
  sink_t *s = ctx;
  store_error_t err = {0};
  if (grow(s, b->n, b->nranges) != 0) {
    snprintf(err.message, sizeof(err.message), "out of memory");
    return failed_batch(s, STORE_RETRY, &err);
  }
  for (size_t i = 0; i < b->n; i++)
    s->range_of[i] = range_index(b, b->records[i].msg);
  store_status_t st = s->store->ops->begin(s->store->impl, b->ranges, b->nranges, s->stored, &err);
  if (st != STORE_OK) {
    s->store->ops->abort(s->store->impl);
    return failed_batch(s, st == STORE_REJECT ? STORE_FATAL : st, &err);
  }
  /* A record prepare() dead-lettered inside a range caps the offset kept:
   * its letter was sent on its own and may not be acknowledged yet. */
  for (size_t r = 0; r < b->nranges; r++) {
    s->cap[r] = INT64_MAX;
    for (size_t h = 0; h < s->nheld; h++) {
      const held_t *hd = &s->held[h];
      if (hd->partition == b->ranges[r].partition && hd->offset <= b->ranges[r].last &&
          hd->offset < s->cap[r] && strcmp(hd->topic, b->ranges[r].topic) == 0)
        s->cap[r] = hd->offset;
    }
  }
  size_t ntodo = 0;
  for (size_t i = 0; i < b->n; i++) {
    stage_sink_record_t *rec = &b->records[i];
    int64_t kept = s->stored[s->range_of[i]];
    if (!rec->row || rec->status == STAGE_DEAD_LETTER)
      continue; /* rejected by an earlier try of this batch: its letter is out */
    if (kept >= 0 && rec->msg->offset < kept) {
      metrics_counter_add(route_for(s, rec->msg->topic)->skipped, 1);
      continue;
    }
    s->todo[ntodo++] = rec;
  }
  job_t j = {.s = s, .b = b};
  st = ntodo ? bisect(&j, s->todo, ntodo) : STORE_OK;
  if (st == STORE_OK) {
    size_t ns = 0;
    for (size_t r = 0; r < b->nranges; r++) {
      if (b->ranges[r].partition < 0)
        continue;
      s->saves[ns] = b->ranges[r];
      if (s->saves[ns].last >= s->cap[r])
        s->saves[ns].last = s->cap[r] - 1;
      ns++;
    }
    st = s->store->ops->commit(s->store->impl, s->saves, ns, &j.err);
  }
  if (st != STORE_OK) {
    s->store->ops->abort(s->store->impl);
    return failed_batch(s, st, &j.err);
  }
  release_held(s, b);
  metrics_gauge_set(s->batch_records, (double)b->n);
  for (size_t i = 0; i < ntodo; i++) {
    const stage_sink_record_t *rec = s->todo[i];
    if (rec->status != STAGE_DEAD_LETTER)
      metrics_counter_add(s->rows[((const wh_row_t *)rec->row)->table], 1);
  }
  if (s->retrying) {
    log_event(LOG_LEVEL_INFO, "store_available", json_pack("{s:s}", "store", s->store->ops->name),
              "the store accepts batches again");
    s->retrying = 0;
  }
  return STAGE_OK;
}
