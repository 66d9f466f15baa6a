/* xform_go_driver ORACLE WORKDIR: our per-proxy stack (net/xform*) against an
 * independent Go model of frp's golib layering (go/xform_oracle.go), both ways,
 * for encryption only and compression+encryption, on compressible and random
 * data written in random chunk sizes through real loopback TCP:
 *  - ours -> Go: the wire bytes our stack writes are decoded by the oracle;
 *    encryption-only wire bytes must equal the oracle's own (same IV);
 *  - Go -> ours: the oracle's wire bytes are fed, in odd chunks, to our stack.
 * Prints "N passed, M failed"; exit status 0 only if nothing failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/xform.h"
#include "net/xform_crypt.h"
#include "net/xform_snappy.h"
#include "proto/cfb.h"
#include "proto/error.h"

#define TOKEN "oracle-token-42"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL: %s\n", what);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static int fixed_iv(void *ctx, unsigned char *buf, size_t len)
{
    memcpy(buf, ctx, len);
    return 0;
}

/* ---- buffers and files ------------------------------------------------------------ */
struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const uint8_t *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 65536;
        while (c < b->len + n)
            c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (q == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static int write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int read_file(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(b, tmp, n);
    fclose(f);
    return 0;
}

/* ---- a loopback pair and a loop runner ------------------------------------------- */
struct pair {
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *a, *b;
    uv_connect_t creq;
    int connected;
};

static void pair_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    if (status == 0)
        ((struct pair *)ufrpc_tcp_listener_data(l))->b = c;
}

static void pair_connected(uv_connect_t *r, int status)
{
    ((struct pair *)r->data)->connected = status == 0 ? 1 : -1;
}

static int make_pair(uv_loop_t *loop, struct pair *p)
{
    int err;
    memset(p, 0, sizeof *p);
    p->l = ufrpc_tcp_listen(loop, "127.0.0.1", 0, pair_accept, p, &err);
    p->a = p->l ? ufrpc_tcp_new(loop, &err) : NULL;
    if (p->a == NULL)
        return -1;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", ufrpc_tcp_listener_port(p->l), &sa);
    p->creq.data = p;
    if (uv_tcp_connect(&p->creq, ufrpc_tcp_handle(p->a), (struct sockaddr *)&sa, pair_connected))
        return -1;
    while ((p->b == NULL || p->connected == 0) && uv_run(loop, UV_RUN_ONCE))
        ;
    ufrpc_tcp_listener_close(p->l, NULL);
    return p->connected == 1 && p->b != NULL ? 0 : -1;
}

/* ---- a sender (random chunks, two writes in flight) and a collector ----------------- */
struct xfer {
    struct ufrpc_stream *tx, *rx;
    const uint8_t *data;
    size_t len, sent;
    struct ufrpc_stream_write w[2];
    uv_buf_t b[2];
    int busy[2], shut;
    struct buf got;
    int eof, err;
};

static void send_more(struct xfer *x);

static void on_shut(struct ufrpc_stream *s, int st)
{
    struct xfer *x = s->data;
    if (st < 0 && x->err == 0)
        x->err = st;
}

static void on_written(struct ufrpc_stream_write *w, int st)
{
    struct xfer *x = w->data;
    x->busy[w == &x->w[0] ? 0 : 1] = 0;
    if (st < 0 && x->err == 0)
        x->err = st;
    send_more(x);
}

static void send_more(struct xfer *x)
{
    for (int i = 0; i < 2 && x->sent < x->len && !x->err; i++) {
        if (x->busy[i])
            continue;
        uint64_t r = rnd();
        size_t n = r % 4 == 0 ? r % 97 + 1 : r % 150000 + 1;
        if (n > x->len - x->sent)
            n = x->len - x->sent;
        x->b[i] = uv_buf_init((char *)(uintptr_t)(x->data + x->sent), (unsigned)n);
        x->w[i].data = x;
        if (ufrpc_stream_write(x->tx, &x->w[i], &x->b[i], 1, on_written) < 0) {
            x->err = UFRPC_ERR_IO;
            return;
        }
        x->busy[i] = 1;
        x->sent += n;
    }
    if (x->sent == x->len && !x->busy[0] && !x->busy[1] && !x->shut && !x->err) {
        x->shut = 1;
        x->tx->data = x;
        if (ufrpc_stream_shutdown(x->tx, on_shut) < 0)
            x->err = UFRPC_ERR_IO;
    }
}

