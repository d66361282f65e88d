/* store_postgres — the PostgreSQL backend (see store_postgres.h). Owns one
 * pg_t connection and the SQL it builds once from the table descriptions. */
#include "store_postgres.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations.h"

typedef struct pgstore {
  pg_t *pg;
  char *sink;
  char *begin_sql;                  /* BEGIN + the temporary tables */
  char *copy_sql[WH_TABLE_COUNT];   /* COPY sink_tmp_<table> (...) FROM STDIN */
  char *upsert_sql[WH_TABLE_COUNT]; /* INSERT ... ON CONFLICT (price_history after orders) */
  char *unique_sql[WH_TABLE_COUNT]; /* the same without DISTINCT ON: no key twice */
  uint64_t *seen;                   /* key hashes of one apply (open addressing) */
  size_t seen_cap;
  int dup[WH_TABLE_COUNT]; /* a key came twice in this apply */
  char *truncate_sql[WH_TABLE_COUNT];
  int dirty[WH_TABLE_COUNT]; /* the temp table holds an earlier apply's rows */
  pg_buf_t buf[WH_TABLE_COUNT];
  pg_buf_t sql;
} pgstore_t;

/* How each table resolves a conflict: which stored row loses. */
static const char *const newer_wins[WH_TABLE_COUNT] = {
    /* An order's newer state wins; at equal event times the later offset
     * (a replay of the same record updates nothing new). */
    [WH_ORDERS] = " WHERE orders.event_time < excluded.event_time OR"
                  " (orders.event_time = excluded.event_time AND"
                  " orders.kafka_offset <= excluded.kafka_offset)",
    [WH_RISK] = " WHERE risk_decisions.decided_at <= excluded.decided_at",
};
static const char *const distinct_order[WH_TABLE_COUNT] = {
    [WH_ORDERS] = ", event_time DESC, kafka_offset DESC",
    [WH_WEATHER] = ", kafka_offset DESC",
    [WH_RISK] = ", decided_at DESC, kafka_offset DESC",
};

static const char price_history_sql[] =
    "INSERT INTO price_history (platform, product_id, price, currency, first_seen_at,"
    " last_seen_at, first_order_id)"
    " SELECT platform, product_id, price, currency, min(event_time), max(event_time),"
    " (array_agg(order_id ORDER BY event_time, order_id))[1]"
    " FROM sink_tmp_orders GROUP BY platform, product_id, price, currency"
    " ON CONFLICT (platform, product_id, price, currency) DO UPDATE SET"
    " first_order_id = CASE WHEN (excluded.first_seen_at, excluded.first_order_id) <"
    " (price_history.first_seen_at, price_history.first_order_id)"
    " THEN excluded.first_order_id ELSE price_history.first_order_id END,"
    " first_seen_at = LEAST(price_history.first_seen_at, excluded.first_seen_at),"
    " last_seen_at = GREATEST(price_history.last_seen_at, excluded.last_seen_at),"
    " updated_at = now()"
    " WHERE (excluded.first_seen_at, excluded.first_order_id) <"
    " (price_history.first_seen_at, price_history.first_order_id)"
    " OR excluded.last_seen_at > price_history.last_seen_at;";

static int add(pg_buf_t *b, const char *s) {
  return pg_buf_raw(b, s, strlen(s));
}

/* Quoted column list of t: "a", "b", ... */
static int columns(pg_buf_t *b, const wh_table_t *t, const char *prefix) {
  for (size_t i = 0; i < t->ncols; i++) {
    if ((i && add(b, ", ")) || add(b, prefix) || add(b, "\"") || add(b, t->cols[i].name) ||
        add(b, "\""))
      return -1;
  }
  return 0;
}

static int in_key(const wh_table_t *t, const char *col) {
  char quoted[80];
  snprintf(quoted, sizeof(quoted), "\"%s\"", col);
  /* Keys are written as "a, b" or with quoted names: match whole words. */
  for (const char *k = t->key; (k = strstr(k, col)) != NULL; k++) {
    size_t n = strlen(col);
    int start = k == t->key || k[-1] == ' ' || k[-1] == '"';
    int end = k[n] == '\0' || k[n] == ',' || k[n] == '"';
    if (start && end)
      return 1;
  }
  return 0;
}

