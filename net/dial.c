/* ufrpc — dialing: DNS, address list, timeout, local bind, HTTP CONNECT / SOCKS5. */
#include "net/dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "proto/base64.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/http_connect.h"
#include "proto/socks5.h"
#include "proto/text.h"

enum { ST_DNS, ST_CONNECT, ST_PROXY, ST_DONE };

struct ufrpc_dial {
    uv_loop_t *loop;
    ufrpc_dial_cb cb;
    void *data;
    int state;
    int refs;                  /* timer handle + pending getaddrinfo + pending connect */
    char host[256];
    uint16_t port;
    int keepalive_s;
    bool nodelay;
    int has_local;
    struct sockaddr_storage local;
    int has_proxy;
    struct ufrpc_dial_proxy_url proxy;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    struct addrinfo *ai_list;  /* from getaddrinfo (NULL for a literal) */
    struct addrinfo *ai_next;
    /* an IP literal needs no resolver (a thread-pool round trip per dial): its
     * one address, which ai_next points at */
    struct addrinfo lit_ai;
    struct sockaddr_storage lit_addr;
    /* inside ufrpc_dial: an end found there is reported from the next loop
     * iteration instead (the callback never runs from inside ufrpc_dial) */
    int starting;
    int deferred_status;
    struct ufrpc_stream *tcp;  /* current attempt */
    int last_err;
    /* proxy negotiation */
    struct ufrpc_stream_write wreq;
    uv_buf_t wbuf;
    uint8_t out[1024];
    uint8_t in[1024];
    size_t in_len;
    int socks_step;
};

static void dial_unref(ufrpc_dial_t *d)
{
    if (--d->refs > 0)
        return;
    if (d->ai_list != NULL)
        uv_freeaddrinfo(d->ai_list);
    free(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    dial_unref(h->data);
}

static void dial_finish(ufrpc_dial_t *d, int status);

static void on_deferred_finish(uv_timer_t *t)
{
    ufrpc_dial_t *d = t->data;
    dial_finish(d, d->deferred_status);
}

/* Ends the dial: exactly one callback. */
static void dial_finish(ufrpc_dial_t *d, int status)
{
    if (d->state == ST_DONE)
        return;
    if (d->starting) {
        /* only before any connect is pending (nothing else can end it meanwhile
         * but ufrpc_dial_cancel, which finishes at once) */
        d->deferred_status = status;
        uv_timer_start(&d->timer, on_deferred_finish, 0, 0);
        return;
    }
    d->state = ST_DONE;
    struct ufrpc_stream *s = NULL;
    if (d->tcp != NULL) {
        if (status == 0) {
            s = d->tcp;
            ufrpc_stream_read_stop(s);
        } else {
            ufrpc_stream_close(d->tcp, NULL);
        }
        d->tcp = NULL;
    }
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
    d->refs++; /* keep d alive during the callback */
    d->cb(d, status, s, d->data);
    dial_unref(d);
}

static void try_next(ufrpc_dial_t *d);

static void proxy_start(ufrpc_dial_t *d);

static void on_connect(uv_connect_t *r, int status)
{
    ufrpc_dial_t *d = r->data;
    if (d->state != ST_CONNECT) {
        dial_unref(d);
        return;
    }
    dial_unref(d);
    if (status < 0) {
        d->last_err = ufrpc_net_uv_err(status);
        ufrpc_stream_close(d->tcp, NULL);
        d->tcp = NULL;
        try_next(d);
        return;
    }
    ufrpc_tcp_set_options(d->tcp, d->nodelay, d->keepalive_s);
    if (d->has_proxy) {
        proxy_start(d);
        return;
    }
    dial_finish(d, 0);
}

static void try_next(ufrpc_dial_t *d)
{
    while (d->ai_next != NULL) {
        struct addrinfo *ai = d->ai_next;
        d->ai_next = ai->ai_next;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (d->has_local && d->local.ss_family != ai->ai_family)
            continue;
        int err;
        d->tcp = ufrpc_tcp_new(d->loop, &err);
        if (d->tcp == NULL) {
            dial_finish(d, err);
            return;
        }
        uv_tcp_t *h = ufrpc_tcp_handle(d->tcp);
        int rc = 0;
        if (d->has_local)
            rc = uv_tcp_bind(h, (struct sockaddr *)&d->local, 0);
        if (rc == 0) {
            d->creq.data = d;
            rc = uv_tcp_connect(&d->creq, h, ai->ai_addr, on_connect);
        }
        if (rc == 0) {
            d->refs++;
            return;
        }
        d->last_err = ufrpc_net_uv_err(rc);
        ufrpc_stream_close(d->tcp, NULL);
        d->tcp = NULL;
    }
    dial_finish(d, d->last_err != 0 ? d->last_err : UFRPC_ERR_CONNECT);
}

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res)
{
    ufrpc_dial_t *d = r->data;
    if (d->state != ST_DNS) {
        if (res != NULL)
            uv_freeaddrinfo(res);
        dial_unref(d);
        return;
    }
    dial_unref(d);
    if (status < 0) {
        dial_finish(d, status == UV_EAI_CANCELED ? UFRPC_ERR_CANCELED : UFRPC_ERR_DNS);
        return;
    }
    d->ai_list = res;
    d->ai_next = res;
    d->state = ST_CONNECT;
    try_next(d);
}

