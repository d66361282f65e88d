/* schema_compile — turns a schema document into the tree of schema_node_t that
 * schema_validate() walks.
 *
 * Two passes.  The index pass walks every subschema in a schema position and
 * records its location ("#/properties/foo"), its base URI (after $id) and the
 * $id / $anchor names, so $ref can be resolved without a second document walk.
 * The compile pass reads the keywords of each subschema once; nodes are cached
 * by subschema so a recursive $ref ("#") points back at a node that is still
 * being compiled instead of recursing forever. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "json/schema_internal.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define MSG_VALUES_MAX 160 /* longer enum/const renderings are summarised */

typedef struct entry {
  const json_t *js;
  char *loc;  /* "#/properties/foo", for load errors */
  char *base; /* base URI in force for this subschema */
  schema_node_t *node;
} entry_t;

typedef struct named {
  char *uri; /* absolute URI ($id) or URI "#" anchor */
  json_t *js;
} named_t;

typedef struct cctx {
  schema_t *s;
  entry_t *ents;
  size_t n_ents, cap_ents;
  size_t *table; /* open addressing: entry index + 1, 0 = empty */
  size_t table_cap;
  named_t *names;
  size_t n_names, cap_names;
  char *err;
  size_t err_size;
} cctx_t;

static int fail(cctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(cctx_t *c, const char *fmt, ...) {
  va_list ap;
  if (c->err && c->err_size) {
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- index pass ---------------------------------------------------------- */

static size_t ptr_hash(const void *p) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= 0xed5ad4bbu;
  x ^= x >> 11;
  return (size_t)x;
}

static entry_t *entry_find(cctx_t *c, const json_t *js) {
  if (!c->table_cap)
    return NULL;
  size_t mask = c->table_cap - 1, h = ptr_hash(js) & mask;
  while (c->table[h]) {
    entry_t *e = &c->ents[c->table[h] - 1];
    if (e->js == js)
      return e;
    h = (h + 1) & mask;
  }
  return NULL;
}

static int table_build(cctx_t *c) {
  size_t cap = 16;
  while (cap < c->n_ents * 2)
    cap *= 2;
  c->table = calloc(cap, sizeof(*c->table));
  if (!c->table)
    return fail(c, "out of memory");
  c->table_cap = cap;
  for (size_t i = 0; i < c->n_ents; i++) {
    size_t h = ptr_hash(c->ents[i].js) & (cap - 1);
    while (c->table[h])
      h = (h + 1) & (cap - 1);
    c->table[h] = i + 1;
  }
  return 0;
}

static int name_add(cctx_t *c, char *uri, json_t *js, const char *loc) {
  for (size_t i = 0; i < c->n_names; i++) {
    if (!strcmp(c->names[i].uri, uri)) {
      fail(c, "duplicate $id/$anchor \"%s\" at %s", uri, loc);
      free(uri);
      return -1;
    }
  }
  if (array_reserve(&c->names, &c->cap_names, c->n_names + 1, sizeof(*c->names), 8) != 0) {
    free(uri);
    return fail(c, "out of memory");
  }
  c->names[c->n_names].uri = uri;
  c->names[c->n_names++].js = js;
  return 0;
}

static json_t *name_find(cctx_t *c, const char *uri) {
  for (size_t i = 0; i < c->n_names; i++)
    if (!strcmp(c->names[i].uri, uri))
      return c->names[i].js;
  return NULL;
}

/* Appends one JSON pointer token (escaped) to loc; malloc'd result. */
static char *loc_join(const char *loc, const char *kw, const char *tok, size_t tok_len) {
  size_t n = strlen(loc) + strlen(kw) + 2 + tok_len * 2 + 2, o;
  char *out = malloc(n);
  if (!out)
    return NULL;
  o = (size_t)snprintf(out, n, "%s/%s", loc, kw);
  if (tok) {
    out[o++] = '/';
    for (size_t i = 0; i < tok_len; i++) {
      if (tok[i] == '~' || tok[i] == '/') {
        out[o++] = '~';
        out[o++] = tok[i] == '~' ? '0' : '1';
      } else {
        out[o++] = tok[i];
      }
    }
    out[o] = '\0';
  }
  return out;
}

static int index_walk(cctx_t *c, json_t *js, const char *loc, const char *base);

static int index_child(cctx_t *c, json_t *child, const char *loc, const char *kw, const char *tok,
                       size_t tok_len, const char *base) {
  char *l = loc_join(loc, kw, tok, tok_len);
  if (!l)
    return fail(c, "out of memory");
  int rc = index_walk(c, child, l, base);
  free(l);
  return rc;
}

static int index_walk(cctx_t *c, json_t *js, const char *loc, const char *base) {
  static const char *const single[] = {"additionalProperties", "items", "not"};
  static const char *const lists[] = {"prefixItems", "allOf", "anyOf", "oneOf"};
  static const char *const maps[] = {"properties", "$defs"};
  json_t *id, *anchor, *v;
  char *mybase, *myloc;
  size_t i;

  if (!json_is_object(js))
    return 0;
  id = json_object_get(js, "$id");
  if (json_is_string(id)) {
    char *r = schema_uri_resolve(base, json_string_value(id)), *hash;
    if (!r)
      return fail(c, "out of memory");
    if ((hash = strchr(r, '#')) != NULL) {
      if (hash[1] != '\0') {
        free(r);
        return fail(c, "$id must not contain a fragment at %s", loc);
      }
      *hash = '\0';
    }
    mybase = r;
  } else {
    mybase = strdup(base);
  }
  myloc = strdup(loc);
  if (!mybase || !myloc) {
    free(mybase);
    free(myloc);
    return fail(c, "out of memory");
  }
  if (c->n_ents == c->cap_ents) {
    size_t cap = c->cap_ents ? c->cap_ents * 2 : 32;
    entry_t *e = realloc(c->ents, cap * sizeof(*e));
    if (!e) {
      free(mybase);
      free(myloc);
      return fail(c, "out of memory");
    }
    c->ents = e;
    c->cap_ents = cap;
  }
  c->ents[c->n_ents].js = js;
  c->ents[c->n_ents].loc = myloc;
  c->ents[c->n_ents].base = mybase;
  c->ents[c->n_ents++].node = NULL;
  /* mybase stays valid: it is owned by the entry, not by the array slot. */
  if (json_is_string(id) || !strcmp(loc, "#")) {
    char *u = strdup(mybase);
    if (!u)
      return fail(c, "out of memory");
    if (name_add(c, u, js, loc) < 0)
      return -1;
  }
  anchor = json_object_get(js, "$anchor");
  if (json_is_string(anchor)) {
    size_t n = strlen(mybase) + json_string_length(anchor) + 2;
    char *u = malloc(n);
    if (!u)
      return fail(c, "out of memory");
    snprintf(u, n, "%s#%s", mybase, json_string_value(anchor));
    if (name_add(c, u, js, loc) < 0)
      return -1;
  }
  for (i = 0; i < sizeof(single) / sizeof(single[0]); i++)
    if ((v = json_object_get(js, single[i])) != NULL)
      if (index_child(c, v, loc, single[i], NULL, 0, mybase) < 0)
        return -1;
  for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    v = json_object_get(js, lists[i]);
    if (json_is_array(v)) {
      for (size_t k = 0; k < json_array_size(v); k++) {
        char tok[24];
        int tl = snprintf(tok, sizeof(tok), "%zu", k);
        if (index_child(c, json_array_get(v, k), loc, lists[i], tok, (size_t)tl, mybase) < 0)
          return -1;
      }
    }
  }
  for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
    v = json_object_get(js, maps[i]);
    if (json_is_object(v)) {
      const char *k;
      size_t kl;
      json_t *sub;
      json_object_keylen_foreach(v, k, kl, sub) {
        if (index_child(c, sub, loc, maps[i], k, kl, mybase) < 0)
          return -1;
      }
    }
  }
  return 0;
}

