/* ufrpc — the tunnel registry: every proxy and visitor, its state and its counters.
 *
 * The one place the rest of the program asks about tunnels (control session, work
 * connections, status output, admin API, metrics). Pure logic: no I/O, no clock —
 * every call that changes state takes now_ms from the caller's monotonic clock.
 *
 * Proxy states and transitions follow frpc's proxy wrapper (client/proxy/proxy_wrapper.go):
 *   new ──NewProxy sent──► wait start ──NewProxyResp ok──► running
 *                              │  └──NewProxyResp error──► start error
 *                              └──(20 s, no answer)──► NewProxy sent again
 *   start error ──(30 s)──► NewProxy sent again
 *   health check failing: running/wait start ──CloseProxy──► check failed;
 *                         recovery: check failed ──NewProxy──► wait start
 *   removed / shut down ──CloseProxy──► closed
 * frpc checks every proxy every 3 s (and at once when a control starts); so does
 * ufrpc_registry_check(), which the caller runs on a 3 s timer.
 *
 * Names: `name` is the configured name; the wire name is "<user>.<name>" when the
 * client has a user (frp naming.AddUserPrefix), else the name itself.
 *
 * Ownership: the registry owns its entries and all their strings. A struct
 * ufrpc_tunnel pointer stays valid until that entry is removed
 * (ufrpc_registry_remove) or the registry freed. `cfg` is the caller's (typically a
 * pointer into the immutable config): never freed here; the caller keeps it alive
 * while the entry exists or replaces it with ufrpc_registry_set_cfg(). */
#ifndef UFRPC_CLIENT_REGISTRY_H
#define UFRPC_CLIENT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "client/core/latency.h"

#define UFRPC_REGISTRY_CHECK_INTERVAL_MS 3000
#define UFRPC_REGISTRY_WAIT_RESPONSE_MS 20000
#define UFRPC_REGISTRY_START_ERR_RETRY_MS 30000

enum ufrpc_tunnel_kind {
    UFRPC_TUNNEL_PROXY = 0,
    UFRPC_TUNNEL_VISITOR = 1,
};

enum ufrpc_tunnel_state {
    UFRPC_TUNNEL_NEW = 0,
    UFRPC_TUNNEL_WAIT_START,
    UFRPC_TUNNEL_RUNNING,
    UFRPC_TUNNEL_START_ERROR,
    UFRPC_TUNNEL_CHECK_FAILED,
    UFRPC_TUNNEL_CLOSED,
};

/* frpc's phase text: "new", "wait start", "running", "start error", "check failed",
 * "closed". Static. */
const char *ufrpc_tunnel_state_name(enum ufrpc_tunnel_state s);

/* What went wrong, for the errors-by-kind counters (metrics). */
enum ufrpc_tunnel_err_kind {
    UFRPC_TUNNEL_ERR_LOCAL_DIAL = 0, /* the local service could not be reached */
    UFRPC_TUNNEL_ERR_WORK_CONN,      /* a work connection could not be set up */
    UFRPC_TUNNEL_ERR_TRANSFER,       /* a connection ended with an error */
    UFRPC_TUNNEL_ERR_PLUGIN,         /* the plugin refused the connection */
    UFRPC_TUNNEL_ERR_START,          /* frps refused the proxy (NewProxyResp error) */
    UFRPC_TUNNEL_ERR_KINDS
};

/* "local_dial", "work_conn", "transfer", "plugin", "start". Static. */
const char *ufrpc_tunnel_err_kind_name(enum ufrpc_tunnel_err_kind k);

/* Plain integers updated on the loop; bytes are added while a connection runs
 * (ufrpc_workconn_flush_bytes) or when it ends. */
struct ufrpc_tunnel_counters {
    uint64_t bytes_in;     /* from frps to the local service */
    uint64_t bytes_out;    /* from the local service to frps */
    uint64_t conns_active; /* work/visitor connections open now */
    uint64_t conns_total;  /* ever opened */
    uint64_t conns_failed; /* work connections that never carried data */
    uint64_t errors;       /* all kinds together */
    uint64_t errors_by_kind[UFRPC_TUNNEL_ERR_KINDS];
    struct ufrpc_latency dial; /* local service connect time */
    uint64_t last_activity_ms; /* last connection opened/closed (0 = never) */
};

