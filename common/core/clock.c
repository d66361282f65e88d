/* clock — monotonic and wall clocks, and RFC 3339 with milliseconds. */
#include "core/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double clock_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t clock_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_format_ms(int64_t ms, char *out, size_t out_size) {
  /* The date is the expensive part and changes once a second; stages stamp
   * every message, so each thread keeps the last second it formatted. */
  static __thread int64_t cached = INT64_MIN;
  static __thread char base[32];
  static __thread size_t base_len;
  int64_t secs = ms / 1000, frac = ms % 1000;
  if (frac < 0) { /* before 1970: floor, so the fraction stays positive */
    secs--;
    frac += 1000;
  }
  if (secs != cached) {
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    base_len = strftime(base, sizeof(base) - 5, "%Y-%m-%dT%H:%M:%S", &tm);
    cached = secs;
  }
  char text[sizeof(base)];
  memcpy(text, base, base_len);
  text[base_len] = '.';
  text[base_len + 1] = (char)('0' + frac / 100);
  text[base_len + 2] = (char)('0' + frac / 10 % 10);
  text[base_len + 3] = (char)('0' + frac % 10);
  text[base_len + 4] = 'Z';
  if (!out_size)
    return;
  size_t n = base_len + 5 < out_size ? base_len + 5 : out_size - 1; /* cut as snprintf would */
  memcpy(out, text, n);
  out[n] = '\0';
}

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int clock_parse_rfc3339_ms(const char *s, int64_t *out_ms) {
  int Y, M, D, h, m, sec, ms = 0;
  if (!s || strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
      s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
      digits(s + 17, 2, &sec))
    return -1;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return -1;
  const char *p = s + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; isdigit((unsigned char)*p); p++, n++)
      if (n < 3)
        ms = ms * 10 + (*p - '0');
    if (n == 0)
      return -1;
    for (; n < 3; n++)
      ms *= 10;
  }
  int offset_min = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if (*p)
    return -1;
  struct tm tm = {0};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec > 59 ? 59 : sec; /* a leap second orders just before the next minute */
  time_t t = timegm(&tm);
  *out_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
  return 0;
}
