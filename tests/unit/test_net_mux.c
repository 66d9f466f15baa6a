/* net/mux: a client-role and a server-role session over one loopback TCP
 * connection; several streams move data both ways, some with a slow consumer;
 * every byte is checked, and what a stream holds never exceeds its window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/dial.h"
#include "net/mux.h"
#include "net/pump.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "net/nettest.h"
#include "proto/error.h"

#define NSTREAMS 4
#define WINDOW (256u * 1024u)
#define PER_STREAM (16ull << 20)

struct env {
    uv_loop_t loop;
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *ctr, *str;
    ufrpc_mux_t *cm, *sm;
    uint8_t *pat;
    struct nt_peer cp[NSTREAMS], sp[NSTREAMS];
    struct ufrpc_stream *sst[NSTREAMS];
    int naccepted;
    int dial_done;
    int errors;
    size_t max_unconsumed;
    uv_check_t check;
    int closed;
    void *user;
};

static void on_tcp_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct env *e = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    e->str = c;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct env *e = data;
    (void)d;
    assert_int_equal(status, 0);
    e->ctr = s;
    e->dial_done = 1;
}

static int connected(void *a)
{
    struct env *e = a;
    return e->ctr != NULL && e->str != NULL;
}

static void on_mux_error(ufrpc_mux_t *m, int err, void *data)
{
    struct env *e = data;
    (void)m;
    (void)err;
    e->errors++;
}

/* Server side: stream i (in accept order) answers with its own pattern slice and
 * reads slowly when i is even. */
static void on_stream_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    struct env *e = data;
    (void)m;
    int i = e->naccepted++;
    assert_true(i < NSTREAMS);
    e->sst[i] = st;
    struct nt_peer *p = &e->sp[i];
    memset(p, 0, sizeof *p);
    p->pat = e->pat;
    p->to_send = PER_STREAM;
    p->send_base = 5000u * (unsigned)i + 1;
    p->recv_base = 7000u * (unsigned)i;
    p->slow_every = (i % 2 == 0) ? 256 * 1024 : 0;
    assert_int_equal(nt_peer_start(p, st), 0);
}

static void on_check(uv_check_t *c)
{
    struct env *e = c->data;
    for (int i = 0; i < e->naccepted; i++) {
        if (e->sp[i].closed)
            continue;
        ufrpc_yamux_stream_t *ys = ufrpc_mux_stream_yamux(e->sst[i]);
        if (ys != NULL) {
            /* the stream's own high-water mark: a sample of the current count can
             * miss the moments data waits (a busy or sanitised loop) */
            size_t u = ufrpc_yamux_stream_max_unconsumed(ys);
            if (u > e->max_unconsumed)
                e->max_unconsumed = u;
        }
    }
}

static int all_done(void *a)
{
    struct env *e = a;
    if (e->errors)
        return 1;
    for (int i = 0; i < NSTREAMS; i++) {
        if (!e->cp[i].eof || !e->cp[i].shut_done || e->cp[i].err)
            return e->cp[i].err != 0;
        if (i >= e->naccepted || !e->sp[i].eof || !e->sp[i].shut_done || e->sp[i].err)
            return i < e->naccepted && e->sp[i].err != 0;
    }
    return 1;
}

static void on_mux_closed(void *data)
{
    struct env *e = data;
    e->closed++;
}

