/* The connector: dial (+TLS) per stream, or one yamux session per login. */
#include "client/core/connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>

#include "net/dial.h"
#include "net/kcp.h"
#include "net/mux.h"
#include "net/quic.h"
#include "net/quic_lib.h"
#include "net/ws.h"
#include "proto/error.h"

/* 0 when CMakeLists.txt left a transport out (UFRPC_WITH_KCP, UFRPC_WITH_WEBSOCKET,
 * UFRPC_QUIC=OFF, defined for this file): config/unsupported.c refuses it, and its
 * paths and hints here go with it. */
#ifndef UFRPC_WITH_KCP
#define UFRPC_WITH_KCP 1
#endif
#ifndef UFRPC_WITH_WEBSOCKET
#define UFRPC_WITH_WEBSOCKET 1
#endif
#ifndef UFRPC_WITH_QUIC
#define UFRPC_WITH_QUIC 1
#endif

/* How a connection is layered after the TCP dial (frp client/connector.go
 * realConnect, v0.70.0):
 *   tcp:       [0x17] + TLS (when transport.tls.enable)
 *   kcp:       a KCP stream over UDP (net/kcp.h) instead of the TCP connection,
 *              then [0x17] + TLS as for tcp
 *   websocket: websocket upgrade (Host serverAddr:serverPort), then inside it
 *              [0x17] + TLS (when transport.tls.enable)
 *   wss:       TLS (always, no 0x17 byte), then the websocket upgrade with Host
 *              = the TLS server name (tls.serverName or serverAddr), no port */
enum step {
    STEP_NONE = 0,
    STEP_WS,       /* websocket upgrade, then TLS if enabled (websocket) */
    STEP_TLS,      /* TLS, last step (tcp, websocket) */
    STEP_WSS_TLS,  /* TLS, then the websocket upgrade (wss) */
    STEP_WSS_WS,   /* the websocket upgrade over TLS, last step (wss) */
};

struct conn_req {
    ufrpc_connector_t *c;
    ufrpc_dial_t *dial;        /* while dialing */
    ufrpc_kcp_dial_t *kdial;   /* while resolving (kcp) */
    struct ufrpc_stream *tls;  /* while a TLS or websocket handshake runs */
    enum step step;            /* which one */
    int is_open;               /* the open() request (mux transport) */
    ufrpc_connector_connect_cb cb;
    void *data;
    /* deferred mux result */
    int status;
    struct ufrpc_stream *stream;
    struct conn_req *next;
};

struct ufrpc_connector {
    uv_loop_t *loop;
    const struct ufrpc_config *cfg;
    ufrpc_tls_ctx_t *tls;
    struct ufrpc_log *log;
    ufrpc_connector_error_cb on_error;
    void *data;
    char addr[320];

    ufrpc_connector_open_cb open_cb;
    ufrpc_mux_t *mux;
    ufrpc_quic_t *quic;     /* transport.protocol "quic": streams instead of yamux */
    bool quic_up;
    struct conn_req *reqs;  /* dials in progress */
    struct conn_req *ready; /* mux connects waiting for the deferred callback */
    uv_timer_t defer;
    int closing;
    int pending_closes;
    void (*close_cb)(void *data);
    struct ufrpc_tls_failure tls_fail; /* the last failed TLS handshake */
    int has_tls_fail;
    char ws_fail[300]; /* the last failed websocket upgrade, in words */
    int ws_fail_code;
    int has_ws_fail;
};

static void on_defer(uv_timer_t *t);

static void unlink_req(struct conn_req **head, struct conn_req *r)
{
    for (struct conn_req **p = head; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            return;
        }
    }
}

static void on_mux_error(ufrpc_mux_t *m, int err, void *data)
{
    (void)m;
    ufrpc_connector_t *c = data;
    if (c->on_error && !c->closing)
        c->on_error(c, err, c->data);
}

/* Ends connect request r (freed here) with status and stream s: a stream that
 * comes after the connector started closing is closed and reported canceled. */
