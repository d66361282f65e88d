#include "enricher.h"
#include "pcache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "loader.h"
#include "json/schema.h"

#define OUTPUT_TOPIC "enriched.social"
#define POSTS_TOPIC "clean.social"
#define ORDERS_TOPIC "sink.snowflake.orders"
/* The contracts cap product_mentions and products at 100 items. */
#define MAX_MENTIONS 100
/* enriched_post.enriched_text maxLength. */
#define TEXT_MAX_CODEPOINTS 30000
/* While the store stays down, repeat the warning this often (not per retry). */
#define DOWN_LOG_INTERVAL_MS 30000

struct enricher {
  enricher_options_t o;
  schema_t *posts, *orders, *enriched;
  pcache_t *cache;
  pcache_t *logged_missing; /* negative entries only: ids logged this interval */
  int store_up;             /* 1 until the first failure */
  int64_t down_logged_ms;
  metrics_counter_t *missing, *hits, *misses, *unavailable, *applied, *stale, *orders_skipped,
      *enriched_posts;
  metrics_gauge_t *up;
  metrics_histogram_t *lookup;
};

static schema_t *load(const char *dir, const char *name, char *errstr, size_t errstr_size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return schema_load_file(path, errstr, errstr_size);
}

enricher_t *enricher_new(const enricher_options_t *opts, char *errstr, size_t errstr_size) {
  if (!opts->store.fetch || !opts->store.update || opts->cache_size == 0 ||
      opts->missing_log_ids == 0) {
    snprintf(errstr, errstr_size, "enricher: store, cache size and missing-id set are required");
    return NULL;
  }
  enricher_t *e = calloc(1, sizeof(*e)); /* caller owns: enricher_destroy() */
  if (!e) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  e->o = *opts;
  if (!e->o.now_ms)
    e->o.now_ms = clock_mono_ms;
  e->store_up = 1;
  if (!(e->posts = load(opts->schemas_dir, "clean_social_post.json", errstr, errstr_size)) ||
      !(e->orders = load(opts->schemas_dir, "clean_market_order.json", errstr, errstr_size)) ||
      !(e->enriched = load(opts->schemas_dir, "enriched_post.json", errstr, errstr_size)))
    goto fail;
  if (!(e->cache = pcache_new(opts->cache_size, opts->cache_ttl_ms)) ||
      !(e->logged_missing = pcache_new(opts->missing_log_ids, opts->missing_log_interval_ms))) {
    snprintf(errstr, errstr_size, "out of memory for a cache of %zu products", opts->cache_size);
    goto fail;
  }
  metrics_t *m = opts->metrics;
  if (m) {
    e->missing =
        metrics_counter(m, "products_missing_total",
                        "mentioned products not found (or unusable) in the store", NULL, NULL);
    e->hits =
        metrics_counter(m, "cache_hits_total", "product lookups answered by the cache", NULL, NULL);
    e->misses = metrics_counter(m, "cache_misses_total", "product lookups that went to the store",
                                NULL, NULL);
    e->unavailable = metrics_counter(m, "redis_unavailable_total",
                                     "store calls that failed (message retried)", NULL, NULL);
    e->applied = metrics_counter(m, "product_updates_total",
                                 "order-driven product updates by result", "result", "applied");
    e->stale = metrics_counter(m, "product_updates_total", "order-driven product updates by result",
                               "result", "stale");
    e->orders_skipped = metrics_counter(m, "orders_skipped_total",
                                        "orders not usable for a product update", NULL, NULL);
    e->enriched_posts =
        metrics_counter(m, "posts_enriched_total", "posts emitted to enriched.social", NULL, NULL);
    e->up = metrics_gauge(m, "redis_up", "1 when the last store call succeeded", NULL, NULL);
    e->lookup =
        metrics_histogram(m, "redis_roundtrip_seconds", "time of one store round trip", NULL, NULL);
    metrics_gauge_set(e->up, 1);
  }
  return e;
fail:
  enricher_destroy(e);
  return NULL;
}

void enricher_destroy(enricher_t *e) {
  if (!e)
    return;
  schema_destroy(e->posts);
  schema_destroy(e->orders);
  schema_destroy(e->enriched);
  pcache_destroy(e->cache);
  pcache_destroy(e->logged_missing);
  free(e);
}

