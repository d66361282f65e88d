/* Daraz (Lazada Open Platform) orders: signed GET /orders/get with
 * created_after, sort by created_at ascending, offset/limit paging (limit <=
 * 100, offset <= 5000; past that the window moves: created_after becomes the
 * last order's created_at and offset restarts at 0), then the page's items
 * from GET /orders/items/get (one market_order per item). Cursor:
 * "<created_after>|<offset>" after the last acknowledged page. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "source.h"

#include "core/clock.h"
#include "core/hex.h"
#define DARAZ_MAX_OFFSET 5000
#define DARAZ_MAX_PARAMS 16

static const char *str_at(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : NULL;
}

const char *scr_daraz_status(const char *s) {
  static const struct {
    const char *in, *out;
  } map[] = {{"unpaid", "pending"},
             {"pending", "pending"},
             {"topack", "confirmed"},
             {"packed", "confirmed"},
             {"ready_to_ship", "confirmed"},
             {"toship", "confirmed"},
             {"shipped", "shipped"},
             {"delivered", "delivered"},
             {"canceled", "cancelled"},
             {"cancelled", "cancelled"},
             {"returned", "returned"},
             {"failed", "failed_delivery"},
             {"failed_delivery", "failed_delivery"},
             {"lost_by_3pl", "failed_delivery"}};
  if (!s)
    return NULL;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcasecmp(s, map[i].in) == 0)
      return map[i].out;
  return NULL;
}

size_t scr_map_daraz_order(const json_t *order, const json_t *items, const char *merchant_id,
                           json_t *out) {
  if (!json_is_object(order))
    return 0;
  json_t *base = json_object();
  char id[64], ts[64];
  json_object_set_new(base, "platform", json_string("daraz"));
  if (scr_json_id(json_object_get(order, "order_id"), id, sizeof(id)) == 0)
    json_object_set_new(base, "order_id", json_string(id));
  scr_set_str(base, "merchant_id", merchant_id);
  const char *pm = str_at(order, "payment_method");
  json_object_set_new(
      base, "payment_method",
      json_string(pm && (strcasestr(pm, "cod") || strcasestr(pm, "cash")) ? "cod" : "prepaid"));
  const json_t *addr = json_object_get(order, "address_shipping");
  scr_set_str(base, "shipping_city", str_at(addr, "city"));
  scr_set_str(base, "customer_phone", str_at(addr, "phone"));
  const char *fn = str_at(addr, "first_name"), *ln = str_at(addr, "last_name");
  if (!fn && !ln) {
    fn = str_at(order, "customer_first_name");
    ln = str_at(order, "customer_last_name");
  }
  if (fn || ln) {
    char name[300];
    snprintf(name, sizeof(name), "%s%s%s", fn ? fn : "", fn && ln ? " " : "", ln ? ln : "");
    scr_set_str(base, "customer_name", name);
  }
  scr_set_str(base, "note", str_at(order, "remarks"));
  if (scr_time_normalise(str_at(order, "created_at"), ts, sizeof(ts)) == 0)
    json_object_set_new(base, "timestamp", json_string(ts));
  const char *ostatus =
      scr_daraz_status(json_string_value(json_array_get(json_object_get(order, "statuses"), 0)));
  if (!ostatus)
    ostatus = scr_daraz_status(str_at(order, "status"));

  size_t n = 0, i;
  json_t *it;
  json_array_foreach(items, i, it) {
    json_t *rec = json_deep_copy(base);
    char pid[128];
    if (scr_json_id(json_object_get(it, "sku"), pid, sizeof(pid)) == 0 ||
        scr_json_id(json_object_get(it, "shop_sku"), pid, sizeof(pid)) == 0 ||
        scr_json_id(json_object_get(it, "product_id"), pid, sizeof(pid)) == 0)
      json_object_set_new(rec, "product_id", json_string(pid));
    scr_set_str(rec, "product_name", str_at(it, "name"));
    /* GetOrderItems lists one entry per unit unless it says otherwise. */
    json_t *q = json_object_get(it, "quantity");
    json_object_set_new(rec, "quantity",
                        json_integer(json_is_integer(q) ? json_integer_value(q) : 1));
    double price;
    if (scr_json_number(json_object_get(it, "item_price"), &price) == 0 ||
        scr_json_number(json_object_get(it, "paid_price"), &price) == 0)
      json_object_set_new(rec, "price", json_real(price));
    const char *cur = str_at(it, "currency");
    scr_set_str(rec, "currency", cur ? cur : "BDT");
    const char *st = scr_daraz_status(str_at(it, "status"));
    if (!st)
      st = ostatus;
    scr_set_str(rec, "order_status", st);
    json_array_append_new(out, rec);
    n++;
  }
  if (n == 0) {
    scr_set_str(base, "order_status", ostatus);
    json_array_append(out, base);
    n = 1;
  }
  json_decref(base);
  return n;
}

typedef struct kv {
  const char *k, *v;
} kv_t;

