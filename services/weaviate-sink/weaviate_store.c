/* weaviate_store: the weaviate backend — class check at start, batch
 * upserts and deletions with per-object results, retry and dead-letter
 * decisions. See weaviate_store.h for the rules. */
#include "weaviate_store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "post_plan.h"
#include "weaviate_batch.h"
#include "weaviate_schema.h"
#include "json/jsonf.h"

struct wv_store {
  weaviate_t *w;
  wv_store_options_t o;
  jsonf_buf_t body;
  int recheck_schema; /* a "class not found" was seen: check before the next write */
};

void wv_store_destroy(wv_store_t *s) {
  if (!s)
    return;
  weaviate_destroy(s->w);
  jsonf_buf_free(&s->body);
  free(s);
}

wv_store_t *wv_store_new(weaviate_t *w, const wv_store_options_t *o, char *errstr,
                         size_t errstr_size) {
  wv_store_t *s = calloc(1, sizeof(*s)); /* caller owns: wv_store_destroy() */
  if (!s) {
    weaviate_destroy(w);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  s->w = w;
  s->o = *o;
  if (!s->o.batch_objects)
    s->o.batch_objects = 100;
  if (!s->o.max_request_bytes)
    s->o.max_request_bytes = 10 * 1024 * 1024;
  if (s->o.retry_backoff_ms <= 0)
    s->o.retry_backoff_ms = 200;
  return s;
}

/* ---- schema ------------------------------------------------------------ */

static int post_json(wv_store_t *s, const char *path, json_t *v, http_resp_t *resp, char *errstr,
                     size_t errstr_size) {
  char *body = v ? jsonf_dumps(v, NULL) : NULL;
  json_decref(v);
  if (!body) {
    memset(resp, 0, sizeof(*resp));
    snprintf(errstr, errstr_size, "out of memory");
    return HTTP_CLIENT_FAILED;
  }
  int rc = weaviate_request(s->w, "POST", path, body, resp, errstr, errstr_size);
  free(body);
  return rc;
}

/* Fills errstr for a failed schema call and says what it means at start:
 * no answer, 5xx or 429 may pass (retry); anything else will not. */
static int failed(const char *what, int rc, const http_resp_t *r, char *errstr,
                  size_t errstr_size) {
  char msg[512], why[256];
  weaviate_error_text(r->body, r->len, msg, sizeof(msg));
  snprintf(why, sizeof(why), "%s", errstr[0] ? errstr : "no answer");
  if (rc == HTTP_CLIENT_UNREACHABLE || !r->status)
    snprintf(errstr, errstr_size, "%s: %s", what, why);
  else
    snprintf(errstr, errstr_size, "%s: HTTP %ld%s%s%s", what, r->status, msg[0] ? ": " : "", msg,
             r->status == 401 || r->status == 403 ? " (check weaviate.api_key_file)" : "");
  return rc == HTTP_CLIENT_UNREACHABLE || !r->status || r->status >= 500 || r->status == 429
             ? WV_SCHEMA_UNREACHABLE
             : WV_SCHEMA_CONFLICT;
}

int wv_store_ensure_schema(wv_store_t *s, int *created, char *errstr, size_t errstr_size) {
  const char *cls = weaviate_class(s->w);
  char path[256];
  http_resp_t r;
  if (created)
    *created = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    snprintf(path, sizeof(path), "/v1/schema/%s", cls);
    errstr[0] = '\0';
    int rc = weaviate_request(s->w, "GET", path, NULL, &r, errstr, errstr_size);
    if (rc == HTTP_CLIENT_OK) {
      json_t *have = jsonf_parse(r.body, r.len, 64, NULL, 0);
      http_resp_free(&r);
      const char *missing[16];
      size_t nmissing = 0;
      if (!json_is_object(have)) {
        json_decref(have);
        snprintf(errstr, errstr_size, "GET %s: the answer is not a class definition", path);
        return WV_SCHEMA_UNREACHABLE;
      }
      int ok = wv_schema_check(have, missing, &nmissing, errstr, errstr_size);
      json_decref(have);
      if (ok != 0)
        return WV_SCHEMA_CONFLICT;
      for (size_t i = 0; i < nmissing; i++) {
        snprintf(path, sizeof(path), "/v1/schema/%s/properties", cls);
        errstr[0] = '\0';
        rc = post_json(s, path, wv_schema_property(missing[i]), &r, errstr, errstr_size);
        if (rc != HTTP_CLIENT_OK) {
          char what[320];
          snprintf(what, sizeof(what), "adding property %s to class %s", missing[i], cls);
          rc = failed(what, rc, &r, errstr, errstr_size);
          http_resp_free(&r);
          return rc;
        }
        http_resp_free(&r);
        log_event(LOG_LEVEL_INFO, "schema",
                  json_pack("{s:s,s:s}", "class", cls, "property", missing[i]),
                  "added a missing property to the class");
      }
      s->recheck_schema = 0;
      return WV_SCHEMA_OK;
    }
    if (r.status != 404) {
      char what[320];
      snprintf(what, sizeof(what), "GET %s", path);
      rc = failed(what, rc, &r, errstr, errstr_size);
      http_resp_free(&r);
      return rc;
    }
    http_resp_free(&r);
    errstr[0] = '\0';
    rc = post_json(s, "/v1/schema", wv_schema_class(cls), &r, errstr, errstr_size);
    if (rc == HTTP_CLIENT_OK) {
      http_resp_free(&r);
      if (created)
        *created = 1;
      s->recheck_schema = 0;
      return WV_SCHEMA_OK;
    }
    /* 422 "already exists": another pod created it meanwhile; check it. */
    int raced = r.status == 422;
    if (!raced) {
      char what[320];
      snprintf(what, sizeof(what), "creating class %s", cls);
      rc = failed(what, rc, &r, errstr, errstr_size);
      http_resp_free(&r);
      return rc;
    }
    http_resp_free(&r);
  }
  snprintf(errstr, errstr_size, "class %s: cannot create it and cannot read it", cls);
  return WV_SCHEMA_CONFLICT;
}

