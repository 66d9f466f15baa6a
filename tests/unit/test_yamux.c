/* yamux session: wire vectors byte for byte, split-input twin, flow control,
 * keepalive, FIN/RST, protocol errors, unknown streams, lifetime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_yamux_pair.h"

#define MiB (1024u * 1024u)
#define KiB 1024u

static void vec(const char *title, uint8_t out[12])
{
    uint8_t *b = NULL;
    size_t n = 0;
    assert_int_equal(ufrpc_test_vector_bytes(title, &b, &n), 0);
    assert_int_equal(n, 12);
    memcpy(out, b, 12);
    free(b);
}

static void hdr(uint8_t out[12], uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    struct ufrpc_yamux_header h = {0, type, flags, id, len};
    ufrpc_yamux_header_encode(out, &h);
}

/* ---- vectors ---- */

static void test_header_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *title;
        struct ufrpc_yamux_header h;
    } v[] = {
        {"yamux WindowUpdate SYN stream 1", {0, 1, 1, 1, 0x005C0000}},
        {"yamux WindowUpdate ACK stream 1", {0, 1, 2, 1, 0x005C0000}},
        {"yamux Data stream 1 len 0x45", {0, 0, 0, 1, 0x45}},
        {"yamux Ping SYN id 0", {0, 2, 1, 0, 0}},
        {"yamux Ping ACK id 0", {0, 2, 2, 0, 0}},
        {"yamux FIN stream 3", {0, 1, 4, 3, 0}},
        {"yamux GoAway normal", {0, 3, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t want[12], got[12];
        vec(v[i].title, want);
        ufrpc_yamux_header_encode(got, &v[i].h);
        assert_memory_equal(got, want, 12);
        struct ufrpc_yamux_header d;
        assert_int_equal(ufrpc_yamux_header_decode(want, &d), 0);
        assert_int_equal(d.type, v[i].h.type);
        assert_int_equal(d.flags, v[i].h.flags);
        assert_int_equal(d.stream_id, v[i].h.stream_id);
        assert_int_equal(d.length, v[i].h.length);
    }
    uint8_t bad[12] = {1, 0};
    struct ufrpc_yamux_header d;
    assert_int_equal(ufrpc_yamux_header_decode(bad, &d), UFRPC_ERR_YAMUX_VERSION);
    bad[0] = 0;
    bad[1] = 4;
    assert_int_equal(ufrpc_yamux_header_decode(bad, &d), UFRPC_ERR_YAMUX_TYPE);
}

/* frpc's first bytes: SYN for stream 1 with the 6 MiB delta, then a Data header;
 * frps's answer is the ACK vector. */
static void test_client_first_bytes_and_server_ack(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, NULL, 0), 0);
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, NULL, 0), 0);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    assert_int_equal(ufrpc_yamux_stream_id(st), 1);
    uint8_t login[0x45];
    for (size_t i = 0; i < sizeof login; i++)
        login[i] = (uint8_t)i;
    assert_int_equal(ufrpc_yamux_stream_write(st, login, sizeof login), sizeof login);
    uint8_t *out;
    size_t n = yp_take(c, &out);
    assert_int_equal(n, 24 + sizeof login);
    uint8_t want[12];
    vec("yamux WindowUpdate SYN stream 1", want);
    assert_memory_equal(out, want, 12);
    static const uint8_t first[12] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
                                      0x00, 0x01, 0x00, 0x5c, 0x00, 0x00};
    assert_memory_equal(out, first, 12);
    vec("yamux Data stream 1 len 0x45", want);
    assert_memory_equal(out + 12, want, 12);
    assert_memory_equal(out + 24, login, sizeof login);

    assert_int_equal(ufrpc_yamux_feed(sv->s, out, n, 0), 0);
    free(out);
    assert_string_equal(sv->log, "open 1;data 1 69;");
    n = yp_take(sv, &out);
    assert_int_equal(n, 12);
    vec("yamux WindowUpdate ACK stream 1", want);
    assert_memory_equal(out, want, 12);
    assert_int_equal(ufrpc_yamux_feed(c->s, out, n, 0), 0);
    free(out);
    assert_string_equal(c->log, "ack 1;");
    /* both windows are now 6 MiB */
    assert_int_equal(ufrpc_yamux_stream_send_window(st), 6 * MiB - sizeof login);
    assert_int_equal(ufrpc_yamux_stream_recv_window(st), 6 * MiB);
    ufrpc_yamux_session_free(c->s);
    ufrpc_yamux_session_free(sv->s);
    free(c);
    free(sv);
}