static void deliver_conn(ufrpc_connector_t *c, struct conn_req *r, int status,
                         struct ufrpc_stream *s)
{
    ufrpc_connector_connect_cb cb = r->cb;
    void *data = r->data;
    free(r);
    if (status == 0 && c->closing) {
        ufrpc_stream_close(s, NULL);
        status = UFRPC_ERR_CANCELED;
        s = NULL;
    }
    cb(c, status, s, data);
}

/* A dial (+TLS) finished for request r. */
static void finish(struct conn_req *r, int status, struct ufrpc_stream *s)
{
    ufrpc_connector_t *c = r->c;
    unlink_req(&c->reqs, r);
    if (r->is_open) {
        int rc = status;
        if (status == 0 && c->closing) {
            ufrpc_stream_close(s, NULL);
            rc = UFRPC_ERR_CANCELED;
        } else if (status == 0) {
            struct ufrpc_yamux_config ycfg;
            ufrpc_yamux_config_default(&ycfg);
            if (c->cfg->transport.tcp_mux_keepalive_interval > 0)
                ycfg.keepalive_interval_ms =
                    (uint32_t)(c->cfg->transport.tcp_mux_keepalive_interval * 1000);
            else
                ycfg.enable_keepalive = 0;
            struct ufrpc_mux_callbacks cbs = {NULL, on_mux_error};
            rc = ufrpc_mux_new(c->loop, s, UFRPC_YAMUX_CLIENT, &ycfg, &cbs, c, &c->mux);
            if (rc)
                c->mux = NULL;
        }
        ufrpc_connector_open_cb cb = c->open_cb;
        free(r);
        if (cb)
            cb(c, rc, c->data);
        return;
    }
    deliver_conn(c, r, status, s);
}

static void on_handshake(struct ufrpc_stream *s, int status);

static const char *proto_of(const ufrpc_connector_t *c)
{
    const char *p = ufrpc_cfg_str(c->cfg->transport.protocol);
    return p[0] ? p : "tcp";
}

static const char *tls_name(const ufrpc_connector_t *c)
{
    const char *sn = c->cfg->transport.tls.files.server_name;
    return sn && sn[0] ? sn : ufrpc_cfg_str(c->cfg->server_addr);
}

/* Starts TLS over s for r (next: the step after it). */
static void start_tls(struct conn_req *r, struct ufrpc_stream *s, enum step step, bool first_byte)
{
    ufrpc_connector_t *c = r->c;
    c->has_tls_fail = 0;
    struct ufrpc_tls_conn_opts o = {
        .server_name = tls_name(c),
        .first_byte_0x17 = first_byte,
        .handshake_timeout_ms = 10000,
    };
    int err = 0;
    r->step = step;
    r->tls = ufrpc_tls_client_new(c->tls, s, &o, on_handshake, r, &err);
    if (!r->tls)
        finish(r, err ? err : UFRPC_ERR_TLS, NULL);
}

/* Starts the websocket upgrade over s for r, Host header host. */
static void start_ws(struct conn_req *r, struct ufrpc_stream *s, enum step step, const char *host)
{
    ufrpc_connector_t *c = r->c;
    c->has_ws_fail = 0;
    struct ufrpc_ws_client_opts o = {.host = host, .handshake_timeout_ms = 10000};
    int err = 0;
    r->step = step;
    r->tls = ufrpc_ws_client_new(s, &o, on_handshake, r, &err);
    if (!r->tls)
        finish(r, err ? err : UFRPC_ERR_WS_HANDSHAKE, NULL);
}

static bool tls_first_byte(const ufrpc_connector_t *c)
{
    return !c->cfg->transport.tls.disable_custom_tls_first_byte;
}

