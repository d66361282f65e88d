#include "shield.h"
#include "core/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "json/jsonf.h"
#include "json/schema.h"

/* An x-pii field of a route, with what the hot path compares precomputed. */
typedef struct policy_field {
  const schema_pii_field_t *f;
  size_t name_len, target_len;
  uint32_t name_hash, target_hash; /* jsonf_key_hash, as key nodes carry */
  unsigned target_flags;           /* JSONF_PLAIN when the target needs no escaping */
} policy_field_t;

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
  schema_pair_t *pair;    /* clean against src: what the clean check may take as proven */
  policy_field_t *fields; /* owned; schema order */
  size_t field_count;
} route_t;

/* One member of the clean record being assembled, in output order: a member
 * of the source record, possibly with a new value, or an appended hash. */
typedef struct entry {
  const jsonf_node_t *key;      /* the source's key node, or NULL: */
  const policy_field_t *target; /* the field whose hash this appended member holds */
  const jsonf_node_t *value;    /* the source's value, or NULL: text[off, off + len) */
  size_t off, len;
  uint32_t hash; /* of the key */
  uint8_t scan;  /* phones and emails in the value (a string or strings) become tokens */
  uint8_t live;  /* 0 once deleted */
  uint8_t same;  /* the source's value, unchanged (scanning found nothing) */
} entry_t;

/* A scrubbed string in text, or (off == NO_TEXT) the source string as it was. */
typedef struct span {
  size_t off, len;
} span_t;
#define NO_TEXT ((size_t)-1)

struct shield {
  const pii_hasher_t *hasher;
  route_t routes[2];
  /* Per-message scratch, kept from message to message so that the transform
   * allocates nothing once warm (one message at a time per shield). */
  jsonf_doc_t *in;    /* shield_transform: the jansson record laid out */
  jsonf_doc_t *clean; /* the clean record */
  jsonf_buf_t text;   /* hashes and scrubbed strings the clean record points at */
  jsonf_buf_t record; /* the clean record's bytes */
  jsonf_buf_t audit;  /* the audit event's bytes */
  entry_t *entries;
  size_t entries_cap;
  span_t *spans;
  size_t spans_len, spans_cap;
  /* The audit event's fixed parts: up to the partition for the last input
   * topic, and from the counts' end to the timestamp. */
  char *head_topic; /* owned copy of the topic head was made for */
  jsonf_buf_t head, middle;
};

static const route_t route_defaults[2] = {
    {.prefix = "source.social.",
     .source_schema = "social_post.json",
     .clean_schema = "clean_social_post.json",
     .output_topic = "clean.social",
     .id_field = "post_id"},
    {.prefix = "source.market.",
     .source_schema = "market_order.json",
     .clean_schema = "clean_market_order.json",
     .output_topic = "sink.snowflake.orders",
     .id_field = "order_id"},
};

#define AUDIT_TOPIC "audit.privacy"

/* JSONF_PLAIN (and JSONF_UTF8) when name is ASCII that needs no escaping. */
static unsigned plain(const char *name, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x80 || name[i] == '"' ||
        name[i] == '\\')
      return 0;
  return JSONF_PLAIN | JSONF_UTF8;
}

static schema_t *load(const char *dir, const char *name, char *errstr, size_t errstr_size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return schema_load_file(path, errstr, errstr_size);
}

