/* risk_auth — the keys file, constant-time key lookup and the per-key token
 * buckets (see risk_auth.h). */
#include "risk_auth.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIGEST_LEN 32
#define KEY_MAX_LEN 4096

typedef struct key_entry {
  char name[RISK_KEY_NAME_MAX];
  unsigned scopes;
  unsigned char digest[DIGEST_LEN];
  pthread_mutex_t lock; /* guards the bucket */
  double tokens;
  int64_t last_us;
} key_entry_t;

struct risk_keys {
  key_entry_t *e;
  size_t n;
  double rate, burst;
};

int risk_digest_equal(const unsigned char *a, const unsigned char *b, size_t n) {
  /* OpenSSL's CRYPTO_memcmp is the constant-time comparison (no early exit). */
  return CRYPTO_memcmp(a, b, n) == 0;
}

static int hex_nibble(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_scopes(const char *s, size_t n, unsigned *out) {
  unsigned sc = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != ',')
      j++;
    if (j - i == 5 && memcmp(s + i, "score", 5) == 0)
      sc |= RISK_SCOPE_SCORE;
    else if (j - i == 5 && memcmp(s + i, "admin", 5) == 0)
      sc |= RISK_SCOPE_ADMIN;
    else
      return -1;
    i = j + 1;
    if (j < n && i == n) /* trailing comma */
      return -1;
  }
  *out = sc;
  return sc ? 0 : -1;
}

/* Splits a line into at most 4 whitespace-separated fields. */
static int split(const char *line, size_t len, const char **f, size_t *fl) {
  int nf = 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
      i++;
    if (i == len)
      break;
    size_t j = i;
    while (j < len && line[j] != ' ' && line[j] != '\t' && line[j] != '\r')
      j++;
    if (nf == 4)
      return 5;
    f[nf] = line + i;
    fl[nf++] = j - i;
    i = j;
  }
  return nf;
}

static int valid_name(const char *s, size_t n) {
  if (n == 0 || n >= RISK_KEY_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
      return 0;
  return 1;
}

risk_keys_t *risk_keys_parse(const char *text, size_t len, const char *origin, double rate_per_s,
                             double burst, char *errstr, size_t errstr_size) {
  risk_keys_t *k = calloc(1, sizeof(*k));
  if (!k || !(k->e = calloc(RISK_KEYS_MAX, sizeof(*k->e)))) {
    snprintf(errstr, errstr_size, "%s: out of memory", origin);
    free(k);
    return NULL;
  }
  k->rate = rate_per_s > 0 ? rate_per_s : 0;
  k->burst = burst >= 1 ? burst : (k->rate >= 1 ? k->rate : 1);
  size_t pos = 0, lineno = 0;
  while (pos < len) {
    const char *line = text + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t ll = nl ? (size_t)(nl - line) : len - pos;
    pos += ll + (nl ? 1 : 0);
    lineno++;
    const char *f[4];
    size_t fl[4];
    int nf = split(line, ll, f, fl);
    if (nf == 0 || f[0][0] == '#')
      continue;
    const char *why = NULL;
    unsigned scopes = 0;
    key_entry_t *e = &k->e[k->n];
    if (nf != 3)
      why = "expected NAME SCOPES SHA256HEX";
    else if (!valid_name(f[0], fl[0]))
      why = "name must be 1-63 of A-Z a-z 0-9 _ . -";
    else if (parse_scopes(f[1], fl[1], &scopes) != 0)
      why = "scopes must be score, admin or score,admin";
    else if (fl[2] != 2 * DIGEST_LEN)
      why = "the key digest must be 64 hex digits (SHA-256 of the key)";
    else if (k->n == RISK_KEYS_MAX)
      why = "too many keys";
    if (!why) {
      for (size_t i = 0; i < DIGEST_LEN; i++) {
        int hi = hex_nibble((unsigned char)f[2][2 * i]),
            lo = hex_nibble((unsigned char)f[2][2 * i + 1]);
        if (hi < 0 || lo < 0) {
          why = "the key digest must be 64 hex digits (SHA-256 of the key)";
          break;
        }
        e->digest[i] = (unsigned char)(hi << 4 | lo);
      }
    }
    for (size_t i = 0; !why && i < k->n; i++) {
      if (strlen(k->e[i].name) == fl[0] && memcmp(k->e[i].name, f[0], fl[0]) == 0)
        why = "duplicate key name";
      else if (memcmp(k->e[i].digest, e->digest, DIGEST_LEN) == 0)
        why = "the same key is listed twice";
    }
    if (why) {
      snprintf(errstr, errstr_size, "%s line %zu: %s", origin, lineno, why);
      risk_keys_destroy(k);
      return NULL;
    }
    memcpy(e->name, f[0], fl[0]);
    e->name[fl[0]] = '\0';
    e->scopes = scopes;
    e->tokens = k->burst;
    e->last_us = -1;
    pthread_mutex_init(&e->lock, NULL);
    k->n++;
  }
  if (k->n == 0) {
    snprintf(errstr, errstr_size, "%s: no keys", origin);
    risk_keys_destroy(k);
    return NULL;
  }
  return k;
}

risk_keys_t *risk_keys_load(const char *path, double rate_per_s, double burst, char *errstr,
                            size_t errstr_size) {
  FILE *fp = path && *path ? fopen(path, "rb") : NULL;
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", path && *path ? path : "(unset)",
             path && *path ? strerror(errno) : "no keys file");
    return NULL;
  }
  size_t cap = 1 << 20;
  char *buf = malloc(cap + 1);
  size_t len = buf ? fread(buf, 1, cap + 1, fp) : 0;
  int err = ferror(fp);
  fclose(fp);
  if (!buf || err || len > cap) {
    snprintf(errstr, errstr_size, "%s: %s", path,
             !buf  ? "out of memory"
             : err ? "read error"
                   : "larger than 1 MiB");
    free(buf);
    return NULL;
  }
  risk_keys_t *k = risk_keys_parse(buf, len, path, rate_per_s, burst, errstr, errstr_size);
  free(buf);
  return k;
}

