/* source_loop — the page loop every scraper-ingest source runs on (see
 * source_loop.h): it owns the cursors, the requests and their failures, page
 * parsing, mapping items to records, emitting, the checkpoint after every
 * page, stop requests, max_pages and the per-source statistics. The sources
 * bring request building, the paging rule and their mappers. */
#include "source_loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What reading one page came to, besides 0 (a page to emit) and -1. */
enum { PAGE_END = 1, PAGE_AGAIN = 2 };

#define HEADERS_MAX 16

int scr_loop_fail(scr_loop_t *lp, scr_status_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lp->st->error, sizeof(lp->st->error), fmt, ap);
  va_end(ap);
  lp->st->status = status;
  return -1;
}

size_t scr_map_one(json_t *rec, json_t *out) {
  if (!rec)
    return 0;
  json_array_append_new(out, rec);
  return 1;
}

/* The source's client: the run's timeouts and retries, the source's rate. */
static int http_open(scr_loop_t *lp) {
  const scr_config_t *c = lp->run->cfg;
  http_client_opts_t o = {.timeout_ms = (long)c->http_timeout_ms,
                          .connect_timeout_ms = (long)c->http_connect_timeout_ms,
                          .retries = (int)c->http_retries,
                          .backoff_ms = (long)c->http_backoff_ms,
                          .backoff_max_ms = (long)c->http_backoff_max_ms,
                          .retry_after_max_s = (long)c->http_retry_after_max_s,
                          .rate_per_sec = lp->spec->rate_per_sec,
                          .max_body = 64 * 1024 * 1024};
  char err[256];
  if (!(lp->http = http_client_new(&o, err, sizeof(err))))
    return scr_loop_fail(lp, SCR_SRC_UNREACHABLE, "%s", err);
  return 0;
}

/* Folds the client's counters into the source's statistics and frees it. */
static void http_close(scr_loop_t *lp) {
  if (!lp->http)
    return;
  http_client_stats_t s = http_client_stats(lp->http);
  lp->st->http_requests += s.requests;
  lp->st->http_retries += s.retries;
  lp->st->http_throttled += s.throttled;
  http_client_destroy(lp->http);
  lp->http = NULL;
}

/* Sends req with the credential's header; its URL is wiped and its body
 * freed whatever happens. */
static int send_request(scr_loop_t *lp, scr_request_t *req, http_resp_t *resp, char *err,
                        size_t errn) {
  const char *headers[HEADERS_MAX + 1];
  const char *const *own = req->headers;
  size_t n = 0;
  if (lp->auth[0])
    headers[n++] = lp->auth;
  for (size_t i = 0; own && own[i] && n < HEADERS_MAX; i++)
    headers[n++] = own[i];
  headers[n] = NULL;
  req->headers = headers;
  int rc;
  memset(resp, 0, sizeof(*resp));
  const scr_transport_t *t = lp->run->transport;
  if (t)
    rc = t->request(t->ctx, req->method ? req->method : "GET", req->url, req->headers, req->body,
                    resp, err, errn);
  else
    rc = http_client_request(lp->http, req->method ? req->method : "GET", req->url, req->headers,
                             req->body, resp, err, errn);
  req->headers = own;
  explicit_bzero(req->url, sizeof(req->url));
  free(req->body);
  req->body = NULL;
  return rc;
}

/* Retries ran out (transport, 429, 5xx): unreachable; any other refusal (a
 * 4xx, an oversized body) stops the source at its last good page. */
static void request_failed(scr_loop_t *lp, int http_rc, const char *what, const char *err) {
  scr_loop_fail(lp, http_rc == HTTP_CLIENT_UNREACHABLE ? SCR_SRC_UNREACHABLE : SCR_SRC_PARTIAL,
                "%s: %s", what, err);
}

