/* ufrpc — HTTP/1.1 request forwarder shared by http_proxy (plain requests) and
 * the http2http, http2https, https2http, https2https plugins.
 *
 * Per request: the head is rebuilt (origin-form target, hop-by-hop and Proxy-*
 * headers dropped, Host rewritten, requestHeaders.set applied, X-Forwarded-*
 * per plugin as frpc's reverse proxies do) and sent to the upstream (one
 * keep-alive upstream connection per downstream connection, re-dialed when the
 * target changes or it closed); the body follows as it arrives (Content-Length
 * bodies as they are, chunked bodies re-chunked piece by piece, trailers
 * dropped). The response is streamed back byte for byte (its framing is
 * llhttp's, so chunked/length/close-delimited responses all pass unchanged);
 * llhttp only finds where it ends. Both directions are bounded by
 * HS_MAX_INFLIGHT bytes queued on the writing side. Upgrade requests are forwarded
 * and a 101 turns the connection into a tunnel.
 *
 * With a router (fwd_opts.router: the path router), each request picks its local
 * service (re-dialing when it differs from the current upstream) and may have its
 * target rewritten; a route that strips a prefix gets X-Forwarded-Prefix, and the
 * response head (collected, bounded by UFRPC_PLUGIN_MAX_HEAD) rewritten by
 * proto/http_route.h before it goes back. Each exchange is reported to the router.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/plugins/hs.h"
#include "proto/error.h"
#include "proto/http_route.h"

struct fwd {
    struct fwd_opts o;
    /* current upstream */
    char host[256];
    uint16_t port;
    bool tls;
    struct pconnect *pc;
    struct ufrpc_stream *up;
    bool up_reading;
    bool connect_mode; /* http_proxy CONNECT dial */
    llhttp_t rp;
    llhttp_settings_t rs;
    /* exchange */
    bool awaiting;   /* head sent, final response not complete */
    bool final_done; /* set by the response parser */
    bool resp_ka;
    bool head_req;
    bool chunked;
    bool upgrade_req; /* Upgrade request forwarded; a 101 turns into a tunnel */
    char *head;       /* rebuilt request head waiting for the connection */
    size_t head_len;
    /* router: the current exchange */
    long route_index;
    const char *prefix; /* response head rewrite wanted */
    bool routed;        /* done() still owed */
    bool discard;       /* answered by the router: drop the request body */
    bool rh_active;     /* collecting a response head to rewrite */
    int status;
    uint64_t bytes_in, bytes_out, t0;
    char in_host[256];      /* the Host the user sent */
    char sent_host[256];    /* the Host the local service got */
    struct ufrpc_http_head_reader rh;
};

void *ufrpc_pl_fwd_ctx_new(const struct fwd_opts *o)
{
    struct fwd *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->o = *o;
    f->tls = o->tls;
    if (o->target_host != NULL)
        snprintf(f->host, sizeof f->host, "%s", o->target_host);
    f->port = o->target_port;
    f->route_index = -1;
    ufrpc_http_head_reader_init(&f->rh, NULL, UFRPC_PLUGIN_MAX_HEAD);
    return f;
}

/* Reports the exchange to the router (once). */
static void route_finish(struct fwd *f, int status)
{
    if (!f->routed)
        return;
    f->routed = false;
    f->rh_active = false;
    uint64_t us = (uv_hrtime() - f->t0) / 1000u;
    f->o.router->done(f->o.router_data, f->route_index, status, f->bytes_in, f->bytes_out, us);
}

/* ---- string builder --------------------------------------------------------------- */

struct sb {
    char *b;
    size_t len, cap;
    bool err;
};

static void sb_add(struct sb *s, const char *d, size_t n)
{
    if (s->err)
        return;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->len + n)
            cap *= 2;
        if (cap > 2 * UFRPC_PLUGIN_MAX_HEAD) {
            s->err = true;
            return;
        }
        char *nb = realloc(s->b, cap);
        if (nb == NULL) {
            s->err = true;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
    memcpy(s->b + s->len, d, n);
    s->len += n;
}

