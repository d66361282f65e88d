/* The scraper-ingest settings table and secret loading. */
#include "scraper_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"

/* One row per setting: S string, I integer with bounds, D double. */
#define S(k, e, d, f, d_)                                                                          \
  {                                                                                                \
    .key = k, .env = e, .type = CONF_STRING, .def = d, .offset = offsetof(scr_config_t, f),        \
    .doc = d_                                                                                      \
  }
#define I(k, e, d, f, lo, hi, d_)                                                                  \
  {                                                                                                \
    .key = k, .env = e, .type = CONF_INT, .def = d, .offset = offsetof(scr_config_t, f),           \
    .min = lo, .max = hi, .doc = d_                                                                \
  }
#define D(k, e, d, f, d_)                                                                          \
  {                                                                                                \
    .key = k, .env = e, .type = CONF_DOUBLE, .def = d, .offset = offsetof(scr_config_t, f),        \
    .doc = d_                                                                                      \
  }

static const conf_entry_t entries[] = {
    S("from", NULL, NULL, from,
      "file:PATH (or '-' for stdin): ingest JSONL records already in a source-topic schema"),
    S("topic", NULL, NULL, topic, "with --from: the source topic the records belong to"),
    S("sources", "SCRAPER_SOURCES", "", sources,
      "API sources to run, comma-separated: shopify,daraz,weather,facebook,tiktok"),
    {.key = "stdio",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(scr_config_t, stdio),
     .doc = "write records to stdout and dead letters to --dlq-file; no Kafka, no Redis"},
    S("dlq_file", NULL, NULL, dlq_file, "with --stdio: file for dead-letter envelopes"),
    /* Not KAFKA_TIMEOUT_MS: KAFKA_<PROPERTY> is every program's librdkafka pass-through,
     * so a shared environment would hand the others a property "timeout.ms". */
    I("kafka.timeout_ms", "SCRAPER_KAFKA_TIMEOUT_MS", "30000", kafka_timeout_ms, 100, 600000,
      "bounded wait for the broker (metadata at start, acknowledgements per checkpoint)"),
    I("message.max_bytes", "MESSAGE_MAX_BYTES", "1048576", max_message_bytes, 1024,
      64 * 1024 * 1024, "records larger than this are dead-lettered as too_large"),
    S("redis.prefix", "REDIS_PREFIX", "sensory:scraper", redis_prefix, "prefix of the Redis keys"),
    I("lock.ttl_ms", "LOCK_TTL_MS", "900000", lock_ttl_ms, 1000, 86400000,
      "per-source lock lifetime, refreshed at every checkpoint"),
    S("metrics.file", "METRICS_FILE", NULL, metrics_file,
      "write the run's Prometheus metrics here (node-exporter textfile collector)"),
    S("metrics.pushgateway", "PUSHGATEWAY_URL", NULL, pushgateway_url,
      "also PUT the run's metrics to this Pushgateway base URL"),
    I("http.timeout_ms", "HTTP_TIMEOUT_MS", "20000", http_timeout_ms, 100, 600000,
      "whole-request timeout"),
    I("http.connect_timeout_ms", "HTTP_CONNECT_TIMEOUT_MS", "5000", http_connect_timeout_ms, 50,
      600000, "connect timeout"),
    I("http.retries", "HTTP_RETRIES", "4", http_retries, 0, 20,
      "retries of a request after 429, 5xx or a transport error"),
    I("http.backoff_ms", "HTTP_BACKOFF_MS", "500", http_backoff_ms, 1, 600000,
      "first back-off; doubles per retry, jittered"),
    I("http.backoff_max_ms", "HTTP_BACKOFF_MAX_MS", "30000", http_backoff_max_ms, 1, 3600000,
      "back-off ceiling"),
    I("http.retry_after_max_s", "HTTP_RETRY_AFTER_MAX_S", "120", http_retry_after_max_s, 0, 3600,
      "longest Retry-After honoured; longer ones give up the source for this run"),
    I("max_pages", "SCRAPER_MAX_PAGES", "1000", max_pages, 1, 1000000,
      "pages per source and run; the cursor makes the next run continue"),
    I("file.batch", "SCRAPER_FILE_BATCH", "20000", file_batch, 1, 10000000,
      "file source: records per checkpoint"),
    S("shopify.topic", "SHOPIFY_TOPIC", "source.market.shopify", shopify_topic,
      "topic of its records"),
    S("shopify.base_url", "SHOPIFY_BASE_URL", NULL, shopify_base_url, "https://SHOP.myshopify.com"),
    S("shopify.api_version", NULL, "2024-01", shopify_api_version, "Admin REST API version"),
    S("shopify.merchant_id", "SHOPIFY_MERCHANT_ID", NULL, shopify_merchant_id,
      "merchant_id of the records (default: the shop host)"),
    S("shopify.token_file", "SHOPIFY_TOKEN_FILE", NULL, shopify_token_file,
      "file with the Admin API access token (else env SHOPIFY_ACCESS_TOKEN)"),
    D("shopify.rate_per_sec", NULL, "2", shopify_rate, "request rate limit (REST: 2/s)"),
    I("shopify.limit", NULL, "250", shopify_limit, 1, 250, "orders per page"),
    S("daraz.topic", "DARAZ_TOPIC", "source.market.daraz", daraz_topic, "topic of its records"),
    S("daraz.base_url", "DARAZ_BASE_URL", "https://api.daraz.com.bd/rest", daraz_base_url,
      "Lazada Open Platform REST endpoint"),
    S("daraz.app_key", "DARAZ_APP_KEY", NULL, daraz_app_key, "app key (public)"),
    S("daraz.app_secret_file", "DARAZ_APP_SECRET_FILE", NULL, daraz_app_secret_file,
      "file with the app secret (else env DARAZ_APP_SECRET)"),
    S("daraz.access_token_file", "DARAZ_ACCESS_TOKEN_FILE", NULL, daraz_access_token_file,
      "file with the seller access token (else env DARAZ_ACCESS_TOKEN)"),
    S("daraz.merchant_id", "DARAZ_MERCHANT_ID", "daraz", daraz_merchant_id,
      "merchant_id of the records"),
    S("daraz.created_after", NULL, "2024-01-01T00:00:00+06:00", daraz_created_after,
      "first run only: orders created after this (ISO 8601)"),
    I("daraz.limit", NULL, "100", daraz_limit, 1, 100, "orders per page (API maximum 100)"),
    D("daraz.rate_per_sec", NULL, "5", daraz_rate, "request rate limit"),
    S("weather.topic", "WEATHER_TOPIC", "context.weather", weather_topic, "topic of its records"),
    S("weather.base_url", "WEATHER_BASE_URL", "https://api.openweathermap.org", weather_base_url,
      "OpenWeatherMap endpoint"),
    S("weather.cities", "WEATHER_CITIES", "Dhaka,Chittagong,Sylhet,Khulna,Rajshahi", weather_cities,
      "cities to observe (query q=CITY,BD)"),
    S("weather.api_key_file", "WEATHER_API_KEY_FILE", NULL, weather_api_key_file,
      "file with the API key (else env OPENWEATHER_API_KEY)"),
    D("weather.rate_per_sec", NULL, "1", weather_rate, "request rate limit (free plan: 60/min)"),
    S("facebook.topic", "FACEBOOK_TOPIC", "source.social.facebook", facebook_topic,
      "topic of its records"),
    S("facebook.base_url", "FACEBOOK_BASE_URL", "https://graph.facebook.com", facebook_base_url,
      "Graph API endpoint"),
    S("facebook.api_version", NULL, "v19.0", facebook_api_version, "Graph API version"),
    S("facebook.post_ids", "FACEBOOK_POST_IDS", "", facebook_post_ids,
      "page posts whose comments are ingested"),
    S("facebook.token_file", "FACEBOOK_TOKEN_FILE", NULL, facebook_token_file,
      "file with the page access token (else env FACEBOOK_ACCESS_TOKEN)"),
    I("facebook.limit", NULL, "100", facebook_limit, 1, 100, "comments per page"),
    D("facebook.rate_per_sec", NULL, "2", facebook_rate, "request rate limit"),
    S("tiktok.topic", "TIKTOK_TOPIC", "source.social.tiktok", tiktok_topic, "topic of its records"),
    S("tiktok.base_url", "TIKTOK_BASE_URL", "https://open.tiktokapis.com", tiktok_base_url,
      "Research API endpoint"),
    S("tiktok.keywords", "TIKTOK_KEYWORDS", "", tiktok_keywords, "keywords to query"),
    S("tiktok.token_file", "TIKTOK_TOKEN_FILE", NULL, tiktok_token_file,
      "file with the client access token (else env TIKTOK_ACCESS_TOKEN)"),
    S("tiktok.start_date", NULL, NULL, tiktok_start_date,
      "first run only: YYYYMMDD to start from (default: 7 days ago)"),
    I("tiktok.max_count", NULL, "100", tiktok_max_count, 1, 100, "videos per page"),
    D("tiktok.rate_per_sec", NULL, "1", tiktok_rate, "request rate limit"),
    {.key = NULL},
};

