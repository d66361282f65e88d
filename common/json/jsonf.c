/* jsonf — the strict JSON reader: one text into a jsonf document.
 *
 * Recursive descent over a byte range (recursion bounded by max_depth) that
 * appends one node per value, in document order. Strings without escapes point
 * into the input; strings with escapes are decoded into the document's string
 * buffer, sized once for the whole input at the first escape so that no
 * decoded string ever moves. Duplicate keys are found through an open-
 * addressing table of (object, key) pairs kept by the document from parse to
 * parse (a generation number empties it). UTF-8 is validated here, so every
 * string of a document is valid UTF-8. jsonf_parse builds jansson values from
 * the document (jsonf_doc.c). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonf_internal.h"

#define JSONF_NUM_STACK 64
/* Inputs of 4 GiB or more do not fit the 32-bit lengths and sizes of nodes. */
#define JSONF_MAX_INPUT ((size_t)UINT32_MAX - 16)

// clang-format off
const unsigned char jsonf_str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 '\\' */
    [0x80 ... 0xFF] = 1, /* GNU range: the build is C11 with extensions */
};
// clang-format on

size_t jsonf_utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t avail = (size_t)(end - p);
  if (c >= 0xC2 && c <= 0xDF)
    return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[2] & 0xC0) != 0x80)
      return 0;
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return p[1] >= lo && p[1] <= hi ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
      return 0;
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return p[1] >= lo && p[1] <= hi ? 4 : 0;
  }
  return 0;
}

typedef struct parser {
  const unsigned char *p, *start, *end;
  int depth, max_depth;
  const char *reason; /* first error; fixed text, never input bytes */
  size_t err_at;
  jsonf_doc_t *d;
  int sb_ready; /* the string buffer has room for the whole input */
} parser_t;

/* Records the first error only: later failures are consequences of it. */
static int fail_at(parser_t *ps, const unsigned char *at, const char *reason) {
  if (!ps->reason) {
    ps->reason = reason;
    ps->err_at = (size_t)(at - ps->start);
  }
  return -1;
}

static inline void skip_ws(parser_t *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  if (p<end && * p> ' ')
    return; /* compact JSON: no white space between tokens */
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  ps->p = p;
}

/* Appends a node of the given type (len, size 1, no hash, no flags). */
static inline jsonf_node_t *push(parser_t *ps, jsonf_type_t type) {
  jsonf_doc_t *d = ps->d;
  if (d->count == d->cap && jsonf_doc_grow(d) < 0) {
    fail_at(ps, ps->p, "out of memory");
    return NULL;
  }
  jsonf_node_t *n = &d->nodes[d->count++];
  n->type = (uint8_t)type;
  n->flags = 0;
  n->len = 0;
  n->size = 1;
  n->hash = 0;
  return n;
}

/* Decoded strings never take more bytes than their source, so making room for
 * the whole input once (at the first escape of a parse) keeps every decoded
 * string in place; the later checks are a safety net. */