shield_t *shield_new(const char *schemas_dir, const pii_hasher_t *hasher, char *errstr,
                     size_t errstr_size) {
  shield_t *s = calloc(1, sizeof(*s)); /* caller owns, shield_destroy() */
  if (!s || !(s->in = jsonf_doc_new()) || !(s->clean = jsonf_doc_new())) {
    snprintf(errstr, errstr_size, "out of memory");
    shield_destroy(s);
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
    const schema_pii_field_t *pii;
    if (!(r->pair = schema_pair_new(r->clean, r->src))) {
      snprintf(errstr, errstr_size, "out of memory");
      shield_destroy(s);
      return NULL;
    }
    r->field_count = schema_pii_fields(r->src, &pii);
    if (!(r->fields = calloc(r->field_count ? r->field_count : 1, sizeof(*r->fields)))) {
      snprintf(errstr, errstr_size, "out of memory");
      shield_destroy(s);
      return NULL;
    }
    for (size_t k = 0; k < r->field_count; k++) {
      policy_field_t *pf = &r->fields[k];
      pf->f = &pii[k];
      pf->name_len = strlen(pii[k].name);
      pf->name_hash = jsonf_key_hash(pii[k].name, pf->name_len);
      if (pii[k].target) {
        pf->target_len = strlen(pii[k].target);
        pf->target_hash = jsonf_key_hash(pii[k].target, pf->target_len);
        pf->target_flags = plain(pii[k].target, pf->target_len);
      }
    }
  }
  const char *id = pii_hasher_key_id(hasher);
  if (jsonf_buf_append(
          &s->middle, "},\"detector_version\":\"" PII_DETECTOR_VERSION "\",\"key_id\":\"",
          strlen("},\"detector_version\":\"" PII_DETECTOR_VERSION "\",\"key_id\":\"")) ||
      jsonf_buf_append(&s->middle, id, strlen(id)) ||
      jsonf_buf_append(&s->middle, "\",\"timestamp\":\"", 15)) {
    snprintf(errstr, errstr_size, "out of memory");
    shield_destroy(s);
    return NULL;
  }
  return s;
}

void shield_destroy(shield_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < 2; i++) {
    schema_destroy(s->routes[i].src);
    schema_destroy(s->routes[i].clean);
    schema_pair_destroy(s->routes[i].pair);
    free(s->routes[i].fields);
  }
  free(s->head_topic);
  jsonf_buf_free(&s->head);
  jsonf_buf_free(&s->middle);
  jsonf_doc_destroy(s->in);
  jsonf_doc_destroy(s->clean);
  jsonf_buf_free(&s->text);
  jsonf_buf_free(&s->record);
  jsonf_buf_free(&s->audit);
  free(s->entries);
  free(s->spans);
  free(s);
}

static const route_t *route_for(const shield_t *s, const char *topic) {
  for (size_t i = 0; i < 2; i++)
    if (strncmp(topic, s->routes[i].prefix, strlen(s->routes[i].prefix)) == 0)
      return &s->routes[i];
  return NULL;
}

static void fail_oom(stage_fail_t *fail) {
  fail->code = "internal";
  snprintf(fail->message, sizeof(fail->message), "out of memory");
}

/* ---- the policy ------------------------------------------------------------ */

/* The live entry whose key is name (hash: its jsonf_key_hash), or -1. */
static long entry_find(const entry_t *e, size_t n, const char *name, size_t len, uint32_t hash) {
  for (size_t i = 0; i < n; i++) {
    if (e[i].hash != hash || !e[i].live)
      continue;
    const char *k = e[i].key ? e[i].key->v.s : e[i].target->f->target;
    size_t kl = e[i].key ? e[i].key->len : e[i].target->target_len;
    if (kl == len && memcmp(k, name, len) == 0)
      return (long)i;
  }
  return -1;
}

/* Lays out the policy's edits of the source record as entries, with the
 * semantics the transform always had on a jansson object: a hash is set on its
 * target (replacing the value in place when the key exists, else appended)
 * and the identifier is deleted; a scanned field keeps its place. Hashes are
 * written to s->text. Returns the entry count, or -1 with fail filled. */
