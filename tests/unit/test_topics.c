/* test_topics — schemas/topics.yaml as every program reads it (each stage
 * topic routes its bad messages to a dead-letter topic of the file), and the
 * loader's refusals of broken files, each with a message naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topics.h"

static void test_repository_file(void **state) {
  (void)state;
  char path[4096], err[512];
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(path, sizeof(path), "%s/schemas/topics.yaml", src ? src : ".");
  topics_t *t = topics_load(path, err, sizeof(err));
  if (!t)
    fail_msg("%s", err);
  assert_int_equal(topics_count(t), 13);
  const topic_info_t *c = topics_find(t, "clean.social");
  assert_non_null(c);
  assert_int_equal(c->partitions, 6);
  assert_string_equal(c->key, "post_id");
  assert_string_equal(c->schema, "clean_social_post.json");
  assert_string_equal(c->dead_letters, "dead-letters-social");
  const topic_info_t *o = topics_find(t, "sink.snowflake.orders");
  assert_string_equal(o->dead_letters, "dead-letters-market");
  assert_null(topics_find(t, "audit.privacy")->key); /* key: null */
  assert_null(topics_find(t, "dead-letters-market")->dead_letters);
  assert_null(topics_find(t, "no.such.topic"));
  assert_true(topics_find(t, "source.market.daraz")->ingest);
  assert_true(topics_find(t, "context.weather")->ingest);
  assert_false(c->ingest); /* clean.social is written behind privacy-shield only */
  /* Every topic but the dead-letter ones routes somewhere that exists. */
  for (size_t i = 0; i < topics_count(t); i++) {
    const topic_info_t *ti = topics_at(t, i);
    if (strncmp(ti->name, "dead-letters-", 13) == 0)
      continue;
    assert_non_null(ti->dead_letters);
    assert_non_null(topics_find(t, ti->dead_letters));
  }
  topics_destroy(t);
}

static void test_refusals(void **state) {
  (void)state;
  static const struct {
    const char *yaml, *want;
  } cases[] = {
      {"topics:\n  - {name: a, partitions: 1}\n  - {name: a, partitions: 2}\n",
       "duplicate topic a"},
      {"topics:\n  - {name: 'bad name', partitions: 1}\n", "invalid name"},
      {"topics:\n  - {name: a, partitions: 0}\n", "partitions must be 1..10000"},
      {"topics:\n  - {name: a, partitions: 10001}\n", "partitions must be 1..10000"},
      {"topics:\n  - {name: a}\n", "partitions must be"},
      {"topics:\n  - {name: a, partitions: 1, dead_letters: dlq}\n", "is not a topic of the file"},
      {"topics:\n  - {name: a, partitions: 1, dead_letters: b}\n"
       "  - {name: b, partitions: 1, dead_letters: a}\n",
       "has dead_letters itself"},
      {"topics:\n  - {name: a, partitions: 1, ingest: yes}\n", "ingest must be true or false"},
      {"topics: {}\n", "no \"topics\" sequence"},
      {"- a\n", "top level is not a mapping"},
      {"topics:\n  - just-a-string\n", "is not a mapping"},
      {"topics: [\n", "line 2: did not find expected node content"},
  };
  char path[] = "/tmp/test_topics_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    FILE *f = fopen(path, "w");
    fputs(cases[i].yaml, f);
    fclose(f);
    char err[512] = "";
    topics_t *t = topics_load(path, err, sizeof(err));
    if (t || !strstr(err, cases[i].want))
      fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, t ? "(loaded)" : err);
    assert_non_null(strstr(err, path)); /* the message names the file */
  }
  char err[512];
  assert_null(topics_load("/nonexistent/topics.yaml", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/topics.yaml"));
  remove(path);
}

static void test_names(void **state) {
  (void)state;
  assert_true(topics_name_valid("dead-letters-market"));
  assert_true(topics_name_valid("a_b.C-9"));
  assert_false(topics_name_valid(""));
  assert_false(topics_name_valid("."));
  assert_false(topics_name_valid(".."));
  assert_false(topics_name_valid("a/b"));
  char longname[251];
  memset(longname, 'x', 250);
  longname[250] = '\0';
  assert_false(topics_name_valid(longname));
  longname[249] = '\0';
  assert_true(topics_name_valid(longname));
  topics_destroy(NULL);
  assert_int_equal(topics_count(NULL), 0);
  assert_null(topics_find(NULL, "x"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_repository_file),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
