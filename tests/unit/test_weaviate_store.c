/* weaviate-sink's weaviate store against the Weaviate contract server
 * (tests/tools/weaviate_contract.py, started here on 127.0.0.1 and checking
 * every request against Weaviate's OpenAPI document): the class created or
 * refused, batches of upserts, duplicates and tombstones ending in exactly
 * the right objects, per-object errors (permanent: dead letter with
 * Weaviate's message and the previous upsert of that id stands; transient:
 * resent), 500s, dropped connections and slow answers (the batch is retried
 * and ends right), requests split by bytes, an object too large for any
 * request, and the API key on every request. write() is called directly
 * with fabricated batches, as the stage's sink mode calls it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http_client.h"
#include "post_record.h"
#include "testutil.h"
#include "weaviate_store.h"
#include "json/jsonf.h"

static pid_t server;
static char base[64], dir[256];
static http_client_t *ctl_http;

static int start_server(void **state) {
  (void)state;
  const char *src = getenv("SENSORY_SOURCE_DIR");
  src = src ? src : ".";
  snprintf(dir, sizeof(dir), "/tmp/test_weaviate_store.XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  char portf[300], keyf[300], script[1024], spec[1024];
  snprintf(portf, sizeof(portf), "%s/port", dir);
  snprintf(keyf, sizeof(keyf), "%s/api.key", dir);
  snprintf(script, sizeof(script), "%s/tests/tools/weaviate_contract.py", src);
  snprintf(spec, sizeof(spec), "%s/api/weaviate-openapi.json", test_fixtures());
  FILE *f = fopen(keyf, "w");
  fputs("test-api-key-123\n", f);
  fclose(f);
  server = fork();
  if (server == 0) {
    /* Ends with this test even when it crashes; its output goes to a file so
     * it never holds the test's stdout open. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char logf[300];
    snprintf(logf, sizeof(logf), "%s/server.log", dir);
    int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl("/usr/bin/python3", "python3", script, "--spec", spec, "--port-file", portf,
          "--api-key-file", keyf, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 300; i++) {
    f = fopen(portf, "r");
    int port = 0;
    if (f && fscanf(f, "%d", &port) == 1 && port > 0) {
      fclose(f);
      snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
      http_client_opts_t o = {.timeout_ms = 10000, .connect_timeout_ms = 2000};
      char err[256];
      ctl_http = http_client_new(&o, err, sizeof(err));
      return ctl_http ? 0 : -1;
    }
    if (f)
      fclose(f);
    usleep(100000);
  }
  return -1;
}

static int stop_server(void **state) {
  (void)state;
  http_client_destroy(ctl_http);
  if (server > 0) {
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
  }
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A control or direct call to the contract server; returns the parsed body. */
static json_t *ctl(const char *method, const char *path, const char *body) {
  char url[512], err[256];
  snprintf(url, sizeof(url), "%s%s", base, path);
  const char *h[] = {"Content-Type: application/json", "Authorization: Bearer test-api-key-123",
                     NULL};
  http_resp_t r;
  http_client_request(ctl_http, method, url, h, body, &r, err, sizeof(err));
  json_t *v = r.body ? jsonf_parse(r.body, r.len, 64, NULL, 0) : NULL;
  http_resp_free(&r);
  return v;
}

static void reset(void) {
  json_decref(ctl("POST", "/__control/reset", "{}"));
}

static void fault(const char *json_faults) {
  char body[1024];
  snprintf(body, sizeof(body), "{\"faults\":[%s]}", json_faults);
  json_decref(ctl("POST", "/__control/faults", body));
}

static int violations(void) {
  json_t *st = ctl("GET", "/__control/state", NULL);
  json_t *v = json_object_get(st, "violations");
  int n = (int)json_array_size(v);
  for (int i = 0; i < n; i++)
    fprintf(stderr, "violation: %s\n", json_string_value(json_array_get(v, (size_t)i)));
  json_decref(st);
  return n;
}

static int requests(const char *key) {
  json_t *st = ctl("GET", "/__control/state", NULL);
  int n = (int)json_integer_value(json_object_get(json_object_get(st, "requests"), key));
  json_decref(st);
  return n;
}

