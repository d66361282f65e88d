/* privacy-shield's document transform against the transform it replaced,
 * kept here as the oracle: the policy applied to a jansson object in place
 * (json_object_set_new / json_object_del, pii_scrub_text), the record written
 * with jsonf_dumps, the audit event formatted with snprintf. Over generated
 * orders and posts and many mutations of each (identifier formats, nulls,
 * wrong types, unknown and target-named fields, escapes, numbers written every
 * way), both must give the same verdict, the same dead-letter code, message
 * and path, and the same bytes for the clean record, its key and the audit
 * event (its timestamp aside). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/pii.h"
#include "shield.h"
#include "stage/stage_internal.h"
#include "json/jsonf.h"
#include "json/schema.h"

/* ---- the oracle: the previous transform, on jansson ------------------------ */

typedef struct oracle_route {
  const char *prefix, *output_topic, *id_field;
  schema_t *src, *clean;
  const schema_pii_field_t *pii;
  size_t pii_count;
} oracle_route_t;

typedef struct fixture {
  pii_hasher_t *hasher;
  shield_t *shield;
  oracle_route_t routes[2];
  jsonf_doc_t *doc;
  size_t compared, clean, dead;
} fixture_t;

static int oracle_scrub(fixture_t *f, json_t *str, pii_counts_t *counts) {
  size_t out_len, before = counts->phones + counts->emails;
  char *clean =
      pii_scrub_text(f->hasher, json_string_value(str), json_string_length(str), &out_len, counts);
  if (!clean)
    return -1;
  int rc = 0;
  if (counts->phones + counts->emails != before)
    rc = json_string_setn_nocheck(str, clean, out_len);
  free(clean);
  return rc;
}

static int oracle_policy(fixture_t *f, const oracle_route_t *r, json_t *doc, pii_counts_t *counts,
                         size_t *hashed, stage_fail_t *fail) {
  char hash[PII_HASH_MAX], errstr[128];
  for (size_t i = 0; i < r->pii_count; i++) {
    const schema_pii_field_t *p = &r->pii[i];
    json_t *v = json_object_get(doc, p->name);
    if (!v)
      continue;
    if (p->action == SCHEMA_PII_SCAN) {
      if (json_is_string(v)) {
        assert_int_equal(oracle_scrub(f, v, counts), 0);
      } else if (json_is_array(v)) {
        size_t idx;
        json_t *item;
        json_array_foreach(v, idx, item) {
          if (json_is_string(item))
            assert_int_equal(oracle_scrub(f, item, counts), 0);
        }
      }
      continue;
    }
    if (json_is_null(v)) {
      json_object_del(doc, p->name);
      continue;
    }
    if (!json_is_string(v) ||
        pii_hash_identifier(f->hasher, p->kind, json_string_value(v), json_string_length(v), hash,
                            sizeof(hash), errstr, sizeof(errstr)) != 0) {
      fail->code = "invalid_identifier";
      snprintf(fail->message, sizeof(fail->message), "/%s: %s", p->name,
               json_is_string(v) ? errstr : "must be string");
      snprintf(fail->path, sizeof(fail->path), "/%s", p->name);
      return -1;
    }
    assert_int_equal(json_object_set_new(doc, p->target, json_string(hash)), 0);
    json_object_del(doc, p->name);
    (*hashed)++;
  }
  return 0;
}

static int topic_name_plain(const char *t) {
  for (; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
          *t == '.' || *t == '_' || *t == '-'))
      return 0;
  return 1;
}