static void sb_str(struct sb *s, const char *str)
{
    sb_add(s, str, strlen(str));
}

static void sb_hdr(struct sb *s, const char *name, size_t nlen, const char *val, size_t vlen)
{
    sb_add(s, name, nlen);
    sb_add(s, ": ", 2);
    sb_add(s, val, vlen);
    sb_add(s, "\r\n", 2);
}

static bool name_is(const char *n, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(n, want, len) == 0;
}

static bool hop_by_hop(const char *n, size_t len, bool proxy_mode, bool upgrade)
{
    if (upgrade && name_is(n, len, "Upgrade"))
        return false;
    static const char *const hop[] = {"Connection", "Keep-Alive", "Proxy-Connection",  "TE",
                                      "Trailer",    "Trailers",   "Transfer-Encoding", "Upgrade",
                                      "Host"};
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (name_is(n, len, hop[i]))
            return true;
    if (proxy_mode &&
        (name_is(n, len, "Proxy-Authorization") || name_is(n, len, "Proxy-Authenticate")))
        return true;
    return false;
}

static bool hs_method_is_connect(struct hs *h)
{
    return ufrpc_hs_method_id(h) == HTTP_CONNECT;
}

/* ---- upstream ------------------------------------------------------------------- */

static void up_closed(struct ufrpc_stream *s)
{
    ufrpc_hs_unref(s->data);
}

static void close_up(struct hs *h)
{
    struct fwd *f = h->ctx;
    if (f->pc != NULL) {
        struct pconnect *pc = f->pc;
        f->pc = NULL;
        ufrpc_pl_pconnect_cancel(pc);
    }
    if (f->up != NULL) {
        ufrpc_stream_close(f->up, up_closed);
        f->up = NULL;
        h->up = NULL;
        f->up_reading = false;
    }
    f->awaiting = false;
}

static void on_up_written(void *arg, int status)
{
    struct hs *h = arg;
    if (status < 0 && status != UFRPC_ERR_CANCELED && !h->closing)
        ufrpc_hs_fail(h, status, "write to %s:%u failed: %s", ((struct fwd *)h->ctx)->host,
                      ((struct fwd *)h->ctx)->port, ufrpc_strerror(status));
    else
        ufrpc_hs_kick(h);
    ufrpc_hs_unref(h);
}

static int up_write(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *d, size_t n)
{
    struct fwd *f = h->ctx;
    if (f->up == NULL)
        return 0; /* upstream gone mid-request: the response path reports it */
    int rc = ufrpc_pl_write(f->up, buf, d, n, on_up_written, h);
    if (rc == 0)
        ufrpc_hs_ref(h);
    return rc;
}

static void bad_gateway(struct hs *h, int err, const char *what)
{
    struct fwd *f = h->ctx;
    char body[400];
    snprintf(body, sizeof body, "%s %s:%u: %s\n", what, f->host, f->port, ufrpc_strerror(err));
    ufrpc_pl_pconn_fail(&h->base, err, "%s %s:%u: %s", what, f->host, f->port, ufrpc_strerror(err));
    close_up(h);
    route_finish(f, h->resp_started ? f->status : 502);
    if (h->resp_started) {
        ufrpc_hs_fail(h, err, NULL);
        return;
    }
    if (f->o.proxy_mode)
        ufrpc_hs_simple_response(h, 500, "Internal Server Error", NULL, body, true);
    else
        ufrpc_hs_simple_response(h, 502, "Bad Gateway", NULL, body, true);
}

static int rp_headers_complete(llhttp_t *p)
{
    struct hs *h = p->data;
    struct fwd *f = h->ctx;
    int st = p->status_code;
    if (st >= 100 && st < 200)
        return 0;
    return f->head_req ? 1 : 0;
}

