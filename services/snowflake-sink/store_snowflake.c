/* store_snowflake — the Snowflake backend (see store_snowflake.h). Owns the
 * HTTP client, the JWT signer and the memory of which request ids were
 * already submitted. */
#include "store_snowflake.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hex.h"
#include "core/signals.h"
#include "migrations.h"
#include "net/http_client.h"
#include "snowflake_api.h"
#include "snowflake_jwt.h"

#ifndef SENSORY_VERSION
#define SENSORY_VERSION "dev"
#endif

#define SENT_IDS 64 /* request ids remembered as "submitted before" */

typedef struct sfstore {
  http_client_t *http;
  sfjwt_t *jwt;
  char *base; /* https://account.snowflakecomputing.com, no trailing '/' */
  char *sink;
  char scope[512];
  char *database, *schema, *warehouse, *role;
  long timeout_s;
  char nonce[33]; /* this process's, for stdio batches and one-off statements */
  uint64_t seq;
  char sent[SENT_IDS][37];
  size_t nsent;
  char user_agent[64];
} sfstore_t;

static sfapi_target_t target(const sfstore_t *s) {
  return (sfapi_target_t){s->database, s->schema, s->warehouse, s->role, s->timeout_s};
}

static int submitted(const sfstore_t *s, const char *id) {
  for (size_t i = 0; i < s->nsent && i < SENT_IDS; i++)
    if (strcmp(s->sent[i], id) == 0)
      return 1;
  return 0;
}

static void remember(sfstore_t *s, const char *id) {
  if (!submitted(s, id))
    memcpy(s->sent[s->nsent++ % SENT_IDS], id, 37);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !signals_stop) {
  }
}

/* One HTTP exchange with fresh auth headers; parses the answer into r. */
static void exchange(sfstore_t *s, const char *method, const char *url, const char *retry_url,
                     const char *body, sfapi_result_t *r) {
  char errstr[256], auth[4096];
  const char *token = sfjwt_token(s->jwt, (time_t)(clock_wall_ms() / 1000), errstr, sizeof(errstr));
  if (!token) {
    sfapi_parse(0, NULL, 0, r);
    r->outcome = SFAPI_FATAL;
    snprintf(r->message, sizeof(r->message), "%s", errstr);
    return;
  }
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  const char *headers[] = {auth, "X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT",
                           "Content-Type: application/json", "Accept: application/json", NULL};
  http_resp_t resp;
  int rc = http_client_request_retry(s->http, method, url, retry_url, headers, body, &resp, errstr,
                                     sizeof(errstr));
  sfapi_parse(resp.status, resp.body, resp.len, r);
  if (rc != HTTP_CLIENT_OK && !resp.body)
    snprintf(r->message, sizeof(r->message), "%s", errstr); /* transport: curl's words */
  http_resp_free(&resp);
}

/* Submits one statement body under request id `id`; polls a 202; renews
 * the token once on 401. r holds the final answer. */
static void submit(sfstore_t *s, const char *body, const char *id, sfapi_result_t *r) {
  char url[1024], retry_url[1100], poll[1024];
  snprintf(url, sizeof(url), "%s/api/v2/statements?requestId=%s", s->base, id);
  snprintf(retry_url, sizeof(retry_url), "%s&retry=true", url);
  int again = submitted(s, id);
  remember(s, id);
  exchange(s, "POST", again ? retry_url : url, retry_url, body, r);
  if (r->outcome == SFAPI_AUTH) {
    sfapi_result_free(r);
    sfjwt_expire(s->jwt);
    exchange(s, "POST", retry_url, retry_url, body, r);
    if (r->outcome == SFAPI_AUTH)
      r->outcome = SFAPI_FATAL; /* a fresh token refused: wrong key or user */
  }
  if (r->outcome != SFAPI_RUNNING)
    return;
  /* Poll our own base URL with the (validated) handle, never a URL from
   * the response: the bearer token must not follow a link elsewhere. */
  snprintf(poll, sizeof(poll), "%s/api/v2/statements/%s", s->base, r->handle);
  long wait = 200;
  double deadline = clock_mono() + (double)s->timeout_s + 60;
  for (int renewed = 0; r->outcome == SFAPI_RUNNING;) {
    if (signals_stop || clock_mono() > deadline) {
      /* Still running: the next submission of this id finds it. */
      r->outcome = SFAPI_RETRY;
      snprintf(r->message, sizeof(r->message), "statement %s still running", r->handle);
      break;
    }
    sleep_ms(wait);
    wait = wait * 2 > 5000 ? 5000 : wait * 2;
    sfapi_result_free(r);
    exchange(s, "GET", poll, NULL, NULL, r);
    if (r->outcome == SFAPI_AUTH && !renewed++) {
      sfjwt_expire(s->jwt);
      r->outcome = SFAPI_RUNNING; /* poll again with a new token */
    } else if (r->outcome == SFAPI_AUTH) {
      r->outcome = SFAPI_FATAL;
    }
  }
}

