/* test_redis — the shared Redis client without a server: URL parsing (users,
 * passwords with '@' and '%40', IPv6, db, bad ports, rediss:// refused; no
 * error repeats the userinfo), the settings table, redis_new (password file
 * beats the URL, errors name the setting), the client's refusals and back-off
 * against a closed port, and the hex helpers the URL decoding uses. The
 * client against real servers: tests/integration/redis_client.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "net/redis.h"

static void test_url_good(void **state) {
  (void)state;
  static const struct {
    const char *url, *host, *user, *password;
    int port, db;
  } cases[] = {
      {"redis://127.0.0.1:6380/2", "127.0.0.1", "", "", 6380, 2},
      {"redis://redis", "redis", "", "", 6379, 0},
      {"redis://redis/", "redis", "", "", 6379, 0},
      {"redis://sensory-redis:6379/0", "sensory-redis", "", "", 6379, 0},
      /* userinfo: ACL user and password, password only, redis-cli's lone password */
      {"redis://enricher:pw@h:7000/1", "h", "enricher", "pw", 7000, 1},
      {"redis://:pw@h", "h", "", "pw", 6379, 0},
      {"redis://secret@h", "h", "", "secret", 6379, 0},
      {"redis://user:@h", "h", "user", "", 6379, 0},
      {"redis://@h", "h", "", "", 6379, 0},
      /* '@' in a password, escaped or not (the last '@' ends the userinfo) */
      {"redis://:s3cr%40t@redis", "redis", "", "s3cr@t", 6379, 0},
      {"redis://:s3cr@t@redis", "redis", "", "s3cr@t", 6379, 0},
      {"redis://u%3An:p%2Fw%3A%25@h", "h", "u:n", "p/w:%", 6379, 0},
      {"redis://u:p/w:x@h:1/3", "h", "u", "p/w:x", 1, 3},
      {"redis://u:P%c3%a4ss@h", "h", "u", "P\xc3\xa4ss", 6379, 0},
      /* IPv6 */
      {"redis://enricher:pw@[::1]:7000/", "::1", "enricher", "pw", 7000, 0},
      {"redis://[::1]/5", "::1", "", "", 6379, 5},
      {"redis://h:65535/100000", "h", "", "", 65535, 100000},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    redis_url_t u;
    char err[256] = "";
    if (redis_url_parse(cases[i].url, &u, err, sizeof(err)) != 0)
      fail_msg("%s: %s", cases[i].url, err);
    assert_string_equal(u.host, cases[i].host);
    assert_string_equal(u.user, cases[i].user);
    assert_string_equal(u.password, cases[i].password);
    assert_int_equal(u.port, cases[i].port);
    assert_int_equal(u.db, cases[i].db);
  }
}

