/* net/: TCP streams, dialing (DNS, refused, IPv6, timeout, cancel, HTTP CONNECT and
 * SOCKS5 proxies) and the pump (64 MiB each way with a slow reader, bounded
 * buffering, half-close). Real loopback sockets, bounded in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/dial.h"
#include "net/pump.h"
#include "net/tcp.h"
#include "net/nettest.h"
#include "proto/error.h"
#include "testutil.h"

/* ---- a tiny server side: accepts and keeps the latest connection --------------- */
struct srv {
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *conn[4];
    int naccepted;
    uint8_t in[2048];
    size_t in_len;
    int eof;
    /* fake proxy behaviour */
    int proxy;           /* 0 none, 1 http, 2 socks5, 3 silent */
    int proxy_stage;
    char target[300];
    struct ufrpc_stream_write w;
    uv_buf_t b;
    uint8_t out[64];
};

static void noop_write_cb(struct ufrpc_stream_write *w, int status)
{
    (void)w;
    (void)status;
}

static void srv_proxy_step(struct srv *sv)
{
    struct ufrpc_stream *c = sv->conn[sv->naccepted - 1];
    if (sv->proxy == 1 && sv->proxy_stage == 0) {
        sv->in[sv->in_len < sizeof sv->in ? sv->in_len : sizeof sv->in - 1] = 0;
        if (strstr((char *)sv->in, "\r\n\r\n") == NULL)
            return;
        sv->proxy_stage = 1;
        static const char rep[] = "HTTP/1.1 200 Connection established\r\n\r\nEXTRA";
        memcpy(sv->out, rep, sizeof rep - 1);
        sv->b = uv_buf_init((char *)sv->out, sizeof rep - 1);
        sv->w.data = sv;
        assert_int_equal(ufrpc_stream_write(c, &sv->w, &sv->b, 1, noop_write_cb), 0);
    } else if (sv->proxy == 2) {
        static const uint8_t greet[] = {5, 2, 0, 2};
        static const uint8_t auth[] = {1, 4, 'u', 's', 'e', 'r', 2, 'p', 'w'};
        if (sv->proxy_stage == 0 && sv->in_len >= sizeof greet) {
            assert_memory_equal(sv->in, greet, sizeof greet);
            sv->proxy_stage = 1;
            static const uint8_t rep[] = {5, 2};
            memcpy(sv->out, rep, 2);
            sv->b = uv_buf_init((char *)sv->out, 2);
            assert_int_equal(ufrpc_stream_write(c, &sv->w, &sv->b, 1, noop_write_cb), 0);
        } else if (sv->proxy_stage == 1 && sv->in_len >= sizeof greet + sizeof auth) {
            assert_memory_equal(sv->in + sizeof greet, auth, sizeof auth);
            sv->proxy_stage = 2;
            static const uint8_t rep[] = {1, 0};
            memcpy(sv->out, rep, 2);
            sv->b = uv_buf_init((char *)sv->out, 2);
            assert_int_equal(ufrpc_stream_write(c, &sv->w, &sv->b, 1, noop_write_cb), 0);
        } else if (sv->proxy_stage == 2) {
            const uint8_t *q = sv->in + sizeof greet + sizeof auth;
            size_t have = sv->in_len - sizeof greet - sizeof auth;
            if (have < 5 || have < (size_t)(5 + q[4] + 2))
                return;
            assert_int_equal(q[0], 5);
            assert_int_equal(q[1], 1);
            assert_int_equal(q[3], 3);
            memcpy(sv->target, q + 5, q[4]);
            sv->target[q[4]] = 0;
            snprintf(sv->target + strlen(sv->target), 10, ":%u", (q[5 + q[4]] << 8) | q[6 + q[4]]);
            sv->proxy_stage = 3;
            static const uint8_t rep[] = {5, 0, 0, 1, 127, 0, 0, 1, 0, 80, 'E', 'X', 'T', 'R', 'A'};
            memcpy(sv->out, rep, sizeof rep);
            sv->b = uv_buf_init((char *)sv->out, sizeof rep);
            assert_int_equal(ufrpc_stream_write(c, &sv->w, &sv->b, 1, noop_write_cb), 0);
        }
    }
}