/* Stands in for stage_sink_reject(): the dead letter "goes out" (counted),
 * unless a test makes it fail. */
static int rejects, reject_fails;
static int fake_reject(stage_sink_batch_t *b, size_t i) {
  if (reject_fails)
    return -1;
  b->records[i].status = STAGE_DEAD_LETTER;
  rejects++;
  return 0;
}

static wv_store_t *store(long timeout_ms, size_t max_bytes) {
  char keyf[300], err[512];
  snprintf(keyf, sizeof(keyf), "%s/api.key", dir);
  weaviate_settings_t s = {.url = base,
                           .api_key_file = keyf,
                           .class_name = "SocialPost",
                           .consistency_level = "QUORUM",
                           .timeout_ms = timeout_ms,
                           .connect_timeout_ms = 1000,
                           .retries = 2};
  weaviate_t *w = weaviate_new(&s, "test", err, sizeof(err));
  assert_non_null(w);
  wv_store_options_t o = {.batch_objects = 4,
                          .max_request_bytes = max_bytes,
                          .object_retries = 3,
                          .retry_backoff_ms = 10,
                          .reject = fake_reject};
  wv_store_t *st = wv_store_new(w, &o, err, sizeof(err));
  assert_non_null(st);
  int created = 0;
  int rc = wv_store_ensure_schema(st, &created, err, sizeof(err));
  if (rc != WV_SCHEMA_OK)
    fail_msg("schema: %s", err);
  return st;
}

/* A fabricated batch: each op is "post_id" (upsert, content = version
 * text) or "-post_id" (tombstone). */
typedef struct fbatch {
  size_t n;
  json_t *docs[32];
  stage_sink_record_t recs[32];
  stage_fail_t fails[32];
  stage_sink_batch_t b;
} fbatch_t;

static void fb_make(fbatch_t *fb, wv_store_t *st, const char *const *ops, size_t n,
                    const char *version) {
  memset(fb, 0, sizeof(*fb));
  fb->n = n;
  for (size_t i = 0; i < n; i++) {
    const char *op = ops[i];
    stage_fail_t fail = {0};
    post_row_t *row;
    if (op[0] == '-') {
      row = post_row_from_record(NULL, NULL, op + 1, strlen(op + 1), &fail);
    } else {
      char id[UUID_STR_LEN], content[128];
      uuid_v5(post_uuid_namespace, op, strlen(op), id);
      snprintf(content, sizeof(content), "%s of %s #%zu", version, op, i);
      json_t *v = json_array();
      for (int k = 0; k < 384; k++)
        json_array_append_new(v, json_real((double)((float)((k + i) % 17) / 17.0f - 0.5f)));
      fb->docs[i] =
          json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:i,s:s,s:[s],s:[]}", "id", id, "post_id", op,
                    "model", "all-MiniLM-L6-v2", "vector", v, "enriched_text", content, "platform",
                    "facebook", "timestamp", "2026-11-21T10:00:00Z", "engagement", (int)i,
                    "content", content, "hashtags", "rain", "product_ids");
      row = post_row_from_record(NULL, fb->docs[i], NULL, 0, &fail);
    }
    assert_non_null(row);
    assert_int_equal(wv_store_ops.encode(st, row), 0);
    fb->recs[i] = (stage_sink_record_t){.doc = fb->docs[i], .row = row, .fail = &fb->fails[i]};
  }
  fb->b = (stage_sink_batch_t){.records = fb->recs, .n = n, .reason = "count"};
}

static void fb_free(fbatch_t *fb) {
  for (size_t i = 0; i < fb->n; i++) {
    post_row_free(fb->recs[i].row);
    json_decref(fb->docs[i]);
  }
}

