/* net/xform_aead: the v2 AEAD stream adapter over real loopback TCP. The first
 * records of docs/PROTOCOL.md §14.6 byte for byte (fixed nonce) and read back, initial bytes
 * handed over at creation, 8 MiB each way with random request sizes, iovec splits,
 * empty writes, pauses and held buffers (both algorithms), record sizes on the
 * wire, and the error paths: tampering, truncation, close with pending writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/dial.h"
#include "net/nettest.h"
#include "net/tcp.h"
#include "net/xform_aead.h"
#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/v2hello.h"
#include "testutil.h"

static const char K_S2C_HEX[] = "93d3ca2008739a3f8ae9aa38f6580249b48caa2c4a9efd16ba5b9e21783cd7a1";
static const char K_C2S_HEX[] = "c025b102be766da2ee6127f0bb0c9e56b0456d3d32e3a2af7b8844d8e636471b";
static const char RECORDS_HEX[] = "101112131415161718191a1b"
                                  "00000018a66ee78db4df8aa3a14b72081b613d2860e6c6b474d0bc37"
                                  "000000149a3e5bbe0b27d0a37ed96081566866ede482d0c1";
static const uint8_t REQ_WORK_CONN[12] = {0, 0x10, 0, 0, 0, 0, 0, 4, 0, 7, '{', '}'};

static int test_rng(void *ctx, unsigned char *buf, size_t len)
{
    uint64_t *st = ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(st);
    return 0;
}

/* ---- a loopback pair --------------------------------------------------------------- */

struct pair {
    uv_loop_t loop;
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *a; /* dialed */
    struct ufrpc_stream *b; /* accepted */
    int dialed;
};

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct pair *p = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    assert_null(p->b);
    p->b = c;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct pair *p = data;
    (void)d;
    assert_int_equal(status, 0);
    p->a = s;
    p->dialed = 1;
}

static int pair_ready(void *arg)
{
    struct pair *p = arg;
    return p->dialed && p->b != NULL;
}

static void pair_open(struct pair *p)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(uv_loop_init(&p->loop), 0);
    int err;
    p->l = ufrpc_tcp_listen(&p->loop, "127.0.0.1", 0, on_accept, p, &err);
    assert_non_null(p->l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(p->l)};
    assert_int_equal(ufrpc_dial(&p->loop, &o, on_dial, p, NULL), 0);
    assert_true(nt_run_until(&p->loop, pair_ready, p, 5000));
    ufrpc_tcp_listener_close(p->l, NULL);
}

static void pair_finish(struct pair *p)
{
    assert_true(nt_loop_drain(&p->loop));
    assert_int_equal(uv_loop_close(&p->loop), 0);
}

static struct ufrpc_stream *wrap(struct ufrpc_stream *lower, ufrpc_aead_alg_t alg,
                                 const uint8_t *wkey, const uint8_t *rkey, const uint8_t *nonce,
                                 uint64_t *seed, const uint8_t *initial, size_t initial_len)
{
    struct ufrpc_xform_aead_opts o = {alg,  wkey,    rkey,    nonce,
                                      test_rng, seed, initial, initial_len};
    int err = 1;
    struct ufrpc_stream *s = ufrpc_xform_aead_new(lower, &o, &err);
    assert_non_null(s);
    assert_int_equal(err, 0);
    return s;
}

/* ---- a collecting reader ---------------------------------------------------------- */

struct sink {
    uint8_t *buf;
    size_t len, cap;
    int status; /* first non-zero status */
};

static void sink_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                      size_t len)
{
    struct sink *k = s->data;
    (void)buf;
    if (status < 0) {
        if (k->status == 0)
            k->status = status;
        return;
    }
    if (k->len + len > k->cap) {
        k->cap = (k->len + len) * 2;
        k->buf = realloc(k->buf, k->cap);
        assert_non_null(k->buf);
    }
    memcpy(k->buf + k->len, data, len);
    k->len += len;
}

struct want_len {
    struct sink *k;
    size_t n;
};

static int sink_has(void *arg)
{
    struct want_len *w = arg;
    return w->k->len >= w->n || w->k->status != 0;
}

