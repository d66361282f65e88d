/* control.h — the dev broker's fault-injection command language.
 *
 * One command per line, one reply line per command: "ok", "ok <data>" or
 * "error <why>". Commands (IDs are broker ids 1..N, ERR is a numeric Kafka
 * error code or its name such as NOT_LEADER_FOR_PARTITION, APIKEY a number or
 * a name such as Produce, Fetch, JoinGroup):
 *   ping | bootstrap | broker-down ID | broker-up ID | rtt ID MS
 *   error APIKEY ERR COUNT | clear-errors APIKEY | topic-error TOPIC ERR
 *   create-topic NAME PARTITIONS | help
 */
#ifndef DEVBROKER_CONTROL_H
#define DEVBROKER_CONTROL_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>

#define DEVBROKER_CONTROL_LINE_MAX 512
#define DEVBROKER_ERROR_COUNT_MAX 10000

/**
 * Runs one command LINE (no newline; not modified) against MCLUSTER with
 * BROKER_CNT brokers and writes the reply, without newline, into REPLY.
 * Returns 0 when the command succeeded, -1 when the reply is an error.
 * Nothing is allocated; all arguments are required (non-NULL).
 */
int devbroker_control_exec(rd_kafka_mock_cluster_t *mcluster, int broker_cnt, const char *line,
                           char *reply, size_t reply_size);

#endif