/* The previous shield_transform; doc is modified. */
static int oracle_transform(fixture_t *f, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                            stage_fail_t *fail) {
  const oracle_route_t *r = NULL;
  char err[512];
  for (size_t i = 0; i < 2; i++)
    if (strncmp(msg->topic, f->routes[i].prefix, strlen(f->routes[i].prefix)) == 0)
      r = &f->routes[i];
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
  if (oracle_policy(f, r, doc, &counts, &hashed, fail) != 0)
    return STAGE_DEAD_LETTER;
  if (schema_validate(r->clean, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "clean_contract", "cleaned record breaks its contract: ", err);
    return STAGE_DEAD_LETTER;
  }
  size_t text_len;
  char *text = jsonf_dumps(doc, &text_len);
  assert_non_null(text);
  const char *key = msg->key;
  size_t key_len = msg->key_len;
  if (!key) {
    json_t *id = json_object_get(doc, r->id_field);
    key = json_string_value(id);
    key_len = key ? json_string_length(id) : 0;
  }
  assert_int_equal(
      stage_emit_owned(out, STAGE_OUTPUT_PRIMARY, r->output_topic, key, key_len, text, text_len),
      0);
  char audit[512];
  const char *topic = topic_name_plain(msg->topic) ? msg->topic : "(invalid topic name)";
  int n =
      snprintf(audit, sizeof(audit),
               "{\"topic\":\"%.249s\",\"partition\":%d,\"offset\":%lld,\"counts\":{\"phone\":%zu,"
               "\"email\":%zu,\"identifiers_hashed\":%zu},\"detector_version\":\"%s\","
               "\"key_id\":\"%s\",\"timestamp\":\"%s\"}",
               topic, (int)msg->partition, (long long)msg->offset, counts.phones, counts.emails,
               hashed, PII_DETECTOR_VERSION, pii_hasher_key_id(f->hasher), "TS");
  assert_true(n > 0 && (size_t)n < sizeof(audit));
  assert_int_equal(stage_emit(out, STAGE_OUTPUT_SIDE, "audit.privacy", NULL, 0, audit, (size_t)n),
                   0);
  return STAGE_OK;
}

/* ---- comparing ----------------------------------------------------------------- */

static void out_free(stage_out_t *out) {
  for (size_t i = 0; i < out->count; i++) {
    if (out->items[i].kind & ~STAGE_OUTPUT_KIND_MASK)
      continue; /* borrowed from the shield */
    free(out->items[i].topic);
    free(out->items[i].key);
    free(out->items[i].payload);
  }
  free(out->items);
  memset(out, 0, sizeof(*out));
}

/* The audit event with its timestamp value replaced by TS. */
static void mask_timestamp(const char *p, size_t len, char *out, size_t out_size) {
  const char *t = memmem(p, len, "\"timestamp\":\"", 13);
  assert_non_null(t);
  size_t head = (size_t)(t - p) + 13;
  const char *end = memchr(p + head, '"', len - head);
  assert_non_null(end);
  int n = snprintf(out, out_size, "%.*sTS%.*s", (int)head, p, (int)(len - (size_t)(end - p)), end);
  assert_true(n > 0 && (size_t)n < out_size);
}

