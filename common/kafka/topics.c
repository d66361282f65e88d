/* topics — reads schemas/topics.yaml with libyaml's document API (the file is
 * small and a tree is simpler to validate than an event stream) into one
 * allocation per topic. */
#include "kafka/topics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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

static const char *scalar(yaml_node_t *node) {
  if (!node || node->type != YAML_SCALAR_NODE)
    return NULL;
  const char *v = (const char *)node->data.scalar.value;
  /* YAML's null, as PyYAML reads it. */
  if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
      (!*v || !strcmp(v, "null") || !strcmp(v, "~") || !strcmp(v, "Null") || !strcmp(v, "NULL")))
    return NULL;
  return v;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
  if (!s)
    return -1;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

static int parse_topic(yaml_document_t *doc, yaml_node_t *map, size_t idx, topic_info_t *t,
                       char *errstr, size_t errstr_size) {
  const char *name = NULL, *parts = NULL, *retention = NULL, *key = NULL, *schema = NULL,
             *dlq = NULL, *ingest = NULL;
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
    else if (!strcmp(k, "retention_hours"))
      retention = v;
    else if (!strcmp(k, "key"))
      key = v;
    else if (!strcmp(k, "schema"))
      schema = v;
    else if (!strcmp(k, "dead_letters"))
      dlq = v;
    else if (!strcmp(k, "ingest"))
      ingest = v;
  }
  if (!name || !topics_name_valid(name)) {
    snprintf(errstr, errstr_size, "topics[%zu]: missing or invalid name", idx);
    return -1;
  }
  if (parse_int(parts, 1, TOPICS_PARTITIONS_MAX, &t->partitions) != 0) {
    snprintf(errstr, errstr_size, "topic %s: partitions must be 1..%d", name,
             TOPICS_PARTITIONS_MAX);
    return -1;
  }
  if (retention && parse_int(retention, 1, 1000000000, &t->retention_hours) != 0) {
    snprintf(errstr, errstr_size, "topic %s: retention_hours must be a positive number", name);
    return -1;
  }
  if (ingest && strcmp(ingest, "true") && strcmp(ingest, "false")) {
    snprintf(errstr, errstr_size, "topic %s: ingest must be true or false", name);
    return -1;
  }
  t->ingest = ingest && !strcmp(ingest, "true");
  if (dlq && !topics_name_valid(dlq)) {
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

static int load_doc(yaml_document_t *doc, topics_t *out, char *errstr, size_t errstr_size) {
  yaml_node_t *root = yaml_document_get_root_node(doc), *seq = NULL;
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
  size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  if (!(out->v = calloc(n ? n : 1, sizeof(*out->v)))) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    topic_info_t *t = &out->v[i];
    out->n = i + 1; /* so a half-filled entry is freed too */
    yaml_node_t *node = yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
    if (parse_topic(doc, node, i, t, errstr, errstr_size) != 0)
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
  topics_t *t = calloc(1, sizeof(*t)); /* caller owns: topics_destroy() */
  FILE *fp = path ? fopen(path, "rb") : NULL;
  yaml_parser_t parser;
  yaml_document_t doc;
  int parser_ok = 0, doc_ok = 0, rc = -1;
  if (!t) {
    snprintf(errstr, errstr_size, "out of memory");
    goto out;
  }
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", path ? path : "(no path)", strerror(errno));
    goto out;
  }
  if (!(parser_ok = yaml_parser_initialize(&parser))) {
    snprintf(errstr, errstr_size, "cannot initialise the YAML parser");
    goto out;
  }
  yaml_parser_set_input_file(&parser, fp);
  if (!(doc_ok = yaml_parser_load(&parser, &doc))) {
    snprintf(errstr, errstr_size, "%s:%zu: %s", path, parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "YAML error");
    goto out;
  }
  char why[512];
  if (load_doc(&doc, t, why, sizeof(why)) != 0) {
    snprintf(errstr, errstr_size, "%s: %s", path, why);
    goto out;
  }
  rc = 0;
out:
  if (doc_ok)
    yaml_document_delete(&doc);
  if (parser_ok)
    yaml_parser_delete(&parser);
  if (fp)
    fclose(fp);
  if (rc != 0) {
    topics_destroy(t);
    return NULL;
  }
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
