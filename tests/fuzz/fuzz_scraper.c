/* fuzz_scraper — scraper-ingest's sources on any API response: each source
 * (Shopify, Daraz, OpenWeatherMap, Facebook, TikTok) runs its page loop over
 * responses taken from the input (scr_run_t's transport), so the paging
 * rules and the pure mappers (scr_map_*) read whatever a hostile or broken
 * API could send.
 *
 * Input: up to 4 responses separated by a line "--"; a response may start
 * with a line "LINK <url>; rel=\"next\"" (the Link header). Request k gets
 * response k mod count, so a page can be answered by any of them.
 *
 * Invariants, beyond not crashing, hanging or leaking:
 *  - every request goes to the configured API (http://api.test/...): a page
 *    never redirects the loop, and the credential with it, elsewhere;
 *  - every record produced is valid against its topic's contract, and every
 *    dead letter is sealed (no plaintext payload, no plaintext key);
 *  - no credential appears in a record, a dead letter or the run's error;
 *  - the counters agree with what reached the sink.
 */
#include <jansson.h>
#include <stddef.h>

#include "fuzz.h"
#include "kafka/topics.h"
#include "privacy/dlq.h"
#include "scraper_config.h"
#include "scraper_run.h"
#include "source.h"
#include "json/jsonf.h"

#define SECRET "fuzz-credential-7f3a"
/* The API's own answer holds the credential's text (the fuzzer learns it):
 * then it is the page's data, and finding it in a record says nothing. */
static int secret_in_input;
#define BASE "http://api.test"

static scr_config_t cfg;
static topics_t *topics;
static dlq_key_t *key;
static char schemas[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char err[512], *args[] = {"fuzz-scraper", NULL};
  conf_section_t sec = {scr_config_entries(), &cfg};
  conf_result_t res;
  FUZZ_CHECK(conf_load(&sec, 1, 1, args, "", "", &res, err, sizeof(err)) == CONF_OK,
             "scraper defaults load");
  conf_result_free(&res);
  static const char *const envs[] = {"SHOPIFY_ACCESS_TOKEN",  "DARAZ_APP_SECRET",
                                     "DARAZ_ACCESS_TOKEN",    "OPENWEATHER_API_KEY",
                                     "FACEBOOK_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN"};
  for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
    setenv(envs[i], SECRET, 1);
  char **urls[] = {&cfg.shopify_base_url, &cfg.daraz_base_url, &cfg.weather_base_url,
                   &cfg.facebook_base_url, &cfg.tiktok_base_url};
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    free(*urls[i]);
    *urls[i] = strdup(BASE);
  }
  free(cfg.daraz_app_key);
  cfg.daraz_app_key = strdup("fuzz-app");
  free(cfg.weather_cities);
  cfg.weather_cities = strdup("Dhaka");
  free(cfg.facebook_post_ids);
  cfg.facebook_post_ids = strdup("1_2");
  free(cfg.tiktok_keywords);
  cfg.tiktok_keywords = strdup("saree");
  cfg.max_pages = 3;
  cfg.http_retries = 0;
  fuzz_path(schemas, sizeof(schemas), "schemas");
  char path[4200];
  snprintf(path, sizeof(path), "%s/topics.yaml", schemas);
  topics = topics_load(path, err, sizeof(err));
  FUZZ_CHECK(topics != NULL, "topics.yaml loads");
  static const unsigned char k[32] = {1, 2, 3};
  key = dlq_key_new(k);
  return 0;
}

typedef struct responses {
  const char *body[4];
  size_t len[4];
  char *link[4];
  size_t count, requests;
} responses_t;

static int replay(void *ctx, const char *method, const char *url, const char *const *headers,
                  const char *body, http_resp_t *resp, char *errstr, size_t errstr_size) {
  responses_t *r = ctx;
  (void)method;
  (void)headers;
  (void)body;
  (void)errstr;
  (void)errstr_size;
  if (strncmp(url, BASE "/", strlen(BASE) + 1) != 0) {
    fprintf(stderr, "fuzz_scraper: request to %s\n", url);
    FUZZ_CHECK(0, "requests go only to the configured API");
  }
  size_t k = r->requests++ % r->count;
  resp->status = 200;
  resp->body = malloc(r->len[k] + 1);
  memcpy(resp->body, r->body[k], r->len[k]);
  resp->body[r->len[k]] = '\0';
  resp->len = r->len[k];
  resp->link = r->link[k] ? strdup(r->link[k]) : NULL;
  return HTTP_CLIENT_OK;
}

static int cur_get(void *ctx, const char *source, const char *stream, char *out, size_t out_size,
                   char *errstr, size_t errstr_size) {
  (void)ctx, (void)source, (void)stream, (void)errstr, (void)errstr_size;
  snprintf(out, out_size, "%s", "");
  return 0;
}

static int cur_set(void *ctx, const char *source, const char *stream, const char *value,
                   char *errstr, size_t errstr_size) {
  (void)source, (void)stream, (void)errstr, (void)errstr_size;
  FUZZ_CHECK(strlen(value) < SCR_CURSOR_MAX, "a cursor fits");
  ++*(unsigned *)ctx;
  return 0;
}

