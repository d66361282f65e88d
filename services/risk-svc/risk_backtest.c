/* risk_backtest — replay and comparison of two rule sets over an order
 * history (see risk_backtest.h). */
#include "risk_backtest.h"
#include "core/array.h"

#include <stdlib.h>
#include <string.h>

#include "risk_model.h"
#include "risk_order.h"
#include "json/jsonf.h"

typedef struct bt_event {
  risk_order_event_t ev;
  double amount;
  uint32_t merchant; /* index into merchants */
  uint32_t seq;      /* arrival order: ties in time keep it */
} bt_event_t;

enum { O_COD = 1, O_ADV_CUR = 2, O_ADV_CAND = 4, O_BAD = 8, O_DELIVERED = 16 };

struct risk_backtest {
  const risk_rules_t *cur, *cand;
  int64_t velocity_max;
  bt_event_t *ev;
  size_t n, cap;
  json_t *merchant_ids; /* id → index */
  char **merchants;
  size_t nmerchants, capmerchants;
};

risk_backtest_t *risk_backtest_new(const risk_rules_t *current, const risk_rules_t *candidate,
                                   int64_t velocity_max) {
  risk_backtest_t *b = calloc(1, sizeof(*b));
  if (!b || !(b->merchant_ids = json_object())) {
    free(b);
    return NULL;
  }
  b->cur = current;
  b->cand = candidate;
  b->velocity_max = velocity_max;
  return b;
}

void risk_backtest_destroy(risk_backtest_t *b) {
  if (!b)
    return;
  for (size_t i = 0; i < b->nmerchants; i++)
    free(b->merchants[i]);
  free(b->merchants);
  json_decref(b->merchant_ids);
  free(b->ev);
  free(b);
}

static int merchant_index(risk_backtest_t *b, const char *id, uint32_t *out) {
  json_t *i = json_object_get(b->merchant_ids, id);
  if (i) {
    *out = (uint32_t)json_integer_value(i);
    return 0;
  }
  if (array_reserve(&b->merchants, &b->capmerchants, b->nmerchants + 1, sizeof(*b->merchants),
                    64) != 0)
    return -1;
  if (!(b->merchants[b->nmerchants] = strdup(id)) ||
      json_object_set_new(b->merchant_ids, id, json_integer((json_int_t)b->nmerchants)) != 0)
    return -1;
  *out = (uint32_t)b->nmerchants++;
  return 0;
}

int risk_backtest_add(risk_backtest_t *b, const json_t *order, char *errstr, size_t errstr_size) {
  json_t *inner = NULL;
  const json_t *value = json_object_get(order, "value");
  if (json_is_string(value) && json_object_get(order, "topic")) {
    /* a {"topic","key","value"} line as kafka_tool and --side-file write them */
    inner =
        jsonf_parse(json_string_value(value), json_string_length(value), 64, errstr, errstr_size);
    if (!inner)
      return -1;
    order = inner;
  }
  bt_event_t e = {0};
  int rc = risk_order_event_from_json(order, &e.ev, errstr, errstr_size);
  if (rc == 1) {
    double price = json_number_value(json_object_get(order, "price"));
    json_int_t qty = json_integer_value(json_object_get(order, "quantity"));
    const char *merchant = json_string_value(json_object_get(order, "merchant_id"));
    e.amount = price * (double)(qty > 0 ? qty : 1);
    if (!merchant || !*merchant) {
      snprintf(errstr, errstr_size, "/merchant_id: missing");
      rc = -1;
    } else if (merchant_index(b, merchant, &e.merchant) != 0) {
      snprintf(errstr, errstr_size, "out of memory");
      rc = -1;
    }
  }
  if (rc == 1) {
    if (array_reserve(&b->ev, &b->cap, b->n + 1, sizeof(*b->ev), 4096) != 0) {
      snprintf(errstr, errstr_size, "out of memory");
      json_decref(inner);
      return -1;
    }
    e.seq = (uint32_t)b->n;
    b->ev[b->n++] = e;
  }
  json_decref(inner);
  return rc;
}

