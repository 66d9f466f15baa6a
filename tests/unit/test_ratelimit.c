/* net/ratelimit: the token bucket as a pure function of time, and the stream
 * adapter's pacing decisions with a fake (frozen) clock. No test measures a rate
 * against the wall clock: real time only has to pass for the short, computed
 * waits to mature, and only completeness and order are asserted after that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/nettest.h"
#include "net/ratelimit.h"
#include "net/tcp.h"
#include "net/xform.h"
#include "proto/error.h"

#define MS 1000000ull
#define SEC 1000000000ull

static void test_bucket_arithmetic(void **state)
{
    (void)state;
    struct ufrpc_tokenbucket tb;
    ufrpc_tokenbucket_init(&tb, 1000, 1000, 5 * SEC);
    /* starts full */
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 600, 5 * SEC), 0);
    /* 400 left: 600 more is 200 short -> 200 ms */
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 600, 5 * SEC), 200 * MS);
    /* 100 ms later 100 tokens came back: -100, minus 100 -> 200 ms again */
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 100, 5 * SEC + 100 * MS), 200 * MS);
    /* a clock going backwards adds nothing */
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 0, 4 * SEC), 200 * MS);
    /* long idle: refill is capped at burst */
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 1000, 60 * SEC), 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 1, 60 * SEC), 1 * MS);
    /* more than the burst at once: waits for the whole deficit */
    ufrpc_tokenbucket_init(&tb, 1000, 1000, 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 5000, 0), 4 * SEC);
    /* waits round up to the next nanosecond */
    ufrpc_tokenbucket_init(&tb, 3, 3, 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 4, 0), 333333334ull);
    /* partial refill: 1 token per ms at 1000/s */
    ufrpc_tokenbucket_init(&tb, 1000, 10, 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 10, 0), 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 3, 3 * MS), 0);
    assert_int_equal(ufrpc_tokenbucket_reserve(&tb, 1, 3 * MS), 1 * MS);
}

/* ---- fake clock and a TCP pair ------------------------------------------------- */
struct fake_clock {
    uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

struct pair {
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *a, *b;
    uv_connect_t creq;
    int connected;
};

static void pair_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct pair *p = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    p->b = c;
}

static void pair_connected(uv_connect_t *r, int status)
{
    ((struct pair *)r->data)->connected = status == 0 ? 1 : -1;
}

static int pair_ready(void *arg)
{
    struct pair *p = arg;
    return p->b != NULL && p->connected != 0;
}

static void make_pair(uv_loop_t *loop, struct pair *p)
{
    int err;
    memset(p, 0, sizeof *p);
    p->l = ufrpc_tcp_listen(loop, "127.0.0.1", 0, pair_accept, p, &err);
    assert_non_null(p->l);
    p->a = ufrpc_tcp_new(loop, &err);
    assert_non_null(p->a);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ufrpc_tcp_listener_port(p->l), &sa);
    p->creq.data = p;
    assert_int_equal(uv_tcp_connect(&p->creq, ufrpc_tcp_handle(p->a), (struct sockaddr *)&sa,
                                    pair_connected),
                     0);
    assert_true(nt_run_until(loop, pair_ready, p, 5000));
    assert_int_equal(p->connected, 1);
    ufrpc_tcp_listener_close(p->l, NULL);
}

struct sink {
    size_t len;
    uint8_t last;
    int order_ok;
    int eof, err;
};

