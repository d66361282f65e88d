/* pg — the PostgreSQL helpers every store shares: one libpq connection with
 * timeouts, keepalives and a reconnect back-off; the error classes that tell
 * a sink to retry, reject rows or stop; COPY from memory; sink_offsets; and
 * versioned migrations under an advisory lock. Owns nothing but its
 * connection and a copy of its settings. */
#include "store/pg.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/secret.h"

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
/* Arbitrary but fixed: every program that migrates a database takes this
 * session lock, so init containers of several pods apply migrations once. */
#define PG_MIGRATION_LOCK 7201548291LL

struct pg {
  pg_settings_t s;
  char *password; /* from password_file; NULL when none */
  char *application_name;
  PGconn *conn;
  int64_t next_attempt_ms; /* monotonic; no connection attempt before it */
  int64_t backoff_ms;
};

static const conf_entry_t pg_entries[] = {
    {.key = "database.url",
     .env = "DATABASE_URL",
     .type = CONF_STRING,
     .def = "postgresql://127.0.0.1:5432/sensory",
     .offset = offsetof(pg_settings_t, url),
     .doc = "PostgreSQL: postgresql://user@host:port/db or a libpq key=value string"},
    {.key = "database.password_file",
     .env = "DATABASE_PASSWORD_FILE",
     .type = CONF_STRING,
     .offset = offsetof(pg_settings_t, password_file),
     .doc = "file with the database password (a k8s Secret); overrides one in the URL"},
    {.key = "database.connect_timeout_ms",
     .env = "DATABASE_CONNECT_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "5000",
     .offset = offsetof(pg_settings_t, connect_timeout_ms),
     .min = 1000,
     .max = 600000,
     .doc = "bound on one connection attempt (libpq rounds up to whole seconds, at least 2)"},
    {.key = "database.statement_timeout_ms",
     .env = "DATABASE_STATEMENT_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "60000",
     .offset = offsetof(pg_settings_t, statement_timeout_ms),
     .min = 100,
     .max = 3600000,
     .doc = "a statement running longer is cancelled and its batch retried"},
    {0},
};

const conf_entry_t *pg_conf_entries(void) {
  return pg_entries;
}

/* libpq prints notices ("relation already exists, skipping") to stderr,
 * which would break the JSON-lines log: drop them. */
static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

pg_t *pg_new(const pg_settings_t *s, const char *application_name, char *errstr,
             size_t errstr_size) {
  pg_t *p = calloc(1, sizeof(*p)); /* owned by the caller */
  if (!p) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  p->s.connect_timeout_ms = s->connect_timeout_ms > 0 ? s->connect_timeout_ms : 5000;
  p->s.statement_timeout_ms = s->statement_timeout_ms > 0 ? s->statement_timeout_ms : 60000;
  p->backoff_ms = PG_BACKOFF_MIN_MS;
  if (!s->url || !*s->url) {
    snprintf(errstr, errstr_size, "database.url (DATABASE_URL) is empty");
    pg_destroy(p);
    return NULL;
  }
  if (!(p->s.url = strdup(s->url)) ||
      (s->password_file && !(p->s.password_file = strdup(s->password_file))) ||
      !(p->application_name = dup_or_null(application_name ? application_name : "sensory"))) {
    snprintf(errstr, errstr_size, "out of memory");
    pg_destroy(p);
    return NULL;
  }
  if (s->password_file && *s->password_file) {
    unsigned char *pw;
    size_t len;
    if (secret_read_file(s->password_file, &pw, &len, errstr, errstr_size) != 0) {
      pg_destroy(p);
      return NULL;
    }
    p->password = malloc(len + 1); /* owned by p, wiped in pg_destroy */
    if (p->password) {
      memcpy(p->password, pw, len);
      p->password[len] = '\0';
    }
    secret_free(pw, len);
    if (!p->password || strlen(p->password) != len) {
      snprintf(errstr, errstr_size, "database.password_file: %s",
               p->password ? "holds a NUL byte" : "out of memory");
      pg_destroy(p);
      return NULL;
    }
  }
  return p;
}