static void srv_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                     size_t len)
{
    struct srv *sv = s->data;
    (void)buf;
    if (status < 0) {
        sv->eof = 1;
        return;
    }
    size_t n = len < sizeof sv->in - sv->in_len ? len : sizeof sv->in - sv->in_len;
    memcpy(sv->in + sv->in_len, data, n);
    sv->in_len += n;
    if (sv->proxy)
        srv_proxy_step(sv);
}

static void srv_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct srv *sv = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    assert_true(sv->naccepted < 4);
    sv->conn[sv->naccepted++] = c;
    c->data = sv;
    if (sv->proxy != 3)
        assert_int_equal(ufrpc_stream_read_start(c, srv_read), 0);
}

static int srv_start(uv_loop_t *loop, struct srv *sv, const char *ip)
{
    int err;
    sv->l = ufrpc_tcp_listen(loop, ip, 0, srv_accept, sv, &err);
    return sv->l != NULL ? 0 : err;
}

static void srv_stop(struct srv *sv)
{
    for (int i = 0; i < sv->naccepted; i++)
        ufrpc_stream_close(sv->conn[i], NULL);
    if (sv->l != NULL)
        ufrpc_tcp_listener_close(sv->l, NULL);
    sv->l = NULL;
    sv->naccepted = 0;
}

/* ---- dial result ------------------------------------------------------------------ */
struct dres {
    int done;
    int status;
    struct ufrpc_stream *s;
    uint8_t in[64];
    size_t in_len;
};

static void on_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct dres *r = data;
    (void)d;
    r->done = 1;
    r->status = status;
    r->s = s;
}

static int dres_done(void *a)
{
    return ((struct dres *)a)->done;
}

static int accepted(void *a)
{
    return ((struct srv *)a)->naccepted > 0;
}

static void dial_and_wait(uv_loop_t *loop, struct ufrpc_dial_opts *o, struct dres *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(ufrpc_dial(loop, o, on_dialed, r, NULL), 0);
    assert_true(nt_run_until(loop, dres_done, r, 8000));
}

