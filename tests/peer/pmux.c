/* ufrpc-test-frps — yamux server session glue (see pmux.h). Test code. */
#include "pmux.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/yamux.h"

struct pstream;

struct prbuf {
    ufrpc_rbuf_t rb;
    struct pstream *ps;
    size_t len;
    struct prbuf *next;
    uint8_t data[];
};

struct pstream {
    struct ufrpc_stream s; /* first: the vtable functions cast back */
    pmux_t *m;
    ufrpc_yamux_stream_t *ys; /* NULL once released */
    struct pstream *prev, *next;
    struct prbuf *rq_head, *rq_tail;
    struct ufrpc_stream_write *wq_head, *wq_tail;
    size_t wq_bytes;
    int reading, fin_rx, reset_rx, err, ended;
    int shut_req, shut_done;
    int closed, close_done, dead;
    unsigned rbufs_out;
};

struct pmux {
    uv_loop_t *loop;
    struct ufrpc_stream *tr;
    ufrpc_yamux_session_t *ys;
    uv_timer_t timer;
    uv_idle_t idle;
    int handles;
    struct ufrpc_stream_write wreq;
    uv_buf_t wb[2];
    size_t inflight;
    int writing, stalled, tr_ended, tr_closed, freeing, in_idle;
    struct pstream *streams;
    unsigned nstreams;
    pmux_accept_cb on_accept;
    pmux_end_cb on_end;
    void *data;
    void (*tap)(void *tap_ctx, const uint8_t *data, size_t len);
    void *tap_ctx;
};

static const struct ufrpc_stream_vt ps_vt;

static void on_idle(uv_idle_t *i);
static void on_timer(uv_timer_t *t);

static void dirty(pmux_t *m)
{
    if (!m->freeing)
        uv_idle_start(&m->idle, on_idle);
}

static void on_handle_closed(uv_handle_t *h)
{
    pmux_t *m = h->data;
    if (--m->handles == 0) {
        ufrpc_yamux_session_free(m->ys);
        free(m);
    }
}

static void maybe_free(pmux_t *m)
{
    if (m->freeing || m->in_idle || !m->tr_closed || m->nstreams > 0)
        return;
    m->freeing = 1;
    uv_close((uv_handle_t *)&m->timer, on_handle_closed);
    uv_close((uv_handle_t *)&m->idle, on_handle_closed);
}

static void on_tr_closed(struct ufrpc_stream *s)
{
    pmux_t *m = s->data;
    m->tr = NULL;
    m->tr_closed = 1;
    maybe_free(m);
}

static void transport_end(pmux_t *m, int status)
{
    if (m->tr_ended)
        return;
    m->tr_ended = 1;
    uv_timer_stop(&m->timer);
    for (struct pstream *ps = m->streams; ps != NULL; ps = ps->next)
        if (ps->err == 0)
            ps->err = UFRPC_ERR_YAMUX_SESSION_CLOSED;
    ufrpc_stream_close(m->tr, on_tr_closed);
    if (m->on_end != NULL)
        m->on_end(m, status, m->data);
    dirty(m);
}

static void arm_timer(pmux_t *m)
{
    if (m->tr_ended || m->stalled)
        return;
    uint64_t dl = ufrpc_yamux_next_deadline(m->ys);
    if (dl == UINT64_MAX) {
        uv_timer_stop(&m->timer);
        return;
    }
    uint64_t now = uv_now(m->loop);
    uv_timer_start(&m->timer, on_timer, dl > now ? dl - now : 0, 0);
}

static void flush(pmux_t *m);

static void on_tr_write(struct ufrpc_stream_write *w, int status)
{
    pmux_t *m = w->data;
    m->writing = 0;
    if (status < 0) {
        if (status != UFRPC_ERR_CANCELED)
            transport_end(m, status);
        return;
    }
    ufrpc_yamux_output_sent(m->ys, m->inflight);
    m->inflight = 0;
    dirty(m);
}

