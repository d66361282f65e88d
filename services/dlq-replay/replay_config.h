/* replay_config — the one settings table of dlq-replay (defaults, YAML keys,
 * environment, flags and --help) and the check that a command line makes
 * sense before anything connects.
 */
#ifndef DLQ_REPLAY_CONFIG_H
#define DLQ_REPLAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "replay_kafka.h"

#define REPLAY_DEFAULT_GROUP "dlq-replay"

typedef struct replay_config {
  const char *brokers;  /* the start-up's kafka.brokers (borrowed; not a table entry) */
  char *topic;          /* dead-letter topic to read */
  char *file;           /* ... or a JSON-lines file of envelopes */
  int64_t partition;    /* show */
  int64_t offset;       /* show: DLQ offset, or the line number with --file */
  int64_t limit;        /* 0: no limit */
  char *code;           /* filter on error.code */
  char *source_topic;   /* filter on source.topic */
  char *to;             /* replay target override */
  char *group;          /* NULL: REPLAY_DEFAULT_GROUP, and filters are refused */
  int64_t max_attempts; /* the loop guard: letters with attempts >= this are refused */
  int force;            /* replay letters at max_attempts anyway */
  int dry_run;
  int no_commit;
  int skip_refused;
  int json;
  int64_t timeout_ms;
} replay_config_t;

typedef enum { REPLAY_CMD_LIST, REPLAY_CMD_SHOW, REPLAY_CMD_REPLAY } replay_command_t;

/* 1 when a string setting was given (non-NULL and non-empty), else 0. */
static inline int replay_config_set(const char *s) {
  return s && *s;
}

/* The config table (static storage) for a replay_config_t. */
const conf_entry_t *replay_config_entries(void);

/* Checks that the command line makes sense before anything connects: the
 * command name (args[0]), --topic xor --file, what each command needs, and
 * that a filtered replay does not move the default group past letters it
 * does not select. Returns 0 with *cmd set, or -1 with errstr (exit 2). */
int replay_config_check(const replay_config_t *cfg, const conf_result_t *res, replay_command_t *cmd,
                        char *errstr, size_t errstr_size);

/* The Kafka client options these settings give: brokers, the pass-through
 * properties of res (borrowed: res must outlive the result) and the timeout. */
replay_kafka_opts_t replay_config_kafka(const replay_config_t *cfg, const conf_result_t *res);

#endif
