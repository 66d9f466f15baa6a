/* net/quic: a client session and the listener in one loop on loopback. Streams
 * both ways (three, one read slowly, the third waiting for a stream credit the
 * listener gives back when the first two close); a shutdown right after one large write sends every
 * byte before the FIN; a client closing its session ends the server session
 * (reported once) and fails the accepted stream's read; a server name GnuTLS
 * refuses ("IP:port") fails the handshake with a clear error on both sides.
 * Many streams at once, more than the session's send buffers hold together, all
 * deliver every byte; try_write takes what the send buffer has room for.
 * Skipped when QUIC is not built in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/nettest.h"
#include "net/quic.h"

#define NSTREAMS 3

struct ctx {
    uv_loop_t loop;
    uint8_t *pat;
    ufrpc_quic_listener_t *l;
    ufrpc_quic_t *q;
    int connected, connect_status;
    struct nt_peer cli[NSTREAMS], srv[NSTREAMS];
    int accepted;
    int ends;
    int end_err;
    char end_why[400];
    /* the large-write test */
    struct ufrpc_stream *big_s;
    uint8_t *big;
    size_t big_len;
    struct ufrpc_stream_write big_w;
    int big_write_done;
    int closed_cb;
    struct ufrpc_stream **third;
    /* the many-streams test: accepted streams go to these peers instead */
    struct nt_peer *many_srv;
    int many_n;
};

static void on_accept(ufrpc_quic_listener_t *l, struct ufrpc_stream *s, void *data)
{
    (void)l;
    struct ctx *c = data;
    if (c->many_srv != NULL && c->accepted < c->many_n) {
        assert_int_equal(nt_peer_start(&c->many_srv[c->accepted], s), 0);
        c->accepted++;
        return;
    }
    if (c->accepted >= NSTREAMS) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    assert_int_equal(nt_peer_start(&c->srv[c->accepted], s), 0);
    c->accepted++;
}

static void on_end(ufrpc_quic_listener_t *l, int err, const char *why, void *data)
{
    (void)l;
    struct ctx *c = data;
    c->ends++;
    c->end_err = err;
    snprintf(c->end_why, sizeof c->end_why, "%s", why ? why : "");
}

static void on_connect(ufrpc_quic_t *q, int status, void *data)
{
    (void)q;
    struct ctx *c = data;
    c->connected = 1;
    c->connect_status = status;
}

static int is_connected(void *arg)
{
    return ((struct ctx *)arg)->connected;
}

/* A listener on 127.0.0.1 and a client connected (or failed) to it; skip()
 * without QUIC. */
static void setup_pair_streams(struct ctx *c, const char *server_name, uint32_t max_streams)
{
    memset(c, 0, sizeof *c);
    uv_loop_init(&c->loop);
    c->pat = nt_pattern();
    assert_non_null(c->pat);
    struct ufrpc_quic_listen_opts lo = {.bind_ip = "127.0.0.1", .max_streams = max_streams};
    char err[256];
    int rc = ufrpc_quic_listen(&c->loop, &lo, on_accept, on_end, c, &c->l, err, sizeof err);
    if (rc == UFRPC_ERR_UNSUPPORTED) {
        free(c->pat);
        uv_loop_close(&c->loop);
        skip();
    }
    assert_int_equal(rc, 0);
    assert_true(ufrpc_quic_listener_port(c->l) > 0);
    struct ufrpc_quic_opts o = {
        .host = "127.0.0.1",
        .port = ufrpc_quic_listener_port(c->l),
        .server_name = server_name,
        .handshake_timeout_ms = 5000,
    };
    assert_int_equal(ufrpc_quic_connect(&c->loop, &o, on_connect, NULL, c, &c->q), 0);
    assert_true(nt_run_until(&c->loop, is_connected, c, 10000));
}

static void setup_pair(struct ctx *c, const char *server_name)
{
    setup_pair_streams(c, server_name, 2);
}

static void on_closed(void *data)
{
    ((struct ctx *)data)->closed_cb++;
}

static void teardown_pair(struct ctx *c)
{
    for (int i = 0; i < NSTREAMS; i++) {
        nt_peer_close(&c->cli[i]);
        nt_peer_close(&c->srv[i]);
    }
    if (c->big_s)
        ufrpc_stream_close(c->big_s, NULL);
    ufrpc_quic_close(c->q, on_closed, c);
    ufrpc_quic_listener_close(c->l, on_closed, c);
    assert_true(nt_loop_drain(&c->loop));
    assert_int_equal(c->closed_cb, 2);
    assert_int_equal(uv_loop_close(&c->loop), 0);
    free(c->pat);
    free(c->big);
}

