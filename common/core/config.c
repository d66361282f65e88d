#include "core/config.h"
#include "core/array.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* A flattened YAML document: dotted key → scalar text. Small (tens of keys),
 * so a linear list is the simplest correct structure. */
typedef struct flat {
  conf_kv_t *items;
  size_t count, cap;
} flat_t;

static void flat_free(flat_t *f) {
  for (size_t i = 0; i < f->count; i++) {
    free(f->items[i].key);
    free(f->items[i].value);
  }
  free(f->items);
  memset(f, 0, sizeof(*f));
}

/* Inserts or replaces key (later layers win). Takes copies. */
static int flat_set(flat_t *f, const char *key, const char *value) {
  for (size_t i = 0; i < f->count; i++) {
    if (strcmp(f->items[i].key, key) == 0) {
      char *v = strdup(value);
      if (!v)
        return -1;
      free(f->items[i].value);
      f->items[i].value = v;
      return 0;
    }
  }
  if (array_reserve(&f->items, &f->cap, f->count + 1, sizeof(*f->items), 16) != 0)
    return -1;
  f->items[f->count].key = strdup(key);
  f->items[f->count].value = strdup(value);
  if (!f->items[f->count].key || !f->items[f->count].value) {
    free(f->items[f->count].key);
    free(f->items[f->count].value);
    return -1;
  }
  f->count++;
  return 0;
}

/* ---- YAML flattening ---------------------------------------------------- */

static int yaml_flatten_node(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                             flat_t *out, char *errstr, size_t errstr_size);

static int yaml_flatten_sequence(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                                 flat_t *out, char *errstr, size_t errstr_size) {
  /* A list of scalars becomes "a,b,c": every list setting is comma-separated. */
  size_t len = 0, cap = 256;
  char *joined = malloc(cap);
  if (!joined)
    return -1;
  joined[0] = '\0';
  for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
       it++) {
    yaml_node_t *item = yaml_document_get_node(doc, *it);
    if (!item || item->type != YAML_SCALAR_NODE) {
      free(joined);
      snprintf(errstr, errstr_size, "%s: lists may hold only plain values", prefix);
      return -1;
    }
    size_t n = item->data.scalar.length;
    if (len + n + 2 > cap) {
      while (len + n + 2 > cap)
        cap *= 2;
      char *grown = realloc(joined, cap);
      if (!grown) {
        free(joined);
        return -1;
      }
      joined = grown;
    }
    if (len)
      joined[len++] = ',';
    memcpy(joined + len, item->data.scalar.value, n);
    len += n;
    joined[len] = '\0';
  }
  int rc = flat_set(out, prefix, joined);
  free(joined);
  return rc;
}

static int yaml_flatten_node(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                             flat_t *out, char *errstr, size_t errstr_size) {
  switch (node->type) {
  case YAML_SCALAR_NODE:
    if (!*prefix) {
      snprintf(errstr, errstr_size, "the config file must be a mapping of settings");
      return -1;
    }
    return flat_set(out, prefix, (const char *)node->data.scalar.value);
  case YAML_SEQUENCE_NODE:
    if (!*prefix) {
      snprintf(errstr, errstr_size, "the config file must be a mapping of settings");
      return -1;
    }
    return yaml_flatten_sequence(doc, node, prefix, out, errstr, errstr_size);
  case YAML_MAPPING_NODE:
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      yaml_node_t *v = yaml_document_get_node(doc, p->value);
      if (!k || !v || k->type != YAML_SCALAR_NODE) {
        snprintf(errstr, errstr_size, "%s: keys must be plain text", *prefix ? prefix : "(top)");
        return -1;
      }
      char key[256];
      int n = snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
                       (const char *)k->data.scalar.value);
      if (n < 0 || (size_t)n >= sizeof(key)) {
        snprintf(errstr, errstr_size, "%s: key too long", prefix);
        return -1;
      }
      if (yaml_flatten_node(doc, v, key, out, errstr, errstr_size) != 0)
        return -1;
    }
    return 0;
  default:
    snprintf(errstr, errstr_size, "%s: unsupported YAML node", prefix);
    return -1;
  }
}

static int yaml_load_file(const char *path, flat_t *out, char *errstr, size_t errstr_size) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    snprintf(errstr, errstr_size, "config file %s: %s", path, strerror(errno));
    return -1;
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser)) {
    fclose(fp);
    snprintf(errstr, errstr_size, "config file %s: out of memory", path);
    return -1;
  }
  yaml_parser_set_input_file(&parser, fp);
  int rc = -1;
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(errstr, errstr_size, "config file %s: line %zu: %s", path,
             parser.problem_mark.line + 1, parser.problem ? parser.problem : "parse error");
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
      rc = 0; /* an empty file sets nothing */
    else if (yaml_flatten_node(&doc, root, "", out, errstr, errstr_size) == 0)
      rc = 0;
    else {
      char inner[512];
      snprintf(inner, sizeof(inner), "%s", errstr);
      snprintf(errstr, errstr_size, "config file %s: %s", path, inner);
    }
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(fp);
  return rc;
}

