/* stage — the loop every streaming program runs:
 *
 *   poll → size/UTF-8/JSON checks → transform → produce outputs → store offset
 *
 * over one of two transports:
 *  - Kafka (default): a consumer group per service; enable.auto.offset.store=false
 *    and an input offset is stored only when every output and dead letter made
 *    for that message (and for every earlier message of its partition) has been
 *    acknowledged by its delivery report. Stored offsets are committed
 *    periodically, on partition revocation (after flushing the producer, so a
 *    partition is handed over with nothing in flight) and at shutdown.
 *    SIGTERM/SIGINT: stop polling, flush, commit, close, exit 0. A full producer
 *    queue pauses consumption (back-pressure) instead of dropping.
 *  - --stdio: one JSON message per line on stdin, the primary outputs' payloads
 *    as lines on stdout, side outputs (e.g. audit events) as
 *    {"topic","key","value"} lines to --side-file, dead-letter envelopes as
 *    lines to --dlq-file; --topic names the input topic the lines stand for.
 *
 * Every input ends in exactly one place: its outputs, its dead letter (with the
 * original bytes, stage, reason and origin), or uncommitted because the process
 * died.
 */
#ifndef SENSORY_STAGE_H
#define SENSORY_STAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "kafka/topics.h"
#include "net/metrics.h"
#include "privacy/dlq.h"
#include "json/jsonf.h"

/* The stage loop's own settings (the shared ones — brokers, log level, keys,
 * metrics address — are the start-up's: app/app.h). */
typedef struct stage_config {
  const char *brokers; /* borrowed from the start-up's kafka.brokers; not a table entry */
  char *group_id;
  char *input_topics; /* comma-separated */
  int64_t max_message_bytes;
  int64_t commit_interval_ms;
  int64_t shutdown_timeout_ms;
  int stdio;
  char *topic;     /* --stdio: the topic the input lines stand for */
  char *dlq_file;  /* --stdio: where dead letters go (required with --stdio) */
  char *side_file; /* --stdio: where side outputs go (optional) */
} stage_config_t;

/* The table of stage_config_t (static storage, NULL-terminated). The
 * defaults of kafka.group_id and input.topics are per program: the start-up
 * copies the table and fills them in. */
const conf_entry_t *stage_config_entries(void);

/* Indexes of the two per-program defaults in stage_config_entries(). */
enum { STAGE_ENTRY_GROUP = 0, STAGE_ENTRY_TOPICS = 1 };

typedef struct stage_msg {
  const char *topic;
  int32_t partition; /* -1 on stdio */
  int64_t offset;    /* line number on stdio */
  const char *key;   /* may be NULL */
  size_t key_len;
  const char *payload;
  size_t len;
  int64_t timestamp_ms; /* -1 if unknown */
  /* Earlier failures of this message, when dlq-replay sent it back (Kafka
   * headers sensory-dlq-attempts / sensory-dlq-first-failed-at); 0 / NULL
   * otherwise. A new dead letter continues the count. */
  int attempts;
  const char *first_failed_at;
} stage_msg_t;

/* What the transform fills to dead-letter a message. code is a static string
 * ("schema", "invalid_field", ...); message and path must not hold payload
 * values (they are written in plaintext). */
typedef struct stage_fail {
  const char *code;
  char message[512];
  char path[256];
} stage_fail_t;

/* Fills fail from a schema error "<pointer>: <reason>" (see schema.h): code,
 * message (prefix + error, cut to fit) and path (the pointer). */
void stage_fail_from_schema(stage_fail_t *fail, const char *code, const char *prefix,
                            const char *schema_error);

typedef struct stage_out stage_out_t;

/* Output kinds. The bits above STAGE_OUTPUT_KIND_MASK are the stage's own
 * bookkeeping (whether it owns an output's bytes): a transport compares
 * kind & STAGE_OUTPUT_KIND_MASK. */
enum { STAGE_OUTPUT_PRIMARY = 0, STAGE_OUTPUT_SIDE = 1, STAGE_OUTPUT_KIND_MASK = 0xff };

/* Adds one output for the current input. topic/key/payload are copied.
 * kind: STAGE_OUTPUT_PRIMARY (stdout on stdio) or STAGE_OUTPUT_SIDE. key may
 * be NULL. Returns 0, or -1 on allocation failure. */
int stage_emit(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
               const char *payload, size_t len);

/* Same, taking ownership of a malloc'd payload (avoids a copy on the hot path). */
int stage_emit_owned(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
                     char *payload, size_t len);

/* Same, copying nothing: topic, key and payload are borrowed and must stay
 * valid until the transform is called again (the stage writes or copies them
 * before that). For a single-message transform that keeps its output buffers
 * from message to message, so that emitting allocates nothing; a batch
 * transform must not use it. Returns 0, or -1 on allocation failure (the
 * first outputs of a result only). */
