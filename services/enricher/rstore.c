/* rstore — owns the product hashes' layout in Redis and the newer-wins
 * update script; the connection is the shared client's (net/redis.h). */
#include "rstore.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "enricher.h"

/* KEYS[1] product key; ARGV: updated_at, name, price, currency, category ("" = keep).
 * Equal timestamps do not overwrite, so replaying the same order is a no-op. */
static const redis_script_t update_script = {
    "local cur = tonumber(redis.call('HGET', KEYS[1], 'updated_at'))\n"
    "if cur and cur >= tonumber(ARGV[1]) then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'name', ARGV[2], 'price', ARGV[3], 'currency', ARGV[4],"
    " 'updated_at', ARGV[1])\n"
    "if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'category', ARGV[5]) end\n"
    "return 1\n"};

static int product_key(const char *id, char *out, size_t out_size, char *errstr,
                       size_t errstr_size) {
  if ((size_t)snprintf(out, out_size, "product:%s", id) >= out_size) {
    snprintf(errstr, errstr_size, "product id longer than %d bytes", PRODUCT_ID_MAX);
    return -1;
  }
  return 0;
}

static const char *elem(const redisReply *r, size_t i) {
  if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
    return NULL;
  return r->element[i]->str;
}

int rstore_fetch(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
                 char *errstr, size_t errstr_size) {
  redis_t *r = ctx;
  size_t i = 0;
  for (i = 0; i < n; i++) {
    state[i] = ENR_ABSENT;
    if (strlen(ids[i]) > PRODUCT_ID_MAX) { /* checked before anything is queued */
      snprintf(errstr, errstr_size, "product id longer than %d bytes", PRODUCT_ID_MAX);
      return -1;
    }
  }
  for (i = 0; i < n; i++) {
    char key[PRODUCT_ID_MAX + 16];
    snprintf(key, sizeof(key), "product:%s", ids[i]);
    const char *argv[6] = {"HMGET", key, "name", "price", "currency", "category"};
    if (redis_append(r, 6, argv, NULL, errstr, errstr_size) != 0)
      return -1; /* the pipeline went with the connection */
  }
  for (i = 0; i < n; i++) {
    redisReply *rep = redis_reply(r, errstr, errstr_size);
    if (!rep)
      goto broken;
    if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "WRONGTYPE", 9) != 0) {
      /* "This server cannot serve now" rather than "this key is wrong": retry the message. */
      snprintf(errstr, errstr_size, "HMGET refused: %.200s", rep->str);
      freeReplyObject(rep);
      i++;
      goto drain;
    }
    if (rep->type == REDIS_REPLY_ARRAY && elem(rep, 0)) {
      char why[128];
      state[i] = product_from_fields(&out[i], ids[i], elem(rep, 0), elem(rep, 1), elem(rep, 2),
                                     elem(rep, 3), why, sizeof(why)) == 0
                     ? ENR_FOUND
                     : ENR_INVALID;
    } else if (rep->type == REDIS_REPLY_ERROR) {
      state[i] = ENR_INVALID; /* WRONGTYPE: the key is not a hash */
    }
    freeReplyObject(rep);
  }
  return 0;
drain: /* read what was sent after i, so the connection stays in step */
  for (; i < n; i++) {
    redisReply *rep = redis_reply(r, NULL, 0);
    if (!rep)
      break;
    freeReplyObject(rep);
  }
broken:
  for (size_t j = 0; j < n; j++)
    if (state[j] == ENR_FOUND)
      product_clear(&out[j]);
  return -1;
}

/* The update script's arguments for p; strings live in the caller's buffers. */
typedef struct update_args {
  char key[PRODUCT_ID_MAX + 16], ts[24], price[40];
  const char *argv[6];
} update_args_t;

static int update_args(update_args_t *a, const product_t *p, int64_t updated_at_ms, char *errstr,
                       size_t errstr_size) {
  if (product_key(p->id, a->key, sizeof(a->key), errstr, errstr_size) != 0)
    return -1;
  snprintf(a->ts, sizeof(a->ts), "%lld", (long long)updated_at_ms);
  snprintf(a->price, sizeof(a->price), "%.15g", p->price);
  const char *argv[6] = {a->key,   a->ts,       p->name,
                         a->price, p->currency, p->category ? p->category : ""};
  memcpy(a->argv, argv, sizeof(argv));
  return 0;
}

/* One update reply: 1 applied, 0 stale, -1 refused (errstr); frees it. */
static int update_result(redisReply *rep, char *errstr, size_t errstr_size) {
  int rc = -1;
  if (rep->type == REDIS_REPLY_INTEGER)
    rc = rep->integer ? 1 : 0;
  else
    snprintf(errstr, errstr_size, "update refused: %.200s",
             rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
  freeReplyObject(rep);
  return rc;
}

int rstore_update(void *ctx, const product_t *p, int64_t updated_at_ms, int *applied, char *errstr,
                  size_t errstr_size) {
  update_args_t a;
  if (update_args(&a, p, updated_at_ms, errstr, errstr_size) != 0)
    return -1;
  redisReply *rep = redis_eval(ctx, &update_script, 1, 6, a.argv, NULL, errstr, errstr_size);
  int rc = rep ? update_result(rep, errstr, errstr_size) : -1;
  if (rc < 0)
    return -1;
  *applied = rc;
  return 0;
}

int rstore_load(redis_t *r, const product_t *ps, const int64_t *updated_at_ms, size_t n,
                size_t *applied, size_t *stale, char *errstr, size_t errstr_size) {
  size_t sent = 0;
  for (; sent < n; sent++) {
    update_args_t a;
    if (update_args(&a, &ps[sent], updated_at_ms[sent], errstr, errstr_size) != 0)
      break;
    if (redis_append_eval(r, &update_script, 1, 6, a.argv, NULL, errstr, errstr_size) != 0)
      return -1; /* the pipeline went with the connection */
  }
  int failed = sent < n;
  char why[256];
  /* Every reply is read, even after a refusal, so the connection stays in step. */
  for (size_t i = 0; i < sent; i++) {
    redisReply *rep = redis_reply(r, why, sizeof(why));
    int rc = rep ? update_result(rep, why, sizeof(why)) : -1;
    if (rc < 0) {
      if (!failed)
        snprintf(errstr, errstr_size, "%s", why);
      failed = 1;
      if (!rep)
        break; /* the connection is gone, and the rest with it */
    } else if (rc) {
      (*applied)++;
    } else {
      (*stale)++;
    }
  }
  return failed ? -1 : 0;
}