static void test_dial_ok_and_name_fallback(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    uint16_t port = ufrpc_tcp_listener_port(sv.l);
    assert_true(port != 0);

    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 3000,
                                .keepalive_s = 7200, .local_ip = "127.0.0.1"};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(r.s);
    assert_true(ufrpc_stream_is_tcp(r.s));
    assert_true(nt_run_until(&loop, accepted, &sv, 3000));
    ufrpc_stream_close(r.s, NULL);

    /* "localhost" may resolve to ::1 first; the listener is IPv4 only, so this
     * also exercises trying the next address. */
    o.host = "localhost";
    o.local_ip = NULL;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    ufrpc_stream_close(r.s, NULL);

    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dial_refused(void **state)
{
    (void)state;
    if (ufrpc_test_so_error_untranslated())
        /* qemu-user for mips(el) reports the host errno (testutil.h) */
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    uint16_t port = ufrpc_tcp_listener_port(sv.l);
    srv_stop(&sv);
    nt_loop_drain(&loop);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 3000};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, UFRPC_ERR_CONNECT_REFUSED);
    assert_null(r.s);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dial_dns_failure(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ufrpc_dial_opts o = {.host = "nonexistent.invalid", .port = 7000, .timeout_ms = 5000};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, UFRPC_ERR_DNS);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dial_ipv6(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    if (srv_start(&loop, &sv, "::1") != 0) {
        nt_loop_drain(&loop);
        uv_loop_close(&loop);
        skip();
    }
    struct ufrpc_dial_opts o = {.host = "::1", .port = ufrpc_tcp_listener_port(sv.l),
                                .timeout_ms = 3000};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    assert_true(nt_run_until(&loop, accepted, &sv, 3000));
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_tcp_getpeername(ufrpc_tcp_handle(r.s), (struct sockaddr *)&ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    ufrpc_stream_close(r.s, NULL);
    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- an IP literal is dialed without the resolver ------------------------------ */
struct blocker {
    uv_work_t w;
    uv_sem_t *sem;
    unsigned *done;
};

static void blocker_work(uv_work_t *w)
{
    uv_sem_wait(((struct blocker *)w->data)->sem);
}

static void blocker_done(uv_work_t *w, int status)
{
    (void)status;
    (*((struct blocker *)w->data)->done)++;
}

struct blockers_done {
    unsigned done, n;
};

static int all_blockers_done(void *a)
{
    struct blockers_done *bd = a;
    return bd->done == bd->n;
}

static void test_dial_literal_no_resolver(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {0};
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    uint16_t port = ufrpc_tcp_listener_port(sv.l);

    /* every thread of libuv's pool busy: a uv_getaddrinfo would wait for them */
    const char *env = getenv("UV_THREADPOOL_SIZE");
    unsigned nthreads = env != NULL && atoi(env) > 0 ? (unsigned)atoi(env) : 4;
    if (nthreads > 1024)
        nthreads = 1024;
    uv_sem_t sem;
    assert_int_equal(uv_sem_init(&sem, 0), 0);
    struct blocker *b = calloc(nthreads, sizeof *b);
    assert_non_null(b);
    struct blockers_done bd = {0, nthreads};
    for (unsigned i = 0; i < nthreads; i++) {
        b[i].sem = &sem;
        b[i].done = &bd.done;
        b[i].w.data = &b[i];
        assert_int_equal(uv_queue_work(&loop, &b[i].w, blocker_work, blocker_done), 0);
    }

    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 5000};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(r.s);
    ufrpc_stream_close(r.s, NULL);

    /* the literal's one address does not fit the bind address: the failure is
     * found inside ufrpc_dial, and reported from the loop, not from inside it */
    memset(&r, 0, sizeof r);
    o.local_ip = "::1";
    assert_int_equal(ufrpc_dial(&loop, &o, on_dialed, &r, NULL), 0);
    assert_int_equal(r.done, 0);
    assert_true(nt_run_until(&loop, dres_done, &r, 5000));
    assert_int_equal(r.status, UFRPC_ERR_CONNECT);
    assert_null(r.s);

    /* the same with a cancel before the loop runs: one callback, CANCELED */
    memset(&r, 0, sizeof r);
    ufrpc_dial_t *d = NULL;
    assert_int_equal(ufrpc_dial(&loop, &o, on_dialed, &r, &d), 0);
    assert_int_equal(r.done, 0);
    ufrpc_dial_cancel(d);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, UFRPC_ERR_CANCELED);

    for (unsigned i = 0; i < nthreads; i++)
        uv_sem_post(&sem);
    assert_true(nt_run_until(&loop, all_blockers_done, &bd, 10000));
    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
    uv_sem_destroy(&sem);
    free(b);
}

static void test_dial_timeout_and_cancel(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.proxy = 3}; /* accepts, never answers */
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", ufrpc_tcp_listener_port(sv.l));
    struct ufrpc_dial_opts o = {.host = "example.com", .port = 7000, .timeout_ms = 300,
                                .proxy_url = url};
    struct dres r;
    uint64_t t0 = uv_now(&loop);
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, UFRPC_ERR_TIMEOUT);
    assert_true(uv_now(&loop) - t0 < 2000);

    /* cancel: callback runs at once with CANCELED */
    memset(&r, 0, sizeof r);
    ufrpc_dial_t *d = NULL;
    o.timeout_ms = 5000;
    assert_int_equal(ufrpc_dial(&loop, &o, on_dialed, &r, &d), 0);
    assert_int_equal(r.done, 0);
    ufrpc_dial_cancel(d);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, UFRPC_ERR_CANCELED);

    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void read_into_dres(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                           const uint8_t *data, size_t len)
{
    struct dres *r = s->data;
    (void)buf;
    if (status < 0)
        return;
    memcpy(r->in + r->in_len, data, len < sizeof r->in - r->in_len ? len : sizeof r->in - r->in_len);
    r->in_len += len;
}

static int got5(void *a)
{
    return ((struct dres *)a)->in_len >= 5;
}

