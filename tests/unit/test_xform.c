/* net/xform*: per-proxy encryption and compression adapters over real loopback TCP.
 * Wire bytes are checked against frp's construction (docs/PROTOCOL.md §5.3, §5.4, §14.4,
 * §14.5 vectors; proto/cfb.h and proto/snappy.h as reference codecs), the layer
 * order by peeling the layers, and 16 MiB transfers with random write chunking,
 * multi-iovec writes, a pausing reader and a bound on the bytes queued below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/mux.h"
#include "net/nettest.h"
#include "net/pump.h"
#include "net/tcp.h"
#include "net/xform.h"
#include "net/xform_crypt.h"
#include "net/xform_snappy.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/snappy.h"
#include "testutil.h"

/* ---- a connected loopback pair ------------------------------------------------- */
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
    struct pair *p = r->data;
    p->connected = status == 0 ? 1 : -1;
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

/* ---- a raw collector ------------------------------------------------------------ */
struct col {
    uint8_t *buf;
    size_t len, cap;
    int eof, err;
};

static void col_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *rb, const uint8_t *data,
                     size_t len)
{
    struct col *c = s->data;
    (void)rb;
    if (status == UFRPC_ERR_EOF) {
        c->eof = 1;
        return;
    }
    if (status < 0) {
        c->err = status;
        return;
    }
    if (c->len + len > c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 4096;
        while (ncap < c->len + len)
            ncap *= 2;
        c->buf = realloc(c->buf, ncap);
        assert_non_null(c->buf);
        c->cap = ncap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
}

struct wait_len {
    struct col *c;
    size_t want;
};

static int col_has(void *arg)
{
    struct wait_len *w = arg;
    return w->c->len >= w->want || w->c->err != 0;
}

static int col_done(void *arg)
{
    struct col *c = arg;
    return c->eof || c->err != 0;
}

/* ---- write bookkeeping -------------------------------------------------------- */
struct wr {
    struct ufrpc_stream_write w;
    uv_buf_t b[3];
    int done, status, order;
    int *counter;
};

static void wr_cb(struct ufrpc_stream_write *w, int status)
{
    struct wr *r = w->data;
    r->done = 1;
    r->status = status;
    r->order = ++*r->counter;
}

static int all_done(void *arg)
{
    struct wr *r = arg;
    for (; r->counter != NULL; r++)
        if (!r->done)
            return 0;
    return 1;
}

static void noop_shut(struct ufrpc_stream *s, int status)
{
    (void)s;
    (void)status;
}

static int fixed_iv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)i;
    return 0;
}

static void vec(const char *title, uint8_t **out, size_t *len)
{
    int rc = ufrpc_test_vector_bytes(title, out, len);
    if (rc < 0)
        fail_msg("vector '%s' missing: %s", title, ufrpc_strerror(rc));
}

static void key_for(const char *secret, uint8_t key[16])
{
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)secret, strlen(secret), key), 0);
}

