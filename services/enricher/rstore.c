#include "rstore.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "enricher.h"
#include "loader.h"

/* KEYS[1] product key; ARGV: updated_at, name, price, currency, category ("" = keep).
 * Equal timestamps do not overwrite, so replaying the same order is a no-op. */
static const char update_script[] =
    "local cur = tonumber(redis.call('HGET', KEYS[1], 'updated_at'))\n"
    "if cur and cur >= tonumber(ARGV[1]) then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'name', ARGV[2], 'price', ARGV[3], 'currency', ARGV[4],"
    " 'updated_at', ARGV[1])\n"
    "if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'category', ARGV[5]) end\n"
    "return 1\n";

struct rstore {
  rstore_url_t url;
  struct timeval timeout;
  redisContext *c; /* NULL while disconnected; owned */
};

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  ch = tolower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Copies [s, s+len) into out percent-decoded; -1 if it does not fit or is malformed. */
static int decode(const char *s, size_t len, char *out, size_t out_size) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int ch = (unsigned char)s[i];
    if (ch == '%') {
      if (i + 2 >= len)
        return -1;
      int hi = hexval((unsigned char)s[i + 1]);
      int lo = hexval((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0)
        return -1;
      ch = hi * 16 + lo;
      i += 2;
    }
    if (n + 1 >= out_size)
      return -1;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return 0;
}

static int parse_int(const char *s, size_t len, int lo, int hi, int *out) {
  if (len == 0 || len > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

int rstore_url_parse(const char *url, rstore_url_t *out, char *errstr, size_t errstr_size) {
  memset(out, 0, sizeof(*out));
  out->port = 6379;
  if (!url || strncmp(url, "redis://", 8) != 0) {
    snprintf(errstr, errstr_size, "must look like redis://[:password@]host[:port][/db]%s",
             url && strncmp(url, "rediss://", 9) == 0 ? " (TLS is not supported)" : "");
    return -1;
  }
  const char *p = url + 8, *end = p + strlen(p);
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *hostend = slash ? slash : end;
  const char *at = NULL;
  for (const char *q = p; q < hostend; q++)
    if (*q == '@')
      at = q; /* the last '@': a password may contain one unescaped */
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *uend = colon ? colon : at;
    if (decode(p, (size_t)(uend - p), out->user, sizeof(out->user)) != 0 ||
        (colon &&
         decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)) != 0)) {
      snprintf(errstr, errstr_size, "malformed or too long user/password in the URL");
      return -1;
    }
    if (!colon && out->user[0]) {
      /* redis://secret@host: a lone userinfo is the password, as redis-cli reads it. */
      memcpy(out->password, out->user,
             sizeof(out->password) < sizeof(out->user) ? sizeof(out->password) : sizeof(out->user));
      out->user[0] = '\0';
    }
    p = at + 1;
  }
  const char *hs = p, *he;
  if (*p == '[') { /* [::1]:6379 */
    const char *rb = memchr(p, ']', (size_t)(hostend - p));
    if (!rb) {
      snprintf(errstr, errstr_size, "unterminated [IPv6] host");
      return -1;
    }
    hs = p + 1;
    he = rb;
    p = rb + 1;
  } else {
    const char *colon = memchr(p, ':', (size_t)(hostend - p));
    he = colon ? colon : hostend;
    p = he;
  }
  if (he == hs || (size_t)(he - hs) >= sizeof(out->host)) {
    snprintf(errstr, errstr_size, "missing or too long host");
    return -1;
  }
  memcpy(out->host, hs, (size_t)(he - hs));
  if (p < hostend) {
    if (*p != ':' || parse_int(p + 1, (size_t)(hostend - p - 1), 1, 65535, &out->port) != 0) {
      snprintf(errstr, errstr_size, "port must be 1..65535");
      return -1;
    }
  }
  if (slash && slash + 1 < end &&
      parse_int(slash + 1, (size_t)(end - slash - 1), 0, 100000, &out->db) != 0) {
    snprintf(errstr, errstr_size, "database must be a number (redis://host:port/0)");
    return -1;
  }
  return 0;
}

