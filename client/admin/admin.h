/* ufrpc — frpc's admin API server (webServer.*) on the client's libuv loop.
 *
 * The HTTP behaviour (routes, auth, limits, keep-alive) lives in the sans-I/O core,
 * client/admin/admin_session.h; this is the I/O shell around it: a TCP listener (optionally
 * TLS, webServer.tls.certFile/keyFile), one session per connection, the 200 ms delay
 * of a failed login, the 100 ms delay before hooks.stop after POST /api/stop, a 60 s
 * idle timeout per connection (frpc's Read/WriteTimeout) and at most
 * UFRPC_ADMIN_MAX_CONNS connections at once (more are closed on accept).
 *
 * Wiring (client side): after loading the config, when cfg->web_server.port > 0:
 *     struct ufrpc_admin_opts o;
 *     ufrpc_admin_opts_from_config(cfg, &o);
 *     o.log = log;
 *     struct ufrpc_admin_hooks h = {.ctx = me, .registry = ..., .config = ...,
 *                                   .config_path = ..., .reload = ..., .stop = ...};
 *     rc = ufrpc_admin_start(loop, &o, &h, &admin);   (frpc exits on a listen error)
 * and ufrpc_admin_close(admin, cb, data) when the client stops.
 *
 * Ownership: ufrpc_admin_start copies every string of opts and the hooks struct; it
 * borrows the loop and the log (both must outlive the server). The server is freed
 * after the callback given to ufrpc_admin_close; no hook runs after that call. */
#ifndef UFRPC_CLIENT_ADMIN_H
#define UFRPC_CLIENT_ADMIN_H

#include <stdint.h>
#include <uv.h>

#include "client/admin/admin_session.h"
#include "client/core/log.h"
#include "config/config.h"

#define UFRPC_ADMIN_MAX_CONNS 128
#define UFRPC_ADMIN_IDLE_TIMEOUT_MS 60000u

struct ufrpc_admin_opts {
    const char *addr; /* listen IP; NULL or "" = 127.0.0.1 */
    uint16_t port;    /* 0 = any free port (tests) */
    const char *user; /* Basic auth; both NULL/"" = no auth */
    const char *password;
    const char *tls_cert_file; /* both set: HTTPS */
    const char *tls_key_file;
    const char *assets_dir;   /* webServer.assetsDir: /static/ files; NULL = none */
    uint32_t idle_timeout_ms; /* 0 = UFRPC_ADMIN_IDLE_TIMEOUT_MS */
    struct ufrpc_log *log;    /* may be NULL */
};

/* Fills o from cfg->web_server (pointers into cfg; start copies them). Returns 0, or
 * UFRPC_ERR_INVAL when the port is out of 1..65535 (the server is off then). */
int ufrpc_admin_opts_from_config(const struct ufrpc_config *cfg, struct ufrpc_admin_opts *o);

struct ufrpc_admin;

/* Listens and serves. 0 and *out, or UFRPC_ERR_ADDR_IN_USE / _NET / _TLS / _NOMEM /
 * _INVAL (addr not an IP literal). */
int ufrpc_admin_start(uv_loop_t *loop, const struct ufrpc_admin_opts *o,
                      const struct ufrpc_admin_hooks *h, struct ufrpc_admin **out);

/* The bound port (useful with port 0). */
uint16_t ufrpc_admin_port(const struct ufrpc_admin *a);

/* Number of open connections (tests). */
size_t ufrpc_admin_conn_count(const struct ufrpc_admin *a);

/* Helper for hooks.reload, as frpc's ReloadFromFile: loads and validates `path`
 * (strict: unknown keys are errors) and hands the new configuration to apply(ctx,
 * cfg), which takes it in every case (ufrpc_sup_reload fits). Returns
 * UFRPC_ADMIN_RELOAD_INVALID with the load errors ("file:line:col: msg", joined by
 * "; ") in msg, UFRPC_ADMIN_RELOAD_APPLY_FAILED with ufrpc_strerror(apply's code), or
 * UFRPC_ADMIN_RELOAD_OK. Warnings go to log (may be NULL). */
enum ufrpc_admin_reload_result
ufrpc_admin_reload_file(const char *path, bool strict,
                        int (*apply)(void *ctx, struct ufrpc_config *cfg), void *ctx,
                        struct ufrpc_log *log, char *msg, size_t cap);

/* Stops listening, closes every connection, cancels a pending stop; cb (may be NULL)
 * runs once all handles are closed, then the server is freed. May be called from
 * inside hooks.stop. Idempotent: later calls are ignored. */
void ufrpc_admin_close(struct ufrpc_admin *a, void (*cb)(void *data), void *data);

#endif
