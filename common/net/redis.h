/* redis — the one Redis client (hiredis) of every program: enricher's
 * product store, scraper-ingest's cursors and locks, risk-svc's history.
 *
 * URL: redis://[[user][:password]@]host[:port][/db] (percent-escapes in user
 * and password; "redis://secret@host" is a password, as redis-cli reads it, so
 * an ACL user whose password comes from a file is "redis://user:@host"; a
 * bracketed IPv6 host "[::1]"; rediss:// is refused: no TLS). A password file
 * (a k8s Secret, one trailing newline ignored) overrides the URL's password.
 * AUTH (with the ACL user when given) and SELECT run on every (re)connect, in
 * one round trip; PING when neither is needed, so a connect proves the server
 * answers. Connect and command timeouts are separate.
 *
 * Failures: any I/O error or timeout drops the connection, and so does an
 * error reply saying this server cannot serve now (LOADING, READONLY,
 * MASTERDOWN, NOAUTH; the reply is still returned). The next call reconnects,
 * but not before a back-off (100 ms doubling to 5 s, reset by any reply) so a
 * down server is not hammered by a busy caller: a call during the back-off
 * fails at once with "unavailable". A command is never resent by the client
 * (a write may or may not have happened); callers treat -1 / NULL as "the
 * store is down" and retry later (a stage returns STAGE_RETRY and the stage
 * loop pauses its partitions; see stage.h).
 *
 * Not thread-safe: one client per thread. Nothing here logs; errstr never
 * holds the password (a server message repeating it is masked), and may be
 * NULL when errstr_size is 0. The program ignores SIGPIPE (signals_install()
 * does), or a write to a connection the server closed would kill it.
 */
#ifndef SENSORY_NET_REDIS_H
#define SENSORY_NET_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* The settings every Redis user shares; a program adds redis_conf_entries()
 * as one section of its config (keys redis.url, redis.password_file,
 * redis.connect_timeout_ms, redis.command_timeout_ms; env REDIS_URL,
 * REDIS_PASSWORD_FILE, REDIS_CONNECT_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS). */
typedef struct redis_settings {
  char *url;
  char *password_file;        /* NULL or "": none */
  int64_t connect_timeout_ms; /* <= 0: 2000 */
  int64_t command_timeout_ms; /* <= 0: 2000; bounds every reply */
  int64_t backoff_initial_ms; /* not a setting (code and tests): <= 0: 100 */
  int64_t backoff_max_ms;     /* not a setting: <= 0: 5000 */
} redis_settings_t;

/* The table (static storage) for a redis_settings_t section. */
const conf_entry_t *redis_conf_entries(void);

/* A parsed URL (redis_url_parse); the limits are the fields' sizes. */
typedef struct redis_url {
  char host[256];
  int port;           /* 6379 unless given */
  int db;             /* 0 unless given */
  char user[128];     /* "": the default user */
  char password[512]; /* "": no AUTH */
} redis_url_t;

/* Parses url into *out, percent-escapes in user and password decoded.
 * Returns 0, or -1 with errstr saying what is wrong (never repeating the
 * URL's userinfo). redis_new() calls it; public for tests and tools. */
int redis_url_parse(const char *url, redis_url_t *out, char *errstr, size_t errstr_size);

typedef struct redis redis_t;

/* A client for s (copied): parses the URL and reads the password file now,
 * so a bad setting fails at start-up (exit 2; errstr names the setting and
 * its env), but does not connect. Caller owns the result (redis_destroy).
 * NULL with errstr. */
redis_t *redis_new(const redis_settings_t *s, char *errstr, size_t errstr_size);

/* Closes and frees, wiping the password; NULL is accepted. */
void redis_destroy(redis_t *r);

/* Connects now unless connected (AUTH, SELECT or PING). Returns 0, or -1 with
 * errstr (also at once during a back-off). */
int redis_connect(redis_t *r, char *errstr, size_t errstr_size);

/* 1 when connected, else 0. */
int redis_connected(const redis_t *r);

/* "host:port" of the server (for log lines; never the password). */
const char *redis_address(const redis_t *r);

/* Runs one command (binary-safe arguments; argvlen may be NULL for C
 * strings), connecting first when needed. Returns the reply (caller frees
 * with freeReplyObject; an error reply is a reply, the caller checks its
 * type), or NULL with errstr when the connection failed (dropped; back-off
 * started) or pipelined replies are still unread (a caller bug; nothing is
 * sent). */
redisReply *redis_command(redis_t *r, int argc, const char **argv, const size_t *argvlen,
                          char *errstr, size_t errstr_size);

/* Pipelining: queue commands with redis_append() (connecting first when
 * needed; nothing is sent until the first redis_reply()), then read one reply
 * per command with redis_reply(), in order. A failed redis_reply() drops the
 * connection and with it the rest of the pipeline: the replies still expected
 * then fail at once. Returns as redis_command(); redis_append() returns 0 or
 * -1 (the pipeline so far is dropped with the connection). */
int redis_append(redis_t *r, int argc, const char **argv, const size_t *argvlen, char *errstr,
                 size_t errstr_size);
redisReply *redis_reply(redis_t *r, char *errstr, size_t errstr_size);

/* A Lua script run with EVALSHA (its SHA-1 computed and cached per client).
 * Scripts are shared, read-only static storage, identified by address:
 *   static const redis_script_t update = {"local cur = ..."};          */
typedef struct redis_script {
  const char *source;
} redis_script_t;

/* Runs script with nkeys keys followed by the other arguments in argv
 * (argc in total): EVALSHA, and after a NOSCRIPT reply (first use on a
 * server, server restart, SCRIPT FLUSH) SCRIPT LOAD and EVALSHA again in one
 * more round trip. Returns as redis_command(); a script that does not compile
 * is an error reply. */
redisReply *redis_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                       const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size);

/* The pipelined variant: appends EVALSHA, or EVAL with the source the first
 * time on a connection, so a whole pipeline works against a server that has
 * not seen the script. A NOSCRIPT reply can still come when the scripts were
 * flushed mid-connection: the next append sends the source again, so the
 * caller retries what failed (after reading the rest of its pipeline). */
int redis_append_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                      const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size);

#endif
