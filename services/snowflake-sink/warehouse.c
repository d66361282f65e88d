/* warehouse — table descriptions and the record → row mapping (see
 * warehouse.h). The column lists follow deploy/sql/ (a unit test checks
 * both DDL files against them). */
#include "warehouse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonf.h"

#define KAFKA_COLS                                                                                 \
  {"kafka_topic", WH_TEXT, "@topic", NULL}, {"kafka_partition", WH_INT, "@partition", NULL}, {     \
    "kafka_offset", WH_INT, "@offset", NULL                                                        \
  }

static const wh_column_t orders_cols[] = {
    {"order_id", WH_TEXT, "order_id", NULL},
    {"platform", WH_TEXT, "platform", NULL},
    {"merchant_id", WH_TEXT, "merchant_id", NULL},
    {"product_id", WH_TEXT, "product_id", NULL},
    {"product_name", WH_TEXT, "product_name", NULL},
    {"quantity", WH_INT, "quantity", NULL},
    {"price", WH_NUMERIC, "price", NULL},
    {"currency", WH_TEXT, "currency", "BDT"},
    {"order_status", WH_TEXT, "order_status", NULL},
    {"payment_method", WH_TEXT, "payment_method", NULL},
    {"shipping_city", WH_TEXT, "shipping_city", NULL},
    {"customer_phone_hash", WH_TEXT, "customer_phone_hash", NULL},
    {"customer_email_hash", WH_TEXT, "customer_email_hash", NULL},
    {"customer_name_hash", WH_TEXT, "customer_name_hash", NULL},
    {"event_time", WH_TIME, "timestamp", NULL},
    KAFKA_COLS,
};

static const wh_column_t weather_cols[] = {
    {"city", WH_TEXT, "city", NULL},
    {"observed_at", WH_TIME, "timestamp", NULL},
    {"temperature", WH_DOUBLE, "temperature", NULL},
    {"condition", WH_TEXT, "condition", NULL},
    {"humidity", WH_DOUBLE, "humidity", NULL},
    {"wind_speed", WH_DOUBLE, "wind_speed", NULL},
    {"is_extreme_weather", WH_BOOL, "is_extreme_weather", "false"},
    KAFKA_COLS,
};

static const wh_column_t risk_cols[] = {
    {"order_id", WH_TEXT, "order_id", NULL},
    {"score", WH_INT, "score", NULL},
    {"decision", WH_TEXT, "decision", NULL},
    {"reasons", WH_JSON, "reasons", "[]"},
    {"rules_version", WH_TEXT, "rules_version", NULL},
    {"decided_at", WH_TIME, "timestamp", NULL},
    {"decision_id", WH_TEXT, "decision_id", NULL},
    {"features", WH_JSON, "features", NULL},
    KAFKA_COLS,
};