int stage_emit_ref(stage_out_t *out, int kind, const char *topic, const char *key, size_t key_len,
                   const char *payload, size_t len);

/* STAGE_FATAL: the program cannot go on (out of memory; a store that cannot
 * work at all: a missing table, permission denied). The stage stops with
 * exit code 1 and commits nothing of the message or batch; Kubernetes
 * restarts the pod. Not for a dependency that is down: that is STAGE_RETRY. */
enum { STAGE_OK = 0, STAGE_DEAD_LETTER = -1, STAGE_RETRY = 1, STAGE_FATAL = 2 };

/* A transform: gets the parsed JSON object (borrowed; it may modify it) and
 * returns STAGE_OK (outputs emitted, possibly none), STAGE_DEAD_LETTER (fail
 * filled; outputs discarded), STAGE_RETRY (a dependency is down: the stage
 * backs off and offers the same message again; nothing is committed) or
 * STAGE_FATAL (see above). */
typedef int (*stage_transform_fn)(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                                  stage_fail_t *fail);

/* A document transform: the contract of stage_transform_fn, but the message
 * comes as a jsonf document (json/jsonf.h) instead of a jansson value: doc is
 * the root object, read-only and valid during the call only (the document is
 * reused for the next message). Size, UTF-8 and JSON checks and their
 * dead-letter reasons are the same as for every stage. For transforms whose
 * hot path must not allocate (privacy-shield). */
typedef int (*stage_doc_fn)(void *ctx, const stage_msg_t *msg, const jsonf_node_t *doc,
                            stage_out_t *out, stage_fail_t *fail);

/* One message of a batch handed to a batch transform. The transform sets
 * status (STAGE_OK, STAGE_DEAD_LETTER with *fail filled, STAGE_RETRY or
 * STAGE_FATAL) and emits into out, for every item. */
typedef struct stage_batch_item {
  const stage_msg_t *msg;
  json_t *doc; /* the parsed object (borrowed; may be modified) */
  stage_out_t *out;
  stage_fail_t *fail;
  int status;
} stage_batch_item_t;

/* A batch transform, for stages that work better on many messages at once
 * (the embedder runs one forward pass per batch). Items are in consumption
 * order; only messages that passed the size/UTF-8/JSON checks are included. */
typedef void (*stage_batch_fn)(void *ctx, stage_batch_item_t *items, size_t n);

/* ---- sink mode -------------------------------------------------------------
 *
 * A sink writes records to a store instead of producing outputs (snowflake-sink,
 * weaviate-sink). The stage batches records across polls and hands a batch to
 * the store when it holds max_records records or max_bytes payload bytes, or
 * when its oldest record waited max_age_ms (a timer: also when nothing new
 * arrives), and on partition revocation, shutdown and end of input.
 *
 * Offsets: a record's offset is stored only after the write that holds it
 * returned STAGE_OK and any dead letter of that batch was acknowledged; in
 * partition order, as for transforms. A write that returns STAGE_RETRY pauses
 * every assigned partition and is retried with the same batch, back-off
 * doubling from 100 ms to 5 s, while the consumer keeps polling (no rebalance
 * however long the store is down); /readyz answers 503 until a write succeeds.
 *
 * Exactly once: a store that keeps the next offset of every partition with
 * the data (in the same transaction) implements stored_offset(); on
 * assignment the stage starts each partition at that offset when it is ahead
 * of the group's committed one, so a crash between the store's commit and the
 * offset commit re-reads nothing. Stores still skip records below their
 * stored offset inside write(): that also covers a hand-over during which
 * the store could not be read.
 *
 * Tombstones: a Kafka message with a NULL value (a deletion, keyed by what it
 * deletes) reaches prepare() and write() with doc == NULL, msg->payload ==
 * NULL and msg->key set; a sink with no use for deletions dead-letters it in
 * prepare(). JSON lines on --stdio always carry values, so a sink that offers
 * deletions there defines its own explicit record for them.
 */

/* One record of a sink batch. */
typedef struct stage_sink_record {
  const stage_msg_t *msg; /* origin and bytes; valid until the batch is done */
  json_t *doc;            /* the parsed object (borrowed; the sink may modify it) */
  void *row;              /* set by prepare(), freed by release(); NULL otherwise */
  size_t row_bytes;       /* prepare()'s estimate of row's size (batch byte limit) */
  int status;             /* STAGE_DEAD_LETTER once stage_sink_reject() took it */
  stage_fail_t *fail;     /* where the store explains a rejection (no row values) */
} stage_sink_record_t;

