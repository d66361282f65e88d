/* embedder transform: enriched post → vector_record (UUIDv5 id checked against
 * python's uuid.uuid5, model id, vector = the golden of the tiny model),
 * dead letters (schema, empty/whitespace text), truncation metric, the cache,
 * batches, and start-up errors. Uses the committed tiny model. */
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

#include "embedder.h"
#include "net/metrics.h"
#include "stage/stage_internal.h"

static embedder_t *emb;
static metrics_t *metrics;
static char tiny[1024], schemas[1024];

static int setup(void **state) {
  (void)state;
  const char *fx = getenv("SENSORY_FIXTURES"), *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(tiny, sizeof(tiny), "%s/embedding/tiny", fx ? fx : "tests/fixtures");
  snprintf(schemas, sizeof(schemas), "%s/schemas", src ? src : ".");
  metrics = metrics_new("embedder");
  embedder_options_t o = {.model_dir = tiny,
                          .model_id = "tiny-test-bert",
                          .schemas_dir = schemas,
                          .cache_entries = 64,
                          .metrics = metrics};
  char err[512];
  emb = embedder_new(&o, err, sizeof(err));
  if (!emb)
    fprintf(stderr, "%s\n", err);
  return emb ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  embedder_destroy(emb);
  metrics_destroy(metrics);
  return 0;
}

static void out_free(stage_out_t *out) {
  for (size_t i = 0; i < out->count; i++) {
    free(out->items[i].topic);
    free(out->items[i].key);
    free(out->items[i].payload);
  }
  free(out->items);
  memset(out, 0, sizeof(*out));
}

static char *post(const char *post_id, const char *text) {
  json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[],s:s}", "platform", "facebook", "post_id",
                        post_id, "author_hash",
                        "k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "content", "Price too high", "engagement_count", 7, "timestamp",
                        "2026-11-21T10:00:00Z", "products", "enriched_text", text);
  char *s = json_dumps(d, JSON_COMPACT);
  json_decref(d);
  return s;
}

static int run(const char *text_json, stage_out_t *out, stage_fail_t *fail) {
  json_t *doc = json_loads(text_json, 0, NULL);
  assert_non_null(doc);
  memset(fail, 0, sizeof(*fail));
  int rc = embedder_transform(emb, NULL, doc, out, fail);
  json_decref(doc);
  return rc;
}

static uint64_t counter(const char *name) {
  char *text = metrics_render(metrics);
  assert_non_null(text);
  uint64_t v = 0;
  const char *p = text;
  size_t n = strlen(name);
  while ((p = strstr(p, name))) {
    if ((p == text || p[-1] == '\n') && p[n] == ' ') {
      v = strtoull(p + n + 1, NULL, 10);
      break;
    }
    p += n;
  }
  free(text);
  return v;
}

static void test_uuid5(void **state) {
  (void)state;
  char id[37];
  /* python3: uuid.uuid5(uuid.UUID("51cb6ffd-1312-5f7b-8ea3-b4242fe1bfe7"), "fb_123_456") */
  embedder_uuid5(embedder_uuid_namespace, "fb_123_456", 10, id);
  assert_string_equal(id, "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  /* The namespace is uuid5(NAMESPACE_URL, "https://sensory.dev/ns/social-post"). */
  static const uint8_t url_ns[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                     0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  const char *u = "https://sensory.dev/ns/social-post";
  embedder_uuid5(url_ns, u, strlen(u), id);
  assert_string_equal(id, EMBEDDER_UUID_NAMESPACE);
}

static void test_record(void **state) {
  (void)state;
  /* The first golden: its vector from PyTorch. */
  char p[1200];
  snprintf(p, sizeof(p), "%s/goldens.jsonl", tiny);
  json_t *g = json_load_file(p, JSON_DISABLE_EOF_CHECK, NULL);
  assert_non_null(g);
  const char *text = json_string_value(json_object_get(g, "text"));
  char *in = post("fb_123_456", text);
  stage_out_t out = {0};
  stage_fail_t fail;
  assert_int_equal(run(in, &out, &fail), STAGE_OK);
  assert_int_equal(out.count, 1);
  assert_string_equal(out.items[0].topic, "sink.weaviate.vectors");
  assert_int_equal(out.items[0].key_len, 10); /* keys are bytes, not NUL-terminated */
  assert_memory_equal(out.items[0].key, "fb_123_456", 10);
  json_t *rec = json_loadb(out.items[0].payload, out.items[0].len, 0, NULL);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "id")),
                      "1b9a6e0f-4d04-5135-b5b6-35161a022474");
  assert_string_equal(json_string_value(json_object_get(rec, "model")), "tiny-test-bert");
  assert_string_equal(json_string_value(json_object_get(rec, "enriched_text")), text);
  assert_string_equal(json_string_value(json_object_get(rec, "platform")), "facebook");
  assert_string_equal(json_string_value(json_object_get(rec, "timestamp")), "2026-11-21T10:00:00Z");
  assert_int_equal(json_integer_value(json_object_get(rec, "engagement")), 7);
  /* What the vector store shows: the pseudonymised content, hashtags and
   * product ids (absent in the post: empty), never the author hash. */
  assert_string_equal(json_string_value(json_object_get(rec, "content")), "Price too high");
  assert_int_equal(json_array_size(json_object_get(rec, "hashtags")), 0);
  assert_int_equal(json_array_size(json_object_get(rec, "product_ids")), 0);
  assert_null(json_object_get(rec, "author_hash"));
  assert_int_equal(json_object_size(rec), 11); /* nothing else (schema: no extra fields) */
  json_t *v = json_object_get(rec, "vector"), *want = json_object_get(g, "vector");
  assert_int_equal(json_array_size(v), (size_t)embedder_dim(emb));
  assert_int_equal(json_array_size(v), json_array_size(want));
  for (size_t i = 0; i < json_array_size(v); i++)
    assert_float_equal(json_number_value(json_array_get(v, i)),
                       json_number_value(json_array_get(want, i)), 1e-5);
  json_decref(rec);
  out_free(&out);
  /* The same text again comes from the cache, same bytes. */
  uint64_t hits = counter("embedder_cache_hits_total");
  stage_out_t out2 = {0};
  assert_int_equal(run(in, &out2, &fail), STAGE_OK);
  assert_int_equal(counter("embedder_cache_hits_total"), hits + 1);
  out_free(&out2);
  free(in);
  json_decref(g);
}

