/* ufrpc — socks5 plugin (RFC 1928 CONNECT; RFC 1929 username/password when
 * configured, like frpc with go-socks5) and unix_domain_socket plugin.
 *
 * socks5: the whole negotiation happens in a fixed 600-byte buffer (the largest
 * message, the RFC 1929 request, is 513 bytes); a connection that sends more
 * before the reply, a bad version, no acceptable method, wrong credentials, a
 * command other than CONNECT or an unknown address type is answered as the RFC
 * says (where it says so) and closed with a logged reason. Negotiation is
 * bounded in time by the plugin's idle timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/plugins/plugin_internal.h"
#include "net/tcp.h"
#include "proto/error.h"
#include "proto/socks5.h"

enum { S_GREET, S_AUTH, S_REQ, S_DIAL, S_WRITING_FAIL };

struct s5 {
    struct pconn base;
    struct ufrpc_stream *work;
    struct pconnect *pc;
    uv_timer_t timer;
    int state;
    bool dead; /* work closed or handed over; waiting for timer close */
    size_t len;
    uint8_t buf[600];
    char host[256];
    uint16_t port;
    /* bytes of the delivery that carried the request, after it (optimistic data
     * beyond buf); sent to the target first */
    ufrpc_rbuf_t *rest_buf;
    const uint8_t *rest;
    size_t rest_len;
};

static bool need_auth(const ufrpc_plugin_t *p)
{
    const struct ufrpc_plugin_config *c = p->cfg;
    return (c->username != NULL && c->username[0] != '\0') ||
           (c->password != NULL && c->password[0] != '\0');
}

static void s5_timer_closed(uv_handle_t *h)
{
    struct s5 *c = h->data;
    ufrpc_rbuf_unref(c->rest_buf);
    ufrpc_pl_pconn_done(&c->base);
    free(c);
}

/* Ends c's own life once work has been handed over (tunnel). */
static void s5_release(struct s5 *c)
{
    if (c->dead)
        return;
    c->dead = true;
    uv_close((uv_handle_t *)&c->timer, s5_timer_closed);
}

/* The work stream's write callbacks have all run before this. */
static void s5_work_closed(struct ufrpc_stream *s)
{
    struct s5 *c = s->data;
    uv_close((uv_handle_t *)&c->timer, s5_timer_closed);
}

static void s5_close(struct s5 *c, int err, const char *reason)
{
    if (c->dead)
        return;
    c->dead = true;
    if (reason != NULL)
        ufrpc_pl_pconn_fail(&c->base, err, "%s", reason);
    if (c->pc != NULL) {
        struct pconnect *pc = c->pc;
        c->pc = NULL; /* on_target sees the cancel */
        ufrpc_pl_pconnect_cancel(pc);
    }
    ufrpc_stream_close(c->work, s5_work_closed);
}

/* Reply then close: the reply is copied; close happens when it was written. */
static void on_fail_written(void *arg, int status)
{
    struct s5 *c = arg;
    (void)status;
    s5_close(c, 0, NULL);
}

static void s5_fail_reply(struct s5 *c, const uint8_t *msg, size_t n, int err, const char *reason)
{
    ufrpc_pl_pconn_fail(&c->base, err, "%s", reason);
    c->state = S_WRITING_FAIL;
    ufrpc_stream_read_stop(c->work);
    if (ufrpc_pl_write(c->work, NULL, msg, n, on_fail_written, c) < 0)
        s5_close(c, 0, NULL);
}

static void s5_reply_code(struct s5 *c, uint8_t rep, int err, const char *reason)
{
    const uint8_t r[10] = {5, rep, 0, 1, 0, 0, 0, 0, 0, 0};
    s5_fail_reply(c, r, sizeof r, err, reason);
}

static void on_target(void *arg, int status, struct ufrpc_stream *s)
{
    struct s5 *c = arg;
    bool canceled = c->pc == NULL;
    c->pc = NULL;
    if (canceled || c->dead) {
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        return;
    }
    if (status < 0) {
        char why[400];
        snprintf(why, sizeof why, "connect to %s:%u failed: %s", c->host, c->port,
                 ufrpc_strerror(status));
        uint8_t rep = status == UFRPC_ERR_CONNECT_REFUSED ? 5 : status == UFRPC_ERR_DNS ? 4 : 1;
        s5_reply_code(c, rep, status, why);
        return;
    }
    uint8_t r[22] = {5, 0, 0, 1};
    size_t n = 10;
    if (ufrpc_stream_is_tcp(s)) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getsockname(ufrpc_tcp_handle(s), (struct sockaddr *)&ss, &len) == 0) {
            if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
                memcpy(r + 4, &a->sin_addr, 4);
                memcpy(r + 8, &a->sin_port, 2);
            } else if (ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
                r[3] = 4;
                memcpy(r + 4, &a->sin6_addr, 16);
                memcpy(r + 20, &a->sin6_port, 2);
                n = 22;
            }
        }
    }
    int rc = ufrpc_pl_write(c->work, NULL, r, n, NULL, NULL);
    if (rc < 0) {
        ufrpc_stream_close(s, NULL);
        s5_close(c, rc, "cannot write reply");
        return;
    }
    /* bytes the user sent after the request (optimistic data) go first */
    struct ufrpc_stream *work = c->work;
    ufrpc_pl_ptunnel(&c->base, work, s, c->buf, c->len, c->rest_buf, c->rest, c->rest_len, false);
    s5_release(c);
}

