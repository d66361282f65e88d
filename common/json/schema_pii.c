/* schema_pii — reads the x-pii annotations of a contract's top-level
 * properties (schemas/README.md).  Strict on purpose: a typo in the policy must
 * stop the service at start-up, never silently leave a field unhashed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/schema_internal.h"

static int fail(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errstr, size_t errstr_size, const char *fmt, ...) {
  va_list ap;
  if (errstr && errstr_size) {
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int schema_pii_parse(schema_t *s, char *errstr, size_t errstr_size) {
  json_t *props = json_object_get(s->doc, "properties"), *sub;
  const char *name;
  size_t count = 0;

  if (!json_is_object(props))
    return 0;
  s->pii = calloc(json_object_size(props) + 1, sizeof(*s->pii));
  if (!s->pii)
    return fail(errstr, errstr_size, "out of memory");
  json_object_foreach(props, name, sub) {
    json_t *x = json_object_get(sub, "x-pii"), *action, *kind, *target;
    const char *a, *k, *t, *key;
    json_t *ignored;
    schema_pii_field_t *f;

    if (!json_is_object(sub) || !x)
      continue;
    if (!json_is_object(x))
      return fail(errstr, errstr_size, "bad x-pii at #/properties/%s: must be an object", name);
    json_object_foreach(x, key, ignored) {
      if (strcmp(key, "action") && strcmp(key, "kind") && strcmp(key, "target"))
        return fail(errstr, errstr_size, "bad x-pii at #/properties/%s: unknown member \"%s\"",
                    name, key);
    }
    action = json_object_get(x, "action");
    kind = json_object_get(x, "kind");
    target = json_object_get(x, "target");
    a = json_string_value(action);
    f = &s->pii[count];
    f->name = name;
    if (a && !strcmp(a, "scan")) {
      if (kind || target)
        return fail(errstr, errstr_size,
                    "bad x-pii at #/properties/%s: \"scan\" takes no kind or target", name);
      f->action = SCHEMA_PII_SCAN;
    } else if (a && !strcmp(a, "hash")) {
      k = json_string_value(kind);
      t = json_string_value(target);
      if (!k ||
          (strcmp(k, "phone") && strcmp(k, "email") && strcmp(k, "username") && strcmp(k, "name")))
        return fail(errstr, errstr_size,
                    "bad x-pii at #/properties/%s: kind must be phone, email, username or name",
                    name);
      if (!t || !*t || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(t) ||
          !strcmp(t, name))
        return fail(errstr, errstr_size,
                    "bad x-pii at #/properties/%s: target must be a new snake_case field name",
                    name);
      for (size_t i = 0; i < count; i++)
        if (s->pii[i].target && !strcmp(s->pii[i].target, t))
          return fail(errstr, errstr_size, "bad x-pii at #/properties/%s: target \"%s\" used twice",
                      name, t);
      f->action = SCHEMA_PII_HASH;
      f->kind = k;
      f->target = t;
    } else {
      return fail(errstr, errstr_size,
                  "bad x-pii at #/properties/%s: action must be \"hash\" or \"scan\"", name);
    }
    count++;
  }
  s->n_pii = count;
  return 0;
}