static int rp_message_complete(llhttp_t *p)
{
    struct hs *h = p->data;
    struct fwd *f = h->ctx;
    int st = p->status_code;
    if (st >= 100 && st < 200 && st != 101)
        return 0; /* interim response: the final one follows */
    f->final_done = true;
    f->resp_ka = st != 101 && llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
}

static void response_complete(struct hs *h)
{
    struct fwd *f = h->ctx;
    bool ka = f->resp_ka;
    f->awaiting = false;
    f->final_done = false;
    route_finish(f, f->rp.status_code);
    if (!ka)
        close_up(h);
    ufrpc_hs_response_done(h, ka);
}

/* 101 Switching Protocols to an Upgrade request: both streams leave the HTTP
 * machinery and are joined by a pump; pending bytes of each side go first. */
static void switch_to_tunnel(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *rest, size_t rest_len)
{
    struct fwd *f = h->ctx;
    route_finish(f, 101);
    struct ufrpc_stream *up = f->up;
    f->up = NULL;
    h->up = NULL;
    f->up_reading = false;
    f->awaiting = false;
    ufrpc_stream_read_stop(up);
    up->data = NULL;
    struct pconn tmp = {.plugin = h->base.plugin, .failed = h->base.failed};
    ufrpc_rbuf_t *pb;
    const uint8_t *pd;
    size_t pn;
    struct ufrpc_stream *down = ufrpc_hs_detach(h, &pb, &pd, &pn);
    ufrpc_hs_unref(h); /* the reference the upstream stream held */
    int rc = pn > 0 ? ufrpc_pl_write(up, pb, pd, pn, NULL, NULL) : 0;
    ufrpc_rbuf_unref(pb);
    if (rc < 0) {
        ufrpc_stream_close(up, NULL);
        ufrpc_stream_close(down, NULL);
        return;
    }
    ufrpc_pl_ptunnel(&tmp, up, down, NULL, 0, buf, rest, rest_len, false);
}

/* The collected response head (f->rh): parsed by the response parser, rewritten
 * (proto/http_route.h) and written downstream. 0, or <0 when the exchange ended. */
static int emit_head(struct hs *h)
{
    struct fwd *f = h->ctx;
    llhttp_errno_t e = llhttp_execute(&f->rp, (const char *)f->rh.buf, f->rh.len);
    if (e == HPE_PAUSED)
        llhttp_resume(&f->rp);
    else if (e != HPE_OK && e != HPE_PAUSED_UPGRADE) {
        char what[160];
        snprintf(what, sizeof what, "malformed response (%s) from", llhttp_errno_name(e));
        bad_gateway(h, UFRPC_ERR_HTTP, what);
        return -1;
    }
    char local[300];
    snprintf(local, sizeof local, "%s:%u", f->host, f->port);
    const char *hosts[] = {f->in_host, f->sent_host, local};
    struct ufrpc_http_rewrite rw = {f->prefix, hosts, 3};
    uint8_t *out = NULL;
    size_t olen = 0;
    bool changed = false;
    int rc = ufrpc_http_route_rewrite_head(&rw, f->rh.buf, f->rh.len, NULL, &out, &olen, &changed);
    if (rc < 0) {
        bad_gateway(h, rc, "response head from");
        return -1;
    }
    rc = ufrpc_hs_write(h, NULL, out, olen);
    free(out);
    if (rc < 0) {
        ufrpc_hs_fail(h, rc, NULL);
        return -1;
    }
    f->bytes_out += olen;
    int st = f->rp.status_code;
    f->status = st;
    ufrpc_http_head_reader_reset(&f->rh);
    if (!(st >= 100 && st < 200 && st != 101))
        f->rh_active = false; /* interim responses: the final head follows */
    return 0;
}

