/* scraper_state — per-source cursors and run locks in Redis.
 *
 * Keys: <prefix>:lock:<source> holds a random token while a run owns the
 * source (SET NX PX); <prefix>:cursor:<source>:<stream> holds the cursor.
 * A cursor is written only by the lock's owner (one Lua script checks the
 * token, writes the cursor and extends the lock), so a run that lost its lock
 * (expired, stolen after a long pause) can never move a cursor.
 *
 * The connection (URL, password, timeouts, reconnects) is the shared
 * client's (net/redis.h); a reconnect keeps the lock, which is the token's.
 */
#ifndef SCR_STATE_H
#define SCR_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "net/redis.h"

typedef struct scr_state scr_state_t;

/* Cursors and locks over the client r (borrowed: it must outlive the state),
 * keys under prefix (NULL: "sensory:scraper"). Does not talk to Redis. Caller
 * owns the result; NULL with errstr (out of memory). */
scr_state_t *scr_state_new(redis_t *r, const char *prefix, char *errstr, size_t errstr_size);

/* Releases any lock still held, then frees; NULL is accepted. */
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