static void test_ping_ack_fin_goaway_vectors(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c);
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, NULL, 0), 0);
    uint8_t ping[12], want[12], *out;
    vec("yamux Ping SYN id 0", ping);
    assert_int_equal(ufrpc_yamux_feed(c->s, ping, 12, 0), 0);
    assert_int_equal(yp_take(c, &out), 12);
    vec("yamux Ping ACK id 0", want);
    assert_memory_equal(out, want, 12);
    free(out);
    /* a ping id is echoed whatever its value */
    hdr(ping, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 0xdeadbeef);
    assert_int_equal(ufrpc_yamux_feed(c->s, ping, 12, 0), 0);
    assert_int_equal(yp_take(c, &out), 12);
    hdr(want, UFRPC_YAMUX_PING, UFRPC_YAMUX_ACK, 0, 0xdeadbeef);
    assert_memory_equal(out, want, 12);
    free(out);

    ufrpc_yamux_stream_t *s1, *s3;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &s1), 0);
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &s3), 0);
    assert_int_equal(ufrpc_yamux_stream_id(s3), 3);
    assert_int_equal(yp_take(c, &out), 24);
    free(out);
    assert_int_equal(ufrpc_yamux_stream_close(s3), 0);
    assert_int_equal(ufrpc_yamux_stream_close(s3), 0); /* twice: no-op */
    assert_int_equal(yp_take(c, &out), 12);
    vec("yamux FIN stream 3", want);
    assert_memory_equal(out, want, 12);
    free(out);
    assert_int_equal(ufrpc_yamux_stream_write(s3, want, 1), UFRPC_ERR_CLOSED);

    assert_int_equal(ufrpc_yamux_session_goaway(c->s, 0), 0);
    assert_int_equal(yp_take(c, &out), 12);
    vec("yamux GoAway normal", want);
    assert_memory_equal(out, want, 12);
    free(out);
    ufrpc_yamux_stream_t *s5;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &s5), UFRPC_ERR_YAMUX_GOAWAY);
    ufrpc_yamux_session_free(c->s);
    free(c);
}

/* ---- split-input twin ---- */

/* A client conversation recorded as bytes: opens, data (with an empty Data frame),
 * a ping, FIN, RST, a frame for an unknown stream and GoAway(0). */
static size_t record_conversation(uint8_t **out)
{
    struct ypeer *c = calloc(1, sizeof *c);
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, NULL, 0), 0);
    ufrpc_yamux_stream_t *a, *b, *d;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &a), 0);
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &b), 0);
    uint8_t buf[3000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    assert_int_equal(ufrpc_yamux_stream_write(a, buf, 100), 100);
    assert_int_equal(ufrpc_yamux_stream_write(b, buf, 3000), 3000);
    assert_int_equal(ufrpc_yamux_stream_write(a, buf + 100, 5), 5);
    assert_int_equal(ufrpc_yamux_stream_close(a), 0);
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &d), 0);
    assert_int_equal(ufrpc_yamux_stream_write(d, buf, 10), 10);
    assert_int_equal(ufrpc_yamux_stream_reset(d), 0);
    uint8_t *o1;
    size_t n1 = yp_take(c, &o1);
    uint8_t extra[12 * 5 + 7];
    hdr(extra, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 77);
    hdr(extra + 12, UFRPC_YAMUX_DATA, 0, 99, 7); /* unknown stream, 7 bytes */
    memset(extra + 24, 0xee, 7);
    hdr(extra + 31, UFRPC_YAMUX_DATA, UFRPC_YAMUX_FIN, 3, 0);
    hdr(extra + 43, UFRPC_YAMUX_WINDOW_UPDATE, 0, 3, 1000);
    hdr(extra + 55, UFRPC_YAMUX_GO_AWAY, 0, 0, 0);
    uint8_t *all = malloc(n1 + sizeof extra);
    memcpy(all, o1, n1);
    memcpy(all + n1, extra, sizeof extra);
    free(o1);
    ufrpc_yamux_session_free(c->s);
    free(c);
    *out = all;
    return n1 + sizeof extra;
}

/* Merges adjacent "data <id> <n>;" events of one stream: how a payload is split
 * across feed calls is not an event. Returns a malloc'd string. */
static char *normalize(const char *log)
{
    char *out = malloc(strlen(log) + 1);
    size_t o = 0;
    unsigned pid = 0;
    unsigned long pn = 0;
    int pending = 0;
    const char *p = log;
    while (*p) {
        const char *e = strchr(p, ';');
        assert_non_null(e);
        unsigned id;
        unsigned long n;
        if (sscanf(p, "data %u %lu;", &id, &n) == 2) {
            if (pending && id == pid) {
                pn += n;
            } else {
                if (pending)
                    o += (size_t)sprintf(out + o, "data %u %lu;", pid, pn);
                pending = 1, pid = id, pn = n;
            }
        } else {
            if (pending)
                o += (size_t)sprintf(out + o, "data %u %lu;", pid, pn);
            pending = 0;
            memcpy(out + o, p, (size_t)(e - p + 1));
            o += (size_t)(e - p + 1);
        }
        p = e + 1;
    }
    if (pending)
        o += (size_t)sprintf(out + o, "data %u %lu;", pid, pn);
    out[o] = 0;
    return out;
}

static void run_server(const uint8_t *in, size_t n, size_t split, size_t step, char **log,
                       uint8_t **out, size_t *outlen)
{
    struct ypeer *sv = calloc(1, sizeof *sv);
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, NULL, 0), 0);
    size_t off = 0;
    if (step) {
        for (; off < n; off += step)
            assert_int_equal(ufrpc_yamux_feed(sv->s, in + off, off + step <= n ? step : n - off, 0),
                             0);
    } else {
        assert_int_equal(ufrpc_yamux_feed(sv->s, in, split, 0), 0);
        assert_int_equal(ufrpc_yamux_feed(sv->s, in + split, n - split, 0), 0);
    }
    *outlen = yp_take(sv, out);
    *log = normalize(sv->log);
    assert_int_equal(ufrpc_yamux_session_remote_goaway(sv->s), 1);
    ufrpc_yamux_session_free(sv->s);
    free(sv);
}

