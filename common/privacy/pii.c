/* pii — keyed pseudonyms and the free-text scrubber. Phone and email grammar
 * live in pii_phone.c and pii_email.c.
 *
 * HMAC-SHA256 (RFC 2104) is computed from two SHA-256 states that have
 * already absorbed key^ipad and key^opad. Each pseudonym copies them onto the
 * stack by assignment and, since a normalised identifier ("phone:+880...")
 * fits in one block, pads that block itself and runs OpenSSL's compression
 * function once for the inner and once for the outer hash: no allocation, no
 * EVP dispatch, no context duplication (about 1,700 instructions per
 * pseudonym besides the two compressions, before; about 200 now). Longer
 * messages go through SHA256_Update/SHA256_Final on the same copied state.
 * That is OpenSSL's low-level SHA-256 API, deprecated in 3.0 but present in
 * every 3.x: it bypasses providers, so a FIPS-provider-only deployment would
 * have to go back to EVP_MAC. The hasher is read-only after creation, so any
 * number of threads may share it without locking; the keyed states copied onto
 * the stack are overwritten by the compression that consumes them.
 *
 * Tokens and identifier hashes come from the same MAC over the same input
 * ("phone:+8801711234567", "email:foo.bar@example.com"): a PHONE_/EMAIL_
 * token is the first 16 hex digits of the identifier hash of that person, so
 * an analyst can join a post mentioning a number to the order carrying it by
 * prefix. 64 bits is plenty to keep distinct people apart in a post; the full
 * 256 bits are kept for identifier fields, which are join keys.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init/Update/Final/Transform, see above */
#include "privacy/pii.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/secret.h"
#include "privacy/pii_internal.h"

#define KEY_ID_MAX 16

#define SHA256_BLOCK 64

/* The longest message that still fits in one padded block after the ipad
 * block: 64 bytes minus the 0x80 byte and the 8-byte length. */
#define ONE_BLOCK_MAX 55

struct pii_hasher {
  SHA256_CTX inner; /* SHA-256 after key^ipad; read-only after creation */
  SHA256_CTX outer; /* SHA-256 after key^opad; read-only after creation */
  char key_id[KEY_ID_MAX + 1];
  size_t key_id_len;
};

static void set_err(char *errstr, size_t errstr_size, const char *msg) {
  if (errstr && errstr_size)
    snprintf(errstr, errstr_size, "%s", msg);
}

static int key_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > KEY_ID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

void pii_hasher_destroy(pii_hasher_t *h) {
  if (!h)
    return;
  OPENSSL_cleanse(h, sizeof(*h)); /* the keyed states are as good as the key */
  free(h);
}

