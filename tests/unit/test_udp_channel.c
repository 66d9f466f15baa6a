/* client/udp_channel: the UDPPacket message channel of udp/sudp proxies, over real
 * loopback sockets. The test plays frps on the other end of a TCP work stream
 * (writes UDPPacket frames, decodes what comes back) and runs a local UDP echo
 * service. Intervals are shortened so each case takes well under a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netdb.h>

#include "client/core/udp_channel.h"
#include "net/nettest.h"
#include "net/tcp.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define MAXF 256

struct fx {
    uv_loop_t loop;
    /* fake frps */
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *srv; /* accepted: the frps end */
    struct ufrpc_stream *cli; /* connecting: handed to the channel */
    uv_connect_t creq;
    int connected;
    struct ufrpc_frame_decoder dec;
    struct ufrpc_msg frames[MAXF];
    int nframes;
    int srv_eof, srv_err;
    /* local UDP service */
    uv_udp_t echo;
    uint16_t echo_port;
    uint8_t ebuf[65536];
    int echo_flood; /* reply to "flood" with this many datagrams */
    int echo_recv;
    /* channel */
    ufrpc_udp_channel_t *ch;
    int closed;
    int close_reason;
    struct ufrpc_udp_channel_stats final;
};

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct fx *f = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    f->srv = c;
}

static void on_connect(uv_connect_t *r, int status)
{
    struct fx *f = r->data;
    assert_int_equal(status, 0);
    f->connected = 1;
}

static void srv_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                     size_t len)
{
    struct fx *f = s->data;
    (void)buf;
    if (status == UFRPC_ERR_EOF) {
        f->srv_eof = 1;
        return;
    }
    if (status < 0) {
        f->srv_err = status;
        return;
    }
    while (len > 0) {
        size_t used;
        struct ufrpc_frame fr;
        int rc = ufrpc_frame_decoder_feed(&f->dec, data, len, &used, &fr);
        assert_true(rc >= 0);
        data += used;
        len -= used;
        if (rc == 1) {
            assert_true(f->nframes < MAXF);
            assert_int_equal(ufrpc_msg_decode(fr.type, fr.body, fr.body_len, &f->frames[f->nframes]), 0);
            f->nframes++;
        }
    }
}

static void echo_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct fx *f = h->data;
    (void)s;
    *b = uv_buf_init((char *)f->ebuf, sizeof f->ebuf);
}

static void echo_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                      unsigned flags)
{
    struct fx *f = u->data;
    (void)flags;
    if (n < 0 || from == NULL)
        return;
    f->echo_recv++;
    if (n == 3 && memcmp(b->base, "big", 3) == 0) {
        static uint8_t big[7700]; /* over 10240 bytes of JSON for any address */
        memset(big, 'B', sizeof big);
        uv_buf_t x = uv_buf_init((char *)big, sizeof big);
        assert_true(uv_udp_try_send(u, &x, 1, from) > 0);
        /* the largest safe payload passes */
        x.len = UFRPC_UDP_MAX_SAFE_PAYLOAD;
        assert_true(uv_udp_try_send(u, &x, 1, from) > 0);
        return;
    }
    if (n == 5 && memcmp(b->base, "flood", 5) == 0) {
        for (int i = 0; i < f->echo_flood; i++) {
            char m[16];
            int k = snprintf(m, sizeof m, "f%03d", i);
            uv_buf_t x = uv_buf_init(m, (unsigned)k);
            assert_true(uv_udp_try_send(u, &x, 1, from) > 0);
        }
        return;
    }
    uv_buf_t x = uv_buf_init(b->base, (unsigned)n);
    assert_int_equal(uv_udp_try_send(u, &x, 1, from), n);
}

static void on_ch_close(ufrpc_udp_channel_t *ch, int reason, const struct ufrpc_udp_channel_stats *st,
                        void *data)
{
    struct fx *f = data;
    (void)ch;
    f->closed = 1;
    f->close_reason = reason;
    f->final = *st;
    f->ch = NULL;
}

static int p_connected(void *a)
{
    struct fx *f = a;
    return f->connected && f->srv != NULL;
}

