/* fuzz_dlq — dead-letter envelopes (privacy/dlq.h) and what dlq-replay reads
 * from one (replay_letter.h): the bytes of a letter from a topic or a file,
 * the payload opened (plain, base64 or AES-256-GCM sealed), the original key,
 * the list line and the metadata `show` prints.
 *
 * Invariants, beyond not crashing:
 *  - the list line is one line (no control character from any field) and
 *    does not depend on the payload: the same envelope with another payload
 *    gives the same line; the metadata holds no payload member;
 *  - a refusal never quotes the payload;
 *  - any bytes with any key survive a round trip: an envelope built plain or
 *    sealed, written as JSON and read back, replays the same payload, key
 *    and topic;
 *  - a sealed envelope tells nothing of the payload or key but their length:
 *    two payloads of one length give envelopes that differ only in their
 *    sealed fields and times.
 */
#include <jansson.h>

#include "fuzz.h"
#include "privacy/dlq.h"
#include "replay_letter.h"
#include "json/jsonf.h"

static dlq_key_t *key;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  unsigned char raw[32];
  for (int i = 0; i < 32; i++)
    raw[i] = (unsigned char)(i * 7 + 1);
  key = dlq_key_new(raw);
  FUZZ_CHECK(key != NULL, "dlq_key_new");
  return 0;
}

/* env with its payload replaced by a different one of the same kind. */
static json_t *other_payload(const json_t *env) {
  json_t *o = json_deep_copy(env);
  FUZZ_CHECK(o != NULL, "json_deep_copy");
  if (json_object_get(o, "payload"))
    json_object_set_new(o, "payload", json_string("other payload"));
  if (json_object_get(o, "payload_b64"))
    json_object_set_new(o, "payload_b64", json_string("b3RoZXI="));
  json_t *enc = json_object_get(o, "payload_enc");
  if (json_is_object(enc))
    json_object_set_new(enc, "ciphertext", json_string("b3RoZXI="));
  else if (enc)
    json_object_set_new(o, "payload_enc", json_string("other"));
  return o;
}

static void check_line(const char *line) {
  FUZZ_CHECK(line != NULL, "replay_list_line");
  for (const unsigned char *p = (const unsigned char *)line; *p; p++)
    FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "a list line holds no control character");
}

static void check_letter(const uint8_t *data, size_t size) {
  replay_letter_t l;
  replay_letter_parse(&l, "fuzz:1", data, size);
  if (!l.env) {
    FUZZ_CHECK(l.bad[0] != '\0', "a letter that is not an envelope says why");
    return;
  }
  char *line = replay_list_line(l.env, "fuzz:1", 3);
  check_line(line);
  json_t *o = other_payload(l.env);
  char *line2 = replay_list_line(o, "fuzz:1", 3);
  FUZZ_CHECK(line2 && strcmp(line, line2) == 0, "the list line does not depend on the payload");
  json_t *meta = replay_envelope_meta(l.env, "fuzz:1");
  if (meta) {
    FUZZ_CHECK(!json_object_get(meta, "payload") && !json_object_get(meta, "payload_b64") &&
                   !json_object_get(meta, "payload_enc"),
               "the metadata holds no payload");
    json_decref(meta);
  }

  /* The payload as this key opens it, to look for it in messages. */
  unsigned char *payload = NULL;
  size_t payload_len = 0;
  char err[512] = "";
  (void)dlq_envelope_payload(l.env, key, &payload, &payload_len, err, sizeof(err));
  replay_rules_t rules = {.max_attempts = 5, .need_key = size & 1};
  replay_item_t item;
  replay_refusal_t why;
  err[0] = '\0';
  if (replay_extract(l.env, key, data, size < 8 ? size : 8, &rules, &item, &why, err,
                     sizeof(err)) == 0) {
    FUZZ_CHECK(item.payload && item.topic && item.first_failed_at && item.attempts >= 1,
               "an item holds what a replay sends");
    FUZZ_CHECK(strncmp(item.topic, "dead-letters-", 13) != 0, "never replayed into a DLQ");
    FUZZ_CHECK(item.payload_len == payload_len && memcmp(item.payload, payload, payload_len) == 0,
               "the item's payload is the envelope's");
    replay_item_free(&item);
  } else {
    FUZZ_CHECK(why != REPLAY_REFUSED_NONE && err[0] != '\0', "a refusal says why");
    if (payload && payload_len >= 6)
      FUZZ_CHECK(!fuzz_contains(err, strlen(err), payload, payload_len),
                 "a refusal never quotes the payload");
  }
  free(payload);
  free(line);
  free(line2);
  json_decref(o);
  replay_letter_clear(&l);
}

