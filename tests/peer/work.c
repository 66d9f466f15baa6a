/* ufrpc-test-frps — proxies, the work-connection pool, splicing, and the tcp kind.
 * Test code, not product (see peer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"
#include "net/pump.h"
#include "net/xform.h"
#include "proto/auth.h"
#include "proto/error.h"

/* ---- helpers ------------------------------------------------------------------------ */
void peer_addr_of(struct ufrpc_stream *st, int peer, char *ip, size_t cap, uint16_t *port)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    ip[0] = 0;
    *port = 0;
    if (!ufrpc_stream_is_tcp(st))
        return;
    uv_tcp_t *h = ufrpc_tcp_handle(st);
    int rc = peer ? uv_tcp_getpeername(h, (struct sockaddr *)&ss, &len)
                  : uv_tcp_getsockname(h, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, cap);
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, cap);
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
}

struct proxy *peer_find_proxy(struct peer *p, const char *name)
{
    for (struct ctl *c = p->ctls; c != NULL; c = c->next)
        for (struct proxy *px = c->proxies; px != NULL; px = px->next)
            if (!px->closing && strcmp(px->name, name) == 0)
                return px;
    return NULL;
}

/* ---- splicing a user connection with a work connection ------------------------------- */
struct splice {
    char proxy[128];
    uint64_t id;
};

static void on_pump_done(ufrpc_pump_t *pu, int status, const struct ufrpc_pump_stats *st,
                         void *data)
{
    struct splice *sp = data;
    (void)pu;
    peer_event("user-conn-done", "proxy=%s id=%llu to_client=%llu from_client=%llu status=%s",
               sp->proxy, (unsigned long long)sp->id, (unsigned long long)st->a_to_b,
               (unsigned long long)st->b_to_a, ufrpc_errname(status));
    free(sp);
}

void peer_splice(struct proxy *px, struct ufrpc_stream *user, struct ufrpc_stream *work,
                 bool join)
{
    struct peer *p = px->c->p;
    struct splice *sp = calloc(1, sizeof *sp);
    if (sp == NULL) {
        ufrpc_stream_close(user, NULL);
        ufrpc_stream_close(work, NULL);
        return;
    }
    char src[64];
    uint16_t sport;
    peer_addr_of(user, 1, src, sizeof src, &sport);
    sp->id = ++p->user_conns;
    snprintf(sp->proxy, sizeof sp->proxy, "%s", px->name);
    peer_event("user-conn", "proxy=%s id=%llu src=%s:%u", px->name, (unsigned long long)sp->id,
               src, sport);
    /* a = user, b = work: a_to_b is what went to the client */
    ufrpc_pump_t *pu = NULL;
    if (ufrpc_pump_start(user, work, 0, on_pump_done, sp, &pu) < 0) {
        free(sp); /* both streams closed, no done callback */
        return;
    }
    if (join) {
        ufrpc_pump_end_at_eof(pu, user);
        ufrpc_pump_end_at_eof(pu, work);
    }
}

/* ---- handing a work connection to a proxy ------------------------------------------------ */
static void start_work(struct proxy *px, struct ufrpc_stream *work, const char *src,
                       uint16_t sport, const char *dst, uint16_t dport, peer_work_cb cb,
                       void *arg)
{
    struct peer *p = px->c->p;
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_START_WORK_CONN);
    ufrpc_msg_set_str(&m.u.start_work_conn.proxy_name, px->name);
    ufrpc_msg_set_str(&m.u.start_work_conn.src_addr, src);
    ufrpc_msg_set_str(&m.u.start_work_conn.dst_addr, dst);
    m.u.start_work_conn.src_port = sport;
    m.u.start_work_conn.dst_port = dport;
    int rc = peer_write_frame(work, &m);
    ufrpc_msg_free(&m);
    if (rc < 0) {
        ufrpc_stream_close(work, NULL);
        cb(px, NULL, arg);
        return;
    }
    const struct ufrpc_msg_new_proxy *np = &px->msg.u.new_proxy;
    struct ufrpc_stream *wrapped = NULL;
    rc = ufrpc_xform_wrap(work, np->use_encryption, p->key, np->use_compression, NULL, &wrapped);
    if (rc < 0) {
        peer_event("work-wrap-failed", "proxy=%s error=%s", px->name, ufrpc_errname(rc));
        cb(px, NULL, arg);
        return;
    }
    cb(px, wrapped, arg);
}

