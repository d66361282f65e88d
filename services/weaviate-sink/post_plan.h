/* post_plan — the in-order meaning of a sink batch, for stores that cannot
 * apply records one by one cheaply: per object id, which records were
 * superseded, whether a deletion comes first, and which upsert stands (and
 * which one stands instead when that one is rejected for good).
 *
 * For the records of one id r1..rk in consumption order, the store ends
 * holding the newest upsert after the last deletion that it accepted; with
 * none, the object is deleted (if any ri is a deletion) or left as it was.
 * So a store deletes every id with a deletion first, then upserts each id's
 * newest upsert after its last deletion, falling back to the previous one
 * when it is rejected.
 */
#ifndef SENSORY_POST_PLAN_H
#define SENSORY_POST_PLAN_H

#include <stddef.h>

#include "post_record.h"

typedef struct post_plan {
  size_t n;
  size_t *prev;    /* per record: the previous record of its id, or SIZE_MAX */
  size_t *deletes; /* per id with a deletion: its last deletion record */
  size_t ndeletes;
  size_t *upserts; /* per id with an upsert after its last deletion: the newest */
  size_t nupserts;
} post_plan_t;

/* Plans rows[0..n). Returns 0, or -1 on allocation failure. Free with
 * post_plan_free. */
int post_plan_make(post_row_t *const *rows, size_t n, post_plan_t *plan);

/* The upsert that stands when record i (an upsert) is rejected for good:
 * the previous upsert of its id after its last deletion, or SIZE_MAX. */
size_t post_plan_fallback(const post_plan_t *plan, post_row_t *const *rows, size_t i);

void post_plan_free(post_plan_t *plan);

#endif
