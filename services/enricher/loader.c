#include "loader.h"

#include "core/clock.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Bounds that keep one bad file from eating memory: the contracts cap names
 * at 512 code points (≤ 2 KiB); a row is never legitimately bigger than this. */
#define LOADER_MAX_ROW (64 * 1024)
#define LOADER_MAX_FIELDS 64

struct loader {
  FILE *f;
  loader_format_t format;
  long long line; /* physical line number of the row being read */
  int have_header;
  int col[5]; /* CSV column of id, name, price, currency, category; -1 if absent */
  int col_updated;
  char *buf; /* one row; owned */
};

enum { COL_ID, COL_NAME, COL_PRICE, COL_CURRENCY, COL_CATEGORY };

int loader_format_for(const char *path, loader_format_t *out, char *errstr, size_t errstr_size) {
  const char *dot = strrchr(path, '.');
  if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 ||
              strcasecmp(dot, ".json") == 0)) {
    *out = LOADER_JSONL;
    return 0;
  }
  if (dot && strcasecmp(dot, ".csv") == 0) {
    *out = LOADER_CSV;
    return 0;
  }
  snprintf(errstr, errstr_size, "cannot tell the format of %s: name it .jsonl or .csv", path);
  return -1;
}

loader_t *loader_new(FILE *f, loader_format_t format) {
  loader_t *l = calloc(1, sizeof(*l)); /* caller owns: loader_destroy() */
  if (!l || !(l->buf = malloc(LOADER_MAX_ROW + 1))) {
    free(l);
    return NULL;
  }
  l->f = f;
  l->format = format;
  for (int i = 0; i < 5; i++)
    l->col[i] = -1;
  l->col_updated = -1;
  return l;
}

void loader_destroy(loader_t *l) {
  if (!l)
    return;
  free(l->buf);
  free(l);
}

/* updated_at: RFC 3339 text or epoch milliseconds. */
static int parse_updated(const char *s, int64_t *out, char *errstr, size_t errstr_size) {
  if (!s || !*s) {
    *out = -1;
    return 0;
  }
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end != s && *end == '\0' && errno == 0 && v >= 0) {
    *out = v;
    return 0;
  }
  if (clock_parse_rfc3339_ms(s, out) == 0)
    return 0;
  snprintf(errstr, errstr_size, "updated_at: must be RFC 3339 or epoch milliseconds");
  return -1;
}

/* ---- JSONL -------------------------------------------------------------- */

/* Reads one physical line into l->buf. Returns its length, -1 at EOF, -2 when
 * too long (the rest of the line is skipped), -3 on I/O error. */
static long read_line(loader_t *l) {
  size_t n = 0;
  int ch, too_long = 0;
  while ((ch = getc(l->f)) != EOF && ch != '\n') {
    if (n < LOADER_MAX_ROW)
      l->buf[n++] = (char)ch;
    else
      too_long = 1;
  }
  if (ferror(l->f))
    return -3;
  if (ch == EOF && n == 0 && !too_long)
    return -1;
  l->line++;
  if (n && l->buf[n - 1] == '\r')
    n--;
  l->buf[n] = '\0';
  return too_long ? -2 : (long)n;
}

static int next_jsonl(loader_t *l, product_t *p, int64_t *updated, char *errstr,
                      size_t errstr_size) {
  long n;
  char why[160];
  do {
    n = read_line(l);
    if (n == -1)
      return LOADER_EOF;
    if (n == -3) {
      snprintf(errstr, errstr_size, "line %lld: read error", l->line + 1);
      return LOADER_FATAL;
    }
    if (n == -2) {
      snprintf(errstr, errstr_size, "line %lld: longer than %d bytes", l->line, LOADER_MAX_ROW);
      return LOADER_BAD_ROW;
    }
  } while (strspn(l->buf, " \t") == (size_t)n); /* blank lines are not rows */

  json_error_t je;
  json_t *o = json_loadb(l->buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(o)) {
    snprintf(errstr, errstr_size, "line %lld: %s", l->line,
             o ? "must be a JSON object" : "invalid JSON");
    json_decref(o);
    return LOADER_BAD_ROW;
  }
  json_t *jid = json_object_get(o, "id"), *jname = json_object_get(o, "name"),
         *jprice = json_object_get(o, "price"), *jcur = json_object_get(o, "currency"),
         *jcat = json_object_get(o, "category"), *jup = json_object_get(o, "updated_at");
  int rc = LOADER_BAD_ROW;
  const char *bad = NULL;
  if (jid && !json_is_string(jid))
    bad = "id: must be string";
  else if (jname && !json_is_string(jname))
    bad = "name: must be string";
  else if (!json_is_number(jprice))
    bad = "price: must be a number > 0";
  else if (jcur && !json_is_string(jcur) && !json_is_null(jcur))
    bad = "currency: must be string";
  else if (jcat && !json_is_string(jcat) && !json_is_null(jcat))
    bad = "category: must be string";
  if (bad) {
    snprintf(errstr, errstr_size, "line %lld: %s", l->line, bad);
    goto out;
  }
  if (json_is_integer(jup)) {
    *updated = (int64_t)json_integer_value(jup);
  } else if (parse_updated(json_string_value(jup), updated, why, sizeof(why)) != 0 ||
             (jup && !json_is_string(jup) && !json_is_null(jup))) {
    snprintf(errstr, errstr_size, "line %lld: updated_at: must be RFC 3339 or epoch milliseconds",
             l->line);
    goto out;
  }
  if (product_fill(p, json_string_value(jid), json_string_value(jname), json_number_value(jprice),
                   json_string_value(jcur), json_string_value(jcat), why, sizeof(why)) != 0) {
    snprintf(errstr, errstr_size, "line %lld: %s", l->line, why);
    goto out;
  }
  rc = LOADER_ROW;
out:
  json_decref(o);
  return rc;
}