/* ---- work-connection pool ---------------------------------------------------------------- */
static void pool_remove(struct ctl *c, struct work *w)
{
    for (struct work **pp = &c->pool; *pp != NULL; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            c->npool--;
            return;
        }
}

static void on_pooled_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                           const uint8_t *data, size_t len)
{
    struct work *w = st->data;
    (void)buf;
    (void)data;
    (void)len;
    /* A pooled work connection must stay silent until StartWorkConn. */
    peer_event("work-conn-dropped", "run_id=%s status=%s", w->c->run_id,
               status < 0 ? ufrpc_errname(status) : "unexpected-data");
    pool_remove(w->c, w);
    ufrpc_stream_close(st, NULL);
    free(w);
}

static void on_waiter_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Unlinks nothing: the caller has taken wt off its control's list. */
static void waiter_free(struct waiter *wt)
{
    uv_close((uv_handle_t *)&wt->timer, on_waiter_timer_closed);
}

static void waiter_unlink(struct waiter *wt)
{
    for (struct waiter **pp = &wt->c->waiters; *pp != NULL; pp = &(*pp)->next)
        if (*pp == wt) {
            *pp = wt->next;
            return;
        }
}

void work_register(struct peer *p, struct ufrpc_stream *st, struct ufrpc_msg *m)
{
    const char *run_id = m->u.new_work_conn.run_id ? m->u.new_work_conn.run_id : "";
    struct ctl *c = peer_find_ctl(p, run_id);
    const char *err = NULL;
    char ebuf[160];
    if (c == NULL) {
        snprintf(ebuf, sizeof ebuf, "no client control found for run id [%s]", run_id);
        err = ebuf;
    } else if (p->o.auth_work_conns &&
               !ufrpc_auth_verify(p->o.token, m->u.new_work_conn.timestamp,
                                  m->u.new_work_conn.privilege_key)) {
        err = "token in NewWorkConn doesn't match token from configuration";
    } else if (c->npool >= c->pool_count + 10 && c->waiters == NULL) {
        err = "work connection pool is full, discarding";
    }
    if (err != NULL) {
        peer_event("work-conn-refused", "run_id=%s error=\"%s\"", run_id, err);
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_START_WORK_CONN);
        ufrpc_msg_set_str(&r.u.start_work_conn.error, err);
        peer_refuse(st, &r);
        ufrpc_msg_free(&r);
        return;
    }
    p->work_conns++;
    if (c->waiters != NULL) {
        struct waiter *wt = c->waiters;
        c->waiters = wt->next;
        ctl_req_work_conn(c);
        start_work(wt->px, st, wt->src, wt->sport, wt->dst, wt->dport, wt->cb, wt->arg);
        waiter_free(wt);
        return;
    }
    struct work *w = calloc(1, sizeof *w);
    if (w == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    w->c = c;
    w->st = st;
    st->data = w;
    w->next = c->pool;
    c->pool = w;
    c->npool++;
    peer_event("work-conn", "run_id=%s pooled=%d", c->run_id, c->npool);
    if (ufrpc_stream_read_start(st, on_pooled_read) < 0) {
        pool_remove(c, w);
        ufrpc_stream_close(st, NULL);
        free(w);
    }
}

static void on_waiter_timeout(uv_timer_t *t)
{
    struct waiter *wt = t->data;
    waiter_unlink(wt);
    peer_event("user-conn-timeout", "proxy=%s", wt->px->name);
    wt->cb(wt->px, NULL, wt->arg);
    waiter_free(wt);
}

