/* ufrpc — KCP streams over uv_udp (see net/kcp.h). */
#include "net/kcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/xform_crypt.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/kcp_fec.h"

#define FEC_DATA 10u
#define FEC_PARITY 3u
#define DEAD_IDLE_MS 30000u
#define SOCK_BUF (4 * 1024 * 1024) /* frp's SetReadBuffer/SetWriteBuffer */
/* datagrams waiting in uv_udp_send once the kernel's send buffer was full (per
 * socket); beyond this a datagram is dropped and KCP resends it */
#define MAX_ASYNC_SENDS 1024u

/* a datagram the kernel did not take at once */
struct out_pkt {
    uv_udp_send_t req;
    unsigned *pending; /* the socket owner's count */
    uint8_t data[];
};

struct ks {
    struct ufrpc_stream s;
    uv_udp_t own;           /* client: the stream's socket */
    uv_udp_t *udp;          /* own, or the listener's (NULL once detached) */
    struct ufrpc_kcp_listener *l;
    struct ks *lnext;       /* listener's session list */
    struct sockaddr_storage peer;
    bool connected;         /* client: connected socket, send without address */
    bool p2p;               /* over an adopted socket: ICMP refusals are not fatal */
    uv_timer_t tick;        /* KCP's next deadline */
    uv_timer_t defer;       /* write callbacks and reads after read_start */
    ufrpc_kcp_t *kcp;
    ufrpc_kcp_fec_enc_t *enc;
    ufrpc_kcp_fec_dec_t *dec;
    struct ufrpc_stream_write *wq, *wq_tail;     /* waiting for KCP's window */
    struct ufrpc_stream_write *done, *done_tail; /* taken, callback not run */
    size_t wq_bytes;
    ufrpc_rbuf_pool_t *pool;
    int reading;
    int err;          /* sticky error for the reader */
    int err_sent;
    int shut;         /* shutdown requested, callback not yet run */
    int handles;
    uint64_t send_drops;
    unsigned pending;       /* client: async sends on own */
    uint32_t conv;
    uint8_t rbuf[2048];     /* client: one datagram */
};

struct ufrpc_kcp_listener {
    uv_udp_t udp;
    uv_loop_t *loop;
    ufrpc_kcp_accept_cb cb;
    void *data;
    struct ks *sessions;
    unsigned pending; /* async sends on udp */
    void (*close_cb)(void *data);
    uint8_t rbuf[2048];
};

static const struct ufrpc_stream_vt kcp_vt;
static void schedule(struct ks *k);
static void session_error(struct ks *k, int err);
static void on_defer(uv_timer_t *t);

static uint64_t now_of(struct ks *k)
{
    return uv_now(k->s.loop);
}

/* ---- output: KCP -> FEC -> UDP -------------------------------------------------- */

static void on_sent(uv_udp_send_t *r, int status)
{
    (void)status;
    struct out_pkt *o = r->data;
    (*o->pending)--;
    free(o);
}

/* Sends one datagram: at once when the kernel takes it, else (or while earlier
 * ones wait, to keep their order) through uv_udp_send, up to MAX_ASYNC_SENDS. A
 * full send buffer is common: a flush sends up to a window of segments at once. */
static void send_pkt(struct ks *k, const uint8_t *p, size_t len)
{
    if (!k->udp)
        return;
    unsigned *pending = k->l ? &k->l->pending : &k->pending;
    const struct sockaddr *to = k->connected ? NULL : (const struct sockaddr *)&k->peer;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
    int rc = UV_EAGAIN;
    if (*pending == 0)
        rc = uv_udp_try_send(k->udp, &b, 1, to);
    if (rc >= 0)
        return;
    if (rc == UV_ECONNREFUSED && !k->p2p) {
        session_error(k, UFRPC_ERR_KCP_REFUSED);
        return;
    }
    if (rc == UV_ECONNREFUSED) { /* p2p: see on_client_recv; KCP resends */
        k->send_drops++;
        return;
    }
    if (rc != UV_EAGAIN || *pending >= MAX_ASYNC_SENDS) {
        k->send_drops++; /* KCP resends */
        return;
    }
    struct out_pkt *o = malloc(sizeof *o + len);
    if (!o) {
        k->send_drops++;
        return;
    }
    memcpy(o->data, p, len);
    o->pending = pending;
    o->req.data = o;
    b = uv_buf_init((char *)o->data, (unsigned)len);
    if (uv_udp_send(&o->req, k->udp, &b, 1, to, on_sent) < 0) {
        free(o);
        k->send_drops++;
        return;
    }
    (*pending)++;
}

