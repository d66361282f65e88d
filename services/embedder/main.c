/* embedder: enriched.social in, sink.weaviate.vectors out. Each post's
 * enriched_text becomes an all-MiniLM-L6-v2 sentence embedding computed in C
 * (WordPiece tokenizer, BERT forward over OpenBLAS, mean pooling, L2 norm),
 * batched dynamically by the stage loop. */
#include <cblas.h>
#include <stddef.h>
#include <stdlib.h>

#include "app/app.h"
#include "core/log.h"
#include "embedder.h"

typedef struct embedder_config {
  char *model_dir;
  char *model_id;
  int64_t max_tokens;
  int64_t batch_max;
  int64_t batch_tokens;
  int64_t batch_linger_ms;
  int64_t cache_entries;
  int64_t threads;
  int model_check;
} embedder_config_t;

static const conf_entry_t embedder_entries[] = {
    {.key = "model.dir",
     .env = "MODEL_DIR",
     .type = CONF_STRING,
     .offset = offsetof(embedder_config_t, model_dir),
     .required = 1,
     .doc = "Hugging Face model directory: config.json, vocab.txt, model.safetensors"},
    {.key = "model.id",
     .env = "MODEL_ID",
     .type = CONF_STRING,
     .def = "all-MiniLM-L6-v2",
     .offset = offsetof(embedder_config_t, model_id),
     .required = 1,
     .doc = "model name written in every record (and part of the cache key)"},
    {.key = "model.max_tokens",
     .env = "MODEL_MAX_TOKENS",
     .type = CONF_INT,
     .def = "256",
     .offset = offsetof(embedder_config_t, max_tokens),
     .min = 2,
     .max = 512,
     .doc = "longer texts are truncated (sentence-transformers max_seq_length)"},
    {.key = "batch.max_messages",
     .env = "EMBEDDER_BATCH_MAX",
     .type = CONF_INT,
     .def = "32",
     .offset = offsetof(embedder_config_t, batch_max),
     .min = 1,
     .max = 1024,
     .doc = "most posts per forward batch"},
    {.key = "batch.max_tokens",
     .env = "EMBEDDER_BATCH_TOKENS",
     .type = CONF_INT,
     .def = "8192",
     .offset = offsetof(embedder_config_t, batch_tokens),
     .min = 256,
     .max = 1048576,
     .doc = "most tokens per forward pass (a batch over this is split)"},
    {.key = "batch.linger_ms",
     .env = "EMBEDDER_BATCH_LINGER_MS",
     .type = CONF_INT,
     .def = "5",
     .offset = offsetof(embedder_config_t, batch_linger_ms),
     .min = 0,
     .max = 1000,
     .doc = "longest wait for a batch to fill (latency bound under light load)"},
    {.key = "cache.entries",
     .env = "EMBEDDER_CACHE_ENTRIES",
     .type = CONF_INT,
     .def = "4096",
     .offset = offsetof(embedder_config_t, cache_entries),
     .min = 0,
     .max = 1048576,
     .doc = "vectors kept for recently seen texts (1.5 KiB each; 0 disables)"},
    {.key = "threads",
     .env = "EMBEDDER_THREADS",
     .type = CONF_INT,
     .def = "0",
     .offset = offsetof(embedder_config_t, threads),
     .min = 0,
     .max = 256,
     .doc = "BLAS threads (0: OpenBLAS default, one per core)"},
    {.key = "model.check",
     .type = CONF_BOOL,
     .def = "false",
     .offset = offsetof(embedder_config_t, model_check),
     .doc = "load and check the model, embed one text, exit 0 (k8s init container; exit 2 if bad)"},
    {.key = NULL},
};

/* The stage's batch hook: one forward pass for the whole batch. Items map
 * one to one; the embedder's item type keeps the transform independent of
 * the stage's batching details. */
