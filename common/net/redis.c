/* redis — owns the connection to one Redis server: the URL and password
 * file, (re)connecting with AUTH and SELECT behind a back-off, the connect
 * and command timeouts, the count of pipelined replies still due, and the
 * per-client SHA-1 cache of Lua scripts. The contract is in redis.h.
 */
#include "net/redis.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/clock.h"
#include "core/hex.h"
#include "core/secret.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_BACKOFF_INITIAL_MS 100
#define DEFAULT_BACKOFF_MAX_MS 5000
#define SCRIPTS_MAX 16     /* distinct scripts whose SHA-1 one client keeps */
#define EVAL_ARGV_STACK 16 /* EVAL arguments held on the stack; more are malloc'd */
#define URL_SETTING "redis.url (REDIS_URL): "
#define FILE_SETTING "redis.password_file (REDIS_PASSWORD_FILE): "

static const conf_entry_t entries[] = {
    {.key = "redis.url",
     .env = "REDIS_URL",
     .type = CONF_STRING,
     .def = "redis://127.0.0.1:6379",
     .offset = offsetof(redis_settings_t, url),
     .doc = "redis://[[user][:password]@]host[:port][/db] (the password better in "
            "redis.password_file)"},
    {.key = "redis.password_file",
     .env = "REDIS_PASSWORD_FILE",
     .type = CONF_STRING,
     .offset = offsetof(redis_settings_t, password_file),
     .doc = "file with the Redis password (a k8s Secret); overrides one in the URL"},
    {.key = "redis.connect_timeout_ms",
     .env = "REDIS_CONNECT_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "2000",
     .offset = offsetof(redis_settings_t, connect_timeout_ms),
     .min = 50,
     .max = 600000,
     .doc = "bound on opening a connection to Redis"},
    {.key = "redis.command_timeout_ms",
     .env = "REDIS_COMMAND_TIMEOUT_MS",
     .type = CONF_INT,
     .def = "2000",
     .offset = offsetof(redis_settings_t, command_timeout_ms),
     .min = 50,
     .max = 600000,
     .doc = "bound on every Redis reply; a late reply drops the connection"},
    {.key = NULL},
};

const conf_entry_t *redis_conf_entries(void) {
  return entries;
}

/* ---- URL ----------------------------------------------------------------- */

/* Copies [s, s+len) into out percent-decoded; -1 if it does not fit, is
 * malformed or decodes to a NUL byte. */
static int decode(const char *s, size_t len, char *out, size_t out_size) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int ch = (unsigned char)s[i];
    if (ch == '%') {
      int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi | lo) == 0)
        return -1;
      ch = hi * 16 + lo;
      i += 2;
    }
    if (n + 1 >= out_size)
      return -1;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return 0;
}

