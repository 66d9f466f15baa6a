/* client/connector: per-stream dials (tcpMux off), one yamux session (tcpMux on) with
 * streams behind the close guard, errors, and cancellation on close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <uv.h>

#include "client/core/connector.h"
#include "net/mux.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "proto/error.h"
#include "testutil.h"

struct ctx {
    int opened, open_status;
    int connects, connect_status[8];
    struct ufrpc_stream *streams[8];
    int closed;
    int accepted;
    ufrpc_mux_t *srv_mux;
    struct ufrpc_stream *srv_streams[8];
    int nsrv;
    char got[1024];
    size_t got_len;
    int got4; /* 4 bytes have arrived */
    /* websocket tests: 1 read the raw request, 2 TLS first, then read it */
    int ws_mode;
    ufrpc_tls_ctx_t *srv_tls;
    struct ufrpc_stream *raw; /* the server's end */
    int head;                 /* a whole request head arrived */
};

static struct ufrpc_config *cfg_for(uint16_t port, int mux, const char *addr)
{
    char text[512];
    snprintf(text, sizeof text,
             "serverAddr = \"%s\"\nserverPort = %u\ntransport.tls.enable = false\n"
             "transport.tcpMux = %s\ntransport.dialServerTimeout = 2\n",
             addr, (unsigned)port, mux ? "true" : "false");
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *cfg = NULL;
    assert_int_equal(ufrpc_config_load_buffer(text, strlen(text), "c.toml", NULL, &cfg, &d), 0);
    ufrpc_cfg_diag_free(&d);
    return cfg;
}

static void on_open(ufrpc_connector_t *c, int status, void *data)
{
    (void)c;
    struct ctx *x = data;
    x->opened++;
    x->open_status = status;
}

static void on_connect(ufrpc_connector_t *c, int status, struct ufrpc_stream *s, void *data)
{
    (void)c;
    struct ctx *x = data;
    x->connect_status[x->connects] = status;
    x->streams[x->connects] = s;
    x->connects++;
}

static void on_closed(void *data)
{
    ((struct ctx *)data)->closed++;
}

static void on_srv_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                        size_t len)
{
    (void)buf;
    struct ctx *x = s->data;
    if (status < 0)
        return;
    memcpy(x->got + x->got_len, data, len);
    x->got_len += len;
    x->got4 = x->got_len >= 4;
}

static void on_mux_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    (void)m;
    struct ctx *x = data;
    st->data = x;
    x->srv_streams[x->nsrv++] = st;
    assert_int_equal(ufrpc_stream_read_start(st, on_srv_read), 0);
}

static void on_ws_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len)
{
    (void)buf;
    struct ctx *x = s->data;
    if (status < 0)
        return;
    assert_true(x->got_len + len < sizeof x->got);
    memcpy(x->got + x->got_len, data, len);
    x->got_len += len;
    x->got[x->got_len] = '\0';
    x->head = strstr(x->got, "\r\n\r\n") != NULL;
}

static void on_srv_tls(struct ufrpc_stream *s, int status)
{
    assert_int_equal(status, 0);
    assert_int_equal(ufrpc_stream_read_start(s, on_ws_read), 0);
}

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn)
{
    struct ctx *x = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    x->accepted++;
    if (x->ws_mode == 1) {
        x->raw = conn;
        conn->data = x;
        assert_int_equal(ufrpc_stream_read_start(conn, on_ws_read), 0);
        return;
    }
    if (x->ws_mode == 2) {
        int err;
        x->raw = ufrpc_tls_server_new(x->srv_tls, conn, 5000, on_srv_tls, x, &err);
        assert_non_null(x->raw);
        return;
    }
    if (x->srv_mux == (ufrpc_mux_t *)1) { /* this test wants a yamux server */
        struct ufrpc_mux_callbacks cbs = {on_mux_accept, NULL};
        assert_int_equal(ufrpc_mux_new(conn->loop, conn, UFRPC_YAMUX_SERVER, NULL, &cbs, x,
                                       &x->srv_mux),
                         0);
        return;
    }
    ufrpc_stream_close(conn, NULL);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until *flag >= want (at most ~5 s); a 5 ms ticker keeps each
 * UV_RUN_ONCE from blocking once the awaited callback has run. */
static void run_until(uv_loop_t *loop, int *flag, int want)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    for (int i = 0; i < 1000 && *flag < want; i++)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(*flag >= want);
}

static void on_written(struct ufrpc_stream_write *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
}

