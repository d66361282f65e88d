/* risk_history — each customer's order history in Redis, keyed by the phone
 * pseudonym: counters (orders, COD orders, delivered, returned,
 * failed_delivery, cancelled, COD orders returned or failed, COD orders
 * outstanding), a velocity window (order times of the last 7 days) and the
 * blacklist entry.
 *
 * Keys (one hash tag per customer, so a Redis Cluster keeps a customer's keys
 * on one slot and the update script may touch them together):
 *   <prefix>:{<phash>}:c                     hash of counters
 *   <prefix>:{<phash>}:v                     sorted set: order time → platform:order_id
 *   <prefix>:{<phash>}:o:<platform>:<order>  hash: statuses seen, cod, outstanding/final flags
 *   <prefix>:{<phash>}:bl                    blacklist note (JSON), optional expiry
 *
 * One Lua script applies an order status event: a status already seen for
 * that order changes nothing (redelivery), a new order counts once, each
 * status counts once per order, and the order's first final status ends its
 * outstanding COD count. risk_model.c implements the same rules in memory
 * (for the backtest and for tests that recount).
 *
 * Threads: a risk_history_t holds one Redis client per caller slot (the HTTP
 * pool threads, the stage thread, the health probe); each slot must be used
 * by one thread at a time. Nothing here logs.
 */
#ifndef RISK_HISTORY_H
#define RISK_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "net/redis.h"
#include "privacy/pii.h"
#include "risk_order.h"
#include "risk_rules.h"

typedef struct risk_history_opts {
  const redis_settings_t *redis; /* copied per client */
  const char *prefix;            /* key prefix, e.g. "risk" */
  unsigned slots;                /* clients: one per thread that uses the history */
  int64_t order_ttl_s;           /* how long an order's dedupe state is kept */
  int64_t customer_ttl_s;        /* counters and velocity expire this long after the last order */
  int64_t velocity_max;          /* most order times kept per customer */
} risk_history_opts_t;

typedef struct risk_history risk_history_t;

/* Creates the clients (no connection yet). NULL with errstr on a bad Redis
 * setting. */
risk_history_t *risk_history_new(const risk_history_opts_t *o, char *errstr, size_t errstr_size);

/* Frees; NULL is accepted. */
void risk_history_destroy(risk_history_t *h);

/* Applies one event (the update script). Returns 1 applied, 0 duplicate (a
 * status seen before), -1 with errstr when Redis is unavailable or answered
 * an error (retry later). */
int risk_history_apply(risk_history_t *h, unsigned slot, const risk_order_event_t *ev, char *errstr,
                       size_t errstr_size);

/* The customer's features at now_ms (counters, velocity windows,
 * blacklisted; history_known set). 0, or -1 when unavailable. */
int risk_history_lookup(risk_history_t *h, unsigned slot, const char *phash, int64_t now_ms,
                        risk_features_t *f);

/* Blacklist entry: note is JSON text; ttl_s 0 means no expiry. 0 or -1. */
int risk_history_blacklist_put(risk_history_t *h, unsigned slot, const char *phash,
                               const char *note, int64_t ttl_s);
int risk_history_blacklist_del(risk_history_t *h, unsigned slot, const char *phash, int *removed);

/* PING on slot; 0 when Redis answered. */
int risk_history_ping(risk_history_t *h, unsigned slot);

/* 1 while the last command on any slot succeeded (for readiness and the
 * redis_up gauge), else 0. */
int risk_history_up(const risk_history_t *h);

#endif
