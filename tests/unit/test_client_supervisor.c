/* client/supervisor end to end on loopback, against a small scripted frps built from
 * proto/ and net/ in the server role (plaintext, tcpMux off and on): login, NewProxy,
 * a work connection whose StartWorkConn arrives together with user bytes, the splice
 * to a local echo service, graceful shutdown with CloseProxy; login rejected with
 * loginFailExit; a retry after a rejected first login; re-login with the previous
 * run id after the server drops the control; reloads (live proxy diff on the running
 * session, or a re-login when the common settings changed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <uv.h>

#include "client/core/supervisor.h"
#include "net/mux.h"
#include "net/tcp.h"
#include "net/dial.h"
#include "net/tls.h"
#include "net/xform.h"
#include "proto/auth.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/frame_v2.h"
#include "proto/v2chan.h"
#include "proto/v2crypto.h"
#include "proto/v2hello.h"
#include "proto/v2msg.h"
#include "testutil.h"

#define TOKEN "sup3rsecret"
#define HELLO "hello frp\n"

/* ---- scripted frps ---------------------------------------------------------- */
struct srv;

struct pconn {
    struct srv *srv;
    struct ufrpc_stream *s;
    struct ufrpc_frame_decoder dec;
    int kind; /* 0 first frame pending, 1 control, 2 work (raw bytes after Start) */
    int enc;
    ufrpc_cfb_reader_t rd;
    ufrpc_cfb_writer_t wr;
    char echo[4096];
    size_t echo_len;
    /* wire v2: bytes before a complete frame, the frame decoder, the hello, the
     * control channel once LoginResp went out */
    uint8_t *v2acc;
    size_t v2acc_len;
    int v2magic;
    struct ufrpc_frame_v2_decoder *v2dec;
    ufrpc_aead_alg_t v2alg;
    uint8_t v2kc[UFRPC_AEAD_KEY_LEN], v2ks[UFRPC_AEAD_KEY_LEN];
    int v2keys;
    struct ufrpc_v2chan *v2ch;
    int closed;
    int want_close;
    struct pconn *next;
};

struct srv {
    uv_loop_t *loop;
    int mux;
    ufrpc_tcp_listener_t *lst;
    ufrpc_mux_t *muxes[16];
    size_t nmux;
    struct pconn *conns;
    uint8_t key[16];
    uint64_t seed;
    /* script */
    int refuse_logins;      /* answer this many logins with an error */
    int drop_control_once;  /* close the control right after the first NewProxy */
    int wrap;               /* proxy uses useEncryption + useCompression */
    ufrpc_tls_ctx_t *tls;   /* non-NULL: TLS (sniffed like frps) */
    int sniffed[3];         /* connections seen as plain / TLS / 0x17+TLS */
    const char *expect_prefix; /* what the local side must see first (PROXY header) */
    const char *src_addr;   /* StartWorkConn's srcAddr instead of 127.0.0.1 */
    /* observations */
    int logins, login_errors_sent;
    char login_run_ids[8][64];
    int new_proxies, close_proxies, pings, work_conns, echo_ok;
    char last_proxy_name[64];
    ufrpc_sup_t *client; /* shut down once the echo came back */
    struct ufrpc_config *reload_cfg; /* if set: the first echo reloads with it instead */
    uv_timer_t reload_timer;
    uint16_t visitor_port;  /* non-0: a user connects to the stcp visitor after NewProxy */
    int visitor_conns, visitor_echo_ok;
    int work_closed_early;  /* work streams the client closed before any echo */
    int pool_after_new_proxy; /* the pool's ReqWorkConn waits for NewProxy (health-gated
                                 proxy: frps would not hand out a work conn before it) */
    int udp;                /* the proxy is udp: work streams carry UDPPacket frames */
    const char *user_bytes; /* sent after StartWorkConn instead of HELLO */
    const char *expect_in;  /* the reply must contain this (instead of an echo) */
    int udp_echo_ok;
    int v2;                 /* speak wire protocol v2 */
    const char *v2_hello_error; /* answer ClientHello with this error */
    int v2_streams;         /* streams that started with the v2 magic */
    struct ufrpc_stream *user; /* the user connection through the visitor */
    char user_got[64];
    size_t user_len;
    uv_timer_t closer;      /* closes streams outside their own callbacks */
    /* reload scenarios */
    char events[1024];      /* "N:<name>:<remotePort> " per NewProxy, "C:<name> " per
                               CloseProxy, "R " where the client was reloaded */
    const char *work_proxy; /* the one ReqWorkConn follows this proxy's NewProxy and
                               its StartWorkConn names it */
    int work_requested;
    int hold_work;          /* keep the work connection open across the reload and echo
                               "again\n" through it afterwards */
    struct pconn *held;
    struct ufrpc_tunnel *held_tunnel; /* the registry entry before the reload */
    uint64_t held_conns_total;
};

struct swrite {
    struct ufrpc_stream_write req;
    uv_buf_t iov;
    struct pconn *pc;
    int close_after;
    uint8_t buf[];
};

static void on_pc_closed(struct ufrpc_stream *s)
{
    (void)s;
}

static void pc_close_now(struct pconn *pc)
{
    if (pc->closed)
        return;
    pc->closed = 1;
    ufrpc_stream_close(pc->s, on_pc_closed);
}

static void on_closer(uv_timer_t *t)
{
    struct srv *srv = t->data;
    for (struct pconn *pc = srv->conns; pc; pc = pc->next)
        if (pc->want_close)
            pc_close_now(pc);
}

/* Deferred to the next loop turn, like a real server that closes after writing. */
static void pc_close(struct pconn *pc)
{
    pc->want_close = 1;
    uv_timer_start(&pc->srv->closer, on_closer, 0, 0);
}

static void on_swritten(struct ufrpc_stream_write *req, int status)
{
    (void)status;
    struct swrite *w = req->data;
    if (w->close_after)
        pc_close(w->pc);
    free(w);
}

static void pc_write(struct pconn *pc, const uint8_t *data, size_t len, int close_after)
{
    if (pc->closed)
        return;
    struct swrite *w = malloc(sizeof *w + len + 16);
    w->pc = pc;
    w->close_after = close_after;
    size_t n = len;
    if (pc->enc)
        assert_int_equal(ufrpc_cfb_writer_write(&pc->wr, data, len, w->buf, len + 16, &n), 0);
    else
        memcpy(w->buf, data, len);
    w->req.data = w;
    w->iov = uv_buf_init((char *)w->buf, (unsigned)n);
    assert_int_equal(ufrpc_stream_write(pc->s, &w->req, &w->iov, 1, on_swritten), 0);
}

static void pc_send(struct pconn *pc, const struct ufrpc_msg *m, const char *extra, int close_after)
{
    uint8_t *f;
    size_t n;
    if (pc->v2ch)
        assert_int_equal(ufrpc_v2chan_encode(pc->v2ch, m, &f, &n), 0);
    else if (pc->srv->v2)
        assert_int_equal(ufrpc_v2msg_encode(m, false, &f, &n), 0);
    else
        assert_int_equal(ufrpc_msg_encode_frame(m, &f, &n), 0);
    size_t el = extra ? strlen(extra) : 0;
    f = realloc(f, n + el);
    if (el)
        memcpy(f + n, extra, el);
    pc_write(pc, f, n + el, close_after);
    free(f);
}

static void pc_send_empty(struct pconn *pc, uint8_t type)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, type);
    pc_send(pc, &m, NULL, 0);
    ufrpc_msg_free(&m);
}

static int rng(void *ctx, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(ctx);
    return 0;
}

static void on_pc_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len);

static void on_user_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    (void)buf;
    struct srv *srv = s->data;
    if (status < 0)
        return;
    assert_true(srv->user_len + len <= sizeof srv->user_got);
    memcpy(srv->user_got + srv->user_len, data, len);
    srv->user_len += len;
    if (srv->user_len == strlen(HELLO)) {
        assert_memory_equal(srv->user_got, HELLO, srv->user_len);
        srv->visitor_echo_ok++;
        ufrpc_stream_read_stop(s);
        if (srv->client)
            ufrpc_sup_shutdown(srv->client);
    }
}

static void on_user_written(struct ufrpc_stream_write *req, int status)
{
    (void)status;
    free(req);
}

