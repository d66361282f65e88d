/* array — growing an array by doubling: the one place that does the realloc
 * arithmetic, with its overflow check, for every growable array.
 *
 *   if (array_reserve(&out->items, &out->cap, out->count + 1, sizeof(*out->items), 4) != 0)
 *     return -1;
 */
#ifndef SENSORY_CORE_ARRAY_H
#define SENSORY_CORE_ARRAY_H

#include <stddef.h>

/* Makes room for at least need elements of elem_size bytes in the array
 * whose pointer is at items_ptr (a T **, passed as void *) and whose
 * capacity is *cap: the capacity doubles from first (at least 1) until it
 * holds need. Returns 0 (nothing moves when it already fits), or -1 on size
 * overflow or allocation failure, the array then unchanged. */
int array_reserve(void *items_ptr, size_t *cap, size_t need, size_t elem_size, size_t first);

#endif