rstore_t *rstore_new(const char *url, const char *password, int64_t timeout_ms, char *errstr,
                     size_t errstr_size) {
  rstore_t *s = calloc(1, sizeof(*s)); /* caller owns: rstore_destroy() */
  if (!s) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if (rstore_url_parse(url, &s->url, errstr, errstr_size) != 0) {
    rstore_destroy(s);
    return NULL;
  }
  if (password && *password) {
    size_t n = strlen(password);
    while (n && (password[n - 1] == '\n' || password[n - 1] == '\r'))
      n--; /* Secret files often end with a newline */
    if (n >= sizeof(s->url.password)) {
      snprintf(errstr, errstr_size, "password longer than %zu bytes", sizeof(s->url.password) - 1);
      rstore_destroy(s);
      return NULL;
    }
    memcpy(s->url.password, password, n);
    s->url.password[n] = '\0';
  }
  s->timeout.tv_sec = timeout_ms / 1000;
  s->timeout.tv_usec = (timeout_ms % 1000) * 1000;
  return s;
}

static void disconnect(rstore_t *s) {
  if (s->c)
    redisFree(s->c);
  s->c = NULL;
}

void rstore_destroy(rstore_t *s) {
  if (!s)
    return;
  disconnect(s);
  memset(s->url.password, 0, sizeof(s->url.password));
  free(s);
}

/* Runs one command on the fresh connection; 0 if the reply is not an error. */
static int simple(rstore_t *s, const char *what, int argc, const char **argv, char *errstr,
                  size_t errstr_size) {
  redisReply *r = redisCommandArgv(s->c, argc, argv, NULL);
  if (!r) {
    snprintf(errstr, errstr_size, "%s: %s", what, s->c->errstr[0] ? s->c->errstr : "no reply");
    return -1;
  }
  int rc = 0;
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(errstr, errstr_size, "%s refused: %.200s", what, r->str);
    rc = -1;
  }
  freeReplyObject(r);
  return rc;
}

int rstore_connect(rstore_t *s, char *errstr, size_t errstr_size) {
  if (s->c)
    return 0;
  s->c = redisConnectWithTimeout(s->url.host, s->url.port, s->timeout);
  if (!s->c || s->c->err) {
    snprintf(errstr, errstr_size, "connect %s:%d: %s", s->url.host, s->url.port,
             s->c ? s->c->errstr : "out of memory");
    disconnect(s);
    return -1;
  }
  if (redisSetTimeout(s->c, s->timeout) != REDIS_OK) {
    snprintf(errstr, errstr_size, "cannot set the socket timeout");
    disconnect(s);
    return -1;
  }
  if (s->url.password[0]) {
    const char *argv[3] = {"AUTH", s->url.user[0] ? s->url.user : s->url.password, s->url.password};
    if (simple(s, "AUTH", s->url.user[0] ? 3 : 2, argv, errstr, errstr_size) != 0) {
      disconnect(s);
      return -1;
    }
  }
  if (s->url.db) {
    char db[16];
    snprintf(db, sizeof(db), "%d", s->url.db);
    const char *argv[2] = {"SELECT", db};
    if (simple(s, "SELECT", 2, argv, errstr, errstr_size) != 0) {
      disconnect(s);
      return -1;
    }
  }
  return 0;
}

/* A reply error that means "this server cannot serve now" (loading, failover,
 * lost auth) rather than "this key is wrong": retry the whole message. */
static int server_side_error(const redisReply *r) {
  return strncmp(r->str, "WRONGTYPE", 9) != 0;
}

static const char *elem(const redisReply *r, size_t i) {
  if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
    return NULL;
  return r->element[i]->str;
}

