/* Unit tests for services/dlq-replay: what a replay sends for each envelope
 * kind, what it refuses (replay_letter.c), filters, that list lines never
 * carry the payload, the command-line check (replay_config.c) and the in-order
 * offset tracker (replay_offsets.c). Envelopes are built with
 * common/privacy/dlq.c like the stages do. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/dlq.h"
#include "replay_cmd.h"
#include "replay_config.h"
#include "replay_letter.h"
#include "replay_offsets.h"

static const unsigned char KEY_A[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                        23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char KEY_B[32] = {0xff, 0xee, 0xdd};

#define PAYLOAD "{\"order_id\":\"o-1\",\"customer_phone\":\"01711-234567\"}"
#define TOPIC "source.market.shopify"

/* Builds an envelope as a stage would, serialized and parsed back so tests
 * see exactly what travels through Kafka. */
static json_t *make_env(const void *payload, size_t len, const char *key, size_t key_len,
                        const dlq_key_t *seal, const char *code) {
  char err[256];
  dlq_error_t e = {"privacy-shield", code, "must be > 0", "/quantity"};
  dlq_origin_t o = {TOPIC, 3, 42, key, key_len, 1795822148123LL};
  json_t *env =
      dlq_envelope_new(payload, len, &e, &o, seal, "privacy-shield/0.1.0", 2, err, sizeof(err));
  assert_non_null(env);
  char *text = json_dumps(env, JSON_COMPACT);
  json_decref(env);
  assert_non_null(text);
  json_t *back = json_loads(text, 0, NULL);
  free(text);
  assert_non_null(back);
  return back;
}

/* replay_extract under the rules of a plain run. */
static int extract(const json_t *env, const dlq_key_t *key, const void *msg_key, size_t msg_key_len,
                   int need_key, const char *to, replay_item_t *it, replay_refusal_t *why,
                   char *err, size_t err_size) {
  replay_rules_t rules = {.to_topic = to, .need_key = need_key};
  return replay_extract(env, key, msg_key, msg_key_len, &rules, it, why, err, err_size);
}

static void assert_item(const replay_item_t *it, const void *payload, size_t len, const char *key,
                        size_t key_len, const char *topic) {
  assert_int_equal(it->payload_len, len);
  assert_memory_equal(it->payload, payload, len);
  if (key) {
    assert_non_null(it->key);
    assert_int_equal(it->key_len, key_len);
    assert_memory_equal(it->key, key, key_len);
  } else {
    assert_null(it->key);
  }
  assert_string_equal(it->topic, topic);
  assert_int_equal(it->attempts, 2);
  assert_non_null(it->first_failed_at);
}

static void test_plaintext(void **state) {
  (void)state;
  json_t *env = make_env(PAYLOAD, strlen(PAYLOAD), "o-1", 3, NULL, "schema");
  assert_non_null(json_object_get(env, "payload"));
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  assert_int_equal(extract(env, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), 0);
  assert_item(&it, PAYLOAD, strlen(PAYLOAD), "o-1", 3, TOPIC);
  replay_item_free(&it);
  /* --to overrides the target; the payload is the same. */
  assert_int_equal(
      extract(env, NULL, NULL, 0, 1, "source.market.retry", &it, &why, err, sizeof(err)), 0);
  assert_string_equal(it.topic, "source.market.retry");
  replay_item_free(&it);
  replay_item_free(&it); /* a freed item is zeroed: freeing again is harmless */
  json_decref(env);
}

static void test_binary_b64(void **state) {
  (void)state;
  const unsigned char bin[] = {0xff, 0x00, 'a', 0xfe, '\n'};
  const char key[] = {'k', 0, 'x'};
  json_t *env = make_env(bin, sizeof(bin), key, sizeof(key), NULL, "invalid_utf8");
  assert_non_null(json_object_get(env, "payload_b64"));
  assert_non_null(json_object_get(json_object_get(env, "source"), "key_b64"));
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  assert_int_equal(extract(env, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), 0);
  assert_item(&it, bin, sizeof(bin), key, sizeof(key), TOPIC);
  replay_item_free(&it);
  json_decref(env);
}

static void test_no_key(void **state) {
  (void)state;
  json_t *env = make_env("x", 1, NULL, 0, NULL, "invalid_json");
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  assert_int_equal(extract(env, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), 0);
  assert_item(&it, "x", 1, NULL, 0, TOPIC);
  replay_item_free(&it);
  json_decref(env);
}