static void test_split_input_twin(void **state)
{
    (void)state;
    uint8_t *in;
    size_t n = record_conversation(&in);
    char *ref_log;
    uint8_t *ref_out;
    size_t ref_len;
    run_server(in, n, n, 0, &ref_log, &ref_out, &ref_len);
    /* the reference itself is what we expect */
    assert_string_equal(ref_log, "open 1;open 3;data 1 100;data 3 3000;data 1 5;fin 1;"
                                 "open 5;data 5 10;rst 5;fin 3;goaway 0;");
    /* ACK 1, ACK 3, ACK 5, Ping ACK 77 */
    assert_int_equal(ref_len, 48);
    for (size_t split = 0; split <= n; split++) {
        char *log;
        uint8_t *out;
        size_t len;
        run_server(in, n, split, 0, &log, &out, &len);
        assert_string_equal(log, ref_log);
        assert_int_equal(len, ref_len);
        assert_memory_equal(out, ref_out, len);
        free(log);
        free(out);
    }
    for (size_t step = 1; step <= 13; step++) {
        char *log;
        uint8_t *out;
        size_t len;
        run_server(in, n, 0, step, &log, &out, &len);
        assert_string_equal(log, ref_log);
        assert_int_equal(len, ref_len);
        assert_memory_equal(out, ref_out, len);
        free(log);
        free(out);
    }
    free(ref_log);
    free(ref_out);
    free(in);
}

/* ---- flow control ---- */

static void pair(struct ypeer *c, struct ypeer *sv, const struct ufrpc_yamux_config *cfg)
{
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, cfg, 0), 0);
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, cfg, 0), 0);
}

static void unpair(struct ypeer *c, struct ypeer *sv)
{
    ufrpc_yamux_session_free(c->s);
    ufrpc_yamux_session_free(sv->s);
    free(c);
    free(sv);
}

/* Writes pattern bytes until the stream blocks, moving output to the peer. */
static uint64_t write_until_blocked(struct ypeer *c, struct ypeer *sv, struct ystream *y)
{
    static uint8_t buf[100000];
    uint64_t total = 0;
    for (;;) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = yp_pattern(y->tag, y->tx + i);
        ptrdiff_t w = ufrpc_yamux_stream_write(y->st, buf, sizeof buf);
        assert_true(w >= 0);
        y->tx += (uint64_t)w;
        total += (uint64_t)w;
        size_t moved = yp_move(c, sv, NULL, 0, 0);
        yp_move(sv, c, NULL, 0, 0);
        if (w == 0 && moved == 0)
            return total;
    }
}

static void test_window_exhaustion_and_resume(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, NULL);
    sv->hold = 1;
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    struct ystream *y = yp_add(c, st);
    y->tag = 5;
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(sv->nst, 1);
    struct ystream *ry = &sv->sts[0];
    ry->verify = 1;
    ry->tag = 5;

    /* a consumer that never consumes: the sender stops exactly at 6 MiB */
    assert_int_equal(ufrpc_yamux_session_window_stalls(c->s), 0);
    assert_int_equal(write_until_blocked(c, sv, y), 6 * MiB);
    assert_int_equal(ufrpc_yamux_stream_send_window(st), 0);
    /* a wait for the window counts once, however often the writer retries */
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"x", 1), 0);
    assert_int_equal(ufrpc_yamux_session_window_stalls(c->s), 1);
    assert_int_equal(ry->rx, 6 * MiB);
    assert_int_equal(ufrpc_yamux_stream_unconsumed(ry->st), 6 * MiB);
    assert_int_equal(ufrpc_yamux_stream_recv_window(ry->st), 0);
    assert_int_equal(sv->max_unconsumed, 6 * MiB);
    y->writable = 0;

    /* consuming just under half reopens nothing */
    assert_int_equal(ufrpc_yamux_stream_consume(ry->st, 3 * MiB - 1), 0);
    assert_int_equal(ufrpc_yamux_pending_bytes(sv->s), 0);
    assert_int_equal(ufrpc_yamux_stream_consume(ry->st, 6 * MiB), UFRPC_ERR_INVAL);
    /* one more byte: a WindowUpdate of exactly 3 MiB */
    assert_int_equal(ufrpc_yamux_stream_consume(ry->st, 1), 0);
    uint8_t *out, want[12];
    assert_int_equal(yp_take(sv, &out), 12);
    hdr(want, UFRPC_YAMUX_WINDOW_UPDATE, 0, 1, 3 * MiB);
    assert_memory_equal(out, want, 12);
    assert_int_equal(ufrpc_yamux_feed(c->s, out, 12, 0), 0);
    free(out);
    assert_int_equal(y->writable, 1);
    assert_int_equal(write_until_blocked(c, sv, y), 3 * MiB);
    assert_int_equal(ufrpc_yamux_session_window_stalls(c->s), 2);
    assert_int_equal(ry->rx, 9 * MiB);
    assert_int_equal(ry->bad, 0);
    assert_true(sv->max_unconsumed <= 6 * MiB);
    unpair(c, sv);
}

/* Small output ring: writes are cut by output space, and writable fires once the
 * transport takes bytes. */
static void test_output_space_backpressure(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_output_bytes = 4096;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, &cfg);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    struct ystream *y = yp_add(c, st);
    uint8_t buf[10000];
    memset(buf, 'x', sizeof buf);
    ptrdiff_t w = ufrpc_yamux_stream_write(st, buf, sizeof buf);
    /* 4096 minus the SYN header minus one Data header */
    assert_int_equal(w, 4096 - 24);
    assert_int_equal(ufrpc_yamux_stream_write(st, buf, 10), 0);
    /* control frames still fit in the reserve */
    uint8_t ping[12];
    hdr(ping, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 9);
    assert_int_equal(ufrpc_yamux_feed(c->s, ping, 12, 0), 0);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 4096 + 12);
    assert_int_equal(y->writable, 0);
    yp_move(c, sv, NULL, 0, 0);
    assert_int_equal(y->writable, 1);
    assert_int_equal(sv->sts[0].rx, 4096 - 24);
    unpair(c, sv);
}