static void on_user_dialed(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    (void)d;
    struct srv *srv = data;
    assert_int_equal(status, 0);
    srv->user = s;
    s->data = srv;
    static uv_buf_t hello_iov; /* iovecs live until the callback */
    hello_iov = uv_buf_init((char *)HELLO, (unsigned)strlen(HELLO));
    struct ufrpc_stream_write *req = malloc(sizeof *req);
    assert_int_equal(ufrpc_stream_write(s, req, &hello_iov, 1, on_user_written), 0);
    assert_int_equal(ufrpc_stream_read_start(s, on_user_read), 0);
}

static void user_connect(struct srv *srv)
{
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = srv->visitor_port};
    srv->user = (struct ufrpc_stream *)1; /* dial in progress */
    assert_int_equal(ufrpc_dial(srv->loop, &o, on_user_dialed, srv, NULL), 0);
}

static void ev(struct srv *srv, const char *fmt, ...)
{
    size_t n = strlen(srv->events);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(srv->events + n, sizeof srv->events - n, fmt, ap);
    va_end(ap);
}

static void handle_frame(struct pconn *pc, const struct ufrpc_frame *f)
{
    struct srv *srv = pc->srv;
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_decode(f->type, f->body, f->body_len, &m), 0);
    if (pc->kind == 0 && f->type == UFRPC_MSG_LOGIN) {
        pc->kind = 1;
        const struct ufrpc_msg_login *l = &m.u.login;
        assert_true(ufrpc_auth_verify(TOKEN, l->timestamp, l->privilege_key));
        assert_string_equal(l->os, "linux");
        assert_non_null(l->client_spec.type == NULL ? "" : l->client_spec.type);
        if (srv->logins < 8)
            snprintf(srv->login_run_ids[srv->logins], 64, "%s", ufrpc_cfg_str(l->run_id));
        srv->logins++;
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_LOGIN_RESP);
        ufrpc_msg_set_str(&r.u.login_resp.version, "0.70.1");
        if (srv->refuse_logins > 0) {
            srv->refuse_logins--;
            srv->login_errors_sent++;
            ufrpc_msg_set_str(&r.u.login_resp.error,
                              "token in login doesn't match token from configuration");
            pc_send(pc, &r, NULL, 1);
        } else {
            ufrpc_msg_set_str(&r.u.login_resp.run_id, "test-run");
            srv->work_requested = 0; /* a new session gets its own work connection */
            pc_send(pc, &r, NULL, 0);
            if (srv->v2) {
                assert_true(pc->v2keys);
                struct ufrpc_v2chan_opts co = {pc->v2alg, pc->v2ks, pc->v2kc, NULL, rng,
                                               &srv->seed};
                assert_int_equal(ufrpc_v2chan_new(&co, &pc->v2ch), 0);
            } else {
                assert_int_equal(ufrpc_cfb_reader_init(&pc->rd, srv->key), 0);
                assert_int_equal(ufrpc_cfb_writer_init_rng(&pc->wr, srv->key, rng, &srv->seed),
                                 0);
                pc->enc = 1;
            }
            /* the pool, as frps; none on a control about to be dropped, so that the
             * echo is known to come from the second session */
            if (!srv->drop_control_once && !srv->pool_after_new_proxy && !srv->work_proxy)
                pc_send_empty(pc, UFRPC_MSG_REQ_WORK_CONN);
        }
        ufrpc_msg_free(&r);
    } else if (pc->kind == 0 && f->type == UFRPC_MSG_NEW_WORK_CONN) {
        pc->kind = 2;
        assert_string_equal(m.u.new_work_conn.run_id, "test-run");
        srv->work_conns++;
        struct ufrpc_msg s;
        ufrpc_msg_init(&s, UFRPC_MSG_START_WORK_CONN);
        ufrpc_msg_set_str(&s.u.start_work_conn.proxy_name,
                          srv->work_proxy ? srv->work_proxy : srv->last_proxy_name);
        ufrpc_msg_set_str(&s.u.start_work_conn.src_addr,
                          srv->src_addr ? srv->src_addr : "127.0.0.1");
        s.u.start_work_conn.src_port = 40000;
        s.u.start_work_conn.dst_port = 6000;
        ufrpc_msg_set_str(&s.u.start_work_conn.dst_addr, "127.0.0.2");
        if (srv->udp) {
            /* frps: StartWorkConn without addresses, then UDPPacket frames */
            ufrpc_msg_set_str(&s.u.start_work_conn.src_addr, NULL);
            ufrpc_msg_set_str(&s.u.start_work_conn.dst_addr, NULL);
            s.u.start_work_conn.src_port = s.u.start_work_conn.dst_port = 0;
            pc_send(pc, &s, NULL, 0);
            pc->kind = 4;
            struct ufrpc_msg u;
            ufrpc_msg_init(&u, UFRPC_MSG_UDP_PACKET);
            ufrpc_bytes_set(&u.u.udp_packet.content, "hello udp", 9);
            ufrpc_udp_addr_set(&u.u.udp_packet.raddr, "192.0.2.7", 5555, NULL);
            pc_send(pc, &u, NULL, 0);
            ufrpc_msg_free(&u);
        } else if (!srv->wrap) {
            pc_send(pc, &s, srv->user_bytes ? srv->user_bytes : HELLO, 0); /* same write */
        } else {
            /* StartWorkConn in clear, then everything through CFB + snappy as frps */
            pc_send(pc, &s, NULL, 0);
            ufrpc_stream_read_stop(pc->s);
            struct ufrpc_stream *ws = NULL;
            assert_int_equal(ufrpc_xform_wrap(pc->s, true, srv->key, true, NULL, &ws), 0);
            pc->s = ws;
            ws->data = pc;
            assert_int_equal(ufrpc_stream_read_start(ws, on_pc_read), 0);
            pc_write(pc, (const uint8_t *)HELLO, strlen(HELLO), 0);
        }
        ufrpc_msg_free(&s);
    } else if (pc->kind == 0 && f->type == UFRPC_MSG_NEW_VISITOR_CONN) {
        /* frps checks the visitor, then joins it with the proxy's work connection;
         * here the "proxy side" is an echo */
        const struct ufrpc_msg_new_visitor_conn *v = &m.u.new_visitor_conn;
        assert_string_equal(v->run_id, "test-run");
        assert_string_equal(v->proxy_name, "alice.secret");
        assert_true(ufrpc_auth_verify("s3cr3t", v->timestamp, v->sign_key));
        srv->visitor_conns++;
        pc->kind = 3;
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
        ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.proxy_name, v->proxy_name);
        pc_send(pc, &r, NULL, 0);
        ufrpc_msg_free(&r);
    } else if (pc->kind == 1 && f->type == UFRPC_MSG_NEW_PROXY) {
        srv->new_proxies++;
        ev(srv, "N:%s:%lld ", m.u.new_proxy.proxy_name, (long long)m.u.new_proxy.remote_port);
        snprintf(srv->last_proxy_name, sizeof srv->last_proxy_name, "%s",
                 m.u.new_proxy.proxy_name);
        if (srv->visitor_port && !srv->user)
            user_connect(srv);
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_NEW_PROXY_RESP);
        ufrpc_msg_set_str(&r.u.new_proxy_resp.proxy_name, m.u.new_proxy.proxy_name);
        ufrpc_msg_set_str(&r.u.new_proxy_resp.remote_addr, ":6000");
        if (srv->drop_control_once) {
            srv->drop_control_once = 0;
            pc_send(pc, &r, NULL, 1);
        } else {
            pc_send(pc, &r, NULL, 0);
            if (srv->pool_after_new_proxy)
                pc_send_empty(pc, UFRPC_MSG_REQ_WORK_CONN);
            if (srv->work_proxy && !srv->work_requested &&
                strcmp(m.u.new_proxy.proxy_name, srv->work_proxy) == 0) {
                srv->work_requested = 1;
                pc_send_empty(pc, UFRPC_MSG_REQ_WORK_CONN);
            }
        }
        ufrpc_msg_free(&r);
    } else if (pc->kind == 1 && f->type == UFRPC_MSG_PING) {
        srv->pings++;
        pc_send_empty(pc, UFRPC_MSG_PONG);
    } else if (pc->kind == 4 && f->type == UFRPC_MSG_UDP_PACKET) {
        const struct ufrpc_msg_udp_packet *u = &m.u.udp_packet;
        assert_int_equal(u->content.len, 9);
        assert_memory_equal(u->content.data, "hello udp", 9);
        assert_non_null(u->raddr);
        assert_string_equal(u->raddr->ip, "192.0.2.7");
        assert_int_equal(u->raddr->port, 5555);
        srv->udp_echo_ok++;
        if (srv->client)
            ufrpc_sup_shutdown(srv->client);
    } else if (pc->kind == 4 && f->type == UFRPC_MSG_PING) {
        /* frpc pings its udp channel every 30 s */
    } else if (pc->kind == 1 && f->type == UFRPC_MSG_CLOSE_PROXY) {
        srv->close_proxies++;
        ev(srv, "C:%s ", m.u.close_proxy.proxy_name);
    } else {
        fail_msg("unexpected frame %c in state %d", f->type, pc->kind);
    }
    ufrpc_msg_free(&m);
}


