/* ufrpc — the admin API's HTTP/1.1 connection core, sans-I/O (docs/PROTOCOL.md §11.1).
 *
 * One session per connection: request bytes go in (ufrpc_admin_session_feed), whole
 * response bytes come out (ufrpc_admin_session_take_output). No sockets, no clock, no
 * timers: what needs time is reported as data (a delay before a response is written,
 * "close after this output", "stop requested"). The libuv shell is client/admin/admin.c;
 * tests and the fuzz target drive the session directly.
 *
 * Behaviour follows frpc (client/api_router.go, client/http/controller.go,
 * pkg/util/http/handler.go, pkg/util/net/http.go):
 *   GET  /healthz                      200, empty body, no auth
 *   GET  /api/reload[?strictConfig=b]  hooks->reload; 200 | 400 | 500
 *   POST /api/stop                     200; then the shell calls hooks->stop after
 *                                      ~100 ms (ufrpc_admin_session_take_stop)
 *   GET  /api/status                   {"<type>":[{name,type,status,err,local_addr,
 *                                      plugin,remote_addr}...]} sorted by name
 *   GET  /api/config                   the config file's text (400 without a file)
 *   PUT  /api/config                   body written to the file (mode 0600), no reload
 *   GET  /api/proxy/{name}/config      {"name","type","<type>":{...}} (secrets masked)
 *   GET  /api/visitor/{name}/config    same for a visitor
 *   GET|POST /api/store/proxies         list | create   (only with a store: hooks.store)
 *   GET|PUT|DELETE /api/store/proxies/{name}   get | update | delete
 *   ... /api/store/visitors[/{name}]    the same for visitors (client/admin/admin_store.c)
 *   GET  /metrics                      Prometheus text (client/core/metrics.h); ufrpc only
 *   GET  /api/metrics                  the same as JSON; ufrpc only
 *   GET  /, /dashboard                 ufrpc's dashboard page (admin_dashboard.c); with
 *                                      webServer.assetsDir, / is frpc's 301 to /static/
 *   GET  /static/..., /favicon.ico     files of webServer.assetsDir (e.g. frpc's built
 *                                      web UI); 404 without one
 * Unknown paths: 404 "404 page not found\n" (text, as Go's http.NotFound); a known path
 * with another method: 405, empty (gorilla/mux); both without auth, as in frpc.
 * Errors of API handlers: {"Code":<status>,"Msg":"<text>"}\n with that status.
 * Basic auth (user/password from webServer.*; skipped when both are empty) guards every
 * route but /healthz; a failure answers 401 `WWW-Authenticate: Basic realm="Restricted"`
 * with "Unauthorized\n", to be written after UFRPC_ADMIN_AUTH_FAIL_DELAY_MS.
 *
 * Limits: request line + headers <= UFRPC_ADMIN_MAX_HEADER_BYTES (431 and close beyond),
 * body <= UFRPC_ADMIN_MAX_BODY (413 and close beyond). A malformed request gets
 * "400 Bad Request" and the connection closes. Keep-alive per HTTP/1.1 rules
 * (HTTP/1.0 and "Connection: close" close after the response).
 *
 * Secrets: the password is compared in constant time and never copied into output or
 * log lines; proxy/visitor definitions are produced with secrets masked ("***").
 *
 * Ownership: the session borrows `cfg` (and everything it points to) for its whole
 * life; hooks run synchronously inside ufrpc_admin_session_feed. The config file is
 * read and written through jobs (below), never inside feed. */
#ifndef UFRPC_CLIENT_ADMIN_SESSION_H
#define UFRPC_CLIENT_ADMIN_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/core/log.h"
#include "client/core/metrics.h"
#include "client/core/registry.h"
#include "config/config.h"

#define UFRPC_ADMIN_MAX_HEADER_BYTES (64u * 1024u)
#define UFRPC_ADMIN_MAX_BODY (1024u * 1024u)
#define UFRPC_ADMIN_AUTH_FAIL_DELAY_MS 200u
#define UFRPC_ADMIN_STOP_DELAY_MS 100u

enum ufrpc_admin_reload_result {
    UFRPC_ADMIN_RELOAD_OK = 0,
    UFRPC_ADMIN_RELOAD_INVALID = 1,      /* the new file does not load/validate: 400 */
    UFRPC_ADMIN_RELOAD_APPLY_FAILED = 2, /* loaded but could not be applied: 500 */
};

/* What the admin API needs from the running client. Every function pointer may be
 * NULL (then: no registry = empty status; no config = every proxy/visitor unknown;
 * no config_path = "started without a file"; no reload = 500; no stop = nothing).
 * All run on the caller's thread, synchronously, and must not free the server or
 * session that called them — except stop(), which the shell calls from a timer and
 * which may close the whole admin server (ufrpc_admin_close). */
struct ufrpc_store; /* client/core/store.h */