pii_hasher_t *pii_hasher_new(const unsigned char *key, size_t key_len, const char *key_id,
                             char *errstr, size_t errstr_size) {
  if (!key || key_len < PII_KEY_MIN) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "HMAC key is too short: %zu bytes, need at least %d",
               key ? key_len : 0, PII_KEY_MIN);
    return NULL;
  }
  if (key_id && !key_id_valid(key_id)) {
    set_err(errstr, errstr_size, "invalid key id: want 1-16 characters of [A-Za-z0-9_-]");
    return NULL;
  }
  pii_hasher_t *h = calloc(1, sizeof(*h)); /* owned by the caller on success */
  if (!h) {
    set_err(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if (key_id)
    snprintf(h->key_id, sizeof(h->key_id), "%s", key_id);
  else
    secret_key_id(key, key_len, h->key_id, sizeof(h->key_id));
  h->key_id_len = strlen(h->key_id);

  /* RFC 2104: a key longer than the block is hashed first; then zero-padded. */
  unsigned char k0[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK];
  int ok = 1;
  if (key_len > SHA256_BLOCK) {
    SHA256_CTX kc;
    ok = SHA256_Init(&kc) && SHA256_Update(&kc, key, key_len) && SHA256_Final(k0, &kc);
    OPENSSL_cleanse(&kc, sizeof(kc));
  } else {
    memcpy(k0, key, key_len);
  }
  for (int i = 0; ok && i < SHA256_BLOCK; i++)
    pad[i] = k0[i] ^ 0x36;
  ok = ok && SHA256_Init(&h->inner) && SHA256_Update(&h->inner, pad, sizeof(pad));
  for (int i = 0; ok && i < SHA256_BLOCK; i++)
    pad[i] = k0[i] ^ 0x5c;
  ok = ok && SHA256_Init(&h->outer) && SHA256_Update(&h->outer, pad, sizeof(pad));
  OPENSSL_cleanse(k0, sizeof(k0));
  OPENSSL_cleanse(pad, sizeof(pad));
  if (!ok) {
    set_err(errstr, errstr_size, "cannot initialise HMAC-SHA256 (OpenSSL)");
    pii_hasher_destroy(h);
    return NULL;
  }
  return h;
}

pii_hasher_t *pii_hasher_from_file(const char *path, const char *key_id, char *errstr,
                                   size_t errstr_size) {
  unsigned char *key = NULL;
  size_t key_len = 0;
  char err[256];
  /* secret_read_file drops one trailing "\n" / "\r\n" and refuses a missing,
   * unreadable or empty file with a message naming the file. */
  if (secret_read_file(path, &key, &key_len, err, sizeof(err)) != 0) {
    set_err(errstr, errstr_size, err);
    return NULL;
  }
  if (key_len < PII_KEY_MIN) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "key file %s is too short: %zu bytes, need at least %d", path,
               key_len, PII_KEY_MIN);
    secret_free(key, key_len);
    return NULL;
  }
  pii_hasher_t *h = pii_hasher_new(key, key_len, key_id, err, sizeof(err));
  secret_free(key, key_len);
  if (!h && errstr && errstr_size)
    snprintf(errstr, errstr_size, "key file %s: %s", path, err);
  return h;
}

const char *pii_hasher_key_id(const pii_hasher_t *h) {
  return h ? h->key_id : NULL;
}

/* ---- MAC ----------------------------------------------------------------- */

/* A MAC in progress, on the caller's stack: a copy of the inner state and,
 * while the message still fits in one block, the block being filled. */
typedef struct mac {
  SHA256_CTX md;
  unsigned char blk[SHA256_BLOCK];
  size_t n;      /* message bytes in blk */
  int streaming; /* the message outgrew one block: it went to SHA256_Update */
} mac_t;

static int mac_update(mac_t *c, const void *p, size_t n) {
  if (!c->streaming) {
    if (n <= ONE_BLOCK_MAX && c->n + n <= ONE_BLOCK_MAX) {
      memcpy(c->blk + c->n, p, n);
      c->n += n;
      return 1;
    }
    c->streaming = 1;
    if (!SHA256_Update(&c->md, c->blk, c->n))
      return 0;
  }
  return n == 0 || SHA256_Update(&c->md, p, n);
}

static void mac_begin(mac_t *c, const pii_hasher_t *h, const char *kind, size_t kind_len) {
  c->md = h->inner;
  c->n = 0;
  c->streaming = 0;
  mac_update(c, kind, kind_len); /* kinds are short: they stay in the block */
  c->blk[c->n++] = ':';
}

/* Pads the message in blk (n bytes, after a 64-byte key block) and compresses it. */
static void compress_last(SHA256_CTX *md, unsigned char *blk, size_t n) {
  uint64_t bits = (uint64_t)(SHA256_BLOCK + n) * 8;
  blk[n] = 0x80;
  memset(blk + n + 1, 0, SHA256_BLOCK - 8 - n - 1);
  for (int i = 0; i < 8; i++)
    blk[SHA256_BLOCK - 1 - i] = (unsigned char)(bits >> (8 * i));
  SHA256_Transform(md, blk);
}

static void put_be32(unsigned char *p, uint32_t w) {
  w = __builtin_bswap32(w);
  memcpy(p, &w, 4);
}

/* Writes w as 8 lowercase hex digits: its nibbles spread one per byte, then
 * turned into digits all at once (a per-digit table loop cost ~90
 * instructions a word). */