static void test_sealed(void **state) {
  (void)state;
  dlq_key_t *ka = dlq_key_new(KEY_A);
  json_t *env = make_env(PAYLOAD, strlen(PAYLOAD), "o-1", 3, ka, "schema");
  assert_non_null(json_object_get(env, "payload_enc"));
  assert_null(json_object_get(json_object_get(env, "source"), "key"));
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  /* The original key is the dead letter's own Kafka key, checked by hash. */
  assert_int_equal(extract(env, ka, "o-1", 3, 1, NULL, &it, &why, err, sizeof(err)), 0);
  assert_item(&it, PAYLOAD, strlen(PAYLOAD), "o-1", 3, TOPIC);
  replay_item_free(&it);
  /* A Kafka key that is not the original (hash mismatch) is refused. */
  assert_int_equal(extract(env, ka, "o-2", 3, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_MALFORMED);
  assert_non_null(strstr(err, "key_sha256"));
  assert_null(it.payload);
  /* No Kafka key: refused over Kafka, fine for a file (no key is written). */
  assert_int_equal(extract(env, ka, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "original key is unknown"));
  assert_int_equal(extract(env, ka, NULL, 0, 0, NULL, &it, &why, err, sizeof(err)), 0);
  assert_null(it.key);
  assert_int_equal(it.payload_len, strlen(PAYLOAD));
  replay_item_free(&it);
  /* --to to another topic still decrypts: the AAD is the source topic. */
  assert_int_equal(
      extract(env, ka, "o-1", 3, 1, "source.market.retry", &it, &why, err, sizeof(err)), 0);
  assert_memory_equal(it.payload, PAYLOAD, strlen(PAYLOAD));
  replay_item_free(&it);
  json_decref(env);
  dlq_key_destroy(ka);
}

static void test_wrong_key_refused(void **state) {
  (void)state;
  dlq_key_t *ka = dlq_key_new(KEY_A), *kb = dlq_key_new(KEY_B);
  json_t *env = make_env(PAYLOAD, strlen(PAYLOAD), "o-1", 3, ka, "schema");
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  assert_int_equal(extract(env, kb, "o-1", 3, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_KEY);
  assert_non_null(strstr(err, dlq_key_id(ka)));
  assert_null(it.payload);
  assert_string_equal(replay_refusal_name(why), "wrong_key");
  /* No key at all. */
  assert_int_equal(extract(env, NULL, "o-1", 3, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_KEY);
  /* Moved to another source topic: authentication fails (AAD). */
  json_object_set_new(json_object_get(env, "source"), "topic", json_string("source.market.daraz"));
  assert_int_equal(extract(env, ka, "o-1", 3, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_KEY);
  assert_non_null(strstr(err, "authentication failed"));
  json_decref(env);
  dlq_key_destroy(ka);
  dlq_key_destroy(kb);
}

static void test_truncated_refused(void **state) {
  (void)state;
  dlq_key_t *ka = dlq_key_new(KEY_A);
  json_t *env = make_env("{\"order_id\":", 12, "o-1", 3, ka, "too_large");
  json_object_set_new(env, "payload_truncated", json_true());
  json_object_set_new(env, "payload_size", json_integer(2000000));
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  /* Refused with the right key too: the bytes are not the original message. */
  assert_int_equal(extract(env, ka, "o-1", 3, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_TRUNCATED);
  assert_non_null(strstr(err, "truncated"));
  assert_non_null(strstr(err, "2000000"));
  assert_null(it.payload);
  /* File mode as well. */
  assert_int_equal(extract(env, ka, NULL, 0, 0, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_TRUNCATED);
  char *line = replay_list_line(env, "dead-letters-market/0@7");
  assert_non_null(strstr(line, "TRUNCATED"));
  free(line);
  json_decref(env);
  dlq_key_destroy(ka);
}

static void test_malformed_and_loop(void **state) {
  (void)state;
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  json_t *junk = json_pack("{s:s}", "hello", "world");
  assert_int_equal(extract(junk, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_MALFORMED);
  json_decref(junk);

  json_t *env = make_env("x", 1, "k", 1, NULL, "schema");
  assert_int_equal(
      extract(env, NULL, NULL, 0, 1, "dead-letters-market", &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_LOOP);
  json_object_set_new(json_object_get(env, "source"), "topic", json_string("dead-letters-social"));
  assert_int_equal(extract(env, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_LOOP);
  json_decref(env);

  /* Two payload kinds at once: not an envelope this tool may guess about. */
  env = make_env("x", 1, "k", 1, NULL, "schema");
  json_object_set_new(env, "payload_b64", json_string("eA=="));
  assert_int_equal(extract(env, NULL, NULL, 0, 1, NULL, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_MALFORMED);
  json_decref(env);
}

static void test_filters(void **state) {
  (void)state;
  json_t *env = make_env("x", 1, "k", 1, NULL, "schema");
  replay_filter_t none = {NULL, NULL}, empty = {"", ""};
  replay_filter_t code = {"schema", NULL}, other_code = {"invalid_json", NULL};
  replay_filter_t topic = {NULL, TOPIC}, other_topic = {NULL, "source.market.daraz"};
  replay_filter_t both = {"schema", TOPIC}, mixed = {"schema", "source.market.daraz"};
  assert_true(replay_filter_match(NULL, env));
  assert_true(replay_filter_match(&none, env));
  assert_true(replay_filter_match(&empty, env));
  assert_false(replay_filter_active(&none));
  assert_false(replay_filter_active(&empty));
  assert_true(replay_filter_active(&code));
  assert_true(replay_filter_match(&code, env));
  assert_false(replay_filter_match(&other_code, env));
  assert_true(replay_filter_match(&topic, env));
  assert_false(replay_filter_match(&other_topic, env));
  assert_true(replay_filter_match(&both, env));
  assert_false(replay_filter_match(&mixed, env));
  json_t *junk = json_object();
  assert_false(replay_filter_match(&code, junk));
  assert_true(replay_filter_match(&none, junk));
  json_decref(junk);
  json_decref(env);
}

static void test_list_line_has_no_payload(void **state) {
  (void)state;
  const char *secret = "{\"customer_phone\":\"01711-234567\",\"order_id\":\"o-77\"}";
  json_t *env = make_env(secret, strlen(secret), "o-77", 4, NULL, "schema");
  /* A message with quotes and a newline must stay on one line. */
  json_object_set_new(json_object_get(env, "error"), "message",
                      json_string("bad \"value\"\nsecond line"));
  char *line = replay_list_line(env, "dead-letters-market/1@9");
  assert_non_null(line);
  assert_null(strchr(line, '\n'));
  assert_null(strstr(line, "01711"));
  assert_null(strstr(line, "o-77")); /* keys are not listed either */
  assert_non_null(strstr(line, "dead-letters-market/1@9"));
  assert_non_null(strstr(line, "source=" TOPIC "/3@42"));
  assert_non_null(strstr(line, "code=schema"));
  assert_non_null(strstr(line, "attempts=2"));
  assert_non_null(strstr(line, "path=/quantity"));
  assert_non_null(strstr(line, "message=\"bad \\\"value\\\"\\x0asecond line\""));
  free(line);

  json_t *meta = replay_envelope_meta(env, "dead-letters-market/1@9");
  char *text = json_dumps(meta, JSON_COMPACT);
  assert_null(strstr(text, "01711"));
  assert_null(json_object_get(meta, "payload"));
  assert_string_equal(json_string_value(json_object_get(meta, "dlq")), "dead-letters-market/1@9");
  free(text);
  json_decref(meta);
  assert_null(replay_envelope_meta(NULL, "x"));
  json_decref(env);
}

/* Config checks: the command table a 3 a.m. operator hits first. */
static int check(const char *command, replay_config_t *cfg, char *err, size_t n) {
  char *args[] = {(char *)command, NULL};
  conf_result_t res = {.args = args, .arg_count = command ? 1 : 0};
  replay_command_t cmd;
  return replay_config_check(cfg, &res, &cmd, err, n);
}

static void test_config_check(void **state) {
  (void)state;
  char err[512];
  replay_config_t cfg = {.topic = "dead-letters-market", .partition = -1, .offset = -1};
  assert_int_equal(check("list", &cfg, err, sizeof(err)), 0);
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), 0);
  assert_int_equal(check("nope", &cfg, err, sizeof(err)), -1);
  assert_int_equal(check(NULL, &cfg, err, sizeof(err)), -1);
  assert_int_equal(check("show", &cfg, err, sizeof(err)), -1); /* needs partition/offset */
  cfg.code = "schema";
  assert_int_equal(check("list", &cfg, err, sizeof(err)), 0);
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), -1); /* filter, default group */
  assert_non_null(strstr(err, "--group"));
  cfg.group = "dlq-replay";
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), -1);
  cfg.group = "dlq-replay-schema-fix";
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), 0);
  cfg.group = NULL;
  cfg.no_commit = 1;
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), 0);
  cfg.code = NULL;
  cfg.no_commit = 0;
  cfg.to = "dead-letters-social";
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), -1);
  cfg.to = NULL;
  cfg.dry_run = 1;
  assert_int_equal(check("list", &cfg, err, sizeof(err)), -1); /* --dry-run is replay's */
  cfg.dry_run = 0;
  cfg.file = "dlq.jsonl";
  assert_int_equal(check("list", &cfg, err, sizeof(err)), -1); /* both --topic and --file */
  cfg.topic = NULL;
  assert_int_equal(check("list", &cfg, err, sizeof(err)), 0);
  cfg.offset = 3;
  assert_int_equal(check("show", &cfg, err, sizeof(err)), 0);
}

