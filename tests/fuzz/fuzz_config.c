/* fuzz_config — the settings reader of every program (core/config.h): the
 * YAML file given with --config, flattened to dotted keys, and the command
 * line ("--flag VALUE", "--flag=VALUE", bare booleans, -X PROPERTY=VALUE,
 * "--"). A config file or a Helm value is outside input too.
 *
 * Input: the YAML file, then optionally a line "--" and one argument per
 * line (at most 16; --help and --version are left out: they print).
 *
 * Invariants, beyond not crashing or leaking: a loaded config has every
 * required setting, integers within their bounds, booleans 0/1, every
 * librdkafka property a key and a value, NULL-terminated positional
 * arguments; a refused one says why in a NUL-terminated message.
 */
#include <stddef.h>

#include "core/config.h"
#include "fuzz.h"

typedef struct settings {
  char *brokers, *group, *topics, *key_file;
  int64_t port, retries;
  int verbose;
  double rate;
} settings_t;

static const conf_entry_t entries[] = {
    {.key = "kafka.brokers",
     .env = "FUZZ_KAFKA_BROKERS",
     .type = CONF_STRING,
     .def = "127.0.0.1:9092",
     .offset = offsetof(settings_t, brokers),
     .required = 1,
     .doc = "bootstrap servers"},
    {.key = "kafka.group_id",
     .type = CONF_STRING,
     .offset = offsetof(settings_t, group),
     .doc = "group"},
    {.key = "input.topics",
     .type = CONF_STRING,
     .def = "a,b",
     .offset = offsetof(settings_t, topics),
     .doc = "topics"},
    {.key = "privacy.hmac_key_file",
     .type = CONF_STRING,
     .offset = offsetof(settings_t, key_file),
     .doc = "key"},
    {.key = "metrics.port",
     .type = CONF_INT,
     .def = "9102",
     .offset = offsetof(settings_t, port),
     .min = 1,
     .max = 65535,
     .doc = "port"},
    {.key = "retries",
     .type = CONF_INT,
     .def = "3",
     .offset = offsetof(settings_t, retries),
     .doc = "unbounded integer"},
    {.key = "log.verbose",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(settings_t, verbose),
     .doc = "bool"},
    {.key = "rate",
     .type = CONF_DOUBLE,
     .def = "1.5",
     .offset = offsetof(settings_t, rate),
     .doc = "double"},
    {0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Split off the arguments after a "\n--\n" line. */
  size_t yaml_len = size;
  const char *rest = NULL;
  size_t rest_len = 0;
  const uint8_t *sep = memmem(data, size, "\n--\n", 4);
  if (sep) {
    yaml_len = (size_t)(sep - data) + 1;
    rest = (const char *)sep + 4;
    rest_len = size - yaml_len - 3;
  }
  char path[64];
  int fd = fuzz_memfile(data, yaml_len, path, sizeof(path));
  FUZZ_CHECK(fd >= 0, "memfd");

  char *argv[20], *copy = NULL;
  int argc = 0;
  argv[argc++] = "fuzz-config";
  argv[argc++] = "--config";
  argv[argc++] = path;
  if (rest) {
    copy = malloc(rest_len + 1);
    FUZZ_CHECK(copy != NULL, "malloc");
    memcpy(copy, rest, rest_len);
    copy[rest_len] = '\0';
    for (char *p = copy; p && *p && argc < 19;) {
      char *nl = strchr(p, '\n');
      if (nl)
        *nl = '\0';
      if (strcmp(p, "--help") && strcmp(p, "-h") && strcmp(p, "--version"))
        argv[argc++] = p;
      p = nl ? nl + 1 : NULL;
    }
  }
  argv[argc] = NULL;

  settings_t st = {0};
  conf_section_t sec = {entries, &st};
  conf_result_t res;
  char err[512];
  memset(err, 'x', sizeof(err));
  int rc = conf_load(&sec, 1, argc, argv, "usage", "0", &res, err, sizeof(err));
  FUZZ_CHECK(rc == CONF_OK || rc == CONF_ERROR, "conf_load returns OK or ERROR");
  if (rc == CONF_OK) {
    FUZZ_CHECK(st.brokers && *st.brokers, "a required setting is set");
    FUZZ_CHECK(st.port >= 1 && st.port <= 65535, "an integer is within its bounds");
    FUZZ_CHECK(st.verbose == 0 || st.verbose == 1, "a boolean is 0 or 1");
    for (size_t i = 0; i < res.kafka_count; i++)
      FUZZ_CHECK(res.kafka[i].key && res.kafka[i].value, "a property has a key and a value");
    FUZZ_CHECK(res.arg_count == 0 || res.args[res.arg_count] == NULL,
               "positional arguments are NULL-terminated");
    size_t n = 0;
    char **list = conf_list_split(st.topics, &n);
    FUZZ_CHECK(list != NULL && list[n] == NULL, "conf_list_split");
    for (size_t i = 0; i < n; i++)
      FUZZ_CHECK(*list[i] && !strchr(list[i], ','), "list items are non-empty, without commas");
    conf_list_free(list);
  } else {
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
               "a refusal says why, NUL-terminated");
  }
  conf_free(&sec);
  conf_result_free(&res);
  free(copy);
  close(fd);
  return 0;
}
