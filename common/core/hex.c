/* hex — owns the hexadecimal digit tables; no allocation, no state. */
#include "core/hex.h"

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int hex_encode(const void *in, size_t n, char *out, size_t out_size, hex_case_t letter_case) {
  static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
  const char *digits = letter_case == HEX_UPPER ? upper : lower;
  const unsigned char *p = in;
  if (out_size == 0 || n > (out_size - 1) / 2) {
    if (out_size)
      out[0] = '\0';
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
  return 0;
}