static int sink_ended(void *arg)
{
    return ((struct sink *)arg)->status != 0;
}

static void noop_shut(struct ufrpc_stream *s, int status)
{
    (void)s;
    (void)status;
}

static void noop_cb(struct ufrpc_stream_write *w, int status)
{
    int *st = w->data;
    if (st != NULL)
        *st = status;
}

static void test_vector_records_both_ways(void **state)
{
    (void)state;
    uint8_t ks2c[32], nonce[12], want[64];
    assert_int_equal(ufrpc_test_unhex(K_S2C_HEX, ks2c, 32), 32);
    assert_int_equal(ufrpc_test_unhex(RECORDS_HEX, want, sizeof want), 64);
    for (int i = 0; i < 12; i++)
        nonce[i] = (uint8_t)(0x10 + i);
    struct pair p;
    pair_open(&p);
    /* b plays frps: writes with K_s2c and the fixed nonce; reads with K_s2c too, so
     * the vector bytes sent back raw by a decode to the same plaintext */
    struct ufrpc_stream *x = wrap(p.b, UFRPC_AEAD_AES_256_GCM, ks2c, ks2c, nonce, NULL, NULL, 0);
    struct sink raw = {0}, dec = {0};
    p.a->data = &raw;
    x->data = &dec;
    assert_int_equal(ufrpc_stream_read_start(p.a, sink_read), 0);
    assert_int_equal(ufrpc_stream_read_start(x, sink_read), 0);
    struct ufrpc_stream_write w1, w2, w3;
    int st1 = 1, st2 = 1, st3 = 1;
    w1.data = &st1;
    w2.data = &st2;
    w3.data = &st3;
    uv_buf_t b1 = uv_buf_init((char *)(uintptr_t)REQ_WORK_CONN, 8);
    uv_buf_t b2 = uv_buf_init((char *)(uintptr_t)(REQ_WORK_CONN + 8), 4);
    assert_int_equal(ufrpc_stream_write(x, &w1, &b1, 1, noop_cb), 0);
    assert_int_equal(ufrpc_stream_write(x, &w2, &b2, 1, noop_cb), 0);
    assert_int_equal(ufrpc_stream_queued(x), 12);
    struct want_len wl = {&raw, 64};
    assert_true(nt_run_until(&p.loop, sink_has, &wl, 5000));
    assert_int_equal(raw.len, 64);
    assert_memory_equal(raw.buf, want, 64);
    assert_int_equal(st1, 0);
    assert_int_equal(st2, 0);
    assert_int_equal(ufrpc_stream_queued(x), 0);
    /* the same bytes back, in three raw pieces */
    uv_buf_t parts[3] = {uv_buf_init((char *)want, 5), uv_buf_init((char *)want + 5, 30),
                         uv_buf_init((char *)want + 35, 29)};
    assert_int_equal(ufrpc_stream_write(p.a, &w3, parts, 3, noop_cb), 0);
    struct want_len wd = {&dec, 12};
    assert_true(nt_run_until(&p.loop, sink_has, &wd, 5000));
    assert_int_equal(dec.len, 12);
    assert_memory_equal(dec.buf, REQ_WORK_CONN, 12);
    /* a raw EOF at a record boundary is a clean EOF */
    assert_int_equal(ufrpc_stream_shutdown(p.a, noop_shut), 0);
    assert_true(nt_run_until(&p.loop, sink_ended, &dec, 5000));
    assert_int_equal(dec.status, UFRPC_ERR_EOF);
    ufrpc_stream_close(x, NULL);
    ufrpc_stream_close(p.a, NULL);
    pair_finish(&p);
    free(raw.buf);
    free(dec.buf);
}

