/* snowflake_api — the parts of the Snowflake SQL API v2 (POST
 * /api/v2/statements, GET /api/v2/statements/{handle}) that the Snowflake
 * store needs, kept free of I/O so they are unit-tested and fuzzed on their
 * own: request ids, request bodies, the batch document and the response
 * parser with its classification.
 *
 * Request ids: a retry of a request must carry the same requestId (and
 * retry=true) so Snowflake answers it from the first execution instead of
 * running it twice. The id of a batch is derived from what it holds, so the
 * same batch always gets the same id, also after the stage offers it again:
 *
 *   UUID version 8 (RFC 9562) from SHA-256 of
 *     "sensory-snowflake-sink/1\n" scope "\n"
 *     and per (topic, partition) "topic\tpartition\tfirst\tlast\n"
 *     and, for partition -1 (stdio: offsets are line numbers, not unique
 *     across runs), "nonce\t" nonce "\n"
 *
 * scope names the target (sink name, database.schema) so two sinks or two
 * warehouses never share ids.
 *
 * Pure: no logging, no globals; errors never quote row values.
 */
#ifndef SNOWFLAKE_SINK_API_H
#define SNOWFLAKE_SINK_API_H

#include <jansson.h>
#include <stddef.h>

#include "stage/stage.h"

/* Writes the request id of ranges[0..n) as a lowercase UUID into out. nonce
 * may be NULL (only used when a range has partition -1). */
void sfapi_request_id(const char *scope, const stage_sink_range_t *ranges, size_t n,
                      const char *nonce, char out[37]);

/* Where statements run (each may be NULL: the user's default). */
typedef struct sfapi_target {
  const char *database, *schema, *warehouse, *role;
  long timeout_s;
} sfapi_target_t;

/* The JSON body of one statement. bindings (NULL-able) is stolen: an object
 * {"1": {"type": "TEXT", "value": "..."}, ...}; multi != 0 allows several
 * statements (multi_statement_count 0). Caller frees; NULL on no memory. */
char *sfapi_statement_body(const sfapi_target_t *t, const char *statement, json_t *bindings,
                           int multi);

/* Adds binding number pos ("1", "2", ...) of type TEXT to *bindings
 * (created when NULL). value may be NULL (SQL NULL). Returns 0 or -1. */
int sfapi_bind_text(json_t **bindings, int pos, const char *value, size_t len);

/* The batch document handed to sensory_sink_apply (deploy/sql/snowflake.sql):
 *   {"offsets": [[topic, partition, next_offset], ...],
 *    "<table>": [[column values..., topic, partition, offset], ...]}
 * for recs[0..n) (each rec->row a wh_row_t) and the offsets to keep
 * (ranges: next = last + 1; partition -1 left out) into *out (caller
 * frees; *out_len its length). Returns 0 or -1 (no memory). */
int sfapi_batch_json(stage_sink_record_t *const *recs, size_t n, const stage_sink_range_t *saves,
                     size_t nsaves, char **out, size_t *out_len);

typedef enum {
  SFAPI_DONE = 0, /* 200: executed */
  SFAPI_RUNNING,  /* 202: poll the handle */
  SFAPI_RETRY,    /* nothing known to be committed; resubmit later (429, 5xx, timeout) */
  SFAPI_REJECT,   /* the data (a value out of range, not recognised): isolate rows */
  SFAPI_AUTH,     /* 401: renew the token and resubmit once */
  SFAPI_FATAL     /* a bug or deployment error (compilation, permissions, 4xx) */
} sfapi_outcome_t;

typedef struct sfapi_result {
  sfapi_outcome_t outcome;
  long status;       /* HTTP status, 0 when no response */
  char code[16];     /* Snowflake error code, e.g. "100038"; "" when none */
  char sql_state[8]; /* e.g. "22018"; "" when none */
  char handle[64];   /* statementHandle when valid */
  char message[512]; /* Snowflake's message, quoted parts replaced by '?' */
  json_t *doc;       /* the parsed body (owned; NULL when none or not JSON) */
} sfapi_result_t;

/* Parses and classifies one response (body may be NULL or anything at
 * all). Never fails: a body that is not the documented JSON still yields an
 * outcome from the status. Free with sfapi_result_free. */
void sfapi_parse(long status, const char *body, size_t len, sfapi_result_t *out);

/* Frees out->doc; NULL-safe. */
void sfapi_result_free(sfapi_result_t *r);

/* Replaces the text between single or double quotes by '?' (Snowflake
 * quotes values in messages: "Numeric value 'abc' is not recognized"), and
 * the text after an unclosed quote. In place: never longer than before. */
void sfapi_redact(char *message);

#endif
