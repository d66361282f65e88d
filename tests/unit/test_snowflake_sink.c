/* Unit tests for snowflake-sink without a store: the row mapping per table,
 * the DDL (both dialects against each other and against the mapping), the
 * migrations split, the key-pair JWT (claims, fingerprint, signature checked
 * with the public key), request ids, the SQL API bodies and response
 * parser, and the settings check. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"
#include "migrations.h"
#include "sink_config.h"
#include "snowflake_api.h"
#include "snowflake_jwt.h"
#include "testutil.h"
#include "warehouse.h"
#include "json/jsonf.h"

/* ---- helpers ------------------------------------------------------------ */

static json_t *fixture_json(const char *name) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", test_fixtures(), name);
  size_t len;
  char *text = test_slurp(path, &len);
  json_t *doc = jsonf_parse(text, len, 64, NULL, 0);
  free(text);
  assert_non_null(doc);
  return doc;
}

static stage_msg_t msg_at(const char *topic, int32_t partition, int64_t offset) {
  stage_msg_t m = {.topic = topic, .partition = partition, .offset = offset, .timestamp_ms = -1};
  return m;
}

/* The value of column name in row, or NULL for SQL NULL. */
static const char *col(const wh_row_t *row, const char *name) {
  const wh_table_t *t = wh_table((wh_table_id_t)row->table);
  for (size_t i = 0; i < t->ncols; i++)
    if (strcmp(t->cols[i].name, name) == 0)
      return wh_value(row, i, NULL);
  fail_msg("no column %s in %s", name, t->name);
  return NULL;
}

/* ---- row mapping -------------------------------------------------------- */

static void test_orders_row(void **state) {
  (void)state;
  json_t *doc = fixture_json("contracts/clean_market_order.valid.json");
  stage_msg_t m = msg_at("sink.snowflake.orders", 3, 4711);
  char err[256];
  wh_row_t *row = wh_row_map(wh_table(WH_ORDERS), doc, &m, err, sizeof(err));
  assert_non_null(row);
  assert_int_equal(row->table, WH_ORDERS);
  assert_string_equal(col(row, "order_id"), "D-556677");
  assert_string_equal(col(row, "platform"), "daraz");
  assert_string_equal(col(row, "quantity"), "2");
  assert_string_equal(col(row, "price"), "5000");
  assert_string_equal(col(row, "currency"), "BDT");
  assert_string_equal(col(row, "event_time"), "2026-06-01T10:00:00+06:00");
  assert_string_equal(col(row, "kafka_topic"), "sink.snowflake.orders");
  assert_string_equal(col(row, "kafka_partition"), "3");
  assert_string_equal(col(row, "kafka_offset"), "4711");
  /* The buyer note (free text) has no column: it never reaches the warehouse. */
  for (size_t i = 0; i < row->ncols; i++) {
    const char *v = wh_value(row, i, NULL);
    assert_true(v == NULL || strstr(v, "PHONE_") == NULL);
  }
  free(row);

  /* Absent currency is BDT, absent hashes are NULL, prices keep their digits. */
  json_object_del(doc, "currency");
  json_object_del(doc, "customer_email_hash");
  json_object_set_new(doc, "price", json_real(1299.99));
  row = wh_row_map(wh_table(WH_ORDERS), doc, &m, err, sizeof(err));
  assert_non_null(row);
  assert_string_equal(col(row, "currency"), "BDT");
  assert_null(col(row, "customer_email_hash"));
  assert_string_equal(col(row, "price"), "1299.99");
  free(row);

  /* A value of the wrong type (no contract let it through) names the
   * field, never the value. */
  json_object_set_new(doc, "quantity", json_string("secret-value"));
  assert_null(wh_row_map(wh_table(WH_ORDERS), doc, &m, err, sizeof(err)));
  assert_non_null(strstr(err, "/quantity"));
  assert_null(strstr(err, "secret-value"));
  json_decref(doc);
}