static char *take(pg_buf_t *b) {
  char *s = b->data;
  memset(b, 0, sizeof(*b));
  return s;
}

/* Builds the per-table statements once. Returns 0 or -1 (no memory). */
static int build_sql(pgstore_t *s) {
  pg_buf_t b = {0};
  if (add(&b, "BEGIN;"))
    return -1;
  for (int id = 0; id < WH_TABLE_COUNT; id++) {
    const wh_table_t *t = wh_table(id);
    if (add(&b, "CREATE TEMP TABLE IF NOT EXISTS sink_tmp_") || add(&b, t->name) ||
        add(&b, " (LIKE ") || add(&b, t->name) ||
        add(&b, " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;"))
      goto fail;
  }
  s->begin_sql = take(&b);
  for (int id = 0; id < WH_TABLE_COUNT; id++) {
    const wh_table_t *t = wh_table(id);
    if (add(&b, "COPY sink_tmp_") || add(&b, t->name) || add(&b, " (") || columns(&b, t, "") ||
        add(&b, ") FROM STDIN"))
      goto fail;
    s->copy_sql[id] = take(&b);
    if (add(&b, "TRUNCATE sink_tmp_") || add(&b, t->name) || add(&b, ";"))
      goto fail;
    s->truncate_sql[id] = take(&b);
    for (int distinct = 1; distinct >= 0; distinct--) {
      /* DISTINCT ON only when a key comes twice in the rows: ON CONFLICT
       * cannot touch one row twice, and the sort costs when it is not needed. */
      if (add(&b, "INSERT INTO ") || add(&b, t->name) || add(&b, " (") || columns(&b, t, "") ||
          add(&b, ") SELECT ") ||
          (distinct && (add(&b, "DISTINCT ON (") || add(&b, t->key) || add(&b, ") "))) ||
          columns(&b, t, "") || add(&b, " FROM sink_tmp_") || add(&b, t->name) ||
          (distinct && (add(&b, " ORDER BY ") || add(&b, t->key) ||
                        add(&b, distinct_order[id] ? distinct_order[id] : ""))) ||
          add(&b, " ON CONFLICT (") || add(&b, t->key) || add(&b, ") DO UPDATE SET "))
        goto fail;
      for (size_t i = 0; i < t->ncols; i++) {
        const char *c = t->cols[i].name;
        if (in_key(t, c))
          continue;
        if (add(&b, "\"") || add(&b, c) || add(&b, "\" = excluded.\"") || add(&b, c) ||
            add(&b, "\", "))
          goto fail;
      }
      if (add(&b, "ingested_at = now()") || add(&b, newer_wins[id] ? newer_wins[id] : "") ||
          add(&b, ";") || (id == WH_ORDERS && add(&b, price_history_sql)))
        goto fail;
      if (distinct)
        s->upsert_sql[id] = take(&b);
      else
        s->unique_sql[id] = take(&b);
    }
  }
  return 0;
fail:
  pg_buf_free(&b);
  return -1;
}

static void set_err(store_error_t *err, const char *code, const char *msg) {
  snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
  snprintf(err->message, sizeof(err->message), "%s", msg);
}

static store_status_t status_of(pg_class_t c) {
  switch (c) {
  case PG_OK:
    return STORE_OK;
  case PG_RETRY:
    return STORE_RETRY;
  case PG_REJECT:
    return STORE_REJECT;
  default:
    return STORE_FATAL;
  }
}

/* Runs sql; on failure fills err. */
static store_status_t run(pgstore_t *s, const char *sql, store_error_t *err) {
  char state[6], msg[512];
  pg_class_t c = pg_exec(s->pg, sql, state, msg, sizeof(msg));
  if (c != PG_OK)
    set_err(err, state, msg);
  return status_of(c);
}

static store_status_t pgstore_begin(void *impl, const stage_sink_range_t *ranges, size_t n,
                                    int64_t *stored, store_error_t *err) {
  pgstore_t *s = impl;
  memset(s->dirty, 0, sizeof(s->dirty));
  for (size_t i = 0; i < n; i++)
    stored[i] = -1;
  store_status_t st = run(s, s->begin_sql, err);
  if (st != STORE_OK)
    return st;
  char state[6], msg[512];
  pg_class_t c = pg_offsets_lock(s->pg, s->sink, ranges, n, stored, state, msg, sizeof(msg));
  if (c != PG_OK) {
    set_err(err, state, msg);
    return status_of(c);
  }
  return STORE_OK;
}