int peer_get_work(struct proxy *px, const char *src, uint16_t sport, const char *dst,
                  uint16_t dport, peer_work_cb cb, void *arg)
{
    struct ctl *c = px->c;
    if (px->closing || c->closing)
        return UFRPC_ERR_CLOSED;
    if (src == NULL)
        src = "";
    if (dst == NULL)
        dst = "";
    if (c->pool != NULL) {
        struct work *w = c->pool;
        c->pool = w->next;
        c->npool--;
        struct ufrpc_stream *st = w->st;
        free(w);
        ctl_req_work_conn(c);
        start_work(px, st, src, sport, dst, dport, cb, arg);
        return 0;
    }
    struct waiter *wt = calloc(1, sizeof *wt);
    if (wt == NULL)
        return UFRPC_ERR_NOMEM;
    wt->c = c;
    wt->px = px;
    wt->cb = cb;
    wt->arg = arg;
    snprintf(wt->src, sizeof wt->src, "%s", src);
    snprintf(wt->dst, sizeof wt->dst, "%s", dst);
    wt->sport = sport;
    wt->dport = dport;
    uv_timer_init(c->p->loop, &wt->timer);
    wt->timer.data = wt;
    uv_timer_start(&wt->timer, on_waiter_timeout, (uint64_t)c->p->o.user_conn_timeout_ms, 0);
    /* append: first come, first served */
    struct waiter **pp = &c->waiters;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = wt;
    ctl_req_work_conn(c);
    return 0;
}

/* ---- proxies ------------------------------------------------------------------------------ */
void peer_proxy_free(struct proxy *px)
{
    ufrpc_msg_free(&px->msg);
    free(px->name);
    free(px);
}

/* Fails px's waiters, then lets its kind tear it down. px is already unlinked. */
static void proxy_close(struct proxy *px)
{
    struct ctl *c = px->c;
    px->closing = 1;
    for (struct waiter **pp = &c->waiters; *pp != NULL;) {
        struct waiter *wt = *pp;
        if (wt->px == px) {
            *pp = wt->next;
            wt->cb(px, NULL, wt->arg);
            waiter_free(wt);
        } else {
            pp = &wt->next;
        }
    }
    peer_event("proxy-closed", "name=%s", px->name);
    px->kind->close(px);
}

static const struct proxy_kind *kind_of(const char *type)
{
    for (size_t i = 0; peer_kinds[i] != NULL; i++)
        if (strcmp(peer_kinds[i]->type, type) == 0)
            return peer_kinds[i];
    return NULL;
}

void work_new_proxy(struct ctl *c, struct ufrpc_msg *m)
{
    struct peer *p = c->p;
    struct ufrpc_msg_new_proxy *np = &m->u.new_proxy;
    const char *name = np->proxy_name ? np->proxy_name : "";
    const char *type = np->proxy_type && *np->proxy_type ? np->proxy_type : "tcp";
    const struct proxy_kind *kind = kind_of(type);
    char err[256] = "", ra[128] = "";
    struct proxy *px = NULL;
    if (kind == NULL) {
        snprintf(err, sizeof err, "proxy type [%s] is not supported by the test peer", type);
    } else if (peer_find_proxy(p, name) != NULL) {
        snprintf(err, sizeof err, "proxy [%s] already exists", name);
    } else if ((px = calloc(1, sizeof *px)) == NULL || (px->name = strdup(name)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        free(px);
        px = NULL;
    } else {
        px->c = c;
        px->kind = kind;
        px->msg = *m; /* take the message's contents */
        memset(&m->u, 0, sizeof m->u);
        np = &px->msg.u.new_proxy;
        if (kind->open(px, ra, sizeof ra, err, sizeof err) < 0) {
            if (!err[0])
                snprintf(err, sizeof err, "proxy [%s] could not be started", name);
            /* give the contents back: name points into them and is used below */
            *m = px->msg;
            memset(&px->msg.u, 0, sizeof px->msg.u);
            peer_proxy_free(px);
            px = NULL;
        } else {
            px->next = c->proxies;
            c->proxies = px;
        }
    }
    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_NEW_PROXY_RESP);
    ufrpc_msg_set_str(&r.u.new_proxy_resp.proxy_name, name);
    if (px != NULL) {
        ufrpc_msg_set_str(&r.u.new_proxy_resp.remote_addr, ra);
        /* remote_port= keeps the tcp tests' parsing: the port of ra, if any */
        const char *colon = strrchr(ra, ':');
        /* bandwidth_limit.. group_key: as sent (empty when absent), for tests/perproxy */
        peer_event("proxy-new", "run_id=%s name=%s type=%s remote_port=%s remote_addr=%s "
                   "encryption=%d compression=%d bandwidth_limit=%s bandwidth_limit_mode=%s "
                   "group=%s group_key=%s", c->run_id, name, type,
                   colon != NULL ? colon + 1 : "0", ra, np->use_encryption,
                   np->use_compression, np->bandwidth_limit ? np->bandwidth_limit : "",
                   np->bandwidth_limit_mode ? np->bandwidth_limit_mode : "",
                   np->group ? np->group : "", np->group_key ? np->group_key : "");
    } else {
        ufrpc_msg_set_str(&r.u.new_proxy_resp.error, err);
        peer_event("proxy-refused", "run_id=%s name=%s error=\"%s\"", c->run_id, name, err);
    }
    ctl_send(c, &r);
    ufrpc_msg_free(&r);
}

