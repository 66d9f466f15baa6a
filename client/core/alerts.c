/* client/core/alerts.c — see alerts.h. */
#include "client/core/alerts.h"

#include <string.h>

const char *ufrpc_alert_kind_name(enum ufrpc_alert_kind k)
{
    static const char *const n[UFRPC_ALERT_KINDS] = {"error_rate", "latency", "connections",
                                                     "down"};
    return (unsigned)k < UFRPC_ALERT_KINDS ? n[k] : "unknown";
}

void ufrpc_alerts_from_config(const struct ufrpc_config *cfg, struct ufrpc_alert_thresholds *out)
{
    memset(out, 0, sizeof *out);
    out->threshold[UFRPC_ALERT_ERROR_RATE] = cfg->alerts.error_rate_percent;
    out->threshold[UFRPC_ALERT_LATENCY] = cfg->alerts.dial_latency_ms;
    out->threshold[UFRPC_ALERT_CONNECTIONS] = cfg->alerts.max_connections;
    out->threshold[UFRPC_ALERT_DOWN] = cfg->alerts.down_seconds;
    out->min_connections = cfg->alerts.min_connections > 0 ? cfg->alerts.min_connections : 1;
    out->window_ms = (cfg->alerts.window_seconds > 0 ? cfg->alerts.window_seconds : 60) * 1000;
}

bool ufrpc_alerts_enabled(const struct ufrpc_alert_thresholds *th)
{
    for (int k = 0; k < UFRPC_ALERT_KINDS; k++)
        if (th->threshold[k] > 0)
            return true;
    return false;
}

static void snapshot(const struct ufrpc_tunnel *t, uint64_t *att, uint64_t *err, uint64_t *dc,
                     uint64_t *ds)
{
    *att = t->c.conns_total + t->c.conns_failed;
    *err = t->c.errors;
    *dc = t->c.dial.count;
    *ds = t->c.dial.sum_us;
}

/* Moves the windows forward; returns the base counters (start of the span). */
static void windows(const struct ufrpc_alert_thresholds *th, struct ufrpc_tunnel *t,
                    uint64_t now_ms, uint64_t base[4])
{
    struct ufrpc_tunnel_alerts *a = &t->al;
    if (a->cur_ms == 0 || now_ms - a->cur_ms >= (uint64_t)th->window_ms) {
        if (a->cur_ms != 0) {
            a->win_ms = a->cur_ms;
            a->win_attempts = a->cur_attempts, a->win_errors = a->cur_errors;
            a->win_dial_count = a->cur_dial_count, a->win_dial_sum_us = a->cur_dial_sum_us;
        }
        a->cur_ms = now_ms ? now_ms : 1;
        snapshot(t, &a->cur_attempts, &a->cur_errors, &a->cur_dial_count, &a->cur_dial_sum_us);
    }
    if (a->win_ms != 0) {
        base[0] = a->win_attempts, base[1] = a->win_errors;
        base[2] = a->win_dial_count, base[3] = a->win_dial_sum_us;
    } else {
        base[0] = a->cur_attempts, base[1] = a->cur_errors;
        base[2] = a->cur_dial_count, base[3] = a->cur_dial_sum_us;
    }
}

void ufrpc_alerts_eval(const struct ufrpc_alert_thresholds *th, struct ufrpc_registry *reg,
                       uint64_t now_ms, ufrpc_alert_cb cb, void *ctx)
{
    static const char *const units[UFRPC_ALERT_KINDS] = {"%", "ms", "connections", "s"};
    size_t n = reg ? ufrpc_registry_count(reg) : 0;
    for (size_t i = 0; i < n; i++) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(reg, i);
        if (t == NULL || t->kind != UFRPC_TUNNEL_PROXY || t->state == UFRPC_TUNNEL_CLOSED)
            continue;
        struct ufrpc_tunnel_alerts *a = &t->al;
        uint64_t base[4], now[4];
        windows(th, t, now_ms, base);
        snapshot(t, &now[0], &now[1], &now[2], &now[3]);
        double v[UFRPC_ALERT_KINDS] = {0};
        bool fire[UFRPC_ALERT_KINDS] = {false};
        uint64_t att = now[0] - base[0], errs = now[1] - base[1];
        if (att >= (uint64_t)th->min_connections && att > 0) {
            v[UFRPC_ALERT_ERROR_RATE] = 100.0 * (double)errs / (double)att;
            fire[UFRPC_ALERT_ERROR_RATE] =
                v[UFRPC_ALERT_ERROR_RATE] >= (double)th->threshold[UFRPC_ALERT_ERROR_RATE];
        }
        if (now[2] > base[2]) {
            v[UFRPC_ALERT_LATENCY] = (double)(now[3] - base[3]) / (double)(now[2] - base[2]) / 1000.0;
            fire[UFRPC_ALERT_LATENCY] =
                v[UFRPC_ALERT_LATENCY] >= (double)th->threshold[UFRPC_ALERT_LATENCY];
        }
        v[UFRPC_ALERT_CONNECTIONS] = (double)t->c.conns_active;
        fire[UFRPC_ALERT_CONNECTIONS] =
            t->c.conns_active > (uint64_t)th->threshold[UFRPC_ALERT_CONNECTIONS];
        if (t->state != UFRPC_TUNNEL_RUNNING) {
            if (a->down_since_ms == 0)
                a->down_since_ms = now_ms ? now_ms : 1;
            v[UFRPC_ALERT_DOWN] = (double)(now_ms - a->down_since_ms) / 1000.0;
            fire[UFRPC_ALERT_DOWN] =
                v[UFRPC_ALERT_DOWN] >= (double)th->threshold[UFRPC_ALERT_DOWN];
        } else if (a->down_since_ms != 0) {
            v[UFRPC_ALERT_DOWN] = (double)(now_ms - a->down_since_ms) / 1000.0; /* how long */
            a->down_since_ms = 0;
        }
        if (t->state == UFRPC_TUNNEL_RUNNING)
            fire[UFRPC_ALERT_DOWN] = false;
        for (int k = 0; k < UFRPC_ALERT_KINDS; k++) {
            bool on = th->threshold[k] > 0 && fire[k];
            bool was = (a->active >> k) & 1u;
            a->value[k] = v[k];
            if (on == was)
                continue;
            a->active = (uint8_t)(on ? a->active | (1u << k) : a->active & ~(1u << k));
            if (cb) {
                struct ufrpc_alert_event e = {k, t->name, on, v[k], (double)th->threshold[k],
                                              units[k]};
                cb(ctx, &e);
            }
        }
    }
}

size_t ufrpc_alerts_views(const struct ufrpc_alert_thresholds *th, struct ufrpc_registry *reg,
                          struct ufrpc_alert_view *out, size_t cap)
{
    size_t n = reg ? ufrpc_registry_count(reg) : 0, k = 0;
    for (int kind = 0; kind < UFRPC_ALERT_KINDS; kind++) {
        if (th->threshold[kind] <= 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            const struct ufrpc_tunnel *t = ufrpc_registry_at(reg, i);
            if (t == NULL || t->kind != UFRPC_TUNNEL_PROXY)
                continue;
            if (k < cap)
                out[k] = (struct ufrpc_alert_view){ufrpc_alert_kind_name(kind), t->name,
                                                   ((t->al.active >> kind) & 1u) != 0,
                                                   t->al.value[kind]};
            k++;
        }
    }
    return k;
}