static void on_up_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len)
{
    struct hs *h = s->data;
    struct fwd *f = h->ctx;
    if (status < 0) {
        f->up_reading = false;
        if (!f->awaiting) {
            close_up(h); /* idle keep-alive upstream went away */
            return;
        }
        if (status == UFRPC_ERR_EOF) {
            f->final_done = false;
            llhttp_errno_t e = llhttp_finish(&f->rp);
            if (f->final_done) {
                f->resp_ka = false;
                response_complete(h);
                return;
            }
            (void)e;
            bad_gateway(h, UFRPC_ERR_HTTP, "incomplete response from");
            return;
        }
        bad_gateway(h, status, "read from");
        return;
    }
    if (len == 0)
        return;
    if (!f->awaiting) {
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP,
                            "unexpected bytes from %s:%u between responses", f->host, f->port);
        close_up(h);
        return;
    }
    while (f->rh_active) { /* router: the response head is rewritten first */
        if (len == 0)
            return;
        long n = ufrpc_http_head_reader_feed(&f->rh, data, len);
        if (n < 0) {
            bad_gateway(h, (int)n, "response head (over 64 KiB?) from");
            return;
        }
        data += n;
        len -= (size_t)n;
        if (!f->rh.done)
            return;
        if (emit_head(h) < 0)
            return;
        if (f->final_done)
            break;
    }
    if (len == 0 && !f->final_done)
        return;
    bool head_only = f->final_done; /* the rewritten head ended the response */
    llhttp_errno_t e = head_only ? HPE_PAUSED : llhttp_execute(&f->rp, (const char *)data, len);
    size_t used = len;
    if (head_only) {
        used = 0; /* the head was the whole response */
    } else if (e == HPE_PAUSED) {
        used = (size_t)(llhttp_get_error_pos(&f->rp) - (const char *)data);
        llhttp_resume(&f->rp);
    } else if (e == HPE_PAUSED_UPGRADE) {
        used = (size_t)(llhttp_get_error_pos(&f->rp) - (const char *)data);
    } else if (e != HPE_OK) {
        char what[160];
        snprintf(what, sizeof what, "malformed response (%s) from", llhttp_errno_name(e));
        bad_gateway(h, UFRPC_ERR_HTTP, what);
        return;
    }
    int rc = ufrpc_hs_write(h, buf, data, used);
    if (rc < 0) {
        ufrpc_hs_fail(h, rc, NULL);
        return;
    }
    f->bytes_out += used;
    if (f->final_done) {
        if (f->upgrade_req && f->rp.status_code == 101) {
            switch_to_tunnel(h, buf, data + used, len - used);
            return;
        }
        if (used < len)
            f->resp_ka = false; /* bytes after the response: do not reuse */
        response_complete(h);
        return;
    }
    if (ufrpc_hs_down_congested(h) && f->up_reading) {
        f->up_reading = false;
        ufrpc_stream_read_stop(f->up);
    }
}

static void fwd_on_drain(struct hs *h)
{
    struct fwd *f = h->ctx;
    if (f->up != NULL && !f->up_reading && !f->connect_mode) {
        if (ufrpc_stream_read_start(f->up, on_up_read) == 0)
            f->up_reading = true;
    }
}

static void send_head(struct hs *h)
{
    struct fwd *f = h->ctx;
    int rc = up_write(h, NULL, (const uint8_t *)f->head, f->head_len);
    free(f->head);
    f->head = NULL;
    if (rc < 0) {
        bad_gateway(h, rc, "write to");
        return;
    }
    f->awaiting = true;
    f->final_done = false;
    if (f->prefix != NULL) {
        ufrpc_http_head_reader_reset(&f->rh);
        f->rh_active = true;
    }
    if (!f->up_reading && !ufrpc_hs_down_congested(h))
        fwd_on_drain(h);
}

static void on_up_connected(void *arg, int status, struct ufrpc_stream *s)
{
    struct hs *h = arg;
    struct fwd *f = h->ctx;
    bool canceled = f->pc == NULL;
    f->pc = NULL;
    if (canceled) {
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        ufrpc_hs_unref(h);
        return;
    }
    if (status < 0) {
        bad_gateway(h, status, "cannot connect to");
        ufrpc_hs_unref(h);
        return;
    }
    f->up = s;
    h->up = s;
    s->data = h; /* the pconnect's ref on h now belongs to the stream */
    llhttp_settings_init(&f->rs);
    f->rs.on_headers_complete = rp_headers_complete;
    f->rs.on_message_complete = rp_message_complete;
    llhttp_init(&f->rp, HTTP_RESPONSE, &f->rs);
    f->rp.data = h;
    send_head(h);
    ufrpc_hs_resume(h);
}

