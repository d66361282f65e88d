/* jsonf: fast strict JSON reader and compact writer for jansson values.
 *
 * The reader is recursive descent over a byte range (recursion bounded by max_depth).
 * Strings without escapes are handed to jansson straight from the input; strings with
 * escapes are decoded into a scratch stack so an object key survives while its value
 * is parsed. UTF-8 is validated here, so the *_nocheck constructors are safe.
 * The writer formats into one growing buffer and must match json_dumps(JSON_COMPACT)
 * byte for byte, including jansson's real formatting. */
#include "json/jsonf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONF_DUMP_MAX_DEPTH 2048
#define JSONF_DUMP_CAP ((size_t)1 << 30)
#define JSONF_NUM_STACK 64

/* 1 for bytes that end the fast ASCII run inside a string: '"', '\\', control
 * characters (rejected) and bytes >= 0x80 (validated as UTF-8). */
// clang-format off
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 '\\' */
    [0x80 ... 0xFF] = 1, /* GNU range: the build is C11 with extensions */
};
// clang-format on

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when some byte of the 8 at p is a str_stop byte. May report false positives
 * (the caller then goes byte by byte) but never misses one. */
static inline uint64_t word_has_stop(const unsigned char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');
  return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((s - ONES) & ~s) | w) & HIGHS;
}

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF, like jansson. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
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

/* ------------------------------------------------------------------ reader */

typedef struct parser {
  const unsigned char *p, *start, *end;
  int depth, max_depth;
  const char *reason; /* first error; fixed text, never input bytes */
  size_t err_at;
  char *sb; /* scratch stack for decoded strings; sb_len is its top */
  size_t sb_len, sb_cap;
} parser_t;

static json_t *parse_value(parser_t *ps);

/* Records the first error only: later failures are consequences of it. */
static void *fail_at(parser_t *ps, const unsigned char *at, const char *reason) {
  if (!ps->reason) {
    ps->reason = reason;
    ps->err_at = (size_t)(at - ps->start);
  }
  return NULL;
}

static inline void skip_ws(parser_t *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  ps->p = p;
}

