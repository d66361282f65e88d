/* yaml — libyaml's document model walked into jansson values (see yaml.h).
 * Owns the scalar typing rules (YAML 1.2 core schema, plain scalars only). */
#include "json/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_JSON_MAX_DEPTH 64

static int is_word(const char *s, size_t n, const char *a, const char *b, const char *c) {
  return (n == strlen(a) && memcmp(s, a, n) == 0) || (n == strlen(b) && memcmp(s, b, n) == 0) ||
         (n == strlen(c) && memcmp(s, c, n) == 0);
}

/* A plain scalar as the core schema types it. */
static json_t *plain_scalar(const char *s, size_t n) {
  if (n == 0 || is_word(s, n, "null", "Null", "NULL") || (n == 1 && s[0] == '~'))
    return json_null();
  if (is_word(s, n, "true", "True", "TRUE"))
    return json_true();
  if (is_word(s, n, "false", "False", "FALSE"))
    return json_false();
  char tmp[64];
  if (n < sizeof(tmp) && strspn(s, "0123456789+-.eE") == n) {
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end = NULL;
    errno = 0;
    if (strspn(tmp + (tmp[0] == '-' || tmp[0] == '+'), "0123456789") ==
            n - (tmp[0] == '-' || tmp[0] == '+') &&
        n > (size_t)(tmp[0] == '-' || tmp[0] == '+')) {
      long long v = strtoll(tmp, &end, 10);
      if (errno == 0 && end && *end == '\0')
        return json_integer((json_int_t)v);
    }
    errno = 0;
    double d = strtod(tmp, &end);
    if (errno == 0 && end && *end == '\0' && isfinite(d))
      return json_real(d);
  }
  return json_stringn(s, n);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *node, int depth, char *errstr,
                       size_t errstr_size) {
  if (depth > YAML_JSON_MAX_DEPTH) {
    snprintf(errstr, errstr_size, "line %zu: nesting too deep", node->start_mark.line + 1);
    return NULL;
  }
  switch (node->type) {
  case YAML_SCALAR_NODE: {
    const char *s = (const char *)node->data.scalar.value;
    size_t n = node->data.scalar.length;
    /* "\0" in a double-quoted scalar: every reader of these values takes
     * them as C strings (a name cut at the NUL), and JSON's reader refuses
     * \u0000 for the same reason. */
    if (memchr(s, '\0', n)) {
      snprintf(errstr, errstr_size, "line %zu: NUL character in a value",
               node->start_mark.line + 1);
      return NULL;
    }
    json_t *v = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s, n)
                                                                   : json_stringn(s, n);
    if (!v)
      snprintf(errstr, errstr_size, "line %zu: not valid UTF-8 or out of memory",
               node->start_mark.line + 1);
    return v;
  }
  case YAML_SEQUENCE_NODE: {
    json_t *arr = json_array();
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         arr && it < node->data.sequence.items.top; it++) {
      json_t *v = convert(doc, yaml_document_get_node(doc, *it), depth + 1, errstr, errstr_size);
      if (!v || json_array_append_new(arr, v) != 0) {
        json_decref(arr);
        return NULL;
      }
    }
    return arr;
  }
  case YAML_MAPPING_NODE: {
    json_t *obj = json_object();
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         obj && p < node->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      if (!k || k->type != YAML_SCALAR_NODE) {
        snprintf(errstr, errstr_size, "line %zu: keys must be plain text",
                 node->start_mark.line + 1);
        json_decref(obj);
        return NULL;
      }
      const char *key = (const char *)k->data.scalar.value;
      if (strlen(key) != k->data.scalar.length || json_object_get(obj, key)) {
        snprintf(errstr, errstr_size, "line %zu: duplicate or invalid key", k->start_mark.line + 1);
        json_decref(obj);
        return NULL;
      }
      json_t *v =
          convert(doc, yaml_document_get_node(doc, p->value), depth + 1, errstr, errstr_size);
      if (!v || json_object_set_new(obj, key, v) != 0) {
        json_decref(obj);
        return NULL;
      }
    }
    return obj;
  }
  default:
    snprintf(errstr, errstr_size, "line %zu: unsupported YAML node", node->start_mark.line + 1);
    return NULL;
  }
}

/* libyaml resolves aliases into shared nodes; refuse them before walking so a
 * small file cannot expand into a huge tree. */
static int has_alias(const char *buf, size_t len, char *errstr, size_t errstr_size) {
  yaml_parser_t p;
  yaml_event_t ev;
  int rc = 0;
  if (!yaml_parser_initialize(&p))
    return -1;
  yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
  for (;;) {
    if (!yaml_parser_parse(&p, &ev)) {
      rc = 0; /* the loader reports the syntax error */
      break;
    }
    int type = ev.type;
    size_t line = ev.start_mark.line + 1;
    yaml_event_delete(&ev);
    if (type == YAML_ALIAS_EVENT) {
      snprintf(errstr, errstr_size, "line %zu: aliases are not supported", line);
      rc = 1;
      break;
    }
    if (type == YAML_STREAM_END_EVENT || type == YAML_DOCUMENT_END_EVENT)
      break;
  }
  yaml_parser_delete(&p);
  return rc;
}

json_t *yaml_parse_json(const char *buf, size_t len, char *errstr, size_t errstr_size) {
  if (has_alias(buf, len, errstr, errstr_size) != 0)
    return NULL;
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
  json_t *out = NULL;
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(errstr, errstr_size, "line %zu: %s", parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "parse error");
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    out = root ? convert(&doc, root, 0, errstr, errstr_size) : json_null();
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  return out;
}

json_t *yaml_load_json_file(const char *path, char *errstr, size_t errstr_size) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 > cap) {
      if (cap >= (size_t)16 << 20) { /* a rules file is kilobytes; refuse a huge one */
        snprintf(errstr, errstr_size, "%s: larger than 16 MiB", path);
        free(buf);
        fclose(fp);
        return NULL;
      }
      size_t ncap = cap ? cap * 2 : 8192;
      char *nb = realloc(buf, ncap);
      if (!nb) {
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        free(buf);
        fclose(fp);
        return NULL;
      }
      buf = nb;
      cap = ncap;
    }
    size_t n = fread(buf + len, 1, cap - len, fp);
    len += n;
    if (n == 0)
      break;
  }
  int err = ferror(fp);
  fclose(fp);
  if (err) {
    snprintf(errstr, errstr_size, "%s: read error", path);
    free(buf);
    return NULL;
  }
  char inner[400];
  json_t *v = yaml_parse_json(buf ? buf : "", len, inner, sizeof(inner));
  free(buf);
  if (!v)
    snprintf(errstr, errstr_size, "%s: %s", path, inner);
  return v;
}