static int streams_done(void *arg)
{
    struct ctx *c = arg;
    for (int i = 0; i < NSTREAMS; i++) {
        if (c->cli[i].err || c->srv[i].err)
            return 1;
        if (!c->cli[i].eof || !c->srv[i].eof || !c->cli[i].shut_done || !c->srv[i].shut_done)
            return 0;
    }
    return 1;
}

static int first_two_done(void *arg)
{
    struct ctx *c = arg;
    for (int i = 0; i < 2; i++)
        if (!c->cli[i].err && !c->srv[i].err &&
            !(c->cli[i].eof && c->srv[i].eof && c->cli[i].shut_done && c->srv[i].shut_done))
            return 0;
    return 1;
}

/* opens the third stream once the server has given a stream credit back */
static int third_opened(void *arg)
{
    struct ctx *c = arg;
    if (*c->third != NULL)
        return 1; /* nt_run_until asks once more at the end */
    int rc = ufrpc_quic_open_stream(c->q, c->third);
    assert_true(rc == 0 || rc == UFRPC_ERR_LIMIT);
    return rc == 0;
}

static void test_streams_both_ways(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair(&c, NULL);
    assert_int_equal(c.connect_status, 0);
    /* max_streams 2: the third stream waits for credit, which ngtcp2 gives back
     * (MAX_STREAMS) once half the initial limit was closed: both first streams */
    for (int i = 0; i < NSTREAMS; i++) {
        struct nt_peer *p = &c.cli[i], *s = &c.srv[i];
        p->pat = s->pat = c.pat;
        /* streams are accepted as their first bytes arrive, not necessarily in the
         * order opened: every stream carries the pattern from 0, lengths differ */
        p->to_send = (uint64_t)(i + 1) * 700 * 1024 + 13;
        s->to_send = 900 * 1024 + 7;
    }
    c.srv[1].slow_every = 128 * 1024;
    struct ufrpc_stream *st[NSTREAMS] = {NULL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ufrpc_quic_open_stream(c.q, &st[i]), 0);
        assert_int_equal(nt_peer_start(&c.cli[i], st[i]), 0);
    }
    assert_int_equal(ufrpc_quic_open_stream(c.q, &st[2]), UFRPC_ERR_LIMIT);
    assert_true(nt_run_until(&c.loop, first_two_done, &c, 20000));
    for (int i = 0; i < 2; i++) {
        nt_peer_close(&c.cli[i]);
        nt_peer_close(&c.srv[i]);
    }
    c.third = &st[2];
    assert_true(nt_run_until(&c.loop, third_opened, &c, 10000));
    assert_int_equal(nt_peer_start(&c.cli[2], st[2]), 0);
    assert_true(nt_run_until(&c.loop, streams_done, &c, 30000));
    assert_int_equal(c.accepted, NSTREAMS);
    uint64_t got = 0, want = 0;
    for (int i = 0; i < NSTREAMS; i++) {
        assert_int_equal(c.cli[i].err, 0);
        assert_int_equal(c.srv[i].err, 0);
        assert_int_equal(c.cli[i].mismatch, 0);
        assert_int_equal(c.srv[i].mismatch, 0);
        assert_int_equal(c.cli[i].received, c.srv[i].to_send);
        int match = 0; /* each accepted stream got one client stream's bytes, all of them */
        for (int j = 0; j < NSTREAMS; j++)
            match += c.srv[i].received == c.cli[j].to_send;
        assert_int_equal(match, 1);
        got += c.srv[i].received;
        want += c.cli[i].to_send;
    }
    assert_int_equal(got, want);
    assert_int_equal(c.ends, 0);
    assert_int_equal(ufrpc_quic_listener_sessions(c.l), 1);
    teardown_pair(&c);
}

static void on_big_written(struct ufrpc_stream_write *w, int status)
{
    struct ctx *c = w->data;
    assert_int_equal(status, 0);
    c->big_write_done = 1;
}

static int big_done(void *arg)
{
    struct ctx *c = arg;
    return c->srv[0].err || c->srv[0].eof;
}

/* ufrpc_stream_shutdown: the FIN follows every queued write, also when the write
 * is far larger than the stream's send buffer and the peer's window. */