void pg_destroy(pg_t *p) {
  if (!p)
    return;
  if (p->conn)
    PQfinish(p->conn);
  if (p->password) {
    OPENSSL_cleanse(p->password, strlen(p->password));
    free(p->password);
  }
  free(p->s.url);
  free(p->s.password_file);
  free(p->application_name);
  free(p);
}

/* Copies a libpq message into errstr on one line ("a\nb" → "a; b"). */
static void one_line(char *errstr, size_t errstr_size, const char *prefix, const char *msg) {
  size_t o = (size_t)snprintf(errstr, errstr_size, "%s", prefix);
  if (o >= errstr_size)
    return;
  for (const char *c = msg ? msg : ""; *c && o + 3 < errstr_size; c++) {
    if (*c == '\n') {
      if (c[1]) {
        errstr[o++] = ';';
        errstr[o++] = ' ';
      }
    } else if (*c != '\r') {
      errstr[o++] = *c;
    }
  }
  errstr[o] = '\0';
}

static void drop_connection(pg_t *p) {
  if (p->conn) {
    PQfinish(p->conn);
    p->conn = NULL;
  }
  p->next_attempt_ms = clock_mono_ms() + p->backoff_ms;
  p->backoff_ms *= 2;
  if (p->backoff_ms > PG_BACKOFF_MAX_MS)
    p->backoff_ms = PG_BACKOFF_MAX_MS;
}

int pg_connect(pg_t *p, char *errstr, size_t errstr_size) {
  if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
    return 0;
  if (p->conn)
    drop_connection(p);
  int64_t wait = p->next_attempt_ms - clock_mono_ms();
  if (wait > 0) {
    snprintf(errstr, errstr_size, "database unreachable; next attempt in %lld ms", (long long)wait);
    return -1;
  }
  char timeout[32];
  snprintf(timeout, sizeof(timeout), "%lld", (long long)((p->s.connect_timeout_ms + 999) / 1000));
  /* Keywords before "dbname" are defaults the URL may override; the password
   * file comes after it, so the Secret wins over a password in the URL. */
  const char *keys[12], *vals[12];
  size_t k = 0;
  keys[k] = "application_name", vals[k++] = p->application_name;
  keys[k] = "connect_timeout", vals[k++] = timeout;
  keys[k] = "keepalives", vals[k++] = "1";
  keys[k] = "keepalives_idle", vals[k++] = "10";
  keys[k] = "keepalives_interval", vals[k++] = "5";
  keys[k] = "keepalives_count", vals[k++] = "3";
  keys[k] = "dbname", vals[k++] = p->s.url;
  if (p->password)
    keys[k] = "password", vals[k++] = p->password;
  keys[k] = NULL, vals[k] = NULL;
  p->conn = PQconnectdbParams(keys, vals, 1);
  if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
    one_line(errstr, errstr_size,
             "cannot connect to PostgreSQL: ", p->conn ? PQerrorMessage(p->conn) : "out of memory");
    drop_connection(p);
    return -1;
  }
  PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
  char set[96];
  snprintf(set, sizeof(set), "SET statement_timeout = %lld", (long long)p->s.statement_timeout_ms);
  PGresult *res = PQexec(p->conn, set);
  int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  if (!ok) {
    one_line(errstr, errstr_size, "cannot set statement_timeout: ", PQerrorMessage(p->conn));
    drop_connection(p);
    return -1;
  }
  p->backoff_ms = PG_BACKOFF_MIN_MS;
  p->next_attempt_ms = 0;
  return 0;
}

PGconn *pg_conn(pg_t *p) {
  return p && p->conn && PQstatus(p->conn) == CONNECTION_OK ? p->conn : NULL;
}

/* A data exception's primary message may quote the offending value
 * (`invalid input syntax for type integer: "x"`, `value "x" is out of
 * range`) or show its bytes (`invalid byte sequence ...: 0xe2 0x28`): keep
 * the words, replace what is quoted and every 0x... token by "?". */
