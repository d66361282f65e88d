/* schema_format — the "format" values the validator asserts.  Only formats that
 * are checked exactly are accepted at load; others are refused there, so a
 * contract never believes a format is enforced when it is not. */
#include <stdlib.h>
#include <string.h>

#include "json/schema_internal.h"

/* Reads exactly n ASCII digits; -1 if any is not 0-9 (a Bengali digit is not). */
static int digits(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return dm[m - 1];
}

/* RFC 3339 full-date: YYYY-MM-DD with a real calendar day. */
static int full_date(const char *s, size_t len) {
  if (len != 10 || s[4] != '-' || s[7] != '-')
    return 0;
  int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1)
    return 0;
  return d <= days_in_month(y, m);
}

int schema_format_date(const char *s, size_t len) {
  return full_date(s, len);
}

/* RFC 3339 date-time, with the leap-second rule: second 60 only where the UTC
 * time is 23:59 (the offset is applied before checking). */
int schema_format_date_time(const char *s, size_t len) {
  size_t i;
  int hh, mm, ss, oh = 0, om = 0, sign = 0;

  if (len < 20 || !full_date(s, 10) || (s[10] != 'T' && s[10] != 't'))
    return 0;
  const char *t = s + 11;
  if (t[2] != ':' || t[5] != ':')
    return 0;
  hh = digits(t, 2);
  mm = digits(t + 3, 2);
  ss = digits(t + 6, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return 0;
  i = 19;
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == start)
      return 0;
  }
  if (i >= len)
    return 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    sign = s[i] == '+' ? 1 : -1;
    if (len - i != 6 || s[i + 3] != ':')
      return 0;
    oh = digits(s + i + 1, 2);
    om = digits(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
      return 0;
    i += 6;
  } else {
    return 0;
  }
  if (i != len)
    return 0;
  if (ss == 60) {
    int utc = ((hh * 60 + mm - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59)
      return 0;
  }
  return 1;
}

/* RFC 4122 textual form, any version: 8-4-4-4-12 hex digits. */
int schema_format_uuid(const char *s, size_t len) {
  if (len != 36)
    return 0;
  for (size_t i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                 (s[i] >= 'A' && s[i] <= 'F'))) {
      return 0;
    }
  }
  return 1;
}

/* ECMA-262 (the regex dialect of JSON Schema) spells Unicode general categories
 * with long names, \p{Letter}; PCRE2 10.42 knows only the short ones, \p{L}.
 * Scripts ("Greek", "Script=Greek") are understood by PCRE2 once the prefix
 * is gone. */
static const char *const gc_names[][2] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Lowercase_Letter", "Ll"},
    {"Uppercase_Letter", "Lu"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"Format", "Cf"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

char *schema_regex_translate(const char *src, size_t len, size_t *out_len) {
  /* A short name is never longer than the long one it replaces. */
  char *out = malloc(len + 1);
  size_t o = 0, i = 0;

  if (!out)
    return NULL;
  while (i < len) {
    if (src[i] == '\\' && i + 2 < len && (src[i + 1] == 'p' || src[i + 1] == 'P') &&
        src[i + 2] == '{') {
      const char *name = src + i + 3, *end = memchr(name, '}', len - (i + 3));
      if (end) {
        size_t nl = (size_t)(end - name);
        const char *eq = memchr(name, '=', nl);
        const char *repl = NULL;
        size_t rl;
        if (eq) { /* General_Category=X, gc=X, Script=X, sc=X */
          nl -= (size_t)(eq + 1 - name);
          name = eq + 1;
        }
        for (size_t k = 0; k < sizeof(gc_names) / sizeof(gc_names[0]); k++)
          if (strlen(gc_names[k][0]) == nl && !memcmp(gc_names[k][0], name, nl))
            repl = gc_names[k][1];
        out[o++] = '\\';
        out[o++] = src[i + 1];
        out[o++] = '{';
        rl = repl ? strlen(repl) : nl;
        memcpy(out + o, repl ? repl : name, rl);
        o += rl;
        out[o++] = '}';
        i = (size_t)(end - src) + 1;
        continue;
      }
    }
    if (src[i] == '\\' && i + 1 < len) { /* keep escapes intact: "\\p{" is not a property */
      out[o++] = src[i++];
    }
    out[o++] = src[i++];
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}