static void compare(fixture_t *f, const char *topic, const char *text, size_t len) {
  const jsonf_node_t *root = jsonf_doc_parse(f->doc, text, len, 64, NULL, 0);
  json_t *old = jsonf_parse(text, len, 64, NULL, 0);
  assert_true((root != NULL) == (old != NULL));
  if (!root || root->type != JSONF_OBJECT) {
    json_decref(old);
    return; /* the stage dead-letters these before any transform */
  }
  stage_msg_t msg = {topic, 3, 42, NULL, 0, text, len, -1, 0, NULL};
  if (f->compared % 3 == 1) { /* a source key is kept as the output key */
    msg.key = "k-1";
    msg.key_len = 3;
  }
  stage_out_t o1 = {0}, o2 = {0};
  stage_fail_t f1, f2;
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  int r1 = shield_transform_doc(f->shield, &msg, root, &o1, &f1);
  int r2 = oracle_transform(f, &msg, old, &o2, &f2);
  json_decref(old);
  f->compared++;
  if (r1 != r2)
    fail_msg("verdicts differ (%d vs %d, %s / %s) on %.*s", r1, r2, f1.message, f2.message,
             (int)len, text);
  if (r1 != STAGE_OK) {
    f->dead++;
    if (strcmp(f1.code, f2.code) || strcmp(f1.message, f2.message) || strcmp(f1.path, f2.path))
      fail_msg("dead letters differ: %s '%s' '%s' vs %s '%s' '%s' on %.*s", f1.code, f1.message,
               f1.path, f2.code, f2.message, f2.path, (int)len, text);
  } else {
    f->clean++;
    assert_int_equal(o1.count, 2);
    assert_int_equal(o2.count, 2);
    const stage_item_t *a = &o1.items[0], *b = &o2.items[0];
    assert_string_equal(a->topic, b->topic);
    assert_int_equal(a->kind & STAGE_OUTPUT_KIND_MASK, b->kind);
    assert_int_equal(a->key_len, b->key_len);
    assert_memory_equal(a->key, b->key, a->key_len);
    if (a->len != b->len || memcmp(a->payload, b->payload, a->len) != 0)
      fail_msg("records differ:\n new %.*s\n old %.*s", (int)a->len, a->payload, (int)b->len,
               b->payload);
    char masked[600];
    a = &o1.items[1];
    b = &o2.items[1];
    assert_string_equal(a->topic, b->topic);
    assert_int_equal(a->kind & STAGE_OUTPUT_KIND_MASK, STAGE_OUTPUT_SIDE);
    mask_timestamp(a->payload, a->len, masked, sizeof(masked));
    assert_int_equal(strlen(masked), b->len);
    assert_memory_equal(masked, b->payload, b->len);
  }
  out_free(&o1);
  out_free(&o2);
}

/* Values a field is set to, one at a time: identifiers written every way,
 * text with PII, escapes, numbers, wrong types. */
static const char *const variants[] = {
    "null",
    "\"01711-234567\"",
    "\"+880 1711 234567\"",
    "\"\\u09e6\\u09e7\\u09ed\\u09e7\\u09e7\\u09e8\\u09e9\\u09ea\\u09eb\\u09ec\\u09ed\"",
    "\"ask the rider 555\"",
    "\"  Foo.Bar@Example.COM \"",
    "\"not an email@\"",
    "\"Rahim   Uddin\\t\"",
    "\"call 01811234567 or mail a.b@c.com, or +44 20 7946 0958\"",
    "\"quote \\\" backslash \\\\ slash \\/ newline \\n tab \\t e \\u00e9\"",
    "\"\"",
    "\"x\"",
    "[\"sale\",\"01911234567\",\"mail x@y.org\"]",
    "[\"ok\",5,null,{\"a\":\"01711234567\"}]",
    "[]",
    "0",
    "-0",
    "7",
    "1.5",
    "1e2",
    "-0.0",
    "1450.50",
    "0.1",
    "12345678901234567890",
    "true",
    "{\"nested\":[1,{\"b\":\"01711234567\"}]}",
};

static void mutate_and_compare(fixture_t *f, const char *topic, json_t *rec) {
  const char *k;
  json_t *v;
  char *s = jsonf_dumps(rec, NULL);
  assert_non_null(s);
  compare(f, topic, s, strlen(s));
  free(s);
  /* each field deleted, and set to each variant */
  json_object_foreach(rec, k, v) {
    json_t *c = json_deep_copy(rec);
    json_object_del(c, k);
    s = jsonf_dumps(c, NULL);
    compare(f, topic, s, strlen(s));
    free(s);
    json_decref(c);
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
      char text[4096];
      c = json_deep_copy(rec);
      json_object_del(c, k);
      char *rest = jsonf_dumps(c, NULL); /* "{...}": the field goes last, raw */
      size_t rl = strlen(rest);
      int n = snprintf(text, sizeof(text), "%.*s%s\"%s\":%s}", (int)(rl - 1), rest,
                       rl > 2 ? "," : "", k, variants[i]);
      if (n > 0 && (size_t)n < sizeof(text))
        compare(f, topic, text, (size_t)n);
      free(rest);
      json_decref(c);
    }
  }
  /* unknown fields, and the clean contract's own names in the source */
  static const char *const extra[] = {"\"zz\":1", "\"customer_phone_hash\":\"k1:00\"",
                                      "\"author_hash\":\"x\""};
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
    char text[4096];
    char *all = jsonf_dumps(rec, NULL);
    size_t al = strlen(all);
    int n = snprintf(text, sizeof(text), "%.*s,%s}", (int)(al - 1), all, extra[i]);
    if (n > 0 && (size_t)n < sizeof(text))
      compare(f, topic, text, (size_t)n);
    free(all);
  }
  /* the same record with white space and escaped keys: bytes differ, values do not */
  s = json_dumps(rec, JSON_INDENT(1) | JSON_ENSURE_ASCII);
  assert_non_null(s);
  compare(f, topic, s, strlen(s));
  free(s);
}