/* ---- table helpers ------------------------------------------------------ */

/* "privacy.hmac_key_file" → "privacy-hmac-key-file" */
static void key_to_flag(const char *key, char *out, size_t out_size) {
  size_t i = 0;
  for (; key[i] && i + 1 < out_size; i++)
    out[i] = (key[i] == '.' || key[i] == '_') ? '-' : key[i];
  out[i] = '\0';
}

static const conf_entry_t *find_entry(const conf_section_t *s, size_t n, const char *key,
                                      const conf_section_t **owner) {
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++)
      if (strcmp(e->key, key) == 0) {
        *owner = &s[i];
        return e;
      }
  return NULL;
}

static const conf_entry_t *find_flag(const conf_section_t *s, size_t n, const char *flag,
                                     size_t flag_len) {
  char buf[256];
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++) {
      key_to_flag(e->key, buf, sizeof(buf));
      if (strlen(buf) == flag_len && memcmp(buf, flag, flag_len) == 0)
        return e;
    }
  return NULL;
}

static const char *type_name(conf_type_t t) {
  switch (t) {
  case CONF_INT:
    return "INTEGER";
  case CONF_BOOL:
    return "BOOL";
  case CONF_DOUBLE:
    return "NUMBER";
  default:
    return "TEXT";
  }
}

/* Converts text into the entry's field. `origin` names the layer for errors. */
static int entry_assign(const conf_entry_t *e, void *base, const char *text, const char *origin,
                        char *errstr, size_t errstr_size) {
  char *field = (char *)base + e->offset;
  char *end = NULL;
  switch (e->type) {
  case CONF_STRING: {
    char *copy = strdup(text);
    if (!copy) {
      snprintf(errstr, errstr_size, "out of memory");
      return -1;
    }
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
  }
  case CONF_INT: {
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
      snprintf(errstr, errstr_size, "%s (%s): '%s' is not an integer", e->key, origin, text);
      return -1;
    }
    if (e->min < e->max && (v < e->min || v > e->max)) {
      snprintf(errstr, errstr_size, "%s (%s): %lld is outside %lld..%lld", e->key, origin, v,
               (long long)e->min, (long long)e->max);
      return -1;
    }
    *(int64_t *)field = v;
    return 0;
  }
  case CONF_DOUBLE: {
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end) {
      snprintf(errstr, errstr_size, "%s (%s): '%s' is not a number", e->key, origin, text);
      return -1;
    }
    *(double *)field = v;
    return 0;
  }
  case CONF_BOOL: {
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
      if (strcasecmp(text, yes[i]) == 0) {
        *(int *)field = 1;
        return 0;
      }
      if (strcasecmp(text, no[i]) == 0) {
        *(int *)field = 0;
        return 0;
      }
    }
    snprintf(errstr, errstr_size, "%s (%s): '%s' is not true/false", e->key, origin, text);
    return -1;
  }
  }
  return -1;
}

static void print_help(const conf_section_t *s, size_t n, const char *usage) {
  char flag[256];
  printf("%s\n\nSettings (default < --config FILE < environment < flag):\n", usage);
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++) {
      key_to_flag(e->key, flag, sizeof(flag));
      printf("  --%s %s\n      %s\n      yaml: %s", flag, type_name(e->type), e->doc, e->key);
      if (e->env)
        printf("   env: %s", e->env);
      if (e->def)
        printf("   default: %s", *e->def ? e->def : "\"\"");
      if (e->required)
        printf("   (required)");
      printf("\n");
    }
  printf("  --config FILE\n      YAML file of the settings above (dotted keys may be nested)\n"
         "  -X PROPERTY=VALUE\n      librdkafka property, also yaml kafka.<property> and env "
         "KAFKA_<PROPERTY>\n  --help, --version\n");
}

/* Environment KAFKA_SECURITY_PROTOCOL → "security.protocol", skipping the
 * variables that belong to a table entry (KAFKA_BROKERS). */