static void test_shutdown_after_large_write(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair(&c, NULL);
    c.srv[0].pat = c.pat;
    c.srv[0].no_shutdown = 1;
    /* beyond the stream window, read slowly: flow control then lets the send
     * buffer drain completely while part of the write still waits outside it */
    c.srv[0].slow_every = 256 * 1024;
    c.big_len = UFRPC_QUIC_STREAM_WINDOW + 2 * 1024 * 1024 + 5;
    c.big = malloc(c.big_len);
    assert_non_null(c.big);
    for (size_t i = 0; i < c.big_len; i++)
        c.big[i] = c.pat[i % NT_PAT_LEN];
    assert_int_equal(ufrpc_quic_open_stream(c.q, &c.big_s), 0);
    uv_buf_t b = uv_buf_init((char *)c.big, (unsigned)c.big_len);
    c.big_w.data = &c;
    assert_int_equal(ufrpc_stream_write(c.big_s, &c.big_w, &b, 1, on_big_written), 0);
    assert_int_equal(ufrpc_stream_shutdown(c.big_s, NULL), 0);
    assert_true(nt_run_until(&c.loop, big_done, &c, 20000));
    assert_int_equal(c.srv[0].err, 0);
    assert_int_equal(c.srv[0].mismatch, 0);
    assert_int_equal(c.srv[0].received, c.big_len);
    assert_true(c.big_write_done);
    teardown_pair(&c);
}

static int end_seen(void *arg)
{
    struct ctx *c = arg;
    return c->ends > 0 && (c->srv[0].err || c->srv[0].eof);
}

static int one_accepted(void *arg)
{
    return ((struct ctx *)arg)->accepted == 1;
}

/* The client closes its session: the server session ends (once), and the reader
 * of its accepted stream learns it. */
static void test_client_close_ends_server_session(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair(&c, NULL);
    c.cli[0].pat = c.srv[0].pat = c.pat;
    c.cli[0].to_send = 1000;
    c.cli[0].no_shutdown = 1;
    c.srv[0].no_shutdown = 1;
    struct ufrpc_stream *s;
    assert_int_equal(ufrpc_quic_open_stream(c.q, &s), 0);
    assert_int_equal(nt_peer_start(&c.cli[0], s), 0);
    assert_true(nt_run_until(&c.loop, one_accepted, &c, 10000));
    ufrpc_quic_close(c.q, on_closed, &c);
    c.q = NULL;
    assert_true(nt_run_until(&c.loop, end_seen, &c, 10000));
    assert_int_equal(c.ends, 1);
    assert_int_equal(c.end_err, UFRPC_ERR_EOF);
    assert_non_null(strstr(c.end_why, "the client closed the connection"));
    assert_int_equal(ufrpc_quic_listener_sessions(c.l), 0);
    nt_peer_close(&c.cli[0]);
    nt_peer_close(&c.srv[0]);
    ufrpc_quic_listener_close(c.l, on_closed, &c);
    assert_true(nt_loop_drain(&c.loop));
    assert_int_equal(c.closed_cb, 2);
    assert_int_equal(uv_loop_close(&c.loop), 0);
    free(c.pat);
}

/* GnuTLS's own client sends no signed_certificate_timestamp extension, so the
 * listener cannot hide an "IP:port" server name: both sides say why it failed. */
static void test_bad_server_name(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair(&c, "127.0.0.1:7000");
    assert_int_equal(c.connect_status < 0, 1);
    assert_non_null(strstr(ufrpc_quic_error_text(c.q), "alert 47"));
    assert_int_equal(c.ends, 1);
    assert_int_equal(c.end_err, UFRPC_ERR_TLS);
    assert_non_null(strstr(c.end_why, "\"127.0.0.1:7000\" is not a DNS name"));
    assert_int_equal(c.accepted, 0);
    teardown_pair(&c);
}

#define MANY 40

struct many {
    struct ctx *c;
    struct nt_peer cli[MANY], srv[MANY];
};

static int many_done(void *arg)
{
    struct many *m = arg;
    if (m->c->accepted < MANY)
        return 0;
    for (int i = 0; i < MANY; i++) {
        if (m->cli[i].err || m->srv[i].err)
            return 1;
        if (!m->cli[i].eof || !m->srv[i].eof || !m->cli[i].shut_done || !m->srv[i].shut_done)
            return 0;
    }
    return 1;
}

