/* risk_http — risk-svc's API routes on the common HTTP server
 * (common/net/httpd.h): POST /api/v1/risk-score, PUT and DELETE
 * /api/v1/blacklist, each a thin adapter over risk_api.c. */
#ifndef RISK_HTTP_H
#define RISK_HTTP_H

#include <stddef.h>

#include "risk_api.h"

typedef struct risk_http risk_http_t;

/* Registers the routes and starts serving on addr with threads threads.
 * NULL with errstr (bad address, port in use). api must outlive it. */
risk_http_t *risk_http_start(const char *addr, unsigned threads, size_t max_body, risk_api_t *api,
                             char *errstr, size_t errstr_size);

/* The bound port. */
int risk_http_port(const risk_http_t *h);

/* Stops serving (waits for running handlers) and frees; NULL is accepted. */
void risk_http_stop(risk_http_t *h);

#endif