static int sb_room(parser_t *ps, size_t n) {
  jsonf_doc_t *d = ps->d;
  if (!ps->sb_ready) {
    size_t cap = (size_t)(ps->end - ps->start) + 8;
    if (d->sb_cap < cap) {
      char *nb = realloc(d->sb, cap);
      if (!nb)
        return -1;
      d->sb = nb;
      d->sb_cap = cap;
    }
    ps->sb_ready = 1;
  }
  return d->sb_cap - d->sb_len >= n ? 0 : -1;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
      d = (c | 0x20) - 'a' + 10;
    else
      return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

/* Decodes the escape at ps->p (just after the backslash) into the string buffer. */
static int parse_escape(parser_t *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  if (p >= end)
    return fail_at(ps, p, "unterminated string");
  if (sb_room(ps, 4) < 0)
    return fail_at(ps, p, "out of memory");
  jsonf_doc_t *d = ps->d;
  char *o = d->sb + d->sb_len;
  /* pairs: escape letter, then the byte it stands for */
  static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
  for (const char *m = simple; *m; m += 2) {
    if (*p == (unsigned char)m[0]) {
      *o = m[1];
      d->sb_len++;
      ps->p = p + 1;
      return 0;
    }
  }
  switch (*p) {
  case 'u': {
    unsigned cp, lo;
    if (end - p < 5 || hex4(p + 1, &cp) < 0)
      return fail_at(ps, p - 1, "invalid \\u escape");
    p += 5;
    if (cp == 0)
      return fail_at(ps, p - 6, "\\u0000 is not allowed");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return fail_at(ps, p - 6, "lone surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return fail_at(ps, p - 6, "lone surrogate in \\u escape");
      if (hex4(p + 2, &lo) < 0)
        return fail_at(ps, p, "invalid \\u escape");
      if (lo < 0xDC00 || lo > 0xDFFF)
        return fail_at(ps, p - 6, "lone surrogate in \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      p += 6;
    }
    size_t n;
    if (cp < 0x80) {
      o[0] = (char)cp;
      n = 1;
    } else if (cp < 0x800) {
      o[0] = (char)(0xC0 | cp >> 6);
      o[1] = (char)(0x80 | (cp & 0x3F));
      n = 2;
    } else if (cp < 0x10000) {
      o[0] = (char)(0xE0 | cp >> 12);
      o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
      o[2] = (char)(0x80 | (cp & 0x3F));
      n = 3;
    } else {
      o[0] = (char)(0xF0 | cp >> 18);
      o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
      o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
      o[3] = (char)(0x80 | (cp & 0x3F));
      n = 4;
    }
    d->sb_len += n;
    ps->p = p;
    return 0;
  }
  default:
    return fail_at(ps, p - 1, "invalid escape");
  }
}

/* parse_string's general case: the string at ps->p holds an escape or a byte
 * the fast path does not take; parsed from its start. */
static __attribute__((noinline)) int parse_string_slow(parser_t *ps, jsonf_node_t *n) {
  const unsigned char *p = ps->p + 1, *end = ps->end, *span = p;
  jsonf_doc_t *d = ps->d;
  size_t from = 0;
  int escaped = 0;
  for (;;) {
    p = jsonf_skip_plain(p, end);
    if (p >= end)
      return fail_at(ps, ps->p, "unterminated string");
    unsigned c = *p;
    if (c == '"')
      break;
    if (c >= 0x80) {
      size_t k = jsonf_utf8_seq(p, end);
      if (!k)
        return fail_at(ps, p, "invalid UTF-8");
      p += k;
      continue;
    }
    if (c < 0x20)
      return fail_at(ps, p, "control character in string");
    /* backslash: move the span so far to the string buffer, decode from there on */
    size_t len = (size_t)(p - span);
    if (sb_room(ps, len + 4) < 0)
      return fail_at(ps, p, "out of memory");
    if (!escaped) {
      escaped = 1;
      from = d->sb_len;
    }
    memcpy(d->sb + d->sb_len, span, len);
    d->sb_len += len;
    ps->p = p + 1;
    if (parse_escape(ps) < 0)
      return -1;
    p = span = ps->p;
  }
  if (!escaped) {
    n->v.s = (const char *)span;
    n->len = (uint32_t)(p - span);
    n->flags = JSONF_PLAIN | JSONF_UTF8;
  } else {
    size_t len = (size_t)(p - span);
    if (sb_room(ps, len) < 0)
      return fail_at(ps, p, "out of memory");
    memcpy(d->sb + d->sb_len, span, len);
    d->sb_len += len;
    n->v.s = d->sb + from;
    n->len = (uint32_t)(d->sb_len - from);
    n->flags = JSONF_UTF8; /* validated spans, and escapes decode to valid UTF-8 */
  }
  ps->p = p + 1;
  return 0;
}

/* Parses the string whose opening quote is at ps->p into node n (its type is
 * set by the caller): bytes inside the input when it holds no escape
 * (JSONF_PLAIN), else decoded into the string buffer. The common string, ASCII
 * or valid UTF-8 without escapes, is read here without leaving the caller. */
static inline __attribute__((always_inline)) int parse_string(parser_t *ps, jsonf_node_t *n) {
  const unsigned char *start = ps->p + 1, *p = start, *end = ps->end;
  for (;;) {
    p = jsonf_skip_plain(p, end);
    if (p < end && *p == '"')
      break;
    if (p >= end || *p < 0x80)
      return parse_string_slow(ps, n); /* escape, control character, unterminated */
    size_t k = jsonf_utf8_seq(p, end);
    if (!k)
      return parse_string_slow(ps, n);
    p += k;
  }
  n->v.s = (const char *)start;
  n->len = (uint32_t)(p - start);
  n->flags = JSONF_PLAIN | JSONF_UTF8;
  ps->p = p + 1;
  return 0;
}

/* Powers of ten that are exact doubles. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a decimal whose digits m fit in 53 bits, scaled by an
 * exactly representable power of ten, is one correctly rounded multiplication
 * or division away from its double, i.e. exactly what strtod returns. */
static int real_fast(uint64_t m, int64_t e10, int neg, double *out) {
#if FLT_EVAL_METHOD == 0
  if (m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
    return 0;
  double d = (double)m;
  d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
  *out = neg ? -d : d;
  return 1;
#else
  (void)m, (void)e10, (void)neg, (void)out;
  return 0; /* extended precision intermediates would round twice */
#endif
}

static int parse_number(parser_t *ps) {
  const unsigned char *start = ps->p, *p = start, *end = ps->end;
  int neg = 0, overflow = 0;
  uint64_t u = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (p >= end || *p < '0' || *p > '9')
    return fail_at(ps, start, "invalid number");
  if (*p == '0') {
    p++;
    if (p < end && *p >= '0' && *p <= '9')
      return fail_at(ps, start, "leading zero in number");
  } else {
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
      unsigned d = *p - '0';
      if (u > (UINT64_MAX - d) / 10)
        overflow = 1;
      else
        u = u * 10 + d;
    }
  }
  if (p >= end || (*p != '.' && *p != 'e' && *p != 'E')) {
    ps->p = p;
    if (overflow || u > (uint64_t)INT64_MAX + (uint64_t)neg)
      return fail_at(ps, start, "integer out of range");
    jsonf_node_t *n = push(ps, JSONF_INTEGER);
    if (!n)
      return -1;
    n->v.i = neg ? (int64_t)(0 - u) : (int64_t)u; /* wraps to INT64_MIN */
    return 0;
  }
  /* The digits as an integer m and a power of ten, for the fast path; m stops
   * being exact (overflow) past 19 digits, and then strtod decides. */
  int64_t e10 = 0;
  if (*p == '.') {
    p++;
    if (p >= end || *p < '0' || *p > '9')
      return fail_at(ps, start, "invalid number");
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
      unsigned d = *p - '0';
      if (u > (UINT64_MAX - d) / 10) {
        overflow = 1;
      } else {
        u = u * 10 + d;
        e10--;
      }
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    int64_t ev = 0;
    if (p < end && (*p == '+' || *p == '-'))
      eneg = *p++ == '-';
    if (p >= end || *p < '0' || *p > '9')
      return fail_at(ps, start, "invalid number");
    for (; p < end && *p >= '0' && *p <= '9'; p++)
      if (ev < 100000)
        ev = ev * 10 + (*p - '0');
    e10 += eneg ? -ev : ev;
  }
  double d;
  if (overflow || !real_fast(u, e10, neg, &d)) {
    /* strtod needs a NUL-terminated copy: the input is not terminated after the number */
    size_t len = (size_t)(p - start);
    char stack[JSONF_NUM_STACK], *tmp = stack;
    if (len >= sizeof stack && !(tmp = malloc(len + 1)))
      return fail_at(ps, start, "out of memory");
    memcpy(tmp, start, len);
    tmp[len] = '\0';
    errno = 0;
    d = strtod(tmp, NULL);
    int range = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    if (tmp != stack)
      free(tmp);
    if (range) /* jansson rejects overflow too; underflow to 0 or a subnormal is fine */
      return fail_at(ps, start, "real number overflow");
  }
  ps->p = p;
  jsonf_node_t *n = push(ps, JSONF_REAL);
  if (!n)
    return -1;
  n->v.d = d;
  return 0;
}

static int dup_grow(jsonf_doc_t *d) {
  size_t cap = d->dup_cap ? d->dup_cap * 2 : 64;
  jsonf_dup_t *t = calloc(cap, sizeof(*t));
  if (!t)
    return -1;
  for (size_t i = 0; i < d->dup_cap; i++) {
    const jsonf_dup_t *e = &d->dup[i];
    if (e->gen != d->gen)
      continue;
    size_t h = (d->nodes[e->key].hash ^ e->obj * 0x9E3779B9u) & (cap - 1);
    while (t[h].gen == d->gen)
      h = (h + 1) & (cap - 1);
    t[h] = *e;
  }
  free(d->dup);
  d->dup = t;
  d->dup_cap = cap;
  return 0;
}

/* Records key node ki of object obj: 0, 1 when the object already has that
 * key, -1 when out of memory. */
static int dup_check(jsonf_doc_t *d, size_t obj, size_t ki) {
  if ((d->dup_used + 1) * 2 > d->dup_cap && dup_grow(d) < 0)
    return -1;
  const jsonf_node_t *k = &d->nodes[ki];
  size_t mask = d->dup_cap - 1, h = (k->hash ^ (uint32_t)obj * 0x9E3779B9u) & mask;
  for (;; h = (h + 1) & mask) {
    jsonf_dup_t *e = &d->dup[h];
    if (e->gen != d->gen) {
      *e = (jsonf_dup_t){d->gen, (uint32_t)obj, (uint32_t)ki};
      d->dup_used++;
      return 0;
    }
    const jsonf_node_t *o = &d->nodes[e->key];
    if (e->obj == obj && o->hash == k->hash && o->len == k->len &&
        memcmp(o->v.s, k->v.s, k->len) == 0)
      return 1;
  }
}

/* Objects up to this many members find repeated keys through a 64-bit filter
 * of their key hashes and a walk over their own keys when it may have seen the
 * key; larger ones through the document's table. */
#define DUP_LINEAR 32

/* 1 when an earlier key of object obj (whose members so far end before key
 * node ki) equals key ki. */
static int dup_walk(const jsonf_doc_t *d, size_t obj, size_t ki) {
  const jsonf_node_t *k = &d->nodes[ki], *o = &d->nodes[obj + 1];
  for (; o < k; o = o + 1 + o[1].size)
    if (o->hash == k->hash && o->len == k->len && memcmp(o->v.s, k->v.s, k->len) == 0)
      return 1;
  return 0;
}

static int parse_literal(parser_t *ps, const char *word, size_t n, jsonf_type_t type) {
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return fail_at(ps, ps->p, "invalid literal");
  ps->p += n;
  return push(ps, type) ? 0 : -1;
}

#define SKIP_WS()                                                                                  \
  do {                                                                                             \
    if (p < end && *p <= ' ')                                                                      \
      while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))                     \
        p++;                                                                                       \
  } while (0)