static void test_initial_bytes_and_client_helper(void **state)
{
    (void)state;
    uint8_t want[64];
    assert_int_equal(ufrpc_test_unhex(RECORDS_HEX, want, sizeof want), 64);
    for (size_t cut = 0; cut <= 64; cut += 7) {
        struct pair p;
        pair_open(&p);
        /* a real handshake object in DONE state whose K_s2c is the §14.6 key: the
         * vector ServerHello after the vector ClientHello, then a LoginResp */
        struct ufrpc_msg login;
        char *lj = ufrpc_test_vector_text("Login JSON: ");
        assert_non_null(lj);
        assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_LOGIN, lj, strlen(lj), &login), 0);
        free(lj);
        uint8_t rnd[32];
        for (int i = 0; i < 32; i++)
            rnd[i] = (uint8_t)i;
        const ufrpc_aead_alg_t algs[2] = {UFRPC_AEAD_AES_256_GCM, UFRPC_AEAD_XCHACHA20_POLY1305};
        struct ufrpc_v2hs_opts ho = {.bootstrap = {"tcp", true, true}, .algs = algs, .n_algs = 2,
                                     .client_random = rnd, .token = (const uint8_t *)"12345678",
                                     .token_len = 8, .login = &login};
        struct ufrpc_v2hs *hs;
        assert_int_equal(ufrpc_v2hs_new(&ho, &hs), 0);
        char *sh = ufrpc_test_vector_text("ServerHello JSON: ");
        assert_non_null(sh);
        size_t shl = strlen(sh);
        static const char lr[] = "\0\x02{\"run_id\":\"a1b2c3d4e5f60718\"}";
        size_t in_len = 8 + shl + 8 + sizeof lr - 1 + cut;
        uint8_t *in = malloc(in_len);
        assert_non_null(in);
        assert_int_equal(ufrpc_frame_v2_encode_header(2, shl, in), 0);
        memcpy(in + 8, sh, shl);
        assert_int_equal(ufrpc_frame_v2_encode_header(16, sizeof lr - 1, in + 8 + shl), 0);
        memcpy(in + 16 + shl, lr, sizeof lr - 1);
        memcpy(in + 16 + shl + sizeof lr - 1, want, cut);
        size_t used;
        assert_int_equal(ufrpc_v2hs_feed(hs, in, in_len, &used), 1);
        assert_int_equal(in_len - used, cut);
        uint64_t seed = 11;
        int err = 1;
        struct ufrpc_stream *x =
            ufrpc_xform_aead_client(p.a, hs, test_rng, &seed, in + used, in_len - used, &err);
        assert_non_null(x);
        assert_int_equal(err, 0);
        ufrpc_v2hs_free(hs);
        ufrpc_msg_free(&login);
        free(sh);
        free(in);
        struct sink dec = {0}, raw = {0};
        x->data = &dec;
        p.b->data = &raw;
        assert_int_equal(ufrpc_stream_read_start(x, sink_read), 0);
        assert_int_equal(ufrpc_stream_read_start(p.b, sink_read), 0);
        struct ufrpc_stream_write w;
        w.data = NULL;
        uv_buf_t b = uv_buf_init((char *)want + cut, (unsigned)(64 - cut));
        if (cut < 64)
            assert_int_equal(ufrpc_stream_write(p.b, &w, &b, 1, noop_cb), 0);
        struct want_len wd = {&dec, 12};
        assert_true(nt_run_until(&p.loop, sink_has, &wd, 5000));
        assert_int_equal(dec.status, 0);
        assert_int_equal(dec.len, 12);
        assert_memory_equal(dec.buf, REQ_WORK_CONN, 12);
        /* the client writes with K_c2s: the peer decrypts with it */
        struct ufrpc_stream_write w2;
        w2.data = NULL;
        uv_buf_t b2 = uv_buf_init((char *)(uintptr_t)REQ_WORK_CONN, 12);
        assert_int_equal(ufrpc_stream_write(x, &w2, &b2, 1, noop_cb), 0);
        struct want_len wr = {&raw, 12 + 4 + 12 + 16};
        assert_true(nt_run_until(&p.loop, sink_has, &wr, 5000));
        uint8_t kc2s[32];
        assert_int_equal(ufrpc_test_unhex(K_C2S_HEX, kc2s, 32), 32);
        ufrpc_aead_reader_t r;
        assert_int_equal(ufrpc_aead_reader_init(&r, UFRPC_AEAD_AES_256_GCM, kc2s), 0);
        const uint8_t *pt;
        size_t pt_len;
        assert_int_equal(ufrpc_aead_reader_feed(&r, raw.buf, raw.len, &used, &pt, &pt_len), 0);
        assert_int_equal(used, raw.len);
        assert_int_equal(pt_len, 12);
        assert_memory_equal(pt, REQ_WORK_CONN, 12);
        ufrpc_aead_reader_free(&r);
        ufrpc_stream_close(x, NULL);
        ufrpc_stream_close(p.b, NULL);
        pair_finish(&p);
        free(dec.buf);
        free(raw.buf);
    }
}