/* A TLS or websocket handshake of request r finished. */
static void on_handshake(struct ufrpc_stream *s, int status)
{
    struct conn_req *r = s->data;
    if (!r)
        return; /* canceled: the request is gone */
    ufrpc_connector_t *c = r->c;
    enum step step = r->step;
    r->tls = NULL;
    r->step = STEP_NONE;
    s->data = NULL;
    if (status < 0) {
        if (ufrpc_ws_is(s)) {
            ufrpc_ws_failure_text(s, c->ws_fail, sizeof c->ws_fail);
            c->ws_fail_code = status;
            c->has_ws_fail = 1;
        } else {
            c->has_tls_fail = ufrpc_tls_get_failure(s, &c->tls_fail) == 0;
        }
        ufrpc_stream_close(s, NULL);
        finish(r, status, NULL);
        return;
    }
    if (step == STEP_TLS || step == STEP_WSS_TLS) {
        bool own = false;
        const char *suite = ufrpc_tls_suite(s, &own);
        UFRPC_LOGD(c->log, "tls: %s%s, %s records", suite ? suite : "?",
                   ufrpc_tls_resumed(s) ? " (resumed)" : "", own ? "ufrpc's" : "Mbed TLS's");
    }
    if (c->closing) {
        finish(r, 0, s); /* finish closes it and reports CANCELED */
        return;
    }
    switch (step) {
    case STEP_WS:
        if (c->cfg->transport.tls.enable) {
            start_tls(r, s, STEP_TLS, tls_first_byte(c));
            return;
        }
        break;
    case STEP_WSS_TLS: {
        /* frp passes the TLS server name as the websocket host (no port) */
        const char *sn = tls_name(c);
        char host[300];
        if (strchr(sn, ':'))
            snprintf(host, sizeof host, "[%.256s]", sn);
        else
            snprintf(host, sizeof host, "%.256s", sn);
        start_ws(r, s, STEP_WSS_WS, host);
        return;
    }
    default:
        break;
    }
    finish(r, 0, s);
}

/* The lower connection of r is up (TCP, or a KCP stream): the steps on top. */
static void dialed(struct conn_req *r, int status, struct ufrpc_stream *s)
{
    ufrpc_connector_t *c = r->c;
    if (status < 0) {
        finish(r, status, NULL);
        return;
    }
    if (c->closing) {
        finish(r, 0, s);
        return;
    }
    const char *proto = proto_of(c);
    if (UFRPC_WITH_WEBSOCKET && strcmp(proto, "websocket") == 0) {
        start_ws(r, s, STEP_WS, c->addr);
        return;
    }
    if (UFRPC_WITH_WEBSOCKET && strcmp(proto, "wss") == 0) {
        start_tls(r, s, STEP_WSS_TLS, false);
        return;
    }
    if (!c->cfg->transport.tls.enable) {
        finish(r, 0, s);
        return;
    }
    start_tls(r, s, STEP_TLS, tls_first_byte(c));
}

static void on_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    struct conn_req *r = data;
    r->dial = NULL;
    dialed(r, status, s);
}

static void on_kcp_dialed(ufrpc_kcp_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    struct conn_req *r = data;
    r->kdial = NULL;
    dialed(r, status, s);
}

static int start_dial(ufrpc_connector_t *c, struct conn_req *r)
{
    const struct ufrpc_config *cfg = c->cfg;
    if ((cfg->transport.tls.enable || strcmp(proto_of(c), "wss") == 0) && !c->tls)
        return UFRPC_ERR_INVAL;
    int64_t timeout = cfg->transport.dial_server_timeout;
    struct ufrpc_dial_opts o = {
        .host = ufrpc_cfg_str(cfg->server_addr),
        .port = (uint16_t)cfg->server_port,
        .timeout_ms = timeout > 0 ? (uint32_t)(timeout * 1000) : 10000,
        .keepalive_s = cfg->transport.dial_server_keepalive > 0
                           ? (int)cfg->transport.dial_server_keepalive
                           : 0,
        .local_ip = cfg->transport.connect_server_local_ip,
        .proxy_url = cfg->transport.proxy_url,
    };
    r->c = c;
    r->next = c->reqs;
    c->reqs = r;
    int rc;
    if (UFRPC_WITH_KCP && strcmp(proto_of(c), "kcp") == 0)
        /* UDP to serverAddr:serverPort, i.e. frps's kcpBindPort; frpc's kcp dial
         * (fatedier/golib v0.7.0 net/dial.go) takes no timeout, local address or
         * proxy, and neither do we */
        rc = ufrpc_kcp_dial(c->loop, o.host, o.port, on_kcp_dialed, r, &r->kdial);
    else
        rc = ufrpc_dial(c->loop, &o, on_dialed, r, &r->dial);
    if (rc) {
        unlink_req(&c->reqs, r);
        return rc;
    }
    return 0;
}

