/* topics.c — reads schemas/topics.yaml with libyaml's document API: the file is
 * small and the tree is simpler to validate than an event stream. */
#include "topics.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

int devbroker_topic_name_valid(const char *name) {
  size_t n = strlen(name);

  if (n == 0 || n > DEVBROKER_TOPIC_NAME_MAX)
    return 0;
  if (!strcmp(name, ".") || !strcmp(name, ".."))
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

static const char *scalar(yaml_node_t *node) {
  if (!node || node->type != YAML_SCALAR_NODE)
    return NULL;
  return (const char *)node->data.scalar.value;
}

static int parse_topic(yaml_document_t *doc, yaml_node_t *map, size_t idx,
                       struct devbroker_topic *t, char *errstr, size_t errstr_size) {
  const char *name = NULL, *parts = NULL;

  if (map->type != YAML_MAPPING_NODE) {
    snprintf(errstr, errstr_size, "topics[%zu] is not a mapping", idx);
    return -1;
  }
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    const char *k = scalar(yaml_document_get_node(doc, p->key));
    const char *v = scalar(yaml_document_get_node(doc, p->value));
    if (!k)
      continue;
    if (!strcmp(k, "name"))
      name = v;
    else if (!strcmp(k, "partitions"))
      parts = v;
  }
  if (!name || !devbroker_topic_name_valid(name)) {
    snprintf(errstr, errstr_size, "topics[%zu]: missing or invalid name", idx);
    return -1;
  }
  if (!parts) {
    snprintf(errstr, errstr_size, "topic %s: missing partitions", name);
    return -1;
  }
  char *end = NULL;
  errno = 0;
  long n = strtol(parts, &end, 10);
  if (errno || end == parts || *end || n < 1 || n > DEVBROKER_PARTITIONS_MAX) {
    snprintf(errstr, errstr_size, "topic %s: partitions must be 1..%d, got \"%s\"", name,
             DEVBROKER_PARTITIONS_MAX, parts);
    return -1;
  }
  snprintf(t->name, sizeof(t->name), "%s", name);
  t->partitions = (int)n;
  return 0;
}

static int load_doc(yaml_document_t *doc, struct devbroker_topics *out, char *errstr,
                    size_t errstr_size) {
  yaml_node_t *root = yaml_document_get_root_node(doc);
  yaml_node_t *seq = NULL;

  if (!root || root->type != YAML_MAPPING_NODE) {
    snprintf(errstr, errstr_size, "top level is not a mapping");
    return -1;
  }
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
       p++) {
    const char *k = scalar(yaml_document_get_node(doc, p->key));
    if (k && !strcmp(k, "topics"))
      seq = yaml_document_get_node(doc, p->value);
  }
  if (!seq || seq->type != YAML_SEQUENCE_NODE) {
    snprintf(errstr, errstr_size, "no \"topics\" sequence");
    return -1;
  }
  for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
       it++) {
    size_t idx = (size_t)(it - seq->data.sequence.items.start);
    if (out->cnt == DEVBROKER_TOPICS_MAX) {
      snprintf(errstr, errstr_size, "more than %d topics", DEVBROKER_TOPICS_MAX);
      return -1;
    }
    struct devbroker_topic *t = &out->topic[out->cnt];
    if (parse_topic(doc, yaml_document_get_node(doc, *it), idx, t, errstr, errstr_size) == -1)
      return -1;
    for (size_t j = 0; j < out->cnt; j++) {
      if (!strcmp(out->topic[j].name, t->name)) {
        snprintf(errstr, errstr_size, "duplicate topic %s", t->name);
        return -1;
      }
    }
    out->cnt++;
  }
  return 0;
}

int devbroker_topics_load(const char *path, struct devbroker_topics *out, char *errstr,
                          size_t errstr_size) {
  yaml_parser_t parser;
  yaml_document_t doc;
  FILE *fp;
  int rc;

  memset(out, 0, sizeof(*out));
  fp = fopen(path, "rb");
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (!yaml_parser_initialize(&parser)) {
    fclose(fp);
    snprintf(errstr, errstr_size, "yaml_parser_initialize failed");
    return -1;
  }
  yaml_parser_set_input_file(&parser, fp);
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(errstr, errstr_size, "%s:%zu: %s", path, parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "YAML error");
    yaml_parser_delete(&parser);
    fclose(fp);
    return -1;
  }
  rc = load_doc(&doc, out, errstr, errstr_size);
  if (rc == -1) {
    /* Prefix the file so the operator knows which one is wrong. */
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", errstr);
    snprintf(errstr, errstr_size, "%s: %s", path, tmp);
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  fclose(fp);
  return rc;
}