static void test_mux_streams_slow_consumer(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    uv_loop_init(&e->loop);
    e->pat = nt_pattern();
    int err;
    e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_tcp_accept, e, &err);
    assert_non_null(e->l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->l)};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
    assert_true(nt_run_until(&e->loop, connected, e, 5000));

    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = WINDOW;
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    struct ufrpc_mux_callbacks scb = {.on_accept = on_stream_accept, .on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, &cfg, &ccb, e, &e->cm), 0);
    assert_int_equal(ufrpc_mux_new(&e->loop, e->str, UFRPC_YAMUX_SERVER, &cfg, &scb, e, &e->sm), 0);
    uv_check_init(&e->loop, &e->check);
    e->check.data = e;
    uv_check_start(&e->check, on_check);

    for (int i = 0; i < NSTREAMS; i++) {
        struct ufrpc_stream *st;
        assert_int_equal(ufrpc_mux_open(e->cm, &st), 0);
        struct nt_peer *p = &e->cp[i];
        p->pat = e->pat;
        p->to_send = PER_STREAM;
        p->send_base = 7000u * (unsigned)i;
        p->recv_base = 5000u * (unsigned)i + 1;
        assert_int_equal(nt_peer_start(p, st), 0);
    }
    assert_true(nt_run_until(&e->loop, all_done, e, 60000));
    assert_int_equal(e->errors, 0);
    assert_int_equal(e->naccepted, NSTREAMS);
    for (int i = 0; i < NSTREAMS; i++) {
        assert_int_equal(e->cp[i].err, 0);
        assert_int_equal(e->sp[i].err, 0);
        assert_int_equal(e->cp[i].mismatch, 0);
        assert_int_equal(e->sp[i].mismatch, 0);
        assert_true(e->cp[i].received == PER_STREAM);
        assert_true(e->sp[i].received == PER_STREAM);
    }
    print_message("max unconsumed on a stream: %zu (window %u)\n", e->max_unconsumed, WINDOW);
    assert_true(e->max_unconsumed <= WINDOW);
    assert_true(e->max_unconsumed >= WINDOW / 4); /* the slow readers did let data wait */

    for (int i = 0; i < NSTREAMS; i++) {
        nt_peer_close(&e->cp[i]);
        nt_peer_close(&e->sp[i]);
    }
    uv_close((uv_handle_t *)&e->check, NULL);
    ufrpc_mux_close(e->cm, on_mux_closed);
    ufrpc_mux_close(e->sm, on_mux_closed);
    ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(e->closed, 2);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e->pat);
    free(e);
}

static int peer_failed(void *a)
{
    return ((struct nt_peer *)a)->err != 0;
}

/* Closing the server transport fails the client's open streams. */
static void test_mux_transport_loss(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    uv_loop_init(&e->loop);
    e->pat = nt_pattern();
    int err;
    e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_tcp_accept, e, &err);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->l)};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
    assert_true(nt_run_until(&e->loop, connected, e, 5000));
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, NULL, &ccb, e, &e->cm), 0);
    struct ufrpc_stream *st;
    assert_int_equal(ufrpc_mux_open(e->cm, &st), 0);
    struct nt_peer *p = &e->cp[0];
    p->pat = e->pat;
    p->no_shutdown = 1;
    assert_int_equal(nt_peer_start(p, st), 0);
    ufrpc_stream_close(e->str, NULL);
    e->str = NULL;
    assert_true(nt_run_until(&e->loop, peer_failed, p, 5000));
    /* EOF or RST of the transport, depending on what the kernel saw */
    assert_true(p->err == UFRPC_ERR_YAMUX_SESSION_CLOSED || p->err == UFRPC_ERR_CONN_RESET);
    assert_int_equal(e->errors, 1);
    nt_peer_close(p);
    ufrpc_mux_close(e->cm, on_mux_closed);
    ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(e->closed, 1);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e->pat);
    free(e);
}

/* Closing a mux stream from inside its own write, shutdown or read callback
 * (what the pump does on its last event) must not touch the freed stream. */
struct cic {
    struct env *e;
    int closed;
    int accepted;
    struct ufrpc_stream_write w;
};

static void cic_closed(struct ufrpc_stream *s)
{
    ((struct cic *)s->data)->closed++;
}

static void cic_write_cb(struct ufrpc_stream_write *w, int status)
{
    struct ufrpc_stream *s = w->data;
    assert_int_equal(status, 0);
    ufrpc_stream_close(s, cic_closed);
}

static void cic_shut_cb(struct ufrpc_stream *s, int status)
{
    assert_int_equal(status, 0);
    ufrpc_stream_close(s, cic_closed);
}

static void cic_read_cb(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                        const uint8_t *data, size_t len)
{
    (void)buf;
    (void)data;
    (void)len;
    (void)status;
    ufrpc_stream_close(s, cic_closed);
}

static void cic_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    struct cic *c = ((struct env *)data)->user;
    (void)m;
    st->data = c;
    c->accepted++;
    assert_int_equal(ufrpc_stream_read_start(st, cic_read_cb), 0);
}