/* ---- the offset tracker ---------------------------------------------------- */

static void test_offsets_in_order(void **state) {
  (void)state;
  replay_offsets_t *t = replay_offsets_new();
  assert_non_null(t);
  assert_int_equal(replay_offsets_next(t, 0), -1); /* nothing tracked */
  for (int64_t o = 10; o <= 13; o++)
    assert_int_equal(replay_offsets_track(t, 0, o), 0);
  assert_int_equal(replay_offsets_track(t, 0, 13), -1); /* not ascending */
  assert_int_equal(replay_offsets_track(t, 0, 5), -1);
  assert_int_equal(replay_offsets_ack(t, 0, 11), 0);
  assert_int_equal(replay_offsets_next(t, 0), -1); /* 10 is not acknowledged */
  assert_int_equal(replay_offsets_ack(t, 0, 10), 0);
  assert_int_equal(replay_offsets_next(t, 0), 12);    /* 10 and 11 done */
  assert_int_equal(replay_offsets_next(t, 0), -1);    /* nothing new */
  assert_int_equal(replay_offsets_ack(t, 0, 10), -1); /* already passed */
  assert_int_equal(replay_offsets_ack(t, 0, 99), -1); /* never tracked */
  assert_int_equal(replay_offsets_ack(t, 7, 10), -1); /* unknown partition */
  /* 12 is never acknowledged (refused, failed): 13 cannot move past it. */
  assert_int_equal(replay_offsets_ack(t, 0, 13), 0);
  assert_int_equal(replay_offsets_next(t, 0), -1);
  /* Partitions are independent. */
  assert_int_equal(replay_offsets_track(t, 1, 0), 0);
  assert_int_equal(replay_offsets_ack(t, 1, 0), 0);
  assert_int_equal(replay_offsets_next(t, 1), 1);
  assert_int_equal(replay_offsets_next(t, 0), -1);
  replay_offsets_destroy(t);
  replay_offsets_destroy(NULL);
}

