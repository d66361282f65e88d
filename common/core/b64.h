/* b64 — standard base64 (RFC 4648 §4, with padding) for binary fields in JSON.
 *
 * OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock take int lengths and the decoder
 * silently tolerates whitespace and leaves padding zeros in the output; these
 * helpers use size_t and decode strictly, so a damaged field is an error rather
 * than a few wrong bytes.
 */
#ifndef SENSORY_B64_H
#define SENSORY_B64_H

#include <stddef.h>

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n);

/* Encodes in[0..n) as a NUL-terminated string. in may be NULL when n == 0.
 * Returns a malloc'd string the caller frees, or NULL on allocation failure
 * or when n is too large to encode. */
char *b64_encode(const void *in, size_t n);

/* Encodes in[0..n) as unpadded base64url (RFC 4648 §5: "-" and "_" for "+"
 * and "/", no "="), the alphabet of JSON Web Tokens. Same ownership and
 * failures as b64_encode. */
char *b64url_encode(const void *in, size_t n);

/* Decodes the padded base64 text s[0..len) into a malloc'd buffer (*out, caller
 * frees; one spare byte is allocated so an empty result is still a valid
 * pointer) and its length *out_len. Returns -1 for any character outside the
 * alphabet (including whitespace), a length that is not a multiple of 4,
 * misplaced padding, non-zero trailing bits, or allocation failure. */
int b64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);

#endif