/* After a live reload: the unchanged proxy's entry and its work connection are the
 * same, no login happened; then bytes go through the held connection again. */
static void on_again_timer(uv_timer_t *t)
{
    struct srv *srv = t->data;
    struct ufrpc_registry *reg = ufrpc_sup_registry(srv->client);
    struct ufrpc_tunnel *et = ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "echo");
    assert_ptr_equal(et, srv->held_tunnel);
    assert_int_equal(et->state, UFRPC_TUNNEL_RUNNING);
    assert_int_equal(et->c.conns_active, 1); /* the held work connection */
    assert_int_equal(et->c.conns_total, srv->held_conns_total);
    assert_null(ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "gone"));
    struct ufrpc_tunnel *ft = ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "fresh");
    assert_non_null(ft);
    assert_int_equal(ft->state, UFRPC_TUNNEL_RUNNING);
    struct ufrpc_tunnel *ct = ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "chg");
    assert_non_null(ct);
    assert_int_equal(ct->state, UFRPC_TUNNEL_RUNNING);
    assert_int_equal(((const struct ufrpc_proxy_config *)ct->cfg)->remote_port, 6012);
    assert_int_equal(ufrpc_sup_login_count(srv->client), 1);
    assert_string_equal(ufrpc_sup_run_id(srv->client), "test-run");
    assert_int_equal(ufrpc_sup_config(srv->client)->nproxies, 3);
    pc_write(srv->held, (const uint8_t *)"again\n", 6, 0);
}

static void on_reload_timer(uv_timer_t *t)
{
    struct srv *srv = t->data;
    struct ufrpc_config *c = srv->reload_cfg;
    srv->reload_cfg = NULL;
    if (srv->hold_work) {
        srv->held_tunnel =
            ufrpc_registry_find(ufrpc_sup_registry(srv->client), UFRPC_TUNNEL_PROXY, "echo");
        assert_non_null(srv->held_tunnel);
        srv->held_conns_total = srv->held_tunnel->c.conns_total;
    }
    assert_int_equal(ufrpc_sup_reload(srv->client, c), 0);
    ev(srv, "R ");
    if (srv->hold_work) {
        /* the same entry at once (nothing waits for a login) */
        assert_ptr_equal(ufrpc_registry_find(ufrpc_sup_registry(srv->client),
                                             UFRPC_TUNNEL_PROXY, "echo"),
                         srv->held_tunnel);
        uv_timer_start(&srv->reload_timer, on_again_timer, 300, 0);
    }
}

/* frps v2 (docs/PROTOCOL.md §13.2): every stream starts with the magic; on the control a
 * ClientHello frame (answered with a ServerHello), a plaintext Login, then the AEAD
 * channel; on work/visitor streams one plaintext Message frame, then raw bytes.
 * Returns the bytes left after the first message of a work/visitor stream. */
static size_t v2_read(struct pconn *pc, const uint8_t *data, size_t len, const uint8_t **rest)
{
    struct srv *srv = pc->srv;
    *rest = NULL;
    if (pc->v2ch) { /* control, encrypted */
        while (!pc->closed) {
            size_t used = 0;
            struct ufrpc_frame f;
            int rc = ufrpc_v2chan_feed_frame(pc->v2ch, data, len, &used, &f);
            assert_true(rc >= 0);
            data += used;
            len -= used;
            if (rc == 0)
                break;
            handle_frame(pc, &f);
        }
        return 0;
    }
    if (!pc->v2magic) {
        size_t have = pc->v2acc_len;
        pc->v2acc = realloc(pc->v2acc, have + len);
        memcpy(pc->v2acc + have, data, len);
        pc->v2acc_len += len;
        if (pc->v2acc_len < UFRPC_FRAME_V2_MAGIC_LEN)
            return 0;
        assert_int_equal(ufrpc_frame_v2_magic_check(pc->v2acc, pc->v2acc_len), 1);
        pc->v2magic = 1;
        srv->v2_streams++;
        pc->v2dec = malloc(sizeof *pc->v2dec);
        ufrpc_frame_v2_decoder_init(pc->v2dec);
        uint8_t *tmp = pc->v2acc;
        size_t tl = pc->v2acc_len - UFRPC_FRAME_V2_MAGIC_LEN;
        pc->v2acc = NULL;
        pc->v2acc_len = 0;
        size_t r = v2_read(pc, tmp + UFRPC_FRAME_V2_MAGIC_LEN, tl, rest);
        if (r > 0) { /* keep the rest alive: copy into the pconn's echo buffer path */
            pc->v2acc = malloc(r);
            memcpy(pc->v2acc, *rest, r);
            pc->v2acc_len = r;
            *rest = pc->v2acc;
        }
        free(tmp);
        return r;
    }
    while (len > 0 && !pc->closed && !pc->v2ch) {
        size_t used = 0;
        struct ufrpc_frame_v2 fr;
        int rc = ufrpc_frame_v2_decoder_feed(pc->v2dec, data, len, &used, &fr);
        assert_true(rc >= 0);
        data += used;
        len -= used;
        if (rc == 0)
            break;
        if (fr.type == UFRPC_FRAME_V2_CLIENT_HELLO) {
            struct ufrpc_v2_client_hello ch;
            assert_int_equal(ufrpc_v2hello_parse_client((const char *)fr.payload, fr.payload_len,
                                                        &ch),
                             0);
            char *json;
            size_t jlen;
            uint8_t out[1024];
            size_t n = 0;
            if (srv->v2_hello_error) {
                assert_int_equal(ufrpc_v2hello_build_server_error(srv->v2_hello_error, &json, &jlen), 0);
                assert_int_equal(ufrpc_frame_v2_encode(UFRPC_FRAME_V2_SERVER_HELLO, json, jlen, out,
                                                       sizeof out, &n),
                                 0);
                pc_write(pc, out, n, 1);
                free(json);
                ufrpc_v2hello_client_free(&ch);
                return 0;
            }
            assert_int_equal(ufrpc_v2hello_server_select(&ch, &pc->v2alg, NULL, 0), 0);
            ufrpc_v2hello_client_free(&ch);
            uint8_t rnd[UFRPC_V2_RANDOM_LEN];
            rng(&srv->seed, rnd, sizeof rnd);
            assert_int_equal(ufrpc_v2hello_build_server(pc->v2alg, rnd, &json, &jlen), 0);
            uint8_t th[UFRPC_V2_TH_LEN];
            assert_int_equal(ufrpc_v2crypto_transcript_hash(fr.payload, fr.payload_len,
                                                            (const uint8_t *)json, jlen, th),
                             0);
            assert_int_equal(ufrpc_v2crypto_derive_keys((const uint8_t *)TOKEN, strlen(TOKEN), th,
                                                        pc->v2alg, pc->v2kc, pc->v2ks),
                             0);
            pc->v2keys = 1;
            assert_int_equal(ufrpc_frame_v2_encode(UFRPC_FRAME_V2_SERVER_HELLO, json, jlen, out,
                                                   sizeof out, &n),
                             0);
            free(json);
            pc_write(pc, out, n, 0);
            continue;
        }
        assert_int_equal(fr.type, UFRPC_FRAME_V2_MESSAGE);
        struct ufrpc_frame f;
        const char *js;
        size_t jl;
        assert_int_equal(ufrpc_frame_v2_split_message(&fr, &f.type, &js, &jl), 0);
        char *body = malloc(jl + 1);
        memcpy(body, js, jl);
        body[jl] = '\0';
        f.body = body;
        f.body_len = jl;
        handle_frame(pc, &f);
        free(body);
        if (pc->kind == 2 || pc->kind == 3) {
            *rest = data;
            return len;
        }
    }
    if (pc->v2ch && len > 0) /* bytes after Login: the client's AEAD stream */
        return v2_read(pc, data, len, rest);
    return 0;
}

