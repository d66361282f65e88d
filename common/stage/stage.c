#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/array.h"
#include "core/log.h"
#include "core/signals.h"
#include "core/utf8.h"
#include "stage/stage_internal.h"
#include "json/jsonf.h"

/* Dead letters of oversized inputs keep this much of the original: a DLQ
 * message must itself fit the broker's message size limit. */
#define STAGE_DLQ_MAX_PAYLOAD (256 * 1024)

/* Deeper input is dead-lettered: no contract nests more than a few levels,
 * and a bound keeps parsing and validation off the stack's edge. */
#define STAGE_MAX_DEPTH 64

static const conf_entry_t stage_entries[] = {
    [STAGE_ENTRY_GROUP] = {.key = "kafka.group_id",
                           .env = "KAFKA_GROUP_ID",
                           .type = CONF_STRING,
                           .offset = offsetof(stage_config_t, group_id),
                           .doc = "consumer group of this program"},
    [STAGE_ENTRY_TOPICS] = {.key = "input.topics",
                            .env = "INPUT_TOPICS",
                            .type = CONF_STRING,
                            .offset = offsetof(stage_config_t, input_topics),
                            .doc = "comma-separated topics to consume"},
    {.key = "message.max_bytes",
     .env = "MESSAGE_MAX_BYTES",
     .type = CONF_INT,
     .def = "1048576",
     .offset = offsetof(stage_config_t, max_message_bytes),
     .min = 1024,
     .max = 64 * 1024 * 1024,
     .doc = "inputs larger than this are dead-lettered as too_large"},
    {.key = "commit.interval_ms",
     .env = "COMMIT_INTERVAL_MS",
     .type = CONF_INT,
     .def = "1000",
     .offset = offsetof(stage_config_t, commit_interval_ms),
     .min = 10,
     .max = 600000,
     .doc = "how often stored offsets are committed"},
    {.key = "shutdown.timeout_ms",
     .env = "SHUTDOWN_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "20000",
     .offset = offsetof(stage_config_t, shutdown_timeout_ms),
     .min = 100,
     .max = 600000,
     .doc = "how long SIGTERM (or a revocation) may wait for in-flight outputs and writes"},
    {.key = "stdio",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(stage_config_t, stdio),
     .doc = "read JSON lines from stdin and write results to stdout instead of Kafka"},
    {.key = "topic",
     .type = CONF_STRING,
     .offset = offsetof(stage_config_t, topic),
     .doc = "with --stdio: the input topic the lines stand for"},
    {.key = "dlq_file",
     .type = CONF_STRING,
     .offset = offsetof(stage_config_t, dlq_file),
     .doc = "with --stdio: file for dead-letter envelopes (JSON lines)"},
    {.key = "side_file",
     .type = CONF_STRING,
     .offset = offsetof(stage_config_t, side_file),
     .doc = "with --stdio: file for side outputs such as audit events (JSON lines)"},
    {.key = NULL},
};

const conf_entry_t *stage_config_entries(void) {
  return stage_entries;
}

const char *stage_dlq_topic(const topics_t *topics, const char *input_topic) {
  const topic_info_t *t = topics_find(topics, input_topic);
  return t ? t->dead_letters : NULL;
}

void stage_fail_from_schema(stage_fail_t *fail, const char *code, const char *prefix,
                            const char *schema_error) {
  fail->code = code;
  /* A reason longer than the field is cut; the path below stays whole. */
  if (snprintf(fail->message, sizeof(fail->message), "%s%s", prefix, schema_error) >=
      (int)sizeof(fail->message))
    fail->message[utf8_valid_prefix(fail->message, sizeof(fail->message) - 1)] = '\0';
  const char *colon = strstr(schema_error, ": ");
  if (colon && (size_t)(colon - schema_error) < sizeof(fail->path))
    snprintf(fail->path, sizeof(fail->path), "%.*s", (int)(colon - schema_error), schema_error);
}

