/* product — one product as the enricher knows it (Redis hash product:<id>,
 * catalogue row, or the product of an order), and the rules for a valid one.
 */
#ifndef SENSORY_ENRICHER_PRODUCT_H
#define SENSORY_ENRICHER_PRODUCT_H

#include <stddef.h>
#include <stdint.h>

/* Longest product id the contracts allow is 64 bytes ("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"). */
#define PRODUCT_ID_MAX 64

/* Product metadata as the enricher uses it. name and category are owned by
 * whoever owns the struct (free with product_clear()); category may be NULL. */
typedef struct product {
  char id[PRODUCT_ID_MAX + 1];
  char *name;
  double price;
  char currency[4];
  char *category;
} product_t;

/* Frees name and category and zeroes p; NULL-safe. */
void product_clear(product_t *p);

/* Deep copy of src into dst (dst is overwritten, not freed). Returns 0 or -1
 * on allocation failure (dst is then cleared). */
int product_copy(product_t *dst, const product_t *src);

/* Checks and fills one product from its fields (any of currency, category,
 * updated_at may be NULL). Shared by both formats and by the order path.
 * Returns 0, or -1 with the reason in errstr. p is cleared on failure. */
int product_from_fields(product_t *p, const char *id, const char *name, const char *price,
                        const char *currency, const char *category, char *errstr,
                        size_t errstr_size);

/* Same, with the price already a number (JSON, orders, Redis). */
int product_fill(product_t *p, const char *id, const char *name, double price, const char *currency,
                 const char *category, char *errstr, size_t errstr_size);

/* 1 when id matches the contracts' product id pattern. */
int product_id_valid(const char *id);

#endif
