/* config: defaults < YAML < environment < command line, typed values, errors
 * that name the setting, kafka pass-through, --help from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

typedef struct demo {
  char *brokers;
  char *topics;
  int64_t batch;
  int flag;
  double ratio;
  char *secret_file;
} demo_t;

static const conf_entry_t demo_entries[] = {
    {.key = "kafka.brokers",
     .env = "KAFKA_BROKERS",
     .type = CONF_STRING,
     .def = "localhost:9092",
     .offset = offsetof(demo_t, brokers),
     .doc = "brokers"},
    {.key = "input.topics",
     .env = "TEST_INPUT_TOPICS",
     .type = CONF_STRING,
     .def = "a,b",
     .offset = offsetof(demo_t, topics),
     .doc = "topics"},
    {.key = "batch.size",
     .env = "TEST_BATCH_SIZE",
     .type = CONF_INT,
     .def = "32",
     .offset = offsetof(demo_t, batch),
     .min = 1,
     .max = 1000,
     .doc = "batch"},
    {.key = "feature.flag",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(demo_t, flag),
     .doc = "flag"},
    {.key = "ratio",
     .type = CONF_DOUBLE,
     .def = "0.5",
     .offset = offsetof(demo_t, ratio),
     .doc = "ratio"},
    {.key = "secret.file",
     .env = "TEST_SECRET_FILE",
     .type = CONF_STRING,
     .offset = offsetof(demo_t, secret_file),
     .doc = "secret"},
    {.key = NULL},
};

static char yaml_path[256];

static void write_yaml(const char *text) {
  snprintf(yaml_path, sizeof(yaml_path), "/tmp/sensory-test-config-%d.yaml", (int)getpid());
  FILE *fp = fopen(yaml_path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void clear_env(void) {
  unsetenv("KAFKA_BROKERS");
  unsetenv("TEST_INPUT_TOPICS");
  unsetenv("TEST_BATCH_SIZE");
  unsetenv("TEST_SECRET_FILE");
  unsetenv("KAFKA_SECURITY_PROTOCOL");
}

/* Runs conf_load over argv (NULL-terminated list after argv[0]). */
static int load(demo_t *d, conf_result_t *r, char *err, size_t err_size, ...) {
  char *argv[32] = {"prog"};
  int argc = 1;
  va_list ap;
  va_start(ap, err_size);
  for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
    argv[argc++] = a;
  va_end(ap);
  memset(d, 0, sizeof(*d));
  conf_section_t s = {demo_entries, d};
  return conf_load(&s, 1, argc, argv, "usage: prog", "prog 1.0", r, err, err_size);
}

static void release(demo_t *d, conf_result_t *r) {
  conf_section_t s = {demo_entries, d};
  conf_free(&s);
  conf_result_free(r);
}

static void test_defaults(void **state) {
  (void)state;
  clear_env();
  demo_t d;
  conf_result_t r;
  char err[256];
  assert_int_equal(load(&d, &r, err, sizeof(err), NULL), CONF_OK);
  assert_string_equal(d.brokers, "localhost:9092");
  assert_int_equal(d.batch, 32);
  assert_int_equal(d.flag, 0);
  assert_true(d.ratio == 0.5);
  assert_null(d.secret_file);
  assert_int_equal(r.kafka_count, 0);
  release(&d, &r);
}

static void test_layers(void **state) {
  (void)state;
  clear_env();
  write_yaml("kafka:\n  brokers: yaml:1\n  security.protocol: SASL_SSL\n  sasl.mechanisms: PLAIN\n"
             "input:\n  topics: [x, y, z]\nbatch.size: 64\nfeature:\n  flag: yes\n");
  demo_t d;
  conf_result_t r;
  char err[256];
  /* YAML over defaults */
  assert_int_equal(load(&d, &r, err, sizeof(err), "--config", yaml_path, NULL), CONF_OK);
  assert_string_equal(d.brokers, "yaml:1");
  assert_string_equal(d.topics, "x,y,z");
  assert_int_equal(d.batch, 64);
  assert_int_equal(d.flag, 1);
  assert_int_equal(r.kafka_count, 2);
  release(&d, &r);

  /* environment over YAML, flag over environment; -X and KAFKA_* pass through */
  setenv("KAFKA_BROKERS", "env:2", 1);
  setenv("TEST_BATCH_SIZE", "128", 1);
  setenv("KAFKA_SECURITY_PROTOCOL", "SSL", 1);
  assert_int_equal(load(&d, &r, err, sizeof(err), "--config", yaml_path, "--batch-size=256", "-X",
                        "linger.ms=7", "positional", NULL),
                   CONF_OK);
  assert_string_equal(d.brokers, "env:2");
  assert_int_equal(d.batch, 256);
  int saw_protocol = 0, saw_linger = 0, saw_brokers = 0;
  for (size_t i = 0; i < r.kafka_count; i++) {
    if (strcmp(r.kafka[i].key, "security.protocol") == 0) {
      assert_string_equal(r.kafka[i].value, "SSL"); /* env beats YAML */
      saw_protocol = 1;
    }
    saw_linger |= strcmp(r.kafka[i].key, "linger.ms") == 0;
    saw_brokers |= strcmp(r.kafka[i].key, "brokers") == 0;
  }
  assert_true(saw_protocol && saw_linger);
  assert_false(saw_brokers); /* KAFKA_BROKERS belongs to a table entry */
  assert_int_equal(r.arg_count, 1);
  assert_string_equal(r.args[0], "positional");
  release(&d, &r);
  clear_env();
  unlink(yaml_path);
}

