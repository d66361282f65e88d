/* Redis cursors and locks for scraper-ingest. */
#include "scraper_state.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scr_state {
  redisContext *c;
  char *prefix;
  char lock_key[512];
  char token[33];
  int64_t ttl_ms;
  int locked;
};

static const char UNLOCK_LUA[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";
static const char SET_CURSOR_LUA[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "redis.call('set', KEYS[2], ARGV[2]); redis.call('pexpire', KEYS[1], ARGV[3]); return 1 "
    "else return 0 end";

/* Splits a redis:// URL; the password stays out of every error message. */
static int parse_url(const char *url, char *host, size_t host_size, int *port, char *user,
                     size_t user_size, char *pass, size_t pass_size, int *db, char *errstr,
                     size_t errstr_size) {
  *port = 6379;
  *db = 0;
  pass[0] = '\0';
  user[0] = '\0';
  if (strncmp(url, "redis://", 8) != 0) {
    snprintf(errstr, errstr_size, "redis.url must start with redis://");
    return -1;
  }
  const char *p = url + 8;
  const char *at = strrchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    size_t n = (size_t)(at - pw);
    if (colon && (size_t)(colon - p) >= user_size) {
      snprintf(errstr, errstr_size, "redis.url: user name too long");
      return -1;
    }
    if (colon) {
      memcpy(user, p, (size_t)(colon - p)); /* "redis://user:pass@" (ACL) or ":pass@" */
      user[colon - p] = '\0';
    }
    if (n >= pass_size) {
      snprintf(errstr, errstr_size, "redis.url: password too long");
      return -1;
    }
    memcpy(pass, pw, n);
    pass[n] = '\0';
    p = at + 1;
  }
  size_t hl = strcspn(p, ":/");
  if (hl == 0 || hl >= host_size) {
    snprintf(errstr, errstr_size, "redis.url: bad host");
    return -1;
  }
  memcpy(host, p, hl);
  host[hl] = '\0';
  p += hl;
  char *end;
  if (*p == ':') {
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v <= 0 || v > 65535) {
      snprintf(errstr, errstr_size, "redis.url: bad port");
      return -1;
    }
    *port = (int)v;
    p = end;
  }
  if (*p == '/' && p[1]) {
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || *end || v < 0) {
      snprintf(errstr, errstr_size, "redis.url: bad database number");
      return -1;
    }
    *db = (int)v;
  }
  return 0;
}