static void test_url_bad(void **state) {
  (void)state;
  /* Every password here holds "topsecret": no message may repeat it. */
  static const struct {
    const char *url, *why;
  } cases[] = {
      {"rediss://:topsecret@h", "rediss:// (TLS) is not supported"},
      {"http://h", "must look like redis://"},
      {"", "is empty"},
      {"redis://", "missing or too long host"},
      {"redis://:topsecret@", "missing or too long host"},
      {"redis://:topsecret@:6379", "missing or too long host"},
      {"redis://:topsecret@h:99999", "port must be 1..65535"},
      {"redis://:topsecret@h:0", "port must be 1..65535"},
      {"redis://:topsecret@h:", "port must be 1..65535"},
      {"redis://:topsecret@h:-1", "port must be 1..65535"},
      {"redis://:topsecret@h:63x", "port must be 1..65535"},
      {"redis://:topsecret@[::1]x", "port must be 1..65535"},
      {"redis://:topsecret@h/x", "database must be a number"},
      {"redis://:topsecret@h/0?timeout=1", "database must be a number"},
      {"redis://:topsecret@h/100001", "database must be a number"},
      {"redis://:topsecret@[::1", "unterminated [IPv6] host"},
      {"redis://:topsecret@::1:6379", "an IPv6 host needs brackets"},
      {"redis://:topsecret%4@h", "bad %-escape"},
      {"redis://:topsecret%zz@h", "bad %-escape"},
      {"redis://:topsecret%00@h", "bad %-escape"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    redis_url_t u;
    char err[256] = "";
    if (redis_url_parse(cases[i].url, &u, err, sizeof(err)) != -1)
      fail_msg("%s: accepted", cases[i].url);
    if (!strstr(err, cases[i].why))
      fail_msg("%s: \"%s\" does not say \"%s\"", cases[i].url, err, cases[i].why);
    assert_null(strstr(err, "topsecret"));
    assert_string_equal(u.password, ""); /* nothing left behind */
  }
  /* Length limits: one byte under fits, the limit itself does not. */
  char url[1200], err[256];
  redis_url_t u;
  memset(url, 0, sizeof(url));
  memcpy(url, "redis://:", 9);
  memset(url + 9, 'p', sizeof(u.password) - 1);
  strncat(url, "@h", sizeof(url) - strlen(url) - 1);
  assert_int_equal(redis_url_parse(url, &u, err, sizeof(err)), 0);
  assert_int_equal(strlen(u.password), sizeof(u.password) - 1);
  memset(url + 9, 'p', sizeof(u.password));
  memcpy(url + 9 + sizeof(u.password), "@h", 3);
  assert_int_equal(redis_url_parse(url, &u, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "too long"));
}

static const char *entry_def(const conf_entry_t *e, const char *key, const char **env) {
  for (; e->key; e++)
    if (strcmp(e->key, key) == 0) {
      *env = e->env;
      return e->def ? e->def : "";
    }
  fail_msg("no setting %s", key);
  return NULL;
}

static void test_settings_table(void **state) {
  (void)state;
  const char *env = NULL;
  assert_string_equal(entry_def(redis_conf_entries(), "redis.url", &env), "redis://127.0.0.1:6379");
  assert_string_equal(env, "REDIS_URL");
  entry_def(redis_conf_entries(), "redis.password_file", &env);
  assert_string_equal(env, "REDIS_PASSWORD_FILE");
  assert_string_equal(entry_def(redis_conf_entries(), "redis.connect_timeout_ms", &env), "2000");
  assert_string_equal(env, "REDIS_CONNECT_TIMEOUT_MS");
  assert_string_equal(entry_def(redis_conf_entries(), "redis.command_timeout_ms", &env), "2000");
  assert_string_equal(env, "REDIS_COMMAND_TIMEOUT_MS");

  /* Loaded as one section: the env overrides the default. */
  redis_settings_t s = {0};
  conf_section_t sec[] = {{redis_conf_entries(), &s}};
  conf_result_t res = {0};
  char err[256];
  char *argv[] = {"prog", "--redis-command-timeout-ms", "300", NULL};
  setenv("REDIS_URL", "redis://from-env:1/2", 1);
  assert_int_equal(conf_load(sec, 1, 3, argv, "usage", "v", &res, err, sizeof(err)), CONF_OK);
  unsetenv("REDIS_URL");
  assert_string_equal(s.url, "redis://from-env:1/2");
  assert_null(s.password_file);
  assert_int_equal(s.connect_timeout_ms, 2000);
  assert_int_equal(s.command_timeout_ms, 300);
  conf_free(&sec[0]);
  conf_result_free(&res);
  char *bad[] = {"prog", "--redis-connect-timeout-ms", "0", NULL};
  assert_int_equal(conf_load(sec, 1, 3, bad, "usage", "v", &res, err, sizeof(err)), CONF_ERROR);
  conf_free(&sec[0]);
  conf_result_free(&res);
}

/* Writes content to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *content) {
  static char path[64];
  snprintf(path, sizeof(path), "/tmp/test_redis_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  return path;
}

static void test_new(void **state) {
  (void)state;
  char err[512];
  redis_settings_t s = {.url = "redis://:topsecret@h:99999"};
  assert_null(redis_new(&s, err, sizeof(err)));
  assert_non_null(strstr(err, "redis.url (REDIS_URL): port must be 1..65535"));
  assert_null(strstr(err, "topsecret"));

  s.url = "redis://enricher:@h";
  assert_null(redis_new(&s, err, sizeof(err)));
  assert_non_null(strstr(err, "the ACL user needs a password"));

  s.password_file = "/nonexistent/redis.pass";
  assert_null(redis_new(&s, err, sizeof(err)));
  assert_non_null(strstr(err, "redis.password_file (REDIS_PASSWORD_FILE): "));

  /* A file (its newline dropped) completes the user's URL; the address for logs. */
  const char *path = temp_file("filesecret\n");
  s.password_file = (char *)path;
  redis_t *r = redis_new(&s, err, sizeof(err));
  assert_non_null(r);
  assert_string_equal(redis_address(r), "h:6379");
  assert_int_equal(redis_connected(r), 0);
  redis_destroy(r);
  unlink(path);

  s = (redis_settings_t){.url = "redis://[::1]:7000"};
  assert_non_null(r = redis_new(&s, err, sizeof(err)));
  assert_string_equal(redis_address(r), "[::1]:7000");
  redis_destroy(r);
  redis_destroy(NULL);
}