/* Consecutive small writes on one stream extend one Data frame, but never a
 * frame whose bytes were already handed to the transport. */
static void test_coalescing(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, NULL);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"ab", 2), 2);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 12 + 12 + 200);
    struct iovec iov[2];
    assert_int_equal(ufrpc_yamux_pending_output(c->s, iov, 2), 1);
    uint8_t snap[224];
    memcpy(snap, iov[0].iov_base, 224);
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"cd", 2), 2);
    /* exposed bytes unchanged; a new header follows */
    assert_memory_equal(iov[0].iov_base, snap, 224);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 224 + 14);
    yp_settle(c, sv, NULL, 0, 0);
    assert_string_equal(sv->log, "open 1;data 1 200;data 1 2;");
    unpair(c, sv);
}

/* A direct write takes window but no ring space: the caller sends the pending
 * output, then the header, then its own bytes. It refuses while the SYN is owed
 * or a control frame waits outside the ring, and the frame it made is never
 * extended by a later write (that would put bytes before it on the wire). */
static void test_write_direct(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_output_bytes = 4096;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, &cfg);
    ufrpc_yamux_stream_t *st;
    uint8_t h[12], want[12];
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    yp_add(c, st);
    uint8_t payload[9000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = yp_pattern(3, i);
    assert_int_equal(ufrpc_yamux_stream_write(st, payload, 100), 100); /* ring: SYN + Data */
    assert_int_equal(ufrpc_yamux_stream_write_direct(st, 0, h), 0);

    /* [SYN][Data 100] from the ring, then [Data 8000] from the caller */
    struct iovec iov[2];
    assert_int_equal(ufrpc_yamux_pending_output(c->s, iov, 2), 1);
    size_t pend = iov[0].iov_len;
    assert_int_equal(pend, 12 + 12 + 100);
    assert_int_equal(ufrpc_yamux_stream_write_direct(st, 8000, h), 8000);
    hdr(want, UFRPC_YAMUX_DATA, 0, 1, 8000);
    assert_memory_equal(h, want, 12);
    assert_int_equal(ufrpc_yamux_stream_send_window(st), 256 * 1024 - 8100);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), pend); /* nothing added to the ring */
    assert_int_equal(ufrpc_yamux_feed(sv->s, iov[0].iov_base, pend, 0), 0);
    assert_int_equal(ufrpc_yamux_output_sent(c->s, pend), 0);
    assert_int_equal(ufrpc_yamux_feed(sv->s, h, 12, 0), 0);
    assert_int_equal(ufrpc_yamux_feed(sv->s, payload + 100, 8000, 0), 0);
    /* the next write starts a new frame: bytes 8100.. */
    assert_int_equal(ufrpc_yamux_stream_write(st, payload + 8100, 900), 900);
    yp_settle(c, sv, NULL, 0, 0);
    assert_string_equal(sv->log, "open 1;data 1 100;data 1 8000;data 1 900;");
    struct ystream *ry = &sv->sts[0];
    assert_int_equal(ry->rx, 9000);

    /* a control frame that did not fit the ring (a flood of pings' ACKs while
     * the ring is full) makes direct writes wait: they would overtake it */
    while (ufrpc_yamux_stream_write(st, payload, sizeof payload) > 0)
        ;
    uint8_t ping[12];
    int n = 0;
    while (ufrpc_yamux_pending_bytes(c->s) <= 4096 + 4096) {
        hdr(ping, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, (uint32_t)++n);
        assert_int_equal(ufrpc_yamux_feed(c->s, ping, 12, 0), 0);
    }
    assert_int_equal(ufrpc_yamux_pending_output(c->s, iov, 2) > 0, 1);
    assert_int_equal(ufrpc_yamux_stream_write_direct(st, 8000, h), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(ufrpc_yamux_stream_write_direct(st, 8000, h), 8000);
    unpair(c, sv);
}

/* ---- keepalive ---- */

static void test_keepalive_ping_and_timeout(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.keepalive_interval_ms = 1000;
    cfg.keepalive_timeout_ms = 500;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, &cfg, 100), 0);
    cfg.enable_keepalive = 0;
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, &cfg, 100), 0);
    assert_int_equal(ufrpc_yamux_next_deadline(sv->s), UINT64_MAX);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), 1100);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 1099), 0);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 0);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 1100), 0);
    uint8_t *out, want[12];
    assert_int_equal(yp_take(c, &out), 12);
    vec("yamux Ping SYN id 0", want);
    assert_memory_equal(out, want, 12);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), 1600);
    assert_int_equal(ufrpc_yamux_feed(sv->s, out, 12, 1200), 0);
    free(out);
    assert_int_equal(yp_move(sv, c, NULL, 0, 1300), 12);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), 2100);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 1600), 0);
    /* second ping carries id 1; its ACK never comes */
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 2100), 0);
    assert_int_equal(yp_take(c, &out), 12);
    hdr(want, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 1);
    assert_memory_equal(out, want, 12);
    free(out);
    /* a stale ACK (id 0) does not count */
    hdr(want, UFRPC_YAMUX_PING, UFRPC_YAMUX_ACK, 0, 0);
    assert_int_equal(ufrpc_yamux_feed(c->s, want, 12, 2200), 0);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), 2600);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 2599), 0);
    assert_int_equal(c->n_err, 0);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 2600), UFRPC_ERR_YAMUX_KEEPALIVE);
    assert_int_equal(c->n_err, 1);
    assert_int_equal(c->err, UFRPC_ERR_YAMUX_KEEPALIVE);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 2700), UFRPC_ERR_YAMUX_KEEPALIVE);
    assert_int_equal(ufrpc_yamux_feed(c->s, want, 12, 2700), UFRPC_ERR_YAMUX_KEEPALIVE);
    assert_int_equal(c->n_err, 1);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), UINT64_MAX);
    unpair(c, sv);
}

