/* ufrpc — TCP and unix-socket streams and a TCP listener over libuv. */
#include "net/tcp.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

/* One stream implementation for both handle kinds: everything but creation and
 * the TCP options goes through the handle's uv_stream_t. */
struct tcp {
    struct ufrpc_stream s;
    union {
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    bool is_pipe;
    uv_connect_t creq;    /* pipe connect */
    ufrpc_pipe_connect_cb ccb; /* NULL once reported or after close */
    void *carg;
    uv_idle_t idle;       /* delivers pushed-back bytes */
    uv_shutdown_t sreq;
    ufrpc_rbuf_pool_t *pool; /* read buffers (created at the first read) */
    ufrpc_rbuf_t *cur;    /* buffer of the read in progress (alloc to read callback) */
    ufrpc_rbuf_t *pre;    /* pushed-back bytes */
    const uint8_t *pre_data;
    size_t pre_len;
    ufrpc_stream_read_gate_fn gate; /* ufrpc_stream_set_read_gate; NULL: none */
    void *gate_arg;
    int gated;            /* the gate said 0 at the last alloc (no buffer taken) */
    int reading;
    int ended;            /* EOF or error delivered */
    int handles;          /* open uv handles */
};

static const struct ufrpc_stream_vt tcp_vt;

static void tcp_deliver_pre(struct tcp *t);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct tcp *t = h->data;
    (void)hint;
    size_t lim = SIZE_MAX;
    if (t->gate != NULL && (lim = t->gate(t->gate_arg)) == 0) {
        t->gated = 1; /* libuv reports UV_ENOBUFS to on_read */
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    if (t->cur != NULL && t->cur->refs != 1) {
        ufrpc_rbuf_unref(t->cur);
        t->cur = NULL;
    }
    if (t->cur == NULL && t->pool == NULL)
        t->pool = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, UFRPC_READ_POOL_FREE);
    if (t->cur == NULL && t->pool != NULL)
        t->cur = ufrpc_rbuf_pool_get(t->pool);
    if (t->cur == NULL) { /* libuv reports UV_ENOBUFS to on_read */
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)t->cur->base;
    buf->len = t->cur->cap < lim ? t->cur->cap : lim;
}

/* Drops the stream's reference on the read buffer once a read is delivered: it
 * goes back to the pool now, or when the consumers that took references drop
 * them. A stream between reads holds no buffer. */
static void drop_cur(struct tcp *t)
{
    ufrpc_rbuf_unref(t->cur);
    t->cur = NULL;
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    struct tcp *t = h->data;
    (void)buf;
    if (n == 0) {
        drop_cur(t);
        return;
    }
    if (n > 0) {
        t->s.read_cb(&t->s, 0, t->cur, t->cur->base, (size_t)n);
        drop_cur(t);
        return;
    }
    drop_cur(t);
    uv_read_stop(h);
    t->reading = 0;
    if (n == UV_ENOBUFS && t->gated) {
        t->gated = 0;
        t->s.read_cb(&t->s, UFRPC_ERR_AGAIN, NULL, NULL, 0);
        return;
    }
    t->ended = 1;
    t->s.read_cb(&t->s, ufrpc_net_uv_err((int)n), NULL, NULL, 0);
}

static void on_idle(uv_idle_t *i)
{
    struct tcp *t = i->data;
    uv_idle_stop(i);
    tcp_deliver_pre(t);
}

static void tcp_deliver_pre(struct tcp *t)
{
    if (!t->reading || t->s.closing)
        return;
    ufrpc_rbuf_t *b = t->pre;
    const uint8_t *d = t->pre_data;
    size_t n = t->pre_len;
    t->pre = NULL;
    t->pre_len = 0;
    t->s.read_cb(&t->s, 0, b, d, n);
    ufrpc_rbuf_unref(b);
    if (t->reading && !t->s.closing && t->pre_len == 0) {
        int rc = uv_read_start(&t->h.stream, on_alloc, on_read);
        if (rc < 0) {
            t->reading = 0;
            t->ended = 1;
            t->s.read_cb(&t->s, ufrpc_net_uv_err(rc), NULL, NULL, 0);
        }
    }
}

static int tcp_read_start(struct ufrpc_stream *s)
{
    struct tcp *t = (struct tcp *)s;
    if (t->ended)
        return UFRPC_ERR_STATE;
    if (t->reading)
        return 0;
    t->reading = 1;
    if (t->pre_len > 0)
        return ufrpc_net_uv_err(uv_idle_start(&t->idle, on_idle));
    int rc = uv_read_start(&t->h.stream, on_alloc, on_read);
    if (rc < 0)
        t->reading = 0;
    return ufrpc_net_uv_err(rc);
}

