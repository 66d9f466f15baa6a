/* ufrpc — bidirectional pump with bounded buffering and half-close. */
#include "net/pump.h"

#include <stdlib.h>

#include "proto/error.h"

#define FREE_REQS_MAX 8

struct pump_req {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    ufrpc_rbuf_t *rb;
    size_t held;
    struct dir *d;
    struct pump_req *next_free;
};

struct dir {
    ufrpc_pump_t *p;
    struct ufrpc_stream *from, *to;
    uint64_t bytes;
    size_t held, held_max;
    int paused;
    int eof;
    int done;
    int end_at_eof; /* passing on this direction's EOF ends the pump */
    int direct;     /* `to` takes bytes through ufrpc_stream_try_write */
    int gated;      /* `from` reads no more than `to` takes now (read gate) */
    int read_once;  /* `from` delivered bytes: the gate applies from then on */
};

struct ufrpc_pump {
    struct dir d[2]; /* 0: a -> b, 1: b -> a */
    size_t max;
    ufrpc_pump_done_cb cb;
    void *data;
    int ending;
    int last_fin; /* the orderly end after a marked EOF has been asked for */
    int status;
    int open_streams;
    struct ufrpc_stream *closed; /* the one stream closed before the pump ends */
    struct pump_req *free_reqs;
    unsigned nfree;
};

static void fill_stats(const ufrpc_pump_t *p, struct ufrpc_pump_stats *st)
{
    st->a_to_b = p->d[0].bytes;
    st->b_to_a = p->d[1].bytes;
    st->buffered_a_to_b = p->d[0].held;
    st->buffered_b_to_a = p->d[1].held;
    st->max_buffered_a_to_b = p->d[0].held_max;
    st->max_buffered_b_to_a = p->d[1].held_max;
}

void ufrpc_pump_get_stats(const ufrpc_pump_t *p, struct ufrpc_pump_stats *st)
{
    fill_stats(p, st);
}

static void on_stream_closed(struct ufrpc_stream *s)
{
    ufrpc_pump_t *p = s->data;
    if (--p->open_streams > 0)
        return;
    struct ufrpc_pump_stats st;
    fill_stats(p, &st);
    p->cb(p, p->status, &st, p->data);
    while (p->free_reqs != NULL) {
        struct pump_req *r = p->free_reqs;
        p->free_reqs = r->next_free;
        free(r);
    }
    free(p);
}

static void close_stream(ufrpc_pump_t *p, struct ufrpc_stream *s)
{
    if (p->closed == s)
        return;
    if (p->closed == NULL)
        p->closed = s;
    ufrpc_stream_close(s, on_stream_closed);
}

static void pump_end(ufrpc_pump_t *p, int status)
{
    if (p->ending)
        return;
    p->ending = 1;
    p->status = status;
    close_stream(p, p->d[0].from);
    close_stream(p, p->d[1].from);
}

void ufrpc_pump_abort(ufrpc_pump_t *p)
{
    pump_end(p, UFRPC_ERR_CANCELED);
}

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                    const uint8_t *data, size_t len);

/* The read gate of a gated direction: a read takes no more than the destination
 * takes now, so it goes on whole (no request, the buffer back at once), and a
 * destination that takes nothing stops the read before it takes a buffer. */
static size_t gate_room(void *arg)
{
    struct dir *d = arg;
    /* A stream's first read is not gated: under load, a new stream would
     * otherwise queue for room behind every busy one and start late (the
     * bench's 128 downloads took up to 30 % longer); one buffer it may hold
     * is the price. */
    if (d->p->ending || !d->read_once)
        return SIZE_MAX;
    return ufrpc_stream_write_room(d->to);
}

/* `to` of a gated direction may take bytes again (or has failed): read on. */
static void on_to_writable(struct ufrpc_stream *s)
{
    ufrpc_pump_t *p = s->data;
    struct dir *d = p->d[0].to == s ? &p->d[0] : &p->d[1];
    if (p->ending || !d->paused || d->eof || d->held > 0)
        return;
    d->paused = 0;
    int rc = ufrpc_stream_read_start(d->from, on_read);
    if (rc < 0)
        pump_end(p, rc);
}

static void on_write(struct ufrpc_stream_write *w, int status)
{
    struct pump_req *r = w->data;
    struct dir *d = r->d;
    ufrpc_pump_t *p = d->p;
    d->held -= r->held;
    if (status == 0)
        d->bytes += r->b.len;
    ufrpc_rbuf_unref(r->rb);
    if (p->nfree < FREE_REQS_MAX) {
        r->next_free = p->free_reqs;
        p->free_reqs = r;
        p->nfree++;
    } else {
        free(r);
    }
    if (p->ending)
        return;
    if (status < 0) {
        pump_end(p, status);
        return;
    }
    if (d->paused && !d->eof && d->held <= p->max / 2) {
        d->paused = 0;
        int rc = ufrpc_stream_read_start(d->from, on_read);
        if (rc < 0)
            pump_end(p, rc);
    }
}

