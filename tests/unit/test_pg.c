/* Tests of common/store/pg.c against a real PostgreSQL: connection and
 * back-off, error classes (and values kept out of messages), COPY with
 * escaping, sink_offsets (lock, raise-only save, load) and migrations.
 * Needs DATABASE_URL (tests/integration/store_pg.sh starts a server);
 * without it only the tests that need no server run. */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg.h"

static const char *db_url(void) {
  const char *u = getenv("DATABASE_URL");
  return u && *u ? u : NULL;
}

#define NEED_DB()                                                                                  \
  do {                                                                                             \
    if (!db_url())                                                                                 \
      skip();                                                                                      \
  } while (0)

static pg_t *client(const char *url) {
  pg_settings_t s = {.url = (char *)url, .connect_timeout_ms = 2000, .statement_timeout_ms = 5000};
  char err[256];
  pg_t *p = pg_new(&s, "test_pg", err, sizeof(err));
  assert_non_null(p);
  return p;
}

static void exec_ok(pg_t *p, const char *sql) {
  char state[6], err[512];
  pg_class_t c = pg_exec(p, sql, state, err, sizeof(err));
  if (c != PG_OK)
    fail_msg("%s: %s (%s)", sql, err, state);
}

/* One value from a query. */
static char *query1(pg_t *p, const char *sql) {
  PGresult *r = PQexec(pg_conn(p), sql);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  char *v = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : strdup("");
  PQclear(r);
  return v;
}

static void test_buf_escaping(void **state) {
  (void)state;
  pg_buf_t b = {0};
  assert_int_equal(pg_buf_field(&b, "a\tb\nc\\d\re", 9), 0);
  assert_string_equal(b.data, "a\\tb\\nc\\\\d\\re");
  assert_int_equal(pg_buf_raw(&b, "|", 1), 0);
  /* Growing past the first allocation keeps what was there. */
  char big[10000];
  memset(big, 'x', sizeof(big));
  assert_int_equal(pg_buf_field(&b, big, sizeof(big)), 0);
  assert_int_equal(b.len, 13 + 1 + sizeof(big));
  assert_int_equal(memcmp(b.data, "a\\tb\\nc\\\\d\\re|xxx", 17), 0);
  pg_buf_free(&b);
  assert_null(b.data);
  pg_buf_free(NULL);
}

