/* replay_cmd — the three dlq-replay commands, one file each: replay_list.c,
 * replay_show.c, replay_send.c (the replay command). Each takes checked
 * settings (replay_config_check) and returns the exit code: 0 all good, 1 a
 * failure or refusal. Data goes to stdout; diagnostics to stderr, as JSON log
 * lines plus one human summary line, so `dlq-replay ... | tool` pipes only
 * data. The caller installs the signal handlers (core/signals.h): each
 * command stops early on SIGINT/SIGTERM.
 */
#ifndef DLQ_REPLAY_CMD_H
#define DLQ_REPLAY_CMD_H

#include "core/config.h"
#include "privacy/dlq.h"
#include "replay_config.h"

/* list: one line (or JSON object) per selected letter, never the payload;
 * letters at cfg->max_attempts are marked. Exit 1 also when a letter is
 * malformed. */
int replay_list(const replay_config_t *cfg, const conf_result_t *res);

/* show: the envelope of one letter on stderr and its decrypted payload on
 * stdout. key may be NULL (a sealed letter then cannot be shown). */
int replay_show(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key);

/* replay: each selected letter's payload to its source topic (--topic), or to
 * stdout (--file); see replay_send.c. key may be NULL (sealed letters are
 * then refused). */
int replay_send(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key);

#endif
