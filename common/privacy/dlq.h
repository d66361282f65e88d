/* dlq — the dead-letter envelope (docs/design.md, "dlq_envelope").
 *
 *   {"envelope_version":1,
 *    "payload": "<original bytes as a string>"            plaintext, valid UTF-8, no NUL
 *    | "payload_b64": "<base64>"                          plaintext, not UTF-8 or with NUL
 *    | "payload_enc": {"alg":"AES-256-GCM","key_id":"k…","iv":b64,"tag":b64,"ciphertext":b64},
 *    "error": {"stage","code","message","path"},          path: string or null
 *    "source": {"topic","partition","offset","key","timestamp"},
 *    "attempts", "first_failed_at", "last_failed_at", "producer": "<service>/<version>"}
 *
 * source.key is the key as a string (null when the message had none), or
 * "key_b64" instead when it is not UTF-8 or holds a NUL.  In a sealed envelope
 * the key may be as personal as the payload (a username), so it is replaced by
 * "key_sha256": the lowercase hex SHA-256 of the key bytes.  That only lets a
 * holder of the key match it; it is no secret for guessable keys, and the
 * original key of a sealed letter travels as the Kafka key of the dead letter.
 * source.timestamp and the *_failed_at fields are RFC 3339 UTC with
 * milliseconds ("2026-11-21T23:29:08.123Z"); source.timestamp is null when
 * unknown.  base64 is standard with padding (RFC 4648 section 4).
 *
 * Payloads that failed before privacy-shield may hold raw PII: they are sealed
 * with AES-256-GCM under the key of DLQ_KEY_FILE (fresh random 96-bit IV,
 * 128-bit tag, AAD: the bytes of source.topic, so a sealed payload moved to
 * another topic fails authentication), so only dlq-replay, which holds the
 * key, can read them.  The error message and path must never contain payload
 * values; the stage guarantees that.
 */
#ifndef SENSORY_DLQ_H
#define SENSORY_DLQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dlq_key dlq_key_t;

typedef struct dlq_error {
  const char *stage;   /* service name, e.g. "privacy-shield" */
  const char *code;    /* machine-readable: "invalid_json", "schema", "too_large", ... */
  const char *message; /* human-readable reason, no payload values */
  const char *path;    /* JSON pointer of the failing field, or NULL */
} dlq_error_t;

typedef struct dlq_origin {
  const char *topic; /* input topic */
  int32_t partition; /* -1 when unknown (stdio) */
  int64_t offset;    /* -1 when unknown (stdio: the line number is used) */
  const char *key;   /* message key, may be NULL */
  size_t key_len;
  int64_t timestamp_ms; /* message timestamp, -1 when unknown */
} dlq_origin_t;

/* Loads the 32-byte key from a file: 32 raw bytes or 64 hex characters of
 * either case (one trailing newline ignored; a 32-byte file is raw even when
 * its last byte is a newline). Key id = secret_key_id(). Returns a key the
 * caller frees with dlq_key_destroy(), or NULL with an errstr naming the file
 * and the expected formats, never its content. */
dlq_key_t *dlq_key_load(const char *path, char *errstr, size_t errstr_size);

/* Builds a key from 32 raw bytes (tests, tools); the bytes are copied. Caller
 * owns the result; NULL on allocation failure or when key is NULL. */
dlq_key_t *dlq_key_new(const unsigned char key[32]);

/* Wipes and frees a key; NULL is accepted. */
void dlq_key_destroy(dlq_key_t *key);

/* The key's public id, "k" + 8 hex digits, owned by key; NULL for NULL. */
const char *dlq_key_id(const dlq_key_t *key);

/* Builds an envelope. payload is copied (sealed when seal_key is non-NULL);
 * payload may be NULL when payload_len is 0. error (stage, code, message;
 * path may be NULL), origin (topic required; key may be NULL) and producer
 * ("<service>/<version>") are copied, not kept. attempts >= 1.
 * first_failed_at = last_failed_at = now: a caller re-failing an old letter
 * copies first_failed_at from it. Returns a new reference or NULL (errstr) on
 * failure (missing argument, invalid UTF-8 in a text field, no memory). */
json_t *dlq_envelope_new(const void *payload, size_t payload_len, const dlq_error_t *error,
                         const dlq_origin_t *origin, const dlq_key_t *seal_key,
                         const char *producer, int attempts, char *errstr, size_t errstr_size);

/* Recovers the original payload bytes of an envelope (decrypting with key when
 * sealed; key may be NULL for plaintext envelopes). *out is malloc'd (even for
 * an empty payload), caller frees; on failure *out is NULL. Fails with -1 on a
 * different key ("sealed with key kXXXX, have kYYYY"), tampering with the
 * ciphertext, iv, tag or source.topic ("authentication failed") or a malformed
 * envelope. */
int dlq_envelope_payload(const json_t *envelope, const dlq_key_t *key, unsigned char **out,
                         size_t *out_len, char *errstr, size_t errstr_size);

#endif