/* ---- bulk transfer ------------------------------------------------------------------ */

#define NREQ 3

struct bulk {
    struct ufrpc_stream *s;
    const uint8_t *src; /* what this side sends */
    const uint8_t *exp; /* what it must receive */
    size_t total;
    uint64_t rng;
    /* sending */
    size_t sent, completed;
    struct {
        struct ufrpc_stream_write w;
        uv_buf_t b[3];
        size_t len;
        uint64_t seq;
        int busy;
    } rq[NREQ];
    uint64_t seq_next, seq_done;
    int order_bad, werr, shut, shut_status;
    /* receiving */
    size_t got;
    int eof, rerr, mismatch;
    uv_timer_t pause;
    ufrpc_rbuf_t *held;
    size_t max_delivery;
    int pauses, holds, empties;
    int closed;
};

static void bulk_send(struct bulk *k);

static void bulk_on_shut(struct ufrpc_stream *s, int status)
{
    struct bulk *k = s->data;
    k->shut = 2;
    k->shut_status = status;
}

static void bulk_on_write(struct ufrpc_stream_write *w, int status)
{
    struct bulk *k = w->data;
    int i = 0;
    while (&k->rq[i].w != w)
        i++;
    if (status < 0 && k->werr == 0)
        k->werr = status;
    if (k->rq[i].seq != k->seq_done)
        k->order_bad = 1;
    k->seq_done++;
    k->rq[i].busy = 0;
    k->completed += k->rq[i].len;
    if (!k->closed)
        bulk_send(k);
}

static void bulk_send(struct bulk *k)
{
    for (int i = 0; i < NREQ && k->werr == 0; i++) {
        if (k->rq[i].busy || k->sent == k->total)
            continue;
        uint64_t r = ufrpc_test_rand(&k->rng);
        /* every 8th request is empty; sizes computed in 64 bits so that 32-bit
         * targets draw the same sequence */
        size_t n = (k->seq_next % 8 == 1) ? 0 : (size_t)((r >> 8) % 200001);
        if (n > k->total - k->sent)
            n = k->total - k->sent;
        size_t c1 = n ? (size_t)(ufrpc_test_rand(&k->rng) % (n + 1)) : 0;
        size_t c2 = c1 + (n - c1 ? (size_t)(ufrpc_test_rand(&k->rng) % (n - c1 + 1)) : 0);
        const uint8_t *p = k->src + k->sent;
        k->rq[i].b[0] = uv_buf_init((char *)(uintptr_t)p, (unsigned)c1);
        k->rq[i].b[1] = uv_buf_init((char *)(uintptr_t)(p + c1), (unsigned)(c2 - c1));
        k->rq[i].b[2] = uv_buf_init((char *)(uintptr_t)(p + c2), (unsigned)(n - c2));
        k->rq[i].len = n;
        k->rq[i].seq = k->seq_next++;
        k->rq[i].w.data = k;
        k->rq[i].busy = 1;
        int rc = ufrpc_stream_write(k->s, &k->rq[i].w, k->rq[i].b, 1 + (unsigned)(r % 3),
                                    bulk_on_write);
        if (rc < 0) {
            k->werr = rc;
            return;
        }
        /* nbufs may have cut the request short: account for what was queued */
        size_t q = 0;
        for (unsigned j = 0; j < 1 + (unsigned)(r % 3); j++)
            q += k->rq[i].b[j].len;
        k->rq[i].len = q;
        k->sent += q;
        k->empties += q == 0;
    }
    if (k->sent == k->total && k->completed == k->total && k->shut == 0 && k->werr == 0) {
        k->shut = 1;
        assert_int_equal(ufrpc_stream_queued(k->s), 0);
        int rc = ufrpc_stream_shutdown(k->s, bulk_on_shut);
        if (rc < 0)
            k->werr = rc;
    }
}