struct ufrpc_tunnel {
    enum ufrpc_tunnel_kind kind;
    char *name;      /* configured name */
    char *wire_name; /* "<user>.<name>" or name */
    char *type;      /* "tcp", "http", "stcp", ... */
    const void *cfg; /* caller's config for this tunnel (not owned) */

    enum ufrpc_tunnel_state state;
    uint64_t changed_ms;    /* when state last changed (caller's clock) */
    char *last_error;       /* NULL when none; the server's or local error text */
    char *remote_addr;      /* from NewProxyResp; NULL until known */
    uint64_t last_send_ms;  /* last NewProxy sent */
    uint64_t last_err_ms;   /* last start error */
    int unhealthy;          /* health check currently failing */

    struct ufrpc_tunnel_counters c;

    /* client/core/alerts.c's bookkeeping for this tunnel (zeroed at add; the registry
     * never reads it). */
    struct ufrpc_tunnel_alerts {
        uint64_t win_ms;                 /* start of the previous window (0 = none yet) */
        uint64_t win_attempts, win_errors, win_dial_count, win_dial_sum_us;
        uint64_t cur_ms;                 /* start of the current window */
        uint64_t cur_attempts, cur_errors, cur_dial_count, cur_dial_sum_us;
        uint64_t down_since_ms;          /* 0 = running (or never seen down) */
        uint8_t active;                  /* bit per alert kind */
        double value[4];                 /* last evaluated value per kind */
    } al;

    /* The owner's runtime data for this tunnel (client/core/proxy_rt.h); the registry
     * never touches it: the owner releases it before removing the entry. */
    void *rt;
};

/* Called after every state change (old -> t->state). Must not add/remove entries. */
typedef void (*ufrpc_registry_change_fn)(void *ctx, const struct ufrpc_tunnel *t,
                                         enum ufrpc_tunnel_state old_state);

/* Called for every proxy that must (re)send NewProxy / send CloseProxy now. */
typedef void (*ufrpc_registry_send_fn)(void *ctx, struct ufrpc_tunnel *t);

struct ufrpc_registry;

/* user: the client's user (NULL or "" = none); copied. on_change may be NULL. */
int ufrpc_registry_new(const char *user, ufrpc_registry_change_fn on_change, void *ctx,
                       struct ufrpc_registry **out);
void ufrpc_registry_free(struct ufrpc_registry *reg);

const char *ufrpc_registry_user(const struct ufrpc_registry *reg);
/* Changes the user (copied) and every entry's wire name. 0 or UFRPC_ERR_NOMEM (then
 * nothing changed). */
int ufrpc_registry_set_user(struct ufrpc_registry *reg, const char *user);

/* Adds an entry in state "new". Names are unique per kind: UFRPC_ERR_CONFIG_DUPLICATE
 * if taken. UFRPC_ERR_INVAL on an empty name. *out (may be NULL) gets the entry. */
int ufrpc_registry_add(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind, const char *name,
                       const char *type, const void *cfg, uint64_t now_ms,
                       struct ufrpc_tunnel **out);

/* Removes and frees an entry (the caller sends CloseProxy first if needed).
 * 0 or UFRPC_ERR_NOT_FOUND. */
int ufrpc_registry_remove(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind,
                          const char *name);

void ufrpc_registry_set_cfg(struct ufrpc_tunnel *t, const void *cfg);

size_t ufrpc_registry_count(const struct ufrpc_registry *reg);
/* Entry i in insertion order (0..count-1), or NULL. */
struct ufrpc_tunnel *ufrpc_registry_at(struct ufrpc_registry *reg, size_t i);
struct ufrpc_tunnel *ufrpc_registry_find(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind,
                                         const char *name);

/* frp naming: wire = "<user>.<name>" (user empty: name). Writes at most cap bytes
 * (NUL included); returns the full length (like snprintf). */
size_t ufrpc_registry_wire_name(const char *user, const char *name, char *out, size_t cap);
/* Strips "<user>." from a wire name when user is set and the prefix is there;
 * otherwise returns wire_name itself. Points into wire_name. */
const char *ufrpc_registry_strip_user(const char *user, const char *wire_name);

/* Sets a state (with an optional error text, copied; NULL clears the error).
 * Reports the change. 0 or UFRPC_ERR_NOMEM. */
