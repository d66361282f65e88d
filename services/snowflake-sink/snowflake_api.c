/* snowflake_api — request ids, bodies and the response parser of the
 * Snowflake SQL API (see snowflake_api.h). */
#include "snowflake_api.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "warehouse.h"
#include "json/jsonf.h"

#define SFAPI_MAX_DEPTH 32

void sfapi_request_id(const char *scope, const stage_sink_range_t *ranges, size_t n,
                      const char *nonce, char out[37]) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  char line[512];
  int stdio = 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  memset(md, 0, sizeof(md)); /* an OpenSSL failure (no memory) still yields a well-formed id */
  EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  int len = snprintf(line, sizeof(line), "sensory-snowflake-sink/1\n%s\n", scope ? scope : "");
  EVP_DigestUpdate(c, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len : strlen(line));
  for (size_t i = 0; i < n; i++) {
    len = snprintf(line, sizeof(line), "%s\t%d\t%lld\t%lld\n", ranges[i].topic,
                   (int)ranges[i].partition, (long long)ranges[i].first, (long long)ranges[i].last);
    EVP_DigestUpdate(c, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len : strlen(line));
    stdio |= ranges[i].partition < 0;
  }
  if (stdio && nonce) {
    EVP_DigestUpdate(c, "nonce\t", 6);
    EVP_DigestUpdate(c, nonce, strlen(nonce));
    EVP_DigestUpdate(c, "\n", 1);
  }
  EVP_DigestFinal_ex(c, md, &md_len);
  EVP_MD_CTX_free(c);
  md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* version 8: custom (RFC 9562 §5.8) */
  md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant 10 */
  /* 8-4-4-4-12 hex digits: the byte groups 0-3, 4-5, 6-7, 8-9, 10-15. */
  static const int from[] = {0, 4, 6, 8, 10, 16};
  size_t o = 0;
  for (int g = 0; g < 5; g++) {
    if (g)
      out[o++] = '-';
    hex_encode(md + from[g], (size_t)(from[g + 1] - from[g]), out + o, 37 - o, HEX_LOWER);
    o += 2 * (size_t)(from[g + 1] - from[g]);
  }
}

int sfapi_bind_text(json_t **bindings, int pos, const char *value, size_t len) {
  if (!*bindings && !(*bindings = json_object()))
    return -1;
  char key[16];
  snprintf(key, sizeof(key), "%d", pos);
  json_t *v = value ? json_stringn(value, len) : json_null();
  json_t *b = v ? json_pack("{s:s,s:o}", "type", "TEXT", "value", v) : NULL;
  return b ? json_object_set_new(*bindings, key, b) : -1;
}

char *sfapi_statement_body(const sfapi_target_t *t, const char *statement, json_t *bindings,
                           int multi) {
  json_t *o = json_object();
  char *out = NULL;
  if (!o || json_object_set_new(o, "statement", json_string(statement)) != 0) {
    json_decref(bindings);
    json_decref(o);
    return NULL;
  }
  if (t->timeout_s > 0)
    json_object_set_new(o, "timeout", json_integer(t->timeout_s));
  static const char *const names[] = {"database", "schema", "warehouse", "role"};
  const char *vals[] = {t->database, t->schema, t->warehouse, t->role};
  for (size_t i = 0; i < 4; i++)
    if (vals[i] && *vals[i])
      json_object_set_new(o, names[i], json_string(vals[i]));
  if (bindings)
    json_object_set_new(o, "bindings", bindings);
  json_t *params = json_pack("{s:s}", "query_tag", "snowflake-sink");
  if (params && multi)
    json_object_set_new(params, "multi_statement_count", json_integer(0));
  if (params)
    json_object_set_new(o, "parameters", params);
  out = jsonf_dumps(o, NULL);
  json_decref(o);
  return out;
}

/* A JSON string (or null) for a row value. */
static json_t *value_json(const wh_row_t *row, size_t i) {
  size_t len;
  const char *v = wh_value(row, i, &len);
  return v ? json_stringn(v, len) : json_null();
}

static json_t *coord(long long v) {
  char num[32];
  snprintf(num, sizeof(num), "%lld", v);
  return json_string(num);
}

