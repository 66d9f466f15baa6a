/* ufrpc — alerts: the thresholds of the config's [alerts] table (a ufrpc
 * extension) checked against each proxy's registry counters. Sans I/O: the caller
 * runs ufrpc_alerts_eval() from a timer on the loop (every second) with its clock;
 * every change (firing, resolved) comes back through a callback, which logs it,
 * and posts it to the webhook (client/core/webhook.h). The state lives in each registry
 * entry (struct ufrpc_tunnel_alerts), so a removed proxy takes its alerts along.
 *
 * Per proxy (state "closed" and visitors are skipped):
 *   error_rate   errors per connection attempt (opened + failed), in percent, over
 *                the last one to two windows, once there were minConnections
 *                attempts in it: fires at >= errorRatePercent
 *   latency      mean local dial time (ms) over the same span: >= dialLatencyMs
 *   connections  active connections: > maxConnections
 *   down         seconds since the proxy left "running": >= downSeconds (the
 *                resolved event carries how long it was down)
 * A kind with threshold 0 is off. */
#ifndef UFRPC_CLIENT_ALERTS_H
#define UFRPC_CLIENT_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/core/metrics.h"
#include "client/core/registry.h"
#include "config/config.h"

enum ufrpc_alert_kind {
    UFRPC_ALERT_ERROR_RATE = 0,
    UFRPC_ALERT_LATENCY,
    UFRPC_ALERT_CONNECTIONS,
    UFRPC_ALERT_DOWN,
    UFRPC_ALERT_KINDS
};

/* "error_rate", "latency", "connections", "down". Static. */
const char *ufrpc_alert_kind_name(enum ufrpc_alert_kind k);

struct ufrpc_alert_thresholds {
    int64_t threshold[UFRPC_ALERT_KINDS]; /* 0 = off: %, ms, connections, seconds */
    int64_t min_connections;
    int64_t window_ms;
};

void ufrpc_alerts_from_config(const struct ufrpc_config *cfg, struct ufrpc_alert_thresholds *out);
/* True when at least one kind is on. */
bool ufrpc_alerts_enabled(const struct ufrpc_alert_thresholds *th);

struct ufrpc_alert_event {
    enum ufrpc_alert_kind kind;
    const char *name; /* the proxy (valid during the callback) */
    bool firing;      /* false: resolved */
    double value;
    double threshold;
    const char *unit; /* "%", "ms", "connections", "s" */
};

typedef void (*ufrpc_alert_cb)(void *ctx, const struct ufrpc_alert_event *e);

/* One evaluation of every proxy at now_ms; cb (may be NULL) for each change. */
void ufrpc_alerts_eval(const struct ufrpc_alert_thresholds *th, struct ufrpc_registry *reg,
                       uint64_t now_ms, ufrpc_alert_cb cb, void *ctx);

/* The enabled kinds × proxies as metrics views (out[0..cap)); returns how many there
 * are (may exceed cap). Names point into the registry (valid until it changes). */
size_t ufrpc_alerts_views(const struct ufrpc_alert_thresholds *th, struct ufrpc_registry *reg,
                          struct ufrpc_alert_view *out, size_t cap);

#endif
