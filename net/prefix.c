/* ufrpc — prefix stream (see prefix.h). */
#include "net/prefix.h"

#include <stdlib.h>
#include <string.h>

#include "net/layer.h"
#include "proto/error.h"

struct pfx {
    struct ufrpc_stream s; /* first: the public face */
    struct ufrpc_layer layer; /* the lower stream, closing */
    uv_idle_t idle;
    ufrpc_rbuf_t *buf; /* prefix not yet delivered, or NULL */
    size_t len;
    int reading;
};

static void lower_read(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                       const uint8_t *data, size_t len)
{
    struct pfx *p = (struct pfx *)ufrpc_layer_up(lower);
    p->s.read_cb(&p->s, status, buf, data, len);
}

static void on_idle(uv_idle_t *h)
{
    struct pfx *p = h->data;
    uv_idle_stop(h);
    if (!p->reading || p->s.closing)
        return;
    ufrpc_rbuf_t *b = p->buf;
    size_t n = p->len;
    p->buf = NULL;
    p->len = 0;
    if (b != NULL) {
        p->s.read_cb(&p->s, 0, b, b->base, n);
        ufrpc_rbuf_unref(b);
    }
    if (p->reading && !p->s.closing) {
        int rc = ufrpc_stream_read_start(p->layer.lower, lower_read);
        if (rc < 0) {
            p->reading = 0;
            p->s.read_cb(&p->s, rc, NULL, NULL, 0);
        }
    }
}

static int pfx_read_start(struct ufrpc_stream *s)
{
    struct pfx *p = (struct pfx *)s;
    p->reading = 1;
    if (p->buf != NULL)
        return uv_idle_start(&p->idle, on_idle) < 0 ? UFRPC_ERR_NET : 0;
    return ufrpc_stream_read_start(p->layer.lower, lower_read);
}

static int pfx_read_stop(struct ufrpc_stream *s)
{
    struct pfx *p = (struct pfx *)s;
    p->reading = 0;
    uv_idle_stop(&p->idle);
    return ufrpc_stream_read_stop(p->layer.lower);
}

static int pfx_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct pfx *p = (struct pfx *)s;
    return ufrpc_stream_write(p->layer.lower, req, req->bufs, req->nbufs, req->cb);
}

static int pfx_copies_writes(const struct ufrpc_stream *s)
{
    return ufrpc_stream_copies_writes(((const struct pfx *)s)->layer.lower);
}

static int pfx_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs)
{
    return ufrpc_stream_try_write(((struct pfx *)s)->layer.lower, bufs, nbufs);
}

static size_t pfx_queued(const struct ufrpc_stream *s)
{
    const struct pfx *p = (const struct pfx *)s;
    return ufrpc_stream_queued(p->layer.lower);
}

static void on_lower_shut(struct ufrpc_stream *lower, int status)
{
    struct pfx *p = (struct pfx *)ufrpc_layer_up(lower);
    if (p->s.shutdown_cb != NULL)
        p->s.shutdown_cb(&p->s, status);
}

static int pfx_shutdown(struct ufrpc_stream *s)
{
    struct pfx *p = (struct pfx *)s;
    return ufrpc_stream_shutdown(p->layer.lower, on_lower_shut);
}

static void pfx_destroy(struct ufrpc_stream *s)
{
    struct pfx *p = (struct pfx *)s;
    ufrpc_rbuf_unref(p->buf);
    free(p);
}

static void pfx_close(struct ufrpc_stream *s)
{
    struct pfx *p = (struct pfx *)s;
    p->reading = 0;
    uv_handle_t *const hs[] = {(uv_handle_t *)&p->idle};
    ufrpc_layer_close(&p->layer, hs, 1);
}

static const struct ufrpc_stream_vt pfx_vt = {
    .read_start = pfx_read_start,
    .read_stop = pfx_read_stop,
    .write = pfx_write,
    .copies_writes = pfx_copies_writes,
    .queued = pfx_queued,
    .shutdown = pfx_shutdown,
    .close = pfx_close,
    .unread = NULL,
    .try_write = pfx_try_write,
};

struct ufrpc_stream *ufrpc_prefix_stream_new(struct ufrpc_stream *lower, const uint8_t *data,
                                             size_t len, int *err)
{
    struct pfx *p = calloc(1, sizeof *p);
    if (p == NULL || (len > 0 && data == NULL)) {
        *err = p == NULL ? UFRPC_ERR_NOMEM : UFRPC_ERR_INVAL;
        goto fail;
    }
    if (len > 0) {
        if ((p->buf = ufrpc_rbuf_new(len)) == NULL) {
            *err = UFRPC_ERR_NOMEM;
            goto fail;
        }
        memcpy(p->buf->base, data, len);
        p->len = len;
    }
    int rc = uv_idle_init(lower->loop, &p->idle);
    if (rc < 0) {
        *err = ufrpc_net_uv_err(rc);
        goto fail;
    }
    p->idle.data = p;
    ufrpc_layer_init(&p->layer, &p->s, &pfx_vt, NULL, lower, NULL, pfx_destroy);
    *err = 0;
    return &p->s;
fail:
    if (p != NULL)
        ufrpc_rbuf_unref(p->buf);
    free(p);
    ufrpc_stream_close(lower, NULL);
    return NULL;
}
