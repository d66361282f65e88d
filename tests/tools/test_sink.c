/* test-sink — a stage in sink mode over a transactional file store, for the
 * sink-mode integration tests (tests/integration/stage_sink.sh). Not a
 * product program.
 *
 * Store: directory TEST_SINK_DIR; one file per committed batch, written to a
 * temporary name and renamed (atomic), holding the batch's records and the
 * next offset of each partition: the data and the positions commit together,
 * like a database transaction. stored_offset() is the highest next offset of
 * the partition over all batch files; write() skips records below it.
 *
 * Records: {"id": "...", ...}. prepare() dead-letters a record without a
 * string id; write() rejects (per record) one with "reject": true.
 *
 * Batches: the sinks' common settings (SINK_BATCH_RECORDS, ...), here 100
 * records or 200 ms by default.
 *
 * Faults (environment):
 *   TEST_SINK_DOWN_FILE=PATH   while PATH exists, write() answers STAGE_RETRY
 *   TEST_SINK_CRASH_AFTER=N    after committing its N-th batch, _exit(9)
 *                              before the stage sees the result
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "core/log.h"
#include "json/jsonf.h"

typedef struct store {
  const char *dir;
  const char *down_file;
  long crash_after;
  long batches;
} store_t;

static int prepare(void *ctx, stage_sink_record_t *rec) {
  (void)ctx;
  if (!rec->doc)
    return STAGE_OK; /* tombstone: a deletion of the key */
  if (!json_is_string(json_object_get(rec->doc, "id"))) {
    rec->fail->code = "schema";
    snprintf(rec->fail->message, sizeof(rec->fail->message), "/id: required string");
    snprintf(rec->fail->path, sizeof(rec->fail->path), "/id");
    return STAGE_DEAD_LETTER;
  }
  return STAGE_OK;
}

/* Highest next offset of (topic, partition) over the committed batches;
 * -1 when none. */
static int64_t scan_offset(const store_t *s, const char *topic, int32_t partition) {
  int64_t best = -1;
  char path[4096];
  for (long i = 1;; i++) {
    snprintf(path, sizeof(path), "%s/batch-%06ld.json", s->dir, i);
    FILE *f = fopen(path, "rb");
    if (!f)
      break;
    json_t *doc = json_loadf(f, 0, NULL);
    fclose(f);
    size_t j;
    json_t *r;
    json_array_foreach(json_object_get(doc, "ranges"), j, r) {
      if (json_integer_value(json_object_get(r, "partition")) == partition &&
          strcmp(json_string_value(json_object_get(r, "topic")), topic) == 0 &&
          json_integer_value(json_object_get(r, "next")) > best)
        best = json_integer_value(json_object_get(r, "next"));
    }
    json_decref(doc);
  }
  return best;
}

static long count_batches(const store_t *s) {
  char path[4096];
  long i = 0;
  for (;;) {
    snprintf(path, sizeof(path), "%s/batch-%06ld.json", s->dir, i + 1);
    if (access(path, F_OK) != 0)
      return i;
    i++;
  }
}

static int stored_offset(void *ctx, const char *topic, int32_t partition, int64_t *next) {
  int64_t v = scan_offset(ctx, topic, partition);
  if (v < 0)
    return 0;
  *next = v;
  return 1;
}