static void sink_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *b, const uint8_t *d,
                      size_t n)
{
    struct sink *k = s->data;
    (void)b;
    if (status == UFRPC_ERR_EOF) {
        k->eof = 1;
        return;
    }
    if (status < 0) {
        k->err = status;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (d[i] != (uint8_t)(k->len + i))
            k->order_ok = 0;
    k->len += n;
}

struct wstate {
    int done, status;
};

static void wcb(struct ufrpc_stream_write *w, int status)
{
    struct wstate *ws = w->data;
    ws->done = 1;
    ws->status = status;
}

static void noop_shut(struct ufrpc_stream *s, int st)
{
    (void)s;
    (void)st;
}

static void run_ms(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, nt_stop_timer, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static uint8_t *counting(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)i;
    return p;
}

static void drain_loop(uv_loop_t *loop)
{
    uv_walk(loop, nt_walk_close, NULL);
    assert_true(nt_loop_drain(loop));
    uv_loop_close(loop);
}

/* Frozen clock, 1000 B/s: a 3000-byte write is cut into burst-sized pieces; the
 * first passes, the second is held for exactly 1 s (the reservation's wait); the
 * peer sees exactly 1000 bytes and the write does not complete. Closing cancels. */
static void test_write_pacing_frozen(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 42 * SEC};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000, fake_now, &fc, &l), 0);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *s = ufrpc_ratelimit_wrap(l, p.a, &err);
    assert_non_null(s);
    struct sink k = {.order_ok = 1};
    p.b->data = &k;
    assert_int_equal(ufrpc_stream_read_start(p.b, sink_read), 0);

    uint8_t *data = counting(3000);
    struct wstate ws = {0};
    struct ufrpc_stream_write w = {.data = &ws};
    uv_buf_t b = uv_buf_init((char *)data, 3000);
    assert_int_equal(ufrpc_stream_write(s, &w, &b, 1, wcb), 0);
    run_ms(&loop, 50);

    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    assert_int_equal(k.len, 1000);
    assert_true(k.order_ok);
    assert_int_equal(ws.done, 0);
    assert_int_equal(st.bytes, 2000);        /* two pieces reserved */
    assert_int_equal(st.delays, 1);          /* the second one waits */
    assert_int_equal(st.last_delay_ns, 1 * SEC);
    assert_int_equal(ufrpc_stream_queued(s), 3000);

    ufrpc_ratelimit_unref(l); /* the stream keeps its own reference */
    ufrpc_stream_close(s, NULL);
    run_ms(&loop, 1);
    assert_int_equal(ws.done, 1);
    assert_int_equal(ws.status, UFRPC_ERR_CANCELED);
    ufrpc_stream_close(p.b, NULL);
    drain_loop(&loop);
    free(data);
}

/* Frozen clock, 1 MB/s (burst 1 MB, pieces of 64 KiB): 1.2 MB pass; every piece
 * past the burst waits for its deficit, the last one exactly 200 ms. Real time
 * only lets those waits mature: all bytes arrive, in order, then EOF. */
static int sink_done(void *arg)
{
    struct sink *k = arg;
    return k->eof || k->err;
}

static void test_write_pacing_completes(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 1};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000000, fake_now, &fc, &l), 0);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *s = ufrpc_ratelimit_wrap(l, p.a, &err);
    assert_non_null(s);
    struct sink k = {.order_ok = 1};
    p.b->data = &k;
    assert_int_equal(ufrpc_stream_read_start(p.b, sink_read), 0);
    const size_t n = 1200000;
    uint8_t *data = counting(n);
    struct wstate ws = {0};
    struct ufrpc_stream_write w = {.data = &ws};
    /* two iovecs: pieces also end at iovec boundaries */
    uv_buf_t b[2] = {uv_buf_init((char *)data, 100000),
                     uv_buf_init((char *)data + 100000, (unsigned)(n - 100000))};
    assert_int_equal(ufrpc_stream_write(s, &w, b, 2, wcb), 0);
    assert_int_equal(ufrpc_stream_shutdown(s, noop_shut), 0);
    assert_true(nt_run_until(&loop, sink_done, &k, 10000));
    assert_int_equal(ws.done, 1);
    assert_int_equal(ws.status, 0);
    assert_int_equal(k.len, n);
    assert_true(k.order_ok);
    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    assert_int_equal(st.bytes, n);
    assert_int_equal(st.last_delay_ns, 200 * MS);
    /* pieces: 65536 x1, 34464 (end of iovec), then 65536-byte pieces; the bucket
     * runs dry after 1000000 bytes, so every piece ending past that waited. */
    uint64_t sum = 0, delayed = 0;
    size_t cuts[] = {65536, 34464};
    for (int i = 0; i < 2; i++)
        sum += cuts[i];
    while (sum < n) {
        size_t piece = n - sum < 65536 ? n - sum : 65536;
        sum += piece;
        if (sum > 1000000)
            delayed++;
    }
    assert_int_equal(st.delays, delayed);
    ufrpc_stream_close(s, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_ratelimit_unref(l);
    drain_loop(&loop);
    free(data);
}