static long apply_policy(shield_t *s, const route_t *r, const jsonf_node_t *root, size_t *hashed,
                         stage_fail_t *fail) {
  size_t need = (size_t)root->len + r->field_count;
  if (need > s->entries_cap) {
    entry_t *e = realloc(s->entries, need * sizeof(*e));
    if (!e) {
      fail_oom(fail);
      return -1;
    }
    s->entries = e;
    s->entries_cap = need;
  }
  entry_t *e = s->entries;
  size_t n = 0;
  const jsonf_node_t *k = root + 1;
  for (uint32_t i = 0; i < root->len; i++, k = k + 1 + k[1].size)
    e[n++] = (entry_t){.key = k, .value = k + 1, .hash = k->hash, .live = 1, .same = 1};

  char errstr[128];
  for (size_t i = 0; i < r->field_count; i++) {
    const policy_field_t *pf = &r->fields[i];
    const schema_pii_field_t *f = pf->f;
    long at = entry_find(e, n, f->name, pf->name_len, pf->name_hash);
    if (at < 0)
      continue;
    entry_t *x = &e[at];
    if (f->action == SCHEMA_PII_SCAN) {
      x->scan = 1;
      continue;
    }
    /* Hash-and-drop: the raw identifier never leaves this function. A value
     * that cannot be normalised is not guessed at: the record is dead-lettered
     * (sealed) for an operator to fix and replay. */
    if (x->value && x->value->type == JSONF_NULL) {
      x->live = 0;
      continue;
    }
    if (jsonf_buf_reserve(&s->text, PII_HASH_MAX) != 0) {
      fail_oom(fail);
      return -1;
    }
    int is_string = !x->value || x->value->type == JSONF_STRING;
    const char *v = x->value ? x->value->v.s : s->text.data + x->off; /* text no longer moves */
    size_t vlen = x->value ? x->value->len : x->len;
    char *hash = s->text.data + s->text.len;
    if (!is_string || pii_hash_identifier(s->hasher, f->kind, v, vlen, hash, PII_HASH_MAX, errstr,
                                          sizeof(errstr)) != 0) {
      fail->code = "invalid_identifier";
      snprintf(fail->message, sizeof(fail->message), "/%s: %s", f->name,
               is_string ? errstr : "must be string");
      snprintf(fail->path, sizeof(fail->path), "/%s", f->name);
      return -1;
    }
    size_t off = s->text.len, len = strlen(hash);
    s->text.len += len;
    long t = entry_find(e, n, f->target, pf->target_len, pf->target_hash);
    if (t < 0) {
      t = (long)n;
      e[n++] = (entry_t){.target = pf, .hash = pf->target_hash, .live = 1};
    }
    e[t].value = NULL;
    e[t].off = off;
    e[t].len = len;
    e[t].scan = 0;
    e[t].same = 0;
    e[at].live = 0; /* after the set: a target named like its field goes too */
    (*hashed)++;
  }
  return (long)n;
}

/* Scrubs one string into s->text and records where it went (NO_TEXT: nothing
 * found, the source string stays). The string is v[0..len), or, when v is
 * NULL, text[at, at + len) (re-read after text grows). 0, or -1 when out of
 * memory. */
static int scrub_one(shield_t *s, const char *v, size_t at, size_t len, pii_counts_t *counts) {
  if (array_reserve(&s->spans, &s->spans_cap, s->spans_len + 1, sizeof(*s->spans), 16) != 0)
    return -1;
  span_t *sp = &s->spans[s->spans_len++];
  size_t before = counts->phones + counts->emails, room = len + 64;
  for (;;) {
    if (jsonf_buf_reserve(&s->text, room) != 0)
      return -1;
    size_t got = pii_scrub_into(s->hasher, v ? v : s->text.data + at, len,
                                s->text.data + s->text.len, s->text.cap - s->text.len, counts);
    if (got == (size_t)-1)
      return -1;
    if (got <= s->text.cap - s->text.len) {
      if (counts->phones + counts->emails == before) {
        sp->off = NO_TEXT; /* unchanged: keep the source string (and its flags) */
      } else {
        sp->off = s->text.len;
        sp->len = got;
        s->text.len += got;
      }
      return 0;
    }
    room = got;
  }
}