/* The envelope as JSON text, without what may differ between two sealings. */
static char *sans_sealed(const json_t *env) {
  json_t *c = json_deep_copy(env);
  json_object_del(c, "payload_enc");
  json_object_del(c, "first_failed_at");
  json_object_del(c, "last_failed_at");
  char *s = jsonf_dumps(c, NULL);
  json_decref(c);
  return s;
}

static void check_round_trip(const uint8_t *data, size_t size) {
  size_t klen = size ? data[0] % 24 : 0;
  if (klen + 1 > size)
    klen = 0;
  const uint8_t *k = size ? data + 1 : NULL, *p = data + 1 + klen;
  size_t plen = size > klen + 1 ? size - klen - 1 : 0;
  if (!size)
    p = data;
  int keyless = !size || (data[0] & 0x80);
  dlq_error_t e = {
      .stage = "fuzz", .code = "schema", .message = "/x: must be string", .path = "/x"};
  dlq_origin_t o = {.topic = "source.market.shopify",
                    .partition = 2,
                    .offset = 7,
                    .key = keyless ? NULL : (const char *)k,
                    .key_len = keyless ? 0 : klen,
                    .timestamp_ms = 1700000000000};
  char err[512];
  for (int sealed = 0; sealed < 2; sealed++) {
    json_t *env =
        dlq_envelope_new(p, plen, &e, &o, sealed ? key : NULL, "fuzz/1", 1, err, sizeof(err));
    FUZZ_CHECK(env != NULL, "dlq_envelope_new takes any bytes");
    size_t len = 0;
    char *text = jsonf_dumps(env, &len);
    FUZZ_CHECK(text != NULL, "an envelope is writable JSON");
    replay_letter_t l;
    replay_letter_parse(&l, "fuzz:rt", text, len);
    FUZZ_CHECK(l.env != NULL, "a written envelope reads back");
    replay_rules_t rules = {.need_key = 1};
    replay_item_t item;
    replay_refusal_t why;
    int rc = replay_extract(l.env, key, o.key, o.key_len, &rules, &item, &why, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "a written envelope replays");
    FUZZ_CHECK(item.payload_len == plen && (plen == 0 || memcmp(item.payload, p, plen) == 0),
               "the payload survives the round trip");
    FUZZ_CHECK(keyless ? item.key == NULL
                       : item.key && item.key_len == klen && memcmp(item.key, k, klen) == 0,
               "the key survives the round trip");
    FUZZ_CHECK(strcmp(item.topic, o.topic) == 0, "the topic survives the round trip");
    replay_item_free(&item);
    replay_letter_clear(&l);

    if (sealed) {
      /* Another payload and key of the same lengths: only the sealed fields differ. */
      uint8_t *p2 = malloc(plen + 1), *k2 = malloc(klen + 1);
      FUZZ_CHECK(p2 && k2, "malloc");
      for (size_t i = 0; i < plen; i++)
        p2[i] = (uint8_t)(p[i] ^ 0x5a);
      for (size_t i = 0; i < klen; i++)
        k2[i] = (uint8_t)(k[i] ^ 0x5a);
      dlq_origin_t o2 = o;
      o2.key = keyless ? NULL : (const char *)k2;
      json_t *env2 = dlq_envelope_new(p2, plen, &e, &o2, key, "fuzz/1", 1, err, sizeof(err));
      FUZZ_CHECK(env2 != NULL, "dlq_envelope_new");
      /* The key's hash differs by design (it matches the key); nothing else may. */
      json_object_del(json_object_get(env, "source"), "key_sha256");
      json_object_del(json_object_get(env2, "source"), "key_sha256");
      char *a = sans_sealed(env), *b = sans_sealed(env2);
      FUZZ_CHECK(a && b && strcmp(a, b) == 0, "a sealed envelope shows nothing of its payload");
      const char *ct1 =
          json_string_value(json_object_get(json_object_get(env, "payload_enc"), "ciphertext"));
      const char *ct2 =
          json_string_value(json_object_get(json_object_get(env2, "payload_enc"), "ciphertext"));
      FUZZ_CHECK(ct1 && ct2 && strlen(ct1) == strlen(ct2), "ciphertexts have the payload's length");
      free(a);
      free(b);
      free(p2);
      free(k2);
      json_decref(env2);
    }
    free(text);
    json_decref(env);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_letter(data, size);
  check_round_trip(data, size);
  return 0;
}
