/* Facebook Graph API comments of configured page posts:
 * GET /<version>/<post-id>/comments?order=chronological&after=<cursor>, paging
 * by paging.cursors.after (the base URL stays ours: paging.next is not
 * followed, so a test server or proxy is never bypassed). The cursor per post
 * is the "after" cursor of the last acknowledged page. The token travels in
 * the Authorization header, never in a URL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

json_t *scr_map_facebook_comment(const json_t *c, const char *post_id) {
  if (!json_is_object(c))
    return NULL;
  json_t *rec = json_object();
  char id[160], ts[64];
  json_object_set_new(rec, "platform", json_string("facebook"));
  if (scr_json_id(json_object_get(c, "id"), id, sizeof(id)) == 0)
    json_object_set_new(rec, "post_id", json_string(id));
  const json_t *parent = json_object_get(c, "parent");
  if (scr_json_id(json_object_get(parent, "id"), id, sizeof(id)) == 0)
    json_object_set_new(rec, "parent_id", json_string(id));
  else
    scr_set_str(rec, "parent_id", post_id);
  const json_t *from = json_object_get(c, "from");
  /* Graph gives an app-scoped id and a display name, no handle: the id is
   * the stable identifier privacy-shield hashes as author. */
  if (scr_json_id(json_object_get(from, "id"), id, sizeof(id)) == 0)
    json_object_set_new(rec, "author_username", json_string(id));
  scr_set_str(rec, "author_name", json_string_value(json_object_get(from, "name")));
  const char *msg = json_string_value(json_object_get(c, "message"));
  scr_set_str(rec, "content", msg);
  double likes = 0, replies = 0;
  scr_json_number(json_object_get(c, "like_count"), &likes);
  scr_json_number(json_object_get(c, "comment_count"), &replies);
  json_object_set_new(rec, "engagement_count", json_integer((json_int_t)(likes + replies)));
  if (scr_time_normalise(json_string_value(json_object_get(c, "created_time")), ts, sizeof(ts)) ==
      0)
    json_object_set_new(rec, "timestamp", json_string(ts));
  json_t *tags = json_array();
  scr_hashtags_from_text(msg, tags);
  if (json_array_size(tags))
    json_object_set_new(rec, "hashtags", tags);
  else
    json_decref(tags);
  return rec;
}

typedef struct facebook {
  const scr_config_t *cfg;
  char after[SCR_CURSOR_MAX]; /* the post in hand: the after cursor of its last page */
} facebook_t;

static int facebook_begin(scr_loop_t *lp) {
  facebook_t *f = lp->self;
  snprintf(f->after, sizeof(f->after), "%s", lp->cursor);
  return 0;
}

static int facebook_request(scr_loop_t *lp, scr_request_t *req) {
  facebook_t *f = lp->self;
  const scr_config_t *c = f->cfg;
  char pesc[512], cesc[SCR_CURSOR_MAX * 3];
  if (http_url_escape(lp->stream, pesc, sizeof(pesc)) != 0)
    return scr_loop_fail(lp, SCR_SRC_CONFIG, "facebook.post_ids: a post id is too long");
  size_t o = (size_t)snprintf(
      req->url, sizeof(req->url),
      "%s/%s/%s/comments?fields=id,message,created_time,from,like_count,comment_count,parent"
      "&order=chronological&filter=stream&limit=%lld",
      c->facebook_base_url, c->facebook_api_version, pesc, (long long)c->facebook_limit);
  if (f->after[0] && http_url_escape(f->after, cesc, sizeof(cesc)) == 0 && o < sizeof(req->url))
    snprintf(req->url + o, sizeof(req->url) - o, "&after=%s", cesc);
  static const char *const headers[] = {"Accept: application/json", NULL};
  req->headers = headers;
  req->what = "facebook comments";
  return 0;
}

static int facebook_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc,
                         scr_page_t *page) {
  (void)resp;
  facebook_t *f = lp->self;
  const json_t *data = json_object_get(doc, "data");
  if (!json_is_array(data))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "facebook comments: page without a data array");
  const json_t *paging = json_object_get(doc, "paging");
  const char *after =
      json_string_value(json_object_get(json_object_get(paging, "cursors"), "after"));
  page->items = data;
  page->more = json_object_get(paging, "next") != NULL && json_array_size(data) > 0;
  if (after && strlen(after) < sizeof(f->after))
    snprintf(f->after, sizeof(f->after), "%s", after);
  else
    page->more = 0;
  if (after)
    snprintf(page->cursor, sizeof(page->cursor), "%s", f->after);
  return 0;
}

static size_t facebook_map(scr_loop_t *lp, const json_t *comment, json_t *out) {
  return scr_map_one(scr_map_facebook_comment(comment, lp->stream), out);
}

void scr_src_facebook(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  facebook_t f = {.cfg = c};
  scr_loop_spec_t spec = {.topic = run->cfg->facebook_topic,
                          .item = "comment",
                          .rate_per_sec = c->facebook_rate,
                          .secret = {.file = c->facebook_token_file,
                                     .setting = "facebook.token_file",
                                     .env = "FACEBOOK_ACCESS_TOKEN",
                                     .header = "Authorization: Bearer "},
                          .stream_list = c->facebook_post_ids,
                          .stream_setting = "facebook.post_ids",
                          .self = &f,
                          .begin = facebook_begin,
                          .request = facebook_request,
                          .page = facebook_page,
                          .map = facebook_map};
  scr_page_loop(run, st, &spec);
}
