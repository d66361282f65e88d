/* search_weaviate: post-search against Weaviate — the GraphQL hybrid query
 * (query, vector, alpha, fusionType; where on platform and timestamp) and
 * the reading of its answer; --like reads the post's object with its
 * vector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/uuid.h"
#include "search.h"
#include "json/jsonf.h"

static const uint8_t post_ns[16] = {0x51, 0xcb, 0x6f, 0xfd, 0x13, 0x12, 0x5f, 0x7b,
                                    0x8e, 0xa3, 0xb4, 0x24, 0x2f, 0xe1, 0xbf, 0xe7};

/* Appends and keeps the text NUL-terminated (the query is a C string). */
static int put(jsonf_buf_t *b, const char *s) {
  if (jsonf_buf_append(b, s, strlen(s)) || jsonf_buf_append(b, "", 1))
    return -1;
  b->len--;
  return 0;
}

/* A GraphQL string literal: JSON's string escapes are GraphQL's. */
static int put_string(jsonf_buf_t *b, const char *s) {
  return jsonf_dump_string(s, strlen(s), b) || put(b, "") ? -1 : 0;
}

char *ps_wv_graphql(const char *class_name, const ps_query_t *q) {
  jsonf_buf_t b = {0};
  char num[64];
  int bad = put(&b, "{ Get { ") || put(&b, class_name) || put(&b, "(hybrid: {query: ") ||
            put_string(&b, q->text ? q->text : "");
  snprintf(num, sizeof(num), ", alpha: %.17g", q->alpha);
  bad = bad || put(&b, num);
  if (q->vector && q->alpha > 0) {
    bad = bad || put(&b, ", vector: [");
    for (size_t i = 0; !bad && i < q->dim; i++) {
      snprintf(num, sizeof(num), "%s%.9g", i ? "," : "", (double)q->vector[i]);
      bad = put(&b, num);
    }
    bad = bad || put(&b, "]");
  }
  bad = bad || put(&b, ", fusionType: ") ||
        put(&b, q->fusion == RANK_RANKED ? "rankedFusion" : "relativeScoreFusion") || put(&b, "}");
  int nf = (q->platform != NULL) + (q->since != NULL);
  if (nf) {
    bad = bad || put(&b, ", where: ") || (nf > 1 && put(&b, "{operator: And, operands: ["));
    if (q->platform)
      bad = bad || put(&b, "{path: [\"platform\"], operator: Equal, valueText: ") ||
            put_string(&b, q->platform) || put(&b, "}");
    if (q->since)
      bad = bad || put(&b, nf > 1 ? ", " : "") ||
            put(&b, "{path: [\"timestamp\"], operator: GreaterThanEqual, valueDate: ") ||
            put_string(&b, q->since) || put(&b, "}");
    bad = bad || (nf > 1 && put(&b, "]}"));
  }
  snprintf(num, sizeof(num), ", limit: %zu) ", q->limit);
  bad = bad || put(&b, num) ||
        put(&b, "{ post_id platform content timestamp engagement hashtags product_ids "
                "_additional { id score } } } }");
  if (bad) {
    jsonf_buf_free(&b);
    return NULL;
  }
  return b.data; /* caller frees */
}

static char *dup_json(const json_t *v, const char *def) {
  if (!v || json_is_null(v))
    return strdup(def);
  return jsonf_dumps(v, NULL);
}

static char *dup_str(const json_t *v) {
  const char *s = json_string_value(v);
  return strdup(s ? s : "");
}

