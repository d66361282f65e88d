/* risk_history — the customer history in Redis (see risk_history.h): the
 * update script, the pipelined lookup and the blacklist entry. */
#include "risk_history.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* KEYS: order, counters, velocity. ARGV: status, cod (1/0), ts_ms, member,
 * order ttl s, customer ttl s, velocity max. Returns 1 applied, 0 seen. */
static const redis_script_t update_script = {
    "local st = ARGV[1]\n"
    "if redis.call('HSETNX', KEYS[1], 's:' .. st, 1) == 0 then return 0 end\n"
    "local fresh = redis.call('HSETNX', KEYS[1], 'cod', ARGV[2]) == 1\n"
    "local cod = redis.call('HGET', KEYS[1], 'cod') == '1'\n"
    "if fresh then\n"
    "  redis.call('HINCRBY', KEYS[2], 'orders', 1)\n"
    "  if cod then redis.call('HINCRBY', KEYS[2], 'cod_orders', 1) end\n"
    "  local ts = tonumber(ARGV[3])\n"
    "  redis.call('ZADD', KEYS[3], 'NX', ts, ARGV[4])\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (ts - 604800000))\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[7]) + 1))\n"
    "  redis.call('EXPIRE', KEYS[3], ARGV[6])\n"
    "end\n"
    "local final = st == 'delivered' or st == 'returned' or st == 'failed_delivery'"
    " or st == 'cancelled'\n"
    "if final then redis.call('HINCRBY', KEYS[2], st, 1) end\n"
    "if cod then\n"
    "  if final then\n"
    "    if redis.call('HGET', KEYS[1], 'out') == '1' then\n"
    "      redis.call('HSET', KEYS[1], 'out', '0')\n"
    "      redis.call('HINCRBY', KEYS[2], 'cod_outstanding', -1)\n"
    "    end\n"
    "    redis.call('HSET', KEYS[1], 'final', '1')\n"
    "    if (st == 'returned' or st == 'failed_delivery') and"
    " redis.call('HSETNX', KEYS[1], 'bad', '1') == 1 then\n"
    "      redis.call('HINCRBY', KEYS[2], 'cod_bad', 1)\n"
    "    end\n"
    "  elseif redis.call('HEXISTS', KEYS[1], 'final') == 0 and"
    " redis.call('HSETNX', KEYS[1], 'out', '1') == 1 then\n"
    "    redis.call('HINCRBY', KEYS[2], 'cod_outstanding', 1)\n"
    "  end\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
    "return 1\n"};

static const char *const counter_fields[] = {
    "orders",          "cod_orders", "delivered", "returned",
    "failed_delivery", "cancelled",  "cod_bad",   "cod_outstanding",
};
#define NCOUNTERS (sizeof(counter_fields) / sizeof(counter_fields[0]))

struct risk_history {
  risk_history_opts_t o;
  char *prefix;
  redis_t **clients;
  atomic_int up;
};

risk_history_t *risk_history_new(const risk_history_opts_t *o, char *errstr, size_t errstr_size) {
  risk_history_t *h = calloc(1, sizeof(*h));
  if (!h || !(h->prefix = strdup(o->prefix && *o->prefix ? o->prefix : "risk")) ||
      !(h->clients = calloc(o->slots ? o->slots : 1, sizeof(*h->clients)))) {
    snprintf(errstr, errstr_size, "out of memory");
    risk_history_destroy(h);
    return NULL;
  }
  h->o = *o;
  h->o.prefix = h->prefix;
  if (!h->o.slots)
    h->o.slots = 1;
  for (unsigned i = 0; i < h->o.slots; i++)
    if (!(h->clients[i] = redis_new(o->redis, errstr, errstr_size))) {
      risk_history_destroy(h);
      return NULL;
    }
  atomic_store(&h->up, 0);
  return h;
}

void risk_history_destroy(risk_history_t *h) {
  if (!h)
    return;
  for (unsigned i = 0; h->clients && i < h->o.slots; i++)
    redis_destroy(h->clients[i]);
  free(h->clients);
  free(h->prefix);
  free(h);
}

static redis_t *client(risk_history_t *h, unsigned slot) {
  return h->clients[slot < h->o.slots ? slot : h->o.slots - 1];
}

/* Marks Redis up or down from a reply (NULL or an error reply: down). */
static int track(risk_history_t *h, const redisReply *r) {
  int ok = r && r->type != REDIS_REPLY_ERROR;
  atomic_store(&h->up, ok);
  return ok;
}

int risk_history_up(const risk_history_t *h) {
  return atomic_load(&((risk_history_t *)h)->up);
}

