/* scraper_sink — where scraper-ingest's records and dead letters go: an
 * idempotent librdkafka producer with delivery reports, or (--stdio) stdout
 * for records and a file for dead letters. */
#ifndef SCR_SINK_H
#define SCR_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

typedef struct scr_sink scr_sink_t;

/* Creates an idempotent producer for brokers (props: librdkafka pass-through,
 * may be empty) and waits up to timeout_ms for the cluster's metadata, so an
 * unreachable broker is reported before anything is fetched. Caller owns the
 * result; NULL with errstr. */
scr_sink_t *scr_sink_kafka_new(const char *brokers, const conf_kv_t *props, size_t nprops,
                               long timeout_ms, char *errstr, size_t errstr_size);

/* A sink writing record payloads as lines to out and dead letters as lines to
 * dlq; both are borrowed (the caller closes them). */
scr_sink_t *scr_sink_stdio_new(FILE *out, FILE *dlq);

/* Flushes what is left (bounded by the sink's timeout) and frees; NULL is
 * accepted. */
void scr_sink_destroy(scr_sink_t *s);

/* Queues one message; bytes are copied. dead_letter selects the dead-letter
 * output on stdio. Returns 0, or -1 (errstr) when the sink has failed. */
int scr_sink_produce(scr_sink_t *s, int dead_letter, const char *topic, const char *key,
                     size_t key_len, const char *payload, size_t len, char *errstr,
                     size_t errstr_size);

/* Waits until every queued message is acknowledged. Returns 0 when all were
 * delivered; -1 (errstr) when any failed or the timeout passed: the caller
 * must then not advance a cursor. */
int scr_sink_flush(scr_sink_t *s, char *errstr, size_t errstr_size);

/* Messages acknowledged so far (delivered, or written on stdio). */
uint64_t scr_sink_acked(const scr_sink_t *s);

#endif
