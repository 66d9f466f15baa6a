/* ufrpc — a struct ufrpc_stream over a libuv unix-socket pipe (for the
 * unix_domain_socket plugin). Same buffer policy as net/tcp.c: one 64 KiB
 * refcounted read buffer, reused when the consumer kept no reference. */
#include <stdlib.h>
#include <string.h>

#include "client/plugin_internal.h"
#include "proto/error.h"

struct pipe_s {
    struct ufrpc_stream s;
    uv_pipe_t h;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    ufrpc_rbuf_t *cur;
    pipe_connect_cb ccb;
    void *carg;
    int reading, ended;
};

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct pipe_s *t = h->data;
    (void)hint;
    if (t->cur != NULL && t->cur->refs != 1) {
        ufrpc_rbuf_unref(t->cur);
        t->cur = NULL;
    }
    if (t->cur == NULL)
        t->cur = ufrpc_rbuf_new(UFRPC_READ_BUF_SIZE);
    *buf = t->cur != NULL ? uv_buf_init((char *)t->cur->base, (unsigned)t->cur->cap)
                          : uv_buf_init(NULL, 0);
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    struct pipe_s *t = h->data;
    (void)buf;
    if (n == 0)
        return;
    if (n > 0) {
        t->s.read_cb(&t->s, 0, t->cur, t->cur->base, (size_t)n);
        return;
    }
    uv_read_stop(h);
    t->reading = 0;
    t->ended = 1;
    t->s.read_cb(&t->s, ufrpc_net_uv_err((int)n), NULL, NULL, 0);
}

static int p_read_start(struct ufrpc_stream *s)
{
    struct pipe_s *t = (struct pipe_s *)s;
    if (t->ended)
        return UFRPC_ERR_STATE;
    if (t->reading)
        return 0;
    int rc = uv_read_start((uv_stream_t *)&t->h, on_alloc, on_read);
    t->reading = rc == 0;
    return ufrpc_net_uv_err(rc);
}

static int p_read_stop(struct ufrpc_stream *s)
{
    struct pipe_s *t = (struct pipe_s *)s;
    t->reading = 0;
    uv_read_stop((uv_stream_t *)&t->h);
    return 0;
}

static void on_write(uv_write_t *w, int status)
{
    struct ufrpc_stream_write *req = w->data;
    req->cb(req, ufrpc_net_uv_err(status));
}

static int p_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct pipe_s *t = (struct pipe_s *)s;
    req->uv.data = req;
    return ufrpc_net_uv_err(
        uv_write(&req->uv, (uv_stream_t *)&t->h, req->bufs, req->nbufs, on_write));
}

static size_t p_queued(const struct ufrpc_stream *s)
{
    const struct pipe_s *t = (const struct pipe_s *)s;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&t->h);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    struct pipe_s *t = r->data;
    t->s.shutdown_cb(&t->s, ufrpc_net_uv_err(status));
}

static int p_shutdown(struct ufrpc_stream *s)
{
    struct pipe_s *t = (struct pipe_s *)s;
    t->sreq.data = t;
    return ufrpc_net_uv_err(uv_shutdown(&t->sreq, (uv_stream_t *)&t->h, on_shutdown));
}

static void on_closed(uv_handle_t *h)
{
    struct pipe_s *t = h->data;
    if (t->s.close_cb != NULL)
        t->s.close_cb(&t->s);
    ufrpc_rbuf_unref(t->cur);
    free(t);
}

static void p_close(struct ufrpc_stream *s)
{
    struct pipe_s *t = (struct pipe_s *)s;
    t->reading = 0;
    t->ccb = NULL; /* a pending connect callback is not reported after close */
    uv_close((uv_handle_t *)&t->h, on_closed);
}

static const struct ufrpc_stream_vt pipe_vt = {
    .read_start = p_read_start,
    .read_stop = p_read_stop,
    .write = p_write,
    .queued = p_queued,
    .shutdown = p_shutdown,
    .close = p_close,
    .unread = NULL,
};

static void on_connect(uv_connect_t *r, int status)
{
    struct pipe_s *t = r->data;
    pipe_connect_cb cb = t->ccb;
    t->ccb = NULL;
    if (cb != NULL)
        cb(&t->s, ufrpc_net_uv_err(status), t->carg);
}

struct ufrpc_stream *ufrpc_pl_pipe_stream_connect(uv_loop_t *loop, const char *path,
                                                  pipe_connect_cb cb, void *arg, int *err)
{
    struct pipe_s *t = calloc(1, sizeof *t);
    if (t == NULL) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    int rc = uv_pipe_init(loop, &t->h, 0);
    if (rc < 0) {
        free(t);
        *err = ufrpc_net_uv_err(rc);
        return NULL;
    }
    t->h.data = t;
    t->s.vt = &pipe_vt;
    t->s.loop = loop;
    t->ccb = cb;
    t->carg = arg;
    t->creq.data = t;
    uv_pipe_connect(&t->creq, &t->h, path, on_connect);
    *err = 0;
    return &t->s;
}
