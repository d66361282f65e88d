/* weaviate_batch: batch objects, request bodies split by count and bytes,
 * per-object results and the meaning of Weaviate's error messages. Pure:
 * no I/O, so every rule here is unit-tested with the documented shapes. */
#include "weaviate_batch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/weaviate.h"

/* Appends and keeps the text NUL-terminated: bodies go to libcurl as C
 * strings. */
static int put(jsonf_buf_t *b, const char *s, size_t n) {
  if (jsonf_buf_append(b, s, n) || jsonf_buf_append(b, "", 1))
    return -1;
  b->len--;
  return 0;
}

static int puts_(jsonf_buf_t *b, const char *s) {
  return put(b, s, strlen(s));
}

/* A JSON value of the record, or def when it is absent. */
static int put_value(jsonf_buf_t *b, const json_t *v, const char *def) {
  return v ? jsonf_dump(v, b) : puts_(b, def);
}

int wv_encode_object(const char *class_name, post_row_t *row) {
  jsonf_buf_t b = {0};
  json_t *cls = json_string(class_name);
  const json_t *d = row->doc;
  char num[32];
  int bad = !cls || puts_(&b, "{\"class\":") || jsonf_dump(cls, &b) || puts_(&b, ",\"id\":\"") ||
            puts_(&b, row->id) || puts_(&b, "\",\"vector\":[");
  for (size_t i = 0; !bad && i < row->dim; i++) {
    size_t n = post_float_text(row->vector[i], num + 1);
    num[0] = ',';
    bad = i ? put(&b, num, n + 1) : put(&b, num + 1, n);
  }
  snprintf(num, sizeof(num), "%lld", (long long)row->engagement);
  bad = bad || puts_(&b, "],\"properties\":{\"post_id\":") ||
        put_value(&b, json_object_get(d, "post_id"), "\"\"") || puts_(&b, ",\"platform\":") ||
        put_value(&b, json_object_get(d, "platform"), "\"\"") || puts_(&b, ",\"content\":") ||
        put_value(&b, row->content_v, "\"\"") || puts_(&b, ",\"timestamp\":") ||
        put_value(&b, json_object_get(d, "timestamp"), "\"\"") || puts_(&b, ",\"engagement\":") ||
        puts_(&b, num) || puts_(&b, ",\"hashtags\":") || put_value(&b, row->hashtags, "[]") ||
        puts_(&b, ",\"product_ids\":") || put_value(&b, row->product_ids, "[]") ||
        puts_(&b, ",\"model\":") || put_value(&b, json_object_get(d, "model"), "\"\"") ||
        puts_(&b, "}}");
  json_decref(cls);
  if (bad) {
    jsonf_buf_free(&b);
    return -1;
  }
  free(row->wire);
  row->wire = b.data; /* owned by the row */
  row->wire_len = b.len;
  return 0;
}

int wv_batch_build(post_row_t *const *rows, size_t n, size_t max_objects, size_t max_bytes,
                   jsonf_buf_t *body, size_t *taken) {
  body->len = 0;
  *taken = 0;
  if (WV_BATCH_OVERHEAD + rows[0]->wire_len > max_bytes)
    return 0;
  size_t k = 0, size = WV_BATCH_OVERHEAD;
  if (puts_(body, "{\"objects\":["))
    return -1;
  while (k < n && k < max_objects) {
    size_t add = rows[k]->wire_len + (k ? 1 : 0);
    if (size + add > max_bytes)
      break;
    if ((k && put(body, ",", 1)) || put(body, rows[k]->wire, rows[k]->wire_len))
      return -1;
    size += add;
    k++;
  }
  if (puts_(body, "]}"))
    return -1;
  *taken = k;
  return 0;
}

/* ---- errors ------------------------------------------------------------ */

typedef struct pattern {
  const char *needle; /* matched case-insensitively */
  int status;
  const char *label;
} pattern_t;

/* First match wins: the specific permanent causes first, so "invalid ...
 * timeout property" is not taken for a timeout. */
