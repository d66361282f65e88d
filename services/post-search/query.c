/* query: the run of post-search — model load, embedding of the query with
 * the embedder's own code, the search in the chosen store, the output —
 * with the time of each step for --timing. */
#include "query.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/uuid.h"
#include "embedder.h"
#include "search.h"

static double ms_since(double t0) {
  return (clock_mono() - t0) * 1000.0;
}

int ps_run(const ps_config_t *c, const ps_plan_t *plan, const weaviate_settings_t *ws,
           const pg_settings_t *pgs) {
  char errstr[1024];
  int rc = 1, weaviate = strcmp(c->backend, "weaviate") == 0;
  double t_start = clock_mono(), t_load = 0, t_embed = 0;
  embedder_t *emb = NULL;
  pg_t *pg = NULL, *kw_pg = NULL;
  weaviate_t *w = NULL;
  float *vec = NULL;
  char *like_text = NULL;
  ps_row_t *rows = NULL;
  size_t nrows = 0, dim = 0;
  uint8_t pin[16];
  ps_query_t q = {.text = plan->text,
                  .alpha = plan->alpha,
                  .fusion = plan->fusion,
                  .limit = (size_t)c->limit,
                  .pool = (size_t)(c->candidates > c->limit ? c->candidates : c->limit),
                  .platform = c->platform && *c->platform ? c->platform : NULL,
                  .since = plan->since[0] ? plan->since : NULL};

  /* The store first: a wrong URL fails before the model is loaded. */
  if (weaviate) {
    if (!(w = weaviate_new(ws, "post-search/" SENSORY_VERSION, errstr, sizeof(errstr))))
      goto fail;
  } else if (!(pg = pg_new(pgs, "post-search", errstr, sizeof(errstr))) ||
             pg_connect(pg, errstr, sizeof(errstr)) != 0) {
    goto fail;
  }
  if (c->like && *c->like) {
    int found = weaviate ? ps_wv_like(w, c->like, &vec, &dim, &like_text, errstr, sizeof(errstr))
                         : ps_pg_like(pg, c->like, &vec, &dim, &like_text, errstr, sizeof(errstr));
    if (found < 0)
      goto fail;
    if (found == 0) {
      fprintf(stderr, "post-search: no stored post with post id %s\n", c->like);
      goto out;
    }
    char id[UUID_STR_LEN];
    uuid_v5(embedder_uuid_namespace, c->like, strlen(c->like), id);
    uuid_parse(id, 36, pin);
    q.pin = pin;
    q.text = like_text;
    q.vector = vec;
    q.dim = dim;
  } else if (q.alpha > 0) {
    double t0 = clock_mono();
    /* One query is a small forward pass: one thread. Idle OpenMP workers
     * would spin on the cores PostgreSQL needs for the scan that follows. */
    openblas_set_num_threads(1);
    omp_set_num_threads(1);
    embedder_options_t eo = {.model_dir = c->model_dir, .max_tokens = (int)c->max_tokens};
    if (!(emb = embedder_new(&eo, errstr, sizeof(errstr))))
      goto fail;
    t_load = ms_since(t0);
    t0 = clock_mono();
    dim = (size_t)embedder_dim(emb);
    if (!(vec = malloc(dim * sizeof(float))) ||
        embedder_embed_batch(emb, &plan->text, NULL, 1, vec, NULL, errstr, sizeof(errstr)) != 0)
      goto fail;
    t_embed = ms_since(t0);
    q.vector = vec;
    q.dim = dim;
  }
  double t0 = clock_mono();
  /* Both legs on PostgreSQL: the keyword leg on a second connection, ranked
   * by the server while the vectors stream in on the first. */
  if (!weaviate && q.alpha > 0 && q.alpha < 1 && q.text && *q.text && q.vector &&
      ((kw_pg = pg_new(pgs, "post-search", errstr, sizeof(errstr))) == NULL ||
       pg_connect(kw_pg, errstr, sizeof(errstr)) != 0))
    goto fail;
  int src = weaviate ? ps_wv_search(w, &q, &rows, &nrows, errstr, sizeof(errstr))
                     : ps_pg_search(pg, kw_pg, &q, &rows, &nrows, errstr, sizeof(errstr));
  if (src != 0)
    goto fail;
  double t_search = ms_since(t0);
  if (c->json)
    ps_print_json(stdout, rows, nrows);
  else
    ps_print_table(stdout, rows, nrows);
  fflush(stdout);
  if (c->timing)
    fprintf(stderr,
            "{\"model_load_ms\":%.2f,\"embed_ms\":%.2f,\"search_ms\":%.2f,\"total_ms\":%.2f,"
            "\"results\":%zu}\n",
            t_load, t_embed, t_search, ms_since(t_start), nrows);
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "post-search: %s\n", errstr);
out:
  ps_rows_free(rows, nrows);
  free(vec);
  free(like_text);
  embedder_destroy(emb);
  pg_destroy(pg);
  pg_destroy(kw_pg);
  weaviate_destroy(w);
  return rc;
}
