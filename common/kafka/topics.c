/* topics — reads schemas/topics.yaml (through json/yaml.h) into one
 * allocation per topic and checks it. */
#include "kafka/topics.h"

#include "json/yaml.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_NAME_MAX 249 /* Kafka's own limit */

struct topics {
  topic_info_t *v;
  size_t n;
};

int topics_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > TOPIC_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* A member as text: strings as they are, integers and booleans as YAML wrote
 * them; NULL for null or absent. (The file is read by json/yaml.h with YAML
 * 1.2's core schema: "partitions: 6" is an integer, "ingest: true" a boolean.) */
static const char *text_of(const json_t *v, char *buf, size_t size) {
  if (json_is_string(v))
    return json_string_value(v);
  if (json_is_integer(v)) {
    snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    return buf;
  }
  if (json_is_boolean(v))
    return json_is_true(v) ? "true" : "false";
  return NULL;
}

static int parse_int(const json_t *v, long lo, long hi, int *out) {
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return -1;
  *out = (int)json_integer_value(v);
  return 0;
}

static int parse_topic(const json_t *map, size_t idx, topic_info_t *t, char *errstr,
                       size_t errstr_size) {
  char kb[32];
  if (!json_is_object(map)) {
    snprintf(errstr, errstr_size, "topics[%zu] is not a mapping", idx);
    return -1;
  }
  const char *name = json_string_value(json_object_get(map, "name"));
  const char *key = text_of(json_object_get(map, "key"), kb, sizeof(kb));
  const char *schema = json_string_value(json_object_get(map, "schema"));
  const char *dlq = json_string_value(json_object_get(map, "dead_letters"));
  const json_t *retention = json_object_get(map, "retention_hours");
  const json_t *ingest = json_object_get(map, "ingest");
  if (!name || !topics_name_valid(name)) {
    snprintf(errstr, errstr_size, "topics[%zu]: missing or invalid name", idx);
    return -1;
  }
  if (parse_int(json_object_get(map, "partitions"), 1, TOPICS_PARTITIONS_MAX, &t->partitions) !=
      0) {
    snprintf(errstr, errstr_size, "topic %s: partitions must be 1..%d", name,
             TOPICS_PARTITIONS_MAX);
    return -1;
  }
  if (retention && !json_is_null(retention) &&
      parse_int(retention, 1, 1000000000, &t->retention_hours) != 0) {
    snprintf(errstr, errstr_size, "topic %s: retention_hours must be a positive number", name);
    return -1;
  }
  if (ingest && !json_is_boolean(ingest) && !json_is_null(ingest)) {
    snprintf(errstr, errstr_size, "topic %s: ingest must be true or false", name);
    return -1;
  }
  t->ingest = json_is_true(ingest);
  if (json_object_get(map, "dead_letters") && !json_is_null(json_object_get(map, "dead_letters")) &&
      (!dlq || !topics_name_valid(dlq))) {
    snprintf(errstr, errstr_size, "topic %s: dead_letters is not a topic name", name);
    return -1;
  }
  if (!(t->name = strdup(name)) || (key && !(t->key = strdup(key))) ||
      (schema && !(t->schema = strdup(schema))) || (dlq && !(t->dead_letters = strdup(dlq)))) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  return 0;
}

static int load_doc(const json_t *root, topics_t *out, char *errstr, size_t errstr_size) {
  if (!json_is_object(root)) {
    snprintf(errstr, errstr_size, "top level is not a mapping");
    return -1;
  }
  const json_t *seq = json_object_get(root, "topics");
  if (!json_is_array(seq)) {
    snprintf(errstr, errstr_size, "no \"topics\" sequence");
    return -1;
  }
  size_t n = json_array_size(seq);
  if (!(out->v = calloc(n ? n : 1, sizeof(*out->v)))) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    topic_info_t *t = &out->v[i];
    out->n = i + 1; /* so a half-filled entry is freed too */
    if (parse_topic(json_array_get(seq, i), i, t, errstr, errstr_size) != 0)
      return -1;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(out->v[j].name, t->name)) {
        snprintf(errstr, errstr_size, "duplicate topic %s", t->name);
        return -1;
      }
  }
  for (size_t i = 0; i < out->n; i++) {
    const char *d = out->v[i].dead_letters;
    const topic_info_t *to = d ? topics_find(out, d) : NULL;
    if (d && (!to || to->dead_letters)) {
      snprintf(errstr, errstr_size, "topic %s: dead_letters %s %s", out->v[i].name, d,
               to ? "has dead_letters itself (a dead-letter topic must not)"
                  : "is not a topic of the file");
      return -1;
    }
  }
  return 0;
}

topics_t *topics_load(const char *path, char *errstr, size_t errstr_size) {
  char why[512];
  json_t *root = yaml_load_json_file(path ? path : "(no path)", why, sizeof(why));
  if (!root) {
    snprintf(errstr, errstr_size, "%s", why);
    return NULL;
  }
  topics_t *t = calloc(1, sizeof(*t)); /* caller owns: topics_destroy() */
  if (!t || load_doc(root, t, why, sizeof(why)) != 0) {
    snprintf(errstr, errstr_size, "%s: %s", path, t ? why : "out of memory");
    json_decref(root);
    topics_destroy(t);
    return NULL;
  }
  json_decref(root);
  return t;
}

void topics_destroy(topics_t *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free((char *)t->v[i].name);
    free((char *)t->v[i].key);
    free((char *)t->v[i].schema);
    free((char *)t->v[i].dead_letters);
  }
  free(t->v);
  free(t);
}

size_t topics_count(const topics_t *t) {
  return t ? t->n : 0;
}

const topic_info_t *topics_at(const topics_t *t, size_t i) {
  return &t->v[i];
}

const topic_info_t *topics_find(const topics_t *t, const char *name) {
  for (size_t i = 0; t && name && i < t->n; i++)
    if (!strcmp(t->v[i].name, name))
      return &t->v[i];
  return NULL;
}