#define FAIL(at, why)                                                                              \
  do {                                                                                             \
    ps->p = p;                                                                                     \
    return fail_at(ps, at, why);                                                                   \
  } while (0)
/* Runs a helper that reads at ps->p and advances it. */
#define CALL(expr)                                                                                 \
  do {                                                                                             \
    ps->p = p;                                                                                     \
    if ((expr) < 0)                                                                                \
      return -1;                                                                                   \
    p = ps->p;                                                                                     \
  } while (0)

/* The reader proper: one value with everything in it, without a call per
 * value. Open containers are frames on the document's stack (one per nesting
 * level, up to max_depth). The checks and error positions are those of a
 * recursive descent: a value, then for a container its members or items,
 * each followed by ',' or the closing bracket. */
static int parse_text(parser_t *ps) {
  jsonf_doc_t *d = ps->d;
  const unsigned char *p = ps->p, *end = ps->end;
  size_t depth = 0;
  jsonf_frame_t *f = NULL; /* the innermost open container */
  jsonf_node_t *n;

value:
  SKIP_WS();
  if (p >= end)
    FAIL(p, "unexpected end of input");
  switch (*p) {
  case '{':
  case '[': {
    if (depth >= (size_t)(ps->max_depth > 0 ? ps->max_depth : 0))
      FAIL(p, "maximum nesting depth exceeded");
    if (depth == d->frames_cap && jsonf_doc_grow_frames(d) < 0)
      FAIL(p, "out of memory");
    int obj = *p == '{';
    size_t at = d->count;
    ps->p = p;
    if (!push(ps, obj ? JSONF_OBJECT : JSONF_ARRAY))
      return -1;
    f = &d->frames[depth++];
    f->at = (uint32_t)at;
    f->count = 0;
    f->seen = 0;
    p++;
    SKIP_WS();
    if (p < end && *p == (obj ? '}' : ']')) {
      p++;
      goto close;
    }
    if (obj)
      goto key;
    goto value;
  }
  case '"':
    ps->p = p;
    if (!(n = push(ps, JSONF_STRING)))
      return -1;
    CALL(parse_string(ps, n));
    goto next;
  case 't':
    CALL(parse_literal(ps, "true", 4, JSONF_TRUE));
    goto next;
  case 'f':
    CALL(parse_literal(ps, "false", 5, JSONF_FALSE));
    goto next;
  case 'n':
    CALL(parse_literal(ps, "null", 4, JSONF_NULL));
    goto next;
  default:
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
      CALL(parse_number(ps));
      goto next;
    }
    FAIL(p, "unexpected character");
  }

