/* store_snowflake — the Snowflake backend of the store interface (store.h),
 * over the SQL API v2 with key-pair JWT auth:
 *
 *  - one apply = one request `CALL sensory_sink_apply(?, ?)` with the batch
 *    as a TEXT binding; the procedure (deploy/sql/snowflake.sql) MERGEs every
 *    table and sink_offsets in one transaction and skips rows below the
 *    stored offsets;
 *  - every request has a requestId derived from its content
 *    (snowflake_api.h); a resubmission (transport error, 429/5xx after
 *    Retry-After, the same batch offered again by the stage) sends
 *    retry=true with the same id, so Snowflake never runs it twice;
 *  - 202: the statement handle is polled with back-off (200 ms doubling to
 *    5 s) until it ends or the statement timeout has passed;
 *  - 401: the token is renewed and the request resubmitted once;
 *  - 422 with a data error: STORE_REJECT (the sink isolates the rows).
 */
#ifndef SNOWFLAKE_SINK_STORE_SNOWFLAKE_H
#define SNOWFLAKE_SINK_STORE_SNOWFLAKE_H

#include "sink_config.h"
#include "store.h"

/* A store for the Snowflake account of c (read now: key, passphrase). sink
 * names the consumer group whose offsets are kept. Connects nowhere. Caller
 * owns the result (store_destroy). NULL with errstr (bad key, bad URL). */
store_t *store_snowflake_new(const sink_config_t *c, const char *sink, char *errstr,
                             size_t errstr_size);

#endif