static int cic_done(void *a)
{
    struct cic *c = a;
    return c->closed == 5 && c->accepted == 3;
}

static void test_mux_close_in_callbacks(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    struct cic c = {.e = e};
    e->user = &c;
    uv_loop_init(&e->loop);
    int err;
    e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_tcp_accept, e, &err);
    assert_non_null(e->l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->l)};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
    assert_true(nt_run_until(&e->loop, connected, e, 5000));
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    struct ufrpc_mux_callbacks scb = {.on_accept = cic_accept, .on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, NULL, &ccb, e, &e->cm),
                     0);
    assert_int_equal(ufrpc_mux_new(&e->loop, e->str, UFRPC_YAMUX_SERVER, NULL, &scb, e, &e->sm),
                     0);
    struct ufrpc_stream *a, *b;
    assert_int_equal(ufrpc_mux_open(e->cm, &a), 0);
    assert_int_equal(ufrpc_mux_open(e->cm, &b), 0);
    a->data = &c;
    b->data = &c;
    c.w.data = a;
    uv_buf_t buf = uv_buf_init((char *)"hello", 5);
    assert_int_equal(ufrpc_stream_write(a, &c.w, &buf, 1, cic_write_cb), 0);
    assert_int_equal(ufrpc_stream_shutdown(b, cic_shut_cb), 0);
    /* a shutdown without a callback is allowed, and only once */
    struct ufrpc_stream *d;
    assert_int_equal(ufrpc_mux_open(e->cm, &d), 0);
    d->data = &c;
    assert_int_equal(ufrpc_stream_shutdown(d, NULL), 0);
    assert_int_equal(ufrpc_stream_shutdown(d, NULL), UFRPC_ERR_STATE);
    /* a (write cb), b (shutdown cb), and the three accepted streams (read cb) */
    assert_true(nt_run_until(&e->loop, cic_done, &c, 5000));
    assert_int_equal(c.accepted, 3);
    assert_int_equal(e->errors, 0);
    ufrpc_stream_close(d, cic_closed);
    ufrpc_mux_close(e->cm, on_mux_closed);
    ufrpc_mux_close(e->sm, on_mux_closed);
    ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(e->closed, 2);
    assert_int_equal(c.closed, 6); /* d and its accepted side too */
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e);
}

/* The owner closes the mux from inside on_error, which runs while the session is
 * parsing the bad input that caused it (the usual reaction to the error). */
static void close_on_error(ufrpc_mux_t *m, int err, void *data)
{
    struct env *e = data;
    (void)err;
    e->errors++;
    ufrpc_mux_close(m, on_mux_closed);
}

static int mux_closed_once(void *a)
{
    return ((struct env *)a)->closed == 1;
}

static void test_mux_close_in_on_error(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    uv_loop_init(&e->loop);
    int err;
    e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_tcp_accept, e, &err);
    assert_non_null(e->l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->l)};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
    assert_true(nt_run_until(&e->loop, connected, e, 5000));
    struct ufrpc_mux_callbacks ccb = {.on_error = close_on_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, NULL, &ccb, e, &e->cm), 0);
    /* a header with version 7 and more bytes behind it in the same read */
    static const char junk[24] = {7, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)junk, sizeof junk);
    assert_int_equal(ufrpc_stream_write(e->str, &w, &b, 1, NULL), 0);
    assert_true(nt_run_until(&e->loop, mux_closed_once, e, 5000));
    assert_int_equal(e->errors, 1);
    ufrpc_stream_close(e->str, NULL);
    ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e);
}


/* ---- references: a consumer that keeps the delivered buffers --------------------- */
#define HOLD_MAX 4096
#define HOLD_SEND (1u << 20)

struct holder {
    struct env *e;
    struct ufrpc_stream *st;
    ufrpc_rbuf_t *bufs[HOLD_MAX];
    size_t n;
    uint64_t received;
    int mismatch, status, reading;
    size_t max_pinned_over; /* max of pinned - ref_bytes seen */
};