static void test_dial_http_connect_proxy(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.proxy = 1};
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    char url[96];
    snprintf(url, sizeof url, "http://us%%65r:p%%40ss@127.0.0.1:%u", ufrpc_tcp_listener_port(sv.l));
    struct ufrpc_dial_opts o = {.host = "frps.example", .port = 7000, .timeout_ms = 3000,
                                .proxy_url = url};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    sv.in[sv.in_len] = 0;
    /* base64("user:p@ss") */
    assert_non_null(strstr((char *)sv.in, "CONNECT frps.example:7000 HTTP/1.1\r\n"));
    assert_non_null(strstr((char *)sv.in, "Host: frps.example:7000\r\n"));
    assert_non_null(strstr((char *)sv.in, "Proxy-Authorization: Basic dXNlcjpwQHNz\r\n"));
    /* bytes after the proxy's reply reach the stream's reader */
    r.s->data = &r;
    assert_int_equal(ufrpc_stream_read_start(r.s, read_into_dres), 0);
    assert_true(nt_run_until(&loop, got5, &r, 3000));
    assert_memory_equal(r.in, "EXTRA", 5);
    ufrpc_stream_close(r.s, NULL);
    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dial_socks5_proxy(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv sv = {.proxy = 2};
    assert_int_equal(srv_start(&loop, &sv, "127.0.0.1"), 0);
    char url[96];
    snprintf(url, sizeof url, "socks5://user:pw@127.0.0.1:%u", ufrpc_tcp_listener_port(sv.l));
    struct ufrpc_dial_opts o = {.host = "frps.example", .port = 7443, .timeout_ms = 3000,
                                .proxy_url = url};
    struct dres r;
    dial_and_wait(&loop, &o, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(sv.target, "frps.example:7443");
    r.s->data = &r;
    assert_int_equal(ufrpc_stream_read_start(r.s, read_into_dres), 0);
    assert_true(nt_run_until(&loop, got5, &r, 3000));
    assert_memory_equal(r.in, "EXTRA", 5);
    ufrpc_stream_close(r.s, NULL);
    srv_stop(&sv);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_proxy_url_parse(void **state)
{
    (void)state;
    struct ufrpc_dial_proxy_url u;
    assert_int_equal(ufrpc_dial_proxy_url_parse("http://a:b@h.example:3128", &u), 0);
    assert_int_equal(u.socks5, 0);
    assert_string_equal(u.host, "h.example");
    assert_int_equal(u.port, 3128);
    assert_string_equal(u.user, "a");
    assert_string_equal(u.pass, "b");
    assert_int_equal(ufrpc_dial_proxy_url_parse("socks5://[::1]:1081/", &u), 0);
    assert_int_equal(u.socks5, 1);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 1081);
    assert_int_equal(u.has_auth, 0);
    assert_int_equal(ufrpc_dial_proxy_url_parse("socks5://h", &u), 0);
    assert_int_equal(u.port, 1080);
    assert_int_equal(ufrpc_dial_proxy_url_parse("ntlm://h:1", &u), UFRPC_ERR_UNSUPPORTED);
    assert_int_equal(ufrpc_dial_proxy_url_parse("http://h:99999", &u), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_dial_proxy_url_parse("http://:80", &u), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_dial_proxy_url_parse("http://u:%zz@h:80", &u), UFRPC_ERR_INVAL);
}

/* ---- pump ------------------------------------------------------------------------- */
/* Two loopback connections: c1 <-> s1 and c2 <-> s2; the pump joins s1 and c2.
 * Peer P1 drives c1, peer P2 drives s2. */
struct pump_env {
    uv_loop_t loop;
    struct srv sv;
    struct ufrpc_stream *c1, *s1, *c2, *s2;
    int pump_done;
    int pump_status;
    struct ufrpc_pump_stats st;
};

static void on_pump_done(ufrpc_pump_t *p, int status, const struct ufrpc_pump_stats *st, void *data)
{
    struct pump_env *e = data;
    (void)p;
    e->pump_done = 1;
    e->pump_status = status;
    e->st = *st;
}

static int two_accepted(void *a)
{
    return ((struct srv *)a)->naccepted >= 2;
}

static void pump_env_setup(struct pump_env *e)
{
    memset(e, 0, sizeof *e);
    uv_loop_init(&e->loop);
    assert_int_equal(srv_start(&e->loop, &e->sv, "127.0.0.1"), 0);
    e->sv.proxy = 3; /* don't read */
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(e->sv.l)};
    struct dres r;
    dial_and_wait(&e->loop, &o, &r);
    assert_int_equal(r.status, 0);
    e->c1 = r.s;
    assert_true(nt_run_until(&e->loop, accepted, &e->sv, 3000));
    dial_and_wait(&e->loop, &o, &r);
    assert_int_equal(r.status, 0);
    e->c2 = r.s;
    assert_true(nt_run_until(&e->loop, two_accepted, &e->sv, 3000));
    e->s1 = e->sv.conn[0];
    e->s2 = e->sv.conn[1];
    e->sv.naccepted = 0; /* the test owns them now */
}

