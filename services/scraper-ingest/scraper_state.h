/* scraper_state — per-source cursors and run locks in Redis (hiredis).
 *
 * Keys: <prefix>:lock:<source> holds a random token while a run owns the
 * source (SET NX PX); <prefix>:cursor:<source>:<stream> holds the cursor.
 * A cursor is written only by the lock's owner (one Lua script checks the
 * token, writes the cursor and extends the lock), so a run that lost its lock
 * (expired, stolen after a long pause) can never move a cursor.
 */
#ifndef SCR_STATE_H
#define SCR_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct scr_state scr_state_t;

/* Connects to url ("redis://[:password@]host[:port][/db]"). Caller owns the
 * result; NULL with errstr (which never holds the password). */
scr_state_t *scr_state_connect(const char *url, const char *prefix, long timeout_ms, char *errstr,
                               size_t errstr_size);

/* Releases any lock still held, then disconnects; NULL is accepted. */
void scr_state_destroy(scr_state_t *s);

/* Takes the lock of source for ttl_ms. Returns 1 when taken, 0 when another
 * run holds it, -1 on a Redis error (errstr). One source lock at a time. */
int scr_state_lock(scr_state_t *s, const char *source, int64_t ttl_ms, char *errstr,
                   size_t errstr_size);

/* Releases the lock taken by scr_state_lock() if it is still ours
 * (compare-and-delete). Returns 0, or -1 on a Redis error. */
int scr_state_unlock(scr_state_t *s, char *errstr, size_t errstr_size);

/* Reads a cursor into out. Returns 1 when set, 0 when absent (out is ""),
 * -1 on error or when it does not fit. */
int scr_state_get_cursor(scr_state_t *s, const char *source, const char *stream, char *out,
                         size_t out_size, char *errstr, size_t errstr_size);

/* Writes a cursor if the lock taken by scr_state_lock() is still ours and
 * extends the lock by its ttl. Returns 0, or -1 (errstr: Redis error or
 * "lock lost"). */
int scr_state_set_cursor(scr_state_t *s, const char *source, const char *stream, const char *value,
                         char *errstr, size_t errstr_size);

#endif
