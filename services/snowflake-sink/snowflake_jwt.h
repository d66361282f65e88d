/* snowflake_jwt — key-pair authentication for the Snowflake SQL API: an
 * RS256 JSON Web Token signed with OpenSSL from a PEM private key (a k8s
 * Secret file), with the claims Snowflake checks:
 *
 *   iss = ACCOUNT.USER.SHA256:<base64 SHA-256 of the public key's DER>
 *   sub = ACCOUNT.USER
 *   iat = now, exp = now + lifetime (at most one hour)
 *
 * ACCOUNT is the account identifier upper-cased, without any region part
 * (everything from the first '.'), USER the user name upper-cased. A token
 * is renewed when less than a quarter of its lifetime (at most 5 minutes)
 * is left, so a request never carries one about to expire.
 *
 * Nothing here logs; errors never hold key material. Not thread-safe.
 */
#ifndef SNOWFLAKE_SINK_JWT_H
#define SNOWFLAKE_SINK_JWT_H

#include <stddef.h>
#include <time.h>

typedef struct sfjwt sfjwt_t;

/* Loads the private key (PEM: PKCS#8 or PKCS#1, RSA; encrypted when
 * passphrase_file names the passphrase, else NULL) and computes the
 * fingerprint. lifetime_s is clamped to 60..3600. Caller owns the result
 * (sfjwt_destroy). NULL with errstr (file unreadable, not an RSA private key,
 * wrong passphrase, empty account or user). */
sfjwt_t *sfjwt_new(const char *account, const char *user, const char *key_file,
                   const char *passphrase_file, long lifetime_s, char *errstr, size_t errstr_size);

/* Frees j; NULL is accepted. */
void sfjwt_destroy(sfjwt_t *j);

/* The token valid at now (renewed when due), owned by j and valid until the
 * next call. NULL with errstr when signing fails. */
const char *sfjwt_token(sfjwt_t *j, time_t now, char *errstr, size_t errstr_size);

/* Forgets the current token, so the next sfjwt_token signs a new one
 * (after the server refused it: clock skew, a rotated key). */
void sfjwt_expire(sfjwt_t *j);

/* "SHA256:<base64>" of the public key, owned by j. */
const char *sfjwt_fingerprint(const sfjwt_t *j);

/* The qualified user "ACCOUNT.USER" (the sub claim), owned by j. */
const char *sfjwt_subject(const sfjwt_t *j);

/* When the current token expires (0 before the first sfjwt_token call). */
time_t sfjwt_expires(const sfjwt_t *j);

#endif