static void holder_note_pins(struct holder *h)
{
    size_t pinned, ref;
    assert_int_equal(ufrpc_mux_stream_pinned(h->st, &pinned, &ref), 0);
    if (pinned > ref && pinned - ref > h->max_pinned_over)
        h->max_pinned_over = pinned - ref;
}

static void holder_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                        const uint8_t *data, size_t len)
{
    struct holder *h = s->data;
    if (status < 0) {
        h->status = status;
        return;
    }
    assert_true(h->n < HOLD_MAX);
    ufrpc_rbuf_ref(buf); /* keep the bytes beyond the callback */
    h->bufs[h->n++] = buf;
    size_t off = (size_t)(h->received % NT_PAT_LEN);
    while (len > 0) {
        size_t n = len < NT_PAT_LEN - off ? len : NT_PAT_LEN - off;
        if (memcmp(data, h->e->pat + off, n) != 0)
            h->mismatch = 1;
        data += n;
        len -= n;
        h->received += n;
        off = 0;
    }
    holder_note_pins(h);
}

static void holder_release(struct holder *h)
{
    for (size_t i = 0; i < h->n; i++)
        ufrpc_rbuf_unref(h->bufs[i]);
    h->n = 0;
}

static void holder_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    struct env *e = data;
    struct holder *h = e->user;
    (void)m;
    h->st = st;
    st->data = h;
    e->sst[e->naccepted++] = st;
    if (h->reading)
        assert_int_equal(ufrpc_stream_read_start(st, holder_read), 0);
}

static int holder_got(void *a)
{
    struct holder *h = a;
    return h->received >= HOLD_SEND || h->mismatch || h->status != 0;
}

static int never(void *a)
{
    (void)a;
    return 0;
}

static void env_connect(struct env *e)
{
    uv_loop_init(&e->loop);
    e->pat = nt_pattern();
    int err;
    e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_tcp_accept, e, &err);
    assert_non_null(e->l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->l)};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
    assert_true(nt_run_until(&e->loop, connected, e, 5000));
}

static void env_finish(struct env *e, int nmux)
{
    uv_close((uv_handle_t *)&e->check, NULL);
    if (e->cm != NULL)
        ufrpc_mux_close(e->cm, on_mux_closed);
    if (e->sm != NULL)
        ufrpc_mux_close(e->sm, on_mux_closed);
    ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(e->closed, nmux);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e->pat);
    free(e);
}

/* The consumer keeps every buffer it gets: the payload arrives as references to
 * the transport's read buffers (no copy), the window does not reopen while they
 * are held (the sender stalls at exactly one window), and it reopens once they
 * are dropped. */
static void test_mux_held_references_keep_window(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    struct holder *h = calloc(1, sizeof *h);
    h->e = e;
    h->reading = 1;
    e->user = h;
    env_connect(e);
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = WINDOW;
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    struct ufrpc_mux_callbacks scb = {.on_accept = holder_accept, .on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, &cfg, &ccb, e, &e->cm), 0);
    assert_int_equal(ufrpc_mux_new(&e->loop, e->str, UFRPC_YAMUX_SERVER, &cfg, &scb, e, &e->sm), 0);
    uv_check_init(&e->loop, &e->check);
    e->check.data = e;
    uv_check_start(&e->check, on_check);
    struct ufrpc_stream *st;
    assert_int_equal(ufrpc_mux_open(e->cm, &st), 0);
    struct nt_peer *p = &e->cp[0];
    p->pat = e->pat;
    p->to_send = HOLD_SEND;
    assert_int_equal(nt_peer_start(p, st), 0);

    nt_run_until(&e->loop, never, NULL, 300);
    assert_int_equal(e->errors, 0);
    assert_int_equal(h->mismatch, 0);
    assert_true(h->received == WINDOW); /* stalled: nothing consumed yet */
    assert_int_equal(ufrpc_yamux_stream_unconsumed(ufrpc_mux_stream_yamux(h->st)), WINDOW);
    struct ufrpc_mux_stats ms;
    ufrpc_mux_get_stats(e->sm, &ms);
    print_message("held: %zu buffers, referenced %llu copied %llu, pinned beyond payload %zu\n",
                  h->n, (unsigned long long)ms.bytes_referenced,
                  (unsigned long long)ms.bytes_copied, h->max_pinned_over);
    assert_true(ms.bytes_referenced + ms.bytes_copied == WINDOW);
    assert_true(ms.bytes_referenced >= WINDOW / 2); /* mostly no copy */
    assert_true(h->max_pinned_over <= 256u * 1024u);

    while (h->received < HOLD_SEND && !h->mismatch && h->status == 0) {
        holder_release(h); /* the window reopens only now */
        nt_run_until(&e->loop, holder_got, h, 100);
    }
    assert_true(nt_run_until(&e->loop, holder_got, h, 5000));
    assert_int_equal(h->mismatch, 0);
    assert_true(h->received == HOLD_SEND);
    assert_true(e->max_unconsumed <= WINDOW);
    holder_release(h);
    nt_peer_close(p);
    ufrpc_stream_close(h->st, NULL);
    env_finish(e, 2);
    free(h);
}