/* Against a port where nothing listens: the connect fails, a second call
 * within the back-off fails at once, and the misuse checks answer without
 * touching the network. */
static void test_closed_port(void **state) {
  (void)state;
  char err[512];
  const char *path = temp_file("pw-in-file\n");
  redis_settings_t s = {.url = "redis://:pw-in-url@127.0.0.1:1/4",
                        .password_file = (char *)path,
                        .connect_timeout_ms = 500,
                        .backoff_initial_ms = 60000};
  redis_t *r = redis_new(&s, err, sizeof(err));
  unlink(path);
  assert_non_null(r);
  assert_int_equal(redis_connect(r, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "connect 127.0.0.1:1: "));
  const char *argv[] = {"PING"};
  assert_null(redis_command(r, 1, argv, NULL, err, sizeof(err)));
  assert_non_null(strstr(err, "redis 127.0.0.1:1 unavailable (back-off 60000 ms"));
  assert_non_null(strstr(err, "connect 127.0.0.1:1: ")); /* and why */
  assert_int_equal(redis_append(r, 1, argv, NULL, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "unavailable"));
  assert_null(redis_reply(r, err, sizeof(err)));
  assert_non_null(strstr(err, "no pipelined command waiting"));
  static const redis_script_t script = {"return 1"};
  const char *args[] = {"k"};
  assert_null(redis_eval(r, &script, 2, 1, args, NULL, err, sizeof(err)));
  assert_non_null(strstr(err, "2 keys among 1 arguments"));
  assert_null(redis_eval(r, &script, 1, 1, args, NULL, err, sizeof(err)));
  assert_non_null(strstr(err, "unavailable"));
  assert_null(strstr(err, "pw-in"));
  redis_destroy(r);
}

static void test_hex(void **state) {
  (void)state;
  static const char digits[] = "0123456789abcdefABCDEF";
  for (int c = 0; c < 256; c++) {
    const char *p = c ? strchr(digits, c) : NULL;
    int want = !p ? -1 : p - digits < 16 ? (int)(p - digits) : (int)(p - digits) - 6;
    assert_int_equal(hex_value((char)c), want);
  }
  const unsigned char in[] = {0x00, 0x7f, 0x80, 0xab, 0xff};
  char out[11];
  assert_int_equal(hex_encode(in, sizeof(in), out, sizeof(out), HEX_LOWER), 0);
  assert_string_equal(out, "007f80abff");
  assert_int_equal(hex_encode(in, sizeof(in), out, sizeof(out), HEX_UPPER), 0);
  assert_string_equal(out, "007F80ABFF");
  assert_int_equal(hex_encode(in, sizeof(in), out, sizeof(out) - 1, HEX_LOWER), -1);
  assert_string_equal(out, "");
  assert_int_equal(hex_encode(NULL, 0, out, 1, HEX_LOWER), 0);
  assert_string_equal(out, "");
  assert_int_equal(hex_encode(in, 1, out, 0, HEX_LOWER), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_url_good),       cmocka_unit_test(test_url_bad),
      cmocka_unit_test(test_settings_table), cmocka_unit_test(test_new),
      cmocka_unit_test(test_closed_port),    cmocka_unit_test(test_hex),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