static void test_settings(void **state) {
  (void)state;
  const conf_entry_t *e = pg_conf_entries();
  int url = 0, pw = 0;
  for (; e->key; e++) {
    url |= strcmp(e->key, "database.url") == 0 && strcmp(e->env, "DATABASE_URL") == 0;
    pw |= strcmp(e->key, "database.password_file") == 0 &&
          strcmp(e->env, "DATABASE_PASSWORD_FILE") == 0;
  }
  assert_true(url && pw);
  char err[256];
  pg_settings_t s = {.url = "postgresql://x@127.0.0.1/db", .password_file = "/nonexistent/pw"};
  assert_null(pg_new(&s, "t", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/pw"));
  s.password_file = NULL;
  s.url = "";
  assert_null(pg_new(&s, "t", err, sizeof(err)));
}

static void test_unreachable_backoff(void **state) {
  (void)state;
  /* A closed port on loopback: fails fast, then waits out the back-off. */
  pg_t *p = client("postgresql://nobody@127.0.0.1:1/none");
  char err[512], state6[6];
  assert_int_equal(pg_connect(p, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "cannot connect"));
  assert_int_equal(pg_connect(p, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "next attempt in"));
  assert_null(pg_conn(p));
  assert_int_equal(pg_exec(p, "SELECT 1", state6, err, sizeof(err)), PG_RETRY);
  pg_destroy(p);
  pg_destroy(NULL);
}

static void test_error_classes(void **state) {
  (void)state;
  NEED_DB();
  pg_t *p = client(db_url());
  char st[6], err[512];
  assert_int_equal(pg_exec(p, "SELEC 1", st, err, sizeof(err)), PG_FATAL);
  assert_string_equal(st, "42601");
  assert_int_equal(pg_exec(p, "SELECT 1/0", st, err, sizeof(err)), PG_REJECT);
  assert_string_equal(st, "22012");
  /* A data exception quoting the value: the value never reaches errstr. */
  assert_int_equal(pg_exec(p, "SELECT 'secret-0171'::integer", st, err, sizeof(err)), PG_REJECT);
  assert_string_equal(st, "22P02");
  assert_null(strstr(err, "secret"));
  assert_non_null(strstr(err, "invalid input syntax for type integer"));
  assert_int_equal(pg_exec(p, "SELECT 3000000000::integer", st, err, sizeof(err)), PG_REJECT);
  assert_null(strstr(err, "3000000000"));
  exec_ok(p, "CREATE TEMP TABLE t_check (q int CHECK (q > 0), k int PRIMARY KEY)");
  assert_int_equal(pg_exec(p, "INSERT INTO t_check VALUES (-5, 1)", st, err, sizeof(err)),
                   PG_REJECT);
  assert_string_equal(st, "23514");
  assert_non_null(strstr(err, "t_check_q_check")); /* names stay */
  assert_int_equal(pg_exec(p, "SELECT * FROM no_such_table", st, err, sizeof(err)), PG_FATAL);
  assert_string_equal(st, "42P01");
  /* A fatal or rejected statement leaves the connection usable. */
  assert_non_null(pg_conn(p));
  /* A terminated backend (what a server restart does): retry, reconnect. */
  assert_int_equal(
      pg_exec(p, "SELECT pg_terminate_backend(pg_backend_pid())", st, err, sizeof(err)), PG_RETRY);
  assert_null(pg_conn(p));
  usleep(150 * 1000); /* the first back-off */
  exec_ok(p, "SELECT 1");
  pg_destroy(p);
}

static void test_copy(void **state) {
  (void)state;
  NEED_DB();
  pg_t *p = client(db_url());
  exec_ok(p, "CREATE TEMP TABLE t_copy (a text, b int, c text)");
  pg_buf_t b = {0};
  const char *odd = "tab\there\nnew line \\ back";
  assert_int_equal(pg_buf_field(&b, odd, strlen(odd)), 0);
  assert_int_equal(pg_buf_raw(&b, "\t7\t\\N\n", 6), 0);
  assert_int_equal(pg_buf_field(&b, "plain", 5), 0);
  assert_int_equal(pg_buf_raw(&b, "\t8\tz\n", 5), 0);
  char st[6], err[512];
  assert_int_equal(
      pg_copy(p, "COPY t_copy (a, b, c) FROM STDIN", b.data, b.len, st, err, sizeof(err)), PG_OK);
  char *a = query1(p, "SELECT a FROM t_copy WHERE b = 7");
  assert_string_equal(a, odd);
  free(a);
  char *c = query1(p, "SELECT count(*) FROM t_copy WHERE c IS NULL");
  assert_string_equal(c, "1");
  free(c);
  /* A bad value fails the whole COPY as a rejection, without its value. */
  pg_buf_free(&b);
  assert_int_equal(pg_buf_raw(&b, "x\tnot-a-number\ty\n", 17), 0);
  assert_int_equal(
      pg_copy(p, "COPY t_copy (a, b, c) FROM STDIN", b.data, b.len, st, err, sizeof(err)),
      PG_REJECT);
  assert_string_equal(st, "22P02");
  assert_null(strstr(err, "not-a-number"));
  char *n = query1(p, "SELECT count(*) FROM t_copy");
  assert_string_equal(n, "2");
  free(n);
  pg_buf_free(&b);
  pg_destroy(p);
}

static void test_offsets(void **state) {
  (void)state;
  NEED_DB();
  pg_t *p = client(db_url());
  pg_migration_t none[1];
  char err[512], st[6];
  assert_true(pg_migrate(p, "test_offsets", none, 0, err, sizeof(err)) >= 0); /* the tables */
  exec_ok(p, "DELETE FROM sink_offsets WHERE sink = 'test-sink'");
  int64_t next = 0;
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.a", 0, &next, err, sizeof(err)), 0);
  stage_sink_range_t r[3] = {{"t.a", 0, 0, 99}, {"t.\"b\\", 3, 5, 9}, {"t.a", -1, 1, 50}};
  exec_ok(p, "BEGIN");
  int64_t stored[3];
  assert_int_equal(pg_offsets_lock(p, "test-sink", r, 3, stored, st, err, sizeof(err)), PG_OK);
  assert_true(stored[0] == -1 && stored[1] == -1 && stored[2] == -1);
  assert_int_equal(pg_offsets_save(p, "test-sink", r, 3, st, err, sizeof(err)), PG_OK);
  exec_ok(p, "COMMIT");
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.a", 0, &next, err, sizeof(err)), 1);
  assert_int_equal(next, 100);
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.\"b\\", 3, &next, err, sizeof(err)), 1);
  assert_int_equal(next, 10);
  /* stdio's partition -1 is never kept. */
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.a", -1, &next, err, sizeof(err)), 0);
  /* Raise only: an older range never lowers what is kept. */
  stage_sink_range_t older = {"t.a", 0, 0, 49};
  exec_ok(p, "BEGIN");
  assert_int_equal(pg_offsets_lock(p, "test-sink", r, 3, stored, st, err, sizeof(err)), PG_OK);
  assert_int_equal(stored[0], 100);
  assert_int_equal(stored[1], 10);
  assert_int_equal(stored[2], -1);
  assert_int_equal(pg_offsets_save(p, "test-sink", &older, 1, st, err, sizeof(err)), PG_OK);
  exec_ok(p, "COMMIT");
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.a", 0, &next, err, sizeof(err)), 1);
  assert_int_equal(next, 100);
  /* Another sink (consumer group) has positions of its own. */
  assert_int_equal(pg_offsets_load(p, "other-sink", "t.a", 0, &next, err, sizeof(err)), 0);
  /* Rolled back with the data. */
  stage_sink_range_t newer = {"t.a", 0, 100, 199};
  exec_ok(p, "BEGIN");
  assert_int_equal(pg_offsets_save(p, "test-sink", &newer, 1, st, err, sizeof(err)), PG_OK);
  exec_ok(p, "ROLLBACK");
  assert_int_equal(pg_offsets_load(p, "test-sink", "t.a", 0, &next, err, sizeof(err)), 1);
  assert_int_equal(next, 100);

  /* The lock: a second client's lock waits for the first's commit and then
   * sees its offsets (what keeps a zombie writer from writing twice). */
  pg_t *q = client(db_url());
  exec_ok(p, "BEGIN");
  assert_int_equal(pg_offsets_lock(p, "test-sink", &newer, 1, stored, st, err, sizeof(err)), PG_OK);
  exec_ok(q, "BEGIN");
  exec_ok(q, "SET LOCAL lock_timeout = '200ms'");
  assert_int_equal(pg_offsets_lock(q, "test-sink", &newer, 1, stored, st, err, sizeof(err)),
                   PG_RETRY); /* 55P03 lock_not_available: it was blocked */
  exec_ok(p, "ROLLBACK");
  pg_destroy(q);
  pg_destroy(p);
}

