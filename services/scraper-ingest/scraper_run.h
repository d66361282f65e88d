/* scraper_run — what every source shares during a run: validation against the
 * source contracts, producing records and sealed dead letters, checkpoints
 * (acknowledge everything, then move the cursor) and per-source statistics;
 * and what a run talks to: the sink, the cursor store (Redis), and for unit
 * tests an in-memory cursor store and recorded HTTP responses.
 */
#ifndef SCR_RUN_H
#define SCR_RUN_H

#include "core/signals.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/topics.h"
#include "net/http_client.h"
#include "privacy/dlq.h"
#include "scraper_config.h"
#include "scraper_sink.h"
#include "scraper_state.h"
#include "stage/stage.h"
#include "json/schema.h"

#define SCR_CURSOR_MAX 1024

/* How a source's run ended; main turns the worst into the exit code. */
typedef enum {
  SCR_SRC_OK = 0,
  SCR_SRC_LOCKED,      /* another run holds the source: skipped */
  SCR_SRC_CONFIG,      /* missing secret or setting */
  SCR_SRC_UNREACHABLE, /* the API could not be reached (retries exhausted) */
  SCR_SRC_PARTIAL,     /* malformed page, HTTP 4xx: stopped at the last good cursor */
  SCR_SRC_KAFKA,       /* records not acknowledged: cursor kept */
  SCR_SRC_STATE,       /* Redis failed or the lock was lost */
} scr_status_t;

typedef struct scr_stats {
  const char *source;
  uint64_t fetched, produced, dead, pages;
  uint64_t http_requests, http_retries, http_throttled;
  uint64_t restarts; /* TikTok windows restarted after an expired search_id */
  char cursor_before[SCR_CURSOR_MAX];
  char cursor_after[SCR_CURSOR_MAX];
  double started, duration;
  scr_status_t status;
  char error[1024];
} scr_stats_t;

/* Cursors kept somewhere other than Redis: the page loop's unit tests keep
 * them in memory. get: 1 found, 0 absent (out ""), -1 error; set: 0 or -1;
 * both fill errstr. */
typedef struct scr_cursor_store {
  int (*get)(void *ctx, const char *source, const char *stream, char *out, size_t out_size,
             char *errstr, size_t errstr_size);
  int (*set)(void *ctx, const char *source, const char *stream, const char *value, char *errstr,
             size_t errstr_size);
  void *ctx;
} scr_cursor_store_t;

/* Responses from somewhere other than HTTP: the unit tests of the page loop
 * and of the sources replay recorded ones. Same contract as
 * http_client_request() (resp->body malloc'd, freed by http_resp_free). */
typedef struct scr_transport {
  int (*request)(void *ctx, const char *method, const char *url, const char *const *headers,
                 const char *body, http_resp_t *resp, char *errstr, size_t errstr_size);
  void *ctx;
} scr_transport_t;

/* The contract of one topic the run writes (from topics.yaml's schema). */
#define SCR_CONTRACTS_MAX 8
typedef struct scr_contract {
  const topic_info_t *topic; /* borrowed from run->topics */
  schema_t *schema;          /* owned */
} scr_contract_t;

typedef struct scr_run {
  const scr_config_t *cfg;
  scr_sink_t *sink;                  /* borrowed */
  scr_state_t *state;                /* borrowed; NULL with --stdio (no cursors, no locks) */
  const scr_cursor_store_t *cursors; /* borrowed; NULL: cursors in state (or none) */
  const scr_transport_t *transport;  /* borrowed; NULL: each source's HTTP client */
  const dlq_key_t *dlq_key;          /* borrowed */
  const topics_t *topics;            /* borrowed: keys, contracts, dead-letter routing */
  scr_contract_t contracts[SCR_CONTRACTS_MAX]; /* owned; one per topic the run writes */
  size_t ncontracts;
  const char *producer; /* "scraper-ingest/<version>" */
} scr_run_t;

/* Loads the contract of topic (its schema in topics.yaml, from schemas_dir)
 * so the run can write to it. Returns 0, or -1 with errstr when the topic is
 * not in topics.yaml, has no schema or dead-letter topic, the file does not
 * load, or more than SCR_CONTRACTS_MAX topics are used. Only ingest topics
 * (raw records, before privacy-shield) are accepted. */
int scr_run_add_topic(scr_run_t *run, const char *schemas_dir, const char *topic, char *errstr,
                      size_t errstr_size);

/* Frees the contracts (NULL-safe, half-loaded is fine). */
void scr_run_fini(scr_run_t *run);

/* The contract of a topic added with scr_run_add_topic(), or NULL. */
const schema_t *scr_run_schema(const scr_run_t *run, const char *topic);

/* The key field of a topic's records ("post_id", "order_id", "city") from
 * topics.yaml, or NULL. */
const char *scr_topic_key_field(const scr_run_t *run, const char *topic);

/* Validates rec against topic's contract and produces it (payload: the
 * given bytes, or rec serialised when payload is NULL) keyed by its key
 * field; an invalid record becomes a sealed dead letter with the field path
 * and reason. ordinal numbers the record within the run (dead-letter
 * offset). Counts into st. Returns 0, or -1 when the sink failed (st->error). */
int scr_emit(scr_run_t *run, scr_stats_t *st, const char *topic, const json_t *rec,
             const char *payload, size_t len, int64_t ordinal);

/* Dead-letters bytes that could not become a record (not JSON, unmappable):
 * code/message/path describe why (no payload values). key may be NULL.
 * Returns 0, or -1 when the sink failed. */
int scr_dead_letter(scr_run_t *run, scr_stats_t *st, const char *topic, const char *key,
                    const char *payload, size_t len, int64_t ordinal, const char *code,
                    const char *message, const char *path);

/* Waits for every record and dead letter so far to be acknowledged, then
 * stores cursor value for (st->source, stream) — fenced by the source lock;
 * in run->cursors when set — and records it as st->cursor_after. value NULL:
 * acknowledge only. Returns 0; -1 with st->status
 * SCR_SRC_KAFKA or SCR_SRC_STATE and st->error. */
int scr_checkpoint(scr_run_t *run, scr_stats_t *st, const char *stream, const char *value);

/* Reads the cursor of (st->source, stream) into out (from run->cursors when
 * set; empty when none, and always with --stdio). The first read also fills st->cursor_before.
 * Returns 0, or -1 with st->status SCR_SRC_STATE. */
int scr_cursor(scr_run_t *run, scr_stats_t *st, const char *stream, char *out, size_t out_size);

/* Set by SIGTERM/SIGINT: sources finish the page in hand, checkpoint it and
 * stop (status SCR_SRC_PARTIAL, "stopped by signal"). */

/* Returns 1 (and marks st stopped) when a stop was requested. */
int scr_stopping(scr_stats_t *st);

#endif