/* ---- writes ------------------------------------------------------------ */

static const char *backend = "weaviate";

static int encode(void *impl, post_row_t *row) {
  wv_store_t *s = impl;
  return row->deleted ? 0 : wv_encode_object(weaviate_class(s->w), row);
}

enum { SEND_OK = 0, SEND_RETRY_BATCH = 1, SEND_FATAL = 2 };

/* Weaviate's explanation of a failed request, for logs and dead letters:
 * quoted values replaced (a log line never repeats record data). */
static void detail(const http_resp_t *r, char *out, size_t out_size) {
  char raw[512];
  weaviate_error_text(r->body, r->len, raw, sizeof(raw));
  wv_error_redact(raw, out, out_size);
}

/* How a failed request ends the write: 401/403 cannot pass by waiting. */
static int send_failure(long status) {
  return status == 401 || status == 403 ? SEND_FATAL : SEND_RETRY_BATCH;
}

/* Sends the deletions of records idx[0..n); marks each result in res. */
static int send_deletes(wv_store_t *s, post_row_t *const *rows, const size_t *idx, size_t n,
                        wv_result_t *res) {
  char path[256], errstr[512];
  snprintf(path, sizeof(path), "/v1/batch/objects?consistency_level=%s",
           weaviate_consistency(s->w));
  for (size_t at = 0; at < n;) {
    size_t k = n - at < s->o.batch_objects ? n - at : s->o.batch_objects;
    const char **ids = malloc(k * sizeof(*ids));
    if (!ids)
      return SEND_RETRY_BATCH;
    for (size_t i = 0; i < k; i++)
      ids[i] = rows[idx[at + i]]->id;
    http_resp_t r;
    errstr[0] = '\0';
    if (wv_delete_build(weaviate_class(s->w), ids, k, &s->body) != 0) {
      free(ids);
      return SEND_RETRY_BATCH;
    }
    int rc = weaviate_request(s->w, "DELETE", path, s->body.data, &r, errstr, sizeof(errstr));
    if (rc != HTTP_CLIENT_OK ||
        wv_delete_parse(r.body, r.len, ids, k, res + at, errstr, sizeof(errstr)) != 0) {
      char msg[256];
      detail(&r, msg, sizeof(msg));
      log_event(
          LOG_LEVEL_WARN, "store_retry",
          json_pack("{s:s,s:i,s:s}", "backend", backend, "status", (int)r.status, "detail", msg),
          "batch delete failed (%s); the batch will be retried", errstr);
      http_resp_free(&r);
      free(ids);
      return SEND_RETRY_BATCH;
    }
    http_resp_free(&r);
    free(ids);
    at += k;
  }
  return SEND_OK;
}

