/* ufrpc — plugin internals shared by client/plugin*.c (not for other modules).
 *
 * Each plugin type is one struct plugin_type (create/handle/destroy). Every
 * connection being handled is a struct pconn linked into its plugin; it leaves
 * the list through ufrpc_pl_pconn_done() exactly once, after all its streams are closed
 * and all its memory but the struct itself is released. ufrpc_plugin_close()
 * calls each pconn's abort(), which must close its streams (ufrpc_pl_pconn_done follows
 * later from the close callbacks).
 */
#ifndef UFRPC_CLIENT_PLUGIN_INTERNAL_H
#define UFRPC_CLIENT_PLUGIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/plugins/plugin.h"
#include "net/stream.h"
#include "net/tls.h"

struct pconn;

struct plugin_type {
    ufrpc_plugin_type type;
    /* fills p->impl; reason on failure */
    int (*create)(ufrpc_plugin_t *p, char *reason, size_t cap);
    /* owns work in every case */
    int (*handle)(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src_addr,
                  const uint8_t *pp, size_t pp_len);
    /* frees p->impl once no connection is left */
    void (*destroy)(ufrpc_plugin_t *p);
};

struct ufrpc_plugin {
    const struct plugin_type *type;
    uv_loop_t *loop;
    const struct ufrpc_plugin_config *cfg;
    const struct ufrpc_cfg_routes *routes; /* the path router's; NULL otherwise */
    char *proxy_name;
    ufrpc_plugin_log_fn log;
    void *log_data;
    uint32_t dial_timeout_ms, idle_timeout_ms;
    void *impl;
    ufrpc_tls_ctx_t *tls_server; /* https2http https2https tls2raw */
    ufrpc_tls_ctx_t *tls_client; /* http2https https2https */
    struct pconn *conns;
    size_t nconns;
    uint64_t handled, failed;
    bool closing;
    uv_idle_t close_idle; /* runs the close callback outside ufrpc_plugin_close */
    ufrpc_plugin_close_cb close_cb;
    void *close_data;
};

struct pconn {
    struct pconn *prev, *next;
    ufrpc_plugin_t *plugin;
    void (*abort)(struct pconn *c);
    bool failed; /* a reason was logged */
};

void ufrpc_pl_pconn_add(ufrpc_plugin_t *p, struct pconn *c, void (*abort)(struct pconn *c));
/* Unlinks c (the caller frees it afterwards). */
void ufrpc_pl_pconn_done(struct pconn *c);
/* Logs a WARN for connection c (once counted as failed). */
void ufrpc_pl_pconn_fail(struct pconn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ufrpc_pl_plugin_log(ufrpc_plugin_t *p, int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- small I/O helpers ---------------------------------------------------- */

/* Writes len bytes: with buf != NULL by reference (no copy), else copied. The
 * request is heap-allocated and freed by its callback; done (may be NULL) runs
 * with arg and the status first. 0 or <0 (then nothing runs). */
typedef void (*ufrpc_pl_write_done)(void *arg, int status);
int ufrpc_pl_write(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len,
                   ufrpc_pl_write_done done, void *arg);

/* "host:port", "[v6]:port", ":port" (host 127.0.0.1) → host (no brackets), port.
 * 0 or UFRPC_ERR_INVAL. */
int ufrpc_pl_split_host_port(const char *hp, char *host, size_t cap, uint16_t *port);

/* Opens a local connection: TCP to "host:port" (optionally TLS on top, client
 * without verification, SNI from the host name) or a unix socket path. cb runs
 * once (never from inside) with a ready stream or an error. Returns a handle for
 * ufrpc_pl_pconnect_cancel (cb then runs with UFRPC_ERR_CANCELED before it returns), or
 * NULL and *err (then cb never runs). */
struct pconnect;
typedef void (*pconnect_cb)(void *arg, int status, struct ufrpc_stream *s);
struct pconnect *ufrpc_pl_pconnect_tcp(ufrpc_plugin_t *p, const char *host, uint16_t port, bool tls,
                                       pconnect_cb cb, void *arg, int *err);
struct pconnect *ufrpc_pl_pconnect_unix(ufrpc_plugin_t *p, const char *path, pconnect_cb cb,
                                        void *arg, int *err);
void ufrpc_pl_pconnect_cancel(struct pconnect *pc);

/* Joins the connection's two streams with a pump; first writes `pre` (pp header,
 * leftover bytes; may be empty) to b. c is done when the pump ends. Takes both
 * streams in every case. join: the first EOF from either side ends both
 * connections, as frpc's plugins that use golib's io.Join (http_proxy's CONNECT,
 * tls2raw, unix_domain_socket); false: a half-close is passed on (socks5, whose
 * go-socks5 copies half-close, and the HTTP forwarder's upgraded connections,
 * Go's ReverseProxy). */
void ufrpc_pl_ptunnel(struct pconn *c, struct ufrpc_stream *a, struct ufrpc_stream *b,
                      const uint8_t *pre1, size_t pre1_len, ufrpc_rbuf_t *pre2_buf,
                      const uint8_t *pre2, size_t pre2_len, bool join);

/* ---- the plugin types ------------------------------------------------------ */
extern const struct plugin_type ufrpc_pl_type_unix_domain_socket;
extern const struct plugin_type ufrpc_pl_type_socks5;
extern const struct plugin_type ufrpc_pl_type_http_proxy;
extern const struct plugin_type ufrpc_pl_type_static_file;
extern const struct plugin_type ufrpc_pl_type_https2http;
extern const struct plugin_type ufrpc_pl_type_https2https;
extern const struct plugin_type ufrpc_pl_type_http2https;
extern const struct plugin_type ufrpc_pl_type_http2http;
extern const struct plugin_type ufrpc_pl_type_tls2raw;
extern const struct plugin_type ufrpc_pl_type_router; /* client/plugins/plugin_router.c */

/* Base64 of "user:pass" check of an Authorization/Proxy-Authorization value
 * ("Basic xxx"); constant-time compare. */
bool ufrpc_pl_basic_auth_ok(const char *value, size_t len, const char *user, const char *pass);

#endif