/* A decimal in [lo, hi] made of digits only; -1 otherwise. */
static int parse_int(const char *s, size_t len, int lo, int hi, int *out) {
  if (len == 0 || len > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

int redis_url_parse(const char *url, redis_url_t *out, char *errstr, size_t errstr_size) {
  memset(out, 0, sizeof(*out));
  out->port = 6379;
  if (!url || !*url) {
    snprintf(errstr, errstr_size, "is empty");
    return -1;
  }
  if (strncmp(url, "rediss://", 9) == 0) {
    snprintf(errstr, errstr_size,
             "rediss:// (TLS) is not supported; use redis:// inside the "
             "cluster network");
    return -1;
  }
  if (strncmp(url, "redis://", 8) != 0) {
    snprintf(errstr, errstr_size, "must look like redis://[[user][:password]@]host[:port][/db]");
    return -1;
  }
  const char *p = url + 8, *end = p + strlen(p);
  /* The last '@' ends the userinfo: a database number never holds one, a
   * password may (unescaped '@', '/' and ':' are all taken as its own). */
  const char *at = strrchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *uend = colon ? colon : at;
    if (decode(p, (size_t)(uend - p), out->user, sizeof(out->user)) != 0 ||
        (colon &&
         decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)) != 0)) {
      snprintf(errstr, errstr_size,
               "user (< %zu bytes) or password (< %zu bytes) too long, or a bad %%-escape in them",
               sizeof(out->user), sizeof(out->password));
      memset(out, 0, sizeof(*out));
      return -1;
    }
    if (!colon && out->user[0]) {
      /* redis://secret@host: a lone userinfo is the password, as redis-cli reads it. */
      memcpy(out->password, out->user, sizeof(out->user));
      memset(out->user, 0, sizeof(out->user));
    }
    p = at + 1;
  }
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *hostend = slash ? slash : end;
  const char *hs = p, *he;
  if (*p == '[') { /* [::1]:6379 */
    const char *rb = memchr(p, ']', (size_t)(hostend - p));
    if (!rb) {
      snprintf(errstr, errstr_size, "unterminated [IPv6] host");
      goto fail;
    }
    hs = p + 1;
    he = rb;
    p = rb + 1;
  } else {
    const char *colon = memchr(p, ':', (size_t)(hostend - p));
    if (colon && memchr(colon + 1, ':', (size_t)(hostend - colon - 1))) {
      snprintf(errstr, errstr_size, "an IPv6 host needs brackets: redis://[::1]:6379");
      goto fail;
    }
    he = colon ? colon : hostend;
    p = he;
  }
  if (he == hs || (size_t)(he - hs) >= sizeof(out->host)) {
    snprintf(errstr, errstr_size, "missing or too long host");
    goto fail;
  }
  memcpy(out->host, hs, (size_t)(he - hs));
  if (p < hostend &&
      (*p != ':' || parse_int(p + 1, (size_t)(hostend - p - 1), 1, 65535, &out->port) != 0)) {
    snprintf(errstr, errstr_size, "port must be 1..65535");
    goto fail;
  }
  if (slash && slash + 1 < end &&
      parse_int(slash + 1, (size_t)(end - slash - 1), 0, 100000, &out->db) != 0) {
    snprintf(errstr, errstr_size,
             "database must be a number 0..100000 (redis://host:port/0; no query parameters)");
    goto fail;
  }
  return 0;
fail:
  OPENSSL_cleanse(out, sizeof(*out));
  return -1;
}

/* ---- client -------------------------------------------------------------- */

typedef struct script_sha {
  const redis_script_t *script;
  char sha[41];
  /* == redis.script_epoch: the server has it (sent with EVAL or run with
   * EVALSHA on this connection since the last NOSCRIPT). */
  uint64_t loaded_epoch;
} script_sha_t;

struct redis {
  redis_url_t url;
  char address[300]; /* host:port, for messages */
  struct timeval connect_tv, command_tv;
  int64_t command_timeout_ms;
  int64_t backoff_initial_ms, backoff_max_ms;
  redisContext *c;       /* NULL while disconnected; owned */
  size_t pending;        /* appended commands whose replies are unread */
  size_t lost;           /* replies still expected of a pipeline lost with its connection */
  int64_t backoff_ms;    /* the last back-off; 0 after a good reply */
  int64_t retry_at_ms;   /* monotonic: no reconnect before */
  char last_err[256];    /* why the connection was last dropped */
  uint64_t script_epoch; /* bumped by every connect and every NOSCRIPT */
  script_sha_t scripts[SCRIPTS_MAX];
  size_t nscripts;
};

static struct timeval tv_of(int64_t ms) {
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
  return tv;
}

