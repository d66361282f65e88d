/* schema_ref — URI and JSON pointer plumbing for $id / $ref resolution.  Kept
 * apart from the compiler because it is pure string work with its own edge
 * cases (RFC 3986 merging, dot segments, percent and ~ escapes). */
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "json/schema_internal.h"

typedef struct uri_parts {
  const char *scheme, *auth, *path, *query, *frag;
  size_t scheme_len, auth_len, path_len, query_len, frag_len;
  int has_scheme, has_auth, has_query, has_frag;
} uri_parts_t;

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void uri_parse(const char *u, uri_parts_t *p) {
  size_t n = strlen(u), i = 0, j;

  memset(p, 0, sizeof(*p));
  if (n && is_alpha(u[0])) {
    for (j = 1; j < n; j++) {
      char c = u[j];
      if (!(is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
        break;
    }
    if (j < n && u[j] == ':') {
      p->has_scheme = 1;
      p->scheme = u;
      p->scheme_len = j;
      i = j + 1;
    }
  }
  if (n - i >= 2 && u[i] == '/' && u[i + 1] == '/') {
    p->has_auth = 1;
    i += 2;
    p->auth = u + i;
    while (i < n && u[i] != '/' && u[i] != '?' && u[i] != '#')
      i++;
    p->auth_len = (size_t)(u + i - p->auth);
  }
  p->path = u + i;
  while (i < n && u[i] != '?' && u[i] != '#')
    i++;
  p->path_len = (size_t)(u + i - p->path);
  if (i < n && u[i] == '?') {
    p->has_query = 1;
    p->query = u + ++i;
    while (i < n && u[i] != '#')
      i++;
    p->query_len = (size_t)(u + i - p->query);
  }
  if (i < n && u[i] == '#') {
    p->has_frag = 1;
    p->frag = u + i + 1;
    p->frag_len = n - i - 1;
  }
}

/* RFC 3986 5.2.4 on a NUL-terminated copy; the output is never longer. */
static void remove_dot_segments(char *path) {
  char *in = path, *out = path;
  size_t olen = 0;

  while (*in) {
    if (!strncmp(in, "../", 3)) {
      in += 3;
    } else if (!strncmp(in, "./", 2)) {
      in += 2;
    } else if (!strncmp(in, "/./", 3)) {
      in += 2;
    } else if (!strcmp(in, "/.")) {
      in[1] = '\0';
    } else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
      if (in[3] == '/')
        in += 3;
      else {
        in += 2;
        in[0] = '/';
      }
      while (olen > 0 && out[olen - 1] != '/')
        olen--;
      if (olen > 0)
        olen--;
    } else if (!strcmp(in, ".") || !strcmp(in, "..")) {
      break;
    } else {
      size_t k = (*in == '/') ? 1 : 0;
      while (in[k] && in[k] != '/')
        k++;
      memmove(out + olen, in, k);
      olen += k;
      in += k;
    }
  }
  out[olen] = '\0';
}

static void put(char *buf, size_t *o, const char *s, size_t n) {
  memcpy(buf + *o, s, n);
  *o += n;
}

char *schema_uri_resolve(const char *base, const char *ref) {
  uri_parts_t b, r;
  const char *scheme, *auth, *query;
  size_t scheme_len, auth_len, query_len;
  int has_scheme, has_auth, has_query;
  char *path, *out;
  size_t o = 0;

  uri_parse(base ? base : "", &b);
  uri_parse(ref, &r);
  /* Worst case for the merged path: base path + ref path + "/". */
  path = malloc(b.path_len + r.path_len + 2);
  if (!path)
    return NULL;
  if (r.has_scheme || r.has_auth) {
    memcpy(path, r.path, r.path_len);
    path[r.path_len] = '\0';
    remove_dot_segments(path);
    has_scheme = r.has_scheme ? 1 : b.has_scheme;
    scheme = r.has_scheme ? r.scheme : b.scheme;
    scheme_len = r.has_scheme ? r.scheme_len : b.scheme_len;
    has_auth = r.has_auth, auth = r.auth, auth_len = r.auth_len;
    has_query = r.has_query, query = r.query, query_len = r.query_len;
  } else {
    has_scheme = b.has_scheme, scheme = b.scheme, scheme_len = b.scheme_len;
    has_auth = b.has_auth, auth = b.auth, auth_len = b.auth_len;
    if (r.path_len == 0) {
      memcpy(path, b.path, b.path_len);
      path[b.path_len] = '\0';
      has_query = r.has_query ? 1 : b.has_query;
      query = r.has_query ? r.query : b.query;
      query_len = r.has_query ? r.query_len : b.query_len;
    } else {
      size_t k = 0;
      if (r.path[0] == '/') {
        memcpy(path, r.path, r.path_len);
        k = r.path_len;
      } else {
        if (b.has_auth && b.path_len == 0) {
          path[k++] = '/';
        } else {
          size_t last = b.path_len;
          while (last > 0 && b.path[last - 1] != '/')
            last--;
          memcpy(path, b.path, last);
          k = last;
        }
        memcpy(path + k, r.path, r.path_len);
        k += r.path_len;
      }
      path[k] = '\0';
      remove_dot_segments(path);
      has_query = r.has_query, query = r.query, query_len = r.query_len;
    }
  }
  out = malloc(scheme_len + auth_len + strlen(path) + query_len + r.frag_len + 8);
  if (!out) {
    free(path);
    return NULL;
  }
  if (has_scheme) {
    put(out, &o, scheme, scheme_len);
    put(out, &o, ":", 1);
  }
  if (has_auth) {
    put(out, &o, "//", 2);
    put(out, &o, auth, auth_len);
  }
  put(out, &o, path, strlen(path));
  if (has_query) {
    put(out, &o, "?", 1);
    put(out, &o, query, query_len);
  }
  if (r.has_frag) {
    put(out, &o, "#", 1);
    put(out, &o, r.frag, r.frag_len);
  }
  out[o] = '\0';
  free(path);
  return out;
}

char *schema_percent_decode(const char *s, size_t len, size_t *out_len) {
  char *out = malloc(len + 1);
  size_t o = 0;

  if (!out)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%') {
      int h, l;
      if (i + 2 >= len) {
        free(out);
        return NULL;
      }
      h = hex_value(s[i + 1]);
      l = hex_value(s[i + 2]);
      if (h < 0 || l < 0) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

json_t *schema_pointer_get(json_t *doc, const char *ptr, size_t len) {
  json_t *cur = doc;
  size_t i = 0;
  char tok[512];

  if (len == 0)
    return doc;
  if (ptr[0] != '/')
    return NULL;
  while (i < len && cur) {
    size_t t = 0;
    i++; /* skip '/' */
    while (i < len && ptr[i] != '/') {
      char c = ptr[i];
      if (c == '~') {
        if (i + 1 >= len || (ptr[i + 1] != '0' && ptr[i + 1] != '1'))
          return NULL;
        c = ptr[i + 1] == '0' ? '~' : '/';
        i++;
      }
      if (t + 1 >= sizeof(tok))
        return NULL;
      tok[t++] = c;
      i++;
    }
    tok[t] = '\0';
    if (json_is_object(cur)) {
      cur = json_object_getn(cur, tok, t);
    } else if (json_is_array(cur)) {
      char *end;
      long idx;
      if (t == 0 || (t > 1 && tok[0] == '0') || tok[0] < '0' || tok[0] > '9')
        return NULL;
      idx = strtol(tok, &end, 10);
      if (*end != '\0' || idx < 0)
        return NULL;
      cur = json_array_get(cur, (size_t)idx);
    } else {
      return NULL;
    }
  }
  return cur;
}
