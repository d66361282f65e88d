/* Validation, producing, dead letters and checkpoints shared by every source. */
#include "scraper_run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int scr_stopping(scr_stats_t *st) {
  if (!signals_stop)
    return 0;
  if (st->status == SCR_SRC_OK) {
    st->status = SCR_SRC_PARTIAL;
    snprintf(st->error, sizeof(st->error), "stopped by signal after the last checkpoint");
  }
  return 1;
}

int scr_run_add_topic(scr_run_t *run, const char *schemas_dir, const char *topic, char *errstr,
                      size_t errstr_size) {
  if (scr_run_schema(run, topic))
    return 0;
  const topic_info_t *t = topics_find(run->topics, topic);
  if (!t || !t->ingest || !t->schema || !t->dead_letters) {
    /* Only raw-record topics: everything else is downstream of privacy-shield. */
    snprintf(errstr, errstr_size,
             "topic %s is not an ingest topic of topics.yaml (ingest: true, a schema and "
             "dead_letters)",
             topic);
    return -1;
  }
  if (run->ncontracts == SCR_CONTRACTS_MAX) {
    snprintf(errstr, errstr_size, "more than %d topics in one run", SCR_CONTRACTS_MAX);
    return -1;
  }
  char path[4096], why[512];
  snprintf(path, sizeof(path), "%s/%s", schemas_dir, t->schema);
  schema_t *schema = schema_load_file(path, why, sizeof(why));
  if (!schema) {
    snprintf(errstr, errstr_size, "%s: %s", path, why);
    return -1;
  }
  run->contracts[run->ncontracts++] = (scr_contract_t){.topic = t, .schema = schema};
  return 0;
}

void scr_run_fini(scr_run_t *run) {
  if (!run)
    return;
  for (size_t i = 0; i < run->ncontracts; i++)
    schema_destroy(run->contracts[i].schema);
  run->ncontracts = 0;
}

const schema_t *scr_run_schema(const scr_run_t *run, const char *topic) {
  for (size_t i = 0; topic && i < run->ncontracts; i++)
    if (strcmp(run->contracts[i].topic->name, topic) == 0)
      return run->contracts[i].schema;
  return NULL;
}

const char *scr_topic_key_field(const scr_run_t *run, const char *topic) {
  const topic_info_t *t = topics_find(run->topics, topic);
  return t ? t->key : NULL;
}

int scr_dead_letter(scr_run_t *run, scr_stats_t *st, const char *topic, const char *key,
                    const char *payload, size_t len, int64_t ordinal, const char *code,
                    const char *message, const char *path) {
  char err[512];
  dlq_error_t e = {"scraper-ingest", code, message, path};
  dlq_origin_t o = {topic, -1, ordinal, key, key ? strlen(key) : 0, -1};
  /* Always sealed: what a scraper fetched is raw and may name people. */
  json_t *env =
      dlq_envelope_new(payload, len, &e, &o, run->dlq_key, run->producer, 1, err, sizeof(err));
  if (!env) {
    snprintf(st->error, sizeof(st->error), "dead letter: %s", err);
    return -1;
  }
  char *text = json_dumps(env, JSON_COMPACT);
  json_decref(env);
  if (!text) {
    snprintf(st->error, sizeof(st->error), "dead letter: out of memory");
    return -1;
  }
  int rc = scr_sink_produce(run->sink, 1, stage_dlq_topic(run->topics, topic), key,
                            key ? strlen(key) : 0, text, strlen(text), err, sizeof(err));
  free(text);
  if (rc != 0) {
    st->status = SCR_SRC_KAFKA;
    snprintf(st->error, sizeof(st->error), "%s", err);
    return -1;
  }
  st->dead++;
  return 0;
}

