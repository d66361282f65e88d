/* risk_model — the customer history kept in memory with exactly the rules of
 * risk_history's update script: a status seen before for an order changes
 * nothing, a new order counts once, each status once per order, the first
 * final status of a COD order ends its outstanding count, velocity keeps the
 * order times of the last 7 days (at most velocity_max per customer).
 *
 * Used by the backtest (re-scoring an order history without Redis) and by
 * tests that recount what the service wrote into Redis. Not thread-safe.
 */
#ifndef RISK_MODEL_H
#define RISK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "risk_order.h"
#include "risk_rules.h"

typedef struct risk_model risk_model_t;

/* NULL on allocation failure. */
risk_model_t *risk_model_new(int64_t velocity_max);

/* Frees; NULL is accepted. */
void risk_model_destroy(risk_model_t *m);

/* Applies an event: 1 applied, 0 duplicate, -1 allocation failure. */
int risk_model_apply(risk_model_t *m, const risk_order_event_t *ev);

/* The features of phash at now_ms (history_known 1, blacklisted 0; amount
 * and cod untouched). */
void risk_model_features(const risk_model_t *m, const char *phash, int64_t now_ms,
                         risk_features_t *f);

/* Writes one JSON line per customer, sorted by pseudonym:
 * {"customer_phone_hash":...,"orders":N,...,"velocity_entries":N} — the
 * same counters risk_history keeps, for comparing with Redis. Returns the
 * number of customers, -1 on a write error. */
long risk_model_dump(const risk_model_t *m, FILE *out);

#endif
