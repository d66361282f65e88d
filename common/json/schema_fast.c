/* schema_fast — compile-time tables that let the per-message walk skip the
 * costly general paths on the contracts' common shapes:
 *
 *  - object nodes get an open-addressing table of their property names, keyed
 *    by the hash the reader already stored in each key node, so the walk
 *    iterates the instance once instead of one lookup per declared and per
 *    required property;
 *  - simple anchored patterns such as ^[A-Z]{3}$ or
 *    ^[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$ become a list of ASCII class
 *    repetitions matched greedily;
 *  - SK_APPLY says whether a node has any in-place applicator, so leaf nodes
 *    skip five tests; SK_SIMPLE and SK_PURE_REF let the walk check a leaf (or
 *    follow a lone $ref) without the general node walk.
 *
 * Both are only ever used to prove success: a greedy match is a real match, and
 * anything the fast matcher does not accept goes to PCRE2, which therefore
 * still decides every failure and its message ("must be valid UTF-8" or not). */
#include <stdlib.h>
#include <string.h>

#include "json/schema_internal.h"

/* Longer patterns are rare in contracts and not worth a special case. */
#define FRE_MAX_ITEMS 32
/* PCRE2's own limit for a repetition count. */
#define FRE_MAX_COUNT 65535u

static int fre_literal_ok(unsigned char ch) {
  /* Printable ASCII that is not a regex metacharacter outside a class. */
  if (ch < 0x20 || ch > 0x7e)
    return 0;
  return !strchr(".*+?{}()[]|^$\\", ch);
}

/* The class of item k is bit k of cls[]. */
static void bit_set(uint32_t *cls, size_t k, unsigned ch) {
  cls[ch] |= 1u << k;
}

/* Parses "[...]" at src[*i] (src[*i] == '['). Only plain printable ASCII
 * members and ranges: no negation, escapes or POSIX classes. */
static int parse_class(const char *src, size_t len, size_t *i, uint32_t *cls, size_t k) {
  size_t j = *i + 1;
  int any = 0;

  if (j < len && (src[j] == '^' || src[j] == ']'))
    return -1;
  while (j < len && src[j] != ']') {
    unsigned char a = (unsigned char)src[j], b;
    if (a < 0x20 || a > 0x7e || a == '\\' || a == '[')
      return -1;
    if (j + 2 < len && src[j + 1] == '-' && src[j + 2] != ']') {
      b = (unsigned char)src[j + 2];
      if (b < 0x20 || b > 0x7e || b == '\\' || b == '[' || b < a)
        return -1;
      for (unsigned ch = a; ch <= b; ch++)
        bit_set(cls, k, ch);
      j += 3;
    } else {
      bit_set(cls, k, a);
      j++;
    }
    any = 1;
  }
  if (j >= len || !any)
    return -1;
  *i = j + 1;
  return 0;
}

static int parse_uint(const char *src, size_t len, size_t *i, uint32_t *out) {
  size_t j = *i;
  uint32_t v = 0;
  if (j >= len || src[j] < '0' || src[j] > '9')
    return -1;
  while (j < len && src[j] >= '0' && src[j] <= '9') {
    v = v * 10 + (uint32_t)(src[j] - '0');
    if (v > FRE_MAX_COUNT)
      return -1;
    j++;
  }
  *i = j;
  *out = v;
  return 0;
}

/* Reads an optional quantifier at src[*i] into it->min/max (default {1}). */
static int parse_quant(const char *src, size_t len, size_t *i, schema_fre_item_t *it) {
  size_t j = *i;
  it->min = it->max = 1;
  if (j >= len)
    return 0;
  switch (src[j]) {
  case '*':
    it->min = 0;
    it->max = FRE_MAX_COUNT;
    j++;
    break;
  case '+':
    it->max = FRE_MAX_COUNT;
    j++;
    break;
  case '?':
    it->min = 0;
    j++;
    break;
  case '{':
    j++;
    if (parse_uint(src, len, &j, &it->min) < 0)
      return -1;
    it->max = it->min;
    if (j < len && src[j] == ',') {
      j++;
      it->max = FRE_MAX_COUNT;
      if (j < len && src[j] != '}' && parse_uint(src, len, &j, &it->max) < 0)
        return -1;
    }
    if (j >= len || src[j] != '}' || it->max < it->min)
      return -1;
    j++;
    break;
  default:
    return 0;
  }
  /* Lazy and possessive forms, and stacked quantifiers: leave to PCRE2. */
  if (j < len && strchr("*+?{", src[j]))
    return -1;
  *i = j;
  return 0;
}

