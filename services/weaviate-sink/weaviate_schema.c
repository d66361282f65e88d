/* weaviate_schema: the SocialPost class as data, and what in an existing
 * class would make the sink's writes wrong (refused at start). */
#include "weaviate_schema.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct prop {
  const char *name, *type, *tokenization;
  int searchable;
  const char *doc;
} prop_t;

static const prop_t props[] = {
    {"post_id", "text", "field", 0, "platform post id (the object id is its UUIDv5)"},
    {"platform", "text", "field", 0, "tiktok or facebook"},
    {"content", "text", "word", 1, "post text, phones and emails replaced by tokens"},
    {"timestamp", "date", NULL, 0, "event time of the post"},
    {"engagement", "int", NULL, 0, "likes + comments + shares"},
    {"hashtags", "text[]", "word", 1, "hashtags without #"},
    {"product_ids", "text[]", "field", 0, "merchant product ids the post mentions"},
    {"model", "text", "field", 0, "embedding model of the vector"},
};
enum { NPROPS = sizeof(props) / sizeof(props[0]) };

static json_t *prop_json(const prop_t *p) {
  json_t *o = json_pack("{s:s, s:[s], s:s, s:b}", "name", p->name, "dataType", p->type,
                        "description", p->doc, "indexFilterable", 1);
  if (o && p->tokenization) {
    json_object_set_new(o, "tokenization", json_string(p->tokenization));
    json_object_set_new(o, "indexSearchable", json_boolean(p->searchable));
  }
  return o;
}

json_t *wv_schema_property(const char *name) {
  for (size_t i = 0; i < NPROPS; i++)
    if (strcmp(props[i].name, name) == 0)
      return prop_json(&props[i]);
  return NULL;
}

json_t *wv_schema_class(const char *class_name) {
  json_t *list = json_array();
  for (size_t i = 0; list && i < NPROPS; i++)
    if (json_array_append_new(list, prop_json(&props[i])) != 0) {
      json_decref(list);
      list = NULL;
    }
  if (!list)
    return NULL;
  return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:o}", "class", class_name, "description",
                   "social posts embedded by the Sensory pipeline (one object per post)",
                   "vectorizer", "none", "vectorIndexType", "hnsw", "vectorIndexConfig", "distance",
                   "cosine", "properties", list);
}

/* Weaviate still reports the deprecated "string" type for old classes; it
 * stores and searches like "text". */
static int same_type(const char *have, const char *want) {
  if (strcasecmp(have, want) == 0)
    return 1;
  return (strcmp(want, "text") == 0 && strcasecmp(have, "string") == 0) ||
         (strcmp(want, "text[]") == 0 && strcasecmp(have, "string[]") == 0);
}

int wv_schema_check(const json_t *cls, const char **missing, size_t *nmissing, char *errstr,
                    size_t errstr_size) {
  const char *name = json_string_value(json_object_get(cls, "class"));
  name = name ? name : "?";
  *nmissing = 0;
  const char *vz = json_string_value(json_object_get(cls, "vectorizer"));
  if (vz && *vz && strcmp(vz, "none") != 0) {
    snprintf(errstr, errstr_size,
             "class %s has vectorizer '%.64s': the sink brings its own vectors (all-MiniLM-L6-v2 "
             "from the embedder) and needs vectorizer 'none'",
             name, vz);
    return -1;
  }
  const json_t *vc = json_object_get(cls, "vectorConfig");
  if (json_is_object(vc) && json_object_size(vc) > 0) {
    snprintf(errstr, errstr_size,
             "class %s uses named vectors (vectorConfig); the sink writes the class's single "
             "default vector",
             name);
    return -1;
  }
  const char *dist =
      json_string_value(json_object_get(json_object_get(cls, "vectorIndexConfig"), "distance"));
  if (dist && strcmp(dist, "cosine") != 0) {
    snprintf(errstr, errstr_size,
             "class %s uses distance '%.32s'; post-search ranks by cosine and needs 'cosine'", name,
             dist);
    return -1;
  }
  if (json_is_true(json_object_get(json_object_get(cls, "multiTenancyConfig"), "enabled"))) {
    snprintf(errstr, errstr_size,
             "class %s has multi-tenancy enabled; the sink writes without a tenant", name);
    return -1;
  }
  const json_t *have = json_object_get(cls, "properties");
  for (size_t i = 0; i < NPROPS; i++) {
    const json_t *found = NULL, *p;
    size_t k;
    json_array_foreach(have, k, p) {
      const char *pn = json_string_value(json_object_get(p, "name"));
      if (pn && strcmp(pn, props[i].name) == 0)
        found = p;
    }
    if (!found) {
      if (*nmissing < 16)
        missing[(*nmissing)++] = props[i].name;
      continue;
    }
    const json_t *dt = json_object_get(found, "dataType");
    const char *t = json_string_value(json_array_get(dt, 0));
    if (!t || json_array_size(dt) != 1 || !same_type(t, props[i].type)) {
      snprintf(errstr, errstr_size,
               "class %s: property '%s' has dataType %.64s, the sink writes %s (change the "
               "class or set weaviate.class to another one)",
               name, props[i].name, t ? t : "(none)", props[i].type);
      return -1;
    }
  }
  return 0;
}