int scr_emit(scr_run_t *run, scr_stats_t *st, const char *topic, const json_t *rec,
             const char *payload, size_t len, int64_t ordinal) {
  const schema_t *schema = scr_run_schema(run, topic);
  const char *kf = scr_topic_key_field(run, topic);
  const char *key = kf ? json_string_value(json_object_get(rec, kf)) : NULL;
  char *owned = NULL;
  if (!payload) {
    owned = json_dumps(rec, JSON_COMPACT);
    if (!owned) {
      snprintf(st->error, sizeof(st->error), "out of memory");
      st->status = SCR_SRC_KAFKA;
      return -1;
    }
    payload = owned;
    len = strlen(owned);
  }
  char why[512];
  int rc;
  if (!schema) {
    rc = scr_dead_letter(run, st, topic, key, payload, len, ordinal, "unknown_topic",
                         "no source contract for this topic", NULL);
  } else if (schema_validate(schema, rec, why, sizeof(why)) != 0) {
    /* "<pointer>: <reason>" → path and message, as the dead letter wants them. */
    char *sep = strstr(why, ": ");
    const char *msg = why;
    const char *path = NULL;
    if (sep) {
      *sep = '\0';
      path = why;
      msg = sep + 2;
    }
    rc = scr_dead_letter(run, st, topic, key, payload, len, ordinal, "schema", msg, path);
  } else if ((int64_t)len > run->cfg->max_message_bytes) {
    rc = scr_dead_letter(run, st, topic, key, payload, len, ordinal, "too_large",
                         "record larger than message.max_bytes", NULL);
  } else {
    char err[512];
    rc = scr_sink_produce(run->sink, 0, topic, key, key ? strlen(key) : 0, payload, len, err,
                          sizeof(err));
    if (rc != 0) {
      st->status = SCR_SRC_KAFKA;
      snprintf(st->error, sizeof(st->error), "%s", err);
    } else {
      st->produced++;
    }
  }
  free(owned);
  return rc;
}

int scr_checkpoint(scr_run_t *run, scr_stats_t *st, const char *stream, const char *value) {
  char err[512];
  if (scr_sink_flush(run->sink, err, sizeof(err)) != 0) {
    st->status = SCR_SRC_KAFKA;
    snprintf(st->error, sizeof(st->error), "%s", err);
    return -1;
  }
  int stored = value && (run->cursors || run->state);
  if (stored &&
      (run->cursors
           ? run->cursors->set(run->cursors->ctx, st->source, stream, value, err, sizeof(err))
           : scr_state_set_cursor(run->state, st->source, stream, value, err, sizeof(err))) != 0) {
    st->status = SCR_SRC_STATE;
    snprintf(st->error, sizeof(st->error), "%s", err);
    return -1;
  }
  if (stored) {
    if (strcmp(stream, st->source) == 0)
      snprintf(st->cursor_after, sizeof(st->cursor_after), "%s", value);
    else
      snprintf(st->cursor_after, sizeof(st->cursor_after), "%s=%s", stream, value);
  }
  return 0;
}

int scr_cursor(scr_run_t *run, scr_stats_t *st, const char *stream, char *out, size_t out_size) {
  out[0] = '\0';
  if (!run->cursors && !run->state)
    return 0;
  char err[512];
  if ((run->cursors ? run->cursors->get(run->cursors->ctx, st->source, stream, out, out_size, err,
                                        sizeof(err))
                    : scr_state_get_cursor(run->state, st->source, stream, out, out_size, err,
                                           sizeof(err))) < 0) {
    st->status = SCR_SRC_STATE;
    snprintf(st->error, sizeof(st->error), "%s", err);
    return -1;
  }
  if (!st->cursor_before[0]) {
    if (strcmp(stream, st->source) == 0)
      snprintf(st->cursor_before, sizeof(st->cursor_before), "%s", out);
    else
      snprintf(st->cursor_before, sizeof(st->cursor_before), "%s=%s", stream, out);
    snprintf(st->cursor_after, sizeof(st->cursor_after), "%s", st->cursor_before);
  }
  return 0;
}
