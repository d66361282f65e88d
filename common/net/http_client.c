/* The libcurl client of common/net: retries, back-off, Retry-After, rate limit,
 * bounded bodies. One easy handle per client, reused across requests. */
#include "net/http_client.h"

#include "core/clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct http_client {
  CURL *curl;
  http_client_opts_t o;
  double next_slot; /* monotonic time before which no request may start */
  uint64_t rng;
  http_client_stats_t st;
  /* per attempt */
  char *buf;
  size_t len, cap;
  int too_big;
  char *link;
  char retry_after[64];
};

static void sleep_s(double s) {
  if (s <= 0)
    return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t rng_next(http_client_t *h) {
  /* xorshift64*: jitter only needs to de-synchronise clients, not be secret. */
  h->rng ^= h->rng >> 12;
  h->rng ^= h->rng << 25;
  h->rng ^= h->rng >> 27;
  return h->rng * 2685821657736338717ULL;
}

http_client_t *http_client_new(const http_client_opts_t *opts, char *errstr, size_t errstr_size) {
  static int global_done = 0;
  if (!global_done) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
      snprintf(errstr, errstr_size, "curl_global_init failed");
      return NULL;
    }
    global_done = 1;
  }
  http_client_t *h = calloc(1, sizeof(*h)); /* owned by the caller */
  if (!h || !(h->curl = curl_easy_init())) {
    free(h);
    snprintf(errstr, errstr_size, "cannot create an HTTP client");
    return NULL;
  }
  h->o = *opts;
  if (!h->o.max_body)
    h->o.max_body = 64 * 1024 * 1024;
  h->rng = ((uint64_t)clock_wall_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)h;
  if (!h->rng)
    h->rng = 88172645463325252ULL;
  return h;
}

void http_client_destroy(http_client_t *h) {
  if (!h)
    return;
  if (h->curl)
    curl_easy_cleanup(h->curl);
  free(h->buf);
  free(h->link);
  free(h);
}

void http_resp_free(http_resp_t *resp) {
  if (!resp)
    return;
  free(resp->body);
  free(resp->link);
  memset(resp, 0, sizeof(*resp));
}

http_client_stats_t http_client_stats(const http_client_t *h) {
  http_client_stats_t z = {0};
  return h ? h->st : z;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  http_client_t *h = ud;
  size_t add = size * n;
  if (h->len + add + 1 > h->o.max_body) {
    h->too_big = 1;
    return 0; /* aborts the transfer */
  }
  if (h->len + add + 1 > h->cap) {
    size_t cap = h->cap ? h->cap : 16384;
    while (cap < h->len + add + 1)
      cap *= 2;
    char *b = realloc(h->buf, cap);
    if (!b)
      return 0;
    h->buf = b;
    h->cap = cap;
  }
  memcpy(h->buf + h->len, p, add);
  h->len += add;
  h->buf[h->len] = '\0';
  return add;
}

/* Copies the value of header "name:" (case-insensitive) from line, trimmed. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t out_size) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return 0;
  const char *v = line + nl + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t len = (size_t)(end - v);
  if (len >= out_size)
    return -1;
  memcpy(out, v, len);
  out[len] = '\0';
  return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  http_client_t *h = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* A new response (e.g. after 100 Continue): forget the previous headers. */
    free(h->link);
    h->link = NULL;
    h->retry_after[0] = '\0';
    return len;
  }
  header_value(p, len, "Retry-After", h->retry_after, sizeof(h->retry_after));
  if (len > 5 && strncasecmp(p, "link:", 5) == 0) {
    char *v = malloc(len + 1); /* owned by h until moved into the response */
    if (v && header_value(p, len, "link", v, len + 1) == 1) {
      free(h->link);
      h->link = v;
    } else {
      free(v);
    }
  }
  return len;
}

/* Moves the body of the final response (and its Link header) into resp.
 * Returns 0, or -1 on allocation failure. */
static int keep_body(http_client_t *h, http_resp_t *resp, char *errstr, size_t errstr_size) {
  resp->body = malloc(h->len + 1); /* owned by resp */
  if (!resp->body) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  if (h->len)
    memcpy(resp->body, h->buf, h->len);
  resp->body[h->len] = '\0';
  resp->len = h->len;
  resp->link = h->link;
  h->link = NULL;
  return 0;
}

long http_retry_after_parse(const char *value, long now_s) {
  if (!value || !*value)
    return -1;
  char *end;
  errno = 0;
  long v = strtol(value, &end, 10);
  if (end != value && *end == '\0' && errno == 0)
    return v < 0 ? 0 : v;
  time_t t = curl_getdate(value, NULL);
  if (t < 0)
    return -1;
  return t > now_s ? (long)(t - now_s) : 0;
}

static void rate_wait(http_client_t *h) {
  if (h->o.rate_per_sec <= 0)
    return;
  double now = clock_mono();
  if (h->next_slot > now)
    sleep_s(h->next_slot - now);
  double base = h->next_slot > now ? h->next_slot : now;
  h->next_slot = base + 1.0 / h->o.rate_per_sec;
}

int http_client_request(http_client_t *h, const char *method, const char *url,
                        const char *const *headers, const char *body, http_resp_t *resp,
                        char *errstr, size_t errstr_size) {
  return http_client_request_retry(h, method, url, NULL, headers, body, resp, errstr, errstr_size);
}