/* The content of post_id's object in the server, or NULL when absent. */
static char *object_content(const char *post_id) {
  char id[UUID_STR_LEN], path[256];
  uuid_v5(post_uuid_namespace, post_id, strlen(post_id), id);
  snprintf(path, sizeof(path), "/v1/objects/SocialPost/%s?include=vector", id);
  json_t *o = ctl("GET", path, NULL);
  const char *c = json_string_value(json_object_get(json_object_get(o, "properties"), "content"));
  char *out = c ? strdup(c) : NULL;
  if (c)
    assert_int_equal(json_array_size(json_object_get(o, "vector")), 384);
  json_decref(o);
  return out;
}

static void expect_content(const char *post_id, const char *want) {
  char *have = object_content(post_id);
  if (!want) {
    if (have)
      fail_msg("%s should be absent, has '%s'", post_id, have);
    return;
  }
  if (!have || strcmp(have, want) != 0)
    fail_msg("%s: want '%s', have '%s'", post_id, want, have ? have : "(absent)");
  free(have);
}

static int object_count(void) {
  json_t *st = ctl("GET", "/__control/state", NULL);
  int n = (int)json_integer_value(json_object_get(st, "objects"));
  json_decref(st);
  return n;
}

static void test_schema(void **state) {
  (void)state;
  reset();
  char err[512];
  wv_store_t *st = store(5000, 1 << 20);
  int created = 0;
  assert_int_equal(wv_store_ensure_schema(st, &created, err, sizeof(err)), WV_SCHEMA_OK);
  assert_int_equal(created, 0); /* the first call (in store()) created it */
  json_t *cls = ctl("GET", "/v1/schema/SocialPost", NULL);
  assert_string_equal(json_string_value(json_object_get(cls, "vectorizer")), "none");
  assert_int_equal(json_array_size(json_object_get(cls, "properties")), 8);
  json_decref(cls);
  wv_store_destroy(st);

  /* A class someone made with engagement as text: refused, clearly. */
  reset();
  json_decref(ctl("POST", "/v1/schema",
                  "{\"class\":\"SocialPost\",\"vectorizer\":\"none\",\"properties\":[{\"name\":"
                  "\"engagement\",\"dataType\":[\"text\"]}]}"));
  char keyf[300];
  snprintf(keyf, sizeof(keyf), "%s/api.key", dir);
  weaviate_settings_t s = {.url = base,
                           .api_key_file = keyf,
                           .class_name = "SocialPost",
                           .consistency_level = "ONE",
                           .timeout_ms = 5000,
                           .connect_timeout_ms = 1000};
  wv_store_options_t o = {0};
  st = wv_store_new(weaviate_new(&s, NULL, err, sizeof(err)), &o, err, sizeof(err));
  assert_int_equal(wv_store_ensure_schema(st, NULL, err, sizeof(err)), WV_SCHEMA_CONFLICT);
  assert_non_null(strstr(err, "'engagement' has dataType text"));
  wv_store_destroy(st);

  /* A wrong API key: refused at start, with a hint. */
  FILE *f = fopen(keyf, "w");
  fputs("wrong\n", f);
  fclose(f);
  st = wv_store_new(weaviate_new(&s, NULL, err, sizeof(err)), &o, err, sizeof(err));
  assert_int_equal(wv_store_ensure_schema(st, NULL, err, sizeof(err)), WV_SCHEMA_CONFLICT);
  assert_non_null(strstr(err, "HTTP 401"));
  wv_store_destroy(st);
  f = fopen(keyf, "w");
  fputs("test-api-key-123\n", f);
  fclose(f);
  reset(); /* forget the violation the wrong key caused */
}

static void test_batches_in_order(void **state) {
  (void)state;
  reset();
  wv_store_t *st = store(5000, 1 << 20);
  /* a: written, deleted, written again; b: twice (the second stands);
   * c: written then deleted; d: a tombstone for something never written. */
  const char *ops[] = {"a", "b", "-a", "c", "a", "b", "-c", "-d", "e", "f", "g", "h"};
  fbatch_t fb;
  fb_make(&fb, st, ops, 12, "v1");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  for (size_t i = 0; i < fb.n; i++)
    assert_int_equal(fb.recs[i].status, STAGE_OK);
  expect_content("a", "v1 of a #4");
  expect_content("b", "v1 of b #5");
  expect_content("c", NULL);
  expect_content("d", NULL);
  assert_int_equal(object_count(), 6); /* a b e f g h */
  /* 6 upserts in requests of at most 4 objects: 2 requests; 3 ids deleted in one. */
  assert_int_equal(requests("POST /v1/batch/objects"), 2);
  assert_int_equal(requests("DELETE /v1/batch/objects"), 1);
  fb_free(&fb);
  /* The same batch again (a redelivery): the same objects. */
  fb_make(&fb, st, ops, 12, "v1");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  expect_content("a", "v1 of a #4");
  assert_int_equal(object_count(), 6);
  fb_free(&fb);
  assert_int_equal(violations(), 0);
  wv_store_destroy(st);
}

