/* OpenWeatherMap current weather, one request per configured city
 * (GET /data/2.5/weather?q=<city>,BD&units=metric; one city failing does not
 * stop the others). The cursor per city is the observation time (dt) last
 * produced, so an unchanged observation is not produced twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

int scr_weather_is_extreme(double temp_c, double wind_ms, double gust_ms, double rain_1h_mm,
                           long condition_id) {
  /* Thresholds: Bangladesh Meteorological Department heat waves start at 36 °C
   * (moderate 38-40) and cold waves at 10 °C; 17.2 m/s is gale force
   * (Beaufort 8) and a 24.5 m/s gust storm force (Beaufort 10); 7.6 mm/h is
   * "heavy rain" (AMS). The condition ids are OpenWeatherMap's severe events:
   * heavy/ragged thunderstorm, heavy and extreme rain, squalls, tornado. */
  static const long severe[] = {202, 212, 221, 232, 502, 503, 504, 522, 531, 771, 781};
  if (temp_c >= 38.0 || temp_c <= 10.0)
    return 1;
  if (wind_ms >= 17.2 || gust_ms >= 24.5)
    return 1;
  if (rain_1h_mm >= 7.6)
    return 1;
  for (size_t i = 0; i < sizeof(severe) / sizeof(severe[0]); i++)
    if (condition_id == severe[i])
      return 1;
  return 0;
}

json_t *scr_map_weather(const json_t *doc, const char *city, int kelvin) {
  if (!json_is_object(doc))
    return NULL;
  json_t *rec = json_object();
  scr_set_str(rec, "city", city);
  const json_t *m = json_object_get(doc, "main");
  const json_t *w0 = json_array_get(json_object_get(doc, "weather"), 0);
  const json_t *wind = json_object_get(doc, "wind");
  double temp = 0, hum = 0, ws = 0, gust = -1, rain = -1;
  int have_temp = scr_json_number(json_object_get(m, "temp"), &temp) == 0;
  if (have_temp) {
    if (kelvin)
      temp -= 273.15;
    /* Two decimals: what the API's precision supports, and stable goldens. */
    temp = (double)(long long)(temp * 100.0 + (temp >= 0 ? 0.5 : -0.5)) / 100.0;
    json_object_set_new(rec, "temperature", json_real(temp));
  }
  scr_set_str(rec, "condition", json_string_value(json_object_get(w0, "main")));
  if (scr_json_number(json_object_get(m, "humidity"), &hum) == 0)
    json_object_set_new(rec, "humidity", json_real(hum));
  if (scr_json_number(json_object_get(wind, "speed"), &ws) == 0)
    json_object_set_new(rec, "wind_speed", json_real(ws));
  scr_json_number(json_object_get(wind, "gust"), &gust);
  if (scr_json_number(json_object_get(json_object_get(doc, "rain"), "1h"), &rain) == 0)
    json_object_set_new(rec, "rain_1h_mm", json_real(rain));
  json_t *dt = json_object_get(doc, "dt");
  if (json_is_integer(dt)) {
    char ts[40];
    scr_time_rfc3339(json_integer_value(dt), ts, sizeof(ts));
    json_object_set_new(rec, "timestamp", json_string(ts));
  }
  long cid = json_is_integer(json_object_get(w0, "id"))
                 ? (long)json_integer_value(json_object_get(w0, "id"))
                 : 0;
  if (have_temp)
    json_object_set_new(rec, "is_extreme_weather",
                        json_boolean(scr_weather_is_extreme(temp, ws, gust, rain, cid)));
  return rec;
}

typedef struct weather {
  const scr_config_t *cfg;
  char kesc[512]; /* the API key, escaped for the query string */
  char what[600]; /* "weather <city>" */
} weather_t;

static int weather_request(scr_loop_t *lp, scr_request_t *req) {
  weather_t *w = lp->self;
  char cesc[512], kesc[512];
  if (http_url_escape(lp->secret, kesc, sizeof(kesc)) != 0)
    return scr_loop_fail(lp, SCR_SRC_CONFIG, "weather API key too long");
  if (http_url_escape(lp->stream, cesc, sizeof(cesc)) != 0)
    return 1; /* not a city name the API could know: skipped */
  snprintf(req->url, sizeof(req->url), "%s/data/2.5/weather?q=%s,BD&units=metric&appid=%s",
           w->cfg->weather_base_url, cesc, kesc);
  explicit_bzero(kesc, sizeof(kesc));
  static const char *const headers[] = {"Accept: application/json", NULL};
  req->headers = headers;
  snprintf(w->what, sizeof(w->what), "weather %.500s", lp->stream);
  req->what = w->what;
  return 0;
}

/* One observation per city and page; one that has the stored observation
 * time (dt) was produced before and is not again. */
static int weather_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc,
                        scr_page_t *page) {
  (void)resp;
  json_t *dt = json_object_get(doc, "dt");
  if (json_is_integer(dt))
    snprintf(page->cursor, sizeof(page->cursor), "%lld", (long long)json_integer_value(dt));
  if (page->cursor[0] && strcmp(page->cursor, lp->cursor) == 0)
    page->cursor[0] = '\0';
  else
    page->items = doc;
  return 0;
}

static size_t weather_map(scr_loop_t *lp, const json_t *doc, json_t *out) {
  return scr_map_one(scr_map_weather(doc, lp->stream, 0), out);
}

void scr_src_weather(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  weather_t w = {.cfg = c};
  scr_loop_spec_t spec = {.topic = run->cfg->weather_topic,
                          .item = "observation",
                          .rate_per_sec = c->weather_rate,
                          .secret = {.file = c->weather_api_key_file,
                                     .setting = "weather.api_key_file",
                                     .env = "OPENWEATHER_API_KEY"},
                          .stream_list = c->weather_cities,
                          .stream_setting = "weather.cities",
                          .independent_streams = 1, /* one city failing does not stop the others */
                          .self = &w,
                          .request = weather_request,
                          .page = weather_page,
                          .map = weather_map};
  scr_page_loop(run, st, &spec);
}
