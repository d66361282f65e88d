/* risk_model — risk_history's update rules in memory (see risk_model.h).
 * Maps are jansson objects (string-keyed hash tables): customers by
 * pseudonym to an index, orders by "pseudonym|platform:order_id" to a flag
 * word. */
#include "risk_model.h"
#include "core/array.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum {
  F_COD = 1 << 8,
  F_OUT = 1 << 9,
  F_FINAL = 1 << 10,
  F_BAD = 1 << 11,
};

static const char *const statuses[] = {"pending",   "confirmed", "shipped",        "delivered",
                                       "cancelled", "returned",  "failed_delivery"};

typedef struct customer {
  char phash[PII_HASH_MAX];
  int64_t orders, cod_orders, delivered, returned, failed_delivery, cancelled, cod_bad,
      cod_outstanding;
  int64_t *vel; /* order times, ascending */
  size_t nvel, capvel;
} customer_t;

struct risk_model {
  json_t *by_hash; /* phash → index into cust */
  json_t *orders;  /* key → flags */
  customer_t *cust;
  size_t n, cap;
  int64_t velocity_max;
};

risk_model_t *risk_model_new(int64_t velocity_max) {
  risk_model_t *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->by_hash = json_object();
  m->orders = json_object();
  m->velocity_max = velocity_max > 0 ? velocity_max : 1000;
  if (!m->by_hash || !m->orders) {
    risk_model_destroy(m);
    return NULL;
  }
  return m;
}

void risk_model_destroy(risk_model_t *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++)
    free(m->cust[i].vel);
  free(m->cust);
  json_decref(m->by_hash);
  json_decref(m->orders);
  free(m);
}

static customer_t *find(const risk_model_t *m, const char *phash) {
  json_t *i = json_object_get(m->by_hash, phash);
  return i ? &m->cust[json_integer_value(i)] : NULL;
}

static customer_t *get(risk_model_t *m, const char *phash) {
  customer_t *c = find(m, phash);
  if (c)
    return c;
  if (array_reserve(&m->cust, &m->cap, m->n + 1, sizeof(*m->cust), 256) != 0)
    return NULL;
  c = &m->cust[m->n];
  memset(c, 0, sizeof(*c));
  snprintf(c->phash, sizeof(c->phash), "%s", phash);
  if (json_object_set_new(m->by_hash, phash, json_integer((json_int_t)m->n)) != 0)
    return NULL;
  m->n++;
  return c;
}

/* Velocity: insert t, drop entries older than t - 7 d, keep the newest max. */
static int vel_add(customer_t *c, int64_t t, int64_t max) {
  if (array_reserve(&c->vel, &c->capvel, c->nvel + 1, sizeof(*c->vel), 8) != 0)
    return -1;
  size_t i = c->nvel;
  while (i > 0 && c->vel[i - 1] > t) {
    c->vel[i] = c->vel[i - 1];
    i--;
  }
  c->vel[i] = t;
  c->nvel++;
  size_t drop = 0;
  while (drop < c->nvel && c->vel[drop] < t - 604800000)
    drop++;
  if ((int64_t)(c->nvel - drop) > max)
    drop = c->nvel - (size_t)max;
  if (drop) {
    memmove(c->vel, c->vel + drop, (c->nvel - drop) * sizeof(*c->vel));
    c->nvel -= drop;
  }
  return 0;
}