static void hex8(uint32_t w, char *out) {
  uint64_t x = w;
  x = (x | x << 16) & UINT64_C(0x0000FFFF0000FFFF);
  x = (x | x << 8) & UINT64_C(0x00FF00FF00FF00FF);
  x = (x | x << 4) & UINT64_C(0x0F0F0F0F0F0F0F0F); /* byte k: nibble k */
  uint64_t letters = ((x + UINT64_C(0x0606060606060606)) >> 4) & UINT64_C(0x0101010101010101);
  x += UINT64_C(0x3030303030303030) + letters * ('a' - '0' - 10);
  x = __builtin_bswap64(x); /* the most significant nibble first */
  memcpy(out, &x, 8);
}

/* Finishes c, writing nhex (<= 64) lowercase hex digits + NUL. */
static int mac_finish_hex(mac_t *c, const pii_hasher_t *h, char *hex, size_t nhex) {
  static const char digits[] = "0123456789abcdef";
  /* HMAC = H(key^opad || H(key^ipad || message)) */
  if (c->streaming) {
    if (!SHA256_Final(c->blk, &c->md))
      return -1;
  } else {
    compress_last(&c->md, c->blk, c->n);
    for (int i = 0; i < 8; i++)
      put_be32(c->blk + 4 * i, c->md.h[i]);
  }
  SHA256_CTX outer = h->outer;
  compress_last(&outer, c->blk, 32);
  for (size_t i = 0; i < nhex / 8; i++)
    hex8(outer.h[i], hex + 8 * i);
  for (size_t i = nhex / 8 * 8; i < nhex; i++)
    hex[i] = digits[(outer.h[i / 8] >> (28 - 4 * (i % 8))) & 0xF];
  hex[nhex] = '\0';
  return 0;
}

static int mac_hex(const pii_hasher_t *h, const char *kind, const char *v, size_t n, char *hex,
                   size_t nhex) {
  mac_t c;
  mac_begin(&c, h, kind, strlen(kind));
  if (!mac_update(&c, v, n))
    return -1;
  return mac_finish_hex(&c, h, hex, nhex);
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Usernames: trimmed, ASCII lower-cased (non-ASCII bytes unchanged: platform
 * handles are ASCII in practice), fed to the MAC in chunks so any length works
 * without allocating. */
static int mac_username(mac_t *c, const char *v, size_t n) {
  char chunk[256];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = v[i];
    chunk[k++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    if (k == sizeof(chunk)) {
      if (!mac_update(c, chunk, k))
        return 0;
      k = 0;
    }
  }
  return mac_update(c, chunk, k);
}

/* Names: trimmed, each inner run of white space fed as one ' '. Case is kept:
 * names are not case-folded by people the way emails are. */
static int mac_name(mac_t *c, const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && !is_space(v[j]))
      j++;
    if (!mac_update(c, v + i, j - i))
      return 0;
    while (j < n && is_space(v[j]))
      j++;
    if (j < n && !mac_update(c, " ", 1))
      return 0;
    i = j;
  }
  return 1;
}

