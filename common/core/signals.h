/* signals — the stop request every program honours: SIGTERM and SIGINT set
 * one flag (Kubernetes sends SIGTERM, then SIGKILL after the grace period),
 * and SIGPIPE is ignored so a closed stdout shows up as a write error. */
#ifndef SENSORY_SIGNALS_H
#define SENSORY_SIGNALS_H

#include <signal.h>

/* Set by SIGTERM/SIGINT; read it to stop work. */
extern volatile sig_atomic_t signals_stop;

/* Installs the handlers. Idempotent. */
void signals_install(void);

#endif
