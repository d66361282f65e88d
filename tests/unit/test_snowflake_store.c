/* snowflake-sink's write path against a real PostgreSQL, with batches made
 * here the way the stage's sink mode hands them over: prepare() per record,
 * write() per batch. Checks final states by SQL: newer order states win
 * over replays and out-of-order updates, duplicates collapse, rows the
 * store rejects are isolated and dead-lettered (code and message, never the
 * value) while the others load, kept offsets skip what was written and
 * never pass a dead letter, an unreachable store writes nothing, and a
 * zombie writer of the same partition skips what the first one wrote.
 * Needs DATABASE_URL and SCHEMAS_DIR (tests/integration/store_pg.sh);
 * skipped without them. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"
#include "store/pg.h"
#include "store_postgres.h"

#define TOPIC "sink.snowflake.orders"
#define MAXN 512

/* Stands in for stage_sink_reject(): the letter "goes out" unless
 * reject_fails is set (an unacknowledged dead letter). */
static int reject_fails, rejects;
static int fake_reject(stage_sink_batch_t *b, size_t i) {
  if (reject_fails)
    return -1;
  b->records[i].status = STAGE_DEAD_LETTER;
  rejects++;
  return 0;
}

static const char *db_url(void) {
  const char *u = getenv("DATABASE_URL");
  return u && *u && getenv("SCHEMAS_DIR") ? u : NULL;
}

typedef struct env {
  store_t *store;
  sink_t *sink;
  pg_t *pg; /* for checks */
} env_t;

static env_t *env_new(const char *url, const char *name) {
  env_t *e = calloc(1, sizeof(*e));
  char err[512];
  pg_settings_t s = {.url = (char *)url, .connect_timeout_ms = 2000, .statement_timeout_ms = 10000};
  e->store = store_postgres_new(&s, name, err, sizeof(err));
  assert_non_null(e->store);
  sink_options_t o = {.schemas_dir = getenv("SCHEMAS_DIR"),
                      .tables = TOPIC "=orders,context.weather=weather_observations,"
                                      "risk.decisions=risk_decisions,audit.privacy=privacy_audit",
                      .name = name,
                      .reject = fake_reject};
  e->sink = sink_new(&o, e->store, NULL, err, sizeof(err));
  if (!e->sink)
    fail_msg("%s", err);
  e->pg = pg_new(&s, "test_snowflake_store", err, sizeof(err));
  assert_non_null(e->pg);
  return e;
}

static void env_free(env_t *e) {
  sink_destroy(e->sink);
  store_destroy(e->store);
  pg_destroy(e->pg);
  free(e);
}

static void sql(env_t *e, const char *q) {
  char st[6], err[512];
  if (pg_exec(e->pg, q, st, err, sizeof(err)) != PG_OK)
    fail_msg("%s: %s", q, err);
}

static char *value(env_t *e, const char *q) {
  char err[256];
  assert_int_equal(pg_connect(e->pg, err, sizeof(err)), 0);
  PGresult *r = PQexec(pg_conn(e->pg), q);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", q, PQresultErrorMessage(r));
  char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  return v;
}

static void expect(env_t *e, const char *q, const char *want) {
  char *v = value(e, q);
  if (strcmp(v, want) != 0)
    fail_msg("%s: got '%s', want '%s'", q, v, want);
  free(v);
}

static json_t *order(const char *id, const char *product, const char *status, const char *ts,
                     double price, long long qty) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:f,s:s,s:s,s:s,s:s}", "platform", "daraz", "order_id",
                   id, "merchant_id", "M-1", "product_id", product, "product_name", "Raincoat",
                   "quantity", qty, "price", price, "order_status", status, "payment_method", "cod",
                   "shipping_city", "Dhaka", "timestamp", ts);
}

/* One batch through the sink as the stage would run it: prepare() each
 * record (dead letters leave the batch), write() the rest. docs are
 * stolen. status[i] receives each record's outcome. Returns write()'s
 * result (STAGE_OK when nothing was left to write). */
