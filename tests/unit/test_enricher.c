/* Unit tests for services/enricher: the text to embed, mention order and
 * de-duplication, the LRU+TTL cache (hit, negative, expiry, eviction), the
 * transform over a fake store (one fetch per message, cache in front,
 * missing products, store down → retry, order updates newer-wins), the
 * load-products parsers (CSV and JSONL, good and bad rows) and the Redis store
 * failing while Redis is unreachable (URL parsing: test_redis.c). */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "enricher.h"
#include "loader.h"
#include "pcache.h"
#include "rstore.h"
#include "stage/stage_internal.h"

/* ---- a fake store and clock ------------------------------------------------ */

#define FAKE_MAX 16
typedef struct fake_store {
  product_t p[FAKE_MAX];
  int64_t updated[FAKE_MAX];
  size_t n;
  int down;
  int fetch_calls;
  size_t ids_asked;
} fake_store_t;

static int64_t fake_now;
static int64_t clock_ms(void) {
  return fake_now;
}

static void fake_add(fake_store_t *s, const char *id, const char *name, double price,
                     const char *cur) {
  char err[128];
  assert_int_equal(product_fill(&s->p[s->n], id, name, price, cur, NULL, err, sizeof(err)), 0);
  s->updated[s->n++] = 0;
}

static void fake_free(fake_store_t *s) {
  for (size_t i = 0; i < s->n; i++)
    product_clear(&s->p[i]);
}

static int fake_fetch(void *ctx, const char *const *ids, size_t n, product_t *out, int *state,
                      char *errstr, size_t errstr_size) {
  fake_store_t *s = ctx;
  if (s->down) {
    snprintf(errstr, errstr_size, "connection refused");
    return -1;
  }
  s->fetch_calls++;
  s->ids_asked += n;
  for (size_t i = 0; i < n; i++) {
    state[i] = ENR_ABSENT;
    for (size_t k = 0; k < s->n; k++)
      if (strcmp(s->p[k].id, ids[i]) == 0) {
        assert_int_equal(product_copy(&out[i], &s->p[k]), 0);
        state[i] = ENR_FOUND;
      }
  }
  return 0;
}

static int fake_update(void *ctx, const product_t *p, int64_t ts, int *applied, char *errstr,
                       size_t errstr_size) {
  fake_store_t *s = ctx;
  if (s->down) {
    snprintf(errstr, errstr_size, "connection refused");
    return -1;
  }
  for (size_t k = 0; k < s->n; k++)
    if (strcmp(s->p[k].id, p->id) == 0) {
      *applied = ts > s->updated[k];
      if (*applied) {
        product_clear(&s->p[k]);
        assert_int_equal(product_copy(&s->p[k], p), 0);
        s->updated[k] = ts;
      }
      return 0;
    }
  assert_true(s->n < FAKE_MAX);
  assert_int_equal(product_copy(&s->p[s->n], p), 0);
  s->updated[s->n++] = ts;
  *applied = 1;
  return 0;
}

static const char *schemas_dir(void) {
  static char dir[4096];
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(dir, sizeof(dir), "%s/schemas", src ? src : ".");
  return dir;
}

static enricher_t *make_enricher(fake_store_t *s, size_t cache_size, int64_t ttl, metrics_t *m) {
  char err[512];
  enricher_options_t o = {
      .schemas_dir = schemas_dir(),
      .store = {fake_fetch, fake_update, s},
      .cache_size = cache_size,
      .cache_ttl_ms = ttl,
      .missing_log_interval_ms = 60000,
      .missing_log_ids = 4,
      .metrics = m,
      .now_ms = clock_ms,
  };
  enricher_t *e = enricher_new(&o, err, sizeof(err));
  if (!e)
    fail_msg("enricher_new: %s", err);
  return e;
}

#define AUTHOR "k1a2b3c4d:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *post(const char *mentions_json) {
  char buf[1024];
  snprintf(buf, sizeof(buf),
           "{\"platform\":\"facebook\",\"post_id\":\"p-1\",\"author_hash\":\"" AUTHOR
           "\",\"content\":\"Price too high\",\"engagement_count\":3,"
           "\"timestamp\":\"2026-06-01T09:30:00+06:00\",\"product_mentions\":%s}",
           mentions_json);
  json_t *doc = json_loads(buf, 0, NULL);
  assert_non_null(doc);
  return doc;
}