/* Many letters, acknowledged out of order in bursts, across the queue's
 * growth and compaction: the committable offset only ever follows the
 * contiguous acknowledged prefix. */
static void test_offsets_many(void **state) {
  (void)state;
  replay_offsets_t *t = replay_offsets_new();
  int64_t committed = 0;
  for (int64_t base = 0; base < 5000; base += 100) {
    for (int64_t o = base; o < base + 100; o++)
      assert_int_equal(replay_offsets_track(t, 2, o), 0);
    for (int64_t o = base + 99; o >= base; o -= 2) /* odd ones first, backwards */
      assert_int_equal(replay_offsets_ack(t, 2, o), 0);
    assert_int_equal(replay_offsets_next(t, 2), -1);
    for (int64_t o = base; o < base + 100; o += 2)
      assert_int_equal(replay_offsets_ack(t, 2, o), 0);
    committed = replay_offsets_next(t, 2);
    assert_int_equal(committed, base + 100);
  }
  replay_offsets_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plaintext),
      cmocka_unit_test(test_binary_b64),
      cmocka_unit_test(test_no_key),
      cmocka_unit_test(test_sealed),
      cmocka_unit_test(test_wrong_key_refused),
      cmocka_unit_test(test_truncated_refused),
      cmocka_unit_test(test_malformed_and_loop),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_list_line_has_no_payload),
      cmocka_unit_test(test_config_check),
      cmocka_unit_test(test_offsets_in_order),
      cmocka_unit_test(test_offsets_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