static int tcp_read_stop(struct ufrpc_stream *s)
{
    struct tcp *t = (struct tcp *)s;
    t->reading = 0;
    uv_idle_stop(&t->idle);
    uv_read_stop(&t->h.stream);
    return 0;
}

static void on_write(uv_write_t *w, int status)
{
    struct ufrpc_stream_write *req = w->data;
    req->cb(req, ufrpc_net_uv_err(status));
}

static int tcp_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct tcp *t = (struct tcp *)s;
    req->uv.data = req;
    return ufrpc_net_uv_err(uv_write(&req->uv, &t->h.stream, req->bufs, req->nbufs,
                                     on_write));
}

static int tcp_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs)
{
    struct tcp *t = (struct tcp *)s;
    if (nbufs == 0)
        return 0;
    int n = uv_try_write(&t->h.stream, bufs, nbufs);
    if (n == UV_EAGAIN)
        return 0;
    return n < 0 ? ufrpc_net_uv_err(n) : n;
}

static size_t tcp_queued(const struct ufrpc_stream *s)
{
    const struct tcp *t = (const struct tcp *)s;
    return uv_stream_get_write_queue_size(&t->h.stream);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    struct tcp *t = r->data;
    t->s.shutdown_cb(&t->s, ufrpc_net_uv_err(status));
}

static int tcp_shutdown(struct ufrpc_stream *s)
{
    struct tcp *t = (struct tcp *)s;
    t->sreq.data = t;
    return ufrpc_net_uv_err(uv_shutdown(&t->sreq, &t->h.stream, on_shutdown));
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tcp *t = h->data;
    if (--t->handles > 0)
        return;
    if (t->s.close_cb != NULL)
        t->s.close_cb(&t->s);
    ufrpc_rbuf_unref(t->cur);
    ufrpc_rbuf_unref(t->pre);
    ufrpc_rbuf_pool_free(t->pool);
    free(t);
}

static void tcp_close(struct ufrpc_stream *s)
{
    struct tcp *t = (struct tcp *)s;
    t->reading = 0;
    t->ccb = NULL; /* a pending pipe connect is not reported after close */
    uv_close((uv_handle_t *)&t->h.stream, on_handle_closed);
    uv_close((uv_handle_t *)&t->idle, on_handle_closed);
}

static int tcp_unread(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    struct tcp *t = (struct tcp *)s;
    if (len == 0)
        return 0;
    if (t->pre_len > 0)
        return UFRPC_ERR_LIMIT;
    if ((buf = ufrpc_rbuf_hold(buf, &data, len)) == NULL)
        return UFRPC_ERR_NOMEM;
    t->pre = buf;
    t->pre_data = data;
    t->pre_len = len;
    if (t->reading) {
        uv_read_stop(&t->h.stream);
        uv_idle_start(&t->idle, on_idle);
    }
    return 0;
}

static int tcp_set_read_pool(struct ufrpc_stream *s, unsigned max_free)
{
    struct tcp *t = (struct tcp *)s;
    if (t->pool == NULL &&
        (t->pool = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, max_free)) == NULL)
        return UFRPC_ERR_NOMEM;
    ufrpc_rbuf_pool_set_max_free(t->pool, max_free);
    return 0;
}

static int tcp_set_read_gate(struct ufrpc_stream *s, ufrpc_stream_read_gate_fn gate, void *arg)
{
    struct tcp *t = (struct tcp *)s;
    t->gate = gate;
    t->gate_arg = arg;
    return 0;
}

static const struct ufrpc_stream_vt tcp_vt = {
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .write = tcp_write,
    .queued = tcp_queued,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .unread = tcp_unread,
    .set_read_pool = tcp_set_read_pool,
    .try_write = tcp_try_write,
    .set_read_gate = tcp_set_read_gate,
};

/* Allocates a stream around a fresh, unconnected TCP or pipe handle. */
static struct tcp *stream_new(uv_loop_t *loop, bool is_pipe, int *err)
{
    struct tcp *t = calloc(1, sizeof *t);
    if (t == NULL) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    int rc = is_pipe ? uv_pipe_init(loop, &t->h.pipe, 0) : uv_tcp_init(loop, &t->h.tcp);
    if (rc < 0) {
        free(t);
        *err = ufrpc_net_uv_err(rc);
        return NULL;
    }
    uv_idle_init(loop, &t->idle);
    t->is_pipe = is_pipe;
    t->handles = 2;
    t->h.stream.data = t;
    t->idle.data = t;
    t->s.vt = &tcp_vt;
    t->s.loop = loop;
    *err = 0;
    return t;
}