static int is_text(const entry_t *x) {
  return !x->value;
}

/* Scrubs every scanned string of the live entries, in output order; an entry
 * whose strings changed is no longer the same as the source's. */
static int scrub_all(shield_t *s, entry_t *e, size_t n, pii_counts_t *counts) {
  s->spans_len = 0;
  for (size_t i = 0; i < n; i++) {
    entry_t *x = &e[i];
    if (!x->live || !x->scan)
      continue;
    size_t before = counts->phones + counts->emails;
    if (is_text(x)) {
      if (scrub_one(s, NULL, x->off, x->len, counts) != 0)
        return -1;
    } else if (x->value->type == JSONF_STRING) {
      if (scrub_one(s, x->value->v.s, 0, x->value->len, counts) != 0)
        return -1;
    } else if (x->value->type == JSONF_ARRAY) {
      const jsonf_node_t *it = x->value + 1;
      for (uint32_t j = 0; j < x->value->len; j++, it += it->size)
        if (it->type == JSONF_STRING && scrub_one(s, it->v.s, 0, it->len, counts) != 0)
          return -1;
    }
    if (counts->phones + counts->emails != before)
      x->same = 0;
  }
  return 0;
}

/* A string of the clean record: the source node, or its scrubbed copy in
 * text, which keeps the source's JSONF_PLAIN and JSONF_UTF8 (tokens are
 * ASCII that needs no escaping, and they replace whole characters). */
static int add_scanned(shield_t *s, const jsonf_node_t *src, const span_t *sp) {
  if (sp->off != NO_TEXT)
    return jsonf_doc_add_string(s->clean, s->text.data + sp->off, sp->len, src->flags);
  return jsonf_doc_add_value(s->clean, src);
}

/* The strings of an array, each of which scrub_all gave a span. */
static size_t scanned_strings(const jsonf_node_t *arr) {
  size_t k = 0;
  if (arr->type != JSONF_ARRAY)
    return 0;
  const jsonf_node_t *it = arr + 1;
  for (uint32_t j = 0; j < arr->len; j++, it += it->size)
    k += it->type == JSONF_STRING;
  return k;
}

/* Builds the clean record from the entries; text must not move any more.
 * Runs of unchanged members that follow each other in the source are copied
 * as one block of nodes. *kept gets a bit for each of the first 64 members of
 * the clean record that holds a member of the source record as it was. */
static const jsonf_node_t *build_clean(shield_t *s, const entry_t *e, size_t n, uint64_t *kept) {
  jsonf_doc_t *d = s->clean;
  const span_t *sp = s->spans;
  size_t member = 0;
  *kept = 0;
  jsonf_doc_reset(d);
  size_t obj = jsonf_doc_open(d, JSONF_OBJECT);
  if (obj == (size_t)-1)
    return NULL;
  for (size_t i = 0; i < n;) {
    const entry_t *x = &e[i];
    int rc;
    if (!x->live) {
      i++;
      continue;
    }
    if (x->key && x->same) {
      const jsonf_node_t *end = x->value + x->value->size;
      size_t j = i + 1;
      for (; j < n && e[j].live && e[j].same && e[j].key == end; j++)
        end = e[j].value + e[j].value->size;
      for (size_t q = i; q < j; q++, member++)
        if (member < 64)
          *kept |= UINT64_C(1) << member;
      /* scanned strings in the run found nothing: their spans are passed over */
      for (size_t q = i; q < j; q++)
        if (e[q].scan)
          sp += e[q].value->type == JSONF_STRING ? 1 : scanned_strings(e[q].value);
      if (jsonf_doc_add_nodes(d, x->key, (size_t)(end - x->key)) != 0)
        return NULL;
      i = j;
      continue;
    }
    rc = x->key ? jsonf_doc_add_value(d, x->key)
                : jsonf_doc_add_key(d, x->target->f->target, x->target->target_len,
                                    x->target->target_flags);
    if (rc != 0)
      return NULL;
    if (!x->value) { /* a hash (tokens need no escaping either) */
      size_t off = x->off, len = x->len;
      if (x->scan && sp->off != NO_TEXT) {
        off = sp->off;
        len = sp->len;
      }
      sp += x->scan;
      rc = jsonf_doc_add_string(d, s->text.data + off, len, JSONF_PLAIN | JSONF_UTF8);
    } else if (x->scan && x->value->type == JSONF_STRING) {
      rc = add_scanned(s, x->value, sp++);
    } else if (x->scan && x->value->type == JSONF_ARRAY) {
      size_t arr = jsonf_doc_open(d, JSONF_ARRAY);
      rc = arr == (size_t)-1 ? -1 : 0;
      const jsonf_node_t *it = x->value + 1;
      for (uint32_t j = 0; rc == 0 && j < x->value->len; j++, it += it->size)
        rc = it->type == JSONF_STRING ? add_scanned(s, it, sp++) : jsonf_doc_add_value(d, it);
      if (rc == 0)
        jsonf_doc_close(d, arr);
    } else {
      rc = jsonf_doc_add_value(d, x->value);
    }
    if (rc != 0)
      return NULL;
    i++;
    member++;
  }
  jsonf_doc_close(d, obj);
  return jsonf_doc_root(d);
}

