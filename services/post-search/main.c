/* post-search: the analysts' command — a hybrid (keyword + vector) search
 * over the posts weaviate-sink stored, in Weaviate or PostgreSQL. */
#include <stdio.h>

#include "core/log.h"
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
  conf_section_t sections[] = {
      {ps_conf_entries(), &cfg}, {weaviate_conf_entries(), &wv}, {pg_conf_entries(), &pg}};
  conf_result_t res = {0};
  ps_plan_t plan;
  char errstr[1024] = "";
  int rc = 2;

  log_init("post-search", LOG_LEVEL_WARN);
  int lrc = conf_load(sections, 3, argc, argv, usage, "post-search " SENSORY_VERSION, &res, errstr,
                      sizeof(errstr));
  if (lrc == CONF_EXIT) {
    rc = 0;
    goto out;
  }
  log_level_t level;
  if (lrc != CONF_OK || ps_check(&cfg, res.args, res.arg_count, &plan, errstr, sizeof(errstr)) ||
      log_level_parse(cfg.log_level, &level) != 0) {
    fprintf(stderr, "post-search: %s\n", lrc != CONF_OK || errstr[0] ? errstr : "bad log.level");
    goto out;
  }
  log_init("post-search", level);
  rc = ps_run(&cfg, &plan, &wv, &pg);
out:
  for (size_t i = 0; i < 3; i++)
    conf_free(&sections[i]);
  conf_result_free(&res);
  return rc;
}
