/* client/core/metrics_prom.c — ufrpc_metrics_prom, the Prometheus exposition (see
 * metrics.h). Apart from metrics.c so that a build without metrics export
 * (UFRPC_WITH_METRICS=OFF) leaves it and proto/promtext.c out (metrics_prom_off.c). */
#include "client/core/metrics.h"

#include <stddef.h>
#include <string.h>

#include "client/core/proxy_rt.h"
#include "client/plugins/plugin.h"

/* ---- rendering ----------------------------------------------------------------- */

static double secs_since(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms >= then_ms ? (double)(now_ms - then_ms) / 1000.0 : 0;
}

static void hist(struct ufrpc_promtext *w, const char *name, const struct ufrpc_prom_label *l,
                 size_t nl, const struct ufrpc_latency *h)
{
    ufrpc_promtext_histogram(w, name, l, nl, ufrpc_latency_bounds(), h->counts,
                             UFRPC_LATENCY_NBOUNDS, (double)h->sum_us / 1e6);
}

static int is_proxy(const struct ufrpc_tunnel *t)
{
    return t != NULL && t->kind == UFRPC_TUNNEL_PROXY;
}

/* One family over every proxy; `emit` writes the proxy's sample(s). */
#define FOR_PROXIES(reg, t)                                                                 \
    for (size_t i_ = 0, n_ = (reg) ? ufrpc_registry_count(reg) : 0; i_ < n_; i_++)          \
        for (struct ufrpc_tunnel *t = ufrpc_registry_at((reg), i_); is_proxy(t); t = NULL)

static void proxies(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    struct ufrpc_registry *reg = s->reg;
#define LABELS(t) {{"name", (t)->name}, {"type", (t)->type}}
    static const struct {
        const char *name, *help;
        enum ufrpc_prom_type type;
        size_t off;
    } plain[] = {
        {"ufrpc_proxy_bytes_in_total", "Bytes from frps to the local service.",
         UFRPC_PROM_COUNTER, offsetof(struct ufrpc_tunnel_counters, bytes_in)},
        {"ufrpc_proxy_bytes_out_total", "Bytes from the local service to frps.",
         UFRPC_PROM_COUNTER, offsetof(struct ufrpc_tunnel_counters, bytes_out)},
        {"ufrpc_proxy_connections_total", "User connections opened.", UFRPC_PROM_COUNTER,
         offsetof(struct ufrpc_tunnel_counters, conns_total)},
        {"ufrpc_proxy_connections_active", "User connections open now.", UFRPC_PROM_GAUGE,
         offsetof(struct ufrpc_tunnel_counters, conns_active)},
        {"ufrpc_proxy_connections_failed_total",
         "Work connections that failed before carrying data.", UFRPC_PROM_COUNTER,
         offsetof(struct ufrpc_tunnel_counters, conns_failed)},
    };
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        ufrpc_promtext_family(w, plain[k].name, plain[k].type, plain[k].help);
        FOR_PROXIES(reg, t)
        {
            struct ufrpc_prom_label l[] = LABELS(t);
            uint64_t v;
            memcpy(&v, (const char *)&t->c + plain[k].off, sizeof v);
            ufrpc_promtext_u64(w, plain[k].name, l, 2, v);
        }
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_errors_total", UFRPC_PROM_COUNTER,
                          "Errors by kind (local_dial, work_conn, transfer, plugin, start).");
    FOR_PROXIES(reg, t)
    {
        for (int k = 0; k < UFRPC_TUNNEL_ERR_KINDS; k++) {
            struct ufrpc_prom_label l[] = {{"name", t->name},
                                           {"type", t->type},
                                           {"kind", ufrpc_tunnel_err_kind_name(k)}};
            ufrpc_promtext_u64(w, "ufrpc_proxy_errors_total", l, 3, t->c.errors_by_kind[k]);
        }
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_local_dial_seconds", UFRPC_PROM_HISTOGRAM,
                          "Time to connect to the local service.");
    FOR_PROXIES(reg, t)
    {
        struct ufrpc_prom_label l[] = LABELS(t);
        hist(w, "ufrpc_proxy_local_dial_seconds", l, 2, &t->c.dial);
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_up", UFRPC_PROM_GAUGE,
                          "1 when frps accepted the proxy (state running).");
    FOR_PROXIES(reg, t)
    {
        struct ufrpc_prom_label l[] = LABELS(t);
        ufrpc_promtext_u64(w, "ufrpc_proxy_up", l, 2, t->state == UFRPC_TUNNEL_RUNNING);
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_state", UFRPC_PROM_GAUGE,
                          "1 for the proxy's current state (frpc's phase names).");
    FOR_PROXIES(reg, t)
    {
        struct ufrpc_prom_label l[] = {
            {"name", t->name}, {"type", t->type}, {"state", ufrpc_tunnel_state_name(t->state)}};
        ufrpc_promtext_u64(w, "ufrpc_proxy_state", l, 3, 1);
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_uptime_seconds", UFRPC_PROM_GAUGE,
                          "Seconds since the proxy started running (0 when not running).");
    FOR_PROXIES(reg, t)
    {
        struct ufrpc_prom_label l[] = LABELS(t);
        ufrpc_promtext_double(w, "ufrpc_proxy_uptime_seconds", l, 2,
                              t->state == UFRPC_TUNNEL_RUNNING ? secs_since(s->now_ms, t->changed_ms)
                                                               : 0);
    }
    ufrpc_promtext_family(w, "ufrpc_proxy_last_activity_seconds", UFRPC_PROM_GAUGE,
                          "Seconds since a connection last opened or closed (-1: never).");
    FOR_PROXIES(reg, t)
    {
        struct ufrpc_prom_label l[] = LABELS(t);
        ufrpc_promtext_double(w, "ufrpc_proxy_last_activity_seconds", l, 2,
                              t->c.last_activity_ms ? secs_since(s->now_ms, t->c.last_activity_ms)
                                                    : -1);
    }