static json_t *order(const char *id, const char *name, double price, const char *ts) {
  json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,s:s,s:s,s:s}", "platform", "daraz",
                          "order_id", "o-1", "merchant_id", "m-1", "product_id", id, "product_name",
                          name, "quantity", 1, "price", price, "order_status", "pending",
                          "payment_method", "cod", "shipping_city", "Dhaka", "timestamp", ts);
  assert_non_null(doc);
  return doc;
}

static void out_free(stage_out_t *out) {
  for (size_t i = 0; i < out->count; i++) {
    free(out->items[i].topic);
    free(out->items[i].key);
    free(out->items[i].payload);
  }
  free(out->items);
  memset(out, 0, sizeof(*out));
}

/* Runs the transform on doc (consumed); returns the status, *result the
 * emitted record (parsed, caller decrefs) or NULL. */
static int run(enricher_t *e, const char *topic, json_t *doc, json_t **result, stage_fail_t *fail) {
  stage_out_t out = {0};
  stage_msg_t msg = {.topic = topic,
                     .partition = 0,
                     .offset = 1,
                     .key = "p-1",
                     .key_len = 3,
                     .payload = "",
                     .len = 0,
                     .timestamp_ms = -1};
  memset(fail, 0, sizeof(*fail));
  int rc = enricher_transform(e, &msg, doc, &out, fail);
  json_decref(doc);
  *result = NULL;
  if (out.count) {
    assert_int_equal(out.count, 1);
    assert_string_equal(out.items[0].topic, "enriched.social");
    assert_int_equal(out.items[0].key_len, 3);
    *result = json_loadb(out.items[0].payload, out.items[0].len, 0, NULL);
    assert_non_null(*result);
  }
  out_free(&out);
  return rc;
}

static const char *text_of(const json_t *r) {
  return json_string_value(json_object_get(r, "enriched_text"));
}

/* ---- text ---------------------------------------------------------------------- */

static void test_text(void **state) {
  (void)state;
  product_t p[3];
  char err[128];
  assert_int_equal(product_fill(&p[0], "P-1", "Raincoat", 5000, "BDT", NULL, err, sizeof(err)), 0);
  assert_int_equal(
      product_fill(&p[1], "P-2", "  Big \t\n umbrella ", 350.5, NULL, "rain", err, sizeof(err)), 0);
  assert_int_equal(product_fill(&p[2], "P-3", "বুট", 0.25, "USD", NULL, err, sizeof(err)), 0);
  assert_string_equal(p[1].currency, "BDT"); /* the contract's default */

  char *t = enricher_text(p, 1, "Price too high", 30000);
  assert_string_equal(t, "[Product: Raincoat 5000 BDT] Price too high");
  free(t);
  t = enricher_text(p, 3, "কত?", 30000);
  assert_string_equal(t, "[Product: Raincoat 5000 BDT] [Product: Big umbrella 350.5 BDT] "
                         "[Product: বুট 0.25 USD] কত?");
  free(t);
  t = enricher_text(p, 0, "no products", 30000);
  assert_string_equal(t, "no products");
  free(t);
  /* A budget of content + 30 code points fits the first product (29) only. */
  t = enricher_text(p, 3, "12345", 5 + 30);
  assert_string_equal(t, "[Product: Raincoat 5000 BDT] 12345");
  free(t);

  char buf[40];
  enricher_format_price(1299.999, buf, sizeof(buf));
  assert_string_equal(buf, "1300");
  enricher_format_price(19.9, buf, sizeof(buf));
  assert_string_equal(buf, "19.9");
  enricher_format_price(1e300, buf, sizeof(buf));
  assert_string_equal(buf, "1e+300");
  for (int i = 0; i < 3; i++)
    product_clear(&p[i]);
}

static void test_unique_ids(void **state) {
  (void)state;
  json_t *a = json_loads("[\"B\",\"A\",\"B\",1,\"C\",\"A\"]", 0, NULL);
  const char *ids[8];
  size_t n = enricher_unique_ids(a, ids, 8);
  assert_int_equal(n, 3);
  assert_string_equal(ids[0], "B");
  assert_string_equal(ids[1], "A");
  assert_string_equal(ids[2], "C");
  assert_int_equal(enricher_unique_ids(a, ids, 2), 2);
  assert_int_equal(enricher_unique_ids(NULL, ids, 8), 0);
  json_decref(a);
}

