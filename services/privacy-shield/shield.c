#include "shield.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "json/jsonf.h"
#include "json/schema.h"

/* Where each family of source topics goes. The x-pii policy comes from the
 * source schema; the clean schema is the proof that nothing raw is left. */
typedef struct route {
  const char *prefix;
  const char *source_schema;
  const char *clean_schema;
  const char *output_topic;
  const char *id_field;
  schema_t *src;
  schema_t *clean;
  const schema_pii_field_t *pii;
  size_t pii_count;
} route_t;

struct shield {
  const pii_hasher_t *hasher;
  route_t routes[2];
};

static const route_t route_defaults[2] = {
    {"source.social.", "social_post.json", "clean_social_post.json", "clean.social", "post_id",
     NULL, NULL, NULL, 0},
    {"source.market.", "market_order.json", "clean_market_order.json", "sink.snowflake.orders",
     "order_id", NULL, NULL, NULL, 0},
};

#define AUDIT_TOPIC "audit.privacy"

static schema_t *load(const char *dir, const char *name, char *errstr, size_t errstr_size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return schema_load_file(path, errstr, errstr_size);
}

shield_t *shield_new(const char *schemas_dir, const pii_hasher_t *hasher, char *errstr,
                     size_t errstr_size) {
  shield_t *s = calloc(1, sizeof(*s)); /* caller owns, shield_destroy() */
  if (!s) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  s->hasher = hasher;
  memcpy(s->routes, route_defaults, sizeof(route_defaults));
  for (size_t i = 0; i < 2; i++) {
    route_t *r = &s->routes[i];
    if (!(r->src = load(schemas_dir, r->source_schema, errstr, errstr_size)) ||
        !(r->clean = load(schemas_dir, r->clean_schema, errstr, errstr_size))) {
      shield_destroy(s);
      return NULL;
    }
    r->pii_count = schema_pii_fields(r->src, &r->pii);
  }
  return s;
}

void shield_destroy(shield_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < 2; i++) {
    schema_destroy(s->routes[i].src);
    schema_destroy(s->routes[i].clean);
  }
  free(s);
}

static const route_t *route_for(const shield_t *s, const char *topic) {
  for (size_t i = 0; i < 2; i++)
    if (strncmp(topic, s->routes[i].prefix, strlen(s->routes[i].prefix)) == 0)
      return &s->routes[i];
  return NULL;
}

/* Replaces the string with its scrubbed copy; returns 0 or -1 (out of memory). */
static int scrub_string(const shield_t *s, json_t *str, pii_counts_t *counts) {
  size_t out_len;
  size_t before = counts->phones + counts->emails;
  char *clean =
      pii_scrub_text(s->hasher, json_string_value(str), json_string_length(str), &out_len, counts);
  if (!clean)
    return -1;
  int rc = 0;
  if (counts->phones + counts->emails != before)
    rc = json_string_setn_nocheck(str, clean, out_len);
  free(clean);
  return rc;
}

static int apply_policy(const shield_t *s, const route_t *r, json_t *doc, pii_counts_t *counts,
                        size_t *hashed, stage_fail_t *fail) {
  char hash[PII_HASH_MAX], errstr[128];
  for (size_t i = 0; i < r->pii_count; i++) {
    const schema_pii_field_t *f = &r->pii[i];
    json_t *v = json_object_get(doc, f->name);
    if (!v)
      continue;
    if (f->action == SCHEMA_PII_SCAN) {
      if (json_is_string(v)) {
        if (scrub_string(s, v, counts) != 0)
          goto oom;
      } else if (json_is_array(v)) {
        size_t idx;
        json_t *item;
        json_array_foreach(v, idx, item) {
          if (json_is_string(item) && scrub_string(s, item, counts) != 0)
            goto oom;
        }
      }
      continue;
    }
    /* Hash-and-drop: the raw identifier never leaves this function. A value
     * that cannot be normalised is not guessed at: the record is dead-lettered
     * (sealed) for an operator to fix and replay. */
    if (json_is_null(v)) {
      json_object_del(doc, f->name);
      continue;
    }
    if (!json_is_string(v) ||
        pii_hash_identifier(s->hasher, f->kind, json_string_value(v), json_string_length(v), hash,
                            sizeof(hash), errstr, sizeof(errstr)) != 0) {
      fail->code = "invalid_identifier";
      snprintf(fail->message, sizeof(fail->message), "/%s: %s", f->name,
               json_is_string(v) ? errstr : "must be string");
      snprintf(fail->path, sizeof(fail->path), "/%s", f->name);
      return -1;
    }
    if (json_object_set_new(doc, f->target, json_string(hash)) != 0)
      goto oom;
    json_object_del(doc, f->name);
    (*hashed)++;
  }
  return 0;
oom:
  fail->code = "internal";
  snprintf(fail->message, sizeof(fail->message), "out of memory");
  return -1;
}

