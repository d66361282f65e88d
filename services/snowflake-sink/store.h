/* store — what snowflake-sink needs from a warehouse, behind one interface
 * with two backends: PostgreSQL (store_postgres.c, libpq, the default) and
 * Snowflake (store_snowflake.c, SQL API v2).
 *
 * One batch is begin → apply (once, or once per sub-batch while the sink
 * isolates rows the store rejects) → commit, or abort after a failure.
 * Every apply is all or nothing. Where the Kafka positions are kept:
 *  - PostgreSQL: one transaction for the whole batch; begin() locks and
 *    reads the sink_offsets rows of the batch's partitions (so the sink can
 *    skip what is already written), commit() raises them with the data.
 *  - Snowflake: each apply is one request that commits by itself, rows and
 *    offsets together (the MERGE script in deploy/sql/snowflake.sql, which
 *    also skips rows below the stored offsets); begin() and commit() do
 *    nothing.
 * The offsets handed over (apply's and commit's `saves`) are stage ranges
 * whose `last + 1` is the next offset to keep; partition -1 (stdio) is never
 * kept. Stores only ever raise a kept offset.
 *
 * Statuses: STORE_RETRY — nothing was committed and trying the same batch
 * again may help (unreachable, restarting, throttled, timed out);
 * STORE_REJECT — the data: the store refused a row (constraint, value out of
 * range) and err says why (code and message, never a value); STORE_FATAL —
 * a deployment error (missing table: run --init-schema; permissions; bad
 * credentials): the program stops.
 *
 * Not thread-safe: one store per stage thread.
 */
#ifndef SNOWFLAKE_SINK_STORE_H
#define SNOWFLAKE_SINK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "stage/stage.h"
#include "warehouse.h"

typedef enum { STORE_OK = 0, STORE_RETRY, STORE_REJECT, STORE_FATAL } store_status_t;

typedef struct store_error {
  char code[16];     /* SQLSTATE, Snowflake error code or "http_NNN"; "" when none */
  char message[512]; /* the store's words, never row values */
} store_error_t;

typedef struct store_ops {
  const char *name; /* "postgres", "snowflake" */
  /* Starts a batch over ranges[0..n): stored[i] is the kept next offset of
   * ranges[i] (-1: none, or the store skips by itself). */
  store_status_t (*begin)(void *impl, const stage_sink_range_t *ranges, size_t n, int64_t *stored,
                          store_error_t *err);
  /* Writes the rows of recs[0..n) (each rec->row a wh_row_t), all or none,
   * with the offsets in saves when the store keeps them per apply. */
  store_status_t (*apply)(void *impl, stage_sink_record_t *const *recs, size_t n,
                          const stage_sink_range_t *saves, size_t nsaves, store_error_t *err);
  /* Ends the batch, keeping saves with it. */
  store_status_t (*commit)(void *impl, const stage_sink_range_t *saves, size_t nsaves,
                           store_error_t *err);
  /* Abandons the batch (after RETRY, REJECT of the whole, or FATAL). */
  void (*abort)(void *impl);
  /* The kept next offset: 1 with *next, 0 when none, -1 when unreadable now. */
  int (*stored_offset)(void *impl, const char *topic, int32_t partition, int64_t *next);
  /* Applies the versioned migrations (idempotent). Returns how many were
   * applied, or -1 with errstr. */
  int (*init_schema)(void *impl, char *errstr, size_t errstr_size);
  void (*destroy)(void *impl);
} store_ops_t;

typedef struct store {
  const store_ops_t *ops;
  void *impl;
} store_t;

/* Frees a store made by store_postgres_new / store_snowflake_new; NULL-safe. */
void store_destroy(store_t *s);

#endif