/* Reads: a delivery that overdraws the bucket is held (nothing reaches the
 * consumer) for the computed wait; one within the burst passes at once. */
static void test_read_pacing(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 7};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000, fake_now, &fc, &l), 0);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *s = ufrpc_ratelimit_wrap(l, p.a, &err);
    assert_non_null(s);
    struct sink k = {.order_ok = 1};
    s->data = &k;
    assert_int_equal(ufrpc_stream_read_start(s, sink_read), 0);
    uint8_t *data = counting(3000);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)data, 800);
    assert_int_equal(ufrpc_stream_write(p.b, &w, &b, 1, NULL), 0);
    run_ms(&loop, 30);
    assert_int_equal(k.len, 800); /* within the burst: passed at once */
    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    assert_int_equal(st.delays, 0);

    struct ufrpc_stream_write w2;
    uv_buf_t b2 = uv_buf_init((char *)data + 800, 2200);
    assert_int_equal(ufrpc_stream_write(p.b, &w2, &b2, 1, NULL), 0);
    run_ms(&loop, 50);
    ufrpc_ratelimit_get_stats(l, &st);
    /* 200 tokens left; whatever the first delivery held, it waits for its deficit */
    assert_int_equal(k.len, 800);
    assert_int_equal(st.delays, 1);
    assert_true(st.bytes > 800 && st.bytes <= 3000);
    assert_int_equal(st.last_delay_ns, (st.bytes - 1000) * MS);

    ufrpc_stream_close(s, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_ratelimit_unref(l);
    drain_loop(&loop);
    free(data);
}

/* Reads are paced in burst-sized slices (frpc's reader never reads more than the
 * burst per wait): with 1000 B/s and 3000 bytes arriving at once, the first 1000
 * go up at once, the next slice waits 1 s and holds the rest. */
static void test_read_slices(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 3 * SEC};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000, fake_now, &fc, &l), 0);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *s = ufrpc_ratelimit_wrap(l, p.a, &err);
    assert_non_null(s);
    struct sink k = {.order_ok = 1};
    s->data = &k;
    assert_int_equal(ufrpc_stream_read_start(s, sink_read), 0);
    uint8_t *data = counting(3000);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)data, 3000);
    assert_int_equal(ufrpc_stream_write(p.b, &w, &b, 1, NULL), 0);
    run_ms(&loop, 50);
    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    assert_int_equal(k.len, 1000);
    assert_true(k.order_ok);
    assert_int_equal(st.bytes, 2000);
    assert_int_equal(st.delays, 1);
    assert_int_equal(st.last_delay_ns, 1 * SEC);
    /* a reader that stops and restarts does not lose or reorder the held bytes */
    assert_int_equal(ufrpc_stream_read_stop(s), 0);
    assert_int_equal(ufrpc_stream_read_start(s, sink_read), 0);
    run_ms(&loop, 20);
    assert_int_equal(k.len, 1000);
    ufrpc_stream_close(s, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_ratelimit_unref(l);
    drain_loop(&loop);
    free(data);
}

/* Reads with waits that mature in real time (1 MB/s, bucket drained first): all
 * bytes arrive in order, then EOF. */