static void fx_setup(struct fx *f, struct ufrpc_udp_channel_opts *o)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    int err = 0;
    f->l = ufrpc_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &err);
    assert_non_null(f->l);
    f->cli = ufrpc_tcp_new(&f->loop, &err);
    assert_non_null(f->cli);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", ufrpc_tcp_listener_port(f->l), &a);
    f->creq.data = f;
    assert_int_equal(uv_tcp_connect(&f->creq, ufrpc_tcp_handle(f->cli), (struct sockaddr *)&a, on_connect), 0);
    assert_true(nt_run_until(&f->loop, p_connected, f, 2000));
    f->srv->data = f;
    ufrpc_frame_decoder_init(&f->dec);
    assert_int_equal(ufrpc_stream_read_start(f->srv, srv_read), 0);

    assert_int_equal(uv_udp_init(&f->loop, &f->echo), 0);
    f->echo.data = f;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_bind(&f->echo, (struct sockaddr *)&a, 0), 0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_udp_getsockname(&f->echo, (struct sockaddr *)&ss, &len), 0);
    f->echo_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(uv_udp_recv_start(&f->echo, echo_alloc, echo_recv), 0);

    memset(o, 0, sizeof *o);
    o->loop = &f->loop;
    o->name = "udp-test";
    o->local_ip = "127.0.0.1";
    o->local_port = f->echo_port;
    o->on_close = on_ch_close;
    o->data = f;
}

static void fx_start(struct fx *f, const struct ufrpc_udp_channel_opts *o)
{
    assert_int_equal(ufrpc_udp_channel_start(o, f->cli, NULL, 0, &f->ch), 0);
    f->cli = NULL;
}

static int p_closed(void *a)
{
    return ((struct fx *)a)->closed;
}

static void fx_teardown(struct fx *f)
{
    if (f->ch != NULL) {
        ufrpc_udp_channel_close(f->ch);
        assert_true(nt_run_until(&f->loop, p_closed, f, 2000));
    }
    for (int i = 0; i < f->nframes; i++)
        ufrpc_msg_free(&f->frames[i]);
    if (f->srv != NULL)
        ufrpc_stream_close(f->srv, NULL);
    if (f->cli != NULL)
        ufrpc_stream_close(f->cli, NULL);
    ufrpc_tcp_listener_close(f->l, NULL);
    uv_close((uv_handle_t *)&f->echo, NULL);
    assert_true(nt_loop_drain(&f->loop));
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* frps side: sends UDPPacket{c, r} */
struct wr {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    uint8_t *bytes;
};

static void wr_done(struct ufrpc_stream_write *w, int status)
{
    struct wr *x = w->data;
    (void)status;
    free(x->bytes);
    free(x);
}

static void srv_send_raw(struct fx *f, const uint8_t *bytes, size_t len)
{
    struct wr *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->bytes = malloc(len);
    assert_non_null(x->bytes);
    memcpy(x->bytes, bytes, len);
    x->b = uv_buf_init((char *)x->bytes, (unsigned)len);
    x->w.data = x;
    assert_int_equal(ufrpc_stream_write(f->srv, &x->w, &x->b, 1, wr_done), 0);
}

static void srv_send(struct fx *f, const char *payload, size_t plen, const char *ip, int port)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET);
    assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, payload, plen), 0);
    if (ip != NULL)
        assert_int_equal(ufrpc_udp_addr_set(&m.u.udp_packet.raddr, ip, port, ""), 0);
    uint8_t *fr;
    size_t flen;
    assert_int_equal(ufrpc_msg_encode_frame(&m, &fr, &flen), 0);
    srv_send_raw(f, fr, flen);
    free(fr);
    ufrpc_msg_free(&m);
}

struct want {
    struct fx *f;
    int n;
};
static int p_frames(void *a)
{
    struct want *w = a;
    return w->f->nframes >= w->n || w->f->closed;
}
static void wait_frames(struct fx *f, int n)
{
    struct want w = {f, n};
    assert_true(nt_run_until(&f->loop, p_frames, &w, 3000));
    assert_int_equal(f->nframes, n);
}