int risk_model_apply(risk_model_t *m, const risk_order_event_t *ev) {
  int bit = -1;
  for (int i = 0; i < 7; i++)
    if (strcmp(ev->status, statuses[i]) == 0)
      bit = i;
  if (bit < 0)
    return 0;
  char key[PII_HASH_MAX + RISK_PLATFORM_MAX + RISK_ORDER_ID_MAX + 4];
  snprintf(key, sizeof(key), "%s|%s:%s", ev->phash, ev->platform, ev->order_id);
  json_t *fv = json_object_get(m->orders, key);
  int fresh = fv == NULL;
  json_int_t flags = fv ? json_integer_value(fv) : (ev->cod ? F_COD : 0);
  if (flags & (1 << bit))
    return 0;
  flags |= 1 << bit;
  customer_t *c = get(m, ev->phash);
  if (!c)
    return -1;
  int cod = (flags & F_COD) != 0;
  if (fresh) {
    c->orders++;
    if (cod)
      c->cod_orders++;
    if (vel_add(c, ev->ts_ms, m->velocity_max) != 0)
      return -1;
  }
  int final = risk_status_final(ev->status);
  if (final) {
    int64_t *ctr[] = {
        NULL, NULL, NULL, &c->delivered, &c->cancelled, &c->returned, &c->failed_delivery};
    (*ctr[bit])++;
  }
  if (cod) {
    if (final) {
      if (flags & F_OUT) {
        flags &= ~F_OUT;
        c->cod_outstanding--;
      }
      flags |= F_FINAL;
      if ((bit == 5 || bit == 6) && !(flags & F_BAD)) {
        flags |= F_BAD;
        c->cod_bad++;
      }
    } else if (!(flags & F_FINAL) && !(flags & F_OUT) && !(flags & (1 << 12))) {
      /* bit 12 remembers that the order was counted outstanding once: the
       * script's HSETNX on "out" never counts an order twice. */
      flags |= F_OUT | (1 << 12);
      c->cod_outstanding++;
    }
  }
  if (json_object_set_new(m->orders, key, json_integer(flags)) != 0)
    return -1;
  return 1;
}

void risk_model_features(const risk_model_t *m, const char *phash, int64_t now_ms,
                         risk_features_t *f) {
  f->history_known = 1;
  f->blacklisted = 0;
  const customer_t *c = find(m, phash);
  if (!c) {
    f->orders = f->cod_orders = f->delivered = f->returned = f->failed_delivery = f->cancelled =
        f->cod_bad = f->cod_outstanding = f->velocity_1h = f->velocity_24h = f->velocity_7d = 0;
    return;
  }
  f->orders = c->orders;
  f->cod_orders = c->cod_orders;
  f->delivered = c->delivered;
  f->returned = c->returned;
  f->failed_delivery = c->failed_delivery;
  f->cancelled = c->cancelled;
  f->cod_bad = c->cod_bad;
  f->cod_outstanding = c->cod_outstanding;
  int64_t *w[3] = {&f->velocity_1h, &f->velocity_24h, &f->velocity_7d};
  static const int64_t span[3] = {3600000, 86400000, 604800000};
  for (int k = 0; k < 3; k++) {
    int64_t n = 0;
    for (size_t i = c->nvel; i > 0 && c->vel[i - 1] >= now_ms - span[k]; i--)
      n++;
    *w[k] = n;
  }
}

static int cmp_phash(const void *a, const void *b) {
  return strcmp((*(customer_t *const *)a)->phash, (*(customer_t *const *)b)->phash);
}

long risk_model_dump(const risk_model_t *m, FILE *out) {
  customer_t **order = malloc((m->n ? m->n : 1) * sizeof(*order));
  if (!order)
    return -1;
  for (size_t i = 0; i < m->n; i++)
    order[i] = &m->cust[i];
  qsort(order, m->n, sizeof(*order), cmp_phash);
  for (size_t i = 0; i < m->n; i++) {
    const customer_t *c = order[i];
    fprintf(out,
            "{\"customer_phone_hash\":\"%s\",\"orders\":%lld,\"cod_orders\":%lld,"
            "\"delivered\":%lld,\"returned\":%lld,\"failed_delivery\":%lld,\"cancelled\":%lld,"
            "\"cod_bad\":%lld,\"cod_outstanding\":%lld,\"velocity_entries\":%zu}\n",
            c->phash, (long long)c->orders, (long long)c->cod_orders, (long long)c->delivered,
            (long long)c->returned, (long long)c->failed_delivery, (long long)c->cancelled,
            (long long)c->cod_bad, (long long)c->cod_outstanding, c->nvel);
  }
  free(order);
  return ferror(out) ? -1 : (long)m->n;
}
