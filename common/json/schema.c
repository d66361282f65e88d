/* schema — loading entry points and the per-message walk of a compiled schema.
 *
 * Instances are jsonf documents (json/jsonf.h): the walk reads nodes laid out
 * in one array, never a tree of allocated objects. A jansson instance is laid
 * out as a document first (a per-thread scratch document), so every caller goes
 * through the same walk and gets the same answer.
 *
 * Error messages are "<instance JSON pointer>: <reason>" and carry only
 * schema-side facts (bounds, enum values, patterns): never instance values,
 * because validation errors end up in logs and dead letters and instance
 * values may be personal data.  The one instance-derived part is the pointer
 * itself (property names and indexes), which is what the DLQ "path" needs.
 *
 * Keyword order inside one subschema (first failure wins): type, const, enum,
 * number bounds, string length/pattern/format, array size/prefixItems/items/
 * uniqueItems, object required/properties/additionalProperties, $ref, allOf,
 * anyOf, oneOf, not. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "json/schema_internal.h"

/* Schema documents nest deeper than messages ($defs, applicators), but a
 * bound keeps compilation off the stack's edge. */
#define SCHEMA_FILE_MAX_DEPTH 512

/* Bounds the backtracking of one pattern match: contracts are trusted, but a
 * pathological pattern must not stall the stage loop. */
#define SCHEMA_MATCH_LIMIT 1000000

typedef struct seg {
  const char *key; /* NULL: array index */
  size_t len;
  size_t idx;
} seg_t;

typedef struct vctx {
  char *err;
  size_t err_size;
  int quiet; /* inside anyOf/oneOf/not: failures are expected, skip formatting */
  int eval;  /* applicator recursion depth */
  size_t depth;
  seg_t path[SCHEMA_MAX_DEPTH + 2];
  const schema_t *s;
  /* schema_validate_derived: at the root object (node root), members whose
   * bit is set in kept and whose property's bit is set in same are valid. */
  const schema_node_t *root;
  uint64_t kept, same;
} vctx_t;

/* ---- per-thread scratch -------------------------------------------------- */

/* Per thread: one PCRE2 match data, reused for every pattern (an ovector of
 * one pair is enough because only "did it match" matters; rc 0 still means a
 * match), and the document jansson instances are laid out in. */
typedef struct scratch {
  pcre2_match_data *md;
  jsonf_doc_t *doc;
} scratch_t;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p) {
  scratch_t *t = p;
  pcre2_match_data_free(t->md);
  jsonf_doc_destroy(t->doc);
  free(t);
}

static void scratch_init(void) {
  scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

static scratch_t *scratch(void) {
  pthread_once(&scratch_once, scratch_init);
  if (!scratch_key_ok)
    return NULL;
  scratch_t *t = pthread_getspecific(scratch_key);
  if (!t && (t = calloc(1, sizeof(*t))) && pthread_setspecific(scratch_key, t) != 0) {
    free(t);
    t = NULL;
  }
  return t;
}

static pcre2_match_data *match_data(void) {
  scratch_t *t = scratch();
  if (t && !t->md)
    t->md = pcre2_match_data_create(1, NULL);
  return t ? t->md : NULL;
}

/* ---- errors ---------------------------------------------------------------- */

static int verr(vctx_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keys in a pointer come from the record when the schema does not declare
 * them ("unexpected property"), and a record's key may hold personal data
 * ({"+8801711234567": ...}). A key with an '@' or seven digits (ASCII or
 * Bengali) is no field name: it is written as KEY_WITHHELD. Longer keys are
 * cut at KEY_SHOWN bytes so the reason still fits. */
#define KEY_WITHHELD "(key withheld)"
#define KEY_SHOWN 64

static int key_withheld(const char *k, size_t n) {
  size_t digits = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)k[i];
    if (c == '@')
      return 1;
    if (c >= '0' && c <= '9')
      digits++;
    else if (c == 0xE0 && i + 2 < n && (unsigned char)k[i + 1] == 0xA7 &&
             (unsigned char)k[i + 2] >= 0xA6 && (unsigned char)k[i + 2] <= 0xAF)
      digits++, i += 2;
  }
  return digits >= 7;
}