int ufrpc_connector_new(uv_loop_t *loop, const struct ufrpc_config *cfg, ufrpc_tls_ctx_t *tls,
                        struct ufrpc_log *log, ufrpc_connector_error_cb on_error, void *data,
                        ufrpc_connector_t **out)
{
    if (!loop || !cfg || !out)
        return UFRPC_ERR_INVAL;
    ufrpc_connector_t *c = calloc(1, sizeof *c);
    if (!c)
        return UFRPC_ERR_NOMEM;
    c->loop = loop;
    c->cfg = cfg;
    c->tls = tls;
    c->log = log;
    c->on_error = on_error;
    c->data = data;
    const char *host = ufrpc_cfg_str(cfg->server_addr);
    if (strchr(host, ':'))
        snprintf(c->addr, sizeof c->addr, "[%.256s]:%lld", host, (long long)cfg->server_port);
    else
        snprintf(c->addr, sizeof c->addr, "%.256s:%lld", host, (long long)cfg->server_port);
    if (uv_timer_init(loop, &c->defer) != 0) {
        free(c);
        return UFRPC_ERR_IO;
    }
    c->defer.data = c;
    *out = c;
    return 0;
}

void ufrpc_connector_set_cfg(ufrpc_connector_t *c, const struct ufrpc_config *cfg)
{
    if (c && cfg)
        c->cfg = cfg;
}

void ufrpc_connector_mux_stats(const ufrpc_connector_t *c, uint64_t *streams,
                               uint64_t *window_stalls)
{
    *streams = *window_stalls = 0;
    if (c == NULL || c->mux == NULL)
        return;
    ufrpc_yamux_session_t *ys = ufrpc_mux_session(c->mux);
    if (ys == NULL)
        return;
    *streams = ufrpc_yamux_session_num_streams(ys);
    *window_stalls = ufrpc_yamux_session_window_stalls(ys);
}

const char *ufrpc_connector_address(const ufrpc_connector_t *c)
{
    return c ? c->addr : "";
}

/* ---- QUIC: one session, a stream per connection (frp client/connector.go) -------- */

static bool is_quic(const ufrpc_connector_t *c)
{
    return UFRPC_WITH_QUIC && strcmp(proto_of(c), "quic") == 0;
}

static void on_quic_connected(ufrpc_quic_t *q, int status, void *data)
{
    ufrpc_connector_t *c = data;
    if (status < 0) {
        snprintf(c->ws_fail, sizeof c->ws_fail, "%s", ufrpc_quic_error_text(q));
        c->ws_fail_code = status;
        c->has_ws_fail = 1;
        /* the session is closed by ufrpc_connector_close, as a failed mux would be */
    } else {
        c->quic_up = true;
    }
    if (c->open_cb && !c->closing)
        c->open_cb(c, status, c->data);
}

static void on_quic_error(ufrpc_quic_t *q, int err, void *data)
{
    ufrpc_connector_t *c = data;
    UFRPC_LOGW(c->log, "%s", ufrpc_quic_error_text(q));
    if (c->on_error && !c->closing)
        c->on_error(c, err, c->data);
}

