/* weaviate-sink, the pure parts: vector records → rows (UUIDv5 ids as
 * python's uuid.uuid5 computes them, tombstones, the stdio deletion, dead
 * letters), batch objects and request bodies split by count and bytes,
 * per-object results read from a response shaped like Weaviate's (echoes of
 * tests/fixtures/api/weaviate_batch_objects_request.json with result.errors,
 * checked against the OpenAPI spec when it was written), error classes and
 * redaction, batch deletions, the class check, and the in-order plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/uuid.h"
#include "post_plan.h"
#include "post_record.h"
#include "testutil.h"
#include "weaviate_batch.h"
#include "weaviate_schema.h"
#include "json/jsonf.h"

static schema_t *contract;

static int setup(void **state) {
  (void)state;
  const char *src = getenv("SENSORY_SOURCE_DIR");
  char p[1024], err[512];
  snprintf(p, sizeof(p), "%s/schemas/vector_record.json", src ? src : ".");
  contract = schema_load_file(p, err, sizeof(err));
  if (!contract)
    fprintf(stderr, "%s\n", err);
  return contract ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  schema_destroy(contract);
  return 0;
}

/* A valid vector record of post_id with dim values i/1000 - 0.1. */
static json_t *record(const char *post_id, size_t dim) {
  char id[UUID_STR_LEN];
  uuid_v5(post_uuid_namespace, post_id, strlen(post_id), id);
  json_t *v = json_array();
  for (size_t i = 0; i < dim; i++)
    json_array_append_new(v, json_real((double)(float)((double)i / 1000.0 - 0.1)));
  return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:i,s:s,s:[s,s],s:[s]}", "id", id, "post_id",
                   post_id, "model", "all-MiniLM-L6-v2", "vector", v, "enriched_text",
                   "[Product: Raincoat 5000 BDT] Price too high", "platform", "tiktok", "timestamp",
                   "2026-11-21T10:00:00Z", "engagement", 12, "content",
                   "Price \"too\" high\tcall PHONE_3f9a0c1d2e4b5a69", "hashtags", "rain", "coat\\x",
                   "product_ids", "sku-1");
}

static post_row_t *row_of(json_t *doc) {
  stage_fail_t fail = {0};
  post_row_t *r = post_row_from_record(contract, doc, NULL, 0, &fail);
  if (!r)
    fail_msg("row refused: %s %s", fail.code ? fail.code : "oom", fail.message);
  return r;
}