static void bulk_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                      size_t len);

static void bulk_resume(uv_timer_t *t)
{
    struct bulk *k = t->data;
    ufrpc_rbuf_unref(k->held);
    k->held = NULL;
    if (!k->closed && !k->eof && !k->rerr)
        assert_int_equal(ufrpc_stream_read_start(k->s, bulk_read), 0);
}

static void bulk_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                      size_t len)
{
    struct bulk *k = s->data;
    if (status == UFRPC_ERR_EOF) {
        k->eof = 1;
        return;
    }
    if (status < 0) {
        k->rerr = status;
        return;
    }
    if (len > k->max_delivery)
        k->max_delivery = len;
    if (k->got + len > k->total || memcmp(data, k->exp + k->got, len) != 0)
        k->mismatch = 1;
    k->got += len;
    uint64_t r = ufrpc_test_rand(&k->rng);
    if (r % 3 == 0) {
        /* pause, sometimes keeping the buffer (forces a fresh one) */
        ufrpc_stream_read_stop(s);
        k->pauses++;
        if (r % 2 == 0 && k->held == NULL) {
            ufrpc_rbuf_ref(buf);
            k->held = buf;
            k->holds++;
        }
        uv_timer_start(&k->pause, bulk_resume, (r >> 8) % 2, 0);
    }
}

static int bulk_done(void *arg)
{
    struct bulk *k = arg;
    for (int i = 0; i < 2; i++)
        if (!((k[i].eof && k[i].shut == 2) || k[i].rerr || k[i].werr || k[i].mismatch))
            return 0;
    return 1;
}

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = ufrpc_test_rand(&seed);
        size_t m = n - i < 8 ? n - i : 8;
        memcpy(b + i, &v, m);
    }
    return b;
}

static void run_bulk(ufrpc_aead_alg_t alg, size_t total)
{
    struct pair p;
    pair_open(&p);
    uint8_t k1[32], k2[32];
    for (int i = 0; i < 32; i++) {
        k1[i] = (uint8_t)(i * 7 + 1);
        k2[i] = (uint8_t)(i * 13 + 5);
    }
    uint64_t seed_a = 21, seed_b = 22;
    uint8_t *ab = random_bytes(total, 1), *ba = random_bytes(total, 2);
    struct bulk k[2];
    memset(k, 0, sizeof k);
    k[0].s = wrap(p.a, alg, k1, k2, NULL, &seed_a, NULL, 0);
    k[1].s = wrap(p.b, alg, k2, k1, NULL, &seed_b, NULL, 0);
    k[0].src = ab;
    k[0].exp = ba;
    k[1].src = ba;
    k[1].exp = ab;
    for (int i = 0; i < 2; i++) {
        k[i].total = total;
        k[i].rng = 100 + (uint64_t)i;
        k[i].s->data = &k[i];
        uv_timer_init(&p.loop, &k[i].pause);
        k[i].pause.data = &k[i];
        assert_int_equal(ufrpc_stream_read_start(k[i].s, bulk_read), 0);
        bulk_send(&k[i]);
    }
    assert_true(nt_run_until(&p.loop, bulk_done, k, 60000));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(k[i].werr, 0);
        assert_int_equal(k[i].rerr, 0);
        assert_false(k[i].mismatch);
        assert_false(k[i].order_bad);
        assert_int_equal(k[i].got, total);
        assert_int_equal(k[i].shut_status, 0);
        assert_true(k[i].max_delivery <= UFRPC_AEAD_MAX_PLAINTEXT);
        assert_true(k[i].pauses > 5);
        assert_true(k[i].holds > 0);
        assert_true(k[i].empties > 0);
        k[i].closed = 1;
        ufrpc_rbuf_unref(k[i].held);
        uv_close((uv_handle_t *)&k[i].pause, NULL);
        ufrpc_stream_close(k[i].s, NULL);
    }
    pair_finish(&p);
    free(ab);
    free(ba);
}

