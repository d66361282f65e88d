/* replay_show — the show command: one dead letter, its envelope (without
 * payload) on stderr and its decrypted original payload on stdout. The
 * payload may hold personal data: it is wiped from memory once written. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "replay_cmd.h"
#include "replay_source.h"

typedef struct show_ctx {
  const replay_config_t *cfg;
  const dlq_key_t *key;
  int rc;
} show_ctx_t;

static int show_visit(void *vctx, replay_letter_t *l) {
  show_ctx_t *c = vctx;
  char errstr[512];
  c->rc = 1;
  if (!l->env) {
    log_error("malformed", "%s: %s", l->where, l->bad);
    return 1;
  }
  json_t *meta = replay_envelope_meta(l->env, l->where);
  char *text = meta ? json_dumps(meta, JSON_INDENT(2)) : NULL;
  json_decref(meta);
  fprintf(stderr, "%s\n", text ? text : "(out of memory)");
  free(text);
  if (replay_at_max_attempts(l->env, c->cfg->max_attempts))
    fprintf(stderr,
            "NOTE: attempts %lld reached max attempts %lld: replay refuses this letter unless "
            "--force. It failed again after each replay; find out why before forcing it "
            "(docs/operations-dlq.md).\n",
            (long long)json_integer_value(json_object_get(l->env, "attempts")),
            (long long)c->cfg->max_attempts);

  unsigned char *payload = NULL;
  size_t len = 0;
  if (dlq_envelope_payload(l->env, c->key, &payload, &len, errstr, sizeof(errstr)) != 0) {
    log_error("payload_unreadable", "%s: %s%s", l->where, errstr,
              c->key ? "" : " (set DLQ_KEY_FILE to the key the stages seal with)");
    return 1;
  }
  fprintf(stderr,
          "WARNING: the payload below (stdout) is the original message and may hold personal "
          "data (names, phone numbers, addresses). Do not paste it into tickets or chat.\n");
  if (json_is_true(json_object_get(l->env, "payload_truncated")))
    fprintf(stderr, "WARNING: TRUNCATED: only the first %zu of %lld bytes were kept\n", len,
            (long long)json_integer_value(json_object_get(l->env, "payload_size")));
  int ok =
      fwrite(payload, 1, len, stdout) == len && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
  OPENSSL_cleanse(payload, len); /* a plain memset before free may be optimised away */
  free(payload);
  if (!ok)
    log_error("write_failed", "cannot write the payload to stdout");
  c->rc = ok ? 0 : 1;
  return 1;
}

int replay_show(const replay_config_t *cfg, const conf_result_t *res, const dlq_key_t *key) {
  show_ctx_t c = {cfg, key, 1};
  char errstr[1024];
  if (replay_source_each(cfg, res, show_visit, &c, errstr, sizeof(errstr)) != 0) {
    log_error("show_failed", "%s", errstr);
    return 1;
  }
  return c.rc;
}