/* Each line of out: a record valid against one of the run's contracts. */
static void check_records(scr_run_t *run, const char *topic, char *buf, size_t len, uint64_t want) {
  uint64_t lines = 0;
  const schema_t *s = scr_run_schema(run, topic);
  FUZZ_CHECK(s != NULL, "the source's contract");
  for (char *p = buf, *end = buf + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    FUZZ_CHECK(nl != NULL, "records end with a newline");
    char err[512];
    json_t *v = jsonf_parse(p, (size_t)(nl - p), 64, err, sizeof(err));
    FUZZ_CHECK(v != NULL, "a record is JSON");
    FUZZ_CHECK(schema_validate(s, v, err, sizeof(err)) == 0, "a record is valid");
    json_decref(v);
    lines++;
    p = nl + 1;
  }
  FUZZ_CHECK(lines == want, "produced counts the records");
  FUZZ_CHECK(secret_in_input || !fuzz_contains(buf, len, SECRET, strlen(SECRET)),
             "no credential in a record");
}

static void check_letters(char *buf, size_t len, uint64_t want) {
  uint64_t lines = 0;
  for (char *p = buf, *end = buf + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    FUZZ_CHECK(nl != NULL, "letters end with a newline");
    char err[512];
    json_t *v = jsonf_parse(p, (size_t)(nl - p), 64, err, sizeof(err));
    FUZZ_CHECK(v != NULL, "a dead letter is JSON");
    FUZZ_CHECK(json_object_get(v, "payload_enc") && !json_object_get(v, "payload") &&
                   !json_object_get(v, "payload_b64"),
               "a dead letter is sealed");
    const json_t *src = json_object_get(v, "source");
    FUZZ_CHECK(!json_object_get(src, "key") || json_is_null(json_object_get(src, "key")),
               "a sealed letter keeps only the key's hash");
    unsigned char *payload;
    size_t plen;
    FUZZ_CHECK(dlq_envelope_payload(v, key, &payload, &plen, err, sizeof(err)) == 0,
               "a dead letter opens with the run's key");
    free(payload);
    json_decref(v);
    lines++;
    p = nl + 1;
  }
  FUZZ_CHECK(lines == want, "dead counts the letters");
  FUZZ_CHECK(secret_in_input || !fuzz_contains(buf, len, SECRET, strlen(SECRET)),
             "no credential in a dead letter");
}

static void run_source(const char *name, responses_t *r) {
  const scr_source_def_t *def = scr_source_find(name);
  FUZZ_CHECK(def != NULL, "the source exists");
  char *out = NULL, *dlq = NULL;
  size_t out_len = 0, dlq_len = 0;
  FILE *fo = open_memstream(&out, &out_len), *fd = open_memstream(&dlq, &dlq_len);
  unsigned sets = 0;
  scr_cursor_store_t store = {cur_get, cur_set, &sets};
  scr_transport_t tr = {replay, r};
  scr_run_t run = {.cfg = &cfg,
                   .dlq_key = key,
                   .producer = "scraper-ingest/fuzz",
                   .cursors = &store,
                   .transport = &tr,
                   .topics = topics};
  const char *topic = scr_source_topic(def, &cfg);
  char err[512];
  FUZZ_CHECK(scr_run_add_topic(&run, schemas, topic, err, sizeof(err)) == 0, "the topic loads");
  run.sink = scr_sink_stdio_new(fo, fd);
  scr_stats_t st = {.source = name};
  r->requests = 0;
  def->run(&run, &st);
  FUZZ_CHECK(st.status >= SCR_SRC_OK && st.status <= SCR_SRC_STATE, "a known status");
  FUZZ_CHECK(secret_in_input || !strstr(st.error, SECRET), "no credential in the run's error");
  scr_sink_destroy(run.sink);
  fclose(fo);
  fclose(fd);
  check_records(&run, topic, out, out_len, st.produced);
  check_letters(dlq, dlq_len, st.dead);
  free(out);
  free(dlq);
  scr_run_fini(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  responses_t r = {0};
  secret_in_input = fuzz_contains((const char *)data, size, SECRET, strlen(SECRET));
  const char *p = (const char *)data, *end = p + size;
  while (r.count < 4) {
    const char *sep = memmem(p, (size_t)(end - p), "\n--\n", 4);
    const char *stop = sep ? sep : end;
    if ((size_t)(stop - p) > 5 && memcmp(p, "LINK ", 5) == 0) {
      const char *nl = memchr(p, '\n', (size_t)(stop - p));
      const char *le = nl ? nl : stop;
      r.link[r.count] = strndup(p + 5, (size_t)(le - p - 5));
      p = nl ? nl + 1 : stop;
    }
    r.body[r.count] = p;
    r.len[r.count] = (size_t)(stop - p);
    r.count++;
    if (!sep)
      break;
    p = sep + 4;
  }
  static const char *const sources[] = {"shopify", "daraz", "weather", "facebook", "tiktok"};
  for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
    run_source(sources[i], &r);
  for (size_t i = 0; i < r.count; i++)
    free(r.link[i]);
  return 0;
}