int http_client_request_retry(http_client_t *h, const char *method, const char *url,
                              const char *retry_url, const char *const *headers, const char *body,
                              http_resp_t *resp, char *errstr, size_t errstr_size) {
  memset(resp, 0, sizeof(*resp));
  struct curl_slist *hl = NULL;
  for (size_t i = 0; headers && headers[i]; i++) {
    struct curl_slist *t = curl_slist_append(hl, headers[i]);
    if (!t) {
      curl_slist_free_all(hl);
      snprintf(errstr, errstr_size, "out of memory");
      return HTTP_CLIENT_FAILED;
    }
    hl = t;
  }
  int rc = HTTP_CLIENT_UNREACHABLE;
  double backoff = (double)h->o.backoff_ms / 1000.0;
  for (int attempt = 0;; attempt++) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    h->len = 0;
    h->too_big = 0;
    free(h->link);
    h->link = NULL;
    h->retry_after[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, attempt > 0 && retry_url ? retry_url : url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could carry the token away */
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     h->o.user_agent ? h->o.user_agent : "sensory/" SENSORY_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    if (strcmp(method, "POST") == 0) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
      if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    rate_wait(h);
    h->st.requests++;
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    int retryable;
    double wait = -1;
    if (cc != CURLE_OK) {
      if (h->too_big) {
        snprintf(errstr, errstr_size, "response body over %zu bytes", h->o.max_body);
        rc = HTTP_CLIENT_FAILED;
        break;
      }
      snprintf(errstr, errstr_size, "%s", curl_easy_strerror(cc));
      retryable = 1;
    } else if (status >= 200 && status < 300) {
      rc = keep_body(h, resp, errstr, errstr_size) == 0 ? HTTP_CLIENT_OK : HTTP_CLIENT_FAILED;
      break;
    } else if (status == 429 || status >= 500) {
      snprintf(errstr, errstr_size, "HTTP %ld", status);
      retryable = 1;
      if (status == 429)
        h->st.throttled++;
      long ra = http_retry_after_parse(h->retry_after, (long)time(NULL));
      if (ra >= 0) {
        if (ra > h->o.retry_after_max_s) {
          snprintf(errstr, errstr_size, "HTTP %ld with Retry-After %lds (over the %lds limit)",
                   status, ra, h->o.retry_after_max_s);
          rc = HTTP_CLIENT_UNREACHABLE;
          break;
        }
        wait = (double)ra;
      }
    } else {
      /* A 4xx body says why (Snowflake's 422, Weaviate's error list). */
      snprintf(errstr, errstr_size, "HTTP %ld", status);
      keep_body(h, resp, errstr, errstr_size);
      rc = HTTP_CLIENT_FAILED;
      break;
    }
    if (!retryable || attempt >= h->o.retries) {
      rc = HTTP_CLIENT_UNREACHABLE;
      break;
    }
    h->st.retries++;
    /* Equal jitter: half the back-off fixed, half random, so retries of many
     * jobs spread out but never come back immediately. */
    double j = backoff / 2 + (backoff / 2) * ((double)(rng_next(h) >> 11) / 9007199254740992.0);
    if (wait < j)
      wait = j;
    sleep_s(wait);
    backoff *= 2;
    if (backoff > (double)h->o.backoff_max_ms / 1000.0)
      backoff = (double)h->o.backoff_max_ms / 1000.0;
  }
  if (rc != HTTP_CLIENT_OK)
    h->st.errors++;
  curl_slist_free_all(hl);
  return rc;
}

int http_link_next(const char *link, char *out, size_t out_size) {
  const char *p = link;
  while (p && *p) {
    const char *lt = strchr(p, '<');
    if (!lt)
      return 0;
    const char *gt = strchr(lt + 1, '>');
    if (!gt)
      return 0;
    /* Parameters run to the next comma outside quotes. */
    const char *q = gt + 1;
    int inq = 0, is_next = 0;
    const char *pstart = q;
    for (; *q && (inq || *q != ','); q++) {
      if (*q == '"')
        inq = !inq;
    }
    /* Look for rel=next / rel="next" / rel="next prev" within [pstart, q). */
    for (const char *r = pstart; r + 3 <= q; r++) {
      if (strncasecmp(r, "rel", 3) != 0)
        continue;
      const char *v = r + 3;
      while (v < q && (*v == ' ' || *v == '\t'))
        v++;
      if (v >= q || *v != '=')
        continue;
      v++;
      while (v < q && (*v == ' ' || *v == '\t'))
        v++;
      int quoted = v < q && *v == '"';
      if (quoted)
        v++;
      while (v < q && *v != ';' && (quoted ? *v != '"' : *v != ' ')) {
        const char *w = v;
        while (w < q && *w != ' ' && *w != ';' && *w != '"')
          w++;
        if (w - v == 4 && strncasecmp(v, "next", 4) == 0)
          is_next = 1;
        /* A '"' inside an unquoted value ends it: without this the loop
         * never moved again (a Link header of a page hung the scraper). */
        if (w == v)
          break;
        v = w;
        while (quoted && v < q && *v == ' ')
          v++;
      }
    }
    if (is_next) {
      size_t n = (size_t)(gt - lt - 1);
      if (n + 1 > out_size)
        return -1;
      memcpy(out, lt + 1, n);
      out[n] = '\0';
      return 1;
    }
    p = *q ? q + 1 : q;
  }
  return 0;
}

int http_url_escape(const char *s, char *out, size_t out_size) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
               *p == '-' || *p == '_' || *p == '.' || *p == '~';
    size_t need = keep ? 1 : 3;
    if (o + need + 1 > out_size)
      return -1;
    if (keep) {
      out[o++] = (char)*p;
    } else {
      out[o++] = '%';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  }
  if (o + 1 > out_size)
    return -1;
  out[o] = '\0';
  return 0;
}