static void test_bulk_8mib_gcm(void **state)
{
    (void)state;
    run_bulk(UFRPC_AEAD_AES_256_GCM, 8u << 20);
}

static void test_bulk_2mib_xchacha(void **state)
{
    (void)state;
    run_bulk(UFRPC_AEAD_XCHACHA20_POLY1305, 2u << 20);
}

/* ---- record layout on the wire ------------------------------------------------------ */

static void test_record_sizes(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    uint8_t key[32] = {1}, nonce[24] = {0};
    struct ufrpc_stream *x =
        wrap(p.a, UFRPC_AEAD_XCHACHA20_POLY1305, key, key, nonce, NULL, NULL, 0);
    struct sink raw = {0};
    p.b->data = &raw;
    assert_int_equal(ufrpc_stream_read_start(p.b, sink_read), 0);
    /* one request of 150000 bytes over two iovecs = records 65536, 65536, 18928;
     * then an empty request; then 3 bytes */
    size_t n = 150000;
    uint8_t *data = random_bytes(n, 9);
    uv_buf_t bufs[2] = {uv_buf_init((char *)data, 70000),
                        uv_buf_init((char *)data + 70000, (unsigned)(n - 70000))};
    uv_buf_t tiny = uv_buf_init((char *)data, 3);
    struct ufrpc_stream_write w[3];
    int st[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++)
        w[i].data = &st[i];
    assert_int_equal(ufrpc_stream_write(x, &w[0], bufs, 2, noop_cb), 0);
    assert_int_equal(ufrpc_stream_write(x, &w[1], NULL, 0, noop_cb), 0);
    assert_int_equal(ufrpc_stream_write(x, &w[2], &tiny, 1, noop_cb), 0);
    size_t want = 24 + 3 * 20 + n + 20 + 3;
    struct want_len wl = {&raw, want};
    assert_true(nt_run_until(&p.loop, sink_has, &wl, 5000));
    assert_int_equal(raw.len, want);
    assert_int_equal(st[0], 0);
    assert_int_equal(st[1], 0);
    assert_int_equal(st[2], 0);
    size_t off = 24;
    const size_t lens[4] = {65536, 65536, 150000 - 131072, 3};
    for (int i = 0; i < 4; i++) {
        uint32_t ct = (uint32_t)raw.buf[off] << 24 | (uint32_t)raw.buf[off + 1] << 16 |
                      (uint32_t)raw.buf[off + 2] << 8 | raw.buf[off + 3];
        assert_int_equal(ct, lens[i] + 16);
        off += 4 + ct;
    }
    assert_int_equal(off, raw.len);
    ufrpc_stream_close(x, NULL);
    ufrpc_stream_close(p.b, NULL);
    pair_finish(&p);
    free(raw.buf);
    free(data);
}

/* ---- errors ------------------------------------------------------------------------ */

static void raw_send_and(struct pair *p, const uint8_t *b, size_t n, int shutdown)
{
    static struct ufrpc_stream_write w;
    static uv_buf_t buf;
    w.data = NULL;
    buf = uv_buf_init((char *)(uintptr_t)b, (unsigned)n);
    assert_int_equal(ufrpc_stream_write(p->b, &w, &buf, 1, noop_cb), 0);
    if (shutdown)
        assert_int_equal(ufrpc_stream_shutdown(p->b, noop_shut), 0);
}