/* ---- cache --------------------------------------------------------------------- */

static void test_pcache(void **state) {
  (void)state;
  char err[128];
  product_t a, b, c;
  const product_t *got = NULL;
  assert_int_equal(product_fill(&a, "A", "Apple", 1, NULL, NULL, err, sizeof(err)), 0);
  assert_int_equal(product_fill(&b, "B", "Banana", 2, NULL, NULL, err, sizeof(err)), 0);
  assert_int_equal(product_fill(&c, "C", "Cherry", 3, NULL, NULL, err, sizeof(err)), 0);
  pcache_t *pc = pcache_new(2, 1000);
  assert_non_null(pc);
  assert_null(pcache_new(0, 1000));

  assert_int_equal(pcache_get(pc, "A", 0, &got), PCACHE_MISS);
  assert_int_equal(pcache_put(pc, "A", &a, 0), 0);
  assert_int_equal(pcache_put(pc, "B", &b, 10), 0);
  assert_int_equal(pcache_get(pc, "A", 20, &got), PCACHE_HIT); /* A is now most recent */
  assert_string_equal(got->name, "Apple");
  assert_int_equal(pcache_put(pc, "C", &c, 30), 0); /* evicts B, the LRU */
  assert_int_equal(pcache_size(pc), 2);
  assert_int_equal(pcache_evictions(pc), 1);
  assert_int_equal(pcache_get(pc, "B", 40, &got), PCACHE_MISS);
  assert_int_equal(pcache_get(pc, "C", 40, &got), PCACHE_HIT);
  /* TTL runs from the put; a hit does not extend it. */
  assert_int_equal(pcache_get(pc, "A", 999, &got), PCACHE_HIT);
  assert_int_equal(pcache_get(pc, "A", 1000, &got), PCACHE_MISS);
  assert_int_equal(pcache_size(pc), 1);
  /* Negative entries, replacement, removal. */
  assert_int_equal(pcache_put(pc, "Z", NULL, 1000), 0);
  assert_int_equal(pcache_get(pc, "Z", 1001, &got), PCACHE_NEGATIVE);
  assert_int_equal(pcache_put(pc, "Z", &a, 1002), 0);
  assert_int_equal(pcache_get(pc, "Z", 1003, &got), PCACHE_HIT);
  assert_string_equal(got->id, "Z");
  pcache_remove(pc, "Z");
  assert_int_equal(pcache_get(pc, "Z", 1004, &got), PCACHE_MISS);
  /* Evicting an expired entry is not counted as an eviction. */
  pcache_t *one = pcache_new(1, 10);
  assert_int_equal(pcache_put(one, "A", &a, 0), 0);
  assert_int_equal(pcache_put(one, "B", &b, 50), 0);
  assert_int_equal(pcache_evictions(one), 0);
  assert_int_equal(pcache_put(one, "C", &c, 51), 0);
  assert_int_equal(pcache_evictions(one), 1);
  pcache_destroy(one);
  /* Many ids through a small cache stay bounded. */
  char id[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof(id), "X%d", i);
    assert_int_equal(pcache_put(pc, id, i % 2 ? &a : NULL, 2000 + i), 0);
  }
  assert_int_equal(pcache_size(pc), 2);
  assert_int_equal(pcache_get(pc, "X999", 2999, &got), PCACHE_HIT);
  pcache_destroy(pc);
  pcache_destroy(NULL);
  product_clear(&a);
  product_clear(&b);
  product_clear(&c);
}

/* ---- transform --------------------------------------------------------------------- */