/* A peer that puts a little payload for a stream whose consumer does not read
 * into every transport buffer (the rest of each buffer goes elsewhere) must not
 * make that stream pin a whole 64 KiB buffer per frame: what it pins stays within
 * its payload + 256 KiB, and every byte still arrives intact once it reads. */
#define SMALL_FRAME 1100u
#define FILLER (60u * 1024u)

static void put_hdr(uint8_t *o, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    struct ufrpc_yamux_header hd = {.version = 0, .type = type, .flags = flags,
                                    .stream_id = id, .length = len};
    ufrpc_yamux_header_encode(o, &hd);
}

static void test_mux_interleaved_small_frames_bounded(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    struct holder *h = calloc(1, sizeof *h);
    h->e = e;
    h->reading = 0; /* not reading: everything is held */
    e->user = h;
    env_connect(e);
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = WINDOW; /* the raw peer may send 256 KiB per stream */
    struct ufrpc_mux_callbacks ccb = {.on_accept = holder_accept, .on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, &cfg, &ccb, e, &e->cm), 0);
    uv_check_init(&e->loop, &e->check);
    e->check.data = e;

    /* raw server side: SYN stream 2, then [1100 B for stream 2][60 KiB for an
     * unknown stream, drained] until stream 2 has its whole window */
    size_t frames = WINDOW / SMALL_FRAME;
    size_t total = 12 + frames * (24 + SMALL_FRAME + FILLER);
    uint8_t *wire = calloc(1, total);
    assert_non_null(wire);
    uint8_t *o = wire;
    put_hdr(o, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 2, 0);
    o += 12;
    for (size_t i = 0; i < frames; i++) {
        put_hdr(o, UFRPC_YAMUX_DATA, 0, 2, SMALL_FRAME);
        o += 12;
        memcpy(o, e->pat + (i * SMALL_FRAME) % NT_PAT_LEN, SMALL_FRAME);
        o += SMALL_FRAME;
        put_hdr(o, UFRPC_YAMUX_DATA, 0, 1001, FILLER);
        o += 12 + FILLER;
    }
    assert_true((size_t)(o - wire) == total);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)wire, (unsigned)total);
    assert_int_equal(ufrpc_stream_write(e->str, &w, &b, 1, NULL), 0);
    nt_run_until(&e->loop, never, NULL, 500);
    assert_int_equal(e->errors, 0);
    assert_non_null(h->st);
    size_t pinned, ref;
    assert_int_equal(ufrpc_mux_stream_pinned(h->st, &pinned, &ref), 0);
    ufrpc_yamux_stream_t *ys = ufrpc_mux_stream_yamux(h->st);
    struct ufrpc_mux_stats ms;
    ufrpc_mux_get_stats(e->cm, &ms);
    print_message("held %zu B of payload: pinned %zu for %zu referenced; copied %llu\n",
                  ufrpc_yamux_stream_unconsumed(ys), pinned, ref,
                  (unsigned long long)ms.bytes_copied);
    assert_true(ufrpc_yamux_stream_unconsumed(ys) == frames * SMALL_FRAME);
    assert_true(pinned <= ref + 256u * 1024u);
    assert_true(pinned + ms.bytes_copied <= WINDOW + 256u * 1024u);

    assert_int_equal(ufrpc_stream_read_start(h->st, holder_read), 0);
    nt_run_until(&e->loop, never, NULL, 100);
    assert_int_equal(h->mismatch, 0);
    assert_true(h->received == frames * SMALL_FRAME);
    holder_release(h);
    assert_int_equal(ufrpc_mux_stream_pinned(h->st, &pinned, &ref), 0);
    assert_true(pinned == 0 && ref == 0);
    assert_int_equal(ufrpc_yamux_stream_unconsumed(ys), 0);
    ufrpc_stream_close(h->st, NULL);
    ufrpc_stream_close(e->str, NULL);
    e->str = NULL;
    free(wire);
    env_finish(e, 1);
    free(h);
}