static void on_kcp_output(uint8_t *pkt, size_t len, void *ud)
{
    struct ks *k = ud;
    const uint8_t *par[FEC_PARITY];
    size_t plen[FEC_PARITY];
    int np = ufrpc_kcp_fec_encode(k->enc, pkt, len, now_of(k), par, plen);
    send_pkt(k, pkt, len);
    for (int i = 0; i < np; i++)
        send_pkt(k, par[i], plen[i]);
}

/* ---- writes ------------------------------------------------------------------- */

static void start_defer(struct ks *k)
{
    if (!k->s.closing)
        uv_timer_start(&k->defer, on_defer, 0, 0);
}

/* Feeds queued writes into KCP as far as its window allows. */
static void push_writes(struct ks *k)
{
    bool any = false;
    while (k->wq && !k->err) {
        struct ufrpc_stream_write *r = k->wq;
        while (r->idx < r->nbufs) {
            const uv_buf_t *b = &r->bufs[r->idx];
            size_t acc = 0;
            int rc = ufrpc_kcp_send(k->kcp, (const uint8_t *)b->base + r->off, b->len - r->off,
                                    &acc);
            r->off += acc;
            k->wq_bytes -= acc;
            any = any || acc > 0;
            if (rc < 0) {
                session_error(k, rc);
                return;
            }
            if (r->off < b->len)
                break;
            r->idx++;
            r->off = 0;
        }
        if (r->idx < r->nbufs)
            break;
        k->wq = r->next;
        if (!k->wq)
            k->wq_tail = NULL;
        r->next = NULL;
        if (k->done_tail)
            k->done_tail->next = r;
        else
            k->done = r;
        k->done_tail = r;
        start_defer(k);
    }
    /* kcp-go's write delay: a full window goes out now, the rest at the next tick */
    if (any && !ufrpc_kcp_writable(k->kcp))
        ufrpc_kcp_flush(k->kcp, now_of(k));
}

/* ---- reads -------------------------------------------------------------------- */

static void deliver(struct ks *k)
{
    while (k->reading && !k->s.closing && ufrpc_kcp_readable(k->kcp) > 0) {
        if (!k->pool && !(k->pool = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, UFRPC_READ_POOL_FREE))) {
            session_error(k, UFRPC_ERR_NOMEM);
            break;
        }
        ufrpc_rbuf_t *b = ufrpc_rbuf_pool_get(k->pool);
        if (!b) {
            session_error(k, UFRPC_ERR_NOMEM);
            break;
        }
        size_t n = ufrpc_kcp_recv(k->kcp, b->base, b->cap);
        k->s.read_cb(&k->s, 0, b, b->base, n);
        ufrpc_rbuf_unref(b);
    }
    if (k->err && !k->err_sent && k->reading && !k->s.closing &&
        ufrpc_kcp_readable(k->kcp) == 0) {
        k->err_sent = 1;
        k->reading = 0;
        k->s.read_cb(&k->s, k->err, NULL, NULL, 0);
    }
}

static void session_error(struct ks *k, int err)
{
    if (!k->err)
        k->err = err;
    start_defer(k);
}

static void check_shutdown(struct ks *k)
{
    if (k->shut && !k->s.closing &&
        ((!k->wq && ufrpc_kcp_waitsnd(k->kcp) == 0) || k->err)) {
        k->shut = 0;
        k->s.shutdown_cb(&k->s, k->err && (k->wq || ufrpc_kcp_waitsnd(k->kcp)) ? k->err : 0);
    }
}

static void on_defer(uv_timer_t *t)
{
    struct ks *k = t->data;
    while (k->done && !k->s.closing) {
        struct ufrpc_stream_write *r = k->done;
        k->done = r->next;
        if (!k->done)
            k->done_tail = NULL;
        r->next = NULL;
        r->cb(r, 0);
    }
    if (k->s.closing)
        return;
    deliver(k);
    if (k->s.closing)
        return;
    if (k->err) { /* fail writes still waiting */
        while (k->wq && !k->s.closing) {
            struct ufrpc_stream_write *r = k->wq;
            k->wq = r->next;
            if (!k->wq)
                k->wq_tail = NULL;
            k->wq_bytes -= r->len; /* approximate: nothing more will be taken */
            r->next = NULL;
            r->cb(r, k->err);
        }
        k->wq_bytes = 0;
    }
    check_shutdown(k);
    if (!k->s.closing)
        schedule(k);
}

