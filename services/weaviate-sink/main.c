/* weaviate-sink: sink.weaviate.vectors → one object per post in the vector
 * store (Weaviate, or the social_posts table of the local PostgreSQL),
 * upserted by its UUIDv5 id, deleted by a tombstone. */
#include "core/log.h"
#include "core/service.h"
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
  service_t svc;
  post_sink_t *sink = NULL;
  char errstr[1024];

  if (service_init(&svc, "weaviate-sink", "sink.weaviate.vectors", own, 3, argc, argv, usage, 0) !=
      0)
    goto out;
  if (!(sink = post_sink_new(&cfg, &wv, &pg, svc.stage.group_id, svc.metrics, &svc.exit_code,
                             errstr, sizeof(errstr)))) {
    log_error(svc.exit_code == 2 ? "config" : "store", "cannot start: %s", errstr);
    goto out;
  }
  stage_sink_t st;
  post_sink_stage(sink, &st);
  stage_options_t opts = {.sink = &st, .ctx = sink};
  service_stage_options(&svc, &opts);
  svc.exit_code = stage_run(&svc.stage, &opts);
out:
  post_sink_destroy(sink);
  service_fini(&svc, own, 3);
  return svc.exit_code;
}