/* ---- a pump into a mux stream whose peer does not read ----------------------------- */
struct src_pair {
    struct ufrpc_stream *w, *r; /* dialled side (writes), accepted side (pumped) */
    int pump_done;
};

static void src_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct src_pair *sp = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    sp->r = c;
}

static void src_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct src_pair *sp = data;
    (void)d;
    assert_int_equal(status, 0);
    sp->w = s;
}

static int src_connected(void *a)
{
    struct src_pair *sp = a;
    return sp->w != NULL && sp->r != NULL;
}

/* n bytes of the test pattern repeated (the holder checks offsets modulo its length). */
static uint8_t *pattern_copy(const uint8_t *pat, size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i += NT_PAT_LEN)
        memcpy(b + i, pat, n - i < NT_PAT_LEN ? n - i : NT_PAT_LEN);
    return b;
}

/* A connected loopback pair in sp; returns its listener (the caller closes it). */
static ufrpc_tcp_listener_t *src_connect(uv_loop_t *loop, struct src_pair *sp)
{
    int err;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(loop, "127.0.0.1", 0, src_accept, sp, &err);
    assert_non_null(l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(l)};
    assert_int_equal(ufrpc_dial(loop, &o, src_dialed, sp, NULL), 0);
    assert_true(nt_run_until(loop, src_connected, sp, 5000));
    return l;
}

static void src_pump_done(ufrpc_pump_t *p, int status, const struct ufrpc_pump_stats *st,
                          void *data)
{
    (void)p;
    (void)status;
    (void)st;
    ((struct src_pair *)data)->pump_done = 1;
}

static int pump_ended(void *a)
{
    return ((struct src_pair *)a)->pump_done;
}

struct pump_watch {
    ufrpc_pump_t *p;
    uint64_t want;
};

static int pumped_enough(void *a)
{
    struct pump_watch *pw = a;
    struct ufrpc_pump_stats ps;
    ufrpc_pump_get_stats(pw->p, &ps);
    return ps.a_to_b >= pw->want;
}

/* A mux stream takes bytes through try_write (copied into the session's output
 * ring up to its send window) and says how much it takes now (write_room) and
 * when that may have changed (notify_writable), so a pump from a TCP source into
 * it reads no more than the session takes: while the peer's window stays shut
 * it holds no read buffer at all (before: one 64 KiB delivery, and before that
 * the pump's max_buffered of them), and it reads on when the window reopens. */