static void test_transform_hit_and_cache(void **state) {
  (void)state;
  fake_store_t s = {0};
  fake_add(&s, "P-1001", "Raincoat", 5000, "BDT");
  fake_add(&s, "P-2", "Umbrella", 350.5, NULL);
  fake_now = 1000;
  metrics_t *m = metrics_new("enricher");
  enricher_t *e = make_enricher(&s, 100, 60000, m);
  json_t *r;
  stage_fail_t fail;

  assert_int_equal(run(e, "clean.social", post("[\"P-2\",\"P-1001\",\"P-2\"]"), &r, &fail),
                   STAGE_OK);
  assert_string_equal(text_of(r),
                      "[Product: Umbrella 350.5 BDT] [Product: Raincoat 5000 BDT] Price too high");
  json_t *products = json_object_get(r, "products");
  assert_int_equal(json_array_size(products), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(products, 0), "id")), "P-2");
  assert_true(json_real_value(json_object_get(json_array_get(products, 1), "price")) == 5000);
  json_decref(r);
  assert_int_equal(s.fetch_calls, 1); /* one round trip for both ids */
  assert_int_equal(s.ids_asked, 2);

  /* Cached: no store call at all, even with the store down. */
  s.down = 1;
  assert_int_equal(run(e, "clean.social", post("[\"P-1001\"]"), &r, &fail), STAGE_OK);
  assert_string_equal(text_of(r), "[Product: Raincoat 5000 BDT] Price too high");
  json_decref(r);
  assert_int_equal(s.fetch_calls, 1);

  /* After the TTL the store is asked again; down → retry, nothing emitted. */
  fake_now += 60000;
  assert_int_equal(run(e, "clean.social", post("[\"P-1001\"]"), &r, &fail), STAGE_RETRY);
  assert_null(r);
  char *text = metrics_render(m);
  assert_non_null(strstr(text, "enricher_redis_up 0"));
  free(text);
  s.down = 0;
  assert_int_equal(run(e, "clean.social", post("[\"P-1001\"]"), &r, &fail), STAGE_OK);
  assert_int_equal(s.fetch_calls, 2);
  json_decref(r);
  text = metrics_render(m);
  assert_non_null(strstr(text, "enricher_redis_up 1"));
  assert_non_null(strstr(text, "enricher_cache_hits_total 1"));
  free(text);

  /* No mentions: the content alone, an empty products array, no store call. */
  assert_int_equal(run(e, "clean.social", post("[]"), &r, &fail), STAGE_OK);
  assert_string_equal(text_of(r), "Price too high");
  assert_int_equal(json_array_size(json_object_get(r, "products")), 0);
  json_decref(r);
  assert_int_equal(s.fetch_calls, 2);

  enricher_destroy(e);
  metrics_destroy(m);
  fake_free(&s);
}

static void test_transform_missing(void **state) {
  (void)state;
  fake_store_t s = {0};
  fake_add(&s, "P-1", "Raincoat", 5000, "BDT");
  fake_now = 0;
  metrics_t *m = metrics_new("enricher");
  enricher_t *e = make_enricher(&s, 100, 60000, m);
  json_t *r;
  stage_fail_t fail;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(run(e, "clean.social", post("[\"P-404\",\"P-1\"]"), &r, &fail), STAGE_OK);
    assert_string_equal(text_of(r), "[Product: Raincoat 5000 BDT] Price too high");
    assert_int_equal(json_array_size(json_object_get(r, "products")), 1);
    json_decref(r);
  }
  /* The absence is cached too: one store call for three messages. */
  assert_int_equal(s.fetch_calls, 1);
  char *text = metrics_render(m);
  assert_non_null(strstr(text, "enricher_products_missing_total 3"));
  free(text);
  /* More missing ids than the log-suppression set holds: still fine. */
  assert_int_equal(
      run(e, "clean.social", post("[\"M-1\",\"M-2\",\"M-3\",\"M-4\",\"M-5\",\"M-6\"]"), &r, &fail),
      STAGE_OK);
  assert_string_equal(text_of(r), "Price too high");
  json_decref(r);
  enricher_destroy(e);
  metrics_destroy(m);
  fake_free(&s);
}

static void test_transform_eviction(void **state) {
  (void)state;
  fake_store_t s = {0};
  fake_add(&s, "A", "Apple", 1, NULL);
  fake_add(&s, "B", "Banana", 2, NULL);
  fake_add(&s, "C", "Cherry", 3, NULL);
  fake_now = 0;
  enricher_t *e = make_enricher(&s, 2, 60000, NULL);
  json_t *r;
  stage_fail_t fail;
  assert_int_equal(run(e, "clean.social", post("[\"A\",\"B\",\"C\"]"), &r, &fail), STAGE_OK);
  assert_string_equal(text_of(r), "[Product: Apple 1 BDT] [Product: Banana 2 BDT] "
                                  "[Product: Cherry 3 BDT] Price too high");
  json_decref(r);
  assert_int_equal(enricher_cache_size(e), 2);
  assert_int_equal(enricher_cache_evictions(e), 1);
  /* A was evicted: asking for it goes to the store. */
  assert_int_equal(run(e, "clean.social", post("[\"A\"]"), &r, &fail), STAGE_OK);
  json_decref(r);
  assert_int_equal(s.fetch_calls, 2);
  enricher_destroy(e);
  fake_free(&s);
}