static void on_read(struct ufrpc_stream *s, int st, ufrpc_rbuf_t *b, const uint8_t *d, size_t n)
{
    struct xfer *x = s->data;
    (void)b;
    if (st == UFRPC_ERR_EOF)
        x->eof = 1;
    else if (st < 0)
        x->err = st;
    else
        buf_add(&x->got, d, n);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Sends data through tx (a stack or raw) and collects what rx (raw or a stack)
 * delivers until EOF. Both streams are closed afterwards. */
static int run_xfer(uv_loop_t *loop, struct ufrpc_stream *tx, struct ufrpc_stream *rx,
                    const uint8_t *data, size_t len, struct buf *out)
{
    struct xfer x = {.tx = tx, .rx = rx, .data = data, .len = len};
    rx->data = &x;
    tx->data = &x;
    if (ufrpc_stream_read_start(rx, on_read) < 0)
        return -1;
    send_more(&x);
    uint64_t end = uv_now(loop) + 60000;
    while (!x.eof && !x.err && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    ufrpc_stream_close(tx, NULL);
    ufrpc_stream_close(rx, NULL);
    uv_walk(loop, walk_close, NULL);
    while (uv_run(loop, UV_RUN_NOWAIT))
        ;
    *out = x.got;
    return x.eof && !x.err ? 0 : -1;
}

/* ---- one round ------------------------------------------------------------------------ */
static void hexs(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void round_trip(const char *oracle, const char *dir, const char *label, const uint8_t *data,
                       size_t len, int comp)
{
    char path_in[512], path_out[512], cmd[2048], what[256];
    uint8_t key[16], iv[16];
    ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), key);
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)rnd();
    char ivhex[33];
    hexs(iv, 16, ivhex);
    snprintf(path_in, sizeof path_in, "%s/in.bin", dir);
    snprintf(path_out, sizeof path_out, "%s/out.bin", dir);

    /* ours -> Go */
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pair p;
    int err = 0;
    struct buf wire = {0};
    int ok = make_pair(&loop, &p) == 0;
    struct ufrpc_stream *s = ok ? ufrpc_xform_crypt_new(p.a, key, fixed_iv, iv, &err) : NULL;
    if (s != NULL && comp)
        s = ufrpc_xform_snappy_new(s, &err);
    ok = s != NULL && run_xfer(&loop, s, p.b, data, len, &wire) == 0;
    uv_loop_close(&loop);
    snprintf(what, sizeof what, "%s comp=%d: our stack wrote the stream", label, comp);
    check(ok, what);
    struct buf back = {0};
    ok = ok && write_file(path_in, wire.p, wire.len) == 0;
    snprintf(cmd, sizeof cmd, "'%s' decode '%s' %d < '%s' > '%s'", oracle, TOKEN, comp, path_in,
             path_out);
    ok = ok && system(cmd) == 0 && read_file(path_out, &back) == 0;
    snprintf(what, sizeof what, "%s comp=%d: Go decodes our stream (%zu -> %zu wire bytes)", label,
             comp, len, wire.len);
    check(ok && back.len == len && memcmp(back.p, data, len) == 0, what);
    free(back.p);
    if (!comp) {
        /* same IV, same plaintext: CFB bytes must be identical */
        struct buf gw = {0};
        ok = write_file(path_in, data, len) == 0;
        snprintf(cmd, sizeof cmd, "'%s' encode '%s' %s 4096 0 < '%s' > '%s'", oracle, TOKEN, ivhex,
                 path_in, path_out);
        ok = ok && system(cmd) == 0 && read_file(path_out, &gw) == 0;
        snprintf(what, sizeof what, "%s: encryption-only wire bytes equal Go's", label);
        check(ok && gw.len == wire.len && memcmp(gw.p, wire.p, wire.len) == 0, what);
        free(gw.p);
    }
    free(wire.p);

    /* Go -> ours */
    struct buf gwire = {0}, got = {0};
    ok = write_file(path_in, data, len) == 0;
    snprintf(cmd, sizeof cmd, "'%s' encode '%s' %s %u %d < '%s' > '%s'", oracle, TOKEN, ivhex,
             (unsigned)(rnd() % 70000 + 1), comp, path_in, path_out);
    ok = ok && system(cmd) == 0 && read_file(path_out, &gwire) == 0;
    uv_loop_init(&loop);
    ok = ok && make_pair(&loop, &p) == 0;
    struct ufrpc_stream *r = NULL;
    if (ok)
        r = ufrpc_xform_crypt_new(p.b, key, NULL, NULL, &err);
    if (r != NULL && comp)
        r = ufrpc_xform_snappy_new(r, &err);
    ok = ok && r != NULL && run_xfer(&loop, p.a, r, gwire.p, gwire.len, &got) == 0;
    uv_loop_close(&loop);
    snprintf(what, sizeof what, "%s comp=%d: our stack decodes Go's stream (%zu wire bytes)", label,
             comp, gwire.len);
    check(ok && got.len == len && memcmp(got.p, data, len) == 0, what);
    free(gwire.p);
    free(got.p);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: xform_go_driver ORACLE WORKDIR\n");
        return 2;
    }
    size_t n1 = 3u << 20, n2 = 1u << 20;
    uint8_t *text = malloc(n1), *noise = malloc(n2);
    if (text == NULL || noise == NULL)
        return 1;
    static const char *words[] = {"frp ", "work ", "stream ", "snappy ", "cfb ", "\n"};
    for (size_t i = 0; i < n1;) {
        const char *w = words[rnd() % 6];
        for (size_t k = 0; w[k] && i < n1; k++)
            text[i++] = (uint8_t)w[k];
    }
    for (size_t i = 0; i < n2; i++)
        noise[i] = (uint8_t)rnd();
    for (int comp = 0; comp <= 1; comp++) {
        round_trip(argv[1], argv[2], "text", text, n1, comp);
        round_trip(argv[1], argv[2], "random", noise, n2, comp);
    }
    free(text);
    free(noise);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
