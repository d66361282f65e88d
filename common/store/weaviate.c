/* weaviate: connection settings, the authorised REST client (API key from a
 * Secret file as a Bearer token) and Weaviate's error bodies — shared by the
 * vector sink and the analysts' search. */
#include "store/weaviate.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/secret.h"
#include "json/jsonf.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

static const conf_entry_t entries[] = {
    {.key = "weaviate.url",
     .env = "WEAVIATE_URL",
     .type = CONF_STRING,
     .def = "http://127.0.0.1:8080",
     .offset = offsetof(weaviate_settings_t, url),
     .doc = "Weaviate base URL (scheme, host, port; without /v1)"},
    {.key = "weaviate.api_key_file",
     .env = "WEAVIATE_API_KEY_FILE",
     .type = CONF_STRING,
     .def = "",
     .offset = offsetof(weaviate_settings_t, api_key_file),
     .doc = "file holding the API key, sent as Authorization: Bearer (empty: anonymous)"},
    {.key = "weaviate.class",
     .env = "WEAVIATE_CLASS",
     .type = CONF_STRING,
     .def = "SocialPost",
     .offset = offsetof(weaviate_settings_t, class_name),
     .doc = "the class (collection) holding one object per post"},
    {.key = "weaviate.consistency_level",
     .env = "WEAVIATE_CONSISTENCY_LEVEL",
     .type = CONF_STRING,
     .def = "QUORUM",
     .offset = offsetof(weaviate_settings_t, consistency_level),
     .doc = "replicas that must acknowledge a write: ONE, QUORUM or ALL"},
    {.key = "weaviate.timeout_ms",
     .env = "WEAVIATE_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "30000",
     .offset = offsetof(weaviate_settings_t, timeout_ms),
     .min = 100,
     .max = 600000,
     .doc = "longest wait for one request (a slower answer counts as failed)"},
    {.key = "weaviate.connect_timeout_ms",
     .env = "WEAVIATE_CONNECT_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "5000",
     .offset = offsetof(weaviate_settings_t, connect_timeout_ms),
     .min = 10,
     .max = 60000,
     .doc = "longest wait for a connection"},
    {.key = "weaviate.retries",
     .env = "WEAVIATE_RETRIES",
     .type = CONF_INT,
     .def = "2",
     .offset = offsetof(weaviate_settings_t, retries),
     .min = 0,
     .max = 20,
     .doc = "quick retries of a request on 5xx, 429 and transport errors before the caller "
            "backs off"},
    {0},
};

const conf_entry_t *weaviate_conf_entries(void) {
  return entries;
}

struct weaviate {
  http_client_t *http;
  char *url; /* without a trailing slash */
  char *class_name;
  char *consistency;
  char *auth_header; /* "Authorization: Bearer <key>" or NULL (owned, wiped) */
};

int weaviate_settings_check(const weaviate_settings_t *s, char *errstr, size_t errstr_size) {
  if (!s->url || (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0)) {
    snprintf(errstr, errstr_size,
             "weaviate.url (WEAVIATE_URL): must start with http:// or https://");
    return -1;
  }
  const char *c = s->class_name;
  int ok = c && isupper((unsigned char)c[0]) && strlen(c) <= 128;
  for (size_t i = 0; ok && c[i]; i++)
    ok = isalnum((unsigned char)c[i]) || c[i] == '_';
  if (!ok) {
    snprintf(errstr, errstr_size,
             "weaviate.class (WEAVIATE_CLASS): a class name starts with an upper-case letter "
             "and has only letters, digits and '_'");
    return -1;
  }
  const char *l = s->consistency_level;
  if (!l || (strcmp(l, "ONE") != 0 && strcmp(l, "QUORUM") != 0 && strcmp(l, "ALL") != 0)) {
    snprintf(errstr, errstr_size,
             "weaviate.consistency_level (WEAVIATE_CONSISTENCY_LEVEL): must be ONE, QUORUM or ALL");
    return -1;
  }
  return 0;
}

void weaviate_destroy(weaviate_t *w) {
  if (!w)
    return;
  http_client_destroy(w->http);
  free(w->url);
  free(w->class_name);
  free(w->consistency);
  if (w->auth_header) /* not secret_free(): that one wipes its own, larger buffers */
    OPENSSL_cleanse(w->auth_header, strlen(w->auth_header));
  free(w->auth_header);
  free(w);
}

