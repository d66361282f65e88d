/* Unit tests for services/dlq-replay: what a replay sends for each envelope
 * kind, what it refuses (replay_letter.c, including the max-attempts loop
 * guard), filters, that list lines never carry the payload, the command-line
 * check (replay_config.c), and the replay command over a file
 * (replay_send.c). Envelopes are built with
 * common/privacy/dlq.c like the stages do. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privacy/dlq.h"
#include "replay_cmd.h"
#include "replay_config.h"
#include "replay_letter.h"

static const unsigned char KEY_A[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                        23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char KEY_B[32] = {0xff, 0xee, 0xdd};

#define PAYLOAD "{\"order_id\":\"o-1\",\"customer_phone\":\"01711-234567\"}"
#define TOPIC "source.market.shopify"

/* Builds an envelope as a stage would, serialized and parsed back so tests
 * see exactly what travels through Kafka. */
static json_t *make_env_attempts(const void *payload, size_t len, const char *key, size_t key_len,
                                 const dlq_key_t *seal, const char *code, int attempts) {
  char err[256];
  dlq_error_t e = {"privacy-shield", code, "must be > 0", "/quantity"};
  dlq_origin_t o = {TOPIC, 3, 42, key, key_len, 1795822148123LL};
  json_t *env = dlq_envelope_new(payload, len, &e, &o, seal, "privacy-shield/0.1.0", attempts, err,
                                 sizeof(err));
  assert_non_null(env);
  char *text = json_dumps(env, JSON_COMPACT);
  json_decref(env);
  assert_non_null(text);
  json_t *back = json_loads(text, 0, NULL);
  free(text);
  assert_non_null(back);
  return back;
}

static json_t *make_env(const void *payload, size_t len, const char *key, size_t key_len,
                        const dlq_key_t *seal, const char *code) {
  return make_env_attempts(payload, len, key, key_len, seal, code, 2);
}

/* replay_extract under the rules of a plain run: the default cap (5, above
 * the envelopes' 2 attempts), no --force. */
static int extract(const json_t *env, const dlq_key_t *key, const void *msg_key, size_t msg_key_len,
                   int need_key, const char *to, replay_item_t *it, replay_refusal_t *why,
                   char *err, size_t err_size) {
  replay_rules_t rules = {.to_topic = to, .max_attempts = 5, .need_key = need_key};
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
  char *line = replay_list_line(env, "dead-letters-market/0@7", 5);
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
  char *line = replay_list_line(env, "dead-letters-market/1@9", 5);
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
  assert_null(strstr(line, "MAX_ATTEMPTS")); /* 2 attempts, cap 5 */
  free(line);

  /* fuzz_dlq: the other fields broke the line too. A path names a key of the
   * failed record, which is outside input: a newline there forged a line. */
  json_object_set_new(json_object_get(env, "error"), "path",
                      json_string("/a\ncode=fake  message=\"forged\""));
  json_object_set_new(json_object_get(env, "error"), "code", json_string("sch\tema"));
  json_object_set_new(json_object_get(env, "source"), "topic", json_string("t\r1"));
  line = replay_list_line(env, "dlq.jsonl:3", 5);
  assert_non_null(line);
  for (const char *c = line; *c; c++)
    assert_true((unsigned char)*c >= 0x20);
  assert_non_null(strstr(line, "path=/a\\x0acode=fake  message=\\\"forged\\\""));
  assert_non_null(strstr(line, "code=sch\\x09ema"));
  assert_non_null(strstr(line, "source=t\\x0d1/3@42"));
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
  /* --force belongs to replay (from a topic or a file) and nowhere else. */
  cfg.offset = -1;
  cfg.force = 1;
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), 0);
  assert_int_equal(check("list", &cfg, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "--force"));
  cfg.file = NULL;
  cfg.topic = "dead-letters-market";
  assert_int_equal(check("replay", &cfg, err, sizeof(err)), 0);
}

/* The loop guard in replay_extract: attempts below, at and above the cap,
 * with and without --force, and no cap at all. */