struct ufrpc_stream *ufrpc_tcp_new(uv_loop_t *loop, int *err)
{
    struct tcp *t = stream_new(loop, false, err);
    return t != NULL ? &t->s : NULL;
}

static void on_pipe_connect(uv_connect_t *r, int status)
{
    struct tcp *t = r->data;
    ufrpc_pipe_connect_cb cb = t->ccb;
    t->ccb = NULL;
    if (cb != NULL)
        cb(&t->s, ufrpc_net_uv_err(status), t->carg);
}

struct ufrpc_stream *ufrpc_pipe_connect(uv_loop_t *loop, const char *path,
                                        ufrpc_pipe_connect_cb cb, void *arg, int *err)
{
    struct tcp *t = stream_new(loop, true, err);
    if (t == NULL)
        return NULL;
    t->ccb = cb;
    t->carg = arg;
    t->creq.data = t;
    uv_pipe_connect(&t->creq, &t->h.pipe, path, on_pipe_connect);
    return &t->s;
}

uv_tcp_t *ufrpc_tcp_handle(struct ufrpc_stream *s)
{
    return &((struct tcp *)s)->h.tcp;
}

bool ufrpc_stream_is_tcp(const struct ufrpc_stream *s)
{
    return s->vt == &tcp_vt && !((const struct tcp *)s)->is_pipe;
}

int ufrpc_tcp_set_options(struct ufrpc_stream *s, bool nodelay, int keepalive_s)
{
    struct tcp *t = (struct tcp *)s;
    int rc = uv_tcp_nodelay(&t->h.tcp, nodelay ? 1 : 0);
    if (rc == 0)
        rc = uv_tcp_keepalive(&t->h.tcp, keepalive_s > 0, keepalive_s > 0 ? (unsigned)keepalive_s : 0);
    return ufrpc_net_uv_err(rc);
}

/* ---- listener ------------------------------------------------------------------ */
struct ufrpc_tcp_listener {
    uv_tcp_t h;
    ufrpc_tcp_accept_cb cb;
    void *data;
    void (*close_cb)(void *data);
    uint16_t port;
};

static void on_connection(uv_stream_t *server, int status)
{
    ufrpc_tcp_listener_t *l = server->data;
    if (status < 0) {
        l->cb(l, ufrpc_net_uv_err(status), NULL);
        return;
    }
    int err;
    struct ufrpc_stream *c = ufrpc_tcp_new(server->loop, &err);
    if (c == NULL) {
        l->cb(l, err, NULL);
        return;
    }
    int rc = uv_accept(server, (uv_stream_t *)ufrpc_tcp_handle(c));
    if (rc < 0) {
        ufrpc_stream_close(c, NULL);
        l->cb(l, ufrpc_net_uv_err(rc), NULL);
        return;
    }
    uv_tcp_nodelay(ufrpc_tcp_handle(c), 1);
    l->cb(l, 0, c);
}

ufrpc_tcp_listener_t *ufrpc_tcp_listen(uv_loop_t *loop, const char *ip, uint16_t port,
                                       ufrpc_tcp_accept_cb cb, void *data, int *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) != 0) {
        *err = UFRPC_ERR_INVAL;
        return NULL;
    }
    ufrpc_tcp_listener_t *l = calloc(1, sizeof *l);
    if (l == NULL) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    int rc = uv_tcp_init(loop, &l->h);
    if (rc < 0) {
        free(l);
        *err = ufrpc_net_uv_err(rc);
        return NULL;
    }
    l->h.data = l;
    l->cb = cb;
    l->data = data;
    rc = uv_tcp_bind(&l->h, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->h, 511, on_connection);
    if (rc == 0) {
        struct sockaddr_storage got;
        int len = sizeof got;
        rc = uv_tcp_getsockname(&l->h, (struct sockaddr *)&got, &len);
        if (rc == 0)
            l->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                      : ((struct sockaddr_in *)&got)->sin_port);
    }
    if (rc < 0) {
        *err = ufrpc_net_uv_err(rc);
        ufrpc_tcp_listener_close(l, NULL);
        return NULL;
    }
    *err = 0;
    return l;
}

uint16_t ufrpc_tcp_listener_port(const ufrpc_tcp_listener_t *l)
{
    return l->port;
}

void *ufrpc_tcp_listener_data(const ufrpc_tcp_listener_t *l)
{
    return l->data;
}

static void on_listener_closed(uv_handle_t *h)
{
    ufrpc_tcp_listener_t *l = h->data;
    if (l->close_cb != NULL)
        l->close_cb(l->data);
    free(l);
}

void ufrpc_tcp_listener_close(ufrpc_tcp_listener_t *l, void (*cb)(void *data))
{
    l->close_cb = cb;
    uv_close((uv_handle_t *)&l->h, on_listener_closed);
}