static void on_timeout(uv_timer_t *t)
{
    ufrpc_dial_t *d = t->data;
    if (d->state == ST_DNS)
        uv_cancel((uv_req_t *)&d->gai);
    dial_finish(d, UFRPC_ERR_TIMEOUT);
}

/* ---- proxy URL --------------------------------------------------------------- */
int ufrpc_dial_proxy_url_parse(const char *url, struct ufrpc_dial_proxy_url *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncmp(url, "socks5://", 9) == 0) {
        out->socks5 = 1;
        p = url + 9;
    } else {
        return strstr(url, "://") != NULL ? UFRPC_ERR_UNSUPPORTED : UFRPC_ERR_INVAL;
    }
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon != NULL ? colon : at;
        if (ufrpc_pct_decode(p, (size_t)(uend - p), false, out->user, sizeof out->user) < 0)
            return UFRPC_ERR_INVAL;
        if (colon != NULL &&
            ufrpc_pct_decode(colon + 1, (size_t)(at - colon - 1), false, out->pass,
                             sizeof out->pass) < 0)
            return UFRPC_ERR_INVAL;
        out->has_auth = 1;
        p = at + 1;
    }
    const char *hend;
    const char *port_s = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL)
            return UFRPC_ERR_INVAL;
        if (rb + 1 < end && rb[1] == ':')
            port_s = rb + 2;
        else if (rb + 1 != end)
            return UFRPC_ERR_INVAL;
        p++;
        hend = rb;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        hend = colon != NULL ? colon : end;
        if (colon != NULL)
            port_s = colon + 1;
    }
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof out->host)
        return UFRPC_ERR_INVAL;
    memcpy(out->host, p, hl);
    out->host[hl] = '\0';
    if (port_s == NULL) {
        out->port = out->socks5 ? 1080 : 80;
    } else {
        unsigned long v = 0;
        if (port_s == end)
            return UFRPC_ERR_INVAL;
        for (const char *q = port_s; q < end; q++) {
            if (*q < '0' || *q > '9')
                return UFRPC_ERR_INVAL;
            v = v * 10 + (unsigned long)(*q - '0');
            if (v > 65535)
                return UFRPC_ERR_INVAL;
        }
        if (v == 0)
            return UFRPC_ERR_INVAL;
        out->port = (uint16_t)v;
    }
    return 0;
}

/* ---- proxy negotiation --------------------------------------------------------- */
static void proxy_send(ufrpc_dial_t *d, size_t n);

static void on_proxy_write(struct ufrpc_stream_write *w, int status)
{
    ufrpc_dial_t *d = w->data;
    if (status < 0 && d->state == ST_PROXY)
        dial_finish(d, status == UFRPC_ERR_CANCELED ? status : UFRPC_ERR_PROXY_PROTOCOL);
    dial_unref(d);
}

static void proxy_send(ufrpc_dial_t *d, size_t n)
{
    d->wbuf = uv_buf_init((char *)d->out, (unsigned)n);
    d->wreq.data = d;
    int rc = ufrpc_stream_write(d->tcp, &d->wreq, &d->wbuf, 1, on_proxy_write);
    if (rc < 0)
        dial_finish(d, rc);
    else
        d->refs++;
}

/* Bytes consumed by a complete reply in d->in, 0 if more are needed, <0 on error. */
static long http_reply_done(ufrpc_dial_t *d)
{
    int status = 0;
    long r = ufrpc_http_connect_parse_reply(d->in, d->in_len, &status);
    if (r == UFRPC_ERR_AGAIN)
        return d->in_len == sizeof d->in ? UFRPC_ERR_PROXY_PROTOCOL : 0;
    if (r < 0 || status != 200)
        return UFRPC_ERR_PROXY_PROTOCOL;
    return r;
}

static void socks_send_request(ufrpc_dial_t *d)
{
    size_t hl = strlen(d->host);
    size_t n = 0;
    d->out[n++] = 5;
    d->out[n++] = 1; /* CONNECT */
    d->out[n++] = 0;
    struct in_addr a4;
    struct in6_addr a6;
    if (uv_inet_pton(AF_INET, d->host, &a4) == 0) {
        d->out[n++] = 1;
        memcpy(d->out + n, &a4, 4);
        n += 4;
    } else if (uv_inet_pton(AF_INET6, d->host, &a6) == 0) {
        d->out[n++] = 4;
        memcpy(d->out + n, &a6, 16);
        n += 16;
    } else {
        d->out[n++] = 3;
        d->out[n++] = (uint8_t)hl;
        memcpy(d->out + n, d->host, hl);
        n += hl;
    }
    ufrpc_put_be16(d->out + n, d->port);
    n += 2;
    d->socks_step = 2;
    proxy_send(d, n);
}

