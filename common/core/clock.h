/* clock — the program's two clocks in milliseconds: monotonic for timeouts,
 * back-offs and durations; wall (Unix epoch) for timestamps in data.
 */
#ifndef SENSORY_CLOCK_H
#define SENSORY_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (arbitrary origin; never goes back). */
int64_t clock_mono_ms(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME; may jump). */
int64_t clock_wall_ms(void);

#endif