static void on_pc_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                       size_t len)
{
    (void)buf;
    struct pconn *pc = s->data;
    if (status >= 0 && pc->srv->v2 && pc->kind != 2 && pc->kind != 3) {
        const uint8_t *rest;
        size_t r = v2_read(pc, data, len, &rest);
        if (r > 0 && pc->kind == 3)
            pc_write(pc, rest, r, 0);
        return;
    }
    if (status < 0) {
        if (pc->kind == 2 && pc->echo_len == 0) {
            pc->srv->work_closed_early++;
            if (pc->srv->client && pc->srv->work_closed_early == 1)
                ufrpc_sup_shutdown(pc->srv->client);
        }
        pc_close(pc);
        return;
    }
    if (pc->kind == 3) { /* visitor stream: echo */
        pc_write(pc, data, len, 0);
        return;
    }
    if (pc->kind == 2) {
        assert_true(pc->echo_len + len < sizeof pc->echo);
        memcpy(pc->echo + pc->echo_len, data, len);
        pc->echo_len += len;
        pc->echo[pc->echo_len] = '\0';
        if (pc->srv->expect_in) {
            if (strstr(pc->echo, pc->srv->expect_in)) {
                pc->srv->echo_ok++;
                pc_close(pc);
                if (pc->srv->client)
                    ufrpc_sup_shutdown(pc->srv->client);
            }
            return;
        }
        const char *pre = pc->srv->expect_prefix ? pc->srv->expect_prefix : "";
        size_t want = strlen(pre) + strlen(HELLO);
        if (pc->srv->held == pc && pc->echo_len == want + 6) {
            /* the connection kept across the live reload still carries bytes */
            assert_memory_equal(pc->echo + want, "again\n", 6);
            pc->srv->echo_ok++;
            pc_close(pc);
            ufrpc_sup_shutdown(pc->srv->client);
            return;
        }
        if (pc->echo_len == want) {
            assert_memory_equal(pc->echo, pre, strlen(pre));
            assert_memory_equal(pc->echo + strlen(pre), HELLO, strlen(HELLO));
            pc->srv->echo_ok++;
            if (pc->srv->hold_work)
                pc->srv->held = pc;
            else
                pc_close(pc);
            if (pc->srv->client && pc->srv->reload_cfg) {
                /* a little later, from a timer, as a SIGHUP would come */
                pc->srv->reload_timer.data = pc->srv;
                uv_timer_start(&pc->srv->reload_timer, on_reload_timer, 200, 0);
            } else if (pc->srv->client && !pc->srv->visitor_port) {
                ufrpc_sup_shutdown(pc->srv->client);
            }
        }
        return;
    }
    uint8_t *plain = NULL;
    if (pc->enc) {
        plain = malloc(len + 1);
        size_t pl = 0;
        assert_int_equal(ufrpc_cfb_reader_decrypt(&pc->rd, data, len, plain, &pl), 0);
        data = plain;
        len = pl;
    }
    while (len > 0 && !pc->closed) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&pc->dec, data, len, &used, &f);
        assert_true(rc >= 0);
        data += used;
        len -= used;
        if (rc == 1) {
            int was_enc = pc->enc;
            handle_frame(pc, &f);
            if (!was_enc && pc->enc && len > 0) {
                /* bytes after Login are ciphertext */
                plain = realloc(plain, len + 1);
                uint8_t *tmp = malloc(len);
                memcpy(tmp, data, len);
                size_t pl = 0;
                assert_int_equal(ufrpc_cfb_reader_decrypt(&pc->rd, tmp, len, plain, &pl), 0);
                free(tmp);
                data = plain;
                len = pl;
            }
            if (pc->kind == 2 || pc->kind == 3) {
                if (pc->kind == 3 && len > 0)
                    pc_write(pc, data, len, 0);
                break;
            }
        }
    }
    free(plain);
}

static void srv_add_conn(struct srv *srv, struct ufrpc_stream *s)
{
    struct pconn *pc = calloc(1, sizeof *pc);
    pc->srv = srv;
    pc->s = s;
    s->data = pc;
    ufrpc_frame_decoder_init(&pc->dec);
    pc->next = srv->conns;
    srv->conns = pc;
    assert_int_equal(ufrpc_stream_read_start(s, on_pc_read), 0);
}

static void on_mux_accept(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data)
{
    (void)m;
    srv_add_conn(data, st);
}

static void srv_transport(struct srv *srv, struct ufrpc_stream *conn);

static void on_srv_handshake(struct ufrpc_stream *s, int status)
{
    struct srv *srv = s->data;
    assert_int_equal(status, 0);
    srv_transport(srv, s);
}

static void on_sniffed(struct ufrpc_stream *s, int kind, void *data)
{
    struct srv *srv = data;
    assert_true(kind >= 0 && kind <= 2);
    srv->sniffed[kind]++;
    if (kind == UFRPC_SNIFF_PLAIN) {
        srv_transport(srv, s);
        return;
    }
    int err = 0;
    struct ufrpc_stream *t = ufrpc_tls_server_new(srv->tls, s, 5000, on_srv_handshake, srv, &err);
    assert_non_null(t);
}

static void on_srv_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn)
{
    struct srv *srv = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    if (srv->tls) {
        assert_int_equal(ufrpc_tls_sniff(conn, 5000, on_sniffed, srv), 0);
        return;
    }
    srv_transport(srv, conn);
}

static void srv_transport(struct srv *srv, struct ufrpc_stream *conn)
{
    if (!srv->mux) {
        srv_add_conn(srv, conn);
        return;
    }
    struct ufrpc_mux_callbacks cbs = {on_mux_accept, NULL};
    assert_true(srv->nmux < 16);
    assert_int_equal(ufrpc_mux_new(srv->loop, conn, UFRPC_YAMUX_SERVER, NULL, &cbs, srv,
                                   &srv->muxes[srv->nmux]),
                     0);
    srv->nmux++;
}

static uint16_t srv_start(struct srv *srv, uv_loop_t *loop, int mux)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->mux = mux;
    srv->seed = 1234;
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), srv->key), 0);
    uv_timer_init(loop, &srv->closer);
    uv_timer_init(loop, &srv->reload_timer);
    srv->closer.data = srv;
    int err = 0;
    srv->lst = ufrpc_tcp_listen(loop, "127.0.0.1", 0, on_srv_accept, srv, &err);
    assert_non_null(srv->lst);
    return ufrpc_tcp_listener_port(srv->lst);
}

static void srv_stop(struct srv *srv)
{
    if (srv->user && srv->user != (struct ufrpc_stream *)1)
        ufrpc_stream_close(srv->user, NULL);
    srv->user = NULL;
    for (struct pconn *pc = srv->conns; pc; pc = pc->next)
        pc_close_now(pc);
    uv_close((uv_handle_t *)&srv->closer, NULL);
    uv_close((uv_handle_t *)&srv->reload_timer, NULL);
    for (size_t i = 0; i < srv->nmux; i++)
        ufrpc_mux_close(srv->muxes[i], NULL);
    ufrpc_tcp_listener_close(srv->lst, NULL);
}

static void srv_free(struct srv *srv)
{
    ufrpc_tls_ctx_free(srv->tls);
    srv->tls = NULL;
    while (srv->conns) {
        struct pconn *pc = srv->conns;
        srv->conns = pc->next;
        if (pc->enc) {
            ufrpc_cfb_reader_free(&pc->rd);
            ufrpc_cfb_writer_free(&pc->wr);
        }
        ufrpc_v2chan_free(pc->v2ch);
        free(pc->v2dec);
        free(pc->v2acc);
        free(pc);
    }
}

/* ---- local echo service ------------------------------------------------------ */
struct ewrite {
    struct ufrpc_stream_write req;
    uv_buf_t iov;
    uint8_t buf[];
};

static void on_ewritten(struct ufrpc_stream_write *req, int status)
{
    (void)status;
    free(req->data);
}

static void on_echo_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    (void)buf;
    if (status < 0) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    struct ewrite *w = malloc(sizeof *w + len);
    memcpy(w->buf, data, len);
    w->req.data = w;
    w->iov = uv_buf_init((char *)w->buf, (unsigned)len);
    if (ufrpc_stream_write(s, &w->req, &w->iov, 1, on_ewritten) != 0)
        free(w);
}