/* ---- the clock ------------------------------------------------------------------ */

static void on_tick(uv_timer_t *t)
{
    struct ks *k = t->data;
    uint64_t now = now_of(k);
    ufrpc_kcp_update(k->kcp, now);
    push_writes(k);
    if (ufrpc_kcp_dead(k->kcp, now, DEAD_IDLE_MS))
        session_error(k, UFRPC_ERR_KCP_DEAD_LINK);
    check_shutdown(k);
    if (!k->s.closing)
        schedule(k);
}

static void schedule(struct ks *k)
{
    if (k->s.closing)
        return;
    uint64_t now = now_of(k);
    uint64_t next = ufrpc_kcp_next_ms(k->kcp, now);
    if (next == UINT64_MAX) {
        uv_timer_stop(&k->tick);
        return;
    }
    uv_timer_start(&k->tick, on_tick, next > now ? next - now : 0, 0);
}

/* ---- input ---------------------------------------------------------------------- */

static void session_input(struct ks *k, const uint8_t *p, size_t len)
{
    struct ufrpc_kcp_fec_out o;
    uint64_t now = now_of(k);
    ufrpc_kcp_fec_input(k->dec, p, len, &o); /* errors: the packet is dropped */
    if (o.kcp)
        ufrpc_kcp_input(k->kcp, o.kcp, o.kcp_len, true, now);
    for (unsigned i = 0; i < o.nrecovered; i++)
        ufrpc_kcp_input(k->kcp, o.recovered[i], o.recovered_len[i], false, now);
    push_writes(k);
    deliver(k);
    if (!k->s.closing) {
        check_shutdown(k);
        schedule(k);
    }
}

/* ---- stream vtable ---------------------------------------------------------------- */

static int ks_read_start(struct ufrpc_stream *s)
{
    struct ks *k = (struct ks *)s;
    if (k->err_sent)
        return UFRPC_ERR_STATE;
    k->reading = 1;
    start_defer(k);
    return 0;
}

static int ks_read_stop(struct ufrpc_stream *s)
{
    ((struct ks *)s)->reading = 0;
    return 0;
}

static int ks_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct ks *k = (struct ks *)s;
    if (k->err)
        return k->err;
    if (k->shut || s->shutdown_cb)
        return UFRPC_ERR_STATE;
    req->next = NULL;
    if (k->wq_tail)
        k->wq_tail->next = req;
    else
        k->wq = req;
    k->wq_tail = req;
    k->wq_bytes += req->len;
    if (req->len == 0) {
        push_writes(k);
        return 0;
    }
    push_writes(k);
    schedule(k);
    return 0;
}

static size_t ks_queued(const struct ufrpc_stream *s)
{
    return ((const struct ks *)s)->wq_bytes;
}

static int ks_shutdown(struct ufrpc_stream *s)
{
    struct ks *k = (struct ks *)s;
    k->shut = 1;
    start_defer(k);
    return 0;
}

static void detach(struct ks *k)
{
    if (!k->l)
        return;
    for (struct ks **p = &k->l->sessions; *p; p = &(*p)->lnext)
        if (*p == k) {
            *p = k->lnext;
            break;
        }
    k->l = NULL;
    k->udp = NULL;
}

static void on_closed(uv_handle_t *h)
{
    struct ks *k = h->data;
    if (--k->handles > 0)
        return;
    while (k->done) {
        struct ufrpc_stream_write *r = k->done;
        k->done = r->next;
        r->cb(r, 0);
    }
    while (k->wq) {
        struct ufrpc_stream_write *r = k->wq;
        k->wq = r->next;
        r->cb(r, k->err ? k->err : UFRPC_ERR_CANCELED);
    }
    if (k->shut)
        k->s.shutdown_cb(&k->s, UFRPC_ERR_CANCELED);
    if (k->s.close_cb)
        k->s.close_cb(&k->s);
    ufrpc_kcp_free(k->kcp);
    ufrpc_kcp_fec_enc_free(k->enc);
    ufrpc_kcp_fec_dec_free(k->dec);
    ufrpc_rbuf_pool_free(k->pool);
    free(k);
}