int sfapi_batch_json(stage_sink_record_t *const *recs, size_t n, const stage_sink_range_t *saves,
                     size_t nsaves, char **out, size_t *out_len) {
  *out = NULL;
  json_t *doc = json_object(), *offsets = json_array();
  int rc = doc && offsets && json_object_set_new(doc, "offsets", offsets) == 0 ? 0 : -1;
  if (rc != 0)
    json_decref(offsets);
  for (size_t i = 0; rc == 0 && i < nsaves; i++) {
    if (saves[i].partition < 0)
      continue;
    json_t *e = json_pack("[s,o,o]", saves[i].topic, coord(saves[i].partition),
                          coord((long long)saves[i].last + 1));
    rc = e ? json_array_append_new(offsets, e) : -1;
  }
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const wh_row_t *row = recs[i]->row;
    const stage_msg_t *m = recs[i]->msg;
    const wh_table_t *t = wh_table((wh_table_id_t)row->table);
    json_t *rows = json_object_get(doc, t->name);
    if (!rows && (!(rows = json_array()) || json_object_set_new(doc, t->name, rows) != 0)) {
      rc = -1;
      break;
    }
    json_t *r = json_array();
    for (size_t c = 0; r && c < row->ncols; c++)
      if (json_array_append_new(r, value_json(row, c)) != 0)
        json_decref(r), r = NULL;
    if (r && (json_array_append_new(r, json_string(m->topic)) != 0 ||
              json_array_append_new(r, coord(m->partition)) != 0 ||
              json_array_append_new(r, coord(m->offset)) != 0))
      json_decref(r), r = NULL;
    rc = r ? json_array_append_new(rows, r) : -1;
  }
  if (rc == 0 && !(*out = jsonf_dumps(doc, out_len)))
    rc = -1;
  json_decref(doc);
  return rc;
}

/* In place, so the result is never longer than the input: a quoted text of
 * n >= 1 characters (n + 2 bytes) becomes three, an empty pair stays two,
 * and an unclosed quote with text after it becomes the quote and '?'. (The
 * redaction wrote three bytes for every quote, also for the two of an empty
 * pair or the one of a final quote, and so ran past the message's field:
 * a body of 255 "''" corrupted the parse result.) */
void sfapi_redact(char *s) {
  char *w = s;
  for (const char *r = s; *r;) {
    if (*r == '\'' || *r == '"') {
      char q = *r;
      const char *end = strchr(r + 1, q);
      *w++ = q;
      if (end ? end > r + 1 : r[1] != '\0')
        *w++ = '?';
      if (end)
        *w++ = q;
      r = end ? end + 1 : r + strlen(r);
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

static void copy_member(const json_t *doc, const char *name, char *out, size_t out_size) {
  const json_t *v = json_object_get(doc, name);
  if (json_is_string(v))
    snprintf(out, out_size, "%s", json_string_value(v));
}

/* A statement handle goes into a URL path: only UUID characters. */
static int handle_ok(const char *h) {
  size_t n = strlen(h);
  return n >= 8 && n < 64 && strspn(h, "0123456789abcdefABCDEF-") == n;
}

/* Data errors (Snowflake's 100xxx family and SQLSTATE classes 22, 23):
 * the rows, not the deployment, are at fault. */
static int data_error(const sfapi_result_t *r) {
  return strncmp(r->sql_state, "22", 2) == 0 || strncmp(r->sql_state, "23", 2) == 0 ||
         (strlen(r->code) == 6 && strncmp(r->code, "100", 3) == 0);
}

/* Errors that go away by themselves: statement timeout or cancellation,
 * lock waits, an aborted transaction, a warehouse being resumed. */
static int transient_error(const sfapi_result_t *r) {
  static const char *const codes[] = {"000630", "000604", "000625", "000606", "390114", NULL};
  for (size_t i = 0; codes[i]; i++)
    if (strcmp(r->code, codes[i]) == 0)
      return 1;
  return strncmp(r->sql_state, "40", 2) == 0 || strncmp(r->sql_state, "57", 2) == 0;
}

void sfapi_parse(long status, const char *body, size_t len, sfapi_result_t *out) {
  memset(out, 0, sizeof(*out));
  out->status = status;
  if (body && len)
    out->doc = jsonf_parse(body, len, SFAPI_MAX_DEPTH, NULL, 0);
  if (!json_is_object(out->doc)) {
    json_decref(out->doc);
    out->doc = NULL;
  }
  if (out->doc) {
    copy_member(out->doc, "code", out->code, sizeof(out->code));
    copy_member(out->doc, "sqlState", out->sql_state, sizeof(out->sql_state));
    copy_member(out->doc, "message", out->message, sizeof(out->message));
    copy_member(out->doc, "statementHandle", out->handle, sizeof(out->handle));
    if (!handle_ok(out->handle))
      out->handle[0] = '\0';
    sfapi_redact(out->message);
  }
  if (!*out->message)
    snprintf(out->message, sizeof(out->message), status ? "HTTP %ld" : "no response", status);
  if (status == 200)
    out->outcome = SFAPI_DONE;
  else if (status == 202)
    /* Without a handle there is nothing to poll: resubmitting the same
     * request id returns the handle of the running statement. */
    out->outcome = *out->handle ? SFAPI_RUNNING : SFAPI_RETRY;
  else if (status == 401 || strcmp(out->code, "390114") == 0)
    out->outcome = SFAPI_AUTH;
  else if (status == 422 && data_error(out))
    out->outcome = SFAPI_REJECT;
  else if (status == 0 || status == 408 || status == 429 || status >= 500 || transient_error(out))
    out->outcome = SFAPI_RETRY;
  else
    out->outcome = SFAPI_FATAL;
}

void sfapi_result_free(sfapi_result_t *r) {
  if (!r)
    return;
  json_decref(r->doc);
  r->doc = NULL;
}
