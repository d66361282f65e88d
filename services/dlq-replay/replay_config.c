/* replay_config — dlq-replay's settings table and the command-line check.
 * Options that mean nothing for a command are errors, not silently ignored:
 * at 3 a.m. "--dry-run" on the wrong command must not look like it worked. */
#include "replay_config.h"

#include <stdio.h>
#include <string.h>

#include "replay_letter.h"

static const conf_entry_t replay_entries[] = {
    {.key = "topic",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, topic),
     .doc = "dead-letter topic to read, e.g. dead-letters-market"},
    {.key = "file",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, file),
     .doc = "read envelopes from this JSON-lines file instead (what --dlq-file writes; - is "
            "stdin)"},
    {.key = "partition",
     .type = CONF_INT,
     .def = "-1",
     .offset = offsetof(replay_config_t, partition),
     .min = -1,
     .max = INT32_MAX,
     .doc = "show: partition of the dead letter"},
    {.key = "offset",
     .type = CONF_INT,
     .def = "-1",
     .offset = offsetof(replay_config_t, offset),
     .min = -1,
     .max = INT64_MAX,
     .doc = "show: offset of the dead letter (with --file: its line number, from 1)"},
    {.key = "limit",
     .type = CONF_INT,
     .def = "0",
     .offset = offsetof(replay_config_t, limit),
     .min = 0,
     .max = INT64_MAX,
     .doc = "list, replay: stop after this many selected dead letters (0: all)"},
    {.key = "code",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, code),
     .doc = "list, replay: only dead letters with this error code (schema, invalid_json, ...)"},
    {.key = "source_topic",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, source_topic),
     .doc = "list, replay: only dead letters that came from this topic"},
    {.key = "to",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, to),
     .doc = "replay: produce to this topic instead of each letter's source topic"},
    {.key = "group",
     .env = "DLQ_REPLAY_GROUP",
     .type = CONF_STRING,
     .offset = offsetof(replay_config_t, group),
     .doc = "replay: consumer group remembering what was replayed (default dlq-replay; required, "
            "and not dlq-replay, with --code/--source-topic)"},
    /* The flag is --max-attempts: config derives flags from keys, so the key
     * has no "replay." prefix, like the program's other command options. */
    {.key = "max_attempts",
     .env = "REPLAY_MAX_ATTEMPTS",
     .type = CONF_INT,
     .def = "5",
     .offset = offsetof(replay_config_t, max_attempts),
     .min = 1,
     .max = 1000000,
     .doc = "the replay loop guard: a dead letter whose attempts (times it failed, replays "
            "included) reached this is refused by replay unless --force; list marks it "
            "MAX_ATTEMPTS"},
    {.key = "force",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(replay_config_t, force),
     .doc = "replay: also replay letters at --max-attempts (lifts only that refusal: truncated, "
            "wrong key, malformed and loop stay refused)"},
    {.key = "dry_run",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(replay_config_t, dry_run),
     .doc = "replay: print what would be replayed and count what would be refused; produce and "
            "commit nothing"},
    {.key = "no_commit",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(replay_config_t, no_commit),
     .doc = "replay: read the whole topic without a group and remember nothing"},
    {.key = "skip_refused",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(replay_config_t, skip_refused),
     .doc = "replay: move the group past refused letters (truncated, wrong key, max attempts) "
            "instead of halting their partition"},
    {.key = "json",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(replay_config_t, json),
     .doc = "list: one JSON object per dead letter (the envelope without its payload)"},
    {.key = "timeout_ms",
     .env = "DLQ_REPLAY_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "30000",
     .offset = offsetof(replay_config_t, timeout_ms),
     .min = 1000,
     .max = 3600000,
     .doc = "how long to wait for the brokers (metadata, reads, deliveries, commit)"},
    {.key = NULL},
};

const conf_entry_t *replay_config_entries(void) {
  return replay_entries;
}

replay_kafka_opts_t replay_config_kafka(const replay_config_t *cfg, const conf_result_t *res) {
  return (replay_kafka_opts_t){.brokers = cfg->brokers,
                               .props = res->kafka,
                               .prop_count = res->kafka_count,
                               .timeout_ms = cfg->timeout_ms};
}