static void test_no_mux_dials_per_stream(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ctx x;
    memset(&x, 0, sizeof x);
    int err = 0;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_accept, &x, &err);
    assert_non_null(l);
    struct ufrpc_config *cfg = cfg_for(ufrpc_tcp_listener_port(l), 0, "127.0.0.1");
    ufrpc_connector_t *c;
    assert_int_equal(ufrpc_connector_new(&loop, cfg, NULL, NULL, NULL, &x, &c), 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)ufrpc_tcp_listener_port(l));
    assert_string_equal(ufrpc_connector_address(c), want);
    assert_int_equal(ufrpc_connector_open(c, on_open), 0);
    assert_int_equal(x.opened, 0); /* never from inside */
    run_until(&loop, &x.opened, 1);
    assert_int_equal(x.open_status, 0);
    assert_int_equal(x.accepted, 0); /* tcpMux off: open dials nothing */
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    run_until(&loop, &x.connects, 2);
    assert_int_equal(x.connect_status[0], 0);
    assert_int_equal(x.connect_status[1], 0);
    run_until(&loop, &x.accepted, 2); /* one TCP connection each */
    ufrpc_stream_close(x.streams[0], NULL);
    ufrpc_stream_close(x.streams[1], NULL);
    ufrpc_connector_close(c, on_closed);
    ufrpc_tcp_listener_close(l, NULL);
    run_until(&loop, &x.closed, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_config_free(cfg);
}

static void test_refused_and_cancelled(void **state)
{
    (void)state;
    if (ufrpc_test_so_error_untranslated())
        /* qemu-user for mips(el) reports the host errno (testutil.h) */
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ctx x;
    memset(&x, 0, sizeof x);
    /* a port nobody listens on */
    int err = 0;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_accept, &x, &err);
    uint16_t port = ufrpc_tcp_listener_port(l);
    ufrpc_tcp_listener_close(l, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    struct ufrpc_config *cfg = cfg_for(port, 1, "127.0.0.1");
    ufrpc_connector_t *c;
    assert_int_equal(ufrpc_connector_new(&loop, cfg, NULL, NULL, NULL, &x, &c), 0);
    assert_int_equal(ufrpc_connector_open(c, on_open), 0);
    run_until(&loop, &x.opened, 1);
    assert_int_equal(x.open_status, UFRPC_ERR_CONNECT_REFUSED);
    /* connect without an open session fails at once */
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), UFRPC_ERR_STATE);
    ufrpc_connector_close(c, on_closed);
    run_until(&loop, &x.closed, 1);
    ufrpc_config_free(cfg);

    /* a dial still running when the connector closes: canceled before close returns */
    struct ufrpc_config *cfg2 = cfg_for(9, 0, "10.255.255.1");
    memset(&x, 0, sizeof x);
    assert_int_equal(ufrpc_connector_new(&loop, cfg2, NULL, NULL, NULL, &x, &c), 0);
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    ufrpc_connector_close(c, on_closed);
    assert_int_equal(x.connects, 1);
    assert_int_equal(x.connect_status[0], UFRPC_ERR_CANCELED);
    assert_null(x.streams[0]);
    run_until(&loop, &x.closed, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_config_free(cfg2);
}

