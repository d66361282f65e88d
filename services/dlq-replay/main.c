/* dlq-replay: the operator's tool for dead letters — list them, show one
 * (decrypted), replay them to their source topic. See docs/operations-dlq.md. */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/signals.h"
#include "privacy/dlq.h"
#include "replay_cmd.h"
#include "replay_config.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

static const char usage[] =
    "usage: dlq-replay list   --topic DLQ_TOPIC | --file DLQ.jsonl [--code C] [--source-topic T]\n"
    "                         [--limit N] [--json] [--max-attempts N]\n"
    "       dlq-replay show   --topic DLQ_TOPIC --partition P --offset O | --file F --offset LINE\n"
    "       dlq-replay replay --topic DLQ_TOPIC [--dry-run] [--limit N] [--to TOPIC]\n"
    "                         [--code C --source-topic T (with --group NAME or --no-commit)]\n"
    "                         [--skip-refused] [--max-attempts N] [--force]\n"
    "       dlq-replay replay --file DLQ.jsonl [--code C] [--source-topic T] > payloads.jsonl\n"
    "\n"
    "list never prints payloads. show prints the decrypted payload on stdout (personal\n"
    "data!) and the envelope on stderr. replay sends each original payload back to its\n"
    "source topic with its original key and remembers what it replayed in the consumer\n"
    "group (default dlq-replay), committing a letter only after its replay is\n"
    "acknowledged.\n"
    "Loop guard: a letter whose attempts (times it failed, replays included) reached\n"
    "--max-attempts (default 5) is refused like a truncated one; list marks it\n"
    "MAX_ATTEMPTS. Look at it with show and fix the cause; --force then replays it.\n"
    "Exit: 0 all good, 1 a failure or refusal, 2 bad config.\n"
    "Runbook: docs/operations-dlq.md";

int main(int argc, char **argv) {
  replay_config_t cfg = {0};
  conf_section_t own = {replay_config_entries(), &cfg};
  conf_result_t res = {0};
  dlq_key_t *key = NULL;
  replay_command_t cmd;
  char errstr[1024];
  int rc = 2;

  log_init("dlq-replay", LOG_LEVEL_INFO);
  int lrc = conf_load(&own, 1, argc, argv, usage, "dlq-replay " SENSORY_VERSION, &res, errstr,
                      sizeof(errstr));
  if (lrc == CONF_EXIT) {
    rc = 0;
    goto out;
  }
  log_level_t level;
  if (lrc != CONF_OK || replay_config_check(&cfg, &res, &cmd, errstr, sizeof(errstr)) != 0) {
    log_error("config", "%s", errstr);
    fprintf(stderr, "dlq-replay: %s\n", errstr);
    goto out;
  }
  if (log_level_parse(cfg.log_level, &level) != 0) {
    fprintf(stderr, "dlq-replay: log.level: '%s' is not debug, info, warn or error\n",
            cfg.log_level);
    goto out;
  }
  log_init("dlq-replay", level);
  /* The key is optional: plaintext letters need none, and a sealed letter
   * without it is refused with a message naming its key id. */
  if (cfg.key_file && *cfg.key_file &&
      !(key = dlq_key_load(cfg.key_file, errstr, sizeof(errstr)))) {
    log_error("config", "dlq.key_file (DLQ_KEY_FILE): %s", errstr);
    fprintf(stderr, "dlq-replay: DLQ_KEY_FILE: %s\n", errstr);
    goto out;
  }
  signals_install();
  switch (cmd) {
  case REPLAY_CMD_LIST:
    rc = replay_list(&cfg, &res);
    break;
  case REPLAY_CMD_SHOW:
    rc = replay_show(&cfg, &res, key);
    break;
  case REPLAY_CMD_REPLAY:
    rc = replay_send(&cfg, &res, key);
    break;
  }
out:
  dlq_key_destroy(key);
  conf_free(&own);
  conf_result_free(&res);
  return rc;
}
