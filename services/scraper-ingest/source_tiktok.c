/* TikTok Research API video query: POST /v2/research/video/query/ with a
 * keyword query over [start_date, end_date] (YYYYMMDD, at most 30 days,
 * ending yesterday UTC: the API's data for today is incomplete), paging by
 * cursor + search_id while has_more; a stored search_id that has expired
 * restarts its window once. Cursor per keyword: while a window is in
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

typedef struct tiktok {
  const scr_config_t *cfg;
  time_t now;
  char url[2048];
  /* the window of the keyword in hand */
  char start[16], end[16], search_id[512];
  long long pos;
  int restarted;
} tiktok_t;

/* A window in progress ("start|end|cursor|search_id") is resumed exactly;
 * after a finished one (its cursor is the next start day) a new window of
 * whole days, at most 30, ending yesterday. */
static int tiktok_begin(scr_loop_t *lp) {
  tiktok_t *t = lp->self;
  char cursor[SCR_CURSOR_MAX];
  snprintf(cursor, sizeof(cursor), "%s", lp->cursor);
  t->start[0] = t->end[0] = t->search_id[0] = '\0';
  t->pos = 0;
  t->restarted = 0;
  if (strchr(cursor, '|')) {
    char *save = cursor, *f[4] = {0};
    for (int i = 0; i < 4; i++) {
      f[i] = save;
      save = save ? strchr(save, '|') : NULL;
      if (save)
        *save++ = '\0';
    }
    snprintf(t->start, sizeof(t->start), "%.8s", f[0] ? f[0] : "");
    snprintf(t->end, sizeof(t->end), "%.8s", f[1] ? f[1] : "");
    t->pos = f[2] ? strtoll(f[2], NULL, 10) : 0;
    snprintf(t->search_id, sizeof(t->search_id), "%.500s", f[3] ? f[3] : "");
    return 0;
  }
  time_t yesterday = t->now - 86400;
  time_t s = day_parse(cursor[0] ? cursor : t->cfg->tiktok_start_date);
  if (s == (time_t)-1)
    s = t->now - 7 * 86400;
  time_t e = s + 29 * 86400;
  if (e > yesterday)
    e = yesterday;
  if (s > e)
    return 1; /* nothing complete to fetch yet */
  day_string(s, t->start);
  day_string(e, t->end);
  return 0;
}

static int tiktok_request(scr_loop_t *lp, scr_request_t *req) {
  tiktok_t *t = lp->self;
  json_t *body = json_pack("{s:{s:[{s:s,s:s,s:[s]}]},s:s,s:s,s:I,s:I}", "query", "and", "operation",
                           "IN", "field_name", "keyword", "field_values", lp->stream, "start_date",
                           t->start, "end_date", t->end, "max_count",
                           (json_int_t)t->cfg->tiktok_max_count, "cursor", (json_int_t)t->pos);
  if (body && t->search_id[0])
    json_object_set_new(body, "search_id", json_string(t->search_id));
  req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!req->body)
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "tiktok: cannot build the query");
  req->method = "POST";
  snprintf(req->url, sizeof(req->url), "%s", t->url);
  static const char *const headers[] = {"Content-Type: application/json", NULL};
  req->headers = headers;
  req->what = "tiktok video query";
  return 0;
}

/* A 4xx while continuing a stored search: the search_id has expired (it
 * lives for a limited time). Restart the window from its first page once;
 * pages produced before come again, keyed, so consumers overwrite. */
static int tiktok_retry(scr_loop_t *lp, int http_rc) {
  tiktok_t *t = lp->self;
  if (http_rc != HTTP_CLIENT_FAILED || !t->search_id[0] || t->restarted)
    return 0;
  t->restarted = 1;
  t->pos = 0;
  t->search_id[0] = '\0';
  lp->st->restarts++;
  return 1;
}

static int tiktok_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc,
                       scr_page_t *page) {
  (void)resp;
  tiktok_t *t = lp->self;
  const char *ecode = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
  const json_t *data = json_object_get(doc, "data");
  const json_t *videos = json_object_get(data, "videos");
  if ((ecode && strcmp(ecode, "ok") != 0) || !json_is_array(videos))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "tiktok video query: error %.64s",
                         ecode ? ecode : "(no data.videos)");
  page->items = videos;
  page->more = json_is_true(json_object_get(data, "has_more"));
  json_t *nc = json_object_get(data, "cursor");
  t->pos =
      json_is_integer(nc) ? json_integer_value(nc) : t->pos + (long long)json_array_size(videos);
  const char *sid = json_string_value(json_object_get(data, "search_id"));
  if (sid)
    snprintf(t->search_id, sizeof(t->search_id), "%.500s", sid);
  if (page->more) {
    snprintf(page->cursor, sizeof(page->cursor), "%s|%s|%lld|%s", t->start, t->end, t->pos,
             t->search_id);
  } else {
    char next[9];
    day_string(day_parse(t->end) + 86400, next);
    snprintf(page->cursor, sizeof(page->cursor), "%s", next);
  }
  return 0;
}

static size_t tiktok_map(scr_loop_t *lp, const json_t *video, json_t *out) {
  (void)lp;
  return scr_map_one(scr_map_tiktok_video(video), out);
}

void scr_src_tiktok(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  tiktok_t t = {.cfg = c, .now = time(NULL)};
  snprintf(t.url, sizeof(t.url),
           "%s/v2/research/video/query/?fields=id,video_description,create_time,username,"
           "like_count,comment_count,share_count,hashtag_names",
           c->tiktok_base_url);
  scr_loop_spec_t spec = {.topic = run->cfg->tiktok_topic,
                          .item = "video",
                          .rate_per_sec = c->tiktok_rate,
                          .secret = {.file = c->tiktok_token_file,
                                     .setting = "tiktok.token_file",
                                     .env = "TIKTOK_ACCESS_TOKEN",
                                     .header = "Authorization: Bearer "},
                          .stream_list = c->tiktok_keywords,
                          .stream_setting = "tiktok.keywords",
                          .self = &t,
                          .begin = tiktok_begin,
                          .request = tiktok_request,
                          .retry = tiktok_retry,
                          .page = tiktok_page,
                          .map = tiktok_map};
  scr_page_loop(run, st, &spec);
}
