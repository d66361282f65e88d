/* utf8 — strict UTF-8 decoding (RFC 3629): no overlongs, no surrogates, nothing
 * above U+10FFFF.  Strictness matters because lengths feed schema checks and PII
 * detection: a lenient decoder would let an overlong encoding hide a digit. */
#include "core/utf8.h"

#include <string.h>

size_t utf8_decode(const char *s, size_t len, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  uint32_t c;
  size_t n, i;

  if (len == 0)
    return 0;
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    n = 2;
    c = p[0] & 0x1Fu;
  } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    n = 3;
    c = p[0] & 0x0Fu;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    n = 4;
    c = p[0] & 0x07u;
  } else {
    return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
  }
  if (len < n)
    return 0;
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    c = (c << 6) | (p[i] & 0x3Fu);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)))
    return 0; /* overlong or out of range */
  if (c >= 0xD800 && c <= 0xDFFF)
    return 0; /* surrogates are not scalar values */
  *cp = c;
  return n;
}

/* Eight bytes at a time while they are all ASCII: message text mostly is,
 * and every message's bytes pass through here. */
static size_t ascii_prefix(const char *s, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ULL)
      break;
  }
  while (i < len && (unsigned char)s[i] < 0x80)
    i++;
  return i;
}

size_t utf8_valid_prefix(const char *s, size_t len) {
  size_t i = ascii_prefix(s, len);
  uint32_t cp;
  while (i < len) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = utf8_decode(s + i, len - i, &cp);
    if (n == 0)
      break;
    i += n;
  }
  return i;
}

int utf8_valid(const char *s, size_t len) {
  return utf8_length(s, len) != (size_t)-1;
}

size_t utf8_length(const char *s, size_t len) {
  size_t i = ascii_prefix(s, len), count = i;
  uint32_t cp;

  while (i < len) {
    /* ASCII fast path: most message text is ASCII. */
    if ((unsigned char)s[i] < 0x80) {
      i++;
      count++;
      continue;
    }
    size_t n = utf8_decode(s + i, len - i, &cp);
    if (n == 0)
      return (size_t)-1;
    i += n;
    count++;
  }
  return count;
}

size_t utf8_encode(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;

  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF)
    return 0;
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}
