#include "privacy/dlq.h"
#include "core/clock.h"

#include "core/b64.h"
#include "core/hex.h"
#include "core/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DLQ_KEY_LEN 32
#define DLQ_IV_LEN 12
#define DLQ_TAG_LEN 16
#define DLQ_ALG "AES-256-GCM"
#define DLQ_ENVELOPE_VERSION 1
/* EVP_*Update takes int lengths; large payloads are fed in chunks below that. */
#define DLQ_CHUNK ((size_t)1 << 30)

struct dlq_key {
  unsigned char key[DLQ_KEY_LEN];
  char id[16]; /* "k" + 8 hex digits */
};

dlq_key_t *dlq_key_new(const unsigned char key[32]) {
  if (!key)
    return NULL;
  dlq_key_t *k = calloc(1, sizeof(*k)); /* owned by the caller */
  if (!k)
    return NULL;
  memcpy(k->key, key, DLQ_KEY_LEN);
  secret_key_id(k->key, DLQ_KEY_LEN, k->id, sizeof(k->id));
  return k;
}

void dlq_key_destroy(dlq_key_t *key) {
  if (!key)
    return;
  OPENSSL_cleanse(key, sizeof(*key));
  free(key);
}

const char *dlq_key_id(const dlq_key_t *key) {
  return key ? key->id : NULL;
}

dlq_key_t *dlq_key_load(const char *path, char *errstr, size_t errstr_size) {
  unsigned char *buf = NULL;
  size_t len = 0;
  unsigned char raw[DLQ_KEY_LEN];
  dlq_key_t *k = NULL;

  if (secret_read_file(path, &buf, &len, errstr, errstr_size) == -1)
    return NULL;

  /* secret_read_file() drops a trailing "\n" or "\r\n", which is right for a
   * hex key but corrupts a raw key whose last random byte(s) happen to be
   * 0x0a (1 key in 256). The file size on disk tells the two apart: a file
   * of exactly 32 bytes is a raw key whatever its last bytes are. */
  struct stat st;
  if ((len == DLQ_KEY_LEN - 1 || len == DLQ_KEY_LEN - 2) && stat(path, &st) == 0 &&
      st.st_size == DLQ_KEY_LEN) {
    memcpy(raw, buf, len);
    if (len == DLQ_KEY_LEN - 2)
      raw[len++] = '\r';
    raw[len++] = '\n';
    k = dlq_key_new(raw);
    goto done;
  }

  if (len == DLQ_KEY_LEN) {
    memcpy(raw, buf, DLQ_KEY_LEN);
    k = dlq_key_new(raw);
  } else if (len == 2 * DLQ_KEY_LEN) {
    for (size_t i = 0; i < DLQ_KEY_LEN; i++) {
      int hi = hex_value((char)buf[2 * i]), lo = hex_value((char)buf[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        snprintf(errstr, errstr_size,
                 "key file %s: 64 characters but not all hexadecimal digits; expected 32 raw "
                 "bytes or 64 hex characters (one trailing newline allowed)",
                 path);
        goto out;
      }
      raw[i] = (unsigned char)(hi << 4 | lo);
    }
    k = dlq_key_new(raw);
  } else {
    snprintf(errstr, errstr_size,
             "key file %s: %zu bytes; expected 32 raw bytes or 64 hex characters (one "
             "trailing newline allowed)",
             path, len);
    goto out;
  }
done:
  if (!k)
    snprintf(errstr, errstr_size, "out of memory loading key file %s", path);
out:
  OPENSSL_cleanse(raw, sizeof(raw));
  secret_free(buf, len);
  return k;
}

/* Sets key to a new string of b64(data), stealing nothing on failure. */
static int set_b64(json_t *obj, const char *key, const void *data, size_t len) {
  char *s = b64_encode(data, len);
  if (!s)
    return -1;
  int rc = json_object_set_new(obj, key, json_string(s));
  free(s);
  return rc;
}

/* AES-256-GCM of in[0..len) under key with a fresh random IV and aad; returns
 * the "payload_enc" object or NULL. */
static json_t *seal(const dlq_key_t *key, const unsigned char *in, size_t len, const char *aad,
                    char *errstr, size_t errstr_size) {
  unsigned char iv[DLQ_IV_LEN], tag[DLQ_TAG_LEN];
  unsigned char *ct = malloc(len + 1); /* GCM is a stream mode: ciphertext length == len */
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  json_t *enc = NULL;
  int outl;
  if (!ct || !ctx) {
    snprintf(errstr, errstr_size, "out of memory sealing payload");
    goto out;
  }
  /* A random 96-bit IV per envelope: GCM is broken by IV reuse under one key,
   * and a counter would need state shared by every producer of the key. */
  if (RAND_bytes(iv, sizeof(iv)) != 1) {
    snprintf(errstr, errstr_size, "cannot get random bytes for the IV");
    goto out;
  }
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, DLQ_IV_LEN, NULL) != 1 ||
      EVP_EncryptInit_ex(ctx, NULL, NULL, key->key, iv) != 1 ||
      EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) != 1)
    goto crypto_fail;
  for (size_t off = 0; off < len;) {
    size_t n = len - off < DLQ_CHUNK ? len - off : DLQ_CHUNK;
    if (EVP_EncryptUpdate(ctx, ct + off, &outl, in + off, (int)n) != 1)
      goto crypto_fail;
    off += (size_t)outl;
  }
  if (EVP_EncryptFinal_ex(ctx, ct + len, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, DLQ_TAG_LEN, tag) != 1)
    goto crypto_fail;

  enc = json_object();
  if (!enc || json_object_set_new(enc, "alg", json_string(DLQ_ALG)) ||
      json_object_set_new(enc, "key_id", json_string(key->id)) ||
      set_b64(enc, "iv", iv, sizeof(iv)) || set_b64(enc, "tag", tag, sizeof(tag)) ||
      set_b64(enc, "ciphertext", ct, len)) {
    json_decref(enc);
    enc = NULL;
    snprintf(errstr, errstr_size, "out of memory sealing payload");
  }
  goto out;
