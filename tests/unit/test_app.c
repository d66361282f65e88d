/* app: the one start-up — here, the settings it declares once for every sink
 * (APP_SINK): each program's defaults, environment and flags over them,
 * bounds that exit 2, and no such settings for a program that is no sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

static char schemas[4096];

static int setup(void **state) {
  (void)state;
  const char *src = getenv("SENSORY_SOURCE_DIR");
  snprintf(schemas, sizeof(schemas), "%s/schemas", src ? src : ".");
  setenv("SCHEMAS_DIR", schemas, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unsetenv("SINK_BATCH_RECORDS");
  unsetenv("SINK_BATCH_BYTES");
  unsetenv("SINK_BATCH_AGE_MS");
  return 0;
}

/* app_init with the given flags; returns its result, the app in *app. */
static int start(app_t *app, unsigned uses, app_sink_batch_t defaults, int argc, char **argv) {
  static app_spec_t spec;
  spec = (app_spec_t){.name = "test-app",
                      .usage = "test-app",
                      .uses = uses,
                      .default_topics = "sink.snowflake.orders",
                      .sink_batch = defaults};
  return app_init(app, &spec, argc, argv);
}

static void test_program_defaults(void **state) {
  (void)state;
  app_t app;
  char *argv[] = {"test-app", NULL};
  assert_int_equal(start(&app, APP_SINK, (app_sink_batch_t){2000, 4194304, 1000}, 1, argv), 0);
  assert_int_equal(app.sink_batch.records, 2000);
  assert_int_equal(app.sink_batch.bytes, 4194304);
  assert_int_equal(app.sink_batch.age_ms, 1000);
  /* APP_SINK implies the stage's settings */
  assert_string_equal(app.stage.group_id, "test-app");
  stage_sink_t sink = {0};
  app_sink_limits(&app, &sink);
  assert_int_equal(sink.max_records, 2000);
  assert_int_equal(sink.max_bytes, 4194304);
  assert_int_equal(sink.max_age_ms, 1000);
  app_fini(&app);
}

static void test_unset_defaults_are_the_stages(void **state) {
  (void)state;
  app_t app;
  char *argv[] = {"test-app", NULL};
  assert_int_equal(start(&app, APP_SINK, (app_sink_batch_t){.records = 100}, 1, argv), 0);
  assert_int_equal(app.sink_batch.records, 100);
  assert_int_equal(app.sink_batch.bytes, 4194304);
  assert_int_equal(app.sink_batch.age_ms, 1000);
  app_fini(&app);
}

static void test_environment_and_flags(void **state) {
  (void)state;
  app_t app;
  setenv("SINK_BATCH_AGE_MS", "150", 1);
  setenv("SINK_BATCH_RECORDS", "9", 1);
  char *argv[] = {"test-app", "--sink-batch-records", "7", "--sink-batch-bytes=65536", NULL};
  assert_int_equal(start(&app, APP_SINK, (app_sink_batch_t){500, 8388608, 1000}, 4, argv), 0);
  assert_int_equal(app.sink_batch.records, 7); /* the flag over the environment */
  assert_int_equal(app.sink_batch.bytes, 65536);
  assert_int_equal(app.sink_batch.age_ms, 150);
  app_fini(&app);
}

static void test_out_of_bounds_exits_2(void **state) {
  (void)state;
  app_t app;
  char *argv[] = {"test-app", NULL};
  setenv("SINK_BATCH_RECORDS", "0", 1);
  assert_int_equal(start(&app, APP_SINK, (app_sink_batch_t){0}, 1, argv), -1);
  assert_int_equal(app.exit_code, 2);
  app_fini(&app);
  unsetenv("SINK_BATCH_RECORDS");
  setenv("SINK_BATCH_AGE_MS", "600001", 1);
  assert_int_equal(start(&app, APP_SINK, (app_sink_batch_t){0}, 1, argv), -1);
  assert_int_equal(app.exit_code, 2);
  app_fini(&app);
}

static void test_no_sink_settings_for_other_stages(void **state) {
  (void)state;
  app_t app;
  char *argv[] = {"test-app", "--sink-batch-records", "7", NULL};
  assert_int_equal(start(&app, APP_STAGE, (app_sink_batch_t){0}, 3, argv), -1);
  assert_int_equal(app.exit_code, 2); /* an unknown flag, as for any typo */
  app_fini(&app);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_program_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unset_defaults_are_the_stages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_environment_and_flags, setup, teardown),
      cmocka_unit_test_setup_teardown(test_out_of_bounds_exits_2, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_sink_settings_for_other_stages, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