redis_t *redis_new(const redis_settings_t *s, char *errstr, size_t errstr_size) {
  char why[512];
  redis_t *r = calloc(1, sizeof(*r)); /* caller owns: redis_destroy() */
  if (!r) {
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
  }
  if (redis_url_parse(s->url, &r->url, why, sizeof(why)) != 0) {
    snprintf(errstr, errstr_size, URL_SETTING "%s", why);
    goto fail;
  }
  if (s->password_file && *s->password_file) {
    unsigned char *raw = NULL;
    size_t len = 0;
    if (secret_read_file(s->password_file, &raw, &len, why, sizeof(why)) != 0) {
      snprintf(errstr, errstr_size, FILE_SETTING "%s", why);
      goto fail;
    }
    int bad = len >= sizeof(r->url.password) || memchr(raw, '\0', len);
    if (!bad) {
      memcpy(r->url.password, raw, len);
      r->url.password[len] = '\0';
    }
    secret_free(raw, len);
    if (bad) {
      snprintf(errstr, errstr_size, FILE_SETTING "a password of at most %zu bytes, no NUL byte",
               sizeof(r->url.password) - 1);
      goto fail;
    }
  }
  if (r->url.user[0] && !r->url.password[0]) {
    snprintf(errstr, errstr_size,
             URL_SETTING "the ACL user needs a password (in the URL or redis.password_file)");
    goto fail;
  }
  snprintf(r->address, sizeof(r->address), strchr(r->url.host, ':') ? "[%s]:%d" : "%s:%d",
           r->url.host, r->url.port);
  int64_t connect_ms = s->connect_timeout_ms > 0 ? s->connect_timeout_ms : DEFAULT_TIMEOUT_MS;
  r->command_timeout_ms = s->command_timeout_ms > 0 ? s->command_timeout_ms : DEFAULT_TIMEOUT_MS;
  r->connect_tv = tv_of(connect_ms);
  r->command_tv = tv_of(r->command_timeout_ms);
  r->backoff_initial_ms =
      s->backoff_initial_ms > 0 ? s->backoff_initial_ms : DEFAULT_BACKOFF_INITIAL_MS;
  r->backoff_max_ms = s->backoff_max_ms > 0 ? s->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
  if (r->backoff_max_ms < r->backoff_initial_ms)
    r->backoff_max_ms = r->backoff_initial_ms;
  return r;
fail:
  redis_destroy(r);
  return NULL;
}

/* Closes the connection. With backoff, no reconnect before the next step of
 * the back-off (doubling from the initial wait to the ceiling). */
static void drop(redis_t *r, int backoff) {
  if (r->c)
    redisFree(r->c);
  r->c = NULL;
  r->lost = r->pending;
  r->pending = 0;
  if (backoff) {
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : r->backoff_initial_ms;
    if (r->backoff_ms > r->backoff_max_ms)
      r->backoff_ms = r->backoff_max_ms;
    r->retry_at_ms = clock_mono_ms() + r->backoff_ms;
  }
}

void redis_destroy(redis_t *r) {
  if (!r)
    return;
  drop(r, 0);
  OPENSSL_cleanse(&r->url, sizeof(r->url));
  free(r);
}

int redis_connected(const redis_t *r) {
  return r && r->c != NULL;
}

const char *redis_address(const redis_t *r) {
  return r->address;
}

/* Masks every occurrence of the password: the promise that errstr never holds
 * it must not depend on what hiredis or the server put in a message. */
static void scrub(const redis_t *r, char *s) {
  size_t plen = strlen(r->url.password);
  if (!plen)
    return;
  /* "***" in place of it; a shorter password becomes as many '*' (never grows s). */
  size_t mask = plen < 3 ? plen : 3;
  for (char *p = strstr(s, r->url.password); p; p = strstr(p + mask, r->url.password)) {
    memset(p, '*', mask);
    memmove(p + mask, p + plen, strlen(p + plen) + 1);
  }
}

/* Formats the error into errstr (may be NULL) and into last_err when it ends
 * the connection, both scrubbed. */
__attribute__((format(printf, 5, 6))) static void
set_err(redis_t *r, int keep, char *errstr, size_t errstr_size, const char *fmt, ...) {
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  scrub(r, buf);
  if (keep)
    snprintf(r->last_err, sizeof(r->last_err), "%.*s", (int)sizeof(r->last_err) - 1, buf);
  if (errstr && errstr_size)
    snprintf(errstr, errstr_size, "%s", buf);
}

/* A hiredis call failed on the connection: say why (a socket timeout is
 * EAGAIN), drop the connection and back off. what names the command. */
