/* product — the product record the enricher works with: checks, copies and
 * frees. Shared by the cache, the Redis store, the catalogue loader and the
 * order path, so one set of rules decides what a valid product is. */
#include "product.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of the market contract (schemas/clean_market_order.json): names up
 * to 512 code points, categories up to 256 bytes. */
#define NAME_MAX_CODEPOINTS 512
#define CATEGORY_MAX_BYTES 256

void product_clear(product_t *p) {
  if (!p)
    return;
  free(p->name);
  free(p->category);
  memset(p, 0, sizeof(*p));
}

int product_copy(product_t *dst, const product_t *src) {
  memset(dst, 0, sizeof(*dst));
  memcpy(dst->id, src->id, sizeof(dst->id));
  dst->id[PRODUCT_ID_MAX] = '\0';
  memcpy(dst->currency, src->currency, sizeof(dst->currency));
  dst->currency[3] = '\0';
  dst->price = src->price;
  if ((src->name && !(dst->name = strdup(src->name))) ||
      (src->category && !(dst->category = strdup(src->category)))) {
    product_clear(dst);
    return -1;
  }
  return 0;
}

int product_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n < 1 || n > PRODUCT_ID_MAX || !isalnum((unsigned char)id[0]))
    return 0;
  for (size_t i = 1; i < n; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (!(isalnum(ch) || ch == '_' || ch == '.' || ch == ':' || ch == '-'))
      return 0;
  }
  return 1;
}

static size_t utf8_codepoints(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      n++;
  return n;
}

int product_fill(product_t *p, const char *id, const char *name, double price, const char *currency,
                 const char *category, char *errstr, size_t errstr_size) {
  memset(p, 0, sizeof(*p));
  if (!id || !product_id_valid(id)) {
    snprintf(errstr, errstr_size, "id: must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$");
    return -1;
  }
  size_t nlen = name ? strlen(name) : 0;
  if (nlen == 0 || strspn(name, " \t\r\n") == nlen) {
    snprintf(errstr, errstr_size, "name: must not be empty");
    return -1;
  }
  if (utf8_codepoints(name) > NAME_MAX_CODEPOINTS) {
    snprintf(errstr, errstr_size, "name: must be at most %d characters", NAME_MAX_CODEPOINTS);
    return -1;
  }
  if (!isfinite(price) || price <= 0) {
    snprintf(errstr, errstr_size, "price: must be a number > 0");
    return -1;
  }
  if (!currency || !*currency)
    currency = "BDT"; /* the market contract's default */
  if (strlen(currency) != 3 || !isupper((unsigned char)currency[0]) ||
      !isupper((unsigned char)currency[1]) || !isupper((unsigned char)currency[2])) {
    snprintf(errstr, errstr_size, "currency: must match ^[A-Z]{3}$");
    return -1;
  }
  if (category && strlen(category) > CATEGORY_MAX_BYTES) {
    snprintf(errstr, errstr_size, "category: must be at most %d bytes", CATEGORY_MAX_BYTES);
    return -1;
  }
  memcpy(p->id, id, strlen(id) + 1);
  memcpy(p->currency, currency, 4);
  p->price = price;
  if (!(p->name = strdup(name)) || (category && *category && !(p->category = strdup(category)))) {
    product_clear(p);
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  return 0;
}

int product_from_fields(product_t *p, const char *id, const char *name, const char *price,
                        const char *currency, const char *category, char *errstr,
                        size_t errstr_size) {
  char *end = NULL;
  double v = 0;
  if (price) {
    errno = 0;
    v = strtod(price, &end);
  }
  if (!price || end == price || *end != '\0' || errno == ERANGE) {
    memset(p, 0, sizeof(*p));
    snprintf(errstr, errstr_size, "price: must be a number > 0");
    return -1;
  }
  return product_fill(p, id, name, v, currency, category, errstr, errstr_size);
}