/* Kafka topic names are [a-zA-Z0-9._-]; only such a name is written into the
 * audit event without escaping. */
static int topic_name_plain(const char *t) {
  for (; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
          *t == '.' || *t == '_' || *t == '-'))
      return 0;
  return 1;
}

/* One audit event per message: counts only, never values. Formatted directly
 * (every field is a number or a known-safe name): it is on the hot path. */
static int emit_audit(const shield_t *s, const stage_msg_t *msg, const pii_counts_t *counts,
                      size_t hashed, stage_out_t *out) {
  char ts[40], text[512];
  log_timestamp(ts, sizeof(ts));
  const char *topic = topic_name_plain(msg->topic) ? msg->topic : "(invalid topic name)";
  int n =
      snprintf(text, sizeof(text),
               "{\"topic\":\"%.249s\",\"partition\":%d,\"offset\":%lld,\"counts\":{\"phone\":%zu,"
               "\"email\":%zu,\"identifiers_hashed\":%zu},\"detector_version\":\"%s\","
               "\"key_id\":\"%s\",\"timestamp\":\"%s\"}",
               topic, (int)msg->partition, (long long)msg->offset, counts->phones, counts->emails,
               hashed, PII_DETECTOR_VERSION, pii_hasher_key_id(s->hasher), ts);
  if (n < 0 || (size_t)n >= sizeof(text))
    return -1;
  return stage_emit(out, STAGE_OUTPUT_SIDE, AUDIT_TOPIC, NULL, 0, text, (size_t)n);
}

int shield_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                     stage_fail_t *fail) {
  const shield_t *s = ctx;
  const route_t *r = route_for(s, msg->topic);
  char err[512];
  if (!r) {
    fail->code = "unknown_topic";
    snprintf(fail->message, sizeof(fail->message), "no route for input topic %s", msg->topic);
    return STAGE_DEAD_LETTER;
  }
  if (schema_validate(r->src, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "schema", "", err);
    return STAGE_DEAD_LETTER;
  }
  pii_counts_t counts = {0, 0};
  size_t hashed = 0;
  if (apply_policy(s, r, doc, &counts, &hashed, fail) != 0)
    return STAGE_DEAD_LETTER;
  /* The clean contract forbids every raw identifier field: a record that
   * fails here would have leaked, so it is dead-lettered, never emitted. */
  if (schema_validate(r->clean, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "clean_contract", "cleaned record breaks its contract: ", err);
    return STAGE_DEAD_LETTER;
  }
  size_t text_len;
  char *text = jsonf_dumps(doc, &text_len);
  if (!text) {
    fail->code = "internal";
    snprintf(fail->message, sizeof(fail->message), "cannot serialise record");
    return STAGE_DEAD_LETTER;
  }
  /* Keep the partitioning key of the source topic; without one, use the id. */
  const char *key = msg->key;
  size_t key_len = msg->key_len;
  if (!key) {
    json_t *id = json_object_get(doc, r->id_field);
    key = json_string_value(id);
    key_len = key ? json_string_length(id) : 0;
  }
  if (stage_emit_owned(out, STAGE_OUTPUT_PRIMARY, r->output_topic, key, key_len, text, text_len) !=
          0 ||
      emit_audit(s, msg, &counts, hashed, out) != 0) {
    fail->code = "internal";
    snprintf(fail->message, sizeof(fail->message), "out of memory");
    return STAGE_DEAD_LETTER;
  }
  return STAGE_OK;
}