#undef LABELS
}

static void session(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    static const struct ufrpc_session_metrics zero;
    const struct ufrpc_session_metrics *m = s->sess ? s->sess : &zero;
    ufrpc_promtext_family(w, "ufrpc_session_up", UFRPC_PROM_GAUGE, "1 while logged in to frps.");
    ufrpc_promtext_u64(w, "ufrpc_session_up", NULL, 0, m->up);
    ufrpc_promtext_family(w, "ufrpc_session_logins_total", UFRPC_PROM_COUNTER,
                          "Successful logins.");
    ufrpc_promtext_u64(w, "ufrpc_session_logins_total", NULL, 0, m->logins);
    ufrpc_promtext_family(w, "ufrpc_session_login_failures_total", UFRPC_PROM_COUNTER,
                          "Failed login attempts by cause.");
    for (int c = 0; c < UFRPC_CAUSES; c++) {
        struct ufrpc_prom_label l = {"cause", ufrpc_session_cause_name(c)};
        ufrpc_promtext_u64(w, "ufrpc_session_login_failures_total", &l, 1, m->login_failures[c]);
    }
    ufrpc_promtext_family(w, "ufrpc_session_reconnects_total", UFRPC_PROM_COUNTER,
                          "Sessions lost after a login, by cause.");
    for (int c = 0; c < UFRPC_CAUSES; c++) {
        struct ufrpc_prom_label l = {"cause", ufrpc_session_cause_name(c)};
        ufrpc_promtext_u64(w, "ufrpc_session_reconnects_total", &l, 1, m->reconnects[c]);
    }
    ufrpc_promtext_family(w, "ufrpc_session_login_seconds", UFRPC_PROM_HISTOGRAM,
                          "Time from the start of a login attempt to LoginResp.");
    hist(w, "ufrpc_session_login_seconds", NULL, 0, &m->login);
    ufrpc_promtext_family(w, "ufrpc_session_ping_rtt_seconds", UFRPC_PROM_HISTOGRAM,
                          "Round trip of the control's Ping and Pong.");
    hist(w, "ufrpc_session_ping_rtt_seconds", NULL, 0, &m->ping_rtt);
    ufrpc_promtext_family(w, "ufrpc_session_yamux_streams", UFRPC_PROM_GAUGE,
                          "yamux streams open now (tcpMux).");
    ufrpc_promtext_u64(w, "ufrpc_session_yamux_streams", NULL, 0, s->yamux_streams);
    ufrpc_promtext_family(w, "ufrpc_session_yamux_window_stalls_total", UFRPC_PROM_COUNTER,
                          "Writes that waited for the peer's yamux window.");
    ufrpc_promtext_u64(w, "ufrpc_session_yamux_window_stalls_total", NULL, 0,
                       m->window_stalls_done + s->window_stalls);
    ufrpc_promtext_family(w, "ufrpc_session_work_pool", UFRPC_PROM_GAUGE,
                          "Work connections waiting for frps to use them.");
    ufrpc_promtext_u64(w, "ufrpc_session_work_pool", NULL, 0, s->work_pool);
}

static void process(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    const struct ufrpc_proc_stats *p = s->proc;
    if (p != NULL && p->ok) {
        ufrpc_promtext_family(w, "ufrpc_process_resident_memory_bytes", UFRPC_PROM_GAUGE,
                              "Resident set size.");
        ufrpc_promtext_u64(w, "ufrpc_process_resident_memory_bytes", NULL, 0, p->rss_bytes);
        ufrpc_promtext_family(w, "ufrpc_process_open_fds", UFRPC_PROM_GAUGE,
                              "Open file descriptors.");
        ufrpc_promtext_u64(w, "ufrpc_process_open_fds", NULL, 0, p->open_fds);
    }
    if (p != NULL) {
        ufrpc_promtext_family(w, "ufrpc_process_cpu_seconds_total", UFRPC_PROM_COUNTER,
                              "User and system CPU time.");
        ufrpc_promtext_double(w, "ufrpc_process_cpu_seconds_total", NULL, 0, p->cpu_seconds);
    }
    ufrpc_promtext_family(w, "ufrpc_process_uptime_seconds", UFRPC_PROM_GAUGE,
                          "Seconds since the client started.");
    ufrpc_promtext_double(w, "ufrpc_process_uptime_seconds", NULL, 0,
                          secs_since(s->now_ms, s->start_ms));
}