/* ---- outputs ------------------------------------------------------------ */

/* Kind bit of an output whose bytes the transform keeps (stage_emit_ref). */
#define OUT_BORROWED 0x100

static stage_item_t *out_slot(stage_out_t *out) {
  if (array_reserve(&out->items, &out->cap, out->count + 1, sizeof(*out->items), 4) != 0)
    return NULL;
  return &out->items[out->count];
}

static int out_push(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
                    char *payload, size_t len) {
  stage_item_t *it = out_slot(out);
  if (!it)
    return -1;
  it->kind = kind;
  it->topic = strdup(topic);
  it->key = key ? malloc(key_len ? key_len : 1) : NULL;
  if (!it->topic || (key && !it->key)) {
    free(it->topic);
    free(it->key);
    return -1;
  }
  if (key)
    memcpy(it->key, key, key_len);
  it->key_len = key ? key_len : 0;
  it->payload = payload;
  it->len = len;
  out->count++;
  return 0;
}

int stage_emit_owned(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
                     char *payload, size_t len) {
  if (out_push(out, kind, topic, key, key_len, payload, len) != 0) {
    free(payload);
    return -1;
  }
  return 0;
}

int stage_emit(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
               const char *payload, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy)
    return -1;
  memcpy(copy, payload, len);
  copy[len] = '\0';
  return stage_emit_owned(out, kind, topic, key, key_len, copy, len);
}

int stage_emit_ref(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
                   const char *payload, size_t len) {
  stage_item_t *it = out_slot(out);
  if (!it)
    return -1;
  /* The item's fields are not const because owned outputs are freed through
   * them; a borrowed one is never written or freed (OUT_BORROWED). */
  *it = (stage_item_t){.kind = kind | OUT_BORROWED,
                       .topic = (char *)topic,
                       .key = (char *)key,
                       .key_len = key ? key_len : 0,
                       .payload = (char *)payload,
                       .len = len};
  out->count++;
  return 0;
}

static void out_clear(stage_out_t *out) {
  for (size_t i = 0; i < out->count; i++) {
    if (out->items[i].kind & OUT_BORROWED)
      continue;
    free(out->items[i].topic);
    free(out->items[i].key);
    free(out->items[i].payload);
  }
  out->count = 0;
}

void stage_result_reset(stage_result_t *res) {
  out_clear(&res->out);
  free(res->dead);
  res->dead = NULL;
  res->dead_len = 0;
  res->dead_topic = NULL;
  res->status = STAGE_OK;
}

void stage_result_free(stage_result_t *res) {
  stage_result_reset(res);
  free(res->out.items);
  res->out.items = NULL;
  res->out.cap = 0;
}

/* ---- metrics ------------------------------------------------------------ */

stage_topic_metrics_t *stage_metrics_for(stage_runtime_t *rt, const char *topic) {
  for (size_t i = 0; i < rt->tm_count; i++)
    if (strcmp(rt->tm[i].topic, topic) == 0)
      return &rt->tm[i];
  if (array_reserve(&rt->tm, &rt->tm_cap, rt->tm_count + 1, sizeof(*rt->tm), 8) != 0)
    return NULL;
  stage_topic_metrics_t *t = &rt->tm[rt->tm_count];
  memset(t, 0, sizeof(*t));
  if (!(t->topic = strdup(topic)))
    return NULL;
  metrics_t *m = rt->opts->metrics;
  if (m) {
    t->in = metrics_counter(m, "messages_in_total", "Messages consumed, per input topic", "topic",
                            topic);
    t->out = metrics_counter(m, "messages_out_total", "Messages produced, per output topic",
                             "topic", topic);
    t->dead = metrics_counter(m, "dead_letters_total", "Inputs dead-lettered, per input topic",
                              "topic", topic);
    t->latency = metrics_histogram(m, "processing_seconds",
                                   "Time from consuming an input to acknowledgement of its "
                                   "outputs, per input topic",
                                   "topic", topic);
    if (rt->opts->sink) {
      t->written = metrics_counter(m, "records_written_total",
                                   "Records the store committed, per input topic", "topic", topic);
      t->end_to_end = metrics_histogram(
          m, "end_to_end_seconds",
          "From a record's entry into the pipeline (its Kafka timestamp, carried by every "
          "stage) to the store's commit, per input topic",
          "topic", topic);
    }
  }
  rt->tm_count++;
  return t;
}