crypto_fail:
  snprintf(errstr, errstr_size, "AES-256-GCM encryption failed");
out:
  EVP_CIPHER_CTX_free(ctx);
  free(ct);
  return enc;
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *dlq_envelope_new(const void *payload, size_t payload_len, const dlq_error_t *error,
                         const dlq_origin_t *origin, const dlq_key_t *seal_key,
                         const char *producer, int attempts, char *errstr, size_t errstr_size) {
  if (!error || !error->stage || !error->code || !error->message || !origin || !origin->topic ||
      !producer || (!payload && payload_len > 0) || (!origin->key && origin->key_len > 0)) {
    snprintf(errstr, errstr_size,
             "dlq envelope: payload, error (stage, code, message), origin topic and producer "
             "are required");
    return NULL;
  }
  if (attempts < 1) {
    snprintf(errstr, errstr_size, "dlq envelope: attempts must be >= 1, got %d", attempts);
    return NULL;
  }
  const unsigned char *p = payload ? payload : (const unsigned char *)"";
  json_t *env = json_object(), *err = json_object(), *src = json_object();
  char ts[40];
  if (!env || !err || !src)
    goto oom;

  if (json_object_set_new(env, "envelope_version", json_integer(DLQ_ENVELOPE_VERSION)))
    goto oom;
  if (seal_key) {
    json_t *enc = seal(seal_key, p, payload_len, origin->topic, errstr, errstr_size);
    if (!enc || json_object_set_new(env, "payload_enc", enc))
      goto fail;
  } else {
    /* A NUL byte is legal JSON ("\u0000") but truncates C strings in every
     * consumer that reads the field with json_string_value(); such payloads
     * go to base64. json_stringn() rejects invalid UTF-8. */
    json_t *s = memchr(p, '\0', payload_len) ? NULL : json_stringn((const char *)p, payload_len);
    if (s) {
      if (json_object_set_new(env, "payload", s))
        goto oom;
    } else if (set_b64(env, "payload_b64", p, payload_len)) {
      goto oom;
    }
  }

  if (json_object_set_new(err, "stage", json_string(error->stage)) ||
      json_object_set_new(err, "code", json_string(error->code)) ||
      json_object_set_new(err, "message", json_string(error->message)) ||
      json_object_set_new(err, "path", str_or_null(error->path)) ||
      json_object_set(env, "error", err))
    goto oom;

  if (json_object_set_new(src, "topic", json_string(origin->topic)) ||
      json_object_set_new(src, "partition", json_integer(origin->partition)) ||
      json_object_set_new(src, "offset", json_integer(origin->offset)))
    goto oom;
  if (!origin->key) {
    if (json_object_set_new(src, "key", json_null()))
      goto oom;
  } else if (seal_key) {
    /* The key can be personal (a username) when the payload is; a sealed
     * envelope keeps only its SHA-256 so a replay can still be matched to it. */
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const unsigned char *)origin->key, origin->key_len, md);
    hex_encode(md, sizeof(md), hex, sizeof(hex), HEX_LOWER);
    if (json_object_set_new(src, "key_sha256", json_string(hex)))
      goto oom;
  } else {
    json_t *k = memchr(origin->key, '\0', origin->key_len)
                    ? NULL
                    : json_stringn(origin->key, origin->key_len);
    if (k) {
      if (json_object_set_new(src, "key", k))
        goto oom;
    } else if (set_b64(src, "key_b64", origin->key, origin->key_len)) {
      goto oom;
    }
  }
  if (origin->timestamp_ms >= 0) {
    clock_format_ms(origin->timestamp_ms, ts, sizeof(ts));
    if (json_object_set_new(src, "timestamp", json_string(ts)))
      goto oom;
  } else if (json_object_set_new(src, "timestamp", json_null())) {
    goto oom;
  }
  if (json_object_set(env, "source", src))
    goto oom;

  clock_format_ms(clock_wall_ms(), ts, sizeof(ts));
  if (json_object_set_new(env, "attempts", json_integer(attempts)) ||
      json_object_set_new(env, "first_failed_at", json_string(ts)) ||
      json_object_set_new(env, "last_failed_at", json_string(ts)) ||
      json_object_set_new(env, "producer", json_string(producer)))
    goto oom;
  json_decref(err);
  json_decref(src);
  return env;

