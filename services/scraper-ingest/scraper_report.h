/* scraper_report — what a run tells operators: one summary log line per source
 * and the run's Prometheus metrics. A run lives too briefly to be scraped, so
 * the metrics leave with it: pushed to a Pushgateway (the primary path, used
 * by the k8s CronJobs) and/or written as a node-exporter textfile (VM/cron
 * installs, tests). */
#ifndef SCR_REPORT_H
#define SCR_REPORT_H

#include <stddef.h>

#include "net/metrics.h"
#include "scraper_run.h"

/* The status as a word for logs and labels ("ok", "unreachable", ...). */
const char *scr_status_name(scr_status_t s);

/* Logs the summary line of one source (info when ok/locked, error otherwise). */
void scr_report_log(const scr_stats_t *st);

/* Adds one source's counters to m (label source=<name>). */
void scr_report_metrics(metrics_t *m, const scr_stats_t *st);

/* Sets the run-level gauges: exit code, end time, duration. */
void scr_report_run(metrics_t *m, int exit_code, double duration);

/* Renders m and writes it to path atomically (temp file + rename, as the
 * textfile collector requires). Returns 0, or -1 with errstr. */
int scr_report_write_file(metrics_t *m, const char *path, char *errstr, size_t errstr_size);

/* PUTs the rendered metrics to <url>/metrics/job/scraper-ingest/run/<group>.
 * Returns 0, or -1 with errstr. */
int scr_report_push(metrics_t *m, const char *url, const char *group, long timeout_ms, char *errstr,
                    size_t errstr_size);

/* The exit codes of a run (also in --help and the README): the worst
 * source's outcome. */
typedef enum {
  EXIT_OK = 0,
  EXIT_INTERNAL = 1,
  EXIT_CONFIG = 2,
  EXIT_UNREACHABLE = 3,
  EXIT_PARTIAL = 4,
  EXIT_KAFKA = 5,
  EXIT_STATE = 6
} scr_exit_t;

/* The run's exit code from every source's outcome: the worst one wins; a
 * skipped (locked) source is not a failure. */
int scr_exit_code(const scr_stats_t *st, size_t n);

#endif
