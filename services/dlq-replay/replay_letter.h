/* replay_letter — pure functions over dead-letter envelopes (privacy/dlq.h), used by
 * every dlq-replay command and unit-tested without Kafka: parsing the bytes of
 * one letter, which letters a filter selects, what a replay would send
 * (payload, key, target topic, headers) or why it is refused (including the
 * loop guard on "attempts"), and the one-line summary `list` prints — never
 * the payload.
 */
#ifndef DLQ_REPLAY_LETTER_H
#define DLQ_REPLAY_LETTER_H

#include <jansson.h>
#include <stddef.h>

#include "privacy/dlq.h"

/* One dead letter as read from a topic or a file. */
typedef struct replay_letter {
  const char *where; /* "dead-letters-market/0@12" or "dlq.jsonl:3"; borrowed */
  json_t *env;       /* the envelope, owned; NULL when the bytes are not a JSON object */
  char bad[128];     /* why env is NULL; never quotes the bytes */
} replay_letter_t;

/* Parses len bytes of data (may be NULL when len is 0) into l, which borrows
 * where. Never fails: bytes that are not a JSON object leave l->env NULL and
 * say why in l->bad (a byte position only: the bytes may be a plaintext
 * payload with personal data). Release with replay_letter_clear(). */
void replay_letter_parse(replay_letter_t *l, const char *where, const void *data, size_t len);

/* Drops l->env; NULL and cleared letters are accepted. */
void replay_letter_clear(replay_letter_t *l);

/* error.code of env for messages; "?" when there is none (env may be NULL).
 * Points into env or static storage. */
const char *replay_error_code(const json_t *env);

/* Selection by --code and --source-topic; a NULL or empty field matches all. */
typedef struct replay_filter {
  const char *code;
  const char *source_topic;
} replay_filter_t;

/* Why a letter cannot be replayed. */
typedef enum {
  REPLAY_REFUSED_NONE = 0,
  REPLAY_REFUSED_TRUNCATED, /* the stage kept only a prefix of an oversized input */
  REPLAY_REFUSED_KEY,       /* sealed with another key, or authentication failed */
  REPLAY_REFUSED_MALFORMED, /* not a dlq envelope, or the original key is unknown */
  REPLAY_REFUSED_LOOP,      /* the target would be a dead-letter topic */
  REPLAY_REFUSED_ATTEMPTS,  /* attempts reached max_attempts and force is off */
} replay_refusal_t;

/* What a run allows beyond the letter itself. */
typedef struct replay_rules {
  const char *to_topic;   /* target override; NULL or "": each letter's source.topic */
  long long max_attempts; /* the loop guard: attempts >= this is refused; <= 0: no cap */
  int force;              /* replay letters at max_attempts anyway (only that refusal) */
  int need_key;           /* 1 over Kafka: the original key must be known */
} replay_rules_t;

/* What a replay sends. Every pointer is malloc'd and owned by the item. */
typedef struct replay_item {
  unsigned char *payload; /* original bytes; payload_len may be 0 */
  size_t payload_len;
  char *key; /* original message key, NULL when the message had none */
  size_t key_len;
  char *topic;           /* the source topic, or the override */
  long long attempts;    /* envelope "attempts" (>= 1) */
  char *first_failed_at; /* envelope "first_failed_at" */
} replay_item_t;

/* Header names a replayed message carries, so a stage that fails it again can
 * carry the count and the first failure time forward. */
#define REPLAY_HEADER_ATTEMPTS "sensory-dlq-attempts"
#define REPLAY_HEADER_FIRST_FAILED_AT "sensory-dlq-first-failed-at"

/* Returns 1 when env is selected by filter (NULL filter: everything), else 0.
 * A malformed envelope matches only an empty filter. */
int replay_filter_match(const replay_filter_t *filter, const json_t *env);

/* Returns 1 when filter selects by content (code or source topic), else 0. */
int replay_filter_active(const replay_filter_t *filter);

/* Returns 1 when env's "attempts" (the failures so far) reached max_attempts
 * (> 0), else 0: the letter has been replayed and failed again that often,
 * so replaying it once more without a fix would only loop. */
int replay_at_max_attempts(const json_t *env, long long max_attempts);

/* Fills item with what replaying env under rules means: the payload
 * (decrypted with key when sealed; key may be NULL for plaintext letters),
 * the original key and the target topic (rules->to_topic when non-NULL and
 * non-empty, else source.topic).
 *
 * The original key comes from source.key or source.key_b64. A sealed letter
 * keeps only source.key_sha256; its original key is the Kafka key of the dead
 * letter itself (msg_key, msg_key_len; msg_key may be NULL when unknown), and
 * is used only when its SHA-256 matches. rules->need_key = 0 (replay to a
 * file, where no key is written) skips that requirement.
 *
 * Returns 0, or -1 with *why and errstr saying why the letter must not be
 * replayed, checked in this order: not an envelope; truncated payloads
 * (payload_truncated: true) are never replayed as-is; a target topic named
 * dead-letters-*; attempts >= rules->max_attempts unless rules->force (checked
 * before decrypting: such a letter needs no key to be refused); a wrong DLQ
 * key or a failed authentication; a missing original key. On -1, item holds
 * nothing to free. item is overwritten; release it with replay_item_free(). */
int replay_extract(const json_t *env, const dlq_key_t *key, const void *msg_key, size_t msg_key_len,
                   const replay_rules_t *rules, replay_item_t *item, replay_refusal_t *why,
                   char *errstr, size_t errstr_size);

/* Frees what replay_extract() put into item (wiping the payload, which may hold
 * personal data) and zeroes it. NULL and zeroed items are accepted. */
void replay_item_free(replay_item_t *item);

/* Short name of a refusal for logs and summaries: "truncated", "wrong_key",
 * "malformed", "loop", "attempts", "none". Static storage. */
const char *replay_refusal_name(replay_refusal_t why);

/* One line describing env for `list` (no trailing newline): where (e.g.
 * "dead-letters-market/0@12" or "dlq.jsonl:3"), the source
 * topic/partition@offset, code, attempts, failed_at, path, the markers
 * "sealed", "TRUNCATED" and "MAX_ATTEMPTS" (attempts reached max_attempts,
 * when > 0) and the error message, which is quoted with control characters
 * escaped so the line stays one line. Never the payload or the key. Returns a
 * malloc'd string the caller frees, or NULL on allocation failure. */
char *replay_list_line(const json_t *env, const char *where, long long max_attempts);

/* A copy of env without the payload, payload_b64 and payload_enc members, with
 * "dlq": where added; for `list --json` and the metadata `show` prints.
 * Returns a new reference or NULL (no memory, or env is not an object). */
json_t *replay_envelope_meta(const json_t *env, const char *where);

#endif