static void flush(pmux_t *m)
{
    if (m->writing || m->stalled || m->tr_ended)
        return;
    struct iovec iov[2];
    int n = ufrpc_yamux_pending_output(m->ys, iov, 2);
    if (n <= 0)
        return;
    m->inflight = 0;
    for (int i = 0; i < n; i++) {
        m->wb[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
        m->inflight += iov[i].iov_len;
    }
    m->wreq.data = m;
    int rc = ufrpc_stream_write(m->tr, &m->wreq, m->wb, (unsigned)n, on_tr_write);
    if (rc < 0) {
        transport_end(m, rc);
        return;
    }
    m->writing = 1;
}

static void on_timer(uv_timer_t *t)
{
    pmux_t *m = t->data;
    int rc = ufrpc_yamux_on_timeout(m->ys, uv_now(m->loop));
    flush(m);
    if (rc < 0) {
        transport_end(m, rc);
        return;
    }
    arm_timer(m);
}

static void on_tr_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                       const uint8_t *data, size_t len)
{
    pmux_t *m = s->data;
    (void)buf;
    if (status < 0) {
        transport_end(m, status);
        return;
    }
    if (m->tap != NULL)
        m->tap(m->tap_ctx, data, len);
    int rc = ufrpc_yamux_feed(m->ys, data, len, uv_now(m->loop));
    if (rc < 0) {
        flush(m); /* the GoAway, best effort */
        transport_end(m, rc);
        return;
    }
    dirty(m);
}

/* ---- read buffers ------------------------------------------------------------------ */
static void prbuf_release(ufrpc_rbuf_t *rb)
{
    struct prbuf *b = (struct prbuf *)rb;
    struct pstream *ps = b->ps;
    ps->rbufs_out--;
    if (ps->ys != NULL) {
        ufrpc_yamux_stream_consume(ps->ys, b->len);
        dirty(ps->m);
    }
    free(b);
    if (ps->dead && ps->rbufs_out == 0)
        free(ps);
}

static void drop_rq(struct pstream *ps)
{
    while (ps->rq_head != NULL) {
        struct prbuf *b = ps->rq_head;
        ps->rq_head = b->next;
        ufrpc_rbuf_unref(&b->rb);
    }
    ps->rq_tail = NULL;
}

static void fail_writes(struct pstream *ps, int err)
{
    while (ps->wq_head != NULL) {
        struct ufrpc_stream_write *w = ps->wq_head;
        ps->wq_head = w->next;
        if (ps->wq_head == NULL)
            ps->wq_tail = NULL;
        w->cb(w, err);
    }
    ps->wq_bytes = 0;
}

/* ---- per-stream work (idle) ------------------------------------------------------ */
static void ps_finish_close(struct pstream *ps)
{
    pmux_t *m = ps->m;
    fail_writes(ps, UFRPC_ERR_CANCELED);
    drop_rq(ps);
    if (ps->ys != NULL) {
        ufrpc_yamux_stream_set_user_data(ps->ys, NULL);
        ufrpc_yamux_stream_release(ps->ys);
        ps->ys = NULL;
    }
    ps->close_done = 1;
    if (ps->prev != NULL)
        ps->prev->next = ps->next;
    else
        m->streams = ps->next;
    if (ps->next != NULL)
        ps->next->prev = ps->prev;
    m->nstreams--;
    if (ps->s.close_cb != NULL)
        ps->s.close_cb(&ps->s);
    if (ps->rbufs_out == 0)
        free(ps);
    else
        ps->dead = 1;
}

