/* dlq-replay: the operator's tool for dead letters — list them, show one
 * (decrypted), replay them to their source topic. See docs/operations-dlq.md. */
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "core/log.h"
#include "replay_cmd.h"
#include "replay_config.h"

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
  static const char *const commands[] = {"list", "show", "replay", NULL};
  /* The key is optional: plaintext letters need none, and a sealed letter
   * without it is refused with a message naming its key id. */
  app_spec_t spec = {.name = "dlq-replay",
                     .usage = usage,
                     .uses = APP_KAFKA | APP_DLQ_KEY,
                     .sections = &own,
                     .nsections = 1,
                     .commands = commands};
  app_t app;
  replay_command_t cmd;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  app.exit_code = 2;
  cfg.brokers = app.settings.brokers;
  if (replay_config_check(&cfg, &app.conf, &cmd, errstr, sizeof(errstr)) != 0) {
    log_error("config", "%s", errstr);
    fprintf(stderr, "dlq-replay: %s\n", errstr); /* the operator's terminal, not only the log */
    goto out;
  }
  switch (cmd) {
  case REPLAY_CMD_LIST:
    app.exit_code = replay_list(&cfg, &app.conf);
    break;
  case REPLAY_CMD_SHOW:
    app.exit_code = replay_show(&cfg, &app.conf, app.dlq_key);
    break;
  case REPLAY_CMD_REPLAY:
    app.exit_code = replay_send(&cfg, &app.conf, app.dlq_key);
    break;
  }
out:;
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
