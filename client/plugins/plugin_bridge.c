/* ufrpc — plugin types built on the HTTP forwarder and on TLS termination:
 * http_proxy, http2http, http2https, https2http, https2https, tls2raw.
 *
 * TLS termination (https2*, tls2raw) uses one mbedTLS server context per plugin
 * from crtPath/keyPath, or a generated self-signed certificate when both are
 * empty (frpc generates one too). The handshake is bounded by the plugin's idle
 * timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/plugins/hs.h"
#include "proto/error.h"

struct bridge {
    char host[256];
    uint16_t port;
};

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int bridge_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    const struct ufrpc_plugin_config *c = p->cfg;
    const char *name = ufrpc_plugin_type_name(c->type);
    struct bridge *b = calloc(1, sizeof *b);
    if (b == NULL)
        return UFRPC_ERR_NOMEM;
    if (!has(c->local_addr) ||
        ufrpc_pl_split_host_port(c->local_addr, b->host, sizeof b->host, &b->port) < 0) {
        snprintf(reason, cap, "plugin %s: localAddr \"%s\" is not host:port", name,
                 c->local_addr != NULL ? c->local_addr : "");
        free(b);
        return UFRPC_ERR_INVAL;
    }
    bool server_tls = c->type == UFRPC_PLUGIN_HTTPS2HTTP || c->type == UFRPC_PLUGIN_HTTPS2HTTPS ||
                      c->type == UFRPC_PLUGIN_TLS2RAW;
    if (server_tls) {
        if (has(c->crt_path) != has(c->key_path)) {
            snprintf(reason, cap, "plugin %s: crtPath and keyPath must be given together", name);
            free(b);
            return UFRPC_ERR_INVAL;
        }
        struct ufrpc_tls_server_opts so = {
            .cert_file = has(c->crt_path) ? c->crt_path : NULL,
            .key_file = has(c->key_path) ? c->key_path : NULL,
        };
        int rc = ufrpc_tls_server_ctx_new(&so, &p->tls_server);
        if (rc < 0) {
            snprintf(reason, cap, "plugin %s: cannot load certificate %s / key %s: %s", name,
                     has(c->crt_path) ? c->crt_path : "(generated)",
                     has(c->key_path) ? c->key_path : "(generated)", ufrpc_strerror(rc));
            free(b);
            return rc;
        }
    }
    p->impl = b;
    return 0;
}

static void bridge_destroy(ufrpc_plugin_t *p)
{
    free(p->impl);
    p->impl = NULL;
}

static void *make_fwd(ufrpc_plugin_t *p)
{
    const struct ufrpc_plugin_config *c = p->cfg;
    const struct bridge *b = p->impl;
    struct fwd_opts o = {
        .target_host = b->host,
        .target_port = b->port,
        .host_rewrite = c->host_header_rewrite,
        .set_headers = &c->request_headers,
    };
    switch (c->type) {
    case UFRPC_PLUGIN_HTTP2HTTP: o.xfwd = 0; break;
    case UFRPC_PLUGIN_HTTP2HTTPS:
        o.xfwd = 1;
        o.tls = true;
        break;
    case UFRPC_PLUGIN_HTTPS2HTTP: o.xfwd = 2; break;
    case UFRPC_PLUGIN_HTTPS2HTTPS:
        o.xfwd = 2;
        o.tls = true;
        break;
    default: break;
    }
    return ufrpc_pl_fwd_ctx_new(&o);
}

static int http_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                       const uint8_t *pp, size_t pp_len)
{
    (void)pp;
    (void)pp_len;
    void *ctx = make_fwd(p);
    if (ctx == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    return ufrpc_hs_start(p, work, &ufrpc_pl_fwd_handler, ctx, src, false);
}

/* ---- TLS termination ------------------------------------------------------------ */

struct tlsconn {
    struct pconn base;
    struct ufrpc_stream *s;
    struct pconnect *pc;
    char src[80];
    bool hs_done;
    size_t pp_len;
    uint8_t pp[];
};

static void tlsconn_closed(struct ufrpc_stream *s)
{
    struct tlsconn *t = s->data;
    ufrpc_pl_pconn_done(&t->base);
    free(t);
}

static void tlsconn_abort(struct pconn *c)
{
    struct tlsconn *t = (struct tlsconn *)c;
    if (t->pc != NULL) {
        struct pconnect *pc = t->pc;
        t->pc = NULL; /* on_raw_target sees the cancel */
        ufrpc_pl_pconnect_cancel(pc);
    }
    ufrpc_stream_close(t->s, tlsconn_closed);
}

static void on_raw_target(void *arg, int status, struct ufrpc_stream *s);

