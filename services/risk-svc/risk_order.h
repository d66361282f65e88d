/* risk_order — what risk-svc learns from one message of
 * sink.snowflake.orders (a clean order: one status of one order), and the
 * names of a customer's keys. Pure: no Redis, no Kafka.
 */
#ifndef RISK_ORDER_H
#define RISK_ORDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "privacy/pii.h"

#define RISK_ORDER_ID_MAX 129
#define RISK_PLATFORM_MAX 33

/* One status of one order, as sink.snowflake.orders carries it. */
typedef struct risk_order_event {
  char phash[PII_HASH_MAX];
  char platform[RISK_PLATFORM_MAX];
  char order_id[RISK_ORDER_ID_MAX];
  char status[24];
  int cod;
  int64_t ts_ms; /* the order's timestamp (event time) */
} risk_order_event_t;

/* Reads an event from a clean order (clean_market_order.json). Returns 1
 * with *ev filled, 0 when the order carries no customer_phone_hash (nothing
 * to learn), -1 with errstr when a field needed is missing or malformed
 * (messages name the field, never its value). */
int risk_order_event_from_json(const json_t *order, risk_order_event_t *ev, char *errstr,
                               size_t errstr_size);

/* 1 when status ends an order (delivered, returned, failed_delivery,
 * cancelled). */
int risk_status_final(const char *status);

/* Key of a customer's part ("c", "v", "bl") into out; -1 if it does not fit. */
int risk_customer_key(const char *prefix, const char *phash, const char *part, char *out,
                      size_t out_size);

#endif
