/* privacy-shield: source.social.* and source.market.* in; clean.social,
 * sink.snowflake.orders and audit.privacy out. Phones and emails become keyed
 * pseudonyms before anything is stored. */
#include <stddef.h>
#include <stdlib.h>

#include "app/app.h"
#include "core/log.h"
#include "privacy/pii.h"
#include "shield.h"

typedef struct shield_config {
  char *hmac_key_file;
  char *key_id;
} shield_config_t;

static const conf_entry_t shield_entries[] = {
    {.key = "privacy.hmac_key_file",
     .env = "PRIVACY_HMAC_KEY_FILE",
     .type = CONF_STRING,
     .offset = offsetof(shield_config_t, hmac_key_file),
     .required = 1,
     .doc = "file with the HMAC-SHA256 pseudonym key (>= 16 bytes; a k8s Secret)"},
    {.key = "privacy.key_id",
     .env = "PRIVACY_KEY_ID",
     .type = CONF_STRING,
     .offset = offsetof(shield_config_t, key_id),
     .doc = "name of the key carried in every hash (default: a fingerprint of the key)"},
    {.key = NULL},
};

static const char usage[] =
    "usage: privacy-shield [--config FILE] [options]\n"
    "       privacy-shield --stdio --topic source.market.shopify --dlq-file DLQ.jsonl < in > out\n"
    "\n"
    "Replaces phone numbers, emails and other identifiers by keyed pseudonyms\n"
    "(HMAC-SHA256) before any storage; invalid records go to the dead-letter\n"
    "topic, sealed with AES-256-GCM.";

int main(int argc, char **argv) {
  shield_config_t cfg = {0};
  conf_section_t own[] = {{shield_entries, &cfg}};
  app_spec_t spec = {.name = "privacy-shield",
                     .usage = usage,
                     .uses = APP_STAGE | APP_DLQ_KEY_REQUIRED | APP_METRICS,
                     .default_topics = "source.social.tiktok,source.social.facebook,"
                                       "source.market.shopify,source.market.daraz",
                     .sections = own,
                     .nsections = 1};
  app_t app;
  pii_hasher_t *hasher = NULL;
  shield_t *shield = NULL;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  app.exit_code = 2;
  if (!(hasher = pii_hasher_from_file(cfg.hmac_key_file, cfg.key_id, errstr, sizeof(errstr)))) {
    log_error("config", "privacy.hmac_key_file (PRIVACY_HMAC_KEY_FILE): %s", errstr);
    goto out;
  }
  if (!(shield = shield_new(app.settings.schemas_dir, hasher, errstr, sizeof(errstr)))) {
    log_error("config", "schemas.dir (SCHEMAS_DIR): %s", errstr);
    goto out;
  }
  log_event(LOG_LEVEL_INFO, "ready", json_pack("{s:s}", "key_id", pii_hasher_key_id(hasher)),
            "privacy policy loaded");

  stage_options_t opts = {
      .transform_doc = shield_transform_doc, .ctx = shield, .seal_dead_letters = 1};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:
  shield_destroy(shield);
  pii_hasher_destroy(hasher);
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