static store_status_t status_of(const sfapi_result_t *r, store_error_t *err) {
  snprintf(err->code, sizeof(err->code), "%s", *r->code ? r->code : "");
  if (!*err->code && r->status && r->outcome != SFAPI_DONE)
    snprintf(err->code, sizeof(err->code), "http_%ld", r->status);
  snprintf(err->message, sizeof(err->message), "%.480s%s%s", r->message,
           *r->sql_state ? " SQLSTATE " : "", r->sql_state);
  switch (r->outcome) {
  case SFAPI_DONE:
    return STORE_OK;
  case SFAPI_REJECT:
    return STORE_REJECT;
  case SFAPI_RETRY:
  case SFAPI_RUNNING:
    return STORE_RETRY;
  default:
    return STORE_FATAL;
  }
}

/* Runs one statement (bindings stolen) under a request id derived from
 * what and scope; fills r. Returns the store status. */
static store_status_t statement(sfstore_t *s, const char *sql, json_t *bindings, int multi,
                                const char *what, sfapi_result_t *r, store_error_t *err) {
  sfapi_target_t t = target(s);
  char *body = sfapi_statement_body(&t, sql, bindings, multi);
  if (!body) {
    memset(r, 0, sizeof(*r));
    snprintf(err->message, sizeof(err->message), "out of memory");
    return STORE_FATAL;
  }
  /* Not a batch: a new id per statement (this process's nonce and a
   * counter); http_client's resubmissions of it still reuse it. */
  stage_sink_range_t one = {.topic = what, .partition = -1, .first = (int64_t)++s->seq};
  char id[37];
  sfapi_request_id(s->scope, &one, 1, s->nonce, id);
  submit(s, body, id, r);
  free(body);
  return status_of(r, err);
}

static store_status_t sf_begin(void *impl, const stage_sink_range_t *ranges, size_t n,
                               int64_t *stored, store_error_t *err) {
  (void)impl, (void)ranges, (void)err;
  for (size_t i = 0; i < n; i++)
    stored[i] = -1; /* the MERGE script skips stored offsets itself */
  return STORE_OK;
}

/* The (topic, partition, first, last) of recs[0..n), in first-seen order. */
static size_t ranges_of(stage_sink_record_t *const *recs, size_t n, stage_sink_range_t *out,
                        size_t cap) {
  size_t nr = 0;
  for (size_t i = 0; i < n; i++) {
    const stage_msg_t *m = recs[i]->msg;
    size_t r = 0;
    while (r < nr && !(out[r].partition == m->partition && strcmp(out[r].topic, m->topic) == 0))
      r++;
    if (r == nr) {
      if (nr == cap)
        continue; /* more partitions than fit: the id stays deterministic */
      out[nr++] = (stage_sink_range_t){m->topic, m->partition, m->offset, m->offset};
    }
    if (m->offset < out[r].first)
      out[r].first = m->offset;
    if (m->offset > out[r].last)
      out[r].last = m->offset;
  }
  return nr;
}

static store_status_t sf_apply(void *impl, stage_sink_record_t *const *recs, size_t n,
                               const stage_sink_range_t *saves, size_t nsaves, store_error_t *err) {
  sfstore_t *s = impl;
  char *batch = NULL;
  size_t batch_len = 0;
  json_t *bindings = NULL;
  if (sfapi_batch_json(recs, n, saves, nsaves, &batch, &batch_len) != 0 ||
      sfapi_bind_text(&bindings, 1, s->sink, strlen(s->sink)) != 0 ||
      sfapi_bind_text(&bindings, 2, batch, batch_len) != 0) {
    free(batch);
    json_decref(bindings);
    snprintf(err->message, sizeof(err->message), "out of memory");
    return STORE_FATAL;
  }
  free(batch);
  sfapi_target_t t = target(s);
  char *body = sfapi_statement_body(&t, "CALL sensory_sink_apply(?, ?)", bindings, 0);
  if (!body) {
    snprintf(err->message, sizeof(err->message), "out of memory");
    return STORE_FATAL;
  }
  stage_sink_range_t ranges[256];
  size_t nr = ranges_of(recs, n, ranges, 256);
  char id[37];
  sfapi_request_id(s->scope, ranges, nr, s->nonce, id);
  sfapi_result_t r;
  submit(s, body, id, &r);
  free(body);
  store_status_t st = status_of(&r, err);
  sfapi_result_free(&r);
  return st;
}