int risk_history_apply(risk_history_t *h, unsigned slot, const risk_order_event_t *ev, char *errstr,
                       size_t errstr_size) {
  char okey[512], ckey[256], vkey[256], member[RISK_PLATFORM_MAX + RISK_ORDER_ID_MAX + 1];
  char part[RISK_PLATFORM_MAX + RISK_ORDER_ID_MAX + 4], ts[24], ottl[24], cttl[24], vmax[24];
  snprintf(part, sizeof(part), "o:%s:%s", ev->platform, ev->order_id);
  snprintf(member, sizeof(member), "%s:%s", ev->platform, ev->order_id);
  if (risk_customer_key(h->prefix, ev->phash, part, okey, sizeof(okey)) ||
      risk_customer_key(h->prefix, ev->phash, "c", ckey, sizeof(ckey)) ||
      risk_customer_key(h->prefix, ev->phash, "v", vkey, sizeof(vkey))) {
    snprintf(errstr, errstr_size, "key too long");
    return -1;
  }
  snprintf(ts, sizeof(ts), "%lld", (long long)ev->ts_ms);
  snprintf(ottl, sizeof(ottl), "%lld", (long long)h->o.order_ttl_s);
  snprintf(cttl, sizeof(cttl), "%lld", (long long)h->o.customer_ttl_s);
  snprintf(vmax, sizeof(vmax), "%lld", (long long)h->o.velocity_max);
  const char *argv[] = {okey, ckey,   vkey, ev->status, ev->cod ? "1" : "0",
                        ts,   member, ottl, cttl,       vmax};
  redisReply *r =
      redis_eval(client(h, slot), &update_script, 3, 10, argv, NULL, errstr, errstr_size);
  if (!track(h, r)) {
    if (r) /* an error reply: the server's message names no value of ours */
      snprintf(errstr, errstr_size, "update script: %.200s", r->str ? r->str : "error");
    freeReplyObject(r);
    return -1;
  }
  int applied = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  return applied;
}

static int64_t reply_int(const redisReply *r) {
  if (!r)
    return 0;
  if (r->type == REDIS_REPLY_INTEGER)
    return r->integer;
  if (r->type == REDIS_REPLY_STRING)
    return strtoll(r->str, NULL, 10);
  return 0;
}

int risk_history_lookup(risk_history_t *h, unsigned slot, const char *phash, int64_t now_ms,
                        risk_features_t *f) {
  char ckey[256], vkey[256], bkey[256], since[3][24];
  char err[256];
  if (risk_customer_key(h->prefix, phash, "c", ckey, sizeof(ckey)) ||
      risk_customer_key(h->prefix, phash, "v", vkey, sizeof(vkey)) ||
      risk_customer_key(h->prefix, phash, "bl", bkey, sizeof(bkey)))
    return -1;
  static const int64_t window_ms[3] = {3600000, 86400000, 604800000};
  redis_t *c = client(h, slot);
  const char *hmget[2 + NCOUNTERS] = {"HMGET", ckey};
  for (size_t i = 0; i < NCOUNTERS; i++)
    hmget[2 + i] = counter_fields[i];
  if (redis_append(c, 2 + NCOUNTERS, hmget, NULL, err, sizeof(err)) != 0)
    goto down;
  for (int w = 0; w < 3; w++) {
    snprintf(since[w], sizeof(since[w]), "%lld", (long long)(now_ms - window_ms[w]));
    const char *zc[] = {"ZCOUNT", vkey, since[w], "+inf"};
    if (redis_append(c, 4, zc, NULL, err, sizeof(err)) != 0)
      goto down;
  }
  const char *ex[] = {"EXISTS", bkey};
  if (redis_append(c, 2, ex, NULL, err, sizeof(err)) != 0)
    goto down;
  redisReply *r[5] = {0};
  int ok = 1;
  for (int i = 0; i < 5; i++) {
    r[i] = ok ? redis_reply(c, err, sizeof(err)) : NULL;
    if (!r[i] || r[i]->type == REDIS_REPLY_ERROR)
      ok = 0;
  }
  if (ok && r[0]->type == REDIS_REPLY_ARRAY && r[0]->elements == NCOUNTERS) {
    int64_t *dst[NCOUNTERS] = {&f->orders,   &f->cod_orders,      &f->delivered,
                               &f->returned, &f->failed_delivery, &f->cancelled,
                               &f->cod_bad,  &f->cod_outstanding};
    for (size_t i = 0; i < NCOUNTERS; i++)
      *dst[i] = reply_int(r[0]->element[i]);
    f->velocity_1h = reply_int(r[1]);
    f->velocity_24h = reply_int(r[2]);
    f->velocity_7d = reply_int(r[3]);
    f->blacklisted = reply_int(r[4]) > 0;
    f->history_known = 1;
  } else {
    ok = 0;
  }
  for (int i = 0; i < 5; i++)
    freeReplyObject(r[i]);
  atomic_store(&h->up, ok);
  return ok ? 0 : -1;
down:
  atomic_store(&h->up, 0);
  return -1;
}

int risk_history_blacklist_put(risk_history_t *h, unsigned slot, const char *phash,
                               const char *note, int64_t ttl_s) {
  char bkey[256], ttl[24], err[256];
  if (risk_customer_key(h->prefix, phash, "bl", bkey, sizeof(bkey)))
    return -1;
  snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
  const char *argv[] = {"SET", bkey, note, "EX", ttl};
  redisReply *r = redis_command(client(h, slot), ttl_s > 0 ? 5 : 3, argv, NULL, err, sizeof(err));
  int ok = track(h, r);
  freeReplyObject(r);
  return ok ? 0 : -1;
}

int risk_history_blacklist_del(risk_history_t *h, unsigned slot, const char *phash, int *removed) {
  char bkey[256], err[256];
  if (risk_customer_key(h->prefix, phash, "bl", bkey, sizeof(bkey)))
    return -1;
  const char *argv[] = {"DEL", bkey};
  redisReply *r = redis_command(client(h, slot), 2, argv, NULL, err, sizeof(err));
  int ok = track(h, r);
  if (ok)
    *removed = reply_int(r) > 0;
  freeReplyObject(r);
  return ok ? 0 : -1;
}

int risk_history_ping(risk_history_t *h, unsigned slot) {
  char err[256];
  const char *argv[] = {"PING"};
  redisReply *r = redis_command(client(h, slot), 1, argv, NULL, err, sizeof(err));
  int ok = track(h, r);
  freeReplyObject(r);
  return ok ? 0 : -1;
}
