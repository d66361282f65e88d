/* replay_cmd — the three dlq-replay commands (list, show, replay) over a
 * dead-letter topic or a JSON-lines file, and the one config table that
 * drives their flags, environment variables and --help.
 */
#ifndef DLQ_REPLAY_CMD_H
#define DLQ_REPLAY_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "privacy/dlq.h"

#define DLQR_DEFAULT_GROUP "dlq-replay"

typedef struct dlqr_config {
  char *brokers;
  char *key_file;
  char *log_level;
  char *topic;        /* dead-letter topic to read */
  char *file;         /* ... or a JSON-lines file of envelopes */
  int64_t partition;  /* show */
  int64_t offset;     /* show: DLQ offset, or the line number with --file */
  int64_t limit;      /* 0: no limit */
  char *code;         /* filter on error.code */
  char *source_topic; /* filter on source.topic */
  char *to;           /* replay target override */
  char *group;        /* NULL: DLQR_DEFAULT_GROUP, and filters are refused */
  int dry_run;
  int no_commit;
  int skip_refused;
  int json;
  int64_t timeout_ms;
} dlqr_config_t;

typedef enum { DLQR_LIST, DLQR_SHOW, DLQR_REPLAY } dlqr_command_t;

/* The config table (static storage) for a dlqr_config_t. */
const conf_entry_t *dlqr_config_entries(void);

/* Checks that the command line makes sense before anything connects: the
 * command name (args[0]), --topic xor --file, what each command needs, and
 * that a filtered replay does not move the default group past letters it
 * does not select. Returns 0 with *cmd set, or -1 with errstr (exit 2). */
int dlqr_config_check(const dlqr_config_t *cfg, const conf_result_t *res, dlqr_command_t *cmd,
                      char *errstr, size_t errstr_size);

/* Runs a command; key may be NULL (sealed letters are then refused). Writes
 * data to stdout, diagnostics to stderr (the JSON log). Returns the exit
 * code: 0 all good, 1 a failure or refusal. */
int dlqr_run(dlqr_command_t cmd, const dlqr_config_t *cfg, const conf_result_t *res,
             const dlq_key_t *key);

#endif