static const wh_column_t audit_cols[] = {
    {"topic", WH_TEXT, "topic", NULL},
    {"partition", WH_INT, "partition", NULL},
    {"offset", WH_INT, "offset", NULL},
    {"counts", WH_JSON, "counts", "{}"},
    {"detector_version", WH_TEXT, "detector_version", NULL},
    {"key_id", WH_TEXT, "key_id", NULL},
    {"at", WH_TIME, "timestamp", NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const wh_table_t tables[WH_TABLE_COUNT] = {
    {WH_ORDERS, "orders", "clean_market_order.json", "platform, order_id, product_id", orders_cols,
     COUNT(orders_cols)},
    {WH_WEATHER, "weather_observations", "weather_observation.json", "city, observed_at",
     weather_cols, COUNT(weather_cols)},
    {WH_RISK, "risk_decisions", "risk_decision.json", "order_id, rules_version", risk_cols,
     COUNT(risk_cols)},
    {WH_AUDIT, "privacy_audit", "privacy_audit.json", "topic, \"partition\", \"offset\"",
     audit_cols, COUNT(audit_cols)},
};

const wh_table_t *wh_table(wh_table_id_t id) {
  return id < WH_TABLE_COUNT ? &tables[id] : NULL;
}

const wh_table_t *wh_table_by_name(const char *name) {
  for (size_t i = 0; name && i < WH_TABLE_COUNT; i++)
    if (strcmp(tables[i].name, name) == 0)
      return &tables[i];
  return NULL;
}

const char *wh_value(const wh_row_t *row, size_t i, size_t *len) {
  if (i >= row->ncols || row->off[i] < 0) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = row->len[i];
  return row->data + row->off[i];
}

/* One row's values while they are mapped: a stack buffer, on the heap only
 * for a row larger than it (large JSON columns). */
typedef struct scratch {
  char *data;
  size_t len, cap;
  char stack[2048];
} scratch_t;

static int scratch_add(scratch_t *s, const char *p, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap * 2;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *d = malloc(cap); /* owned by s */
    if (!d)
      return -1;
    memcpy(d, s->data, s->len);
    if (s->data != s->stack)
      free(s->data);
    s->data = d;
    s->cap = cap;
  }
  memcpy(s->data + s->len, p, n);
  s->len += n;
  s->data[s->len++] = '\0';
  return 0;
}

/* Decimal text of v into out (>= 21 bytes); returns the length. snprintf's
 * format parsing cost more than the rest of a row's mapping. */
static size_t int_text(long long v, char *out) {
  char tmp[24];
  size_t n = 0, o = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    out[o++] = '-';
  while (n)
    out[o++] = tmp[--n];
  out[o] = '\0';
  return o;
}

int wh_number_text(const json_t *v, char *out, size_t out_size) {
  int n;
  if (json_is_integer(v)) {
    if (out_size < 21)
      return -1;
    n = (int)int_text((long long)json_integer_value(v), out);
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (!isfinite(d))
      return -1;
    /* The shortest of 15..17 significant digits that reads back exactly:
     * 1299.99 stays "1299.99", not "1299.9900000000000091". */
    n = -1;
    for (int prec = 15; prec <= 17; prec++) {
      n = snprintf(out, out_size, "%.*g", prec, d);
      if (n < 0 || (size_t)n >= out_size || strtod(out, NULL) == d)
        break;
    }
  } else {
    return -1;
  }
  return n < 0 || (size_t)n >= out_size ? -1 : n;
}

/* Appends the text of one column's value; sets *is_null. Returns 0 or -1
 * with errstr. */
static int column_text(const wh_column_t *c, const json_t *doc, const stage_msg_t *msg,
                       scratch_t *s, int *is_null, char *errstr, size_t errstr_size) {
  char num[64];
  *is_null = 0;
  if (c->src[0] == '@') {
    if (strcmp(c->src, "@topic") == 0)
      return scratch_add(s, msg->topic, strlen(msg->topic));
    long long v = strcmp(c->src, "@partition") == 0 ? msg->partition : msg->offset;
    return scratch_add(s, num, int_text(v, num));
  }
  const json_t *v = json_object_get(doc, c->src);
  if (!v || json_is_null(v)) {
    if (!c->def) {
      *is_null = 1;
      return 0;
    }
    return scratch_add(s, c->def, strlen(c->def));
  }
  int n = -1;
  switch (c->kind) {
  case WH_TEXT:
  case WH_TIME:
    if (json_is_string(v))
      return scratch_add(s, json_string_value(v), json_string_length(v));
    break;
  case WH_INT:
    if (json_is_integer(v)) {
      n = (int)int_text((long long)json_integer_value(v), num);
    } else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
               fabs(json_real_value(v)) < 9.2e18) {
      n = (int)int_text((long long)json_real_value(v), num);
    }
    break;
  case WH_NUMERIC:
  case WH_DOUBLE:
    n = wh_number_text(v, num, sizeof(num));
    break;
  case WH_BOOL:
    if (json_is_boolean(v))
      return scratch_add(s, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
    break;
  case WH_JSON: {
    jsonf_buf_t b = {0};
    int rc = jsonf_dump(v, &b);
    if (rc == 0)
      rc = scratch_add(s, b.data, b.len);
    jsonf_buf_free(&b);
    if (rc != 0)
      snprintf(errstr, errstr_size, "/%s: cannot be serialised", c->src);
    return rc;
  }
  }
  if (n < 0) {
    snprintf(errstr, errstr_size, "/%s: has the wrong type for column %s", c->src, c->name);
    return -1;
  }
  return scratch_add(s, num, (size_t)n);
}

wh_row_t *wh_row_map(const wh_table_t *t, const json_t *doc, const stage_msg_t *msg, char *errstr,
                     size_t errstr_size) {
  int32_t off[WH_MAX_COLS];
  uint32_t len[WH_MAX_COLS];
  scratch_t s;
  s.data = s.stack;
  s.len = 0;
  s.cap = sizeof(s.stack);
  if (errstr_size)
    errstr[0] = '\0';
  if (!json_is_object(doc)) {
    snprintf(errstr, errstr_size, "record is not a JSON object");
    return NULL;
  }
  for (size_t i = 0; i < t->ncols; i++) {
    size_t start = s.len;
    int is_null;
    if (column_text(&t->cols[i], doc, msg, &s, &is_null, errstr, errstr_size) != 0) {
      if (!*errstr)
        snprintf(errstr, errstr_size, "out of memory");
      if (s.data != s.stack)
        free(s.data);
      return NULL;
    }
    off[i] = is_null ? -1 : (int32_t)start;
    len[i] = is_null ? 0 : (uint32_t)(s.len - start - 1);
  }
  wh_row_t *row = malloc(sizeof(*row) + s.len); /* owned by the caller */
  if (!row) {
    snprintf(errstr, errstr_size, "out of memory");
    if (s.data != s.stack)
      free(s.data);
    return NULL;
  }
  row->table = (uint8_t)t->id;
  row->ncols = (uint8_t)t->ncols;
  memcpy(row->off, off, sizeof(off[0]) * t->ncols);
  memcpy(row->len, len, sizeof(len[0]) * t->ncols);
  row->bytes = s.len;
  if (s.len)
    memcpy(row->data, s.data, s.len);
  if (s.data != s.stack)
    free(s.data);
  return row;
}