static json_t *parse_page(scr_loop_t *lp, const http_resp_t *resp, const char *what) {
  json_error_t jerr;
  json_t *doc = resp->body ? json_loadb(resp->body, resp->len, 0, &jerr) : NULL;
  if (!doc || !json_is_object(doc)) {
    json_decref(doc);
    scr_loop_fail(lp, SCR_SRC_PARTIAL, "%s: malformed page (not a JSON object)", what);
    return NULL;
  }
  return doc;
}

json_t *scr_loop_fetch(scr_loop_t *lp, scr_request_t *req) {
  const char *what = req->what ? req->what : lp->spec->topic;
  char err[1024];
  http_resp_t resp;
  json_t *doc = NULL;
  int rc = send_request(lp, req, &resp, err, sizeof(err));
  if (rc != HTTP_CLIENT_OK)
    request_failed(lp, rc, what, err);
  else
    doc = parse_page(lp, &resp, what);
  http_resp_free(&resp);
  return doc;
}

/* request → send → parse → paging rule. The parsed page goes to *doc (the
 * caller releases it after the items). */
static int fetch_page(scr_loop_t *lp, scr_page_t *page, json_t **doc) {
  const scr_loop_spec_t *sp = lp->spec;
  scr_request_t req = {0};
  int rc = sp->request(lp, &req);
  if (rc != 0) {
    explicit_bzero(req.url, sizeof(req.url));
    free(req.body);
    return rc < 0 ? -1 : PAGE_END;
  }
  const char *what = req.what ? req.what : sp->topic;
  char err[1024];
  http_resp_t resp;
  int hrc = send_request(lp, &req, &resp, err, sizeof(err));
  if (hrc != HTTP_CLIENT_OK) {
    http_resp_free(&resp);
    if (sp->retry && sp->retry(lp, hrc))
      return PAGE_AGAIN;
    request_failed(lp, hrc, what, err);
    return -1;
  }
  *doc = parse_page(lp, &resp, what);
  rc = *doc ? sp->page(lp, &resp, *doc, page) : -1;
  http_resp_free(&resp);
  return rc < 0 || lp->st->status != SCR_SRC_OK ? -1 : 0;
}

/* An item the mapper could not read at all: its JSON, sealed, code
 * "unmappable" (the payload is what came, so it can be inspected). */
static int dead_letter_item(scr_loop_t *lp, const json_t *item) {
  scr_stats_t *st = lp->st;
  char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text)
    return scr_loop_fail(lp, SCR_SRC_KAFKA, "out of memory");
  char msg[128];
  snprintf(msg, sizeof(msg), "%s is not a JSON object", lp->spec->item ? lp->spec->item : "item");
  int rc = scr_dead_letter(lp->run, st, lp->spec->topic, NULL, text, strlen(text),
                           (int64_t)st->fetched, "unmappable", msg, NULL);
  free(text);
  return rc;
}

static int emit_item(scr_loop_t *lp, const json_t *item) {
  scr_stats_t *st = lp->st;
  st->fetched++;
  json_array_clear(lp->recs);
  if (lp->spec->map(lp, item, lp->recs) == 0)
    return dead_letter_item(lp, item);
  size_t i;
  json_t *rec;
  json_array_foreach(lp->recs, i, rec) {
    if (scr_emit(lp->run, st, lp->spec->topic, rec, NULL, 0, (int64_t)st->fetched) != 0)
      return -1;
  }
  return 0;
}

static int emit_items(scr_loop_t *lp, const scr_page_t *page) {
  const json_t *items = page->items;
  if (!json_is_array(items))
    return items ? emit_item(lp, items) : 0;
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    if (emit_item(lp, item) != 0)
      return -1;
  }
  return 0;
}

/* The pages of the current stream. 0: the stream ended (or max_pages was
 * reached); -1: it failed or a stop was requested (st->status says which). */