void stage_runtime_free(stage_runtime_t *rt) {
  for (size_t i = 0; i < rt->tm_count; i++)
    free(rt->tm[i].topic);
  free(rt->tm);
  rt->tm = NULL;
  rt->tm_count = rt->tm_cap = 0;
}

/* ---- one message -------------------------------------------------------- */

int stage_make_dead_letter(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len,
                           const stage_fail_t *fail, stage_result_t *res) {
  const stage_options_t *o = rt->opts;
  char errstr[256], producer[128];
  if (!stage_dlq_topic(o->topics, msg->topic)) { /* the start-up checks input topics */
    log_error("dead_letter_failed", "topics.yaml has no dead_letters for %s", msg->topic);
    return -1;
  }
  snprintf(producer, sizeof(producer), "%s/%s", o->service, o->version);
  /* The envelope refuses text that is not UTF-8, and a dead letter that
   * cannot be built stops the stage: a message or path cut to fit a buffer
   * by whatever wrote it (a store's error text) is cut further here. */
  char message[sizeof(fail->message)], path[sizeof(fail->path)];
  size_t ml = strnlen(fail->message, sizeof(message) - 1),
         pl = strnlen(fail->path, sizeof(path) - 1);
  memcpy(message, fail->message, ml);
  message[utf8_valid_prefix(message, ml)] = '\0';
  memcpy(path, fail->path, pl);
  path[utf8_valid_prefix(path, pl)] = '\0';
  dlq_error_t err = {o->service, fail->code ? fail->code : "error", message, path[0] ? path : NULL};
  dlq_origin_t origin = {msg->topic, msg->partition, msg->offset,
                         msg->key,   msg->key_len,   msg->timestamp_ms};
  /* Only an input over the size limit is cut; every other dead letter keeps
   * the original bytes whole (the producer's message.max.bytes allows it). */
  size_t keep = msg->len;
  if ((int64_t)original_len > rt->cfg->max_message_bytes && keep > STAGE_DLQ_MAX_PAYLOAD)
    keep = STAGE_DLQ_MAX_PAYLOAD;
  json_t *env =
      dlq_envelope_new(msg->payload, keep, &err, &origin, o->seal_dead_letters ? o->dlq_key : NULL,
                       producer, msg->attempts > 0 ? msg->attempts + 1 : 1, errstr, sizeof(errstr));
  if (!env) {
    log_error("dead_letter_failed", "cannot build dead letter for %s: %s", msg->topic, errstr);
    return -1;
  }
  if (msg->attempts > 0 && msg->first_failed_at && *msg->first_failed_at)
    json_object_set_new(env, "first_failed_at", json_string(msg->first_failed_at));
  if (keep < original_len) {
    json_object_set_new(env, "payload_truncated", json_true());
    json_object_set_new(env, "payload_size", json_integer((json_int_t)original_len));
  }
  res->dead = json_dumps(env, JSON_COMPACT);
  json_decref(env);
  if (!res->dead)
    return -1;
  res->dead_len = strlen(res->dead);
  res->dead_topic = stage_dlq_topic(o->topics, msg->topic);
  res->status = STAGE_DEAD_LETTER;
  out_clear(&res->out);
  return 0;
}

/* A fail with nothing filled: cheaper than zeroing its 776 bytes. */
static void fail_init(stage_fail_t *fail) {
  fail->code = NULL;
  fail->message[0] = '\0';
  fail->path[0] = '\0';
}

