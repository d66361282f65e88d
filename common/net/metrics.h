/* metrics — Prometheus text exposition plus /healthz and /readyz, as routes
 * of the program's HTTP server (net/httpd.h).
 *
 * Metric names follow "<service>_<what>_total" etc.; the service name is given
 * once to metrics_new() with dashes turned into underscores. Series are
 * registered at start-up or on first use, with up to METRICS_LABELS_MAX label
 * pairs (topic="clean.social", partition="3"); label values must never carry
 * personal data.
 * Updates are lock-free atomics and safe from any thread; registration,
 * readiness changes and rendering take one mutex. Nothing here logs: errors
 * come back to the caller.
 *
 * Readiness is a set of named conditions ("kafka", "redis"): /readyz answers
 * 200 "ready" when at least one is registered and all are ok, else 503
 * "not ready: <failing names>" ("not ready: starting" before the first).
 */
#ifndef SENSORY_METRICS_H
#define SENSORY_METRICS_H

#include "net/httpd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

/* service: e.g. "privacy-shield"; every character not allowed in a metric name
 * becomes '_' in the prefix ("privacy_shield"). Caller owns the result; NULL on
 * allocation failure or an empty service. */
metrics_t *metrics_new(const char *service);

/* Stops metrics_serve's server (if started) and frees everything; NULL is
 * accepted. A server m's routes were put on with metrics_routes() must be
 * destroyed before m. */
void metrics_destroy(metrics_t *m);

/* Returns the counter "<prefix>_<name>" with the given label (label_name and
 * label_value may both be NULL), creating it on first call; the same arguments
 * return the same series, owned by m. name is used as given, so counters pass
 * the "_total" suffix themselves ("messages_in_total"). help is used when the
 * family is created (NULL: empty). Returns NULL on allocation failure and on
 * programming errors: an invalid metric or label name, only one of
 * label_name/label_value, or a name already registered with another type.
 * The update functions accept NULL and do nothing. Same rules for gauges and
 * histograms (which also reserve the label name "le"). */
metrics_counter_t *metrics_counter(metrics_t *m, const char *name, const char *help,
                                   const char *label_name, const char *label_value);
/* Most label pairs of one series. */
#define METRICS_LABELS_MAX 4

/* The same with several labels: labels is a NULL-terminated list of name,
 * value pairs ({"topic", t, "partition", "3", NULL}; NULL: none). Names must
 * be distinct; the same pairs in the same order are the same series. */
metrics_counter_t *metrics_counter_labels(metrics_t *m, const char *name, const char *help,
                                          const char *const *labels);
metrics_gauge_t *metrics_gauge_labels(metrics_t *m, const char *name, const char *help,
                                      const char *const *labels);
metrics_histogram_t *metrics_histogram_labels(metrics_t *m, const char *name, const char *help,
                                              const char *const *labels);

/* Adds n to the counter; lock-free, any thread. */
void metrics_counter_add(metrics_counter_t *c, uint64_t n);

/* Returns the gauge "<prefix>_<name>"; see metrics_counter(). */
metrics_gauge_t *metrics_gauge(metrics_t *m, const char *name, const char *help,
                               const char *label_name, const char *label_value);
/* Sets the gauge; lock-free, any thread. */
void metrics_gauge_set(metrics_gauge_t *g, double v);

/* Histogram with latency buckets in seconds, upper bounds inclusive:
 * 0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5
 * 5 10 +Inf, rendered as _bucket{le=...} (cumulative), _sum and _count. See
 * metrics_counter() for naming and NULL returns. */
metrics_histogram_t *metrics_histogram(metrics_t *m, const char *name, const char *help,
                                       const char *label_name, const char *label_value);
/* Records one observation; lock-free, any thread. NaN is ignored. */
void metrics_histogram_observe(metrics_histogram_t *h, double seconds);

/* Sets the readiness condition name (registered on first use) to ok (!= 0)
 * or failing (0); any thread. Register each condition at start-up as
 * failing, before the server starts: a condition first set later cannot hold
 * /readyz back until then. name: 1-31 characters of [a-z0-9_.-], shown in
 * the /readyz body, so never personal data. Returns 0, or -1 on a bad name
 * or when 16 conditions exist already. */
int metrics_ready_condition(metrics_t *m, const char *name, int ok);

/* The condition "kafka" (the stage loop's: ready once partitions are
 * assigned, not ready when every broker is down). */
void metrics_set_ready(metrics_t *m, int ready);

/* Renders the text exposition format (version 0.0.4): per family one HELP
 * and one TYPE line, then its series in registration order. Caller frees;
 * NULL on allocation failure or when the text would exceed 16 MiB. */
char *metrics_render(metrics_t *m);

/* Registers GET (and so HEAD) /metrics (the exposition), /healthz (200
 * "ok" while the process serves) and /readyz (see readiness above) on h,
 * before httpd_start(h). m must outlive h's serving. Returns 0, or -1 with
 * errstr (h started already, routes taken). */
int metrics_routes(metrics_t *m, httpd_t *h, char *errstr, size_t errstr_size);

/* Convenience for programs without routes of their own: creates, owns and
 * starts a one-thread httpd on addr "host:port" (e.g. "0.0.0.0:9102",
 * "127.0.0.1:0", "[::1]:9102", ":9102" for every interface) carrying
 * metrics_routes(). Port 0 picks a free port; metrics_port() tells which.
 * Returns 0, or -1 with errstr (bad address, port in use, already serving). */
int metrics_serve(metrics_t *m, const char *addr, char *errstr, size_t errstr_size);

/* The port metrics_serve() listens on, or -1 before it succeeded. */
int metrics_port(const metrics_t *m);

#endif
