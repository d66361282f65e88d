/* replay_letter — what dlq-replay decides about one dead letter from its
 * envelope alone: parsing, selection, the refusals (truncated, wrong key,
 * malformed, loop, the attempts cap) and the list line. No Kafka, no I/O. */
#include "replay_letter.h"

#include "core/hex.h"
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"

/* Dead-letter topics are never a replay target: a letter replayed into the
 * DLQ would be read again by the next replay, forever. */
#define REPLAY_DLQ_PREFIX "dead-letters-"

static const char *str_member(const json_t *obj, const char *name) {
  return json_string_value(json_object_get(obj, name));
}

void replay_letter_parse(replay_letter_t *l, const char *where, const void *data, size_t len) {
  json_error_t je;
  memset(l, 0, sizeof(*l));
  l->where = where;
  l->env = json_loadb(len ? data : "", len, 0, &je);
  if (!l->env)
    /* Only the position: jansson's text may quote the bytes, which may be
     * a plaintext payload with personal data. */
    snprintf(l->bad, sizeof(l->bad), "not JSON (error at byte %d)", je.position);
  else if (!json_is_object(l->env)) {
    json_decref(l->env);
    l->env = NULL;
    snprintf(l->bad, sizeof(l->bad), "not a JSON object");
  }
}

void replay_letter_clear(replay_letter_t *l) {
  if (!l)
    return;
  json_decref(l->env);
  l->env = NULL;
}

const char *replay_error_code(const json_t *env) {
  const char *c = str_member(json_object_get(env, "error"), "code");
  return c ? c : "?";
}

int replay_at_max_attempts(const json_t *env, long long max_attempts) {
  const json_t *a = json_object_get(env, "attempts");
  return max_attempts > 0 && json_is_integer(a) && json_integer_value(a) >= max_attempts;
}

int replay_filter_active(const replay_filter_t *filter) {
  return filter &&
         ((filter->code && *filter->code) || (filter->source_topic && *filter->source_topic));
}

int replay_filter_match(const replay_filter_t *filter, const json_t *env) {
  if (!replay_filter_active(filter))
    return 1;
  if (filter->code && *filter->code) {
    const char *code = str_member(json_object_get(env, "error"), "code");
    if (!code || strcmp(code, filter->code) != 0)
      return 0;
  }
  if (filter->source_topic && *filter->source_topic) {
    const char *topic = str_member(json_object_get(env, "source"), "topic");
    if (!topic || strcmp(topic, filter->source_topic) != 0)
      return 0;
  }
  return 1;
}

const char *replay_refusal_name(replay_refusal_t why) {
  switch (why) {
  case REPLAY_REFUSED_TRUNCATED:
    return "truncated";
  case REPLAY_REFUSED_KEY:
    return "wrong_key";
  case REPLAY_REFUSED_MALFORMED:
    return "malformed";
  case REPLAY_REFUSED_LOOP:
    return "loop";
  case REPLAY_REFUSED_ATTEMPTS:
    return "attempts";
  default:
    return "none";
  }
}

void replay_item_free(replay_item_t *item) {
  if (!item)
    return;
  if (item->payload) {
    OPENSSL_cleanse(item->payload, item->payload_len);
    free(item->payload);
  }
  if (item->key) {
    OPENSSL_cleanse(item->key, item->key_len);
    free(item->key);
  }
  free(item->topic);
  free(item->first_failed_at);
  memset(item, 0, sizeof(*item));
}

/* 1 when SHA-256(data) is the lowercase hex string hex. */
static int sha256_matches(const void *data, size_t len, const char *hex) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  char mine[2 * SHA256_DIGEST_LENGTH + 1];
  SHA256(data, len, md);
  hex_encode(md, sizeof(md), mine, sizeof(mine), HEX_LOWER);
  return strcmp(mine, hex) == 0;
}

/* Copies len bytes into a malloc'd buffer with a spare NUL (so an empty key is
 * still a valid pointer). */
static char *memdup0(const void *p, size_t len) {
  char *c = malloc(len + 1);
  if (!c)
    return NULL;
  if (len)
    memcpy(c, p, len);
  c[len] = '\0';
  return c;
}

#define REFUSE(reason, ...)                                                                        \
  do {                                                                                             \
    *why = (reason);                                                                               \
    snprintf(errstr, errstr_size, __VA_ARGS__);                                                    \
    goto fail;                                                                                     \
  } while (0)