static void on_echo_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn)
{
    (void)l;
    if (status == 0)
        assert_int_equal(ufrpc_stream_read_start(conn, on_echo_read), 0);
}

/* ---- local UDP echo service --------------------------------------------------------- */
struct udp_echo {
    uv_udp_t h;
    char buf[2048];
};

static void udp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    struct udp_echo *e = (struct udp_echo *)h;
    *b = uv_buf_init(e->buf, sizeof e->buf);
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                     unsigned flags)
{
    (void)flags;
    if (n <= 0 || !from)
        return;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    uv_udp_try_send(h, &out, 1, from);
}

/* ---- the client ------------------------------------------------------------------ */
struct run {
    uint64_t tunnel_errors; /* registry counters of "echo" at the end */
    uint64_t tunnel_conns;
    int exited;
    int code;
    char msg[1200];
    struct srv *srv;
    ufrpc_tcp_listener_t *echo;
    uv_timer_t guard;
    uv_timer_t linger;
    uv_timer_t dbg; /* unreferenced: reports handles still open 3 s after the stop */
    uv_timer_t stop_timer;
    ufrpc_sup_t *cl;
    uv_udp_t *uecho; /* the local UDP echo, closed with the rest */
};

static void on_stop_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    ufrpc_sup_shutdown(r->cl);
}

static void on_guard(uv_timer_t *t);

static void on_linger(uv_timer_t *t)
{
    struct run *r = t->data;
    srv_stop(r->srv);
    ufrpc_tcp_listener_close(r->echo, NULL);
    uv_close((uv_handle_t *)&r->guard, NULL);
    uv_close((uv_handle_t *)&r->linger, NULL);
    uv_close((uv_handle_t *)&r->stop_timer, NULL);
    if (r->uecho)
        uv_close((uv_handle_t *)r->uecho, NULL);
    uv_timer_start(&r->dbg, on_guard, 3000, 0);
    uv_unref((uv_handle_t *)&r->dbg);
}

static void on_exit_cb(ufrpc_sup_t *cl, int code, const char *msg, void *data)
{
    (void)cl;
    struct run *r = data;
    r->exited = 1;
    r->code = code;
    snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "");
    /* let the server read what the client wrote last (CloseProxy) */
    r->linger.data = r;
    uv_timer_start(&r->linger, on_linger, 100, 0);
}

static void print_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "  open handle: %s active=%d closing=%d\n", uv_handle_type_name(h->type),
            uv_is_active(h), uv_is_closing(h));
}

static void on_guard(uv_timer_t *t)
{
    uv_walk(t->loop, print_handle, NULL);
    fail_msg("test timed out");
}

static const char *authline = "auth.token = \"" TOKEN "\"\n";
static const char *proxy_type = "tcp";

static struct ufrpc_config *make_cfg(uint16_t srv_port, uint16_t echo_port, int mux,
                                     int login_fail_exit, const char *user, const char *extra,
                                     const char *tlsline)
{
    char text[4096];
    char userline[64] = "";
    if (user)
        snprintf(userline, sizeof userline, "user = \"%s\"\n", user);
    snprintf(text, sizeof text,
             "serverAddr = \"127.0.0.1\"\nserverPort = %u\nloginFailExit = %s\n%s"
             "%s%s"
             "transport.tcpMux = %s\nlog.level = \"trace\"\n\n"
             "[[proxies]]\nname = \"echo\"\ntype = \"%s\"\nlocalIP = \"127.0.0.1\"\n"
             "localPort = %u\nremotePort = 6000\n%s",
             (unsigned)srv_port, login_fail_exit ? "true" : "false",
             userline, authline, tlsline, mux ? "true" : "false", proxy_type, (unsigned)echo_port,
             extra ? extra : "");
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load_buffer(text, strlen(text), "test.toml", NULL, &cfg, &diag);
    if (rc)
        ufrpc_cfg_diag_print(&diag, stderr);
    ufrpc_cfg_diag_free(&diag);
    assert_int_equal(rc, 0);
    return cfg;
}

struct scenario {
    int mux;
    int login_fail_exit;
    int refuse_logins;
    int drop_control_once;
    const char *user;
    int shutdown_on_echo;
    int wrap;                  /* useEncryption + useCompression */
    const char *pp_version;    /* transport.proxyProtocolVersion */
    const char *expect_prefix; /* PROXY header the local side must see */
    const char *src_addr;      /* StartWorkConn's srcAddr (default 127.0.0.1) */
    int tls;                   /* 1: TLS, 2: TLS after a 0x17 byte */
    int reload;                /* 1: reload (user "bob") after the first echo; 2: below */
    int visitor;               /* add an stcp visitor and drive a user through it */
    int dead_local;            /* the proxy's local service is not listening */
    const char *auth;          /* replaces the auth.token line */
    int health;                /* healthCheck.type = "tcp" on the proxy */
    int udp;                   /* a udp proxy to a local UDP echo service */
    int v2;                    /* transport.wireProtocol = "v2" */
    const char *v2_hello_error; /* frps answers the ClientHello with this error */
    const char *plugin_toml;   /* [proxies.plugin] lines */
    const char *user_bytes;    /* what the user sends through the tunnel */
    const char *expect_in;     /* what its reply must contain */
    uint32_t stop_after_ms;    /* shut the client down after this long */
    /* reload = 2: reload after the first echo with the same user and echo proxy,
     * reload_proxies instead of more_proxies and reload_common added to the common
     * part */
    const char *more_proxies;   /* [[proxies]] after echo */
    const char *reload_proxies;
    const char *reload_common;
    const char *work_proxy;     /* see struct srv */
    int hold_work;
    int reload_before_start;    /* apply the reload = 2 config before the first login */
};

