/* jsonf_doc — the life of a jsonf document: its buffers, building one by hand,
 * and the two bridges to jansson (jsonf_parse builds a json_t from a parsed
 * document; jsonf_doc_from_jansson lays a json_t out as a document).
 *
 * A document keeps its buffers from parse to parse, up to a few hundred KiB:
 * beyond that they are released before the next parse (jsonf_doc_trim), so one
 * outsized message does not keep its memory. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonf_internal.h"

/* Buffers kept from one parse to the next: 16,384 nodes (384 KiB) and
 * 256 KiB of decoded strings cover any message of a few hundred KiB. */
#define KEEP_NODES 16384
#define KEEP_STRINGS (256 * 1024)

jsonf_doc_t *jsonf_doc_new(void) {
  return calloc(1, sizeof(jsonf_doc_t)); /* caller owns, jsonf_doc_destroy() */
}

void jsonf_doc_destroy(jsonf_doc_t *d) {
  if (!d)
    return;
  free(d->nodes);
  free(d->sb);
  free(d->dup);
  free(d->frames);
  free(d);
}

int jsonf_doc_grow_frames(jsonf_doc_t *d) {
  size_t cap = d->frames_cap ? d->frames_cap * 2 : 16;
  jsonf_frame_t *f = realloc(d->frames, cap * sizeof(*f));
  if (!f)
    return -1;
  d->frames = f;
  d->frames_cap = cap;
  return 0;
}

int jsonf_doc_grow(jsonf_doc_t *d) {
  size_t cap = d->cap ? d->cap * 2 : 64;
  if (cap > UINT32_MAX)
    return -1;
  jsonf_node_t *n = realloc(d->nodes, cap * sizeof(*n));
  if (!n)
    return -1;
  d->nodes = n;
  d->cap = cap;
  return 0;
}

void jsonf_doc_trim(jsonf_doc_t *d) {
  if (d->cap > KEEP_NODES) {
    free(d->nodes);
    d->nodes = NULL;
    d->cap = d->count = 0;
  }
  if (d->sb_cap > KEEP_STRINGS) {
    free(d->sb);
    d->sb = NULL;
    d->sb_cap = d->sb_len = 0;
  }
  if (d->dup_cap > 2 * KEEP_NODES) {
    free(d->dup);
    d->dup = NULL;
    d->dup_cap = d->dup_used = 0;
  }
}

const jsonf_node_t *jsonf_doc_root(const jsonf_doc_t *d) {
  return d && d->count ? d->nodes : NULL;
}

/* ---- building ---------------------------------------------------------------- */

void jsonf_doc_reset(jsonf_doc_t *d) {
  jsonf_doc_trim(d);
  d->count = 0;
}

size_t jsonf_doc_open(jsonf_doc_t *d, jsonf_type_t type) {
  jsonf_node_t *n = jsonf_doc_push(d);
  if (!n)
    return (size_t)-1;
  n->type = (uint8_t)type;
  return d->count - 1;
}

void jsonf_doc_close(jsonf_doc_t *d, size_t at) {
  jsonf_node_t *c = &d->nodes[at];
  size_t children = 0;
  for (size_t i = at + 1; i < d->count; i += d->nodes[i].size)
    children++;
  c->len = (uint32_t)(c->type == JSONF_OBJECT ? children / 2 : children);
  c->size = (uint32_t)(d->count - at);
}

static int add_string(jsonf_doc_t *d, const char *s, size_t len, unsigned flags, int key) {
  if (len > UINT32_MAX)
    return -1;
  jsonf_node_t *n = jsonf_doc_push(d);
  if (!n)
    return -1;
  n->type = JSONF_STRING;
  n->flags = (uint8_t)(flags & (JSONF_PLAIN | JSONF_UTF8));
  n->len = (uint32_t)len;
  n->v.s = s;
  if (key)
    n->hash = jsonf_key_hash(s, len);
  return 0;
}

int jsonf_doc_add_key(jsonf_doc_t *d, const char *s, size_t len, unsigned flags) {
  return add_string(d, s, len, flags, 1);
}

int jsonf_doc_add_string(jsonf_doc_t *d, const char *s, size_t len, unsigned flags) {
  return add_string(d, s, len, flags, 0);
}

int jsonf_doc_add_nodes(jsonf_doc_t *d, const jsonf_node_t *first, size_t count) {
  while (d->cap - d->count < count)
    if (jsonf_doc_grow(d) < 0)
      return -1;
  memcpy(d->nodes + d->count, first, count * sizeof(*first));
  d->count += count;
  return 0;
}

int jsonf_doc_add_value(jsonf_doc_t *d, const jsonf_node_t *v) {
  return jsonf_doc_add_nodes(d, v, v->size);
}

const jsonf_node_t *jsonf_object_get(const jsonf_node_t *obj, const char *k, size_t kl) {
  if (!obj || obj->type != JSONF_OBJECT)
    return NULL;
  const jsonf_node_t *key = obj + 1;
  for (uint32_t i = 0; i < obj->len; i++, key = key + 1 + key[1].size)
    if (key->len == kl && memcmp(key->v.s, k, kl) == 0)
      return key + 1;
  return NULL;
}

/* ---- jansson -> document ------------------------------------------------------ */

/* Strings are marked neither JSONF_PLAIN nor JSONF_UTF8: jansson's _nocheck
 * constructors do not validate, so the writer escapes them and refuses
 * invalid UTF-8, and the validator decodes them, as for the jansson value. */