static void test_other_rows(void **state) {
  (void)state;
  char err[256];
  json_t *doc = fixture_json("contracts/weather_observation.valid.json");
  stage_msg_t m = msg_at("context.weather", 1, 9);
  wh_row_t *row = wh_row_map(wh_table(WH_WEATHER), doc, &m, err, sizeof(err));
  assert_non_null(row);
  assert_string_equal(col(row, "city"), "Dhaka");
  assert_string_equal(col(row, "observed_at"), "2026-06-01T04:00:00Z");
  assert_string_equal(col(row, "temperature"), "31.5");
  assert_string_equal(col(row, "humidity"), "88");
  assert_string_equal(col(row, "is_extreme_weather"), "false");
  free(row);
  json_decref(doc);

  doc = fixture_json("contracts/risk_decision.valid.json");
  m = msg_at("risk.decisions", 0, 5);
  row = wh_row_map(wh_table(WH_RISK), doc, &m, err, sizeof(err));
  assert_non_null(row);
  assert_string_equal(col(row, "score"), "86");
  assert_string_equal(col(row, "reasons"),
                      "[\"phone on blacklist\",\"3 orders from this phone in 24 h\"]");
  assert_string_equal(col(row, "decided_at"), "2026-06-01T04:00:01Z");
  /* risk-svc adds decision_id and a feature snapshot; older decisions lack them. */
  assert_null(col(row, "decision_id"));
  assert_null(col(row, "features"));
  free(row);
  json_object_set_new(doc, "decision_id", json_string("dec-0001"));
  json_object_set_new(doc, "features", json_pack("{s:i,s:b}", "orders_24h", 3, "blacklisted", 1));
  row = wh_row_map(wh_table(WH_RISK), doc, &m, err, sizeof(err));
  assert_non_null(row);
  assert_string_equal(col(row, "decision_id"), "dec-0001");
  assert_string_equal(col(row, "features"), "{\"orders_24h\":3,\"blacklisted\":true}");
  free(row);
  json_decref(doc);

  doc = fixture_json("contracts/privacy_audit.valid.json");
  m = msg_at("audit.privacy", 1, 77);
  row = wh_row_map(wh_table(WH_AUDIT), doc, &m, err, sizeof(err));
  assert_non_null(row);
  /* The audited message's coordinates, not the audit event's own. */
  assert_string_equal(col(row, "topic"), "source.market.daraz");
  assert_string_equal(col(row, "partition"), "1");
  assert_string_equal(col(row, "offset"), "1234");
  assert_string_equal(col(row, "counts"), "{\"phone\":1,\"email\":0,\"identifiers_hashed\":3}");
  assert_string_equal(col(row, "at"), "2026-06-01T04:00:01.250Z");
  free(row);
  json_decref(doc);
}

static void test_number_text(void **state) {
  (void)state;
  char out[64];
  static const struct {
    double v;
    const char *want;
  } reals[] = {{1299.99, "1299.99"}, {0.1, "0.1"},       {5000.0, "5000"},
               {1e15, "1e+15"},      {-40.25, "-40.25"}, {1.0 / 3, "0.3333333333333333"}};
  for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
    json_t *v = json_real(reals[i].v);
    assert_true(wh_number_text(v, out, sizeof(out)) > 0);
    assert_string_equal(out, reals[i].want);
    assert_true(strtod(out, NULL) == reals[i].v);
    json_decref(v);
  }
  json_t *big = json_integer(3000000000LL);
  assert_int_equal(wh_number_text(big, out, sizeof(out)), 10);
  assert_string_equal(out, "3000000000");
  json_decref(big);
  json_t *s = json_string("1");
  assert_int_equal(wh_number_text(s, out, sizeof(out)), -1);
  json_decref(s);
}

/* ---- DDL: one schema in two dialects, matching the mapping -------------- */

/* Column names per table after applying every statement of a DDL file:
 * CREATE TABLE bodies and ALTER TABLE ... ADD COLUMN. Fills names as
 * "table.column" into out (sorted). */
static size_t ddl_columns(const char *sql, char out[][160], size_t cap) {
  size_t n = 0;
  const char *p = sql;
  while ((p = strstr(p, "CREATE TABLE IF NOT EXISTS ")) != NULL) {
    p += strlen("CREATE TABLE IF NOT EXISTS ");
    char table[64];
    size_t tl = strcspn(p, " (");
    snprintf(table, sizeof(table), "%.*s", (int)tl, p);
    const char *body = strchr(p, '(') + 1;
    const char *end = strstr(body, "\n);");
    assert_non_null(end);
    for (const char *line = body; line < end;) {
      const char *nl = strchr(line, '\n');
      while (*line == ' ')
        line++;
      char name[64] = "";
      if (*line == '"')
        sscanf(line + 1, "%63[^\"]", name);
      else if (strncmp(line, "--", 2) != 0 && strncmp(line, "PRIMARY", 7) != 0)
        sscanf(line, "%63[a-z_]", name);
      if (*name && n < cap)
        snprintf(out[n++], 160, "%s.%s", table, name);
      line = nl ? nl + 1 : end;
    }
    p = end;
  }
  for (p = sql; (p = strstr(p, "ALTER TABLE ")) != NULL; p++) {
    char table[64], name[64];
    if (sscanf(p, "ALTER TABLE %63s ADD COLUMN IF NOT EXISTS %63s", table, name) == 2 && n < cap)
      snprintf(out[n++], 160, "%s.%s", table, name);
  }
  qsort(out, n, 160, (int (*)(const void *, const void *))strcmp);
  return n;
}

