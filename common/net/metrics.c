/* metrics — owns the registry of a program's Prometheus series (lock-free
 * values, a mutex over the lists), their text exposition, the named
 * readiness conditions behind /readyz, and the three routes (/metrics,
 * /healthz, /readyz) it puts on an httpd server; metrics_serve() is the
 * convenience that owns a small server of its own. */
#include "net/metrics.h"

#include "net/httpd.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in seconds; the implicit last bucket is +Inf. */
static const double hist_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
#define HIST_NB (sizeof(hist_bounds) / sizeof(hist_bounds[0]) + 1)

/* Readiness conditions: a handful of dependencies per program. */
#define COND_MAX 16
#define COND_NAME_MAX 32

/* A scrape is bounded: a runaway label set must not exhaust memory. */
#define RENDER_MAX ((size_t)16 << 20)

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

struct metrics_counter {
  _Atomic uint64_t value;
};

/* Doubles are kept as their IEEE-754 bit patterns in 64-bit atomics: C11 has
 * no portable lock-free atomic double arithmetic, but it has CAS on uint64. */
struct metrics_gauge {
  _Atomic uint64_t bits;
};

struct metrics_histogram {
  /* Per-bucket (not cumulative) counts: one increment per observation. The
   * cumulative counts and _count are derived when rendering, so _count always
   * equals the +Inf bucket even while observations race the scrape. */
  _Atomic uint64_t buckets[HIST_NB];
  _Atomic uint64_t sum_bits;
};

typedef struct series {
  struct series *next;
  char **labels; /* name, value, name, value, ...: nlabels pairs; raw, escaped when rendering */
  size_t nlabels;
  union {
    struct metrics_counter c;
    struct metrics_gauge g;
    struct metrics_histogram h;
  } u;
} series_t;

typedef struct family {
  struct family *next;
  char *name; /* full name with the service prefix */
  char *help;
  kind_t kind;
  series_t *head, *tail; /* registration order */
} family_t;

struct metrics {
  char *prefix;
  pthread_mutex_t lock; /* guards the family and series lists, not the values */
  family_t *head, *tail;
  struct {
    char name[COND_NAME_MAX];
    int ok;
  } cond[COND_MAX]; /* readiness conditions, under lock */
  size_t ncond;
  uint64_t ready_changes; /* /readyz flips between ready and not ready, under lock */
  httpd_t *httpd;         /* metrics_serve's own server, or NULL */
};

static uint64_t dbl_bits(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof(b));
  return b;
}

static double bits_dbl(uint64_t b) {
  double v;
  memcpy(&v, &b, sizeof(v));
  return v;
}

metrics_t *metrics_new(const char *service) {
  if (!service || !*service)
    return NULL;
  metrics_t *m = calloc(1, sizeof(*m)); /* owned by the caller */
  if (!m)
    return NULL;
  m->prefix = strdup(service);
  if (!m->prefix || pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m->prefix);
    free(m);
    return NULL;
  }
  /* Metric names allow [a-zA-Z0-9_:] only; "privacy-shield" → "privacy_shield". */
  for (char *p = m->prefix; *p; p++) {
    int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
             (p != m->prefix && *p >= '0' && *p <= '9');
    if (!ok)
      *p = '_';
  }
  return m;
}

static void series_free(series_t *s) {
  for (size_t i = 0; s && i < 2 * s->nlabels; i++)
    free(s->labels[i]);
  if (s)
    free(s->labels);
  free(s);
}

void metrics_destroy(metrics_t *m) {
  if (!m)
    return;
  httpd_destroy(m->httpd); /* first: its handlers read m */
  for (family_t *f = m->head, *fn; f; f = fn) {
    fn = f->next;
    for (series_t *s = f->head, *sn; s; s = sn) {
      sn = s->next;
      series_free(s);
    }
    free(f->name);
    free(f->help);
    free(f);
  }
  pthread_mutex_destroy(&m->lock);
  free(m->prefix);
  free(m);
}

static int valid_name(const char *s, int colon_ok) {
  if (!s || !*s || (*s >= '0' && *s <= '9'))
    return 0;
  for (; *s; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || (colon_ok && *s == ':')))
      return 0;
  }
  return 1;
}

/* Counts the pairs of a NULL-terminated name, value list and checks the
 * names; -1 when a name is invalid, reserved or repeated, a value missing, or
 * there are more than METRICS_LABELS_MAX pairs. */
