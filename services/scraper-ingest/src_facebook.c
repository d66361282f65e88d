/* facebook source: not implemented yet. */
#include <stdio.h>

#include "scr_source.h"

void scr_src_facebook(scr_run_t *run, scr_stats_t *st) {
  (void)run;
  st->status = SCR_SRC_CONFIG;
  snprintf(st->error, sizeof(st->error), "the facebook source is not implemented yet");
}