/* ---- close, reset, lifetime ---- */

static void test_fin_both_ways_and_free(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, NULL);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    struct ystream *y = yp_add(c, st);
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"hello", 5), 5);
    assert_int_equal(ufrpc_yamux_stream_close(st), 0);
    yp_settle(c, sv, NULL, 0, 0);
    struct ystream *ry = &sv->sts[0];
    assert_int_equal(ry->rx, 5);
    assert_int_equal(ry->fin, 1);
    assert_int_equal(ufrpc_yamux_stream_remote_closed(ry->st), 1);
    /* the server may still answer after the client's FIN */
    assert_int_equal(ufrpc_yamux_stream_write(ry->st, (const uint8_t *)"world!", 6), 6);
    assert_int_equal(ufrpc_yamux_stream_close(ry->st), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(y->rx, 6);
    assert_int_equal(y->fin, 1);
    assert_string_equal(sv->log, "open 1;data 1 5;fin 1;");
    assert_string_equal(c->log, "ack 1;data 1 6;fin 1;");
    /* finished streams live until released */
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 1);
    assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 1);
    ufrpc_yamux_stream_release(st);
    ufrpc_yamux_stream_release(ry->st);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 0);
    assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 0);
    /* nothing was sent for the releases (no RST) */
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s) + ufrpc_yamux_pending_bytes(sv->s), 0);
    unpair(c, sv);
}

static void test_reset_and_release_in_callback(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, NULL);
    sv->release_on_reset = 1;
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"x", 1), 1);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 1);
    assert_int_equal(ufrpc_yamux_stream_reset(st), 0);
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"x", 1),
                     UFRPC_ERR_YAMUX_RESET);
    uint8_t *out, want[12];
    assert_int_equal(yp_take(c, &out), 12);
    hdr(want, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_RST, 1, 0);
    assert_memory_equal(out, want, 12);
    /* RST then Data for the same stream in one feed: the stream was released in
     * the reset callback, the Data is drained */
    uint8_t in[12 + 12 + 4];
    memcpy(in, out, 12);
    hdr(in + 12, UFRPC_YAMUX_DATA, 0, 1, 4);
    memcpy(in + 24, "zzzz", 4);
    free(out);
    assert_int_equal(ufrpc_yamux_feed(sv->s, in, sizeof in, 0), 0);
    assert_string_equal(sv->log, "open 1;data 1 1;rst 1;");
    assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 0);
    ufrpc_yamux_stream_release(st);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 0);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 0);

    /* release without close aborts with RST */
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    yp_settle(c, sv, NULL, 0, 0);
    ufrpc_yamux_stream_release(st);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_string_equal(sv->log, "open 1;data 1 1;rst 1;open 3;rst 3;");
    /* open then release at once: the SYN is already queued, so RST follows it */
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    ufrpc_yamux_stream_release(st);
    assert_int_equal(ufrpc_yamux_pending_bytes(c->s), 24);
    unpair(c, sv);
}

/* Data|RST in one header, the stream released in the reset callback: the
 * payload is drained, not delivered to the freed stream. Then Data|SYN|RST. */
static void test_data_with_rst_released_in_callback(void **state)
{
    (void)state;
    struct ypeer *sv = calloc(1, sizeof *sv);
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, NULL, 0), 0);
    sv->release_on_reset = 1;
    uint8_t in[12 + 12 + 4 + 12 + 3 + 12];
    hdr(in, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 1, 0);
    hdr(in + 12, UFRPC_YAMUX_DATA, UFRPC_YAMUX_RST, 1, 4);
    memcpy(in + 24, "abcd", 4);
    hdr(in + 28, UFRPC_YAMUX_DATA, UFRPC_YAMUX_SYN | UFRPC_YAMUX_RST, 3, 3);
    memcpy(in + 40, "xyz", 3);
    hdr(in + 43, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 1);
    for (size_t split = 0; split <= sizeof in; split++) {
        sv->loglen = 0;
        sv->log[0] = 0;
        ufrpc_yamux_session_free(sv->s);
        assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, NULL, 0), 0);
        sv->release_on_reset = 1;
        assert_int_equal(ufrpc_yamux_feed(sv->s, in, split, 0), 0);
        assert_int_equal(ufrpc_yamux_feed(sv->s, in + split, sizeof in - split, 0), 0);
        assert_string_equal(sv->log, "open 1;rst 1;open 3;rst 3;");
        assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 0);
    }
    ufrpc_yamux_session_free(sv->s);
    free(sv);
}

