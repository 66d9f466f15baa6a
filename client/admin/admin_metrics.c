/* client/admin/admin_metrics.c — GET /api/metrics: the snapshot of client/core/metrics.h as
 * JSON for the dashboard and `ufrpc status --metrics=json`. See admin_internal.h.
 *
 * {"uptime_s":..,"proxies":[{"name","type","status","err","remote_addr",
 *   "bytes_in","bytes_out","conns_total","conns_active","conns_failed","errors",
 *   "errors_by_kind":{kind:n},"dial_count","dial_p50_ms","dial_p99_ms",
 *   "uptime_s","last_activity_s"}],
 *  "session":{"up","logins","login_failures":{cause:n},"reconnects":{cause:n},
 *   "login_last_ms","ping_rtt_last_ms","ping_count","yamux_streams",
 *   "yamux_window_stalls","work_pool"},
 *  "process":{"rss_bytes","open_fds","cpu_seconds"} (null when unread),
 *  "alerts":[{"alert","name","active","value"}]} */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "client/admin/admin_internal.h"
#include "proto/error.h"

static void u64(struct ufrpc_admin_buf *b, const char *key, uint64_t v, bool comma);

static void num(struct ufrpc_admin_buf *b, const char *key, double v, bool comma)
{
    if (v >= 0 && v < 1e15 && v == (double)(uint64_t)v) {
        u64(b, key, (uint64_t)v, comma);
        return;
    }
    char t[40];
    ufrpc_promtext_format_double(v, t, sizeof t);
    if (strchr(t, 'I') || strchr(t, 'N')) /* JSON has no Inf/NaN */
        snprintf(t, sizeof t, "null");
    ufrpc_admin_buf_printf(b, "%s\"%s\":%s", comma ? "," : "", key, t);
}

/* ,"key":v — without printf: a scrape of 1000 proxies writes 20 000 of these */
static void u64(struct ufrpc_admin_buf *b, const char *key, uint64_t v, bool comma)
{
    char t[96];
    size_t kl = strlen(key), o = 0;
    if (kl > 64)
        kl = 64;
    if (comma)
        t[o++] = ',';
    t[o++] = '"';
    memcpy(t + o, key, kl);
    o += kl;
    t[o++] = '"';
    t[o++] = ':';
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(t + o, d + i, sizeof d - i);
    ufrpc_admin_buf_add(b, t, o + sizeof d - i);
}

static double since_s(uint64_t now, uint64_t then)
{
    return now >= then ? (double)(now - then) / 1000.0 : 0;
}

static void proxy(struct ufrpc_admin_buf *b, const struct ufrpc_tunnel *t, uint64_t now)
{
    ufrpc_admin_buf_str(b, "{\"name\":");
    ufrpc_admin_json_str(b, t->name);
    ufrpc_admin_buf_str(b, ",\"type\":");
    ufrpc_admin_json_str(b, t->type);
    ufrpc_admin_buf_str(b, ",\"status\":");
    ufrpc_admin_json_str(b, ufrpc_tunnel_state_name(t->state));
    ufrpc_admin_buf_str(b, ",\"err\":");
    ufrpc_admin_json_str(b, t->last_error);
    ufrpc_admin_buf_str(b, ",\"remote_addr\":");
    ufrpc_admin_json_str(b, t->remote_addr);
    const struct ufrpc_tunnel_counters *c = &t->c;
    u64(b, "bytes_in", c->bytes_in, true);
    u64(b, "bytes_out", c->bytes_out, true);
    u64(b, "conns_total", c->conns_total, true);
    u64(b, "conns_active", c->conns_active, true);
    u64(b, "conns_failed", c->conns_failed, true);
    u64(b, "errors", c->errors, true);
    ufrpc_admin_buf_str(b, ",\"errors_by_kind\":{");
    for (int k = 0; k < UFRPC_TUNNEL_ERR_KINDS; k++)
        u64(b, ufrpc_tunnel_err_kind_name(k), c->errors_by_kind[k], k > 0);
    ufrpc_admin_buf_str(b, "}");
    u64(b, "dial_count", c->dial.count, true);
    /* to the microsecond: short to print and to read */
    num(b, "dial_p50_ms", round(ufrpc_latency_quantile(&c->dial, 0.5) * 1e6) / 1000, true);
    num(b, "dial_p99_ms", round(ufrpc_latency_quantile(&c->dial, 0.99) * 1e6) / 1000, true);
    num(b, "uptime_s", t->state == UFRPC_TUNNEL_RUNNING ? since_s(now, t->changed_ms) : 0, true);
    num(b, "last_activity_s", c->last_activity_ms ? since_s(now, c->last_activity_ms) : -1, true);
    ufrpc_admin_buf_str(b, "}");
}

