/* array — the doubling realloc behind every growable array (array.h). */
#include "core/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int array_reserve(void *items_ptr, size_t *cap, size_t need, size_t elem_size, size_t first) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : (first ? first : 1);
  while (n < need) {
    if (n > SIZE_MAX / 2)
      return -1;
    n *= 2;
  }
  if (elem_size && n > SIZE_MAX / elem_size)
    return -1;
  void *items;
  memcpy(&items, items_ptr, sizeof(items)); /* *(T **)items_ptr, without the cast */
  void *grown = realloc(items, n * elem_size);
  if (!grown)
    return -1;
  memcpy(items_ptr, &grown, sizeof(grown));
  *cap = n;
  return 0;
}