int ps_wv_parse(const char *body, size_t len, const char *class_name, ps_row_t **out, size_t *nout,
                char *errstr, size_t errstr_size) {
  *out = NULL;
  *nout = 0;
  json_t *doc = jsonf_parse(body, len, 64, NULL, 0);
  if (!json_is_object(doc)) {
    snprintf(errstr, errstr_size, "the GraphQL answer is not a JSON object");
    json_decref(doc);
    return -1;
  }
  const json_t *errs = json_object_get(doc, "errors");
  if (json_array_size(errs) > 0) {
    char msg[512];
    weaviate_error_join(errs, msg, sizeof(msg));
    snprintf(errstr, errstr_size, "Weaviate: %s", msg[0] ? msg : "GraphQL error");
    json_decref(doc);
    return -1;
  }
  const json_t *list =
      json_object_get(json_object_get(json_object_get(doc, "data"), "Get"), class_name);
  if (!json_is_array(list)) {
    snprintf(errstr, errstr_size, "the GraphQL answer has no data.Get.%s list", class_name);
    json_decref(doc);
    return -1;
  }
  size_t n = json_array_size(list);
  ps_row_t *rows = calloc(n ? n : 1, sizeof(*rows));
  if (!rows) {
    json_decref(doc);
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(list, i), *add = json_object_get(o, "_additional");
    const json_t *sc = json_object_get(add, "score");
    /* GraphQL gives the score as a string. */
    rows[i].score =
        json_is_string(sc) ? strtod(json_string_value(sc), NULL) : json_number_value(sc);
    const char *id = json_string_value(json_object_get(add, "id"));
    uint8_t u[16];
    if (id && uuid_parse(id, strlen(id), u) == 0)
      uuid_format(u, rows[i].id);
    rows[i].post_id = dup_str(json_object_get(o, "post_id"));
    rows[i].platform = dup_str(json_object_get(o, "platform"));
    rows[i].timestamp = dup_str(json_object_get(o, "timestamp"));
    rows[i].content = dup_str(json_object_get(o, "content"));
    rows[i].engagement = json_integer_value(json_object_get(o, "engagement"));
    rows[i].hashtags = dup_json(json_object_get(o, "hashtags"), "[]");
    rows[i].product_ids = dup_json(json_object_get(o, "product_ids"), "[]");
  }
  json_decref(doc);
  *out = rows;
  *nout = n;
  return 0;
}

int ps_wv_search(weaviate_t *w, const ps_query_t *q, ps_row_t **rows, size_t *n, char *errstr,
                 size_t errstr_size) {
  char *gql = ps_wv_graphql(weaviate_class(w), q);
  json_t *req = gql ? json_pack("{s:s}", "query", gql) : NULL;
  char *body = req ? jsonf_dumps(req, NULL) : NULL;
  free(gql);
  json_decref(req);
  if (!body) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  http_resp_t r;
  int rc = weaviate_request(w, "POST", "/v1/graphql", body, &r, errstr, errstr_size);
  free(body);
  if (rc == HTTP_CLIENT_OK)
    rc = ps_wv_parse(r.body, r.len, weaviate_class(w), rows, n, errstr, errstr_size);
  else {
    char msg[512];
    weaviate_error_text(r.body, r.len, msg, sizeof(msg));
    if (msg[0])
      snprintf(errstr, errstr_size, "Weaviate: HTTP %ld: %s", r.status, msg);
    rc = -1;
  }
  http_resp_free(&r);
  return rc;
}

int ps_wv_like(weaviate_t *w, const char *post_id, float **vec, size_t *dim, char **content,
               char *errstr, size_t errstr_size) {
  char id[UUID_STR_LEN], path[320];
  uuid_v5(post_ns, post_id, strlen(post_id), id);
  snprintf(path, sizeof(path), "/v1/objects/%s/%s?include=vector", weaviate_class(w), id);
  http_resp_t r;
  int rc = weaviate_request(w, "GET", path, NULL, &r, errstr, errstr_size);
  if (rc != HTTP_CLIENT_OK) {
    int missing = r.status == 404;
    http_resp_free(&r);
    return missing ? 0 : -1;
  }
  json_t *o = jsonf_parse(r.body, r.len, 64, NULL, 0);
  http_resp_free(&r);
  const json_t *v = json_object_get(o, "vector");
  *dim = json_array_size(v);
  *vec = malloc((*dim ? *dim : 1) * sizeof(float));
  *content = dup_str(json_object_get(json_object_get(o, "properties"), "content"));
  if (!*vec || !*content || !*dim) {
    snprintf(errstr, errstr_size, "object %s has no vector", id);
    json_decref(o);
    return -1;
  }
  for (size_t i = 0; i < *dim; i++)
    (*vec)[i] = (float)json_number_value(json_array_get(v, i));
  json_decref(o);
  return 1;
}