static void run_scenario(const struct scenario *sc, struct srv *srv, struct run *r,
                         unsigned *logins)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    memset(r, 0, sizeof *r);
    r->srv = srv;
    uint16_t sport = srv_start(srv, &loop, sc->mux);
    srv->refuse_logins = sc->refuse_logins;
    srv->drop_control_once = sc->drop_control_once;
    srv->pool_after_new_proxy = sc->health && !sc->dead_local;
    srv->wrap = sc->wrap;
    srv->v2 = sc->v2;
    srv->v2_hello_error = sc->v2_hello_error;
    if (sc->tls) {
        struct ufrpc_tls_server_opts to = {0};
        assert_int_equal(ufrpc_tls_server_ctx_new(&to, &srv->tls), 0);
    }
    srv->expect_prefix = sc->expect_prefix;
    srv->src_addr = sc->src_addr;
    char extra[1024] = "";
    char tlsline[256] = "transport.tls.enable = false\n";
    if (sc->tls)
        snprintf(tlsline, sizeof tlsline,
                 "transport.tls.enable = true\ntransport.tls.disableCustomTLSFirstByte = %s\n",
                 sc->tls == 2 ? "false" : "true");
    if (sc->v2)
        strcat(tlsline, "transport.wireProtocol = \"v2\"\n");
    if (sc->wrap)
        strcat(extra, "transport.useEncryption = true\ntransport.useCompression = true\n");
    uint16_t vport = 0;
    if (sc->visitor) {
        /* a free port for the visitor's listener */
        int e2 = 0;
        ufrpc_tcp_listener_t *tmp = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_echo_accept, NULL, &e2);
        assert_non_null(tmp);
        vport = ufrpc_tcp_listener_port(tmp);
        ufrpc_tcp_listener_close(tmp, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
        srv->visitor_port = vport;
    }
    char vis[256] = "";
    if (sc->visitor)
        snprintf(vis, sizeof vis,
                 "\n[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"secret\"\n"
                 "secretKey = \"s3cr3t\"\nbindAddr = \"127.0.0.1\"\nbindPort = %u\n",
                 (unsigned)vport);
    if (sc->pp_version)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 "transport.proxyProtocolVersion = \"%s\"\n", sc->pp_version);
    srv->user_bytes = sc->user_bytes;
    srv->expect_in = sc->expect_in;
    if (sc->plugin_toml)
        strncat(extra, sc->plugin_toml, sizeof extra - strlen(extra) - 1);
    if (sc->health)
        strncat(extra, "healthCheck.type = \"tcp\"\nhealthCheck.intervalSeconds = 1\n",
                sizeof extra - strlen(extra) - 1);
    strncat(extra, vis, sizeof extra - strlen(extra) - 1);
    int err = 0;
    r->echo = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_echo_accept, NULL, &err);
    assert_non_null(r->echo);
    uint16_t eport = ufrpc_tcp_listener_port(r->echo);
    struct udp_echo uecho;
    proxy_type = "tcp";
    if (sc->udp) {
        assert_int_equal(uv_udp_init(&loop, &uecho.h), 0);
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", 0, &a);
        assert_int_equal(uv_udp_bind(&uecho.h, (const struct sockaddr *)&a, 0), 0);
        assert_int_equal(uv_udp_recv_start(&uecho.h, udp_alloc, udp_recv), 0);
        struct sockaddr_in got;
        int len = sizeof got;
        uv_udp_getsockname(&uecho.h, (struct sockaddr *)&got, &len);
        eport = ntohs(got.sin_port);
        proxy_type = "udp";
        srv->udp = 1;
        r->uecho = &uecho.h;
    }
    if (sc->dead_local) {
        /* a port nobody listens on */
        int e3 = 0;
        ufrpc_tcp_listener_t *tmp = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, on_echo_accept, NULL, &e3);
        assert_non_null(tmp);
        eport = ufrpc_tcp_listener_port(tmp);
        ufrpc_tcp_listener_close(tmp, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
    }

    /* UFRPC_TEST_VERBOSE=1 shows the client's log (trace level) on stderr */
    int verbose = getenv("UFRPC_TEST_VERBOSE") != NULL;
    FILE *logf = verbose ? stderr : tmpfile();
    struct ufrpc_log_opts lo = {.to = "console", .level = UFRPC_LOG_TRACE, .console = logf};
    struct ufrpc_log *log;
    assert_int_equal(ufrpc_log_new(&lo, &log), 0);
    authline = sc->auth ? sc->auth : "auth.token = \"" TOKEN "\"\n";
    srv->work_proxy = sc->work_proxy;
    srv->hold_work = sc->hold_work;
    if (sc->more_proxies || sc->reload == 2) {
        char rextra[1024], rtls[512];
        snprintf(rextra, sizeof rextra, "%s%s", extra, sc->reload_proxies ? sc->reload_proxies : "");
        snprintf(rtls, sizeof rtls, "%s%s", tlsline, sc->reload_common ? sc->reload_common : "");
        if (sc->reload == 2)
            srv->reload_cfg = make_cfg(sport, eport, sc->mux, sc->login_fail_exit, sc->user,
                                       rextra, rtls);
        strncat(extra, sc->more_proxies ? sc->more_proxies : "", sizeof extra - strlen(extra) - 1);
    }
    struct ufrpc_sup_opts co = {
        .loop = &loop,
        .cfg = make_cfg(sport, eport, sc->mux, sc->login_fail_exit, sc->user, extra, tlsline),
        .log = log,
        .hostname = "testhost",
        .on_exit = on_exit_cb,
        .data = r,
    };
    ufrpc_sup_t *cl;
    assert_int_equal(ufrpc_sup_new(&co, &cl), 0);
    if (sc->shutdown_on_echo || sc->visitor || sc->dead_local || sc->udp || sc->expect_in ||
        sc->src_addr)
        srv->client = cl;
    if (sc->reload == 1)
        srv->reload_cfg = make_cfg(sport, eport, sc->mux, sc->login_fail_exit, "bob", extra, tlsline);
    if (sc->reload_before_start) {
        struct ufrpc_config *c = srv->reload_cfg;
        srv->reload_cfg = NULL;
        assert_int_equal(ufrpc_sup_reload(cl, c), 0);
        assert_null(ufrpc_registry_find(ufrpc_sup_registry(cl), UFRPC_TUNNEL_PROXY, "gone"));
        assert_non_null(ufrpc_registry_find(ufrpc_sup_registry(cl), UFRPC_TUNNEL_PROXY, "fresh"));
        assert_int_equal(ufrpc_sup_login_count(cl), 0);
    }
    uv_timer_init(&loop, &r->guard);
    uv_timer_init(&loop, &r->linger);
    uv_timer_init(&loop, &r->dbg);
    uv_timer_start(&r->guard, on_guard, 15000, 0);
    r->cl = cl;
    uv_timer_init(&loop, &r->stop_timer);
    r->stop_timer.data = r;
    if (sc->stop_after_ms)
        uv_timer_start(&r->stop_timer, on_stop_timer, sc->stop_after_ms, 0);
    assert_int_equal(ufrpc_sup_start(cl), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r->exited);
    *logins = ufrpc_sup_login_count(cl);
    struct ufrpc_tunnel *et = ufrpc_registry_find(ufrpc_sup_registry(cl), UFRPC_TUNNEL_PROXY, "echo");
    assert_non_null(et);
    r->tunnel_errors = et->c.errors;
    r->tunnel_conns = et->c.conns_total;
    ufrpc_sup_free(cl);
    ufrpc_log_free(log);
    if (!verbose)
        fclose(logf);
    uv_close((uv_handle_t *)&r->dbg, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    srv_free(srv);
}

static void tunnel_roundtrip(int mux)
{
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = mux, .login_fail_exit = 1, .shutdown_on_echo = 1, .user = "alice"};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.msg, "");
    assert_int_equal(logins, 1);
    assert_int_equal(srv.logins, 1);
    assert_string_equal(srv.login_run_ids[0], "");
    assert_int_equal(srv.new_proxies, 1);
    assert_string_equal(srv.last_proxy_name, "alice.echo");
    assert_true(srv.work_conns >= 1);
    assert_int_equal(srv.echo_ok, 1);
    assert_int_equal(srv.close_proxies, 1); /* graceful shutdown */
    assert_true(r.tunnel_conns >= 1);
    assert_int_equal(r.tunnel_errors, 0);
}

static void test_tunnel_roundtrip_mux_off(void **state)
{
    (void)state;
    tunnel_roundtrip(0);
}

static void test_tunnel_roundtrip_mux_on(void **state)
{
    (void)state;
    tunnel_roundtrip(1);
}

/* wire protocol v2 (frps >= 0.69): ClientHello/ServerHello, plaintext Login and
 * LoginResp, NewProxy/NewProxyResp/Ping/CloseProxy over the AEAD channel, work
 * streams with the magic + v2 NewWorkConn, StartWorkConn + raw echo traffic. */
static void v2_roundtrip(int mux)
{
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = mux, .login_fail_exit = 1, .shutdown_on_echo = 1,
                          .user = "alice", .v2 = 1};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.msg, "");
    assert_int_equal(logins, 1);
    assert_int_equal(srv.logins, 1);
    assert_int_equal(srv.new_proxies, 1);
    assert_string_equal(srv.last_proxy_name, "alice.echo");
    assert_true(srv.work_conns >= 1);
    assert_true(srv.v2_streams >= 1 + srv.work_conns); /* control + every work stream */
    assert_int_equal(srv.echo_ok, 1);
    assert_int_equal(srv.close_proxies, 1);
    assert_int_equal(r.tunnel_errors, 0);
}

static void test_v2_tunnel_roundtrip(void **state)
{
    (void)state;
    v2_roundtrip(0);
    v2_roundtrip(1);
}

/* frps refuses the ClientHello: its text ends the login (loginFailExit). */
static void test_v2_server_hello_error(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 0, .login_fail_exit = 1, .v2 = 1,
                          .v2_hello_error = "no supported crypto algorithm"};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.msg, "no supported crypto algorithm"));
    assert_int_equal(logins, 0);
    assert_int_equal(srv.logins, 0); /* frps never reads the Login after a refused hello */
}

/* useEncryption + useCompression: the work stream is CFB(token) + snappy both ways,
 * and a PROXY v1 header reaches the local service first. */
static void test_encrypted_compressed_work_stream_with_proxy_protocol(void **state)
{
    (void)state;
    for (int mux = 0; mux <= 1; mux++) {
        struct srv srv;
        struct run r;
        unsigned logins;
        struct scenario sc = {.mux = mux, .login_fail_exit = 1, .shutdown_on_echo = 1,
                              .wrap = 1, .pp_version = "v1",
                              .expect_prefix = "PROXY TCP4 127.0.0.1 127.0.0.2 40000 6000\r\n"};
        run_scenario(&sc, &srv, &r, &logins);
        assert_int_equal(r.code, 0);
        assert_int_equal(srv.echo_ok, 1);
    }
}

/* A PROXY header that cannot be built (srcAddr is not an IP literal) refuses the
 * work connection: it is closed before any byte reaches the local service, instead
 * of being passed on without the header. */