static void test_uuid(void **state) {
  (void)state;
  char id[UUID_STR_LEN];
  /* python3: uuid.uuid5(uuid.UUID("51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7"), "fb_123_456") */
  uuid_v5(post_uuid_namespace, "fb_123_456", 10, id);
  assert_string_equal(id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  uint8_t u[16], w[16];
  assert_int_equal(uuid_parse("1B9A6E0F-4D04-5135-B5B6-35161A022474", 36, u), 0);
  uuid_format(u, id);
  assert_string_equal(id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  assert_int_equal(uuid_parse(id, 36, w), 0);
  assert_memory_equal(u, w, 16);
  const char *bad[] = {
      "1b9a6e0f4d04-5135-b5b6-35161a022474x", "1b9a6e0f-4d04-5135-b5b6-35161a02247",
      "1b9a6e0f-4d04-5135-b5b6_35161a022474", "1b9a6e0f-4d04-5135-b5b6-35161a02247g",
      "{1b9a6e0f-4d04-5135-b5b6-35161a0224}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(uuid_parse(bad[i], strlen(bad[i]), u), -1);
}

static void test_rows(void **state) {
  (void)state;
  json_t *doc = record("p1", 384);
  post_row_t *r = row_of(doc);
  assert_false(r->deleted);
  assert_int_equal(r->dim, 384);
  assert_string_equal(r->platform, "tiktok");
  assert_int_equal(r->engagement, 12);
  assert_true(r->vector[1] == (float)(1.0 / 1000.0 - 0.1));
  post_row_free(r);

  /* An upper-case id is the same UUID. */
  char up[UUID_STR_LEN];
  snprintf(up, sizeof(up), "%s", json_string_value(json_object_get(doc, "id")));
  for (char *c = up; *c; c++)
    if (*c >= 'a' && *c <= 'f')
      *c = (char)(*c - 'a' + 'A');
  json_object_set_new(doc, "id", json_string(up));
  r = row_of(doc);
  char want[UUID_STR_LEN];
  uuid_v5(post_uuid_namespace, "p1", 2, want);
  assert_string_equal(r->id, want); /* canonical lower case */
  post_row_free(r);

  /* An id that is not the UUIDv5 of post_id: a redelivery could not
   * overwrite it, a tombstone could not find it. */
  stage_fail_t fail = {0};
  json_object_set_new(doc, "id", json_string("6f1c3a52-8a0e-5b9e-9f6d-2f4b1a7c9e10"));
  assert_null(post_row_from_record(contract, doc, NULL, 0, &fail));
  assert_string_equal(fail.code, "invalid_id");
  assert_string_equal(fail.path, "/id");
  json_decref(doc);

  /* The contract: 383 floats. */
  doc = record("p2", 383);
  memset(&fail, 0, sizeof(fail));
  assert_null(post_row_from_record(contract, doc, NULL, 0, &fail));
  assert_string_equal(fail.code, "schema");
  assert_string_equal(fail.path, "/vector");
  json_decref(doc);

  /* A record of an older embedder (no content): enriched_text is shown. */
  doc = record("p3", 384);
  json_object_del(doc, "content");
  json_object_del(doc, "hashtags");
  r = row_of(doc);
  assert_string_equal(r->content, "[Product: Raincoat 5000 BDT] Price too high");
  assert_null(r->hashtags);
  post_row_free(r);
  json_decref(doc);

  /* A Kafka tombstone: the key is the post id. */
  memset(&fail, 0, sizeof(fail));
  r = post_row_from_record(contract, NULL, "fb_123_456xx", 10, &fail);
  assert_non_null(r);
  assert_true(r->deleted);
  assert_string_equal(r->id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  post_row_free(r);
  assert_null(post_row_from_record(contract, NULL, NULL, 0, &fail));
  assert_string_equal(fail.code, "no_key");

  /* The --stdio deletion, and what is not one. */
  doc = json_pack("{s:s,s:b}", "post_id", "fb_123_456", "deleted", 1);
  r = row_of(doc);
  assert_true(r->deleted);
  assert_string_equal(r->id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  post_row_free(r);
  json_object_set_new(doc, "deleted", json_false());
  assert_null(post_row_from_record(contract, doc, NULL, 0, &fail));
  assert_string_equal(fail.code, "schema");
  json_decref(doc);
}

static void test_float_text(void **state) {
  (void)state;
  const float values[] = {0.0f,          -0.1f,          1.0f / 3.0f,  1e-38f,
                          3.4028235e38f, -7.006492e-45f, 0.0453017354f};
  char buf[32];
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    size_t n = post_float_text(values[i], buf);
    assert_int_equal(n, strlen(buf));
    assert_true(strtof(buf, NULL) == values[i]); /* reads back exactly */
  }
  /* Every float32 class of value reads back exactly: 2 million random bit
   * patterns (finite ones), and the powers of ten around the notation
   * switch, which %g would write the same way. */
  uint32_t x = 2463534242u;
  for (int i = 0; i < 2000000; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    float f;
    memcpy(&f, &x, 4);
    if (!isfinite(f))
      continue;
    post_float_text(f, buf);
    if (strtof(buf, NULL) != f)
      fail_msg("%.9g written as %s", (double)f, buf);
  }
  const float tens[] = {1e-5f, 9.99999975e-06f, 1e-4f, 0.5f,         1.0f,
                        10.0f, 123456789.0f,    1e9f,  999999999.0f, 0.0453017354f};
  for (size_t i = 0; i < sizeof(tens) / sizeof(tens[0]); i++) {
    char want[32];
    post_float_text(tens[i], buf);
    snprintf(want, sizeof(want), "%.9g", (double)tens[i]);
    assert_true(strtof(buf, NULL) == strtof(want, NULL));
  }
  post_float_text(-0.0625f, buf);
  assert_string_equal(buf, "-0.0625");
  post_float_text(0x1p-16f, buf);
  assert_string_equal(buf, "1.52587891e-05");
}

static void test_encode_object(void **state) {
  (void)state;
  json_t *doc = record("p1", 384);
  post_row_t *r = row_of(doc);
  assert_int_equal(wv_encode_object("SocialPost", r), 0);
  json_t *o = jsonf_parse(r->wire, r->wire_len, 16, NULL, 0);
  assert_non_null(o);
  /* The request fixture's shape: class, id, properties — plus our vector. */
  assert_string_equal(json_string_value(json_object_get(o, "class")), "SocialPost");
  assert_string_equal(json_string_value(json_object_get(o, "id")), r->id);
  json_t *v = json_object_get(o, "vector");
  assert_int_equal(json_array_size(v), 384);
  for (size_t i = 0; i < 384; i++)
    assert_true((float)json_number_value(json_array_get(v, i)) == r->vector[i]);
  json_t *p = json_object_get(o, "properties");
  assert_int_equal(json_object_size(p), 8);
  assert_string_equal(json_string_value(json_object_get(p, "content")),
                      "Price \"too\" high\tcall PHONE_3f9a0c1d2e4b5a69");
  assert_string_equal(json_string_value(json_object_get(p, "timestamp")), "2026-11-21T10:00:00Z");
  assert_int_equal(json_integer_value(json_object_get(p, "engagement")), 12);
  assert_string_equal(json_string_value(json_array_get(json_object_get(p, "hashtags"), 1)),
                      "coat\\x");
  assert_string_equal(json_string_value(json_array_get(json_object_get(p, "product_ids"), 0)),
                      "sku-1");
  assert_string_equal(json_string_value(json_object_get(p, "model")), "all-MiniLM-L6-v2");
  assert_null(json_object_get(p, "author_hash"));
  json_decref(o);
  post_row_free(r);
  json_decref(doc);
}

/* n rows whose wire is a JSON object of exactly `size` bytes each. */
static post_row_t **fake_rows(size_t n, size_t size) {
  post_row_t **rows = calloc(n, sizeof(*rows));
  for (size_t i = 0; i < n; i++) {
    rows[i] = calloc(1, sizeof(post_row_t));
    rows[i]->wire = malloc(size + 1);
    snprintf(rows[i]->wire, size + 1, "{\"k\":\"%0*zu\"}", (int)(size - 8), i);
    rows[i]->wire_len = size;
    uuid_v5(post_uuid_namespace, rows[i]->wire, size, rows[i]->id);
  }
  return rows;
}

static void free_rows(post_row_t **rows, size_t n) {
  for (size_t i = 0; i < n; i++)
    post_row_free(rows[i]);
  free(rows);
}

static void test_split_by_count_and_bytes(void **state) {
  (void)state;
  enum { N = 10, SIZE = 100 };
  post_row_t **rows = fake_rows(N, SIZE);
  jsonf_buf_t body = {0};
  size_t k;
  /* Count: 4 per request. */
  assert_int_equal(wv_batch_build(rows, N, 4, 1 << 20, &body, &k), 0);
  assert_int_equal(k, 4);
  json_t *doc = jsonf_parse(body.data, body.len, 8, NULL, 0);
  assert_int_equal(json_array_size(json_object_get(doc, "objects")), 4);
  json_decref(doc);
  /* Bytes: 14 + 3 x 100 + 2 commas = 316 fits in 316, not in 315. */
  assert_int_equal(wv_batch_build(rows, N, 100, 316, &body, &k), 0);
  assert_int_equal(k, 3);
  assert_int_equal(body.len, 316);
  assert_int_equal(wv_batch_build(rows, N, 100, 315, &body, &k), 0);
  assert_int_equal(k, 2);
  assert_true(body.len <= 315);
  /* Every split of the whole list: no body over the limit, every row once. */
  for (size_t limit = 114; limit < 1300; limit += 37) {
    size_t at = 0, requests = 0;
    while (at < N) {
      assert_int_equal(wv_batch_build(rows + at, N - at, 5, limit, &body, &k), 0);
      assert_true(k >= 1 && k <= 5);
      assert_true(body.len <= limit);
      doc = jsonf_parse(body.data, body.len, 8, NULL, 0);
      assert_int_equal(json_array_size(json_object_get(doc, "objects")), k);
      json_decref(doc);
      at += k;
      requests++;
    }
    assert_int_equal(at, N);
    size_t per = (limit - 14 + 1) / (SIZE + 1);
    per = per > 5 ? 5 : per;
    assert_int_equal(requests, (N + per - 1) / per);
  }
  /* One object alone over the limit can never be sent. */
  assert_int_equal(wv_batch_build(rows, N, 100, 113, &body, &k), 0);
  assert_int_equal(k, 0);
  jsonf_buf_free(&body);
  free_rows(rows, N);
}

static void test_parse_fixture_response(void **state) {
  (void)state;
  char p[1024];
  snprintf(p, sizeof(p), "%s/api/weaviate_batch_objects_request.json", test_fixtures());
  char *req = test_slurp(p, NULL);
  json_t *rq = jsonf_parse(req, strlen(req), 16, NULL, 0);
  assert_non_null(rq);
  snprintf(p, sizeof(p), "%s/api/weaviate_batch_objects_response.json", test_fixtures());
  size_t len;
  char *resp = test_slurp(p, &len);
  /* Rows carrying the fixture's ids, in request order. */
  json_t *objs = json_object_get(rq, "objects");
  size_t n = json_array_size(objs);
  assert_int_equal(n, 2);
  post_row_t r[2] = {0}, *rows[2] = {&r[0], &r[1]};
  for (size_t i = 0; i < n; i++)
    snprintf(r[i].id, sizeof(r[i].id), "%s",
             json_string_value(json_object_get(json_array_get(objs, i), "id")));
  wv_result_t res[2];
  char err[256];
  assert_int_equal(wv_batch_parse(resp, len, rows, n, res, err, sizeof(err)), 0);
  assert_int_equal(res[0].status, WV_PERMANENT);
  assert_string_equal(res[0].error_class, "property_type");
  assert_string_equal(res[0].message,
                      "invalid text property 'name' on class 'Author': not a string, but float64");
  assert_int_equal(res[1].status, WV_OK);
  assert_string_equal(res[1].message, "");

  /* Matched by id when the order differs. */
  post_row_t *swapped[2] = {&r[1], &r[0]};
  assert_int_equal(wv_batch_parse(resp, len, swapped, n, res, err, sizeof(err)), 0);
  assert_int_equal(res[0].status, WV_OK);
  assert_int_equal(res[1].status, WV_PERMANENT);

  /* A response that lacks an object, or is not an array: the request failed. */
  post_row_t extra = {0};
  uuid_v5(post_uuid_namespace, "other", 5, extra.id);
  post_row_t *three[3] = {&r[0], &r[1], &extra};
  wv_result_t res3[3];
  assert_int_equal(wv_batch_parse(resp, len, three, 3, res3, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "missing"));
  assert_int_equal(wv_batch_parse("{\"error\":[]}", 12, rows, 2, res, err, sizeof(err)), -1);
  assert_int_equal(wv_batch_parse("[", 1, rows, 2, res, err, sizeof(err)), -1);

  /* Weaviate 1.1x: errors without result.status; transient messages. */
  char body[2048];
  snprintf(body, sizeof(body),
           "[{\"id\":\"%s\",\"result\":{\"errors\":{\"error\":[{\"message\":\"context deadline "
           "exceeded\"}]}}},{\"id\":\"%s\",\"result\":{\"errors\":{\"error\":[{\"message\":"
           "\"shard SocialPost_x is read-only\"},{\"message\":\"second\"}]}}}]",
           r[0].id, r[1].id);
  assert_int_equal(wv_batch_parse(body, strlen(body), rows, 2, res, err, sizeof(err)), 0);
  assert_int_equal(res[0].status, WV_TRANSIENT);
  assert_string_equal(res[0].error_class, "timeout");
  assert_int_equal(res[1].status, WV_TRANSIENT);
  assert_string_equal(res[1].error_class, "read_only");
  assert_string_equal(res[1].message, "shard SocialPost_x is read-only; second");
  free(req);
  free(resp);
  json_decref(rq);
}

static void test_error_classes(void **state) {
  (void)state;
  static const struct {
    const char *msg;
    int status;
    const char *label;
  } cases[] = {
      {"invalid text property 'content' on class 'SocialPost': not a string, but float64",
       WV_PERMANENT, "property_type"},
      {"invalid integer property 'engagement' on class 'SocialPost': requires an integer, the "
       "given value is '1.5'",
       WV_PERMANENT, "property_type"},
      {"insert to vector index: new node has a vector with length 383. Existing nodes have "
       "vectors with length 384",
       WV_PERMANENT, "vector_length"},
      {"id 'x' is not a valid uuid", WV_PERMANENT, "invalid_id"},
      {"context deadline exceeded", WV_TRANSIENT, "timeout"},
      {"put object: i/o timeout", WV_TRANSIENT, "timeout"},
      {"store is read-only", WV_TRANSIENT, "read_only"},
      {"cannot achieve consistency level QUORUM: 1 replicas answered", WV_TRANSIENT, "replication"},
      {"connection refused", WV_TRANSIENT, "unavailable"},
      {"class 'SocialPost' not found in schema", WV_TRANSIENT, "class_missing"},
      {"could not find class SocialPost in schema", WV_TRANSIENT, "class_missing"},
      {"something nobody has seen", WV_PERMANENT, "other"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *label = NULL;
    int st = wv_error_classify(cases[i].msg, &label);
    if (st != cases[i].status || strcmp(label, cases[i].label) != 0)
      fail_msg("%s: got %d/%s", cases[i].msg, st, label);
  }
  /* Quoted values never reach a dead letter. */
  char out[256];
  wv_error_redact("invalid date property 'timestamp' on class 'SocialPost': requires a string "
                  "with a RFC3339 formatted date, but the given value is 'call 01711234567'",
                  out, sizeof(out));
  assert_null(strstr(out, "01711"));
  assert_non_null(strstr(out, "property 'timestamp'"));
  assert_non_null(strstr(out, "value is '\xe2\x80\xa6'"));
  wv_error_redact("no value here", out, sizeof(out));
  assert_string_equal(out, "no value here");
  /* fuzz_weaviate: a value whose closing quote was cut off (a message cut
   * by Weaviate or by joining several) was copied as it was. */
  wv_error_redact("requires a date, but the given value is 'call 01711234567 now", out,
                  sizeof(out));
  assert_null(strstr(out, "01711"));
  assert_string_equal(out, "requires a date, but the given value is '\xe2\x80\xa6");
  /* and one that did not fit the output: the message ends before it */
  char small[48];
  wv_error_redact("a long prefix of text, the given value is 'call 01711234567'", small,
                  sizeof(small));
  assert_null(strstr(small, "01711"));
}

static void test_delete_body_and_response(void **state) {
  (void)state;
  const char *ids[] = {"1b9a6e0f-4d04-5135-b5b6-35161a022474",
                       "36ddd591-2dee-4e7e-a3cc-eb86d30a4303"};
  jsonf_buf_t b = {0};
  assert_int_equal(wv_delete_build("SocialPost", ids, 2, &b), 0);
  json_t *d = jsonf_parse(b.data, b.len, 16, NULL, 0);
  assert_non_null(d);
  json_t *w = json_object_get(json_object_get(d, "match"), "where");
  assert_string_equal(json_string_value(json_object_get(w, "operator")), "ContainsAny");
  assert_string_equal(json_string_value(json_array_get(json_object_get(w, "path"), 0)), "id");
  assert_int_equal(json_array_size(json_object_get(w, "valueTextArray")), 2);
  assert_string_equal(json_string_value(json_object_get(d, "output")), "verbose");
  json_decref(d);
  jsonf_buf_free(&b);
  const char *resp =
      "{\"match\":{},\"output\":\"verbose\",\"results\":{\"matches\":1,\"limit\":10000,"
      "\"successful\":0,\"failed\":1,\"objects\":[{\"id\":\"36DDD591-2dee-4e7e-a3cc-eb86d30a4303\","
      "\"status\":\"FAILED\",\"errors\":{\"error\":[{\"message\":\"context deadline "
      "exceeded\"}]}}]}}";
  wv_result_t res[2];
  char err[128];
  assert_int_equal(wv_delete_parse(resp, strlen(resp), ids, 2, res, err, sizeof(err)), 0);
  assert_int_equal(res[0].status, WV_OK); /* absent: nothing to delete, fine */
  assert_int_equal(res[1].status, WV_TRANSIENT);
  assert_int_equal(wv_delete_parse("[]", 2, ids, 2, res, err, sizeof(err)), -1);
}

static json_t *prop(const char *name, const char *type) {
  return json_pack("{s:s,s:[s]}", "name", name, "dataType", type);
}

static void test_schema_check(void **state) {
  (void)state;
  const char *missing[16];
  size_t nm;
  char err[512];
  /* Our own definition passes with nothing missing. */
  json_t *ours = wv_schema_class("SocialPost");
  assert_int_equal(wv_schema_check(ours, missing, &nm, err, sizeof(err)), 0);
  assert_int_equal(nm, 0);
  assert_string_equal(json_string_value(json_object_get(ours, "vectorizer")), "none");
  json_decref(ours);
  /* An older class: "string" types are fine, missing properties are added. */
  json_t *old =
      json_pack("{s:s,s:s,s:[o,o,o]}", "class", "SocialPost", "vectorizer", "none", "properties",
                prop("content", "string"), prop("post_id", "text"), prop("extra", "int"));
  assert_int_equal(wv_schema_check(old, missing, &nm, err, sizeof(err)), 0);
  assert_int_equal(nm, 6);
  assert_string_equal(missing[0], "platform");
  /* A property of another type. */
  json_array_append_new(json_object_get(old, "properties"), prop("engagement", "text"));
  assert_int_equal(wv_schema_check(old, missing, &nm, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "'engagement' has dataType text"));
  json_decref(old);
  /* A vectorizer, named vectors, another distance, multi-tenancy. */
  json_t *c = json_pack("{s:s,s:s}", "class", "SocialPost", "vectorizer", "text2vec-openai");
  assert_int_equal(wv_schema_check(c, missing, &nm, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "vectorizer 'text2vec-openai'"));
  json_object_set_new(c, "vectorizer", json_string("none"));
  json_object_set_new(c, "vectorConfig", json_pack("{s:{}}", "content"));
  assert_int_equal(wv_schema_check(c, missing, &nm, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "named vectors"));
  json_object_del(c, "vectorConfig");
  json_object_set_new(c, "vectorIndexConfig", json_pack("{s:s}", "distance", "l2-squared"));
  assert_int_equal(wv_schema_check(c, missing, &nm, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "l2-squared"));
  json_object_set_new(c, "vectorIndexConfig", json_pack("{s:s}", "distance", "cosine"));
  json_object_set_new(c, "multiTenancyConfig", json_pack("{s:b}", "enabled", 1));
  assert_int_equal(wv_schema_check(c, missing, &nm, err, sizeof(err)), -1);
  json_decref(c);
}

/* Rows for a plan: ops "u" upsert / "d" delete on ids "a", "b", ... */
static void plan_rows(const char *ops, const char *keys, post_row_t *store, post_row_t **rows) {
  for (size_t i = 0; ops[i]; i++) {
    memset(&store[i], 0, sizeof(store[i]));
    store[i].deleted = ops[i] == 'd';
    uuid_v5(post_uuid_namespace, keys + i, 1, store[i].id);
    rows[i] = &store[i];
  }
}

static void test_plan(void **state) {
  (void)state;
  post_row_t st[8], *rows[8];
  post_plan_t p;
  /* a: upsert, delete, upsert → delete first, then upsert #2 stands.
   * b: upsert, upsert → #4 stands, #3 is its fallback.
   * c: upsert, delete → deleted. */
  plan_rows("uduuuud",
            "aabab"
            "cc",
            st, rows);
  /* 0 a upsert, 1 a delete, 2 b upsert, 3 a upsert, 4 b upsert, 5 c upsert, 6 c delete */
  assert_int_equal(post_plan_make(rows, 7, &p), 0);
  assert_int_equal(p.ndeletes, 2);
  assert_int_equal(p.deletes[0], 1);
  assert_int_equal(p.deletes[1], 6);
  assert_int_equal(p.nupserts, 2);
  assert_int_equal(p.upserts[0], 3);
  assert_int_equal(p.upserts[1], 4);
  assert_int_equal(post_plan_fallback(&p, rows, 4), 2);        /* b: the earlier upsert */
  assert_int_equal(post_plan_fallback(&p, rows, 2), SIZE_MAX); /* nothing before it */
  assert_int_equal(post_plan_fallback(&p, rows, 3), SIZE_MAX); /* a: a deletion before it */
  post_plan_free(&p);
  assert_int_equal(post_plan_make(rows, 0, &p), 0);
  assert_int_equal(p.ndeletes + p.nupserts, 0);
  post_plan_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uuid),
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_float_text),
      cmocka_unit_test(test_encode_object),
      cmocka_unit_test(test_split_by_count_and_bytes),
      cmocka_unit_test(test_parse_fixture_response),
      cmocka_unit_test(test_error_classes),
      cmocka_unit_test(test_delete_body_and_response),
      cmocka_unit_test(test_schema_check),
      cmocka_unit_test(test_plan),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