void risk_keys_destroy(risk_keys_t *k) {
  if (!k)
    return;
  for (size_t i = 0; i < k->n; i++)
    pthread_mutex_destroy(&k->e[i].lock);
  free(k->e);
  free(k);
}

size_t risk_keys_count(const risk_keys_t *k) {
  return k->n;
}

int risk_keys_find(const risk_keys_t *k, const char *key, size_t len) {
  if (!key || len == 0 || len > KEY_MAX_LEN)
    return -1;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned dl = 0;
  if (!EVP_Digest(key, len, d, &dl, EVP_sha256(), NULL) || dl != DIGEST_LEN)
    return -1;
  int found = -1;
  for (size_t i = 0; i < k->n; i++) {
    /* Branch-free select: every entry is compared whatever matched before. */
    int eq = risk_digest_equal(d, k->e[i].digest, DIGEST_LEN);
    int mask = -eq;
    found = (found & ~mask) | ((int)i & mask);
  }
  OPENSSL_cleanse(d, sizeof(d));
  return found;
}

const char *risk_keys_name(const risk_keys_t *k, int i) {
  return k->e[i].name;
}

unsigned risk_keys_scopes(const risk_keys_t *k, int i) {
  return k->e[i].scopes;
}

int risk_keys_admit(risk_keys_t *k, int i, int64_t now_us, int *retry_after_s) {
  if (k->rate <= 0)
    return 1;
  key_entry_t *e = &k->e[i];
  pthread_mutex_lock(&e->lock);
  if (e->last_us >= 0 && now_us > e->last_us) {
    e->tokens += (double)(now_us - e->last_us) * k->rate / 1e6;
    if (e->tokens > k->burst)
      e->tokens = k->burst;
  }
  if (e->last_us < 0 || now_us > e->last_us)
    e->last_us = now_us;
  int ok = e->tokens >= 1.0;
  double missing = 1.0 - e->tokens;
  if (ok)
    e->tokens -= 1.0;
  pthread_mutex_unlock(&e->lock);
  if (!ok && retry_after_s) {
    double s = missing / k->rate;
    int secs = (int)s;
    if ((double)secs < s)
      secs++;
    *retry_after_s = secs < 1 ? 1 : secs;
  }
  return ok;
}

int risk_auth_presented(const char *x_api_key, const char *authorization, const char **key,
                        size_t *len) {
  if (x_api_key && *x_api_key) {
    *key = x_api_key;
    *len = strlen(x_api_key);
    return 1;
  }
  if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
    const char *t = authorization + 7;
    while (*t == ' ')
      t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
      n--;
    if (n) {
      *key = t;
      *len = n;
      return 1;
    }
  }
  return 0;
}