static int verr(vctx_t *v, const char *fmt, ...) {
  size_t o = 0, cap = v->err_size;
  va_list ap;

  if (v->quiet || !v->err || !cap)
    return -1;
  /* The pointer, RFC 6901 escaped, truncated at the buffer size. */
  for (size_t d = 0; d < v->depth && o + 1 < cap; d++) {
    const seg_t *sg = &v->path[d];
    v->err[o++] = '/';
    if (!sg->key) {
      int w = snprintf(v->err + o, cap - o, "%zu", sg->idx);
      o += (w > 0 && (size_t)w < cap - o) ? (size_t)w : 0;
      continue;
    }
    if (key_withheld(sg->key, sg->len)) {
      int w = snprintf(v->err + o, cap - o, "%s", KEY_WITHHELD);
      o += (w > 0 && (size_t)w < cap - o) ? (size_t)w : 0;
      continue;
    }
    size_t shown = sg->len > KEY_SHOWN ? utf8_valid_prefix(sg->key, KEY_SHOWN) : sg->len;
    for (size_t i = 0; i < shown && o + 2 < cap; i++) {
      char ch = sg->key[i];
      if (ch == '~' || ch == '/') {
        v->err[o++] = '~';
        v->err[o++] = ch == '~' ? '0' : '1';
      } else {
        v->err[o++] = ch;
      }
    }
    if (shown < sg->len && o + 3 < cap) {
      memcpy(v->err + o, "...", 3);
      o += 3;
    }
  }
  if (o >= cap)
    o = cap - 1;
  v->err[o] = '\0';
  if (o + 3 < cap) {
    memcpy(v->err + o, ": ", 3);
    o += 2;
    va_start(ap, fmt);
    vsnprintf(v->err + o, cap - o, fmt, ap);
    va_end(ap);
  }
  /* Cut to fit, the message may end inside a character: it goes into JSON
   * (dead letters, answers, logs), which must be valid UTF-8. */
  v->err[utf8_valid_prefix(v->err, strlen(v->err))] = '\0';
  return -1;
}

static void push_key(vctx_t *v, const char *k, size_t len) {
  v->path[v->depth].key = k;
  v->path[v->depth].len = len;
  v->depth++;
}

static void push_idx(vctx_t *v, size_t idx) {
  v->path[v->depth].key = NULL;
  v->path[v->depth].idx = idx;
  v->depth++;
}

/* ---- numbers and equality ------------------------------------------------- */

/* Exact comparison of an integer with a double, even beyond 2^53 where
 * converting the integer to double would round. Returns -1/0/1, 2 for NaN. */
static int cmp_int_double(json_int_t i, double d) {
  double t;
  json_int_t ti;

  if (isnan(d))
    return 2;
  if (d >= 9223372036854775808.0)
    return -1;
  if (d < -9223372036854775808.0)
    return 1;
  t = trunc(d);
  ti = (json_int_t)t;
  if (i != ti)
    return i < ti ? -1 : 1;
  return d > t ? -1 : (d < t ? 1 : 0);
}

/* Compares instance number x with schema number b: -1, 0, 1 (2: incomparable). */
static int num_cmp(const jsonf_node_t *x, const schema_num_t *b) {
  if (x->type == JSONF_INTEGER) {
    int64_t i = x->v.i;
    if (b->is_int)
      return (i > b->i) - (i < b->i);
    return cmp_int_double(i, b->d);
  } else {
    double d = x->v.d;
    if (b->is_int) {
      int r = cmp_int_double(b->i, d);
      return r == 2 ? 2 : -r;
    }
    if (isnan(d) || isnan(b->d))
      return 2;
    return (d > b->d) - (d < b->d);
  }
}

static int is_number(const jsonf_node_t *x) {
  return x->type == JSONF_INTEGER || x->type == JSONF_REAL;
}