static int sb_reserve(parser_t *ps, size_t n) {
  if (ps->sb_cap - ps->sb_len >= n)
    return 0;
  size_t cap = ps->sb_cap ? ps->sb_cap : 256;
  while (cap - ps->sb_len < n) {
    if (cap > SIZE_MAX / 2)
      return -1;
    cap *= 2;
  }
  char *nb = realloc(ps->sb, cap);
  if (!nb)
    return -1;
  ps->sb = nb;
  ps->sb_cap = cap;
  return 0;
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

/* Decodes the escape at ps->p (just after the backslash) onto the scratch stack. */
static int parse_escape(parser_t *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  if (p >= end)
    return fail_at(ps, p, "unterminated string"), -1;
  if (sb_reserve(ps, 4) < 0)
    return fail_at(ps, p, "out of memory"), -1;
  char *o = ps->sb + ps->sb_len;
  /* pairs: escape letter, then the byte it stands for */
  static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
  for (const char *m = simple; *m; m += 2) {
    if (*p == (unsigned char)m[0]) {
      *o = m[1];
      ps->sb_len++;
      ps->p = p + 1;
      return 0;
    }
  }
  switch (*p) {
  case 'u': {
    unsigned cp, lo;
    if (end - p < 5 || hex4(p + 1, &cp) < 0)
      return fail_at(ps, p - 1, "invalid \\u escape"), -1;
    p += 5;
    if (cp == 0)
      return fail_at(ps, p - 6, "\\u0000 is not allowed"), -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return fail_at(ps, p - 6, "lone surrogate in \\u escape"), -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return fail_at(ps, p - 6, "lone surrogate in \\u escape"), -1;
      if (hex4(p + 2, &lo) < 0)
        return fail_at(ps, p, "invalid \\u escape"), -1;
      if (lo < 0xDC00 || lo > 0xDFFF)
        return fail_at(ps, p - 6, "lone surrogate in \\u escape"), -1;
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
    ps->sb_len += n;
    ps->p = p;
    return 0;
  }
  default:
    return fail_at(ps, p - 1, "invalid escape"), -1;
  }
}

/* Parses the string whose opening quote is at ps->p. On success *s and *n give its bytes:
 * either inside the input, or (when *in_sb) at scratch offset *s_off, which stays
 * valid until the caller pops the scratch stack back to its previous sb_len. */
static int parse_string(parser_t *ps, const char **s, size_t *n, size_t *s_off, int *in_sb) {
  const unsigned char *p = ps->p + 1, *end = ps->end, *span = p;
  int escaped = 0;
  *in_sb = 0;
  for (;;) {
    while (end - p >= 8 && !word_has_stop(p))
      p += 8;
    while (p < end && !str_stop[*p])
      p++;
    if (p >= end)
      return fail_at(ps, ps->p, "unterminated string"), -1;
    unsigned c = *p;
    if (c == '"')
      break;
    if (c >= 0x80) {
      size_t k = utf8_seq(p, end);
      if (!k)
        return fail_at(ps, p, "invalid UTF-8"), -1;
      p += k;
      continue;
    }
    if (c < 0x20)
      return fail_at(ps, p, "control character in string"), -1;
    /* backslash: move the span so far to the scratch stack and decode from there on */
    if (!escaped) {
      escaped = 1;
      *s_off = ps->sb_len;
    }
    size_t len = (size_t)(p - span);
    if (sb_reserve(ps, len + 4) < 0) /* +4: never a NULL memcpy target, room for the escape */
      return fail_at(ps, p, "out of memory"), -1;
    memcpy(ps->sb + ps->sb_len, span, len);
    ps->sb_len += len;
    ps->p = p + 1;
    if (parse_escape(ps) < 0)
      return -1;
    p = span = ps->p;
  }
  if (!escaped) {
    *s = (const char *)span;
    *n = (size_t)(p - span);
  } else {
    size_t len = (size_t)(p - span);
    if (sb_reserve(ps, len + 4) < 0) /* +4: never a NULL memcpy target */
      return fail_at(ps, p, "out of memory"), -1;
    memcpy(ps->sb + ps->sb_len, span, len);
    ps->sb_len += len;
    *n = ps->sb_len - *s_off;
    *in_sb = 1;
  }
  ps->p = p + 1;
  return 0;
}

static json_t *parse_number(parser_t *ps) {
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
    json_int_t v = neg ? (json_int_t)(0 - u) : (json_int_t)u; /* wraps to INT64_MIN */
    json_t *j = json_integer(v);
    return j ? j : fail_at(ps, start, "out of memory");
  }
  if (*p == '.') {
    p++;
    if (p >= end || *p < '0' || *p > '9')
      return fail_at(ps, start, "invalid number");
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end || *p < '0' || *p > '9')
      return fail_at(ps, start, "invalid number");
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  }
  /* strtod needs a NUL-terminated copy: the input is not terminated after the number */
  size_t len = (size_t)(p - start);
  char stack[JSONF_NUM_STACK], *tmp = stack;
  if (len >= sizeof stack && !(tmp = malloc(len + 1)))
    return fail_at(ps, start, "out of memory");
  memcpy(tmp, start, len);
  tmp[len] = '\0';
  errno = 0;
  double d = strtod(tmp, NULL);
  int range = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
  if (tmp != stack)
    free(tmp);
  if (range) /* jansson rejects overflow too; underflow to 0 or a subnormal is fine */
    return fail_at(ps, start, "real number overflow");
  ps->p = p;
  json_t *j = json_real(d);
  return j ? j : fail_at(ps, start, "out of memory");
}

/* After an array element or object member: returns 1 at the closing
 * bracket (consumed), 0 after a ',' (consumed), -1 on an error (reported). */
static int after_element(parser_t *ps, char close, const char *unterminated, const char *expected) {
  skip_ws(ps);
  if (ps->p >= ps->end) {
    fail_at(ps, ps->p, unterminated);
    return -1;
  }
  if (*ps->p == close) {
    ps->p++;
    return 1;
  }
  if (*ps->p != ',') {
    fail_at(ps, ps->p, expected);
    return -1;
  }
  ps->p++;
  return 0;
}

