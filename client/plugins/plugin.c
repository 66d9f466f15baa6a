/* ufrpc — plugin registry, lifetime of plugins and their connections, shared
 * I/O helpers (writes, local connects, tunnels). */
#include "client/plugins/plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/plugins/plugin_internal.h"
#include "net/dial.h"
#include "net/pump.h"
#include "net/tcp.h"
#include "proto/base64.h"
#include "proto/error.h"

/* ---- registry ----------------------------------------------------------------- */

static const struct plugin_type *find_type(ufrpc_plugin_type t)
{
    static const struct plugin_type *const types[] = {
        &ufrpc_pl_type_unix_domain_socket, &ufrpc_pl_type_socks5,     &ufrpc_pl_type_http_proxy,
        &ufrpc_pl_type_static_file,        &ufrpc_pl_type_https2http, &ufrpc_pl_type_https2https,
        &ufrpc_pl_type_http2https,         &ufrpc_pl_type_http2http,  &ufrpc_pl_type_tls2raw,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i]->type == t)
            return types[i];
    return NULL;
}

int ufrpc_plugin_supported(ufrpc_plugin_type t)
{
    return find_type(t) != NULL;
}

ufrpc_plugin_type ufrpc_plugin_type_from_name(const char *name)
{
    for (int t = 1; name != NULL && t < UFRPC_PLUGIN__COUNT; t++) {
        const char *n = ufrpc_plugin_type_name((ufrpc_plugin_type)t);
        if (n != NULL && strcmp(n, name) == 0)
            return (ufrpc_plugin_type)t;
    }
    return UFRPC_PLUGIN__COUNT;
}

const char *ufrpc_plugin_name(const ufrpc_plugin_t *p)
{
    if (p->routes != NULL)
        return "router";
    const char *n = ufrpc_plugin_type_name(p->cfg->type);
    return n != NULL ? n : "?";
}

/* ---- logging ------------------------------------------------------------------ */

static void vlog(ufrpc_plugin_t *p, int level, int err, const char *fmt, va_list ap)
{
    if (p->log == NULL)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    p->log(p->log_data, level, p->proxy_name, ufrpc_plugin_name(p), err, msg);
}

void ufrpc_pl_plugin_log(ufrpc_plugin_t *p, int level, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(p, level, err, fmt, ap);
    va_end(ap);
}

void ufrpc_pl_pconn_fail(struct pconn *c, int err, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->plugin->failed++;
    va_list ap;
    va_start(ap, fmt);
    vlog(c->plugin, UFRPC_PLUGIN_LOG_WARN, err, fmt, ap);
    va_end(ap);
}

/* ---- plugin lifetime --------------------------------------------------------- */

int ufrpc_plugin_create(const struct ufrpc_plugin_opts *o, ufrpc_plugin_t **out, char *errbuf,
                        size_t errcap)
{
    char reason[256] = "";
    int rc = 0;
    *out = NULL;
    const char *tname = o->cfg != NULL ? ufrpc_plugin_type_name(o->cfg->type) : NULL;
    bool router = o->routes != NULL && o->routes->len > 0 && o->cfg != NULL &&
                  o->cfg->type == UFRPC_PLUGIN_NONE;
    if (router)
        tname = "router";
    if (o->loop == NULL || o->cfg == NULL || tname == NULL) {
        rc = UFRPC_ERR_INVAL;
        snprintf(reason, sizeof reason, "plugin: invalid options");
    } else if (o->cfg->type == UFRPC_PLUGIN_VIRTUAL_NET) {
        rc = UFRPC_ERR_UNSUPPORTED;
        snprintf(reason, sizeof reason, "plugin virtual_net is not supported");
    } else if (!router && find_type(o->cfg->type) == NULL) {
        rc = UFRPC_ERR_UNSUPPORTED;
        snprintf(reason, sizeof reason, "plugin \"%s\" is not supported", tname);
    }
    ufrpc_plugin_t *p = NULL;
    if (rc == 0) {
        p = calloc(1, sizeof *p);
        if (p != NULL)
            p->proxy_name = strdup(o->proxy_name != NULL ? o->proxy_name : "");
        if (p == NULL || p->proxy_name == NULL) {
            free(p);
            p = NULL;
            rc = UFRPC_ERR_NOMEM;
            snprintf(reason, sizeof reason, "plugin %s: out of memory", tname);
        }
    }
    if (p != NULL) {
        p->type = router ? &ufrpc_pl_type_router : find_type(o->cfg->type);
        p->loop = o->loop;
        p->cfg = o->cfg;
        p->routes = router ? o->routes : NULL;
        p->log = o->log;
        p->log_data = o->log_data;
        p->dial_timeout_ms = o->dial_timeout_ms ? o->dial_timeout_ms : 10000;
        p->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : 60000;
        rc = p->type->create(p, reason, sizeof reason);
        if (rc == 0) {
            rc = uv_idle_init(o->loop, &p->close_idle) < 0 ? UFRPC_ERR_NOMEM : 0;
            if (rc < 0)
                p->type->destroy(p);
        }
        if (rc < 0) {
            if (reason[0] == '\0')
                snprintf(reason, sizeof reason, "plugin %s: %s", tname, ufrpc_strerror(rc));
            if (p->tls_server != NULL)
                ufrpc_tls_ctx_free(p->tls_server);
            free(p->proxy_name);
            free(p);
            p = NULL;
        }
    }
    if (rc < 0) {
        if (errbuf != NULL && errcap > 0)
            snprintf(errbuf, errcap, "%s", reason);
        if (o->log != NULL)
            o->log(o->log_data, UFRPC_PLUGIN_LOG_ERROR, o->proxy_name ? o->proxy_name : "",
                   tname ? tname : "?", rc, reason);
        return rc;
    }
    p->close_idle.data = p;
    *out = p;
    return 0;
}