int schema_value_equal(const jsonf_node_t *a, const jsonf_node_t *b) {
  if (is_number(a) && is_number(b)) {
    if (a->type == JSONF_INTEGER && b->type == JSONF_INTEGER)
      return a->v.i == b->v.i;
    if (a->type == JSONF_INTEGER)
      return cmp_int_double(a->v.i, b->v.d) == 0;
    if (b->type == JSONF_INTEGER)
      return cmp_int_double(b->v.i, a->v.d) == 0;
    return a->v.d == b->v.d;
  }
  if (a->type != b->type)
    return 0;
  switch (a->type) {
  case JSONF_STRING:
    return a->len == b->len && !memcmp(a->v.s, b->v.s, a->len);
  case JSONF_ARRAY: {
    if (a->len != b->len)
      return 0;
    const jsonf_node_t *x = a + 1, *y = b + 1;
    for (uint32_t i = 0; i < a->len; i++, x += x->size, y += y->size)
      if (!schema_value_equal(x, y))
        return 0;
    return 1;
  }
  case JSONF_OBJECT: {
    if (a->len != b->len)
      return 0;
    const jsonf_node_t *k = a + 1;
    for (uint32_t i = 0; i < a->len; i++, k = k + 1 + k[1].size) {
      const jsonf_node_t *vb = jsonf_object_get(b, k->v.s, k->len);
      if (!vb || !schema_value_equal(k + 1, vb))
        return 0;
    }
    return 1;
  }
  default:
    return 1; /* true, false, null: equal when the types are */
  }
}

/* ---- the walk ------------------------------------------------------------- */

static int validate_node(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x);

static unsigned type_bit(const jsonf_node_t *x) {
  switch (x->type) {
  case JSONF_OBJECT:
    return SCHEMA_T_OBJECT;
  case JSONF_ARRAY:
    return SCHEMA_T_ARRAY;
  case JSONF_STRING:
    return SCHEMA_T_STRING;
  case JSONF_INTEGER:
    return SCHEMA_T_INTEGER | SCHEMA_T_NUMBER;
  case JSONF_REAL: {
    /* 2020-12: a number with a zero fractional part is an integer (1.0). */
    double d = x->v.d;
    return (isfinite(d) && floor(d) == d) ? (SCHEMA_T_INTEGER | SCHEMA_T_NUMBER) : SCHEMA_T_NUMBER;
  }
  case JSONF_TRUE:
  case JSONF_FALSE:
    return SCHEMA_T_BOOLEAN;
  default:
    return SCHEMA_T_NULL;
  }
}

static int check_number(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  int r;
  if ((n->flags & SK_MINIMUM) && ((r = num_cmp(x, &n->minimum)) < 0 || r == 2))
    return verr(v, "must be >= %s", n->minimum.text);
  if ((n->flags & SK_MAXIMUM) && ((r = num_cmp(x, &n->maximum)) > 0))
    return verr(v, "must be <= %s", n->maximum.text);
  if ((n->flags & SK_EXMIN) && ((r = num_cmp(x, &n->exmin)) <= 0 || r == 2))
    return verr(v, "must be > %s", n->exmin.text);
  if ((n->flags & SK_EXMAX) && ((r = num_cmp(x, &n->exmax)) >= 0))
    return verr(v, "must be < %s", n->exmax.text);
  return 0;
}

/* utf8_length, with the short all-ASCII strings of most fields (ids, names,
 * cities) answered inline by a few overlapping word tests. */
static inline size_t code_points(const char *s, size_t len) {
  const uint64_t hi8 = 0x8080808080808080ull;
  uint64_t w, t;
  uint32_t a, b;

  if (len >= 8) {
    size_t i = 0;
    for (; i + 8 < len; i += 8) {
      memcpy(&w, s + i, 8);
      if (w & hi8)
        return utf8_length(s, len);
    }
    memcpy(&t, s + len - 8, 8);
    return (t & hi8) ? utf8_length(s, len) : len;
  }
  if (len >= 4) {
    memcpy(&a, s, 4);
    memcpy(&b, s + len - 4, 4);
    return ((a | b) & 0x80808080u) ? utf8_length(s, len) : len;
  }
  for (size_t i = 0; i < len; i++)
    if (s[i] & 0x80)
      return utf8_length(s, len);
  return len;
}