static int count_udp_from(struct fx *f, const char *ip, int port, const char *payload)
{
    int c = 0;
    for (int i = 0; i < f->nframes; i++) {
        struct ufrpc_msg *m = &f->frames[i];
        if (m->type != UFRPC_MSG_UDP_PACKET || m->u.udp_packet.raddr == NULL)
            continue;
        struct ufrpc_udp_addr *r = m->u.udp_packet.raddr;
        if (strcmp(r->ip, ip) == 0 && r->port == port &&
            m->u.udp_packet.content.len == strlen(payload) &&
            (strlen(payload) == 0 ||
             memcmp(m->u.udp_packet.content.data, payload, strlen(payload)) == 0) &&
            m->u.udp_packet.laddr == NULL && r->zone != NULL && r->zone[0] == '\0')
            c++;
    }
    return c;
}

static void test_echo_several_users(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    fx_start(&f, &o);
    srv_send(&f, "hello-a", 7, "10.0.0.1", 1001);
    srv_send(&f, "hello-b", 7, "10.0.0.2", 2002);
    srv_send(&f, "hello-c", 7, "2001:db8::7", 3003);
    srv_send(&f, "again-a", 7, "10.0.0.1", 1001);
    srv_send(&f, "", 0, "10.0.0.2", 2002); /* empty datagrams go through too */
    wait_frames(&f, 5);
    assert_int_equal(count_udp_from(&f, "10.0.0.1", 1001, "hello-a"), 1);
    assert_int_equal(count_udp_from(&f, "10.0.0.1", 1001, "again-a"), 1);
    assert_int_equal(count_udp_from(&f, "10.0.0.2", 2002, "hello-b"), 1);
    assert_int_equal(count_udp_from(&f, "10.0.0.2", 2002, ""), 1);
    assert_int_equal(count_udp_from(&f, "2001:db8::7", 3003, "hello-c"), 1);
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.peers_opened, 3);
    assert_int_equal(st.peers_active, 3);
    assert_int_equal(st.packets_in, 5);
    assert_int_equal(st.packets_out, 5);
    assert_int_equal(st.bytes_in, 28);
    assert_int_equal(st.bytes_out, 28);
    /* a packet without "r" cannot be routed: dropped and counted */
    srv_send(&f, "noaddr", 6, NULL, 0);
    srv_send(&f, "x", 1, "10.0.0.9", 9);
    wait_frames(&f, 6);
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.drop_bad_addr, 1);
    assert_int_equal(f.echo_recv, 6);
    /* the owner closes it (a udp proxy got a new work connection) */
    ufrpc_udp_channel_close(f.ch);
    assert_true(nt_run_until(&f.loop, p_closed, &f, 2000));
    assert_int_equal(f.close_reason, UFRPC_ERR_CANCELED);
    assert_int_equal(f.final.peers_active, 0);
    fx_teardown(&f);
}

struct idle_want {
    struct fx *f;
    uint64_t n;
};
static int p_idle(void *a)
{
    struct idle_want *w = a;
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(w->f->ch, &st);
    return st.peers_closed_idle >= w->n;
}

static void test_idle_close(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.idle_timeout_ms = 120;
    fx_start(&f, &o);
    srv_send(&f, "one", 3, "10.1.1.1", 5000);
    wait_frames(&f, 1);
    uv_update_time(&f.loop);
    uint64_t t0 = uv_now(&f.loop);
    struct idle_want w = {&f, 1};
    assert_true(nt_run_until(&f.loop, p_idle, &w, 2000));
    uint64_t dt = uv_now(&f.loop) - t0;
    assert_true(dt >= 100 && dt < 1000);
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.peers_active, 0);
    /* the same user again gets a fresh local socket */
    srv_send(&f, "two", 3, "10.1.1.1", 5000);
    wait_frames(&f, 2);
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.peers_opened, 2);
    assert_int_equal(count_udp_from(&f, "10.1.1.1", 5000, "two"), 1);
    fx_teardown(&f);
}