/* ---- compile pass -------------------------------------------------------- */

static schema_node_t *compile_node(cctx_t *c, json_t *js, const char *loc);

static schema_node_t *node_alloc(cctx_t *c) {
  schema_node_t *n = calloc(1, sizeof(*n));
  if (!n) {
    fail(c, "out of memory");
    return NULL;
  }
  n->boolean = -1;
  n->next_alloc = c->s->nodes;
  c->s->nodes = n;
  return n;
}

static int read_num(cctx_t *c, json_t *v, schema_num_t *out, const char *kw, const char *loc) {
  if (json_is_integer(v)) {
    out->is_int = 1;
    out->i = json_integer_value(v);
    out->d = (double)out->i;
    snprintf(out->text, sizeof(out->text), "%" JSON_INTEGER_FORMAT, out->i);
    return 0;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    out->is_int = 0;
    out->d = d;
    /* Shortest rendering that reads back as the same double. */
    snprintf(out->text, sizeof(out->text), "%.15g", d);
    if (strtod(out->text, NULL) != d)
      snprintf(out->text, sizeof(out->text), "%.17g", d);
    return 0;
  }
  return fail(c, "\"%s\" must be a number at %s", kw, loc);
}

static int read_count(cctx_t *c, json_t *v, size_t *out, const char *kw, const char *loc) {
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (size_t)json_integer_value(v);
    return 0;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= 0 && d < 1e18 && floor(d) == d) {
      *out = (size_t)d;
      return 0;
    }
  }
  return fail(c, "\"%s\" must be a non-negative integer at %s", kw, loc);
}