/* Parses what is buffered; returns bytes consumed by a complete message, 0 when
 * more is needed. May end the connection (c->dead or state change). */
static size_t s5_step(struct s5 *c)
{
    const uint8_t *b = c->buf;
    size_t n = c->len;
    ufrpc_plugin_t *p = c->base.plugin;
    char why[320];
    long r;
    switch (c->state) {
    case S_GREET: {
        const uint8_t *methods = NULL;
        size_t nmethods = 0;
        r = ufrpc_socks5_parse_greeting(b, n, &methods, &nmethods);
        if (r == UFRPC_ERR_AGAIN)
            return 0;
        if (r < 0) {
            snprintf(why, sizeof why, "bad greeting (version %u)", b[0]);
            s5_close(c, UFRPC_ERR_PROXY_PROTOCOL, why);
            return 0;
        }
        uint8_t want = need_auth(p) ? 2 : 0;
        bool offered = memchr(methods, want, nmethods) != NULL;
        if (!offered) {
            const uint8_t rp[2] = {5, 0xff};
            s5_fail_reply(c, rp, 2, UFRPC_ERR_PROXY_PROTOCOL,
                          want ? "client offers no username/password method"
                               : "client offers no 'no authentication' method");
            return 0;
        }
        const uint8_t rp[2] = {5, want};
        int rc = ufrpc_pl_write(c->work, NULL, rp, 2, NULL, NULL);
        if (rc < 0) {
            s5_close(c, rc, "cannot write method reply");
            return 0;
        }
        c->state = want ? S_AUTH : S_REQ;
        return (size_t)r;
    }
    case S_AUTH: {
        const uint8_t *user = NULL, *pass = NULL;
        size_t ulen = 0, plen = 0;
        r = ufrpc_socks5_parse_userpass(b, n, &user, &ulen, &pass, &plen);
        if (r == UFRPC_ERR_AGAIN)
            return 0;
        if (r < 0) {
            snprintf(why, sizeof why, "bad auth version %u", b[0]);
            s5_close(c, UFRPC_ERR_PROXY_PROTOCOL, why);
            return 0;
        }
        const char *u = p->cfg->username != NULL ? p->cfg->username : "";
        const char *pw = p->cfg->password != NULL ? p->cfg->password : "";
        bool ok = ulen == strlen(u) && plen == strlen(pw) && memcmp(user, u, ulen) == 0 &&
                  memcmp(pass, pw, plen) == 0;
        if (!ok) {
            const uint8_t rp[2] = {1, 1};
            s5_fail_reply(c, rp, 2, UFRPC_ERR_PROXY_PROTOCOL, "wrong username or password");
            return 0;
        }
        const uint8_t rp[2] = {1, 0};
        int rc = ufrpc_pl_write(c->work, NULL, rp, 2, NULL, NULL);
        if (rc < 0) {
            s5_close(c, rc, "cannot write auth reply");
            return 0;
        }
        c->state = S_REQ;
        return (size_t)r;
    }
    case S_REQ: {
        struct ufrpc_socks5_addr_msg m;
        r = ufrpc_socks5_parse_addr_msg(b, n, &m);
        if (r == UFRPC_ERR_AGAIN)
            return 0;
        if (r == UFRPC_ERR_UNSUPPORTED) {
            snprintf(why, sizeof why, "unsupported address type %u", b[3]);
            s5_reply_code(c, 8, UFRPC_ERR_PROXY_PROTOCOL, why);
            return 0;
        }
        if (r < 0) {
            snprintf(why, sizeof why, "bad request version %u", b[0]);
            s5_close(c, UFRPC_ERR_PROXY_PROTOCOL, why);
            return 0;
        }
        if (m.code != 1) {
            snprintf(why, sizeof why, "unsupported command %u (only CONNECT)", m.code);
            s5_reply_code(c, 7, UFRPC_ERR_UNSUPPORTED, why);
            return 0;
        }
        if (m.atyp == UFRPC_SOCKS5_ATYP_DOMAIN &&
            (m.name_len == 0 || strlen(m.host) != m.name_len)) {
            s5_reply_code(c, 1, UFRPC_ERR_PROXY_PROTOCOL, "bad domain name");
            return 0;
        }
        snprintf(c->host, sizeof c->host, "%s", m.host);
        c->port = m.port;
        if (c->port == 0) {
            s5_reply_code(c, 1, UFRPC_ERR_PROXY_PROTOCOL, "port 0");
            return 0;
        }
        c->state = S_DIAL;
        int err;
        c->pc = ufrpc_pl_pconnect_tcp(p, c->host, c->port, false, on_target, c, &err);
        if (c->pc == NULL) {
            s5_reply_code(c, 1, err, "cannot start connect");
            return 0;
        }
        uv_timer_stop(&c->timer); /* the dial has its own timeout */
        return (size_t)r;
    }
    default: return 0;
    }
}