int pii_hash_identifier(const pii_hasher_t *h, const char *kind, const char *value, size_t len,
                        char *out, size_t out_size, char *errstr, size_t errstr_size) {
  char norm[320]; /* e164 or email (<= 64 + 1 + 253) + NUL */
  if (out && out_size)
    out[0] = '\0';
  if (!h || !kind || !out || (!value && len > 0)) {
    set_err(errstr, errstr_size, "invalid arguments");
    return -1;
  }
  size_t klen = h->key_id_len;
  if (out_size < klen + 1 + 64 + 1) {
    set_err(errstr, errstr_size, "output buffer too small");
    return -1;
  }
  if (!value)
    value = "";
  /* Trim once for every kind. */
  while (len > 0 && is_space(value[0])) {
    value++;
    len--;
  }
  while (len > 0 && is_space(value[len - 1]))
    len--;

  mac_t c;
  int ok;
  /* The kinds differ in their first letter: one strcmp confirms it. */
  static const char *const kinds[] = {"phone", "email", "username", "name"};
  const char *known = kind[0] == 'p'   ? kinds[0]
                      : kind[0] == 'e' ? kinds[1]
                      : kind[0] == 'u' ? kinds[2]
                      : kind[0] == 'n' ? kinds[3]
                                       : "";
  if (strcmp(kind, known) != 0)
    known = "";
  if (known == kinds[0]) {
    if (pii_phone_normalize(value, len, norm, sizeof(norm)) != 0) {
      set_err(errstr, errstr_size, "not a phone number");
      return -1;
    }
    mac_begin(&c, h, kind, 5);
    ok = mac_update(&c, norm, strlen(norm));
  } else if (known == kinds[1]) {
    if (pii_email_normalize(value, len, norm, sizeof(norm)) != 0) {
      set_err(errstr, errstr_size, "not an email address");
      return -1;
    }
    mac_begin(&c, h, kind, 5);
    ok = mac_update(&c, norm, strlen(norm));
  } else if (known == kinds[2] || known == kinds[3]) {
    if (len == 0) {
      set_err(errstr, errstr_size, "empty value");
      return -1;
    }
    mac_begin(&c, h, kind, strlen(kind));
    ok = kind[0] == 'u' ? mac_username(&c, value, len) : mac_name(&c, value, len);
  } else {
    set_err(errstr, errstr_size, "unknown identifier kind");
    return -1;
  }
  if (!ok) {
    set_err(errstr, errstr_size, "HMAC failed (OpenSSL)");
    return -1;
  }
  memcpy(out, h->key_id, klen);
  out[klen] = ':';
  if (mac_finish_hex(&c, h, out + klen + 1, 64) != 0) {
    out[0] = '\0';
    set_err(errstr, errstr_size, "HMAC failed (OpenSSL)");
    return -1;
  }
  return 0;
}

/* ---- scrubber ------------------------------------------------------------ */

/* Where scrubbed text goes: a buffer that grows (pii_scrub_text) or the
 * caller's fixed one (pii_scrub_into), which past its end only counts. */
typedef struct outbuf {
  char *p; /* owned until handed to the caller when grow */
  size_t len, cap;
  int grow;
} outbuf_t;

static int out_put(outbuf_t *b, const char *s, size_t n) {
  if (n == 0)
    return 0;
  if (b->len > b->cap || n > b->cap - b->len) {
    if (!b->grow) {
      b->len += n; /* counting only: the caller retries with room for len */
      return 0;
    }
    size_t cap = b->cap;
    while (n > cap - b->len) {
      if (cap > ((size_t)-1 - 1) / 2)
        return -1;
      cap *= 2;
    }
    char *p = realloc(b->p, cap + 1);
    if (!p)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

/* Bytes that may start a detection; everything else is skipped by one table
 * lookup, which is what keeps a PII-free post well under a microsecond. */
enum { T_NONE = 0, T_PHONE, T_AT, T_E0 };
static const unsigned char trigger[256] = {
    ['0'] = T_PHONE, ['1'] = T_PHONE, ['2'] = T_PHONE, ['3'] = T_PHONE, ['4'] = T_PHONE,
    ['5'] = T_PHONE, ['6'] = T_PHONE, ['7'] = T_PHONE, ['8'] = T_PHONE, ['9'] = T_PHONE,
    ['+'] = T_PHONE, ['('] = T_PHONE, ['@'] = T_AT,    [0xE0] = T_E0,
};

/* Writes text[*copied..start) and then the token for (kind, value). */
static int emit(const pii_hasher_t *h, outbuf_t *b, const char *text, size_t *copied, size_t start,
                size_t end, const char *kind, const char *prefix, const char *v, size_t vn) {
  char tok[PII_TOKEN_MAX];
  size_t pl = strlen(prefix);
  memcpy(tok, prefix, pl);
  if (mac_hex(h, kind, v, vn, tok + pl, 16) != 0)
    return -1;
  if (out_put(b, text + *copied, start - *copied) != 0 || out_put(b, tok, pl + 16) != 0)
    return -1;
  *copied = end;
  return 0;
}

/* The scrubber proper, writing to b; 0, or -1 on allocation or MAC failure. */
/* The first byte at or after i that may start a detection, or len. Sixteen
 * bytes a step with SSE2 (every x86-64 has it). */
static inline size_t next_trigger(const char *text, size_t i, size_t len) {
#ifdef __SSE2__
  const __m128i below = _mm_set1_epi8('0' - 1), above = _mm_set1_epi8('9' + 1),
                plus = _mm_set1_epi8('+'), paren = _mm_set1_epi8('('), at = _mm_set1_epi8('@'),
                e0 = _mm_set1_epi8((char)0xE0);
  while (len - i >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
    /* digits by signed compares: bytes >= 0x80 are negative, never digits */
    __m128i hit = _mm_and_si128(_mm_cmpgt_epi8(x, below), _mm_cmplt_epi8(x, above));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(x, plus), _mm_cmpeq_epi8(x, paren)));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(x, at), _mm_cmpeq_epi8(x, e0)));
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    if (m)
      return i + (size_t)__builtin_ctz(m);
    i += 16;
  }