static int write_batch(void *ctx, stage_sink_batch_t *batch) {
  store_t *s = ctx;
  if (s->down_file && access(s->down_file, F_OK) == 0)
    return STAGE_RETRY;
  json_t *doc = json_pack("{s:[],s:[],s:s}", "records", "ranges", "reason", batch->reason);
  json_t *records = json_object_get(doc, "records"), *ranges = json_object_get(doc, "ranges");
  for (size_t i = 0; i < batch->nranges; i++) {
    const stage_sink_range_t *r = &batch->ranges[i];
    if (r->partition >= 0)
      json_array_append_new(ranges, json_pack("{s:s,s:i,s:I}", "topic", r->topic, "partition",
                                              r->partition, "next", (json_int_t)(r->last + 1)));
  }
  /* Exactly once: what an earlier batch holds is not written again. */
  int64_t *have = calloc(batch->nranges ? batch->nranges : 1, sizeof(*have));
  if (!have) {
    json_decref(doc);
    return STAGE_RETRY;
  }
  for (size_t j = 0; j < batch->nranges; j++)
    have[j] = batch->ranges[j].partition >= 0
                  ? scan_offset(s, batch->ranges[j].topic, batch->ranges[j].partition)
                  : -1;
  for (size_t i = 0; i < batch->n; i++) {
    stage_sink_record_t *rec = &batch->records[i];
    const stage_msg_t *m = rec->msg;
    size_t j = 0;
    while (j + 1 < batch->nranges && !(batch->ranges[j].partition == m->partition &&
                                       strcmp(batch->ranges[j].topic, m->topic) == 0))
      j++;
    if (have[j] >= 0 && m->offset < have[j])
      continue;
    if (rec->status == STAGE_DEAD_LETTER)
      continue; /* rejected by an earlier try of this batch */
    if (rec->doc && json_is_true(json_object_get(rec->doc, "reject"))) {
      /* Before the commit below, as a transactional store must. */
      rec->fail->code = "store_rejected";
      snprintf(rec->fail->message, sizeof(rec->fail->message),
               "test store: value out of range for column (23514)");
      if (stage_sink_reject(batch, i) != 0) {
        free(have);
        json_decref(doc);
        return STAGE_RETRY;
      }
      continue;
    }
    json_array_append_new(
        records, json_pack("{s:s,s:i,s:I,s:s?}", "topic", m->topic, "partition", m->partition,
                           "offset", (json_int_t)m->offset, "id",
                           rec->doc ? json_string_value(json_object_get(rec->doc, "id")) : NULL));
  }
  free(have);
  char tmp[4096], path[4096];
  long n = count_batches(s) + 1;
  snprintf(tmp, sizeof(tmp), "%s/.batch.tmp", s->dir);
  snprintf(path, sizeof(path), "%s/batch-%06ld.json", s->dir, n);
  int rc = json_dump_file(doc, tmp, JSON_COMPACT);
  json_decref(doc);
  int fd = rc == 0 ? open(tmp, O_RDONLY) : -1;
  if (fd < 0 || fsync(fd) != 0 || rename(tmp, path) != 0) {
    if (fd >= 0)
      close(fd);
    return STAGE_FATAL;
  }
  close(fd);
  s->batches++;
  if (s->crash_after > 0 && s->batches >= s->crash_after) {
    log_warn("test_crash", "crashing after committing batch %ld", n);
    _exit(9);
  }
  return STAGE_OK;
}

int main(int argc, char **argv) {
  store_t store = {.dir = getenv("TEST_SINK_DIR"), .down_file = getenv("TEST_SINK_DOWN_FILE")};
  const char *crash = getenv("TEST_SINK_CRASH_AFTER");
  store.crash_after = crash ? strtol(crash, NULL, 10) : 0;
  app_spec_t spec = {.name = "test-sink",
                     .usage = "test-sink (tests only)",
                     .uses = APP_SINK | APP_DLQ_KEY | APP_METRICS,
                     .default_topics = "sink.snowflake.orders",
                     .sink_batch = {.records = 100, .age_ms = 200}};
  app_t app;
  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  if (!store.dir || (mkdir(store.dir, 0700) != 0 && errno != EEXIST)) {
    log_error("config", "TEST_SINK_DIR must name a directory");
    app.exit_code = 2;
    goto out;
  }
  stage_sink_t sink = {.prepare = prepare, .write = write_batch, .stored_offset = stored_offset};
  app_sink_limits(&app, &sink);
  stage_options_t opts = {.sink = &sink, .ctx = &store};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:;
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
