/* fuzz_yaml — the YAML data-file reader (json/yaml.h) and what reads
 * through it, the topic routing (kafka/topics.h): risk-svc's rules and
 * schemas/topics.yaml come from files an operator edits.
 *
 * Invariants, beyond not crashing (and no billion laughs: aliases refused):
 *  - an accepted document is a value the JSON writer can write (valid UTF-8,
 *    finite numbers) and reads back equal;
 *  - written as JSON, which is YAML too, it reads back through the YAML
 *    reader as the same value (for printable ASCII text with short keys, the
 *    part of JSON that YAML 1.1 flow style shares);
 *  - an error is "line N: <why>" with N within the input;
 *  - a topic table that loads holds legal names, partitions in range, no
 *    duplicate, and dead-letter topics of the same file that have none.
 */
#include <jansson.h>

#include "fuzz.h"
#include "kafka/topics.h"
#include "json/jsonf.h"
#include "json/yaml.h"

static void check_error(const char *err, const uint8_t *data, size_t size) {
  size_t line = 0, lines = 1;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n' || data[i] == '\r';
  FUZZ_CHECK(sscanf(err, "line %zu: ", &line) == 1, "an error is \"line N: why\"");
  FUZZ_CHECK(line >= 1 && line <= lines + 1, "the error's line is within the input");
}

/* 1 when the JSON text is printable ASCII and no key is over 1000 bytes
 * (libyaml's limit for a simple key is 1024 characters). */
static int yaml_compatible(const json_t *v, const char *text, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x20 || text[i] > 0x7e)
      return 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m) {
      if (strlen(k) > 1000 || !yaml_compatible(m, "", 0))
        return 0;
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
      if (!yaml_compatible(m, "", 0))
        return 0;
    }
  }
  return 1;
}

static void check_topics(const uint8_t *data, size_t size) {
  char path[64], err[1024];
  int fd = fuzz_memfile(data, size, path, sizeof(path));
  FUZZ_CHECK(fd >= 0, "memfd");
  topics_t *t = topics_load(path, err, sizeof(err));
  close(fd);
  if (!t) {
    FUZZ_CHECK(err[0] != '\0', "a refused file says why");
    return;
  }
  size_t n = topics_count(t);
  for (size_t i = 0; i < n; i++) {
    const topic_info_t *ti = topics_at(t, i);
    FUZZ_CHECK(topics_name_valid(ti->name), "a topic's name is legal");
    FUZZ_CHECK(ti->partitions >= 1 && ti->partitions <= TOPICS_PARTITIONS_MAX, "partitions");
    FUZZ_CHECK(topics_find(t, ti->name) == ti, "names are unique");
    if (ti->dead_letters) {
      const topic_info_t *d = topics_find(t, ti->dead_letters);
      FUZZ_CHECK(d && !d->dead_letters, "dead letters go to a dead-letter topic of the file");
    }
  }
  topics_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512] = "";
  json_t *v = yaml_parse_json((const char *)data, size, err, sizeof(err));
  if (!v) {
    check_error(err, data, size);
  } else {
    size_t len = 0;
    char *text = jsonf_dumps(v, &len);
    FUZZ_CHECK(text != NULL, "an accepted document is writable JSON");
    json_t *back = jsonf_parse(text, len, 2048, err, sizeof(err));
    FUZZ_CHECK(back && json_equal(back, v), "the JSON reads back equal");
    if (yaml_compatible(v, text, len)) {
      json_t *again = yaml_parse_json(text, len, err, sizeof(err));
      FUZZ_CHECK(again != NULL, "the JSON form reads as YAML");
      FUZZ_CHECK(json_equal(again, v), "the JSON form reads as YAML to the same value");
      json_decref(again);
    }
    json_decref(back);
    free(text);
    json_decref(v);
  }
  check_topics(data, size);
  return 0;
}
