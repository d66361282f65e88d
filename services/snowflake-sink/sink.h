/* sink — snowflake-sink's side of the stage's sink mode (stage.h): checks
 * and maps each record when it is consumed (prepare), and writes batches to
 * the store (write) so that every record lands exactly once:
 *
 *  - a record that fails its contract (schemas/<contract>.json), a
 *    tombstone or a record of a topic with no table is dead-lettered at once;
 *  - records below the offset the store keeps for their partition were
 *    written before (a crash between the store's commit and Kafka's, or a
 *    zombie writer after a rebalance) and are skipped;
 *  - a batch the store rejects is split in halves until the rejected rows
 *    are isolated: the good rows load, each bad row becomes a dead letter
 *    with the store's code and message (never its values), made durable by
 *    stage_sink_reject() before anything commits past it;
 *  - the offsets kept with the data never pass a record prepare()
 *    dead-lettered in the same batch (its letter travels on its own and
 *    may not be acknowledged yet), so a crash reads it again;
 *  - a store that is down, restarting or slow: STAGE_RETRY (the stage
 *    pauses the partitions and offers the same batch again);
 *  - a deployment error (missing table, permissions): logged with a hint,
 *    STAGE_FATAL.
 *
 * Metrics (prefix snowflake_sink_): rows_written_total{table},
 * records_skipped_total{topic}, store_errors_total{code}, batch_records
 * (gauge: the last batch's size). The stage adds
 * the batch's: sink_write_seconds (the store's latency),
 * sink_flushes_total{reason}, sink_write_retries_total, sink_rejected_total,
 * end_to_end_seconds{topic} (the record's entry into the pipeline to the
 * store's commit), consumer lag.
 *
 * Not thread-safe: the stage calls it from its one thread.
 */
#ifndef SNOWFLAKE_SINK_SINK_H
#define SNOWFLAKE_SINK_SINK_H

#include <stddef.h>

#include "net/metrics.h"
#include "stage/stage.h"
#include "store.h"

typedef struct sink_options {
  const char *schemas_dir; /* the contracts */
  const char *tables;      /* "topic=table,..." */
  const char *name;        /* whose offsets the store keeps: the consumer group */
  /* How a rejected record is dead-lettered; NULL: stage_sink_reject (tests
   * that drive write() without a stage put their own here). */
  int (*reject)(stage_sink_batch_t *batch, size_t i);
} sink_options_t;

typedef struct sink sink_t;

/* Loads the contracts of the tables named in o->tables. store and metrics
 * (NULL-able) are borrowed and must outlive the sink. Caller owns the
 * result (sink_destroy). NULL with errstr: an unknown table, a topic named
 * twice, a contract that does not load. */
sink_t *sink_new(const sink_options_t *o, store_t *store, metrics_t *metrics, char *errstr,
                 size_t errstr_size);

/* Frees s and any rows it still holds; NULL is accepted. */
void sink_destroy(sink_t *s);

/* The stage's callbacks (ctx: s); the thresholds are the sink.batch_*
 * settings (app_sink_limits). */
void sink_stage(const sink_t *s, stage_sink_t *out);

/* The stage_sink_t callbacks, exposed for tests that drive batches
 * directly. */
int sink_prepare(void *ctx, stage_sink_record_t *rec);
int sink_write(void *ctx, stage_sink_batch_t *batch);
int sink_stored_offset(void *ctx, const char *topic, int32_t partition, int64_t *next_offset);
void sink_release(void *ctx, void *row);

#endif