static json_t *parse_array(parser_t *ps) {
  json_t *arr = json_array();
  if (!arr)
    return fail_at(ps, ps->p, "out of memory");
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    return arr;
  }
  for (;;) {
    json_t *v = parse_value(ps);
    if (!v)
      goto fail;
    if (json_array_append_new(arr, v) < 0) {
      fail_at(ps, ps->p, "out of memory");
      goto fail;
    }
    int end = after_element(ps, ']', "unterminated array", "expected ',' or ']'");
    if (end < 0)
      goto fail;
    if (end)
      return arr;
  }
fail:
  json_decref(arr);
  return NULL;
}

static json_t *parse_object(parser_t *ps) {
  json_t *obj = json_object();
  if (!obj)
    return fail_at(ps, ps->p, "out of memory");
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    return obj;
  }
  for (;;) {
    const char *key = NULL;
    size_t klen = 0, koff = 0, top = ps->sb_len;
    int in_sb;
    const unsigned char *key_at = ps->p;
    if (ps->p >= ps->end) {
      fail_at(ps, ps->p, "unterminated object");
      goto fail;
    }
    if (*ps->p != '"') {
      fail_at(ps, ps->p, "expected string key");
      goto fail;
    }
    if (parse_string(ps, &key, &klen, &koff, &in_sb) < 0)
      goto fail;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') {
      fail_at(ps, ps->p, "expected ':'");
      goto fail;
    }
    ps->p++;
    json_t *v = parse_value(ps);
    if (!v)
      goto fail;
    if (in_sb) /* the scratch stack may have moved while the value was parsed */
      key = ps->sb + koff;
    /* One hash lookup instead of getn + set: a duplicate key replaces the old
     * value, so an unchanged size means the key was already there. */
    size_t before = json_object_size(obj);
    if (json_object_setn_new_nocheck(obj, key, klen, v) < 0) {
      fail_at(ps, key_at, "out of memory");
      goto fail;
    }
    ps->sb_len = top;
    if (json_object_size(obj) == before) {
      fail_at(ps, key_at, "duplicate object key");
      goto fail;
    }
    int end = after_element(ps, '}', "unterminated object", "expected ',' or '}'");
    if (end < 0)
      goto fail;
    if (end)
      return obj;
    skip_ws(ps);
  }
fail:
  json_decref(obj);
  return NULL;
}

static json_t *parse_literal(parser_t *ps, const char *word, size_t n, json_t *v) {
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return fail_at(ps, ps->p, "invalid literal");
  ps->p += n;
  return v;
}

static json_t *parse_value(parser_t *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end)
    return fail_at(ps, ps->p, "unexpected end of input");
  switch (*ps->p) {
  case '{':
  case '[': {
    if (ps->depth >= ps->max_depth)
      return fail_at(ps, ps->p, "maximum nesting depth exceeded");
    ps->depth++;
    json_t *v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
    ps->depth--;
    return v;
  }
  case '"': {
    const char *s = NULL;
    size_t n = 0, off = 0, top = ps->sb_len;
    int in_sb;
    const unsigned char *at = ps->p;
    if (parse_string(ps, &s, &n, &off, &in_sb) < 0)
      return NULL;
    json_t *v = json_stringn_nocheck(in_sb ? ps->sb + off : s, n);
    ps->sb_len = top;
    return v ? v : fail_at(ps, at, "out of memory");
  }
  case 't':
    return parse_literal(ps, "true", 4, json_true());
  case 'f':
    return parse_literal(ps, "false", 5, json_false());
  case 'n':
    return parse_literal(ps, "null", 4, json_null());
  default:
    if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
      return parse_number(ps);
    return fail_at(ps, ps->p, "unexpected character");
  }
}

