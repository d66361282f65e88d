/* jsonf: the JSON reader and compact writer of every program.
 *
 * The reader parses into a jsonf document: the values of one JSON text laid out
 * in one array of nodes, in document order, each node knowing the size of its
 * subtree. A document is reused from message to message, so after the first few
 * messages parsing allocates nothing; strings without escapes are not copied
 * (they point into the text). The schema validator walks documents, and
 * privacy-shield transforms them without ever building a tree of objects.
 *
 * jansson stays the DOM of the other transforms: jsonf_parse builds a json_t
 * from the document, jsonf_doc_from_jansson goes the other way, and the writer
 * serialises either. Output is byte-identical to json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) for the jansson this is built against (tests check that),
 * whichever form it is written from. */
#ifndef SENSORY_JSONF_H
#define SENSORY_JSONF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- documents ------------------------------------------------------------ */

typedef enum {
  JSONF_NULL = 0,
  JSONF_FALSE,
  JSONF_TRUE,
  JSONF_INTEGER,
  JSONF_REAL,
  JSONF_STRING,
  JSONF_ARRAY,
  JSONF_OBJECT
} jsonf_type_t;

/* Node flag: a string none of whose bytes needs escaping in JSON output (no
 * '"', '\\' or control character), so the writer copies it as it is. Set by
 * the reader on strings written without escapes. */
#define JSONF_PLAIN 1u
/* Node flag: a string known to be valid UTF-8 (the reader validated it), so
 * its length in code points needs no decoding. */
#define JSONF_UTF8 2u

/* One value. A container is followed by its children: an array by its items,
 * an object by its members, each a key node (a string) then the value's
 * subtree. size counts the nodes of the subtree, this one included, so the
 * value after v is v + v->size. */
typedef struct jsonf_node {
  uint8_t type;  /* jsonf_type_t */
  uint8_t flags; /* JSONF_PLAIN, JSONF_UTF8 */
  uint32_t len;  /* STRING: bytes; ARRAY: items; OBJECT: members */
  uint32_t size; /* nodes in this subtree, itself included */
  uint32_t hash; /* object keys: jsonf_key_hash() of the key; 0 otherwise */
  union {
    const char *s; /* STRING: len bytes, valid UTF-8, no NUL, not NUL-terminated */
    int64_t i;     /* INTEGER */
    double d;      /* REAL (finite) */
  } v;
} jsonf_node_t;

typedef struct jsonf_doc jsonf_doc_t;

/* An empty document; NULL when out of memory. Caller owns it
 * (jsonf_doc_destroy). A document is used by one thread at a time. */
jsonf_doc_t *jsonf_doc_new(void);

/* Frees d and everything it holds; d may be NULL. */
void jsonf_doc_destroy(jsonf_doc_t *d);

/* Parses one JSON text into d, replacing what it held, with the rules and error
 * messages of jsonf_parse below. Returns the root node, owned by d and valid
 * until d is parsed into, reset or destroyed, and only while buf lives
 * (unescaped strings point into it); NULL on error (errstr filled). Texts of
 * 4 GiB or more are refused ("input too large"). */
const jsonf_node_t *jsonf_doc_parse(jsonf_doc_t *d, const char *buf, size_t len, int max_depth,
                                    char *errstr, size_t errstr_size);

/* The root of d, or NULL when d holds nothing. */
const jsonf_node_t *jsonf_doc_root(const jsonf_doc_t *d);

/* Building a document by hand (privacy-shield builds its clean record so): reset,
 * then append values in document order; a container is opened, filled and
 * closed. Node pointers into d are invalidated by any append; indexes are not.
 * Appended strings are borrowed: they must outlive the use of d. Each append
 * returns 0, or -1 when out of memory (d is then only fit for reset). */
void jsonf_doc_reset(jsonf_doc_t *d);
/* Opens an array or object (type JSONF_ARRAY / JSONF_OBJECT); returns its index
 * for jsonf_doc_close, or (size_t)-1 when out of memory. */