static void ks_close(struct ufrpc_stream *s)
{
    struct ks *k = (struct ks *)s;
    k->reading = 0;
    if (k->kcp) /* best effort, as kcp-go's Close: what is due goes out */
        ufrpc_kcp_flush(k->kcp, now_of(k));
    detach(k);
    uv_close((uv_handle_t *)&k->tick, on_closed);
    uv_close((uv_handle_t *)&k->defer, on_closed);
    if (k->own.loop)
        uv_close((uv_handle_t *)&k->own, on_closed);
}

static const struct ufrpc_stream_vt kcp_vt = {
    .read_start = ks_read_start,
    .read_stop = ks_read_stop,
    .write = ks_write,
    .queued = ks_queued,
    .shutdown = ks_shutdown,
    .close = ks_close,
};

bool ufrpc_stream_is_kcp(const struct ufrpc_stream *s)
{
    return s && s->vt == &kcp_vt;
}

void ufrpc_kcp_stream_stats(const struct ufrpc_stream *s, struct ufrpc_kcp_stats *st,
                            uint64_t *fec_recovered)
{
    memset(st, 0, sizeof *st);
    *fec_recovered = 0;
    if (!ufrpc_stream_is_kcp(s))
        return;
    const struct ks *k = (const struct ks *)s;
    ufrpc_kcp_get_stats(k->kcp, st);
    uint64_t bad;
    ufrpc_kcp_fec_dec_stats(k->dec, fec_recovered, &bad);
}

/* A session with its timers and codecs; the UDP side is set up by the caller. */
static struct ks *session_new(uv_loop_t *loop, const struct ufrpc_kcp_config *cfg, int *err)
{
    struct ks *k = calloc(1, sizeof *k);
    if (!k) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    struct ufrpc_kcp_config c = *cfg;
    c.headroom = UFRPC_KCP_FEC_DATA_HEADER;
    int rc = ufrpc_kcp_new(NULL, &c, on_kcp_output, k, &k->kcp);
    if (!rc)
        rc = ufrpc_kcp_fec_enc_new(NULL, FEC_DATA, FEC_PARITY, &k->enc);
    if (!rc)
        rc = ufrpc_kcp_fec_dec_new(NULL, FEC_DATA, FEC_PARITY, &k->dec);
    if (rc) {
        ufrpc_kcp_free(k->kcp);
        ufrpc_kcp_fec_enc_free(k->enc);
        free(k);
        *err = rc;
        return NULL;
    }
    k->s.vt = &kcp_vt;
    k->s.loop = loop;
    uv_timer_init(loop, &k->tick);
    uv_timer_init(loop, &k->defer);
    k->tick.data = k;
    k->defer.data = k;
    k->handles = 2;
    *err = 0;
    return k;
}

/* ---- client ---------------------------------------------------------------------- */

static void on_client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct ks *k = h->data;
    buf->base = (char *)k->rbuf;
    buf->len = sizeof k->rbuf;
}

static void on_client_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                           const struct sockaddr *addr, unsigned flags)
{
    struct ks *k = h->data;
    if (n == UV_ECONNREFUSED && k->p2p) {
        /* the peer swaps its punched socket for a connected one (frp closes, then
         * dials from the same port): a refusal meanwhile is not the end */
    } else if (n < 0) {
        session_error(k, n == UV_ECONNREFUSED ? UFRPC_ERR_KCP_REFUSED : ufrpc_net_uv_err((int)n));
    } else if (n > 0 && addr && !(flags & UV_UDP_PARTIAL) && !k->s.closing) {
        session_input(k, (const uint8_t *)buf->base, (size_t)n);
    }
}

struct ufrpc_stream *ufrpc_kcp_connect(uv_loop_t *loop, const struct sockaddr *addr,
                                       const struct ufrpc_kcp_config *cfg, int *err)
{
    return ufrpc_kcp_connect_fd(loop, (uv_os_sock_t)-1, addr, cfg, err);
}

