/* weaviate — what every Weaviate client of the pipeline shares (the
 * weaviate-sink store and post-search): the connection settings, a REST
 * client over net/http_client that adds the API key (Authorization: Bearer,
 * read from a Secret file) and JSON headers, and the reader of Weaviate's
 * error bodies ({"error":[{"message":...}]}).
 *
 * Settings (one section of a program's config, weaviate_conf_entries()):
 *   weaviate.url                WEAVIATE_URL                base URL, no /v1
 *   weaviate.api_key_file       WEAVIATE_API_KEY_FILE       empty: anonymous
 *   weaviate.class              WEAVIATE_CLASS              SocialPost
 *   weaviate.consistency_level  WEAVIATE_CONSISTENCY_LEVEL  ONE, QUORUM, ALL
 *   weaviate.timeout_ms, weaviate.connect_timeout_ms, weaviate.retries
 *
 * Transport errors, 429 and 5xx are retried by the HTTP client (weaviate.retries
 * times, jittered back-off, Retry-After honoured) before a call gives up. Not
 * thread-safe: one client per thread. Nothing here logs; errstr never holds
 * the API key.
 */
#ifndef SENSORY_STORE_WEAVIATE_H
#define SENSORY_STORE_WEAVIATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "net/http_client.h"

typedef struct weaviate_settings {
  char *url;
  char *api_key_file;
  char *class_name;
  char *consistency_level;
  int64_t timeout_ms;
  int64_t connect_timeout_ms;
  int64_t retries;
} weaviate_settings_t;

/* The settings table (static storage; NULL-terminated). */
const conf_entry_t *weaviate_conf_entries(void);

/* Checks what the table cannot: an http(s) URL, a class name Weaviate
 * accepts (upper-case first letter, letters/digits/underscore) and a known
 * consistency level. Returns 0, or -1 with errstr naming the setting. */
int weaviate_settings_check(const weaviate_settings_t *s, char *errstr, size_t errstr_size);

typedef struct weaviate weaviate_t;

/* A client for s (strings copied; the API key file is read now). user_agent
 * may be NULL. Does not connect. Caller owns the result (weaviate_destroy).
 * NULL with errstr (bad settings, unreadable key file). */
weaviate_t *weaviate_new(const weaviate_settings_t *s, const char *user_agent, char *errstr,
                         size_t errstr_size);

/* Frees w (the key is wiped); NULL is accepted. */
void weaviate_destroy(weaviate_t *w);

/* Sends method to <url><path> (path starts with "/v1/", query string
 * included, already escaped) with a JSON body (NULL: none). Returns the
 * http_client result: HTTP_CLIENT_OK for a 2xx; HTTP_CLIENT_FAILED for
 * another status (resp->status and the body say why) or an oversized
 * response; HTTP_CLIENT_UNREACHABLE when retries ran out on transport errors,
 * 429 or 5xx. Free resp with http_resp_free in every case. */
int weaviate_request(weaviate_t *w, const char *method, const char *path, const char *body,
                     http_resp_t *resp, char *errstr, size_t errstr_size);

/* The class and the consistency level of the client's settings (borrowed). */
const char *weaviate_class(const weaviate_t *w);
const char *weaviate_consistency(const weaviate_t *w);

/* Writes the messages of an ErrorResponse body (or a GraphQL errors array,
 * or {"message":...}) into out, joined by "; " and cut to fit; "" when the
 * body holds none. out_size must be > 0. */
void weaviate_error_text(const char *body, size_t len, char *out, size_t out_size);

/* Same for a parsed value: an ErrorResponse object (as in a batch item's
 * result.errors), an array of {message} or a {message} object. v may be NULL. */
void weaviate_error_join(const json_t *v, char *out, size_t out_size);

#endif
