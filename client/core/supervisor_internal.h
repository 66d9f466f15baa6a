/* ufrpc — supervisor internals shared by client/supervisor*.c (not a public API).
 *
 * supervisor.c          session lifecycle: attempts, control stream I/O, work
 *                       connections, failures and backoff, stop, reload, public API
 * supervisor_setup.c    configuration-derived state: registry sync, reload diff and
 *                       per-proxy runtimes, retired configurations, token
 *                       resolution, TLS context and control key
 * supervisor_visitors.c visitors started with each control and stopped with it (and
 *                       changed live by a reload)
 *
 * Everything here runs on the client's loop; struct ufrpc_sup is owned by
 * supervisor.c (created in ufrpc_sup_new, freed in ufrpc_sup_free). */
#ifndef UFRPC_CLIENT_SUPERVISOR_INTERNAL_H
#define UFRPC_CLIENT_SUPERVISOR_INTERNAL_H

#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "client/core/alerts.h"
#include "client/core/backoff.h"
#include "client/core/connector.h"
#include "client/core/control.h"
#include "client/core/heap_trim.h"
#include "client/core/metrics.h"
#include "client/core/oidc.h"
#include "client/core/supervisor.h"
#include "client/core/udp_channel.h"
#include "client/core/visitor.h"
#include "client/core/webhook.h"
#include "client/core/workconn.h"
#include "client/core/xtcp_proxy.h"
#include "net/tls.h"
#include "proto/cfb.h"

#define SHUTDOWN_GRACE_MS 500
/* xtcp proxies' P2P sessions at once (frps asks for one per visitor attempt) */
#define UFRPC_SUP_MAX_XTCP_SESSIONS 256

enum cl_state { CL_IDLE, CL_CONNECTING, CL_RUNNING, CL_WAITING, CL_GRACE, CL_STOPPING, CL_STOPPED };

struct ctl_write {
    struct ufrpc_stream_write req;
    uv_buf_t iov; /* must live until the write callback, like the bytes */
    ufrpc_sup_t *cl;
    unsigned gen;
    uint8_t buf[];
};

struct ufrpc_sup {
    uv_loop_t *loop;
    struct ufrpc_config *cfg;
    struct ufrpc_log *log;
    char hostname[256];
    void (*on_exit)(ufrpc_sup_t *, int, const char *, void *);
    void (*on_tunnel)(void *, const struct ufrpc_tunnel *, enum ufrpc_tunnel_state);
    void *data;

    struct ufrpc_registry *reg;
    ufrpc_tls_ctx_t *tls;
    char *token; /* resolved auth token (auth.token or auth.tokenSource) */
    char *exec_token; /* auth.tokenSource exec's output, resolved before start (opts) */
    char *exec_sig; /* the exec settings that made exec_token (command, args, env) */
    ufrpc_oidc_t *oidc; /* auth.method = "oidc": the token fetcher (made on first use) */
    char *oidc_token;   /* the token of the current login attempt (wiped) */
    uint8_t key[UFRPC_CFB_KEY_LEN];
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;

    enum cl_state state;
    ufrpc_connector_t *conn;
    struct ufrpc_stream *ctl_stream;
    struct ufrpc_ctl *ctl;
    unsigned gen; /* bumped by every session teardown */
    int write_in_flight;
    uv_timer_t ctl_timer;
    uv_timer_t retry_timer;
    uv_timer_t fail_timer; /* session failures are handled outside stream callbacks */
    uv_timer_t trim_timer; /* trims the heap once the client is quiet (heap_trim.h) */
    int fail_scheduled;

    int ever_logged_in;
    unsigned logins;
    struct ufrpc_session_metrics m; /* counters for /metrics */
    uint64_t start_ms;              /* loop clock at ufrpc_sup_new */
    uint64_t attempt_ns;            /* uv_hrtime() when the login attempt started */
    struct ufrpc_alert_thresholds alert_th; /* [alerts] of cfg */
    uv_timer_t alert_timer;         /* evaluates alerts every second (when any is on) */
    int alert_timer_open;
    ufrpc_webhook_t *webhook;       /* [alerts] webhookURL */
    char *webhook_url;
    struct ufrpc_alert_view *alert_views; /* for the metrics snapshot */
    size_t alert_views_cap;
    unsigned deaths;
    char run_id[128];
    struct ufrpc_backoff login_bo;
    struct ufrpc_backoff session_bo;

    ufrpc_xtcp_proxy_t *xtcps; /* xtcp proxies' P2P sessions (they outlive a re-login) */
    ufrpc_workconn_t *workconns;
    struct ufrpc_heap_trim trim; /* when trim_timer gives the heap back */
    ufrpc_visitor_t **visitors; /* running while logged in, as frpc's visitor manager */
    size_t nvisitors, capvisitors;
    /* Configurations replaced by a reload that something may still point into: a
     * registry entry's cfg (a proxy or visitor kept unchanged by a live reload keeps
     * the runtime built from, and pointing into, its old configuration) or a
     * runtime/connector whose close is in flight (cl->pending > 0). Owned; freed by
     * ufrpc_sup_release_retired once neither holds, at the latest by client_free. */
    struct ufrpc_config **retired;
    size_t nretired, capretired;
    ufrpc_udp_channel_t **chans; /* live udp/sudp channels */
    size_t nchans, capchans;
    int pending; /* closes in flight (streams, connectors, handles) */
    int exit_code;
    char exit_msg[1400];
};

