/* migrations — splits the embedded DDL into versioned migrations (see
 * migrations.h). */
#include "migrations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char marker[] = "-- migration: ";

void migrations_free(migrations_t *m) {
  if (!m)
    return;
  free(m->items);
  free(m->text);
  memset(m, 0, sizeof(*m));
}

/* Appends the preamble's statements (comment lines dropped) to out. */
static size_t preamble(const char *text, size_t len, char *out) {
  size_t o = 0;
  for (const char *line = text; line < text + len;) {
    const char *nl = memchr(line, '\n', (size_t)(text + len - line));
    const char *end = nl ? nl + 1 : text + len;
    if (strncmp(line, "--", 2) != 0 && end - line > 1) {
      memcpy(out + o, line, (size_t)(end - line));
      o += (size_t)(end - line);
    }
    line = end;
  }
  return o;
}

int migrations_parse(const char *text, migrations_t *out, char *errstr, size_t errstr_size) {
  memset(out, 0, sizeof(*out));
  size_t count = 0, len = strlen(text);
  for (const char *p = text; (p = strstr(p, marker)) != NULL; p++)
    if (p == text || p[-1] == '\n')
      count++;
  if (count == 0) {
    snprintf(errstr, errstr_size, "no \"%s\" line in the DDL", marker);
    return -1;
  }
  const char *first = text;
  while (!(strncmp(first, marker, sizeof(marker) - 1) == 0 && (first == text || first[-1] == '\n')))
    first++;
  /* Each migration gets the preamble plus its own text: at most count + 1
   * copies of the file in one buffer. */
  size_t cap = (count + 1) * (len + 2);
  out->items = calloc(count, sizeof(*out->items)); /* owned by out */
  out->text = malloc(cap);                         /* owned by out */
  if (!out->items || !out->text) {
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
  }
  char *pre = out->text;
  size_t pre_len = preamble(text, (size_t)(first - text), pre);
  char *w = pre + pre_len;
  for (const char *p = first; p && *p;) {
    const char *line_end = strchr(p, '\n');
    if (!line_end) {
      snprintf(errstr, errstr_size, "migration marker at the end of the file");
      return -1;
    }
    char *end;
    errno = 0;
    long version = strtol(p + sizeof(marker) - 1, &end, 10);
    while (*end == ' ')
      end++;
    if (errno || version <= 0 || version > 1000000 || end >= line_end) {
      snprintf(errstr, errstr_size, "malformed line \"%.*s\"", (int)(line_end - p), p);
      return -1;
    }
    pg_migration_t *m = &out->items[out->n];
    if (out->n > 0 && version <= out->items[out->n - 1].version) {
      snprintf(errstr, errstr_size, "migration %ld does not follow %d", version,
               out->items[out->n - 1].version);
      return -1;
    }
    m->version = (int)version;
    size_t name_len = (size_t)(line_end - end);
    while (name_len && (end[name_len - 1] == ' ' || end[name_len - 1] == '\r'))
      name_len--;
    memcpy(w, end, name_len);
    w[name_len] = '\0';
    m->name = w;
    w += name_len + 1;
    const char *body = line_end + 1, *next = body;
    while ((next = strstr(next, marker)) != NULL && next[-1] != '\n')
      next++;
    size_t body_len = next ? (size_t)(next - body) : strlen(body);
    if (strspn(body, " \t\r\n") >= body_len) {
      snprintf(errstr, errstr_size, "migration %ld is empty", version);
      return -1;
    }
    m->sql = w;
    memcpy(w, pre, pre_len);
    memcpy(w + pre_len, body, body_len);
    w[pre_len + body_len] = '\0';
    w += pre_len + body_len + 1;
    out->n++;
    p = next;
  }
  return 0;
}
