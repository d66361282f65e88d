#include "core/b64.h"

#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n) {
  return (n + 2) / 3 * 4;
}

char *b64_encode(const void *in, size_t n) {
  const unsigned char *p = in;
  if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
    return NULL;
  size_t olen = b64_encoded_len(n);
  char *out = malloc(olen + 1); /* owned by the caller once returned */
  if (!out)
    return NULL;
  size_t i = 0, o = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
  return out;
}

char *b64url_encode(const void *in, size_t n) {
  char *out = b64_encode(in, n);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; out[i] && out[i] != '='; i++)
    out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
  out[o] = '\0';
  return out;
}

static int sextet(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int b64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (len % 4 != 0)
    return -1;
  size_t pad = 0;
  if (len >= 4 && s[len - 1] == '=')
    pad = s[len - 2] == '=' ? 2 : 1;
  size_t olen = len / 4 * 3 - pad;
  unsigned char *buf = malloc(olen + 1); /* owned by the caller once returned */
  if (!buf)
    return -1;
  size_t o = 0;
  for (size_t i = 0; i < len; i += 4) {
    int last = i + 4 == len;
    int v[4];
    for (int j = 0; j < 4; j++) {
      unsigned char c = (unsigned char)s[i + j];
      /* '=' is only valid in the final quantum, in the positions pad allows. */
      if (c == '=' && last && j >= 4 - (int)pad) {
        v[j] = 0;
        continue;
      }
      v[j] = sextet(c);
      if (v[j] < 0) {
        free(buf);
        return -1;
      }
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    if (last && pad == 2) {
      if (w & 0xFFFF) /* non-canonical: bits beyond the data byte set */
        goto bad;
      buf[o++] = (unsigned char)(w >> 16);
    } else if (last && pad == 1) {
      if (w & 0xFF)
        goto bad;
      buf[o++] = (unsigned char)(w >> 16);
      buf[o++] = (unsigned char)(w >> 8);
    } else {
      buf[o++] = (unsigned char)(w >> 16);
      buf[o++] = (unsigned char)(w >> 8);
      buf[o++] = (unsigned char)w;
    }
  }
  *out = buf;
  *out_len = o;
  return 0;
bad:
  free(buf);
  return -1;
}