static int has(char cols[][160], size_t n, const char *table, const char *column) {
  char want[96];
  snprintf(want, sizeof(want), "%s.%s", table, column);
  for (size_t i = 0; i < n; i++)
    if (strcmp(cols[i], want) == 0)
      return 1;
  return 0;
}

static void test_ddl_in_step(void **state) {
  (void)state;
  static char pg[256][160], sf[256][160];
  size_t npg = ddl_columns(warehouse_sql_postgres, pg, 256);
  size_t nsf = ddl_columns(warehouse_sql_snowflake, sf, 256);
  /* Snowflake also keeps sink_offsets in its DDL (pg.c creates it in PostgreSQL). */
  size_t i = 0, k = 0;
  for (; i < npg; i++, k++) {
    while (k < nsf && strncmp(sf[k], "sink_offsets.", 13) == 0)
      k++;
    assert_true(k < nsf);
    assert_string_equal(pg[i], sf[k]);
  }
  while (k < nsf && strncmp(sf[k], "sink_offsets.", 13) == 0)
    k++;
  assert_int_equal(k, nsf);
  assert_true(npg >= 50);
  /* Every column the sink writes exists in both dialects. */
  for (int t = 0; t < WH_TABLE_COUNT; t++) {
    const wh_table_t *tab = wh_table(t);
    for (size_t c = 0; c < tab->ncols; c++) {
      assert_true(has(pg, npg, tab->name, tab->cols[c].name));
      assert_true(has(sf, nsf, tab->name, tab->cols[c].name));
    }
  }
  assert_true(has(pg, npg, "price_history", "first_seen_at"));
  assert_true(has(sf, nsf, "sink_offsets", "next_offset"));
}

static void test_migrations(void **state) {
  (void)state;
  migrations_t m;
  char err[256];
  assert_int_equal(migrations_parse(warehouse_sql_postgres, &m, err, sizeof(err)), 0);
  assert_int_equal(m.n, 2);
  assert_int_equal(m.items[0].version, 1);
  assert_string_equal(m.items[0].name, "warehouse_tables");
  assert_int_equal(m.items[1].version, 2);
  /* The preamble (statements before the first marker) opens every migration;
   * the header comments do not. */
  assert_true(strncmp(m.items[1].sql, "SET client_min_messages", 23) == 0);
  assert_non_null(strstr(m.items[0].sql, "CREATE TABLE IF NOT EXISTS orders"));
  assert_null(strstr(m.items[0].sql, "price_history"));
  assert_non_null(strstr(m.items[1].sql, "CREATE TABLE IF NOT EXISTS price_history"));
  migrations_free(&m);

  assert_int_equal(migrations_parse(warehouse_sql_snowflake, &m, err, sizeof(err)), 0);
  assert_int_equal(m.n, 3);
  assert_non_null(strstr(m.items[2].sql, "CREATE OR REPLACE PROCEDURE sensory_sink_apply"));
  assert_int_equal(m.items[0].sql[0], 'C'); /* comment-only preamble: nothing prepended */
  migrations_free(&m);

  static const char *const bad[] = {
      "CREATE TABLE t (a int);",                                      /* no marker */
      "-- migration: 2 b\nSELECT 1;\n-- migration: 1 a\nSELECT 1;\n", /* not ascending */
      "-- migration: x a\nSELECT 1;\n",                               /* no version */
      "-- migration: 1 a\n\n-- migration: 2 b\nSELECT 1;\n",          /* empty */
      "-- migration: 1\nSELECT 1;\n",                                 /* no name */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(migrations_parse(bad[i], &m, err, sizeof(err)), -1);
    migrations_free(&m);
  }
}

/* ---- JWT ---------------------------------------------------------------- */