/* ---- request ------------------------------------------------------------------- */

/* Parses an absolute URI (http_proxy): scheme, authority → target; sets
 * path and plen to the origin-form target. 0 or <0. */
static int parse_absolute(struct hs *h, const char *u, size_t n, const char **path, size_t *plen,
                          char *auth, size_t acap)
{
    struct fwd *f = h->ctx;
    bool was_tls = f->tls;
    size_t skip;
    if (n >= 7 && strncasecmp(u, "http://", 7) == 0) {
        skip = 7;
        f->tls = false;
    } else if (n >= 8 && strncasecmp(u, "https://", 8) == 0) {
        skip = 8;
        f->tls = true;
    } else {
        return UFRPC_ERR_INVAL;
    }
    const char *a = u + skip;
    size_t alen = 0;
    while (skip + alen < n && a[alen] != '/' && a[alen] != '?' && a[alen] != '#')
        alen++;
    if (alen == 0 || alen >= acap || memchr(a, '@', alen) != NULL)
        return UFRPC_ERR_INVAL;
    memcpy(auth, a, alen);
    auth[alen] = '\0';
    *path = a + alen;
    *plen = n - skip - alen;
    /* host[:port] */
    char hp[300];
    const char *colon = auth[0] == '[' ? strstr(auth, "]:") : strrchr(auth, ':');
    if (colon != NULL && auth[0] == '[')
        colon++;
    if (colon != NULL)
        snprintf(hp, sizeof hp, "%s", auth);
    else
        snprintf(hp, sizeof hp, "%s:%u", auth, f->tls ? 443u : 80u);
    char host[256];
    uint16_t port;
    if (ufrpc_pl_split_host_port(hp, host, sizeof host, &port) < 0)
        return UFRPC_ERR_INVAL;
    if (f->up != NULL && (strcmp(host, f->host) != 0 || port != f->port || f->tls != was_tls)) {
        close_up(h);
    }
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    return 0;
}

static bool set_header_named(const struct fwd *f, const char *n, size_t len)
{
    const struct ufrpc_cfg_map *m = f->o.set_headers;
    for (size_t i = 0; m != NULL && i < m->len; i++)
        if (m->items[i].key != NULL && name_is(n, len, m->items[i].key))
            return true;
    return false;
}