/* Per route of proxies with `routes` (client/plugins/plugin.h ufrpc_plugin_route_stats):
 * requests by status class, bytes, latency; location "" counts what no route took. */
static const ufrpc_plugin_t *router_of(const struct ufrpc_tunnel *t)
{
    const struct ufrpc_proxy_rt *rt = t->rt;
    if (rt == NULL || rt->plugin == NULL || ufrpc_plugin_route_count(rt->plugin) == 0)
        return NULL;
    return rt->plugin;
}

#define FOR_ROUTES(reg, t, p, i, loc, st)                                                   \
    FOR_PROXIES(reg, t)                                                                     \
    for (const ufrpc_plugin_t *p = router_of(t); p != NULL; p = NULL)                       \
        for (size_t i = 0; i <= ufrpc_plugin_route_count(p); i++)                           \
            for (int once_ = ufrpc_plugin_route_stats(p, i, &loc, &st) == 0; once_; once_ = 0)

static void routes(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    struct ufrpc_registry *reg = s->reg;
    const char *loc;
    struct ufrpc_route_stats st;
    static const char *const cls[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    ufrpc_promtext_family(w, "ufrpc_route_requests_total", UFRPC_PROM_COUNTER,
                          "Requests per path route by status class (none: cut short).");
    FOR_ROUTES(reg, t, p, i, loc, st)
    {
        for (int c = 0; c < 6; c++) {
            struct ufrpc_prom_label l[] = {
                {"name", t->name}, {"location", loc ? loc : ""}, {"class", c < 5 ? cls[c] : "none"}};
            ufrpc_promtext_u64(w, "ufrpc_route_requests_total", l, 3,
                               c < 5 ? st.status[c] : st.no_status);
        }
    }
    ufrpc_promtext_family(w, "ufrpc_route_bytes_in_total", UFRPC_PROM_COUNTER,
                          "Request bytes forwarded to a route's local service.");
    FOR_ROUTES(reg, t, p, i, loc, st)
    {
        struct ufrpc_prom_label l[] = {{"name", t->name}, {"location", loc ? loc : ""}};
        ufrpc_promtext_u64(w, "ufrpc_route_bytes_in_total", l, 2, st.bytes_in);
    }
    ufrpc_promtext_family(w, "ufrpc_route_bytes_out_total", UFRPC_PROM_COUNTER,
                          "Response bytes a route sent back to users.");
    FOR_ROUTES(reg, t, p, i, loc, st)
    {
        struct ufrpc_prom_label l[] = {{"name", t->name}, {"location", loc ? loc : ""}};
        ufrpc_promtext_u64(w, "ufrpc_route_bytes_out_total", l, 2, st.bytes_out);
    }
    double bounds[UFRPC_ROUTE_LATENCY_BUCKETS - 1];
    for (size_t b = 0; b < UFRPC_ROUTE_LATENCY_BUCKETS - 1; b++)
        bounds[b] = ufrpc_route_latency_bounds_ms[b] / 1000.0;
    ufrpc_promtext_family(w, "ufrpc_route_latency_seconds", UFRPC_PROM_HISTOGRAM,
                          "Request head in to response complete, per route.");
    FOR_ROUTES(reg, t, p, i, loc, st)
    {
        struct ufrpc_prom_label l[] = {{"name", t->name}, {"location", loc ? loc : ""}};
        ufrpc_promtext_histogram(w, "ufrpc_route_latency_seconds", l, 2, bounds, st.latency_le_ms,
                                 UFRPC_ROUTE_LATENCY_BUCKETS - 1, (double)st.latency_sum_us / 1e6);
    }
}

int ufrpc_metrics_prom(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    /* about 2.3 KB per proxy (the histogram is most of it): one allocation */
    ufrpc_promtext_reserve(w, 8192 + 2400 * (s->reg ? ufrpc_registry_count(s->reg) : 0));
    proxies(s, w);
    routes(s, w);
    session(s, w);
    process(s, w);
    ufrpc_promtext_family(w, "ufrpc_alert_active", UFRPC_PROM_GAUGE,
                          "1 while an alert's threshold is crossed ([alerts] in the config).");
    for (size_t i = 0; i < s->nalerts; i++) {
        struct ufrpc_prom_label l[] = {{"alert", s->alerts[i].alert}, {"name", s->alerts[i].name}};
        ufrpc_promtext_u64(w, "ufrpc_alert_active", l, 2, s->alerts[i].active);
    }
    return ufrpc_promtext_error(w);
}