static char *fixture_path(const char *name) {
  char *p = malloc(1024);
  snprintf(p, 1024, "%s/snowflake/%s", test_fixtures(), name);
  return p;
}

static json_t *b64url_json(const char *s, size_t len) {
  char buf[2048];
  assert_true(len < sizeof(buf) - 4);
  memcpy(buf, s, len);
  for (size_t i = 0; i < len; i++)
    buf[i] = buf[i] == '-' ? '+' : buf[i] == '_' ? '/' : buf[i];
  while (len % 4)
    buf[len++] = '=';
  unsigned char *raw;
  size_t n;
  assert_int_equal(b64_decode(buf, len, &raw, &n), 0);
  json_t *doc = jsonf_parse((char *)raw, n, 8, NULL, 0);
  free(raw);
  assert_non_null(doc);
  return doc;
}

/* Verifies the RS256 signature of token with the fixture's public key. */
static int verify(const char *token) {
  char *pub = fixture_path("rsa_key.pub");
  FILE *fp = fopen(pub, "r");
  assert_non_null(fp);
  EVP_PKEY *key = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
  fclose(fp);
  free(pub);
  assert_non_null(key);
  const char *dot2 = strrchr(token, '.');
  char sig64[1024];
  size_t sl = strlen(dot2 + 1);
  assert_true(sl < sizeof(sig64) - 4);
  memcpy(sig64, dot2 + 1, sl);
  for (size_t i = 0; i < sl; i++)
    sig64[i] = sig64[i] == '-' ? '+' : sig64[i] == '_' ? '/' : sig64[i];
  while (sl % 4)
    sig64[sl++] = '=';
  unsigned char *sig;
  size_t siglen;
  assert_int_equal(b64_decode(sig64, sl, &sig, &siglen), 0);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok =
      EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
      EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)token, (size_t)(dot2 - token)) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  free(sig);
  return ok;
}

static void test_jwt(void **state) {
  (void)state;
  char err[256];
  char *key = fixture_path("rsa_key.p8"), *fp_file = fixture_path("rsa_key.fingerprint");
  char *want_fp = test_slurp(fp_file, NULL);
  want_fp[strcspn(want_fp, "\n")] = '\0';
  sfjwt_t *j = sfjwt_new("xy12345.us-east-1", "sensory_loader", key, NULL, 3540, err, sizeof(err));
  assert_non_null(j);
  /* The fingerprint the openssl CLI gives (see tests/fixtures/snowflake/README). */
  char fp[128];
  snprintf(fp, sizeof(fp), "SHA256:%s", want_fp);
  assert_string_equal(sfjwt_fingerprint(j), fp);
  assert_string_equal(sfjwt_subject(j), "XY12345.SENSORY_LOADER");

  time_t now = 1795822148;
  const char *tok = sfjwt_token(j, now, err, sizeof(err));
  assert_non_null(tok);
  char *copy = strdup(tok);
  const char *d1 = strchr(copy, '.'), *d2 = strrchr(copy, '.');
  assert_true(d1 && d2 && d1 < d2);
  json_t *h = b64url_json(copy, (size_t)(d1 - copy));
  assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
  assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
  json_decref(h);
  json_t *p = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
  char iss[256];
  snprintf(iss, sizeof(iss), "XY12345.SENSORY_LOADER.%s", fp);
  assert_string_equal(json_string_value(json_object_get(p, "iss")), iss);
  assert_string_equal(json_string_value(json_object_get(p, "sub")), "XY12345.SENSORY_LOADER");
  json_int_t iat = json_integer_value(json_object_get(p, "iat"));
  json_int_t exp = json_integer_value(json_object_get(p, "exp"));
  assert_int_equal(iat, now);
  assert_int_equal(exp, now + 3540);
  assert_true(exp - iat <= 3600);
  json_decref(p);
  assert_true(verify(copy));
  /* Tampered: the signature no longer verifies. */
  copy[d1 - copy + 3] = copy[d1 - copy + 3] == 'A' ? 'B' : 'A';
  assert_false(verify(copy));
  free(copy);

  /* Reused while fresh, renewed before it expires (5 minutes' margin). */
  const char *again = sfjwt_token(j, now + 600, err, sizeof(err));
  assert_ptr_equal(again, tok);
  assert_int_equal(sfjwt_expires(j), now + 3540);
  const char *renewed = sfjwt_token(j, now + 3540 - 299, err, sizeof(err));
  assert_int_equal(sfjwt_expires(j), now + 3540 - 299 + 3540);
  assert_true(verify(renewed));
  sfjwt_expire(j);
  assert_non_null(sfjwt_token(j, now + 4000, err, sizeof(err)));
  assert_int_equal(sfjwt_expires(j), now + 4000 + 3540);
  sfjwt_destroy(j);

  /* Lifetime never over one hour. */
  j = sfjwt_new("ORG-ACCT", "u", key, NULL, 7200, err, sizeof(err));
  assert_non_null(j);
  sfjwt_token(j, now, err, sizeof(err));
  assert_int_equal(sfjwt_expires(j), now + 3600);
  assert_string_equal(sfjwt_subject(j), "ORG-ACCT.U");
  sfjwt_destroy(j);

  /* An encrypted key needs its passphrase; the wrong one fails. */
  char *enc = fixture_path("rsa_key_encrypted.p8"), *pass = fixture_path("rsa_key.passphrase");
  j = sfjwt_new("a", "u", enc, pass, 3540, err, sizeof(err));
  assert_non_null(j);
  assert_string_equal(sfjwt_fingerprint(j), fp);
  sfjwt_destroy(j);
  assert_null(sfjwt_new("a", "u", enc, NULL, 3540, err, sizeof(err)));
  assert_null(sfjwt_new("a", "u", enc, fp_file, 3540, err, sizeof(err)));
  assert_null(strstr(err, "BEGIN")); /* never key material */
  assert_null(sfjwt_new("a", "u", fp_file, NULL, 3540, err, sizeof(err)));
  assert_null(sfjwt_new("a", "u\"x", key, NULL, 3540, err, sizeof(err)));
  assert_null(sfjwt_new("", "u", key, NULL, 3540, err, sizeof(err)));
  free(enc);
  free(pass);
  free(key);
  free(fp_file);
  free(want_fp);
}

