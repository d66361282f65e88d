/* migrations — the warehouse DDL as versioned migrations. The one copy of
 * the schema is deploy/sql/postgres.sql and deploy/sql/snowflake.sql,
 * embedded into the program at build time (embed_sql.cmake); a line
 * "-- migration: N name" starts migration N, and the lines before the first
 * marker (comments dropped) are prepended to every migration.
 */
#ifndef SNOWFLAKE_SINK_MIGRATIONS_H
#define SNOWFLAKE_SINK_MIGRATIONS_H

#include <stddef.h>

#include "store/pg.h"

/* The embedded files, NUL-terminated (generated: warehouse_sql.c). */
extern const char warehouse_sql_postgres[];
extern const char warehouse_sql_snowflake[];

typedef struct migrations {
  pg_migration_t *items; /* ascending versions */
  size_t n;
  char *text; /* owns every name and sql */
} migrations_t;

/* Splits text into migrations. Returns 0, or -1 with errstr when a marker
 * is malformed, versions do not ascend, a migration is empty or there is
 * none. Free out with migrations_free (also after -1). */
int migrations_parse(const char *text, migrations_t *out, char *errstr, size_t errstr_size);

/* Frees what migrations_parse put into m; NULL-safe. */
void migrations_free(migrations_t *m);

#endif