static void test_tamper_and_truncation(void **state)
{
    (void)state;
    uint8_t ks2c[32], rec[64];
    assert_int_equal(ufrpc_test_unhex(K_S2C_HEX, ks2c, 32), 32);
    assert_int_equal(ufrpc_test_unhex(RECORDS_HEX, rec, sizeof rec), 64);
    uint64_t seed = 1;
    struct {
        size_t len;
        int flip; /* byte to flip, -1 none */
        int want;
        size_t want_plain;
    } cases[] = {
        {64, 20, UFRPC_ERR_AEAD_AUTH, 0},  /* first record's ciphertext */
        {64, 50, UFRPC_ERR_AEAD_AUTH, 8},  /* second record's: the first was delivered */
        {64, 3, UFRPC_ERR_AEAD_AUTH, 0},   /* the nonce (AAD and nonce) */
        {50, -1, UFRPC_ERR_AEAD_RECORD, 8}, /* EOF inside the second record */
        {6, -1, UFRPC_ERR_AEAD_RECORD, 0},  /* EOF inside the nonce */
        {0, -1, UFRPC_ERR_EOF, 0},          /* empty stream: clean */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pair p;
        pair_open(&p);
        struct ufrpc_stream *x =
            wrap(p.a, UFRPC_AEAD_AES_256_GCM, ks2c, ks2c, NULL, &seed, NULL, 0);
        struct sink dec = {0};
        x->data = &dec;
        assert_int_equal(ufrpc_stream_read_start(x, sink_read), 0);
        uint8_t b[64];
        memcpy(b, rec, 64);
        if (cases[i].flip >= 0)
            b[cases[i].flip] ^= 0x40;
        raw_send_and(&p, b, cases[i].len, 1);
        assert_true(nt_run_until(&p.loop, sink_ended, &dec, 5000));
        assert_int_equal(dec.status, cases[i].want);
        assert_int_equal(dec.len, cases[i].want_plain);
        assert_int_equal(ufrpc_stream_read_start(x, sink_read), UFRPC_ERR_STATE);
        ufrpc_stream_close(x, NULL);
        ufrpc_stream_close(p.b, NULL);
        pair_finish(&p);
        free(dec.buf);
    }
}

struct closer {
    int statuses[8];
    int n;
    int closed_after;
    int shut_status;
};

static void order_cb(struct ufrpc_stream_write *w, int status)
{
    struct closer *c = w->data;
    c->statuses[c->n++] = status;
}

static void close_cb(struct ufrpc_stream *s)
{
    struct closer *c = s->data;
    c->closed_after = c->n;
}

static void shut_cb(struct ufrpc_stream *s, int status)
{
    struct closer *c = s->data;
    c->shut_status = status;
}

static int closer_done(void *arg)
{
    return ((struct closer *)arg)->closed_after >= 0;
}

static void test_close_cancels_pending(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    uint8_t key[32] = {7};
    uint64_t seed = 3;
    struct ufrpc_stream *x = wrap(p.a, UFRPC_AEAD_AES_256_GCM, key, key, NULL, &seed, NULL, 0);
    struct closer c = {.closed_after = -1, .shut_status = 1};
    x->data = &c;
    /* 6 requests of 1 MiB each: more than the adapter puts in flight at once */
    size_t n = 1u << 20;
    uint8_t *data = random_bytes(n, 4);
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
    struct ufrpc_stream_write w[6];
    for (int i = 0; i < 6; i++) {
        w[i].data = &c;
        assert_int_equal(ufrpc_stream_write(x, &w[i], &b, 1, order_cb), 0);
    }
    assert_int_equal(ufrpc_stream_shutdown(x, shut_cb), 0);
    struct ufrpc_stream_write extra;
    extra.data = &c;
    assert_int_equal(ufrpc_stream_write(x, &extra, &b, 1, order_cb), UFRPC_ERR_STATE);
    assert_int_equal(ufrpc_stream_queued(x), 6 * n);
    assert_int_equal(c.n, 0); /* nothing completes from inside write */
    ufrpc_stream_close(x, close_cb);
    assert_true(nt_run_until(&p.loop, closer_done, &c, 5000));
    assert_int_equal(c.n, 6);
    assert_int_equal(c.closed_after, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(c.statuses[i], UFRPC_ERR_CANCELED);
    assert_int_equal(c.shut_status, UFRPC_ERR_CANCELED);
    ufrpc_stream_close(p.b, NULL);
    pair_finish(&p);
    free(data);
}

struct pauser {
    int deliveries, target;
    size_t bytes;
    int bad;
};

static void pause_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len)
{
    struct pauser *ps = s->data;
    (void)buf;
    if (status < 0)
        return;
    /* record i (0-based) is 100 bytes of 'a' + i */
    if (len != 100 || data[0] != 'a' + ps->deliveries || data[99] != 'a' + ps->deliveries)
        ps->bad = 1;
    ps->deliveries++;
    ps->bytes += len;
    ufrpc_stream_read_stop(s);
}

