/* scraper_test — what the scraper unit tests share: a run wired to the
 * repository's topics.yaml and the contracts of the five source topics.
 * Header-only (static); include after <cmocka.h> and the scraper headers. */
#ifndef SENSORY_SCRAPER_TEST_H
#define SENSORY_SCRAPER_TEST_H

#include <stdio.h>

#include "kafka/topics.h"
#include "scraper_run.h"

/* Loads schemas_dir/topics.yaml into run->topics (freed by
 * test_scraper_fini) and adds the source topics. Returns 0 or fails the test. */
static inline int test_scraper_topics(scr_run_t *run, const char *schemas_dir) {
  static const char *const topics[] = {"source.social.tiktok", "source.social.facebook",
                                       "source.market.shopify", "source.market.daraz",
                                       "context.weather"};
  char path[4200], err[512];
  snprintf(path, sizeof(path), "%s/topics.yaml", schemas_dir);
  if (!(run->topics = topics_load(path, err, sizeof(err))))
    fail_msg("%s", err);
  for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
    if (scr_run_add_topic(run, schemas_dir, topics[i], err, sizeof(err)) != 0)
      fail_msg("%s", err);
  return 0;
}

static inline void test_scraper_fini(scr_run_t *run) {
  scr_run_fini(run);
  topics_destroy((topics_t *)run->topics);
  run->topics = NULL;
}

#endif