static int check_string(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  const char *s = x->v.s;
  size_t len = x->len;

  if (n->flags & (SK_MINLEN | SK_MAXLEN)) {
    size_t cps = (x->flags & JSONF_UTF8) ? utf8_count_valid(s, len) : code_points(s, len);
    if (cps == (size_t)-1)
      return verr(v, "must be valid UTF-8");
    if ((n->flags & SK_MINLEN) && cps < n->min_len)
      return verr(v, "must be at least %zu character%s", n->min_len, n->min_len == 1 ? "" : "s");
    if ((n->flags & SK_MAXLEN) && cps > n->max_len)
      return verr(v, "must be at most %zu character%s", n->max_len, n->max_len == 1 ? "" : "s");
  }
  if (n->pattern && !(n->fre && schema_fre_match(n->fre, s, len))) {
    pcre2_match_data *md = match_data();
    int rc;
    if (!md)
      return verr(v, "out of memory matching pattern");
    rc = pcre2_match(n->pattern, (PCRE2_SPTR)s, len, 0, 0, md, v->s->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
      return verr(v, "must match pattern %s", n->pattern_src);
    if (rc < 0)
      return verr(v,
                  rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21
                      ? "must be valid UTF-8"
                      : "could not be matched against pattern %s",
                  n->pattern_src);
  }
  switch (n->format) {
  case SCHEMA_FMT_DATE_TIME:
    if (!schema_format_date_time(s, len))
      return verr(v, "must be a valid date-time (RFC 3339)");
    break;
  case SCHEMA_FMT_DATE:
    if (!schema_format_date(s, len))
      return verr(v, "must be a valid date (RFC 3339 full-date)");
    break;
  case SCHEMA_FMT_UUID:
    if (!schema_format_uuid(s, len))
      return verr(v, "must be a valid uuid");
    break;
  default:
    break;
  }
  return 0;
}

static int enum_match(const schema_node_t *n, const jsonf_node_t *x);

/* validate_node for the common cases, without its frame: a node that is only
 * a $ref is followed (counting the level as validate_node does), and a simple
 * node meets a string or number with the same checks in the same order (type,
 * enum, then the type's own), which is all validate_node would do for them. */
static inline int validate_fast(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  while ((n->flags & SK_PURE_REF) && v->eval + 1 < SCHEMA_MAX_EVAL_DEPTH) {
    v->eval++;
    int rc = validate_fast(v, n->ref, x);
    v->eval--;
    return rc;
  }
  if ((n->flags & SK_SIMPLE) && v->eval < SCHEMA_MAX_EVAL_DEPTH &&
      (x->type == JSONF_STRING || x->type == JSONF_INTEGER)) {
    unsigned tb = x->type == JSONF_STRING ? SCHEMA_T_STRING : SCHEMA_T_INTEGER | SCHEMA_T_NUMBER;
    if (n->types && !(n->types & tb))
      return verr(v, "%s", n->type_msg);
    if ((n->flags & SK_ENUM) && !enum_match(n, x))
      return verr(v, "%s", n->enum_msg);
    return x->type == JSONF_STRING ? check_string(v, n, x) : check_number(v, n, x);
  }
  return validate_node(v, n, x);
}

static int check_array(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  size_t size = x->len, i;
  const jsonf_node_t *item = x + 1;

  if ((n->flags & SK_MINITEMS) && size < n->min_items)
    return verr(v, "must have at least %zu item%s", n->min_items, n->min_items == 1 ? "" : "s");
  if ((n->flags & SK_MAXITEMS) && size > n->max_items)
    return verr(v, "must have at most %zu item%s", n->max_items, n->max_items == 1 ? "" : "s");
  for (i = 0; i < size && i < n->n_prefix; i++, item += item->size) {
    push_idx(v, i);
    int rc = validate_node(v, n->prefix[i], item);
    v->depth--;
    if (rc < 0)
      return -1;
  }
  if (n->items) {
    for (; i < size; i++, item += item->size) {
      int rc;
      push_idx(v, i);
      rc = n->items->boolean == 0 ? verr(v, "unexpected item") : validate_fast(v, n->items, item);
      v->depth--;
      if (rc < 0)
        return -1;
    }
  }
  if (n->flags & SK_UNIQUE) {
    /* Quadratic, but arrays in contracts are short and bounded by message size. */
    const jsonf_node_t *a = x + 1;
    for (i = 0; i < size; i++, a += a->size) {
      const jsonf_node_t *b = x + 1;
      for (size_t j = 0; j < i; j++, b += b->size)
        if (schema_value_equal(a, b))
          return verr(v, "must have unique items (items %zu and %zu are equal)", j, i);
    }
  }
  return 0;
}

static const schema_prop_t *prop_find(const schema_node_t *n, const char *k, size_t kl) {
  size_t lo = 0, hi = n->n_props;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const schema_prop_t *p = n->props_sorted[mid];
    size_t m = p->len < kl ? p->len : kl;
    int r = memcmp(p->name, k, m);
    if (!r)
      r = (p->len > kl) - (p->len < kl);
    if (!r)
      return p;
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* The first missing required property, reported as the general path does. */
static int missing_required(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  for (size_t i = 0; i < n->n_required; i++) {
    if (!jsonf_object_get(x, n->required[i].s, n->required[i].len)) {
      push_key(v, n->required[i].s, n->required[i].len);
      verr(v, "is required");
      v->depth--;
      return -1;
    }
  }
  return 0;
}

/* additionalProperties: instance order, as the general path. */
static int check_additional(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  const jsonf_node_t *k = x + 1;
  for (uint32_t i = 0; i < x->len; i++, k = k + 1 + k[1].size) {
    int rc;
    if (prop_find(n, k->v.s, k->len))
      continue;
    push_key(v, k->v.s, k->len);
    rc = n->addl->boolean == 0 ? verr(v, "unexpected property") : validate_node(v, n->addl, k + 1);
    v->depth--;
    if (rc < 0)
      return -1;
  }
  return 0;
}

/* One pass over the instance with the compiled name table instead of one
 * lookup per declared property; the checks then run in the general path's
 * order (required, properties in schema order, additional ones), so the first
 * error reported is the same. */
static int check_object_fast(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  const jsonf_node_t *vals[64];
  uint64_t seen = 0, valid = 0, todo;
  int extra = 0;
  const jsonf_node_t *k = x + 1;
  uint64_t kept = n == v->root && v->depth == 0 ? v->kept : 0;

  for (uint32_t i = 0; i < x->len; i++, k = k + 1 + k[1].size) {
    int p = schema_prop_index(n, k->hash, k->v.s, k->len);
    if (p < 0) {
      extra = 1;
      continue;
    }
    vals[p] = k + 1;
    seen |= 1ull << p;
    if (i < 64 && (kept >> i & 1))
      valid |= (v->same >> p & 1) << p;
  }
  if ((seen & n->req_mask) != n->req_mask)
    return missing_required(v, n, x);
  for (todo = seen & ~valid; todo; todo &= todo - 1) {
    const schema_prop_t *p = &n->props[__builtin_ctzll(todo)];
    push_key(v, p->name, p->len);
    int rc = p->node->boolean == 0 ? verr(v, "is not allowed")
                                   : validate_fast(v, p->node, vals[__builtin_ctzll(todo)]);
    v->depth--;
    if (rc < 0)
      return -1;
  }
  if (extra && n->addl && n->addl->boolean != 1)
    return check_additional(v, n, x);
  return 0;
}

static int check_object(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  size_t i;

  if (n->prop_slots)
    return check_object_fast(v, n, x);

  if (missing_required(v, n, x) < 0)
    return -1;
  for (i = 0; i < n->n_props; i++) {
    const schema_prop_t *p = &n->props[i];
    const jsonf_node_t *val = jsonf_object_get(x, p->name, p->len);
    if (!val)
      continue;
    push_key(v, p->name, p->len);
    int rc = p->node->boolean == 0 ? verr(v, "is not allowed") : validate_node(v, p->node, val);
    v->depth--;
    if (rc < 0)
      return -1;
  }
  if (n->addl && n->addl->boolean != 1)
    return check_additional(v, n, x);
  return 0;
}

static int enum_match(const schema_node_t *n, const jsonf_node_t *x) {
  if (n->enum_strs) {
    if (x->type != JSONF_STRING)
      return 0;
    for (size_t i = 0; i < n->n_enum_strs; i++)
      if (n->enum_strs[i].len == x->len && !memcmp(n->enum_strs[i].s, x->v.s, x->len))
        return 1;
    return 0;
  }
  const jsonf_node_t *arr = jsonf_doc_root(n->enum_doc), *e = arr + 1;
  for (uint32_t i = 0; i < arr->len; i++, e += e->size)
    if (schema_value_equal(e, x))
      return 1;
  return 0;
}

/* Runs sub-schema in quiet mode; returns 1 if x is valid against it. */
static int matches(vctx_t *v, const schema_node_t *sub, const jsonf_node_t *x) {
  int saved = v->quiet, rc;
  v->quiet = 1;
  rc = validate_node(v, sub, x);
  v->quiet = saved;
  return rc == 0;
}

static int validate_node(vctx_t *v, const schema_node_t *n, const jsonf_node_t *x) {
  unsigned tb;
  size_t i;
  int rc = 0;

  if (n->boolean >= 0) /* true or false schema */
    return n->boolean ? 0 : verr(v, "is not allowed");
  if (++v->eval > SCHEMA_MAX_EVAL_DEPTH) {
    v->eval--;
    return verr(v, "schema recursion too deep");
  }
  tb = type_bit(x);
  if (n->types && !(n->types & tb)) {
    rc = verr(v, "%s", n->type_msg);
    goto out;
  }
  if ((n->flags & SK_CONST) && !schema_value_equal(jsonf_doc_root(n->const_doc), x)) {
    rc = verr(v, "%s", n->const_msg);
    goto out;
  }
  if ((n->flags & SK_ENUM) && !enum_match(n, x)) {
    rc = verr(v, "%s", n->enum_msg);
    goto out;
  }
  switch (x->type) {
  case JSONF_INTEGER:
  case JSONF_REAL:
    rc = check_number(v, n, x);
    break;
  case JSONF_STRING:
    rc = check_string(v, n, x);
    break;
  case JSONF_ARRAY:
    rc = check_array(v, n, x);
    break;
  case JSONF_OBJECT:
    rc = check_object(v, n, x);
    break;
  default:
    break;
  }
  if (rc < 0 || !(n->flags & SK_APPLY))
    goto out;
  if (n->ref && (rc = validate_node(v, n->ref, x)) < 0)
    goto out;
  for (i = 0; i < n->n_all_of; i++)
    if ((rc = validate_node(v, n->all_of[i], x)) < 0)
      goto out;
  if (n->n_any_of) {
    for (i = 0; i < n->n_any_of; i++)
      if (matches(v, n->any_of[i], x))
        break;
    if (i == n->n_any_of) {
      rc = verr(v, "must match at least one schema in anyOf");
      goto out;
    }
  }
  if (n->n_one_of) {
    size_t hits = 0;
    for (i = 0; i < n->n_one_of && hits < 2; i++)
      hits += (size_t)matches(v, n->one_of[i], x);
    if (hits != 1) {
      rc = verr(v, "must match exactly one schema in oneOf (matched %s)",
                hits ? "more than one" : "none");
      goto out;
    }
  }
  if (n->not_node && matches(v, n->not_node, x))
    rc = verr(v, "must not match the schema in not");
out:
  v->eval--;
  return rc;
}

/* Refuses instances nested deeper than SCHEMA_MAX_DEPTH before the walk, so no
 * recursion (ours or the equality's) ever sees them. */
static int depth_check(vctx_t *v, const jsonf_node_t *x, size_t level) {
  if (x->type != JSONF_OBJECT && x->type != JSONF_ARRAY)
    return 0;
  if (level > SCHEMA_MAX_DEPTH)
    return verr(v, "nesting too deep");
  /* A flat container (one node per child) holds no child with children, so
   * nothing below it is deeper than level + 1. */
  if (level < SCHEMA_MAX_DEPTH &&
      x->size == 1 + (x->type == JSONF_OBJECT ? 2 * (size_t)x->len : x->len))
    return 0;
  if (x->type == JSONF_ARRAY) {
    const jsonf_node_t *c = x + 1;
    for (uint32_t i = 0; i < x->len; i++, c += c->size) {
      if (c->type == JSONF_OBJECT || c->type == JSONF_ARRAY) {
        push_idx(v, i);
        int rc = depth_check(v, c, level + 1);
        v->depth--;
        if (rc < 0)
          return -1;
      }
    }
  } else {
    const jsonf_node_t *k = x + 1;
    for (uint32_t i = 0; i < x->len; i++, k = k + 1 + k[1].size) {
      const jsonf_node_t *c = k + 1;
      if (c->type == JSONF_OBJECT || c->type == JSONF_ARRAY) {
        push_key(v, k->v.s, k->len);
        int rc = depth_check(v, c, level + 1);
        v->depth--;
        if (rc < 0)
          return -1;
      }
    }
  }
  return 0;
}

/* ---- public API ----------------------------------------------------------- */

static int validate_root(const schema_t *schema, const jsonf_node_t *instance, uint64_t kept,
                         uint64_t same, char *errstr, size_t errstr_size) {
  vctx_t v;

  v.err = errstr;
  v.err_size = errstr_size;
  v.quiet = 0;
  v.eval = 0;
  v.depth = 0;
  v.s = schema;
  v.root = schema ? schema->root : NULL;
  v.kept = kept;
  v.same = same;
  if (!schema || !instance) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, ": no schema or no instance");
    return -1;
  }
  if (depth_check(&v, instance, 1) < 0)
    return -1;
  return validate_node(&v, schema->root, instance);
}