weaviate_t *weaviate_new(const weaviate_settings_t *s, const char *user_agent, char *errstr,
                         size_t errstr_size) {
  if (weaviate_settings_check(s, errstr, errstr_size) != 0)
    return NULL;
  weaviate_t *w = calloc(1, sizeof(*w)); /* caller owns: weaviate_destroy() */
  if (!w || !(w->url = strdup(s->url)) || !(w->class_name = strdup(s->class_name)) ||
      !(w->consistency = strdup(s->consistency_level))) {
    snprintf(errstr, errstr_size, "out of memory");
    weaviate_destroy(w);
    return NULL;
  }
  size_t n = strlen(w->url);
  while (n > 0 && w->url[n - 1] == '/')
    w->url[--n] = '\0';
  if (s->api_key_file && *s->api_key_file) {
    unsigned char *key = NULL;
    size_t key_len = 0;
    char err[512];
    if (secret_read_file(s->api_key_file, &key, &key_len, err, sizeof(err)) != 0) {
      snprintf(errstr, errstr_size, "weaviate.api_key_file (WEAVIATE_API_KEY_FILE): %s", err);
      weaviate_destroy(w);
      return NULL;
    }
    int bad = 0;
    for (size_t i = 0; i < key_len; i++)
      bad |= key[i] < 0x21 || key[i] > 0x7e; /* a header value: printable, no spaces */
    size_t hl = sizeof("Authorization: Bearer ") + key_len;
    if (!bad && (w->auth_header = malloc(hl)) != NULL)
      snprintf(w->auth_header, hl, "Authorization: Bearer %.*s", (int)key_len, (const char *)key);
    secret_free(key, key_len);
    if (bad || !w->auth_header) {
      snprintf(errstr, errstr_size,
               bad ? "weaviate.api_key_file (WEAVIATE_API_KEY_FILE): the key has spaces or "
                     "control characters"
                   : "out of memory");
      weaviate_destroy(w);
      return NULL;
    }
  }
  http_client_opts_t o = {.timeout_ms = (long)s->timeout_ms,
                          .connect_timeout_ms = (long)s->connect_timeout_ms,
                          .retries = (int)s->retries,
                          .backoff_ms = 100,
                          .backoff_max_ms = 2000,
                          .retry_after_max_s = 30,
                          .max_body = 256 * 1024 * 1024,
                          .user_agent = user_agent};
  if (!(w->http = http_client_new(&o, errstr, errstr_size))) {
    weaviate_destroy(w);
    return NULL;
  }
  return w;
}

const char *weaviate_class(const weaviate_t *w) {
  return w->class_name;
}

const char *weaviate_consistency(const weaviate_t *w) {
  return w->consistency;
}

int weaviate_request(weaviate_t *w, const char *method, const char *path, const char *body,
                     http_resp_t *resp, char *errstr, size_t errstr_size) {
  size_t ul = strlen(w->url) + strlen(path) + 1;
  char *url = malloc(ul);
  if (!url) {
    memset(resp, 0, sizeof(*resp));
    snprintf(errstr, errstr_size, "out of memory");
    return HTTP_CLIENT_FAILED;
  }
  snprintf(url, ul, "%s%s", w->url, path);
  /* "Expect:" stops libcurl from waiting for 100-continue on large batches. */
  const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", w->auth_header, NULL};
  int rc = http_client_request(w->http, method, url, headers, body, resp, errstr, errstr_size);
  free(url);
  return rc;
}

static void append(char *out, size_t out_size, size_t *at, const char *msg) {
  if (!msg || !*msg || *at + 1 >= out_size)
    return;
  int n = snprintf(out + *at, out_size - *at, "%s%s", *at ? "; " : "", msg);
  if (n > 0)
    *at = *at + (size_t)n < out_size ? *at + (size_t)n : out_size - 1;
}

void weaviate_error_join(const json_t *v, char *out, size_t out_size) {
  size_t at = 0;
  out[0] = '\0';
  if (json_is_object(v)) {
    const json_t *list = json_object_get(v, "error");
    if (!json_is_array(list))
      list = json_object_get(v, "errors");
    if (json_is_array(list))
      v = list;
    else
      append(out, out_size, &at, json_string_value(json_object_get(v, "message")));
  }
  if (json_is_array(v)) {
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
        append(out, out_size, &at, json_string_value(json_object_get(e, "message")));
  }
}

void weaviate_error_text(const char *body, size_t len, char *out, size_t out_size) {
  out[0] = '\0';
  if (!body || !len)
    return;
  json_t *v = jsonf_parse(body, len, 64, NULL, 0);
  weaviate_error_join(v, out, out_size);
  json_decref(v);
}