static void on_shutdown(struct ufrpc_stream *s, int status)
{
    ufrpc_pump_t *p = s->data;
    if (p->ending)
        return;
    if (status < 0) {
        /* the last FIN after a marked EOF: everything was written, so a peer that
         * has closed first (as io.Join does on its side) loses nothing */
        pump_end(p, p->last_fin ? 0 : status);
        return;
    }
    struct dir *d = p->d[0].to == s ? &p->d[0] : &p->d[1];
    d->done = 1;
    struct dir *r = d == &p->d[0] ? &p->d[1] : &p->d[0];
    if (d->end_at_eof && r->held > 0) {
        pump_end(p, 0); /* what is still being written is stale: dropped */
        return;
    }
    if (d->end_at_eof && !r->eof) {
        /* the other side is closed now, so nothing more is read from it; an orderly
         * end (FIN, close frame, close_notify) follows */
        r->eof = 1;
        close_stream(p, r->from);
        p->last_fin = 1;
        int rc = ufrpc_stream_shutdown(r->to, on_shutdown);
        if (rc < 0)
            pump_end(p, rc);
        return;
    }
    if (p->d[0].done && p->d[1].done)
        pump_end(p, 0);
}

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                    const uint8_t *data, size_t len)
{
    ufrpc_pump_t *p = s->data;
    struct dir *d = p->d[0].from == s ? &p->d[0] : &p->d[1];
    if (p->ending || s == p->closed)
        return;
    if (status == UFRPC_ERR_AGAIN && d->gated) {
        /* the gate said 0: the source stopped without taking a buffer */
        d->paused = 1;
        if (d->held > 0)
            return; /* on_write reads on */
        int rc = ufrpc_stream_notify_writable(d->to, on_to_writable);
        if (rc < 0)
            pump_end(p, rc);
        return;
    }
    if (status == UFRPC_ERR_EOF) {
        d->eof = 1;
        int rc = ufrpc_stream_shutdown(d->to, on_shutdown);
        if (rc < 0)
            pump_end(p, rc);
        return;
    }
    if (status < 0) {
        pump_end(p, status);
        return;
    }
    d->read_once = 1;
    /* what the kernel takes at once (TCP) needs no request and no reference:
     * the read buffer goes back to its pool now, warm for the next read of this
     * or another connection, instead of one buffer per connection staying out
     * until the write callback of the next loop iteration */
    uv_buf_t now = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    int sent = ufrpc_stream_try_write(d->to, &now, 1);
    if (sent < 0) {
        pump_end(p, sent);
        return;
    }
    d->bytes += (size_t)sent;
    if ((size_t)sent == len)
        return;
    data += sent;
    len -= (size_t)sent;
    struct pump_req *r = p->free_reqs;
    if (r != NULL) {
        p->free_reqs = r->next_free;
        p->nfree--;
    } else if ((r = malloc(sizeof *r)) == NULL) {
        pump_end(p, UFRPC_ERR_NOMEM);
        return;
    }
    ufrpc_rbuf_ref(buf);
    r->rb = buf;
    r->d = d;
    r->held = buf->cap < len ? len : buf->cap;
    r->b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    r->w.data = r;
    int rc = ufrpc_stream_write(d->to, &r->w, &r->b, 1, on_write);
    if (rc < 0) {
        ufrpc_rbuf_unref(buf);
        free(r);
        pump_end(p, rc);
        return;
    }
    /* a stream that has copied the bytes (TLS) does not need the read buffer
     * any more: it goes back now, still warm in the cache, for the next read of
     * this or another connection, instead of one buffer per connection staying
     * out until the next loop iteration; held keeps counting it until the
     * callback, which bounds what the stream below holds instead */
    if (ufrpc_stream_copies_writes(d->to)) {
        ufrpc_rbuf_unref(r->rb);
        r->rb = NULL;
    }
    d->held += r->held;
    if (d->held > d->held_max)
        d->held_max = d->held;
    /* a destination that takes bytes directly has its own bounded queue (the
     * kernel's socket buffer, a yamux session's output ring): when that is full,
     * reading on only moves bytes from the source's kernel buffer to ours, so one
     * write in flight is enough (as a blocking copy loop); the others (TLS) queue
     * up to max */
    if (d->held >= p->max || d->direct) {
        d->paused = 1;
        ufrpc_stream_read_stop(s);
    }
}

void ufrpc_pump_end_at_eof(ufrpc_pump_t *p, const struct ufrpc_stream *from)
{
    for (int i = 0; i < 2; i++)
        if (p->d[i].from == from)
            p->d[i].end_at_eof = 1;
}

int ufrpc_pump_start(struct ufrpc_stream *a, struct ufrpc_stream *b, size_t max_buffered,
                     ufrpc_pump_done_cb cb, void *data, ufrpc_pump_t **out)
{
    ufrpc_pump_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        ufrpc_stream_close(a, NULL);
        ufrpc_stream_close(b, NULL);
        return UFRPC_ERR_NOMEM;
    }
    p->max = max_buffered ? max_buffered : UFRPC_PUMP_DEFAULT_MAX_BUFFERED;
    p->cb = cb;
    p->data = data;
    p->open_streams = 2;
    p->d[0] = (struct dir){.p = p, .from = a, .to = b};
    p->d[1] = (struct dir){.p = p, .from = b, .to = a};
    for (int i = 0; i < 2; i++) {
        struct dir *d = &p->d[i];
        d->direct = ufrpc_stream_try_write(d->to, NULL, 0) == 0;
        /* a destination that says when it takes bytes again (a yamux stream)
         * and a source that can be gated (TCP): reads wait for room */
        if (d->direct && d->to->vt->notify_writable != NULL &&
            ufrpc_stream_set_read_gate(d->from, gate_room, d) == 0)
            d->gated = 1;
    }
    a->data = p;
    b->data = p;
    int rc = ufrpc_stream_read_start(a, on_read);
    if (rc == 0)
        rc = ufrpc_stream_read_start(b, on_read);
    if (rc < 0) {
        ufrpc_stream_close(a, NULL);
        ufrpc_stream_close(b, NULL);
        free(p);
        return rc;
    }
    if (out != NULL)
        *out = p;
    return 0;
}