static void test_transform_orders(void **state) {
  (void)state;
  fake_store_t s = {0};
  fake_now = 0;
  metrics_t *m = metrics_new("enricher");
  enricher_t *e = make_enricher(&s, 100, 60000, m);
  json_t *r;
  stage_fail_t fail;
  assert_int_equal(run(e, "sink.snowflake.orders",
                       order("P-1", "Raincoat", 5000, "2026-06-01T10:00:00+06:00"), &r, &fail),
                   STAGE_OK);
  assert_null(r); /* orders emit nothing */
  assert_int_equal(s.n, 1);
  /* Newer (in UTC) wins; older does not move the price back. */
  assert_int_equal(run(e, "sink.snowflake.orders",
                       order("P-1", "Raincoat Pro", 4500, "2026-06-01T04:00:01Z"), &r, &fail),
                   STAGE_OK);
  assert_int_equal(run(e, "sink.snowflake.orders",
                       order("P-1", "Raincoat Old", 100, "2026-05-01T04:00:00Z"), &r, &fail),
                   STAGE_OK);
  assert_string_equal(s.p[0].name, "Raincoat Pro");
  /* This replica serves the new price at once, from its cache. */
  assert_int_equal(run(e, "clean.social", post("[\"P-1\"]"), &r, &fail), STAGE_OK);
  assert_string_equal(text_of(r), "[Product: Raincoat Pro 4500 BDT] Price too high");
  json_decref(r);
  assert_int_equal(s.fetch_calls, 0);
  /* An unusable order is skipped (no dead letter: not this stage's topic). */
  json_t *bad = order("P-1", "X", 1, "2026-06-01T04:00:01Z");
  json_object_set_new(bad, "price", json_integer(-5));
  assert_int_equal(run(e, "sink.snowflake.orders", bad, &r, &fail), STAGE_OK);
  /* A clock far ahead must not freeze the price: skipped. */
  assert_int_equal(
      run(e, "sink.snowflake.orders", order("P-1", "Future", 1, "2999-01-01T00:00:00Z"), &r, &fail),
      STAGE_OK);
  assert_string_equal(s.p[0].name, "Raincoat Pro");
  /* Store down → retry. */
  s.down = 1;
  assert_int_equal(run(e, "sink.snowflake.orders",
                       order("P-1", "Raincoat", 1, "2026-06-02T00:00:00Z"), &r, &fail),
                   STAGE_RETRY);
  char *text = metrics_render(m);
  assert_non_null(strstr(text, "enricher_product_updates_total{result=\"applied\"} 2"));
  assert_non_null(strstr(text, "enricher_product_updates_total{result=\"stale\"} 1"));
  assert_non_null(strstr(text, "enricher_orders_skipped_total 2"));
  free(text);
  enricher_destroy(e);
  metrics_destroy(m);
  fake_free(&s);
}

static void test_transform_dead_letters(void **state) {
  (void)state;
  fake_store_t s = {0};
  enricher_t *e = make_enricher(&s, 10, 1000, NULL);
  json_t *r;
  stage_fail_t fail;
  json_t *doc = post("[\"bad id with spaces\"]");
  assert_int_equal(run(e, "clean.social", doc, &r, &fail), STAGE_DEAD_LETTER);
  assert_string_equal(fail.code, "schema");
  assert_string_equal(fail.path, "/product_mentions/0");
  doc = post("[]");
  json_object_set_new(doc, "author_username", json_string("someone"));
  assert_int_equal(run(e, "clean.social", doc, &r, &fail), STAGE_DEAD_LETTER);
  assert_string_equal(fail.path, "/author_username");
  assert_int_equal(run(e, "other.topic", post("[]"), &r, &fail), STAGE_DEAD_LETTER);
  assert_string_equal(fail.code, "unknown_topic");
  assert_int_equal(s.fetch_calls, 0);
  enricher_destroy(e);
  enricher_destroy(NULL);
}

/* ---- load-products parsers --------------------------------------------------------- */

typedef struct row_result {
  int rc;
  char id[80];
  char name[80];
  double price;
  char cur[4];
  char cat[40];
  int64_t updated;
  char err[256];
} row_result_t;

