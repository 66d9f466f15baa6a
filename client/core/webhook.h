/* ufrpc — the alerts webhook: JSON bodies POSTed to one http:// or https:// URL
 * ([alerts] webhookURL), one at a time, in order, from a bounded queue.
 *
 * A body is delivered when the server answers 2xx; otherwise (refused, timed out
 * after 10 s, non-2xx) it is tried again after 1, 2, 4, 8 s, and given up (logged)
 * after UFRPC_WEBHOOK_ATTEMPTS attempts. The queue holds at most
 * UFRPC_WEBHOOK_QUEUE bodies: a post to a full queue is dropped and logged, so a
 * dead receiver never grows memory. https verifies the server against the system
 * CA bundle. Uses net/dial, net/tls and llhttp as client/core/oidc.c does.
 *
 * Ownership: post copies the body. ufrpc_webhook_free drops what is queued and the
 * request in flight; the object goes once its handles have closed. */
#ifndef UFRPC_CLIENT_WEBHOOK_H
#define UFRPC_CLIENT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"

#define UFRPC_WEBHOOK_QUEUE 64
#define UFRPC_WEBHOOK_ATTEMPTS 5
#define UFRPC_WEBHOOK_TIMEOUT_MS 10000u

typedef struct ufrpc_webhook ufrpc_webhook_t;

/* 0 and *out, UFRPC_ERR_INVAL (not an http(s) URL), UFRPC_ERR_TLS, UFRPC_ERR_NOMEM.
 * log is borrowed (may be NULL) and must outlive the webhook. */
int ufrpc_webhook_new(uv_loop_t *loop, const char *url, struct ufrpc_log *log,
                      ufrpc_webhook_t **out);

/* Queues one body. 0, UFRPC_ERR_LIMIT (queue full: dropped) or UFRPC_ERR_NOMEM. */
int ufrpc_webhook_post(ufrpc_webhook_t *wh, const char *json, size_t len);

/* Bodies delivered so far (tests, metrics). */
uint64_t ufrpc_webhook_delivered(const ufrpc_webhook_t *wh);

void ufrpc_webhook_free(ufrpc_webhook_t *wh);

#endif