static void test_oversized_reply_dropped(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.packet_size = 9000;
    /* the drop is logged with its reason (a warning, so it shows at frpc's info level) */
    char *logtext = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&logtext, &loglen);
    assert_non_null(logf);
    struct ufrpc_log_opts lo = {.level = UFRPC_LOG_INFO, .console = logf};
    struct ufrpc_log *log = NULL;
    assert_int_equal(ufrpc_log_new(&lo, &log), 0);
    o.log = log;
    fx_start(&f, &o);
    srv_send(&f, "big", 3, "10.2.2.2", 6000);
    wait_frames(&f, 1); /* only the 7599-byte reply */
    struct ufrpc_msg *m = &f.frames[0];
    assert_int_equal(m->type, UFRPC_MSG_UDP_PACKET);
    assert_int_equal(m->u.udp_packet.content.len, UFRPC_UDP_MAX_SAFE_PAYLOAD);
    srv_send(&f, "after", 5, "10.2.2.2", 6000);
    wait_frames(&f, 2);
    assert_int_equal(count_udp_from(&f, "10.2.2.2", 6000, "after"), 1);
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.drop_oversize, 1);
    assert_int_equal(st.packets_out, 2);
    fx_teardown(&f);
    ufrpc_log_free(log);
    fclose(logf);
    assert_non_null(strstr(logtext, "udp: reply of 7700 bytes dropped: its UDPPacket would "
                                    "exceed the 10240-byte v1 frame limit (1 dropped so far)"));
    free(logtext);
}

static void test_packet_size_truncates(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.packet_size = 4;
    fx_start(&f, &o);
    srv_send(&f, "abcdefgh", 8, "10.3.3.3", 7000);
    wait_frames(&f, 1);
    assert_int_equal(count_udp_from(&f, "10.3.3.3", 7000, "abcd"), 1);
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_int_equal(st.truncated, 1);
    fx_teardown(&f);
}

static void test_ping(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.ping_interval_ms = 40;
    fx_start(&f, &o);
    wait_frames(&f, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f.frames[i].type, UFRPC_MSG_PING);
        assert_null(f.frames[i].u.ping.privilege_key);
        assert_int_equal(f.frames[i].u.ping.timestamp, 0);
    }
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_true(st.pings_sent >= 2);
    fx_teardown(&f);
}

static void test_flood_bounded(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.max_queued = 200; /* about three frames */
    f.echo_flood = 30;
    fx_start(&f, &o);
    srv_send(&f, "flood", 5, "10.4.4.4", 8000);
    /* let the burst arrive and the writes drain */
    struct want w = {&f, 1000};
    nt_run_until(&f.loop, p_frames, &w, 300);
    struct ufrpc_udp_channel_stats st;
    ufrpc_udp_channel_get_stats(f.ch, &st);
    assert_true(st.drop_queue_full > 0);
    assert_int_equal(st.packets_out + st.drop_queue_full, 30);
    assert_int_equal((uint64_t)f.nframes, st.packets_out);
    fx_teardown(&f);
}

static void test_malformed_closes(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        int want;
    } cases[] = {
        {"Z\0\0\0\0\0\0\0\2{}", 11, UFRPC_ERR_MSG_TYPE},
        {"u\0\0\0\0\0\0\x28\1", 9, UFRPC_ERR_MSG_TOO_LONG},
        {"u\0\0\0\0\0\0\0\x0a{\"c\":\"@@\"}", 19, UFRPC_ERR_BASE64},
        {"u\0\0\0\0\0\0\0\3{\"c", 12, UFRPC_ERR_JSON},
        {"u\0\0\0\0\0\0\0\x0e{\"r\":{\"IP\":5}}", 23, UFRPC_ERR_JSON_TYPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx f;
        struct ufrpc_udp_channel_opts o;
        fx_setup(&f, &o);
        fx_start(&f, &o);
        /* a good packet first: the channel works until the bad frame */
        srv_send(&f, "ok", 2, "10.5.5.5", 9000);
        wait_frames(&f, 1);
        srv_send_raw(&f, (const uint8_t *)cases[i].bytes, cases[i].len);
        assert_true(nt_run_until(&f.loop, p_closed, &f, 2000));
        assert_int_equal(f.close_reason, cases[i].want);
        assert_int_equal(f.final.peers_active, 0);
        fx_teardown(&f);
    }
}