oom:
  snprintf(errstr, errstr_size, "dlq envelope: out of memory or invalid UTF-8 in a field");
fail:
  json_decref(env);
  json_decref(err);
  json_decref(src);
  return NULL;
}

/* Decodes the base64 string member name of obj; -1 when missing or invalid. */
static int get_b64(const json_t *obj, const char *name, unsigned char **out, size_t *out_len) {
  const json_t *v = json_object_get(obj, name);
  if (!json_is_string(v))
    return -1;
  return b64_decode(json_string_value(v), json_string_length(v), out, out_len);
}

static int unseal(const json_t *enc, const char *topic, const dlq_key_t *key, unsigned char **out,
                  size_t *out_len, char *errstr, size_t errstr_size) {
  const char *alg = json_string_value(json_object_get(enc, "alg"));
  const char *kid = json_string_value(json_object_get(enc, "key_id"));
  unsigned char *iv = NULL, *tag = NULL, *ct = NULL, *pt = NULL;
  size_t iv_len, tag_len, ct_len;
  EVP_CIPHER_CTX *ctx = NULL;
  int rc = -1, outl;

  if (!json_is_object(enc) || !alg || strcmp(alg, DLQ_ALG) != 0 || !kid) {
    snprintf(errstr, errstr_size, "dlq envelope: payload_enc needs alg \"%s\" and key_id", DLQ_ALG);
    return -1;
  }
  if (!key) {
    snprintf(errstr, errstr_size, "dlq envelope: payload sealed with key %.16s, have no key", kid);
    return -1;
  }
  if (strcmp(kid, key->id) != 0) {
    snprintf(errstr, errstr_size, "dlq envelope: payload sealed with key %.16s, have %s", kid,
             key->id);
    return -1;
  }
  if (get_b64(enc, "iv", &iv, &iv_len) || iv_len != DLQ_IV_LEN ||
      get_b64(enc, "tag", &tag, &tag_len) || tag_len != DLQ_TAG_LEN ||
      get_b64(enc, "ciphertext", &ct, &ct_len)) {
    snprintf(errstr, errstr_size,
             "dlq envelope: payload_enc iv (12 bytes), tag (16 bytes) and ciphertext must be "
             "base64");
    goto out;
  }
  pt = malloc(ct_len + 1); /* returned to the caller on success */
  ctx = EVP_CIPHER_CTX_new();
  if (!pt || !ctx) {
    snprintf(errstr, errstr_size, "out of memory opening payload");
    goto out;
  }
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, DLQ_IV_LEN, NULL) != 1 ||
      EVP_DecryptInit_ex(ctx, NULL, NULL, key->key, iv) != 1 ||
      EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)topic, (int)strlen(topic)) != 1) {
    snprintf(errstr, errstr_size, "AES-256-GCM decryption failed");
    goto out;
  }
  for (size_t off = 0; off < ct_len;) {
    size_t n = ct_len - off < DLQ_CHUNK ? ct_len - off : DLQ_CHUNK;
    if (EVP_DecryptUpdate(ctx, pt + off, &outl, ct + off, (int)n) != 1) {
      snprintf(errstr, errstr_size, "AES-256-GCM decryption failed");
      goto out;
    }
    off += (size_t)outl;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, DLQ_TAG_LEN, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, pt + ct_len, &outl) != 1) {
    /* Wrong key bytes with a colliding id, or a changed iv, tag, ciphertext
     * or topic: GCM cannot tell which, and the plaintext must not be used. */
    snprintf(errstr, errstr_size, "dlq envelope: authentication failed (payload or topic altered)");
    goto out;
  }
  *out = pt;
  *out_len = ct_len;
  pt = NULL;
  rc = 0;