json_t *jsonf_parse(const char *buf, size_t len, int max_depth, char *errstr, size_t errstr_size) {
  static const char empty[1] = "";
  const unsigned char *b = (const unsigned char *)(buf ? buf : empty);
  parser_t ps = {.p = b, .start = b, .end = b + (buf ? len : 0), .max_depth = max_depth};
  json_t *v = parse_value(&ps);
  if (v) {
    skip_ws(&ps);
    if (ps.p != ps.end) {
      json_decref(v);
      v = fail_at(&ps, ps.p, "unexpected data after the value");
    }
  }
  free(ps.sb);
  if (!v && errstr && errstr_size)
    snprintf(errstr, errstr_size, "invalid JSON at byte %zu: %s", ps.err_at,
             ps.reason ? ps.reason : "out of memory");
  return v;
}

/* ------------------------------------------------------------------ writer */

/* Makes room for n more bytes; geometric growth, capped so a runaway value cannot
 * take all memory (and so len + n never overflows). */
static int buf_reserve(jsonf_buf_t *b, size_t n) {
  if (b->cap - b->len >= n)
    return 0;
  if (n > JSONF_DUMP_CAP - b->len)
    return -1;
  size_t cap = b->cap < 256 ? 256 : b->cap;
  while (cap - b->len < n)
    cap *= 2;
  if (cap > JSONF_DUMP_CAP)
    cap = JSONF_DUMP_CAP;
  char *nd = realloc(b->data, cap);
  if (!nd)
    return -1;
  b->data = nd;
  b->cap = cap;
  return 0;
}

static inline int put(jsonf_buf_t *b, const char *s, size_t n) {
  if (buf_reserve(b, n) < 0)
    return -1;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

/* Escape for each byte below 0x80: 0 = copy as is, 'u' = \u00XX (jansson prints
 * the hex in upper case), other = the letter after the backslash. */
// clang-format off
static const char esc[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"', ['\\'] = '\\',
};
// clang-format on

static int dump_string(const char *str, size_t n, jsonf_buf_t *b) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *p = (const unsigned char *)str, *end = p + n, *span = p;
  if (buf_reserve(b, n + 2) < 0)
    return -1;
  b->data[b->len++] = '"';
  for (;;) {
    while (end - p >= 8 && !word_has_stop(p))
      p += 8;
    while (p < end && !str_stop[*p])
      p++;
    if (p >= end)
      break;
    if (*p >= 0x80) { /* jansson refuses to dump invalid UTF-8; so do we */
      size_t k = utf8_seq(p, end);
      if (!k)
        return -1;
      p += k;
      continue;
    }
    if (put(b, (const char *)span, (size_t)(p - span)) < 0 || buf_reserve(b, 6) < 0)
      return -1;
    char *o = b->data + b->len, e = esc[*p];
    o[0] = '\\';
    if (e == 'u') {
      memcpy(o + 1, "u00", 3);
      o[4] = hex[*p >> 4];
      o[5] = hex[*p & 15];
      b->len += 6;
    } else {
      o[1] = e;
      b->len += 2;
    }
    span = ++p;
  }
  if (put(b, (const char *)span, (size_t)(p - span)) < 0 || buf_reserve(b, 1) < 0)
    return -1;
  b->data[b->len++] = '"';
  return 0;
}

