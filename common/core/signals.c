#include "core/signals.h"

#include <string.h>

volatile sig_atomic_t signals_stop = 0;

static void on_signal(int sig) {
  (void)sig;
  signals_stop = 1;
}

void signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}