static int check_labels(kind_t kind, const char *const *labels) {
  size_t n = 0;
  for (; labels && labels[2 * n]; n++) {
    const char *name = labels[2 * n];
    if (n == METRICS_LABELS_MAX || !labels[2 * n + 1] || !valid_name(name, 0) ||
        strncmp(name, "__", 2) == 0 || (kind == KIND_HISTOGRAM && strcmp(name, "le") == 0))
      return -1;
    for (size_t j = 0; j < n; j++)
      if (strcmp(labels[2 * j], name) == 0)
        return -1;
  }
  return (int)n;
}

static int same_labels(const series_t *s, const char *const *labels, size_t n) {
  if (s->nlabels != n)
    return 0;
  for (size_t i = 0; i < 2 * n; i++)
    if (strcmp(s->labels[i], labels[i]) != 0)
      return 0;
  return 1;
}

/* The readiness families metrics_render() writes itself. */
static int reserved_name(const char *name) {
  return strcmp(name, "ready") == 0 || strcmp(name, "ready_condition") == 0 ||
         strcmp(name, "readiness_changes_total") == 0;
}

/* Finds or creates the series (name, labels) of the given kind. */
static series_t *lookup(metrics_t *m, kind_t kind, const char *name, const char *help,
                        const char *const *labels) {
  int nl = m ? check_labels(kind, labels) : -1;
  if (!m || !valid_name(name, 1) || nl < 0 || reserved_name(name))
    return NULL;
  size_t n = (size_t)nl;
  size_t full_len = strlen(m->prefix) + 1 + strlen(name) + 1;
  char *full = malloc(full_len);
  if (!full)
    return NULL;
  snprintf(full, full_len, "%s_%s", m->prefix, name);

  series_t *s = NULL;
  pthread_mutex_lock(&m->lock);
  family_t *f = m->head;
  while (f && strcmp(f->name, full) != 0)
    f = f->next;
  if (f && f->kind != kind)
    goto out; /* one name, one type: the exposition format allows nothing else */
  if (f) {
    for (s = f->head; s; s = s->next)
      if (same_labels(s, labels, n))
        goto out;
  } else {
    f = calloc(1, sizeof(*f)); /* owned by m */
    if (!f)
      goto out;
    f->name = full;
    full = NULL;
    f->help = strdup(help ? help : "");
    f->kind = kind;
    if (!f->help) {
      free(f->name);
      free(f);
      goto out;
    }
    if (m->tail)
      m->tail->next = f;
    else
      m->head = f;
    m->tail = f;
  }
  s = calloc(1, sizeof(*s)); /* owned by f; zero bits are 0.0 and count 0 */
  if (!s)
    goto out;
  if (n) {
    int bad = !(s->labels = calloc(2 * n, sizeof(*s->labels)));
    for (size_t i = 0; !bad && i < 2 * n; i++)
      bad = !(s->labels[i] = strdup(labels[i]));
    s->nlabels = n;
    if (bad) {
      if (!s->labels)
        s->nlabels = 0;
      series_free(s);
      s = NULL;
      goto out;
    }
  }
  if (f->tail)
    f->tail->next = s;
  else
    f->head = s;
  f->tail = s;
out:
  pthread_mutex_unlock(&m->lock);
  free(full);
  return s;
}

/* The single-pair form as a label list; NULL when both are NULL, and an
 * invalid list when only one is. */
#define ONE_LABEL(ln, lv)                                                                          \
  ((ln) || (lv) ? (const char *const[]){(ln) ? (ln) : "", (lv), NULL} : NULL)

metrics_counter_t *metrics_counter_labels(metrics_t *m, const char *name, const char *help,
                                          const char *const *labels) {
  series_t *s = lookup(m, KIND_COUNTER, name, help, labels);
  return s ? &s->u.c : NULL;
}

metrics_gauge_t *metrics_gauge_labels(metrics_t *m, const char *name, const char *help,
                                      const char *const *labels) {
  series_t *s = lookup(m, KIND_GAUGE, name, help, labels);
  return s ? &s->u.g : NULL;
}

metrics_histogram_t *metrics_histogram_labels(metrics_t *m, const char *name, const char *help,
                                              const char *const *labels) {
  series_t *s = lookup(m, KIND_HISTOGRAM, name, help, labels);
  return s ? &s->u.h : NULL;
}

metrics_counter_t *metrics_counter(metrics_t *m, const char *name, const char *help,
                                   const char *label_name, const char *label_value) {
  return metrics_counter_labels(m, name, help, ONE_LABEL(label_name, label_value));
}