static int from_jansson(jsonf_doc_t *d, const json_t *v, int depth) {
  jsonf_node_t *n;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    if (depth >= JSONF_MAX_DEPTH)
      return -1;
    size_t at = jsonf_doc_open(d, JSONF_OBJECT);
    if (at == (size_t)-1)
      return -1;
    json_t *obj = (json_t *)v; /* jansson's iterators take a non-const object */
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
      const char *k = json_object_iter_key(it);
      size_t kl = json_object_iter_key_len(it);
      if (add_string(d, k, kl, 0, 1) < 0 ||
          from_jansson(d, json_object_iter_value(it), depth + 1) < 0)
        return -1;
    }
    jsonf_doc_close(d, at);
    return 0;
  }
  case JSON_ARRAY: {
    if (depth >= JSONF_MAX_DEPTH)
      return -1;
    size_t at = jsonf_doc_open(d, JSONF_ARRAY);
    if (at == (size_t)-1)
      return -1;
    for (size_t i = 0; i < json_array_size(v); i++)
      if (from_jansson(d, json_array_get(v, i), depth + 1) < 0)
        return -1;
    jsonf_doc_close(d, at);
    return 0;
  }
  case JSON_STRING: {
    return add_string(d, json_string_value(v), json_string_length(v), 0, 0);
  }
  case JSON_INTEGER:
    if (!(n = jsonf_doc_push(d)))
      return -1;
    n->type = JSONF_INTEGER;
    n->v.i = json_integer_value(v);
    return 0;
  case JSON_REAL:
    if (!(n = jsonf_doc_push(d)))
      return -1;
    n->type = JSONF_REAL;
    n->v.d = json_real_value(v);
    return 0;
  case JSON_TRUE:
  case JSON_FALSE:
  case JSON_NULL:
    if (!(n = jsonf_doc_push(d)))
      return -1;
    n->type = json_is_true(v) ? JSONF_TRUE : json_is_false(v) ? JSONF_FALSE : JSONF_NULL;
    return 0;
  }
  return -1;
}

const jsonf_node_t *jsonf_doc_from_jansson(jsonf_doc_t *d, const json_t *v) {
  jsonf_doc_reset(d);
  if (!v || from_jansson(d, v, 0) < 0) {
    d->count = 0;
    return NULL;
  }
  return d->nodes;
}

/* ---- document -> jansson ------------------------------------------------------ */

static json_t *to_jansson(const jsonf_node_t *n) {
  switch (n->type) {
  case JSONF_OBJECT: {
    json_t *obj = json_object();
    const jsonf_node_t *k = n + 1;
    for (uint32_t i = 0; obj && i < n->len; i++, k = k + 1 + k[1].size) {
      json_t *v = to_jansson(k + 1);
      /* Keys are unique and valid UTF-8 without NUL: the reader checked. */
      if (!v || json_object_setn_new_nocheck(obj, k->v.s, k->len, v) < 0) {
        json_decref(obj);
        obj = NULL;
      }
    }
    return obj;
  }
  case JSONF_ARRAY: {
    json_t *arr = json_array();
    const jsonf_node_t *c = n + 1;
    for (uint32_t i = 0; arr && i < n->len; i++, c += c->size) {
      if (json_array_append_new(arr, to_jansson(c)) < 0) {
        json_decref(arr);
        arr = NULL;
      }
    }
    return arr;
  }
  case JSONF_STRING:
    return json_stringn_nocheck(n->v.s, n->len);
  case JSONF_INTEGER:
    return json_integer(n->v.i);
  case JSONF_REAL:
    return json_real(n->v.d);
  case JSONF_TRUE:
    return json_true();
  case JSONF_FALSE:
    return json_false();
  default:
    return json_null();
  }
}

/* One document per thread for jsonf_parse, reused from call to call. */
static pthread_key_t doc_key;
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;
static int doc_key_ok;

static void doc_free(void *p) {
  jsonf_doc_destroy(p);
}

static void doc_init(void) {
  doc_key_ok = pthread_key_create(&doc_key, doc_free) == 0;
}

json_t *jsonf_parse(const char *buf, size_t len, int max_depth, char *errstr, size_t errstr_size) {
  pthread_once(&doc_once, doc_init);
  jsonf_doc_t *d = doc_key_ok ? pthread_getspecific(doc_key) : NULL, *own = NULL;
  if (!d) {
    d = own = jsonf_doc_new();
    if (own && doc_key_ok && pthread_setspecific(doc_key, own) == 0)
      own = NULL; /* the thread's from now on */
  }
  if (!d) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "invalid JSON at byte 0: out of memory");
    return NULL;
  }
  json_t *v = NULL;
  const jsonf_node_t *root = jsonf_doc_parse(d, buf, len, max_depth, errstr, errstr_size);
  if (root && !(v = to_jansson(root)) && errstr && errstr_size)
    snprintf(errstr, errstr_size, "invalid JSON at byte 0: out of memory");
  jsonf_doc_destroy(own);
  return v;
}

json_t *jsonf_parse_file(const char *path, int max_depth, char *errstr, size_t errstr_size) {
  enum { FILE_MAX = 64 << 20 };
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  size_t len = 0, cap = 0;
  char *buf = NULL; /* owned here */
  for (;;) {
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 16384;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(fp);
        if (errstr && errstr_size)
          snprintf(errstr, errstr_size, "out of memory reading %s", path);
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, fp);
    len += got;
    if (got == 0 || len > FILE_MAX)
      break;
  }
  int bad = ferror(fp);
  fclose(fp);
  json_t *v = NULL;
  if (bad) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "cannot read %s", path);
  } else if (len > FILE_MAX) {
    if (errstr && errstr_size)
      snprintf(errstr, errstr_size, "%s is larger than 64 MiB", path);
  } else {
    v = jsonf_parse(buf, len, max_depth, errstr, errstr_size);
  }
  free(buf);
  return v;
}
