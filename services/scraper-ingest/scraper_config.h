/* scraper_config — the one settings table of scraper-ingest (defaults, YAML keys,
 * environment, flags and --help all come from scr_config_entries()).
 *
 * Secrets are never settings: a setting names the file that holds a secret
 * (a k8s Secret mounted as a file); scr_config_secret() reads it, or falls back
 * to one environment variable holding the value itself. Neither is logged.
 */
#ifndef SCR_CONFIG_H
#define SCR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef struct scr_config {
  /* run */
  char *from;    /* "file:PATH", "-" / "file:-" (stdin); NULL: the API sources */
  char *topic;   /* topic of the file source's records */
  char *sources; /* comma list: shopify,daraz,weather,facebook,tiktok */
  int stdio;
  char *dlq_file;
  /* kafka (brokers, keys, schemas: the start-up's shared settings) */
  int64_t kafka_timeout_ms;
  int64_t max_message_bytes;
  /* redis (the connection settings are the shared client's: redis_conf_entries()) */
  char *redis_prefix;
  int64_t lock_ttl_ms;
  /* metrics */
  char *metrics_file;
  char *pushgateway_url;
  /* http */
  int64_t http_timeout_ms;
  int64_t http_connect_timeout_ms;
  int64_t http_retries;
  int64_t http_backoff_ms;
  int64_t http_backoff_max_ms;
  int64_t http_retry_after_max_s;
  int64_t max_pages;
  int64_t file_batch;
  /* shopify */
  char *shopify_topic;
  char *shopify_base_url;
  char *shopify_api_version;
  char *shopify_merchant_id;
  char *shopify_token_file;
  double shopify_rate;
  int64_t shopify_limit;
  /* daraz */
  char *daraz_topic;
  char *daraz_base_url;
  char *daraz_app_key;
  char *daraz_app_secret_file;
  char *daraz_access_token_file;
  char *daraz_merchant_id;
  char *daraz_created_after;
  int64_t daraz_limit;
  double daraz_rate;
  /* weather */
  char *weather_topic;
  char *weather_base_url;
  char *weather_cities;
  char *weather_api_key_file;
  double weather_rate;
  /* facebook */
  char *facebook_topic;
  char *facebook_base_url;
  char *facebook_api_version;
  char *facebook_post_ids;
  char *facebook_token_file;
  int64_t facebook_limit;
  double facebook_rate;
  /* tiktok */
  char *tiktok_topic;
  char *tiktok_base_url;
  char *tiktok_keywords;
  char *tiktok_token_file;
  char *tiktok_start_date;
  int64_t tiktok_max_count;
  double tiktok_rate;
} scr_config_t;

/* The table (static storage, terminated by a NULL key). */
const conf_entry_t *scr_config_entries(void);

/* Reads a secret: from the file named by file_path when it is set, else from
 * the environment variable env_name (may be NULL). Returns a malloc'd,
 * NUL-terminated string the caller frees with scr_secret_free(), or NULL with
 * errstr naming the setting (never the value). */
char *scr_config_secret(const char *file_path, const char *setting, const char *env_name,
                        char *errstr, size_t errstr_size);

/* Wipes and frees a secret from scr_config_secret(); NULL is accepted. */
void scr_secret_free(char *secret);

#endif