static void test_object_errors(void **state) {
  (void)state;
  reset();
  wv_store_t *st = store(5000, 1 << 20);
  fault("{\"kind\":\"object_error\",\"post_id\":\"p3\",\"times\":-1,\"message\":\"invalid text "
        "property 'content' on class 'SocialPost': not a string, but float64\"},"
        "{\"kind\":\"object_error\",\"post_id\":\"p5\",\"times\":2,\"message\":\"context "
        "deadline exceeded\"}");
  /* p4 twice: the newer is refused (its content holds "#3" — see the fault
   * below), the older stands. */
  fault("{\"kind\":\"object_error\",\"post_id\":\"p4\",\"times\":1,\"message\":\"insert to "
        "vector index: new node has a vector with length 383. Existing nodes have vectors with "
        "length 384\"}");
  const char *ops[] = {"p1", "p2", "p3", "p4", "p5", "p4"};
  fbatch_t fb;
  fb_make(&fb, st, ops, 6, "v1");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  assert_int_equal(fb.recs[0].status, STAGE_OK);
  assert_int_equal(fb.recs[2].status, STAGE_DEAD_LETTER);
  assert_string_equal(fb.fails[2].code, "store_rejected");
  assert_string_equal(fb.fails[2].message, "weaviate: invalid text property 'content' on class "
                                           "'SocialPost': not a string, but float64");
  assert_int_equal(fb.recs[5].status, STAGE_DEAD_LETTER); /* the newer p4 */
  assert_non_null(strstr(fb.fails[5].message, "vector with length 383"));
  assert_int_equal(fb.recs[3].status, STAGE_OK); /* the older p4 stands */
  assert_int_equal(fb.recs[4].status, STAGE_OK); /* p5: transient twice, then written */
  expect_content("p1", "v1 of p1 #0");
  expect_content("p3", NULL);
  expect_content("p4", "v1 of p4 #3");
  expect_content("p5", "v1 of p5 #4");

  /* The same batch again (the stage retried it): rejected records stay
   * rejected and are not sent again; the object state is the same. */
  int before = rejects;
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  assert_int_equal(rejects, before);
  expect_content("p4", "v1 of p4 #3");
  fb_free(&fb);

  /* A dead letter that cannot be made durable: the batch is retried. */
  fault("{\"kind\":\"object_error\",\"post_id\":\"p8\",\"times\":1,\"message\":\"invalid "
        "integer property 'engagement' on class 'SocialPost': requires an integer, the given value "
        "is '1.5'\"}");
  const char *ops8[] = {"p8"};
  fb_make(&fb, st, ops8, 1, "v1");
  reject_fails = 1;
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_RETRY);
  reject_fails = 0;
  assert_int_equal(fb.recs[0].status, STAGE_OK);
  /* Its message never repeats the value. */
  assert_null(strstr(fb.fails[0].message, "1.5"));
  assert_non_null(strstr(fb.fails[0].message, "the given value is '\xe2\x80\xa6'"));
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK); /* the fault is used up */
  expect_content("p8", "v1 of p8 #0");
  fb_free(&fb);

  /* A transient error that outlasts the resends: the batch comes back whole. */
  fault("{\"kind\":\"object_error\",\"post_id\":\"p6\",\"times\":10,\"message\":\"shard "
        "SocialPost_abc is read-only\"}");
  const char *ops2[] = {"p6", "p7"};
  fb_make(&fb, st, ops2, 2, "v2");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_RETRY);
  assert_int_equal(fb.recs[0].status, STAGE_OK);
  assert_int_equal(fb.recs[1].status, STAGE_OK);
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_RETRY); /* 4 more used up */
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);    /* the last 2 resends pass */
  expect_content("p6", "v2 of p6 #0");
  expect_content("p7", "v2 of p7 #1");
  fb_free(&fb);
  assert_int_equal(violations(), 0);
  wv_store_destroy(st);
}