int ufrpc_plugin_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work,
                        const struct ufrpc_plugin_conn_info *info)
{
    if (p->closing) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_STATE;
    }
    p->handled++;
    work->data = NULL;
    const char *src = info != NULL ? info->src_addr : NULL;
    const uint8_t *pp = info != NULL ? info->proxy_protocol_header : NULL;
    size_t pp_len = pp != NULL ? info->proxy_protocol_header_len : 0;
    return p->type->handle(p, work, src, pp, pp_len);
}

size_t ufrpc_plugin_active(const ufrpc_plugin_t *p)
{
    return p->nconns;
}

void ufrpc_plugin_counters(const ufrpc_plugin_t *p, uint64_t *handled, uint64_t *failed)
{
    if (handled != NULL)
        *handled = p->handled;
    if (failed != NULL)
        *failed = p->failed;
}

static void on_close_idle_closed(uv_handle_t *h)
{
    ufrpc_plugin_t *p = h->data;
    ufrpc_plugin_close_cb cb = p->close_cb;
    void *data = p->close_data;
    p->type->destroy(p);
    if (p->tls_server != NULL)
        ufrpc_tls_ctx_free(p->tls_server);
    if (p->tls_client != NULL)
        ufrpc_tls_ctx_free(p->tls_client);
    free(p->proxy_name);
    free(p);
    if (cb != NULL)
        cb(data);
}

static void maybe_finish(ufrpc_plugin_t *p)
{
    if (p->closing && p->nconns == 0 && !uv_is_closing((uv_handle_t *)&p->close_idle))
        uv_close((uv_handle_t *)&p->close_idle, on_close_idle_closed);
}

void ufrpc_plugin_close(ufrpc_plugin_t *p, ufrpc_plugin_close_cb cb, void *data)
{
    if (p->closing)
        return;
    p->closing = true;
    p->close_cb = cb;
    p->close_data = data;
    /* abort() may unlink c synchronously; walk with a saved next pointer and
     * restart when the list changed under us */
    for (struct pconn *c = p->conns; c != NULL;) {
        struct pconn *next = c->next;
        void (*abort_fn)(struct pconn *) = c->abort;
        c->abort = NULL;
        if (abort_fn != NULL) {
            abort_fn(c);
            c = p->conns; /* restart: entries already aborted have abort == NULL */
            while (c != NULL && c->abort == NULL)
                c = c->next;
        } else {
            c = next;
        }
    }
    maybe_finish(p);
}

void ufrpc_pl_pconn_add(ufrpc_plugin_t *p, struct pconn *c, void (*abort_fn)(struct pconn *c))
{
    c->plugin = p;
    c->abort = abort_fn;
    c->prev = NULL;
    c->next = p->conns;
    if (p->conns != NULL)
        p->conns->prev = c;
    p->conns = c;
    p->nconns++;
}

void ufrpc_pl_pconn_done(struct pconn *c)
{
    ufrpc_plugin_t *p = c->plugin;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    p->nconns--;
    maybe_finish(p);
}

/* ---- writes ------------------------------------------------------------------ */

struct pw {
    struct ufrpc_stream_write req;
    uv_buf_t iov;
    ufrpc_rbuf_t *buf;
    ufrpc_pl_write_done done;
    void *arg;
    /* copied bytes follow */
};

static void on_pwrite(struct ufrpc_stream_write *req, int status)
{
    struct pw *w = (struct pw *)req;
    if (w->done != NULL)
        w->done(w->arg, status);
    ufrpc_rbuf_unref(w->buf);
    free(w);
}

