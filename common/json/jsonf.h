/* jsonf: a fast strict JSON reader and compact writer for jansson values.
 *
 * jansson stays our DOM (the schema validator and every transform use json_t);
 * jsonf only replaces json_loadb and json_dumps(JSON_COMPACT) on the per-message
 * path, where jansson's per-character stream callbacks dominated the profile.
 * jsonf_dumps output is byte-identical to json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) for the jansson this is built against (tests check that). */
#ifndef SENSORY_JSONF_H
#define SENSORY_JSONF_H

#include <jansson.h>
#include <stddef.h>

/* Parses one JSON text (RFC 8259, strict) into a new jansson value. Any value is
 * accepted at the top level (like JSON_DECODE_ANY). Rejects: trailing garbage (other
 * than white space), duplicate object keys, "\u0000" in strings (C-string consumers),
 * invalid UTF-8, lone surrogates in \u escapes, integers outside int64 (error, like
 * jansson), reals that overflow a double (like jansson), nesting deeper than max_depth
 * (error "maximum nesting depth exceeded"; max_depth 0 admits only scalars).
 * On error returns NULL and writes "invalid JSON at byte N: <reason>" into errstr; the
 * reason never quotes the input (inputs may hold personal data). buf may be NULL only
 * when len is 0; errstr may be NULL when errstr_size is 0. Caller owns the result
 * (json_decref). Reals are read with strtod, so LC_NUMERIC must be "C" (the default;
 * no service calls setlocale). */
json_t *jsonf_parse(const char *buf, size_t len, int max_depth, char *errstr, size_t errstr_size);

/* A growing output buffer; zero-initialise it ({0}) before first use. data is not
 * NUL-terminated by jsonf_dump. The caller owns data and frees it with jsonf_buf_free. */
typedef struct jsonf_buf {
  char *data;
  size_t len, cap;
} jsonf_buf_t;

/* Appends the compact serialisation of v (objects in jansson's iteration order, which is
 * insertion order; strings escaped as JSON requires, "/" not escaped, non-ASCII kept as
 * UTF-8; integers exact; reals formatted exactly as the linked jansson does, i.e. "%.17g"
 * with ".0" added when it would read as an integer and the exponent's "+" and leading
 * zeros removed) to out. Returns 0, or -1 on allocation failure, output over the 1 GiB
 * cap, nesting deeper than 2048, or a value that cannot be serialised (NaN/Inf, a string
 * that is not valid UTF-8); on -1, out->len is left as it was. v and out must not be
 * NULL. */
int jsonf_dump(const json_t *v, jsonf_buf_t *out);

/* Returns the compact serialisation of v (as jsonf_dump) in a malloc'd NUL-terminated
 * string, storing its length (without the NUL) in *len when len is not NULL; NULL on
 * failure. Any value may be at the top level (like JSON_ENCODE_ANY). Caller frees. */
char *jsonf_dumps(const json_t *v, size_t *len);

/* Appends s[0..n) as one JSON string literal, quotes included, escaped exactly as
 * jsonf_dump escapes strings: for writers that build a small document by hand (an
 * error body) without a jansson value. Returns 0, or -1 on allocation failure, output
 * over the cap or invalid UTF-8 in s; on -1, out->len is left as it was. s may be NULL
 * only when n is 0. */
int jsonf_dump_string(const char *s, size_t n, jsonf_buf_t *out);

/* Appends n raw bytes (already JSON, or any text) to b, growing it under the same
 * cap as jsonf_dump. Returns 0, or -1 on allocation failure or over the cap (b
 * unchanged). s may be NULL only when n is 0. */
int jsonf_buf_append(jsonf_buf_t *b, const char *s, size_t n);

/* Frees b's data and resets it to empty; b may be NULL. */
void jsonf_buf_free(jsonf_buf_t *b);

#endif
