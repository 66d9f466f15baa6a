/* net/kcp: a KCP client stream and a listener session in one loop, both ways,
 * with a slow reader, and garbage datagrams (some shaped like FEC data packets,
 * which start sessions of their own) thrown at the listener meanwhile; a closed
 * UDP port reported as UFRPC_ERR_KCP_REFUSED; two client streams over already
 * bound sockets (ufrpc_kcp_connect_fd, xtcp's conversation 1 and windows) talking
 * to each other after stray datagrams (late punching packets) reached both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/kcp.h"
#include "net/nettest.h"
#include "proto/byteorder.h"

#include <sys/socket.h>
#include <unistd.h>

struct ctx {
    struct nt_peer cli, srv;
    int accepted, extra;
    struct ufrpc_stream *extras[64];
    uint64_t want_cli, want_srv;
};

static void on_accept(ufrpc_kcp_listener_t *l, struct ufrpc_stream *s)
{
    struct ctx *c = ufrpc_kcp_listener_data(l);
    if (c->accepted) { /* a session started by garbage: keep it, close it at the end */
        if (c->extra < 64)
            c->extras[c->extra++] = s;
        else
            ufrpc_stream_close(s, NULL);
        return;
    }
    c->accepted = 1;
    assert_int_equal(nt_peer_start(&c->srv, s), 0);
}

static int done(void *arg)
{
    struct ctx *c = arg;
    return c->cli.err || c->srv.err ||
           (c->cli.received == c->want_cli && c->srv.received == c->want_srv &&
            c->cli.shut_done && c->srv.shut_done);
}

static void test_both_ways_with_garbage(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.cli.pat = c.srv.pat = pat;
    c.cli.to_send = 3 * 1024 * 1024;
    c.srv.to_send = 1024 * 1024 + 17;
    c.srv.send_base = 777;
    c.cli.recv_base = 777;
    c.srv.slow_every = 256 * 1024; /* the server reads slowly: windows close */
    c.want_cli = c.srv.to_send;
    c.want_srv = c.cli.to_send;
    int err;
    ufrpc_kcp_listener_t *l = ufrpc_kcp_listen(&loop, "127.0.0.1", 0, on_accept, &c, &err);
    assert_non_null(l);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", ufrpc_kcp_listener_port(l), &a);
    struct ufrpc_stream *s = ufrpc_kcp_connect(&loop, (const struct sockaddr *)&a, NULL, &err);
    assert_non_null(s);
    assert_true(ufrpc_stream_is_kcp(s));
    assert_int_equal(nt_peer_start(&c.cli, s), 0);

    /* garbage from another socket while the transfer runs */
    uv_udp_t junk;
    uv_udp_init(&loop, &junk);
    uint64_t x = 12345;
    for (int round = 0; round < 40 && !done(&c); round++) {
        for (int i = 0; i < 25; i++) {
            uint8_t b[1400];
            size_t n = 1 + (size_t)(x % sizeof b);
            for (size_t j = 0; j < n; j++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                b[j] = (uint8_t)(x >> 56);
            }
            if (n >= 8 && i % 3 == 0)
                ufrpc_put_le16(b + 4, (uint16_t)(0xf1 + i % 2));
            uv_buf_t ub = uv_buf_init((char *)b, (unsigned)n);
            uv_udp_try_send(&junk, &ub, 1, (const struct sockaddr *)&a);
        }
        nt_run_until(&loop, done, &c, 100);
    }
    assert_true(nt_run_until(&loop, done, &c, 60000));
    assert_int_equal(c.cli.err, 0);
    assert_int_equal(c.srv.err, 0);
    assert_false(c.cli.mismatch);
    assert_false(c.srv.mismatch);
    assert_int_equal(c.cli.received, c.want_cli);
    assert_int_equal(c.srv.received, c.want_srv);
    assert_true(c.extra > 0); /* garbage did reach the listener */

    nt_peer_close(&c.cli);
    nt_peer_close(&c.srv);
    for (int i = 0; i < c.extra; i++)
        ufrpc_stream_close(c.extras[i], NULL);
    uv_close((uv_handle_t *)&junk, NULL);
    ufrpc_kcp_listener_close(l, NULL);
    assert_true(nt_loop_drain(&loop));
    uv_loop_close(&loop);
    free(pat);
}


