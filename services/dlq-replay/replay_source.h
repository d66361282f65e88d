/* replay_source — where `list`, `show` and `replay --file` read dead letters
 * from: the dead-letter topic (--topic) or a JSON-lines file (--file).
 * `replay --topic` reads with its consumer group instead (replay_send.c).
 */
#ifndef DLQ_REPLAY_SOURCE_H
#define DLQ_REPLAY_SOURCE_H

#include <stddef.h>

#include "core/config.h"
#include "replay_config.h"
#include "replay_letter.h"

/* Called once per letter; l and l->env are borrowed for the call only.
 * Returns 0 to go on, 1 to stop reading (--limit reached, show found its
 * letter, stdout failed). */
typedef int (*replay_visit_fn)(void *ctx, replay_letter_t *l);

/* Calls fn for every letter of the source cfg names, in order:
 * - --topic: every letter from the low to the high watermark seen at start
 *   (or the one letter at --partition/--offset), with no consumer group, so
 *   reading never changes what a replay will do;
 * - --file ("-": stdin): every non-empty line, or only line --offset when it
 *   is > 0 (show).
 * Stops early on SIGINT/SIGTERM (signals_stop). Returns 0, or -1 with errstr
 * when the source cannot be opened or read, or was interrupted. */
int replay_source_each(const replay_config_t *cfg, const conf_result_t *res, replay_visit_fn fn,
                       void *ctx, char *errstr, size_t errstr_size);

#endif
