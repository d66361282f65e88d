/* clock — the program's clocks and its one RFC 3339 reader and writer.
 *
 * Monotonic time measures durations and deadlines (never goes back); wall
 * time stamps records, logs and dead letters. Every timestamp the pipeline
 * writes is RFC 3339 UTC with milliseconds, "2026-11-21T23:29:08.123Z".
 * Thread-safe; nothing here allocates.
 */
#ifndef SENSORY_CORE_CLOCK_H
#define SENSORY_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds (CLOCK_MONOTONIC), for durations. */
double clock_mono(void);

/* Monotonic milliseconds. */
int64_t clock_mono_ms(void);

/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

/* Writes ms (epoch milliseconds) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out
 * (>= CLOCK_RFC3339_MAX bytes; shorter buffers get a truncated string). */
#define CLOCK_RFC3339_MAX 32
void clock_format_ms(int64_t ms, char *out, size_t out_size);

/* Parses an RFC 3339 date-time ("2026-11-21T23:29:08.123+06:00", 'Z' or an
 * offset required, fraction optional and cut to milliseconds, a leap second
 * read as :59) into epoch milliseconds. Returns 0, or -1 when s is not one. */
int clock_parse_rfc3339_ms(const char *s, int64_t *out_ms);

#endif