/* ---- request ids, bodies, responses ------------------------------------- */

static void test_request_id(void **state) {
  (void)state;
  stage_sink_range_t r[2] = {{"sink.snowflake.orders", 2, 100, 199}, {"context.weather", 0, 5, 9}};
  char a[37], b[37];
  const char *scope = "snowflake-sink\nSENSORY.PUBLIC";
  sfapi_request_id(scope, r, 2, "nonce", a);
  /* Computed independently (Python hashlib) from the documented derivation. */
  assert_string_equal(a, "2951f0a5-07f6-8a5a-9c50-e923f60125e8");
  regex_t re;
  assert_int_equal(regcomp(&re,
                           "^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                           REG_EXTENDED | REG_NOSUB),
                   0);
  assert_int_equal(regexec(&re, a, 0, NULL, 0), 0);
  /* The same batch, the same id (a retry); any change, another id. */
  sfapi_request_id(scope, r, 2, "other nonce", b);
  assert_string_equal(a, b);
  r[0].last = 200;
  sfapi_request_id(scope, r, 2, NULL, b);
  assert_string_not_equal(a, b);
  r[0].last = 199;
  r[1].partition = 1;
  sfapi_request_id(scope, r, 2, NULL, b);
  assert_string_not_equal(a, b);
  r[1].partition = 0;
  sfapi_request_id("backfill\nSENSORY.PUBLIC", r, 2, NULL, b);
  assert_string_not_equal(a, b);
  /* stdio (partition -1, offsets are line numbers): the run's nonce counts. */
  stage_sink_range_t s = {"sink.snowflake.orders", -1, 1, 500};
  sfapi_request_id(scope, &s, 1, "run-1", a);
  sfapi_request_id(scope, &s, 1, "run-2", b);
  assert_string_not_equal(a, b);
  assert_int_equal(regexec(&re, b, 0, NULL, 0), 0);
  regfree(&re);
}

static void test_bodies(void **state) {
  (void)state;
  sfapi_target_t t = {"SENSORY", "PUBLIC", "LOAD_WH", NULL, 300};
  json_t *b = NULL;
  assert_int_equal(sfapi_bind_text(&b, 1, "snowflake-sink", 14), 0);
  assert_int_equal(sfapi_bind_text(&b, 2, "{\"a\":\"x\\\"y\"}", 12), 0);
  char *body = sfapi_statement_body(&t, "CALL sensory_sink_apply(?, ?)", b, 0);
  assert_non_null(body);
  json_t *doc = jsonf_parse(body, strlen(body), 16, NULL, 0);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "statement")),
                      "CALL sensory_sink_apply(?, ?)");
  assert_int_equal(json_integer_value(json_object_get(doc, "timeout")), 300);
  assert_string_equal(json_string_value(json_object_get(doc, "database")), "SENSORY");
  assert_null(json_object_get(doc, "role"));
  json_t *two = json_object_get(json_object_get(doc, "bindings"), "2");
  assert_string_equal(json_string_value(json_object_get(two, "type")), "TEXT");
  assert_string_equal(json_string_value(json_object_get(two, "value")), "{\"a\":\"x\\\"y\"}");
  assert_null(json_object_get(json_object_get(doc, "parameters"), "multi_statement_count"));
  json_decref(doc);
  free(body);
  body = sfapi_statement_body(&t, "CREATE TABLE a (x INT); CREATE TABLE b (y INT)", NULL, 1);
  doc = jsonf_parse(body, strlen(body), 16, NULL, 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "parameters"),
                                                      "multi_statement_count")),
                   0);
  assert_null(json_object_get(doc, "bindings"));
  json_decref(doc);
  free(body);

  /* The batch document: rows per table in column order plus coordinates,
   * offsets to keep (next = last + 1; stdio's partition -1 left out). */
  json_t *order = fixture_json("contracts/clean_market_order.valid.json");
  json_t *weather = fixture_json("contracts/weather_observation.valid.json");
  stage_msg_t m[2] = {msg_at("sink.snowflake.orders", 1, 10), msg_at("context.weather", 0, 3)};
  char err[256];
  stage_sink_record_t recs[2] = {
      {.msg = &m[0], .row = wh_row_map(wh_table(WH_ORDERS), order, &m[0], err, sizeof(err))},
      {.msg = &m[1], .row = wh_row_map(wh_table(WH_WEATHER), weather, &m[1], err, sizeof(err))}};
  stage_sink_record_t *ptrs[2] = {&recs[0], &recs[1]};
  stage_sink_range_t saves[2] = {{"sink.snowflake.orders", 1, 10, 10}, {"x", -1, 1, 1}};
  char *out;
  size_t len;
  assert_int_equal(sfapi_batch_json(ptrs, 2, saves, 2, &out, &len), 0);
  doc = jsonf_parse(out, len, 16, NULL, 0);
  assert_non_null(doc);
  json_t *offs = json_object_get(doc, "offsets");
  assert_int_equal(json_array_size(offs), 1);
  assert_string_equal(json_string_value(json_array_get(json_array_get(offs, 0), 2)), "11");
  json_t *row = json_array_get(json_object_get(doc, "orders"), 0);
  assert_int_equal(json_array_size(row), wh_table(WH_ORDERS)->ncols + 3);
  assert_string_equal(json_string_value(json_array_get(row, 0)), "D-556677");
  assert_string_equal(json_string_value(json_array_get(row, wh_table(WH_ORDERS)->ncols + 2)), "10");
  assert_int_equal(json_array_size(json_object_get(doc, "weather_observations")), 1);
  assert_null(json_object_get(doc, "risk_decisions"));
  json_decref(doc);
  free(out);
  free(recs[0].row);
  free(recs[1].row);
  json_decref(order);
  json_decref(weather);
}