static int collect_kafka_env(const conf_section_t *s, size_t n, flat_t *kafka) {
  extern char **environ;
  for (char **ep = environ; ep && *ep; ep++) {
    if (strncmp(*ep, "KAFKA_", 6) != 0)
      continue;
    const char *eq = strchr(*ep, '=');
    if (!eq)
      continue;
    size_t name_len = (size_t)(eq - *ep);
    int claimed = 0;
    for (size_t i = 0; i < n && !claimed; i++)
      for (const conf_entry_t *e = s[i].entries; e->key && !claimed; e++)
        claimed = e->env && strlen(e->env) == name_len && memcmp(e->env, *ep, name_len) == 0;
    if (claimed || name_len <= 6 || name_len - 6 >= 128)
      continue;
    char prop[128];
    size_t j = 0;
    for (const char *c = *ep + 6; c < eq; c++)
      prop[j++] = *c == '_' ? '.' : (char)tolower((unsigned char)*c);
    prop[j] = '\0';
    if (flat_set(kafka, prop, eq + 1) != 0)
      return -1;
  }
  return 0;
}

static int apply_defaults(const conf_section_t *s, size_t n, char *errstr, size_t errstr_size) {
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++)
      if (e->def && entry_assign(e, s[i].base, e->def, "default", errstr, errstr_size) != 0)
        return -1;
  return 0;
}

static int apply_flat(const conf_section_t *s, size_t n, const flat_t *yaml, flat_t *kafka,
                      const char *path, char *errstr, size_t errstr_size) {
  for (size_t k = 0; k < yaml->count; k++) {
    const conf_section_t *owner = NULL;
    const conf_entry_t *e = find_entry(s, n, yaml->items[k].key, &owner);
    if (e) {
      if (entry_assign(e, owner->base, yaml->items[k].value, path, errstr, errstr_size) != 0)
        return -1;
    } else if (strncmp(yaml->items[k].key, "kafka.", 6) == 0) {
      if (flat_set(kafka, yaml->items[k].key + 6, yaml->items[k].value) != 0)
        return -1;
    } else {
      snprintf(errstr, errstr_size, "config file %s: unknown setting '%s'", path,
               yaml->items[k].key);
      return -1;
    }
  }
  return 0;
}

static int apply_env(const conf_section_t *s, size_t n, char *errstr, size_t errstr_size) {
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++) {
      const char *v = e->env ? getenv(e->env) : NULL;
      char origin[96];
      snprintf(origin, sizeof(origin), "env %s", e->env ? e->env : "");
      if (v && entry_assign(e, s[i].base, v, origin, errstr, errstr_size) != 0)
        return -1;
    }
  return 0;
}

static int check_required(const conf_section_t *s, size_t n, char *errstr, size_t errstr_size) {
  char flag[256];
  for (size_t i = 0; i < n; i++)
    for (const conf_entry_t *e = s[i].entries; e->key; e++) {
      if (!e->required || e->type != CONF_STRING)
        continue;
      const char *v = *(char **)((char *)s[i].base + e->offset);
      if (!v || !*v) {
        key_to_flag(e->key, flag, sizeof(flag));
        snprintf(errstr, errstr_size, "missing required setting %s (yaml %s, env %s, --%s)", e->key,
                 e->key, e->env ? e->env : "-", flag);
        return -1;
      }
    }
  return 0;
}

static int push_arg(conf_result_t *r, const char *arg) {
  char **args = realloc(r->args, (r->arg_count + 2) * sizeof(*args));
  if (!args)
    return -1;
  r->args = args;
  if (!(args[r->arg_count] = strdup(arg)))
    return -1;
  args[++r->arg_count] = NULL;
  return 0;
}

/* Command line: "--flag VALUE", "--flag=VALUE", a bare "--bool-flag", "-X k=v",
 * "--" ends options. */
static int apply_argv(const conf_section_t *s, size_t n, int argc, char **argv, flat_t *xprops,
                      conf_result_t *r, char *errstr, size_t errstr_size) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++)
        if (push_arg(r, argv[i]) != 0)
          return -1;
      break;
    }
    if (strcmp(a, "-X") == 0 || strncmp(a, "-X", 2) == 0) {
      const char *kv = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
      const char *eq = kv ? strchr(kv, '=') : NULL;
      if (!eq || eq == kv) {
        snprintf(errstr, errstr_size, "-X needs PROPERTY=VALUE");
        return -1;
      }
      char prop[128];
      snprintf(prop, sizeof(prop), "%.*s", (int)(eq - kv), kv);
      if (flat_set(xprops, prop, eq + 1) != 0)
        return -1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) {
      if (push_arg(r, a) != 0)
        return -1;
      continue;
    }
    if (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0) {
      if (!a[8])
        i++; /* already consumed before the YAML layer */
      continue;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    const conf_entry_t *e = find_flag(s, n, name, name_len);
    if (!e) {
      snprintf(errstr, errstr_size, "unknown option --%.*s (see --help)", (int)name_len, name);
      return -1;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value && e->type == CONF_BOOL)
      value = "true";
    if (!value) {
      if (i + 1 >= argc) {
        snprintf(errstr, errstr_size, "--%.*s needs a value", (int)name_len, name);
        return -1;
      }
      value = argv[++i];
    }
    const conf_section_t *owner = NULL;
    find_entry(s, n, e->key, &owner);
    if (entry_assign(e, owner->base, value, "command line", errstr, errstr_size) != 0)
      return -1;
  }
  return 0;
}

