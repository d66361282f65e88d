/* secret — key files (read, size-checked, wiped on free) and key fingerprints. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init/Update/Final, see secret_key_id */
#include "core/secret.h"

#include "core/hex.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int secret_read_file(const char *path, unsigned char **out, size_t *out_len, char *errstr,
                     size_t errstr_size) {
  *out = NULL;
  *out_len = 0;
  if (!path || !*path) {
    snprintf(errstr, errstr_size, "no key file configured");
    return -1;
  }
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(errstr, errstr_size, "cannot open key file %s: %s", path, strerror(errno));
    return -1;
  }
  /* One byte more than allowed, so an oversized file is detected, not truncated. */
  unsigned char *buf = malloc(SECRET_MAX + 1); /* owned here until returned */
  if (!buf) {
    fclose(fp);
    snprintf(errstr, errstr_size, "out of memory reading key file %s", path);
    return -1;
  }
  size_t n = fread(buf, 1, SECRET_MAX + 1, fp);
  int rerr = ferror(fp);
  fclose(fp);
  if (rerr) {
    secret_free(buf, SECRET_MAX + 1);
    snprintf(errstr, errstr_size, "cannot read key file %s", path);
    return -1;
  }
  if (n > SECRET_MAX) {
    secret_free(buf, SECRET_MAX + 1);
    snprintf(errstr, errstr_size, "key file %s is larger than %d bytes", path, SECRET_MAX);
    return -1;
  }
  if (n > 0 && buf[n - 1] == '\n') {
    n--;
    if (n > 0 && buf[n - 1] == '\r')
      n--;
  }
  if (n == 0) {
    secret_free(buf, SECRET_MAX + 1);
    snprintf(errstr, errstr_size, "key file %s is empty", path);
    return -1;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

void secret_free(unsigned char *buf, size_t len) {
  if (!buf)
    return;
  OPENSSL_cleanse(buf, len > SECRET_MAX + 1 ? len : SECRET_MAX + 1);
  free(buf);
}

void secret_key_id(const unsigned char *key, size_t key_len, char *out, size_t out_size) {
  /* The low-level calls, not the one-shot SHA256(): that goes through EVP,
   * whose first use loads the provider configuration, about 5 million
   * instructions at start-up for a fingerprint. */
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX c;
  if (!SHA256_Init(&c) || !SHA256_Update(&c, key, key_len) || !SHA256_Final(md, &c))
    memset(md, 0, sizeof(md));
  OPENSSL_cleanse(&c, sizeof(c));
  char hex[9];
  hex_encode(md, 4, hex, sizeof(hex), HEX_LOWER);
  snprintf(out, out_size, "k%s", hex);
}