size_t enricher_cache_size(const enricher_t *e) {
  return pcache_size(e->cache);
}

uint64_t enricher_cache_evictions(const enricher_t *e) {
  return pcache_evictions(e->cache);
}

/* ---- text ------------------------------------------------------------------ */

void enricher_format_price(double price, char *out, size_t out_size) {
  if (!(price < 1e15)) { /* beyond any real price: keep the text short */
    snprintf(out, out_size, "%.6g", price);
    return;
  }
  int n = snprintf(out, out_size, "%.2f", price);
  if (n <= 0 || (size_t)n >= out_size || !strchr(out, '.'))
    return;
  char *end = out + n - 1;
  while (*end == '0')
    *end-- = '\0';
  if (*end == '.')
    *end = '\0';
}

static size_t codepoints(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      n++;
  return n;
}

/* Appends "[Product: NAME PRICE CUR] " to buf (at least strlen(name) + 96
 * bytes free: the price is at most 32 characters) with white space and control characters in NAME
 * collapsed. */
static size_t append_product(char *buf, const product_t *p) {
  size_t n = 0;
  memcpy(buf, "[Product: ", 10);
  n = 10;
  int space = 0;
  for (const unsigned char *s = (const unsigned char *)p->name; *s; s++) {
    if (*s < 0x20 || *s == 0x7f || *s == ' ') {
      space = 1;
      continue;
    }
    if (space && n > 10)
      buf[n++] = ' ';
    space = 0;
    buf[n++] = (char)*s;
  }
  char price[40];
  enricher_format_price(p->price, price, sizeof(price));
  n += (size_t)snprintf(buf + n, 96 - 10, " %s %s] ", price, p->currency);
  return n;
}

char *enricher_text(const product_t *products, size_t n, const char *content,
                    size_t max_codepoints) {
  size_t clen = strlen(content), cap = clen + 1;
  for (size_t i = 0; i < n; i++)
    cap += strlen(products[i].name) + 96;
  char *buf = malloc(cap); /* caller frees */
  if (!buf)
    return NULL;
  size_t used = 0, budget = codepoints(content, clen);
  budget = budget >= max_codepoints ? 0 : max_codepoints - budget;
  for (size_t i = 0; i < n; i++) {
    size_t add = append_product(buf + used, &products[i]);
    size_t cp = codepoints(buf + used, add);
    if (cp > budget)
      continue; /* keep the text inside the contract; a whole product or none */
    budget -= cp;
    used += add;
  }
  memcpy(buf + used, content, clen + 1);
  return buf;
}

size_t enricher_unique_ids(const json_t *mentions, const char **ids, size_t max) {
  size_t n = 0, idx;
  json_t *v;
  json_array_foreach(mentions, idx, v) {
    const char *id = json_string_value(v);
    if (!id || n >= max)
      continue;
    size_t k = 0;
    while (k < n && strcmp(ids[k], id) != 0)
      k++;
    if (k == n)
      ids[n++] = id;
  }
  return n;
}

/* ---- store health ------------------------------------------------------------ */

static void store_failed(enricher_t *e, const char *what, const char *err) {
  int64_t now = e->o.now_ms();
  metrics_counter_add(e->unavailable, 1);
  metrics_gauge_set(e->up, 0);
  if (e->store_up || now - e->down_logged_ms >= DOWN_LOG_INTERVAL_MS) {
    log_event(LOG_LEVEL_ERROR, "redis_unavailable", json_pack("{s:s}", "during", what),
              "product store unreachable, not consuming until it is back: %s", err);
    e->down_logged_ms = now;
  }
  e->store_up = 0;
}

static void store_ok(enricher_t *e) {
  if (!e->store_up) {
    log_info("redis_recovered", "product store reachable again; consuming");
    metrics_gauge_set(e->up, 1);
  }
  e->store_up = 1;
}