typedef struct batch_out {
  int status[MAXN];
  char message[MAXN][512];
  const char *code[MAXN];
} batch_out_t;

static int run_batch(env_t *e, const char *topic, int32_t partition, const int64_t *offsets,
                     json_t **docs, size_t n, batch_out_t *out) {
  static stage_msg_t msgs[MAXN];
  static stage_sink_record_t all[MAXN], recs[MAXN];
  static stage_fail_t fails[MAXN];
  size_t nb = 0;
  int64_t first = INT64_MAX, last = -1;
  for (size_t i = 0; i < n; i++) {
    msgs[i] = (stage_msg_t){.topic = topic,
                            .partition = partition,
                            .offset = offsets[i],
                            .timestamp_ms = 1795822148000};
    memset(&fails[i], 0, sizeof(fails[i]));
    all[i] = (stage_sink_record_t){.msg = &msgs[i], .doc = docs[i], .fail = &fails[i]};
    out->status[i] = sink_prepare(e->sink, &all[i]);
    if (out->status[i] == STAGE_OK) {
      recs[nb++] = all[i];
      first = offsets[i] < first ? offsets[i] : first;
      last = offsets[i] > last ? offsets[i] : last;
    } else {
      out->code[i] = fails[i].code;
      snprintf(out->message[i], 512, "%s", fails[i].message);
    }
  }
  int rc = STAGE_OK;
  if (nb) {
    stage_sink_range_t range = {topic, partition, first, last};
    stage_sink_batch_t b = {
        .records = recs, .n = nb, .ranges = &range, .nranges = 1, .reason = "count"};
    rc = sink_write(e->sink, &b);
    for (size_t i = 0, k = 0; i < n; i++) {
      if (out->status[i] != STAGE_OK)
        continue;
      out->status[i] = rc == STAGE_OK ? recs[k].status : rc;
      out->code[i] = fails[i].code;
      snprintf(out->message[i], 512, "%s", fails[i].message);
      sink_release(e->sink, recs[k].row);
      k++;
    }
  }
  for (size_t i = 0; i < n; i++)
    json_decref(docs[i]);
  return rc;
}

static void reset(env_t *e) {
  sql(e, "TRUNCATE orders, price_history, weather_observations, risk_decisions, privacy_audit;"
         "DELETE FROM sink_offsets");
}

static int setup(void **state) {
  if (!db_url())
    return 0;
  env_t *e = env_new(db_url(), "snowflake-sink-test");
  char err[512];
  if (e->store->ops->init_schema(e->store->impl, err, sizeof(err)) < 0)
    fail_msg("init_schema: %s", err);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  if (*state)
    env_free(*state);
  return 0;
}

#define NEED_DB(state)                                                                             \
  do {                                                                                             \
    if (!*(state))                                                                                 \
      skip();                                                                                      \
  } while (0)

