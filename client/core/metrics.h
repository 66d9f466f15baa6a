/* ufrpc — the client's metrics: what the loop counts (plain integers: registry
 * counters, client/core/registry.h; session counters below), what the process costs
 * (/proc, read off the loop), and their Prometheus text rendering (/metrics).
 * The JSON rendering of the same snapshot is the admin API's (admin_json.c).
 *
 * Names (all prefixed ufrpc_; labels name and type per proxy):
 *   ufrpc_proxy_bytes_in_total, _bytes_out_total     counter (bytes; tcp work
 *                                                    connections flushed at each
 *                                                    snapshot, the rest at their end)
 *   ufrpc_proxy_connections_total, _active, _failed_total
 *   ufrpc_proxy_errors_total{kind}                   counter
 *   ufrpc_proxy_local_dial_seconds                   histogram
 *   ufrpc_proxy_up (1 running), ufrpc_proxy_state{state} (1 for the current one)
 *   ufrpc_proxy_uptime_seconds, _last_activity_seconds (seconds since; -1 never)
 *   ufrpc_route_requests_total{name,location,class}, ufrpc_route_bytes_in_total,
 *   _bytes_out_total, ufrpc_route_latency_seconds (histogram): proxies with `routes`
 *   (client/plugins/plugin.h; location "" counts requests no route matched)
 *   ufrpc_session_up, _logins_total, _login_failures_total{cause},
 *   _reconnects_total{cause}, _login_seconds, _ping_rtt_seconds (histograms),
 *   _yamux_streams, _yamux_window_stalls_total, _work_pool
 *   ufrpc_process_resident_memory_bytes, _open_fds, _cpu_seconds_total,
 *   _uptime_seconds
 *   ufrpc_alert_active{alert,name} (client/core/alerts.h)
 *
 * Ownership: a struct ufrpc_metrics_src only borrows what it points to, for the
 * duration of one rendering, on the loop. */
#ifndef UFRPC_CLIENT_METRICS_H
#define UFRPC_CLIENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "client/core/latency.h"
#include "client/core/registry.h"
#include "proto/promtext.h"

/* Why a login attempt failed or a session ended. */
enum ufrpc_session_cause {
    UFRPC_CAUSE_DIAL = 0,  /* DNS, TCP connect, proxy */
    UFRPC_CAUSE_TLS,       /* TLS handshake or verification */
    UFRPC_CAUSE_LOGIN,     /* frps refused the login */
    UFRPC_CAUSE_HEARTBEAT, /* heartbeat or yamux keepalive timed out */
    UFRPC_CAUSE_CLOSED,    /* the connection was closed or reset */
    UFRPC_CAUSE_OTHER,
    UFRPC_CAUSES
};

/* "dial", "tls", "login", "heartbeat", "closed", "other". Static. */
const char *ufrpc_session_cause_name(enum ufrpc_session_cause c);
/* The cause a ufrpc error code stands for. */
enum ufrpc_session_cause ufrpc_session_cause_of(int err);

struct ufrpc_session_metrics {
    uint64_t logins;
    uint64_t login_failures[UFRPC_CAUSES];
    uint64_t reconnects[UFRPC_CAUSES]; /* sessions that ended after a login */
    struct ufrpc_latency login;        /* attempt start to LoginResp */
    struct ufrpc_latency ping_rtt;     /* Ping to Pong (loop clock: ms resolution) */
    uint64_t window_stalls_done;       /* of the yamux sessions that ended */
    bool up;                           /* logged in now */
    uint64_t up_since_ms;
};

/* The process's cost; ok false when /proc could not be read (then only cpu). */
struct ufrpc_proc_stats {
    bool ok;
    uint64_t rss_bytes;
    uint64_t open_fds;
    double cpu_seconds; /* user + system */
};

/* Reads /proc/self (statm, fd) and getrusage. Blocking file reads: call it on the
 * thread pool (it touches only *out). */
void ufrpc_proc_stats_read(struct ufrpc_proc_stats *out);

/* Alerts as the metrics see them (client/core/alerts.h fills these). */
struct ufrpc_alert_view {
    const char *alert; /* "error_rate", "latency", "connections", "down" */
    const char *name;  /* the tunnel */
    bool active;
    double value;
};

/* One snapshot to render. */
struct ufrpc_metrics_src {
    struct ufrpc_registry *reg;                /* may be NULL */
    const struct ufrpc_session_metrics *sess;  /* may be NULL */
    uint64_t yamux_streams, window_stalls;     /* gauges of the current session */
    uint64_t work_pool;                        /* idle work connections */
    const struct ufrpc_proc_stats *proc;       /* may be NULL */
    const struct ufrpc_alert_view *alerts;     /* nalerts entries */
    size_t nalerts;
    uint64_t now_ms, start_ms; /* loop clock now and when the client started */
};

/* Appends the whole exposition to w (proxies in registry order; visitors are not
 * proxies and are left out). 0 or the writer's error. */
int ufrpc_metrics_prom(const struct ufrpc_metrics_src *src, struct ufrpc_promtext *w);

#endif