static void test_dead_letters(void **state) {
  (void)state;
  stage_out_t out = {0};
  stage_fail_t fail;
  static const char *const blanks[] = {" ", "  \t\n ", "\u200b\u200b", "\x01\x02"};
  uint64_t before = counter("embedder_empty_text_total");
  for (size_t i = 0; i < 4; i++) {
    char *in = post("p1", blanks[i]);
    assert_int_equal(run(in, &out, &fail), STAGE_DEAD_LETTER);
    assert_string_equal(fail.code, "empty_text");
    assert_string_equal(fail.path, "/enriched_text");
    assert_int_equal(out.count, 0);
    free(in);
  }
  assert_int_equal(counter("embedder_empty_text_total"), before + 4);
  /* Breaks enriched_post.json (empty text, missing post_id). */
  char *in = post("p1", "");
  assert_int_equal(run(in, &out, &fail), STAGE_DEAD_LETTER);
  assert_string_equal(fail.code, "schema");
  free(in);
  assert_int_equal(run("{\"enriched_text\":\"hello\"}", &out, &fail), STAGE_DEAD_LETTER);
  assert_string_equal(fail.code, "schema");
  assert_int_equal(out.count, 0);
}

static void test_truncation_metric(void **state) {
  (void)state;
  char *text = malloc(300 * 5 + 1);
  for (int i = 0; i < 300; i++)
    memcpy(text + i * 5, "word ", 5);
  text[300 * 5] = '\0';
  char *in = post("long-1", text);
  uint64_t before = counter("embedder_truncated_total");
  stage_out_t out = {0};
  stage_fail_t fail;
  assert_int_equal(run(in, &out, &fail), STAGE_OK);
  assert_int_equal(counter("embedder_truncated_total"), before + 1);
  out_free(&out);
  free(in);
  free(text);
}

static void test_batch(void **state) {
  (void)state;
  /* A batch with dead letters in between: good items get the same vectors
   * as one at a time. */
  const char *texts[5] = {"Raincoat 5000 BDT too high", "   ", "ভালো পণ্য, দ্রুত ডেলিভারি",
                          "vai dam koto? 😍", "[Product: Umbrella 350 BDT] broke in a day"};
  embedder_item_t items[5];
  stage_out_t outs[5];
  stage_fail_t fails[5];
  json_t *docs[5];
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof(id), "b-%d", i);
    char *in = post(id, texts[i]);
    docs[i] = json_loads(in, 0, NULL);
    free(in);
    memset(&outs[i], 0, sizeof(outs[i]));
    memset(&fails[i], 0, sizeof(fails[i]));
    items[i] = (embedder_item_t){docs[i], &outs[i], &fails[i], -99};
  }
  embedder_transform_items(emb, items, 5);
  assert_int_equal(items[1].status, STAGE_DEAD_LETTER);
  float single[64], batch[64];
  int dim = embedder_dim(emb);
  char err[128];
  for (int i = 0; i < 5; i++) {
    json_decref(docs[i]);
    if (i == 1)
      continue;
    assert_int_equal(items[i].status, STAGE_OK);
    assert_int_equal(outs[i].count, 1);
    json_t *rec = json_loadb(outs[i].items[0].payload, outs[i].items[0].len, 0, NULL);
    json_t *v = json_object_get(rec, "vector");
    for (int k = 0; k < dim; k++)
      batch[k] = (float)json_number_value(json_array_get(v, (size_t)k));
    assert_int_equal(embedder_embed_batch(emb, &texts[i], NULL, 1, single, NULL, err, sizeof(err)),
                     0);
    for (int k = 0; k < dim; k++)
      assert_float_equal(batch[k], single[k], 1e-6);
    json_decref(rec);
    out_free(&outs[i]);
  }
}

static void test_start_errors(void **state) {
  (void)state;
  char err[512];
  embedder_options_t o = {.model_dir = "/nonexistent/model", .schemas_dir = schemas};
  assert_null(embedder_new(&o, err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/model/vocab.txt"));
  o.model_dir = tiny;
  o.schemas_dir = "/nonexistent/schemas";
  assert_null(embedder_new(&o, err, sizeof(err)));
  assert_non_null(strstr(err, "enriched_post.json"));
  embedder_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uuid5),        cmocka_unit_test(test_record),
      cmocka_unit_test(test_dead_letters), cmocka_unit_test(test_truncation_metric),
      cmocka_unit_test(test_batch),        cmocka_unit_test(test_start_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