static void io_failed(redis_t *r, const char *what, char *errstr, size_t errstr_size) {
  int e = errno;
  if (r->c && r->c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK))
    set_err(r, 1, errstr, errstr_size, "%.32s %s: no reply within %lld ms", what, r->address,
            (long long)r->command_timeout_ms);
  else
    set_err(r, 1, errstr, errstr_size, "%.32s %s: %s", what, r->address,
            r->c && r->c->errstr[0] ? r->c->errstr : "out of memory");
  drop(r, 1);
}

/* An error reply that means "this server cannot serve now": a reconnect
 * (after a back-off) may reach one that can, or the same one ready again. */
static int unavailable_reply(const redisReply *rep) {
  static const char *const words[] = {"LOADING", "READONLY", "MASTERDOWN", "NOAUTH"};
  if (rep->type != REDIS_REPLY_ERROR || !rep->str)
    return 0;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    size_t n = strlen(words[i]);
    if (strncmp(rep->str, words[i], n) == 0 && (rep->str[n] == ' ' || rep->str[n] == '\0'))
      return 1;
  }
  return 0;
}

static int noscript_reply(const redisReply *rep) {
  return rep->type == REDIS_REPLY_ERROR && rep->str && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/* Bookkeeping of every reply to a caller's command. */
static void got_reply(redis_t *r, const redisReply *rep) {
  if (noscript_reply(rep))
    r->script_epoch++; /* flushed: no script can be assumed loaded */
  if (unavailable_reply(rep)) {
    set_err(r, 1, NULL, 0, "%s: %.200s", r->address, rep->str);
    drop(r, 1);
  } else {
    r->backoff_ms = 0;
  }
}

/* AUTH, SELECT or PING on a fresh connection, in one round trip. */
static int handshake(redis_t *r, char *errstr, size_t errstr_size) {
  const char *what[2];
  int n = 0;
  if (r->url.password[0]) {
    const char *argv[3] = {"AUTH", r->url.user[0] ? r->url.user : r->url.password, r->url.password};
    if (redisAppendCommandArgv(r->c, r->url.user[0] ? 3 : 2, argv, NULL) != REDIS_OK)
      goto oom;
    what[n++] = "AUTH";
  }
  if (r->url.db) {
    char db[16];
    snprintf(db, sizeof(db), "%d", r->url.db);
    const char *argv[2] = {"SELECT", db};
    if (redisAppendCommandArgv(r->c, 2, argv, NULL) != REDIS_OK)
      goto oom;
    what[n++] = "SELECT";
  }
  if (!n) {
    const char *argv[1] = {"PING"};
    if (redisAppendCommandArgv(r->c, 1, argv, NULL) != REDIS_OK)
      goto oom;
    what[n++] = "PING";
  }
  for (int i = 0; i < n; i++) {
    void *v = NULL;
    if (redisGetReply(r->c, &v) != REDIS_OK || !v) {
      io_failed(r, what[i], errstr, errstr_size);
      return -1;
    }
    redisReply *rep = v;
    if (rep->type == REDIS_REPLY_ERROR) {
      set_err(r, 1, errstr, errstr_size, "%s refused by %s: %.200s", what[i], r->address, rep->str);
      freeReplyObject(rep);
      drop(r, 1);
      return -1;
    }
    freeReplyObject(rep);
  }
  return 0;
oom:
  set_err(r, 1, errstr, errstr_size, "connect %s: out of memory", r->address);
  drop(r, 1);
  return -1;
}

int redis_connect(redis_t *r, char *errstr, size_t errstr_size) {
  if (r->c)
    return 0;
  int64_t wait = r->retry_at_ms - clock_mono_ms();
  if (wait > 0) {
    set_err(r, 0, errstr, errstr_size,
            "redis %s unavailable (back-off %lld ms, next try in %lld ms): %s", r->address,
            (long long)r->backoff_ms, (long long)wait, r->last_err);
    return -1;
  }
  r->c = redisConnectWithTimeout(r->url.host, r->url.port, r->connect_tv);
  if (!r->c || r->c->err) {
    set_err(r, 1, errstr, errstr_size, "connect %s: %s", r->address,
            r->c ? r->c->errstr : "out of memory");
    drop(r, 1);
    return -1;
  }
  /* TCP keep-alive finds a peer that vanished behind a NAT or load balancer. */
  if (redisSetTimeout(r->c, r->command_tv) != REDIS_OK || redisEnableKeepAlive(r->c) != REDIS_OK) {
    set_err(r, 1, errstr, errstr_size, "connect %s: cannot set the socket options", r->address);
    drop(r, 1);
    return -1;
  }
  if (handshake(r, errstr, errstr_size) != 0)
    return -1;
  r->script_epoch++; /* maybe another server: assume no script loaded */
  return 0;
}

redisReply *redis_command(redis_t *r, int argc, const char **argv, const size_t *argvlen,
                          char *errstr, size_t errstr_size) {
  if (r->pending) {
    set_err(r, 0, errstr, errstr_size, "%zu pipelined replies unread; command not sent",
            r->pending);
    return NULL;
  }
  if (redis_connect(r, errstr, errstr_size) != 0)
    return NULL;
  r->lost = 0;
  redisReply *rep = redisCommandArgv(r->c, argc, argv, argvlen);
  if (!rep) {
    io_failed(r, argc > 0 ? argv[0] : "command", errstr, errstr_size);
    return NULL;
  }
  got_reply(r, rep);
  return rep;
}

int redis_append(redis_t *r, int argc, const char **argv, const size_t *argvlen, char *errstr,
                 size_t errstr_size) {
  if (redis_connect(r, errstr, errstr_size) != 0)
    return -1;
  if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK) {
    set_err(r, 1, errstr, errstr_size, "pipeline to %s: out of memory", r->address);
    drop(r, 0);
    return -1;
  }
  if (!r->pending)
    r->lost = 0;
  r->pending++;
  return 0;
}

