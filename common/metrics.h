/* metrics — Prometheus text exposition plus /healthz and /readyz, served by
 * libmicrohttpd on its own thread.
 *
 * Metric names follow "<service>_<what>_total" etc.; the service name is given
 * once to metrics_new() with dashes turned into underscores. Series are
 * registered at start-up or on first use (one label pair at most, e.g.
 * topic="clean.social"); label values must never carry personal data.
 * Updates are lock-free atomics and safe from any thread.
 */
#ifndef SENSORY_METRICS_H
#define SENSORY_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

/* service: e.g. "privacy-shield". Caller owns the result. */
metrics_t *metrics_new(const char *service);

/* Stops the server (if started) and frees everything; NULL is accepted. */
void metrics_destroy(metrics_t *m);

/* Returns the counter "<prefix>_<name>" with the given label (label_name and
 * label_value may both be NULL), creating it on first call; the same arguments
 * return the same series. help is used on creation. Never NULL except on
 * allocation failure. */
metrics_counter_t *metrics_counter(metrics_t *m, const char *name, const char *help,
                                   const char *label_name, const char *label_value);
void metrics_counter_add(metrics_counter_t *c, uint64_t n);

metrics_gauge_t *metrics_gauge(metrics_t *m, const char *name, const char *help,
                               const char *label_name, const char *label_value);
void metrics_gauge_set(metrics_gauge_t *g, double v);

/* Histogram with Prometheus default-like latency buckets in seconds
 * (0.0001 .. 10). */
metrics_histogram_t *metrics_histogram(metrics_t *m, const char *name, const char *help,
                                       const char *label_name, const char *label_value);
void metrics_histogram_observe(metrics_histogram_t *h, double seconds);

/* Liveness/readiness as reported by /healthz (200 while alive) and /readyz
 * (200 only when ready != 0, else 503). */
void metrics_set_ready(metrics_t *m, int ready);

/* Renders the text exposition format (version 0.0.4). Caller frees. */
char *metrics_render(metrics_t *m);

/* Starts serving on addr "host:port" (e.g. "0.0.0.0:9102", "127.0.0.1:0").
 * Port 0 picks a free port; metrics_port() tells which. Returns 0 or -1. */
int metrics_serve(metrics_t *m, const char *addr, char *errstr, size_t errstr_size);
int metrics_port(const metrics_t *m);

#endif