static int read_type(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  static const char *const names[] = {"null",   "boolean", "object", "array",
                                      "number", "integer", "string"};
  const char *listed[7];
  size_t nl = 0, count = json_is_array(v) ? json_array_size(v) : 1;

  if (!json_is_string(v) && !(json_is_array(v) && count > 0))
    return fail(c, "\"type\" must be a string or a non-empty array at %s", loc);
  for (size_t i = 0; i < count; i++) {
    json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
    size_t k;
    for (k = 0; k < 7; k++)
      if (json_is_string(t) && !strcmp(json_string_value(t), names[k]))
        break;
    if (k == 7)
      return fail(c, "unknown type in \"type\" at %s", loc);
    if (n->types & (1u << k))
      return fail(c, "duplicate type in \"type\" at %s", loc);
    n->types |= 1u << k;
    listed[nl++] = names[k];
  }
  size_t o = (size_t)snprintf(n->type_msg, sizeof(n->type_msg), "must be %s", listed[0]);
  for (size_t i = 1; i < nl && o < sizeof(n->type_msg); i++)
    o += (size_t)snprintf(n->type_msg + o, sizeof(n->type_msg) - o, "%s%s",
                          i + 1 == nl ? " or " : ", ", listed[i]);
  return 0;
}

/* "must be one of [...]" with schema-side values only; never instance data. */
static char *values_msg(const char *prefix, json_t *v, const char *summary) {
  char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  char *out;
  size_t n;

  if (!dump)
    return NULL;
  if (strlen(dump) > MSG_VALUES_MAX) {
    free(dump);
    return strdup(summary);
  }
  n = strlen(prefix) + strlen(dump) + 1;
  out = malloc(n);
  if (out)
    snprintf(out, n, "%s%s", prefix, dump);
  free(dump);
  return out;
}

/* const and enum values as documents, the form instances are compared in;
 * their strings stay in the schema's own document copy. */
static jsonf_doc_t *value_doc(const json_t *v) {
  jsonf_doc_t *d = jsonf_doc_new();
  if (d && !jsonf_doc_from_jansson(d, v)) {
    jsonf_doc_destroy(d);
    d = NULL;
  }
  return d;
}