static void transform_batch(void *ctx, stage_batch_item_t *items, size_t n) {
  enum { CHUNK = 64 };
  embedder_item_t mine[CHUNK];
  for (size_t at = 0; at < n; at += CHUNK) {
    size_t k = n - at < CHUNK ? n - at : CHUNK;
    for (size_t i = 0; i < k; i++)
      mine[i] = (embedder_item_t){items[at + i].doc, items[at + i].out, items[at + i].fail, 0};
    embedder_transform_items(ctx, mine, k);
    for (size_t i = 0; i < k; i++)
      items[at + i].status = mine[i].status;
  }
}

static const char usage[] =
    "usage: embedder --model-dir DIR [--config FILE] [options]\n"
    "       embedder --model-dir DIR --stdio --topic enriched.social --dlq-file DLQ.jsonl < in > "
    "out\n"
    "\n"
    "Embeds enriched posts with all-MiniLM-L6-v2 (384-dim, mean pooled, unit\n"
    "length), computed in C, into vector records for the vector store. Empty\n"
    "texts go to the dead-letter topic; texts over max_tokens are truncated.";

int main(int argc, char **argv) {
  embedder_config_t cfg = {0};
  conf_section_t own[] = {{embedder_entries, &cfg}};
  app_spec_t spec = {.name = "embedder",
                     .usage = usage,
                     .uses = APP_STAGE | APP_DLQ_KEY | APP_METRICS,
                     .default_topics = "enriched.social",
                     .sections = own,
                     .nsections = 1};
  app_t app;
  embedder_t *emb = NULL;
  char errstr[1024];

  if (app_init(&app, &spec, argc, argv) != 0)
    goto out;
  app.exit_code = 2;
  if (cfg.threads > 0)
    openblas_set_num_threads((int)cfg.threads);
  embedder_options_t eo = {.model_dir = cfg.model_dir,
                           .model_id = cfg.model_id,
                           .schemas_dir = app.settings.schemas_dir,
                           .max_tokens = (int)cfg.max_tokens,
                           .batch_tokens = (int)cfg.batch_tokens,
                           .cache_entries = (size_t)cfg.cache_entries,
                           .metrics = app.metrics};
  if (!(emb = embedder_new(&eo, errstr, sizeof(errstr)))) {
    log_error("config", "cannot start: %s (model.dir / MODEL_DIR, schemas.dir / SCHEMAS_DIR)",
              errstr);
    goto out;
  }
  log_event(LOG_LEVEL_INFO, "ready",
            json_pack("{s:s, s:i, s:i}", "model", cfg.model_id, "dim", embedder_dim(emb),
                      "blas_threads", openblas_get_num_threads()),
            "model loaded");
  if (cfg.model_check) {
    /* A full forward pass, so a model whose tensors load but whose numbers
     * are broken (NaN) is caught before the pod takes traffic. */
    const char *probe = "model check";
    float *vec = malloc((size_t)embedder_dim(emb) * sizeof(float));
    int bad =
        !vec || embedder_embed_batch(emb, &probe, NULL, 1, vec, NULL, errstr, sizeof(errstr)) != 0;
    double norm = 0;
    for (int i = 0; !bad && i < embedder_dim(emb); i++)
      norm += (double)vec[i] * vec[i];
    free(vec);
    if (bad || !(norm > 0.99 && norm < 1.01)) {
      log_error("model_check", "model forward failed or gave a non-unit vector (norm^2 %g)", norm);
      goto out;
    }
    log_info("model_check", "model ok");
    app.exit_code = 0;
    goto out;
  }

  stage_options_t opts = {.transform = embedder_transform,
                          .transform_batch = transform_batch,
                          .batch_max = (size_t)cfg.batch_max,
                          .batch_linger_ms = (int)cfg.batch_linger_ms,
                          .ctx = emb};
  app_stage_options(&app, &opts);
  app.exit_code = stage_run(&app.stage, &opts);
out:
  embedder_destroy(emb);
  int code = app.exit_code;
  app_fini(&app);
  return code;
}