int rstore_fetch(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
                 char *errstr, size_t errstr_size) {
  rstore_t *s = ctx;
  if (rstore_connect(s, errstr, errstr_size) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (redisAppendCommand(s->c, "HMGET product:%s name price currency category", ids[i]) !=
        REDIS_OK) {
      snprintf(errstr, errstr_size, "out of memory");
      disconnect(s);
      return -1;
    }
  }
  for (size_t i = 0; i < n; i++)
    state[i] = ENR_ABSENT;
  for (size_t i = 0; i < n; i++) {
    redisReply *r = NULL;
    if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
      snprintf(errstr, errstr_size, "HMGET: %s", s->c->errstr[0] ? s->c->errstr : "no reply");
      goto broken;
    }
    if (r->type == REDIS_REPLY_ERROR && server_side_error(r)) {
      snprintf(errstr, errstr_size, "HMGET refused: %.200s", r->str);
      freeReplyObject(r);
      goto broken; /* the rest of the pipeline is unread: start over on a new connection */
    }
    if (r->type == REDIS_REPLY_ARRAY && elem(r, 0)) {
      char why[128];
      state[i] = product_from_fields(&out[i], ids[i], elem(r, 0), elem(r, 1), elem(r, 2),
                                     elem(r, 3), why, sizeof(why)) == 0
                     ? ENR_FOUND
                     : ENR_INVALID;
    } else if (r->type == REDIS_REPLY_ERROR) {
      state[i] = ENR_INVALID; /* WRONGTYPE: the key is not a hash */
    }
    freeReplyObject(r);
  }
  return 0;
broken:
  for (size_t i = 0; i < n; i++)
    if (state[i] == ENR_FOUND)
      product_clear(&out[i]);
  disconnect(s);
  return -1;
}

static int append_update(rstore_t *s, const product_t *p, int64_t updated_at_ms) {
  char ts[24], price[40], key[PRODUCT_ID_MAX + 16];
  snprintf(ts, sizeof(ts), "%lld", (long long)updated_at_ms);
  snprintf(price, sizeof(price), "%.15g", p->price);
  snprintf(key, sizeof(key), "product:%s", p->id);
  const char *argv[9] = {"EVAL",
                         update_script,
                         "1",
                         key,
                         ts,
                         p->name,
                         price,
                         p->currency,
                         p->category ? p->category : ""};
  return redisAppendCommandArgv(s->c, 9, argv, NULL) == REDIS_OK ? 0 : -1;
}

/* Reads one update reply: 1 applied, 0 stale, -1 broken connection. */
static int read_update(rstore_t *s, char *errstr, size_t errstr_size) {
  redisReply *r = NULL;
  if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
    snprintf(errstr, errstr_size, "EVAL: %s", s->c->errstr[0] ? s->c->errstr : "no reply");
    return -1;
  }
  int rc;
  if (r->type == REDIS_REPLY_INTEGER) {
    rc = r->integer ? 1 : 0;
  } else {
    snprintf(errstr, errstr_size, "EVAL refused: %.200s",
             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    rc = -1;
  }
  freeReplyObject(r);
  return rc;
}

int rstore_update(void *ctx, const product_t *p, int64_t updated_at_ms, int *applied, char *errstr,
                  size_t errstr_size) {
  rstore_t *s = ctx;
  if (rstore_connect(s, errstr, errstr_size) != 0)
    return -1;
  if (append_update(s, p, updated_at_ms) != 0) {
    snprintf(errstr, errstr_size, "out of memory");
    disconnect(s);
    return -1;
  }
  int rc = read_update(s, errstr, errstr_size);
  if (rc < 0) {
    disconnect(s);
    return -1;
  }
  *applied = rc;
  return 0;
}

int rstore_load(rstore_t *s, const product_t *ps, const int64_t *updated_at_ms, size_t n,
                size_t *applied, size_t *stale, char *errstr, size_t errstr_size) {
  if (rstore_connect(s, errstr, errstr_size) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (append_update(s, &ps[i], updated_at_ms[i]) != 0) {
      snprintf(errstr, errstr_size, "out of memory");
      disconnect(s);
      return -1;
    }
  }
  for (size_t i = 0; i < n; i++) {
    int rc = read_update(s, errstr, errstr_size);
    if (rc < 0) {
      disconnect(s);
      return -1;
    }
    if (rc)
      (*applied)++;
    else
      (*stale)++;
  }
  return 0;
}
