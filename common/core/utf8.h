/* utf8 — small UTF-8 helpers shared by schema validation and PII detection. */
#ifndef SENSORY_UTF8_H
#define SENSORY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..len). Returns the number of bytes used (1-4)
 * and stores the code point in *cp, or returns 0 for an invalid/overlong/
 * truncated sequence or a surrogate (len == 0 also returns 0). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Returns 1 if s[0..len) is entirely valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8 s[0..len); (size_t)-1 if invalid. */
size_t utf8_length(const char *s, size_t len);

/* Encodes cp into out (at least 4 bytes); returns bytes written, 0 if cp is invalid. */
size_t utf8_encode(uint32_t cp, char *out);

#endif