static size_t parse_all(const char *text, loader_format_t fmt, row_result_t *rows, size_t max) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  assert_non_null(f);
  loader_t *l = loader_new(f, fmt);
  assert_non_null(l);
  size_t n = 0;
  for (;;) {
    product_t p;
    row_result_t *r = &rows[n];
    memset(r, 0, sizeof(*r));
    r->rc = loader_next(l, &p, &r->updated, r->err, sizeof(r->err));
    if (r->rc == LOADER_EOF)
      break;
    if (r->rc == LOADER_ROW) {
      snprintf(r->id, sizeof(r->id), "%s", p.id);
      snprintf(r->name, sizeof(r->name), "%s", p.name);
      snprintf(r->cur, sizeof(r->cur), "%s", p.currency);
      snprintf(r->cat, sizeof(r->cat), "%s", p.category ? p.category : "");
      r->price = p.price;
      product_clear(&p);
    }
    n++;
    if (r->rc == LOADER_FATAL || n == max)
      break;
  }
  loader_destroy(l);
  fclose(f);
  return n;
}

static void test_loader_csv(void **state) {
  (void)state;
  row_result_t rows[16];
  const char *csv = "\xEF\xBB\xBFsku_note,ID,name,price,currency,category,updated_at\r\n"
                    "x,P-1,Raincoat,5000,BDT,apparel,2026-06-01T10:00:00Z\r\n"
                    "y,P-2,\"Umbrella, \"\"big\"\"\nline two\",350.5,,,1700000000000\n"
                    "\n"
                    "z,bad id,Thing,1,,,\n"
                    "z,P-4,Thing,-3,,,\n"
                    "z,P-5,Thing,abc,,,\n"
                    "z,P-6,Thing,1,usd,,\n"
                    "z,P-7,,1,,,\n"
                    "z,P-8,Thing,1,,,yesterday\n"
                    "z,P-9,Th\"ing,1,,,\n"
                    "z,P-10,Short row\n"
                    "z,P-11,Last,2\n";
  size_t n = parse_all(csv, LOADER_CSV, rows, 16);
  assert_int_equal(n, 11);
  assert_int_equal(rows[0].rc, LOADER_ROW);
  assert_string_equal(rows[0].id, "P-1");
  assert_string_equal(rows[0].cat, "apparel");
  assert_true(rows[0].updated == 1780308000000LL);
  assert_int_equal(rows[1].rc, LOADER_ROW);
  assert_string_equal(rows[1].name, "Umbrella, \"big\"\nline two");
  assert_string_equal(rows[1].cur, "BDT");
  assert_true(rows[1].price == 350.5);
  assert_true(rows[1].updated == 1700000000000LL);
  for (int i = 2; i <= 9; i++)
    assert_int_equal(rows[i].rc, LOADER_BAD_ROW);
  assert_string_equal(rows[2].err, "line 6: id: must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$");
  assert_string_equal(rows[3].err, "line 7: price: must be a number > 0");
  assert_string_equal(rows[4].err, "line 8: price: must be a number > 0");
  assert_string_equal(rows[5].err, "line 9: currency: must match ^[A-Z]{3}$");
  assert_string_equal(rows[6].err, "line 10: name: must not be empty");
  assert_non_null(strstr(rows[7].err, "line 11: updated_at"));
  assert_non_null(strstr(rows[8].err, "line 12: malformed CSV row"));
  assert_string_equal(rows[9].err, "line 13: price: must be a number > 0"); /* column missing */
  assert_int_equal(rows[10].rc, LOADER_ROW);
  assert_string_equal(rows[10].id, "P-11");
  assert_true(rows[10].updated == -1);
  /* Error messages never carry the row's values. */
  for (size_t i = 0; i < n; i++)
    assert_null(strstr(rows[i].err, "Thing"));

  n = parse_all("name,price\nA,1\n", LOADER_CSV, rows, 16);
  assert_int_equal(n, 1);
  assert_int_equal(rows[0].rc, LOADER_FATAL);
  assert_non_null(strstr(rows[0].err, "id, name and price"));
  n = parse_all("", LOADER_CSV, rows, 16);
  assert_int_equal(rows[0].rc, LOADER_FATAL);
  n = parse_all("id,name,price\nP-1,\"unterminated,1\n", LOADER_CSV, rows, 16);
  assert_int_equal(n, 1);
  assert_int_equal(rows[0].rc, LOADER_BAD_ROW);
}