int schema_validate_node(const schema_t *schema, const jsonf_node_t *instance, char *errstr,
                         size_t errstr_size) {
  return validate_root(schema, instance, 0, 0, errstr, errstr_size);
}

int schema_validate_derived(const schema_pair_t *p, const jsonf_node_t *instance, uint64_t kept,
                            char *errstr, size_t errstr_size) {
  return validate_root(p ? p->target : NULL, instance, kept, p ? p->same : 0, errstr, errstr_size);
}

int schema_validate(const schema_t *schema, const json_t *instance, char *errstr,
                    size_t errstr_size) {
  if (!schema || !instance)
    return schema_validate_node(schema, NULL, errstr, errstr_size);
  scratch_t *t = scratch();
  if (t && !t->doc)
    t->doc = jsonf_doc_new();
  const jsonf_node_t *x = t && t->doc ? jsonf_doc_from_jansson(t->doc, instance) : NULL;
  if (!x) {
    /* Out of memory, or deeper than any parser produces (2048 levels). */
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, ": %s",
               t && t->doc ? "nesting too deep" : "out of memory laying out the instance");
    return -1;
  }
  return schema_validate_node(schema, x, errstr, errstr_size);
}

/* schema_load_json on a document the schema takes over (compiled nodes borrow
 * its strings); doc may be NULL (out of memory). */