static void test_max_attempts_extract(void **state) {
  (void)state;
  static const struct {
    int attempts;
    long long cap;
    int force;
    int refused;
  } rows[] = {
      {1, 5, 0, 0}, {4, 5, 0, 0}, {5, 5, 0, 1}, {6, 5, 0, 1}, {50, 5, 0, 1},
      {1, 5, 1, 0}, {5, 5, 1, 0}, {6, 5, 1, 0}, {1, 1, 0, 1}, {7, 0, 0, 0}, /* cap 0: none */
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    json_t *env =
        make_env_attempts(PAYLOAD, strlen(PAYLOAD), "o-1", 3, NULL, "schema", rows[i].attempts);
    replay_rules_t rules = {.max_attempts = rows[i].cap, .force = rows[i].force, .need_key = 1};
    replay_item_t it;
    replay_refusal_t why;
    char err[256];
    int rc = replay_extract(env, NULL, NULL, 0, &rules, &it, &why, err, sizeof(err));
    printf("row %zu: attempts %d cap %lld force %d -> %d\n", i, rows[i].attempts, rows[i].cap,
           rows[i].force, rc);
    assert_int_equal(rc, rows[i].refused ? -1 : 0);
    assert_int_equal(replay_at_max_attempts(env, rows[i].cap),
                     rows[i].cap > 0 && rows[i].attempts >= rows[i].cap);
    if (rows[i].refused) {
      assert_int_equal(why, REPLAY_REFUSED_ATTEMPTS);
      assert_string_equal(replay_refusal_name(why), "attempts");
      assert_non_null(strstr(err, "max_attempts"));
      assert_non_null(strstr(err, "--force"));
      assert_null(strstr(err, "01711")); /* the reason never quotes the payload */
      assert_null(it.payload);
    } else {
      assert_int_equal(it.attempts, rows[i].attempts); /* the replay header carries it */
      assert_int_equal(it.payload_len, strlen(PAYLOAD));
      replay_item_free(&it);
    }
    json_decref(env);
  }
}

/* --force lifts the cap and nothing else: a truncated letter at the cap is
 * still truncated; a sealed letter at the cap is refused for its attempts
 * before any key is needed. */