static void test_unbuildable_proxy_protocol_header_refuses_the_conn(void **state)
{
    (void)state;
    for (int mux = 0; mux <= 1; mux++) {
        struct srv srv;
        struct run r;
        unsigned logins;
        struct scenario sc = {.mux = mux, .login_fail_exit = 1, .pp_version = "v2",
                              .src_addr = "not-an-ip"};
        run_scenario(&sc, &srv, &r, &logins);
        assert_int_equal(r.code, 0);
        assert_int_equal(logins, 1);
        assert_true(srv.work_conns >= 1);
        assert_true(srv.work_closed_early >= 1);
        assert_int_equal(srv.echo_ok, 0);
        assert_int_equal(r.tunnel_errors, 0); /* the proxy itself stays healthy */
    }
}

/* TLS like frpc (no verification), with and without the 0x17 first byte, both mux modes. */
static void test_tls_with_and_without_first_byte(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        struct srv srv;
        struct run r;
        unsigned logins;
        struct scenario sc = {.mux = mode & 1, .login_fail_exit = 1, .shutdown_on_echo = 1,
                              .tls = mode < 2 ? 1 : 2};
        run_scenario(&sc, &srv, &r, &logins);
        assert_int_equal(r.code, 0);
        assert_int_equal(srv.echo_ok, 1);
        assert_int_equal(srv.sniffed[UFRPC_SNIFF_PLAIN], 0);
        if (sc.tls == 2)
            assert_true(srv.sniffed[UFRPC_SNIFF_TLS_0x17] >= 1 && srv.sniffed[UFRPC_SNIFF_TLS] == 0);
        else
            assert_true(srv.sniffed[UFRPC_SNIFF_TLS] >= 1 && srv.sniffed[UFRPC_SNIFF_TLS_0x17] == 0);
    }
}

/* SIGHUP's path: a new configuration (another user) replaces the old one; the client
 * logs in again at once with its run id and announces the proxy under the new name. */
static void test_reload_reconnects_with_new_config(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .shutdown_on_echo = 1,
                          .user = "alice", .reload = 1};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.echo_ok, 2);
    assert_int_equal(srv.logins, 2);
    assert_string_equal(srv.login_run_ids[1], "test-run");
    assert_int_equal(srv.new_proxies, 2);
    assert_string_equal(srv.last_proxy_name, "bob.echo");
    assert_null(srv.reload_cfg);
}

#define PX(name, port)                                                                   \
    "\n[[proxies]]\nname = \"" name "\"\ntype = \"tcp\"\nlocalPort = 9\nremotePort = " #port "\n"

/* frpc's reload (UpdateAllConfigurer) on the running session: the common part is the
 * same, so there is no second Login and the run id stays; the unchanged proxy keeps
 * its registry entry, state, counters and its open work connection (bytes still echo
 * through it afterwards); the removed one gets CloseProxy, the changed one CloseProxy
 * then NewProxy with its new settings, the added one NewProxy. */
static void live_reload(int mux)
{
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = mux, .login_fail_exit = 1, .shutdown_on_echo = 1,
                          .user = "alice", .reload = 2, .work_proxy = "alice.echo",
                          .hold_work = 1,
                          .more_proxies = PX("gone", 6001) PX("chg", 6002),
                          .reload_proxies = PX("chg", 6012) PX("fresh", 6003)};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.logins, 1);
    assert_int_equal(logins, 1);
    assert_int_equal(srv.work_conns, 1);
    assert_int_equal(srv.echo_ok, 2); /* HELLO before, "again" after the reload */
    assert_string_equal(srv.events,
                        "N:alice.echo:6000 N:alice.gone:6001 N:alice.chg:6002 "
                        "R "
                        "C:alice.gone C:alice.chg N:alice.chg:6012 N:alice.fresh:6003 "
                        "C:alice.echo C:alice.chg C:alice.fresh ");
    assert_null(srv.reload_cfg);
}

static void test_reload_live_diff_mux_on(void **state)
{
    (void)state;
    live_reload(1);
}

static void test_reload_live_diff_mux_off(void **state)
{
    (void)state;
    live_reload(0);
}

/* Reloading the same file, or one that changes only the common part: an identical
 * configuration changes nothing on the wire; a changed common part (here metadatas)
 * logs in again with the run id, as before. */
static void test_reload_common_change_relogs_in(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .shutdown_on_echo = 1,
                          .user = "alice", .reload = 2, .work_proxy = "alice.echo",
                          .more_proxies = PX("other", 6001),
                          .reload_proxies = PX("other", 6001),
                          .reload_common = "metadatas.k = \"v\"\n"};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.logins, 2);
    assert_int_equal(logins, 2);
    assert_string_equal(srv.login_run_ids[1], "test-run");
    assert_int_equal(srv.echo_ok, 2);
    /* no CloseProxy before the re-login: the session is simply replaced */
    assert_string_equal(srv.events, "N:alice.echo:6000 N:alice.other:6001 R "
                                    "N:alice.echo:6000 N:alice.other:6001 "
                                    "C:alice.echo C:alice.other ");
}

/* Not logged in (here: before the first login): the registry and configuration are
 * swapped, nothing is sent, and the first login announces the new set. */
static void test_reload_before_login_swaps_registry(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .shutdown_on_echo = 1,
                          .user = "alice", .reload = 2, .reload_before_start = 1,
                          .work_proxy = "alice.echo", .more_proxies = PX("gone", 6001),
                          .reload_proxies = PX("fresh", 6003)};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.logins, 1);
    assert_int_equal(srv.echo_ok, 1);
    assert_string_equal(srv.events, "N:alice.echo:6000 N:alice.fresh:6003 "
                                    "C:alice.echo C:alice.fresh ");
}

static struct ufrpc_config *load_text(const char *text)
{
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load_buffer(text, strlen(text), "t.toml", NULL, &cfg, &diag);
    if (rc)
        ufrpc_cfg_diag_print(&diag, stderr);
    ufrpc_cfg_diag_free(&diag);
    assert_int_equal(rc, 0);
    return cfg;
}

/* The comparisons reload's decision rests on: semantic (defaults filled in, key order
 * and spelling irrelevant), proxies/visitors excluded from the common part. */
static void test_config_part_equality(void **state)
{
    (void)state;
    struct ufrpc_config *a = load_text("serverPort = 7000\nauth.token = \"x\"\n"
                                       "[[proxies]]\nname = \"p\"\ntype = \"tcp\"\n"
                                       "localPort = 22\nremotePort = 6000\n");
    struct ufrpc_config *b = load_text("auth = { token = \"x\" }\n"
                                       "[[proxies]]\nremotePort = 6000\nname = \"p\"\n"
                                       "localIP = \"127.0.0.1\"\nlocalPort = 22\ntype = \"tcp\"\n"
                                       "[[proxies]]\nname = \"q\"\ntype = \"tcp\"\n"
                                       "localPort = 23\nremotePort = 6001\n"
                                       "[[visitors]]\nname = \"v\"\ntype = \"stcp\"\n"
                                       "serverName = \"s\"\nsecretKey = \"k\"\nbindPort = 9000\n");
    struct ufrpc_config *c = load_text("serverPort = 7001\nauth.token = \"x\"\n"
                                       "[[proxies]]\nname = \"p\"\ntype = \"tcp\"\n"
                                       "localPort = 22\nremotePort = 6002\n");
    struct ufrpc_config *d = load_text("auth.token = \"y\"\n");
    /* log, webServer and alerts changes need no new session */
    struct ufrpc_config *e = load_text("serverPort = 7000\nauth.token = \"x\"\n"
                                       "log.level = \"debug\"\nwebServer.port = 7400\n"
                                       "alerts.downSeconds = 5\n");
    struct ufrpc_config *f = load_text("serverPort = 7000\nauth.token = \"x\"\n"
                                       "transport.tcpMux = false\n");
    assert_true(ufrpc_config_common_equal(a, e));
    assert_false(ufrpc_config_common_equal(a, f));
    ufrpc_config_free(e);
    ufrpc_config_free(f);
    assert_true(ufrpc_config_common_equal(a, b));
    assert_false(ufrpc_config_common_equal(a, c));
    assert_false(ufrpc_config_common_equal(a, d));
    assert_true(ufrpc_proxy_config_equal(&a->proxies[0], &b->proxies[0]));
    assert_false(ufrpc_proxy_config_equal(&a->proxies[0], &c->proxies[0]));
    assert_false(ufrpc_proxy_config_equal(&b->proxies[0], &b->proxies[1]));
    assert_true(ufrpc_visitor_config_equal(&b->visitors[0], &b->visitors[0]));
    ufrpc_config_free(a);
    ufrpc_config_free(b);
    ufrpc_config_free(c);
    ufrpc_config_free(d);
}