static int kv_cmp(const void *a, const void *b) {
  return strcmp(((const kv_t *)a)->k, ((const kv_t *)b)->k);
}

int scr_daraz_sign(const char *path, const char *const *names, const char *const *values, size_t n,
                   const char *secret, char out[65]) {
  kv_t kv[DARAZ_MAX_PARAMS];
  if (n > DARAZ_MAX_PARAMS)
    return -1;
  for (size_t i = 0; i < n; i++)
    kv[i] = (kv_t){names[i], values[i]};
  qsort(kv, n, sizeof(kv[0]), kv_cmp);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  size_t len = strlen(path);
  for (size_t i = 0; i < n; i++)
    len += strlen(kv[i].k) + strlen(kv[i].v);
  char *buf = malloc(len + 1); /* the string to sign, freed here */
  if (!buf)
    return -1;
  size_t o = 0;
  memcpy(buf, path, strlen(path));
  o = strlen(path);
  for (size_t i = 0; i < n; i++) {
    size_t a = strlen(kv[i].k), b = strlen(kv[i].v);
    memcpy(buf + o, kv[i].k, a);
    o += a;
    memcpy(buf + o, kv[i].v, b);
    o += b;
  }
  buf[o] = '\0';
  int ok =
      HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)buf, o, md, &mdlen) != NULL;
  free(buf);
  if (!ok)
    return -1;
  return mdlen == 32 && hex_encode(md, mdlen, out, 65, HEX_UPPER) == 0 ? 0 : -1;
}

typedef struct daraz {
  const scr_config_t *cfg;
  char *app_secret;        /* signs every request */
  char after[256];         /* created_after of the window */
  long long offset;        /* within the window */
  const json_t *items_doc; /* the page's /orders/items/get data, for the mapper */
} daraz_t;

/* Signs path + the common and business parameters into req->url. */
static int daraz_sign_url(scr_loop_t *lp, scr_request_t *req, const char *path,
                          const char *const *bn, const char *const *bv, size_t bc) {
  daraz_t *d = lp->self;
  const char *names[DARAZ_MAX_PARAMS], *values[DARAZ_MAX_PARAMS];
  char ts[32], sign[65], esc[2048];
  snprintf(ts, sizeof(ts), "%lld", (long long)clock_wall_ms());
  size_t n = 0;
  names[n] = "app_key", values[n++] = d->cfg->daraz_app_key;
  names[n] = "timestamp", values[n++] = ts;
  names[n] = "sign_method", values[n++] = "sha256";
  names[n] = "access_token", values[n++] = lp->secret;
  for (size_t i = 0; i < bc && n < DARAZ_MAX_PARAMS; i++)
    names[n] = bn[i], values[n++] = bv[i];
  if (scr_daraz_sign(path, names, values, n, d->app_secret, sign) != 0)
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "daraz %s: cannot sign the request", path);
  size_t o = (size_t)snprintf(req->url, sizeof(req->url), "%s%s?", d->cfg->daraz_base_url, path);
  for (size_t i = 0; i <= n && o < sizeof(req->url); i++) {
    const char *k = i < n ? names[i] : "sign", *v = i < n ? values[i] : sign;
    if (http_url_escape(v, esc, sizeof(esc)) != 0)
      return scr_loop_fail(lp, SCR_SRC_PARTIAL, "daraz %s: parameter %s too long", path, k);
    o += (size_t)snprintf(req->url + o, sizeof(req->url) - o, "%s%s=%s", i ? "&" : "", k, esc);
  }
  if (o >= sizeof(req->url))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "daraz %s: request URL too long", path);
  static const char *const headers[] = {"Accept: application/json", NULL};
  req->headers = headers;
  return 0;
}

/* Checks the Lazada envelope: code "0" means success. */
static int daraz_ok(scr_loop_t *lp, const json_t *doc, const char *what) {
  json_t *code = json_object_get(doc, "code");
  const char *cs = json_string_value(code);
  if ((cs && strcmp(cs, "0") == 0) || (json_is_integer(code) && json_integer_value(code) == 0))
    return 0;
  return scr_loop_fail(lp, SCR_SRC_PARTIAL, "%s: API error code %.64s", what,
                       cs ? cs : "(missing)");
}

static int daraz_begin(scr_loop_t *lp) {
  daraz_t *d = lp->self;
  const char *cursor = lp->cursor, *bar = strchr(cursor, '|');
  d->offset = 0;
  if (cursor[0] && bar) {
    int n = (int)(bar - cursor);
    snprintf(d->after, sizeof(d->after), "%.*s", n > 200 ? 200 : n, cursor);
    d->offset = strtoll(bar + 1, NULL, 10);
  } else {
    snprintf(d->after, sizeof(d->after), "%.200s",
             cursor[0] ? cursor : d->cfg->daraz_created_after);
  }
  return 0;
}