static void test_max_attempts_force_is_narrow(void **state) {
  (void)state;
  dlq_key_t *ka = dlq_key_new(KEY_A);
  replay_rules_t force = {.max_attempts = 5, .force = 1, .need_key = 1};
  replay_rules_t guard = {.max_attempts = 5, .need_key = 1};
  replay_item_t it;
  replay_refusal_t why;
  char err[256];
  json_t *env = make_env_attempts("{\"a\":", 5, "o-1", 3, ka, "too_large", 9);
  json_object_set_new(env, "payload_truncated", json_true());
  assert_int_equal(replay_extract(env, ka, "o-1", 3, &force, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_TRUNCATED);
  json_decref(env);
  env = make_env_attempts(PAYLOAD, strlen(PAYLOAD), "o-1", 3, ka, "schema", 5);
  assert_int_equal(replay_extract(env, NULL, "o-1", 3, &guard, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_ATTEMPTS);
  assert_int_equal(replay_extract(env, NULL, "o-1", 3, &force, &it, &why, err, sizeof(err)), -1);
  assert_int_equal(why, REPLAY_REFUSED_KEY);
  assert_int_equal(replay_extract(env, ka, "o-1", 3, &force, &it, &why, err, sizeof(err)), 0);
  assert_memory_equal(it.payload, PAYLOAD, strlen(PAYLOAD));
  replay_item_free(&it);
  json_decref(env);
  dlq_key_destroy(ka);
}

static void test_max_attempts_list_marker(void **state) {
  (void)state;
  json_t *env = make_env_attempts("x", 1, "k", 1, NULL, "schema", 5);
  char *at = replay_list_line(env, "dead-letters-market/0@3", 5);
  char *below = replay_list_line(env, "dead-letters-market/0@3", 6);
  char *none = replay_list_line(env, "dead-letters-market/0@3", 0);
  assert_non_null(strstr(at, "attempts=5"));
  assert_non_null(strstr(at, "  MAX_ATTEMPTS  message="));
  assert_non_null(strstr(below, "attempts=5"));
  assert_null(strstr(below, "MAX_ATTEMPTS"));
  assert_null(strstr(none, "MAX_ATTEMPTS"));
  free(at);
  free(below);
  free(none);
  json_decref(env);
}

/* The setting's names as operators type them: --max-attempts, the
 * REPLAY_MAX_ATTEMPTS environment variable, default 5, at least 1. */
static int load(replay_config_t *cfg, char **argv, int argc, char *err, size_t n) {
  conf_section_t own = {replay_config_entries(), cfg};
  conf_result_t res = {0};
  memset(cfg, 0, sizeof(*cfg));
  int rc = conf_load(&own, 1, argc, argv, "usage", "test", &res, err, n);
  conf_result_free(&res);
  return rc;
}

static void test_max_attempts_setting(void **state) {
  (void)state;
  char err[512];
  replay_config_t cfg;
  char *plain[] = {"dlq-replay", "list", "--topic", "t", NULL};
  char *flag[] = {"dlq-replay", "list", "--topic", "t", "--max-attempts", "3", NULL};
  char *zero[] = {"dlq-replay", "list", "--topic", "t", "--max-attempts", "0", NULL};
  unsetenv("REPLAY_MAX_ATTEMPTS");
  assert_int_equal(load(&cfg, plain, 4, err, sizeof(err)), CONF_OK);
  assert_int_equal(cfg.max_attempts, 5);
  assert_false(cfg.force);
  conf_free(&(conf_section_t){replay_config_entries(), &cfg});
  assert_int_equal(load(&cfg, flag, 6, err, sizeof(err)), CONF_OK);
  assert_int_equal(cfg.max_attempts, 3);
  conf_free(&(conf_section_t){replay_config_entries(), &cfg});
  assert_int_equal(load(&cfg, zero, 6, err, sizeof(err)), CONF_ERROR);
  assert_non_null(strstr(err, "max"));
  conf_free(&(conf_section_t){replay_config_entries(), &cfg});
  setenv("REPLAY_MAX_ATTEMPTS", "8", 1);
  assert_int_equal(load(&cfg, plain, 4, err, sizeof(err)), CONF_OK);
  assert_int_equal(cfg.max_attempts, 8);
  conf_free(&(conf_section_t){replay_config_entries(), &cfg});
  assert_int_equal(load(&cfg, flag, 6, err, sizeof(err)), CONF_OK); /* the flag wins */
  assert_int_equal(cfg.max_attempts, 3);
  conf_free(&(conf_section_t){replay_config_entries(), &cfg});
  unsetenv("REPLAY_MAX_ATTEMPTS");
}

/* ---- the replay command over a file ---------------------------------------- */

typedef struct captured {
  int rc;
  char out[8192], err[16384];
} captured_t;

static void slurp(int fd, char *buf, size_t n) {
  lseek(fd, 0, SEEK_SET);
  ssize_t got = read(fd, buf, n - 1);
  buf[got > 0 ? got : 0] = '\0';
  close(fd);
}

/* Runs replay_send with stdout and stderr captured. */
static void run_send(const replay_config_t *cfg, captured_t *c) {
  char out_path[] = "/tmp/test_dlq_replay_out_XXXXXX",
       err_path[] = "/tmp/test_dlq_replay_err_XXXXXX";
  int out = mkstemp(out_path), err = mkstemp(err_path);
  assert_true(out >= 0 && err >= 0);
  unlink(out_path);
  unlink(err_path);
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  dup2(out, 1);
  dup2(err, 2);
  conf_result_t res = {0};
  c->rc = replay_send(cfg, &res, NULL);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  slurp(out, c->out, sizeof(c->out));
  slurp(err, c->err, sizeof(c->err));
}

/* The guard as the command applies it, on one letter per row: refused
 * letters are counted by reason and make the exit code 1 (as other refusals
 * do) and send nothing; a filter that does not select the letter skips it
 * before the guard is asked. */
static void test_max_attempts_replay_file(void **state) {
  (void)state;
  static const struct {
    int attempts, force;
    const char *code; /* --code */
    int sent, refused, skipped;
  } rows[] = {
      {4, 0, NULL, 1, 0, 0},           {5, 0, NULL, 0, 1, 0},     {6, 0, NULL, 0, 1, 0},
      {4, 1, NULL, 1, 0, 0},           {5, 1, NULL, 1, 0, 0},     {6, 1, NULL, 1, 0, 0},
      {5, 0, "schema", 0, 1, 0},       {5, 1, "schema", 1, 0, 0}, {5, 0, "invalid_json", 0, 0, 1},
      {4, 0, "invalid_json", 0, 0, 1},
  };
  char path[] = "/tmp/test_dlq_replay_in_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    json_t *env =
        make_env_attempts(PAYLOAD, strlen(PAYLOAD), "o-1", 3, NULL, "schema", rows[i].attempts);
    assert_int_equal(json_dump_file(env, path, JSON_COMPACT), 0);
    json_decref(env);
    replay_config_t cfg = {.file = path,
                           .partition = -1,
                           .offset = -1,
                           .max_attempts = 5,
                           .force = rows[i].force,
                           .code = (char *)rows[i].code,
                           .timeout_ms = 1000};
    captured_t c;
    run_send(&cfg, &c);
    printf("row %zu: attempts %d force %d code %s -> rc %d\n", i, rows[i].attempts, rows[i].force,
           rows[i].code ? rows[i].code : "-", c.rc);
    assert_int_equal(c.rc, rows[i].refused ? 1 : 0);
    if (rows[i].sent)
      assert_string_equal(c.out, PAYLOAD "\n");
    else
      assert_string_equal(c.out, "");
    char want[128];
    snprintf(want, sizeof(want), "\"refused_attempts\":%d,", rows[i].refused);
    assert_non_null(strstr(c.err, want));
    snprintf(want, sizeof(want), "\"skipped_by_filter\":%d,", rows[i].skipped);
    assert_non_null(strstr(c.err, want));
    if (rows[i].refused) {
      assert_non_null(strstr(c.err, "\"reason\":\"attempts\""));
      assert_non_null(strstr(c.err, "1 at max attempts"));
      assert_non_null(strstr(c.err, "--force replays them"));
    }
    assert_null(strstr(c.err, "01711")); /* diagnostics never carry the payload */
  }
  unlink(path);
}

/* --dry-run counts what would be refused for the cap, letter by letter, and
 * sends nothing. */
static void test_max_attempts_dry_run(void **state) {
  (void)state;
  char path[] = "/tmp/test_dlq_replay_in_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  const int attempts[] = {1, 5, 2, 9, 5};
  for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
    json_t *env =
        make_env_attempts(PAYLOAD, strlen(PAYLOAD), "o-1", 3, NULL, "schema", attempts[i]);
    char *text = json_dumps(env, JSON_COMPACT);
    fprintf(f, "%s\n", text);
    free(text);
    json_decref(env);
  }
  fclose(f);
  replay_config_t cfg = {.file = path, .offset = -1, .max_attempts = 5, .dry_run = 1};
  captured_t c;
  run_send(&cfg, &c);
  assert_int_equal(c.rc, 1);
  assert_non_null(strstr(c.err, "\"selected\":5,\"replayed\":2,"));
  assert_non_null(strstr(c.err, "\"refused_attempts\":3,"));
  assert_non_null(strstr(c.err, "would replay 2 of 5 selected"));
  assert_non_null(strstr(c.err, "3 at max attempts"));
  assert_non_null(strstr(c.err, "3 letter(s) would be refused"));
  assert_non_null(strstr(c.out, ":1 code=schema -> stdout"));
  assert_non_null(strstr(c.out, ":3 code=schema -> stdout"));
  assert_null(strstr(c.out, ":2 code"));
  assert_null(strstr(c.out, "01711")); /* a dry run prints no payload */
  cfg.max_attempts = 10;
  run_send(&cfg, &c);
  assert_int_equal(c.rc, 0);
  assert_non_null(strstr(c.err, "\"refused_attempts\":0,"));
  unlink(path);
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
      cmocka_unit_test(test_max_attempts_extract),
      cmocka_unit_test(test_max_attempts_force_is_narrow),
      cmocka_unit_test(test_max_attempts_list_marker),
      cmocka_unit_test(test_max_attempts_setting),
      cmocka_unit_test(test_max_attempts_replay_file),
      cmocka_unit_test(test_max_attempts_dry_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
