/* store_postgres — the PostgreSQL backend of the store interface (store.h):
 * per batch one transaction: COPY into a temporary table per warehouse
 * table, then one INSERT ... SELECT DISTINCT ON (key) ... ON CONFLICT DO
 * UPDATE per table (orders: only when the event time is not older than the
 * stored row's; price_history derived from the orders), each apply under a
 * savepoint so a rejected sub-batch leaves the transaction usable, and the
 * batch's sink_offsets in the same transaction.
 */
#ifndef SNOWFLAKE_SINK_STORE_POSTGRES_H
#define SNOWFLAKE_SINK_STORE_POSTGRES_H

#include "store.h"
#include "store/pg.h"

/* A store on the database of s (copied; nothing connects yet). sink names
 * the consumer group whose offsets are kept. Caller owns the result
 * (store_destroy). NULL with errstr (password file unreadable, no memory). */
store_t *store_postgres_new(const pg_settings_t *s, const char *sink, char *errstr,
                            size_t errstr_size);

#endif
