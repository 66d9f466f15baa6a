/* net/ws: websocket client and server streams over loopback TCP. Bulk data both
 * ways with a slow reader (backpressure) and half-close by close frames; against
 * a raw TCP peer: a 404 answer, a bad accept, silence (timeout), a hang-up, a
 * ping answered with a masked pong, a text frame refused with a close frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/nettest.h"
#include "net/tcp.h"
#include "net/ws.h"
#include "proto/error.h"
#include "proto/ws.h"

struct raw { /* the accepted end, read raw */
    struct ufrpc_stream *s;
    uint8_t in[70000];
    size_t in_len;
    int eof;
};

struct fx {
    uv_loop_t loop;
    ufrpc_tcp_listener_t *l;
    struct raw srv;
    struct ufrpc_stream *cli_raw;
    uv_connect_t creq;
    int connected;
    /* websocket ends */
    struct ufrpc_stream *c, *s;
    int c_hs, s_hs; /* 1 + status once done */
};

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct fx *f = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    f->srv.s = c;
}
static void on_connect(uv_connect_t *r, int status)
{
    assert_int_equal(status, 0);
    ((struct fx *)r->data)->connected = 1;
}
static int p_ready(void *x)
{
    struct fx *f = x;
    return f->connected && f->srv.s != NULL;
}

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    int err;
    f->l = ufrpc_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &err);
    assert_non_null(f->l);
    f->cli_raw = ufrpc_tcp_new(&f->loop, &err);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", ufrpc_tcp_listener_port(f->l), &a);
    f->creq.data = f;
    assert_int_equal(uv_tcp_connect(&f->creq, ufrpc_tcp_handle(f->cli_raw), (struct sockaddr *)&a,
                                    on_connect),
                     0);
    assert_true(nt_run_until(&f->loop, p_ready, f, 5000));
}

static void fx_close(struct fx *f)
{
    if (f->c != NULL)
        ufrpc_stream_close(f->c, NULL);
    if (f->s != NULL)
        ufrpc_stream_close(f->s, NULL);
    ufrpc_tcp_listener_close(f->l, NULL);
    assert_true(nt_loop_drain(&f->loop));
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void on_c_hs(struct ufrpc_stream *s, int status)
{
    ((struct fx *)s->data)->c_hs = 1000 + status;
}
static void on_s_hs(struct ufrpc_stream *s, int status)
{
    ((struct fx *)s->data)->s_hs = 1000 + status;
}
static int p_c_hs(void *x)
{
    return ((struct fx *)x)->c_hs != 0;
}
static int p_both_hs(void *x)
{
    struct fx *f = x;
    return f->c_hs != 0 && f->s_hs != 0;
}

/* ---- raw peer helpers ------------------------------------------------------------ */
static void raw_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                     size_t len)
{
    struct raw *r = s->data;
    (void)buf;
    if (status < 0) {
        r->eof = 1;
        return;
    }
    assert_true(r->in_len + len <= sizeof r->in);
    memcpy(r->in + r->in_len, data, len);
    r->in_len += len;
}
static int p_raw_head(void *x)
{
    struct raw *r = x;
    for (size_t i = 3; i < r->in_len; i++)
        if (memcmp(r->in + i - 3, "\r\n\r\n", 4) == 0)
            return 1;
    return 0;
}
static int p_raw_eof(void *x)
{
    return ((struct raw *)x)->eof;
}
struct raw_want {
    struct raw *r;
    size_t n;
};
static int p_raw_have(void *x)
{
    struct raw_want *w = x;
    return w->r->in_len >= w->n;
}

static void raw_send(struct raw *r, const void *p, size_t n)
{
    static struct ufrpc_stream_write w[16];
    static unsigned next;
    static uint8_t bufs[16][512];
    assert_true(n <= sizeof bufs[0]);
    unsigned i = next++ % 16;
    memcpy(bufs[i], p, n);
    uv_buf_t b = uv_buf_init((char *)bufs[i], (unsigned)n);
    assert_int_equal(ufrpc_stream_write(r->s, &w[i], &b, 1, NULL), 0);
}

/* Starts a client over the raw pair and reads its request on the raw side. */
static void client_and_request(struct fx *f, uint32_t timeout_ms, struct ufrpc_ws_hs_info *req)
{
    int err;
    struct ufrpc_ws_client_opts o = {.host = "127.0.0.1:7000", .handshake_timeout_ms = timeout_ms};
    f->c = ufrpc_ws_client_new(f->cli_raw, &o, on_c_hs, f, &err);
    assert_non_null(f->c);
    f->srv.s->data = &f->srv;
    assert_int_equal(ufrpc_stream_read_start(f->srv.s, raw_read), 0);
    assert_true(nt_run_until(&f->loop, p_raw_head, &f->srv, 5000));
    assert_int_equal(ufrpc_ws_parse_request(f->srv.in, f->srv.in_len, req), 0);
    assert_int_equal(req->head_len, f->srv.in_len);
    assert_non_null(strstr((const char *)f->srv.in, "\r\nHost: 127.0.0.1:7000\r\n"));
    assert_non_null(strstr((const char *)f->srv.in, "\r\nOrigin: http://127.0.0.1:7000\r\n"));
    f->srv.in_len = 0;
}