static void test_orphan_discards_and_times_out(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.enable_keepalive = 0;
    cfg.max_stream_window = 256 * KiB;
    cfg.stream_close_timeout_ms = 5000;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, &cfg);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(ufrpc_yamux_stream_close(st), 0);
    ufrpc_yamux_stream_release(st);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 1); /* orphan */
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), 5000);
    yp_settle(c, sv, NULL, 0, 0);
    /* the server sends 1 MiB (4 windows): the orphan reopens its window itself */
    struct ystream *ry = &sv->sts[0];
    uint8_t buf[65536];
    memset(buf, 1, sizeof buf);
    uint64_t sent = 0;
    for (int i = 0; i < 1000 && sent < MiB; i++) {
        ptrdiff_t w = ufrpc_yamux_stream_write(ry->st, buf, sizeof buf);
        assert_true(w >= 0);
        sent += (uint64_t)w;
        yp_settle(c, sv, NULL, 0, 0);
    }
    assert_true(sent >= MiB);
    assert_null(strstr(c->log, "data"));
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 4999), 0);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 1);
    assert_int_equal(ufrpc_yamux_on_timeout(c->s, 5000), 0);
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 0);
    assert_int_equal(ufrpc_yamux_next_deadline(c->s), UINT64_MAX);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(ry->reset, 1);
    unpair(c, sv);
}

/* ---- protocol errors ---- */

static void expect_fatal(enum ufrpc_yamux_role role, const uint8_t *in, size_t n, int err,
                         int goaway)
{
    struct ypeer *p = calloc(1, sizeof *p);
    assert_int_equal(yp_init(p, role, NULL, 0), 0);
    assert_int_equal(ufrpc_yamux_feed(p->s, in, n, 0), err);
    assert_int_equal(p->n_err, 1);
    assert_int_equal(p->err, err);
    assert_int_equal(ufrpc_yamux_session_error(p->s), err);
    uint8_t *out;
    size_t len = yp_take(p, &out);
    if (goaway) {
        uint8_t want[12];
        hdr(want, UFRPC_YAMUX_GO_AWAY, 0, 0, 1);
        assert_true(len >= 12);
        assert_memory_equal(out + len - 12, want, 12);
    } else {
        assert_int_equal(len, 0);
    }
    free(out);
    /* later input is refused with the same error */
    assert_int_equal(ufrpc_yamux_feed(p->s, in, 1, 0), err);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(p->s, &st), err);
    ufrpc_yamux_session_free(p->s);
    free(p);
}

static void test_window_overrun(void **state)
{
    (void)state;
    uint8_t in[24];
    vec("yamux WindowUpdate SYN stream 1", in);
    hdr(in + 12, UFRPC_YAMUX_DATA, 0, 1, 6 * MiB + 1);
    expect_fatal(UFRPC_YAMUX_SERVER, in, sizeof in, UFRPC_ERR_YAMUX_WINDOW, 1);
    /* exactly the window is fine */
    struct ypeer *p = calloc(1, sizeof *p);
    assert_int_equal(yp_init(p, UFRPC_YAMUX_SERVER, NULL, 0), 0);
    hdr(in + 12, UFRPC_YAMUX_DATA, 0, 1, 6 * MiB);
    assert_int_equal(ufrpc_yamux_feed(p->s, in, 24, 0), 0);
    ufrpc_yamux_session_free(p->s);
    free(p);
    /* a stream opened by Data|SYN: accepted at once, so our ACK's window counts */
    hdr(in, UFRPC_YAMUX_DATA, UFRPC_YAMUX_SYN, 1, 6 * MiB + 1);
    expect_fatal(UFRPC_YAMUX_SERVER, in, 12, UFRPC_ERR_YAMUX_WINDOW, 1);
}

static void test_garbage_headers(void **state)
{
    (void)state;
    uint8_t in[12];
    hdr(in, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 0);
    in[0] = 1;
    expect_fatal(UFRPC_YAMUX_CLIENT, in, 12, UFRPC_ERR_YAMUX_VERSION, 1);
    hdr(in, 4, 0, 0, 0);
    expect_fatal(UFRPC_YAMUX_CLIENT, in, 12, UFRPC_ERR_YAMUX_TYPE, 1);
    /* TLS-looking bytes */
    static const uint8_t tls[12] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    expect_fatal(UFRPC_YAMUX_SERVER, tls, 12, UFRPC_ERR_YAMUX_VERSION, 1);
    /* duplicate SYN */
    uint8_t dup[24];
    hdr(dup, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 1, 0);
    hdr(dup + 12, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 1, 0);
    expect_fatal(UFRPC_YAMUX_SERVER, dup, 24, UFRPC_ERR_YAMUX_PROTOCOL, 1);
    /* SYN with our own parity */
    expect_fatal(UFRPC_YAMUX_CLIENT, dup, 12, UFRPC_ERR_YAMUX_PROTOCOL, 1);
    /* duplicate FIN */
    uint8_t fin[36];
    hdr(fin, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 1, 0);
    hdr(fin + 12, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_FIN, 1, 0);
    hdr(fin + 24, UFRPC_YAMUX_DATA, UFRPC_YAMUX_FIN, 1, 0);
    expect_fatal(UFRPC_YAMUX_SERVER, fin, 36, UFRPC_ERR_YAMUX_PROTOCOL, 1);
    /* GoAway with an error code: reported, no GoAway answered */
    hdr(in, UFRPC_YAMUX_GO_AWAY, 0, 0, 2);
    expect_fatal(UFRPC_YAMUX_CLIENT, in, 12, UFRPC_ERR_YAMUX_REMOTE_GOAWAY_ERROR, 0);
}