static void ps_run(struct pstream *ps)
{
    if (ps->closed) {
        ps_finish_close(ps);
        return;
    }
    /* writes */
    while (ps->wq_head != NULL && !ps->closed) {
        int bad = ps->err ? ps->err : ps->reset_rx ? UFRPC_ERR_YAMUX_RESET : 0;
        if (bad) {
            fail_writes(ps, bad);
            break;
        }
        struct ufrpc_stream_write *w = ps->wq_head;
        while (w->idx < w->nbufs && w->off == w->bufs[w->idx].len) {
            w->idx++;
            w->off = 0;
        }
        if (w->idx == w->nbufs) {
            ps->wq_head = w->next;
            if (ps->wq_head == NULL)
                ps->wq_tail = NULL;
            w->cb(w, 0);
            continue;
        }
        const uv_buf_t *b = &w->bufs[w->idx];
        ptrdiff_t n = ufrpc_yamux_stream_write(ps->ys, (const uint8_t *)b->base + w->off,
                                               b->len - w->off);
        if (n < 0) {
            ps->err = (int)n;
            fail_writes(ps, (int)n);
            break;
        }
        if (n == 0)
            break;
        w->off += (size_t)n;
        ps->wq_bytes -= (size_t)n;
    }
    if (ps->closed)
        return;
    if (ps->shut_req && !ps->shut_done && ps->wq_head == NULL) {
        ps->shut_done = 1;
        int rc = ps->err ? ps->err : ufrpc_yamux_stream_close(ps->ys);
        if (ps->s.shutdown_cb != NULL)
            ps->s.shutdown_cb(&ps->s, rc);
        if (ps->closed)
            return;
    }
    /* reads */
    while (ps->reading && ps->rq_head != NULL && !ps->closed) {
        struct prbuf *b = ps->rq_head;
        ps->rq_head = b->next;
        if (ps->rq_head == NULL)
            ps->rq_tail = NULL;
        ps->s.read_cb(&ps->s, 0, &b->rb, b->data, b->len);
        ufrpc_rbuf_unref(&b->rb);
    }
    if (ps->reading && ps->rq_head == NULL && !ps->ended && !ps->closed) {
        int st = ps->fin_rx ? UFRPC_ERR_EOF : ps->reset_rx ? UFRPC_ERR_YAMUX_RESET : ps->err;
        if (st != 0) {
            ps->ended = 1;
            ps->reading = 0;
            ps->s.read_cb(&ps->s, st, NULL, NULL, 0);
        }
    }
}

static void on_idle(uv_idle_t *i)
{
    pmux_t *m = i->data;
    uv_idle_stop(i);
    m->in_idle = 1;
    struct pstream *ps = m->streams;
    while (ps != NULL) {
        struct pstream *next = ps->next;
        ps_run(ps);
        ps = next;
    }
    m->in_idle = 0;
    flush(m);
    arm_timer(m);
    maybe_free(m);
}

/* ---- yamux callbacks -------------------------------------------------------------- */
static int cb_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    pmux_t *m = ud;
    (void)s;
    if (m->on_accept == NULL)
        return -1;
    struct pstream *ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return -1;
    ps->s.vt = &ps_vt;
    ps->s.loop = m->loop;
    ps->m = m;
    ps->ys = st;
    ps->next = m->streams;
    if (m->streams != NULL)
        m->streams->prev = ps;
    m->streams = ps;
    m->nstreams++;
    ufrpc_yamux_stream_set_user_data(st, ps);
    m->on_accept(m, &ps->s, m->data);
    dirty(m);
    return 0;
}

static void cb_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, const uint8_t *data,
                    size_t len, void *ud)
{
    struct pstream *ps = ufrpc_yamux_stream_user_data(st);
    (void)s;
    (void)ud;
    if (ps == NULL || ps->closed) {
        ufrpc_yamux_stream_consume(st, len);
        return;
    }
    struct prbuf *b = malloc(sizeof *b + len);
    if (b == NULL) {
        ufrpc_yamux_stream_consume(st, len);
        ps->err = UFRPC_ERR_NOMEM;
        dirty(ps->m);
        return;
    }
    b->rb.refs = 1;
    b->rb.cap = len;
    b->rb.base = b->data;
    b->rb.release = prbuf_release;
    b->ps = ps;
    b->len = len;
    b->next = NULL;
    memcpy(b->data, data, len);
    ps->rbufs_out++;
    if (ps->rq_tail != NULL)
        ps->rq_tail->next = b;
    else
        ps->rq_head = b;
    ps->rq_tail = b;
    dirty(ps->m);
}

static void cb_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct pstream *ps = ufrpc_yamux_stream_user_data(st);
    (void)s;
    (void)ud;
    if (ps != NULL) {
        ps->fin_rx = 1;
        dirty(ps->m);
    }
}

static void cb_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct pstream *ps = ufrpc_yamux_stream_user_data(st);
    (void)s;
    (void)ud;
    if (ps != NULL) {
        ps->reset_rx = 1;
        dirty(ps->m);
    }
}

static void cb_writable(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    (void)st;
    dirty(ud);
}

static void cb_error(ufrpc_yamux_session_t *s, int err, void *ud)
{
    pmux_t *m = ud;
    (void)s;
    for (struct pstream *ps = m->streams; ps != NULL; ps = ps->next)
        if (ps->err == 0)
            ps->err = err;
    dirty(m);
}