static void test_loader_jsonl(void **state) {
  (void)state;
  row_result_t rows[16];
  const char *jsonl =
      "{\"id\":\"P-1\",\"name\":\"Raincoat\",\"price\":5000,\"currency\":\"BDT\",\"extra\":1}\n"
      "\n"
      "{\"id\":\"P-2\",\"name\":\"Umbrella\",\"price\":350.5,\"category\":\"rain\","
      "\"updated_at\":\"2026-06-01T10:00:00.250+06:00\"}\r\n"
      "{\"id\":\"P-3\",\"name\":\"Boots\",\"price\":\"12\"}\n"
      "not json\n"
      "[1,2]\n"
      "{\"id\":7,\"name\":\"x\",\"price\":1}\n"
      "{\"id\":\"P-4\",\"name\":\"x\",\"price\":0}\n"
      "{\"id\":\"P-5\",\"name\":\"x\",\"price\":1,\"updated_at\":true}\n"
      "{\"id\":\"P-6\",\"name\":\"Last\",\"price\":1,\"updated_at\":1700000000000}";
  size_t n = parse_all(jsonl, LOADER_JSONL, rows, 16);
  assert_int_equal(n, 9);
  assert_int_equal(rows[0].rc, LOADER_ROW);
  assert_true(rows[0].updated == -1);
  assert_int_equal(rows[1].rc, LOADER_ROW);
  assert_string_equal(rows[1].cat, "rain");
  assert_true(rows[1].updated == 1780286400250LL);
  assert_string_equal(rows[2].err, "line 4: price: must be a number > 0");
  assert_string_equal(rows[3].err, "line 5: invalid JSON");
  assert_string_equal(rows[4].err, "line 6: must be a JSON object");
  assert_string_equal(rows[5].err, "line 7: id: must be string");
  assert_string_equal(rows[6].err, "line 8: price: must be a number > 0");
  assert_non_null(strstr(rows[7].err, "line 9: updated_at"));
  assert_int_equal(rows[8].rc, LOADER_ROW);
  assert_true(rows[8].updated == 1700000000000LL);

  loader_format_t fmt;
  char err[256];
  assert_int_equal(loader_format_for("a/b.CSV", &fmt, err, sizeof(err)), 0);
  assert_int_equal(fmt, LOADER_CSV);
  assert_int_equal(loader_format_for("b.ndjson", &fmt, err, sizeof(err)), 0);
  assert_int_equal(fmt, LOADER_JSONL);
  assert_int_equal(loader_format_for("b.txt", &fmt, err, sizeof(err)), -1);
}

static void test_time_and_store_down(void **state) {
  (void)state;
  int64_t a, b;
  assert_int_equal(clock_parse_rfc3339_ms("2026-06-01T10:00:00+06:00", &a), 0);
  assert_int_equal(clock_parse_rfc3339_ms("2026-06-01T04:00:00Z", &b), 0);
  assert_true(a == b);
  assert_int_equal(clock_parse_rfc3339_ms("1970-01-01T00:00:00.5Z", &a), 0);
  assert_true(a == 500);
  assert_int_equal(clock_parse_rfc3339_ms("2026-06-01 04:00:00", &a), -1);
  assert_int_equal(clock_parse_rfc3339_ms("2026-13-01T04:00:00Z", &a), -1);

  /* The store connects lazily: an unreachable Redis is not an error until used. */
  char err[256];
  redis_settings_t rs = {.url = "redis://127.0.0.1:1", .connect_timeout_ms = 200};
  redis_t *r = redis_new(&rs, err, sizeof(err));
  assert_non_null(r);
  const char *ids[1] = {"P-1"};
  product_t out[1];
  int st[1];
  assert_int_equal(rstore_fetch(r, ids, 1, out, st, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "connect 127.0.0.1:1"));
  redis_destroy(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_unique_ids),
      cmocka_unit_test(test_pcache),
      cmocka_unit_test(test_transform_hit_and_cache),
      cmocka_unit_test(test_transform_missing),
      cmocka_unit_test(test_transform_eviction),
      cmocka_unit_test(test_transform_orders),
      cmocka_unit_test(test_transform_dead_letters),
      cmocka_unit_test(test_loader_csv),
      cmocka_unit_test(test_loader_jsonl),
      cmocka_unit_test(test_time_and_store_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