static void test_unknown_stream_drained_and_client_refuses(void **state)
{
    (void)state;
    struct ypeer *p = calloc(1, sizeof *p);
    assert_int_equal(yp_init(p, UFRPC_YAMUX_CLIENT, NULL, 0), 0);
    uint8_t in[12 + 100 + 12 + 12 + 12];
    hdr(in, UFRPC_YAMUX_DATA, 0, 7, 100);
    memset(in + 12, 0, 100); /* would be a bad header if not drained */
    hdr(in + 112, UFRPC_YAMUX_WINDOW_UPDATE, 0, 9, 5);
    hdr(in + 124, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, 4);
    hdr(in + 136, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_SYN, 2, 0); /* server-opened */
    for (size_t i = 0; i < sizeof in; i++) /* byte by byte */
        assert_int_equal(ufrpc_yamux_feed(p->s, in + i, 1, 0), 0);
    assert_int_equal(p->n_err, 0);
    uint8_t *out, want[24];
    assert_int_equal(yp_take(p, &out), 24);
    hdr(want, UFRPC_YAMUX_PING, UFRPC_YAMUX_ACK, 0, 4);
    /* the client role accepts a server-opened stream when on_stream_open says so */
    hdr(want + 12, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_ACK, 2, 6 * MiB - 256 * KiB);
    assert_memory_equal(out, want, 24);
    assert_string_equal(p->log, "open 2;");
    free(out);
    ufrpc_yamux_session_free(p->s);
    free(p);

    /* refusing peer: RST */
    p = calloc(1, sizeof *p);
    assert_int_equal(yp_init(p, UFRPC_YAMUX_CLIENT, NULL, 0), 0);
    p->refuse = 1;
    hdr(in, UFRPC_YAMUX_DATA, UFRPC_YAMUX_SYN, 2, 3);
    memcpy(in + 12, "abc", 3);
    assert_int_equal(ufrpc_yamux_feed(p->s, in, 15, 0), 0);
    assert_int_equal(yp_take(p, &out), 12);
    hdr(want, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_RST, 2, 0);
    assert_memory_equal(out, want, 12);
    free(out);
    assert_string_equal(p->log, "open 2;");
    assert_int_equal(ufrpc_yamux_session_num_streams(p->s), 0);
    ufrpc_yamux_session_free(p->s);
    free(p);
}

static void test_remote_goaway_normal(void **state)
{
    (void)state;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    pair(c, sv, NULL);
    ufrpc_yamux_stream_t *st, *st2;
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(ufrpc_yamux_session_goaway(sv->s, 0), 0);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(c->n_goaway, 1);
    assert_int_equal(ufrpc_yamux_session_remote_goaway(c->s), 1);
    assert_int_equal(ufrpc_yamux_stream_open(c->s, &st2), UFRPC_ERR_YAMUX_GOAWAY);
    /* the existing stream continues */
    assert_int_equal(ufrpc_yamux_stream_write(st, (const uint8_t *)"go", 2), 2);
    yp_settle(c, sv, NULL, 0, 0);
    assert_int_equal(sv->sts[0].rx, 2);
    assert_int_equal(c->n_err + sv->n_err, 0);
    unpair(c, sv);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_session_t *s;
    ufrpc_yamux_config_default(&cfg);
    assert_int_equal(cfg.max_stream_window, 6 * MiB);
    cfg.max_stream_window = 1000;
    assert_int_equal(ufrpc_yamux_session_new(&s, UFRPC_YAMUX_CLIENT, &cfg, NULL, NULL, 0),
                     UFRPC_ERR_INVAL);
    ufrpc_yamux_config_default(&cfg);
    cfg.max_output_bytes = 10;
    assert_int_equal(ufrpc_yamux_session_new(&s, UFRPC_YAMUX_CLIENT, &cfg, NULL, NULL, 0),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_yamux_session_new(&s, UFRPC_YAMUX_SERVER, NULL, NULL, NULL, 0), 0);
    ufrpc_yamux_stream_t *st;
    assert_int_equal(ufrpc_yamux_stream_open(s, &st), 0);
    assert_int_equal(ufrpc_yamux_stream_id(st), 2);
    /* no callbacks at all: peer streams refused, data discarded */
    ufrpc_yamux_session_free(s);
}


/* Greedy writers (as net/mux: each writes all the space it is given) behind a slow
 * transport that frees a little output space at a time: every stream gets its
 * turn, none waits for ever behind the ones before it in the session's list. */
static uint64_t fair_written[8];
static ufrpc_yamux_stream_t *fair_st[8];

static void fair_write(ufrpc_yamux_stream_t *st)
{
    static const uint8_t buf[8192];
    for (int i = 0; i < 8; i++) {
        if (fair_st[i] != st)
            continue;
        ptrdiff_t n;
        while ((n = ufrpc_yamux_stream_write(st, buf, sizeof buf)) > 0)
            fair_written[i] += (uint64_t)n;
    }
}

static void fair_on_writable(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    (void)ud;
    fair_write(st);
}