/* Returns bytes of d->in consumed by the step, 0 = need more, <0 error. Advances. */
static long socks_step(ufrpc_dial_t *d)
{
    const uint8_t *b = d->in;
    size_t n = d->in_len;
    uint8_t code = 0;
    long r;
    if (d->socks_step == 0) { /* method selection reply */
        r = ufrpc_socks5_parse_pair(b, n, UFRPC_SOCKS5_VERSION, &code);
        if (r == UFRPC_ERR_AGAIN)
            return 0;
        if (r < 0)
            return UFRPC_ERR_PROXY_PROTOCOL;
        if (code == 0) {
            socks_send_request(d);
            return r;
        }
        if (code == 2 && d->proxy.has_auth) {
            size_t ul = strlen(d->proxy.user), pl = strlen(d->proxy.pass), o = 0;
            d->out[o++] = 1;
            d->out[o++] = (uint8_t)ul;
            memcpy(d->out + o, d->proxy.user, ul);
            o += ul;
            d->out[o++] = (uint8_t)pl;
            memcpy(d->out + o, d->proxy.pass, pl);
            o += pl;
            d->socks_step = 1;
            proxy_send(d, o);
            return r;
        }
        return UFRPC_ERR_PROXY_PROTOCOL;
    }
    if (d->socks_step == 1) { /* auth reply (its version byte is not checked, as Go) */
        r = ufrpc_socks5_parse_pair(b, n, 0, &code);
        if (r == UFRPC_ERR_AGAIN)
            return 0;
        if (r < 0 || code != 0)
            return UFRPC_ERR_PROXY_PROTOCOL;
        socks_send_request(d);
        return r;
    }
    /* connect reply: 5 rep 0 atyp addr port */
    struct ufrpc_socks5_addr_msg m;
    r = ufrpc_socks5_parse_addr_msg(b, n, &m);
    if (r == UFRPC_ERR_AGAIN)
        return 0;
    if (r < 0 || m.code != 0)
        return UFRPC_ERR_PROXY_PROTOCOL;
    d->socks_step = 3;
    return r;
}

static void on_proxy_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    ufrpc_dial_t *d = s->data;
    (void)buf;
    if (status < 0) {
        dial_finish(d, UFRPC_ERR_PROXY_PROTOCOL);
        return;
    }
    while (len > 0 && d->state == ST_PROXY) {
        /* Byte by byte (replies are tiny), so that whatever follows the reply can
         * be pushed back unchanged. */
        d->in[d->in_len++] = *data++;
        len--;
        long r = d->proxy.socks5 ? socks_step(d) : http_reply_done(d);
        if (r < 0) {
            dial_finish(d, (int)r);
            return;
        }
        if (r > 0) {
            d->in_len = 0;
            if (!d->proxy.socks5 || d->socks_step == 3) {
                if (len > 0) {
                    int rc = ufrpc_stream_unread(s, NULL, data, len);
                    if (rc < 0) {
                        dial_finish(d, rc);
                        return;
                    }
                }
                s->data = NULL;
                dial_finish(d, 0);
                return;
            }
        }
    }
}

static void proxy_start(ufrpc_dial_t *d)
{
    d->state = ST_PROXY;
    d->tcp->data = d;
    size_t n;
    if (d->proxy.socks5) {
        n = 0;
        d->out[n++] = 5;
        d->out[n++] = d->proxy.has_auth ? 2 : 1;
        d->out[n++] = 0;
        if (d->proxy.has_auth)
            d->out[n++] = 2;
        d->socks_step = 0;
    } else {
        char hp[300];
        if (strchr(d->host, ':') != NULL)
            snprintf(hp, sizeof hp, "[%s]:%u", d->host, d->port);
        else
            snprintf(hp, sizeof hp, "%s:%u", d->host, d->port);
        int w = snprintf((char *)d->out, sizeof d->out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hp, hp);
        if (d->proxy.has_auth) {
            char cred[520], b64[700];
            int cl = snprintf(cred, sizeof cred, "%s:%s", d->proxy.user, d->proxy.pass);
            ufrpc_base64_encode((const uint8_t *)cred, (size_t)cl, b64);
            w += snprintf((char *)d->out + w, sizeof d->out - (size_t)w,
                          "Proxy-Authorization: Basic %s\r\n", b64);
        }
        w += snprintf((char *)d->out + w, sizeof d->out - (size_t)w, "\r\n");
        if ((size_t)w >= sizeof d->out) {
            dial_finish(d, UFRPC_ERR_LIMIT);
            return;
        }
        n = (size_t)w;
    }
    int rc = ufrpc_stream_read_start(d->tcp, on_proxy_read);
    if (rc < 0) {
        dial_finish(d, rc);
        return;
    }
    proxy_send(d, n);
}