static schema_t *load_owned(json_t *doc, char *errstr, size_t errstr_size) {
  schema_t *s;
  json_t *name;

  if (!(s = calloc(1, sizeof(*s)))) {
    json_decref(doc);
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  s->doc = doc;
  s->mctx = pcre2_match_context_create(NULL);
  if (!s->doc || !s->mctx) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "out of memory");
    schema_destroy(s);
    return NULL;
  }
  pcre2_set_match_limit(s->mctx, SCHEMA_MATCH_LIMIT);
  if (schema_compile(s, errstr, errstr_size) < 0) {
    schema_destroy(s);
    return NULL;
  }
  name = json_object_get(s->doc, "$id");
  if (!json_is_string(name))
    name = json_object_get(s->doc, "title");
  s->name = strdup(json_is_string(name) ? json_string_value(name) : "");
  if (!s->name) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "out of memory");
    schema_destroy(s);
    return NULL;
  }
  return s;
}

schema_t *schema_load_json(const json_t *doc, char *errstr, size_t errstr_size) {
  if (!doc) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "no schema document");
    return NULL;
  }
  /* Owned copy: the caller may free or change its document after loading. */
  return load_owned(json_deep_copy(doc), errstr, errstr_size);
}

schema_t *schema_load_file(const char *path, char *errstr, size_t errstr_size) {
  schema_t *s;
  char inner[512];

  if (!path) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "no schema path");
    return NULL;
  }
  /* The one JSON reader (jsonf), as for messages: strict, duplicates refused. */
  json_t *doc = jsonf_parse_file(path, SCHEMA_FILE_MAX_DEPTH, inner, sizeof(inner));
  if (!doc) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "%s: %s", path, inner);
    return NULL;
  }
  s = load_owned(doc, inner, sizeof(inner));
  if (!s && errstr && errstr_size)
    snprintf(errstr, errstr_size, "%s: %s", path, inner);
  return s;
}

void schema_destroy(schema_t *schema) {
  if (!schema)
    return;
  schema_nodes_free(schema);
  free(schema->pii);
  free(schema->name);
  pcre2_match_context_free(schema->mctx);
  json_decref(schema->doc);
  free(schema);
}

size_t schema_pii_fields(const schema_t *schema, const schema_pii_field_t **out) {
  if (out)
    *out = schema ? schema->pii : NULL;
  return schema ? schema->n_pii : 0;
}

const char *schema_name(const schema_t *schema) {
  return schema && schema->name ? schema->name : "";
}