static void test_read_completes(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 0};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000000, fake_now, &fc, &l), 0);
    assert_int_equal(ufrpc_ratelimit_reserve(l, 900000), 0); /* leave 100 KB */
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *s = ufrpc_ratelimit_wrap(l, p.a, &err);
    assert_non_null(s);
    struct sink k = {.order_ok = 1};
    s->data = &k;
    assert_int_equal(ufrpc_stream_read_start(s, sink_read), 0);
    const size_t n = 250000;
    uint8_t *data = counting(n);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
    assert_int_equal(ufrpc_stream_write(p.b, &w, &b, 1, NULL), 0);
    assert_int_equal(ufrpc_stream_shutdown(p.b, noop_shut), 0);
    assert_true(nt_run_until(&loop, sink_done, &k, 10000));
    assert_int_equal(k.eof, 1);
    assert_int_equal(k.len, n);
    assert_true(k.order_ok);
    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    assert_int_equal(st.bytes, 900000 + n);
    assert_int_equal(st.last_delay_ns, 150 * MS); /* 1.15 MB reserved on a 1 MB bucket */
    ufrpc_stream_close(s, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_ratelimit_unref(l);
    drain_loop(&loop);
    free(data);
}

/* One bucket per proxy: two streams share it (frpc's per-proxy limiter). */
static void test_shared_bucket(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct fake_clock fc = {.now = 0};
    ufrpc_ratelimit_t *l;
    assert_int_equal(ufrpc_ratelimit_new(1000, fake_now, &fc, &l), 0);
    struct pair p, q;
    make_pair(&loop, &p);
    make_pair(&loop, &q);
    int err;
    struct ufrpc_stream *s1 = ufrpc_ratelimit_wrap(l, p.a, &err);
    struct ufrpc_stream *s2 = ufrpc_ratelimit_wrap(l, q.a, &err);
    assert_non_null(s1);
    assert_non_null(s2);
    struct sink k1 = {.order_ok = 1}, k2 = {.order_ok = 1};
    p.b->data = &k1;
    q.b->data = &k2;
    assert_int_equal(ufrpc_stream_read_start(p.b, sink_read), 0);
    assert_int_equal(ufrpc_stream_read_start(q.b, sink_read), 0);
    uint8_t *data = counting(1000);
    struct wstate ws1 = {0}, ws2 = {0};
    struct ufrpc_stream_write w1 = {.data = &ws1}, w2 = {.data = &ws2};
    uv_buf_t b1 = uv_buf_init((char *)data, 600), b2 = uv_buf_init((char *)data, 1000);
    assert_int_equal(ufrpc_stream_write(s1, &w1, &b1, 1, wcb), 0);
    assert_int_equal(ufrpc_stream_write(s2, &w2, &b2, 1, wcb), 0);
    run_ms(&loop, 30);
    assert_int_equal(k1.len, 600);
    assert_int_equal(k2.len, 0);
    struct ufrpc_ratelimit_stats st;
    ufrpc_ratelimit_get_stats(l, &st);
    /* s1 left 400 tokens: s2's 1000 bytes wait for the other 600 */
    assert_int_equal(st.last_delay_ns, 600 * MS);
    assert_int_equal(ws1.status, 0);
    assert_int_equal(ws1.done, 1);
    assert_int_equal(ws2.done, 0);
    ufrpc_stream_close(s1, NULL);
    ufrpc_stream_close(s2, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_stream_close(q.b, NULL);
    ufrpc_ratelimit_unref(l);
    drain_loop(&loop);
    free(data);
}

static void test_invalid(void **state)
{
    (void)state;
    ufrpc_ratelimit_t *l = NULL;
    assert_int_equal(ufrpc_ratelimit_new(0, NULL, NULL, &l), UFRPC_ERR_INVAL);
    assert_null(l);
    assert_int_equal(ufrpc_ratelimit_new(5, NULL, NULL, &l), 0);
    ufrpc_ratelimit_ref(l);
    ufrpc_ratelimit_unref(l);
    ufrpc_ratelimit_unref(l);
    ufrpc_ratelimit_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_arithmetic),   cmocka_unit_test(test_write_pacing_frozen),
        cmocka_unit_test(test_write_pacing_completes), cmocka_unit_test(test_read_pacing),
        cmocka_unit_test(test_read_slices),         cmocka_unit_test(test_read_completes),
        cmocka_unit_test(test_shared_bucket),       cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