static int quic_open(ufrpc_connector_t *c)
{
    const struct ufrpc_config *cfg = c->cfg;
    const char *host = ufrpc_cfg_str(cfg->server_addr);
    struct ufrpc_quic_opts o = {
        .host = host[0] ? host : "0.0.0.0",
        .port = (uint16_t)cfg->server_port,
        .server_name = cfg->transport.tls.files.server_name,
        .ca_file = cfg->transport.tls.enable ? cfg->transport.tls.files.trusted_ca_file : NULL,
        .cert_file = cfg->transport.tls.enable ? cfg->transport.tls.files.cert_file : NULL,
        .key_file = cfg->transport.tls.enable ? cfg->transport.tls.files.key_file : NULL,
        .idle_timeout_s = (uint32_t)cfg->transport.quic.max_idle_timeout,
        .keepalive_s = (uint32_t)cfg->transport.quic.keepalive_period,
        .handshake_timeout_ms = (uint32_t)(cfg->transport.dial_server_timeout > 0
                                               ? cfg->transport.dial_server_timeout * 1000
                                               : 10000),
    };
    int rc = ufrpc_quic_connect(c->loop, &o, on_quic_connected, on_quic_error, c, &c->quic);
    if (rc == UFRPC_ERR_UNSUPPORTED)
        UFRPC_LOGE(c->log, "transport.protocol = \"quic\": %s", ufrpc_quic_lib_error());
    return rc;
}

/* r's result is known now (rc: 0, or the failed stream open): on success r waits
 * in c->ready for on_defer, so that no callback runs inside ufrpc_connector_open or
 * _connect; else r is freed and rc returned. */
static int defer_result(ufrpc_connector_t *c, struct conn_req *r, int rc)
{
    if (rc) {
        free(r);
        return rc;
    }
    r->c = c;
    r->next = c->ready;
    c->ready = r;
    uv_timer_start(&c->defer, on_defer, 0, 0);
    return 0;
}

int ufrpc_connector_open(ufrpc_connector_t *c, ufrpc_connector_open_cb cb)
{
    if (!c || c->closing || c->mux || c->quic)
        return UFRPC_ERR_STATE;
    c->open_cb = cb;
    if (is_quic(c))
        return quic_open(c);
    if (!c->cfg->transport.tcp_mux) {
        /* nothing to open: report success on the next loop iteration */
        struct conn_req *r = calloc(1, sizeof *r);
        if (!r)
            return UFRPC_ERR_NOMEM;
        r->is_open = 1;
        return defer_result(c, r, 0);
    }
    struct conn_req *r = calloc(1, sizeof *r);
    if (!r)
        return UFRPC_ERR_NOMEM;
    r->is_open = 1;
    int rc = start_dial(c, r);
    if (rc)
        free(r);
    return rc;
}

/* Delivers deferred results (mux streams, the no-mux open). */
static void on_defer(uv_timer_t *t)
{
    ufrpc_connector_t *c = t->data;
    /* deliver in request order: the list is LIFO */
    struct conn_req *list = NULL;
    while (c->ready) {
        struct conn_req *r = c->ready;
        c->ready = r->next;
        r->next = list;
        list = r;
    }
    while (list) {
        struct conn_req *r = list;
        list = r->next;
        if (r->is_open) {
            ufrpc_connector_open_cb cb = c->open_cb;
            free(r);
            if (cb)
                cb(c, c->closing ? UFRPC_ERR_CANCELED : 0, c->data);
            continue;
        }
        deliver_conn(c, r, r->status, r->stream);
    }
}

int ufrpc_connector_connect(ufrpc_connector_t *c, ufrpc_connector_connect_cb cb, void *req_data)
{
    if (!c || !cb)
        return UFRPC_ERR_INVAL;
    if (c->closing)
        return UFRPC_ERR_CLOSED;
    struct conn_req *r = calloc(1, sizeof *r);
    if (!r)
        return UFRPC_ERR_NOMEM;
    r->cb = cb;
    r->data = req_data;
    if (is_quic(c)) {
        if (!c->quic_up) {
            free(r);
            return UFRPC_ERR_STATE;
        }
        return defer_result(c, r, ufrpc_quic_open_stream(c->quic, &r->stream));
    }
    if (!c->cfg->transport.tcp_mux) {
        int rc = start_dial(c, r);
        if (rc)
            free(r);
        return rc;
    }
    if (!c->mux) {
        free(r);
        return UFRPC_ERR_STATE;
    }
    return defer_result(c, r, ufrpc_mux_open(c->mux, &r->stream));
}