struct pump_wait {
    struct pump_env *e;
    struct nt_peer *a, *b;
};

static int pump_finished(void *arg)
{
    struct pump_wait *w = arg;
    return w->e->pump_done && w->a->eof && w->b->eof;
}

static int pump_holds_a_to_b(void *arg)
{
    struct ufrpc_pump_stats st;
    ufrpc_pump_get_stats(arg, &st);
    return st.buffered_a_to_b > 0;
}

static void test_pump_64mib_both_ways_slow_reader(void **state)
{
    (void)state;
    struct pump_env e;
    pump_env_setup(&e);
    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    const uint64_t total = 64ull << 20;
    const size_t bound = 256 * 1024;
    struct nt_peer p1 = {.pat = pat, .to_send = total, .send_base = 0, .recv_base = 777};
    struct nt_peer p2 = {.pat = pat, .to_send = total, .send_base = 777, .recv_base = 0,
                         .slow_every = 512 * 1024};
    ufrpc_pump_t *pump;
    assert_int_equal(ufrpc_pump_start(e.s1, e.c2, bound, on_pump_done, &e, &pump), 0);
    assert_int_equal(nt_peer_start(&p1, e.c1), 0);
    assert_int_equal(nt_peer_start(&p2, e.s2), 0);
    /* p2 stops reading until the kernel's buffers towards it are full and the
     * pump holds bytes (backpressure engaged, however fast this machine is), then
     * reads on slowly */
    ufrpc_stream_read_stop(e.s2);
    assert_true(nt_run_until(&e.loop, pump_holds_a_to_b, pump, 30000));
    assert_int_equal(ufrpc_stream_read_start(e.s2, nt_on_read), 0);
    struct pump_wait w = {&e, &p1, &p2};
    assert_true(nt_run_until(&e.loop, pump_finished, &w, 60000));
    assert_int_equal(e.pump_status, 0);
    assert_int_equal(p1.err, 0);
    assert_int_equal(p2.err, 0);
    assert_int_equal(p1.mismatch, 0);
    assert_int_equal(p2.mismatch, 0);
    assert_true(p1.received == total);
    assert_true(p2.received == total);
    assert_true(e.st.a_to_b == total);
    assert_true(e.st.b_to_a == total);
    /* the slow reader made the pump hold data; towards a TCP stream (which takes
     * bytes directly) at most one read at a time: reading stops while its socket
     * buffer is full, so the kernel's buffers are the queue, not ours */
    print_message("pump high-water: a->b %zu, b->a %zu (bound %zu)\n", e.st.max_buffered_a_to_b,
                  e.st.max_buffered_b_to_a, bound);
    assert_true(e.st.max_buffered_a_to_b <= UFRPC_READ_BUF_SIZE);
    assert_true(e.st.max_buffered_b_to_a <= UFRPC_READ_BUF_SIZE);
    assert_true(e.st.max_buffered_a_to_b > 0); /* backpressure did engage */
    nt_peer_close(&p1);
    nt_peer_close(&p2);
    srv_stop(&e.sv);
    assert_true(nt_loop_drain(&e.loop));
    assert_int_equal(uv_loop_close(&e.loop), 0);
    free(pat);
}

/* ufrpc_stream_try_write writes what the kernel takes at once, and nothing while
 * writes queued before are pending, so that bytes keep their order; a TCP
 * stream reads the caller's bytes until the write callback (no copy). */
struct tw_state {
    int cb, status;
};