/* ---- outputs --------------------------------------------------------------- */

/* Kafka topic names are [a-zA-Z0-9._-]; only such a name is written into the
 * audit event without escaping. */
static int topic_name_plain(const char *t) {
  for (; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
          *t == '.' || *t == '_' || *t == '-'))
      return 0;
  return 1;
}

#define PUT(lit) jsonf_buf_append(b, lit, sizeof(lit) - 1)

/* The audit event's head for topic: {"topic":"<topic>","partition": (kept
 * until the topic changes). */
static int audit_head(shield_t *s, const char *topic) {
  if (s->head_topic && strcmp(s->head_topic, topic) == 0)
    return 0;
  free(s->head_topic);
  if (!(s->head_topic = strdup(topic)))
    return -1;
  jsonf_buf_t *b = &s->head;
  const char *t = topic_name_plain(topic) ? topic : "(invalid topic name)";
  size_t tlen = strlen(t);
  b->len = 0;
  return PUT("{\"topic\":\"") || jsonf_buf_append(b, t, tlen > 249 ? 249 : tlen) ||
                 PUT("\",\"partition\":")
             ? -1
             : 0;
}

/* One audit event per message: counts only, never values. Written by hand
 * into one reservation (every field is a number or a known-safe name): it is
 * on the hot path. */
static int write_audit(shield_t *s, const stage_msg_t *msg, const pii_counts_t *counts,
                       size_t hashed) {
  jsonf_buf_t *b = &s->audit;
  if (audit_head(s, msg->topic) != 0 ||
      jsonf_buf_reserve(b, s->head.len + s->middle.len + 5 * JSONF_INT_MAX + 96 +
                               CLOCK_RFC3339_MAX) != 0)
    return -1;
  char *o = b->data;
#define LIT(lit) (memcpy(o, lit, sizeof(lit) - 1), o += sizeof(lit) - 1)
  memcpy(o, s->head.data, s->head.len);
  o += s->head.len;
  o += jsonf_format_int(o, msg->partition);
  LIT(",\"offset\":");
  o += jsonf_format_int(o, msg->offset);
  LIT(",\"counts\":{\"phone\":");
  o += jsonf_format_int(o, (int64_t)counts->phones);
  LIT(",\"email\":");
  o += jsonf_format_int(o, (int64_t)counts->emails);
  LIT(",\"identifiers_hashed\":");
  o += jsonf_format_int(o, (int64_t)hashed);
  memcpy(o, s->middle.data, s->middle.len);
  o += s->middle.len;
  clock_format_ms(clock_wall_ms(), o, CLOCK_RFC3339_MAX);
  o += strlen(o);
  LIT("\"}");
#undef LIT
  b->len = (size_t)(o - b->data);
  return 0;
}

