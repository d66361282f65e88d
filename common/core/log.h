/* log — JSON lines on stderr, one object per event:
 *   {"ts":"2026-11-21T23:29:08.123Z","level":"info","service":"privacy-shield",
 *    "event":"started","msg":"...", <fields...>}
 * librdkafka's own log callback is routed here (kafka_log_cb in kafka.h).
 * Messages and fields must never carry personal data: callers log ids, counts,
 * topics and reasons, never payload values.
 */
#ifndef SENSORY_LOG_H
#define SENSORY_LOG_H

#include <jansson.h>

typedef enum {
  LOG_LEVEL_DEBUG = 0,
  LOG_LEVEL_INFO = 1,
  LOG_LEVEL_WARN = 2,
  LOG_LEVEL_ERROR = 3
} log_level_t;

/* Sets the service name and minimum level; safe to call again (e.g. after
 * config is read). service is copied. */
void log_init(const char *service, log_level_t level);

/* Parses "debug", "info", "warn"/"warning", "error". Returns 0 or -1. */
int log_level_parse(const char *s, log_level_t *out);

/* Returns 1 if events at level would be written. */
int log_enabled(log_level_t level);

/* Writes one event. fields may be NULL; it is a JSON object whose members are
 * merged into the line, and is always consumed (stolen). fmt is printf-style. */
void log_event(log_level_t level, const char *event, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_info(event, ...) log_event(LOG_LEVEL_INFO, event, NULL, __VA_ARGS__)
#define log_warn(event, ...) log_event(LOG_LEVEL_WARN, event, NULL, __VA_ARGS__)
#define log_error(event, ...) log_event(LOG_LEVEL_ERROR, event, NULL, __VA_ARGS__)
#define log_debug(event, ...) log_event(LOG_LEVEL_DEBUG, event, NULL, __VA_ARGS__)

/* Formats the current UTC time as RFC 3339 with milliseconds into out (>= 25 bytes). */
void log_timestamp(char *out, size_t out_size);

#endif