/* Sends the upserts of records idx[0..n) in requests split by count and
 * bytes; marks each result in res. A record too large for any request is
 * marked permanent. */
static int send_upserts(wv_store_t *s, post_row_t *const *rows, const size_t *idx, size_t n,
                        wv_result_t *res) {
  char path[256], errstr[512];
  snprintf(path, sizeof(path), "/v1/batch/objects?consistency_level=%s",
           weaviate_consistency(s->w));
  post_row_t **req = malloc((n ? n : 1) * sizeof(*req));
  if (!req)
    return SEND_RETRY_BATCH;
  for (size_t i = 0; i < n; i++)
    req[i] = rows[idx[i]];
  int rc = SEND_OK;
  for (size_t at = 0; at < n;) {
    size_t k = 0;
    if (wv_batch_build(req + at, n - at, s->o.batch_objects, s->o.max_request_bytes, &s->body,
                       &k) != 0) {
      rc = SEND_RETRY_BATCH; /* out of memory */
      break;
    }
    if (k == 0) {
      memset(&res[at], 0, sizeof(res[at]));
      res[at].status = WV_PERMANENT;
      res[at].error_class = "too_large";
      snprintf(res[at].message, sizeof(res[at].message),
               "object of %zu bytes is larger than weaviate.max_request_bytes (%zu)",
               req[at]->wire_len, s->o.max_request_bytes);
      at++;
      continue;
    }
    http_resp_t r;
    errstr[0] = '\0';
    int hrc = weaviate_request(s->w, "POST", path, s->body.data, &r, errstr, sizeof(errstr));
    if (hrc == HTTP_CLIENT_OK &&
        wv_batch_parse(r.body, r.len, req + at, k, res + at, errstr, sizeof(errstr)) == 0) {
      http_resp_free(&r);
      at += k;
      continue;
    }
    char msg[256];
    detail(&r, msg, sizeof(msg));
    if (hrc == HTTP_CLIENT_FAILED && (r.status == 400 || r.status == 413 || r.status == 422) &&
        k == 1) {
      /* One object the server refuses as a whole request: that object is the
       * problem (the request around it is ours and well-formed). */
      memset(&res[at], 0, sizeof(res[at]));
      res[at].status = WV_PERMANENT;
      res[at].error_class = r.status == 413 ? "too_large" : "request_refused";
      wv_error_redact(msg[0] ? msg : errstr, res[at].message, sizeof(res[at].message));
      http_resp_free(&r);
      at++;
      continue;
    }
    if (hrc == HTTP_CLIENT_FAILED && (r.status == 400 || r.status == 413 || r.status == 422)) {
      /* Find the culprit: resend this request's objects one by one. */
      http_resp_free(&r);
      size_t save = s->o.batch_objects;
      s->o.batch_objects = 1;
      int sr = send_upserts(s, rows, idx + at, k, res + at);
      s->o.batch_objects = save;
      if (sr != SEND_OK) {
        rc = sr;
        break;
      }
      at += k;
      continue;
    }
    log_event(LOG_LEVEL_WARN, "store_retry",
              json_pack("{s:s,s:i,s:s,s:i}", "backend", backend, "status", (int)r.status, "detail",
                        msg, "objects", (int)k),
              "batch request failed (%s); the batch will be retried", errstr);
    rc = send_failure(r.status);
    http_resp_free(&r);
    break;
  }
  free(req);
  return rc;
}

/* Sends a phase (deletions or upserts) of plan indexes pending[0..np),
 * resending transient failures up to object_retries times; a rejected
 * upsert gives way to the previous upsert of its id. Returns STAGE_OK,
 * STAGE_RETRY or STAGE_FATAL. */