void metrics_counter_add(metrics_counter_t *c, uint64_t n) {
  if (c)
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

metrics_gauge_t *metrics_gauge(metrics_t *m, const char *name, const char *help,
                               const char *label_name, const char *label_value) {
  return metrics_gauge_labels(m, name, help, ONE_LABEL(label_name, label_value));
}

void metrics_gauge_set(metrics_gauge_t *g, double v) {
  if (g)
    atomic_store_explicit(&g->bits, dbl_bits(v), memory_order_relaxed);
}

metrics_histogram_t *metrics_histogram(metrics_t *m, const char *name, const char *help,
                                       const char *label_name, const char *label_value) {
  return metrics_histogram_labels(m, name, help, ONE_LABEL(label_name, label_value));
}

void metrics_histogram_observe(metrics_histogram_t *h, double seconds) {
  if (!h || isnan(seconds))
    return; /* a NaN would poison _sum for the life of the process */
  size_t i = 0;
  while (i < HIST_NB - 1 && seconds > hist_bounds[i])
    i++;
  atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
  uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old,
                                                dbl_bits(bits_dbl(old) + seconds),
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t len, cap;
  int failed;
} sbuf_t;

static void sb_append(sbuf_t *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *nb = cap > RENDER_MAX ? NULL : realloc(b->buf, cap);
    if (!nb) {
      b->failed = 1;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

static void sb_puts(sbuf_t *b, const char *s) {
  sb_append(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(tmp))
    b->failed = 1; /* only used for numbers, which always fit */
  else
    sb_append(b, tmp, (size_t)n);
}

/* Escapes per the text format: HELP escapes \ and newline; label values also ". */
static void sb_escaped(sbuf_t *b, const char *s, int quote) {
  for (; *s; s++) {
    if (*s == '\\')
      sb_puts(b, "\\\\");
    else if (*s == '\n')
      sb_puts(b, "\\n");
    else if (quote && *s == '"')
      sb_puts(b, "\\\"");
    else
      sb_append(b, s, 1);
  }
}

/* Shortest text that reads back as the same double (Go's strconv 'g', -1). */
static void fmt_double(double v, char *out, size_t out_size) {
  if (isnan(v)) {
    snprintf(out, out_size, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, out_size, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  /* Fewest significant digits that read back exactly, then plain notation
   * for everyday magnitudes: "10", "200000", "0.00025" rather than "1e+01". */
  int prec = 1;
  char tmp[40];
  for (; prec < 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
  long exp10 = strtol(strchr(tmp, 'e') + 1, NULL, 10);
  if (exp10 >= -5 && exp10 < 16)
    snprintf(out, out_size, "%.*f", (int)(prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0), v);
  else
    snprintf(out, out_size, "%.*g", prec, v);
}

/* Writes name{label="value",...[,le="x"]} for one sample line (no value). */
static void sb_series(sbuf_t *b, const char *name, const char *suffix, const series_t *s,
                      const char *le) {
  sb_puts(b, name);
  sb_puts(b, suffix);
  if (!s->nlabels && !le)
    return;
  sb_puts(b, "{");
  for (size_t i = 0; i < s->nlabels; i++) {
    if (i)
      sb_puts(b, ",");
    sb_puts(b, s->labels[2 * i]);
    sb_puts(b, "=\"");
    sb_escaped(b, s->labels[2 * i + 1], 1);
    sb_puts(b, "\"");
  }
  if (le) {
    if (s->nlabels)
      sb_puts(b, ",");
    sb_puts(b, "le=\"");
    sb_puts(b, le);
    sb_puts(b, "\"");
  }
  sb_puts(b, "}");
}

static int all_ok(const metrics_t *m);

/* /readyz as series, so alerts and dashboards see what the probes see:
 * <prefix>_ready (1 while /readyz answers 200), _ready_condition{condition}
 * and _readiness_changes_total (every flip, also those between two scrapes:
 * readiness flapping). Only once a condition exists: a program without
 * readiness (a CronJob pushing its metrics) has nothing to report. Under
 * m->lock. */
static void render_readiness(const metrics_t *m, sbuf_t *b) {
  static const struct {
    const char *name, *type, *help;
  } fam[] = {
      {"ready", "gauge", "1 while /readyz answers 200 (every readiness condition ok)"},
      {"ready_condition", "gauge", "1 while the readiness condition is ok"},
      {"readiness_changes_total", "counter", "Times /readyz changed between ready and not ready"},
  };
  if (m->ncond == 0)
    return;
  for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
    const char *what[] = {"# HELP ", "# TYPE "};
    for (size_t j = 0; j < 2; j++) {
      sb_puts(b, what[j]);
      sb_puts(b, m->prefix);
      sb_puts(b, "_");
      sb_puts(b, fam[k].name);
      sb_puts(b, " ");
      sb_puts(b, j == 0 ? fam[k].help : fam[k].type);
      sb_puts(b, "\n");
    }
    size_t rows = k == 1 ? m->ncond : 1;
    for (size_t i = 0; i < rows; i++) {
      sb_puts(b, m->prefix);
      sb_puts(b, "_");
      sb_puts(b, fam[k].name);
      if (k == 1) { /* condition names are [a-z0-9_.-]: nothing to escape */
        sb_puts(b, "{condition=\"");
        sb_puts(b, m->cond[i].name);
        sb_puts(b, "\"}");
      }
      if (k == 2)
        sb_printf(b, " %llu\n", (unsigned long long)m->ready_changes);
      else
        sb_printf(b, " %d\n", k == 0 ? all_ok(m) : m->cond[i].ok);
    }
  }
}

char *metrics_render(metrics_t *m) {
  sbuf_t b = {0};
  char num[40];
  if (!m)
    return NULL;
  sb_append(&b, "", 0);
  pthread_mutex_lock(&m->lock);
  for (const family_t *f = m->head; f; f = f->next) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    sb_puts(&b, "# HELP ");
    sb_puts(&b, f->name);
    sb_puts(&b, " ");
    sb_escaped(&b, f->help, 0);
    sb_puts(&b, "\n# TYPE ");
    sb_puts(&b, f->name);
    sb_puts(&b, " ");
    sb_puts(&b, types[f->kind]);
    sb_puts(&b, "\n");
    for (const series_t *s = f->head; s; s = s->next) {
      if (f->kind == KIND_COUNTER) {
        sb_series(&b, f->name, "", s, NULL);
        sb_printf(&b, " %llu\n",
                  (unsigned long long)atomic_load_explicit(&s->u.c.value, memory_order_relaxed));
      } else if (f->kind == KIND_GAUGE) {
        fmt_double(bits_dbl(atomic_load_explicit(&s->u.g.bits, memory_order_relaxed)), num,
                   sizeof(num));
        sb_series(&b, f->name, "", s, NULL);
        sb_printf(&b, " %s\n", num);
      } else {
        /* The sum is read first: racing observations then make _sum at most
         * lag _count, never exceed what the buckets explain. */
        double sum = bits_dbl(atomic_load_explicit(&s->u.h.sum_bits, memory_order_relaxed));
        uint64_t cum = 0;
        for (size_t i = 0; i < HIST_NB; i++) {
          cum += atomic_load_explicit(&s->u.h.buckets[i], memory_order_relaxed);
          if (i < HIST_NB - 1)
            fmt_double(hist_bounds[i], num, sizeof(num));
          else
            snprintf(num, sizeof(num), "+Inf");
          sb_series(&b, f->name, "_bucket", s, num);
          sb_printf(&b, " %llu\n", (unsigned long long)cum);
        }
        fmt_double(sum, num, sizeof(num));
        sb_series(&b, f->name, "_sum", s, NULL);
        sb_printf(&b, " %s\n", num);
        sb_series(&b, f->name, "_count", s, NULL);
        sb_printf(&b, " %llu\n", (unsigned long long)cum);
      }
    }
  }
  render_readiness(m, &b);
  pthread_mutex_unlock(&m->lock);
  if (b.failed) {
    free(b.buf);
    return NULL;
  }
  return b.buf;
}

/* ---- readiness ---------------------------------------------------------- */

static int valid_condition(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= COND_NAME_MAX)
    return 0;
  for (; *name; name++)
    if (!((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9') || *name == '_' ||
          *name == '-' || *name == '.'))
      return 0;
  return 1;
}

/* Ready = at least one condition and all of them ok. Under m->lock. */
static int all_ok(const metrics_t *m) {
  for (size_t i = 0; i < m->ncond; i++)
    if (!m->cond[i].ok)
      return 0;
  return m->ncond > 0;
}

int metrics_ready_condition(metrics_t *m, const char *name, int ok) {
  if (!m || !valid_condition(name))
    return -1;
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  int was = all_ok(m);
  size_t i = 0;
  while (i < m->ncond && strcmp(m->cond[i].name, name) != 0)
    i++;
  if (i == m->ncond) {
    if (m->ncond == COND_MAX) {
      rc = -1;
      goto out;
    }
    memcpy(m->cond[i].name, name, strlen(name) + 1);
    m->ncond++;
  }
  m->cond[i].ok = ok != 0;
  if (all_ok(m) != was)
    m->ready_changes++;
out:
  pthread_mutex_unlock(&m->lock);
  return rc;
}

void metrics_set_ready(metrics_t *m, int ready) {
  metrics_ready_condition(m, "kafka", ready);
}

/* "ready\n" when every condition is ok (and there is one), else
 * "not ready: a, b\n" naming the failing ones. Returns 1 when ready. */
static int readiness(metrics_t *m, char *out, size_t out_size) {
  size_t len = 0;
  int failing = 0;
  pthread_mutex_lock(&m->lock);
  len = (size_t)snprintf(out, out_size, "not ready: ");
  for (size_t i = 0; i < m->ncond; i++) {
    if (m->cond[i].ok)
      continue;
    /* names are short and few: COND_MAX * COND_NAME_MAX fits out */
    int n = snprintf(out + len, out_size - len, "%s%s", failing ? ", " : "", m->cond[i].name);
    if (n > 0 && (size_t)n < out_size - len)
      len += (size_t)n;
    failing++;
  }
  int ready = m->ncond > 0 && failing == 0;
  pthread_mutex_unlock(&m->lock);
  if (ready)
    snprintf(out, out_size, "ready\n");
  else
    snprintf(out + len, out_size - len, "%s\n", m->ncond ? "" : "starting");
  return ready;
}

/* ---- HTTP --------------------------------------------------------------- */

static const char text_plain[] = "text/plain; charset=utf-8";

static void on_metrics(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)req;
  char *text = metrics_render(ctx);
  if (text)
    httpd_respond_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text);
  else
    httpd_respond_error(resp, 500, "render_failed", "cannot render the metrics", NULL);
  free(text);
  /* Probes and scrapers must never be answered from a cache. */
  httpd_respond_header(resp, "Cache-Control", "no-store");
}

static void on_healthz(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  (void)ctx;
  (void)req;
  httpd_respond_text(resp, 200, text_plain, "ok\n");
  httpd_respond_header(resp, "Cache-Control", "no-store");
}

static void on_readyz(void *ctx, const httpd_request_t *req, httpd_response_t *resp) {
  char body[COND_MAX * (COND_NAME_MAX + 2) + 32];
  (void)req;
  int ready = readiness(ctx, body, sizeof(body));
  httpd_respond_text(resp, ready ? 200 : 503, text_plain, body);
  httpd_respond_header(resp, "Cache-Control", "no-store");
}

int metrics_routes(metrics_t *m, httpd_t *h, char *errstr, size_t errstr_size) {
  if (!m) {
    snprintf(errstr, errstr_size, "metrics: no registry");
    return -1;
  }
  if (httpd_route(h, "GET", "/metrics", 0, 0, on_metrics, m, errstr, errstr_size) != 0 ||
      httpd_route(h, "GET", "/healthz", 0, 0, on_healthz, m, errstr, errstr_size) != 0 ||
      httpd_route(h, "GET", "/readyz", 0, 0, on_readyz, m, errstr, errstr_size) != 0)
    return -1;
  return 0;
}

int metrics_serve(metrics_t *m, const char *addr, char *errstr, size_t errstr_size) {
  if (!m || !addr) {
    snprintf(errstr, errstr_size, "metrics: no listen address");
    return -1;
  }
  if (m->httpd) {
    snprintf(errstr, errstr_size, "metrics: already serving on port %d", httpd_port(m->httpd));
    return -1;
  }
  /* Scrapes and probes only: one thread and a few connections are plenty. */
  httpd_opts_t opts = {.addr = addr, .threads = 1, .max_conns = 64, .idle_timeout_s = 10};
  httpd_t *h = httpd_new(&opts, errstr, errstr_size);
  if (!h || metrics_routes(m, h, errstr, errstr_size) != 0 ||
      httpd_start(h, errstr, errstr_size) != 0) {
    httpd_destroy(h);
    return -1;
  }
  m->httpd = h;
  return 0;
}

int metrics_port(const metrics_t *m) {
  return m ? httpd_port(m->httpd) : -1;
}