static void note_missing(enricher_t *e, const char *id, int state, int64_t now) {
  metrics_counter_add(e->missing, 1);
  if (pcache_get(e->logged_missing, id, now, NULL) != PCACHE_MISS)
    return; /* logged within this interval */
  pcache_put(e->logged_missing, id, NULL, now);
  /* Product ids are merchant catalogue ids, not personal data. */
  log_event(LOG_LEVEL_WARN, "product_missing",
            json_pack("{s:s,s:s}", "product_id", id, "reason",
                      state == ENR_INVALID ? "invalid" : "absent"),
            "product %s: post enriched without it (logged once per %lld ms)", id,
            (long long)e->o.missing_log_interval_ms);
}

/* ---- posts --------------------------------------------------------------------- */

static int internal(stage_fail_t *fail, const char *why) {
  fail->code = "internal";
  snprintf(fail->message, sizeof(fail->message), "%s", why);
  return STAGE_DEAD_LETTER;
}

/* Resolves ids into products[] (found ones, in id order); *nfound set.
 * Returns 0, -1 when the store is down, -2 out of memory. */
static int resolve(enricher_t *e, const char **ids, size_t n, product_t *products, size_t *nfound) {
  int64_t now = e->o.now_ms();
  int state[MAX_MENTIONS];
  const char *ask[MAX_MENTIONS];
  size_t nask = 0;
  product_t fetched[MAX_MENTIONS];
  int fstate[MAX_MENTIONS];

  for (size_t i = 0; i < n; i++) {
    const product_t *p = NULL;
    int r = pcache_get(e->cache, ids[i], now, &p);
    if (r == PCACHE_HIT) {
      state[i] = product_copy(&products[i], p) == 0 ? ENR_FOUND : -2;
      if (state[i] == -2)
        goto oom;
    } else if (r == PCACHE_NEGATIVE) {
      state[i] = ENR_ABSENT;
    } else {
      state[i] = -1; /* ask the store */
      ask[nask++] = ids[i];
    }
    metrics_counter_add(r == PCACHE_MISS ? e->misses : e->hits, 1);
  }
  if (nask) {
    char err[256] = "";
    memset(fetched, 0, sizeof(product_t) * nask);
    double t0 = clock_mono();
    int rc = e->o.store.fetch(e->o.store.ctx, ask, nask, fetched, fstate, err, sizeof(err));
    metrics_histogram_observe(e->lookup, clock_mono() - t0);
    if (rc != 0) {
      for (size_t i = 0; i < n; i++)
        product_clear(&products[i]);
      store_failed(e, "lookup", err);
      return -1;
    }
    store_ok(e);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (state[i] != -1)
        continue;
      state[i] = fstate[k];
      if (fstate[k] == ENR_FOUND) {
        products[i] = fetched[k]; /* moved */
        memset(&fetched[k], 0, sizeof(fetched[k]));
        pcache_put(e->cache, ids[i], &products[i], now); /* best effort */
      } else {
        pcache_put(e->cache, ids[i], NULL, now);
      }
      k++;
    }
  }
  /* Compact the found products to the front, keeping the mention order. */
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (state[i] == ENR_FOUND) {
      if (w != i) {
        products[w] = products[i];
        memset(&products[i], 0, sizeof(products[i]));
      }
      w++;
    } else {
      note_missing(e, ids[i], state[i], now);
    }
  }
  *nfound = w;
  return 0;
oom:
  for (size_t i = 0; i < n; i++)
    product_clear(&products[i]);
  return -2;
}