/* Emits borrowed (the stage's document path) or copied (jansson callers, who
 * own and free what they get). */
static int emit(stage_out_t *out, int borrow, int kind, const char *topic, const char *key,
                size_t key_len, const char *payload, size_t len) {
  return borrow ? stage_emit_ref(out, kind, topic, key, key_len, payload, len)
                : stage_emit(out, kind, topic, key, key_len, payload, len);
}

static int transform(shield_t *s, const stage_msg_t *msg, const jsonf_node_t *root,
                     stage_out_t *out, stage_fail_t *fail, int borrow) {
  const route_t *r = route_for(s, msg->topic);
  char err[512];
  if (!r) {
    fail->code = "unknown_topic";
    snprintf(fail->message, sizeof(fail->message), "no route for input topic %s", msg->topic);
    return STAGE_DEAD_LETTER;
  }
  if (schema_validate_node(r->src, root, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "schema", "", err);
    return STAGE_DEAD_LETTER;
  }
  pii_counts_t counts = {0, 0};
  size_t hashed = 0;
  s->text.len = 0;
  long n = apply_policy(s, r, root, &hashed, fail);
  if (n < 0)
    return STAGE_DEAD_LETTER;
  const jsonf_node_t *clean = NULL;
  uint64_t kept;
  if (scrub_all(s, s->entries, (size_t)n, &counts) != 0 ||
      !(clean = build_clean(s, s->entries, (size_t)n, &kept))) {
    fail_oom(fail);
    return STAGE_DEAD_LETTER;
  }
  /* The clean contract forbids every raw identifier field: a record that
   * fails here would have leaked, so it is dead-lettered, never emitted. The
   * whole record is checked, except the values the source check already
   * proved where both contracts say the same about them. */
  if (schema_validate_derived(r->pair, clean, kept, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "clean_contract", "cleaned record breaks its contract: ", err);
    return STAGE_DEAD_LETTER;
  }
  s->record.len = 0;
  if (jsonf_dump_node(clean, &s->record) != 0) {
    fail->code = "internal";
    snprintf(fail->message, sizeof(fail->message), "cannot serialise record");
    return STAGE_DEAD_LETTER;
  }
  /* Keep the partitioning key of the source topic; without one, use the id. */
  const char *key = msg->key;
  size_t key_len = msg->key_len;
  if (!key) {
    const jsonf_node_t *id = jsonf_object_get(clean, r->id_field, strlen(r->id_field));
    if (id && id->type == JSONF_STRING) {
      key = id->v.s;
      key_len = id->len;
    }
  }
  if (emit(out, borrow, STAGE_OUTPUT_PRIMARY, r->output_topic, key, key_len, s->record.data,
           s->record.len) != 0 ||
      write_audit(s, msg, &counts, hashed) != 0 ||
      emit(out, borrow, STAGE_OUTPUT_SIDE, AUDIT_TOPIC, NULL, 0, s->audit.data, s->audit.len) !=
          0) {
    fail_oom(fail);
    return STAGE_DEAD_LETTER;
  }
  return STAGE_OK;
}

int shield_transform_doc(void *ctx, const stage_msg_t *msg, const jsonf_node_t *doc,
                         stage_out_t *out, stage_fail_t *fail) {
  return transform(ctx, msg, doc, out, fail, 1);
}

int shield_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                     stage_fail_t *fail) {
  shield_t *s = ctx;
  const jsonf_node_t *root = jsonf_doc_from_jansson(s->in, doc);
  if (!root) {
    fail_oom(fail);
    return STAGE_DEAD_LETTER;
  }
  return transform(s, msg, root, out, fail, 0);
}
