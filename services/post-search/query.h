/* query — post-search's settings and what it makes of them: the flags of
 * the command line (--limit, --alpha, --platform, --since, --json, --like,
 * --fusion, --model-dir, ...), checked before anything is loaded or
 * connected, and the run: embed the query with the embedder's own model
 * code, search the store chosen by sink.backend, print.
 */
#ifndef SENSORY_QUERY_H
#define SENSORY_QUERY_H

#include <stdint.h>

#include "core/config.h"
#include "store/pg.h"
#include "store/weaviate.h"

typedef struct ps_config {
  int64_t limit;
  double alpha;
  char *platform, *since, *like, *fusion, *model_dir, *backend;
  int64_t candidates, max_tokens;
  int json, timing;
} ps_config_t;

const conf_entry_t *ps_conf_entries(void);

/* A checked query. */
typedef struct ps_plan {
  const char *text; /* the query text (NULL with --like) */
  int fusion;
  double alpha;   /* --alpha, or its default (0.5; 1 with --like) */
  char since[40]; /* normalised RFC 3339, "" for none */
} ps_plan_t;

/* Checks the settings and the positional arguments (exactly one query, or
 * none with --like). Returns 0, or -1 with errstr (the caller exits 2). */
int ps_check(const ps_config_t *c, char **args, size_t nargs, ps_plan_t *plan, char *errstr,
             size_t errstr_size);

/* Runs the search and prints the results on stdout. Returns the exit code:
 * 0 (also for no result), 1 (the store or model failed, --like post not
 * found); messages go to stderr. */
int ps_run(const ps_config_t *c, const ps_plan_t *plan, const weaviate_settings_t *ws,
           const pg_settings_t *pgs);

#endif
