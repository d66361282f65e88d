/* redis_probe — drives one net/redis.h client from lines on stdin, for
 * tests/integration/redis_client.sh (which keeps it as a coprocess while it
 * stops, restarts and stalls servers). Settings: the client's own table
 * (REDIS_URL, REDIS_PASSWORD_FILE, REDIS_CONNECT_TIMEOUT_MS,
 * REDIS_COMMAND_TIMEOUT_MS or the matching flags) plus --backoff-initial-ms
 * and --backoff-max-ms. One output line per input line, flushed:
 *
 *   connect                        ok | err TEXT
 *   connected                      1 | 0
 *   cmd ARG...                     REPLY | err TEXT
 *   append ARG...                  queued | err TEXT
 *   reply                          REPLY | err TEXT
 *   eval NAME NKEYS ARG...         REPLY | err TEXT   (scripts: incr, echo, bad)
 *   append_eval NAME NKEYS ARG...  queued | err TEXT
 *   sha NAME                       the script's SHA-1, computed here
 *
 * REPLY: +STATUS, :INTEGER, $STRING, (nil), -ERROR or *[A,B,...]; control
 * characters print as '.'. A bad setting exits 2 with the client's message.
 */
#include <openssl/sha.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/hex.h"
#include "net/redis.h"

static const conf_entry_t probe_entries[] = {
    {.key = "backoff.initial_ms",
     .type = CONF_INT,
     .def = "0",
     .offset = offsetof(redis_settings_t, backoff_initial_ms),
     .doc = "first back-off (0: the client's default)"},
    {.key = "backoff.max_ms",
     .type = CONF_INT,
     .def = "0",
     .offset = offsetof(redis_settings_t, backoff_max_ms),
     .doc = "back-off ceiling (0: the client's default)"},
    {.key = NULL},
};

static const redis_script_t incr_script = {"return redis.call('INCRBY', KEYS[1], ARGV[1])"};
static const redis_script_t echo_script = {"return ARGV[1]"};
static const redis_script_t bad_script = {"return +"};

static const redis_script_t *script_named(const char *name) {
  if (!name)
    return NULL;
  if (strcmp(name, "incr") == 0)
    return &incr_script;
  if (strcmp(name, "echo") == 0)
    return &echo_script;
  if (strcmp(name, "bad") == 0)
    return &bad_script;
  return NULL;
}

static void put_text(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    putchar((unsigned char)s[i] < 0x20 ? '.' : s[i]);
}

static void put_reply(const redisReply *r) {
  switch (r->type) {
  case REDIS_REPLY_STATUS:
    putchar('+');
    put_text(r->str, r->len);
    break;
  case REDIS_REPLY_ERROR:
    putchar('-');
    put_text(r->str, r->len);
    break;
  case REDIS_REPLY_INTEGER:
    printf(":%lld", (long long)r->integer);
    break;
  case REDIS_REPLY_STRING:
    putchar('$');
    put_text(r->str, r->len);
    break;
  case REDIS_REPLY_NIL:
    fputs("(nil)", stdout);
    break;
  case REDIS_REPLY_ARRAY:
    fputs("*[", stdout);
    for (size_t i = 0; i < r->elements; i++) {
      if (i)
        putchar(',');
      put_reply(r->element[i]);
    }
    putchar(']');
    break;
  default:
    printf("?%d", r->type);
  }
}

/* Prints and frees the reply, or the error. */
static void answer(redisReply *r, const char *errstr) {
  if (r) {
    put_reply(r);
    freeReplyObject(r);
  } else {
    printf("err %s", errstr);
  }
  putchar('\n');
}

int main(int argc, char **argv) {
  redis_settings_t s = {0};
  conf_section_t sec[] = {{redis_conf_entries(), &s}, {probe_entries, &s}};
  conf_result_t res = {0};
  char errstr[1024], line[4096];
  int code = 2;
  redis_t *r = NULL;

  signal(SIGPIPE, SIG_IGN); /* as signals_install() does in the programs */
  int rc = conf_load(sec, 2, argc, argv, "usage: redis_probe [options] < commands", "redis_probe",
                     &res, errstr, sizeof(errstr));
  if (rc != CONF_OK) {
    if (rc == CONF_ERROR)
      fprintf(stderr, "redis_probe: %s\n", errstr);
    code = rc == CONF_EXIT ? 0 : 2;
    goto out;
  }
  if (!(r = redis_new(&s, errstr, sizeof(errstr)))) {
    fprintf(stderr, "redis_probe: %s\n", errstr);
    goto out;
  }
  code = 0;
  while (fgets(line, sizeof(line), stdin)) {
    const char *w[64];
    int n = 0;
    for (char *p = line; *p && n < 64;) { /* words split on blanks, in place */
      p += strspn(p, " \t\r\n");
      if (!*p)
        break;
      w[n++] = p;
      p += strcspn(p, " \t\r\n");
      if (*p)
        *p++ = '\0';
    }
    if (n == 0)
      continue;
    errstr[0] = '\0';
    if (strcmp(w[0], "connect") == 0) {
      if (redis_connect(r, errstr, sizeof(errstr)) == 0)
        puts("ok");
      else
        printf("err %s\n", errstr);
    } else if (strcmp(w[0], "connected") == 0) {
      printf("%d\n", redis_connected(r));
    } else if (strcmp(w[0], "cmd") == 0 && n > 1) {
      answer(redis_command(r, n - 1, w + 1, NULL, errstr, sizeof(errstr)), errstr);
    } else if (strcmp(w[0], "append") == 0 && n > 1) {
      if (redis_append(r, n - 1, w + 1, NULL, errstr, sizeof(errstr)) == 0)
        puts("queued");
      else
        printf("err %s\n", errstr);
    } else if (strcmp(w[0], "reply") == 0) {
      answer(redis_reply(r, errstr, sizeof(errstr)), errstr);
    } else if ((strcmp(w[0], "eval") == 0 || strcmp(w[0], "append_eval") == 0) && n > 2 &&
               script_named(w[1])) {
      const redis_script_t *sc = script_named(w[1]);
      int nkeys = (int)strtol(w[2], NULL, 10);
      if (w[0][0] == 'e')
        answer(redis_eval(r, sc, nkeys, n - 3, w + 3, NULL, errstr, sizeof(errstr)), errstr);
      else if (redis_append_eval(r, sc, nkeys, n - 3, w + 3, NULL, errstr, sizeof(errstr)) == 0)
        puts("queued");
      else
        printf("err %s\n", errstr);
    } else if (strcmp(w[0], "sha") == 0 && n == 2 && script_named(w[1])) {
      const char *src = script_named(w[1])->source;
      unsigned char md[SHA_DIGEST_LENGTH];
      char hex[2 * SHA_DIGEST_LENGTH + 1];
      SHA1((const unsigned char *)src, strlen(src), md);
      hex_encode(md, sizeof(md), hex, sizeof(hex), HEX_LOWER);
      puts(hex);
    } else {
      printf("err unknown probe command %s\n", w[0]);
    }
    fflush(stdout);
  }
out:
  redis_destroy(r);
  conf_free(&sec[0]);
  conf_result_free(&res);
  return code;
}
