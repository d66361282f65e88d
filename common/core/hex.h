/* hex — hexadecimal digits, the one decoder and encoder of every program
 * (percent-escapes, hex keys, digests, random tokens).
 */
#ifndef SENSORY_HEX_H
#define SENSORY_HEX_H

#include <stddef.h>

/* The value of one hex digit ('0'-'9', 'a'-'f', 'A'-'F'): 0..15, or -1 for
 * any other character. */
int hex_value(char c);

typedef enum { HEX_LOWER = 0, HEX_UPPER = 1 } hex_case_t;

/* Writes the 2 * n digits of in[0..n) and a NUL into out. in may be NULL when
 * n == 0. Returns 0, or -1 when out_size < 2 * n + 1 (out then holds "" if
 * out_size > 0). */
int hex_encode(const void *in, size_t n, char *out, size_t out_size, hex_case_t letter_case);

#endif