struct ufrpc_stream *ufrpc_kcp_connect_fd(uv_loop_t *loop, uv_os_sock_t fd,
                                          const struct sockaddr *addr,
                                          const struct ufrpc_kcp_config *cfg, int *err)
{
    struct ufrpc_kcp_config c;
    if (cfg)
        c = *cfg;
    else
        ufrpc_kcp_config_frpc(&c);
    while (c.conv == 0) {
        uint8_t r[4];
        if (ufrpc_xform_getrandom(NULL, r, sizeof r) != 0) {
            *err = UFRPC_ERR_CRYPTO;
            return NULL;
        }
        c.conv = ufrpc_get_le32(r);
    }
    struct ks *k = session_new(loop, &c, err);
    if (!k) {
        if (fd != (uv_os_sock_t)-1)
            close(fd);
        return NULL;
    }
    k->conv = c.conv;
    /* with a socket to adopt, the handle must not make its own */
    int rc = fd != (uv_os_sock_t)-1 ? uv_udp_init(loop, &k->own)
                                    : uv_udp_init_ex(loop, &k->own, addr->sa_family);
    if (rc < 0) {
        if (fd != (uv_os_sock_t)-1)
            close(fd);
        *err = ufrpc_net_uv_err(rc);
        k->own.loop = NULL;
        k->s.closing = 1;
        ks_close(&k->s); /* frees after the timers close */
        return NULL;
    }
    k->own.data = k;
    k->handles++;
    k->udp = &k->own;
    k->p2p = fd != (uv_os_sock_t)-1;
    if (fd != (uv_os_sock_t)-1 && (rc = uv_udp_open(&k->own, fd)) < 0)
        close(fd); /* a failed open leaves fd with the caller, here us */
    if (rc == 0)
        rc = uv_udp_connect(&k->own, addr);
    if (rc == 0) {
        k->connected = true;
        int sz = SOCK_BUF;
        uv_recv_buffer_size((uv_handle_t *)&k->own, &sz);
        sz = SOCK_BUF;
        uv_send_buffer_size((uv_handle_t *)&k->own, &sz);
        rc = uv_udp_recv_start(&k->own, on_client_alloc, on_client_recv);
    }
    if (rc < 0) {
        *err = ufrpc_net_uv_err(rc);
        k->s.closing = 1;
        ks_close(&k->s);
        return NULL;
    }
    memcpy(&k->peer, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    *err = 0;
    return &k->s;
}

struct ufrpc_kcp_dial {
    uv_getaddrinfo_t gai;
    uv_loop_t *loop;
    ufrpc_kcp_dial_cb cb;
    void *data;
    int canceled;
    int done;
};

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res)
{
    ufrpc_kcp_dial_t *d = r->data;
    struct ufrpc_stream *s = NULL;
    int rc = d->canceled ? UFRPC_ERR_CANCELED : ufrpc_net_uv_err(status);
    if (rc == 0) {
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET) {
                pick = a;
                break;
            }
        if (!pick)
            pick = res;
        if (!pick)
            rc = UFRPC_ERR_DNS;
        else
            s = ufrpc_kcp_connect(d->loop, pick->ai_addr, NULL, &rc);
    }
    uv_freeaddrinfo(res);
    if (!d->canceled)
        d->cb(d, rc, s, d->data);
    else if (s)
        ufrpc_stream_close(s, NULL);
    free(d);
}

int ufrpc_kcp_dial(uv_loop_t *loop, const char *host, uint16_t port, ufrpc_kcp_dial_cb cb,
                   void *data, ufrpc_kcp_dial_t **out)
{
    if (!loop || !host || !cb)
        return UFRPC_ERR_INVAL;
    ufrpc_kcp_dial_t *d = calloc(1, sizeof *d);
    if (!d)
        return UFRPC_ERR_NOMEM;
    d->loop = loop;
    d->cb = cb;
    d->data = data;
    d->gai.data = d;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = uv_getaddrinfo(loop, &d->gai, on_resolved, host, portstr, &hints);
    if (rc < 0) {
        free(d);
        return ufrpc_net_uv_err(rc);
    }
    if (out)
        *out = d;
    return 0;
}

void ufrpc_kcp_dial_cancel(ufrpc_kcp_dial_t *d)
{
    if (!d || d->canceled)
        return;
    d->canceled = 1;
    uv_cancel((uv_req_t *)&d->gai);
    d->cb(d, UFRPC_ERR_CANCELED, NULL, d->data);
}

