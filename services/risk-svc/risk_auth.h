/* risk_auth — API keys of risk-svc: the keys file (a k8s Secret), constant-
 * time lookup of a presented key, scopes, and a per-key rate limit.
 *
 * Keys file (RISK_API_KEYS_FILE): one key per line,
 *
 *   NAME SCOPES SHA256HEX
 *
 * NAME [A-Za-z0-9_.-]{1,63} (appears in logs and metrics, so never a
 * person), SCOPES "score", "admin" or "score,admin", SHA256HEX the SHA-256 of
 * the key (64 hex digits) — the file never holds a key itself. Blank lines and
 * lines starting with '#' are ignored. Errors name the line, never its hex.
 *
 * A presented key is hashed once and compared with every entry's digest in
 * constant time (no early exit, no branch on the bytes), so response timing
 * tells nothing about how close a guess was or which entry it matched.
 *
 * Threads: lookups are read-only; risk_auth_admit() takes a per-key lock.
 * Nothing here logs.
 */
#ifndef RISK_AUTH_H
#define RISK_AUTH_H

#include <stddef.h>
#include <stdint.h>

enum { RISK_SCOPE_SCORE = 1, RISK_SCOPE_ADMIN = 2 };

#define RISK_KEY_NAME_MAX 64
#define RISK_KEYS_MAX 1024

typedef struct risk_keys risk_keys_t;

/* Parses keys file text (len bytes); origin names it in errors. rate_per_s
 * and burst set every key's token bucket (rate 0: unlimited; burst < 1 is
 * taken as rate). Returns a new set (risk_keys_destroy) or NULL with errstr
 * ("FILE line 3: scopes must be score, admin or score,admin"). An empty set
 * is an error: a service nobody can call is a misconfiguration. */
risk_keys_t *risk_keys_parse(const char *text, size_t len, const char *origin, double rate_per_s,
                             double burst, char *errstr, size_t errstr_size);

/* Same from the file at path (at most 1 MiB). */
risk_keys_t *risk_keys_load(const char *path, double rate_per_s, double burst, char *errstr,
                            size_t errstr_size);

/* Frees; NULL is accepted. */
void risk_keys_destroy(risk_keys_t *k);

size_t risk_keys_count(const risk_keys_t *k);

/* The entry whose digest is SHA-256(key[0..len)), or -1 (also for len 0 or
 * over 4096 bytes). Every entry is compared, in constant time. */
int risk_keys_find(const risk_keys_t *k, const char *key, size_t len);

/* Name and scopes (RISK_SCOPE_* bits) of entry i (0 <= i < count). */
const char *risk_keys_name(const risk_keys_t *k, int i);
unsigned risk_keys_scopes(const risk_keys_t *k, int i);

/* Takes one token from entry i's bucket at time now_us (monotonic
 * microseconds). Returns 1 when admitted; 0 when over the limit, with
 * *retry_after_s (may be NULL) the whole seconds until a token is back
 * (at least 1). */
int risk_keys_admit(risk_keys_t *k, int i, int64_t now_us, int *retry_after_s);

/* 1 when a and b (n bytes each) are equal, else 0; time depends on n only. */
int risk_digest_equal(const unsigned char *a, const unsigned char *b, size_t n);

/* The key a request presents: the X-API-Key header when present (may be
 * NULL), else the token of "Authorization: Bearer TOKEN" (scheme case-
 * insensitive; may be NULL). Sets *key and *len and returns 1, or returns 0 when
 * neither carries a non-empty key. */
int risk_auth_presented(const char *x_api_key, const char *authorization, const char **key,
                        size_t *len);

#endif