redisReply *redis_reply(redis_t *r, char *errstr, size_t errstr_size) {
  if (!r->pending) {
    if (r->lost) {
      r->lost--;
      set_err(r, 0, errstr, errstr_size, "reply lost with the connection: %s", r->last_err);
    } else {
      set_err(r, 0, errstr, errstr_size, "no pipelined command waiting for its reply");
    }
    return NULL;
  }
  r->pending--;
  void *v = NULL;
  if (redisGetReply(r->c, &v) != REDIS_OK || !v) {
    io_failed(r, "reply from", errstr, errstr_size);
    return NULL;
  }
  got_reply(r, v);
  return v;
}

/* ---- scripts ------------------------------------------------------------- */

/* The cache entry of script (computing its SHA-1 on first use); beyond
 * SCRIPTS_MAX scripts, tmp serves uncached (never "loaded": EVAL each time
 * in pipelines). NULL if the digest fails. */
static script_sha_t *script_entry(redis_t *r, const redis_script_t *script, script_sha_t *tmp) {
  for (size_t i = 0; i < r->nscripts; i++)
    if (r->scripts[i].script == script)
      return &r->scripts[i];
  script_sha_t *e = r->nscripts < SCRIPTS_MAX ? &r->scripts[r->nscripts] : tmp;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(script->source, strlen(script->source), md, &mdlen, EVP_sha1(), NULL) ||
      hex_encode(md, mdlen, e->sha, sizeof(e->sha), HEX_LOWER) != 0)
    return NULL;
  e->script = script;
  e->loaded_epoch = 0;
  if (e != tmp)
    r->nscripts++;
  return e;
}

/* The arguments of EVAL/EVALSHA: command, body, nkeys, then the caller's. */
typedef struct eval_args {
  const char **argv;
  size_t *len;
  int argc;
  char nkeys[16];
  const char *argv_stack[EVAL_ARGV_STACK];
  size_t len_stack[EVAL_ARGV_STACK];
} eval_args_t;

