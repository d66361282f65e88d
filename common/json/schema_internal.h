/* schema_internal — the compiled form of a schema, shared by schema_compile.c
 * (builds it), schema.c (walks it per message) and schema_format.c.  Not a
 * public header: services use schema.h only. */
#ifndef SENSORY_SCHEMA_INTERNAL_H
#define SENSORY_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json/jsonf.h"
#include "json/schema.h"

/* Instance nesting beyond this is refused ("nesting too deep"). */
#define SCHEMA_MAX_DEPTH 64
/* In-place applicator chains ($ref, allOf, ...) deeper than this are refused at
 * validation time, which also stops "$ref": "#" self-loops. */
#define SCHEMA_MAX_EVAL_DEPTH 512

enum {
  SCHEMA_T_NULL = 1u << 0,
  SCHEMA_T_BOOLEAN = 1u << 1,
  SCHEMA_T_OBJECT = 1u << 2,
  SCHEMA_T_ARRAY = 1u << 3,
  SCHEMA_T_NUMBER = 1u << 4,
  SCHEMA_T_INTEGER = 1u << 5,
  SCHEMA_T_STRING = 1u << 6,
};

typedef enum {
  SCHEMA_FMT_NONE = 0,
  SCHEMA_FMT_DATE_TIME,
  SCHEMA_FMT_DATE,
  SCHEMA_FMT_UUID
} schema_format_t;

/* A number from the schema, kept exact: integers stay int64 so bounds beyond
 * 2^53 compare exactly. */
typedef struct schema_num {
  int is_int;
  json_int_t i;
  double d;
  char text[40]; /* rendered once for messages */
} schema_num_t;

typedef struct schema_node schema_node_t;

typedef struct schema_prop {
  const char *name; /* points into the schema's own document copy */
  size_t len;
  schema_node_t *node;
} schema_prop_t;

/* A pattern that is an anchored sequence of ASCII character-class repetitions,
 * optionally with one-level groups ("^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"),
 * matched without PCRE2 (schema_fast.c).  A group item covers the next n_sub
 * items. */
typedef struct schema_fre_item {
  uint32_t min, max;
  uint32_t n_sub; /* > 0: a group over the following n_sub items */
} schema_fre_item_t;

typedef struct schema_fre {
  uint32_t cls[256]; /* bit k: byte is in the class of item k (ASCII only) */
  size_t n;
  schema_fre_item_t items[];
} schema_fre_t;

typedef struct schema_str {
  const char *s;
  size_t len;
} schema_str_t;

/* Presence flags, so an absent keyword costs one bit test. */
enum {
  SK_MINIMUM = 1u << 0,
  SK_MAXIMUM = 1u << 1,
  SK_EXMIN = 1u << 2,
  SK_EXMAX = 1u << 3,
  SK_MINLEN = 1u << 4,
  SK_MAXLEN = 1u << 5,
  SK_MINITEMS = 1u << 6,
  SK_MAXITEMS = 1u << 7,
  SK_UNIQUE = 1u << 8,
  SK_CONST = 1u << 9,
  SK_ENUM = 1u << 10,
  SK_ADDL = 1u << 11,
  SK_ITEMS = 1u << 12,
  SK_NOT = 1u << 13,
  SK_APPLY = 1u << 14, /* any of $ref, allOf, anyOf, oneOf, not (schema_fast.c) */
  /* Set by schema_fast_prepare: */
  SK_SIMPLE = 1u << 15,   /* an object schema without applicators or const: the walk's
                             checks apply without recursion */
  SK_PURE_REF = 1u << 16, /* nothing but a $ref */
};

struct schema_node {
  int boolean;  /* -1: object schema, 0: false, 1: true */
  int compiled; /* set once the keywords are read (refs can see a node early) */
  unsigned flags;
  unsigned types;    /* 0: any */
  char type_msg[80]; /* "must be string or null", built at load */

  schema_num_t minimum, maximum, exmin, exmax;
  size_t min_len, max_len, min_items, max_items;

  pcre2_code *pattern;
  schema_fre_t *fre; /* NULL: PCRE2 only */
  const char *pattern_src;
  schema_format_t format;

  jsonf_doc_t *const_doc;  /* owned: the const value, as a document */
  jsonf_doc_t *enum_doc;   /* owned: the enum array, as a document */
  schema_str_t *enum_strs; /* fast path when every enum value is a string */
  size_t n_enum_strs;
  char *enum_msg; /* "must be one of [...]" */
  char *const_msg;

  schema_prop_t *props;         /* schema order, for deterministic errors */
  schema_prop_t **props_sorted; /* by name, for additionalProperties lookups */
  size_t n_props;
  schema_node_t *addl;
  schema_str_t *required;
  size_t n_required;
  /* Object fast path (schema_fast.c), set when there are at most 64 properties
   * and every required name is one of them: prop_slots is an open-addressing
   * table of property index + 1, req_mask the properties that are required. */
  uint8_t *prop_slots;
  size_t prop_slot_mask;
  uint64_t req_mask;

