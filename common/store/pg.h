/* pg — what every PostgreSQL store shares (libpq): the connection settings
 * and a connection with timeouts and keepalives, error classes that tell a
 * sink whether to retry a batch or reject rows, COPY from memory, versioned
 * migrations, and the sink_offsets table that keeps Kafka positions in the
 * same transaction as the data (exactly once in the table; see stage.h).
 *
 *   sink_offsets(sink text, topic text, partition int, next_offset bigint,
 *                updated_at timestamptz, primary key (sink, topic, partition))
 *   schema_migrations(component text, version int, name text,
 *                     applied_at timestamptz, primary key (component, version))
 *
 * sink is the consumer group, so two groups of one program (a backfill next
 * to the live sink) never share positions.
 *
 * Failures: an I/O error or a server shutdown drops the connection; the next
 * call reconnects after a back-off (100 ms doubling to 5 s). Not thread-safe:
 * one client per thread. Nothing here logs; errstr never holds the password
 * or row values: PostgreSQL's DETAIL lines quote values, so they are never
 * copied into errstr, and in the primary message of a data exception (class
 * 22: `invalid input syntax for type integer: "x"`) every quoted part is
 * replaced by "?". Constraint messages (class 23) quote only names.
 */
#ifndef SENSORY_STORE_PG_H
#define SENSORY_STORE_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "stage/stage.h"

/* Settings (keys database.url / DATABASE_URL, database.password_file /
 * DATABASE_PASSWORD_FILE, database.connect_timeout_ms,
 * database.statement_timeout_ms); a program adds pg_conf_entries() as one
 * section of its config. */
typedef struct pg_settings {
  char *url; /* postgresql://user@host:port/db or a libpq key=value string */
  char *password_file;
  int64_t connect_timeout_ms;
  int64_t statement_timeout_ms;
} pg_settings_t;

const conf_entry_t *pg_conf_entries(void);

typedef struct pg pg_t;

/* What a failed statement means for the caller. */
typedef enum {
  PG_OK = 0,
  PG_RETRY,  /* connection lost, server starting/stopping, serialization
                failure, deadlock, out of resources: try the batch again */
  PG_REJECT, /* the data: class 22 (data exception) or 23 (constraint):
                isolate the rows, dead-letter them */
  PG_FATAL,  /* anything else (syntax, permissions, missing table): a bug or
                a deployment error; the program stops */
} pg_class_t;

/* A client for s (copied; the password file is read now). Does not connect.
 * Caller owns the result (pg_destroy). NULL with errstr. */
pg_t *pg_new(const pg_settings_t *s, const char *application_name, char *errstr,
             size_t errstr_size);
void pg_destroy(pg_t *p);

/* Connects unless connected (honouring the back-off). Returns 0 or -1. */
int pg_connect(pg_t *p, char *errstr, size_t errstr_size);

/* The live connection, or NULL when not connected. Borrowed. */
PGconn *pg_conn(pg_t *p);

/* Classifies a result (NULL: the connection failed). When not PG_OK, fills
 * sqlstate (6 bytes incl. NUL, "" when none) and errstr with the primary
 * message only, and drops the connection for PG_RETRY. */
pg_class_t pg_check(pg_t *p, PGresult *res, ExecStatusType want, char sqlstate[6], char *errstr,
                    size_t errstr_size);

/* Runs one statement without parameters; returns its class. */
pg_class_t pg_exec(pg_t *p, const char *sql, char sqlstate[6], char *errstr, size_t errstr_size);

/* COPY ... FROM STDIN with data (text format, already escaped by the
 * caller) sent in one go; returns the class of the whole COPY. */
pg_class_t pg_copy(pg_t *p, const char *copy_sql, const char *data, size_t len, char sqlstate[6],
                   char *errstr, size_t errstr_size);

/* Appends s to a COPY text-format field: backslash, tab, newline and
 * carriage return escaped. Returns 0, or -1 on allocation failure. */
typedef struct pg_buf {
  char *data;
  size_t len, cap;
} pg_buf_t;
int pg_buf_field(pg_buf_t *b, const char *s, size_t len);
int pg_buf_raw(pg_buf_t *b, const char *s, size_t len);
void pg_buf_free(pg_buf_t *b);

/* The stored next offset of (sink, topic, partition): 1 with *next_offset,
 * 0 when none, -1 on error (errstr). */
int pg_offsets_load(pg_t *p, const char *sink, const char *topic, int32_t partition,
                    int64_t *next_offset, char *errstr, size_t errstr_size);

/* Inside the caller's transaction: locks the sink_offsets rows of the
 * ranges with partition >= 0 (SELECT ... FOR UPDATE) and fills next[i] with
 * the stored next offset of ranges[i], -1 when none is stored (or the
 * partition is -1). Two writers of one partition (a zombie after a
 * rebalance) are serialised by this lock, so the second sees the first's
 * offsets and skips what it wrote. */
pg_class_t pg_offsets_lock(pg_t *p, const char *sink, const stage_sink_range_t *ranges, size_t n,
                           int64_t *next, char sqlstate[6], char *errstr, size_t errstr_size);

/* Inside the caller's transaction: raises the stored next offset of every
 * range with partition >= 0 to last + 1 (never lowers it). */
pg_class_t pg_offsets_save(pg_t *p, const char *sink, const stage_sink_range_t *ranges, size_t n,
                           char sqlstate[6], char *errstr, size_t errstr_size);

/* One migration of a component: applied once, in version order, each in its
 * own transaction together with its schema_migrations row. */
typedef struct pg_migration {
  int version;
  const char *name;
  const char *sql;
} pg_migration_t;

/* Applies the migrations of component not yet recorded (idempotent; safe to
 * run from several pods at once: an advisory lock serialises them). Returns
 * the number applied, or -1 with errstr. */
int pg_migrate(pg_t *p, const char *component, const pg_migration_t *migrations, size_t n,
               char *errstr, size_t errstr_size);

#endif