static void fill_text(uint8_t *p, size_t n, uint64_t seed)
{
    static const char *words[] = {"frp ", "tunnel ", "proxy ", "snappy ", "ufrpc ", "\n"};
    uint64_t st = seed;
    size_t i = 0;
    while (i < n) {
        uint64_t r = ufrpc_test_rand(&st);
        if (r % 7 == 0) {
            p[i++] = (uint8_t)(r >> 8);
            continue;
        }
        const char *w = words[r % 6];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
}

static void close_and_drain(uv_loop_t *loop)
{
    uv_walk(loop, nt_walk_close, NULL);
    assert_true(nt_loop_drain(loop));
}

/* ---- tests ------------------------------------------------------------------------ */

/* docs/PROTOCOL.md §14.4: IV 00..0f, token 12345678, two Ping frames on one stream. */
static void test_crypt_vector(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    uint8_t key[16];
    key_for("12345678", key);
    int err;
    struct ufrpc_stream *x = ufrpc_xform_crypt_new(p.a, key, fixed_iv, NULL, &err);
    assert_non_null(x);
    struct col c = {0};
    p.b->data = &c;
    assert_int_equal(ufrpc_stream_read_start(p.b, col_read), 0);

    uint8_t *ping, *exp1, *exp2;
    size_t ping_len, exp1_len, exp2_len;
    vec("v1 Ping frame (no auth scope)", &ping, &ping_len);
    vec("AES-128-CFB(Ping frame)", &exp1, &exp1_len);
    vec("next Ping on same stream", &exp2, &exp2_len);
    assert_int_equal(exp1_len, 16 + ping_len);

    int counter = 0;
    struct wr w[3] = {{.counter = &counter}, {.counter = &counter}, {.done = 0}};
    for (int i = 0; i < 2; i++) {
        w[i].w.data = &w[i];
        w[i].b[0] = uv_buf_init((char *)ping, (unsigned)ping_len);
        assert_int_equal(ufrpc_stream_write(x, &w[i].w, w[i].b, 1, wr_cb), 0);
    }
    assert_int_equal(counter, 0); /* never from inside write() */
    assert_int_equal(ufrpc_stream_queued(x), 2 * ping_len);
    struct wait_len wl = {&c, exp1_len + exp2_len};
    assert_true(nt_run_until(&loop, col_has, &wl, 5000));
    assert_true(nt_run_until(&loop, all_done, w, 5000));
    assert_int_equal(w[0].status, 0);
    assert_int_equal(w[1].status, 0);
    assert_int_equal(w[0].order, 1);
    assert_int_equal(w[1].order, 2);
    assert_int_equal(ufrpc_stream_queued(x), 0);
    assert_int_equal(c.len, exp1_len + exp2_len);
    assert_memory_equal(c.buf, exp1, exp1_len);
    assert_memory_equal(c.buf + exp1_len, exp2, exp2_len);
    /* the caller's bytes are untouched (encryption goes to the adapter's buffer) */
    uint8_t *ping2;
    size_t ping2_len;
    vec("v1 Ping frame (no auth scope)", &ping2, &ping2_len);
    assert_memory_equal(ping, ping2, ping_len);

    ufrpc_stream_close(x, NULL);
    ufrpc_stream_close(p.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(ping);
    free(ping2);
    free(exp1);
    free(exp2);
    free(c.buf);
}

/* An empty first write still sends the IV (golib writes the IV on the first Write,
 * whatever its length); an empty write on the snappy adapter sends nothing but
 * completes. */
static void test_empty_writes(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    uint8_t key[16];
    key_for("k", key);
    int err;
    struct ufrpc_stream *x = ufrpc_xform_crypt_new(p.a, key, fixed_iv, NULL, &err);
    assert_non_null(x);
    struct ufrpc_stream *z = ufrpc_xform_snappy_new(x, &err);
    assert_non_null(z);
    struct col c = {0};
    p.b->data = &c;
    assert_int_equal(ufrpc_stream_read_start(p.b, col_read), 0);
    int counter = 0;
    struct wr w[2] = {{.counter = &counter}, {.done = 0}};
    w[0].w.data = &w[0];
    assert_int_equal(ufrpc_stream_write(z, &w[0].w, w[0].b, 0, wr_cb), 0);
    assert_int_equal(counter, 0);
    assert_true(nt_run_until(&loop, all_done, w, 5000));
    assert_int_equal(w[0].status, 0);
    /* snappy emitted nothing for the empty write, so crypt saw no write yet */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(c.len, 0);

    /* crypt alone: empty first write -> IV on the wire */
    struct pair q;
    make_pair(&loop, &q);
    struct ufrpc_stream *y = ufrpc_xform_crypt_new(q.a, key, fixed_iv, NULL, &err);
    assert_non_null(y);
    struct col d = {0};
    q.b->data = &d;
    assert_int_equal(ufrpc_stream_read_start(q.b, col_read), 0);
    struct wr v[2] = {{.counter = &counter}, {.done = 0}};
    v[0].w.data = &v[0];
    assert_int_equal(ufrpc_stream_write(y, &v[0].w, v[0].b, 0, wr_cb), 0);
    struct wait_len wl = {&d, 16};
    assert_true(nt_run_until(&loop, col_has, &wl, 5000));
    assert_true(nt_run_until(&loop, all_done, v, 5000));
    assert_int_equal(d.len, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(d.buf[i], i);

    /* encryption without a key is refused (and the stream closed) */
    struct pair r2;
    make_pair(&loop, &r2);
    struct ufrpc_stream *none = NULL;
    assert_int_equal(ufrpc_xform_wrap(r2.a, true, NULL, false, NULL, &none), UFRPC_ERR_INVAL);
    assert_null(none);
    ufrpc_stream_close(r2.b, NULL);

    /* shutdown after writes reaches the peer as EOF */
    assert_int_equal(ufrpc_stream_shutdown(y, noop_shut), 0);
    assert_true(nt_run_until(&loop, col_done, &d, 5000));
    assert_int_equal(d.eof, 1);

    ufrpc_stream_close(z, NULL);
    ufrpc_stream_close(y, NULL);
    ufrpc_stream_close(p.b, NULL);
    ufrpc_stream_close(q.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(c.buf);
    free(d.buf);
}

/* Snappy adapter output equals Go's unbuffered writer (the proto encoder fed the
 * same Write sequence): "hello" gives the §14.5 vector; a 200000-byte write given
 * as three iovecs is framed as one Write (blocks of 65536 from its start). */
static void test_snappy_wire(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *z = ufrpc_xform_snappy_new(p.a, &err);
    assert_non_null(z);
    struct col c = {0};
    p.b->data = &c;
    assert_int_equal(ufrpc_stream_read_start(p.b, col_read), 0);

    uint8_t *hello_vec;
    size_t hello_vec_len;
    vec("snappy framed stream of 'hello'", &hello_vec, &hello_vec_len);
    const size_t big_len = 200000;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    fill_text(big, big_len, 7);

    int counter = 0;
    struct wr w[3] = {{.counter = &counter}, {.counter = &counter}, {.done = 0}};
    w[0].w.data = &w[0];
    w[0].b[0] = uv_buf_init("hello", 5);
    assert_int_equal(ufrpc_stream_write(z, &w[0].w, w[0].b, 1, wr_cb), 0);
    w[1].w.data = &w[1];
    w[1].b[0] = uv_buf_init((char *)big, 30000);
    w[1].b[1] = uv_buf_init((char *)big + 30000, 70000);
    w[1].b[2] = uv_buf_init((char *)big + 100000, (unsigned)(big_len - 100000));
    assert_int_equal(ufrpc_stream_write(z, &w[1].w, w[1].b, 3, wr_cb), 0);

    /* expected: proto encoder, same writes */
    ufrpc_snappy_encoder_t enc;
    ufrpc_snappy_encoder_init(&enc);
    size_t cap = ufrpc_snappy_encoder_bound(&enc, 5) + ufrpc_snappy_encoder_bound(&enc, big_len);
    uint8_t *exp = malloc(cap);
    size_t n1, n2;
    assert_int_equal(ufrpc_snappy_encoder_write(&enc, (const uint8_t *)"hello", 5, exp, cap, &n1), 0);
    assert_int_equal(ufrpc_snappy_encoder_write(&enc, big, big_len, exp + n1, cap - n1, &n2), 0);
    assert_int_equal(n1, hello_vec_len);
    assert_memory_equal(exp, hello_vec, hello_vec_len);

    struct wait_len wl = {&c, n1 + n2};
    assert_true(nt_run_until(&loop, col_has, &wl, 5000));
    assert_true(nt_run_until(&loop, all_done, w, 5000));
    assert_int_equal(c.len, n1 + n2);
    assert_memory_equal(c.buf, exp, n1 + n2);
    /* it really compressed (text): some 0x00 chunk exists and the total is smaller */
    assert_true(n2 < big_len);

    /* and the reference decoder gets the bytes back */
    ufrpc_snappy_decoder_t *dec;
    assert_int_equal(ufrpc_snappy_decoder_new(&dec), 0);
    uint8_t *back = malloc(big_len + 5);
    size_t back_len = 0, pos = 0;
    for (;;) {
        size_t used;
        const uint8_t *d;
        size_t dl;
        assert_int_equal(ufrpc_snappy_decoder_feed(dec, c.buf + pos, c.len - pos, &used, &d, &dl), 0);
        pos += used;
        assert_true(back_len + dl <= big_len + 5);
        if (dl > 0)
            memcpy(back + back_len, d, dl);
        back_len += dl;
        if (pos == c.len && dl == 0)
            break;
    }
    assert_int_equal(ufrpc_snappy_decoder_finish(dec), 0);
    assert_int_equal(back_len, 5 + big_len);
    assert_memory_equal(back, "hello", 5);
    assert_memory_equal(back + 5, big, big_len);
    ufrpc_snappy_decoder_free(dec);

    ufrpc_stream_close(z, NULL);
    ufrpc_stream_close(p.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(hello_vec);
    free(big);
    free(exp);
    free(back);
    free(c.buf);
}

/* ufrpc_xform_wrap(enc + comp): writes are compressed first, then encrypted. The
 * raw peer peels AES-CFB first, finds the snappy stream identifier, decodes; and
 * bytes the peer builds the same way are read back through the stack. */
static void test_stack_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    uint8_t key[16];
    key_for("12345678", key);
    struct ufrpc_stream *s = NULL;
    assert_int_equal(ufrpc_xform_wrap(p.a, true, key, true, NULL, &s), 0);
    assert_non_null(s);
    assert_ptr_not_equal(s, p.a);
    struct col raw = {0}, app = {0};
    p.b->data = &raw;
    s->data = &app;
    assert_int_equal(ufrpc_stream_read_start(p.b, col_read), 0);
    assert_int_equal(ufrpc_stream_read_start(s, col_read), 0);

    const size_t n = 100000;
    uint8_t *data = malloc(n);
    fill_text(data, n, 11);
    int counter = 0;
    struct wr w[2] = {{.counter = &counter}, {.done = 0}};
    w[0].w.data = &w[0];
    w[0].b[0] = uv_buf_init((char *)data, (unsigned)n);
    assert_int_equal(ufrpc_stream_write(s, &w[0].w, w[0].b, 1, wr_cb), 0);
    assert_true(nt_run_until(&loop, all_done, w, 5000));
    assert_int_equal(w[0].status, 0);
    uv_run(&loop, UV_RUN_NOWAIT);

    /* expected wire: snappy(data) then CFB with the peer-chosen IV */
    ufrpc_snappy_encoder_t enc;
    ufrpc_snappy_encoder_init(&enc);
    size_t cap = ufrpc_snappy_encoder_bound(&enc, n);
    uint8_t *framed = malloc(cap);
    size_t flen;
    assert_int_equal(ufrpc_snappy_encoder_write(&enc, data, n, framed, cap, &flen), 0);
    struct wait_len wl = {&raw, 16 + flen};
    assert_true(nt_run_until(&loop, col_has, &wl, 5000));
    assert_int_equal(raw.len, 16 + flen);
    ufrpc_cfb_reader_t rd;
    assert_int_equal(ufrpc_cfb_reader_init(&rd, key), 0);
    uint8_t *plain = malloc(raw.len);
    size_t plen;
    assert_int_equal(ufrpc_cfb_reader_decrypt(&rd, raw.buf, raw.len, plain, &plen), 0);
    ufrpc_cfb_reader_free(&rd);
    assert_int_equal(plen, flen);
    assert_memory_equal(plain, "\xff\x06\x00\x00sNaPpY", 10);
    assert_memory_equal(plain, framed, flen);

    /* other direction: peer compresses then encrypts, in odd-sized writes */
    ufrpc_snappy_encoder_init(&enc);
    assert_int_equal(ufrpc_snappy_encoder_write(&enc, data, n, framed, cap, &flen), 0);
    ufrpc_cfb_writer_t cw;
    uint8_t iv[16];
    fixed_iv(NULL, iv, 16);
    assert_int_equal(ufrpc_cfb_writer_init(&cw, key, iv), 0);
    uint8_t *wire = malloc(flen + 16);
    size_t wlen;
    assert_int_equal(ufrpc_cfb_writer_write(&cw, framed, flen, wire, flen + 16, &wlen), 0);
    ufrpc_cfb_writer_free(&cw);
    struct wr pw[8];
    memset(pw, 0, sizeof pw);
    size_t off = 0;
    static const size_t cuts[] = {3, 14, 1, 20, 5000, 13, 4000};
    assert_true(wlen > 10000);
    int k = 0;
    for (; k < 7; k++) {
        pw[k].counter = &counter;
        pw[k].w.data = &pw[k];
        pw[k].b[0] = uv_buf_init((char *)wire + off, (unsigned)cuts[k]);
        off += cuts[k];
        assert_int_equal(ufrpc_stream_write(p.b, &pw[k].w, pw[k].b, 1, wr_cb), 0);
    }
    pw[k].counter = &counter;
    pw[k].w.data = &pw[k];
    pw[k].b[0] = uv_buf_init((char *)wire + off, (unsigned)(wlen - off));
    assert_int_equal(ufrpc_stream_write(p.b, &pw[k].w, pw[k].b, 1, wr_cb), 0);
    assert_int_equal(ufrpc_stream_shutdown(p.b, noop_shut), 0);
    assert_true(nt_run_until(&loop, col_done, &app, 5000));
    assert_int_equal(app.eof, 1);
    assert_int_equal(app.len, n);
    assert_memory_equal(app.buf, data, n);

    ufrpc_stream_close(s, NULL);
    ufrpc_stream_close(p.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(data);
    free(framed);
    free(plain);
    free(wire);
    free(raw.buf);
    free(app.buf);
}

/* ---- 16 MiB with random chunking ---------------------------------------------------- */
struct bulk {
    struct ufrpc_stream *s;       /* adapter stack on side A */
    struct ufrpc_stream *lower;   /* A's TCP stream (only its queue size is read) */
    const uint8_t *pat;
    uint64_t rng;
    uint64_t total, sent;
    struct ufrpc_stream_write w[2];
    uv_buf_t b[2][3];
    int busy[2];
    int shut;
    size_t max_lower_queue;
    int err;
};

static void bulk_send(struct bulk *k);

static void bulk_sample(struct bulk *k)
{
    size_t q = uv_stream_get_write_queue_size((const uv_stream_t *)ufrpc_tcp_handle(k->lower));
    if (q > k->max_lower_queue)
        k->max_lower_queue = q;
}

static void bulk_wcb(struct ufrpc_stream_write *w, int status)
{
    struct bulk *k = w->data;
    k->busy[w == &k->w[0] ? 0 : 1] = 0;
    if (status < 0 && k->err == 0)
        k->err = status;
    bulk_sample(k);
    bulk_send(k);
}

static void bulk_send(struct bulk *k)
{
    for (int i = 0; i < 2 && k->sent < k->total && k->err == 0; i++) {
        if (k->busy[i])
            continue;
        uint64_t r = ufrpc_test_rand(&k->rng);
        size_t n = (size_t)(r % 3 == 0 ? r % 64 + 1 : r % 200000 + 1);
        if (n > k->total - k->sent)
            n = (size_t)(k->total - k->sent);
        if (n > NT_CHUNK) /* the pattern buffer repeats with NT_CHUNK of slack */
            n = NT_CHUNK;
        size_t off = (size_t)(k->sent % NT_PAT_LEN);
        unsigned nb = (r >> 20) % 3 + 1;
        if (n < nb)
            nb = 1;
        size_t part = n / nb, done = 0;
        for (unsigned j = 0; j < nb; j++) {
            size_t len = j + 1 == nb ? n - done : part;
            k->b[i][j] = uv_buf_init((char *)(uintptr_t)(k->pat + off + done), (unsigned)len);
            done += len;
        }
        k->w[i].data = k;
        int rc = ufrpc_stream_write(k->s, &k->w[i], k->b[i], nb, bulk_wcb);
        if (rc < 0) {
            k->err = rc;
            return;
        }
        k->busy[i] = 1;
        k->sent += n;
        bulk_sample(k);
    }
    if (k->sent == k->total && !k->busy[0] && !k->busy[1] && !k->shut) {
        k->shut = 1;
        assert_int_equal(ufrpc_stream_shutdown(k->s, noop_shut), 0);
    }
}

struct bulk_state {
    struct bulk *k;
    struct nt_peer *b;     /* side B: checks A's bytes, sends its own */
    struct nt_peer *a_rx;  /* side A's reader (no sending) */
};

static int bulk_done(void *arg)
{
    struct bulk_state *st = arg;
    if (st->k->err || st->b->err || st->b->mismatch || st->a_rx->err || st->a_rx->mismatch)
        return 1;
    return st->b->eof && st->a_rx->eof && st->b->shut_done;
}

static void run_bulk(int enc, int comp)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    uint8_t key[16];
    key_for("bulk-secret", key);
    struct pair p;
    make_pair(&loop, &p);
    struct ufrpc_stream *sa = NULL, *sb = NULL;
    assert_int_equal(ufrpc_xform_wrap(p.a, enc, key, comp, NULL, &sa), 0);
    assert_int_equal(ufrpc_xform_wrap(p.b, enc, key, comp, NULL, &sb), 0);

    struct bulk k = {.s = sa, .lower = p.a, .pat = pat, .rng = 0x1234u + (uint64_t)enc * 2 + (uint64_t)comp,
                     .total = 16u << 20};
    struct nt_peer b = {.pat = pat, .to_send = 4u << 20, .slow_every = 3u << 20};
    struct nt_peer a_rx = {.pat = pat, .slow_every = 1u << 20, .no_shutdown = 1};
    /* side A: reading through a peer with nothing to send, writing through k */
    assert_int_equal(nt_peer_start(&a_rx, sa), 0);
    assert_int_equal(nt_peer_start(&b, sb), 0);
    bulk_send(&k);
    struct bulk_state st = {&k, &b, &a_rx};
    assert_true(nt_run_until(&loop, bulk_done, &st, 60000));
    assert_int_equal(k.err, 0);
    assert_int_equal(b.err, 0);
    assert_int_equal(a_rx.err, 0);
    assert_false(b.mismatch);
    assert_false(a_rx.mismatch);
    assert_int_equal(b.received, 16u << 20);
    assert_int_equal(a_rx.received, 4u << 20);
    /* Bounded memory: what A's stack hands to TCP at once never exceeds the
     * in-flight bound, whatever the write sizes. */
    assert_true(k.max_lower_queue <= UFRPC_XFORM_MAX_INFLIGHT * (UFRPC_XFORM_BLOCK + 64));
    print_message("enc=%d comp=%d: max bytes queued in TCP below the stack %zu\n", enc, comp,
                  k.max_lower_queue);

    nt_peer_close(&a_rx);
    nt_peer_close(&b);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(pat);
}

static void test_bulk_crypt(void **state)
{
    (void)state;
    run_bulk(1, 0);
}

static void test_bulk_snappy(void **state)
{
    (void)state;
    run_bulk(0, 1);
}

static void test_bulk_both(void **state)
{
    (void)state;
    run_bulk(1, 1);
}

/* Backpressure with a peer that does not read: a single 32 MiB write on the
 * encrypted+compressed stack never puts more than the in-flight bound into the
 * TCP stream's queue (the kernel buffers fill, then the adapter waits), the write
 * does not complete, and once the peer reads everything arrives intact. */
struct bp {
    struct ufrpc_stream *lower;
    size_t maxq;
    int ticks;
};

static void bp_tick(uv_timer_t *t)
{
    struct bp *b = t->data;
    size_t q = uv_stream_get_write_queue_size((const uv_stream_t *)ufrpc_tcp_handle(b->lower));
    if (q > b->maxq)
        b->maxq = q;
    b->ticks++;
}

static int bp_ticks(void *arg)
{
    return ((struct bp *)arg)->ticks >= 40;
}

static int rx_all(void *arg)
{
    struct nt_peer *p = arg;
    return p->eof || p->err || p->mismatch;
}

static void test_backpressure(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t key[16];
    key_for("bp", key);
    struct pair p;
    make_pair(&loop, &p);
    struct ufrpc_stream *sa = NULL, *sb = NULL;
    assert_int_equal(ufrpc_xform_wrap(p.a, true, key, true, NULL, &sa), 0);
    assert_int_equal(ufrpc_xform_wrap(p.b, true, key, true, NULL, &sb), 0);
    /* incompressible data so the kernel buffers fill quickly */
    const size_t n = 32u << 20;
    uint8_t *pat = nt_pattern();
    uint8_t *data = malloc(n);
    assert_non_null(data);
    for (size_t off = 0; off < n; off += NT_CHUNK)
        memcpy(data + off, pat + off % NT_PAT_LEN, n - off < NT_CHUNK ? n - off : NT_CHUNK);
    int counter = 0;
    struct wr w[2] = {{.counter = &counter}, {.done = 0}};
    w[0].w.data = &w[0];
    w[0].b[0] = uv_buf_init((char *)data, (unsigned)n);
    assert_int_equal(ufrpc_stream_write(sa, &w[0].w, w[0].b, 1, wr_cb), 0);

    struct bp b = {.lower = p.a};
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &b;
    uv_timer_start(&t, bp_tick, 5, 5);
    nt_run_until(&loop, bp_ticks, &b, 5000);
    assert_int_equal(w[0].done, 0);
    assert_int_equal(ufrpc_stream_queued(sa), n);
    assert_true(b.maxq > 0);
    assert_true(b.maxq <= UFRPC_XFORM_MAX_INFLIGHT * (UFRPC_XFORM_BLOCK + 64));
    print_message("stalled peer: max bytes queued in TCP below the stack %zu\n", b.maxq);

    struct nt_peer rx = {.pat = pat, .no_shutdown = 1};
    assert_int_equal(nt_peer_start(&rx, sb), 0);
    assert_true(nt_run_until(&loop, all_done, w, 20000));
    assert_int_equal(w[0].status, 0);
    assert_int_equal(ufrpc_stream_shutdown(sa, noop_shut), 0);
    assert_true(nt_run_until(&loop, rx_all, &rx, 20000));
    assert_int_equal(rx.err, 0);
    assert_false(rx.mismatch);
    assert_int_equal(rx.received, n);

    uv_close((uv_handle_t *)&t, NULL);
    ufrpc_stream_close(sa, NULL);
    nt_peer_close(&rx);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(data);
    free(pat);
}

/* The real use: pump(work stream wrapped with enc+comp, local service). Peer X
 * plays frps behind its own mirror stack, peer Y the local service; 8 MiB each
 * way, both reading with pauses; EOF travels both ways and the pump ends with 0. */
struct pump_done {
    int done, status;
};

static void on_pump_done(ufrpc_pump_t *pm, int status, const struct ufrpc_pump_stats *st,
                         void *data)
{
    struct pump_done *d = data;
    (void)pm;
    (void)st;
    d->done = 1;
    d->status = status;
}

struct pump_state {
    struct nt_peer *x, *y;
    struct pump_done *d;
};

static int pump_all_done(void *arg)
{
    struct pump_state *st = arg;
    if (st->x->err || st->y->err || st->x->mismatch || st->y->mismatch)
        return 1;
    return st->d->done && st->x->eof && st->y->eof;
}

static void test_pump_through_stack(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t *pat = nt_pattern();
    uint8_t key[16];
    key_for("12345678", key);
    struct pair work, local;
    make_pair(&loop, &work);
    make_pair(&loop, &local);
    struct ufrpc_stream *client_side = NULL, *frps_side = NULL;
    assert_int_equal(ufrpc_xform_wrap(work.a, true, key, true, NULL, &client_side), 0);
    assert_int_equal(ufrpc_xform_wrap(work.b, true, key, true, NULL, &frps_side), 0);
    struct pump_done d = {0};
    assert_int_equal(ufrpc_pump_start(client_side, local.a, 0, on_pump_done, &d, NULL), 0);
    struct nt_peer x = {.pat = pat, .to_send = 8u << 20, .send_base = 777, .recv_base = 4242,
                        .slow_every = 2u << 20};
    struct nt_peer y = {.pat = pat, .to_send = 8u << 20, .send_base = 4242, .recv_base = 777,
                        .slow_every = 3u << 20};
    assert_int_equal(nt_peer_start(&x, frps_side), 0);
    assert_int_equal(nt_peer_start(&y, local.b), 0);
    struct pump_state st = {&x, &y, &d};
    assert_true(nt_run_until(&loop, pump_all_done, &st, 60000));
    assert_int_equal(x.err, 0);
    assert_int_equal(y.err, 0);
    assert_false(x.mismatch);
    assert_false(y.mismatch);
    assert_int_equal(x.received, 8u << 20);
    assert_int_equal(y.received, 8u << 20);
    assert_int_equal(d.status, 0);
    nt_peer_close(&x);
    nt_peer_close(&y);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(pat);
}

/* Over yamux streams (tcpMux = true, the default): both ends of a mux stream
 * wrapped with enc+comp, 4 MiB each way with pausing readers. */
struct mux_env {
    struct ufrpc_stream *accepted;
    int mux_errors, mux_closed;
};

static void mux_on_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    (void)m;
    ((struct mux_env *)data)->accepted = st;
}

static void mux_on_error(ufrpc_mux_t *m, int err, void *data)
{
    (void)m;
    (void)err;
    ((struct mux_env *)data)->mux_errors++;
}

static void mux_closed(void *data)
{
    ((struct mux_env *)data)->mux_closed++;
}

static int mux_both_closed(void *arg)
{
    return ((struct mux_env *)arg)->mux_closed == 2;
}

static int mux_accepted(void *arg)
{
    return ((struct mux_env *)arg)->accepted != NULL;
}

static int peers_done(void *arg)
{
    struct nt_peer **p = arg;
    for (int i = 0; i < 2; i++)
        if (p[i]->err || p[i]->mismatch)
            return 1;
    return p[0]->eof && p[1]->eof && p[0]->shut_done && p[1]->shut_done;
}

static void test_over_yamux(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t *pat = nt_pattern();
    uint8_t key[16];
    key_for("sk-visitor", key);
    struct pair p;
    make_pair(&loop, &p);
    struct mux_env env = {0};
    struct ufrpc_mux_callbacks ccb = {.on_error = mux_on_error};
    struct ufrpc_mux_callbacks scb = {.on_accept = mux_on_accept, .on_error = mux_on_error};
    ufrpc_mux_t *cm, *sm;
    assert_int_equal(ufrpc_mux_new(&loop, p.a, UFRPC_YAMUX_CLIENT, NULL, &ccb, &env, &cm), 0);
    assert_int_equal(ufrpc_mux_new(&loop, p.b, UFRPC_YAMUX_SERVER, NULL, &scb, &env, &sm), 0);
    struct ufrpc_stream *cs;
    assert_int_equal(ufrpc_mux_open(cm, &cs), 0);
    assert_true(nt_run_until(&loop, mux_accepted, &env, 5000));
    struct ufrpc_stream *wc = NULL, *ws = NULL;
    assert_int_equal(ufrpc_xform_wrap(cs, true, key, true, NULL, &wc), 0);
    assert_int_equal(ufrpc_xform_wrap(env.accepted, true, key, true, NULL, &ws), 0);
    struct nt_peer a = {.pat = pat, .to_send = 4u << 20, .send_base = 1, .recv_base = 2,
                        .slow_every = 1u << 20};
    struct nt_peer b = {.pat = pat, .to_send = 4u << 20, .send_base = 2, .recv_base = 1,
                        .slow_every = 3u << 19};
    assert_int_equal(nt_peer_start(&a, wc), 0);
    assert_int_equal(nt_peer_start(&b, ws), 0);
    struct nt_peer *both[2] = {&a, &b};
    assert_true(nt_run_until(&loop, peers_done, both, 60000));
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_false(a.mismatch);
    assert_false(b.mismatch);
    assert_int_equal(a.received, 4u << 20);
    assert_int_equal(b.received, 4u << 20);
    assert_int_equal(env.mux_errors, 0);
    nt_peer_close(&a);
    nt_peer_close(&b);
    ufrpc_mux_close(cm, mux_closed);
    ufrpc_mux_close(sm, mux_closed);
    assert_true(nt_run_until(&loop, mux_both_closed, &env, 5000));
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(pat);
}

/* Close with writes pending: their callbacks run (with an error) before the close
 * callback, and nothing leaks. */
struct close_state {
    int wcalls, wstatus, closed_after_writes, closed;
};

static void cs_wcb(struct ufrpc_stream_write *w, int status)
{
    struct close_state *cs = w->data;
    cs->wcalls++;
    if (status < 0)
        cs->wstatus = status;
}

static void cs_close(struct ufrpc_stream *s)
{
    struct close_state *cs = s->data;
    cs->closed = 1;
    cs->closed_after_writes = cs->wcalls == 3;
}

static int cs_done(void *arg)
{
    return ((struct close_state *)arg)->closed;
}

static void test_close_pending(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    uint8_t key[16];
    key_for("x", key);
    struct ufrpc_stream *s = NULL;
    assert_int_equal(ufrpc_xform_wrap(p.a, true, key, true, NULL, &s), 0);
    const size_t n = 4u << 20;
    uint8_t *data = calloc(1, n);
    struct close_state cs = {0};
    s->data = &cs;
    struct ufrpc_stream_write w[3];
    uv_buf_t b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = uv_buf_init((char *)data, (unsigned)n);
        w[i].data = &cs;
        assert_int_equal(ufrpc_stream_write(s, &w[i], &b[i], 1, cs_wcb), 0);
    }
    /* the peer never reads; close at once */
    ufrpc_stream_close(s, cs_close);
    assert_true(nt_run_until(&loop, cs_done, &cs, 5000));
    assert_int_equal(cs.wcalls, 3);
    assert_true(cs.closed_after_writes);
    assert_int_equal(cs.wstatus, UFRPC_ERR_CANCELED);
    ufrpc_stream_close(p.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(data);
}

/* A corrupt chunk is reported as the decoder's error; a stream cut inside a chunk
 * ends with UFRPC_ERR_SNAPPY_FORMAT instead of a clean EOF. */
static void run_bad_snappy(const uint8_t *bytes, size_t len, int want)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    make_pair(&loop, &p);
    int err;
    struct ufrpc_stream *z = ufrpc_xform_snappy_new(p.a, &err);
    assert_non_null(z);
    struct col c = {0};
    z->data = &c;
    assert_int_equal(ufrpc_stream_read_start(z, col_read), 0);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)bytes, (unsigned)len);
    assert_int_equal(ufrpc_stream_write(p.b, &w, &b, 1, NULL), 0);
    assert_int_equal(ufrpc_stream_shutdown(p.b, noop_shut), 0);
    assert_true(nt_run_until(&loop, col_done, &c, 5000));
    assert_int_equal(c.err, want);
    assert_int_equal(c.eof, 0);
    ufrpc_stream_close(z, NULL);
    ufrpc_stream_close(p.b, NULL);
    close_and_drain(&loop);
    uv_loop_close(&loop);
    free(c.buf);
}

static void test_snappy_errors(void **state)
{
    (void)state;
    static const uint8_t bad_crc[] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y',
                                      0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x18,
                                      'h',  'e',  'l',  'l',  'o'};
    run_bad_snappy(bad_crc, sizeof bad_crc, UFRPC_ERR_SNAPPY_CRC);
    static const uint8_t cut[] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y',
                                  0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c};
    run_bad_snappy(cut, sizeof cut, UFRPC_ERR_SNAPPY_FORMAT);
    static const uint8_t no_ident[] = {0x01, 0x09, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x19,
                                       'h',  'e',  'l',  'l',  'o'};
    run_bad_snappy(no_ident, sizeof no_ident, UFRPC_ERR_SNAPPY_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypt_vector),  cmocka_unit_test(test_empty_writes),
        cmocka_unit_test(test_snappy_wire),   cmocka_unit_test(test_stack_order),
        cmocka_unit_test(test_bulk_crypt),    cmocka_unit_test(test_bulk_snappy),
        cmocka_unit_test(test_bulk_both),     cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_pump_through_stack), cmocka_unit_test(test_over_yamux),
        cmocka_unit_test(test_close_pending),
        cmocka_unit_test(test_snappy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