static void test_newer_state_wins(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  /* Out of order within one batch, duplicates included. */
  json_t *d1[] = {
      order("A", "P1", "shipped", "2026-06-01T12:00:00Z", 100, 1),
      order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
      order("A", "P1", "delivered", "2026-06-01T15:00:00Z", 100, 1),
      order("A", "P1", "delivered", "2026-06-01T15:00:00Z", 100, 1), /* duplicate */
      order("B", "P1", "pending", "2026-06-01T11:00:00Z", 120, 2),
      order("B", "P2", "pending", "2026-06-01T11:00:00Z", 50, 1), /* same order, 2nd line */
  };
  int64_t o1[] = {0, 1, 2, 3, 4, 5};
  assert_int_equal(run_batch(e, TOPIC, 0, o1, d1, 6, &out), STAGE_OK);
  expect(e, "SELECT count(*) FROM orders", "3");
  expect(e, "SELECT order_status FROM orders WHERE order_id = 'A'", "delivered");
  /* A later batch: an older event of A (replayed) changes nothing; a newer
   * one of B wins. */
  json_t *d2[] = {
      order("A", "P1", "shipped", "2026-06-01T12:00:00Z", 100, 1),
      order("B", "P1", "cancelled", "2026-06-02T09:00:00Z", 120, 2),
  };
  int64_t o2[] = {6, 7};
  assert_int_equal(run_batch(e, TOPIC, 0, o2, d2, 2, &out), STAGE_OK);
  expect(e, "SELECT order_status || ' ' || kafka_offset FROM orders WHERE order_id = 'A'",
         "delivered 3");
  expect(e, "SELECT order_status FROM orders WHERE order_id = 'B' AND product_id = 'P1'",
         "cancelled");
  expect(e,
         "SELECT event_time = '2026-06-02T09:00:00Z' FROM orders WHERE order_id = 'B' AND "
         "product_id = 'P1'",
         "t");
  expect(e, "SELECT next_offset FROM sink_offsets WHERE sink = 'snowflake-sink-test'", "8");
  /* price_history: one row per product, platform and price, with the first
   * and last time it was seen, whatever the arrival order. */
  expect(e, "SELECT count(*) FROM price_history", "3");
  expect(e,
         "SELECT first_seen_at = '2026-06-01T11:00:00Z' AND last_seen_at = '2026-06-02T09:00:00Z' "
         "FROM price_history WHERE product_id = 'P1' AND price = 120",
         "t");
  json_t *d3[] = {order("C", "P1", "pending", "2026-05-30T08:00:00Z", 120, 1)};
  int64_t o3[] = {8};
  assert_int_equal(run_batch(e, TOPIC, 0, o3, d3, 1, &out), STAGE_OK);
  expect(e,
         "SELECT first_order_id || ' ' || (first_seen_at = '2026-05-30T08:00:00Z') FROM "
         "price_history WHERE product_id = 'P1' AND price = 120",
         "C true");
}