static json_t *products_json(const product_t *products, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    const product_t *p = &products[i];
    if (json_array_append_new(arr, json_pack("{s:s,s:s,s:f,s:s}", "id", p->id, "name", p->name,
                                             "price", p->price, "currency", p->currency)) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static int enrich_post(enricher_t *e, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                       stage_fail_t *fail) {
  char err[512];
  if (schema_validate(e->posts, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "schema", "", err);
    return STAGE_DEAD_LETTER;
  }
  const char *ids[MAX_MENTIONS];
  size_t n = enricher_unique_ids(json_object_get(doc, "product_mentions"), ids, MAX_MENTIONS);
  product_t products[MAX_MENTIONS];
  memset(products, 0, sizeof(product_t) * n);
  size_t nfound = 0;
  int rc = resolve(e, ids, n, products, &nfound);
  if (rc == -1)
    return STAGE_RETRY;
  if (rc != 0)
    return internal(fail, "out of memory");

  json_t *arr = products_json(products, nfound);
  char *text = enricher_text(products, nfound, json_string_value(json_object_get(doc, "content")),
                             TEXT_MAX_CODEPOINTS);
  for (size_t i = 0; i < nfound; i++)
    product_clear(&products[i]);
  /* json_object_set_new() takes the reference even when it fails. */
  if (!arr || !text || json_object_set_new(doc, "products", arr) != 0 ||
      json_object_set_new(doc, "enriched_text", json_string(text)) != 0) {
    if (!text)
      json_decref(arr);
    free(text);
    return internal(fail, "out of memory");
  }
  free(text);
  if (schema_validate(e->enriched, doc, err, sizeof(err)) != 0) {
    stage_fail_from_schema(fail, "enriched_contract", "enriched record breaks its contract: ", err);
    return STAGE_DEAD_LETTER;
  }
  char *payload = json_dumps(doc, JSON_COMPACT);
  if (!payload)
    return internal(fail, "cannot serialise record");
  const char *key = msg->key;
  size_t key_len = msg->key_len;
  if (!key) {
    json_t *id = json_object_get(doc, "post_id");
    key = json_string_value(id);
    key_len = key ? json_string_length(id) : 0;
  }
  if (stage_emit_owned(out, STAGE_OUTPUT_PRIMARY, OUTPUT_TOPIC, key, key_len, payload,
                       strlen(payload)) != 0)
    return internal(fail, "out of memory");
  metrics_counter_add(e->enriched_posts, 1);
  return STAGE_OK;
}

/* ---- orders ---------------------------------------------------------------------- */

/* An order stamped further ahead than this is not trusted as "newer": one bad
 * clock must not freeze a product's price until that date. */
#define ORDER_MAX_FUTURE_MS (24LL * 3600 * 1000)

static int skip_order(enricher_t *e, const char *why) {
  metrics_counter_add(e->orders_skipped, 1);
  log_event(LOG_LEVEL_DEBUG, "order_skipped", NULL, "order not usable for a product update: %s",
            why);
  return STAGE_OK;
}

static int apply_order(enricher_t *e, json_t *doc) {
  char err[512] = "";
  int64_t ts;
  product_t p;
  /* privacy-shield already validated these; one that still fails is not this
   * stage's to dead-letter (the warehouse sink owns that topic's letters). */
  if (schema_validate(e->orders, doc, err, sizeof(err)) != 0)
    return skip_order(e, err);
  if (clock_parse_rfc3339_ms(json_string_value(json_object_get(doc, "timestamp")), &ts) != 0)
    return skip_order(e, "/timestamp: not RFC 3339");
  if (ts > clock_wall_ms() + ORDER_MAX_FUTURE_MS)
    return skip_order(e, "/timestamp: more than a day in the future");
  if (product_fill(&p, json_string_value(json_object_get(doc, "product_id")),
                   json_string_value(json_object_get(doc, "product_name")),
                   json_number_value(json_object_get(doc, "price")),
                   json_string_value(json_object_get(doc, "currency")), NULL, err,
                   sizeof(err)) != 0)
    return skip_order(e, err);
  int applied = 0;
  if (e->o.store.update(e->o.store.ctx, &p, ts, &applied, err, sizeof(err)) != 0) {
    product_clear(&p);
    store_failed(e, "update", err);
    return STAGE_RETRY;
  }
  store_ok(e);
  if (applied) {
    /* This replica serves the new price at once; others within their TTL. */
    pcache_put(e->cache, p.id, &p, e->o.now_ms());
    metrics_counter_add(e->applied, 1);
  } else {
    metrics_counter_add(e->stale, 1);
  }
  product_clear(&p);
  return STAGE_OK;
}

int enricher_transform(void *ctx, const stage_msg_t *msg, json_t *doc, stage_out_t *out,
                       stage_fail_t *fail) {
  enricher_t *e = ctx;
  if (strcmp(msg->topic, POSTS_TOPIC) == 0)
    return enrich_post(e, msg, doc, out, fail);
  if (strcmp(msg->topic, ORDERS_TOPIC) == 0)
    return apply_order(e, doc);
  fail->code = "unknown_topic";
  snprintf(fail->message, sizeof(fail->message), "no route for input topic %s", msg->topic);
  return STAGE_DEAD_LETTER;
}