/* ---- listener -------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static void on_listener_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct ufrpc_kcp_listener *l = h->data;
    buf->base = (char *)l->rbuf;
    buf->len = sizeof l->rbuf;
}

static void on_listener_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                             const struct sockaddr *addr, unsigned flags)
{
    struct ufrpc_kcp_listener *l = h->data;
    if (n <= 0 || !addr || (flags & UV_UDP_PARTIAL))
        return;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t len = (size_t)n;
    if (len < UFRPC_KCP_OVERHEAD)
        return;
    /* the conversation id and sn of a data packet, as kcp-go's listener reads them */
    uint16_t type = ufrpc_get_le16(p + 4);
    bool has_conv = false;
    uint32_t conv = 0, sn = 0;
    if (type == UFRPC_KCP_FEC_TYPE_DATA &&
        len >= UFRPC_KCP_FEC_DATA_HEADER + UFRPC_KCP_OVERHEAD) {
        conv = ufrpc_get_le32(p + UFRPC_KCP_FEC_DATA_HEADER);
        sn = ufrpc_get_le32(p + UFRPC_KCP_FEC_DATA_HEADER + 12);
        has_conv = true;
    } else if (type != UFRPC_KCP_FEC_TYPE_DATA && type != UFRPC_KCP_FEC_TYPE_PARITY) {
        conv = ufrpc_get_le32(p);
        sn = ufrpc_get_le32(p + 12);
        has_conv = true;
    }
    struct ks *k = l->sessions;
    while (k && !same_addr(&k->peer, addr))
        k = k->lnext;
    if (k && has_conv && conv != k->conv && sn == 0) {
        /* a new conversation from the same address replaces the old one */
        detach(k);
        session_error(k, UFRPC_ERR_CONN_RESET);
        k = NULL;
    }
    if (k) {
        session_input(k, p, len);
        return;
    }
    if (!has_conv)
        return;
    struct ufrpc_kcp_config c;
    ufrpc_kcp_config_frpc(&c);
    c.conv = conv;
    c.snd_wnd = 1024;
    c.rcv_wnd = 1024;
    int err;
    k = session_new(l->loop, &c, &err);
    if (!k)
        return;
    k->conv = conv;
    k->l = l;
    k->udp = &l->udp;
    memcpy(&k->peer, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    k->lnext = l->sessions;
    l->sessions = k;
    session_input(k, p, len);
    l->cb(l, &k->s);
}

ufrpc_kcp_listener_t *ufrpc_kcp_listen(uv_loop_t *loop, const char *ip, uint16_t port,
                                       ufrpc_kcp_accept_cb cb, void *data, int *err)
{
    struct sockaddr_storage ss;
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) != 0) {
        *err = UFRPC_ERR_INVAL;
        return NULL;
    }
    ufrpc_kcp_listener_t *l = calloc(1, sizeof *l);
    if (!l) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    l->loop = loop;
    l->cb = cb;
    l->data = data;
    int rc = uv_udp_init(loop, &l->udp);
    if (rc < 0) {
        free(l);
        *err = ufrpc_net_uv_err(rc);
        return NULL;
    }
    l->udp.data = l;
    rc = uv_udp_bind(&l->udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&l->udp, on_listener_alloc, on_listener_recv);
    if (rc < 0) {
        *err = ufrpc_net_uv_err(rc);
        ufrpc_kcp_listener_close(l, NULL);
        return NULL;
    }
    int sz = SOCK_BUF;
    uv_recv_buffer_size((uv_handle_t *)&l->udp, &sz);
    *err = 0;
    return l;
}

uint16_t ufrpc_kcp_listener_port(const ufrpc_kcp_listener_t *l)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_udp_getsockname(&l->udp, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void *ufrpc_kcp_listener_data(const ufrpc_kcp_listener_t *l)
{
    return l->data;
}

static void on_listener_closed(uv_handle_t *h)
{
    ufrpc_kcp_listener_t *l = h->data;
    if (l->close_cb)
        l->close_cb(l->data);
    free(l);
}

void ufrpc_kcp_listener_close(ufrpc_kcp_listener_t *l, void (*cb)(void *data))
{
    while (l->sessions) {
        struct ks *k = l->sessions;
        detach(k);
        session_error(k, UFRPC_ERR_CLOSED);
    }
    l->close_cb = cb;
    uv_close((uv_handle_t *)&l->udp, on_listener_closed);
}
