/* post-search: the analysts' command — a hybrid (keyword + vector) search
 * over the posts weaviate-sink stored, in Weaviate or PostgreSQL. */
#include <stdio.h>

#include "app/app.h"
#include "query.h"

static const char usage[] =
    "usage: post-search \"price too high for raincoat\" [--limit 10] [--alpha 0.5]\n"
    "                   [--platform tiktok] [--since 2026-11-01] [--json]\n"
    "       post-search --like POST_ID [--limit 10] [...]\n"
    "\n"
    "Embeds the query with the embedder's model (--model-dir / MODEL_DIR) and ranks the\n"
    "stored posts by keyword and vector similarity, weighted by alpha as Weaviate does\n"
    "(1: vector only, 0: keywords only). --like ranks posts similar to a stored post (the\n"
    "post itself first). The store is the one weaviate-sink writes (sink.backend).\n"
    "Exit: 0 (also when nothing matches), 1 the store or model failed, 2 bad usage.";

int main(int argc, char **argv) {
  ps_config_t cfg = {0};
  weaviate_settings_t wv = {0};
  pg_settings_t pg = {0};
  conf_section_t own[] = {
      {ps_conf_entries(), &cfg}, {weaviate_conf_entries(), &wv}, {pg_conf_entries(), &pg}};
  app_spec_t spec = {
      .name = "post-search", .usage = usage, .uses = APP_ARGS, .sections = own, .nsections = 3};
  app_t app;
  ps_plan_t plan;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  if (ps_check(&cfg, app.conf.args, app.conf.arg_count, &plan, errstr, sizeof(errstr)) != 0) {
    fprintf(stderr, "post-search: %s\n", errstr);
    app.exit_code = 2;
    goto out;
  }
  app.exit_code = ps_run(&cfg, &plan, &wv, &pg);
out:;
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
