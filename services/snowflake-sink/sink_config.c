/* sink_config — the settings table of snowflake-sink (see sink_config.h). */
#include "sink_config.h"

#include <stdio.h>
#include <string.h>

#define SF(field) offsetof(sink_config_t, field)

static const conf_entry_t entries[] = {
    {.key = "sink.backend",
     .env = "SINK_BACKEND",
     .type = CONF_STRING,
     .def = "postgres",
     .offset = SF(backend),
     .doc = "warehouse store: postgres (libpq, DATABASE_URL) or snowflake (SQL API v2)"},
    {.key = "sink.tables",
     .env = "SINK_TABLES",
     .type = CONF_STRING,
     .def = "sink.snowflake.orders=orders,context.weather=weather_observations,"
            "risk.decisions=risk_decisions,audit.privacy=privacy_audit",
     .offset = SF(tables),
     .doc = "topic=table routes; orders also feed price_history"},
    {.key = "init_schema",
     .type = CONF_BOOL,
     .def = "false",
     .offset = SF(init_schema),
     .doc = "apply the warehouse migrations (idempotent) and exit: the init container"},
    {.key = "snowflake.account",
     .env = "SNOWFLAKE_ACCOUNT",
     .type = CONF_STRING,
     .offset = SF(sf_account),
     .doc = "account identifier (orgname-account, or a locator such as xy12345.us-east-1)"},
    {.key = "snowflake.user",
     .env = "SNOWFLAKE_USER",
     .type = CONF_STRING,
     .offset = SF(sf_user),
     .doc = "user whose RSA public key is registered (ALTER USER ... SET RSA_PUBLIC_KEY)"},
    {.key = "snowflake.private_key_file",
     .env = "SNOWFLAKE_PRIVATE_KEY_FILE",
     .type = CONF_STRING,
     .offset = SF(sf_key_file),
     .doc = "PEM RSA private key for key-pair JWT auth (a k8s Secret)"},
    {.key = "snowflake.private_key_passphrase_file",
     .env = "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_FILE",
     .type = CONF_STRING,
     .offset = SF(sf_passphrase_file),
     .doc = "passphrase of an encrypted private key (a k8s Secret)"},
    {.key = "snowflake.url",
     .env = "SNOWFLAKE_URL",
     .type = CONF_STRING,
     .offset = SF(sf_url),
     .doc = "SQL API base URL (default https://<account>.snowflakecomputing.com)"},
    {.key = "snowflake.database",
     .env = "SNOWFLAKE_DATABASE",
     .type = CONF_STRING,
     .offset = SF(sf_database),
     .doc = "database of the warehouse tables (case-sensitive)"},
    {.key = "snowflake.schema",
     .env = "SNOWFLAKE_SCHEMA",
     .type = CONF_STRING,
     .offset = SF(sf_schema),
     .doc = "schema of the warehouse tables (case-sensitive)"},
    {.key = "snowflake.warehouse",
     .env = "SNOWFLAKE_WAREHOUSE",
     .type = CONF_STRING,
     .offset = SF(sf_warehouse),
     .doc = "virtual warehouse (default: the user's)"},
    {.key = "snowflake.role",
     .env = "SNOWFLAKE_ROLE",
     .type = CONF_STRING,
     .offset = SF(sf_role),
     .doc = "role (default: the user's)"},
    {.key = "snowflake.statement_timeout_s",
     .env = "SNOWFLAKE_STATEMENT_TIMEOUT_S",
     .type = CONF_INT,
     .def = "300",
     .offset = SF(sf_statement_timeout_s),
     .min = 1,
     .max = 604800,
     .doc = "Snowflake cancels a batch running longer; it is then retried"},
    {.key = "snowflake.request_timeout_ms",
     .env = "SNOWFLAKE_REQUEST_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "60000",
     .offset = SF(sf_request_timeout_ms),
     .min = 100,
     .max = 600000,
     .doc = "bound on one HTTP request (a longer statement answers 202 and is polled)"},
    {.key = "snowflake.jwt_lifetime_s",
     .env = "SNOWFLAKE_JWT_LIFETIME_S",
     .type = CONF_INT,
     .def = "3540",
     .offset = SF(sf_jwt_lifetime_s),
     .min = 60,
     .max = 3600,
     .doc = "lifetime of each key-pair JWT (Snowflake allows at most one hour)"},
    {.key = "snowflake.retries",
     .env = "SNOWFLAKE_RETRIES",
     .type = CONF_INT,
     .def = "5",
     .offset = SF(sf_retries),
     .min = 0,
     .max = 100,
     .doc = "resubmissions (same requestId, retry=true) on 429, 5xx and dropped connections"},
    {.key = "snowflake.retry_after_max_s",
     .env = "SNOWFLAKE_RETRY_AFTER_MAX_S",
     .type = CONF_INT,
     .def = "60",
     .offset = SF(sf_retry_after_max_s),
     .min = 1,
     .max = 3600,
     .doc = "a longer Retry-After hands the batch back to the stage's back-off instead"},
    {0},
};

const conf_entry_t *sink_config_entries(void) {
  return entries;
}

static int loopback_http(const char *url) {
  static const char *const ok[] = {"http://127.0.0.1:", "http://127.0.0.1/",
                                   "http://[::1]:", "http://localhost:", NULL};
  for (size_t i = 0; ok[i]; i++)
    if (strncmp(url, ok[i], strlen(ok[i])) == 0)
      return 1;
  return 0;
}

int sink_config_check(const sink_config_t *c, char *errstr, size_t errstr_size) {
  if (strcmp(c->backend, "postgres") == 0)
    return 0;
  if (strcmp(c->backend, "snowflake") != 0) {
    snprintf(errstr, errstr_size, "sink.backend (SINK_BACKEND): '%s' is not postgres or snowflake",
             c->backend);
    return -1;
  }
  static const struct {
    size_t offset;
    const char *name;
  } required[] = {
      {SF(sf_account), "snowflake.account (SNOWFLAKE_ACCOUNT)"},
      {SF(sf_user), "snowflake.user (SNOWFLAKE_USER)"},
      {SF(sf_key_file), "snowflake.private_key_file (SNOWFLAKE_PRIVATE_KEY_FILE)"},
      {SF(sf_database), "snowflake.database (SNOWFLAKE_DATABASE)"},
      {SF(sf_schema), "snowflake.schema (SNOWFLAKE_SCHEMA)"},
  };
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    const char *v = *(char *const *)((const char *)c + required[i].offset);
    if (!v || !*v) {
      snprintf(errstr, errstr_size, "%s is required with sink.backend=snowflake", required[i].name);
      return -1;
    }
  }
  /* The bearer token must never cross a network in clear text. */
  if (c->sf_url && *c->sf_url && strncmp(c->sf_url, "https://", 8) != 0 &&
      !loopback_http(c->sf_url)) {
    snprintf(errstr, errstr_size,
             "snowflake.url (SNOWFLAKE_URL): '%s' must be https:// (http:// only to a loopback "
             "address)",
             c->sf_url);
    return -1;
  }
  return 0;
}
