#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"

static char log_service[64] = "sensory";
static log_level_t log_min = LOG_LEVEL_INFO;
/* One line per write: several threads (poll loop, delivery reports,
 * librdkafka's own threads) log concurrently. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, log_level_t level) {
  pthread_mutex_lock(&log_lock);
  snprintf(log_service, sizeof(log_service), "%s", service ? service : "sensory");
  log_min = level;
  pthread_mutex_unlock(&log_lock);
}

int log_level_parse(const char *s, log_level_t *out) {
  static const struct {
    const char *name;
    log_level_t level;
  } names[] = {{"debug", LOG_LEVEL_DEBUG},
               {"info", LOG_LEVEL_INFO},
               {"warn", LOG_LEVEL_WARN},
               {"warning", LOG_LEVEL_WARN},
               {"error", LOG_LEVEL_ERROR}};
  for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcasecmp(s, names[i].name) == 0) {
      *out = names[i].level;
      return 0;
    }
  }
  return -1;
}

int log_enabled(log_level_t level) {
  return level >= log_min;
}

void log_timestamp(char *out, size_t out_size) {
  clock_format_ms(clock_wall_ms(), out, out_size);
}

void log_event(log_level_t level, const char *event, json_t *fields, const char *fmt, ...) {
  if (!log_enabled(level)) {
    json_decref(fields);
    return;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);

  char ts[40];
  log_timestamp(ts, sizeof(ts));
  json_t *line = json_object(); /* owned here, freed below */
  json_object_set_new(line, "ts", json_string(ts));
  json_object_set_new(line, "level", json_string(level_names[level]));
  pthread_mutex_lock(&log_lock);
  json_object_set_new(line, "service", json_string(log_service));
  pthread_mutex_unlock(&log_lock);
  json_object_set_new(line, "event", json_string(event ? event : "log"));
  /* A message cut at 1 KiB may end inside a UTF-8 sequence: jansson rejects
   * that, so fall back to a lossless-enough byte-safe form. */
  json_t *m = json_string(msg);
  json_object_set_new(line, "msg", m ? m : json_string("(message not valid UTF-8)"));
  if (fields && json_is_object(fields))
    json_object_update(line, fields);
  json_decref(fields);

  char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(line);
  if (!text)
    return;
  pthread_mutex_lock(&log_lock);
  fputs(text, stderr);
  fputc('\n', stderr);
  fflush(stderr);
  pthread_mutex_unlock(&log_lock);
  free(text);
}