size_t jsonf_doc_open(jsonf_doc_t *d, jsonf_type_t type);
/* Closes the container at index at: counts its children and sets its size. */
void jsonf_doc_close(jsonf_doc_t *d, size_t at);
/* Appends an object key (its hash is computed here) or a string value. */
int jsonf_doc_add_key(jsonf_doc_t *d, const char *s, size_t len, unsigned flags);
int jsonf_doc_add_string(jsonf_doc_t *d, const char *s, size_t len, unsigned flags);
/* Appends a copy of the value v (its whole subtree; v may belong to another
 * document, whose strings are then borrowed too). */
int jsonf_doc_add_value(jsonf_doc_t *d, const jsonf_node_t *v);
/* Appends count nodes starting at first as they are: whole values, or, into
 * an object being built, whole members (each a key node and its value's
 * subtree), e.g. a run of members copied from another object at once. */
int jsonf_doc_add_nodes(jsonf_doc_t *d, const jsonf_node_t *first, size_t count);

/* Fills d (reset first) with the value v; strings are borrowed from v, which
 * must outlive the use of d. Returns the root, or NULL when out of memory, for
 * a string of 4 GiB or more, or nesting deeper than 2048. */
const jsonf_node_t *jsonf_doc_from_jansson(jsonf_doc_t *d, const json_t *v);

/* The member of object obj whose key is k[0..kl), or NULL. Linear in the
 * number of members. */
const jsonf_node_t *jsonf_object_get(const jsonf_node_t *obj, const char *k, size_t kl);

/* Hash of an object key, stored in key nodes so that a lookup table keyed by
 * property names (the schema validator's) needs no hashing per message: the
 * first and last eight bytes and the length, unseeded (see schema_fast.c). */
static inline uint32_t jsonf_key_hash(const char *k, size_t kl) {
  uint64_t a = 0, b = 0;
  if (kl >= 8) {
    memcpy(&a, k, 8);
    memcpy(&b, k + kl - 8, 8);
  } else if (kl >= 4) {
    uint32_t x, y;
    memcpy(&x, k, 4);
    memcpy(&y, k + kl - 4, 4);
    a = x;
    b = y;
  } else if (kl) {
    a = (uint64_t)(unsigned char)k[0] | (uint64_t)(unsigned char)k[kl / 2] << 8 |
        (uint64_t)(unsigned char)k[kl - 1] << 16;
  }
  a ^= b * 0x9E3779B97F4A7C15ull ^ kl;
  a *= 0xff51afd7ed558ccdull;
  return (uint32_t)(a ^ (a >> 29));
}

/* ---- jansson -------------------------------------------------------------- */

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

/* jsonf_parse of a whole file (of at most 64 MiB). NULL with errstr: "cannot
 * read FILE: <reason>", "FILE is larger than 64 MiB", or the reader's message. */
json_t *jsonf_parse_file(const char *path, int max_depth, char *errstr, size_t errstr_size);

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

/* Appends the compact serialisation of the document value v, with the rules of
 * jsonf_dump (the same value as jansson gives the same bytes). Returns 0, or -1
 * as jsonf_dump; on -1, out->len is left as it was. */
int jsonf_dump_node(const jsonf_node_t *v, jsonf_buf_t *out);

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

/* Appends i in decimal, as jsonf_dump writes integers. 0 or -1 as above. */
int jsonf_buf_append_int(jsonf_buf_t *b, int64_t i);

/* Writes i in decimal, as jsonf_dump writes integers, into out (at least
 * JSONF_INT_MAX bytes; no NUL) and returns the length: for writers that
 * reserve once and fill a buffer themselves. */
#define JSONF_INT_MAX 20
size_t jsonf_format_int(char *out, int64_t i);

/* Makes room for n more bytes in b (the same cap): 0 or -1. For callers that
 * write into b->data + b->len directly and then advance b->len. */
int jsonf_buf_reserve(jsonf_buf_t *b, size_t n);

/* Frees b's data and resets it to empty; b may be NULL. */
void jsonf_buf_free(jsonf_buf_t *b);

#endif