/* An stcp visitor: started with the control; a user connection to its port opens a
 * stream with NewVisitorConn (sign key from the secret key) and is spliced to it. */
static void test_stcp_visitor(void **state)
{
    (void)state;
    /* mux off/on, then both with wire v2 (magic + v2 NewVisitorConn/Resp) */
    for (int i = 0; i < 4; i++) {
        struct srv srv;
        struct run r;
        unsigned logins;
        struct scenario sc = {.mux = i & 1, .login_fail_exit = 1, .user = "alice", .visitor = 1,
                              .v2 = i >= 2};
        run_scenario(&sc, &srv, &r, &logins);
        assert_int_equal(r.code, 0);
        assert_int_equal(srv.visitor_conns, 1);
        assert_int_equal(srv.visitor_echo_ok, 1);
        if (sc.v2)
            assert_true(srv.v2_streams >= 2); /* control + visitor stream */
    }
}

/* A dead local service closes that one work stream; the control stays up. */
static void test_dead_local_service_closes_only_the_work_stream(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .dead_local = 1};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(logins, 1);
    assert_int_equal(srv.logins, 1);
    assert_true(srv.work_closed_early >= 1);
    assert_int_equal(srv.echo_ok, 0);
    assert_true(r.tunnel_errors >= 1);
    assert_int_equal(srv.close_proxies, 1); /* still announced: the graceful stop closed it */
}

/* auth.tokenSource of type file: the token is read from the file, whitespace trimmed. */
static void test_token_from_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ufrpc_token_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char content[] = "  " TOKEN "\n\n";
    assert_int_equal(write(fd, content, sizeof content - 1), (ssize_t)(sizeof content - 1));
    close(fd);
    char auth[256];
    snprintf(auth, sizeof auth,
             "auth.tokenSource.type = \"file\"\nauth.tokenSource.file.path = \"%s\"\n", path);
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 0, .login_fail_exit = 1, .shutdown_on_echo = 1, .auth = auth};
    run_scenario(&sc, &srv, &r, &logins);
    unlink(path);
    assert_int_equal(r.code, 0);
    assert_int_equal(logins, 1); /* the server verified the privilege key with TOKEN */
    assert_int_equal(srv.echo_ok, 1);
}

/* healthCheck: a proxy is announced only after its first successful check; with
 * the local service down it never is, and its work connections never come. */
static void test_health_check_gates_new_proxy(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario up = {.mux = 1, .login_fail_exit = 1, .shutdown_on_echo = 1, .health = 1};
    run_scenario(&up, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.new_proxies, 1);
    assert_int_equal(srv.echo_ok, 1);

    struct scenario down = {.mux = 1, .login_fail_exit = 1, .health = 1, .dead_local = 1,
                            .stop_after_ms = 1500};
    run_scenario(&down, &srv, &r, &logins);
    assert_int_equal(r.code, 0);
    assert_int_equal(logins, 1);
    assert_int_equal(srv.new_proxies, 0);
    assert_int_equal(srv.work_conns, 1); /* the pool's, never used */
    assert_int_equal(srv.close_proxies, 1); /* shutdown still closes every proxy */
}

/* A udp proxy: the work stream becomes a UDPPacket channel (client/udp_channel) to
 * the local UDP service; the reply goes back to the same user address. */
static void test_udp_proxy_channel(void **state)
{
    (void)state;
    /* mux off/on, then both with wire v2 (UDPPacket as v2 Message frames) */
    for (int i = 0; i < 4; i++) {
        struct srv srv;
        struct run r;
        unsigned logins;
        struct scenario sc = {.mux = i & 1, .login_fail_exit = 1, .udp = 1, .v2 = i >= 2};
        run_scenario(&sc, &srv, &r, &logins);
        assert_int_equal(r.code, 0);
        assert_int_equal(srv.udp_echo_ok, 1);
        assert_string_equal(srv.last_proxy_name, "echo");
        if (sc.v2)
            assert_true(srv.v2_streams >= 2);
    }
}

/* A plugin takes the work stream instead of a local dial: static_file serves a
 * file from a directory over HTTP. */
static void test_static_file_plugin(void **state)
{
    (void)state;
    char dir[] = "/tmp/ufrpc_static_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/hello.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("file served by ufrpc\n", f);
    fclose(f);
    char plugin[256];
    snprintf(plugin, sizeof plugin,
             "[proxies.plugin]\ntype = \"static_file\"\nlocalPath = \"%s\"\n", dir);
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .plugin_toml = plugin,
                          .user_bytes = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                          .expect_in = "file served by ufrpc"};
    run_scenario(&sc, &srv, &r, &logins);
    unlink(path);
    rmdir(dir);
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.echo_ok, 1);
}

static void test_login_rejected_with_login_fail_exit(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .refuse_logins = 1};
    run_scenario(&sc, &srv, &r, &logins);
    assert_int_equal(r.code, 1);
    assert_string_equal(r.msg, "login to the server failed: token in login doesn't match token "
                               "from configuration. With loginFailExit enabled, no additional "
                               "retries will be attempted");
    assert_int_equal(logins, 0);
    assert_int_equal(srv.logins, 1);
}

static void test_login_retried_without_login_fail_exit(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 0, .login_fail_exit = 0, .refuse_logins = 1,
                          .shutdown_on_echo = 1};
    uint64_t t0 = uv_hrtime();
    run_scenario(&sc, &srv, &r, &logins);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(r.code, 0);
    assert_int_equal(srv.logins, 2);
    assert_int_equal(logins, 1);
    assert_int_equal(srv.echo_ok, 1);
    assert_true(ms >= 1900 && ms < 6000); /* the first retry waits ≈2 s (+≤10 %) */
}

static void test_relogin_with_run_id_after_drop(void **state)
{
    (void)state;
    struct srv srv;
    struct run r;
    unsigned logins;
    struct scenario sc = {.mux = 1, .login_fail_exit = 1, .drop_control_once = 1,
                          .shutdown_on_echo = 1};
    uint64_t t0 = uv_hrtime();
    run_scenario(&sc, &srv, &r, &logins);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(r.code, 0);
    assert_int_equal(logins, 2);
    assert_int_equal(srv.logins, 2);
    assert_string_equal(srv.login_run_ids[0], "");
    assert_string_equal(srv.login_run_ids[1], "test-run"); /* the previous run id */
    assert_int_equal(srv.new_proxies, 2);                 /* re-announced */
    assert_int_equal(srv.echo_ok, 1);
    assert_true(ms < 1500); /* the first re-login after a drop is immediate */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as ufrpc's main: peers closing sockets are errors, not signals */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tunnel_roundtrip_mux_off),
        cmocka_unit_test(test_tunnel_roundtrip_mux_on),
        cmocka_unit_test(test_v2_tunnel_roundtrip),
        cmocka_unit_test(test_v2_server_hello_error),
        cmocka_unit_test(test_encrypted_compressed_work_stream_with_proxy_protocol),
        cmocka_unit_test(test_unbuildable_proxy_protocol_header_refuses_the_conn),
        cmocka_unit_test(test_tls_with_and_without_first_byte),
        cmocka_unit_test(test_reload_reconnects_with_new_config),
        cmocka_unit_test(test_reload_live_diff_mux_on),
        cmocka_unit_test(test_reload_live_diff_mux_off),
        cmocka_unit_test(test_reload_common_change_relogs_in),
        cmocka_unit_test(test_reload_before_login_swaps_registry),
        cmocka_unit_test(test_config_part_equality),
        cmocka_unit_test(test_stcp_visitor),
        cmocka_unit_test(test_dead_local_service_closes_only_the_work_stream),
        cmocka_unit_test(test_token_from_file),
        cmocka_unit_test(test_health_check_gates_new_proxy),
        cmocka_unit_test(test_udp_proxy_channel),
        cmocka_unit_test(test_static_file_plugin),
        cmocka_unit_test(test_login_rejected_with_login_fail_exit),
        cmocka_unit_test(test_login_retried_without_login_fail_exit),
        cmocka_unit_test(test_relogin_with_run_id_after_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