/* ---- tests ------------------------------------------------------------------------ */
static void bulk_pair(uint64_t c_send, uint64_t s_send, uint64_t c_slow, uint64_t s_slow)
{
    struct fx f;
    fx_open(&f);
    int err;
    struct ufrpc_ws_client_opts o = {.host = "localhost:7000"};
    f.c = ufrpc_ws_client_new(f.cli_raw, &o, on_c_hs, &f, &err);
    assert_non_null(f.c);
    f.s = ufrpc_ws_server_new(f.srv.s, 5000, on_s_hs, &f, &err);
    assert_non_null(f.s);
    assert_true(ufrpc_ws_is(f.c) && ufrpc_ws_is(f.s));
    assert_int_equal(f.c_hs, 0); /* never from inside */
    assert_true(nt_run_until(&f.loop, p_both_hs, &f, 5000));
    assert_int_equal(f.c_hs, 1000);
    assert_int_equal(f.s_hs, 1000);

    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    struct nt_peer a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.pat = b.pat = pat;
    a.to_send = c_send;
    b.to_send = s_send;
    a.send_base = 7;
    b.recv_base = 7;
    b.send_base = 1000;
    a.recv_base = 1000;
    a.slow_every = c_slow;
    b.slow_every = s_slow;
    assert_int_equal(nt_peer_start(&a, f.c), 0);
    assert_int_equal(nt_peer_start(&b, f.s), 0);
    for (int i = 0; i < 20000 && !(a.eof && b.eof && a.shut_done && b.shut_done) && !a.err && !b.err;
         i++) {
        uv_run(&f.loop, UV_RUN_ONCE);
        /* bounded: what a sender has queued stays within a few chunks */
        assert_true(ufrpc_stream_queued(f.c) <= 8u * 70000u);
    }
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_true(a.eof && b.eof);
    assert_int_equal(a.received, b.to_send);
    assert_int_equal(b.received, a.to_send);
    assert_false(a.mismatch || b.mismatch);
    nt_peer_close(&a);
    nt_peer_close(&b);
    f.c = f.s = NULL;
    fx_close(&f);
    free(pat);
}

static void test_ws_bulk_pair(void **state)
{
    (void)state;
    /* both ways at once, the server end reading slowly */
    bulk_pair(3u << 20, (3u << 20) + 12345, 0, 256 * 1024);
    /* one end shuts down (close frame) early, then reads slowly what keeps coming:
     * frames drained after shutdown must wait for the reader, in order */
    bulk_pair(8u << 20, 1000, 0, 64 * 1024);
    bulk_pair(1000, 8u << 20, 100 * 1000, 0);
}

static void expect_fail(struct fx *f, int code, const char *text)
{
    assert_true(nt_run_until(&f->loop, p_c_hs, f, 5000));
    assert_int_equal(f->c_hs - 1000, code);
    char buf[256];
    assert_int_equal(ufrpc_ws_failure_text(f->c, buf, sizeof buf), 0);
    assert_string_equal(buf, text);
    /* unusable, but still the owner's to close */
    assert_int_equal(ufrpc_stream_read_start(f->c, raw_read), UFRPC_ERR_STATE);
}

static void test_ws_404(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct ufrpc_ws_hs_info req;
    client_and_request(&f, 0, &req);
    static const char a[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
    raw_send(&f.srv, a, sizeof a - 1);
    expect_fail(&f, UFRPC_ERR_WS_HANDSHAKE,
                "server answered 404 Not Found instead of 101 Switching Protocols");
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);
}

static void test_ws_bad_accept(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct ufrpc_ws_hs_info req;
    client_and_request(&f, 0, &req);
    char a[512];
    size_t n;
    assert_int_equal(ufrpc_ws_build_response("someone-else's-key", a, sizeof a, &n), 0);
    raw_send(&f.srv, a, n);
    expect_fail(&f, UFRPC_ERR_WS_ACCEPT, "Sec-WebSocket-Accept does not match the key sent");
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);
}

static void test_ws_timeout_and_hangup(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct ufrpc_ws_hs_info req;
    client_and_request(&f, 300, &req);
    expect_fail(&f, UFRPC_ERR_TIMEOUT, "no upgrade answer within 300 ms");
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);

    fx_open(&f);
    client_and_request(&f, 0, &req);
    raw_send(&f.srv, "HTTP/1.1 101 Swi", 16);
    ufrpc_stream_shutdown(f.srv.s, NULL);
    expect_fail(&f, UFRPC_ERR_WS_HANDSHAKE,
                "connection closed in the middle of the upgrade answer (16 bytes)");
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);
}

