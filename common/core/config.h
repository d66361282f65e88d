/* config — one table per service drives defaults, YAML keys, environment
 * overrides, command-line flags and --help.
 *
 * Precedence, lowest first: the table's default ← the YAML file given with
 * --config FILE ← the entry's environment variable ← the command line.
 * YAML mappings are flattened to dotted keys ("kafka: {brokers: x}" is
 * "kafka.brokers"); a sequence of scalars becomes a comma-separated list.
 * The command-line flag of key "privacy.hmac_key_file" is
 * "--privacy-hmac-key-file VALUE" (or "=VALUE").
 *
 * librdkafka pass-through: any YAML key "kafka.<property>" not in a table,
 * every "-X property=value" argument, and environment variables
 * KAFKA_<PROPERTY> (upper case, "_" for "."; e.g. KAFKA_SECURITY_PROTOCOL)
 * are collected, in that precedence, as librdkafka properties. A property with
 * an underscore in its name must be given in YAML or with -X.
 *
 * Unknown YAML keys outside "kafka." and unknown flags are errors: a typo in a
 * production config must stop the program, not be ignored.
 */
#ifndef SENSORY_CONFIG_H
#define SENSORY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CONF_STRING, CONF_INT, CONF_BOOL, CONF_DOUBLE } conf_type_t;

/* One setting. The field at `offset` in the section's struct has the C type of
 * `type`: char * (owned by the struct, freed by conf_free), int64_t, int, double. */
typedef struct conf_entry {
  const char *key; /* dotted YAML key, e.g. "kafka.brokers" */
  const char *env; /* environment variable, or NULL */
  conf_type_t type;
  const char *def;  /* default as text, or NULL for unset */
  size_t offset;    /* offsetof(struct, field) */
  int required;     /* must be set (non-empty) after all layers */
  int64_t min, max; /* inclusive bounds for CONF_INT when min < max */
  const char *doc;  /* one line for --help */
} conf_entry_t;

/* A table bound to the struct it fills. Tables end with an entry whose key is NULL. */
typedef struct conf_section {
  const conf_entry_t *entries;
  void *base;
} conf_section_t;

typedef struct conf_kv {
  char *key;
  char *value;
} conf_kv_t;

/* The librdkafka pass-through properties, owned by conf_result_t. */
typedef struct conf_result {
  conf_kv_t *kafka;
  size_t kafka_count;
  char **args; /* positional arguments, NULL-terminated, owned */
  size_t arg_count;
} conf_result_t;

enum { CONF_OK = 0, CONF_EXIT = 1, CONF_ERROR = -1 };

/* Fills every section from the four layers. Returns CONF_OK; CONF_EXIT after
 * printing --help (usage text first, then one block per setting) or --version
 * to stdout (the caller exits 0); CONF_ERROR with errstr naming the setting,
 * its source and the problem (the caller prints it and exits 2). Reads files
 * and environment only: never connects anywhere. On CONF_ERROR the sections may
 * be partly filled; conf_free() them anyway. */
int conf_load(const conf_section_t *sections, size_t nsections, int argc, char **argv,
              const char *usage, const char *version, conf_result_t *result, char *errstr,
              size_t errstr_size);

/* Frees the strings owned by a section's struct (NULL-safe per field). */
void conf_free(const conf_section_t *section);

/* Frees what conf_load() put into result. */
void conf_result_free(conf_result_t *result);

/* Splits a comma-separated list into a NULL-terminated array of trimmed,
 * non-empty strings; *count receives the length. Caller frees with
 * conf_list_free(). Returns NULL on allocation failure only. */
char **conf_list_split(const char *list, size_t *count);
void conf_list_free(char **list);

#endif