key: /* at a member of f, an object */
  f->key_at = p;
  if (p >= end)
    FAIL(p, "unterminated object");
  if (*p != '"')
    FAIL(p, "expected string key");
  f->key = (uint32_t)d->count;
  ps->p = p;
  if (!(n = push(ps, JSONF_STRING)))
    return -1;
  CALL(parse_string(ps, n));
  n->hash = jsonf_key_hash(n->v.s, n->len);
  SKIP_WS();
  if (p >= end || *p != ':')
    FAIL(p, "expected ':'");
  p++;
  goto value;

next: /* after a value: the next member or item of f, or its end */
  if (!depth) {
    ps->p = p;
    return 0;
  }
  if (d->nodes[f->at].type == JSONF_OBJECT) {
    /* After the value, as jansson's insert did: an error inside the value of a
     * repeated key is the one reported. */
    int dup = 0;
    if (f->count < DUP_LINEAR) {
      uint64_t bit = UINT64_C(1) << (d->nodes[f->key].hash >> 26);
      if (f->seen & bit)
        dup = dup_walk(d, f->at, f->key);
      f->seen |= bit;
    } else {
      if (f->count == DUP_LINEAR) /* from now on through the table: enter the keys so far */
        for (size_t o = f->at + 1; o < f->key && dup == 0; o = o + 1 + d->nodes[o + 1].size)
          dup = dup_check(d, f->at, o);
      if (dup == 0)
        dup = dup_check(d, f->at, f->key);
    }
    if (dup != 0)
      FAIL(f->key_at, dup < 0 ? "out of memory" : "duplicate object key");
    f->count++;
    SKIP_WS();
    if (p >= end)
      FAIL(p, "unterminated object");
    if (*p == '}') {
      p++;
      goto close;
    }
    if (*p != ',')
      FAIL(p, "expected ',' or '}'");
    p++;
    SKIP_WS();
    goto key;
  }
  f->count++;
  SKIP_WS();
  if (p >= end)
    FAIL(p, "unterminated array");
  if (*p == ']') {
    p++;
    goto close;
  }
  if (*p != ',')
    FAIL(p, "expected ',' or ']'");
  p++;
  goto value;