static sfapi_outcome_t parse_fixture(long status, const char *name, sfapi_result_t *r) {
  char path[1024];
  size_t len;
  snprintf(path, sizeof(path), "%s/api/%s", test_fixtures(), name);
  char *body = test_slurp(path, &len);
  sfapi_parse(status, body, len, r);
  free(body);
  return r->outcome;
}

static void test_responses(void **state) {
  (void)state;
  sfapi_result_t r;
  assert_int_equal(parse_fixture(200, "snowflake_statements_200.json", &r), SFAPI_DONE);
  assert_string_equal(r.code, "090001");
  assert_string_equal(r.handle, ""); /* "{handle}" is the doc's placeholder, not a handle */
  sfapi_result_free(&r);
  assert_int_equal(parse_fixture(202, "snowflake_statements_202.json", &r), SFAPI_RUNNING);
  assert_string_equal(r.handle, "019c06a4-0000-df4f-0000-00100006589e");
  assert_string_equal(r.code, "333334");
  sfapi_result_free(&r);
  /* A compilation error is a deployment problem, not the data. */
  assert_int_equal(parse_fixture(422, "snowflake_statements_422.json", &r), SFAPI_FATAL);
  assert_string_equal(r.sql_state, "42000");
  assert_non_null(strstr(r.message, "invalid identifier '?'"));
  assert_null(strstr(r.message, "AFAF"));
  sfapi_result_free(&r);

  static const struct {
    long status;
    const char *body;
    sfapi_outcome_t want;
  } cases[] = {
      {422,
       "{\"code\":\"100038\",\"sqlState\":\"22018\",\"message\":\"Numeric value 'abc' is not "
       "recognized\",\"statementHandle\":\"01a2-33\"}",
       SFAPI_REJECT},
      {422,
       "{\"code\":\"100035\",\"sqlState\":\"22007\",\"message\":\"Timestamp '0000-01-01' is not "
       "recognized\"}",
       SFAPI_REJECT},
      {422,
       "{\"code\":\"000630\",\"sqlState\":\"57014\",\"message\":\"Statement reached its statement "
       "or warehouse timeout\"}",
       SFAPI_RETRY},
      {422,
       "{\"code\":\"002003\",\"sqlState\":\"42S02\",\"message\":\"SQL compilation error: Object "
       "'SENSORY_SINK_APPLY' does not exist\"}",
       SFAPI_FATAL},
      {401, "{\"code\":\"390144\",\"message\":\"JWT token is invalid.\"}", SFAPI_AUTH},
      {429, NULL, SFAPI_RETRY},
      {503, "<html>busy</html>", SFAPI_RETRY},
      {408, "{\"code\":\"000630\"}", SFAPI_RETRY},
      {0, NULL, SFAPI_RETRY},
      {403, "{}", SFAPI_FATAL},
      {400, "not json at all", SFAPI_FATAL},
      {202, "{\"code\":\"333334\"}", SFAPI_RETRY},                    /* no handle */
      {202, "{\"statementHandle\":\"../../evil?x=1\"}", SFAPI_RETRY}, /* not a handle */
      {200, "[1,2,3]", SFAPI_DONE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *b = cases[i].body;
    sfapi_parse(cases[i].status, b, b ? strlen(b) : 0, &r);
    if (r.outcome != cases[i].want)
      fail_msg("case %zu: outcome %d, want %d", i, r.outcome, cases[i].want);
    assert_null(strstr(r.message, "abc"));
    assert_null(strstr(r.message, "0000-01-01"));
    sfapi_result_free(&r);
  }
  char msg[] = "Numeric value 'x' is out of range for \"COL\"; '' and 'unterminated";
  sfapi_redact(msg);
  assert_string_equal(msg, "Numeric value '?' is out of range for \"?\"; '' and '?");
  /* fuzz_snowflake: every quote became three bytes, also the two of an empty
   * pair: a message of 255 "''" ran 254 bytes past the message field and
   * corrupted the result (ASan: heap-buffer-overflow in json_decref). */
  char body[600] = "{\"message\":\"";
  for (int i = 0; i < 255; i++)
    strcat(body, "''");
  strcat(body, "'\"}");
  sfapi_result_t big;
  sfapi_parse(422, body, strlen(body), &big);
  assert_true(strlen(big.message) < sizeof(big.message));
  assert_non_null(big.doc);
  sfapi_result_free(&big);
}

/* ---- settings ----------------------------------------------------------- */

static void test_config_check(void **state) {
  (void)state;
  char err[256];
  sink_config_t c = {.backend = "postgres"};
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), 0);
  c.backend = "mysql";
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "sink.backend"));
  c = (sink_config_t){.backend = "snowflake",
                      .sf_account = "a",
                      .sf_user = "u",
                      .sf_key_file = "/k",
                      .sf_database = "D"};
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "snowflake.schema"));
  c.sf_schema = "S";
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), 0);
  c.sf_url = "http://snowflake.example.com";
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "https"));
  c.sf_url = "http://127.0.0.1:8443";
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), 0);
  c.sf_url = "https://org-acct.snowflakecomputing.com";
  assert_int_equal(sink_config_check(&c, err, sizeof(err)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_orders_row),  cmocka_unit_test(test_other_rows),
      cmocka_unit_test(test_number_text), cmocka_unit_test(test_ddl_in_step),
      cmocka_unit_test(test_migrations),  cmocka_unit_test(test_jwt),
      cmocka_unit_test(test_request_id),  cmocka_unit_test(test_bodies),
      cmocka_unit_test(test_responses),   cmocka_unit_test(test_config_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