/* Fills item->key from the envelope's source (key, key_b64 or key_sha256). */
static int extract_key(const json_t *src, const void *msg_key, size_t msg_key_len, int need_key,
                       replay_item_t *item, replay_refusal_t *why, char *errstr,
                       size_t errstr_size) {
  const json_t *k = json_object_get(src, "key");
  const json_t *k64 = json_object_get(src, "key_b64");
  const char *sha = str_member(src, "key_sha256");
  if (json_is_string(k)) {
    if (!(item->key = memdup0(json_string_value(k), json_string_length(k))))
      REFUSE(REPLAY_REFUSED_MALFORMED, "out of memory");
    item->key_len = json_string_length(k);
  } else if (json_is_string(k64)) {
    unsigned char *raw = NULL;
    size_t n = 0;
    if (b64_decode(json_string_value(k64), json_string_length(k64), &raw, &n) != 0)
      REFUSE(REPLAY_REFUSED_MALFORMED, "source.key_b64 is not valid base64");
    item->key = (char *)raw;
    item->key_len = n;
  } else if (sha) {
    /* Sealed letters keep only the hash; the stages put the original key on
     * the dead letter itself, and the hash proves it is that key. */
    if (msg_key && sha256_matches(msg_key, msg_key_len, sha)) {
      if (!(item->key = memdup0(msg_key, msg_key_len)))
        REFUSE(REPLAY_REFUSED_MALFORMED, "out of memory");
      item->key_len = msg_key_len;
    } else if (need_key) {
      REFUSE(REPLAY_REFUSED_MALFORMED,
             msg_key ? "the dead letter's Kafka key does not match source.key_sha256"
                     : "source has only key_sha256 and the dead letter has no Kafka key: the "
                       "original key is unknown");
    }
  } else if (k && !json_is_null(k)) {
    REFUSE(REPLAY_REFUSED_MALFORMED, "source.key must be a string or null");
  }
  return 0;
fail:
  return -1;
}

int replay_extract(const json_t *env, const dlq_key_t *key, const void *msg_key, size_t msg_key_len,
                   const replay_rules_t *rules, replay_item_t *item, replay_refusal_t *why,
                   char *errstr, size_t errstr_size) {
  memset(item, 0, sizeof(*item));
  *why = REPLAY_REFUSED_NONE;
  const json_t *src = json_object_get(env, "source");
  const char *src_topic = str_member(src, "topic");
  if (!json_is_object(env) || !json_is_object(src) || !src_topic || !*src_topic)
    REFUSE(REPLAY_REFUSED_MALFORMED, "not a dead-letter envelope (no source.topic)");

  /* Checked before decrypting: a cut payload is useless whatever the key. */
  if (json_is_true(json_object_get(env, "payload_truncated"))) {
    long long size = (long long)json_integer_value(json_object_get(env, "payload_size"));
    REFUSE(REPLAY_REFUSED_TRUNCATED,
           "payload was truncated by the stage (original %lld bytes): replaying the prefix "
           "would not be the original message; recover it from the producer",
           size);
  }

  const char *to_topic = rules->to_topic;
  const char *target = to_topic && *to_topic ? to_topic : src_topic;
  if (strncmp(target, REPLAY_DLQ_PREFIX, strlen(REPLAY_DLQ_PREFIX)) == 0)
    REFUSE(REPLAY_REFUSED_LOOP, "target topic %.200s is a dead-letter topic", target);

  const json_t *attempts = json_object_get(env, "attempts");
  const char *first = str_member(env, "first_failed_at");
  if (!json_is_integer(attempts) || json_integer_value(attempts) < 1 || !first)
    REFUSE(REPLAY_REFUSED_MALFORMED, "envelope needs attempts >= 1 and first_failed_at");
  item->attempts = (long long)json_integer_value(attempts);
  /* The loop guard: every failed replay comes back with attempts + 1 (the
   * stages carry the count in the replay headers), so without a cap a letter
   * nobody fixed would circle between the DLQ and its stage forever. */
  if (!rules->force && replay_at_max_attempts(env, rules->max_attempts))
    REFUSE(REPLAY_REFUSED_ATTEMPTS,
           "attempts %lld reached max_attempts %lld: it was replayed and failed again that "
           "often; look at it with show, fix the cause, then replay it with --force",
           item->attempts, rules->max_attempts);

  unsigned char *payload = NULL;
  size_t payload_len = 0;
  if (dlq_envelope_payload(env, key, &payload, &payload_len, errstr, errstr_size) != 0) {
    /* Distinguish "this key cannot open it" from "this is not an envelope":
     * the first is an operator's fix (the right DLQ_KEY_FILE), the second not. */
    *why = json_object_get(env, "payload_enc") && json_object_get(env, "envelope_version")
               ? REPLAY_REFUSED_KEY
               : REPLAY_REFUSED_MALFORMED;
    goto fail;
  }
  item->payload = payload;
  item->payload_len = payload_len;

  if (extract_key(src, msg_key, msg_key_len, rules->need_key, item, why, errstr, errstr_size) != 0)
    goto fail;
  if (!(item->topic = strdup(target)) || !(item->first_failed_at = strdup(first)))
    REFUSE(REPLAY_REFUSED_MALFORMED, "out of memory");
  return 0;
fail:
  replay_item_free(item);
  return -1;
}

