/* warehouse — the tables snowflake-sink writes and how a record becomes a
 * row: one table per input contract (orders, weather_observations,
 * risk_decisions, privacy_audit), columns in the order of deploy/sql/, values
 * as text (NULL for SQL NULL) that both stores read: PostgreSQL's COPY text
 * format and the JSON bindings of a Snowflake MERGE. price_history has no
 * mapping of its own: the stores derive it from the orders rows of a batch.
 *
 * Pure: no I/O, no logging; safe from any thread.
 */
#ifndef SNOWFLAKE_SINK_WAREHOUSE_H
#define SNOWFLAKE_SINK_WAREHOUSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "stage/stage.h"

typedef enum { WH_ORDERS = 0, WH_WEATHER, WH_RISK, WH_AUDIT, WH_TABLE_COUNT } wh_table_id_t;

typedef enum {
  WH_TEXT,
  WH_INT,     /* integer / bigint */
  WH_NUMERIC, /* exact decimal (price) */
  WH_DOUBLE,
  WH_BOOL, /* "t" / "f" */
  WH_TIME, /* RFC 3339 text as received */
  WH_JSON  /* compact JSON text (jsonb / VARIANT) */
} wh_kind_t;

typedef struct wh_column {
  const char *name;
  wh_kind_t kind;
  const char *src; /* member of the record, or "@topic" / "@partition" / "@offset":
                      the record's Kafka coordinates */
  const char *def; /* text when the member is absent (NULL: SQL NULL) */
} wh_column_t;

typedef struct wh_table {
  wh_table_id_t id;
  const char *name;     /* "orders" */
  const char *contract; /* schema file, "clean_market_order.json" */
  const char *key;      /* primary key columns, "platform, order_id, product_id" */
  const wh_column_t *cols;
  size_t ncols;
} wh_table_t;

#define WH_MAX_COLS 24

/* One mapped record: ncols values, each NUL-terminated text inside data, or
 * SQL NULL (off[i] < 0). One allocation; free with free(). */
typedef struct wh_row {
  uint8_t table; /* wh_table_id_t */
  uint8_t ncols;
  int32_t off[WH_MAX_COLS];
  uint32_t len[WH_MAX_COLS];
  size_t bytes; /* size of data */
  char data[];
} wh_row_t;

/* The table descriptions (static storage). */
const wh_table_t *wh_table(wh_table_id_t id);

/* The table with that name, or NULL. */
const wh_table_t *wh_table_by_name(const char *name);

/* Value i of row (NULL for SQL NULL); len may be NULL. */
const char *wh_value(const wh_row_t *row, size_t i, size_t *len);

/* Maps one record (doc, borrowed; valid against the table's contract) to a
 * row of table t. msg gives the Kafka coordinates (kafka_topic,
 * kafka_partition, kafka_offset). Absent optional fields are NULL; an absent
 * currency is 'BDT'; members the table has no column for are left out.
 * Returns a row the caller frees with free(), or NULL with errstr (an
 * unusable value type; the message names the field, never its value). */
wh_row_t *wh_row_map(const wh_table_t *t, const json_t *doc, const stage_msg_t *msg, char *errstr,
                     size_t errstr_size);

/* Writes a JSON number as the shortest decimal text that reads back as the
 * same double (integers exactly) into out. Returns the length, or -1 when
 * v is not a number or out is too small. */
int wh_number_text(const json_t *v, char *out, size_t out_size);

#endif
