/* risk_backtest — re-scores an order history with two rule sets (the rules
 * in force and a candidate) and says what the candidate would change.
 *
 * Orders are replayed in event-time order through the in-memory history
 * (risk_model, the update script's rules). Each order is scored once, when
 * it is first seen — the moment a checkout would have asked — from the
 * history before it, with the amount price × quantity; its outcome is what
 * the rest of the history says: "bad" when it was later returned or failed
 * delivery, "delivered" when it was delivered and never returned or failed.
 * The blacklist is not part of an order history, so it plays no part.
 *
 * Memory: every event is kept until run (about 300 bytes each). Not
 * thread-safe. Nothing here logs.
 */
#ifndef RISK_BACKTEST_H
#define RISK_BACKTEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "risk_rules.h"

typedef struct risk_backtest_report {
  int64_t events, orders, cod_orders;
  int64_t changed, to_advance, to_accept; /* decisions that differ, by direction */
  int64_t bad_cod;                        /* COD orders later returned or failed delivery */
  int64_t caught_current, caught_candidate;
  int64_t delivered_cod; /* COD orders delivered and never returned or failed */
  int64_t prepay_current, prepay_candidate;
  int64_t advance_current, advance_candidate; /* advance payment decisions in all */
} risk_backtest_report_t;

typedef struct risk_backtest risk_backtest_t;

/* Rule sets are borrowed. NULL on allocation failure. */
risk_backtest_t *risk_backtest_new(const risk_rules_t *current, const risk_rules_t *candidate,
                                   int64_t velocity_max);

void risk_backtest_destroy(risk_backtest_t *b);

/* Takes one clean order (clean_market_order.json), or a {"topic","key",
 * "value"} line whose value is one. Returns 1 when kept, 0 when it has no
 * customer (skipped), -1 with errstr when malformed. */
int risk_backtest_add(risk_backtest_t *b, const json_t *order, char *errstr, size_t errstr_size);

/* Replays everything added and fills *rep. 0, or -1 on allocation failure. */
int risk_backtest_run(risk_backtest_t *b, risk_backtest_report_t *rep);

/* Prints the report for people (source names where the orders came from). */
void risk_backtest_print(const risk_backtest_report_t *rep, const risk_rules_t *current,
                         const risk_rules_t *candidate, const char *source, int64_t skipped,
                         FILE *out);

/* The report as one JSON object (caller json_decref()s). */
json_t *risk_backtest_json(const risk_backtest_report_t *rep, const risk_rules_t *current,
                           const risk_rules_t *candidate);

#endif