static void maybe_done(ufrpc_connector_t *c)
{
    if (--c->pending_closes > 0)
        return;
    void (*cb)(void *) = c->close_cb;
    void *data = c->data;
    free(c);
    if (cb)
        cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    maybe_done(h->data);
}

static void on_mux_closed(void *data)
{
    maybe_done(data);
}

void ufrpc_connector_close(ufrpc_connector_t *c, void (*cb)(void *data))
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->close_cb = cb;
    /* cancel dials and handshakes: their callbacks see CANCELED */
    while (c->reqs) {
        struct conn_req *r = c->reqs;
        if (r->dial) {
            ufrpc_dial_cancel(r->dial); /* runs on_dialed -> finish (unlinks r) */
            continue;
        }
        if (r->kdial) {
            ufrpc_kcp_dial_cancel(r->kdial); /* runs on_kcp_dialed -> finish */
            continue;
        }
        if (r->tls) {
            struct ufrpc_stream *s = r->tls;
            s->data = NULL;
            r->tls = NULL;
            ufrpc_stream_close(s, NULL);
        }
        finish(r, UFRPC_ERR_CANCELED, NULL);
    }
    /* deferred results: delivered now as canceled */
    uv_timer_stop(&c->defer);
    on_defer(&c->defer);
    c->pending_closes = 1;
    if (c->mux) {
        c->pending_closes++;
        ufrpc_mux_close(c->mux, on_mux_closed);
        c->mux = NULL;
    }
    if (c->quic) {
        c->pending_closes++;
        ufrpc_quic_close(c->quic, on_mux_closed, c);
        c->quic = NULL;
    }
    uv_close((uv_handle_t *)&c->defer, on_timer_closed);
}

