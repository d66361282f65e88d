/* source_loop — the one page loop every source of scraper-ingest runs on.
 *
 * For each stream of a source (Shopify's "orders", a Facebook post, a TikTok
 * keyword, a city, a file) the loop reads the stored cursor, then per page:
 *
 *   stop requested? max_pages reached?  → stop (status PARTIAL on a stop)
 *   request()  the source builds the request from its paging state
 *   send       over the source's HTTP client (timeouts, retries, rate), or
 *              run->transport
 *              failure → UNREACHABLE (retries ran out) or PARTIAL (4xx),
 *              unless retry() asks for the request again
 *   parse      the body must be a JSON object, else PARTIAL "malformed page"
 *   page()     the source's paging rule: the page's items, the cursor to
 *              store after it, whether another page follows
 *   map()      each item → records; an item that maps to none is dead-
 *              lettered ("unmappable"); records are validated and produced
 *   checkpoint wait until Kafka acknowledged everything, then store the
 *              cursor (a failed page stores nothing: the cursor stays at the
 *              last good page)
 *
 * and keeps the source's statistics (fetched, pages, HTTP counters). A source
 * keeps only what is its own: settings and secrets, request building, the
 * paging rule and its pure mapper. A source that does not read JSON pages
 * over HTTP (the file source) gives read() instead of request/page/map and
 * emits its page itself; the loop still owns cursors, checkpoints, stop and
 * statistics.
 *
 * Hooks return 0 to go on, -1 after recording why with scr_loop_fail() (or a
 * function that sets st->status), and where stated 1 for "nothing more on
 * this stream". Nothing here logs; main logs the summary from st.
 */
#ifndef SCR_SOURCE_LOOP_H
#define SCR_SOURCE_LOOP_H

#include <jansson.h>
#include <stddef.h>

#include "net/http_client.h"
#include "scraper_run.h"

#define SCR_URL_MAX 8192

typedef struct scr_loop scr_loop_t;

/* One request, built by the source's request() hook (or for a second request
 * of a page, by its page() hook for scr_loop_fetch()). */
typedef struct scr_request {
  const char *method;         /* NULL: "GET" */
  char url[SCR_URL_MAX];      /* wiped after sending: it may carry a key (weather, Daraz) */
  const char *const *headers; /* borrowed, NULL-terminated "Name: value" (at most 15; the
                                 credential's header is added); may be NULL */
  char *body;                 /* owned (malloc'd), freed after sending; NULL: none */
  const char *what;           /* names the request in errors ("shopify orders"); borrowed */
} scr_request_t;

/* What the paging rule says about one page. The loop zeroes it per page. */
typedef struct scr_page {
  const json_t *items;         /* borrowed from the page: an array of items, or one object as the
                                  only item; NULL: no items */
  json_t *keep;                /* owned: released after the items were emitted (a second response
                                  the mapper reads, e.g. Daraz's order items); may be NULL */
  char cursor[SCR_CURSOR_MAX]; /* stored after the page; "": nothing stored, only acknowledged */
  int more;                    /* another page of this stream follows */
  int empty;                   /* read(): nothing was read; not counted as a page */
} scr_page_t;

/* A source's credential (a k8s Secret mounted as a file, or for local runs
 * one environment variable; see scr_config_secret). The loop reads it before
 * anything else (missing: CONFIG, naming the setting), hands it to the hooks
 * as lp->secret, sends it as a header when header is set, and wipes it at
 * the end. */
typedef struct scr_secret_ref {
  const char *file;    /* the path the setting holds; NULL/"": use env */
  const char *setting; /* e.g. "facebook.token_file"; NULL: no credential */
  const char *env;     /* e.g. "FACEBOOK_ACCESS_TOKEN"; may be NULL */
  const char *header;  /* "Authorization: Bearer ": sent as header + secret; NULL: not sent */
} scr_secret_ref_t;

