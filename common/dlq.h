/* dlq — the dead-letter envelope (DESIGN.md "dlq_envelope").
 *
 *   {"envelope_version":1,
 *    "payload": "<original bytes as a string>"            plaintext, valid UTF-8
 *    | "payload_b64": "<base64>"                          plaintext, not UTF-8
 *    | "payload_enc": {"alg":"AES-256-GCM","key_id":"k…","iv":b64,"tag":b64,"ciphertext":b64},
 *    "error": {"stage","code","message","path"},
 *    "source": {"topic","partition","offset","key","timestamp"},
 *    "attempts", "first_failed_at", "last_failed_at", "producer": "<service>/<version>"}
 *
 * Payloads that failed before privacy-shield may hold raw PII: they are sealed
 * with AES-256-GCM under the key of DLQ_KEY_FILE (AAD: the source topic), so
 * only dlq-replay, which holds the key, can read them.  The error message and
 * path must never contain payload values; the stage guarantees that.
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
  const char *topic;     /* input topic */
  int32_t partition;     /* -1 when unknown (stdio) */
  int64_t offset;        /* -1 when unknown (stdio: the line number is used) */
  const char *key;       /* message key, may be NULL */
  size_t key_len;
  int64_t timestamp_ms;  /* message timestamp, -1 when unknown */
} dlq_origin_t;

/* Loads the 32-byte key from a file: 32 raw bytes or 64 hex characters (one
 * trailing newline ignored). Key id = secret_key_id(). NULL + errstr on error. */
dlq_key_t *dlq_key_load(const char *path, char *errstr, size_t errstr_size);

/* Builds a key from 32 raw bytes (tests, tools). */
dlq_key_t *dlq_key_new(const unsigned char key[32]);

void dlq_key_destroy(dlq_key_t *key);

const char *dlq_key_id(const dlq_key_t *key);

/* Builds an envelope. payload is copied (sealed when seal_key is non-NULL).
 * producer is "<service>/<version>". attempts >= 1. Returns a new reference or
 * NULL (errstr) on failure. */
json_t *dlq_envelope_new(const void *payload, size_t payload_len, const dlq_error_t *error,
                         const dlq_origin_t *origin, const dlq_key_t *seal_key,
                         const char *producer, int attempts, char *errstr, size_t errstr_size);

/* Recovers the original payload bytes of an envelope (decrypting with key when
 * sealed; key may be NULL for plaintext envelopes). *out is malloc'd, caller
 * frees. Fails on a wrong key (authentication), tampering or a malformed envelope. */
int dlq_envelope_payload(const json_t *envelope, const dlq_key_t *key, unsigned char **out,
                         size_t *out_len, char *errstr, size_t errstr_size);

#endif