static int read_enum(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  size_t count = json_array_size(v), i;
  char summary[64];

  if (!json_is_array(v))
    return fail(c, "\"enum\" must be an array at %s", loc);
  if (!(n->enum_doc = value_doc(v)))
    return fail(c, "out of memory (or nesting over 2048) in \"enum\" at %s", loc);
  n->flags |= SK_ENUM;
  snprintf(summary, sizeof(summary), "must be one of %zu allowed values", count);
  n->enum_msg = values_msg("must be one of ", v, summary);
  if (!n->enum_msg)
    return fail(c, "out of memory");
  for (i = 0; i < count; i++)
    if (!json_is_string(json_array_get(v, i)))
      return 0;
  /* All strings: compare bytes directly, no json_t equality per message. */
  n->enum_strs = calloc(count ? count : 1, sizeof(*n->enum_strs));
  if (!n->enum_strs)
    return fail(c, "out of memory");
  for (i = 0; i < count; i++) {
    n->enum_strs[i].s = json_string_value(json_array_get(v, i));
    n->enum_strs[i].len = json_string_length(json_array_get(v, i));
  }
  n->n_enum_strs = count;
  return 0;
}

static int read_pattern(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  int errcode;
  PCRE2_SIZE erroff;

  if (!json_is_string(v))
    return fail(c, "\"pattern\" must be a string at %s", loc);
  size_t tlen;
  char *translated = schema_regex_translate(json_string_value(v), json_string_length(v), &tlen);
  if (!translated)
    return fail(c, "out of memory");
  n->pattern =
      pcre2_compile((PCRE2_SPTR)translated, tlen, PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
  free(translated);
  if (!n->pattern) {
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(errcode, msg, sizeof(msg));
    return fail(c, "bad \"pattern\" at %s: %s at offset %zu", loc, (const char *)msg,
                (size_t)erroff);
  }
  /* JIT is an optimisation only; the interpreter is used where JIT is absent. */
  (void)pcre2_jit_compile(n->pattern, PCRE2_JIT_COMPLETE);
  n->pattern_src = json_string_value(v);
  /* Optional as well: NULL (not simple, or out of memory) means PCRE2 only. */
  n->fre = schema_fre_compile(json_string_value(v), json_string_length(v));
  return 0;
}

static int read_format(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  const char *f = json_string_value(v);
  if (!f)
    return fail(c, "\"format\" must be a string at %s", loc);
  if (!strcmp(f, "date-time"))
    n->format = SCHEMA_FMT_DATE_TIME;
  else if (!strcmp(f, "date"))
    n->format = SCHEMA_FMT_DATE;
  else if (!strcmp(f, "uuid"))
    n->format = SCHEMA_FMT_UUID;
  else
    return fail(c, "unsupported format \"%s\" at %s (supported: date-time, date, uuid)", f, loc);
  return 0;
}

static int read_required(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  size_t count = json_array_size(v);
  if (!json_is_array(v))
    return fail(c, "\"required\" must be an array at %s", loc);
  n->required = calloc(count ? count : 1, sizeof(*n->required));
  if (!n->required)
    return fail(c, "out of memory");
  for (size_t i = 0; i < count; i++) {
    json_t *s = json_array_get(v, i);
    if (!json_is_string(s))
      return fail(c, "\"required\" must list strings at %s", loc);
    n->required[i].s = json_string_value(s);
    n->required[i].len = json_string_length(s);
  }
  n->n_required = count;
  return 0;
}

static int prop_cmp(const void *a, const void *b) {
  const schema_prop_t *x = *(schema_prop_t *const *)a, *y = *(schema_prop_t *const *)b;
  size_t m = x->len < y->len ? x->len : y->len;
  int r = memcmp(x->name, y->name, m);
  return r ? r : (x->len > y->len) - (x->len < y->len);
}

static int read_properties(cctx_t *c, schema_node_t *n, json_t *v, const char *loc) {
  const char *k;
  size_t kl, i = 0;
  json_t *sub;

  if (!json_is_object(v))
    return fail(c, "\"properties\" must be an object at %s", loc);
  n->n_props = json_object_size(v);
  n->props = calloc(n->n_props ? n->n_props : 1, sizeof(*n->props));
  n->props_sorted = calloc(n->n_props ? n->n_props : 1, sizeof(*n->props_sorted));
  if (!n->props || !n->props_sorted)
    return fail(c, "out of memory");
  json_object_keylen_foreach(v, k, kl, sub) {
    char *l = loc_join(loc, "properties", k, kl);
    if (!l)
      return fail(c, "out of memory");
    n->props[i].name = k;
    n->props[i].len = kl;
    n->props[i].node = compile_node(c, sub, l);
    free(l);
    if (!n->props[i].node)
      return -1;
    n->props_sorted[i] = &n->props[i];
    i++;
  }
  qsort(n->props_sorted, n->n_props, sizeof(*n->props_sorted), prop_cmp);
  return 0;
}

static int read_list(cctx_t *c, json_t *v, const char *kw, const char *loc, schema_node_t ***out,
                     size_t *out_n) {
  size_t count = json_array_size(v);
  if (!json_is_array(v) || count == 0)
    return fail(c, "\"%s\" must be a non-empty array at %s", kw, loc);
  *out = calloc(count, sizeof(**out));
  if (!*out)
    return fail(c, "out of memory");
  for (size_t i = 0; i < count; i++) {
    char tok[24];
    int tl = snprintf(tok, sizeof(tok), "%zu", i);
    char *l = loc_join(loc, kw, tok, (size_t)tl);
    if (!l)
      return fail(c, "out of memory");
    (*out)[i] = compile_node(c, json_array_get(v, i), l);
    free(l);
    if (!(*out)[i])
      return -1;
  }
  *out_n = count;
  return 0;
}

static schema_node_t *compile_sub(cctx_t *c, json_t *v, const char *loc, const char *kw) {
  char *l = loc_join(loc, kw, NULL, 0);
  schema_node_t *n;
  if (!l) {
    fail(c, "out of memory");
    return NULL;
  }
  n = compile_node(c, v, l);
  free(l);
  return n;
}

static int read_ref(cctx_t *c, schema_node_t *n, json_t *v, const entry_t *e) {
  char *full, *hash, *frag = NULL;
  json_t *res, *target = NULL;
  size_t flen = 0;

  if (!json_is_string(v))
    return fail(c, "\"$ref\" must be a string at %s", e->loc);
  full = schema_uri_resolve(e->base, json_string_value(v));
  if (!full)
    return fail(c, "out of memory");
  hash = strchr(full, '#');
  if (hash)
    *hash++ = '\0';
  res = name_find(c, full);
  if (res && hash) {
    frag = schema_percent_decode(hash, strlen(hash), &flen);
    if (frag && (flen == 0 || frag[0] == '/')) {
      target = schema_pointer_get(res, frag, flen);
    } else if (frag) {
      /* A plain-name fragment is an $anchor of that resource. */
      size_t un = strlen(full) + flen + 2;
      char *u = malloc(un);
      if (u) {
        snprintf(u, un, "%s#%s", full, frag);
        target = name_find(c, u);
        free(u);
      }
    }
  } else {
    target = res;
  }
  free(frag);
  free(full);
  if (!target)
    return fail(
        c,
        "unresolvable $ref \"%s\" at %s (only references within the same document are supported)",
        json_string_value(v), e->loc);
  if (json_is_object(target) && !entry_find(c, target))
    return fail(c, "$ref \"%s\" at %s does not point at a schema", json_string_value(v), e->loc);
  n->ref = compile_node(c, target, e->loc);
  return n->ref ? 0 : -1;
}

/* x-pii is honoured on top-level properties only: "#/properties/<name>". */
static int pii_location_ok(const char *loc) {
  const char *p = "#/properties/";
  return !strncmp(loc, p, strlen(p)) && strchr(loc + strlen(p), '/') == NULL;
}

static int compile_keyword(cctx_t *c, schema_node_t *n, const entry_t *e, const char *k,
                           json_t *v) {
  const char *loc = e->loc;

  if (!strcmp(k, "type"))
    return read_type(c, n, v, loc);
  if (!strcmp(k, "enum"))
    return read_enum(c, n, v, loc);
  if (!strcmp(k, "const")) {
    if (!(n->const_doc = value_doc(v)))
      return fail(c, "out of memory (or nesting over 2048) in \"const\" at %s", loc);
    n->flags |= SK_CONST;
    n->const_msg = values_msg("must be equal to ", v, "must be equal to the schema constant");
    return n->const_msg ? 0 : fail(c, "out of memory");
  }
#define NUMKW(name, field, flag)                                                                   \
  if (!strcmp(k, name)) {                                                                          \
    n->flags |= flag;                                                                              \
    return read_num(c, v, &n->field, k, loc);                                                      \
  }
  NUMKW("minimum", minimum, SK_MINIMUM)
  NUMKW("maximum", maximum, SK_MAXIMUM)
  NUMKW("exclusiveMinimum", exmin, SK_EXMIN)
  NUMKW("exclusiveMaximum", exmax, SK_EXMAX)
#define CNTKW(name, field, flag)                                                                   \
  if (!strcmp(k, name)) {                                                                          \
    n->flags |= flag;                                                                              \
    return read_count(c, v, &n->field, k, loc);                                                    \
  }
  CNTKW("minLength", min_len, SK_MINLEN)
  CNTKW("maxLength", max_len, SK_MAXLEN)
  CNTKW("minItems", min_items, SK_MINITEMS)
  CNTKW("maxItems", max_items, SK_MAXITEMS)
  if (!strcmp(k, "pattern"))
    return read_pattern(c, n, v, loc);
  if (!strcmp(k, "format"))
    return read_format(c, n, v, loc);
  if (!strcmp(k, "uniqueItems")) {
    if (!json_is_boolean(v))
      return fail(c, "\"uniqueItems\" must be a boolean at %s", loc);
    if (json_is_true(v))
      n->flags |= SK_UNIQUE;
    return 0;
  }
  if (!strcmp(k, "required"))
    return read_required(c, n, v, loc);
  if (!strcmp(k, "properties"))
    return read_properties(c, n, v, loc);
  if (!strcmp(k, "additionalProperties")) {
    n->flags |= SK_ADDL;
    return (n->addl = compile_sub(c, v, loc, k)) ? 0 : -1;
  }
  if (!strcmp(k, "items")) {
    n->flags |= SK_ITEMS;
    return (n->items = compile_sub(c, v, loc, k)) ? 0 : -1;
  }
  if (!strcmp(k, "not")) {
    n->flags |= SK_NOT;
    return (n->not_node = compile_sub(c, v, loc, k)) ? 0 : -1;
  }
  if (!strcmp(k, "prefixItems"))
    return read_list(c, v, k, loc, &n->prefix, &n->n_prefix);
  if (!strcmp(k, "allOf"))
    return read_list(c, v, k, loc, &n->all_of, &n->n_all_of);
  if (!strcmp(k, "anyOf"))
    return read_list(c, v, k, loc, &n->any_of, &n->n_any_of);
  if (!strcmp(k, "oneOf"))
    return read_list(c, v, k, loc, &n->one_of, &n->n_one_of);
  if (!strcmp(k, "$ref"))
    return read_ref(c, n, v, e);
  if (!strcmp(k, "$defs")) {
    const char *dk;
    size_t dkl;
    json_t *sub;
    if (!json_is_object(v))
      return fail(c, "\"$defs\" must be an object at %s", loc);
    /* Compiled even when unreferenced, so an unsupported keyword anywhere in
     * the file is reported at load rather than silently ignored. */
    json_object_keylen_foreach(v, dk, dkl, sub) {
      char *l = loc_join(loc, "$defs", dk, dkl);
      schema_node_t *d;
      if (!l)
        return fail(c, "out of memory");
      d = compile_node(c, sub, l);
      free(l);
      if (!d)
        return -1;
    }
    return 0;
  }
  if (!strcmp(k, "$schema")) {
    const char *u = json_string_value(v);
    if (!u || (strcmp(u, DRAFT_2020_12) && strcmp(u, DRAFT_2020_12 "#")))
      return fail(c, "unsupported $schema at %s (only " DRAFT_2020_12 ")", loc);
    return 0;
  }
  if (!strcmp(k, "$id") || !strcmp(k, "$anchor")) {
    if (!json_is_string(v))
      return fail(c, "\"%s\" must be a string at %s", k, loc);
    return 0;
  }
  if (!strcmp(k, "x-pii")) {
    if (!pii_location_ok(loc))
      return fail(c, "\"x-pii\" at %s: only top-level properties may carry x-pii", loc);
    return 0; /* parsed by schema_pii_parse() */
  }
  if (!strcmp(k, "$comment") || !strcmp(k, "title") || !strcmp(k, "description") ||
      !strcmp(k, "default") || !strcmp(k, "examples"))
    return 0;
  return fail(c, "unsupported keyword \"%s\" at %s", k, loc);
}

static schema_node_t *compile_node(cctx_t *c, json_t *js, const char *loc) {
  const char *k;
  json_t *v;
  entry_t *e;
  schema_node_t *n;

  if (json_is_true(js))
    return &c->s->node_true;
  if (json_is_false(js))
    return &c->s->node_false;
  if (!json_is_object(js)) {
    fail(c, "schema must be an object or a boolean at %s", loc);
    return NULL;
  }
  e = entry_find(c, js);
  if (!e) {
    fail(c, "schema at %s is not in a schema position", loc);
    return NULL;
  }
  if (e->node)
    return e->node; /* compiled or being compiled: cycles end here */
  if (!(n = node_alloc(c)))
    return NULL;
  e->node = n;
  json_object_foreach(js, k, v) {
    if (compile_keyword(c, n, e, k, v) < 0)
      return NULL;
  }
  if (schema_fast_prepare(n) < 0) {
    fail(c, "out of memory");
    return NULL;
  }
  n->compiled = 1;
  return n;
}

int schema_compile(schema_t *s, char *errstr, size_t errstr_size) {
  cctx_t c;
  int rc = -1;

  memset(&c, 0, sizeof(c));
  c.s = s;
  c.err = errstr;
  c.err_size = errstr_size;
  s->node_true.boolean = 1;
  s->node_false.boolean = 0;
  if (index_walk(&c, s->doc, "#", "") < 0 || table_build(&c) < 0)
    goto out;
  if (!(s->root = compile_node(&c, s->doc, "#")))
    goto out;
  if (schema_pii_parse(s, errstr, errstr_size) < 0)
    goto out;
  rc = 0;
out:
  for (size_t i = 0; i < c.n_ents; i++) {
    free(c.ents[i].loc);
    free(c.ents[i].base);
  }
  for (size_t i = 0; i < c.n_names; i++)
    free(c.names[i].uri);
  free(c.ents);
  free(c.names);
  free(c.table);
  return rc;
}

void schema_nodes_free(schema_t *s) {
  schema_node_t *n = s->nodes, *next;
  while (n) {
    next = n->next_alloc;
    pcre2_code_free(n->pattern);
    free(n->fre);
    free(n->prop_slots);
    jsonf_doc_destroy(n->const_doc);
    jsonf_doc_destroy(n->enum_doc);
    free(n->enum_strs);
    free(n->enum_msg);
    free(n->const_msg);
    free(n->props);
    free(n->props_sorted);
    free(n->required);
    free(n->prefix);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n);
    n = next;
  }
  s->nodes = NULL;
}