/* One COPY text line for row. */
static int copy_line(pg_buf_t *b, const wh_row_t *row) {
  for (size_t i = 0; i < row->ncols; i++) {
    size_t len;
    const char *v = wh_value(row, i, &len);
    if ((i && pg_buf_raw(b, "\t", 1)) || (v ? pg_buf_field(b, v, len) : pg_buf_raw(b, "\\N", 2)))
      return -1;
  }
  return pg_buf_raw(b, "\n", 1);
}

/* FNV-1a of a row's key columns (with a separator no text holds). */
static uint64_t key_hash(const wh_row_t *row) {
  const wh_table_t *t = wh_table((wh_table_id_t)row->table);
  uint64_t h = 1469598103934665603ULL ^ row->table;
  for (size_t i = 0; i < t->ncols; i++) {
    if (!in_key(t, t->cols[i].name))
      continue;
    size_t len;
    const char *v = wh_value(row, i, &len);
    for (size_t k = 0; v && k < len; k++)
      h = (h ^ (unsigned char)v[k]) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
  }
  return h ? h : 1;
}

/* Marks s->dup[table] when two rows share a key hash (a collision only
 * costs the DISTINCT ON). Returns 0, or -1 without memory. */
static int find_duplicates(pgstore_t *s, stage_sink_record_t *const *recs, size_t n) {
  memset(s->dup, 0, sizeof(s->dup));
  size_t cap = 64;
  while (cap < 2 * n)
    cap *= 2;
  if (cap > s->seen_cap) {
    uint64_t *seen = realloc(s->seen, cap * sizeof(*seen));
    if (!seen)
      return -1;
    s->seen = seen;
    s->seen_cap = cap;
  }
  memset(s->seen, 0, cap * sizeof(*s->seen));
  for (size_t i = 0; i < n; i++) {
    const wh_row_t *row = recs[i]->row;
    uint64_t h = key_hash(row);
    size_t slot = (size_t)h & (cap - 1);
    while (s->seen[slot] && s->seen[slot] != h)
      slot = (slot + 1) & (cap - 1);
    if (s->seen[slot] == h)
      s->dup[row->table] = 1;
    s->seen[slot] = h;
  }
  return 0;
}

static store_status_t pgstore_apply(void *impl, stage_sink_record_t *const *recs, size_t n,
                                    const stage_sink_range_t *saves, size_t nsaves,
                                    store_error_t *err) {
  (void)saves, (void)nsaves; /* kept by commit(), in the same transaction */
  pgstore_t *s = impl;
  for (int id = 0; id < WH_TABLE_COUNT; id++)
    s->buf[id].len = 0;
  for (size_t i = 0; i < n; i++) {
    const wh_row_t *row = recs[i]->row;
    if (row && copy_line(&s->buf[row->table], row) != 0) {
      set_err(err, "", "out of memory");
      return STORE_FATAL;
    }
  }
  if (find_duplicates(s, recs, n) != 0) {
    set_err(err, "", "out of memory");
    return STORE_FATAL;
  }
  /* Rows of an earlier apply of this transaction go first; then a savepoint,
   * so a rejected apply rolls back to exactly here. */
  s->sql.len = 0;
  for (int id = 0; id < WH_TABLE_COUNT; id++)
    if (s->dirty[id] && add(&s->sql, s->truncate_sql[id]))
      return STORE_FATAL;
  if (add(&s->sql, "SAVEPOINT sink_apply"))
    return STORE_FATAL;
  memset(s->dirty, 0, sizeof(s->dirty));
  store_status_t st = run(s, s->sql.data, err);
  if (st != STORE_OK)
    return st;
  char state[6], msg[512];
  s->sql.len = 0;
  for (int id = 0; id < WH_TABLE_COUNT; id++) {
    if (!s->buf[id].len)
      continue;
    pg_class_t c =
        pg_copy(s->pg, s->copy_sql[id], s->buf[id].data, s->buf[id].len, state, msg, sizeof(msg));
    if (c != PG_OK) {
      set_err(err, state, msg);
      st = status_of(c);
      break;
    }
    s->dirty[id] = 1;
    if (add(&s->sql, s->dup[id] ? s->upsert_sql[id] : s->unique_sql[id])) {
      set_err(err, "", "out of memory");
      return STORE_FATAL;
    }
  }
  if (st == STORE_OK && s->sql.len) {
    if (add(&s->sql, "RELEASE SAVEPOINT sink_apply"))
      return STORE_FATAL;
    st = run(s, s->sql.data, err);
  }
  if (st == STORE_REJECT) {
    /* The connection is alive (a data error): keep the transaction. */
    store_error_t ignored;
    if (run(s, "ROLLBACK TO SAVEPOINT sink_apply", &ignored) != STORE_OK)
      st = STORE_RETRY;
    memset(s->dirty, 0, sizeof(s->dirty));
  }
  return st;
}