/* ---- TLS failures, in words that point at the setting to change ---------------- */
static void tls_hint(const ufrpc_connector_t *c, const struct ufrpc_tls_failure *f, char *out,
                     size_t cap)
{
    const struct ufrpc_config *cfg = c->cfg;
    const char *ca = cfg->transport.tls.files.trusted_ca_file;
    const char *sn = cfg->transport.tls.files.server_name;
    const char *name = sn && sn[0] ? sn : ufrpc_cfg_str(cfg->server_addr);
    out[0] = '\0';
    if (UFRPC_WITH_KCP && f->step == UFRPC_TLS_STEP_HELLO && strcmp(proto_of(c), "kcp") == 0) {
        snprintf(out, cap,
                 "no TLS hello over KCP: is serverPort frps's kcpBindPort (UDP)? frps serves "
                 "kcp only when kcpBindPort is set");
        return;
    }
    switch (f->step) {
    case UFRPC_TLS_STEP_HELLO:
        if (!f->first_byte_sent)
            snprintf(out, cap,
                     "the server hung up on the TLS hello: is serverPort frps's bindPort? an "
                     "frps older than v0.38 needs transport.tls.disableCustomTLSFirstByte = "
                     "false");
        else
            snprintf(out, cap,
                     "the server hung up on the TLS hello: is serverPort frps's bindPort? an "
                     "frps of v0.38 or later also takes transport.tls.disableCustomTLSFirstByte "
                     "= true (the default)");
        break;
    case UFRPC_TLS_STEP_CERT_PARSE:
        snprintf(out, cap, "%s",
                 f->fill_active
                     ? "the server sent a certificate that Mbed TLS cannot read; give frps a "
                       "well-formed one with transport.tls.certFile and keyFile"
                     : "the server sent a certificate that Mbed TLS cannot read, such as frps's "
                       "generated one (empty issuer), which this build cannot rewrite; give "
                       "frps a certificate with transport.tls.certFile and keyFile");
        break;
    case UFRPC_TLS_STEP_VERIFY:
        if (f->verify_flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
            snprintf(out, cap,
                     "the server's certificate is not for \"%s\"; set transport.tls.serverName "
                     "to a name the certificate carries",
                     name);
        else if (f->verify_flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
            snprintf(out, cap,
                     "the server's certificate is outside its validity dates; check both "
                     "machines' clocks and the certificate");
        else
            snprintf(out, cap,
                     "transport.tls.trustedCaFile (%s) did not sign the server's certificate; "
                     "frps's generated certificate never verifies: give frps one signed by that "
                     "CA (transport.tls.certFile), or leave trustedCaFile out to skip "
                     "verification as frpc does",
                     ca && ca[0] ? ca : "");
        break;
    default:
        if (f->mbed_err == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
            snprintf(out, cap,
                     "the server refused the handshake; if it requires client certificates "
                     "(transport.tls.trustedCaFile on frps), set transport.tls.certFile and "
                     "keyFile");
        else if (f->code == UFRPC_ERR_TIMEOUT)
            snprintf(out, cap, "no TLS answer in time; is serverPort frps's bindPort?");
        break;
    }
}

/* A failed websocket upgrade, with the step and a hint. */
static void describe_ws(const ufrpc_connector_t *c, char *out, size_t cap)
{
    bool wss = strcmp(proto_of(c), "wss") == 0;
    const char *hint = "";
    if (c->ws_fail_code == UFRPC_ERR_WS_HANDSHAKE || c->ws_fail_code == UFRPC_ERR_WS_ACCEPT ||
        c->ws_fail_code == UFRPC_ERR_TIMEOUT) {
        if (wss)
            hint = "frps does not serve wss by itself: put a TLS terminator that forwards the "
                   "websocket path /~!frp in front of frps's bindPort and point serverPort at "
                   "it, or use protocol \"websocket\" (with transport.tls.enable for TLS)";
        else
            hint = "is serverPort frps's bindPort? frps answers websocket upgrades there on "
                   "/~!frp; a proxy or CDN in between must pass them through";
    }
    snprintf(out, cap, "websocket: upgrade%s failed: %s (%s)%s%s", wss ? " inside TLS (wss)" : "",
             c->ws_fail, c->addr, hint[0] ? "; hint: " : "", hint);
}

/* A failed QUIC session (its text in ws_fail), with what to check. */
static void describe_quic(const ufrpc_connector_t *c, char *out, size_t cap)
{
    const char *hint = "";
    if (strstr(c->ws_fail, "refused"))
        hint = "nothing answers QUIC there: is serverPort frps's quicBindPort (frps serves "
               "QUIC only when quicBindPort is set)?";
    else if (strstr(c->ws_fail, "no handshake"))
        hint = "no QUIC answer: is serverPort frps's quicBindPort, and is UDP let through?";
    else if (strstr(c->ws_fail, "TLS"))
        hint = "check transport.tls.trustedCaFile and serverName against frps's certificate";
    snprintf(out, cap, "%s (%s)%s%s", c->ws_fail, c->addr, hint[0] ? "; hint: " : "", hint);
}

int ufrpc_connector_describe_tls(const ufrpc_connector_t *c, int status, char *out, size_t cap)
{
    if (c->has_ws_fail && c->ws_fail_code == status && cap > 0) {
        if (is_quic(c))
            describe_quic(c, out, cap);
        else if (UFRPC_WITH_WEBSOCKET)
            describe_ws(c, out, cap);
        else
            snprintf(out, cap, "%s (%s)", c->ws_fail, c->addr);
        return 0;
    }
    if (!c->has_tls_fail || c->tls_fail.code != status || cap == 0)
        return UFRPC_ERR_NOT_FOUND;
    char what[640], hint[400];
    ufrpc_tls_failure_text(&c->tls_fail, what, sizeof what);
    tls_hint(c, &c->tls_fail, hint, sizeof hint);
    snprintf(out, cap, "tls: %s (%s)%s%s", what, c->addr, hint[0] ? "; hint: " : "", hint);
    return 0;
}
