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

void scr_src_facebook(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  const char *topic = "source.social.facebook";
  char err[1024], auth[4200];
  size_t nposts = 0;
  char **posts = conf_list_split(c->facebook_post_ids ? c->facebook_post_ids : "", &nposts);
  http_client_t *http = NULL;
  char *token = scr_config_secret(c->facebook_token_file, "facebook.token_file",
                                  "FACEBOOK_ACCESS_TOKEN", err, sizeof(err));
  auth[0] = '\0';
  if (!token || !posts || !nposts) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "%s", token ? "facebook.post_ids is empty" : err);
    goto out;
  }
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  const char *headers[] = {auth, "Accept: application/json", NULL};
  if (!(http = scr_source_http(run, st, c->facebook_rate)))
    goto out;
  for (size_t p = 0; p < nposts && st->status == SCR_SRC_OK; p++) {
    char cursor[SCR_CURSOR_MAX], pesc[512];
    if (scr_cursor(run, st, posts[p], cursor, sizeof(cursor)) != 0 ||
        http_url_escape(posts[p], pesc, sizeof(pesc)) != 0)
      break;
    while (st->pages < (uint64_t)c->max_pages && !scr_stopping(st)) {
      char url[4096], cesc[SCR_CURSOR_MAX * 3];
      size_t o = (size_t)snprintf(
          url, sizeof(url),
          "%s/%s/%s/comments?fields=id,message,created_time,from,like_count,comment_count,parent"
          "&order=chronological&filter=stream&limit=%lld",
          c->facebook_base_url, c->facebook_api_version, pesc, (long long)c->facebook_limit);
      if (cursor[0] && http_url_escape(cursor, cesc, sizeof(cesc)) == 0 && o < sizeof(url))
        snprintf(url + o, sizeof(url) - o, "&after=%s", cesc);
      http_resp_t resp;
      int hrc = http_client_request(http, "GET", url, headers, NULL, &resp, err, sizeof(err));
      if (hrc != HTTP_CLIENT_OK) {
        scr_source_http_fail(st, hrc, "facebook comments", err);
        http_resp_free(&resp);
        break;
      }
      json_t *doc = scr_parse_page(&resp, st, "facebook comments");
      http_resp_free(&resp);
      json_t *data = json_object_get(doc, "data");
      if (doc && !json_is_array(data)) {
        st->status = SCR_SRC_PARTIAL;
        snprintf(st->error, sizeof(st->error), "facebook comments: page without a data array");
      }
      if (st->status != SCR_SRC_OK) {
        json_decref(doc);
        break;
      }
      size_t i;
      json_t *cm;
      json_array_foreach(data, i, cm) {
        st->fetched++;
        json_t *rec = scr_map_facebook_comment(cm, posts[p]);
        int rc = rec ? scr_emit(run, st, topic, rec, NULL, 0, (int64_t)st->fetched)
                     : scr_dead_letter_item(run, st, topic, cm, "comment");
        json_decref(rec);
        if (rc != 0)
          break;
      }
      const json_t *paging = json_object_get(doc, "paging");
      const char *after =
          json_string_value(json_object_get(json_object_get(paging, "cursors"), "after"));
      int more = json_object_get(paging, "next") != NULL && json_array_size(data) > 0;
      st->pages++;
      if (after && strlen(after) < sizeof(cursor))
        snprintf(cursor, sizeof(cursor), "%s", after);
      else
        more = 0;
      json_decref(doc);
      if (st->status != SCR_SRC_OK || scr_checkpoint(run, st, posts[p], after ? cursor : NULL) != 0)
        break;
      if (!more)
        break;
    }
  }
out:
  explicit_bzero(auth, sizeof(auth));
  scr_secret_free(token);
  conf_list_free(posts);
  scr_source_http_done(http, st);
}