/* ---- entry points ---------------------------------------------------------------- */
/* name as an IPv4 or IPv6 literal (an IPv6 one may carry a %scope): fills the
 * dial's one address and returns 1, else 0 (a name for the resolver). */
static int dial_literal(ufrpc_dial_t *d, const char *name, uint16_t port)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&d->lit_addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&d->lit_addr;
    memset(&d->lit_ai, 0, sizeof d->lit_ai);
    if (uv_ip4_addr(name, port, a4) == 0) {
        d->lit_ai.ai_family = AF_INET;
        d->lit_ai.ai_addrlen = sizeof *a4;
    } else if (strchr(name, ':') != NULL && uv_ip6_addr(name, port, a6) == 0) {
        d->lit_ai.ai_family = AF_INET6;
        d->lit_ai.ai_addrlen = sizeof *a6;
    } else {
        return 0;
    }
    d->lit_ai.ai_socktype = SOCK_STREAM;
    d->lit_ai.ai_protocol = IPPROTO_TCP;
    d->lit_ai.ai_addr = (struct sockaddr *)&d->lit_addr;
    d->ai_next = &d->lit_ai;
    return 1;
}

int ufrpc_dial(uv_loop_t *loop, const struct ufrpc_dial_opts *o, ufrpc_dial_cb cb, void *data,
               ufrpc_dial_t **out)
{
    if (o->host == NULL || strlen(o->host) >= 256 || o->port == 0 || cb == NULL)
        return UFRPC_ERR_INVAL;
    ufrpc_dial_t *d = calloc(1, sizeof *d);
    if (d == NULL)
        return UFRPC_ERR_NOMEM;
    d->loop = loop;
    d->cb = cb;
    d->data = data;
    strcpy(d->host, o->host);
    d->port = o->port;
    d->keepalive_s = o->keepalive_s;
    d->nodelay = !o->no_nodelay;
    if (o->local_ip != NULL && o->local_ip[0] != '\0') {
        if (uv_ip4_addr(o->local_ip, 0, (struct sockaddr_in *)&d->local) != 0 &&
            uv_ip6_addr(o->local_ip, 0, (struct sockaddr_in6 *)&d->local) != 0) {
            free(d);
            return UFRPC_ERR_INVAL;
        }
        d->has_local = 1;
    }
    if (o->proxy_url != NULL && o->proxy_url[0] != '\0') {
        int rc = ufrpc_dial_proxy_url_parse(o->proxy_url, &d->proxy);
        if (rc < 0) {
            free(d);
            return rc;
        }
        if (d->proxy.socks5 && (strlen(d->host) > 255 || strlen(d->proxy.user) > 255 ||
                                strlen(d->proxy.pass) > 255)) {
            free(d);
            return UFRPC_ERR_INVAL;
        }
        d->has_proxy = 1;
    }
    const char *name = d->has_proxy ? d->proxy.host : d->host;
    uint16_t nport = d->has_proxy ? d->proxy.port : d->port;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->refs = 1; /* timer */
    if (dial_literal(d, name, nport)) {
        d->state = ST_CONNECT;
        uv_timer_start(&d->timer, on_timeout, o->timeout_ms ? o->timeout_ms : 10000, 0);
        d->starting = 1;
        try_next(d);
        d->starting = 0;
        if (out != NULL)
            *out = d;
        return 0;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    char port[8];
    snprintf(port, sizeof port, "%u", nport);
    d->gai.data = d;
    int rc = uv_getaddrinfo(loop, &d->gai, on_resolved, name, port, &hints);
    if (rc < 0) {
        d->state = ST_DONE;
        uv_close((uv_handle_t *)&d->timer, on_timer_closed);
        return ufrpc_net_uv_err(rc) == UFRPC_ERR_NET ? UFRPC_ERR_DNS : ufrpc_net_uv_err(rc);
    }
    d->refs++;
    d->state = ST_DNS;
    uv_timer_start(&d->timer, on_timeout, o->timeout_ms ? o->timeout_ms : 10000, 0);
    if (out != NULL)
        *out = d;
    return 0;
}

void ufrpc_dial_cancel(ufrpc_dial_t *d)
{
    if (d->state == ST_DONE)
        return;
    if (d->state == ST_DNS)
        uv_cancel((uv_req_t *)&d->gai);
    dial_finish(d, UFRPC_ERR_CANCELED);
}