  schema_node_t **prefix;
  size_t n_prefix;
  schema_node_t *items;

  schema_node_t **all_of, **any_of, **one_of;
  size_t n_all_of, n_any_of, n_one_of;
  schema_node_t *not_node;
  schema_node_t *ref;

  schema_node_t *next_alloc; /* every node of a schema, for destroy */
};

struct schema {
  json_t *doc; /* owned deep copy: nodes borrow strings from it */
  schema_node_t *root;
  schema_node_t *nodes; /* allocation list */
  schema_node_t node_true, node_false;
  schema_pii_field_t *pii;
  size_t n_pii;
  char *name;
  pcre2_match_context *mctx;
};

/* Which of a target schema's top-level properties a source schema checks
 * alike (schema_pair.c). */
struct schema_pair {
  const schema_t *target;
  uint64_t same; /* bit p: the target root's property p */
};

/* Compiles pattern src[0..len) for schema_fre_match, or returns NULL when
 * it is not of the simple form (or on allocation failure): PCRE2 then does
 * all the work.  Caller frees the result. */
schema_fre_t *schema_fre_compile(const char *src, size_t len);

/* 1 when s[0..len) is certainly matched by the pattern fre came from; 0 means
 * "not proven": the caller asks PCRE2, which also decides UTF-8 errors. */
int schema_fre_match(const schema_fre_t *fre, const char *s, size_t len);

/* Builds the object fast-path table of a compiled node; 0, or -1 when out of
 * memory. Leaves prop_slots NULL when the node does not qualify. */
int schema_fast_prepare(schema_node_t *n);

static inline int schema_key_eq(const char *a, const char *b, size_t len) {
  /* Property names are short: a few (overlapping) word compares beat a
   * memcmp call. */
  uint64_t x, y;
  if (len >= 8) {
    while (len > 8) {
      memcpy(&x, a, 8);
      memcpy(&y, b, 8);
      if (x != y)
        return 0;
      a += 8;
      b += 8;
      len -= 8;
    }
    memcpy(&x, a + len - 8, 8);
    memcpy(&y, b + len - 8, 8);
    return x == y;
  }
  if (len >= 4) {
    uint32_t p, q, r, t;
    memcpy(&p, a, 4);
    memcpy(&q, b, 4);
    memcpy(&r, a + len - 4, 4);
    memcpy(&t, b + len - 4, 4);
    return p == q && r == t;
  }
  while (len--)
    if (*a++ != *b++)
      return 0;
  return 1;
}

/* Index of property k[0..kl) of n, or -1; hash is jsonf_key_hash(k, kl) (key
 * nodes carry it) and n->prop_slots must be set. The table only holds the
 * schema's own names, so an instance key costs one probe sequence whatever it
 * is, although the hash is unseeded. */
static inline int schema_prop_index(const schema_node_t *n, uint32_t hash, const char *k,
                                    size_t kl) {
  size_t i = hash & n->prop_slot_mask;
  for (;;) {
    unsigned sl = n->prop_slots[i];
    if (!sl)
      return -1;
    const schema_prop_t *p = &n->props[sl - 1];
    if (p->len == kl && schema_key_eq(p->name, k, kl))
      return (int)sl - 1;
    i = (i + 1) & n->prop_slot_mask;
  }
}

/* Builds s->root from s->doc (schema_compile.c). 0 or -1 + errstr. */
int schema_compile(schema_t *s, char *errstr, size_t errstr_size);

/* Parses the x-pii annotations of s->doc into s->pii (schema_pii.c). */
int schema_pii_parse(schema_t *s, char *errstr, size_t errstr_size);

/* Frees the node list and compiled patterns (schema_compile.c). */
void schema_nodes_free(schema_t *s);

/* JSON equality with numeric comparison (1 == 1.0), as JSON Schema defines it. */
int schema_value_equal(const jsonf_node_t *a, const jsonf_node_t *b);

/* Resolves URI reference ref against base (RFC 3986 section 5.2, with dot
 * segment removal). Returns a malloc'd string, NULL on allocation failure. */
char *schema_uri_resolve(const char *base, const char *ref);

/* Decodes %XX escapes of s[0..len) into a malloc'd NUL-terminated string;
 * NULL on a bad escape or allocation failure. *out_len gets the length. */
char *schema_percent_decode(const char *s, size_t len, size_t *out_len);

/* Follows JSON pointer ptr (already percent-decoded, "" or "/a/b") from doc.
 * Returns the borrowed target or NULL. */
json_t *schema_pointer_get(json_t *doc, const char *ptr, size_t len);

/* Rewrites ECMA-262 long Unicode property names (\p{Letter}) to the PCRE2
 * short ones (\p{L}). malloc'd result, NULL on allocation failure. */
char *schema_regex_translate(const char *src, size_t len, size_t *out_len);

/* Format checks (schema_format.c); 1 when s[0..len) is valid. */
int schema_format_date_time(const char *s, size_t len);
int schema_format_date(const char *s, size_t len);
int schema_format_uuid(const char *s, size_t len);

#endif