/* 40 streams at once, 10+ MB from the client in all (beyond what the session's
 * send buffers hold together, so most streams wait for room after acks) and
 * some back: every stream delivers every byte, in order. */
static void test_many_streams(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair_streams(&c, NULL, MANY);
    struct many *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->c = &c;
    c.many_srv = m->srv;
    c.many_n = MANY;
    for (int i = 0; i < MANY; i++) {
        m->cli[i].pat = m->srv[i].pat = c.pat;
        m->cli[i].to_send = 256 * 1024 + (uint64_t)i * 1000; /* tells the streams apart */
        m->srv[i].to_send = 64 * 1024 + 3;
    }
    m->srv[3].slow_every = 64 * 1024;
    for (int i = 0; i < MANY; i++) {
        struct ufrpc_stream *s;
        assert_int_equal(ufrpc_quic_open_stream(c.q, &s), 0);
        assert_int_equal(nt_peer_start(&m->cli[i], s), 0);
    }
    assert_true(nt_run_until(&c.loop, many_done, m, 60000));
    int seen[MANY] = {0};
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(m->cli[i].err, 0);
        assert_int_equal(m->srv[i].err, 0);
        assert_int_equal(m->cli[i].mismatch, 0);
        assert_int_equal(m->srv[i].mismatch, 0);
        assert_int_equal(m->cli[i].received, m->srv[i].to_send);
        uint64_t k = (m->srv[i].received - 256 * 1024) / 1000;
        assert_true(k < MANY && m->srv[i].received == m->cli[k].to_send);
        seen[k]++;
    }
    for (int i = 0; i < MANY; i++)
        assert_int_equal(seen[i], 1);
    for (int i = 0; i < MANY; i++) {
        nt_peer_close(&m->cli[i]);
        nt_peer_close(&m->srv[i]);
    }
    assert_int_equal(c.ends, 0);
    teardown_pair(&c);
    free(m);
}

static int got_all(void *arg)
{
    struct ctx *c = arg;
    return c->srv[0].err || c->srv[0].eof;
}

static void on_rest_written(struct ufrpc_stream_write *w, int status)
{
    struct ctx *c = w->data;
    assert_int_equal(status, 0);
    c->big_write_done = 1;
}

/* try_write copies what the send buffer has room for (at least one block, at
 * most UFRPC_QUIC_SEND_BUF), nothing while a write waits, and the bytes go out
 * in order with those written after. */
static void test_try_write(void **state)
{
    (void)state;
    struct ctx c;
    setup_pair(&c, NULL);
    c.srv[0].pat = c.pat;
    c.srv[0].no_shutdown = 1;
    c.big_len = 3 * UFRPC_QUIC_SEND_BUF + 11;
    c.big = malloc(c.big_len);
    assert_non_null(c.big);
    for (size_t i = 0; i < c.big_len; i++)
        c.big[i] = c.pat[i % NT_PAT_LEN];
    assert_int_equal(ufrpc_quic_open_stream(c.q, &c.big_s), 0);
    uv_buf_t b = uv_buf_init((char *)c.big, (unsigned)c.big_len);
    int n = ufrpc_stream_try_write(c.big_s, &b, 1);
    assert_true(n >= 16 * 1024 && (size_t)n <= UFRPC_QUIC_SEND_BUF);
    uv_buf_t rest = uv_buf_init((char *)c.big + n, (unsigned)(c.big_len - (size_t)n));
    c.big_w.data = &c;
    assert_int_equal(ufrpc_stream_write(c.big_s, &c.big_w, &rest, 1, on_rest_written), 0);
    assert_int_equal(ufrpc_stream_try_write(c.big_s, &rest, 1), 0); /* behind the write */
    assert_int_equal(ufrpc_stream_shutdown(c.big_s, NULL), 0);
    assert_true(nt_run_until(&c.loop, got_all, &c, 20000));
    assert_int_equal(c.srv[0].err, 0);
    assert_int_equal(c.srv[0].mismatch, 0);
    assert_int_equal(c.srv[0].received, c.big_len);
    assert_true(c.big_write_done);
    teardown_pair(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_both_ways),
        cmocka_unit_test(test_shutdown_after_large_write),
        cmocka_unit_test(test_client_close_ends_server_session),
        cmocka_unit_test(test_bad_server_name),
        cmocka_unit_test(test_many_streams),
        cmocka_unit_test(test_try_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