/* supervisor.c */
uint64_t ufrpc_sup_now_ms(ufrpc_sup_t *cl);
/* A proxy's health changed: update the registry and, when logged in, send the
 * resulting NewProxy / CloseProxy at once. */
void ufrpc_sup_on_health(void *cl, const char *name, int healthy);
/* Sends m on the running control (xtcp messages). 0 or <0 (UFRPC_ERR_STATE when
 * not logged in). */
int ufrpc_sup_send_msg(void *cl, const struct ufrpc_msg *m);
/* One asynchronous close (stream, connector, handle, runtime) has finished. */
void ufrpc_sup_closed_pending(ufrpc_sup_t *cl);

/* What a live reload did to the proxies or visitors (counts). */
/* Names for frpc's log lines "proxy added: [a b]": space-separated, bounded
 * (" ..." ends a list that did not fit). */
struct ufrpc_sup_names {
    char buf[1024];
    size_t len;
};
void ufrpc_sup_names_add(struct ufrpc_sup_names *l, const char *name);

struct ufrpc_sup_diff {
    size_t added, removed, changed, unchanged;
    struct ufrpc_sup_names added_names, removed_names; /* changed ones in both */
};

/* supervisor_setup.c */
void ufrpc_sup_wipe_free(char *s);
double ufrpc_sup_rand01(void *cl);
void ufrpc_sup_on_reg_change(void *cl, const struct ufrpc_tunnel *t, enum ufrpc_tunnel_state old);
/* Closes a tunnel's runtime (asynchronously; counted in cl->pending). */
void ufrpc_sup_drop_rt(ufrpc_sup_t *cl, struct ufrpc_tunnel *t);
/* Makes the registry hold exactly cfg's proxies and visitors (fresh runtimes). */
int ufrpc_sup_sync_registry(ufrpc_sup_t *cl, const struct ufrpc_config *cfg);
/* A live reload (same common part): applies cfg's proxies to the registry as frpc's
 * proxy manager UpdateAll does. A proxy whose configuration is equal keeps its entry,
 * state, runtime (plugin, health check, udp channel) and cfg pointer (into the old
 * configuration, which must then be retired, not freed); a removed or changed one
 * gets CloseProxy on cl->ctl when `live` (a running control) and its runtime closed;
 * a changed one restarts in state "new" with a fresh runtime, an added one is added.
 * The caller runs the proxy check afterwards (NewProxy). 0 or the first error (the
 * rest is still applied; a changed proxy that cannot restart is removed). */
int ufrpc_sup_diff_proxies(ufrpc_sup_t *cl, const struct ufrpc_config *cfg, int live,
                           struct ufrpc_sup_diff *d);
/* Room for one more retired configuration: 0 or UFRPC_ERR_NOMEM. */
int ufrpc_sup_retire_reserve(ufrpc_sup_t *cl);
/* Takes cfg into the retired list (room reserved by ufrpc_sup_retire_reserve). */
void ufrpc_sup_retire(ufrpc_sup_t *cl, struct ufrpc_config *cfg);
/* Frees the retired configurations nothing points into any more (none while closes
 * are pending). */
void ufrpc_sup_release_retired(ufrpc_sup_t *cl);
/* Frees all of them (client_free). */
void ufrpc_sup_free_retired(ufrpc_sup_t *cl);
/* Resolved token (caller wipes and frees), TLS context and control key for cfg;
 * refuses what ufrpc does not support. 0 or <0 (logged). */
int ufrpc_sup_setup_crypto(ufrpc_sup_t *cl, const struct ufrpc_config *cfg, char **token,
                           ufrpc_tls_ctx_t **tls, uint8_t key[UFRPC_CFB_KEY_LEN]);

/* supervisor_alerts.c */
/* Takes cl->cfg's [alerts]: thresholds, the 1 s timer, the webhook. 0 or <0 (logged;
 * alerts then stay as they were). */
int ufrpc_sup_alerts_apply(ufrpc_sup_t *cl);
/* stop(): closes the timer (counted in cl->pending) and drops the webhook. */
void ufrpc_sup_alerts_stop(ufrpc_sup_t *cl);
/* The views of every enabled alert (cl->alert_views; valid until the next call). */
void ufrpc_sup_alerts_views(ufrpc_sup_t *cl, const struct ufrpc_alert_view **out, size_t *n);

/* supervisor_visitors.c */
/* Starts every visitor of cl->cfg that is not running (at login; after a live reload). */
void ufrpc_sup_start_visitors(ufrpc_sup_t *cl);
void ufrpc_sup_stop_visitors(ufrpc_sup_t *cl);
/* A NatHoleResp for the running xtcp visitors. */
void ufrpc_sup_visitors_nat_hole_resp(ufrpc_sup_t *cl, const struct ufrpc_msg_nat_hole_resp *r);
/* A live reload: as frpc's visitor manager UpdateAll, a visitor whose configuration is
 * equal keeps running (and its entry keeps its cfg pointer); a removed or changed one
 * is closed (its listener with it), its entry removed or reset to "new" with the new
 * cfg; added ones get entries. ufrpc_sup_start_visitors then starts the new and
 * changed ones (when logged in). 0 or the first error. */
int ufrpc_sup_diff_visitors(ufrpc_sup_t *cl, const struct ufrpc_config *cfg,
                            struct ufrpc_sup_diff *d);

#endif