const conf_entry_t *scr_config_entries(void) {
  return entries;
}

char *scr_config_secret(const char *file_path, const char *setting, const char *env_name,
                        char *errstr, size_t errstr_size) {
  if (file_path && *file_path) {
    unsigned char *buf = NULL;
    size_t len = 0;
    char why[512];
    if (secret_read_file(file_path, &buf, &len, why, sizeof(why)) != 0) {
      snprintf(errstr, errstr_size, "%s: %s", setting, why);
      return NULL;
    }
    char *s = malloc(len + 1); /* owned by the caller */
    if (!s) {
      secret_free(buf, len);
      snprintf(errstr, errstr_size, "%s: out of memory", setting);
      return NULL;
    }
    memcpy(s, buf, len);
    s[len] = '\0';
    secret_free(buf, len);
    if (strlen(s) != len) {
      scr_secret_free(s);
      snprintf(errstr, errstr_size, "%s: the file holds a NUL byte", setting);
      return NULL;
    }
    return s;
  }
  const char *v = env_name ? getenv(env_name) : NULL;
  if (v && *v)
    return strdup(v);
  snprintf(errstr, errstr_size, "%s is not set%s%s", setting, env_name ? " (nor env " : "",
           env_name ? env_name : "");
  if (env_name)
    snprintf(errstr + strlen(errstr), errstr_size - strlen(errstr), ")");
  return NULL;
}

void scr_secret_free(char *secret) {
  if (!secret)
    return;
  volatile char *p = secret;
  while (*p)
    *p++ = 0;
  free(secret);
}