/* The reasons every stage gives: too_large, invalid_utf8, invalid_json, and
 * schema "must be object". A text jsonf reads is valid UTF-8 (it validates
 * every string and takes nothing but ASCII outside them), so UTF-8 is checked
 * only when parsing failed, to tell the two reasons apart: the same verdicts
 * as checking it first. parsed is 1 when the text parsed, is_object whether
 * its root is an object. Returns 0 when the message may go on; else fills
 * *fail and returns -1. */
static int check_message(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len,
                         int parsed, int is_object, stage_fail_t *fail) {
  if ((int64_t)original_len > rt->cfg->max_message_bytes) {
    fail->code = "too_large";
    snprintf(fail->message, sizeof(fail->message), "message of %zu bytes exceeds the limit of %lld",
             original_len, (long long)rt->cfg->max_message_bytes);
  } else if (!parsed && !utf8_valid(msg->payload, msg->len)) {
    fail->code = "invalid_utf8";
    snprintf(fail->message, sizeof(fail->message), "message is not valid UTF-8");
  } else if (!parsed) {
    fail->code = "invalid_json"; /* the reader wrote the message */
  } else if (!is_object) {
    fail->code = "schema";
    snprintf(fail->message, sizeof(fail->message), "must be object");
  } else {
    return 0;
  }
  return -1;
}

json_t *stage_prepare(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len,
                      stage_result_t *res, int *fatal) {
  stage_fail_t fail;
  fail_init(&fail);
  json_t *doc = NULL;
  if ((int64_t)original_len <= rt->cfg->max_message_bytes)
    doc = jsonf_parse(msg->payload, msg->len, STAGE_MAX_DEPTH, fail.message, sizeof(fail.message));
  if (check_message(rt, msg, original_len, doc != NULL, json_is_object(doc), &fail) == 0)
    return doc;
  json_decref(doc);
  if (stage_make_dead_letter(rt, msg, original_len, &fail, res) != 0)
    *fatal = 1;
  return NULL;
}

/* stage_prepare for document transforms: the message parsed into the
 * stage's reused document. */
static const jsonf_node_t *prepare_doc(stage_runtime_t *rt, const stage_msg_t *msg,
                                       size_t original_len, stage_result_t *res, int *fatal) {
  stage_fail_t fail;
  fail_init(&fail);
  const jsonf_node_t *root = NULL;
  if ((int64_t)original_len <= rt->cfg->max_message_bytes)
    root = jsonf_doc_parse(rt->opts->doc, msg->payload, msg->len, STAGE_MAX_DEPTH, fail.message,
                           sizeof(fail.message));
  if (check_message(rt, msg, original_len, root != NULL, root && root->type == JSONF_OBJECT,
                    &fail) == 0)
    return root;
  if (stage_make_dead_letter(rt, msg, original_len, &fail, res) != 0)
    *fatal = 1;
  return NULL;
}

/* Turns a transform's verdict into the result. */
static int stage_finish(stage_runtime_t *rt, const stage_msg_t *msg, size_t original_len, int rc,
                        stage_fail_t *fail, stage_result_t *res) {
  if (rc == STAGE_OK) {
    res->status = STAGE_OK;
    return 0;
  }
  out_clear(&res->out);
  if (rc == STAGE_RETRY) {
    res->status = STAGE_RETRY;
    return 0;
  }
  if (rc == STAGE_FATAL) {
    log_error("transform_fatal", "%s cannot go on at %s [%d] offset %lld; stopping uncommitted",
              rt->opts->service, msg->topic, msg->partition, (long long)msg->offset);
    return -1;
  }
  if (!fail->code)
    fail->code = "transform";
  return stage_make_dead_letter(rt, msg, original_len, fail, res);
}