static void test_migrate(void **state) {
  (void)state;
  NEED_DB();
  pg_t *p = client(db_url());
  char err[512];
  exec_ok(p, "DROP TABLE IF EXISTS t_mig_a, t_mig_b");
  exec_ok(p, "DELETE FROM schema_migrations WHERE component = 'test_migrate'");
  pg_migration_t m[3] = {
      {1, "a", "CREATE TABLE t_mig_a (x int)"},
      {2, "b", "CREATE TABLE t_mig_b (y int); INSERT INTO t_mig_b VALUES (1)"},
      {3, "broken", "INSERT INTO t_mig_a VALUES (1); SELECT * FROM missing_table"},
  };
  assert_int_equal(pg_migrate(p, "test_migrate", m, 2, err, sizeof(err)), 2);
  assert_int_equal(pg_migrate(p, "test_migrate", m, 2, err, sizeof(err)), 0);
  /* A failing migration is rolled back whole and not recorded. */
  assert_int_equal(pg_migrate(p, "test_migrate", m, 3, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "migration test_migrate 3 (broken)"));
  char *v = query1(p, "SELECT count(*) FROM t_mig_a");
  assert_string_equal(v, "0");
  free(v);
  v = query1(p, "SELECT string_agg(version::text || name, ',' ORDER BY version) FROM "
                "schema_migrations WHERE component = 'test_migrate'");
  assert_string_equal(v, "1a,2b");
  free(v);
  pg_migration_t unordered[2] = {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
  assert_int_equal(pg_migrate(p, "test_migrate", unordered, 2, err, sizeof(err)), -1);
  /* The advisory lock is released: another client migrates right away. */
  pg_t *q = client(db_url());
  assert_int_equal(pg_migrate(q, "test_migrate", m, 2, err, sizeof(err)), 0);
  pg_destroy(q);
  exec_ok(p, "DROP TABLE t_mig_a, t_mig_b");
  exec_ok(p, "DELETE FROM schema_migrations WHERE component = 'test_migrate'");
  pg_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buf_escaping),
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_unreachable_backoff),
      cmocka_unit_test(test_error_classes),
      cmocka_unit_test(test_copy),
      cmocka_unit_test(test_offsets),
      cmocka_unit_test(test_migrate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