int ufrpc_admin_metrics_json(const struct ufrpc_metrics_src *s, struct ufrpc_admin_buf *b)
{
    ufrpc_admin_buf_str(b, "{");
    num(b, "uptime_s", since_s(s->now_ms, s->start_ms), false);
    ufrpc_admin_buf_str(b, ",\"proxies\":[");
    size_t n = s->reg ? ufrpc_registry_count(s->reg) : 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ufrpc_tunnel *t = ufrpc_registry_at(s->reg, i);
        if (t == NULL || t->kind != UFRPC_TUNNEL_PROXY)
            continue;
        if (k++ > 0)
            ufrpc_admin_buf_str(b, ",");
        proxy(b, t, s->now_ms);
    }
    ufrpc_admin_buf_str(b, "],\"session\":{");
    static const struct ufrpc_session_metrics zero;
    const struct ufrpc_session_metrics *m = s->sess ? s->sess : &zero;
    ufrpc_admin_buf_printf(b, "\"up\":%s", m->up ? "true" : "false");
    u64(b, "logins", m->logins, true);
    for (int which = 0; which < 2; which++) {
        ufrpc_admin_buf_str(b, which ? ",\"reconnects\":{" : ",\"login_failures\":{");
        for (int c = 0; c < UFRPC_CAUSES; c++)
            u64(b, ufrpc_session_cause_name(c), which ? m->reconnects[c] : m->login_failures[c],
                c > 0);
        ufrpc_admin_buf_str(b, "}");
    }
    num(b, "login_last_ms", (double)m->login.last_us / 1000.0, true);
    num(b, "ping_rtt_last_ms", (double)m->ping_rtt.last_us / 1000.0, true);
    u64(b, "ping_count", m->ping_rtt.count, true);
    u64(b, "yamux_streams", s->yamux_streams, true);
    u64(b, "yamux_window_stalls", m->window_stalls_done + s->window_stalls, true);
    u64(b, "work_pool", s->work_pool, true);
    ufrpc_admin_buf_str(b, "},\"process\":");
    if (s->proc != NULL && s->proc->ok) {
        ufrpc_admin_buf_printf(b, "{\"rss_bytes\":%llu", (unsigned long long)s->proc->rss_bytes);
        u64(b, "open_fds", s->proc->open_fds, true);
        num(b, "cpu_seconds", s->proc->cpu_seconds, true);
        ufrpc_admin_buf_str(b, "}");
    } else {
        ufrpc_admin_buf_str(b, "null");
    }
    ufrpc_admin_buf_str(b, ",\"alerts\":[");
    for (size_t i = 0; i < s->nalerts; i++) {
        const struct ufrpc_alert_view *a = &s->alerts[i];
        ufrpc_admin_buf_str(b, i ? ",{\"alert\":" : "{\"alert\":");
        ufrpc_admin_json_str(b, a->alert);
        ufrpc_admin_buf_str(b, ",\"name\":");
        ufrpc_admin_json_str(b, a->name);
        ufrpc_admin_buf_printf(b, ",\"active\":%s", a->active ? "true" : "false");
        num(b, "value", a->value, true);
        ufrpc_admin_buf_str(b, "}");
    }
    ufrpc_admin_buf_str(b, "]}\n");
    return b->failed ? UFRPC_ERR_NOMEM : 0;
}