/* A source as the loop sees it; built by each source's entry function. */
typedef struct scr_loop_spec {
  const char *topic;          /* where its records go */
  const char *item;           /* one API item in dead letters: "order", "comment", ... */
  double rate_per_sec;        /* requests per second (<= 0: unlimited) */
  scr_secret_ref_t secret;    /* NULL setting: none */
  const char *const *streams; /* the cursor streams, read in order */
  size_t nstreams;
  const char *stream_list;    /* instead of streams: a comma list setting's value ... */
  const char *stream_setting; /* ... and its name (an empty list is a CONFIG error) */
  int independent_streams;    /* a stream failing with PARTIAL does not stop the others; the
                                 source then ends PARTIAL (weather: one city per stream) */
  int no_cursor;              /* nothing to resume from (stdin): no cursor read or stored */
  int unbounded;              /* max_pages does not apply (the file source reads to its end) */
  void *self;                 /* the source's own state, for its hooks (lp->self) */

  /* After the stream's cursor was read into lp->cursor: set up the paging
   * state. NULL-able. 1 skips the stream. */
  int (*begin)(scr_loop_t *lp);
  /* Builds the next request into req. 1: the stream has nothing to ask. */
  int (*request)(scr_loop_t *lp, scr_request_t *req);
  /* NULL-able. After a failed request (HTTP_CLIENT_FAILED / _UNREACHABLE):
   * 1 rebuilds and sends it again (after the loop's stop and max_pages
   * checks), 0 lets the failure end the source. */
  int (*retry)(scr_loop_t *lp, int http_rc);
  /* The paging rule over a parsed page (doc: a JSON object, borrowed; resp
   * for headers such as Link): fills page. Errors (an API error code, no
   * items array) are PARTIAL. */
  int (*page)(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc, scr_page_t *page);
  /* Appends the records of one item to out (a pure mapper); returns how many.
   * 0 dead-letters the item as unmappable. */
  size_t (*map)(scr_loop_t *lp, const json_t *item, json_t *out);
  /* Instead of request/page/map: reads one page and emits it (scr_emit /
   * scr_dead_letter, counting st->fetched), filling page's cursor/more/empty. */
  int (*read)(scr_loop_t *lp, scr_page_t *page);
} scr_loop_spec_t;

/* What the hooks see. Read-only for hooks, except self's contents. */
struct scr_loop {
  scr_run_t *run;
  scr_stats_t *st;
  const scr_loop_spec_t *spec;
  void *self;                  /* spec->self */
  const char *secret;          /* the credential (spec->secret), or NULL */
  const char *stream;          /* the stream being read */
  char cursor[SCR_CURSOR_MAX]; /* its cursor as stored before this run ("" when none) */
  http_client_t *http;         /* NULL with run->transport or read() */
  json_t *recs;                /* map()'s output, reused per item */
  const char *const *streams;  /* spec->streams, or stream_list split */
  size_t nstreams;
  char *secret_owned; /* wiped and freed at the end */
  char **list;        /* stream_list split */
  char auth[4200];    /* secret.header + secret, wiped at the end */
};

/* Runs spec's streams to their end (or to a failure, a stop request or
 * max_pages) and leaves the outcome in st->status / st->error. */
void scr_page_loop(scr_run_t *run, scr_stats_t *st, const scr_loop_spec_t *spec);

/* A second request of the page in hand (Daraz's order items): sends req,
 * maps a failure as the loop does and parses the body. Returns the JSON
 * object (caller owns), or NULL with st->status set. req->url is wiped and
 * req->body freed. */
json_t *scr_loop_fetch(scr_loop_t *lp, scr_request_t *req);

/* Ends the source with status and a message (printf format; never a secret
 * or a record value). Returns -1, for "return scr_loop_fail(...)". */
int scr_loop_fail(scr_loop_t *lp, scr_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For mappers that make one record: appends rec (taking it) to out and
 * returns 1, or 0 when rec is NULL. */
size_t scr_map_one(json_t *rec, json_t *out);

#endif