static int p_srv_eof(void *a)
{
    return ((struct fx *)a)->srv_eof || ((struct fx *)a)->srv_err;
}

static void test_server_eof_and_initial_bytes(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    /* initial bytes: one full UDPPacket frame and half of a Ping */
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET);
    assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, "init", 4), 0);
    assert_int_equal(ufrpc_udp_addr_set(&m.u.udp_packet.raddr, "10.6.6.6", 1, ""), 0);
    uint8_t *fr;
    size_t flen;
    assert_int_equal(ufrpc_msg_encode_frame(&m, &fr, &flen), 0);
    ufrpc_msg_free(&m);
    uint8_t init[512];
    memcpy(init, fr, flen);
    memcpy(init + flen, "h\0\0\0\0", 5);
    free(fr);
    assert_int_equal(ufrpc_udp_channel_start(&o, f.cli, init, flen + 5, &f.ch), 0);
    f.cli = NULL;
    wait_frames(&f, 1);
    assert_int_equal(count_udp_from(&f, "10.6.6.6", 1, "init"), 1);
    srv_send_raw(&f, (const uint8_t *)"\0\0\0\2{}", 6); /* rest of the Ping: ignored */
    srv_send(&f, "next", 4, "10.6.6.6", 1);
    wait_frames(&f, 2);
    /* frps goes away */
    ufrpc_stream_close(f.srv, NULL);
    f.srv = NULL;
    assert_true(nt_run_until(&f.loop, p_closed, &f, 2000));
    assert_true(f.close_reason == UFRPC_ERR_EOF || f.close_reason == UFRPC_ERR_CONN_RESET);
    fx_teardown(&f);
    (void)p_srv_eof;
}

/* localIP as a host name: IPv4 first, as Go's ResolveUDPAddr("udp") for frpc */
static void test_pick_resolved(void **state)
{
    (void)state;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    memset(&a6, 0, sizeof a6);
    memset(&a4, 0, sizeof a4);
    a6.sin6_family = AF_INET6;
    a6.sin6_addr.s6_addr[15] = 1; /* ::1 */
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(0x7f000001);
    struct addrinfo v4 = {.ai_family = AF_INET, .ai_addrlen = sizeof a4,
                          .ai_addr = (struct sockaddr *)&a4};
    struct addrinfo v6 = {.ai_family = AF_INET6, .ai_addrlen = sizeof a6,
                          .ai_addr = (struct sockaddr *)&a6, .ai_next = &v4};
    /* glibc's order for "localhost" with ::1 in /etc/hosts: ::1, then 127.0.0.1 */
    assert_ptr_equal(ufrpc_udp_pick_resolved(&v6), &v4);
    v6.ai_next = NULL;
    assert_ptr_equal(ufrpc_udp_pick_resolved(&v6), &v6); /* only IPv6: that one */
    struct addrinfo other = {.ai_family = AF_UNIX, .ai_addrlen = sizeof a4,
                             .ai_addr = (struct sockaddr *)&a4, .ai_next = &v6};
    assert_ptr_equal(ufrpc_udp_pick_resolved(&other), &v6);
    other.ai_next = NULL;
    assert_null(ufrpc_udp_pick_resolved(&other));
    assert_null(ufrpc_udp_pick_resolved(NULL));
}

/* ...and the channel reaches a service on 127.0.0.1 through localIP "localhost" */
static void test_local_host_name(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_udp_channel_opts o;
    fx_setup(&f, &o);
    o.local_ip = "localhost";
    fx_start(&f, &o);
    srv_send(&f, "by-name", 7, "10.9.9.9", 999);
    wait_frames(&f, 1);
    assert_int_equal(count_udp_from(&f, "10.9.9.9", 999, "by-name"), 1);
    fx_teardown(&f);
}

