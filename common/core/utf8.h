/* utf8 — small UTF-8 helpers shared by schema validation and PII detection. */
#ifndef SENSORY_UTF8_H
#define SENSORY_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Decodes one code point from s[0..len). Returns the number of bytes used (1-4)
 * and stores the code point in *cp, or returns 0 for an invalid/overlong/
 * truncated sequence or a surrogate (len == 0 also returns 0). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Returns 1 if s[0..len) is entirely valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s[0..len) that is valid UTF-8: where a
 * text cut to fit a buffer must end so that JSON can carry it. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* Number of code points in valid UTF-8 s[0..len); (size_t)-1 if invalid. */
size_t utf8_length(const char *s, size_t len);

/* Encodes cp into out (at least 4 bytes); returns bytes written, 0 if cp is invalid. */
size_t utf8_encode(uint32_t cp, char *out);

/* Code points in s[0..len), which the caller knows to be valid UTF-8 (a jsonf
 * document's strings): the bytes that do not continue a sequence (10xxxxxx),
 * counted eight at a time without decoding. Same answer as utf8_length for
 * valid input. Inline: most strings are short and ASCII. */
static inline size_t utf8_count_valid(const char *s, size_t len) {
  const uint64_t hi = UINT64_C(0x8080808080808080), ones = UINT64_C(0x0101010101010101);
  uint64_t w, cont = 0;
  size_t i = 0;
  if (len < 8) {
    uint32_t a, b;
    if (len >= 4) { /* ASCII in two overlapping words: the usual short field */
      memcpy(&a, s, 4);
      memcpy(&b, s + len - 4, 4);
      if (!((a | b) & 0x80808080u))
        return len;
    }
    for (; i < len; i++)
      cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return len - (size_t)cont;
  }
  for (; i + 8 <= len; i += 8) {
    memcpy(&w, s + i, 8);
    if (w & hi) /* bit 7 of each continuation byte, summed by one multiply */
      cont += (((w & ~(w << 1) & hi) >> 7) * ones) >> 56;
  }
  if (i < len) { /* the last bytes, in an overlapping word with the seen ones masked off */
    memcpy(&w, s + len - 8, 8);
    w &= ~UINT64_C(0) << (8 * (8 - (len - i)));
    cont += (((w & ~(w << 1) & hi) >> 7) * ones) >> 56;
  }
  return len - (size_t)cont;
}

#endif
