/* privacy-shield: source.social.* and source.market.* in; clean.social,
 * sink.snowflake.orders and audit.privacy out. Phones and emails become keyed
 * pseudonyms before anything is stored. */
#include <stddef.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/service.h"
#include "privacy/pii.h"
#include "shield.h"

typedef struct shield_config {
  char *schemas_dir;
  char *hmac_key_file;
  char *key_id;
} shield_config_t;

static const conf_entry_t shield_entries[] = {
    {"schemas.dir", "SCHEMAS_DIR", CONF_STRING, "/usr/local/share/sensory/schemas",
     offsetof(shield_config_t, schemas_dir), 1, 0, 0, "directory of the JSON Schema contracts"},
    {"privacy.hmac_key_file", "PRIVACY_HMAC_KEY_FILE", CONF_STRING, NULL,
     offsetof(shield_config_t, hmac_key_file), 1, 0, 0,
     "file with the HMAC-SHA256 pseudonym key (>= 16 bytes; a k8s Secret)"},
    {"privacy.key_id", "PRIVACY_KEY_ID", CONF_STRING, NULL, offsetof(shield_config_t, key_id), 0, 0,
     0, "name of the key carried in every hash (default: a fingerprint of the key)"},
    {NULL, NULL, 0, NULL, 0, 0, 0, 0, NULL},
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
  service_t svc;
  pii_hasher_t *hasher = NULL;
  shield_t *shield = NULL;
  char errstr[1024];

  if (service_init(&svc, "privacy-shield",
                   "source.social.tiktok,source.social.facebook,source.market.shopify,"
                   "source.market.daraz",
                   own, 1, argc, argv, usage, SERVICE_NEED_DLQ_KEY) != 0)
    goto out;
  svc.exit_code = 2;
  if (!(hasher = pii_hasher_from_file(cfg.hmac_key_file, cfg.key_id, errstr, sizeof(errstr)))) {
    log_error("config", "privacy.hmac_key_file (PRIVACY_HMAC_KEY_FILE): %s", errstr);
    goto out;
  }
  if (!(shield = shield_new(cfg.schemas_dir, hasher, errstr, sizeof(errstr)))) {
    log_error("config", "schemas.dir (SCHEMAS_DIR): %s", errstr);
    goto out;
  }
  log_event(LOG_LEVEL_INFO, "ready", json_pack("{s:s}", "key_id", pii_hasher_key_id(hasher)),
            "privacy policy loaded");

  stage_options_t opts = {
      .transform_doc = shield_transform_doc, .ctx = shield, .seal_dead_letters = 1};
  service_stage_options(&svc, &opts);
  svc.exit_code = stage_run(&svc.stage, &opts);
out:
  shield_destroy(shield);
  pii_hasher_destroy(hasher);
  service_fini(&svc, own, 1);
  return svc.exit_code;
}