static int kafka_export(const flat_t *kafka, conf_result_t *r) {
  if (!kafka->count)
    return 0;
  r->kafka = calloc(kafka->count, sizeof(*r->kafka));
  if (!r->kafka)
    return -1;
  for (size_t i = 0; i < kafka->count; i++) {
    r->kafka[i].key = strdup(kafka->items[i].key);
    r->kafka[i].value = strdup(kafka->items[i].value);
    r->kafka_count++;
    if (!r->kafka[i].key || !r->kafka[i].value)
      return -1;
  }
  return 0;
}

int conf_load(const conf_section_t *sections, size_t nsections, int argc, char **argv,
              const char *usage, const char *version, conf_result_t *result, char *errstr,
              size_t errstr_size) {
  memset(result, 0, sizeof(*result));
  const char *config_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_help(sections, nsections, usage);
      return CONF_EXIT;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("%s\n", version);
      return CONF_EXIT;
    }
    if (strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc) {
        snprintf(errstr, errstr_size, "--config needs a file");
        return CONF_ERROR;
      }
      config_path = argv[++i];
    } else if (strncmp(argv[i], "--config=", 9) == 0) {
      config_path = argv[i] + 9;
    } else if (strcmp(argv[i], "--") == 0) {
      break;
    }
  }

  flat_t yaml = {0}, kafka = {0}, xprops = {0};
  int rc = CONF_ERROR;
  if (apply_defaults(sections, nsections, errstr, errstr_size) != 0)
    goto out;
  if (config_path &&
      (yaml_load_file(config_path, &yaml, errstr, errstr_size) != 0 ||
       apply_flat(sections, nsections, &yaml, &kafka, config_path, errstr, errstr_size) != 0))
    goto out;
  if (apply_env(sections, nsections, errstr, errstr_size) != 0 ||
      collect_kafka_env(sections, nsections, &kafka) != 0)
    goto out;
  if (apply_argv(sections, nsections, argc, argv, &xprops, result, errstr, errstr_size) != 0)
    goto out;
  for (size_t i = 0; i < xprops.count; i++)
    if (flat_set(&kafka, xprops.items[i].key, xprops.items[i].value) != 0)
      goto out;
  if (check_required(sections, nsections, errstr, errstr_size) != 0)
    goto out;
  if (kafka_export(&kafka, result) != 0) {
    snprintf(errstr, errstr_size, "out of memory");
    goto out;
  }
  rc = CONF_OK;
out:
  flat_free(&yaml);
  flat_free(&kafka);
  flat_free(&xprops);
  return rc;
}

void conf_free(const conf_section_t *section) {
  if (!section || !section->base)
    return;
  for (const conf_entry_t *e = section->entries; e->key; e++) {
    if (e->type != CONF_STRING)
      continue;
    char **field = (char **)((char *)section->base + e->offset);
    free(*field);
    *field = NULL;
  }
}

void conf_result_free(conf_result_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->kafka_count; i++) {
    free(r->kafka[i].key);
    free(r->kafka[i].value);
  }
  free(r->kafka);
  for (size_t i = 0; i < r->arg_count; i++)
    free(r->args[i]);
  free(r->args);
  memset(r, 0, sizeof(*r));
}

char **conf_list_split(const char *list, size_t *count) {
  *count = 0;
  size_t cap = 1;
  for (const char *c = list ? list : ""; *c; c++)
    cap += *c == ',';
  char **out = calloc(cap + 1, sizeof(*out));
  if (!out)
    return NULL;
  const char *p = list ? list : "";
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end)
      end = p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && isspace((unsigned char)*b))
      b++;
    while (e > b && isspace((unsigned char)e[-1]))
      e--;
    if (e > b) {
      out[*count] = strndup(b, (size_t)(e - b));
      if (!out[*count]) {
        conf_list_free(out);
        return NULL;
      }
      (*count)++;
    }
    p = *end ? end + 1 : end;
  }
  return out;
}

void conf_list_free(char **list) {
  if (!list)
    return;
  for (char **p = list; *p; p++)
    free(*p);
  free(list);
}