static int daraz_request(scr_loop_t *lp, scr_request_t *req) {
  daraz_t *d = lp->self;
  char off_s[32], lim_s[32];
  snprintf(off_s, sizeof(off_s), "%lld", d->offset);
  snprintf(lim_s, sizeof(lim_s), "%lld", (long long)d->cfg->daraz_limit);
  const char *bn[] = {"created_after", "offset", "limit", "sort_by", "sort_direction"};
  const char *bv[] = {d->after, off_s, lim_s, "created_at", "ASC"};
  req->what = "daraz /orders/get";
  return daraz_sign_url(lp, req, "/orders/get", bn, bv, 5);
}

/* The items of the whole page in one request: order_ids=[1,2,...]. */
static json_t *daraz_items(scr_loop_t *lp, const json_t *orders) {
  char ids[4096];
  size_t o = (size_t)snprintf(ids, sizeof(ids), "[");
  size_t i;
  json_t *order;
  json_array_foreach(orders, i, order) {
    char id[64];
    if (scr_json_id(json_object_get(order, "order_id"), id, sizeof(id)) == 0 && o < sizeof(ids))
      o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%s", o > 1 ? "," : "", id);
  }
  if (o < sizeof(ids))
    snprintf(ids + o, sizeof(ids) - o, "]");
  const char *in[] = {"order_ids"};
  const char *iv[] = {ids};
  scr_request_t req = {.what = "daraz /orders/items/get"};
  if (daraz_sign_url(lp, &req, "/orders/items/get", in, iv, 1) != 0) {
    explicit_bzero(req.url, sizeof(req.url)); /* it may hold the access token */
    return NULL;
  }
  json_t *doc = scr_loop_fetch(lp, &req);
  if (doc && daraz_ok(lp, doc, req.what) != 0) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static int daraz_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc,
                      scr_page_t *page) {
  (void)resp;
  daraz_t *d = lp->self;
  if (daraz_ok(lp, doc, "daraz /orders/get") != 0)
    return -1;
  const json_t *orders = json_object_get(json_object_get(doc, "data"), "orders");
  if (!json_is_array(orders))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "daraz /orders/get: no data.orders array");
  size_t count = json_array_size(orders);
  if (count && !(page->keep = daraz_items(lp, orders)))
    return -1;
  d->items_doc = page->keep;
  char last_created[64] = "";
  size_t i;
  json_t *order;
  json_array_foreach(orders, i, order) {
    scr_time_normalise(json_string_value(json_object_get(order, "created_at")), last_created,
                       sizeof(last_created));
  }
  d->offset += (long long)count;
  if (d->offset + d->cfg->daraz_limit > DARAZ_MAX_OFFSET && last_created[0]) {
    /* The API stops paging at offset 5000: restart the window at the last
     * order seen (orders sharing that second may come again; their key
     * makes downstream writes idempotent). */
    snprintf(d->after, sizeof(d->after), "%s", last_created);
    d->offset = 0;
  }
  page->items = orders;
  snprintf(page->cursor, sizeof(page->cursor), "%s|%lld", d->after, d->offset);
  page->more = (long long)count >= d->cfg->daraz_limit;
  return 0;
}

static size_t daraz_map(scr_loop_t *lp, const json_t *order, json_t *out) {
  daraz_t *d = lp->self;
  const json_t *items = NULL;
  size_t j;
  json_t *e;
  char want[64], have[64];
  /* Ids come as numbers in one response and strings in another: compare text. */
  if (scr_json_id(json_object_get(order, "order_id"), want, sizeof(want)) == 0) {
    json_array_foreach(json_object_get(d->items_doc, "data"), j, e) {
      if (scr_json_id(json_object_get(e, "order_id"), have, sizeof(have)) == 0 &&
          strcmp(want, have) == 0)
        items = json_object_get(e, "order_items");
    }
  }
  return scr_map_daraz_order(order, items, d->cfg->daraz_merchant_id, out);
}

void scr_src_daraz(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  daraz_t d = {.cfg = c};
  if (!c->daraz_app_key || !*c->daraz_app_key) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "daraz.app_key (DARAZ_APP_KEY) is not set");
    return;
  }
  if (!(d.app_secret = scr_config_secret(c->daraz_app_secret_file, "daraz.app_secret_file",
                                         "DARAZ_APP_SECRET", st->error, sizeof(st->error)))) {
    st->status = SCR_SRC_CONFIG;
    return;
  }
  static const char *const streams[] = {"orders"};
  scr_loop_spec_t spec = {.topic = run->cfg->daraz_topic,
                          .item = "order",
                          .rate_per_sec = c->daraz_rate,
                          .secret = {.file = c->daraz_access_token_file,
                                     .setting = "daraz.access_token_file",
                                     .env = "DARAZ_ACCESS_TOKEN"},
                          .streams = streams,
                          .nstreams = 1,
                          .self = &d,
                          .begin = daraz_begin,
                          .request = daraz_request,
                          .page = daraz_page,
                          .map = daraz_map};
  scr_page_loop(run, st, &spec);
  scr_secret_free(d.app_secret);
}