struct ufrpc_admin_hooks {
    void *ctx;
    /* The live tunnel registry (status: proxies only, as frpc). */
    struct ufrpc_registry *(*registry)(void *ctx);
    /* The configuration in effect (serverAddr for remote_addr, proxy/visitor
     * definitions, localIP/localPort/plugin of the status). */
    const struct ufrpc_config *(*config)(void *ctx);
    /* The configuration file's path; NULL or "" when started without one. */
    const char *(*config_path)(void *ctx);
    /* Re-reads the config file (strict: unknown keys are errors), validates and
     * applies it. On failure writes a one-line reason (no secrets) into msg. */
    enum ufrpc_admin_reload_result (*reload)(void *ctx, bool strict, char *msg, size_t cap);
    /* Graceful stop of the whole client (CloseProxy for each proxy, then exit). */
    void (*stop)(void *ctx);
    /* A metrics snapshot (ufrpc_sup_metrics plus alerts); proc is the admin's.
     * NULL: the registry hook's proxies only. */
    void (*metrics)(void *ctx, struct ufrpc_metrics_src *src);
    /* The store (store.path) or NULL: without one the /api/store routes do not
     * exist (404), as in frpc. */
    struct ufrpc_store *(*store)(void *ctx);
    /* After a store change was written: loads the configuration again (config file +
     * store, not strict) and applies it like a reload (unchanged proxies keep their
     * connections). 0, or nonzero with a one-line reason in msg. */
    int (*store_apply)(void *ctx, char *msg, size_t cap);
};

/* Per-server settings shared by all sessions (borrowed). */
struct ufrpc_admin_session_cfg {
    const char *user;     /* NULL = "" */
    const char *password; /* NULL = "" */
    struct ufrpc_admin_hooks hooks;
    struct ufrpc_log *log;  /* request/response lines as frpc logs them; may be NULL */
    const char *assets_dir; /* webServer.assetsDir; NULL/"" = no static files */
};

struct ufrpc_admin_session;

/* NULL on allocation failure. */
struct ufrpc_admin_session *ufrpc_admin_session_new(const struct ufrpc_admin_session_cfg *cfg);
void ufrpc_admin_session_free(struct ufrpc_admin_session *s);

/* Parses request bytes and answers each complete request. Stops right after a
 * request whose response was queued (so the caller writes it before reading on) and
 * returns how many bytes were consumed; the caller feeds the rest again after
 * taking (and writing) the output. Once the session is done (error, close), input is
 * ignored and 0 is returned. */
size_t ufrpc_admin_session_feed(struct ufrpc_admin_session *s, const uint8_t *data, size_t len);

/* Takes the queued output: *buf (malloc'd, the caller frees it) and *len; *delay_ms
 * is how long to wait before writing it (auth failures). Returns false when nothing
 * is queued (then *buf = NULL). */
bool ufrpc_admin_session_take_output(struct ufrpc_admin_session *s, uint8_t **buf, size_t *len,
                                     uint32_t *delay_ms);

/* True once the connection must be closed after the output taken so far has been
 * written (malformed request, limit exceeded, no keep-alive). */
bool ufrpc_admin_session_done(const struct ufrpc_admin_session *s);

/* True once after a successful POST /api/stop (the shell then calls hooks.stop about
 * UFRPC_ADMIN_STOP_DELAY_MS after writing the response). */
bool ufrpc_admin_session_take_stop(struct ufrpc_admin_session *s);

/* The peer closed its side: if a request is half-received the session is done. */
void ufrpc_admin_session_eof(struct ufrpc_admin_session *s);

/* GET and PUT /api/config read or write the config file, and /static/ and
 * /favicon.ico read assetsDir, which may be slow (flash, network file systems):
 * the session hands that out as a job instead of doing it.
 * After a feed, a non-NULL ufrpc_admin_session_take_file_job() is the job of the
 * request just parsed; the session then waits (feed consumes nothing, no output)
 * until the job, run, comes back through ufrpc_admin_session_file_done(), which
 * queues the response and frees the job. ufrpc_admin_file_job_run() does the
 * blocking I/O and touches nothing but the job: run it on a worker thread
 * (uv_queue_work), or inline in tests. A taken job that will not come back (its
 * connection is gone) is freed with ufrpc_admin_file_job_free(). */
struct ufrpc_admin_file_job;
/* A store change (/api/store/...) is such a job too: the snapshot is written on a
 * worker, and ufrpc_admin_file_job_finish() — called by file_done, or by the shell
 * before freeing a job whose connection is gone — applies it on the loop (or undoes
 * it in memory when the write failed). */
void ufrpc_admin_file_job_finish(struct ufrpc_admin_file_job *job);
struct ufrpc_admin_file_job *ufrpc_admin_session_take_file_job(struct ufrpc_admin_session *s);
void ufrpc_admin_file_job_run(struct ufrpc_admin_file_job *job);
void ufrpc_admin_session_file_done(struct ufrpc_admin_session *s,
                                   struct ufrpc_admin_file_job *job);
void ufrpc_admin_file_job_free(struct ufrpc_admin_file_job *job);

#endif
