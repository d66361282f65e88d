/* uuid: UUIDv5 (name-based, SHA-1 via OpenSSL), parsing and formatting —
 * the one copy the embedder (record ids) and the vector sinks (tombstones,
 * id checks) share. */
#include "core/uuid.h"

#include "core/hex.h"

#include <openssl/evp.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

void uuid_format(const uint8_t u[16], char out[UUID_STR_LEN]) {
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hexdigits[u[i] >> 4];
    out[o++] = hexdigits[u[i] & 15];
  }
  out[o] = '\0';
}

void uuid_v5(const uint8_t ns[16], const char *name, size_t len, char out[UUID_STR_LEN]) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  /* SHA-1 cannot fail on valid input; an allocation failure leaves md
   * zeroed, which still yields a well-formed (if constant) UUID. */
  memset(md, 0, sizeof(md));
  if (ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, ns, 16) == 1 &&
      EVP_DigestUpdate(ctx, name, len) == 1)
    EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  md[6] = (uint8_t)((md[6] & 0x0f) | 0x50); /* version 5 */
  md[8] = (uint8_t)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  uuid_format(md, out);
}

int uuid_parse(const char *s, size_t len, uint8_t out[16]) {
  if (!s || len != 36)
    return -1;
  size_t o = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return -1;
      i++;
      continue;
    }
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[o++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}
