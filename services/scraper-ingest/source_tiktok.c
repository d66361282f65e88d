/* TikTok Research API video query: POST /v2/research/video/query/ with a
 * keyword query over [start_date, end_date] (YYYYMMDD, at most 30 days,
 * ending yesterday UTC: the API's data for today is incomplete), paging by
 * cursor + search_id while has_more. Cursor per keyword: while a window is in
 * progress "start|end|cursor|search_id", after it "next start date". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source.h"

json_t *scr_map_tiktok_video(const json_t *v) {
  if (!json_is_object(v))
    return NULL;
  json_t *rec = json_object();
  char id[160], ts[40];
  json_object_set_new(rec, "platform", json_string("tiktok"));
  if (scr_json_id(json_object_get(v, "id"), id, sizeof(id)) == 0)
    json_object_set_new(rec, "post_id", json_string(id));
  scr_set_str(rec, "author_username", json_string_value(json_object_get(v, "username")));
  scr_set_str(rec, "content", json_string_value(json_object_get(v, "video_description")));
  double likes = 0, comments = 0, shares = 0;
  scr_json_number(json_object_get(v, "like_count"), &likes);
  scr_json_number(json_object_get(v, "comment_count"), &comments);
  scr_json_number(json_object_get(v, "share_count"), &shares);
  json_object_set_new(rec, "engagement_count",
                      json_integer((json_int_t)(likes + comments + shares)));
  json_t *ct = json_object_get(v, "create_time");
  if (json_is_integer(ct)) {
    scr_time_rfc3339(json_integer_value(ct), ts, sizeof(ts));
    json_object_set_new(rec, "timestamp", json_string(ts));
  }
  json_t *tags = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(v, "hashtag_names"), i, t) {
    const char *s = json_string_value(t);
    if (s && *s == '#')
      s++;
    if (s && *s && json_array_size(tags) < 100)
      json_array_append_new(tags, json_string(s));
  }
  if (json_array_size(tags))
    json_object_set_new(rec, "hashtags", tags);
  else
    json_decref(tags);
  return rec;
}

static void day_string(time_t t, char out[9]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 9, "%Y%m%d", &tm);
}

static time_t day_parse(const char *s) {
  struct tm tm = {0};
  if (!s || strlen(s) != 8 || !strptime(s, "%Y%m%d", &tm))
    return (time_t)-1;
  return timegm(&tm);
}

void scr_src_tiktok(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  const char *topic = "source.social.tiktok";
  char err[1024], auth[4200];
  size_t nkw = 0;
  char **kws = conf_list_split(c->tiktok_keywords ? c->tiktok_keywords : "", &nkw);
  http_client_t *http = NULL;
  char *token = scr_config_secret(c->tiktok_token_file, "tiktok.token_file", "TIKTOK_ACCESS_TOKEN",
                                  err, sizeof(err));
  auth[0] = '\0';
  if (!token || !kws || !nkw) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "%s", token ? "tiktok.keywords is empty" : err);
    goto out;
  }
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  const char *headers[] = {auth, "Content-Type: application/json", NULL};
  if (!(http = scr_source_http(run, st, c->tiktok_rate)))
    goto out;
  char url[2048];
  snprintf(url, sizeof(url),
           "%s/v2/research/video/query/?fields=id,video_description,create_time,username,"
           "like_count,comment_count,share_count,hashtag_names",
           c->tiktok_base_url);
  time_t now = time(NULL);
  time_t yesterday = now - 86400;
  for (size_t k = 0; k < nkw && st->status == SCR_SRC_OK; k++) {
    char cursor[SCR_CURSOR_MAX], start[16] = "", end[16] = "", search_id[512] = "";
    long long pos = 0;
    int restarted = 0;
    if (scr_cursor(run, st, kws[k], cursor, sizeof(cursor)) != 0)
      break;
    if (strchr(cursor, '|')) {
      /* A window in progress: resume it exactly. */
      char *save = cursor, *f[4] = {0};
      for (int i = 0; i < 4; i++) {
        f[i] = save;
        save = save ? strchr(save, '|') : NULL;
        if (save)
          *save++ = '\0';
      }
      snprintf(start, sizeof(start), "%.8s", f[0] ? f[0] : "");
      snprintf(end, sizeof(end), "%.8s", f[1] ? f[1] : "");
      pos = f[2] ? strtoll(f[2], NULL, 10) : 0;
      snprintf(search_id, sizeof(search_id), "%.500s", f[3] ? f[3] : "");
    } else {
      time_t s = day_parse(cursor[0] ? cursor : c->tiktok_start_date);
      if (s == (time_t)-1)
        s = now - 7 * 86400;
      time_t e = s + 29 * 86400;
      if (e > yesterday)
        e = yesterday;
      if (s > e)
        continue; /* nothing complete to fetch yet */
      day_string(s, start);
      day_string(e, end);
    }
    for (int more = 1; more && st->pages < (uint64_t)c->max_pages && !scr_stopping(st);) {
      json_t *body = json_pack("{s:{s:[{s:s,s:s,s:[s]}]},s:s,s:s,s:I,s:I}", "query", "and",
                               "operation", "IN", "field_name", "keyword", "field_values", kws[k],
                               "start_date", start, "end_date", end, "max_count",
                               (json_int_t)c->tiktok_max_count, "cursor", (json_int_t)pos);
      if (body && search_id[0])
        json_object_set_new(body, "search_id", json_string(search_id));
      char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
      json_decref(body);
      if (!text) {
        st->status = SCR_SRC_PARTIAL;
        snprintf(st->error, sizeof(st->error), "tiktok: cannot build the query");
        break;
      }
      http_resp_t resp;
      int hrc = http_client_request(http, "POST", url, headers, text, &resp, err, sizeof(err));
      free(text);
      if (hrc == HTTP_CLIENT_FAILED && search_id[0] && !restarted) {
        /* A 4xx while continuing a stored search: the search_id has expired
         * (it lives for a limited time). Restart the window from its first
         * page once; pages produced before come again, keyed, so consumers
         * overwrite. */
        http_resp_free(&resp);
        restarted = 1;
        pos = 0;
        search_id[0] = '\0';
        st->restarts++;
        continue;
      }
      if (hrc != HTTP_CLIENT_OK) {
        scr_source_http_fail(st, hrc, "tiktok video query", err);
        http_resp_free(&resp);
        break;
      }
      json_t *doc = scr_parse_page(&resp, st, "tiktok video query");
      http_resp_free(&resp);
      const char *ecode = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
      json_t *data = json_object_get(doc, "data");
      json_t *videos = json_object_get(data, "videos");
      if (doc && ((ecode && strcmp(ecode, "ok") != 0) || !json_is_array(videos))) {
        st->status = SCR_SRC_PARTIAL;
        snprintf(st->error, sizeof(st->error), "tiktok video query: error %.64s",
                 ecode ? ecode : "(no data.videos)");
      }
      if (st->status != SCR_SRC_OK) {
        json_decref(doc);
        break;
      }
      size_t i;
      json_t *v;
      json_array_foreach(videos, i, v) {
        st->fetched++;
        json_t *rec = scr_map_tiktok_video(v);
        int rc = rec ? scr_emit(run, st, topic, rec, NULL, 0, (int64_t)st->fetched)
                     : scr_dead_letter_item(run, st, topic, v, "video");
        json_decref(rec);
        if (rc != 0)
          break;
      }
      more = json_is_true(json_object_get(data, "has_more"));
      json_t *nc = json_object_get(data, "cursor");
      pos = json_is_integer(nc) ? json_integer_value(nc) : pos + (long long)json_array_size(videos);
      const char *sid = json_string_value(json_object_get(data, "search_id"));
      if (sid)
        snprintf(search_id, sizeof(search_id), "%.500s", sid);
      json_decref(doc);
      st->pages++;
      if (st->status != SCR_SRC_OK)
        break;
      char value[SCR_CURSOR_MAX];
      if (more) {
        snprintf(value, sizeof(value), "%s|%s|%lld|%s", start, end, pos, search_id);
      } else {
        char next[9];
        day_string(day_parse(end) + 86400, next);
        snprintf(value, sizeof(value), "%s", next);
      }
      if (scr_checkpoint(run, st, kws[k], value) != 0)
        break;
    }
  }
out:
  explicit_bzero(auth, sizeof(auth));
  scr_secret_free(token);
  conf_list_free(kws);
  scr_source_http_done(http, st);
}