static void redact_values(char *s) {
  char *w = s;
  for (const char *r = s; *r;) {
    if (*r == '"') {
      const char *end = strchr(r + 1, '"');
      *w++ = '"';
      *w++ = '?';
      *w++ = '"';
      r = end ? end + 1 : r + strlen(r);
    } else if (r[0] == '0' && r[1] == 'x' && (r == s || r[-1] == ' ')) {
      *w++ = '?';
      r += 2;
      while ((*r >= '0' && *r <= '9') || (*r >= 'a' && *r <= 'f') || (*r >= 'A' && *r <= 'F'))
        r++;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

static pg_class_t class_of(const char *state) {
  if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
    return PG_REJECT;
  static const char *const retry_classes[] = {"08", "53", "57", "58", "40", NULL};
  for (size_t i = 0; retry_classes[i]; i++)
    if (strncmp(state, retry_classes[i], 2) == 0)
      return PG_RETRY;
  if (strcmp(state, "55P03") == 0 || strcmp(state, "55006") == 0)
    return PG_RETRY; /* lock_not_available, object_in_use */
  return PG_FATAL;
}

pg_class_t pg_check(pg_t *p, PGresult *res, ExecStatusType want, char sqlstate[6], char *errstr,
                    size_t errstr_size) {
  sqlstate[0] = '\0';
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (res && (st == want || (want == PGRES_COMMAND_OK && st == PGRES_TUPLES_OK)))
    return PG_OK;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  int lost = !p->conn || PQstatus(p->conn) != CONNECTION_OK;
  pg_class_t cls;
  if (state && *state) {
    snprintf(sqlstate, 6, "%s", state);
    cls = class_of(state);
  } else if (lost || !res) {
    cls = PG_RETRY; /* the connection broke: no SQLSTATE */
  } else {
    cls = PG_FATAL; /* an unexpected result status, e.g. COPY where none was asked */
  }
  if (primary)
    one_line(errstr, errstr_size, "", primary);
  else if (p->conn && *PQerrorMessage(p->conn))
    one_line(errstr, errstr_size, "", PQerrorMessage(p->conn));
  else
    snprintf(errstr, errstr_size, "unexpected result %s", PQresStatus(st));
  if (state && strncmp(state, "22", 2) == 0)
    redact_values(errstr);
  if (cls == PG_RETRY || lost) {
    drop_connection(p);
    cls = PG_RETRY;
  }
  return cls;
}

/* Runs sql (no parameters) on a live connection and classifies the result. */
static pg_class_t exec_want(pg_t *p, const char *sql, ExecStatusType want, char sqlstate[6],
                            char *errstr, size_t errstr_size) {
  if (pg_connect(p, errstr, errstr_size) != 0) {
    sqlstate[0] = '\0';
    return PG_RETRY;
  }
  PGresult *res = PQexec(p->conn, sql);
  pg_class_t c = pg_check(p, res, want, sqlstate, errstr, errstr_size);
  PQclear(res);
  return c;
}

pg_class_t pg_exec(pg_t *p, const char *sql, char sqlstate[6], char *errstr, size_t errstr_size) {
  return exec_want(p, sql, PGRES_COMMAND_OK, sqlstate, errstr, errstr_size);
}

pg_class_t pg_copy(pg_t *p, const char *copy_sql, const char *data, size_t len, char sqlstate[6],
                   char *errstr, size_t errstr_size) {
  pg_class_t c = exec_want(p, copy_sql, PGRES_COPY_IN, sqlstate, errstr, errstr_size);
  if (c != PG_OK)
    return c;
  /* libpq takes an int per call: send large buffers in slices. */
  const size_t slice = 1 << 20;
  int sent = 1;
  for (size_t o = 0; o < len && sent == 1; o += slice) {
    size_t n = len - o < slice ? len - o : slice;
    sent = PQputCopyData(p->conn, data + o, (int)n);
  }
  if (sent == 1)
    sent = PQputCopyEnd(p->conn, NULL);
  PGresult *res = PQgetResult(p->conn);
  c = pg_check(p, res, PGRES_COMMAND_OK, sqlstate, errstr, errstr_size);
  PQclear(res);
  /* Drain: a COPY ends with exactly one result, then NULL. */
  while (p->conn && (res = PQgetResult(p->conn)) != NULL)
    PQclear(res);
  if (c == PG_OK && sent != 1) {
    one_line(errstr, errstr_size, "COPY: ", p->conn ? PQerrorMessage(p->conn) : "");
    drop_connection(p);
    c = PG_RETRY;
  }
  return c;
}

int pg_buf_raw(pg_buf_t *b, const char *s, size_t len) {
  if (len > (size_t)-1 / 2 - b->len - 1)
    return -1;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1)
      cap *= 2;
    char *d = realloc(b->data, cap); /* owned by b */
    if (!d)
      return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int pg_buf_field(pg_buf_t *b, const char *s, size_t len) {
  /* Worst case every byte doubles; reserve once, then write in place. */
  if (len > (size_t)-1 / 4 || pg_buf_raw(b, "", 0) != 0)
    return -1;
  if (b->len + 2 * len + 1 > b->cap) {
    size_t need = b->len + 2 * len + 1, cap = b->cap;
    while (cap < need)
      cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
      return -1;
    b->data = d;
    b->cap = cap;
  }
  char *w = b->data + b->len;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    switch (c) {
    case '\\':
      *w++ = '\\', *w++ = '\\';
      break;
    case '\t':
      *w++ = '\\', *w++ = 't';
      break;
    case '\n':
      *w++ = '\\', *w++ = 'n';
      break;
    case '\r':
      *w++ = '\\', *w++ = 'r';
      break;
    default:
      *w++ = c;
    }
  }
  b->len = (size_t)(w - b->data);
  b->data[b->len] = '\0';
  return 0;
}

void pg_buf_free(pg_buf_t *b) {
  if (!b)
    return;
  free(b->data);
  memset(b, 0, sizeof(*b));
}

/* Appends an element to a PostgreSQL array literal ({"a","b"}): quoted,
 * with backslash and double quote escaped. */
static int array_text(pg_buf_t *b, const char *s) {
  if (pg_buf_raw(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1) != 0)
    return -1;
  for (const char *c = s; *c; c++) {
    if ((*c == '"' || *c == '\\') && pg_buf_raw(b, "\\", 1) != 0)
      return -1;
    if (pg_buf_raw(b, c, 1) != 0)
      return -1;
  }
  return pg_buf_raw(b, "\"", 1);
}

static int array_int(pg_buf_t *b, long long v) {
  char num[32];
  int n = snprintf(num, sizeof(num), "%s%lld", b->len > 1 ? "," : "", v);
  return pg_buf_raw(b, num, (size_t)n);
}

/* The ranges with a real partition as three array literals: topics,
 * partitions and (when next is wanted) last + 1. Returns the count, or -1. */
static long offset_arrays(const stage_sink_range_t *ranges, size_t n, pg_buf_t *topics,
                          pg_buf_t *parts, pg_buf_t *nexts) {
  long count = 0;
  if (pg_buf_raw(topics, "{", 1) || pg_buf_raw(parts, "{", 1) ||
      (nexts && pg_buf_raw(nexts, "{", 1)))
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (ranges[i].partition < 0)
      continue;
    if (array_text(topics, ranges[i].topic) || array_int(parts, ranges[i].partition) ||
        (nexts && array_int(nexts, (long long)ranges[i].last + 1)))
      return -1;
    count++;
  }
  if (pg_buf_raw(topics, "}", 1) || pg_buf_raw(parts, "}", 1) ||
      (nexts && pg_buf_raw(nexts, "}", 1)))
    return -1;
  return count;
}

static pg_class_t oom(char sqlstate[6], char *errstr, size_t errstr_size) {
  sqlstate[0] = '\0';
  snprintf(errstr, errstr_size, "out of memory");
  return PG_FATAL;
}

pg_class_t pg_offsets_lock(pg_t *p, const char *sink, const stage_sink_range_t *ranges, size_t n,
                           int64_t *next, char sqlstate[6], char *errstr, size_t errstr_size) {
  for (size_t i = 0; i < n; i++)
    next[i] = -1;
  pg_buf_t topics = {0}, parts = {0};
  long count = offset_arrays(ranges, n, &topics, &parts, NULL);
  if (count < 0) {
    pg_buf_free(&topics);
    pg_buf_free(&parts);
    return oom(sqlstate, errstr, errstr_size);
  }
  pg_class_t c = PG_OK;
  if (count > 0 && pg_connect(p, errstr, errstr_size) != 0) {
    sqlstate[0] = '\0';
    c = PG_RETRY;
  } else if (count > 0) {
    const char *params[3] = {sink, topics.data, parts.data};
    PGresult *res = PQexecParams(p->conn,
                                 "SELECT topic, \"partition\", next_offset FROM sink_offsets"
                                 " WHERE sink = $1 AND (topic, \"partition\") IN"
                                 " (SELECT * FROM unnest($2::text[], $3::int[])) FOR UPDATE",
                                 3, NULL, params, NULL, NULL, 0);
    c = pg_check(p, res, PGRES_TUPLES_OK, sqlstate, errstr, errstr_size);
    for (int r = 0; c == PG_OK && r < PQntuples(res); r++) {
      const char *topic = PQgetvalue(res, r, 0);
      long part = strtol(PQgetvalue(res, r, 1), NULL, 10);
      long long off = strtoll(PQgetvalue(res, r, 2), NULL, 10);
      for (size_t i = 0; i < n; i++)
        if (ranges[i].partition == part && strcmp(ranges[i].topic, topic) == 0)
          next[i] = off;
    }
    PQclear(res);
  }
  pg_buf_free(&topics);
  pg_buf_free(&parts);
  return c;
}

pg_class_t pg_offsets_save(pg_t *p, const char *sink, const stage_sink_range_t *ranges, size_t n,
                           char sqlstate[6], char *errstr, size_t errstr_size) {
  pg_buf_t topics = {0}, parts = {0}, nexts = {0};
  long count = offset_arrays(ranges, n, &topics, &parts, &nexts);
  pg_class_t c = PG_OK;
  if (count < 0) {
    c = oom(sqlstate, errstr, errstr_size);
  } else if (count > 0 && pg_connect(p, errstr, errstr_size) != 0) {
    sqlstate[0] = '\0';
    c = PG_RETRY;
  } else if (count > 0) {
    const char *params[4] = {sink, topics.data, parts.data, nexts.data};
    PGresult *res = PQexecParams(
        p->conn,
        "INSERT INTO sink_offsets (sink, topic, \"partition\", next_offset, updated_at)"
        " SELECT $1, t, pt, o, now() FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, pt, "
        "o)"
        " ON CONFLICT (sink, topic, \"partition\") DO UPDATE"
        " SET next_offset = GREATEST(sink_offsets.next_offset, excluded.next_offset),"
        " updated_at = excluded.updated_at",
        4, NULL, params, NULL, NULL, 0);
    c = pg_check(p, res, PGRES_COMMAND_OK, sqlstate, errstr, errstr_size);
    PQclear(res);
  }
  pg_buf_free(&topics);
  pg_buf_free(&parts);
  pg_buf_free(&nexts);
  return c;
}

int pg_offsets_load(pg_t *p, const char *sink, const char *topic, int32_t partition,
                    int64_t *next_offset, char *errstr, size_t errstr_size) {
  if (pg_connect(p, errstr, errstr_size) != 0)
    return -1;
  char part[16], state[6];
  snprintf(part, sizeof(part), "%d", (int)partition);
  const char *params[3] = {sink, topic, part};
  PGresult *res = PQexecParams(p->conn,
                               "SELECT next_offset FROM sink_offsets"
                               " WHERE sink = $1 AND topic = $2 AND \"partition\" = $3::int",
                               3, NULL, params, NULL, NULL, 0);
  int rc = -1;
  if (pg_check(p, res, PGRES_TUPLES_OK, state, errstr, errstr_size) == PG_OK) {
    rc = PQntuples(res) > 0;
    if (rc)
      *next_offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  }
  PQclear(res);
  return rc;
}

/* What pg.c itself keeps in every database it migrates. */
static const char store_tables_sql[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version));"
    "CREATE TABLE IF NOT EXISTS sink_offsets ("
    " sink TEXT NOT NULL, topic TEXT NOT NULL, \"partition\" INTEGER NOT NULL,"
    " next_offset BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " PRIMARY KEY (sink, topic, \"partition\"));";

/* Applies one migration in its own transaction with its record. */
static int apply_one(pg_t *p, const char *component, const pg_migration_t *m, char *errstr,
                     size_t errstr_size) {
  char state[6], msg[512];
  if (pg_exec(p, "BEGIN", state, msg, sizeof(msg)) != PG_OK ||
      pg_exec(p, m->sql, state, msg, sizeof(msg)) != PG_OK) {
    snprintf(errstr, errstr_size, "migration %s %d (%s): %s%s%s", component, m->version, m->name,
             msg, *state ? " SQLSTATE " : "", state);
    pg_exec(p, "ROLLBACK", state, msg, sizeof(msg));
    return -1;
  }
  char version[16];
  snprintf(version, sizeof(version), "%d", m->version);
  const char *params[3] = {component, version, m->name};
  PGresult *res = PQexecParams(
      p->conn, "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2::int, $3)",
      3, NULL, params, NULL, NULL, 0);
  pg_class_t c = pg_check(p, res, PGRES_COMMAND_OK, state, msg, sizeof(msg));
  PQclear(res);
  if (c == PG_OK)
    c = pg_exec(p, "COMMIT", state, msg, sizeof(msg));
  if (c != PG_OK) {
    snprintf(errstr, errstr_size, "migration %s %d (%s): recording it: %s", component, m->version,
             m->name, msg);
    pg_exec(p, "ROLLBACK", state, msg, sizeof(msg));
    return -1;
  }
  return 0;
}

int pg_migrate(pg_t *p, const char *component, const pg_migration_t *migrations, size_t n,
               char *errstr, size_t errstr_size) {
  for (size_t i = 1; i < n; i++)
    if (migrations[i].version <= migrations[i - 1].version) {
      snprintf(errstr, errstr_size, "migrations of %s are not in ascending version order",
               component);
      return -1;
    }
  char state[6], msg[512], lock[96];
  if (pg_connect(p, errstr, errstr_size) != 0)
    return -1;
  snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)", PG_MIGRATION_LOCK);
  if (pg_exec(p, lock, state, msg, sizeof(msg)) != PG_OK ||
      pg_exec(p, store_tables_sql, state, msg, sizeof(msg)) != PG_OK) {
    snprintf(errstr, errstr_size, "preparing migrations: %s", msg);
    return -1;
  }
  const char *params[1] = {component};
  PGresult *res =
      PQexecParams(p->conn, "SELECT version FROM schema_migrations WHERE component = $1", 1, NULL,
                   params, NULL, NULL, 0);
  int applied = 0, rc = 0;
  if (pg_check(p, res, PGRES_TUPLES_OK, state, msg, sizeof(msg)) != PG_OK) {
    snprintf(errstr, errstr_size, "reading schema_migrations: %s", msg);
    rc = -1;
  }
  for (size_t i = 0; rc == 0 && i < n; i++) {
    int done = 0;
    for (int r = 0; r < PQntuples(res) && !done; r++)
      done = strtol(PQgetvalue(res, r, 0), NULL, 10) == migrations[i].version;
    if (done)
      continue;
    if (apply_one(p, component, &migrations[i], errstr, errstr_size) != 0)
      rc = -1;
    else
      applied++;
  }
  PQclear(res);
  snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%lld)", PG_MIGRATION_LOCK);
  if (pg_conn(p))
    pg_exec(p, lock, state, msg, sizeof(msg));
  return rc == 0 ? applied : -1;
}
