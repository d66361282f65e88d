/* weaviate-sink: sink.weaviate.vectors → one object per post in the vector
 * store (Weaviate, or the social_posts table of the local PostgreSQL),
 * upserted by its UUIDv5 id, deleted by a tombstone. */
#include "app/app.h"
#include "core/log.h"
#include "post_sink.h"

static const char usage[] =
    "usage: weaviate-sink [--config FILE] [options]\n"
    "       weaviate-sink --stdio --topic sink.weaviate.vectors --dlq-file DLQ.jsonl < "
    "vectors.jsonl\n"
    "\n"
    "Writes every vector record to the store chosen by sink.backend: weaviate (class\n"
    "SocialPost, POST /v1/batch/objects) or postgres (table social_posts). A tombstone\n"
    "(or, on --stdio, {\"post_id\": ID, \"deleted\": true}) deletes the post's object.";

int main(int argc, char **argv) {
  post_sink_config_t cfg = {0};
  weaviate_settings_t wv = {0};
  pg_settings_t pg = {0};
  conf_section_t own[] = {
      {post_sink_conf_entries(), &cfg}, {weaviate_conf_entries(), &wv}, {pg_conf_entries(), &pg}};
  app_spec_t spec = {.name = "weaviate-sink",
                     .usage = usage,
                     .uses = APP_SINK | APP_DLQ_KEY | APP_METRICS,
                     .sink_batch = {.records = 500, .bytes = 8388608, .age_ms = 1000},
                     .default_topics = "sink.weaviate.vectors",
                     .sections = own,
                     .nsections = 3};
  app_t app;
  post_sink_t *sink = NULL;
  char errstr[1024], contract[4096];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  if (!app_schema_path(&app, "vector_record.json", contract, sizeof(contract)) ||
      !(sink = post_sink_new(&cfg, contract, &wv, &pg, app.stage.group_id, app.metrics,
                             &app.exit_code, errstr, sizeof(errstr)))) {
    log_error(app.exit_code == 2 ? "config" : "store", "cannot start: %s", errstr);
    goto out;
  }
  stage_sink_t st;
  post_sink_stage(sink, &st);
  app_sink_limits(&app, &st);
  stage_options_t opts = {.sink = &st, .ctx = sink};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:;
  int code = app.exit_code;
  post_sink_destroy(sink);
  app_fini(&app);
  return code;
}