static void tw_cb(struct ufrpc_stream_write *w, int status)
{
    struct tw_state *t = w->data;
    t->cb = 1;
    t->status = status;
}

static int tw_cb_done(void *arg)
{
    return ((struct tw_state *)arg)->cb;
}

static int tw_all(void *arg)
{
    struct nt_peer *p = arg;
    return p->received >= p->to_send || p->err || p->mismatch;
}

static void test_tcp_try_write_keeps_order(void **state)
{
    (void)state;
    struct pump_env e;
    pump_env_setup(&e);
    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    assert_false(ufrpc_stream_copies_writes(e.c1));
    const size_t first = 1000, big = 16u << 20;
    uint8_t *buf = malloc(big);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++)
        buf[i] = pat[(first + i) % NT_PAT_LEN];
    /* the peer checks the pattern and counts: to_send here is what it expects */
    struct nt_peer p = {.pat = pat, .to_send = first + big + 1, .no_shutdown = 1};
    uv_buf_t b = uv_buf_init((char *)pat, (unsigned)first);
    assert_int_equal(ufrpc_stream_try_write(e.c1, &b, 1), (int)first);
    struct ufrpc_stream_write w;
    struct tw_state ts = {0};
    w.data = &ts;
    uv_buf_t bb = uv_buf_init((char *)buf, (unsigned)big);
    assert_int_equal(ufrpc_stream_write(e.c1, &w, &bb, 1, tw_cb), 0);
    /* nobody reads yet: the kernel cannot have taken 16 MiB, so part is queued */
    assert_true(ufrpc_stream_queued(e.c1) > 0);
    uv_buf_t one = uv_buf_init((char *)pat + (first + big) % NT_PAT_LEN, 1);
    assert_int_equal(ufrpc_stream_try_write(e.c1, &one, 1), 0);
    /* the receiver starts (its own send side is idle: to_send counts receipts) */
    p.s = e.s1;
    e.s1->data = &p;
    assert_int_equal(ufrpc_stream_read_start(e.s1, nt_on_read), 0);
    p.to_send = first + big;
    assert_true(nt_run_until(&e.loop, tw_all, &p, 30000));
    assert_int_equal(p.err, 0);
    assert_int_equal(p.mismatch, 0);
    assert_true(p.received == first + big);
    assert_true(nt_run_until(&e.loop, tw_cb_done, &ts, 5000));
    assert_int_equal(ts.status, 0);
    /* now the queue is empty: the byte goes out at once, after the others */
    assert_int_equal(ufrpc_stream_try_write(e.c1, &one, 1), 1);
    p.to_send = first + big + 1;
    assert_true(nt_run_until(&e.loop, tw_all, &p, 30000));
    assert_int_equal(p.mismatch, 0);
    assert_true(p.received == first + big + 1);
    ufrpc_stream_close(e.c1, NULL);
    ufrpc_stream_close(e.s1, NULL);
    ufrpc_stream_close(e.c2, NULL);
    ufrpc_stream_close(e.s2, NULL);
    srv_stop(&e.sv);
    assert_true(nt_loop_drain(&e.loop));
    assert_int_equal(uv_loop_close(&e.loop), 0);
    free(buf);
    free(pat);
}

static int p2_eof(void *arg)
{
    struct pump_wait *w = arg;
    return w->b->eof;
}

