/* ufrpc — generic byte stream: buffers, dispatch, libuv error mapping. */
#include "net/stream.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

ufrpc_rbuf_t *ufrpc_rbuf_new(size_t cap)
{
    ufrpc_rbuf_t *b = cap <= SIZE_MAX - sizeof *b ? malloc(sizeof *b + cap) : NULL;
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->cap = cap;
    b->base = (uint8_t *)(b + 1);
    b->release = NULL;
    return b;
}

void ufrpc_rbuf_ref(ufrpc_rbuf_t *b)
{
    b->refs++;
}

ufrpc_rbuf_t *ufrpc_rbuf_hold(ufrpc_rbuf_t *buf, const uint8_t **data, size_t len)
{
    if (buf != NULL) {
        ufrpc_rbuf_ref(buf);
        return buf;
    }
    ufrpc_rbuf_t *b = ufrpc_rbuf_new(len);
    if (b == NULL)
        return NULL;
    if (len > 0)
        memcpy(b->base, *data, len);
    *data = b->base;
    return b;
}

void ufrpc_rbuf_unref(ufrpc_rbuf_t *b)
{
    if (b != NULL && --b->refs == 0) {
        if (b->release != NULL)
            b->release(b);
        else
            free(b);
    }
}

/* ---- pools ------------------------------------------------------------------------ */
struct ufrpc_rbuf_pool {
    size_t cap;
    unsigned max_free, nfree, in_use;
    int dead; /* the owner freed it; goes with the last buffer in use */
    struct pbuf *free_list;
    uint64_t allocs, reuses;
};

struct pbuf {
    ufrpc_rbuf_t rb;
    ufrpc_rbuf_pool_t *pool;
    struct pbuf *next;
};

/* the bytes follow the header, aligned for any use (TLS keeps a struct there) */
#define PBUF_HDR ((sizeof(struct pbuf) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

ufrpc_rbuf_pool_t *ufrpc_rbuf_pool_new(size_t cap, unsigned max_free)
{
    if (cap == 0 || cap > SIZE_MAX - PBUF_HDR)
        return NULL;
    ufrpc_rbuf_pool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->cap = cap;
    p->max_free = max_free;
    return p;
}

static void drop_spares(ufrpc_rbuf_pool_t *p, unsigned keep)
{
    while (p->nfree > keep) {
        struct pbuf *pb = p->free_list;
        p->free_list = pb->next;
        p->nfree--;
        free(pb);
    }
}

static void pool_release(ufrpc_rbuf_t *b)
{
    struct pbuf *pb = (struct pbuf *)b;
    ufrpc_rbuf_pool_t *p = pb->pool;
    p->in_use--;
    /* spares only while the pool has buffers out: an idle stream keeps none */
    if (!p->dead && p->in_use > 0 && p->nfree < p->max_free) {
        pb->next = p->free_list;
        p->free_list = pb;
        p->nfree++;
        return;
    }
    free(pb);
    if (p->in_use == 0)
        drop_spares(p, 0);
    if (p->dead && p->in_use == 0)
        free(p);
}

ufrpc_rbuf_t *ufrpc_rbuf_pool_get(ufrpc_rbuf_pool_t *p)
{
    struct pbuf *pb = p->free_list;
    if (pb != NULL) {
        p->free_list = pb->next;
        p->nfree--;
        p->reuses++;
    } else {
        pb = malloc(PBUF_HDR + p->cap);
        if (pb == NULL)
            return NULL;
        p->allocs++;
        pb->pool = p;
        pb->rb.cap = p->cap;
        pb->rb.base = (uint8_t *)pb + PBUF_HDR;
        pb->rb.release = pool_release;
    }
    pb->next = NULL;
    pb->rb.refs = 1;
    p->in_use++;
    return &pb->rb;
}

void ufrpc_rbuf_pool_get_stats(const ufrpc_rbuf_pool_t *p, struct ufrpc_rbuf_pool_stats *st)
{
    st->cap = p->cap;
    st->max_free = p->max_free;
    st->in_use = p->in_use;
    st->nfree = p->nfree;
    st->allocs = p->allocs;
    st->reuses = p->reuses;
}

void ufrpc_rbuf_pool_set_max_free(ufrpc_rbuf_pool_t *p, unsigned max_free)
{
    p->max_free = max_free;
    drop_spares(p, max_free);
}

void ufrpc_rbuf_pool_free(ufrpc_rbuf_pool_t *p)
{
    if (p == NULL)
        return;
    drop_spares(p, 0);
    p->dead = 1;
    if (p->in_use == 0)
        free(p);
}

/* ---- streams ---------------------------------------------------------------------- */
int ufrpc_stream_read_start(struct ufrpc_stream *s, ufrpc_stream_read_cb cb)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    s->read_cb = cb;
    return s->vt->read_start(s);
}

int ufrpc_stream_read_stop(struct ufrpc_stream *s)
{
    if (s->closing)
        return 0;
    return s->vt->read_stop(s);
}

static void noop_write_cb(struct ufrpc_stream_write *req, int status)
{
    (void)req;
    (void)status;
}