/* The offsets a batch covers in one partition (first and last inclusive).
 * On --stdio the partition is -1 and the offsets are line numbers: usable to
 * derive request ids, never to be persisted as consumer positions. */
typedef struct stage_sink_range {
  const char *topic;
  int32_t partition;
  int64_t first, last;
} stage_sink_range_t;

typedef struct stage_sink_batch {
  stage_sink_record_t *records; /* consumption order; n >= 1 */
  size_t n;
  const stage_sink_range_t *ranges; /* one per (topic, partition) in the batch */
  size_t nranges;
  const char *reason; /* why it was flushed: "count", "bytes", "age", "revoke", "shutdown", "eof" */
  void *stage;        /* the stage's, for stage_sink_reject() */
} stage_sink_batch_t;

/* Inside write(): dead-letters record i (its *fail filled by the store: code,
 * the store's message, no row values) now, and waits until the dead letter is
 * durable (acknowledged by the broker; on --stdio written and flushed).
 * Returns 0, or -1 when it could not be made durable: the store must then not
 * commit, and returns STAGE_RETRY. A store that keeps offsets with its data
 * must reject before it commits, so a crash in between redoes the batch
 * (the worst case is a second dead letter for the same record) instead of
 * committing past a record whose dead letter was never sent. A rejected
 * record keeps status STAGE_DEAD_LETTER when the same batch comes back after
 * STAGE_RETRY: skip such records. */
int stage_sink_reject(stage_sink_batch_t *batch, size_t i);

typedef struct stage_sink {
  /* Optional. Checks and maps one record when it is consumed, before it
   * joins a batch: returns STAGE_OK (rec->row / row_bytes may be set) or
   * STAGE_DEAD_LETTER (*rec->fail filled; the record is dead-lettered at once
   * and takes no room in the batch). */
  int (*prepare)(void *ctx, stage_sink_record_t *rec);
  /* Writes the batch, atomically where the store can (one transaction, one
   * MERGE). A record the store rejects for good (a constraint, a value out of
   * range) goes through stage_sink_reject(). Returns STAGE_OK when the store
   * committed: every record not rejected counts as written. Returns
   * STAGE_RETRY when nothing was committed and trying again may help (store
   * unreachable, restarting, throttling); the same batch comes back.
   * STAGE_FATAL stops the program. */
  int (*write)(void *ctx, stage_sink_batch_t *batch);
  /* Optional. The next offset the store holds for (topic, partition): returns
   * 1 with *next_offset, 0 when it holds none, -1 when it cannot be read now. */
  int (*stored_offset)(void *ctx, const char *topic, int32_t partition, int64_t *next_offset);
  /* Optional. Frees what prepare() put into rec->row. */
  void (*release)(void *ctx, void *row);
  size_t max_records; /* flush thresholds; 0 takes the defaults 500 records, */
  size_t max_bytes;   /* 4 MiB of payload */
  int max_age_ms;     /* and 1000 ms */
} stage_sink_t;

typedef struct stage_options {
  const char *service;            /* "privacy-shield" */
  const char *version;            /* build version */
  stage_transform_fn transform;   /* one message at a time, or: */
  stage_doc_fn transform_doc;     /* the same, as a document (transform unused), or: */
  stage_batch_fn transform_batch; /* batches (transform is then unused), or: */
  const stage_sink_t *sink;       /* a store (neither transform is used) */
  jsonf_doc_t *doc;               /* transform_doc's document; NULL: stage_run makes one */
  size_t batch_max;               /* most messages per batch (default 32) */
  int batch_linger_ms;            /* longest wait for a batch to fill (default 5) */
  void *ctx;
  /* Seal dead-letter payloads with the DLQ key (stages before privacy-shield). */
  int seal_dead_letters;
  const dlq_key_t *dlq_key; /* required when seal_dead_letters */
  metrics_t *metrics;       /* may be NULL */
  /* librdkafka pass-through properties from config (may be empty). */
  const conf_kv_t *kafka_props;
  size_t kafka_prop_count;
  /* Routing from topics.yaml: every input topic's dead-letter topic. */
  const topics_t *topics;
} stage_options_t;

/* The dead-letter topic of an input topic (its dead_letters in topics.yaml),
 * or NULL when topics.yaml does not route it (the start-up refuses such
 * input topics, so a running stage always has one). */
const char *stage_dlq_topic(const topics_t *topics, const char *input_topic);

/* Runs until end of input (stdio) or a stop signal (Kafka). Returns the process
 * exit code: 0 clean, 1 fatal runtime error (logged). Installs SIGTERM/SIGINT
 * handlers. */
int stage_run(const stage_config_t *cfg, const stage_options_t *opts);

#endif