void work_close_proxy(struct ctl *c, const char *name)
{
    for (struct proxy **pp = &c->proxies; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name ? name : "") == 0) {
            struct proxy *px = *pp;
            *pp = px->next;
            proxy_close(px);
            return;
        }
}

void work_ctl_closed(struct ctl *c)
{
    while (c->proxies != NULL) {
        struct proxy *px = c->proxies;
        c->proxies = px->next;
        proxy_close(px);
    }
    while (c->pool != NULL) {
        struct work *w = c->pool;
        c->pool = w->next;
        ufrpc_stream_close(w->st, NULL);
        free(w);
    }
    c->npool = 0;
    /* waiters of proxies were failed by proxy_close; any left belong to no proxy */
    while (c->waiters != NULL) {
        struct waiter *wt = c->waiters;
        c->waiters = wt->next;
        wt->cb(wt->px, NULL, wt->arg);
        waiter_free(wt);
    }
}

/* ---- the tcp kind: a listener on remote_port, each user connection spliced ---------------- */
struct tcp_proxy {
    ufrpc_tcp_listener_t *l;
    uint16_t port;
};

static void on_tcp_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct ufrpc_stream *user = arg;
    if (work == NULL) {
        ufrpc_stream_close(user, NULL);
        return;
    }
    peer_splice(px, user, work, false);
}

static void on_user_conn(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *user)
{
    struct proxy *px = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    char src[64], dst[64];
    uint16_t sport, dport;
    peer_addr_of(user, 1, src, sizeof src, &sport);
    peer_addr_of(user, 0, dst, sizeof dst, &dport);
    if (peer_get_work(px, src, sport, dst, dport, on_tcp_work, user) < 0)
        ufrpc_stream_close(user, NULL);
}

static int tcp_open(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    struct peer *p = px->c->p;
    int64_t port = px->msg.u.new_proxy.remote_port;
    if (port < 0 || port > 65535) {
        snprintf(err, err_cap, "invalid remote port %lld", (long long)port);
        return UFRPC_ERR_INVAL;
    }
    struct tcp_proxy *t = calloc(1, sizeof *t);
    if (t == NULL)
        return UFRPC_ERR_NOMEM;
    int rc = 0;
    t->l = ufrpc_tcp_listen(p->loop, p->o.proxy_ip, (uint16_t)port, on_user_conn, px, &rc);
    if (t->l == NULL) {
        snprintf(err, err_cap, "port unavailable: listen tcp %s:%lld: %s", p->o.proxy_ip,
                 (long long)port, ufrpc_strerror(rc));
        free(t);
        return rc < 0 ? rc : UFRPC_ERR_INVAL;
    }
    t->port = ufrpc_tcp_listener_port(t->l);
    px->impl = t;
    snprintf(ra, ra_cap, ":%u", t->port);
    return 0;
}

static void on_tcp_listener_closed(void *data)
{
    struct proxy *px = data;
    free(px->impl);
    peer_proxy_free(px);
}

static void tcp_close(struct proxy *px)
{
    struct tcp_proxy *t = px->impl;
    ufrpc_tcp_listener_close(t->l, on_tcp_listener_closed);
}

const struct proxy_kind peer_kind_tcp = {"tcp", tcp_open, tcp_close};