/* What a filtered replay with the default group would break, and what a
 * replay target must not be. */
static int check_replay_topic(const replay_config_t *cfg, char *errstr, size_t errstr_size) {
  replay_filter_t f = {cfg->code, cfg->source_topic};
  if (replay_config_set(cfg->to) && strncmp(cfg->to, "dead-letters-", 13) == 0) {
    snprintf(errstr, errstr_size, "--to %.128s: replaying into a dead-letter topic would loop",
             cfg->to);
    return -1;
  }
  if (replay_filter_active(&f) && !cfg->no_commit &&
      (!replay_config_set(cfg->group) || strcmp(cfg->group, REPLAY_DEFAULT_GROUP) == 0)) {
    snprintf(errstr, errstr_size,
             "--code/--source-topic with the group %s would commit past the dead letters the "
             "filter does not select, and a later unfiltered replay would never see them: add "
             "--group NAME (a group of its own for this filter) or --no-commit",
             REPLAY_DEFAULT_GROUP);
    return -1;
  }
  if (cfg->no_commit && replay_config_set(cfg->group)) {
    snprintf(errstr, errstr_size, "--no-commit uses no group: drop --group");
    return -1;
  }
  return 0;
}

int replay_config_check(const replay_config_t *cfg, const conf_result_t *res, replay_command_t *cmd,
                        char *errstr, size_t errstr_size) {
  const char *name = res->arg_count ? res->args[0] : NULL;
  if (!name) {
    snprintf(errstr, errstr_size, "no command: use list, show or replay (see --help)");
    return -1;
  }
  if (strcmp(name, "list") == 0)
    *cmd = REPLAY_CMD_LIST;
  else if (strcmp(name, "show") == 0)
    *cmd = REPLAY_CMD_SHOW;
  else if (strcmp(name, "replay") == 0)
    *cmd = REPLAY_CMD_REPLAY;
  else {
    snprintf(errstr, errstr_size, "unknown command '%.64s': use list, show or replay", name);
    return -1;
  }
  if (res->arg_count > 1) {
    snprintf(errstr, errstr_size, "unexpected argument '%.64s' after %s", res->args[1], name);
    return -1;
  }
  int file = replay_config_set(cfg->file);
  if (replay_config_set(cfg->topic) == file) {
    snprintf(errstr, errstr_size, "%s needs exactly one of --topic DLQ_TOPIC or --file PATH", name);
    return -1;
  }
  int replay = *cmd == REPLAY_CMD_REPLAY, show = *cmd == REPLAY_CMD_SHOW;
  /* max_attempts is absent on purpose: it has a default and every command
   * uses it (list and show mark letters at the cap). */
  struct {
    int given, allowed;
    const char *flag;
  } opts[] = {
      {replay_config_set(cfg->to), replay && !file, "--to (replay from --topic)"},
      {replay_config_set(cfg->group), replay && !file, "--group (replay from --topic)"},
      {cfg->no_commit, replay && !file, "--no-commit (replay from --topic)"},
      {cfg->skip_refused, replay && !file, "--skip-refused (replay from --topic)"},
      {cfg->dry_run, replay, "--dry-run (replay)"},
      {cfg->force, replay, "--force (replay)"},
      {cfg->partition >= 0, show && !file, "--partition (show from --topic)"},
      {cfg->offset >= 0, show, "--offset (show)"},
      {cfg->limit > 0, !show, "--limit (list, replay)"},
      {replay_config_set(cfg->code), !show, "--code (list, replay)"},
      {replay_config_set(cfg->source_topic), !show, "--source-topic (list, replay)"},
      {cfg->json, *cmd == REPLAY_CMD_LIST, "--json (list)"},
  };
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
    if (opts[i].given && !opts[i].allowed) {
      snprintf(errstr, errstr_size, "%s: option only valid for %s", name, opts[i].flag);
      return -1;
    }
  if (show && (cfg->offset < (file ? 1 : 0) || (!file && cfg->partition < 0))) {
    snprintf(errstr, errstr_size,
             file ? "show --file needs --offset LINE (line numbers start at 1)"
                  : "show --topic needs --partition P and --offset O (see list)");
    return -1;
  }
  return replay && !file ? check_replay_topic(cfg, errstr, errstr_size) : 0;
}