static void run_generated(fixture_t *f, const char *kind, int count, int seed) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "/usr/bin/python3 %s/tests/tools/gen_records.py --kind %s --count %d --seed %d "
           "--format topic --poison",
           src ? src : ".", kind, count, seed);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int i = 0;
  while ((n = getline(&line, &cap, p)) > 0) {
    char *t1 = memchr(line, '\t', (size_t)n),
         *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(n - (t1 + 1 - line))) : NULL;
    assert_non_null(t2);
    *t1 = '\0';
    char *value = t2 + 1;
    size_t vlen = (size_t)(line + n - value);
    if (vlen && value[vlen - 1] == '\n')
      vlen--;
    compare(f, line, value, vlen);
    /* every tenth record, mutated too */
    json_t *rec = i++ % 10 == 0 ? json_loadb(value, vlen, 0, NULL) : NULL;
    if (json_is_object(rec))
      mutate_and_compare(f, line, rec);
    json_decref(rec);
  }
  free(line);
  assert_int_equal(pclose(p), 0);
}

static int setup(void **state) {
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char dir[1024], path[1200], err[512];
  snprintf(dir, sizeof(dir), "%s/schemas", src ? src : ".");
  fixture_t *f = calloc(1, sizeof(*f));
  f->hasher = pii_hasher_new((const unsigned char *)"0123456789abcdef", 16, "k1", err, sizeof(err));
  assert_non_null(f->hasher);
  f->shield = shield_new(dir, f->hasher, err, sizeof(err));
  if (!f->shield)
    fail_msg("shield_new: %s", err);
  static const char *const files[2][2] = {{"social_post.json", "clean_social_post.json"},
                                          {"market_order.json", "clean_market_order.json"}};
  static const char *const meta[2][3] = {{"source.social.", "clean.social", "post_id"},
                                         {"source.market.", "sink.snowflake.orders", "order_id"}};
  for (size_t i = 0; i < 2; i++) {
    oracle_route_t *r = &f->routes[i];
    r->prefix = meta[i][0];
    r->output_topic = meta[i][1];
    r->id_field = meta[i][2];
    snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
    assert_non_null(r->src = schema_load_file(path, err, sizeof(err)));
    snprintf(path, sizeof(path), "%s/%s", dir, files[i][1]);
    assert_non_null(r->clean = schema_load_file(path, err, sizeof(err)));
    r->pii_count = schema_pii_fields(r->src, &r->pii);
  }
  assert_non_null(f->doc = jsonf_doc_new());
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  for (size_t i = 0; i < 2; i++) {
    schema_destroy(f->routes[i].src);
    schema_destroy(f->routes[i].clean);
  }
  shield_destroy(f->shield);
  pii_hasher_destroy(f->hasher);
  jsonf_doc_destroy(f->doc);
  free(f);
  return 0;
}

static void test_against_the_previous_transform(void **state) {
  fixture_t *f = *state;
  run_generated(f, "market", 3000, 51);
  run_generated(f, "social", 3000, 52);
  run_generated(f, "mix", 2000, 53);
  /* a topic without a route, and one that is no plain topic name */
  compare(f, "source.weather", "{}", 2);
  compare(f, "source.market.\"x\"", "{}", 2);
  print_message("compared %zu records: %zu clean, %zu dead-lettered\n", f->compared, f->clean,
                f->dead);
  assert_true(f->clean > 10000 && f->dead > 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_the_previous_transform),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