int ufrpc_registry_set_state(struct ufrpc_registry *reg, struct ufrpc_tunnel *t,
                             enum ufrpc_tunnel_state state, const char *err, uint64_t now_ms);

/* A reload changed this tunnel's configuration: it becomes a fresh one in state
 * "new" (type — copied — and cfg replaced; remote address, error and send times
 * cleared; counters kept), as frpc replaces the proxy wrapper. The caller sends
 * CloseProxy for the old one first. 0, or UFRPC_ERR_NOMEM (then nothing changed). */
int ufrpc_registry_restart(struct ufrpc_registry *reg, struct ufrpc_tunnel *t, const char *type,
                           const void *cfg, uint64_t now_ms);

/* frpc's checkWorker pass over every proxy: a healthy proxy in new / check failed, in
 * wait start for more than 20 s, or in start error for more than 30 s goes to wait
 * start and `send_new_proxy` is called for it; an unhealthy proxy in running or wait
 * start gets `send_close_proxy` and goes to check failed. Records now_ms as the last
 * check. Returns how many NewProxy were requested. */
size_t ufrpc_registry_check(struct ufrpc_registry *reg, uint64_t now_ms,
                            ufrpc_registry_send_fn send_new_proxy,
                            ufrpc_registry_send_fn send_close_proxy, void *ctx);

/* When the next check is due: last check + 3 s (now_ms if none was made yet). */
uint64_t ufrpc_registry_next_check_ms(const struct ufrpc_registry *reg, uint64_t now_ms);

/* A NewProxyResp arrived for `name` (already stripped of the user prefix):
 *   0                     -> running, remote_addr stored, error cleared;
 *   UFRPC_ERR_PROXY_START -> start error (error text stored, retried after 30 s);
 *   UFRPC_ERR_NOT_FOUND   -> no such proxy (frpc: "proxy [name] not found");
 *   UFRPC_ERR_STATE       -> the proxy is not waiting for an answer (frpc:
 *                            "status not wait start, ignore start message").
 * remote_addr/error may be NULL. */
int ufrpc_registry_on_new_proxy_resp(struct ufrpc_registry *reg, const char *name,
                                     const char *remote_addr, const char *error,
                                     uint64_t now_ms);

/* A control session ended (or a new one starts): every proxy not closed goes back to
 * "new" as frpc builds fresh proxy wrappers per control; remote_addr is cleared. The
 * check timer restarts. Counters are kept. */
void ufrpc_registry_session_reset(struct ufrpc_registry *reg, uint64_t now_ms);

/* Shutdown: every proxy not yet closed gets `send_close_proxy` (frpc sends CloseProxy
 * for each, whatever its phase) and goes to closed. Returns how many. */
size_t ufrpc_registry_close_all(struct ufrpc_registry *reg, uint64_t now_ms,
                                ufrpc_registry_send_fn send_close_proxy, void *ctx);

/* Health check result for a proxy (1 healthy, 0 failing). Takes effect at the next
 * check, as in frpc (which also checks at once on a change: the caller may call
 * ufrpc_registry_check right after). */
void ufrpc_registry_set_health(struct ufrpc_tunnel *t, int healthy);

/* Counters (t may be NULL: nothing happens). */
void ufrpc_tunnel_conn_opened(struct ufrpc_tunnel *t);
void ufrpc_tunnel_conn_closed(struct ufrpc_tunnel *t);
void ufrpc_tunnel_add_bytes(struct ufrpc_tunnel *t, uint64_t in, uint64_t out);
/* One error of that kind (errors and errors_by_kind). */
void ufrpc_tunnel_error(struct ufrpc_tunnel *t, enum ufrpc_tunnel_err_kind kind);
/* A connection that failed before carrying data: conns_failed and an error. */
void ufrpc_tunnel_conn_failed(struct ufrpc_tunnel *t, enum ufrpc_tunnel_err_kind kind);
/* The local service answered a connect after `us` microseconds. */
void ufrpc_tunnel_dial_latency(struct ufrpc_tunnel *t, uint64_t us);
/* Something happened on the tunnel at now_ms (last activity). */
void ufrpc_tunnel_touch(struct ufrpc_tunnel *t, uint64_t now_ms);

#endif