static void test_pump_half_close(void **state)
{
    (void)state;
    struct pump_env e;
    pump_env_setup(&e);
    uint8_t *pat = nt_pattern();
    /* p1 sends 5000 bytes and half-closes; p2 sends nothing yet */
    struct nt_peer p1 = {.pat = pat, .to_send = 5000, .recv_base = 99};
    struct nt_peer p2 = {.pat = pat, .to_send = 0, .send_base = 99, .no_shutdown = 1};
    assert_int_equal(ufrpc_pump_start(e.s1, e.c2, 0, on_pump_done, &e, NULL), 0);
    assert_int_equal(nt_peer_start(&p1, e.c1), 0);
    assert_int_equal(nt_peer_start(&p2, e.s2), 0);
    struct pump_wait w = {&e, &p1, &p2};
    assert_true(nt_run_until(&e.loop, p2_eof, &w, 5000));
    assert_true(p2.received == 5000);
    assert_int_equal(p2.mismatch, 0);
    assert_int_equal(e.pump_done, 0); /* the other direction is still open */
    /* the other side can still answer after the half-close */
    p2.to_send = 3000;
    p2.no_shutdown = 0;
    nt_peer_send(&p2);
    assert_true(nt_run_until(&e.loop, pump_finished, &w, 5000));
    assert_int_equal(e.pump_status, 0);
    assert_true(p1.received == 3000);
    assert_int_equal(p1.mismatch, 0);
    assert_true(e.st.a_to_b == 5000);
    assert_true(e.st.b_to_a == 3000);
    nt_peer_close(&p1);
    nt_peer_close(&p2);
    srv_stop(&e.sv);
    assert_true(nt_loop_drain(&e.loop));
    assert_int_equal(uv_loop_close(&e.loop), 0);
    free(pat);
}

static int pump_done_only(void *arg)
{
    return ((struct pump_env *)arg)->pump_done;
}

/* ufrpc_pump_end_at_eof (frp's io.Join): the marked side's EOF is passed on after
 * its bytes, then both sides close although the other one had more to say. */
static void test_pump_end_at_eof(void **state)
{
    (void)state;
    struct pump_env e;
    pump_env_setup(&e);
    uint8_t *pat = nt_pattern();
    struct nt_peer p1 = {.pat = pat, .to_send = 5000, .recv_base = 99};
    struct nt_peer p2 = {.pat = pat, .to_send = 0, .send_base = 99, .no_shutdown = 1};
    ufrpc_pump_t *pp = NULL;
    assert_int_equal(ufrpc_pump_start(e.s1, e.c2, 0, on_pump_done, &e, &pp), 0);
    ufrpc_pump_end_at_eof(pp, e.s1);
    assert_int_equal(nt_peer_start(&p1, e.c1), 0);
    assert_int_equal(nt_peer_start(&p2, e.s2), 0);
    struct pump_wait w = {&e, &p1, &p2};
    assert_true(nt_run_until(&e.loop, pump_done_only, &e, 5000));
    assert_int_equal(e.pump_status, 0);
    assert_true(nt_run_until(&e.loop, p2_eof, &w, 5000));
    assert_true(p2.received == 5000); /* everything before the EOF arrived */
    assert_int_equal(p2.mismatch, 0);
    assert_true(e.st.a_to_b == 5000);
    /* p1's side ends too, in order (a FIN, not a reset), although p2 never ended */
    struct pump_wait w1 = {&e, NULL, &p1};
    assert_true(nt_run_until(&e.loop, p2_eof, &w1, 5000));
    assert_int_equal(p1.err, 0);
    nt_peer_close(&p1);
    nt_peer_close(&p2);
    srv_stop(&e.sv);
    assert_true(nt_loop_drain(&e.loop));
    assert_int_equal(uv_loop_close(&e.loop), 0);
    free(pat);
}

static void test_pump_reset_ends_both(void **state)
{
    (void)state;
    struct pump_env e;
    pump_env_setup(&e);
    uint8_t *pat = nt_pattern();
    struct nt_peer p2 = {.pat = pat, .no_shutdown = 1};
    assert_int_equal(ufrpc_pump_start(e.s1, e.c2, 0, on_pump_done, &e, NULL), 0);
    assert_int_equal(nt_peer_start(&p2, e.s2), 0);
    /* abort c1 with unread data pending -> RST at s1 ... simplest: close c1 with
     * SO_LINGER 0 */
    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)ufrpc_tcp_handle(e.c1), &fd), 0);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ufrpc_stream_close(e.c1, NULL);
    assert_true(nt_run_until(&e.loop, pump_done_only, &e, 5000));
    assert_int_equal(e.pump_status, UFRPC_ERR_CONN_RESET);
    assert_true(nt_run_until(&e.loop, p2_eof, &(struct pump_wait){&e, NULL, &p2}, 5000) ||
                p2.err != 0);
    nt_peer_close(&p2);
    srv_stop(&e.sv);
    assert_true(nt_loop_drain(&e.loop));
    assert_int_equal(uv_loop_close(&e.loop), 0);
    free(pat);
}