static int run_stream(scr_loop_t *lp) {
  const scr_loop_spec_t *sp = lp->spec;
  scr_stats_t *st = lp->st;
  for (;;) {
    if (!sp->unbounded && st->pages >= (uint64_t)lp->run->cfg->max_pages)
      return 0;
    if (scr_stopping(st))
      return -1;
    scr_page_t page = {0};
    json_t *doc = NULL;
    int rc = sp->read ? sp->read(lp, &page) : fetch_page(lp, &page, &doc);
    if (rc == PAGE_AGAIN)
      continue;
    if (rc == PAGE_END)
      return 0;
    if (rc == 0 && !sp->read)
      rc = emit_items(lp, &page);
    json_decref(page.keep);
    json_decref(doc);
    if (rc != 0 || st->status != SCR_SRC_OK)
      return -1;
    if (!page.empty)
      st->pages++;
    /* Acknowledged first, then the cursor moves (scr_checkpoint). */
    const char *value = sp->no_cursor || !page.cursor[0] ? NULL : page.cursor;
    if (scr_checkpoint(lp->run, st, lp->stream, value) != 0)
      return -1;
    if (!page.more)
      return 0;
  }
}

/* The source's settings the loop reads (credential, stream list), its
 * HTTP client and the record buffer. */
static int loop_open(scr_loop_t *lp) {
  const scr_loop_spec_t *sp = lp->spec;
  const scr_secret_ref_t *sec = &sp->secret;
  char err[1024];
  if (sec->setting) {
    if (!(lp->secret_owned =
              scr_config_secret(sec->file, sec->setting, sec->env, err, sizeof(err))))
      return scr_loop_fail(lp, SCR_SRC_CONFIG, "%s", err);
    lp->secret = lp->secret_owned;
    if (sec->header && (size_t)snprintf(lp->auth, sizeof(lp->auth), "%s%s", sec->header,
                                        lp->secret) >= sizeof(lp->auth))
      return scr_loop_fail(lp, SCR_SRC_CONFIG, "%s: the secret is too long", sec->setting);
  }
  lp->streams = sp->streams;
  lp->nstreams = sp->nstreams;
  if (sp->stream_setting) {
    lp->list = conf_list_split(sp->stream_list ? sp->stream_list : "", &lp->nstreams);
    if (!lp->list || !lp->nstreams)
      return scr_loop_fail(lp, SCR_SRC_CONFIG, "%s is empty", sp->stream_setting);
    lp->streams = (const char *const *)lp->list;
  }
  if (!sp->read && !lp->run->transport && http_open(lp) != 0)
    return -1;
  if (!(lp->recs = json_array()))
    return scr_loop_fail(lp, SCR_SRC_KAFKA, "out of memory");
  return 0;
}

static void loop_close(scr_loop_t *lp) {
  json_decref(lp->recs);
  http_close(lp);
  conf_list_free(lp->list);
  explicit_bzero(lp->auth, sizeof(lp->auth));
  scr_secret_free(lp->secret_owned);
}

void scr_page_loop(scr_run_t *run, scr_stats_t *st, const scr_loop_spec_t *sp) {
  scr_loop_t lp = {.run = run, .st = st, .spec = sp, .self = sp->self};
  unsigned failed = 0;
  if (loop_open(&lp) != 0)
    goto out;
  for (size_t i = 0; i < lp.nstreams && st->status == SCR_SRC_OK; i++) {
    if (!sp->unbounded && st->pages >= (uint64_t)run->cfg->max_pages)
      break;
    lp.stream = lp.streams[i];
    lp.cursor[0] = '\0';
    if (!sp->no_cursor && scr_cursor(run, st, lp.stream, lp.cursor, sizeof(lp.cursor)) != 0)
      break;
    int rc = sp->begin ? sp->begin(&lp) : 0;
    if (rc == 0)
      rc = run_stream(&lp);
    if (rc < 0 && sp->independent_streams && st->status == SCR_SRC_PARTIAL && !signals_stop) {
      failed++; /* the next stream still runs; st->error keeps the reason */
      st->status = SCR_SRC_OK;
    }
  }
  if (failed && st->status == SCR_SRC_OK) {
    st->status = SCR_SRC_PARTIAL;
    if (!st->error[0])
      snprintf(st->error, sizeof(st->error), "%u streams failed", failed);
  }
out:
  loop_close(&lp);
}