/* Each bad input: exact fragment the error must contain. */
static void test_errors(void **state) {
  (void)state;
  clear_env();
  struct {
    const char *yaml; /* NULL: no file */
    const char *flag; /* one extra argument, or NULL */
    const char *env_batch;
    const char *expect;
  } cases[] = {
      {"batch.size: 5000\n", NULL, NULL, "batch.size"},
      {"batch.size: 5000\n", NULL, NULL, "outside 1..1000"},
      {"batch.size: many\n", NULL, NULL, "'many' is not an integer"},
      {"bogus.key: 1\n", NULL, NULL, "unknown setting 'bogus.key'"},
      {"kafka: [unclosed\n", NULL, NULL, "line"},
      {NULL, "--no-such-flag", NULL, "unknown option --no-such-flag"},
      {NULL, "--feature-flag=maybe", NULL, "'maybe' is not true/false"},
      {NULL, NULL, "0", "env TEST_BATCH_SIZE"},
      {NULL, "--ratio=abc", NULL, "'abc' is not a number"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    demo_t d;
    conf_result_t r;
    char err[256] = "";
    if (cases[i].env_batch)
      setenv("TEST_BATCH_SIZE", cases[i].env_batch, 1);
    if (cases[i].yaml)
      write_yaml(cases[i].yaml);
    int rc = cases[i].yaml ? load(&d, &r, err, sizeof(err), "--config", yaml_path, NULL)
                           : load(&d, &r, err, sizeof(err), cases[i].flag, NULL);
    if (rc != CONF_ERROR || !strstr(err, cases[i].expect))
      fail_msg("case %zu: rc %d, error '%s', expected '%s'", i, rc, err, cases[i].expect);
    release(&d, &r);
    clear_env();
  }
  demo_t d;
  conf_result_t r;
  char err[256];
  assert_int_equal(load(&d, &r, err, sizeof(err), "--config", "/nonexistent/x.yaml", NULL),
                   CONF_ERROR);
  assert_non_null(strstr(err, "/nonexistent/x.yaml"));
  release(&d, &r);
}

static void test_required(void **state) {
  (void)state;
  clear_env();
  typedef struct {
    char *key_file;
  } req_t;
  static const conf_entry_t req_entries[] = {
      {.key = "privacy.hmac_key_file",
       .env = "TEST_HMAC_KEY_FILE",
       .type = CONF_STRING,
       .offset = offsetof(req_t, key_file),
       .required = 1,
       .doc = "key"},
      {.key = NULL},
  };
  req_t q = {0};
  conf_section_t s = {req_entries, &q};
  conf_result_t r;
  char err[256];
  char *argv[] = {"prog"};
  assert_int_equal(conf_load(&s, 1, 1, argv, "u", "v", &r, err, sizeof(err)), CONF_ERROR);
  assert_string_equal(err, "missing required setting privacy.hmac_key_file (yaml "
                           "privacy.hmac_key_file, env TEST_HMAC_KEY_FILE, "
                           "--privacy-hmac-key-file)");
  conf_free(&s);
  conf_result_free(&r);
  char *argv2[] = {"prog", "--privacy-hmac-key-file", "/run/key"};
  assert_int_equal(conf_load(&s, 1, 3, argv2, "u", "v", &r, err, sizeof(err)), CONF_OK);
  assert_string_equal(q.key_file, "/run/key");
  conf_free(&s);
  conf_result_free(&r);
}

static void test_help_lists_every_setting(void **state) {
  (void)state;
  clear_env();
  char path[] = "/tmp/sensory-help-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  demo_t d;
  conf_result_t r;
  char err[256];
  int rc = load(&d, &r, err, sizeof(err), "--help", NULL);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  assert_int_equal(rc, CONF_EXIT);
  FILE *fp = fopen(path, "r");
  char text[8192];
  size_t n = fread(text, 1, sizeof(text) - 1, fp);
  text[n] = '\0';
  fclose(fp);
  close(fd);
  unlink(path);
  const char *expect[] = {"usage: prog",    "--kafka-brokers",  "env: KAFKA_BROKERS",
                          "--batch-size",   "yaml: batch.size", "default: 32",
                          "--feature-flag", "--secret-file",    "-X PROPERTY=VALUE"};
  for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
    if (!strstr(text, expect[i]))
      fail_msg("--help lacks '%s'", expect[i]);
  release(&d, &r);
}

static void test_list_split(void **state) {
  (void)state;
  size_t n;
  char **l = conf_list_split(" a , b,,c ,", &n);
  assert_int_equal(n, 3);
  assert_string_equal(l[0], "a");
  assert_string_equal(l[1], "b");
  assert_string_equal(l[2], "c");
  assert_null(l[3]);
  conf_list_free(l);
  l = conf_list_split("", &n);
  assert_int_equal(n, 0);
  conf_list_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_layers),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_help_lists_every_setting),
      cmocka_unit_test(test_list_split),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