static int reached(void *arg)
{
    struct pauser *ps = arg;
    return ps->deliveries >= ps->target;
}

/* Ten records arrive in one go; the reader stops after each: the rest is kept and
 * delivered record by record on resume (never from inside read_start); closing
 * while bytes are kept is clean. */
static void test_pause_keeps_input_and_close(void **state)
{
    (void)state;
    uint8_t key[32] = {9}, nonce[12] = {1};
    ufrpc_aead_writer_t w;
    assert_int_equal(ufrpc_aead_writer_init(&w, UFRPC_AEAD_AES_256_GCM, key, nonce), 0);
    uint8_t ct[12 + 10 * (20 + 100)];
    size_t off = 0;
    uint8_t plain[100];
    for (int i = 0; i < 10; i++) {
        memset(plain, 'a' + i, sizeof plain);
        size_t n;
        assert_int_equal(ufrpc_aead_writer_write(&w, plain, sizeof plain, ct + off,
                                                 sizeof ct - off, &n),
                         0);
        off += n;
    }
    assert_int_equal(off, sizeof ct);
    ufrpc_aead_writer_free(&w);
    struct pair p;
    pair_open(&p);
    struct ufrpc_stream *x = wrap(p.a, UFRPC_AEAD_AES_256_GCM, key, key, nonce, NULL, NULL, 0);
    struct pauser ps = {0, 1, 0, 0};
    x->data = &ps;
    assert_int_equal(ufrpc_stream_read_start(x, pause_read), 0);
    raw_send_and(&p, ct, sizeof ct, 0);
    assert_true(nt_run_until(&p.loop, reached, &ps, 5000));
    for (int i = 2; i <= 5; i++) {
        assert_int_equal(ufrpc_stream_read_start(x, pause_read), 0);
        assert_int_equal(ps.deliveries, i - 1);
        ps.target = i;
        /* the kept bytes come from a 0 ms timer: no I/O to wait for (a blocking
         * UV_RUN_ONCE would sleep until its guard timer) */
        for (int k = 0; k < 100 && !reached(&ps); k++)
            uv_run(&p.loop, UV_RUN_NOWAIT);
        assert_int_equal(ps.deliveries, i);
        assert_int_equal(ps.bytes, (size_t)i * 100);
    }
    assert_false(ps.bad);
    ufrpc_stream_close(x, NULL); /* five records still kept or unread */
    ufrpc_stream_close(p.b, NULL);
    pair_finish(&p);
}

static void test_bad_args(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    uint8_t key[32] = {0};
    int err = 0;
    struct ufrpc_xform_aead_opts o = {.alg = (ufrpc_aead_alg_t)9, .write_key = key,
                                      .read_key = key, .write_nonce = key};
    /* the lower stream is closed on failure */
    assert_null(ufrpc_xform_aead_new(p.a, &o, &err));
    assert_int_equal(err, UFRPC_ERR_INVAL);
    assert_null(ufrpc_xform_aead_client(p.b, NULL, test_rng, NULL, NULL, 0, &err));
    assert_int_equal(err, UFRPC_ERR_STATE);
    pair_finish(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_records_both_ways),
        cmocka_unit_test(test_initial_bytes_and_client_helper),
        cmocka_unit_test(test_bulk_8mib_gcm),
        cmocka_unit_test(test_bulk_2mib_xchacha),
        cmocka_unit_test(test_record_sizes),
        cmocka_unit_test(test_tamper_and_truncation),
        cmocka_unit_test(test_close_cancels_pending),
        cmocka_unit_test(test_pause_keeps_input_and_close),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
