/* OpenWeatherMap current weather, one request per configured city
 * (GET /data/2.5/weather?q=<city>,BD&units=metric). The cursor per city is
 * the observation time (dt) last produced, so an unchanged observation is not
 * produced twice. */
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

void scr_src_weather(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  const char *topic = "context.weather";
  char err[1024];
  size_t ncities = 0;
  char **cities = conf_list_split(c->weather_cities ? c->weather_cities : "", &ncities);
  http_client_t *http = NULL;
  char *key = scr_config_secret(c->weather_api_key_file, "weather.api_key_file",
                                "OPENWEATHER_API_KEY", err, sizeof(err));
  if (!key || !cities || !ncities) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "%s", key ? "weather.cities is empty" : err);
    goto out;
  }
  if (!(http = scr_source_http(run, st, c->weather_rate)))
    goto out;
  char kesc[512];
  if (http_url_escape(key, kesc, sizeof(kesc)) != 0) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "weather API key too long");
    goto out;
  }
  int failures = 0;
  for (size_t i = 0; i < ncities && st->pages < (uint64_t)c->max_pages && !scr_stopping(st); i++) {
    char cursor[SCR_CURSOR_MAX], cesc[512], url[2048];
    if (scr_cursor(run, st, cities[i], cursor, sizeof(cursor)) != 0)
      break;
    if (http_url_escape(cities[i], cesc, sizeof(cesc)) != 0)
      continue;
    snprintf(url, sizeof(url), "%s/data/2.5/weather?q=%s,BD&units=metric&appid=%s",
             c->weather_base_url, cesc, kesc);
    static const char *const headers[] = {"Accept: application/json", NULL};
    http_resp_t resp;
    int hrc = http_client_request(http, "GET", url, headers, NULL, &resp, err, sizeof(err));
    explicit_bzero(url, sizeof(url));
    if (hrc != HTTP_CLIENT_OK) {
      /* One city failing does not stop the others; the run reports it. */
      char what[600];
      snprintf(what, sizeof(what), "weather %.500s", cities[i]);
      scr_source_http_fail(st, hrc, what, err);
      http_resp_free(&resp);
      failures++;
      if (hrc == HTTP_CLIENT_UNREACHABLE)
        break;
      st->status = SCR_SRC_OK;
      continue;
    }
    scr_status_t before = st->status;
    json_t *doc = scr_parse_page(&resp, st, "weather");
    http_resp_free(&resp);
    if (!doc) {
      failures++;
      st->status = before;
      continue;
    }
    st->pages++;
    json_t *dt = json_object_get(doc, "dt");
    char value[32] = "";
    if (json_is_integer(dt))
      snprintf(value, sizeof(value), "%lld", (long long)json_integer_value(dt));
    if (value[0] && strcmp(value, cursor) == 0) {
      json_decref(doc); /* the same observation as last run */
      continue;
    }
    st->fetched++;
    json_t *rec = scr_map_weather(doc, cities[i], 0);
    json_decref(doc);
    int rc = scr_emit(run, st, topic, rec, NULL, 0, (int64_t)st->fetched);
    json_decref(rec);
    if (rc != 0 || scr_checkpoint(run, st, cities[i], value[0] ? value : NULL) != 0)
      break;
  }
  if (failures && st->status == SCR_SRC_OK) {
    st->status = SCR_SRC_PARTIAL;
    if (!st->error[0])
      snprintf(st->error, sizeof(st->error), "%d cities failed", failures);
  }
out:
  scr_secret_free(key);
  conf_list_free(cities);
  scr_source_http_done(http, st);
}