int ufrpc_stream_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req,
                       const uv_buf_t *bufs, unsigned nbufs, ufrpc_stream_write_cb cb)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    req->cb = cb != NULL ? cb : noop_write_cb;
    req->stream = s;
    req->next = NULL;
    if (nbufs <= UFRPC_STREAM_WRITE_INLINE_IOV) {
        /* by value, so that callers may pass a temporary array; a wrapper stream that
         * forwards req->bufs to its lower stream passes this very array (memmove) */
        if (nbufs > 0 && bufs != req->inline_bufs)
            memmove(req->inline_bufs, bufs, nbufs * sizeof *bufs);
        bufs = req->inline_bufs;
    }
    req->bufs = bufs;
    req->nbufs = nbufs;
    req->idx = 0;
    req->off = 0;
    req->len = ufrpc_iov_total(bufs, nbufs);
    return s->vt->write(s, req);
}

size_t ufrpc_stream_queued(const struct ufrpc_stream *s)
{
    return s->vt->queued(s);
}

static void noop_shutdown_cb(struct ufrpc_stream *s, int status)
{
    (void)s;
    (void)status;
}

int ufrpc_stream_shutdown(struct ufrpc_stream *s, ufrpc_stream_shutdown_cb cb)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    if (s->shutdown_cb != NULL)
        return UFRPC_ERR_STATE;
    /* never NULL once set: implementations call it unconditionally, and it
     * marks the one shutdown a stream allows */
    s->shutdown_cb = cb != NULL ? cb : noop_shutdown_cb;
    int rc = s->vt->shutdown(s);
    if (rc < 0)
        s->shutdown_cb = NULL;
    return rc;
}

void ufrpc_stream_close(struct ufrpc_stream *s, ufrpc_stream_close_cb cb)
{
    if (s->closing)
        return;
    s->closing = 1;
    s->close_cb = cb;
    s->vt->close(s);
}

int ufrpc_stream_unread(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    if (s->vt->unread == NULL)
        return UFRPC_ERR_UNSUPPORTED;
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    return s->vt->unread(s, buf, data, len);
}

int ufrpc_stream_set_read_pool(struct ufrpc_stream *s, unsigned max_free)
{
    if (s->vt->set_read_pool == NULL)
        return UFRPC_ERR_UNSUPPORTED;
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    return s->vt->set_read_pool(s, max_free);
}

bool ufrpc_stream_copies_writes(const struct ufrpc_stream *s)
{
    return s->vt->copies_writes != NULL && s->vt->copies_writes(s) != 0;
}

int ufrpc_stream_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    if (s->vt->try_write == NULL)
        return nbufs == 0 ? UFRPC_ERR_UNSUPPORTED : 0;
    return s->vt->try_write(s, bufs, nbufs);
}

size_t ufrpc_stream_write_room(const struct ufrpc_stream *s)
{
    if (s->closing || s->vt->write_room == NULL)
        return SIZE_MAX;
    return s->vt->write_room(s);
}

int ufrpc_stream_notify_writable(struct ufrpc_stream *s, ufrpc_stream_writable_cb cb)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    if (s->vt->notify_writable == NULL || cb == NULL)
        return s->vt->notify_writable == NULL ? UFRPC_ERR_UNSUPPORTED : UFRPC_ERR_INVAL;
    return s->vt->notify_writable(s, cb);
}

int ufrpc_stream_set_read_gate(struct ufrpc_stream *s, ufrpc_stream_read_gate_fn gate, void *arg)
{
    if (s->closing)
        return UFRPC_ERR_CLOSED;
    if (s->vt->set_read_gate == NULL)
        return UFRPC_ERR_UNSUPPORTED;
    return s->vt->set_read_gate(s, gate, arg);
}

size_t ufrpc_iov_total(const uv_buf_t *bufs, unsigned nbufs)
{
    size_t n = 0;
    for (unsigned i = 0; i < nbufs; i++)
        n += bufs[i].len;
    return n;
}

int ufrpc_net_uv_err(int e)
{
    switch (e) {
    case 0:
        return 0;
    case UV_EOF:
        return UFRPC_ERR_EOF;
    case UV_ECONNREFUSED:
        return UFRPC_ERR_CONNECT_REFUSED;
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_ECONNABORTED:
        return UFRPC_ERR_CONN_RESET;
    case UV_ETIMEDOUT:
        return UFRPC_ERR_TIMEOUT;
    case UV_EADDRINUSE:
        return UFRPC_ERR_ADDR_IN_USE;
    case UV_ENOMEM:
    case UV_ENOBUFS:
        return UFRPC_ERR_NOMEM;
    case UV_ECANCELED:
        return UFRPC_ERR_CANCELED;
    case UV_EINVAL:
        return UFRPC_ERR_INVAL;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EADDRNOTAVAIL:
    case UV_EAFNOSUPPORT:
        return UFRPC_ERR_CONNECT;
    case UV_EAI_NONAME:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL:
    case UV_EAI_NODATA:
    case UV_EAI_FAMILY:
    case UV_EAI_SERVICE:
    case UV_EAI_ADDRFAMILY:
        return UFRPC_ERR_DNS;
    case UV_EAI_CANCELED:
        return UFRPC_ERR_CANCELED;
    case UV_EAI_MEMORY:
        return UFRPC_ERR_NOMEM;
    default:
        return UFRPC_ERR_NET;
    }
}