#endif
  while (i < len && trigger[(unsigned char)text[i]] == T_NONE)
    i++;
  return i;
}

static int scrub(const pii_hasher_t *h, const char *text, size_t len, outbuf_t *b,
                 pii_counts_t *counts) {
  size_t i = 0, copied = 0;
  while ((i = next_trigger(text, i, len)) < len) {
    unsigned char t = trigger[(unsigned char)text[i]];
    if (t == T_E0) {
      char d;
      if (!pii_digit_at(text, len, i, &d)) {
        i++;
        continue;
      }
    }
    if (t == T_AT) {
      size_t s, e;
      char norm[PII_E164_MAX + 320];
      if (pii_email_at(text, len, i, copied, &s, &e) == 0 &&
          pii_email_normalize(text + s, e - s, norm, sizeof(norm)) == 0) {
        if (emit(h, b, text, &copied, s, e, "email", "EMAIL_", norm, strlen(norm)) != 0)
          return -1;
        if (counts)
          counts->emails++;
        i = e;
      } else {
        i++;
      }
      continue;
    }
    pii_phone_match_t m[PII_RUN_MAX_MATCHES];
    size_t n = 0;
    size_t next = pii_phone_scan_run(text, len, i, copied, m, PII_RUN_MAX_MATCHES, &n);
    for (size_t k = 0; k < n; k++) {
      if (emit(h, b, text, &copied, m[k].start, m[k].end, "phone", "PHONE_", m[k].e164,
               strlen(m[k].e164)) != 0)
        return -1;
      if (counts)
        counts->phones++;
    }
    i = next;
  }
  return out_put(b, text + copied, len - copied);
}

char *pii_scrub_text(const pii_hasher_t *h, const char *text, size_t len, size_t *out_len,
                     pii_counts_t *counts) {
  outbuf_t b = {NULL, 0, len + 64, 1};
  if (out_len)
    *out_len = 0;
  if (!h || (!text && len > 0))
    return NULL;
  b.p = malloc(b.cap + 1);
  if (!b.p)
    return NULL;
  if (scrub(h, text, len, &b, counts) != 0) {
    free(b.p);
    return NULL;
  }
  b.p[b.len] = '\0';
  if (out_len)
    *out_len = b.len;
  return b.p;
}

size_t pii_scrub_into(const pii_hasher_t *h, const char *text, size_t len, char *out,
                      size_t out_size, pii_counts_t *counts) {
  outbuf_t b = {out, 0, out ? out_size : 0, 0};
  pii_counts_t c = {0, 0};
  if (!h || (!text && len > 0) || scrub(h, text, len, &b, &c) != 0)
    return (size_t)-1;
  if (counts && b.len <= b.cap) {
    counts->phones += c.phones;
    counts->emails += c.emails;
  }
  return b.len;
}
