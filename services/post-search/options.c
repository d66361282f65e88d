/* options: post-search's settings table and the checks of the flags and
 * the query, before anything is loaded or connected. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "ranking.h"

static const conf_entry_t entries[] = {
    {.key = "limit",
     .type = CONF_INT,
     .def = "10",
     .offset = offsetof(ps_config_t, limit),
     .min = 1,
     .max = 1000,
     .doc = "how many posts to show"},
    {.key = "alpha",
     .type = CONF_DOUBLE,
     .def = "-1",
     .offset = offsetof(ps_config_t, alpha),
     .doc = "weight of the vector search against the keyword search, as in Weaviate: 1 pure "
            "vector, 0 pure keyword; unset (-1): 0.5 for a query, 1 for --like"},
    {.key = "platform",
     .type = CONF_STRING,
     .offset = offsetof(ps_config_t, platform),
     .doc = "only posts of this platform (tiktok, facebook)"},
    {.key = "since",
     .type = CONF_STRING,
     .offset = offsetof(ps_config_t, since),
     .doc = "only posts from this day (YYYY-MM-DD, UTC) or time (RFC 3339) on"},
    {.key = "json",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(ps_config_t, json),
     .doc = "print JSON lines instead of the table"},
    {.key = "like",
     .type = CONF_STRING,
     .offset = offsetof(ps_config_t, like),
     .doc = "find posts similar to the stored post with this post id (instead of a query)"},
    {.key = "fusion",
     .type = CONF_STRING,
     .def = "relativeScoreFusion",
     .offset = offsetof(ps_config_t, fusion),
     .doc = "how the two searches combine: relativeScoreFusion or rankedFusion"},
    {.key = "search.candidates",
     .env = "SEARCH_CANDIDATES",
     .type = CONF_INT,
     .def = "100",
     .offset = offsetof(ps_config_t, candidates),
     .min = 1,
     .max = 100000,
     .doc = "candidates each search keeps before fusion (Weaviate's "
            "QUERY_HYBRID_MAXIMUM_RESULTS); at least --limit"},
    {.key = "model.dir",
     .env = "MODEL_DIR",
     .type = CONF_STRING,
     .offset = offsetof(ps_config_t, model_dir),
     .doc = "the embedder's model directory (config.json, vocab.txt, model.safetensors)"},
    {.key = "model.max_tokens",
     .env = "MODEL_MAX_TOKENS",
     .type = CONF_INT,
     .def = "256",
     .offset = offsetof(ps_config_t, max_tokens),
     .min = 2,
     .max = 512,
     .doc = "as the embedder's: longer queries are truncated"},
    {.key = "sink.backend",
     .env = "SINK_BACKEND",
     .type = CONF_STRING,
     .def = "postgres",
     .offset = offsetof(ps_config_t, backend),
     .doc = "the store weaviate-sink writes: weaviate or postgres"},
    {.key = "timing",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(ps_config_t, timing),
     .doc = "print the time of model load, embedding and search on stderr (JSON)"},
    {0},
};

const conf_entry_t *ps_conf_entries(void) {
  return entries;
}

int ps_check(const ps_config_t *c, char **args, size_t nargs, ps_plan_t *plan, char *errstr,
             size_t errstr_size) {
  memset(plan, 0, sizeof(*plan));
  int like = c->like && *c->like;
  if (like ? nargs != 0 : nargs != 1) {
    snprintf(errstr, errstr_size,
             like ? "--like takes the place of the query: give one or the other"
                  : "give one query (quoted), or --like POST_ID");
    return -1;
  }
  plan->text = like ? NULL : args[0];
  if (plan->text && !*plan->text) {
    snprintf(errstr, errstr_size, "the query is empty");
    return -1;
  }
  /* Unset: a query weighs both searches alike; --like is "posts near this
   * one", a vector question (the post itself is then first for sure). */
  plan->alpha = c->alpha == -1 ? (like ? 1.0 : 0.5) : c->alpha;
  if (!(plan->alpha >= 0 && plan->alpha <= 1)) {
    snprintf(errstr, errstr_size, "--alpha must be between 0 (keyword) and 1 (vector)");
    return -1;
  }
  if (strcmp(c->fusion, "relativeScoreFusion") == 0)
    plan->fusion = RANK_RELATIVE;
  else if (strcmp(c->fusion, "rankedFusion") == 0)
    plan->fusion = RANK_RANKED;
  else {
    snprintf(errstr, errstr_size, "--fusion must be relativeScoreFusion or rankedFusion");
    return -1;
  }
  if (c->platform && strcmp(c->platform, "tiktok") != 0 && strcmp(c->platform, "facebook") != 0) {
    snprintf(errstr, errstr_size, "--platform must be tiktok or facebook");
    return -1;
  }
  if (c->since && *c->since) {
    int64_t ms;
    char buf[64];
    size_t n = strlen(c->since);
    if (n == 10)
      snprintf(buf, sizeof(buf), "%sT00:00:00Z", c->since);
    else
      snprintf(buf, sizeof(buf), "%.63s", c->since);
    if (n > 40 || clock_parse_rfc3339_ms(buf, &ms) != 0) {
      snprintf(errstr, errstr_size, "--since must be a day (2026-11-01) or an RFC 3339 time");
      return -1;
    }
    clock_format_ms(ms, plan->since, sizeof(plan->since));
  }
  if (strcmp(c->backend, "postgres") != 0 && strcmp(c->backend, "weaviate") != 0) {
    snprintf(errstr, errstr_size, "sink.backend (SINK_BACKEND) must be weaviate or postgres");
    return -1;
  }
  if ((!like && plan->alpha > 0) && (!c->model_dir || !*c->model_dir)) {
    snprintf(errstr, errstr_size,
             "--model-dir (MODEL_DIR) is needed to embed the query (or --alpha 0: keywords only)");
    return -1;
  }
  return 0;
}