static store_status_t sf_commit(void *impl, const stage_sink_range_t *saves, size_t nsaves,
                                store_error_t *err) {
  (void)impl, (void)saves, (void)nsaves, (void)err; /* each apply committed itself */
  return STORE_OK;
}

static void sf_abort(void *impl) {
  (void)impl;
}

/* The first cell of the first row of a result, or NULL. */
static const char *first_cell(const sfapi_result_t *r) {
  const json_t *row = json_array_get(json_object_get(r->doc, "data"), 0);
  return json_string_value(json_array_get(row, 0));
}

static int sf_stored(void *impl, const char *topic, int32_t partition, int64_t *next) {
  sfstore_t *s = impl;
  char part[16];
  snprintf(part, sizeof(part), "%d", (int)partition);
  json_t *b = NULL;
  if (sfapi_bind_text(&b, 1, s->sink, strlen(s->sink)) ||
      sfapi_bind_text(&b, 2, topic, strlen(topic)) || sfapi_bind_text(&b, 3, part, strlen(part))) {
    json_decref(b);
    return -1;
  }
  /* Each lookup is its own request: a fresh id, not a resubmission. */
  sfapi_result_t r;
  store_error_t err;
  store_status_t st = statement(s,
                                "SELECT next_offset FROM sink_offsets WHERE sink = ? AND topic = ?"
                                " AND \"partition\" = ?::INTEGER",
                                b, 0, "stored offset", &r, &err);
  int rc = -1;
  if (st == STORE_OK) {
    const char *cell = first_cell(&r);
    rc = cell != NULL;
    if (cell)
      *next = strtoll(cell, NULL, 10);
  }
  sfapi_result_free(&r);
  return rc;
}