/* Formats u in decimal at the end of tmp[24]; returns the start. */
static char *fmt_u64(uint64_t u, char *tmp_end) {
  char *s = tmp_end;
  do {
    *--s = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  return s;
}

static int dump_integer(json_int_t i, jsonf_buf_t *b) {
  char tmp[24], *end = tmp + sizeof tmp;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  char *s = fmt_u64(u, end);
  if (i < 0)
    *--s = '-';
  return put(b, s, (size_t)(end - s));
}

/* Same text as jansson 2.14's jsonp_dtostr with its default precision: "%.17g", then
 * ".0" when there is neither '.' nor 'e', and the exponent without '+' or leading
 * zeros. Integral values below 1e17 print their digits under "%.17g", so they skip
 * snprintf (prices like 8500.0 are the common case). */
static int dump_real(double d, jsonf_buf_t *b) {
  char tmp[40];
  if (!isfinite(d))
    return -1;
  if (fabs(d) < 1e17 && d == (double)(int64_t)d) {
    char *end = tmp + 24, *s = fmt_u64((uint64_t)(d < 0 ? -d : d), end);
    if (signbit(d))
      *--s = '-';
    memcpy(end, ".0", 2);
    return put(b, s, (size_t)(end + 2 - s));
  }
  int n = snprintf(tmp, sizeof tmp, "%.17g", d);
  if (n < 0 || (size_t)n >= sizeof tmp - 3)
    return -1;
  char *e = NULL;
  int has_dot = 0;
  for (int i = 0; i < n; i++) {
    if (tmp[i] == ',') /* a locale's decimal comma, as jansson's from_locale */
      tmp[i] = '.';
    if (tmp[i] == '.')
      has_dot = 1;
    else if (tmp[i] == 'e')
      e = tmp + i;
  }
  if (!has_dot && !e) {
    memcpy(tmp + n, ".0", 2);
    n += 2;
  }
  if (e) {
    char *from = e + 1, *to = e + 1;
    if (*from == '-')
      from++, to++;
    else if (*from == '+')
      from++;
    while (*from == '0' && from[1] != '\0')
      from++;
    size_t rest = (size_t)(tmp + n - from);
    memmove(to, from, rest);
    n = (int)(to - tmp + (ptrdiff_t)rest);
  }
  return put(b, tmp, (size_t)n);
}

static int dump_value(const json_t *v, jsonf_buf_t *b, int depth) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    if (depth >= JSONF_DUMP_MAX_DEPTH || put(b, "{", 1) < 0)
      return -1;
    /* jansson's iterator API takes a non-const json_t but does not modify it */
    json_t *obj = (json_t *)v;
    int first = 1;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
      if (!first && put(b, ",", 1) < 0)
        return -1;
      first = 0;
      if (dump_string(json_object_iter_key(it), json_object_iter_key_len(it), b) < 0 ||
          put(b, ":", 1) < 0 || dump_value(json_object_iter_value(it), b, depth + 1) < 0)
        return -1;
    }
    return put(b, "}", 1);
  }
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    if (depth >= JSONF_DUMP_MAX_DEPTH || put(b, "[", 1) < 0)
      return -1;
    for (size_t i = 0; i < n; i++) {
      if ((i && put(b, ",", 1) < 0) || dump_value(json_array_get(v, i), b, depth + 1) < 0)
        return -1;
    }
    return put(b, "]", 1);
  }
  case JSON_STRING:
    return dump_string(json_string_value(v), json_string_length(v), b);
  case JSON_INTEGER:
    return dump_integer(json_integer_value(v), b);
  case JSON_REAL:
    return dump_real(json_real_value(v), b);
  case JSON_TRUE:
    return put(b, "true", 4);
  case JSON_FALSE:
    return put(b, "false", 5);
  case JSON_NULL:
    return put(b, "null", 4);
  }
  return -1;
}

int jsonf_dump(const json_t *v, jsonf_buf_t *out) {
  size_t was = out->len;
  if (!v || dump_value(v, out, 0) < 0) {
    out->len = was;
    return -1;
  }
  return 0;
}

char *jsonf_dumps(const json_t *v, size_t *len) {
  jsonf_buf_t b = {0};
  if (jsonf_dump(v, &b) < 0 || buf_reserve(&b, 1) < 0) {
    free(b.data);
    return NULL;
  }
  b.data[b.len] = '\0';
  if (len)
    *len = b.len;
  return b.data;
}

int jsonf_dump_string(const char *s, size_t n, jsonf_buf_t *out) {
  size_t was = out->len;
  if ((!s && n) || dump_string(s ? s : "", n, out) < 0) {
    out->len = was;
    return -1;
  }
  return 0;
}

int jsonf_buf_append(jsonf_buf_t *b, const char *s, size_t n) {
  if (n && !s)
    return -1;
  return n ? put(b, s, n) : 0;
}

void jsonf_buf_free(jsonf_buf_t *b) {
  if (!b)
    return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
