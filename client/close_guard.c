/* Close guard: defer the lower stream's close to the next loop turn. */
#include "client/close_guard.h"

#include <stdlib.h>

#include "proto/error.h"

struct guard {
    struct ufrpc_stream s; /* first: the public face */
    struct ufrpc_stream *lower;
    uv_timer_t defer;
    int handles; /* timer + lower, once closing */
};

static void lower_read(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                       const uint8_t *data, size_t len)
{
    struct guard *g = lower->data;
    if (g->s.closing)
        return;
    g->s.read_cb(&g->s, status, buf, data, len);
}

static int g_read_start(struct ufrpc_stream *s)
{
    return ufrpc_stream_read_start(((struct guard *)s)->lower, lower_read);
}

static int g_read_stop(struct ufrpc_stream *s)
{
    return ufrpc_stream_read_stop(((struct guard *)s)->lower);
}

static int g_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    return ufrpc_stream_write(((struct guard *)s)->lower, req, req->bufs, req->nbufs, req->cb);
}

static size_t g_queued(const struct ufrpc_stream *s)
{
    return ufrpc_stream_queued(((const struct guard *)s)->lower);
}

static void on_lower_shut(struct ufrpc_stream *lower, int status)
{
    struct guard *g = lower->data;
    if (g->s.shutdown_cb)
        g->s.shutdown_cb(&g->s, status);
}

static int g_shutdown(struct ufrpc_stream *s)
{
    return ufrpc_stream_shutdown(((struct guard *)s)->lower, on_lower_shut);
}

static void closed_one(struct guard *g)
{
    if (--g->handles > 0)
        return;
    if (g->s.close_cb)
        g->s.close_cb(&g->s);
    free(g);
}

static void on_lower_closed(struct ufrpc_stream *lower)
{
    closed_one(lower->data);
}

static void on_timer_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void on_defer(uv_timer_t *t)
{
    struct guard *g = t->data;
    uv_close((uv_handle_t *)&g->defer, on_timer_closed);
    ufrpc_stream_close(g->lower, on_lower_closed);
}

static void g_close(struct ufrpc_stream *s)
{
    struct guard *g = (struct guard *)s;
    ufrpc_stream_read_stop(g->lower);
    g->handles = 2;
    uv_timer_start(&g->defer, on_defer, 0, 0);
}

static const struct ufrpc_stream_vt guard_vt = {
    .read_start = g_read_start,
    .read_stop = g_read_stop,
    .write = g_write,
    .queued = g_queued,
    .shutdown = g_shutdown,
    .close = g_close,
    .unread = NULL,
};

struct ufrpc_stream *ufrpc_close_guard_new(struct ufrpc_stream *lower, int *err)
{
    struct guard *g = calloc(1, sizeof *g);
    if (!g || uv_timer_init(lower->loop, &g->defer) != 0) {
        *err = g ? UFRPC_ERR_IO : UFRPC_ERR_NOMEM;
        free(g);
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    g->defer.data = g;
    g->lower = lower;
    g->s.vt = &guard_vt;
    g->s.loop = lower->loop;
    lower->data = g;
    *err = 0;
    return &g->s;
}