/* ---- unix-socket streams: the TCP stream's implementation over uv_pipe_t ------- */
struct pipe_t {
    uv_pipe_t server;
    uv_pipe_t peer;
    int connected, status, calls;
    char got[64];
    size_t got_len;
};

static void on_pipe_peer_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[256];
    (void)h;
    (void)hint;
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_pipe_peer_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct pipe_t *pt = st->data;
    if (n > 0 && pt->got_len + (size_t)n <= sizeof pt->got) {
        memcpy(pt->got + pt->got_len, b->base, (size_t)n);
        pt->got_len += (size_t)n;
    }
}

static void on_pipe_conn(uv_stream_t *server, int status)
{
    struct pipe_t *pt = server->data;
    assert_int_equal(status, 0);
    uv_pipe_init(server->loop, &pt->peer, 0);
    pt->peer.data = pt;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&pt->peer), 0);
    uv_read_start((uv_stream_t *)&pt->peer, on_pipe_peer_alloc, on_pipe_peer_read);
}

static void on_pipe_connected(struct ufrpc_stream *s, int status, void *arg)
{
    struct pipe_t *pt = arg;
    (void)s;
    pt->status = status;
    pt->calls++;
}

static void test_pipe_stream(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char path[64];
    snprintf(path, sizeof path, "/tmp/ufrpc-pipe-%d.sock", (int)getpid());
    unlink(path);
    struct pipe_t pt = {0};
    uv_pipe_init(&loop, &pt.server, 0);
    pt.server.data = &pt;
    assert_int_equal(uv_pipe_bind(&pt.server, path), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&pt.server, 4, on_pipe_conn), 0);

    int err = -1;
    struct ufrpc_stream *s = ufrpc_pipe_connect(&loop, path, on_pipe_connected, &pt, &err);
    assert_non_null(s);
    assert_int_equal(err, 0);
    assert_false(ufrpc_stream_is_tcp(s));
    for (int i = 0; i < 200 && pt.calls == 0; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(pt.calls, 1);
    assert_int_equal(pt.status, 0);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init("over the pipe", 13);
    assert_int_equal(ufrpc_stream_write(s, &w, &b, 1, noop_write_cb), 0);
    for (int i = 0; i < 200 && pt.got_len < 13; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(pt.got_len, 13);
    assert_memory_equal(pt.got, "over the pipe", 13);
    ufrpc_stream_close(s, NULL);

    /* a missing socket: the callback reports the error once */
    pt.calls = 0;
    s = ufrpc_pipe_connect(&loop, "/nonexistent/ufrpc.sock", on_pipe_connected, &pt, &err);
    assert_non_null(s);
    for (int i = 0; i < 200 && pt.calls == 0; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(pt.calls, 1);
    assert_true(pt.status < 0);
    ufrpc_stream_close(s, NULL);

    /* closed before the connect ends: the callback never runs */
    pt.calls = 0;
    s = ufrpc_pipe_connect(&loop, path, on_pipe_connected, &pt, &err);
    assert_non_null(s);
    ufrpc_stream_close(s, NULL);
    uv_close((uv_handle_t *)&pt.server, NULL);
    uv_close((uv_handle_t *)&pt.peer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(pt.calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_stream),
        cmocka_unit_test(test_dial_ok_and_name_fallback),
        cmocka_unit_test(test_dial_refused),
        cmocka_unit_test(test_dial_dns_failure),
        cmocka_unit_test(test_dial_ipv6),
        cmocka_unit_test(test_dial_literal_no_resolver),
        cmocka_unit_test(test_dial_timeout_and_cancel),
        cmocka_unit_test(test_dial_http_connect_proxy),
        cmocka_unit_test(test_dial_socks5_proxy),
        cmocka_unit_test(test_proxy_url_parse),
        cmocka_unit_test(test_pump_64mib_both_ways_slow_reader),
        cmocka_unit_test(test_pump_half_close),
        cmocka_unit_test(test_pump_end_at_eof),
        cmocka_unit_test(test_tcp_try_write_keeps_order),
        cmocka_unit_test(test_pump_reset_ends_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