/* ---- CSV (RFC 4180: quoted fields may hold commas, "" and newlines) ------ */

/* Reads one record into l->buf as NUL-separated fields. Returns the field
 * count, 0 at EOF, -1 for a malformed/oversized record, -3 on I/O error. */
static int read_record(loader_t *l, char **fields) {
  size_t n = 0;
  int nf = 0, ch, quoted = 0, at_start = 1, bad = 0, any = 0;
  fields[nf++] = l->buf;
  l->line++;
  for (;;) {
    ch = getc(l->f);
    if (ch == EOF) {
      if (ferror(l->f))
        return -3;
      if (!any) {
        l->line--;
        return 0;
      }
      if (quoted)
        bad = 1; /* unterminated quote */
      break;
    }
    any = 1;
    if (quoted) {
      if (ch == '"') {
        int next = getc(l->f);
        if (next == '"') {
          ch = '"';
        } else {
          quoted = 0;
          if (next != EOF)
            ungetc(next, l->f);
          continue;
        }
      } else if (ch == '\n') {
        l->line++;
      }
    } else if (ch == '"' && at_start) {
      quoted = 1;
      at_start = 0;
      continue;
    } else if (ch == ',') {
      if (n >= LOADER_MAX_ROW || nf >= LOADER_MAX_FIELDS) {
        bad = 1;
      } else {
        l->buf[n++] = '\0';
        fields[nf++] = l->buf + n;
      }
      at_start = 1;
      continue;
    } else if (ch == '\n') {
      break;
    } else if (ch == '\r') {
      continue;
    } else if (ch == '"') {
      bad = 1; /* a quote inside an unquoted field */
    }
    at_start = 0;
    if (n < LOADER_MAX_ROW)
      l->buf[n++] = (char)ch;
    else
      bad = 1;
  }
  l->buf[n] = '\0';
  return bad ? -1 : nf;
}

static int csv_header(loader_t *l, char **fields, int nf, char *errstr, size_t errstr_size) {
  static const char *names[5] = {"id", "name", "price", "currency", "category"};
  for (int i = 0; i < nf; i++) {
    char *f = fields[i];
    if (i == 0 && (unsigned char)f[0] == 0xEF && (unsigned char)f[1] == 0xBB &&
        (unsigned char)f[2] == 0xBF)
      f += 3; /* spreadsheet exports start with a BOM */
    for (int k = 0; k < 5; k++)
      if (strcasecmp(f, names[k]) == 0)
        l->col[k] = i;
    if (strcasecmp(f, "updated_at") == 0)
      l->col_updated = i;
  }
  if (l->col[COL_ID] < 0 || l->col[COL_NAME] < 0 || l->col[COL_PRICE] < 0) {
    snprintf(errstr, errstr_size, "line %lld: CSV header must name the columns id, name and price",
             l->line);
    return -1;
  }
  l->have_header = 1;
  return 0;
}

static int next_csv(loader_t *l, product_t *p, int64_t *updated, char *errstr, size_t errstr_size) {
  char *fields[LOADER_MAX_FIELDS];
  char why[160];
  int nf;
  long long first;
  for (;;) {
    first = l->line + 1;
    nf = read_record(l, fields);
    if (nf == 0)
      return l->have_header ? LOADER_EOF
                            : (snprintf(errstr, errstr_size, "empty file"), LOADER_FATAL);
    if (nf == -3) {
      snprintf(errstr, errstr_size, "line %lld: read error", first);
      return LOADER_FATAL;
    }
    if (nf == -1) {
      if (!l->have_header) {
        snprintf(errstr, errstr_size, "line %lld: malformed CSV header", first);
        return LOADER_FATAL;
      }
      snprintf(errstr, errstr_size,
               "line %lld: malformed CSV row (quotes, or over %d bytes or %d columns)", first,
               LOADER_MAX_ROW, LOADER_MAX_FIELDS);
      return LOADER_BAD_ROW;
    }
    if (nf == 1 && fields[0][0] == '\0')
      continue; /* blank line */
    if (!l->have_header) {
      if (csv_header(l, fields, nf, errstr, errstr_size) != 0)
        return LOADER_FATAL;
      continue;
    }
    break;
  }
  const char *v[5];
  for (int k = 0; k < 5; k++)
    v[k] = l->col[k] >= 0 && l->col[k] < nf ? fields[l->col[k]] : NULL;
  const char *up = l->col_updated >= 0 && l->col_updated < nf ? fields[l->col_updated] : NULL;
  if (parse_updated(up, updated, why, sizeof(why)) != 0 ||
      product_from_fields(p, v[COL_ID], v[COL_NAME], v[COL_PRICE], v[COL_CURRENCY], v[COL_CATEGORY],
                          why, sizeof(why)) != 0) {
    snprintf(errstr, errstr_size, "line %lld: %s", first, why);
    return LOADER_BAD_ROW;
  }
  return LOADER_ROW;
}

int loader_next(loader_t *l, product_t *p, int64_t *updated_at_ms, char *errstr,
                size_t errstr_size) {
  memset(p, 0, sizeof(*p));
  *updated_at_ms = -1;
  return l->format == LOADER_CSV ? next_csv(l, p, updated_at_ms, errstr, errstr_size)
                                 : next_jsonl(l, p, updated_at_ms, errstr, errstr_size);
}
