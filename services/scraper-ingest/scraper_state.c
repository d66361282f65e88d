/* scraper_state — owns the cursor and lock keys of scraper-ingest and the
 * two fencing scripts; the connection is the shared client's. */
#include "scraper_state.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"

struct scr_state {
  redis_t *r; /* borrowed */
  char *prefix;
  char lock_key[512];
  char token[33];
  int64_t ttl_ms;
  int locked;
};

/* KEYS[1] lock; ARGV[1] our token. */
static const redis_script_t unlock_script = {
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end"};
/* KEYS[1] lock, KEYS[2] cursor; ARGV: our token, cursor value, lock ttl (ms). */
static const redis_script_t set_cursor_script = {
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "redis.call('set', KEYS[2], ARGV[2]); redis.call('pexpire', KEYS[1], ARGV[3]); return 1 "
    "else return 0 end"};

/* rep, or NULL with errstr when the call failed (errstr already says why) or
 * Redis answered an error. */
static redisReply *checked(redisReply *rep, char *errstr, size_t errstr_size) {
  if (!rep) {
    char inner[512];
    snprintf(inner, sizeof(inner), "%s", errstr);
    snprintf(errstr, errstr_size, "redis: %.*s", (int)(errstr_size > 8 ? errstr_size - 8 : 0),
             inner);
    return NULL;
  }
  if (rep->type == REDIS_REPLY_ERROR) {
    snprintf(errstr, errstr_size, "redis: %.*s", (int)rep->len, rep->str);
    freeReplyObject(rep);
    return NULL;
  }
  return rep;
}

scr_state_t *scr_state_new(redis_t *r, const char *prefix, char *errstr, size_t errstr_size) {
  scr_state_t *s = calloc(1, sizeof(*s)); /* owned by the caller */
  if (!s || !(s->prefix = strdup(prefix ? prefix : "sensory:scraper"))) {
    free(s);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  s->r = r;
  return s;
}

void scr_state_destroy(scr_state_t *s) {
  if (!s)
    return;
  if (s->locked) {
    char err[256];
    scr_state_unlock(s, err, sizeof(err));
  }
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
  hex_encode(raw, sizeof(raw), s->token, sizeof(s->token), HEX_LOWER);
  if ((size_t)snprintf(s->lock_key, sizeof(s->lock_key), "%s:lock:%s", s->prefix, source) >=
      sizeof(s->lock_key)) {
    snprintf(errstr, errstr_size, "lock key too long");
    return -1;
  }
  char ttl[32];
  snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
  const char *a[] = {"SET", s->lock_key, s->token, "NX", "PX", ttl};
  redisReply *r =
      checked(redis_command(s->r, 6, a, NULL, errstr, errstr_size), errstr, errstr_size);
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
  const char *a[] = {s->lock_key, s->token};
  redisReply *r = checked(redis_eval(s->r, &unlock_script, 1, 2, a, NULL, errstr, errstr_size),
                          errstr, errstr_size);
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
  redisReply *r =
      checked(redis_command(s->r, 2, a, NULL, errstr, errstr_size), errstr, errstr_size);
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
  const char *a[] = {s->lock_key, key, s->token, value, ttl};
  redisReply *r = checked(redis_eval(s->r, &set_cursor_script, 2, 5, a, NULL, errstr, errstr_size),
                          errstr, errstr_size);
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
