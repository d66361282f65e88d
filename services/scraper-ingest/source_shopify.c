/* Shopify Admin REST orders: GET /admin/api/<version>/orders.json?status=any
 * &limit=250&since_id=<cursor>, then the Link rel="next" URLs exactly as
 * given (page_info is opaque), only within shopify.base_url. since_id pages
 * come in ascending id order, so the cursor is the highest order id whose
 * records were acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source.h"

static const char *str_at(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : NULL;
}

const char *scr_shopify_status(const json_t *order) {
  const char *fin = str_at(order, "financial_status");
  const char *ful = str_at(order, "fulfillment_status");
  if (str_at(order, "cancelled_at"))
    return "cancelled";
  if (fin && strcmp(fin, "refunded") == 0)
    return "returned";
  if (ful && strcmp(ful, "fulfilled") == 0)
    return "shipped";
  if (ful && strcmp(ful, "partial") == 0)
    return "confirmed";
  if (fin && (strcmp(fin, "paid") == 0 || strcmp(fin, "partially_paid") == 0))
    return "confirmed";
  return "pending";
}

static int mentions_cod(const char *s) {
  return s && (strcasestr(s, "cash on delivery") || strcasestr(s, "cod") ||
               strcasestr(s, "cash_on_delivery"));
}

static const char *payment_method(const json_t *order) {
  if (mentions_cod(str_at(order, "gateway")))
    return "cod";
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(order, "payment_gateway_names"), i, v) {
    if (mentions_cod(json_string_value(v)))
      return "cod";
  }
  return "prepaid";
}

size_t scr_map_shopify_order(const json_t *order, const char *merchant_id, json_t *out) {
  if (!json_is_object(order))
    return 0;
  json_t *base = json_object();
  char id[64], ts[64];
  json_object_set_new(base, "platform", json_string("shopify"));
  if (scr_json_id(json_object_get(order, "id"), id, sizeof(id)) == 0)
    json_object_set_new(base, "order_id", json_string(id));
  scr_set_str(base, "merchant_id", merchant_id);
  const char *cur = str_at(order, "currency");
  scr_set_str(base, "currency", cur ? cur : "BDT");
  json_object_set_new(base, "order_status", json_string(scr_shopify_status(order)));
  json_object_set_new(base, "payment_method", json_string(payment_method(order)));
  const json_t *ship = json_object_get(order, "shipping_address");
  const json_t *bill = json_object_get(order, "billing_address");
  const json_t *cust = json_object_get(order, "customer");
  const char *city = str_at(ship, "city");
  scr_set_str(base, "shipping_city", city ? city : str_at(bill, "city"));
  const char *phone = str_at(ship, "phone");
  if (!phone)
    phone = str_at(order, "phone");
  if (!phone)
    phone = str_at(cust, "phone");
  if (!phone)
    phone = str_at(bill, "phone");
  scr_set_str(base, "customer_phone", phone);
  const char *email = str_at(order, "email");
  scr_set_str(base, "customer_email", email ? email : str_at(order, "contact_email"));
  const char *name = str_at(ship, "name");
  char full[300];
  if (!name && (str_at(cust, "first_name") || str_at(cust, "last_name"))) {
    snprintf(full, sizeof(full), "%s%s%s",
             str_at(cust, "first_name") ? str_at(cust, "first_name") : "",
             str_at(cust, "first_name") && str_at(cust, "last_name") ? " " : "",
             str_at(cust, "last_name") ? str_at(cust, "last_name") : "");
    name = full;
  }
  scr_set_str(base, "customer_name", name);
  scr_set_str(base, "note", str_at(order, "note"));
  if (scr_time_normalise(str_at(order, "created_at"), ts, sizeof(ts)) == 0)
    json_object_set_new(base, "timestamp", json_string(ts));

  const json_t *items = json_object_get(order, "line_items");
  size_t n = 0, i;
  json_t *li;
  json_array_foreach(items, i, li) {
    json_t *rec = json_deep_copy(base);
    char pid[128];
    if (scr_json_id(json_object_get(li, "product_id"), pid, sizeof(pid)) == 0 ||
        scr_json_id(json_object_get(li, "sku"), pid, sizeof(pid)) == 0 ||
        scr_json_id(json_object_get(li, "variant_id"), pid, sizeof(pid)) == 0)
      json_object_set_new(rec, "product_id", json_string(pid));
    const char *pname = str_at(li, "name");
    scr_set_str(rec, "product_name", pname ? pname : str_at(li, "title"));
    json_t *q = json_object_get(li, "quantity");
    if (json_is_integer(q))
      json_object_set_new(rec, "quantity", json_integer(json_integer_value(q)));
    double price;
    if (scr_json_number(json_object_get(li, "price"), &price) == 0)
      json_object_set_new(rec, "price", json_real(price));
    json_array_append_new(out, rec);
    n++;
  }
  if (n == 0) {
    json_array_append(out, base);
    n = 1;
  }
  json_decref(base);
  return n;
}

typedef struct shopify {
  const char *base_url, *merchant;
  char url[SCR_URL_MAX]; /* the next page: since_id first, then Link rel="next" */
  int from_link;
  long long since_id;
} shopify_t;