static const pattern_t patterns[] = {
    {"vector length", WV_PERMANENT, "vector_length"},
    {"vector with length", WV_PERMANENT, "vector_length"},
    {"vector lengths", WV_PERMANENT, "vector_length"},
    {"dimension", WV_PERMANENT, "vector_length"},
    {" property ", WV_PERMANENT, "property_type"},
    {"not a valid uuid", WV_PERMANENT, "invalid_id"},
    {"invalid uuid", WV_PERMANENT, "invalid_id"},
    {"context deadline exceeded", WV_TRANSIENT, "timeout"},
    {"deadline exceeded", WV_TRANSIENT, "timeout"},
    {"timeout", WV_TRANSIENT, "timeout"},
    {"timed out", WV_TRANSIENT, "timeout"},
    {"read-only", WV_TRANSIENT, "read_only"},
    {"read only", WV_TRANSIENT, "read_only"},
    {"readonly", WV_TRANSIENT, "read_only"},
    {"consistency level", WV_TRANSIENT, "replication"},
    {"replica", WV_TRANSIENT, "replication"},
    {"quorum", WV_TRANSIENT, "replication"},
    {"too many requests", WV_TRANSIENT, "throttled"},
    {"rate limit", WV_TRANSIENT, "throttled"},
    {"resource exhausted", WV_TRANSIENT, "throttled"},
    {"connection refused", WV_TRANSIENT, "unavailable"},
    {"connection reset", WV_TRANSIENT, "unavailable"},
    {"broken pipe", WV_TRANSIENT, "unavailable"},
    {"unavailable", WV_TRANSIENT, "unavailable"},
    {"shutting down", WV_TRANSIENT, "unavailable"},
    {"not ready", WV_TRANSIENT, "unavailable"},
    {"i/o", WV_TRANSIENT, "unavailable"},
    {"unexpected eof", WV_TRANSIENT, "unavailable"},
    {": eof", WV_TRANSIENT, "unavailable"},
    /* A class deleted or not yet replicated to this node: the store checks
     * the schema again and retries, it does not dead-letter every post. */
    {"class not found", WV_TRANSIENT, "class_missing"},
    {"no such class", WV_TRANSIENT, "class_missing"},
    {"not found in schema", WV_TRANSIENT, "class_missing"},
    {"could not find class", WV_TRANSIENT, "class_missing"},
};

int wv_error_classify(const char *message, const char **label) {
  for (size_t i = 0; message && i < sizeof(patterns) / sizeof(patterns[0]); i++)
    if (strcasestr(message, patterns[i].needle)) {
      *label = patterns[i].label;
      return patterns[i].status;
    }
  *label = "other";
  return WV_PERMANENT;
}

void wv_error_redact(const char *msg, char *out, size_t out_size) {
  size_t o = 0;
  const char *p = msg ? msg : "";
  while (*p && o + 4 < out_size) {
    /* After the word "value", a quoted string is the offending value. */
    if (strncasecmp(p, "value", 5) == 0) {
      const char *q = p + 5;
      while (*q && (*q == ' ' || *q == ':' || isalpha((unsigned char)*q)) && (size_t)(q - p) < 24 &&
             *q != '\'' && *q != '"')
        q++;
      if (*q == '\'' || *q == '"') {
        char quote = *q;
        const char *end = strchr(q + 1, quote);
        size_t keep = (size_t)(q - p) + 1;
        /* No closing quote (the message was cut, by Weaviate or by the
         * join of several messages): the value runs to the end. No room
         * for the redaction: the message ends here. Either way the value
         * is never copied. */
        if (o + keep + 5 >= out_size)
          break;
        memcpy(out + o, p, keep);
        o += keep;
        memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
        o += 3;
        if (!end)
          break;
        out[o++] = quote;
        p = end + 1;
        continue;
      }
    }
    out[o++] = *p++;
  }
  out[o] = '\0';
}

static void set_error(wv_result_t *r, const char *msg) {
  if (!msg || !*msg)
    msg = "object failed without a message";
  r->status = wv_error_classify(msg, &r->error_class);
  wv_error_redact(msg, r->message, sizeof(r->message));
}