static store_status_t pgstore_commit(void *impl, const stage_sink_range_t *saves, size_t nsaves,
                                     store_error_t *err) {
  pgstore_t *s = impl;
  char state[6], msg[512];
  pg_class_t c = pg_offsets_save(s->pg, s->sink, saves, nsaves, state, msg, sizeof(msg));
  if (c != PG_OK) {
    set_err(err, state, msg);
    return status_of(c);
  }
  return run(s, "COMMIT", err);
}

static void pgstore_abort(void *impl) {
  pgstore_t *s = impl;
  store_error_t ignored;
  if (pg_conn(s->pg))
    run(s, "ROLLBACK", &ignored);
}

static int pgstore_stored(void *impl, const char *topic, int32_t partition, int64_t *next) {
  pgstore_t *s = impl;
  char msg[512];
  return pg_offsets_load(s->pg, s->sink, topic, partition, next, msg, sizeof(msg));
}

static int pgstore_init_schema(void *impl, char *errstr, size_t errstr_size) {
  pgstore_t *s = impl;
  migrations_t m;
  int rc = migrations_parse(warehouse_sql_postgres, &m, errstr, errstr_size);
  if (rc == 0)
    rc = pg_migrate(s->pg, "warehouse", m.items, m.n, errstr, errstr_size);
  migrations_free(&m);
  return rc;
}

static void pgstore_destroy(void *impl) {
  pgstore_t *s = impl;
  if (!s)
    return;
  pg_destroy(s->pg);
  free(s->sink);
  free(s->begin_sql);
  for (int id = 0; id < WH_TABLE_COUNT; id++) {
    free(s->copy_sql[id]);
    free(s->upsert_sql[id]);
    free(s->unique_sql[id]);
    free(s->truncate_sql[id]);
    pg_buf_free(&s->buf[id]);
  }
  pg_buf_free(&s->sql);
  free(s->seen);
  free(s);
}

static const store_ops_t pgstore_ops = {
    .name = "postgres",
    .begin = pgstore_begin,
    .apply = pgstore_apply,
    .commit = pgstore_commit,
    .abort = pgstore_abort,
    .stored_offset = pgstore_stored,
    .init_schema = pgstore_init_schema,
    .destroy = pgstore_destroy,
};

store_t *store_postgres_new(const pg_settings_t *settings, const char *sink, char *errstr,
                            size_t errstr_size) {
  store_t *st = calloc(1, sizeof(*st)); /* owned by the caller */
  pgstore_t *s = calloc(1, sizeof(*s)); /* owned by st */
  if (!st || !s || !(s->sink = strdup(sink ? sink : "snowflake-sink")) || build_sql(s) != 0) {
    snprintf(errstr, errstr_size, "out of memory");
    pgstore_destroy(s);
    free(st);
    return NULL;
  }
  char app[64];
  snprintf(app, sizeof(app), "snowflake-sink/%s", s->sink);
  if (!(s->pg = pg_new(settings, app, errstr, errstr_size))) {
    pgstore_destroy(s);
    free(st);
    return NULL;
  }
  st->ops = &pgstore_ops;
  st->impl = s;
  return st;
}