static const char bootstrap_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (component VARCHAR NOT NULL, version INTEGER NOT "
    "NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP_TZ NOT NULL DEFAULT CURRENT_TIMESTAMP(), "
    "PRIMARY KEY (component, version))";

static int sf_init_schema(void *impl, char *errstr, size_t errstr_size) {
  sfstore_t *s = impl;
  migrations_t m;
  sfapi_result_t r = {0};
  store_error_t err = {0};
  int applied = 0;
  if (migrations_parse(warehouse_sql_snowflake, &m, errstr, errstr_size) != 0) {
    migrations_free(&m);
    return -1;
  }
  if (statement(s, bootstrap_sql, NULL, 0, "bootstrap", &r, &err) != STORE_OK) {
    snprintf(errstr, errstr_size, "creating schema_migrations: %s", err.message);
    applied = -1;
  }
  sfapi_result_free(&r);
  json_t *b = NULL;
  if (applied == 0 && (sfapi_bind_text(&b, 1, "warehouse", 9) != 0 ||
                       statement(s, "SELECT version FROM schema_migrations WHERE component = ?", b,
                                 0, "versions", &r, &err) != STORE_OK)) {
    snprintf(errstr, errstr_size, "reading schema_migrations: %s", err.message);
    applied = -1;
  }
  const json_t *data = json_object_get(r.doc, "data");
  for (size_t i = 0; applied >= 0 && i < m.n; i++) {
    int done = 0;
    for (size_t k = 0; k < json_array_size(data) && !done; k++) {
      const char *v = json_string_value(json_array_get(json_array_get(data, k), 0));
      done = v && strtol(v, NULL, 10) == m.items[i].version;
    }
    if (done)
      continue;
    sfapi_result_t mr;
    char name[64], version[16];
    snprintf(name, sizeof(name), "migration %d", m.items[i].version);
    snprintf(version, sizeof(version), "%d", m.items[i].version);
    store_status_t st = statement(s, m.items[i].sql, NULL, 1, name, &mr, &err);
    sfapi_result_free(&mr);
    json_t *rb = NULL;
    if (st == STORE_OK && (sfapi_bind_text(&rb, 1, "warehouse", 9) ||
                           sfapi_bind_text(&rb, 2, version, strlen(version)) ||
                           sfapi_bind_text(&rb, 3, m.items[i].name, strlen(m.items[i].name)))) {
      json_decref(rb);
      rb = NULL;
      st = STORE_FATAL;
    }
    if (st == STORE_OK) {
      snprintf(name, sizeof(name), "record %d", m.items[i].version);
      st = statement(s,
                     "MERGE INTO schema_migrations t USING (SELECT ? AS component, ?::INTEGER AS "
                     "version, ? AS name) s ON t.component = s.component AND t.version = s.version "
                     "WHEN NOT MATCHED THEN INSERT (component, version, name) VALUES (s.component, "
                     "s.version, s.name)",
                     rb, 0, name, &mr, &err);
      sfapi_result_free(&mr);
    } else {
      json_decref(rb);
    }
    if (st != STORE_OK) {
      snprintf(errstr, errstr_size, "migration warehouse %d (%s): %s", m.items[i].version,
               m.items[i].name, err.message);
      applied = -1;
    } else {
      applied++;
    }
  }
  sfapi_result_free(&r);
  migrations_free(&m);
  return applied;
}

static void sf_destroy(void *impl) {
  sfstore_t *s = impl;
  if (!s)
    return;
  http_client_destroy(s->http);
  sfjwt_destroy(s->jwt);
  free(s->base);
  free(s->sink);
  free(s->database);
  free(s->schema);
  free(s->warehouse);
  free(s->role);
  free(s);
}

static const store_ops_t sf_ops = {
    .name = "snowflake",
    .begin = sf_begin,
    .apply = sf_apply,
    .commit = sf_commit,
    .abort = sf_abort,
    .stored_offset = sf_stored,
    .init_schema = sf_init_schema,
    .destroy = sf_destroy,
};

static char *dup_opt(const char *v, int *oom) {
  if (!v || !*v)
    return NULL;
  char *d = strdup(v);
  if (!d)
    *oom = 1;
  return d;
}

store_t *store_snowflake_new(const sink_config_t *c, const char *sink, char *errstr,
                             size_t errstr_size) {
  store_t *st = calloc(1, sizeof(*st)); /* owned by the caller */
  sfstore_t *s = calloc(1, sizeof(*s)); /* owned by st */
  int oom = !st || !s;
  if (!oom) {
    s->sink = dup_opt(sink ? sink : "snowflake-sink", &oom);
    s->database = dup_opt(c->sf_database, &oom);
    s->schema = dup_opt(c->sf_schema, &oom);
    s->warehouse = dup_opt(c->sf_warehouse, &oom);
    s->role = dup_opt(c->sf_role, &oom);
    s->timeout_s = (long)c->sf_statement_timeout_s;
    if (c->sf_url && *c->sf_url) {
      s->base = dup_opt(c->sf_url, &oom);
    } else if (c->sf_account && (s->base = malloc(strlen(c->sf_account) + 40)) != NULL) {
      snprintf(s->base, strlen(c->sf_account) + 40, "https://%s.snowflakecomputing.com",
               c->sf_account);
    } else {
      oom = 1;
    }
  }
  if (oom) {
    snprintf(errstr, errstr_size, "out of memory");
    goto fail;
  }
  size_t bl = strlen(s->base);
  while (bl && s->base[bl - 1] == '/')
    s->base[--bl] = '\0';
  snprintf(s->scope, sizeof(s->scope), "%s\n%s.%s", s->sink, s->database, s->schema);
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
    snprintf(errstr, errstr_size, "no random bytes for the request id nonce");
    goto fail;
  }
  hex_encode(rnd, sizeof(rnd), s->nonce, sizeof(s->nonce), HEX_LOWER);
  if (!(s->jwt = sfjwt_new(c->sf_account, c->sf_user, c->sf_key_file, c->sf_passphrase_file,
                           (long)c->sf_jwt_lifetime_s, errstr, errstr_size)))
    goto fail;
  snprintf(s->user_agent, sizeof(s->user_agent), "snowflake-sink/%s", SENSORY_VERSION);
  http_client_opts_t o = {.timeout_ms = (long)c->sf_request_timeout_ms,
                          .connect_timeout_ms = 10000,
                          .retries = (int)c->sf_retries,
                          .backoff_ms = 500,
                          .backoff_max_ms = 8000,
                          .retry_after_max_s = (long)c->sf_retry_after_max_s,
                          .max_body = 16 * 1024 * 1024,
                          .user_agent = s->user_agent};
  if (!(s->http = http_client_new(&o, errstr, errstr_size)))
    goto fail;
  st->ops = &sf_ops;
  st->impl = s;
  return st;
fail:
  sf_destroy(s);
  free(st);
  return NULL;
}