struct got {
    uint8_t in[256];
    size_t len;
    int status;
};
static void got_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                     size_t len)
{
    struct got *g = s->data;
    (void)buf;
    if (status < 0) {
        g->status = status;
        return;
    }
    assert_true(g->len + len <= sizeof g->in);
    memcpy(g->in + g->len, data, len);
    g->len += len;
}
static int p_got(void *x)
{
    struct got *g = x;
    return g->status != 0 || g->len >= 5;
}
static int p_got_end(void *x)
{
    return ((struct got *)x)->status != 0;
}

/* Unmasks the client frame at p (as the decoder would): payload into out. */
static size_t client_frame(const uint8_t *p, size_t n, unsigned *op, uint8_t *out)
{
    struct ufrpc_ws_decoder d;
    ufrpc_ws_decoder_init(&d, true, 0);
    size_t used = 0, total = 0;
    struct ufrpc_ws_event ev;
    int rc = ufrpc_ws_decode(&d, p, n, &used, &ev);
    assert_int_equal(rc, 0);
    *op = ev.type;
    if (ev.type == UFRPC_WS_EV_DATA)
        ufrpc_ws_mask(out, ev.data, ev.len, ev.mask, ev.phase);
    else
        memcpy(out, ev.data, ev.len);
    total = ev.len;
    if (ev.type == UFRPC_WS_EV_CLOSE) {
        out[0] = (uint8_t)(ev.close_code >> 8);
        out[1] = (uint8_t)ev.close_code;
        total = 2;
    }
    return total;
}

static void test_ws_ping_text_close(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct ufrpc_ws_hs_info req;
    client_and_request(&f, 0, &req);
    char a[512];
    size_t n;
    assert_int_equal(ufrpc_ws_build_response(req.key, a, sizeof a, &n), 0);
    /* the answer, a data frame and a ping in one write */
    memcpy(a + n, "\x82\x05hello\x89\x03" "abc", 12);
    raw_send(&f.srv, a, n + 12);
    assert_true(nt_run_until(&f.loop, p_c_hs, &f, 5000));
    assert_int_equal(f.c_hs, 1000);
    struct got g;
    memset(&g, 0, sizeof g);
    f.c->data = &g;
    assert_int_equal(ufrpc_stream_read_start(f.c, got_read), 0);
    assert_true(nt_run_until(&f.loop, p_got, &g, 5000));
    assert_int_equal(g.len, 5);
    assert_memory_equal(g.in, "hello", 5);
    /* the pong: masked, same payload */
    struct raw_want w = {&f.srv, 9};
    assert_true(nt_run_until(&f.loop, p_raw_have, &w, 5000));
    assert_int_equal(f.srv.in[0], 0x8a);
    assert_int_equal(f.srv.in[1], 0x83);
    uint8_t out[200];
    unsigned op;
    assert_int_equal(client_frame(f.srv.in, f.srv.in_len, &op, out), 3);
    assert_int_equal(op, UFRPC_WS_EV_PONG);
    assert_memory_equal(out, "abc", 3);
    f.srv.in_len = 0;
    /* a client write is one masked binary frame */
    struct ufrpc_stream_write wr;
    uv_buf_t bufs[2] = {uv_buf_init("wor", 3), uv_buf_init("ld", 2)};
    assert_int_equal(ufrpc_stream_write(f.c, &wr, bufs, 2, NULL), 0);
    w.n = 11;
    assert_true(nt_run_until(&f.loop, p_raw_have, &w, 5000));
    assert_int_equal(f.srv.in[0], 0x82);
    assert_int_equal(client_frame(f.srv.in, f.srv.in_len, &op, out), 5);
    assert_int_equal(op, UFRPC_WS_EV_DATA);
    assert_memory_equal(out, "world", 5);
    f.srv.in_len = 0;
    /* a text frame: the reader gets WS_TEXT, the server a close frame 1002 */
    raw_send(&f.srv, "\x81\x02hi", 4);
    assert_true(nt_run_until(&f.loop, p_got_end, &g, 5000));
    assert_int_equal(g.status, UFRPC_ERR_WS_TEXT);
    w.n = 8;
    assert_true(nt_run_until(&f.loop, p_raw_have, &w, 5000));
    assert_int_equal(client_frame(f.srv.in, f.srv.in_len, &op, out), 2);
    assert_int_equal(op, UFRPC_WS_EV_CLOSE);
    assert_memory_equal(out, "\x03\xea", 2);
    char text[128];
    assert_int_equal(ufrpc_ws_failure_text(f.c, text, sizeof text), 0);
    assert_string_equal(text, ufrpc_strerror(UFRPC_ERR_WS_TEXT));
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);
}