static int eval_args_init(redis_t *r, eval_args_t *a, const char *cmd, const char *body, int nkeys,
                          int argc, const char **argv, const size_t *argvlen, char *errstr,
                          size_t errstr_size) {
  if (argc < 0 || nkeys < 0 || nkeys > argc || argc > 1000000) {
    set_err(r, 0, errstr, errstr_size, "script call with %d keys among %d arguments", nkeys, argc);
    return -1;
  }
  a->argc = argc + 3;
  a->argv = a->argv_stack;
  a->len = a->len_stack;
  if (a->argc > EVAL_ARGV_STACK) {
    a->argv = malloc((size_t)a->argc * sizeof(*a->argv)); /* freed by eval_args_free() */
    a->len = malloc((size_t)a->argc * sizeof(*a->len));
    if (!a->argv || !a->len) {
      free(a->argv);
      free(a->len);
      a->argv = NULL;
      set_err(r, 0, errstr, errstr_size, "out of memory");
      return -1;
    }
  }
  snprintf(a->nkeys, sizeof(a->nkeys), "%d", nkeys);
  a->argv[0] = cmd;
  a->argv[1] = body;
  a->argv[2] = a->nkeys;
  for (int i = 0; i < 3; i++)
    a->len[i] = strlen(a->argv[i]);
  for (int i = 0; i < argc; i++) {
    a->argv[3 + i] = argv[i];
    a->len[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
  }
  return 0;
}

static void eval_args_free(eval_args_t *a) {
  if (a->argv && a->argv != a->argv_stack) {
    free(a->argv);
    free(a->len);
  }
}

redisReply *redis_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                       const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size) {
  script_sha_t tmp, *e = script_entry(r, script, &tmp);
  eval_args_t a;
  if (!e) {
    set_err(r, 0, errstr, errstr_size, "cannot compute a script's SHA-1");
    return NULL;
  }
  if (eval_args_init(r, &a, "EVALSHA", e->sha, nkeys, argc, argv, argvlen, errstr, errstr_size) !=
      0)
    return NULL;
  redisReply *rep = redis_command(r, a.argc, a.argv, a.len, errstr, errstr_size);
  if (rep && noscript_reply(rep)) {
    /* Not on this server (yet, or any more): load it and run it again, in one round trip. */
    freeReplyObject(rep);
    rep = NULL;
    const char *load[3] = {"SCRIPT", "LOAD", script->source};
    if (redis_append(r, 3, load, NULL, errstr, errstr_size) != 0 ||
        redis_append(r, a.argc, a.argv, a.len, errstr, errstr_size) != 0)
      goto out;
    redisReply *loaded = redis_reply(r, errstr, errstr_size);
    if (!loaded)
      goto out;
    rep = redis_reply(r, errstr, errstr_size);
    if (loaded->type == REDIS_REPLY_ERROR) { /* does not compile: that is the answer */
      if (rep)
        freeReplyObject(rep);
      rep = loaded;
      goto out;
    }
    freeReplyObject(loaded);
  }
  if (rep && !noscript_reply(rep))
    e->loaded_epoch = r->script_epoch;
out:
  eval_args_free(&a);
  return rep;
}

int redis_append_eval(redis_t *r, const redis_script_t *script, int nkeys, int argc,
                      const char **argv, const size_t *argvlen, char *errstr, size_t errstr_size) {
  /* Connect first: a new connection changes the epoch that says what is loaded. */
  if (redis_connect(r, errstr, errstr_size) != 0)
    return -1;
  script_sha_t tmp, *e = script_entry(r, script, &tmp);
  eval_args_t a;
  if (!e) {
    set_err(r, 0, errstr, errstr_size, "cannot compute a script's SHA-1");
    return -1;
  }
  int known = e->loaded_epoch == r->script_epoch;
  if (eval_args_init(r, &a, known ? "EVALSHA" : "EVAL", known ? e->sha : script->source, nkeys,
                     argc, argv, argvlen, errstr, errstr_size) != 0)
    return -1;
  int rc = redis_append(r, a.argc, a.argv, a.len, errstr, errstr_size);
  if (rc == 0)
    e->loaded_epoch = r->script_epoch; /* later commands of the pipeline run after this one */
  eval_args_free(&a);
  return rc;
}
