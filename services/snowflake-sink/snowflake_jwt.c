/* snowflake_jwt — RS256 key-pair tokens for the Snowflake SQL API (see
 * snowflake_jwt.h). Owns the private key and the current token. */
#include "snowflake_jwt.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/secret.h"

struct sfjwt {
  EVP_PKEY *key;
  char fingerprint[64]; /* "SHA256:" + 44 base64 characters */
  char subject[512];    /* ACCOUNT.USER */
  long lifetime_s;
  time_t iat, exp;
  char *token;
};

/* Reads a PEM key with an optional passphrase; the PEM text itself is a
 * secret, so its buffer is wiped. */
static EVP_PKEY *load_key(const char *key_file, const char *passphrase_file, char *errstr,
                          size_t errstr_size) {
  unsigned char *pem = NULL, *pass = NULL;
  size_t pem_len = 0, pass_len = 0;
  EVP_PKEY *key = NULL;
  if (secret_read_file(key_file, &pem, &pem_len, errstr, errstr_size) != 0)
    return NULL;
  if (passphrase_file && *passphrase_file &&
      secret_read_file(passphrase_file, &pass, &pass_len, errstr, errstr_size) != 0) {
    secret_free(pem, pem_len);
    return NULL;
  }
  char *pw = NULL;
  if (pass) {
    pw = calloc(1, pass_len + 1); /* owned here, wiped below */
    if (pw)
      memcpy(pw, pass, pass_len);
  }
  BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
  if (bio)
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, pw ? pw : (char *)"");
  BIO_free(bio);
  if (!key)
    snprintf(errstr, errstr_size, "%s is not a PEM private key%s", key_file,
             pass ? " (or the passphrase is wrong)" : " (encrypted keys need a passphrase file)");
  else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    snprintf(errstr, errstr_size, "%s: Snowflake key-pair authentication needs an RSA key",
             key_file);
    EVP_PKEY_free(key);
    key = NULL;
  }
  if (pw) {
    OPENSSL_cleanse(pw, pass_len + 1);
    free(pw);
  }
  secret_free(pass, pass_len);
  secret_free(pem, pem_len);
  return key;
}

/* "SHA256:" + base64(SHA-256(DER of the SubjectPublicKeyInfo)): what
 * Snowflake stores as RSA_PUBLIC_KEY_FP for the user. */
static int fingerprint(EVP_PKEY *key, char *out, size_t out_size) {
  unsigned char *der = NULL;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0)
    return -1;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, (size_t)len, md);
  OPENSSL_free(der);
  char *b = b64_encode(md, sizeof(md));
  if (!b)
    return -1;
  int n = snprintf(out, out_size, "SHA256:%s", b);
  free(b);
  return n > 0 && (size_t)n < out_size ? 0 : -1;
}

/* ACCOUNT: upper case, region part (from the first '.') dropped. Both go
 * into the JSON claims verbatim, so quotes, backslashes and control
 * characters are refused. */
static int qualified_user(const char *account, const char *user, char *out, size_t out_size) {
  size_t o = 0;
  for (const char *c = user; *c; c++)
    if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
      return -1;
  for (const char *c = account; *c && *c != '.'; c++) {
    if (o + 1 >= out_size || *c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
      return -1;
    out[o++] = (char)toupper((unsigned char)*c);
  }
  if (o == 0 || !*user || o + 1 >= out_size)
    return -1;
  out[o++] = '.';
  for (const char *c = user; *c; c++) {
    if (o + 1 >= out_size)
      return -1;
    out[o++] = (char)toupper((unsigned char)*c);
  }
  out[o] = '\0';
  return 0;
}

sfjwt_t *sfjwt_new(const char *account, const char *user, const char *key_file,
                   const char *passphrase_file, long lifetime_s, char *errstr, size_t errstr_size) {
  sfjwt_t *j = calloc(1, sizeof(*j)); /* owned by the caller */
  if (!j) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if (!account || !user || qualified_user(account, user, j->subject, sizeof(j->subject)) != 0) {
    snprintf(errstr, errstr_size, "snowflake.account and snowflake.user must be set (and short)");
    sfjwt_destroy(j);
    return NULL;
  }
  j->lifetime_s = lifetime_s < 60 ? 60 : lifetime_s > 3600 ? 3600 : lifetime_s;
  if (!(j->key = load_key(key_file, passphrase_file, errstr, errstr_size))) {
    sfjwt_destroy(j);
    return NULL;
  }
  if (fingerprint(j->key, j->fingerprint, sizeof(j->fingerprint)) != 0) {
    snprintf(errstr, errstr_size, "cannot compute the public key fingerprint");
    sfjwt_destroy(j);
    return NULL;
  }
  return j;
}

void sfjwt_destroy(sfjwt_t *j) {
  if (!j)
    return;
  EVP_PKEY_free(j->key);
  free(j->token);
  free(j);
}

/* Signs header.payload with RS256 and returns the whole token. */
static char *sign(EVP_PKEY *key, const char *signing_input) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  char *token = NULL;
  if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
      EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)signing_input,
                     strlen(signing_input)) == 1 &&
      (sig = malloc(sig_len)) != NULL &&
      EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)signing_input,
                     strlen(signing_input)) == 1) {
    char *s64 = b64url_encode(sig, sig_len);
    size_t n = strlen(signing_input) + 1 + (s64 ? strlen(s64) : 0) + 1;
    if (s64 && (token = malloc(n)) != NULL) /* owned by the caller */
      snprintf(token, n, "%s.%s", signing_input, s64);
    free(s64);
  }
  free(sig);
  EVP_MD_CTX_free(ctx);
  return token;
}

const char *sfjwt_token(sfjwt_t *j, time_t now, char *errstr, size_t errstr_size) {
  long margin = j->lifetime_s / 4 < 300 ? j->lifetime_s / 4 : 300;
  if (j->token && now >= j->iat && now < j->exp - margin)
    return j->token;
  char payload[1024];
  int n = snprintf(payload, sizeof(payload),
                   "{\"iss\":\"%s.%s\",\"sub\":\"%s\",\"iat\":%lld,\"exp\":%lld}", j->subject,
                   j->fingerprint, j->subject, (long long)now, (long long)(now + j->lifetime_s));
  static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
  char *h64 = b64url_encode(header, sizeof(header) - 1);
  char *p64 = n > 0 && (size_t)n < sizeof(payload) ? b64url_encode(payload, (size_t)n) : NULL;
  char *input = NULL, *token = NULL;
  if (h64 && p64) {
    size_t len = strlen(h64) + strlen(p64) + 2;
    if ((input = malloc(len)) != NULL) {
      snprintf(input, len, "%s.%s", h64, p64);
      token = sign(j->key, input);
    }
  }
  free(h64);
  free(p64);
  free(input);
  if (!token) {
    snprintf(errstr, errstr_size, "cannot sign the Snowflake JWT");
    return NULL;
  }
  free(j->token);
  j->token = token;
  j->iat = now;
  j->exp = now + j->lifetime_s;
  return j->token;
}

void sfjwt_expire(sfjwt_t *j) {
  free(j->token);
  j->token = NULL;
}

const char *sfjwt_fingerprint(const sfjwt_t *j) {
  return j->fingerprint;
}

const char *sfjwt_subject(const sfjwt_t *j) {
  return j->subject;
}

time_t sfjwt_expires(const sfjwt_t *j) {
  return j->exp;
}
