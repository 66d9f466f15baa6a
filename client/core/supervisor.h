/* ufrpc — the supervisor: frpc's service loop (client/service.go) on one libuv loop.
 *
 *   start -> "try to connect to server..." -> connector open (DNS afresh, TCP, TLS,
 *   yamux) -> control stream -> Login -> LoginResp -> "login to server success, get
 *   run id [..]" -> running (control session, work connections)
 *
 * First login: a failure with loginFailExit = true stops the client with exit code 1
 * and "login to the server failed: <err>. With loginFailExit enabled, no additional
 * retries will be attempted"; otherwise it retries at ≈2, 4, 8, 10, 10 … s.
 * After a session dies: re-login at once, then ≈2, 4, 8, 16, 20 … s; repeated deaths
 * are spaced by frpc's fast-retry rule (client/core/backoff.h). Every re-login carries the
 * previous run id and re-announces every proxy.
 *
 * Shutdown (SIGINT/SIGTERM via ufrpc_sup_shutdown): CloseProxy for each proxy,
 * up to 500 ms for it to be written, then everything is closed and on_exit(0).
 * Reload (SIGHUP, `ufrpc reload`, /api/reload via ufrpc_sup_reload):
 *   - common part (everything but proxies and visitors, compared semantically with
 *     ufrpc_config_common_equal, plus the resolved token) unchanged: as frpc's
 *     UpdateAllConfigurer, applied live — no new login, same run id. Proxies whose
 *     configuration is equal keep their registry entry, state, work connections,
 *     pumps, udp channel, plugin and health check; removed ones get CloseProxy and
 *     are dropped; changed ones get CloseProxy, then NewProxy with the new settings
 *     (after their first successful health check, if any); added ones NewProxy.
 *     Visitors likewise (changed/removed ones close their listeners, new ones open).
 *     Logged as "reload: N proxies added, M removed, K changed, L unchanged; ...".
 *     When not logged in (connecting, waiting to retry) only the registry and
 *     configuration change; the next login announces them.
 *   - common part changed (frpc would ignore it): "reload: server settings changed,
 *     reconnecting": the session is closed and a new login starts at once (with the
 *     run id) with the new settings; every proxy is announced again.
 *   A configuration replaced by a live reload stays allocated while unchanged
 *   entries (and runtimes being closed) still point into it.
 *
 * Ownership: the client takes the configuration(s) given to new/reload and frees
 * them; it borrows loop and log (which must outlive it). on_exit runs once, when the
 * client has stopped and closed all its handles; after it the owner calls
 * ufrpc_sup_free (the loop then has nothing left of the client). */
#ifndef UFRPC_CLIENT_SUPERVISOR_H
#define UFRPC_CLIENT_SUPERVISOR_H

#include <uv.h>

#include "client/core/log.h"
#include "client/core/metrics.h"
#include "client/core/registry.h"
#include "config/config.h"

typedef struct ufrpc_sup ufrpc_sup_t;

struct ufrpc_sup_opts {
    uv_loop_t *loop;
    struct ufrpc_config *cfg; /* taken */
    struct ufrpc_log *log;    /* borrowed; may be NULL */
    const char *hostname;     /* Login.hostname; NULL: gethostname() */
    /* auth.tokenSource type "exec": the token its command printed, resolved by the
     * caller before (client/core/token_exec.h; copied). It is used for as long as the
     * exec settings stay the same; a reload that changes them is refused (frpc
     * resolves the token once, at start). */
    const char *exec_token;
    /* The client stopped: code 0 after a shutdown, 1 after a login failure with
     * loginFailExit; msg is the text to print (NULL when none). */
    void (*on_exit)(ufrpc_sup_t *cl, int code, const char *msg, void *data);
    /* Optional: every tunnel state change (old -> t->state), called from inside the
     * registry: it must not add or remove tunnels nor reload (libufrpc queues it). */
    void (*on_tunnel)(void *data, const struct ufrpc_tunnel *t, enum ufrpc_tunnel_state old);
    void *data;
};

/* 0 and *out, or <0 (then cfg has been freed). */
int ufrpc_sup_new(const struct ufrpc_sup_opts *opts, ufrpc_sup_t **out);

/* Starts the first login. 0 or <0. */
int ufrpc_sup_start(ufrpc_sup_t *cl);

/* Graceful stop (see above); on_exit(0) follows. Idempotent. */
void ufrpc_sup_shutdown(ufrpc_sup_t *cl);

/* Replaces the configuration (taken), live or by reconnecting (see above). 0 or <0:
 * before anything changed (unsupported settings, token file unreadable, no memory;
 * then new_cfg has been freed), or after it was applied as far as possible (a proxy
 * whose runtime could not be built; new_cfg is in effect). */
int ufrpc_sup_reload(ufrpc_sup_t *cl, struct ufrpc_config *new_cfg);

/* Frees a stopped client (after on_exit). */
void ufrpc_sup_free(ufrpc_sup_t *cl);

/* The tunnel registry (valid until free; entries change on reload). */
struct ufrpc_registry *ufrpc_sup_registry(ufrpc_sup_t *cl);
/* The configuration in effect (replaced by ufrpc_sup_reload; valid until then).
 * Registry entries' cfg pointers of proxies/visitors left unchanged by a live reload
 * point into an earlier, equal configuration (kept alive as long as they do). */
const struct ufrpc_config *ufrpc_sup_config(const ufrpc_sup_t *cl);
/* Current run id ("" before the first login). */
const char *ufrpc_sup_run_id(const ufrpc_sup_t *cl);
/* Number of successful logins so far (tests). */
unsigned ufrpc_sup_login_count(const ufrpc_sup_t *cl);
/* A metrics snapshot of the client (registry, session counters, yamux and work
 * pool gauges, loop clock); proc and alerts are left empty for the caller. The
 * pointers stay valid until the client changes (return to the loop). */
void ufrpc_sup_metrics(ufrpc_sup_t *cl, struct ufrpc_metrics_src *out);

#endif
