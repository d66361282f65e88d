/* post_plan: a batch's records grouped by object id (open addressing over
 * the ids' hash) and reduced to the deletions and upserts that stand. */
#include "post_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t id_hash(const char *id) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = id; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

static int by_index(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

void post_plan_free(post_plan_t *plan) {
  if (!plan)
    return;
  free(plan->prev);
  free(plan->deletes);
  free(plan->upserts);
  memset(plan, 0, sizeof(*plan));
}

int post_plan_make(post_row_t *const *rows, size_t n, post_plan_t *plan) {
  memset(plan, 0, sizeof(*plan));
  plan->n = n;
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  size_t *last = malloc(cap * sizeof(*last)); /* slot → newest record of the id */
  plan->prev = malloc((n ? n : 1) * sizeof(*plan->prev));
  plan->deletes = malloc((n ? n : 1) * sizeof(*plan->deletes));
  plan->upserts = malloc((n ? n : 1) * sizeof(*plan->upserts));
  if (!last || !plan->prev || !plan->deletes || !plan->upserts) {
    free(last);
    post_plan_free(plan);
    return -1;
  }
  for (size_t s = 0; s < cap; s++)
    last[s] = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t s = (size_t)id_hash(rows[i]->id) & (cap - 1);
    while (last[s] != SIZE_MAX && strcmp(rows[last[s]]->id, rows[i]->id) != 0)
      s = (s + 1) & (cap - 1);
    plan->prev[i] = last[s];
    last[s] = i;
  }
  for (size_t s = 0; s < cap; s++) {
    if (last[s] == SIZE_MAX)
      continue;
    size_t newest_upsert = SIZE_MAX, j = last[s];
    /* Walk back to the last deletion; the newest upsert after it stands. */
    while (j != SIZE_MAX && !rows[j]->deleted) {
      if (newest_upsert == SIZE_MAX)
        newest_upsert = j;
      j = plan->prev[j];
    }
    if (j != SIZE_MAX)
      plan->deletes[plan->ndeletes++] = j;
    if (newest_upsert != SIZE_MAX)
      plan->upserts[plan->nupserts++] = newest_upsert;
  }
  free(last);
  /* Consumption order, so requests and tests do not depend on the hash. */
  qsort(plan->deletes, plan->ndeletes, sizeof(size_t), by_index);
  qsort(plan->upserts, plan->nupserts, sizeof(size_t), by_index);
  return 0;
}

size_t post_plan_fallback(const post_plan_t *plan, post_row_t *const *rows, size_t i) {
  size_t j = plan->prev[i];
  return j != SIZE_MAX && !rows[j]->deleted ? j : SIZE_MAX;
}
