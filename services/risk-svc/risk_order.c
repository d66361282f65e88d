/* risk_order — clean orders read into status events, and key names (see
 * risk_order.h). */
#include "risk_order.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"

int risk_status_final(const char *s) {
  return strcmp(s, "delivered") == 0 || strcmp(s, "returned") == 0 ||
         strcmp(s, "failed_delivery") == 0 || strcmp(s, "cancelled") == 0;
}

static int copy_field(const json_t *order, const char *name, char *out, size_t out_size,
                      char *errstr, size_t errstr_size) {
  const json_t *v = json_object_get(order, name);
  const char *s = json_string_value(v);
  if (!s || !*s || json_string_length(v) >= out_size || strlen(s) != json_string_length(v)) {
    snprintf(errstr, errstr_size, "/%s: missing, not a string or too long", name);
    return -1;
  }
  memcpy(out, s, json_string_length(v) + 1);
  return 0;
}

int risk_order_event_from_json(const json_t *order, risk_order_event_t *ev, char *errstr,
                               size_t errstr_size) {
  memset(ev, 0, sizeof(*ev));
  if (!json_is_object(order)) {
    snprintf(errstr, errstr_size, ": must be an object");
    return -1;
  }
  if (!json_object_get(order, "customer_phone_hash"))
    return 0;
  if (copy_field(order, "customer_phone_hash", ev->phash, sizeof(ev->phash), errstr, errstr_size) !=
          0 ||
      copy_field(order, "platform", ev->platform, sizeof(ev->platform), errstr, errstr_size) ||
      copy_field(order, "order_id", ev->order_id, sizeof(ev->order_id), errstr, errstr_size) ||
      copy_field(order, "order_status", ev->status, sizeof(ev->status), errstr, errstr_size))
    return -1;
  /* The hash tag braces must not be forged by a value: a pseudonym has none. */
  if (strpbrk(ev->phash, "{}") || !strchr(ev->phash, ':')) {
    snprintf(errstr, errstr_size, "/customer_phone_hash: not a pseudonym");
    return -1;
  }
  static const char *const statuses[] = {"pending",   "confirmed", "shipped",        "delivered",
                                         "cancelled", "returned",  "failed_delivery"};
  int known = 0;
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
    known |= strcmp(ev->status, statuses[i]) == 0;
  if (!known) {
    snprintf(errstr, errstr_size, "/order_status: not a known status");
    return -1;
  }
  const char *pm = json_string_value(json_object_get(order, "payment_method"));
  if (!pm || (strcmp(pm, "cod") && strcmp(pm, "prepaid"))) {
    snprintf(errstr, errstr_size, "/payment_method: must be cod or prepaid");
    return -1;
  }
  ev->cod = strcmp(pm, "cod") == 0;
  const char *ts = json_string_value(json_object_get(order, "timestamp"));
  if (!ts || clock_parse_rfc3339_ms(ts, &ev->ts_ms) != 0) {
    snprintf(errstr, errstr_size, "/timestamp: missing or not RFC 3339");
    return -1;
  }
  return 1;
}

int risk_customer_key(const char *prefix, const char *phash, const char *part, char *out,
                      size_t out_size) {
  int n = snprintf(out, out_size, "%s:{%s}:%s", prefix, phash, part);
  return n < 0 || (size_t)n >= out_size ? -1 : 0;
}