static int shopify_begin(scr_loop_t *lp) {
  shopify_t *s = lp->self;
  const scr_config_t *c = lp->run->cfg;
  s->since_id = lp->cursor[0] ? strtoll(lp->cursor, NULL, 10) : 0;
  s->from_link = 0;
  snprintf(s->url, sizeof(s->url),
           "%s/admin/api/%s/orders.json?status=any&limit=%lld&since_id=%lld", s->base_url,
           c->shopify_api_version, (long long)c->shopify_limit, s->since_id);
  return 0;
}

static int shopify_request(scr_loop_t *lp, scr_request_t *req) {
  shopify_t *s = lp->self;
  size_t n = strlen(s->base_url);
  /* The token goes only to the configured shop, never to another origin. */
  if (s->from_link && (strncmp(s->url, s->base_url, n) != 0 || (s->url[n] != '/' && s->url[n])))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "shopify: Link next points outside shopify.base_url");
  static const char *const headers[] = {"Accept: application/json", NULL};
  snprintf(req->url, sizeof(req->url), "%s", s->url);
  req->headers = headers;
  req->what = "shopify orders";
  return 0;
}

/* since_id pages come in ascending id order: the cursor is the highest id. */
static int shopify_page(scr_loop_t *lp, const http_resp_t *resp, const json_t *doc,
                        scr_page_t *page) {
  shopify_t *s = lp->self;
  const json_t *orders = json_object_get(doc, "orders");
  if (!json_is_array(orders))
    return scr_loop_fail(lp, SCR_SRC_PARTIAL, "shopify orders: page without an orders array");
  size_t i;
  json_t *order;
  json_array_foreach(orders, i, order) {
    json_t *id = json_object_get(order, "id");
    if (json_is_integer(id) && json_integer_value(id) > s->since_id)
      s->since_id = json_integer_value(id);
  }
  page->items = orders;
  snprintf(page->cursor, sizeof(page->cursor), "%lld", s->since_id);
  page->more = resp->link && http_link_next(resp->link, s->url, sizeof(s->url)) > 0;
  s->from_link = 1;
  return 0;
}

static size_t shopify_map(scr_loop_t *lp, const json_t *order, json_t *out) {
  return scr_map_shopify_order(order, ((shopify_t *)lp->self)->merchant, out);
}

void scr_src_shopify(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  shopify_t s = {.base_url = c->shopify_base_url, .merchant = c->shopify_merchant_id};
  char host[256];
  if (!s.base_url || !*s.base_url) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "shopify.base_url (SHOPIFY_BASE_URL) is not set");
    return;
  }
  if (!s.merchant || !*s.merchant) {
    /* The shop's host names the merchant: "https://x.myshopify.com" → x.myshopify.com. */
    const char *h = strstr(s.base_url, "://");
    h = h ? h + 3 : s.base_url;
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, "/"), h);
    s.merchant = host;
  }
  static const char *const streams[] = {"orders"};
  scr_loop_spec_t spec = {.topic = run->cfg->shopify_topic,
                          .item = "order",
                          .rate_per_sec = c->shopify_rate,
                          .secret = {.file = c->shopify_token_file,
                                     .setting = "shopify.token_file",
                                     .env = "SHOPIFY_ACCESS_TOKEN",
                                     .header = "X-Shopify-Access-Token: "},
                          .streams = streams,
                          .nstreams = 1,
                          .self = &s,
                          .begin = shopify_begin,
                          .request = shopify_request,
                          .page = shopify_page,
                          .map = shopify_map};
  scr_page_loop(run, st, &spec);
}