static void test_mux_pump_blocked_holds_no_buffer(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    env_connect(e); /* e->str: a raw peer that never reads nor opens the window */
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = WINDOW;
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, e->ctr, UFRPC_YAMUX_CLIENT, &cfg, &ccb, e, &e->cm), 0);
    uv_check_init(&e->loop, &e->check);
    struct ufrpc_stream *st;
    assert_int_equal(ufrpc_mux_open(e->cm, &st), 0);
    ufrpc_yamux_stream_t *ys = ufrpc_mux_stream_yamux(st);
    assert_int_equal(ufrpc_stream_try_write(st, NULL, 0), 0); /* the probe: it has one */
    uv_buf_t first = uv_buf_init((char *)e->pat, 1000);
    assert_int_equal(ufrpc_stream_try_write(st, &first, 1), 1000);
    assert_int_equal(ufrpc_yamux_stream_send_window(ys), WINDOW - 1000);

    struct src_pair sp = {0};
    ufrpc_tcp_listener_t *l2 = src_connect(&e->loop, &sp);
    size_t total = 4u << 20;
    uint8_t *big = pattern_copy(e->pat, total);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)big, (unsigned)total);
    assert_int_equal(ufrpc_stream_write(sp.w, &w, &b, 1, NULL), 0);

    ufrpc_pump_t *p;
    assert_int_equal(ufrpc_pump_start(sp.r, st, 0, src_pump_done, &sp, &p), 0);
    nt_run_until(&e->loop, never, NULL, 400);
    struct ufrpc_pump_stats ps;
    ufrpc_pump_get_stats(p, &ps);
    print_message("send window %u, pumped %llu, held %zu (max %zu)\n",
                  ufrpc_yamux_stream_send_window(ys), (unsigned long long)ps.a_to_b,
                  ps.buffered_a_to_b, ps.max_buffered_a_to_b);
    assert_int_equal(e->errors, 0);
    assert_int_equal(ufrpc_yamux_stream_send_window(ys), 0); /* the window is spent */
    assert_int_equal(ps.a_to_b, WINDOW - 1000); /* every read was taken whole */
    assert_int_equal(ps.buffered_a_to_b, 0);     /* nothing waits for the window */
    assert_int_equal(ps.max_buffered_a_to_b, 0);
    assert_int_equal(ufrpc_stream_write_room(st), 0);

    /* the peer reopens the window by 100000: the pump reads exactly that much
     * more, again holding nothing once the window is spent */
    uint8_t wu[UFRPC_YAMUX_HEADER_SIZE];
    put_hdr(wu, UFRPC_YAMUX_WINDOW_UPDATE, 0, ufrpc_yamux_stream_id(ys), 100000);
    struct ufrpc_stream_write ww;
    uv_buf_t wb = uv_buf_init((char *)wu, sizeof wu);
    assert_int_equal(ufrpc_stream_write(e->str, &ww, &wb, 1, NULL), 0);
    struct pump_watch pw = {.p = p, .want = WINDOW - 1000 + 100000};
    assert_true(nt_run_until(&e->loop, pumped_enough, &pw, 5000));
    nt_run_until(&e->loop, never, NULL, 200);
    ufrpc_pump_get_stats(p, &ps);
    assert_int_equal(e->errors, 0);
    assert_int_equal(ps.a_to_b, WINDOW - 1000 + 100000);
    assert_int_equal(ps.buffered_a_to_b, 0);
    assert_int_equal(ps.max_buffered_a_to_b, 0);
    assert_int_equal(ufrpc_yamux_stream_send_window(ys), 0);

    ufrpc_pump_abort(p);
    assert_true(nt_run_until(&e->loop, pump_ended, &sp, 5000));
    ufrpc_stream_close(sp.w, NULL);
    ufrpc_tcp_listener_close(l2, NULL);
    ufrpc_stream_close(e->str, NULL);
    e->str = NULL;
    env_finish(e, 1);
    free(big);
}

/* ---- over TLS: Data frames straight from the caller's buffer -------------------- */
#define TLS_SEND (8u << 20)

struct hs_pair {
    int c_done, s_done, c_status, s_status;
};

static void hs_c(struct ufrpc_stream *s, int status)
{
    struct hs_pair *hp = s->data;
    hp->c_done = 1;
    hp->c_status = status;
}

static void hs_s(struct ufrpc_stream *s, int status)
{
    struct hs_pair *hp = s->data;
    hp->s_done = 1;
    hp->s_status = status;
}

static int hs_both(void *a)
{
    struct hs_pair *hp = a;
    return hp->c_done && hp->s_done;
}

static int holder_got_tls(void *a)
{
    struct holder *h = a;
    return h->received >= TLS_SEND || h->mismatch || h->status != 0;
}

/* A pump from a TCP source into a mux stream over TLS: the session hands most
 * payload to TLS as direct frames (header + the pump's read buffer, never copied
 * into the ring), interleaved with ring output (the SYN, window updates, the
 * remainders that round direct writes to whole records), and the peer still gets
 * every byte in order through a window much smaller than the transfer. */