static int fwd_on_head(struct hs *h)
{
    struct fwd *f = h->ctx;
    const char *url = hs_str(h, h->head.url_off);
    size_t ulen = h->head.url_len;
    const char *path = url;
    size_t plen = ulen;
    char authority[280] = "";
    if (f->o.proxy_mode) {
        if (parse_absolute(h, url, ulen, &path, &plen, authority, sizeof authority) < 0) {
            ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP,
                                "request target is not an "
                                "absolute http(s) URI");
            ufrpc_hs_simple_response(h, 400, "Bad Request", NULL, "absolute URI required\n", true);
            return -1;
        }
        if (plen == 0) {
            path = "/";
            plen = 1;
        }
    }
    const char *host_rewrite = f->o.host_rewrite;
    char tbuf[UFRPC_HTTP_ROUTE_MAX_TARGET];
    if (f->o.router != NULL) {
        struct fwd_route rt = {.index = -1};
        f->discard = false;
        f->prefix = NULL;
        if (f->o.router->pick(h, f->o.router_data, &rt, tbuf, sizeof tbuf) < 0) {
            f->discard = true; /* answered: the body goes nowhere */
            return h->closing ? -1 : HS_CONTINUE;
        }
        path = rt.target;
        plen = rt.target_len;
        if (f->up != NULL && (strcmp(f->host, rt.host) != 0 || f->port != rt.port))
            close_up(h); /* another route's service */
        snprintf(f->host, sizeof f->host, "%s", rt.host);
        f->port = rt.port;
        if (rt.host_rewrite != NULL && rt.host_rewrite[0] != '\0')
            host_rewrite = rt.host_rewrite;
        f->prefix = rt.prefix != NULL && rt.prefix[0] != '\0' ? rt.prefix : NULL;
        f->route_index = rt.index;
        f->routed = true;
        f->t0 = uv_hrtime();
        f->bytes_in = f->bytes_out = 0;
        f->status = 0;
    }
    f->head_req = ufrpc_hs_method_id(h) == HTTP_HEAD;
    f->chunked = (h->parser.flags & F_CHUNKED) != 0;
    f->upgrade_req = h->parser.upgrade != 0 && hs_method_is_connect(h) == false;

    size_t in_host_len = 0;
    const char *in_host = ufrpc_hs_header(h, "Host", &in_host_len);
    struct sb s = {0};
    sb_str(&s, ufrpc_hs_method(h));
    sb_add(&s, " ", 1);
    sb_add(&s, path, plen);
    /* an HTTP/1.0 user gets an HTTP/1.0 exchange upstream, so that the response
     * (passed through unchanged) uses framing it understands (no chunking) */
    bool v10 = h->parser.http_major == 1 && h->parser.http_minor == 0;
    sb_str(&s, v10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    if (f->o.router != NULL) {
        size_t hn = in_host_len < sizeof f->in_host ? in_host_len : 0;
        memcpy(f->in_host, in_host != NULL ? in_host : "", hn);
        f->in_host[hn] = '\0';
        snprintf(f->sent_host, sizeof f->sent_host, "%s",
                 host_rewrite != NULL && host_rewrite[0] != '\0' ? host_rewrite : f->in_host);
    }
    if (host_rewrite != NULL && host_rewrite[0] != '\0')
        sb_hdr(&s, "Host", 4, host_rewrite, strlen(host_rewrite));
    else if (authority[0] != '\0')
        sb_hdr(&s, "Host", 4, authority, strlen(authority));
    else if (in_host != NULL)
        sb_hdr(&s, "Host", 4, in_host, in_host_len);
    else
        sb_hdr(&s, "Host", 4, f->host, strlen(f->host));
    size_t xff_len = 0;
    const char *xff = NULL;
    for (size_t i = 0; i < h->head.nf; i++) {
        const char *n = hs_str(h, h->head.f[i].noff);
        size_t nl = h->head.f[i].nlen;
        if (hop_by_hop(n, nl, f->o.proxy_mode, f->upgrade_req) || set_header_named(f, n, nl))
            continue;
        if (f->prefix != NULL && name_is(n, nl, "X-Forwarded-Prefix"))
            continue; /* ours replaces the user's */
        bool is_xf = nl > 12 && strncasecmp(n, "X-Forwarded-", 12) == 0;
        if (is_xf && f->o.xfwd == 0)
            continue;
        if (is_xf && f->o.xfwd == 2) {
            if (name_is(n, nl, "X-Forwarded-For")) {
                xff = hs_str(h, h->head.f[i].voff);
                xff_len = h->head.f[i].vlen;
            }
            if (name_is(n, nl, "X-Forwarded-For") || name_is(n, nl, "X-Forwarded-Host") ||
                name_is(n, nl, "X-Forwarded-Proto"))
                continue;
        }
        sb_hdr(&s, n, nl, hs_str(h, h->head.f[i].voff), h->head.f[i].vlen);
    }
    if (f->o.xfwd == 2) {
        /* client IP from the user address frps reported (src_addr) */
        char ip[80];
        snprintf(ip, sizeof ip, "%s", h->src_addr);
        char *e = ip[0] == '[' ? strchr(ip, ']') : strrchr(ip, ':');
        if (ip[0] == '[' && e != NULL) {
            *e = '\0';
            memmove(ip, ip + 1, strlen(ip));
        } else if (e != NULL) {
            *e = '\0';
        }
        if (ip[0] != '\0') {
            sb_str(&s, "X-Forwarded-For: ");
            if (xff != NULL) {
                sb_add(&s, xff, xff_len);
                sb_str(&s, ", ");
            }
            sb_str(&s, ip);
            sb_str(&s, "\r\n");
        }
        if (in_host != NULL)
            sb_hdr(&s, "X-Forwarded-Host", 16, in_host, in_host_len);
        sb_str(&s, "X-Forwarded-Proto: https\r\n");
    }
    const struct ufrpc_cfg_map *m = f->o.set_headers;
    for (size_t i = 0; m != NULL && i < m->len; i++)
        if (m->items[i].key != NULL && m->items[i].value != NULL)
            sb_hdr(&s, m->items[i].key, strlen(m->items[i].key), m->items[i].value,
                   strlen(m->items[i].value));
    if (f->prefix != NULL)
        sb_hdr(&s, "X-Forwarded-Prefix", 18, f->prefix, strlen(f->prefix));
    if (f->chunked)
        sb_str(&s, "Transfer-Encoding: chunked\r\n");
    if (f->upgrade_req)
        sb_str(&s, "Connection: Upgrade\r\n");
    sb_str(&s, "\r\n");
    if (s.err) {
        free(s.b);
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_LIMIT, "rewritten request head too long");
        ufrpc_hs_simple_response(h, 431, "Request Header Fields Too Large", NULL, "431\n", true);
        return -1;
    }
    free(f->head);
    f->head = s.b;
    f->head_len = s.len;
    f->bytes_in += s.len;

    if (f->up != NULL) {
        send_head(h);
        return h->closing ? -1 : HS_CONTINUE;
    }
    int err;
    ufrpc_hs_ref(h); /* held by the connect callback, then by the upstream stream */
    f->pc =
        ufrpc_pl_pconnect_tcp(h->base.plugin, f->host, f->port, f->tls, on_up_connected, h, &err);
    if (f->pc == NULL) {
        ufrpc_hs_unref(h);
        bad_gateway(h, err, "cannot connect to");
        return -1;
    }
    return HS_PAUSE;
}

