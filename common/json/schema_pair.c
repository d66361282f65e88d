/* schema_pair — which top-level properties two compiled schemas check alike,
 * so that a record derived from one already valid against the source schema
 * needs its unchanged members checked again only where the target schema says
 * something else about them (schema_validate_derived, schema.c).
 *
 * "Alike" is structural equality of the compiled subschemas: the same types,
 * bounds, lengths, patterns (same source text), formats, const and enum
 * values, properties, required names and applicators, recursively. It is
 * conservative: anything not proven equal (or nested deeper than
 * PAIR_MAX_DEPTH) counts as different, which only costs a check. */
#include <stdlib.h>
#include <string.h>

#include "json/schema_internal.h"

#define PAIR_MAX_DEPTH 16

static int node_same(const schema_node_t *a, const schema_node_t *b, int depth);

static int num_same(const schema_num_t *a, const schema_num_t *b) {
  return a->is_int == b->is_int && (a->is_int ? a->i == b->i : a->d == b->d);
}

static int list_same(schema_node_t *const *a, schema_node_t *const *b, size_t n, int depth) {
  for (size_t i = 0; i < n; i++)
    if (!node_same(a[i], b[i], depth))
      return 0;
  return 1;
}

static int doc_same(const jsonf_doc_t *a, const jsonf_doc_t *b) {
  const jsonf_node_t *x = jsonf_doc_root(a), *y = jsonf_doc_root(b);
  if (!x || !y)
    return x == y;
  /* enum arrays compare item by item (order is part of the message, not of
   * validity, but equal order is what identical contracts have) */
  return schema_value_equal(x, y);
}

static int node_same(const schema_node_t *a, const schema_node_t *b, int depth) {
  if (a == b)
    return 1;
  if (!a || !b || depth > PAIR_MAX_DEPTH || a->boolean != b->boolean)
    return 0;
  if (a->boolean >= 0)
    return 1;
  if (a->flags != b->flags || a->types != b->types || a->format != b->format)
    return 0;
  unsigned f = a->flags;
  if (((f & SK_MINIMUM) && !num_same(&a->minimum, &b->minimum)) ||
      ((f & SK_MAXIMUM) && !num_same(&a->maximum, &b->maximum)) ||
      ((f & SK_EXMIN) && !num_same(&a->exmin, &b->exmin)) ||
      ((f & SK_EXMAX) && !num_same(&a->exmax, &b->exmax)) ||
      ((f & SK_MINLEN) && a->min_len != b->min_len) ||
      ((f & SK_MAXLEN) && a->max_len != b->max_len) ||
      ((f & SK_MINITEMS) && a->min_items != b->min_items) ||
      ((f & SK_MAXITEMS) && a->max_items != b->max_items))
    return 0;
  if ((a->pattern_src != NULL) != (b->pattern_src != NULL) ||
      (a->pattern_src && strcmp(a->pattern_src, b->pattern_src) != 0))
    return 0;
  if (((f & SK_CONST) && !doc_same(a->const_doc, b->const_doc)) ||
      ((f & SK_ENUM) && !doc_same(a->enum_doc, b->enum_doc)))
    return 0;
  if (a->n_props != b->n_props || a->n_required != b->n_required || a->n_prefix != b->n_prefix ||
      a->n_all_of != b->n_all_of || a->n_any_of != b->n_any_of || a->n_one_of != b->n_one_of)
    return 0;
  for (size_t i = 0; i < a->n_props; i++)
    if (a->props[i].len != b->props[i].len ||
        memcmp(a->props[i].name, b->props[i].name, a->props[i].len) != 0 ||
        !node_same(a->props[i].node, b->props[i].node, depth + 1))
      return 0;
  for (size_t i = 0; i < a->n_required; i++)
    if (a->required[i].len != b->required[i].len ||
        memcmp(a->required[i].s, b->required[i].s, a->required[i].len) != 0)
      return 0;
  if ((a->addl || b->addl) && !node_same(a->addl, b->addl, depth + 1))
    return 0;
  if ((a->items || b->items) && !node_same(a->items, b->items, depth + 1))
    return 0;
  if ((a->not_node || b->not_node) && !node_same(a->not_node, b->not_node, depth + 1))
    return 0;
  if ((a->ref || b->ref) && !node_same(a->ref, b->ref, depth + 1))
    return 0;
  return list_same(a->prefix, b->prefix, a->n_prefix, depth + 1) &&
         list_same(a->all_of, b->all_of, a->n_all_of, depth + 1) &&
         list_same(a->any_of, b->any_of, a->n_any_of, depth + 1) &&
         list_same(a->one_of, b->one_of, a->n_one_of, depth + 1);
}

schema_pair_t *schema_pair_new(const schema_t *target, const schema_t *source) {
  if (!target || !source)
    return NULL;
  schema_pair_t *p = calloc(1, sizeof(*p)); /* caller owns, schema_pair_destroy() */
  if (!p)
    return NULL;
  p->target = target;
  const schema_node_t *t = target->root, *s = source->root;
  /* Only a root that is a plain object schema with the fast property table:
   * then its properties are all that checks a member's value. */
  if (!t->prop_slots || !(t->flags & SK_SIMPLE) || s->boolean >= 0)
    return p;
  for (size_t i = 0; i < t->n_props && i < 64; i++) {
    const schema_prop_t *tp = &t->props[i];
    for (size_t j = 0; j < s->n_props; j++) {
      const schema_prop_t *sp = &s->props[j];
      if (sp->len == tp->len && memcmp(sp->name, tp->name, tp->len) == 0) {
        if (node_same(tp->node, sp->node, 0))
          p->same |= UINT64_C(1) << i;
        break;
      }
    }
  }
  return p;
}

void schema_pair_destroy(schema_pair_t *p) {
  free(p);
}
