/* Shopify Admin REST orders: GET /admin/api/<version>/orders.json?status=any
 * &limit=250&since_id=<cursor>, then the Link rel="next" URLs exactly as
 * given (page_info is opaque). since_id pages come in ascending id order, so
 * the cursor is the highest order id whose records were acknowledged. */
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

void scr_src_shopify(scr_run_t *run, scr_stats_t *st) {
  const scr_config_t *c = run->cfg;
  const char *topic = "source.market.shopify";
  char err[1024], cursor[SCR_CURSOR_MAX], url[8192], hdr[4200];
  if (!c->shopify_base_url || !*c->shopify_base_url) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "shopify.base_url (SHOPIFY_BASE_URL) is not set");
    return;
  }
  char *token = scr_config_secret(c->shopify_token_file, "shopify.token_file",
                                  "SHOPIFY_ACCESS_TOKEN", err, sizeof(err));
  if (!token) {
    st->status = SCR_SRC_CONFIG;
    snprintf(st->error, sizeof(st->error), "%s", err);
    return;
  }
  snprintf(hdr, sizeof(hdr), "X-Shopify-Access-Token: %s", token);
  scr_secret_free(token);
  const char *headers[] = {hdr, "Accept: application/json", NULL};
  const char *merchant = c->shopify_merchant_id;
  char host[256];
  if (!merchant || !*merchant) {
    /* The shop's host names the merchant: "https://x.myshopify.com" → x.myshopify.com. */
    const char *h = strstr(c->shopify_base_url, "://");
    h = h ? h + 3 : c->shopify_base_url;
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(h, "/"), h);
    merchant = host;
  }
  http_client_t *http = NULL;
  if (scr_cursor(run, st, "orders", cursor, sizeof(cursor)) != 0)
    goto out;
  if (!(http = scr_source_http(run, st, c->shopify_rate)))
    goto out;
  long long since_id = cursor[0] ? strtoll(cursor, NULL, 10) : 0;
  snprintf(url, sizeof(url), "%s/admin/api/%s/orders.json?status=any&limit=%lld&since_id=%lld",
           c->shopify_base_url, c->shopify_api_version, (long long)c->shopify_limit, since_id);
  size_t base_len = strlen(c->shopify_base_url);
  json_t *recs = json_array();
  while (st->pages < (uint64_t)c->max_pages && !scr_stopping(st)) {
    http_resp_t resp;
    int hrc = http_client_request(http, "GET", url, headers, NULL, &resp, err, sizeof(err));
    if (hrc != HTTP_CLIENT_OK) {
      scr_source_http_fail(st, hrc, "shopify orders", err);
      http_resp_free(&resp);
      break;
    }
    json_t *doc = scr_parse_page(&resp, st, "shopify orders");
    json_t *orders = json_object_get(doc, "orders");
    if (doc && !json_is_array(orders)) {
      st->status = SCR_SRC_PARTIAL;
      snprintf(st->error, sizeof(st->error), "shopify orders: page without an orders array");
    }
    if (st->status != SCR_SRC_OK) {
      json_decref(doc);
      http_resp_free(&resp);
      break;
    }
    size_t i;
    json_t *order;
    long long max_id = since_id;
    json_array_foreach(orders, i, order) {
      st->fetched++;
      json_array_clear(recs);
      if (scr_map_shopify_order(order, merchant, recs) == 0 &&
          scr_dead_letter_item(run, st, topic, order, "order") != 0)
        break;
      size_t j;
      json_t *rec;
      json_array_foreach(recs, j, rec) {
        if (scr_emit(run, st, topic, rec, NULL, 0, (int64_t)st->fetched) != 0)
          break;
      }
      json_t *idv = json_object_get(order, "id");
      if (json_is_integer(idv) && json_integer_value(idv) > max_id)
        max_id = json_integer_value(idv);
      if (st->status != SCR_SRC_OK)
        break;
    }
    json_decref(doc);
    st->pages++;
    char value[32];
    snprintf(value, sizeof(value), "%lld", max_id);
    if (st->status != SCR_SRC_OK || scr_checkpoint(run, st, "orders", value) != 0) {
      http_resp_free(&resp);
      break;
    }
    since_id = max_id;
    int more = resp.link ? http_link_next(resp.link, url, sizeof(url)) : 0;
    http_resp_free(&resp);
    if (more <= 0)
      break;
    /* The token goes only to the configured shop, never to another origin. */
    if (strncmp(url, c->shopify_base_url, base_len) != 0 ||
        (url[base_len] != '/' && url[base_len] != '\0')) {
      st->status = SCR_SRC_PARTIAL;
      snprintf(st->error, sizeof(st->error), "shopify: Link next points outside shopify.base_url");
      break;
    }
  }
  json_decref(recs);
out:
  explicit_bzero(hdr, sizeof(hdr));
  scr_source_http_done(http, st);
}