static void test_encode_limits(void **state)
{
    (void)state;
    static uint8_t payload[UFRPC_UDP_MAX_SAFE_PAYLOAD + 64];
    static uint8_t out[16384];
    struct sockaddr_storage ss;
    size_t n;
    memset(payload, 0x5a, sizeof payload);
    /* longest address form: IPv4-mapped text is not produced; a full IPv6 + zone */
    assert_int_equal(ufrpc_udp_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "1234567890", &ss), 0);
    assert_int_equal(ufrpc_udp_packet_encode(payload, UFRPC_UDP_MAX_SAFE_PAYLOAD, (struct sockaddr *)&ss, out,
                                             sizeof out, &n), 0);
    assert_true(n - UFRPC_FRAME_HEADER_LEN <= UFRPC_FRAME_MAX_BODY);
    assert_true(n <= ufrpc_udp_packet_frame_bound(UFRPC_UDP_MAX_SAFE_PAYLOAD));
    /* the result decodes to the same payload and address */
    struct ufrpc_frame fr = {out[0], (const char *)out + 9, n - 9};
    struct ufrpc_udp_in in;
    assert_int_equal(ufrpc_udp_packet_decode(&fr, &in), 1);
    assert_int_equal(in.len, UFRPC_UDP_MAX_SAFE_PAYLOAD);
    assert_memory_equal(in.data, payload, in.len);
    assert_true(in.has_addr);
    assert_memory_equal(&in.addr, &ss, sizeof(struct sockaddr_in6));
    free(in.data);
    /* the exact limit for this address: the largest payload that fits is followed
     * by one that does not (never sent) */
    size_t lim = UFRPC_UDP_MAX_SAFE_PAYLOAD;
    while (ufrpc_udp_packet_encode(payload, lim + 1, (struct sockaddr *)&ss, out, sizeof out, &n) == 0) {
        assert_true(n - UFRPC_FRAME_HEADER_LEN <= UFRPC_FRAME_MAX_BODY);
        lim++;
        assert_true(lim < sizeof payload);
    }
    assert_int_equal(ufrpc_udp_packet_encode(payload, lim + 1, (struct sockaddr *)&ss, out, sizeof out, &n),
                     UFRPC_ERR_MSG_TOO_LONG);
    assert_int_equal(ufrpc_udp_packet_encode(payload, lim, (struct sockaddr *)&ss, out, sizeof out, &n), 0);
    assert_true(n - UFRPC_FRAME_HEADER_LEN > UFRPC_FRAME_MAX_BODY - 4);
    assert_int_equal(ufrpc_udp_packet_encode(payload, 10, (struct sockaddr *)&ss, out, 20, &n), UFRPC_ERR_LIMIT);
    /* byte-exact JSON for a small IPv4 packet (Go's encoding/json field order) */
    assert_int_equal(ufrpc_udp_addr_parse("1.2.3.4", 53000, "", &ss), 0);
    assert_int_equal(ufrpc_udp_packet_encode((const uint8_t *)"hi", 2, (struct sockaddr *)&ss, out, sizeof out, &n), 0);
    static const char want[] = "{\"c\":\"aGk=\",\"r\":{\"IP\":\"1.2.3.4\",\"Port\":53000,\"Zone\":\"\"}}";
    assert_int_equal(n, 9 + sizeof want - 1);
    assert_int_equal(out[0], 'u');
    assert_int_equal(out[8], sizeof want - 1);
    assert_memory_equal(out + 9, want, sizeof want - 1);
    /* bad addresses */
    assert_int_equal(ufrpc_udp_addr_parse("example.com", 1, "", &ss), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_udp_addr_parse("1.2.3.4", 65536, "", &ss), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_udp_addr_parse("1.2.3.4", -1, "", &ss), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_udp_addr_parse("fe80::1", 1, "bad\"zone", &ss), UFRPC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_pick_resolved),
        cmocka_unit_test(test_local_host_name),
        cmocka_unit_test(test_echo_several_users),
        cmocka_unit_test(test_idle_close),
        cmocka_unit_test(test_oversized_reply_dropped),
        cmocka_unit_test(test_packet_size_truncates),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_flood_bounded),
        cmocka_unit_test(test_malformed_closes),
        cmocka_unit_test(test_server_eof_and_initial_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