size_t stage_batch_size(const stage_runtime_t *rt) {
  if (!rt->opts->transform_batch)
    return 1;
  return rt->opts->batch_max ? rt->opts->batch_max : 32;
}

int stage_handle_batch(stage_runtime_t *rt, const stage_msg_t *msgs, const size_t *original_lens,
                       size_t n, stage_result_t *res) {
  int fatal = 0;
  if (!rt->opts->transform_batch && rt->opts->transform_doc) {
    if (!rt->opts->doc)
      return -1; /* stage_run provides one */
    for (size_t i = 0; i < n && !fatal; i++) {
      const jsonf_node_t *root = prepare_doc(rt, &msgs[i], original_lens[i], &res[i], &fatal);
      if (!root)
        continue;
      stage_fail_t fail;
      fail_init(&fail);
      int rc = rt->opts->transform_doc(rt->opts->ctx, &msgs[i], root, &res[i].out, &fail);
      fatal = stage_finish(rt, &msgs[i], original_lens[i], rc, &fail, &res[i]) != 0;
    }
    return fatal ? -1 : 0;
  }
  if (!rt->opts->transform_batch) {
    for (size_t i = 0; i < n && !fatal; i++) {
      json_t *doc = stage_prepare(rt, &msgs[i], original_lens[i], &res[i], &fatal);
      if (!doc)
        continue;
      stage_fail_t fail;
      fail_init(&fail);
      int rc = rt->opts->transform(rt->opts->ctx, &msgs[i], doc, &res[i].out, &fail);
      json_decref(doc);
      fatal = stage_finish(rt, &msgs[i], original_lens[i], rc, &fail, &res[i]) != 0;
    }
    return fatal ? -1 : 0;
  }
  stage_batch_item_t *items = calloc(n, sizeof(*items)); /* owned here */
  stage_fail_t *fails = calloc(n, sizeof(*fails));
  size_t *index = calloc(n, sizeof(*index));
  size_t k = 0;
  if (!items || !fails || !index)
    fatal = 1;
  for (size_t i = 0; i < n && !fatal; i++) {
    json_t *doc = stage_prepare(rt, &msgs[i], original_lens[i], &res[i], &fatal);
    if (!doc)
      continue;
    items[k] = (stage_batch_item_t){&msgs[i], doc, &res[i].out, &fails[k], STAGE_DEAD_LETTER};
    index[k++] = i;
  }
  if (!fatal && k)
    rt->opts->transform_batch(rt->opts->ctx, items, k);
  for (size_t j = 0; j < k; j++) {
    size_t i = index[j];
    json_decref(items[j].doc);
    if (!fatal)
      fatal =
          stage_finish(rt, &msgs[i], original_lens[i], items[j].status, &fails[j], &res[i]) != 0;
  }
  free(items);
  free(fails);
  free(index);
  return fatal ? -1 : 0;
}

int stage_run(const stage_config_t *cfg, const stage_options_t *opts) {
  /* A document transform without a document of its own gets one for the run. */
  stage_options_t with_doc;
  jsonf_doc_t *own_doc = NULL;
  if (opts->transform_doc && !opts->doc) {
    if (!(own_doc = jsonf_doc_new())) {
      log_error("out_of_memory", "cannot allocate the message document");
      return 1;
    }
    with_doc = *opts;
    with_doc.doc = own_doc;
    opts = &with_doc;
  }
  stage_runtime_t rt = {.cfg = cfg, .opts = opts};
  signals_install();
  int rc = cfg->stdio ? stage_run_stdio(&rt) : stage_run_kafka(&rt);
  log_event(LOG_LEVEL_INFO, "stopped",
            json_pack("{sIsIsI}", "messages_in", (json_int_t)rt.in, "messages_out",
                      (json_int_t)rt.out, "dead_letters", (json_int_t)rt.dead),
            "%s stopped with exit code %d", opts->service, rc);
  stage_runtime_free(&rt);
  jsonf_doc_destroy(own_doc);
  return rc;
}