static void s5_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *rb, const uint8_t *d,
                    size_t n)
{
    struct s5 *c = s->data;
    if (status < 0) {
        s5_close(c, status, status == UFRPC_ERR_EOF ? NULL : "read failed");
        return;
    }
    while (n > 0) {
        size_t k = n < sizeof c->buf - c->len ? n : sizeof c->buf - c->len;
        if (k == 0) {
            s5_close(c, UFRPC_ERR_LIMIT, "negotiation message too long");
            return;
        }
        memcpy(c->buf + c->len, d, k);
        c->len += k;
        d += k;
        n -= k;
        while (!c->dead && c->len > 0 && c->state != S_DIAL && c->state != S_WRITING_FAIL) {
            size_t used = s5_step(c);
            if (used == 0)
                break;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
        }
        if (c->dead)
            return;
        if (c->state == S_DIAL && n > 0) {
            ufrpc_rbuf_ref(rb);
            c->rest_buf = rb;
            c->rest = d;
            c->rest_len = n;
        }
        if (c->state == S_DIAL || c->state == S_WRITING_FAIL) {
            ufrpc_stream_read_stop(c->work);
            return;
        }
    }
}

static void s5_timeout(uv_timer_t *t)
{
    struct s5 *c = t->data;
    s5_close(c, UFRPC_ERR_TIMEOUT, "negotiation timed out");
}

static void s5_abort(struct pconn *b)
{
    s5_close((struct s5 *)b, 0, NULL);
}

static int s5_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                     const uint8_t *pp, size_t pp_len)
{
    (void)src;
    (void)pp;
    (void)pp_len;
    struct s5 *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    c->work = work;
    work->data = c;
    uv_timer_init(p->loop, &c->timer);
    c->timer.data = c;
    ufrpc_pl_pconn_add(p, &c->base, s5_abort);
    uv_timer_start(&c->timer, s5_timeout, p->idle_timeout_ms, 0);
    int rc = ufrpc_stream_read_start(work, s5_read);
    if (rc < 0)
        s5_close(c, rc, "cannot read");
    return 0;
}

static int noop_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    (void)p;
    (void)reason;
    (void)cap;
    return 0;
}

static void noop_destroy(ufrpc_plugin_t *p)
{
    (void)p;
}

const struct plugin_type ufrpc_pl_type_socks5 = {
    .type = UFRPC_PLUGIN_SOCKS5,
    .create = noop_create,
    .handle = s5_handle,
    .destroy = noop_destroy,
};

/* ---- unix_domain_socket ------------------------------------------------------- */

struct uds {
    struct pconn base;
    struct ufrpc_stream *work;
    struct pconnect *pc;
    size_t pp_len;
    uint8_t pp[]; /* PROXY protocol header */
};

static void uds_connected(void *arg, int status, struct ufrpc_stream *s)
{
    struct uds *c = arg;
    c->pc = NULL;
    if (status < 0) {
        if (status != UFRPC_ERR_CANCELED)
            ufrpc_pl_pconn_fail(&c->base, status, "dial unix socket %s: %s",
                                c->base.plugin->cfg->unix_path, ufrpc_strerror(status));
        ufrpc_stream_close(c->work, NULL);
    } else {
        ufrpc_pl_ptunnel(&c->base, c->work, s, c->pp, c->pp_len, NULL, NULL, 0, true);
    }
    ufrpc_pl_pconn_done(&c->base);
    free(c);
}

static void uds_abort(struct pconn *b)
{
    struct uds *c = (struct uds *)b;
    if (c->pc != NULL)
        ufrpc_pl_pconnect_cancel(c->pc);
}

static int uds_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                      const uint8_t *pp, size_t pp_len)
{
    (void)src;
    struct uds *c = calloc(1, sizeof *c + pp_len);
    if (c == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    c->work = work;
    if (pp_len > 0)
        memcpy(c->pp, pp, pp_len);
    c->pp_len = pp_len;
    ufrpc_pl_pconn_add(p, &c->base, uds_abort);
    int err;
    c->pc = ufrpc_pl_pconnect_unix(p, p->cfg->unix_path, uds_connected, c, &err);
    if (c->pc == NULL) {
        ufrpc_pl_pconn_fail(&c->base, err, "dial unix socket %s: %s", p->cfg->unix_path,
                            ufrpc_strerror(err));
        ufrpc_stream_close(work, NULL);
        ufrpc_pl_pconn_done(&c->base);
        free(c);
    }
    return 0;
}

static int uds_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    const char *path = p->cfg->unix_path;
    if (path == NULL || path[0] == '\0') {
        snprintf(reason, cap, "plugin unix_domain_socket: unixPath is required");
        return UFRPC_ERR_INVAL;
    }
    return 0;
}

const struct plugin_type ufrpc_pl_type_unix_domain_socket = {
    .type = UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET,
    .create = uds_create,
    .handle = uds_handle,
    .destroy = noop_destroy,
};