static void test_output_space_round_robin(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_output_bytes = 64 * 1024;
    struct ufrpc_yamux_callbacks cbs = {.on_stream_writable = fair_on_writable};
    ufrpc_yamux_session_t *s;
    assert_int_equal(ufrpc_yamux_session_new(&s, UFRPC_YAMUX_CLIENT, &cfg, &cbs, NULL, 0), 0);
    memset(fair_written, 0, sizeof fair_written);
    for (int i = 0; i < 8; i++)
        assert_int_equal(ufrpc_yamux_stream_open(s, &fair_st[i]), 0);
    for (int i = 0; i < 8; i++)
        fair_write(fair_st[i]);
    /* 16 KiB leave per round: 12 rounds move 192 KiB, less than one stream's
     * 256 KiB window, so a fixed order would feed one stream only */
    for (int round = 0; round < 12; round++) {
        struct iovec iov[4];
        assert_true(ufrpc_yamux_pending_output(s, iov, 4) > 0);
        size_t n = ufrpc_yamux_pending_bytes(s) < 16384 ? ufrpc_yamux_pending_bytes(s) : 16384;
        assert_int_equal(ufrpc_yamux_output_sent(s, n), 0);
    }
    for (int i = 0; i < 8; i++)
        assert_true(fair_written[i] > 0);
    ufrpc_yamux_session_free(s);
}

/* write_room says what a write takes now; want_writable asks for the callback
 * without a short write; and a stream that lets others go first when woken (asks
 * again at once, as net/mux does when the free space is promised to streams woken
 * before it) keeps its place in the round: the next round starts with it, so
 * polite streams are not starved by the one woken first every time. */
static ufrpc_yamux_stream_t *polite_st[3];
static int polite_woken[3];
static ufrpc_yamux_stream_t *polite_taken; /* the one stream that takes this round */

static void polite_on_writable(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    (void)ud;
    if (polite_taken != NULL) {
        ufrpc_yamux_stream_want_writable(st); /* after you */
        return;
    }
    polite_taken = st;
    for (int i = 0; i < 3; i++)
        if (polite_st[i] == st)
            polite_woken[i]++;
}

static void test_write_room_and_polite_wakeups(void **state)
{
    (void)state;
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_output_bytes = 64 * 1024;
    struct ufrpc_yamux_callbacks cbs = {.on_stream_writable = polite_on_writable};
    ufrpc_yamux_session_t *s;
    assert_int_equal(ufrpc_yamux_session_new(&s, UFRPC_YAMUX_CLIENT, &cfg, &cbs, NULL, 0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ufrpc_yamux_stream_open(s, &polite_st[i]), 0);
    assert_int_equal(ufrpc_yamux_output_sent(s, ufrpc_yamux_pending_bytes(s)), 0); /* SYNs */

    /* room: the free output space less one header (window 256 KiB is larger) */
    ufrpc_yamux_stream_t *a = polite_st[0];
    ptrdiff_t room = ufrpc_yamux_stream_write_room(a);
    assert_int_equal(room, 64 * 1024 - UFRPC_YAMUX_HEADER_SIZE);
    static uint8_t big[80 * 1024];
    assert_int_equal(ufrpc_yamux_stream_write(a, big, sizeof big), room);
    assert_int_equal(ufrpc_yamux_stream_write_room(a), 0);
    assert_int_equal(ufrpc_yamux_stream_write_room(polite_st[1]), 0);

    /* every stream asks to be told; freeing space wakes one taker per round, the
     * others ask again; over six rounds each stream takes two */
    memset(polite_woken, 0, sizeof polite_woken);
    for (int i = 0; i < 3; i++)
        ufrpc_yamux_stream_want_writable(polite_st[i]);
    polite_taken = NULL;
    assert_int_equal(ufrpc_yamux_output_sent(s, ufrpc_yamux_pending_bytes(s)), 0);
    assert_non_null(polite_taken);
    for (int round = 1; round < 6; round++) {
        ufrpc_yamux_stream_want_writable(polite_taken); /* it will want more later */
        polite_taken = NULL;
        assert_int_equal(ufrpc_yamux_output_sent(s, 0), 0); /* n 0: only the wakeups */
        assert_non_null(polite_taken);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(polite_woken[i], 2);

    /* an empty send window: want_writable waits for the window, not for space */
    ufrpc_yamux_stream_t *b = polite_st[1];
    assert_true(ufrpc_yamux_stream_write_room(b) > 0);
    uint32_t win = ufrpc_yamux_stream_send_window(b);
    ptrdiff_t took = 0;
    while (took < (ptrdiff_t)win) {
        ptrdiff_t n = ufrpc_yamux_stream_write(b, big, sizeof big);
        assert_true(n > 0);
        took += n;
        assert_int_equal(ufrpc_yamux_output_sent(s, ufrpc_yamux_pending_bytes(s)), 0);
    }
    assert_int_equal(ufrpc_yamux_stream_send_window(b), 0);
    assert_int_equal(ufrpc_yamux_stream_write_room(b), 0);
    ufrpc_yamux_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_vectors),
        cmocka_unit_test(test_client_first_bytes_and_server_ack),
        cmocka_unit_test(test_ping_ack_fin_goaway_vectors),
        cmocka_unit_test(test_split_input_twin),
        cmocka_unit_test(test_window_exhaustion_and_resume),
        cmocka_unit_test(test_output_space_backpressure),
        cmocka_unit_test(test_output_space_round_robin),
        cmocka_unit_test(test_write_room_and_polite_wakeups),
        cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_write_direct),
        cmocka_unit_test(test_keepalive_ping_and_timeout),
        cmocka_unit_test(test_fin_both_ways_and_free),
        cmocka_unit_test(test_reset_and_release_in_callback),
        cmocka_unit_test(test_data_with_rst_released_in_callback),
        cmocka_unit_test(test_orphan_discards_and_times_out),
        cmocka_unit_test(test_window_overrun),
        cmocka_unit_test(test_garbage_headers),
        cmocka_unit_test(test_unknown_stream_drained_and_client_refuses),
        cmocka_unit_test(test_remote_goaway_normal),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