static void test_mux_streams_share_one_connection(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ctx x;
    memset(&x, 0, sizeof x);
    x.srv_mux = (ufrpc_mux_t *)1;
    int err = 0;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_accept, &x, &err);
    struct ufrpc_config *cfg = cfg_for(ufrpc_tcp_listener_port(l), 1, "127.0.0.1");
    ufrpc_connector_t *c;
    assert_int_equal(ufrpc_connector_new(&loop, cfg, NULL, NULL, NULL, &x, &c), 0);
    assert_int_equal(ufrpc_connector_open(c, on_open), 0);
    run_until(&loop, &x.opened, 1);
    assert_int_equal(x.open_status, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    assert_int_equal(x.connects, 0);
    run_until(&loop, &x.connects, 3);
    /* bytes on a stream arrive at the server's matching stream */
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init("ping", 4);
    assert_int_equal(ufrpc_stream_write(x.streams[1], &w, &b, 1, on_written), 0);
    run_until(&loop, &x.got4, 1);
    assert_int_equal(x.got_len, 4);
    assert_memory_equal(x.got, "ping", 4);
    assert_int_equal(x.accepted, 1); /* one TCP connection for all streams */
    assert_int_equal(x.nsrv, 3);
    for (int i = 0; i < 3; i++)
        ufrpc_stream_close(x.streams[i], NULL);
    ufrpc_connector_close(c, on_closed);
    run_until(&loop, &x.closed, 1);
    for (int i = 0; i < x.nsrv; i++)
        ufrpc_stream_close(x.srv_streams[i], NULL);
    ufrpc_mux_close(x.srv_mux, NULL);
    ufrpc_tcp_listener_close(l, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_config_free(cfg);
}

static struct ufrpc_config *cfg_ws(uint16_t port, const char *proto, const char *extra)
{
    char text[512];
    snprintf(text, sizeof text,
             "serverAddr = \"127.0.0.1\"\nserverPort = %u\ntransport.protocol = \"%s\"\n"
             "transport.tcpMux = false\ntransport.dialServerTimeout = 2\n%s",
             (unsigned)port, proto, extra);
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *cfg = NULL;
    assert_int_equal(ufrpc_config_load_buffer(text, strlen(text), "c.toml", NULL, &cfg, &d), 0);
    ufrpc_cfg_diag_free(&d);
    return cfg;
}

/* websocket: the upgrade request goes first on the TCP connection, Host with the
 * port; closing the connector cancels the pending upgrade. */
static void test_websocket_request_and_cancel(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ctx x;
    memset(&x, 0, sizeof x);
    x.ws_mode = 1;
    int err = 0;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_accept, &x, &err);
    assert_non_null(l);
    unsigned port = ufrpc_tcp_listener_port(l);
    struct ufrpc_config *cfg = cfg_ws((uint16_t)port, "websocket", "transport.tls.enable = false\n");
    ufrpc_connector_t *c;
    assert_int_equal(ufrpc_connector_new(&loop, cfg, NULL, NULL, NULL, &x, &c), 0);
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    run_until(&loop, &x.head, 1);
    char want[128];
    snprintf(want, sizeof want, "GET /~!frp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", port);
    assert_memory_equal(x.got, want, strlen(want));
    snprintf(want, sizeof want, "\r\nOrigin: http://127.0.0.1:%u\r\n", port);
    assert_non_null(strstr(x.got, want));
    assert_int_equal(x.connects, 0);
    ufrpc_connector_close(c, on_closed); /* cancels the upgrade */
    assert_int_equal(x.connects, 1);
    assert_int_equal(x.connect_status[0], UFRPC_ERR_CANCELED);
    ufrpc_stream_close(x.raw, NULL);
    ufrpc_tcp_listener_close(l, NULL);
    run_until(&loop, &x.closed, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_config_free(cfg);
}

/* wss: TLS first (even with transport.tls.enable = false, no 0x17 byte), the
 * upgrade inside it with the server name as Host (no port); a 404 answer fails
 * the connect with the step named. */
static void test_wss_request_and_404(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ctx x;
    memset(&x, 0, sizeof x);
    x.ws_mode = 2;
    struct ufrpc_tls_server_opts so = {.generate = UFRPC_TLS_GEN_NAMED};
    assert_int_equal(ufrpc_tls_server_ctx_new(&so, &x.srv_tls), 0);
    ufrpc_tls_ctx_t *cli_tls;
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &cli_tls), 0);
    int err = 0;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_accept, &x, &err);
    assert_non_null(l);
    unsigned port = ufrpc_tcp_listener_port(l);
    struct ufrpc_config *cfg =
        cfg_ws((uint16_t)port, "wss",
               "transport.tls.enable = false\ntransport.tls.serverName = \"Frps.Example\"\n"
               "transport.tls.disableCustomTLSFirstByte = false\n");
    ufrpc_connector_t *c;
    assert_int_equal(ufrpc_connector_new(&loop, cfg, cli_tls, NULL, NULL, &x, &c), 0);
    assert_int_equal(ufrpc_connector_connect(c, on_connect, &x), 0);
    run_until(&loop, &x.head, 1);
    const char *want = "GET /~!frp HTTP/1.1\r\nHost: Frps.Example\r\n";
    assert_memory_equal(x.got, want, strlen(want));
    assert_non_null(strstr(x.got, "\r\nOrigin: http://frps.example\r\n"));
    struct ufrpc_stream_write w;
    static const char answer[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)answer, sizeof answer - 1);
    assert_int_equal(ufrpc_stream_write(x.raw, &w, &b, 1, NULL), 0);
    run_until(&loop, &x.connects, 1);
    assert_int_equal(x.connect_status[0], UFRPC_ERR_WS_HANDSHAKE);
    char text[600];
    assert_int_equal(ufrpc_connector_describe_tls(c, UFRPC_ERR_WS_HANDSHAKE, text, sizeof text), 0);
    char head[200];
    snprintf(head, sizeof head,
             "websocket: upgrade inside TLS (wss) failed: server answered 404 Not Found instead "
             "of 101 Switching Protocols (127.0.0.1:%u); hint: frps does not serve wss",
             port);
    assert_memory_equal(text, head, strlen(head));
    ufrpc_connector_close(c, on_closed);
    ufrpc_stream_close(x.raw, NULL);
    ufrpc_tcp_listener_close(l, NULL);
    run_until(&loop, &x.closed, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_tls_ctx_free(cli_tls);
    ufrpc_tls_ctx_free(x.srv_tls);
    ufrpc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_mux_dials_per_stream),
        cmocka_unit_test(test_refused_and_cancelled),
        cmocka_unit_test(test_mux_streams_share_one_connection),
        cmocka_unit_test(test_websocket_request_and_cancel),
        cmocka_unit_test(test_wss_request_and_404),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