close: /* f is complete (p is past its closing bracket) */
  d->nodes[f->at].len = f->count;
  d->nodes[f->at].size = (uint32_t)(d->count - f->at);
  depth--;
  f = depth ? &d->frames[depth - 1] : NULL;
  goto next;
}

#undef SKIP_WS
#undef FAIL
#undef CALL

const jsonf_node_t *jsonf_doc_parse(jsonf_doc_t *d, const char *buf, size_t len, int max_depth,
                                    char *errstr, size_t errstr_size) {
  static const char empty[1] = "";
  const unsigned char *b = (const unsigned char *)(buf ? buf : empty);
  parser_t ps = {.p = b, .start = b, .end = b + (buf ? len : 0), .max_depth = max_depth, .d = d};
  jsonf_doc_trim(d);
  d->count = 0;
  d->sb_len = 0;
  d->dup_used = 0;
  if (++d->gen == 0) { /* after 2^32 parses: empty the table for real */
    if (d->dup)
      memset(d->dup, 0, d->dup_cap * sizeof(*d->dup));
    d->gen = 1;
  }
  int rc;
  if (buf && len > JSONF_MAX_INPUT) {
    rc = fail_at(&ps, b, "input too large");
  } else {
    rc = parse_text(&ps);
    if (rc == 0) {
      skip_ws(&ps);
      if (ps.p != ps.end)
        rc = fail_at(&ps, ps.p, "unexpected data after the value");
    }
  }
  if (rc < 0) {
    d->count = 0;
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "invalid JSON at byte %zu: %s", ps.err_at,
               ps.reason ? ps.reason : "out of memory");
    return NULL;
  }
  return d->nodes;
}