static void read_item(const json_t *item, wv_result_t *r) {
  const json_t *res = json_object_get(item, "result");
  const json_t *errs = json_object_get(res, "errors");
  const char *status = json_string_value(json_object_get(res, "status"));
  char msg[1024];
  weaviate_error_join(errs, msg, sizeof(msg));
  memset(r, 0, sizeof(*r));
  r->error_class = "";
  if (msg[0] || (status && strcmp(status, "FAILED") == 0))
    set_error(r, msg);
}

static int same_id(const json_t *v, const char *id) {
  uint8_t a[16], b[16];
  return json_is_string(v) && uuid_parse(json_string_value(v), json_string_length(v), a) == 0 &&
         uuid_parse(id, 36, b) == 0 && memcmp(a, b, 16) == 0;
}

int wv_batch_parse(const char *body, size_t len, post_row_t *const *rows, size_t n,
                   wv_result_t *results, char *errstr, size_t errstr_size) {
  char perr[256];
  json_t *doc = jsonf_parse(body, len, 64, perr, sizeof(perr));
  if (!json_is_array(doc)) {
    snprintf(errstr, errstr_size, "batch response is not an array%s%s", doc ? "" : ": ",
             doc ? "" : perr);
    json_decref(doc);
    return -1;
  }
  size_t got = json_array_size(doc);
  for (size_t i = 0; i < n; i++) {
    const json_t *item = i < got ? json_array_get(doc, i) : NULL;
    if (!item || !same_id(json_object_get(item, "id"), rows[i]->id)) {
      item = NULL;
      for (size_t j = 0; j < got && !item; j++)
        if (same_id(json_object_get(json_array_get(doc, j), "id"), rows[i]->id))
          item = json_array_get(doc, j);
    }
    if (!item) {
      snprintf(errstr, errstr_size,
               "batch response has %zu items for %zu objects, object %zu "
               "missing",
               got, n, i);
      json_decref(doc);
      return -1;
    }
    read_item(item, &results[i]);
  }
  json_decref(doc);
  return 0;
}

int wv_delete_build(const char *class_name, const char *const *ids, size_t n, jsonf_buf_t *body) {
  body->len = 0;
  json_t *cls = json_string(class_name);
  int bad = !cls || puts_(body, "{\"match\":{\"class\":") || jsonf_dump(cls, body) ||
            puts_(body, ",\"where\":{\"path\":[\"id\"],\"operator\":\"ContainsAny\","
                        "\"valueTextArray\":[");
  for (size_t i = 0; !bad && i < n; i++)
    bad =
        (i && put(body, ",", 1)) || put(body, "\"", 1) || puts_(body, ids[i]) || put(body, "\"", 1);
  bad = bad || puts_(body, "]}},\"output\":\"verbose\",\"dryRun\":false}");
  json_decref(cls);
  return bad ? -1 : 0;
}

int wv_delete_parse(const char *body, size_t len, const char *const *ids, size_t n,
                    wv_result_t *results, char *errstr, size_t errstr_size) {
  json_t *doc = jsonf_parse(body, len, 64, NULL, 0);
  const json_t *res = json_object_get(doc, "results");
  if (!json_is_object(res)) {
    snprintf(errstr, errstr_size, "batch delete response has no results object");
    json_decref(doc);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    memset(&results[i], 0, sizeof(results[i]));
    results[i].error_class = "";
  }
  const json_t *objs = json_object_get(res, "objects"), *o;
  size_t k;
  json_array_foreach(objs, k, o) {
    const char *status = json_string_value(json_object_get(o, "status"));
    if (!status || strcmp(status, "FAILED") != 0)
      continue;
    char msg[1024];
    weaviate_error_join(json_object_get(o, "errors"), msg, sizeof(msg));
    for (size_t i = 0; i < n; i++)
      if (same_id(json_object_get(o, "id"), ids[i]))
        set_error(&results[i], msg);
  }
  json_decref(doc);
  return 0;
}