static void test_transport_faults(void **state) {
  (void)state;
  reset();
  wv_store_t *st = store(700, 1 << 20);
  const char *ops[] = {"t1", "t2", "t3"};
  fbatch_t fb;
  /* 500 five times: more than the client's quick retries (2) → retry the batch. */
  fault("{\"kind\":\"status\",\"status\":500,\"times\":5}");
  fb_make(&fb, st, ops, 3, "v1");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_RETRY);
  expect_content("t1", NULL);
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK); /* 2 left, then through */
  expect_content("t1", "v1 of t1 #0");
  fb_free(&fb);
  /* A dropped connection before and one after the write; a slow answer
   * (written, answered after the timeout): each resent, ending right. */
  fault("{\"kind\":\"drop\",\"when\":\"before\"},{\"kind\":\"drop\",\"when\":\"after\"}");
  fb_make(&fb, st, ops, 3, "v2");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK); /* the client's own retries */
  expect_content("t2", "v2 of t2 #1");
  assert_int_equal(requests("POST /v1/batch/objects"), 3 + 3 + 3);
  fb_free(&fb);
  fault("{\"kind\":\"slow\",\"seconds\":1.5}");
  fb_make(&fb, st, ops, 3, "v3");
  int rc = wv_store_ops.write(st, &fb.b);
  if (rc != STAGE_OK)
    rc = wv_store_ops.write(st, &fb.b);
  assert_int_equal(rc, STAGE_OK);
  expect_content("t3", "v3 of t3 #2");
  assert_int_equal(object_count(), 3);
  fb_free(&fb);
  assert_int_equal(violations(), 0);
  wv_store_destroy(st);
}

static void test_split_and_too_large(void **state) {
  (void)state;
  reset();
  /* Requests of at most 4 objects and 12 KB (objects are ~5 KB): packed
   * greedily, in order. */
  wv_store_t *st = store(5000, 12000);
  const char *ops[] = {"s1", "s2", "s3", "s4", "s5", "s6", "s7"};
  fbatch_t fb;
  fb_make(&fb, st, ops, 7, "v1");
  int want = 0;
  for (size_t at = 0; at < 7; want++) {
    size_t size = 14, k = 0;
    while (at < 7 && k < 4 &&
           size + ((post_row_t *)fb.recs[at].row)->wire_len + (k ? 1 : 0) <= 12000) {
      size += ((post_row_t *)fb.recs[at].row)->wire_len + (k ? 1 : 0);
      at++;
      k++;
    }
  }
  assert_true(want >= 3); /* the byte limit, not the count, splits here */
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  assert_int_equal(requests("POST /v1/batch/objects"), want);
  assert_int_equal(object_count(), 7);
  fb_free(&fb);
  wv_store_destroy(st);
  /* A limit under one object: that object is a dead letter, never sent. */
  st = store(5000, 2048);
  const char *one[] = {"big"};
  fb_make(&fb, st, one, 1, "v1");
  assert_int_equal(wv_store_ops.write(st, &fb.b), STAGE_OK);
  assert_int_equal(fb.recs[0].status, STAGE_DEAD_LETTER);
  assert_non_null(strstr(fb.fails[0].message, "larger than weaviate.max_request_bytes"));
  expect_content("big", NULL);
  fb_free(&fb);
  assert_int_equal(violations(), 0);
  wv_store_destroy(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema),
      cmocka_unit_test(test_batches_in_order),
      cmocka_unit_test(test_object_errors),
      cmocka_unit_test(test_transport_faults),
      cmocka_unit_test(test_split_and_too_large),
  };
  return cmocka_run_group_tests(tests, start_server, stop_server);
}