static void fwd_on_body(struct hs *h, ufrpc_rbuf_t *buf, const uint8_t *d, size_t n)
{
    struct fwd *f = h->ctx;
    int rc = 0;
    if (f->discard)
        return;
    f->bytes_in += n;
    if (f->chunked) {
        char sz[24];
        int k = snprintf(sz, sizeof sz, "%zx\r\n", n);
        rc = up_write(h, NULL, (const uint8_t *)sz, (size_t)k);
        if (rc == 0)
            rc = up_write(h, buf, d, n);
        if (rc == 0)
            rc = up_write(h, NULL, (const uint8_t *)"\r\n", 2);
    } else {
        rc = up_write(h, buf, d, n);
    }
    if (rc < 0)
        ufrpc_hs_fail(h, rc, "write to upstream: %s", ufrpc_strerror(rc));
}

static void fwd_on_end(struct hs *h)
{
    struct fwd *f = h->ctx;
    if (f->discard)
        return;
    if (f->chunked && up_write(h, NULL, (const uint8_t *)"0\r\n\r\n", 5) < 0)
        ufrpc_hs_fail(h, UFRPC_ERR_IO, NULL);
}

static void fwd_teardown(struct hs *h)
{
    struct fwd *f = h->ctx;
    route_finish(f, f->status); /* an exchange cut short */
    close_up(h);
}

static void fwd_destroy(struct hs *h)
{
    struct fwd *f = h->ctx;
    if (f != NULL) {
        free(f->head);
        ufrpc_http_head_reader_free(&f->rh);
    }
    free(f);
}

const struct hs_handler ufrpc_pl_fwd_handler = {
    .upgrades = true,
    .on_head = fwd_on_head,
    .on_body = fwd_on_body,
    .on_end = fwd_on_end,
    .on_connect = NULL,
    .on_teardown = fwd_teardown,
    .on_drain = fwd_on_drain,
    .destroy = fwd_destroy,
};

