/* risk_env — risk-svc's API as fuzz_risk_api and fuzz_risk_http build it:
 * two keys ("score-key-0123456789" with the score scope, "admin-key-..."
 * with admin), the default rules, a fixed HMAC key, the contracts of the
 * source tree, a history store and a decision sink in memory. Header-only
 * (static), after fuzz.h. */
#ifndef SENSORY_FUZZ_RISK_ENV_H
#define SENSORY_FUZZ_RISK_ENV_H

#include <openssl/evp.h>

#include "privacy/pii.h"
#include "risk_api.h"
#include "risk_rules.h"

#define KEY_SCORE "score-key-0123456789"
#define KEY_ADMIN "admin-key-0123456789"

static int store_down;  /* the store answers "unavailable" */
static char *published; /* the last decision published (malloc'd) */
static char *note;      /* the last blacklist note stored (malloc'd) */

static int f_lookup(void *ctx, unsigned thread, const char *phash, int64_t now,
                    risk_features_t *f) {
  (void)ctx, (void)thread, (void)now;
  if (store_down)
    return -1;
  unsigned char h = (unsigned char)phash[strlen(phash) - 1];
  f->orders = h % 9;
  f->cod_orders = h % 7;
  f->returned = h % 3;
  f->failed_delivery = h % 2;
  f->blacklisted = (h & 0x10) != 0;
  return 0;
}

static int f_put(void *ctx, unsigned thread, const char *phash, const char *n, int64_t ttl) {
  (void)ctx, (void)thread, (void)phash, (void)ttl;
  if (store_down)
    return -1;
  free(note);
  note = strdup(n);
  return 0;
}

static int f_del(void *ctx, unsigned thread, const char *phash, int *removed) {
  (void)ctx, (void)thread, (void)phash;
  *removed = 1;
  return store_down ? -1 : 0;
}

static int f_publish(void *ctx, const char *key, size_t key_len, const char *payload, size_t len) {
  (void)ctx, (void)key, (void)key_len;
  free(published);
  published = strndup(payload, len);
  return 0;
}

static void risk_env_sha_hex(const char *s, char out[65]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The API, or abort; *hasher_out (may be NULL) gets the hasher. */
static risk_api_t *risk_env_api(pii_hasher_t **hasher_out) {
  char err[512], text[512], h1[65], h2[65], dir[4096];
  risk_env_sha_hex(KEY_SCORE, h1);
  risk_env_sha_hex(KEY_ADMIN, h2);
  snprintf(text, sizeof(text), "gateway score %s\nops admin %s\n", h1, h2);
  risk_keys_t *keys = risk_keys_parse(text, strlen(text), "keys", 0, 0, err, sizeof(err));
  risk_rules_t *rules = risk_rules_load(NULL, err, sizeof(err));
  const char *k = "fuzz-hmac-key-0123456789";
  pii_hasher_t *hasher =
      pii_hasher_new((const unsigned char *)k, strlen(k), NULL, err, sizeof(err));
  FUZZ_CHECK(keys && rules && hasher, "risk-svc's keys, rules and hasher");
  fuzz_path(dir, sizeof(dir), "schemas");
  risk_api_options_t o = {.rules = rules,
                          .keys = keys,
                          .hasher = hasher,
                          .schemas_dir = dir,
                          .store = {f_lookup, f_put, f_del, NULL},
                          .sink = {f_publish, NULL},
                          .fail_mode = RISK_FAIL_OPEN};
  risk_api_t *api = risk_api_new(&o, err, sizeof(err));
  FUZZ_CHECK(api != NULL, "risk_api_new");
  if (hasher_out)
    *hasher_out = hasher;
  return api;
}

#endif