schema_fre_t *schema_fre_compile(const char *src, size_t len) {
  schema_fre_item_t items[FRE_MAX_ITEMS];
  uint32_t cls[256] = {0};
  size_t n = 0, i = 1, group = (size_t)-1;
  schema_fre_t *fre;

  if (len < 2 || src[0] != '^' || src[len - 1] != '$' || src[len - 2] == '\\')
    return NULL;
  len--; /* the body is src[1..len) */
  while (i < len) {
    schema_fre_item_t *it;
    if (n == FRE_MAX_ITEMS)
      return NULL;
    if (src[i] == '(') {
      if (group != (size_t)-1 || (i + 1 < len && src[i + 1] == '?'))
        return NULL;
      group = n;
      memset(&items[n++], 0, sizeof(items[0]));
      i++;
      continue;
    }
    if (src[i] == ')') {
      if (group == (size_t)-1 || group + 1 == n)
        return NULL;
      it = &items[group];
      i++;
      if (parse_quant(src, len, &i, it) < 0)
        return NULL;
      it->n_sub = (uint32_t)(n - group - 1);
      group = (size_t)-1;
      continue;
    }
    it = &items[n];
    memset(it, 0, sizeof(*it));
    if (src[i] == '[') {
      if (parse_class(src, len, &i, cls, n) < 0)
        return NULL;
    } else if (fre_literal_ok((unsigned char)src[i])) {
      bit_set(cls, n, (unsigned char)src[i]);
      i++;
    } else {
      return NULL;
    }
    if (parse_quant(src, len, &i, it) < 0)
      return NULL;
    n++;
  }
  if (group != (size_t)-1 || n == 0)
    return NULL;
  fre = malloc(sizeof(*fre) + n * sizeof(fre->items[0]));
  if (!fre)
    return NULL;
  fre->n = n;
  memcpy(fre->cls, cls, sizeof(cls));
  memcpy(fre->items, items, n * sizeof(items[0]));
  return fre;
}

/* Greedy, no backtracking: items [k0, k0 + n); returns 0 with *pos advanced,
 * or -1. */
static int fre_seq(const schema_fre_t *fre, size_t k0, size_t n, const unsigned char *s, size_t len,
                   size_t *pos) {
  const schema_fre_item_t *it = fre->items;
  size_t p = *pos;
  for (size_t k = k0; k < k0 + n; k++) {
    uint32_t count = 0;
    if (it[k].n_sub) {
      while (count < it[k].max) {
        size_t q = p;
        if (fre_seq(fre, k + 1, it[k].n_sub, s, len, &q) < 0 || q == p)
          break;
        p = q;
        count++;
      }
      if (count < it[k].min)
        return -1;
      k += it[k].n_sub;
      continue;
    }
    size_t start = p, end = len - p > it[k].max ? p + it[k].max : len;
    uint32_t bit = 1u << k;
    /* Four bytes per step for the long runs (64 hex digits of a hash). */
    while (end - p >= 4 &&
           (fre->cls[s[p]] & fre->cls[s[p + 1]] & fre->cls[s[p + 2]] & fre->cls[s[p + 3]] & bit))
      p += 4;
    while (p < end && (fre->cls[s[p]] & bit))
      p++;
    if (p - start < it[k].min)
      return -1;
  }
  *pos = p;
  return 0;
}

int schema_fre_match(const schema_fre_t *fre, const char *s, size_t len) {
  size_t pos = 0;
  if (fre_seq(fre, 0, fre->n, (const unsigned char *)s, len, &pos) < 0)
    return 0;
  /* PCRE2's "$" also matches before a final newline (how a newline is spelt
   * is a build option of the library): such subjects are left to PCRE2. */
  return pos == len;
}

int schema_fast_prepare(schema_node_t *n) {
  size_t size = 4;

  if (n->ref || n->n_all_of || n->n_any_of || n->n_one_of || n->not_node)
    n->flags |= SK_APPLY;
  if (!(n->flags & (SK_APPLY | SK_CONST)))
    n->flags |= SK_SIMPLE;
  if (n->ref && n->flags == SK_APPLY && !n->types && !n->n_all_of && !n->n_any_of && !n->n_one_of &&
      !n->not_node && !n->pattern && n->format == SCHEMA_FMT_NONE && !n->n_props &&
      !n->n_required && !n->n_prefix && !n->items && !n->addl)
    n->flags |= SK_PURE_REF;
  if (!n->props || n->n_props > 64)
    return 0;
  while (size < n->n_props * 2)
    size *= 2;
  n->req_mask = 0;
  n->prop_slots = calloc(size, 1);
  if (!n->prop_slots)
    return -1;
  n->prop_slot_mask = size - 1;
  for (size_t p = 0; p < n->n_props; p++) {
    size_t i = jsonf_key_hash(n->props[p].name, n->props[p].len) & n->prop_slot_mask;
    while (n->prop_slots[i])
      i = (i + 1) & n->prop_slot_mask;
    n->prop_slots[i] = (uint8_t)(p + 1);
  }
  for (size_t r = 0; r < n->n_required; r++) {
    const schema_str_t *q = &n->required[r];
    int p = schema_prop_index(n, jsonf_key_hash(q->s, q->len), q->s, q->len);
    if (p < 0) {
      /* A required name without a property schema: keep the general path. */
      free(n->prop_slots);
      n->prop_slots = NULL;
      return 0;
    }
    n->req_mask |= 1ull << p;
  }
  return 0;
}
