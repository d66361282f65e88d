/* source — the sources of scraper-ingest, one small file each, and the
 * helpers they share. Every source runs on the page loop (source_loop.h):
 * its file holds only its settings, request building, paging rule and pure
 * mapper, plus an entry function that hands them to scr_page_loop().
 *
 * The mappers (scr_map_*) are pure: API JSON in, source-contract records
 * out, no I/O, so unit tests drive them with the documented payloads. They
 * map what is there and leave a field out when the API lacks it; the schema
 * check then dead-letters the record naming that field.
 */
#ifndef SCR_SOURCE_H
#define SCR_SOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "scraper_run.h"
#include "source_loop.h"

typedef void (*scr_source_fn)(scr_run_t *run, scr_stats_t *st);

typedef struct scr_source_def {
  const char *name;     /* config name and lock/cursor name */
  size_t topic_setting; /* offsetof(scr_config_t, <name>_topic): where its records go */
  scr_source_fn run;
} scr_source_def_t;

/* The API sources, by name; NULL for an unknown name. */
const scr_source_def_t *scr_source_find(const char *name);

/* The topic a source's records go to (its <name>.topic setting). */
const char *scr_source_topic(const scr_source_def_t *def, const scr_config_t *cfg);

/* Runs one source under its lock (def, or the file source at path for topic
 * when def is NULL) and fills st: a source another run holds is skipped
 * (SCR_SRC_LOCKED), a lock that cannot be taken or released is SCR_SRC_STATE. */
void scr_source_run(scr_run_t *run, scr_stats_t *st, const char *lock_name,
                    const scr_source_def_t *def, const char *path, const char *topic);

/* File / stdin source: path "-" is stdin (no cursor). */
void scr_src_file(scr_run_t *run, scr_stats_t *st, const char *path, const char *topic);

void scr_src_shopify(scr_run_t *run, scr_stats_t *st);
void scr_src_daraz(scr_run_t *run, scr_stats_t *st);
void scr_src_weather(scr_run_t *run, scr_stats_t *st);
void scr_src_facebook(scr_run_t *run, scr_stats_t *st);
void scr_src_tiktok(scr_run_t *run, scr_stats_t *st);

/* Formats a UNIX time as RFC 3339 UTC ("2022-08-30T14:43:12Z"). out >= 32. */
void scr_time_rfc3339(int64_t t, char *out, size_t out_size);

/* Normalises a timestamp to RFC 3339: accepts RFC 3339 itself and the
 * "+0000" / " +0800" / "YYYY-MM-DD HH:MM:SS +0800" offsets some APIs use.
 * Returns 0, or -1 when it is not a recognisable timestamp. */
int scr_time_normalise(const char *in, char *out, size_t out_size);

/* Reads a JSON number or numeric string ("199.00", "1,500.00") as a double.
 * Returns 0, or -1 when absent or not numeric. */
int scr_json_number(const json_t *v, double *out);

/* A JSON string, integer or real as text (ids come as either). Returns 0, or -1. */
int scr_json_id(const json_t *v, char *out, size_t out_size);

/* Appends the #hashtags of text (without '#', deduplicated, at most 100) to
 * the array arr. */
void scr_hashtags_from_text(const char *text, json_t *arr);

/* Sets key to a non-empty string value if s is one (skips NULL / ""). */
void scr_set_str(json_t *rec, const char *key, const char *s);

/* ---- mappers (pure; unit-tested) ---------------------------------------- */

/* One market_order per line item of a Shopify order (REST Admin "order"
 * object), appended to out. Returns the number appended; an order without
 * line items yields one record without product fields (dead-lettered by the
 * schema check, naming /product_id). */
size_t scr_map_shopify_order(const json_t *order, const char *merchant_id, json_t *out);

/* The market_order order_status of a Shopify order (schemas/README.md). */
const char *scr_shopify_status(const json_t *order);

/* One market_order per Daraz order item (GetOrders order + its items from
 * GetMultipleOrderItems; items may be NULL), appended to out. */
size_t scr_map_daraz_order(const json_t *order, const json_t *items, const char *merchant_id,
                           json_t *out);

/* The market_order order_status of a Daraz item/order status, or NULL. */
const char *scr_daraz_status(const char *status);

/* Lazada Open Platform signature: HMAC-SHA256(secret, path + sorted name+value
 * pairs) in upper-case hex into out (65 bytes). names/values have n entries
 * (excluding "sign"). Returns 0, or -1 on allocation failure. */
int scr_daraz_sign(const char *path, const char *const *names, const char *const *values, size_t n,
                   const char *secret, char out[65]);

/* Extreme-weather rules (documented in README.md): heat >= 38 °C, cold <= 10 °C,
 * wind >= 17.2 m/s or gust >= 24.5 m/s, rain >= 7.6 mm in the last hour, or an
 * OpenWeatherMap condition id of a severe event. rain_1h / gust < 0: unknown. */
int scr_weather_is_extreme(double temp_c, double wind_ms, double gust_ms, double rain_1h_mm,
                           long condition_id);

/* A weather_observation from an OpenWeatherMap current-weather response for
 * city. kelvin: the response is in the API's default units (K), else metric.
 * Returns a new object (caller owns), NULL on a non-object. */
json_t *scr_map_weather(const json_t *doc, const char *city, int kelvin);

/* A social_post from a Graph API comment of post_id. Caller owns the result. */
json_t *scr_map_facebook_comment(const json_t *comment, const char *post_id);

/* A social_post from a TikTok Research API video. Caller owns the result. */
json_t *scr_map_tiktok_video(const json_t *video);

#endif