static int run_phase(wv_store_t *s, stage_sink_batch_t *batch, post_row_t *const *rows,
                     const size_t *active, const post_plan_t *plan, int deletes, size_t *pending,
                     size_t np, size_t *next, wv_result_t *res) {
  post_metrics_t *pm = s->o.metrics;
  for (int attempt = 0; np > 0;) {
    int sr =
        deletes ? send_deletes(s, rows, pending, np, res) : send_upserts(s, rows, pending, np, res);
    if (sr != SEND_OK)
      return sr == SEND_FATAL ? STAGE_FATAL : STAGE_RETRY;
    size_t nn = 0;
    int transient = 0;
    for (size_t j = 0; j < np; j++) {
      if (res[j].status == WV_OK) {
        metrics_counter_add(pm ? (deletes ? pm->deleted : pm->written) : NULL, 1);
        continue;
      }
      post_metrics_error(pm, res[j].error_class);
      if (res[j].status == WV_TRANSIENT) {
        transient++;
        if (strcmp(res[j].error_class, "class_missing") == 0)
          s->recheck_schema = 1;
        next[nn++] = pending[j];
        continue;
      }
      if (post_store_reject(s->o.reject, batch, active[pending[j]], backend, res[j].message) != 0)
        return STAGE_RETRY;
      size_t fb = deletes ? SIZE_MAX : post_plan_fallback(plan, rows, pending[j]);
      if (fb != SIZE_MAX)
        next[nn++] = fb;
    }
    if (transient) {
      if (attempt >= s->o.object_retries || s->recheck_schema) {
        log_event(LOG_LEVEL_WARN, "store_retry",
                  json_pack("{s:s,s:i}", "backend", backend, "objects", transient),
                  "objects still failing transiently; the batch will be retried");
        return STAGE_RETRY;
      }
      metrics_counter_add(pm ? pm->retries : NULL, 1);
      post_sleep_ms((long)s->o.retry_backoff_ms << attempt);
      attempt++;
    }
    memcpy(pending, next, nn * sizeof(*pending));
    np = nn;
  }
  return STAGE_OK;
}

static int wv_write(void *impl, stage_sink_batch_t *batch) {
  wv_store_t *s = impl;
  size_t n = batch->n, na = 0;
  char errstr[512];
  if (s->recheck_schema) {
    int sr = wv_store_ensure_schema(s, NULL, errstr, sizeof(errstr));
    if (sr != WV_SCHEMA_OK) {
      log_event(LOG_LEVEL_ERROR, "schema", json_pack("{s:s}", "class", weaviate_class(s->w)),
                "class check before retrying failed: %s", errstr);
      return sr == WV_SCHEMA_CONFLICT ? STAGE_FATAL : STAGE_RETRY;
    }
  }
  post_row_t **rows = malloc((n ? n : 1) * sizeof(*rows));
  size_t *active = malloc((n ? n : 1) * sizeof(*active));
  size_t *pending = malloc((n ? n : 1) * sizeof(*pending));
  size_t *next = malloc((n ? n : 1) * sizeof(*next));
  wv_result_t *res = malloc((n ? n : 1) * sizeof(*res));
  post_plan_t plan = {0};
  int rc = STAGE_RETRY;
  if (!rows || !active || !pending || !next || !res)
    goto out;
  /* Records rejected by an earlier try of this batch stay rejected: the
   * plan is made without them, so their id's previous upsert stands. */
  for (size_t i = 0; i < n; i++)
    if (batch->records[i].status != STAGE_DEAD_LETTER) {
      rows[na] = batch->records[i].row;
      active[na++] = i;
    }
  if (post_plan_make(rows, na, &plan) != 0)
    goto out;
  /* Deletions first: an upsert after a deletion of the same id re-creates. */
  memcpy(pending, plan.deletes, plan.ndeletes * sizeof(*pending));
  rc = run_phase(s, batch, rows, active, &plan, 1, pending, plan.ndeletes, next, res);
  if (rc == STAGE_OK) {
    memcpy(pending, plan.upserts, plan.nupserts * sizeof(*pending));
    rc = run_phase(s, batch, rows, active, &plan, 0, pending, plan.nupserts, next, res);
  }
out:
  post_plan_free(&plan);
  free(rows);
  free(active);
  free(pending);
  free(next);
  free(res);
  return rc;
}

static void wv_destroy(void *impl) {
  wv_store_destroy(impl);
}

const post_store_ops_t wv_store_ops = {
    .name = "weaviate",
    .encode = encode,
    .write = wv_write,
    .stored_offset = NULL,
    .destroy = wv_destroy,
};