static int by_time(const void *a, const void *b) {
  const bt_event_t *x = a, *y = b;
  if (x->ev.ts_ms != y->ev.ts_ms)
    return x->ev.ts_ms < y->ev.ts_ms ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int risk_backtest_run(risk_backtest_t *b, risk_backtest_report_t *rep) {
  memset(rep, 0, sizeof(*rep));
  qsort(b->ev, b->n, sizeof(*b->ev), by_time);
  risk_model_t *m = risk_model_new(b->velocity_max);
  json_t *orders = json_object(); /* platform:order_id → flags */
  if (!m || !orders) {
    risk_model_destroy(m);
    json_decref(orders);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < b->n && rc == 0; i++) {
    const bt_event_t *e = &b->ev[i];
    char key[RISK_PLATFORM_MAX + RISK_ORDER_ID_MAX + 1];
    snprintf(key, sizeof(key), "%s:%s", e->ev.platform, e->ev.order_id);
    json_t *fv = json_object_get(orders, key);
    json_int_t flags = fv ? json_integer_value(fv) : 0;
    if (!fv) {
      risk_features_t f = {0};
      risk_model_features(m, e->ev.phash, e->ev.ts_ms, &f);
      f.amount = e->amount;
      f.cod = e->ev.cod;
      risk_result_t rc_cur, rc_cand;
      const char *merchant = b->merchants[e->merchant];
      risk_rules_evaluate(b->cur, merchant, &f, RISK_FAIL_OPEN, &rc_cur);
      risk_rules_evaluate(b->cand, merchant, &f, RISK_FAIL_OPEN, &rc_cand);
      flags = (e->ev.cod ? O_COD : 0) | (rc_cur.advance_payment ? O_ADV_CUR : 0) |
              (rc_cand.advance_payment ? O_ADV_CAND : 0);
    }
    if (strcmp(e->ev.status, "returned") == 0 || strcmp(e->ev.status, "failed_delivery") == 0)
      flags |= O_BAD;
    else if (strcmp(e->ev.status, "delivered") == 0)
      flags |= O_DELIVERED;
    if (json_object_set_new(orders, key, json_integer(flags)) != 0 ||
        risk_model_apply(m, &e->ev) < 0)
      rc = -1;
  }
  rep->events = (int64_t)b->n;
  const char *k;
  json_t *v;
  json_object_foreach(orders, k, v) {
    json_int_t f = json_integer_value(v);
    int cur = (f & O_ADV_CUR) != 0, cand = (f & O_ADV_CAND) != 0;
    rep->orders++;
    rep->advance_current += cur;
    rep->advance_candidate += cand;
    if (cur != cand) {
      rep->changed++;
      if (cand)
        rep->to_advance++;
      else
        rep->to_accept++;
    }
    if (!(f & O_COD))
      continue;
    rep->cod_orders++;
    if (f & O_BAD) {
      rep->bad_cod++;
      rep->caught_current += cur;
      rep->caught_candidate += cand;
    } else if (f & O_DELIVERED) {
      rep->delivered_cod++;
      rep->prepay_current += cur;
      rep->prepay_candidate += cand;
    }
  }
  risk_model_destroy(m);
  json_decref(orders);
  return rc;
}

static double pct(int64_t a, int64_t b) {
  return b ? 100.0 * (double)a / (double)b : 0.0;
}

void risk_backtest_print(const risk_backtest_report_t *r, const risk_rules_t *current,
                         const risk_rules_t *candidate, const char *source, int64_t skipped,
                         FILE *out) {
  fprintf(out,
          "backtest of %s: %lld orders (%lld COD) from %lld status events; %lld records "
          "without a customer skipped\n",
          source, (long long)r->orders, (long long)r->cod_orders, (long long)r->events,
          (long long)skipped);
  fprintf(out, "rules: current %s, candidate %s\n", risk_rules_version(current),
          risk_rules_version(candidate));
  fprintf(out,
          "decisions changed: %lld (accept -> advance payment %lld, advance payment -> "
          "accept %lld)\n",
          (long long)r->changed, (long long)r->to_advance, (long long)r->to_accept);
  fprintf(out, "advance payment asked: current %lld, candidate %lld\n",
          (long long)r->advance_current, (long long)r->advance_candidate);
  fprintf(out,
          "later returned or failed COD orders caught: current %lld of %lld (%.1f %%), "
          "candidate %lld of %lld (%.1f %%)\n",
          (long long)r->caught_current, (long long)r->bad_cod, pct(r->caught_current, r->bad_cod),
          (long long)r->caught_candidate, (long long)r->bad_cod,
          pct(r->caught_candidate, r->bad_cod));
  fprintf(out,
          "delivered COD orders asked to prepay: current %lld of %lld (%.1f %%), candidate "
          "%lld of %lld (%.1f %%)\n",
          (long long)r->prepay_current, (long long)r->delivered_cod,
          pct(r->prepay_current, r->delivered_cod), (long long)r->prepay_candidate,
          (long long)r->delivered_cod, pct(r->prepay_candidate, r->delivered_cod));
}

json_t *risk_backtest_json(const risk_backtest_report_t *r, const risk_rules_t *current,
                           const risk_rules_t *candidate) {
  return json_pack(
      "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rules_current",
      risk_rules_version(current), "rules_candidate", risk_rules_version(candidate), "events",
      (json_int_t)r->events, "orders", (json_int_t)r->orders, "cod_orders",
      (json_int_t)r->cod_orders, "changed", (json_int_t)r->changed, "to_advance",
      (json_int_t)r->to_advance, "to_accept", (json_int_t)r->to_accept, "bad_cod",
      (json_int_t)r->bad_cod, "caught_current", (json_int_t)r->caught_current, "caught_candidate",
      (json_int_t)r->caught_candidate, "delivered_cod", (json_int_t)r->delivered_cod,
      "prepay_current", (json_int_t)r->prepay_current, "prepay_candidate",
      (json_int_t)r->prepay_candidate, "advance_current", (json_int_t)r->advance_current,
      "advance_candidate", (json_int_t)r->advance_candidate);
}
