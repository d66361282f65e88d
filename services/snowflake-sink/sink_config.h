/* sink_config — snowflake-sink's own settings (the stage's shared ones, the
 * sink's batch thresholds and pg_conf_entries() come on top): backend, routes
 * and the Snowflake connection. One table drives defaults, YAML, environment, flags
 * and --help. */
#ifndef SNOWFLAKE_SINK_CONFIG_H
#define SNOWFLAKE_SINK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

#define SINK_DEFAULT_TOPICS "sink.snowflake.orders,context.weather,risk.decisions,audit.privacy"

typedef struct sink_config {
  char *backend; /* "postgres" | "snowflake" */
  char *tables;  /* topic=table,... */
  int init_schema;
  /* snowflake.* */
  char *sf_account, *sf_user, *sf_key_file, *sf_passphrase_file;
  char *sf_url, *sf_database, *sf_schema, *sf_warehouse, *sf_role;
  int64_t sf_statement_timeout_s, sf_request_timeout_ms, sf_jwt_lifetime_s;
  int64_t sf_retries, sf_retry_after_max_s;
} sink_config_t;

/* The table (static storage). */
const conf_entry_t *sink_config_entries(void);

/* Checks what one setting alone cannot: the backend's name and, for
 * snowflake, that account, user, key, database and schema are set and the
 * URL is https (http only to a loopback address, for tests). Returns 0 or -1
 * with errstr naming the setting. Connects nowhere. */
int sink_config_check(const sink_config_t *c, char *errstr, size_t errstr_size);

#endif
