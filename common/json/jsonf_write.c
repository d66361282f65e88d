/* jsonf_write — the compact writer, for jansson values and jsonf documents.
 *
 * Formats into one growing buffer and must match json_dumps(JSON_COMPACT) byte
 * for byte, including jansson's real formatting; both forms share the leaf
 * writers, so the same value gives the same bytes from either. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonf_internal.h"

#define JSONF_DUMP_CAP ((size_t)1 << 30)

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
    p = jsonf_skip_plain(p, end);
    if (p >= end)
      break;
    if (*p >= 0x80) { /* jansson refuses to dump invalid UTF-8; so do we */
      size_t k = jsonf_utf8_seq(p, end);
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

size_t jsonf_format_int(char *out, int64_t i) {
  char tmp[24], *end = tmp + sizeof tmp;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  char *s = fmt_u64(u, end);
  if (i < 0)
    *--s = '-';
  memcpy(out, s, (size_t)(end - s));
  return (size_t)(end - s);
}

static int dump_integer(int64_t i, jsonf_buf_t *b) {
  if (buf_reserve(b, JSONF_INT_MAX) < 0)
    return -1;
  b->len += jsonf_format_int(b->data + b->len, i);
  return 0;
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

/* A plain string needs no escaping: its bytes are copied as they are. */
static int dump_str_node(const jsonf_node_t *s, jsonf_buf_t *b) {
  if (!(s->flags & JSONF_PLAIN))
    return dump_string(s->v.s, s->len, b);
  if (buf_reserve(b, (size_t)s->len + 2) < 0)
    return -1;
  char *o = b->data + b->len;
  o[0] = '"';
  memcpy(o + 1, s->v.s, s->len);
  o[s->len + 1] = '"';
  b->len += (size_t)s->len + 2;
  return 0;
}

static int dump_value(const json_t *v, jsonf_buf_t *b, int depth) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    if (depth >= JSONF_MAX_DEPTH || put(b, "{", 1) < 0)
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
    if (depth >= JSONF_MAX_DEPTH || put(b, "[", 1) < 0)
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

static int dump_node(const jsonf_node_t *v, jsonf_buf_t *b, int depth) {
  switch (v->type) {
  case JSONF_OBJECT: {
    if (depth >= JSONF_MAX_DEPTH || put(b, "{", 1) < 0)
      return -1;
    const jsonf_node_t *k = v + 1;
    for (uint32_t i = 0; i < v->len; i++, k = k + 1 + k[1].size) {
      const jsonf_node_t *x = k + 1;
      int plain_value = x->type == JSONF_STRING && (x->flags & JSONF_PLAIN);
      if (k->flags & JSONF_PLAIN) {
        /* The common member, "key":"value" or "key":<other>, with one
         * reservation: ',' '"' key '"' ':' and, for a plain value, '"' value '"'. */
        size_t need = (size_t)k->len + 4 + (plain_value ? (size_t)x->len + 2 : 0);
        if (buf_reserve(b, need) < 0)
          return -1;
        char *o = b->data + b->len;
        if (i)
          *o++ = ',';
        *o++ = '"';
        memcpy(o, k->v.s, k->len);
        o += k->len;
        *o++ = '"';
        *o++ = ':';
        if (plain_value) {
          *o++ = '"';
          memcpy(o, x->v.s, x->len);
          o += x->len;
          *o++ = '"';
        }
        b->len = (size_t)(o - b->data);
        if (plain_value)
          continue;
      } else if ((i && put(b, ",", 1) < 0) || dump_str_node(k, b) < 0 || put(b, ":", 1) < 0) {
        return -1;
      }
      if (dump_node(x, b, depth + 1) < 0)
        return -1;
    }
    return put(b, "}", 1);
  }
  case JSONF_ARRAY: {
    if (depth >= JSONF_MAX_DEPTH || put(b, "[", 1) < 0)
      return -1;
    const jsonf_node_t *c = v + 1;
    for (uint32_t i = 0; i < v->len; i++, c += c->size) {
      if ((i && put(b, ",", 1) < 0) || dump_node(c, b, depth + 1) < 0)
        return -1;
    }
    return put(b, "]", 1);
  }
  case JSONF_STRING:
    return dump_str_node(v, b);
  case JSONF_INTEGER:
    return dump_integer(v->v.i, b);
  case JSONF_REAL:
    return dump_real(v->v.d, b);
  case JSONF_TRUE:
    return put(b, "true", 4);
  case JSONF_FALSE:
    return put(b, "false", 5);
  case JSONF_NULL:
    return put(b, "null", 4);
  }
  return -1;
}

int jsonf_dump_node(const jsonf_node_t *v, jsonf_buf_t *out) {
  size_t was = out->len;
  if (!v || dump_node(v, out, 0) < 0) {
    out->len = was;
    return -1;
  }
  return 0;
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

int jsonf_buf_append_int(jsonf_buf_t *b, int64_t i) {
  return dump_integer(i, b);
}

int jsonf_buf_reserve(jsonf_buf_t *b, size_t n) {
  return buf_reserve(b, n);
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

void jsonf_buf_free(jsonf_buf_t *b) {
  if (!b)
    return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