/* ---- stream vtable --------------------------------------------------------------------- */
static int ps_read_start(struct ufrpc_stream *s)
{
    struct pstream *ps = (struct pstream *)s;
    if (ps->ended)
        return UFRPC_ERR_STATE;
    ps->reading = 1;
    dirty(ps->m);
    return 0;
}

static int ps_read_stop(struct ufrpc_stream *s)
{
    ((struct pstream *)s)->reading = 0;
    return 0;
}

static int ps_write(struct ufrpc_stream *s, struct ufrpc_stream_write *w)
{
    struct pstream *ps = (struct pstream *)s;
    if (ps->shut_req)
        return UFRPC_ERR_CLOSED;
    if (ps->err)
        return ps->err;
    if (ps->reset_rx)
        return UFRPC_ERR_YAMUX_RESET;
    w->next = NULL;
    if (ps->wq_tail != NULL)
        ps->wq_tail->next = w;
    else
        ps->wq_head = w;
    ps->wq_tail = w;
    ps->wq_bytes += w->len;
    dirty(ps->m);
    return 0;
}

static size_t ps_queued(const struct ufrpc_stream *s)
{
    return ((const struct pstream *)s)->wq_bytes;
}

static int ps_shutdown(struct ufrpc_stream *s)
{
    struct pstream *ps = (struct pstream *)s;
    ps->shut_req = 1;
    dirty(ps->m);
    return 0;
}

static void ps_close(struct ufrpc_stream *s)
{
    struct pstream *ps = (struct pstream *)s;
    ps->closed = 1;
    ps->reading = 0;
    dirty(ps->m);
}

static const struct ufrpc_stream_vt ps_vt = {
    .read_start = ps_read_start,
    .read_stop = ps_read_stop,
    .write = ps_write,
    .queued = ps_queued,
    .shutdown = ps_shutdown,
    .close = ps_close,
    .unread = NULL,
};

/* ---- public ------------------------------------------------------------------------------ */
pmux_t *pmux_new(uv_loop_t *loop, struct ufrpc_stream *tr, const struct pmux_opts *o,
                 pmux_accept_cb on_accept, pmux_end_cb on_end, void *data)
{
    pmux_t *m = calloc(1, sizeof *m);
    if (m == NULL) {
        ufrpc_stream_close(tr, NULL);
        return NULL;
    }
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.keepalive_interval_ms = (o != NULL && o->keepalive_ms) ? o->keepalive_ms : 30000;
    cfg.max_output_bytes = 1u << 20;
    struct ufrpc_yamux_callbacks cb = {
        .on_stream_open = cb_open,
        .on_stream_data = cb_data,
        .on_stream_fin = cb_fin,
        .on_stream_reset = cb_reset,
        .on_stream_writable = cb_writable,
        .on_session_error = cb_error,
    };
    if (ufrpc_yamux_session_new(&m->ys, UFRPC_YAMUX_SERVER, &cfg, &cb, m, uv_now(loop)) < 0) {
        free(m);
        ufrpc_stream_close(tr, NULL);
        return NULL;
    }
    m->loop = loop;
    m->tr = tr;
    m->on_accept = on_accept;
    m->on_end = on_end;
    m->data = data;
    if (o != NULL) {
        m->tap = o->tap;
        m->tap_ctx = o->tap_ctx;
    }
    uv_timer_init(loop, &m->timer);
    uv_idle_init(loop, &m->idle);
    m->timer.data = m;
    m->idle.data = m;
    m->handles = 2;
    tr->data = m;
    int rc = ufrpc_stream_read_start(tr, on_tr_read);
    if (rc < 0) {
        m->tr_ended = 1;
        ufrpc_stream_close(tr, on_tr_closed);
        return NULL; /* freed once the transport has closed */
    }
    arm_timer(m);
    return m;
}

void pmux_stall(pmux_t *m)
{
    m->stalled = 1;
    uv_timer_stop(&m->timer);
    if (!m->tr_ended)
        ufrpc_stream_read_stop(m->tr);
}

void pmux_kill(pmux_t *m)
{
    transport_end(m, UFRPC_ERR_CANCELED);
}

int pmux_is_stream(const struct ufrpc_stream *st)
{
    return st->vt == &ps_vt;
}

pmux_t *pmux_of(struct ufrpc_stream *st)
{
    return ((struct pstream *)st)->m;
}
