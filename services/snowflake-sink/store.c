/* store — what both backends share. */
#include "store.h"

#include <stdlib.h>

void store_destroy(store_t *s) {
  if (!s)
    return;
  if (s->ops && s->impl)
    s->ops->destroy(s->impl);
  free(s);
}
