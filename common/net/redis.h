/* redis — the one Redis client (hiredis) of every program: enricher's
 * product store, scraper-ingest's cursors and locks, risk-svc's history.
 *
 * URL: redis://[[user][:password]@]host[:port][/db] (percent-escapes in user
 * and password; "redis://secret@host" is a password, as redis-cli reads it);
 * a password file (a k8s Secret, one trailing newline ignored) overrides the
 * URL's password. AUTH (with the ACL user when given) and SELECT run on every
 * (re)connect. Connect and command timeouts are separate.
 *
 * Failures: any I/O error or timeout drops the connection; the next call
 * reconnects, but not before a back-off (100 ms doubling to 5 s, reset by a
 * successful command) so a down server is not hammered by a busy caller: a
 * call during the back-off fails at once with "unavailable". Callers treat -1
 * / NULL as "the store is down" and retry later (a stage returns STAGE_RETRY
 * and the stage loop pauses its partitions; see stage.h).
 *
 * Not thread-safe: one client per thread. Nothing here logs; errstr never
 * holds the password.
 */
#ifndef SENSORY_NET_REDIS_H
#define SENSORY_NET_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* The settings every Redis user shares; a program adds redis_conf_entries()
 * as one section of its config (keys redis.url, redis.password_file,
 * redis.connect_timeout_ms, redis.command_timeout_ms). */
typedef struct redis_settings {
  char *url;
  char *password_file;
  int64_t connect_timeout_ms;
  int64_t command_timeout_ms;
} redis_settings_t;

/* The table (static storage) for a redis_settings_t section. */
const conf_entry_t *redis_conf_entries(void);

typedef struct redis redis_t;

/* A client for s (copied): parses the URL and reads the password file now,
 * so a bad setting fails at start-up (exit 2), but does not connect. Caller
 * owns the result (redis_destroy). NULL with errstr. */
redis_t *redis_new(const redis_settings_t *s, char *errstr, size_t errstr_size);

/* Closes and frees, wiping the password; NULL is accepted. */
void redis_destroy(redis_t *r);

/* Connects now unless connected (AUTH, SELECT). Returns 0, or -1 with
 * errstr (also at once during a back-off). */
int redis_connect(redis_t *r, char *errstr, size_t errstr_size);

/* 1 when connected, else 0. */
int redis_connected(const redis_t *r);

/* Runs one command (binary-safe arguments; argvlen may be NULL for C
 * strings), connecting first when needed. Returns the reply (caller frees
 * with freeReplyObject; an error reply is a reply, the caller checks its
 * type), or NULL with errstr when the connection failed (dropped; back-off
 * started). */
redisReply *redis_command(redis_t *r, int argc, const char **argv, const size_t *argvlen,
                          char *errstr, size_t errstr_size);

/* Pipelining: queue commands with redis_append(), then read one reply per
 * command with redis_reply(), in order. A failed redis_reply() drops the
 * connection and with it the rest of the pipeline. Returns as
 * redis_command(); redis_append() returns 0 or -1. */
int redis_append(redis_t *r, int argc, const char **argv, const size_t *argvlen, char *errstr,
                 size_t errstr_size);
redisReply *redis_reply(redis_t *r, char *errstr, size_t errstr_size);

/* A Lua script run with EVALSHA (its SHA-1 computed and cached per client,
 * the script loaded on first use and again after a NOSCRIPT: a server
 * restart or SCRIPT FLUSH). Scripts are shared, read-only static storage:
 *   static const redis_script_t update = {"local cur = ..."};          */
typedef struct redis_script {
  const char *source;
} redis_script_t;

/* Runs script with nkeys keys followed by the other arguments in argv
 * (argc in total). Returns as redis_command(). Pipelined variants append
 * EVALSHA; a NOSCRIPT reply there is the caller's signal to redis_eval() once. */
redisReply *redis_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                       const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size);
int redis_append_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                      const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size);

#endif