static void on_server_hs(struct ufrpc_stream *s, int status)
{
    struct tlsconn *t = s->data;
    ufrpc_plugin_t *p = t->base.plugin;
    if (status < 0) {
        ufrpc_pl_pconn_fail(&t->base, status, "TLS handshake with the user failed: %s",
                            ufrpc_strerror(status));
        ufrpc_stream_close(s, tlsconn_closed);
        return;
    }
    if (p->cfg->type == UFRPC_PLUGIN_TLS2RAW) {
        struct bridge *b = p->impl;
        int err;
        t->hs_done = true;
        t->pc = ufrpc_pl_pconnect_tcp(p, b->host, b->port, false, on_raw_target, t, &err);
        if (t->pc == NULL) {
            ufrpc_pl_pconn_fail(&t->base, err, "dial %s:%u: %s", b->host, b->port,
                                ufrpc_strerror(err));
            ufrpc_stream_close(s, tlsconn_closed);
        }
        return;
    }
    void *ctx = make_fwd(p);
    char src[80];
    snprintf(src, sizeof src, "%s", t->src);
    ufrpc_pl_pconn_done(&t->base);
    free(t);
    s->data = NULL;
    if (ctx == NULL) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    ufrpc_hs_start(p, s, &ufrpc_pl_fwd_handler, ctx, src, true);
}

static void on_raw_target(void *arg, int status, struct ufrpc_stream *s)
{
    struct tlsconn *t = arg;
    ufrpc_plugin_t *p = t->base.plugin;
    struct bridge *b = p->impl;
    bool canceled = t->pc == NULL;
    t->pc = NULL;
    if (canceled) { /* aborted: the abort closes t->s, tlsconn_closed frees t */
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        return;
    }
    if (status < 0) {
        ufrpc_pl_pconn_fail(&t->base, status, "dial %s:%u: %s", b->host, b->port,
                            ufrpc_strerror(status));
        ufrpc_stream_close(t->s, tlsconn_closed);
        return;
    }
    struct ufrpc_stream *user = t->s;
    user->data = NULL;
    ufrpc_pl_ptunnel(&t->base, user, s, t->pp, t->pp_len, NULL, NULL, 0, true);
    ufrpc_pl_pconn_done(&t->base);
    free(t);
}

static int tls_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                      const uint8_t *pp, size_t pp_len)
{
    struct tlsconn *t = calloc(1, sizeof *t + pp_len);
    if (t == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    snprintf(t->src, sizeof t->src, "%s", src != NULL ? src : "");
    if (pp_len > 0)
        memcpy(t->pp, pp, pp_len);
    t->pp_len = pp_len;
    int err;
    t->s = ufrpc_tls_server_new(p->tls_server, work, p->idle_timeout_ms, on_server_hs, t, &err);
    if (t->s == NULL) {
        free(t);
        return err;
    }
    ufrpc_pl_pconn_add(p, &t->base, tlsconn_abort);
    return 0;
}

/* ---- http_proxy ------------------------------------------------------------------ */

static int hp_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    (void)p;
    (void)reason;
    (void)cap;
    return 0;
}

static void hp_destroy(ufrpc_plugin_t *p)
{
    (void)p;
}

static int hp_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                     const uint8_t *pp, size_t pp_len)
{
    (void)pp;
    (void)pp_len;
    struct fwd_opts o = {.proxy_mode = true, .xfwd = 1};
    void *ctx = ufrpc_pl_fwd_ctx_new(&o);
    if (ctx == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    return ufrpc_hs_start(p, work, &ufrpc_pl_http_proxy_handler, ctx, src, false);
}

const struct plugin_type ufrpc_pl_type_http_proxy = {
    .type = UFRPC_PLUGIN_HTTP_PROXY,
    .create = hp_create,
    .handle = hp_handle,
    .destroy = hp_destroy,
};

const struct plugin_type ufrpc_pl_type_http2http = {
    .type = UFRPC_PLUGIN_HTTP2HTTP,
    .create = bridge_create,
    .handle = http_handle,
    .destroy = bridge_destroy,
};

const struct plugin_type ufrpc_pl_type_http2https = {
    .type = UFRPC_PLUGIN_HTTP2HTTPS,
    .create = bridge_create,
    .handle = http_handle,
    .destroy = bridge_destroy,
};

const struct plugin_type ufrpc_pl_type_https2http = {
    .type = UFRPC_PLUGIN_HTTPS2HTTP,
    .create = bridge_create,
    .handle = tls_handle,
    .destroy = bridge_destroy,
};

const struct plugin_type ufrpc_pl_type_https2https = {
    .type = UFRPC_PLUGIN_HTTPS2HTTPS,
    .create = bridge_create,
    .handle = tls_handle,
    .destroy = bridge_destroy,
};

const struct plugin_type ufrpc_pl_type_tls2raw = {
    .type = UFRPC_PLUGIN_TLS2RAW,
    .create = bridge_create,
    .handle = tls_handle,
    .destroy = bridge_destroy,
};
