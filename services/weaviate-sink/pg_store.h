/* pg_store — the postgres backend (the local default): table social_posts,
 * one row per post (id uuid primary key = the record's UUIDv5), the vector
 * as real[384] plus the same floats as raw little-endian float32 in
 * vector_f32 (post-search scans those: PostgreSQL sends a bytea as it is
 * stored, while each real[] element costs a conversion — 70 ms against 1 s
 * per 100,000 rows), and tsv, the text-search column over content and
 * hashtags ('simple' configuration: no stemming, no stop words, any
 * language).
 *
 * A batch is one transaction: deletions, then COPY of each id's standing
 * upsert into a session temp table and INSERT ... ON CONFLICT (id) DO
 * UPDATE, then the partitions' next offsets (sink_offsets, pg.h) — so a
 * crash re-reads nothing already committed. A row PostgreSQL rejects
 * (class 22 or 23) is found by writing the batch row by row under
 * savepoints and dead-lettered with the SQLSTATE and primary message —
 * before the transaction commits, as stage_sink_reject() asks. A missing
 * table or a permission error stops the program (STAGE_FATAL): the restart
 * runs the migrations again.
 */
#ifndef SENSORY_PG_STORE_H
#define SENSORY_PG_STORE_H

#include "post_store.h"
#include "store/pg.h"

typedef struct pg_store_options {
  const char *sink_name;   /* the consumer group: whose offsets (sink_offsets.sink) */
  post_metrics_t *metrics; /* may be NULL */
  post_reject_fn reject;   /* NULL: stage_sink_reject */
} pg_store_options_t;

typedef struct pg_store pg_store_t;

/* Connects, applies the table's migrations (component "weaviate-sink").
 * Caller owns the result (pg_store_destroy); NULL with errstr. */
pg_store_t *pg_store_new(const pg_settings_t *s, const pg_store_options_t *o, char *errstr,
                         size_t errstr_size);
void pg_store_destroy(pg_store_t *p);

/* The migrations of social_posts, in order (also what deploy/sql documents). */
const pg_migration_t *pg_store_migrations(size_t *n);

/* Sets row->wire to the row's binary COPY tuple up to (not including) its
 * Kafka columns. 0, or -1 on allocation failure or a timestamp that does not
 * parse. */
int pg_store_encode(post_row_t *row);

extern const post_store_ops_t pg_store_ops;

#endif