int ufrpc_pl_write(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len,
                   ufrpc_pl_write_done done, void *arg)
{
    struct pw *w = malloc(sizeof *w + (buf == NULL ? len : 0));
    if (w == NULL)
        return UFRPC_ERR_NOMEM;
    w->buf = buf;
    w->done = done;
    w->arg = arg;
    if (buf != NULL) {
        ufrpc_rbuf_ref(buf);
        w->iov = uv_buf_init((char *)data, (unsigned)len);
    } else {
        memcpy(w + 1, data, len);
        w->iov = uv_buf_init((char *)(w + 1), (unsigned)len);
    }
    int rc = ufrpc_stream_write(s, &w->req, &w->iov, 1, on_pwrite);
    if (rc < 0) {
        ufrpc_rbuf_unref(w->buf);
        free(w);
    }
    return rc;
}

/* ---- addresses and auth -------------------------------------------------------- */

int ufrpc_pl_split_host_port(const char *hp, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    const char *h = hp;
    size_t hlen;
    if (hp == NULL)
        return UFRPC_ERR_INVAL;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb == NULL || rb[1] != ':')
            return UFRPC_ERR_INVAL;
        h = hp + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL || memchr(hp, ':', (size_t)(colon - hp)) != NULL)
            return UFRPC_ERR_INVAL;
        hlen = (size_t)(colon - hp);
    }
    char *end;
    unsigned long v = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || v == 0 || v > 65535)
        return UFRPC_ERR_INVAL;
    if (hlen == 0) {
        h = "127.0.0.1";
        hlen = strlen(h);
    }
    if (hlen >= cap)
        return UFRPC_ERR_INVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static bool ct_eq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i < blen ? i : 0]);
    return diff == 0;
}

bool ufrpc_pl_basic_auth_ok(const char *value, size_t len, const char *user, const char *pass)
{
    if (value == NULL || len < 6 || strncasecmp(value, "Basic ", 6) != 0)
        return false;
    value += 6;
    len -= 6;
    while (len > 0 && *value == ' ') {
        value++;
        len--;
    }
    while (len > 0 && value[len - 1] == ' ')
        len--;
    uint8_t dec[512];
    if (len == 0 || ufrpc_base64_decoded_max(len) > sizeof dec)
        return false;
    long n = ufrpc_base64_decode(value, len, dec);
    if (n < 0)
        return false;
    const uint8_t *colon = memchr(dec, ':', (size_t)n);
    if (colon == NULL)
        return false;
    size_t ulen = (size_t)(colon - dec);
    bool ok_u = ct_eq((const char *)dec, ulen, user != NULL ? user : "");
    bool ok_p = ct_eq((const char *)colon + 1, (size_t)n - ulen - 1, pass != NULL ? pass : "");
    return ok_u && ok_p;
}

/* ---- local connects ------------------------------------------------------------ */

struct pconnect {
    ufrpc_plugin_t *plugin;
    pconnect_cb cb;
    void *arg;
    ufrpc_dial_t *dial;
    struct ufrpc_stream *pending; /* TLS handshaking or pipe connecting */
    bool tls;
    char host[256];
};

static void pc_finish(struct pconnect *pc, int status, struct ufrpc_stream *s)
{
    pconnect_cb cb = pc->cb;
    void *arg = pc->arg;
    free(pc);
    cb(arg, status, s);
}

static void on_tls_hs(struct ufrpc_stream *s, int status)
{
    struct pconnect *pc = s->data;
    pc->pending = NULL;
    s->data = NULL;
    if (status < 0) {
        ufrpc_stream_close(s, NULL);
        s = NULL;
    }
    pc_finish(pc, status, s);
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct pconnect *pc = data;
    (void)d;
    pc->dial = NULL;
    if (status < 0 || !pc->tls) {
        pc_finish(pc, status, s);
        return;
    }
    struct ufrpc_tls_conn_opts to = {.server_name = pc->host};
    int err;
    struct ufrpc_stream *t =
        ufrpc_tls_client_new(pc->plugin->tls_client, s, &to, on_tls_hs, pc, &err);
    if (t == NULL) {
        pc_finish(pc, err, NULL);
        return;
    }
    pc->pending = t;
}

/* A connect attempt reporting to cb(arg); NULL with *err = UFRPC_ERR_NOMEM. */
static struct pconnect *pc_new(ufrpc_plugin_t *p, pconnect_cb cb, void *arg, int *err)
{
    struct pconnect *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    pc->plugin = p;
    pc->cb = cb;
    pc->arg = arg;
    return pc;
}