/* Appends n bytes of s to the growing line buf (*len used, *cap allocated). */
static int append_raw(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t ncap = (*cap + n + 1) * 2;
    char *nb = realloc(*buf, ncap);
    if (!nb)
      return -1;
    *buf = nb;
    *cap = ncap;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

/* Appends s escaping quotes, backslashes and control characters, so an error
 * message can never break the one-line format. */
static int append_escaped(char **buf, size_t *len, size_t *cap, const char *s) {
  for (; s && *s; s++) {
    char tmp[8];
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      snprintf(tmp, sizeof(tmp), "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      snprintf(tmp, sizeof(tmp), "\\x%02x", c);
    else
      snprintf(tmp, sizeof(tmp), "%c", c);
    if (append_raw(buf, len, cap, tmp, strlen(tmp)) != 0)
      return -1;
  }
  return 0;
}

char *replay_list_line(const json_t *env, const char *where, long long max_attempts) {
  const json_t *err = json_object_get(env, "error");
  const json_t *src = json_object_get(env, "source");
  const char *code = str_member(err, "code");
  const char *path = str_member(err, "path");
  const char *stage = str_member(err, "stage");
  const char *topic = str_member(src, "topic");
  const char *failed = str_member(env, "last_failed_at");
  char nums[128], counts[64];
  snprintf(nums, sizeof(nums), "/%lld@%lld",
           (long long)json_integer_value(json_object_get(src, "partition")),
           (long long)json_integer_value(json_object_get(src, "offset")));
  snprintf(counts, sizeof(counts), "  attempts=%lld",
           (long long)json_integer_value(json_object_get(env, "attempts")));
  /* Every text field is escaped, not only the message: a path names a key of
   * the failed record (outside input), and a letter read from a file may
   * hold anything; a newline there would forge a line of the listing. */
  const char *parts[][2] = {
      {where ? where : "?", "e"},
      {"  source=", "r"},
      {topic ? topic : "?", "e"},
      {nums, "r"},
      {"  code=", "r"},
      {code ? code : "?", "e"},
      {"  stage=", "r"},
      {stage ? stage : "?", "e"},
      {counts, "r"},
      {"  failed_at=", "r"},
      {failed ? failed : "?", "e"},
      {"  path=", "r"},
      {path && *path ? path : "-", "e"},
      {json_object_get(env, "payload_enc") ? "  sealed" : "", "r"},
      {json_is_true(json_object_get(env, "payload_truncated")) ? "  TRUNCATED" : "", "r"},
      {replay_at_max_attempts(env, max_attempts) ? "  MAX_ATTEMPTS" : "", "r"},
      {"  message=\"", "r"},
      {str_member(err, "message"), "e"},
      {"\"", "r"},
  };
  size_t len = 0, cap = 0;
  char *buf = NULL;
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    const char *s = parts[i][0];
    int rc = parts[i][1][0] == 'e' ? append_escaped(&buf, &len, &cap, s)
                                   : append_raw(&buf, &len, &cap, s, strlen(s));
    if (rc != 0) {
      free(buf);
      return NULL;
    }
  }
  return buf;
}

json_t *replay_envelope_meta(const json_t *env, const char *where) {
  if (!json_is_object(env))
    return NULL;
  json_t *meta = json_deep_copy(env);
  if (!meta)
    return NULL;
  json_object_del(meta, "payload");
  json_object_del(meta, "payload_b64");
  json_object_del(meta, "payload_enc");
  if (where && json_object_set_new(meta, "dlq", json_string(where)) != 0) {
    json_decref(meta);
    return NULL;
  }
  return meta;
}