/* ---- http_proxy ---------------------------------------------------------------- */

/* As frpc: 407 with Proxy-Authenticate after a 200 ms delay; the connection ends. */
static int deny_407(struct hs *h)
{
    ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_PROXY_PROTOCOL, "proxy authentication failed");
    return ufrpc_hs_delayed_response(h, 200, 407, "Proxy Authentication Required",
                                     "Proxy-Authenticate: Basic\r\n", NULL, true);
}

static int hp_on_head(struct hs *h)
{
    if (!ufrpc_hs_auth_ok(h, "Proxy-Authorization"))
        return deny_407(h);
    return fwd_on_head(h);
}

static void on_tunnel_target(void *arg, int status, struct ufrpc_stream *s)
{
    struct hs *h = arg;
    struct fwd *f = h->ctx;
    bool canceled = f->pc == NULL;
    f->pc = NULL;
    if (canceled || h->closing) {
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        ufrpc_hs_unref(h);
        return;
    }
    if (status < 0) {
        ufrpc_pl_pconn_fail(&h->base, status, "CONNECT %s:%u: %s", f->host, f->port,
                            ufrpc_strerror(status));
        /* as frpc: a bare 400 response, then close */
        static const char r400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        if (ufrpc_hs_write(h, NULL, (const uint8_t *)r400, sizeof r400 - 1) == 0)
            ufrpc_hs_end(h);
        else
            ufrpc_hs_fail(h, status, NULL);
        ufrpc_hs_unref(h);
        return;
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
    struct pconn tmp = {.plugin = h->base.plugin, .failed = h->base.failed};
    ufrpc_rbuf_t *buf;
    const uint8_t *d;
    size_t n;
    struct ufrpc_stream *down = ufrpc_hs_detach(h, &buf, &d, &n);
    ufrpc_hs_unref(h);
    if (ufrpc_pl_write(down, NULL, (const uint8_t *)ok, sizeof ok - 1, NULL, NULL) < 0) {
        ufrpc_stream_close(down, NULL);
        ufrpc_stream_close(s, NULL);
        ufrpc_rbuf_unref(buf);
        return;
    }
    ufrpc_pl_ptunnel(&tmp, down, s, NULL, 0, buf, d, n, true);
    ufrpc_rbuf_unref(buf);
}

static void hp_on_connect(struct hs *h)
{
    struct fwd *f = h->ctx;
    if (!ufrpc_hs_auth_ok(h, "Proxy-Authorization")) {
        deny_407(h);
        return;
    }
    char hp[300];
    size_t ulen = h->head.url_len < sizeof hp ? h->head.url_len : sizeof hp - 1;
    memcpy(hp, hs_str(h, h->head.url_off), ulen);
    hp[ulen] = '\0';
    if (ufrpc_pl_split_host_port(hp, f->host, sizeof f->host, &f->port) < 0) {
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP, "bad CONNECT target \"%s\"", hp);
        h->req_done = true;
        ufrpc_hs_simple_response(h, 400, "Bad Request", NULL, "bad CONNECT target\n", true);
        return;
    }
    f->connect_mode = true;
    int err;
    ufrpc_hs_ref(h);
    f->pc =
        ufrpc_pl_pconnect_tcp(h->base.plugin, f->host, f->port, false, on_tunnel_target, h, &err);
    if (f->pc == NULL) {
        ufrpc_hs_unref(h);
        ufrpc_hs_fail(h, err, "CONNECT %s:%u: %s", f->host, f->port, ufrpc_strerror(err));
    }
}

const struct hs_handler ufrpc_pl_http_proxy_handler = {
    .on_head = hp_on_head,
    .on_body = fwd_on_body,
    .on_end = fwd_on_end,
    .on_connect = hp_on_connect,
    .on_teardown = fwd_teardown,
    .on_drain = fwd_on_drain,
    .destroy = fwd_destroy,
};