static redisReply *cmd_argv(scr_state_t *s, int argc, const char **argv, char *errstr,
                            size_t errstr_size) {
  redisReply *r = redisCommandArgv(s->c, argc, argv, NULL);
  if (!r) {
    snprintf(errstr, errstr_size, "redis: %s", s->c->errstr[0] ? s->c->errstr : "no reply");
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(errstr, errstr_size, "redis: %.*s", (int)r->len, r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

scr_state_t *scr_state_connect(const char *url, const char *prefix, long timeout_ms, char *errstr,
                               size_t errstr_size) {
  char host[256], user[128], pass[512];
  int port, db;
  if (!url || !*url) {
    snprintf(errstr, errstr_size, "redis.url (REDIS_URL) is not set");
    return NULL;
  }
  if (parse_url(url, host, sizeof(host), &port, user, sizeof(user), pass, sizeof(pass), &db, errstr,
                errstr_size))
    return NULL;
  scr_state_t *s = calloc(1, sizeof(*s)); /* owned by the caller */
  if (!s || !(s->prefix = strdup(prefix ? prefix : "sensory:scraper"))) {
    free(s);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  s->c = redisConnectWithTimeout(host, port, tv);
  if (!s->c || s->c->err) {
    snprintf(errstr, errstr_size, "redis %s:%d: %s", host, port,
             s->c ? s->c->errstr : "cannot allocate a context");
    scr_state_destroy(s);
    return NULL;
  }
  redisSetTimeout(s->c, tv);
  redisReply *r;
  if (pass[0]) {
    const char *a[] = {"AUTH", user[0] ? user : pass, pass};
    r = cmd_argv(s, user[0] ? 3 : 2, a, errstr, errstr_size);
    memset(pass, 0, sizeof(pass));
    if (!r) {
      scr_state_destroy(s);
      return NULL;
    }
    freeReplyObject(r);
  }
  if (db) {
    char dbs[16];
    snprintf(dbs, sizeof(dbs), "%d", db);
    const char *a[] = {"SELECT", dbs};
    if (!(r = cmd_argv(s, 2, a, errstr, errstr_size))) {
      scr_state_destroy(s);
      return NULL;
    }
    freeReplyObject(r);
  }
  const char *ping[] = {"PING"};
  if (!(r = cmd_argv(s, 1, ping, errstr, errstr_size))) {
    scr_state_destroy(s);
    return NULL;
  }
  freeReplyObject(r);
  return s;
}

void scr_state_destroy(scr_state_t *s) {
  if (!s)
    return;
  if (s->locked && s->c && !s->c->err) {
    char err[256];
    scr_state_unlock(s, err, sizeof(err));
  }
  if (s->c)
    redisFree(s->c);
  free(s->prefix);
  free(s);
}

int scr_state_lock(scr_state_t *s, const char *source, int64_t ttl_ms, char *errstr,
                   size_t errstr_size) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    snprintf(errstr, errstr_size, "no random bytes for the lock token");
    return -1;
  }
  for (size_t i = 0; i < sizeof(raw); i++)
    snprintf(s->token + 2 * i, 3, "%02x", raw[i]);
  if ((size_t)snprintf(s->lock_key, sizeof(s->lock_key), "%s:lock:%s", s->prefix, source) >=
      sizeof(s->lock_key)) {
    snprintf(errstr, errstr_size, "lock key too long");
    return -1;
  }
  char ttl[32];
  snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
  const char *a[] = {"SET", s->lock_key, s->token, "NX", "PX", ttl};
  redisReply *r = cmd_argv(s, 6, a, errstr, errstr_size);
  if (!r)
    return -1;
  int got = r->type == REDIS_REPLY_STATUS;
  freeReplyObject(r);
  s->locked = got;
  s->ttl_ms = ttl_ms;
  return got;
}

int scr_state_unlock(scr_state_t *s, char *errstr, size_t errstr_size) {
  if (!s || !s->locked)
    return 0;
  s->locked = 0;
  const char *a[] = {"EVAL", UNLOCK_LUA, "1", s->lock_key, s->token};
  redisReply *r = cmd_argv(s, 5, a, errstr, errstr_size);
  if (!r)
    return -1;
  freeReplyObject(r);
  return 0;
}

static int cursor_key(scr_state_t *s, const char *source, const char *stream, char *out,
                      size_t out_size) {
  return (size_t)snprintf(out, out_size, "%s:cursor:%s:%s", s->prefix, source, stream) < out_size
             ? 0
             : -1;
}

int scr_state_get_cursor(scr_state_t *s, const char *source, const char *stream, char *out,
                         size_t out_size, char *errstr, size_t errstr_size) {
  char key[1024];
  out[0] = '\0';
  if (cursor_key(s, source, stream, key, sizeof(key))) {
    snprintf(errstr, errstr_size, "cursor key too long");
    return -1;
  }
  const char *a[] = {"GET", key};
  redisReply *r = cmd_argv(s, 2, a, errstr, errstr_size);
  if (!r)
    return -1;
  int rc = 0;
  if (r->type == REDIS_REPLY_STRING) {
    if (r->len >= out_size) {
      snprintf(errstr, errstr_size, "cursor %s longer than %zu bytes", key, out_size - 1);
      rc = -1;
    } else {
      memcpy(out, r->str, r->len);
      out[r->len] = '\0';
      rc = 1;
    }
  }
  freeReplyObject(r);
  return rc;
}

int scr_state_set_cursor(scr_state_t *s, const char *source, const char *stream, const char *value,
                         char *errstr, size_t errstr_size) {
  char key[1024], ttl[32];
  if (!s->locked) {
    snprintf(errstr, errstr_size, "cursor write without the lock");
    return -1;
  }
  if (cursor_key(s, source, stream, key, sizeof(key))) {
    snprintf(errstr, errstr_size, "cursor key too long");
    return -1;
  }
  snprintf(ttl, sizeof(ttl), "%lld", (long long)s->ttl_ms);
  const char *a[] = {"EVAL", SET_CURSOR_LUA, "2", s->lock_key, key, s->token, value, ttl};
  redisReply *r = cmd_argv(s, 8, a, errstr, errstr_size);
  if (!r)
    return -1;
  int ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  if (!ok) {
    s->locked = 0;
    snprintf(errstr, errstr_size, "lock lost: another run owns the source now");
    return -1;
  }
  return 0;
}
