/* What the sources share besides the page loop: the registry, and the
 * time, number and id readers their mappers use. */
#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

static const scr_source_def_t sources[] = {
    {"shopify", offsetof(scr_config_t, shopify_topic), scr_src_shopify},
    {"daraz", offsetof(scr_config_t, daraz_topic), scr_src_daraz},
    {"weather", offsetof(scr_config_t, weather_topic), scr_src_weather},
    {"facebook", offsetof(scr_config_t, facebook_topic), scr_src_facebook},
    {"tiktok", offsetof(scr_config_t, tiktok_topic), scr_src_tiktok},
};

const char *scr_source_topic(const scr_source_def_t *def, const scr_config_t *cfg) {
  return *(char *const *)((const char *)cfg + def->topic_setting);
}

const scr_source_def_t *scr_source_find(const char *name) {
  for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
    if (strcmp(sources[i].name, name) == 0)
      return &sources[i];
  return NULL;
}

void scr_time_rfc3339(int64_t t, char *out, size_t out_size) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, out_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int scr_time_normalise(const char *in, char *out, size_t out_size) {
  /* date and time: "YYYY-MM-DD" + 'T' or ' ' + "HH:MM:SS" [fraction] */
  if (!in || strlen(in) < 19 || out_size < 40)
    return -1;
  for (int i = 0; i < 19; i++) {
    int want_digit = !(i == 4 || i == 7 || i == 10 || i == 13 || i == 16);
    if (want_digit ? !isdigit((unsigned char)in[i]) : 0)
      return -1;
  }
  if (in[4] != '-' || in[7] != '-' || (in[10] != 'T' && in[10] != ' ' && in[10] != 't') ||
      in[13] != ':' || in[16] != ':')
    return -1;
  size_t n = 19;
  char frac[16] = "";
  if (in[n] == '.') {
    size_t f = n + 1;
    while (isdigit((unsigned char)in[f]) && f - n < 10)
      f++;
    if (f == n + 1)
      return -1;
    snprintf(frac, sizeof(frac), "%.*s", (int)(f - n), in + n);
    n = f;
    while (isdigit((unsigned char)in[n]))
      n++;
  }
  while (in[n] == ' ')
    n++;
  char zone[8];
  const char *z = in + n;
  if ((z[0] == 'Z' || z[0] == 'z') && !z[1]) {
    snprintf(zone, sizeof(zone), "Z");
  } else if ((z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) &&
             isdigit((unsigned char)z[2])) {
    const char *m = z + 3;
    if (*m == ':')
      m++;
    if (!isdigit((unsigned char)m[0]) || !isdigit((unsigned char)m[1]) || m[2])
      return -1;
    snprintf(zone, sizeof(zone), "%c%c%c:%c%c", z[0], z[1], z[2], m[0], m[1]);
  } else if (!*z) {
    snprintf(zone, sizeof(zone), "Z"); /* no zone given: the APIs that do this mean UTC */
  } else {
    return -1;
  }
  snprintf(out, out_size, "%.10sT%.8s%s%s", in, in + 11, frac, zone);
  return 0;
}

int scr_json_number(const json_t *v, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return 0;
  }
  const char *s = json_string_value(v);
  if (!s || !*s)
    return -1;
  char buf[64];
  size_t o = 0;
  for (; *s; s++) {
    if (*s == ',')
      continue; /* thousands separators: "1,500.00" */
    if (o + 1 >= sizeof(buf))
      return -1;
    buf[o++] = *s;
  }
  buf[o] = '\0';
  char *end;
  errno = 0;
  double d = strtod(buf, &end);
  if (end == buf || *end || errno)
    return -1;
  *out = d;
  return 0;
}

int scr_json_id(const json_t *v, char *out, size_t out_size) {
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!*s || strlen(s) >= out_size)
      return -1;
    snprintf(out, out_size, "%s", s);
    return 0;
  }
  if (json_is_integer(v)) {
    snprintf(out, out_size, "%lld", (long long)json_integer_value(v));
    return 0;
  }
  if (json_is_real(v)) {
    snprintf(out, out_size, "%.0f", json_real_value(v));
    return 0;
  }
  return -1;
}

void scr_hashtags_from_text(const char *text, json_t *arr) {
  if (!text)
    return;
  for (const char *p = text; *p && json_array_size(arr) < 100; p++) {
    if (*p != '#')
      continue;
    const char *s = p + 1, *e = s;
    /* A tag runs over letters, digits, '_' and any non-ASCII byte (Bangla). */
    while (*e && (isalnum((unsigned char)*e) || *e == '_' || ((unsigned char)*e & 0x80)))
      e++;
    if (e == s || e - s > 200) {
      p = e - 1;
      continue;
    }
    json_t *tag = json_stringn(s, (size_t)(e - s));
    if (!tag) {
      p = e - 1;
      continue;
    }
    int dup = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_equal(v, tag)) dup = 1;
    if (dup)
      json_decref(tag);
    else
      json_array_append_new(arr, tag);
    p = e - 1;
  }
}

void scr_set_str(json_t *rec, const char *key, const char *s) {
  if (s && *s)
    json_object_set_new(rec, key, json_string(s));
}

void scr_source_run(scr_run_t *run, scr_stats_t *st, const char *lock_name,
                    const scr_source_def_t *def, const char *path, const char *topic) {
  char err[512];
  st->started = clock_mono();
  int locked = 0;
  if (run->state) {
    int got = scr_state_lock(run->state, lock_name, run->cfg->lock_ttl_ms, err, sizeof(err));
    if (got < 0) {
      st->status = SCR_SRC_STATE;
      snprintf(st->error, sizeof(st->error), "%s", err);
    } else if (got == 0) {
      st->status = SCR_SRC_LOCKED;
      snprintf(st->error, sizeof(st->error), "another run holds the lock; skipped");
    }
    locked = got == 1;
  }
  if (st->status == SCR_SRC_OK) {
    if (def)
      def->run(run, st);
    else
      scr_src_file(run, st, path, topic);
  }
  if (locked && scr_state_unlock(run->state, err, sizeof(err)) != 0 && st->status == SCR_SRC_OK) {
    st->status = SCR_SRC_STATE;
    snprintf(st->error, sizeof(st->error), "unlock: %s", err);
  }
  st->duration = clock_mono() - st->started;
}