static void test_ws_peer_close_frame(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    struct ufrpc_ws_hs_info req;
    client_and_request(&f, 0, &req);
    char a[512];
    size_t n;
    assert_int_equal(ufrpc_ws_build_response(req.key, a, sizeof a, &n), 0);
    memcpy(a + n, "\x82\x05hello\x88\x02\x03\xe8\x82\x01x", 14);
    raw_send(&f.srv, a, n + 14);
    assert_true(nt_run_until(&f.loop, p_c_hs, &f, 5000));
    struct got g;
    memset(&g, 0, sizeof g);
    f.c->data = &g;
    assert_int_equal(ufrpc_stream_read_start(f.c, got_read), 0);
    assert_true(nt_run_until(&f.loop, p_got_end, &g, 5000));
    assert_int_equal(g.status, UFRPC_ERR_EOF); /* the frame after the close is not read */
    assert_int_equal(g.len, 5);
    /* our own shutdown: a close frame 1000, then TCP FIN */
    assert_int_equal(ufrpc_stream_shutdown(f.c, NULL), 0);
    assert_true(nt_run_until(&f.loop, p_raw_eof, &f.srv, 5000));
    uint8_t out[200];
    unsigned op;
    assert_int_equal(client_frame(f.srv.in, f.srv.in_len, &op, out), 2);
    assert_int_equal(op, UFRPC_WS_EV_CLOSE);
    assert_memory_equal(out, "\x03\xe8", 2);
    ufrpc_stream_close(f.srv.s, NULL);
    fx_close(&f);
}

struct shut_obs {
    int shut_status, shut_calls, closed, order; /* order: 1 shutdown before close */
};
static void obs_shut(struct ufrpc_stream *s, int status)
{
    struct shut_obs *o = s->data;
    o->shut_calls++;
    o->shut_status = status;
    if (!o->closed)
        o->order = 1;
}
static void obs_closed(struct ufrpc_stream *s)
{
    ((struct shut_obs *)s->data)->closed = 1;
}
static int p_shut(void *x)
{
    return ((struct shut_obs *)x)->shut_calls > 0;
}
static int p_obs_closed(void *x)
{
    return ((struct shut_obs *)x)->closed;
}
static int p_never(void *x)
{
    (void)x;
    return 0;
}

/* shutdown completes with the close handshake; closing while it waits cancels it
 * (the shutdown callback still runs, before the close callback) */
static void test_ws_shutdown_waits_for_close(void **state)
{
    (void)state;
    for (int cancel = 0; cancel < 2; cancel++) {
        struct fx f;
        fx_open(&f);
        struct ufrpc_ws_hs_info req;
        client_and_request(&f, 0, &req);
        char a[512];
        size_t n;
        assert_int_equal(ufrpc_ws_build_response(req.key, a, sizeof a, &n), 0);
        raw_send(&f.srv, a, n);
        assert_true(nt_run_until(&f.loop, p_c_hs, &f, 5000));
        struct shut_obs o;
        memset(&o, 0, sizeof o);
        f.c->data = &o;
        assert_int_equal(ufrpc_stream_shutdown(f.c, obs_shut), 0);
        struct raw_want w = {&f.srv, 8};
        assert_true(nt_run_until(&f.loop, p_raw_have, &w, 5000)); /* our close frame */
        nt_run_until(&f.loop, p_never, NULL, 200);
        assert_int_equal(o.shut_calls, 0); /* the peer has not closed yet */
        if (!cancel) {
            raw_send(&f.srv, "\x88\x02\x03\xe8", 4);
            assert_true(nt_run_until(&f.loop, p_shut, &o, 5000));
            assert_int_equal(o.shut_status, 0);
            ufrpc_stream_close(f.c, obs_closed);
        } else {
            ufrpc_stream_close(f.c, obs_closed);
            assert_true(nt_run_until(&f.loop, p_obs_closed, &o, 5000));
            assert_int_equal(o.shut_status, UFRPC_ERR_CANCELED);
            assert_int_equal(o.order, 1);
        }
        assert_int_equal(o.shut_calls, 1);
        f.c = NULL;
        ufrpc_stream_close(f.srv.s, NULL);
        fx_close(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_bulk_pair),          cmocka_unit_test(test_ws_404),
        cmocka_unit_test(test_ws_bad_accept),         cmocka_unit_test(test_ws_timeout_and_hangup),
        cmocka_unit_test(test_ws_ping_text_close),    cmocka_unit_test(test_ws_peer_close_frame),
        cmocka_unit_test(test_ws_shutdown_waits_for_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