struct pconnect *ufrpc_pl_pconnect_tcp(ufrpc_plugin_t *p, const char *host, uint16_t port, bool tls,
                                       pconnect_cb cb, void *arg, int *err)
{
    struct pconnect *pc = pc_new(p, cb, arg, err);
    if (pc == NULL)
        return NULL;
    pc->tls = tls;
    snprintf(pc->host, sizeof pc->host, "%s", host);
    if (tls && p->tls_client == NULL) {
        struct ufrpc_tls_client_opts co = {0};
        int rc = ufrpc_tls_client_ctx_new(&co, &p->tls_client);
        if (rc < 0) {
            free(pc);
            *err = rc;
            return NULL;
        }
    }
    struct ufrpc_dial_opts o = {.host = pc->host, .port = port, .timeout_ms = p->dial_timeout_ms};
    int rc = ufrpc_dial(p->loop, &o, on_dial, pc, &pc->dial);
    if (rc < 0) {
        free(pc);
        *err = rc;
        return NULL;
    }
    *err = 0;
    return pc;
}

static void on_pipe_connected(struct ufrpc_stream *s, int status, void *arg)
{
    struct pconnect *pc = arg;
    pc->pending = NULL;
    if (status < 0) {
        ufrpc_stream_close(s, NULL);
        s = NULL;
    }
    pc_finish(pc, status, s);
}

struct pconnect *ufrpc_pl_pconnect_unix(ufrpc_plugin_t *p, const char *path, pconnect_cb cb,
                                        void *arg, int *err)
{
    struct pconnect *pc = pc_new(p, cb, arg, err);
    if (pc == NULL)
        return NULL;
    pc->pending = ufrpc_pipe_connect(p->loop, path, on_pipe_connected, pc, err);
    if (pc->pending == NULL) {
        free(pc);
        return NULL;
    }
    return pc;
}

void ufrpc_pl_pconnect_cancel(struct pconnect *pc)
{
    if (pc->dial != NULL) {
        ufrpc_dial_cancel(pc->dial); /* on_dial finishes pc */
        return;
    }
    if (pc->pending != NULL) {
        /* neither the handshake nor the pipe connect callback runs after close */
        pc->pending->data = NULL;
        ufrpc_stream_close(pc->pending, NULL);
        pc->pending = NULL;
    }
    pc_finish(pc, UFRPC_ERR_CANCELED, NULL);
}

/* ---- tunnels ---------------------------------------------------------------- */

static void on_pump_done(ufrpc_pump_t *pump, int status, const struct ufrpc_pump_stats *st,
                         void *data)
{
    struct pconn *c = data;
    (void)pump;
    (void)st;
    if (status < 0 && status != UFRPC_ERR_CANCELED && status != UFRPC_ERR_CONN_RESET &&
        status != UFRPC_ERR_EOF)
        ufrpc_pl_pconn_fail(c, status, "connection ended: %s", ufrpc_strerror(status));
    ufrpc_pl_pconn_done(c);
    free(c);
}

struct tunnel_conn {
    struct pconn base; /* must be first */
    ufrpc_pump_t *pump;
};

static void tunnel_abort(struct pconn *c)
{
    struct tunnel_conn *t = (struct tunnel_conn *)c;
    if (t->pump != NULL)
        ufrpc_pump_abort(t->pump);
}

void ufrpc_pl_ptunnel(struct pconn *old, struct ufrpc_stream *a, struct ufrpc_stream *b,
                      const uint8_t *pre1, size_t pre1_len, ufrpc_rbuf_t *pre2_buf,
                      const uint8_t *pre2, size_t pre2_len, bool join)
{
    /* The caller's connection object hands over to a tunnel object, so that the
     * caller can free its own state now. */
    ufrpc_plugin_t *p = old->plugin;
    struct tunnel_conn *t = calloc(1, sizeof *t);
    int rc = t == NULL ? UFRPC_ERR_NOMEM : 0;
    if (rc == 0 && pre1_len > 0)
        rc = ufrpc_pl_write(b, NULL, pre1, pre1_len, NULL, NULL);
    if (rc == 0 && pre2_len > 0)
        rc = ufrpc_pl_write(b, pre2_buf, pre2, pre2_len, NULL, NULL);
    if (rc < 0) {
        ufrpc_pl_pconn_fail(old, rc, "cannot start tunnel: %s", ufrpc_strerror(rc));
        ufrpc_stream_close(a, NULL);
        ufrpc_stream_close(b, NULL);
        free(t);
        return;
    }
    t->base.failed = old->failed;
    ufrpc_pl_pconn_add(p, &t->base, tunnel_abort);
    rc = ufrpc_pump_start(a, b, 0, on_pump_done, &t->base, &t->pump);
    if (rc == 0 && join) {
        ufrpc_pump_end_at_eof(t->pump, a);
        ufrpc_pump_end_at_eof(t->pump, b);
    }
    if (rc < 0) {
        ufrpc_pl_pconn_fail(&t->base, rc, "cannot start pump: %s", ufrpc_strerror(rc));
        ufrpc_pl_pconn_done(&t->base);
        free(t);
    }
}