static int p2p_done(void *arg)
{
    struct ctx *c = arg;
    return c->cli.err || c->srv.err ||
           (c->cli.received == c->want_cli && c->srv.received == c->want_srv);
}

/* A bound UDP socket on 127.0.0.1; its address in *a. */
static int bound_socket(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    uv_ip4_addr("127.0.0.1", 0, a);
    assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
    socklen_t sl = sizeof *a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)a, &sl), 0);
    return fd;
}

static void test_p2p_over_bound_sockets(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.cli.pat = c.srv.pat = pat;
    c.cli.to_send = 1024 * 1024 + 3;
    c.srv.to_send = 512 * 1024;
    c.want_cli = c.srv.to_send;
    c.want_srv = c.cli.to_send;
    struct sockaddr_in a, b;
    int fa = bound_socket(&a), fb = bound_socket(&b);
    /* stray datagrams already queued on both sockets */
    uint8_t junk[64];
    memset(junk, 0xf1, sizeof junk);
    assert_true(sendto(fa, junk, sizeof junk, 0, (struct sockaddr *)&b, sizeof b) > 0);
    assert_true(sendto(fb, junk, 40, 0, (struct sockaddr *)&a, sizeof a) > 0);
    struct ufrpc_kcp_config kc;
    ufrpc_kcp_config_frpc(&kc);
    kc.conv = 1;
    kc.snd_wnd = kc.rcv_wnd = 1024;
    int err = 0;
    struct ufrpc_stream *sa = ufrpc_kcp_connect_fd(&loop, fa, (const struct sockaddr *)&b, &kc, &err);
    assert_non_null(sa);
    struct ufrpc_stream *sb = ufrpc_kcp_connect_fd(&loop, fb, (const struct sockaddr *)&a, &kc, &err);
    assert_non_null(sb);
    assert_int_equal(nt_peer_start(&c.cli, sa), 0);
    assert_int_equal(nt_peer_start(&c.srv, sb), 0);
    assert_true(nt_run_until(&loop, p2p_done, &c, 60000));
    assert_int_equal(c.cli.err, 0);
    assert_int_equal(c.srv.err, 0);
    assert_false(c.cli.mismatch);
    assert_false(c.srv.mismatch);
    nt_peer_close(&c.cli);
    nt_peer_close(&c.srv);
    assert_true(nt_loop_drain(&loop));
    uv_loop_close(&loop);
    free(pat);
}

static int got_err(void *arg)
{
    return ((struct nt_peer *)arg)->err != 0;
}

static void test_refused(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* a UDP port that was just free */
    uv_udp_t u;
    uv_udp_init(&loop, &u);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_bind(&u, (const struct sockaddr *)&a, 0), 0);
    int len = sizeof a;
    uv_udp_getsockname(&u, (struct sockaddr *)&a, &len);
    uv_close((uv_handle_t *)&u, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);

    uint8_t *pat = nt_pattern();
    struct nt_peer p;
    memset(&p, 0, sizeof p);
    p.pat = pat;
    p.to_send = 1000;
    p.no_shutdown = 1;
    int err;
    struct ufrpc_stream *s = ufrpc_kcp_connect(&loop, (const struct sockaddr *)&a, NULL, &err);
    assert_non_null(s);
    assert_int_equal(nt_peer_start(&p, s), 0);
    assert_true(nt_run_until(&loop, got_err, &p, 10000));
    assert_int_equal(p.err, UFRPC_ERR_KCP_REFUSED);
    nt_peer_close(&p);
    assert_true(nt_loop_drain(&loop));
    uv_loop_close(&loop);
    free(pat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_ways_with_garbage),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_p2p_over_bound_sockets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