out:
  EVP_CIPHER_CTX_free(ctx);
  if (pt) {
    OPENSSL_cleanse(pt, ct_len);
    free(pt);
  }
  free(iv);
  free(tag);
  free(ct);
  return rc;
}

int dlq_envelope_payload(const json_t *envelope, const dlq_key_t *key, unsigned char **out,
                         size_t *out_len, char *errstr, size_t errstr_size) {
  *out = NULL;
  *out_len = 0;
  if (!json_is_object(envelope) ||
      json_integer_value(json_object_get(envelope, "envelope_version")) != DLQ_ENVELOPE_VERSION) {
    snprintf(errstr, errstr_size, "dlq envelope: not an object with envelope_version %d",
             DLQ_ENVELOPE_VERSION);
    return -1;
  }
  const json_t *plain = json_object_get(envelope, "payload");
  const json_t *b64 = json_object_get(envelope, "payload_b64");
  const json_t *enc = json_object_get(envelope, "payload_enc");
  if ((plain != NULL) + (b64 != NULL) + (enc != NULL) != 1) {
    snprintf(errstr, errstr_size,
             "dlq envelope: exactly one of payload, payload_b64, payload_enc is required");
    return -1;
  }
  if (plain) {
    if (!json_is_string(plain)) {
      snprintf(errstr, errstr_size, "dlq envelope: payload must be a string");
      return -1;
    }
    size_t n = json_string_length(plain);
    unsigned char *buf = malloc(n + 1); /* returned to the caller */
    if (!buf) {
      snprintf(errstr, errstr_size, "out of memory copying payload");
      return -1;
    }
    memcpy(buf, json_string_value(plain), n);
    *out = buf;
    *out_len = n;
    return 0;
  }
  if (b64) {
    if (get_b64(envelope, "payload_b64", out, out_len) == -1) {
      snprintf(errstr, errstr_size, "dlq envelope: payload_b64 is not valid base64");
      return -1;
    }
    return 0;
  }
  /* The topic is the AAD: an envelope whose topic was edited fails here. */
  const char *topic =
      json_string_value(json_object_get(json_object_get(envelope, "source"), "topic"));
  const json_t *topic_v = json_object_get(json_object_get(envelope, "source"), "topic");
  if (!topic || strlen(topic) != json_string_length(topic_v)) {
    snprintf(errstr, errstr_size, "dlq envelope: sealed payload needs a string source.topic");
    return -1;
  }
  return unseal(enc, topic, key, out, out_len, errstr, errstr_size);
}