static void test_mux_over_tls_direct_frames(void **state)
{
    (void)state;
    struct env *e = calloc(1, sizeof *e);
    struct holder *h = calloc(1, sizeof *h);
    h->e = e;
    h->reading = 1;
    e->user = h;
    env_connect(e);
    ufrpc_tls_ctx_t *sctx, *cctx;
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &sctx), 0);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &cctx), 0);
    struct hs_pair hp = {0};
    struct ufrpc_tls_conn_opts co = {.server_name = "localhost"};
    int err;
    struct ufrpc_stream *ct = ufrpc_tls_client_new(cctx, e->ctr, &co, hs_c, &hp, &err);
    assert_non_null(ct);
    struct ufrpc_stream *stt = ufrpc_tls_server_new(sctx, e->str, 20000, hs_s, &hp, &err);
    assert_non_null(stt);
    assert_true(nt_run_until(&e->loop, hs_both, &hp, 20000));
    assert_int_equal(hp.c_status, 0);
    assert_int_equal(hp.s_status, 0);
    assert_true(ufrpc_stream_copies_writes(ct));
    /* no try_write on TLS: a pump queues up to max_buffered towards it */
    assert_int_equal(ufrpc_stream_try_write(ct, NULL, 0), UFRPC_ERR_UNSUPPORTED);

    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = WINDOW;
    struct ufrpc_mux_callbacks ccb = {.on_error = on_mux_error};
    struct ufrpc_mux_callbacks scb = {.on_accept = holder_accept, .on_error = on_mux_error};
    assert_int_equal(ufrpc_mux_new(&e->loop, ct, UFRPC_YAMUX_CLIENT, &cfg, &ccb, e, &e->cm), 0);
    assert_int_equal(ufrpc_mux_new(&e->loop, stt, UFRPC_YAMUX_SERVER, &cfg, &scb, e, &e->sm), 0);
    uv_check_init(&e->loop, &e->check);
    struct ufrpc_stream *st;
    assert_int_equal(ufrpc_mux_open(e->cm, &st), 0);

    struct src_pair sp = {0};
    ufrpc_tcp_listener_t *l2 = src_connect(&e->loop, &sp);
    uint8_t *big = pattern_copy(e->pat, TLS_SEND);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)big, TLS_SEND);
    assert_int_equal(ufrpc_stream_write(sp.w, &w, &b, 1, NULL), 0);
    ufrpc_pump_t *p;
    assert_int_equal(ufrpc_pump_start(sp.r, st, 0, src_pump_done, &sp, &p), 0);

    while (!holder_got_tls(h) && e->errors == 0) {
        holder_release(h); /* the window reopens as the consumer lets go */
        nt_run_until(&e->loop, holder_got_tls, h, 10);
    }
    holder_release(h);
    struct ufrpc_mux_stats ms;
    ufrpc_mux_get_stats(e->cm, &ms);
    print_message("received %llu, sent direct %llu\n", (unsigned long long)h->received,
                  (unsigned long long)ms.bytes_direct);
    assert_int_equal(e->errors, 0);
    assert_int_equal(h->mismatch, 0);
    assert_true(h->received == TLS_SEND);
    assert_true(ms.bytes_direct >= TLS_SEND / 2);
    assert_true(ms.bytes_direct < TLS_SEND); /* the rest went through the ring */

    ufrpc_pump_abort(p);
    assert_true(nt_run_until(&e->loop, pump_ended, &sp, 5000));
    ufrpc_stream_close(sp.w, NULL);
    ufrpc_tcp_listener_close(l2, NULL);
    ufrpc_stream_close(h->st, NULL);
    env_finish(e, 2);
    ufrpc_tls_ctx_free(sctx);
    ufrpc_tls_ctx_free(cctx);
    free(big);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mux_streams_slow_consumer),
        cmocka_unit_test(test_mux_transport_loss),
        cmocka_unit_test(test_mux_close_in_callbacks),
        cmocka_unit_test(test_mux_close_in_on_error),
        cmocka_unit_test(test_mux_held_references_keep_window),
        cmocka_unit_test(test_mux_interleaved_small_frames_bounded),
        cmocka_unit_test(test_mux_pump_blocked_holds_no_buffer),
        cmocka_unit_test(test_mux_over_tls_direct_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