static void test_replay_is_skipped(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  json_t *d1[] = {order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
                  order("B", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  int64_t o[] = {40, 41};
  assert_int_equal(run_batch(e, TOPIC, 2, o, d1, 2, &out), STAGE_OK);
  sql(e, "UPDATE orders SET order_status = 'marker'"); /* would be overwritten by a rewrite */
  /* The same records again (a crash between the commit and Kafka's), plus
   * one new: only the new one is written. */
  json_t *d2[] = {order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
                  order("B", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
                  order("C", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  int64_t o2[] = {40, 41, 42};
  assert_int_equal(run_batch(e, TOPIC, 2, o2, d2, 3, &out), STAGE_OK);
  expect(e, "SELECT count(*) FILTER (WHERE order_status = 'marker') || '/' || count(*) FROM orders",
         "2/3");
  int64_t next = 0;
  assert_int_equal(sink_stored_offset(e->sink, TOPIC, 2, &next), 1);
  assert_int_equal(next, 43);
  assert_int_equal(sink_stored_offset(e->sink, TOPIC, 3, &next), 0);
}

static void test_rejected_rows_isolated(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  json_t *docs[40];
  int64_t offs[40];
  char id[16];
  for (int i = 0; i < 40; i++) {
    snprintf(id, sizeof(id), "R%02d", i);
    docs[i] = order(id, "P9", "pending", "2026-06-01T10:00:00Z", 10, 1);
    offs[i] = 100 + i;
  }
  /* Valid by the contract, refused by the table: an integer column's
   * range, a NUMERIC(14,2) overflow, year 0. Plus one contract failure. */
  json_object_set_new(docs[7], "quantity", json_integer(3000000000LL));
  json_object_set_new(docs[21], "price", json_real(1e15));
  json_object_set_new(docs[22], "timestamp", json_string("0000-01-01T00:00:00Z"));
  json_object_set_new(docs[30], "quantity", json_integer(0));
  rejects = 0;
  assert_int_equal(run_batch(e, TOPIC, 1, offs, docs, 40, &out), STAGE_OK);
  expect(e, "SELECT count(*) FROM orders", "36");
  expect(e, "SELECT count(*) FROM orders WHERE order_id IN ('R07','R21','R22','R30')", "0");
  for (int i = 0; i < 40; i++) {
    int bad = i == 7 || i == 21 || i == 22 || i == 30;
    assert_int_equal(out.status[i], bad ? STAGE_DEAD_LETTER : STAGE_OK);
  }
  assert_string_equal(out.code[30], "schema");
  assert_string_equal(out.code[7], "store_rejected");
  assert_non_null(strstr(out.message[7], "22003"));
  assert_null(strstr(out.message[7], "3000000000"));
  assert_non_null(strstr(out.message[21], "numeric field overflow"));
  assert_null(strstr(out.message[21], "1e+15"));
  assert_null(strstr(out.message[22], "0000-01-01"));
  assert_non_null(strstr(out.message[22], "(postgres)"));
  assert_int_equal(rejects, 3);
  /* The store's rejections were made durable before the commit, so the kept
   * offset passes them; it stops at the record that failed its contract in
   * prepare() (offset 130), whose letter went out on its own. */
  expect(e, "SELECT next_offset FROM sink_offsets", "130");
  /* The next batch of the partition moves on. */
  json_t *more[] = {order("S", "P9", "pending", "2026-06-01T10:00:00Z", 10, 1)};
  int64_t mo[] = {140};
  assert_int_equal(run_batch(e, TOPIC, 1, mo, more, 1, &out), STAGE_OK);
  expect(e, "SELECT next_offset FROM sink_offsets", "141");
}

static void test_other_tables(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  json_t *w[] = {
      json_pack("{s:s,s:f,s:s,s:i,s:f,s:s,s:b}", "city", "Dhaka", "temperature", 31.5, "condition",
                "Rain", "humidity", 88, "wind_speed", 4.2, "timestamp", "2026-06-01T04:00:00Z",
                "is_extreme_weather", 1),
      json_pack("{s:s,s:f,s:s,s:i,s:f,s:s,s:b}", "city", "Dhaka", "temperature", 31.5, "condition",
                "Rain", "humidity", 88, "wind_speed", 4.2, "timestamp", "2026-06-01T04:00:00Z",
                "is_extreme_weather", 1),
      json_pack("{s:s,s:f,s:s,s:i,s:f,s:s,s:b}", "city", "Dhaka", "temperature", 31.5, "condition",
                "Rain", "humidity", 188, "wind_speed", 4.2, "timestamp", "2026-06-01T05:00:00Z",
                "is_extreme_weather", 1),
  };
  int64_t wo[] = {0, 1, 2};
  assert_int_equal(run_batch(e, "context.weather", 0, wo, w, 3, &out), STAGE_OK);
  assert_int_equal(out.status[2], STAGE_DEAD_LETTER); /* humidity > 100: the contract */
  expect(e, "SELECT count(*) || ' ' || bool_and(is_extreme_weather) FROM weather_observations",
         "1 true");
  json_t *r[] = {json_pack("{s:s,s:i,s:s,s:[s],s:s,s:s}", "order_id", "A", "score", 86, "decision",
                           "advance_payment_required", "reasons", "phone on blacklist",
                           "rules_version", "rules-1", "timestamp", "2026-06-01T04:00:01Z")};
  int64_t ro[] = {0};
  assert_int_equal(run_batch(e, "risk.decisions", 3, ro, r, 1, &out), STAGE_OK);
  expect(e, "SELECT reasons->>0 || ' ' || (features IS NULL) FROM risk_decisions",
         "phone on blacklist true");
  json_t *a[] = {json_pack("{s:s,s:i,s:i,s:{s:i,s:i,s:i},s:s,s:s,s:s}", "topic",
                           "source.market.daraz", "partition", 1, "offset", 1234, "counts", "phone",
                           1, "email", 0, "identifiers_hashed", 3, "detector_version", "pii-1",
                           "key_id", "k1a2b3c4d", "timestamp", "2026-06-01T04:00:01.250Z")};
  int64_t ao[] = {9};
  assert_int_equal(run_batch(e, "audit.privacy", 0, ao, a, 1, &out), STAGE_OK);
  expect(e, "SELECT \"offset\" || ' ' || (counts->>'identifiers_hashed') FROM privacy_audit",
         "1234 3");
  /* A topic with no table and a tombstone: dead letters, nothing written. */
  json_t *x[] = {json_pack("{s:s}", "a", "b"), NULL};
  int64_t xo[] = {0, 1};
  run_batch(e, "clean.social", 0, xo, x, 1, &out);
  assert_string_equal(out.code[0], "unknown_topic");
  run_batch(e, "risk.decisions", 3, xo + 1, x + 1, 1, &out);
  assert_string_equal(out.code[0], "tombstone");
}

static void test_contract_failure_caps_offset(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  /* Offset 12 fails its contract in prepare(): its dead letter goes out on
   * its own, so the offset kept with this batch must stop before it. */
  json_t *d[] = {order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
                 order("B", "P1", "pending", "2026-06-01T10:00:00Z", 100, -1),
                 order("C", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  int64_t o[] = {11, 12, 13};
  assert_int_equal(run_batch(e, TOPIC, 0, o, d, 3, &out), STAGE_OK);
  assert_int_equal(out.status[1], STAGE_DEAD_LETTER);
  expect(e, "SELECT count(*) FROM orders", "2");
  expect(e, "SELECT next_offset FROM sink_offsets", "12");
}

static void test_unreachable_store(void **state) {
  NEED_DB(state);
  env_t *up = *state;
  reset(up);
  env_t *down = env_new("postgresql://nobody@127.0.0.1:1/none", "snowflake-sink-test");
  batch_out_t out;
  json_t *d[] = {order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  int64_t o[] = {0};
  assert_int_equal(run_batch(down, TOPIC, 0, o, d, 1, &out), STAGE_RETRY);
  int64_t next;
  assert_int_equal(sink_stored_offset(down->sink, TOPIC, 0, &next), -1);
  expect(up, "SELECT count(*) FROM orders", "0");
  env_free(down);
}

/* Two writers of one partition (a zombie after a rebalance): the second
 * waits for the first's transaction and then skips what it wrote. */
typedef struct zombie {
  env_t *e;
  int rc;
  batch_out_t out;
} zombie_t;

static void *zombie_write(void *arg) {
  zombie_t *z = arg;
  json_t *d[] = {order("Z", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  int64_t o[] = {5};
  z->rc = run_batch(z->e, TOPIC, 3, o, d, 1, &z->out);
  return NULL;
}

static void test_zombie_writer(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  sql(e, "INSERT INTO sink_offsets (sink, topic, \"partition\", next_offset) VALUES "
         "('snowflake-sink-test', '" TOPIC "', 3, 5)");
  /* The first writer holds the partition's row lock in an open transaction. */
  sql(e, "BEGIN");
  sql(e, "SELECT 1 FROM sink_offsets WHERE \"partition\" = 3 FOR UPDATE");
  sql(e, "INSERT INTO orders (order_id, platform, merchant_id, product_id, product_name, "
         "quantity, price, order_status, payment_method, event_time, kafka_topic, "
         "kafka_partition, kafka_offset) VALUES ('Z', 'daraz', 'M-1', 'P1', 'Raincoat', 1, 100, "
         "'first-writer', 'cod', '2026-06-01T10:00:00Z', '" TOPIC "', 3, 5)");
  zombie_t z = {.e = env_new(db_url(), "snowflake-sink-test")};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, zombie_write, &z), 0);
  usleep(300 * 1000); /* the zombie is now waiting on the lock */
  sql(e, "UPDATE sink_offsets SET next_offset = 6 WHERE \"partition\" = 3; COMMIT");
  pthread_join(t, NULL);
  assert_int_equal(z.rc, STAGE_OK);
  expect(e, "SELECT order_status FROM orders WHERE order_id = 'Z'", "first-writer");
  expect(e, "SELECT next_offset FROM sink_offsets WHERE \"partition\" = 3", "6");
  env_free(z.e);
}

/* A rejected row whose dead letter is not acknowledged: nothing commits;
 * the same batch again (its statuses kept, as the stage hands it back)
 * commits without rejecting the row twice. */
static void test_unacknowledged_reject(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  static stage_msg_t m[3];
  static stage_fail_t f[3];
  static stage_sink_record_t recs[3];
  json_t *docs[3] = {order("A", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1),
                     order("B", "P1", "pending", "2026-06-01T10:00:00Z", 100, 3000000000LL),
                     order("C", "P1", "pending", "2026-06-01T10:00:00Z", 100, 1)};
  for (int i = 0; i < 3; i++) {
    m[i] = (stage_msg_t){.topic = TOPIC, .partition = 0, .offset = 20 + i, .timestamp_ms = -1};
    recs[i] = (stage_sink_record_t){.msg = &m[i], .doc = docs[i], .fail = &f[i]};
    assert_int_equal(sink_prepare(e->sink, &recs[i]), STAGE_OK);
  }
  stage_sink_range_t range = {TOPIC, 0, 20, 22};
  stage_sink_batch_t b = {.records = recs, .n = 3, .ranges = &range, .nranges = 1};
  reject_fails = 1;
  assert_int_equal(sink_write(e->sink, &b), STAGE_RETRY);
  reject_fails = 0;
  expect(e, "SELECT count(*) FROM orders", "0");
  expect(e, "SELECT count(*) FROM sink_offsets", "0");
  rejects = 0;
  assert_int_equal(sink_write(e->sink, &b), STAGE_OK);
  assert_int_equal(rejects, 1);
  assert_int_equal(recs[1].status, STAGE_DEAD_LETTER);
  /* The stage keeps the status when a batch comes back: no second letter. */
  sql(e, "DELETE FROM sink_offsets");
  assert_int_equal(sink_write(e->sink, &b), STAGE_OK);
  assert_int_equal(rejects, 1);
  expect(e, "SELECT string_agg(order_id, ',' ORDER BY order_id) FROM orders", "A,C");
  expect(e, "SELECT next_offset FROM sink_offsets", "23");
  for (int i = 0; i < 3; i++) {
    sink_release(e->sink, recs[i].row);
    json_decref(docs[i]);
  }
}

/* A deployment error (the table is missing) stops the program. */
static void test_missing_table_is_fatal(void **state) {
  NEED_DB(state);
  env_t *e = *state;
  reset(e);
  batch_out_t out;
  sql(e, "ALTER TABLE weather_observations RENAME TO weather_observations_moved");
  json_t *w[] = {json_pack("{s:s,s:f,s:s,s:i,s:f,s:s,s:b}", "city", "Dhaka", "temperature", 31.5,
                           "condition", "Rain", "humidity", 88, "wind_speed", 4.2, "timestamp",
                           "2026-06-01T04:00:00Z", "is_extreme_weather", 1)};
  int64_t wo[] = {0};
  int rc = run_batch(e, "context.weather", 0, wo, w, 1, &out);
  sql(e, "ALTER TABLE weather_observations_moved RENAME TO weather_observations");
  assert_int_equal(rc, STAGE_FATAL);
  expect(e, "SELECT count(*) FROM weather_observations", "0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_newer_state_wins),
      cmocka_unit_test(test_replay_is_skipped),
      cmocka_unit_test(test_rejected_rows_isolated),
      cmocka_unit_test(test_other_tables),
      cmocka_unit_test(test_contract_failure_caps_offset),
      cmocka_unit_test(test_unreachable_store),
      cmocka_unit_test(test_zombie_writer),
      cmocka_unit_test(test_unacknowledged_reject),
      cmocka_unit_test(test_missing_table_is_fatal),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
