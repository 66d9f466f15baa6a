/* client/control: the control state machine against a scripted frps written with
 * proto/ in the server role: login, encrypted control, NewProxy, ReqWorkConn, Ping,
 * and every way a session ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/control.h"
#include "client/core/version.h"
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

#define TOKEN "testtoken"
#define TS 1795450625

static int test_rng(void *ctx, unsigned char *buf, size_t len)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(s);
    return 0;
}

static int64_t fixed_unix(void *ctx)
{
    return *(int64_t *)ctx;
}

/* ---- a scripted frps ----------------------------------------------------- */
struct server {
    uint8_t key[16];
    int encrypted;
    ufrpc_cfb_writer_t wr; /* server -> client */
    ufrpc_cfb_reader_t rd; /* client -> server */
    struct ufrpc_frame_decoder dec;
    struct ufrpc_msg got[32]; /* messages received from the client */
    size_t ngot;
    uint64_t seed;
};

static void server_init(struct server *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), s->key), 0);
    ufrpc_frame_decoder_init(&s->dec);
    s->seed = 99;
}

static void server_free(struct server *s)
{
    for (size_t i = 0; i < s->ngot; i++)
        ufrpc_msg_free(&s->got[i]);
    if (s->encrypted) {
        ufrpc_cfb_writer_free(&s->wr);
        ufrpc_cfb_reader_free(&s->rd);
    }
}

/* Decodes everything the client has queued into s->got; consumes it. */
static void server_drain(struct server *s, struct ufrpc_ctl *ctl)
{
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(ctl, &p, &n);
    uint8_t *buf = malloc(n + 1);
    memcpy(buf, p, n);
    ufrpc_ctl_consume(ctl, n);
    const uint8_t *in = buf;
    size_t len = n;
    uint8_t *plain = malloc(n + 1);
    if (s->encrypted) {
        size_t plen = 0;
        assert_int_equal(ufrpc_cfb_reader_decrypt(&s->rd, buf, n, plain, &plen), 0);
        in = plain;
        len = plen;
    }
    while (len > 0) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&s->dec, in, len, &used, &f);
        assert_true(rc >= 0);
        in += used;
        len -= used;
        if (rc == 1) {
            assert_true(s->ngot < 32);
            assert_int_equal(ufrpc_msg_decode(f.type, f.body, f.body_len, &s->got[s->ngot]), 0);
            s->ngot++;
        }
    }
    free(buf);
    free(plain);
}

/* Appends one server message to out (encrypted once the server switched). */
static size_t server_msg(struct server *s, const struct ufrpc_msg *m, uint8_t *out, size_t cap)
{
    uint8_t *frame;
    size_t flen;
    assert_int_equal(ufrpc_msg_encode_frame(m, &frame, &flen), 0);
    size_t wrote = flen;
    if (s->encrypted) {
        assert_int_equal(ufrpc_cfb_writer_write(&s->wr, frame, flen, out, cap, &wrote), 0);
    } else {
        assert_true(flen <= cap);
        memcpy(out, frame, flen);
    }
    free(frame);
    return wrote;
}

static size_t server_login_resp(struct server *s, const char *run_id, const char *error,
                                uint8_t *out, size_t cap)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_LOGIN_RESP);
    ufrpc_msg_set_str(&m.u.login_resp.version, "0.70.0");
    ufrpc_msg_set_str(&m.u.login_resp.run_id, run_id);
    ufrpc_msg_set_str(&m.u.login_resp.error, error);
    size_t n = server_msg(s, &m, out, cap);
    ufrpc_msg_free(&m);
    if (!error) {
        assert_int_equal(ufrpc_cfb_writer_init_rng(&s->wr, s->key, test_rng, &s->seed), 0);
        assert_int_equal(ufrpc_cfb_reader_init(&s->rd, s->key), 0);
        s->encrypted = 1;
    }
    return n;
}

static size_t server_simple(struct server *s, uint8_t type, uint8_t *out, size_t cap)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, type);
    size_t n = server_msg(s, &m, out, cap);
    ufrpc_msg_free(&m);
    return n;
}

/* ---- client side fixtures ------------------------------------------------ */
struct fixture {
    struct ufrpc_config cfg;
    struct ufrpc_proxy_config px[2];
    const char *scopes[2];
    struct ufrpc_registry *reg;
    struct ufrpc_ctl *ctl;
    uint64_t seed;
    int64_t unix_now;
    int logins;
    char run_id[64];
    int req_work_conns;
};

static void on_login(void *ctx, const char *run_id)
{
    struct fixture *fx = ctx;
    fx->logins++;
    snprintf(fx->run_id, sizeof fx->run_id, "%s", run_id);
}

static void on_req(void *ctx)
{
    ((struct fixture *)ctx)->req_work_conns++;
}

static void fixture_init(struct fixture *fx, const char *user, int hb_interval, int hb_timeout,
                         const char *prev_run_id)
{
    memset(fx, 0, sizeof *fx);
    fx->cfg.user = user;
    fx->cfg.transport.pool_count = 1;
    fx->cfg.transport.heartbeat_interval = hb_interval;
    fx->cfg.transport.heartbeat_timeout = hb_timeout;
    fx->cfg.auth.token = TOKEN;
    fx->px[0].name = "echo";
    fx->px[0].type = UFRPC_PROXY_TCP;
    fx->px[0].local_ip = "127.0.0.1";
    fx->px[0].local_port = 18080;
    fx->px[0].remote_port = 16000;
    fx->px[0].transport.bandwidth_limit_mode = "client";
    fx->px[1].name = "web";
    fx->px[1].type = UFRPC_PROXY_HTTP;
    fx->px[1].local_port = 80;
    static const char *domains[] = {"a.example.com"};
    fx->px[1].custom_domains.items = domains;
    fx->px[1].custom_domains.len = 1;
    fx->px[1].transport.use_encryption = true;
    fx->cfg.proxies = fx->px;
    fx->cfg.nproxies = 2;
    assert_int_equal(ufrpc_registry_new(user, NULL, NULL, &fx->reg), 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(ufrpc_registry_add(fx->reg, UFRPC_TUNNEL_PROXY, fx->px[i].name,
                                            ufrpc_proxy_type_name(fx->px[i].type), &fx->px[i], 0,
                                            NULL),
                         0);
    fx->seed = 7;
    fx->unix_now = TS;
    struct ufrpc_ctl_opts o = {0};
    o.cfg = &fx->cfg;
    o.reg = fx->reg;
    o.token = TOKEN;
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), o.key), 0);
    o.hostname = "testhost";
    o.prev_run_id = prev_run_id;
    o.rng = test_rng;
    o.rng_ctx = &fx->seed;
    o.unix_now = fixed_unix;
    o.clock_ctx = &fx->unix_now;
    o.cb.on_login = on_login;
    o.cb.on_req_work_conn = on_req;
    o.cb_ctx = fx;
    assert_int_equal(ufrpc_ctl_new(&o, &fx->ctl), 0);
}

static void fixture_free(struct fixture *fx)
{
    ufrpc_ctl_free(fx->ctl);
    ufrpc_registry_free(fx->reg);
}

static void check_login(const struct ufrpc_msg *m, const char *user, const char *run_id)
{
    assert_int_equal(m->type, UFRPC_MSG_LOGIN);
    const struct ufrpc_msg_login *l = &m->u.login;
    assert_string_equal(l->version, UFRPC_FRP_VERSION);
    assert_string_equal(l->hostname, "testhost");
    assert_string_equal(l->os, "linux");
    assert_string_equal(l->arch, ufrpc_ctl_build_arch());
    assert_int_equal(l->timestamp, TS);
    char key[33];
    ufrpc_auth_key_str(TOKEN, TS, key);
    assert_string_equal(l->privilege_key, key);
    assert_int_equal(l->pool_count, 1);
    if (user)
        assert_string_equal(l->user, user);
    else
        assert_null(l->user);
    if (run_id)
        assert_string_equal(l->run_id, run_id);
    else
        assert_null(l->run_id);
}

/* Login, LoginResp + encrypted ReqWorkConn in one read, NewProxy for both proxies,
 * NewProxyResp, Ping/Pong, NewWorkConn contents. */
static void test_login_encrypted_control_new_proxy_req_work_conn(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "u", 30, 90, NULL);
    struct server s;
    server_init(&s);

    assert_int_equal(ufrpc_ctl_start(fx.ctl, 1000), 0);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_LOGIN_SENT);
    assert_int_equal(ufrpc_ctl_next_deadline(fx.ctl), 11000);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 1);
    check_login(&s.got[0], "u", NULL);

    /* raw bytes of the Login frame: client_spec is always present */
    uint8_t buf[4096];
    size_t n = server_login_resp(&s, "f27db3c888145bdf", NULL, buf, sizeof buf);
    n += server_simple(&s, UFRPC_MSG_REQ_WORK_CONN, buf + n, sizeof buf - n);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 1100), 0);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_RUNNING);
    assert_int_equal(fx.logins, 1);
    assert_string_equal(fx.run_id, "f27db3c888145bdf");
    assert_string_equal(ufrpc_ctl_run_id(fx.ctl), "f27db3c888145bdf");
    assert_int_equal(fx.req_work_conns, 1); /* bytes after LoginResp were kept */

    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 4); /* Login, NewProxy x2, Ping */
    const struct ufrpc_msg_new_proxy *np = &s.got[1].u.new_proxy;
    assert_int_equal(s.got[1].type, UFRPC_MSG_NEW_PROXY);
    assert_string_equal(np->proxy_name, "u.echo");
    assert_string_equal(np->proxy_type, "tcp");
    assert_int_equal(np->remote_port, 16000);
    assert_null(np->bandwidth_limit_mode); /* "client" is left out */
    np = &s.got[2].u.new_proxy;
    assert_string_equal(np->proxy_name, "u.web");
    assert_string_equal(np->proxy_type, "http");
    assert_true(np->use_encryption);
    assert_int_equal(np->custom_domains.n, 1);
    assert_string_equal(np->custom_domains.items[0], "a.example.com");
    assert_int_equal(np->remote_port, 0);
    assert_int_equal(s.got[3].type, UFRPC_MSG_PING);
    assert_null(s.got[3].u.ping.privilege_key); /* no HeartBeats scope */

    /* NewProxyResp: one ok, one error; Pong */
    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_NEW_PROXY_RESP);
    ufrpc_msg_set_str(&r.u.new_proxy_resp.proxy_name, "u.echo");
    ufrpc_msg_set_str(&r.u.new_proxy_resp.remote_addr, ":16000");
    n = server_msg(&s, &r, buf, sizeof buf);
    ufrpc_msg_set_str(&r.u.new_proxy_resp.proxy_name, "u.web");
    ufrpc_msg_set_str(&r.u.new_proxy_resp.remote_addr, NULL);
    ufrpc_msg_set_str(&r.u.new_proxy_resp.error, "router config conflict");
    n += server_msg(&s, &r, buf + n, sizeof buf - n);
    ufrpc_msg_free(&r);
    n += server_simple(&s, UFRPC_MSG_PONG, buf + n, sizeof buf - n);
    /* feed byte by byte: any split works */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf + i, 1, 1200), 0);
    struct ufrpc_tunnel *echo = ufrpc_registry_find(fx.reg, UFRPC_TUNNEL_PROXY, "echo");
    struct ufrpc_tunnel *web = ufrpc_registry_find(fx.reg, UFRPC_TUNNEL_PROXY, "web");
    assert_int_equal(echo->state, UFRPC_TUNNEL_RUNNING);
    assert_string_equal(echo->remote_addr, ":16000");
    assert_int_equal(web->state, UFRPC_TUNNEL_START_ERROR);
    assert_string_equal(web->last_error, "router config conflict");

    /* NewWorkConn for a work stream */
    struct ufrpc_msg w;
    assert_int_equal(ufrpc_ctl_build_new_work_conn(fx.ctl, &w), 0);
    assert_string_equal(w.u.new_work_conn.run_id, "f27db3c888145bdf");
    assert_null(w.u.new_work_conn.privilege_key);
    ufrpc_msg_free(&w);

    /* timers: next Ping at 1100 + 30 s; proxy check every 3 s */
    assert_int_equal(ufrpc_ctl_next_deadline(fx.ctl), 4100);
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 4100), 0);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 4); /* nothing due yet */
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 31100), 0);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 5);
    assert_int_equal(s.got[4].type, UFRPC_MSG_PING);
    /* start error retried after 30 s */
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 34100), 0);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 6);
    assert_int_equal(s.got[5].type, UFRPC_MSG_NEW_PROXY);
    assert_string_equal(s.got[5].u.new_proxy.proxy_name, "u.web");

    /* shutdown: CloseProxy for each */
    assert_int_equal(ufrpc_ctl_close_proxies(fx.ctl, 35000), 2);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 8);
    assert_int_equal(s.got[6].type, UFRPC_MSG_CLOSE_PROXY);
    assert_string_equal(s.got[6].u.close_proxy.proxy_name, "u.echo");
    assert_string_equal(s.got[7].u.close_proxy.proxy_name, "u.web");

    server_free(&s);
    fixture_free(&fx);
}

static void test_auth_scopes_and_relogin_run_id(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, NULL, 30, 90, "f27db3c888145bdf");
    /* scopes are read at creation: rebuild the control with them */
    ufrpc_ctl_free(fx.ctl);
    fx.scopes[0] = "HeartBeats";
    fx.scopes[1] = "NewWorkConns";
    fx.cfg.auth.additional_scopes.items = fx.scopes;
    fx.cfg.auth.additional_scopes.len = 2;
    struct ufrpc_ctl_opts o = {0};
    o.cfg = &fx.cfg;
    o.reg = fx.reg;
    o.token = TOKEN;
    ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), o.key);
    o.hostname = "testhost";
    o.prev_run_id = "f27db3c888145bdf";
    o.rng = test_rng;
    o.rng_ctx = &fx.seed;
    o.unix_now = fixed_unix;
    o.clock_ctx = &fx.unix_now;
    assert_int_equal(ufrpc_ctl_new(&o, &fx.ctl), 0);

    struct server s;
    server_init(&s);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    server_drain(&s, fx.ctl);
    check_login(&s.got[0], NULL, "f27db3c888145bdf");
    uint8_t buf[1024];
    size_t n = server_login_resp(&s, "f27db3c888145bdf", NULL, buf, sizeof buf);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 10), 0);
    fx.unix_now = TS + 5;
    server_drain(&s, fx.ctl);
    assert_int_equal(s.got[1].type, UFRPC_MSG_NEW_PROXY);
    assert_string_equal(s.got[1].u.new_proxy.proxy_name, "echo"); /* no user: no prefix */
    const struct ufrpc_msg *ping = &s.got[3];
    assert_int_equal(ping->type, UFRPC_MSG_PING);
    char key[33];
    ufrpc_auth_key_str(TOKEN, ping->u.ping.timestamp, key);
    assert_string_equal(ping->u.ping.privilege_key, key);
    struct ufrpc_msg w;
    assert_int_equal(ufrpc_ctl_build_new_work_conn(fx.ctl, &w), 0);
    assert_int_equal(w.u.new_work_conn.timestamp, TS + 5);
    ufrpc_auth_key_str(TOKEN, TS + 5, key);
    assert_string_equal(w.u.new_work_conn.privilege_key, key);
    ufrpc_msg_free(&w);
    server_free(&s);
    fixture_free(&fx);
}

static void test_login_error_text(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, NULL, -1, -1, NULL);
    struct server s;
    server_init(&s);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    uint8_t buf[512];
    size_t n = server_login_resp(&s, NULL, "token in login doesn't match token from configuration",
                                 buf, sizeof buf);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 5), UFRPC_ERR_LOGIN);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    assert_string_equal(ufrpc_ctl_error(fx.ctl),
                        "token in login doesn't match token from configuration");
    assert_int_equal(fx.logins, 0);
    /* further input is refused */
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, 1, 6), UFRPC_ERR_LOGIN);
    server_free(&s);
    fixture_free(&fx);
}

static void test_login_timeout_and_eof(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, NULL, -1, -1, NULL);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 500), 0);
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 10499), 0);
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 10500), UFRPC_ERR_TIMEOUT);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    assert_int_equal(ufrpc_ctl_next_deadline(fx.ctl), UINT64_MAX);
    fixture_free(&fx);

    fixture_init(&fx, NULL, -1, -1, NULL);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    ufrpc_ctl_on_eof(fx.ctl, 0);
    assert_int_equal(ufrpc_ctl_error_code(fx.ctl), UFRPC_ERR_EOF);
    assert_non_null(strstr(ufrpc_ctl_error(fx.ctl), "EOF"));
    fixture_free(&fx);
}

static void test_heartbeat_timeout_and_pong_error(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, NULL, 3, 9, NULL);
    struct server s;
    server_init(&s);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    server_drain(&s, fx.ctl); /* the plaintext Login */
    uint8_t buf[1024];
    size_t n = server_login_resp(&s, "r1", NULL, buf, sizeof buf);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 0), 0);
    /* Pings at 0, 3000, 6000...; Pong at 4000 moves the deadline to 13000 */
    for (uint64_t t = 1000; t <= 4000; t += 1000)
        assert_int_equal(ufrpc_ctl_tick(fx.ctl, t), 0);
    n = server_simple(&s, UFRPC_MSG_PONG, buf, sizeof buf);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 4000), 0);
    for (uint64_t t = 5000; t <= 13000; t += 1000)
        assert_int_equal(ufrpc_ctl_tick(fx.ctl, t), 0);
    server_drain(&s, fx.ctl);
    size_t pings = 0;
    for (size_t i = 0; i < s.ngot; i++)
        pings += s.got[i].type == UFRPC_MSG_PING;
    assert_int_equal(pings, 5); /* 0, 3000, 6000, 9000, 12000 */
    assert_int_equal(ufrpc_ctl_tick(fx.ctl, 13001), UFRPC_ERR_HEARTBEAT);
    assert_string_equal(ufrpc_ctl_error(fx.ctl), "heartbeat timeout");
    server_free(&s);
    fixture_free(&fx);

    fixture_init(&fx, NULL, -1, -1, NULL);
    server_init(&s);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    server_drain(&s, fx.ctl);
    n = server_login_resp(&s, "r1", NULL, buf, sizeof buf);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 0), 0);
    server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 3); /* heartbeats off: no immediate Ping */
    /* a keepalive Ping still goes out every 30 s, and a missing Pong is no error */
    assert_int_equal(ufrpc_ctl_next_deadline(fx.ctl), 3000);
    for (uint64_t t = 3000; t <= 90000; t += 3000)
        assert_int_equal(ufrpc_ctl_tick(fx.ctl, t), 0);
    server_drain(&s, fx.ctl);
    pings = 0;
    for (size_t i = 0; i < s.ngot; i++)
        pings += s.got[i].type == UFRPC_MSG_PING;
    assert_int_equal(pings, 3);
    struct ufrpc_msg pong;
    ufrpc_msg_init(&pong, UFRPC_MSG_PONG);
    ufrpc_msg_set_str(&pong.u.pong.error, "invalid privilege key");
    n = server_msg(&s, &pong, buf, sizeof buf);
    ufrpc_msg_free(&pong);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 91000), UFRPC_ERR_PONG);
    assert_string_equal(ufrpc_ctl_error(fx.ctl), "invalid privilege key");
    server_free(&s);
    fixture_free(&fx);
}

static void test_corrupt_frame_closes(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, NULL, -1, -1, NULL);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    const uint8_t junk[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, junk, sizeof junk, 0), UFRPC_ERR_MSG_TYPE);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    fixture_free(&fx);

    fixture_init(&fx, NULL, -1, -1, NULL);
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    const uint8_t bad_json[] = {'1', 0, 0, 0, 0, 0, 0, 0, 3, '{', 'x', '}'};
    assert_true(ufrpc_ctl_feed(fx.ctl, bad_json, sizeof bad_json, 0) < 0);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    fixture_free(&fx);
}

/* ---- wire protocol v2: a scripted frps ≥ 0.69 ---------------------------- */
struct v2server {
    const char *token;      /* the server's auth.token (HKDF input) */
    const char *hello_error; /* answer the ClientHello with this error */
    struct ufrpc_v2_client_hello ch;
    struct ufrpc_v2chan *chan; /* write K_s2c, read K_c2s */
    struct ufrpc_msg got[32];
    size_t ngot;
    uint64_t seed;
};

/* Takes the client's first output (magic | ClientHello | Login), checks it and
 * answers ServerHello (+ plaintext LoginResp with run_id/login_error) into out. */
static size_t v2server_handshake(struct v2server *s, struct ufrpc_ctl *ctl, const char *run_id,
                                 const char *login_error, uint8_t *out, size_t cap)
{
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(ctl, &p, &n);
    assert_true(n > UFRPC_FRAME_V2_MAGIC_LEN);
    assert_int_equal(ufrpc_frame_v2_magic_check(p, n), 1);
    const uint8_t *in = p + UFRPC_FRAME_V2_MAGIC_LEN;
    size_t len = n - UFRPC_FRAME_V2_MAGIC_LEN;
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    ufrpc_frame_v2_decoder_init(dec);
    struct ufrpc_frame_v2 f;
    size_t used = 0;
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, in, len, &used, &f), 1);
    assert_int_equal(f.type, UFRPC_FRAME_V2_CLIENT_HELLO);
    uint8_t *chp = malloc(f.payload_len);
    memcpy(chp, f.payload, f.payload_len);
    size_t chlen = f.payload_len;
    free(dec);
    in += used;
    len -= used;
    assert_int_equal(ufrpc_v2hello_parse_client((const char *)chp, chlen, &s->ch), 0);
    assert_true(s->ch.codec_json);
    assert_string_equal(s->ch.transport, "tcp");
    /* then the Login, plaintext, in the same write */
    struct ufrpc_v2msg_reader *rd = malloc(sizeof *rd);
    ufrpc_v2msg_reader_init(rd, false);
    assert_int_equal(ufrpc_v2msg_reader_feed(rd, in, len, &used, &s->got[0]), 1);
    free(rd);
    assert_int_equal(used, len);
    s->ngot = 1;
    ufrpc_ctl_consume(ctl, n);

    size_t w = 0;
    char *json;
    size_t jlen;
    if (s->hello_error) {
        assert_int_equal(ufrpc_v2hello_build_server_error(s->hello_error, &json, &jlen), 0);
        assert_int_equal(ufrpc_frame_v2_encode(UFRPC_FRAME_V2_SERVER_HELLO, json, jlen, out, cap, &w), 0);
        free(json);
        free(chp);
        return w;
    }
    ufrpc_aead_alg_t alg;
    assert_int_equal(ufrpc_v2hello_server_select(&s->ch, &alg, NULL, 0), 0);
    uint8_t rnd[UFRPC_V2_RANDOM_LEN];
    test_rng(&s->seed, rnd, sizeof rnd);
    assert_int_equal(ufrpc_v2hello_build_server(alg, rnd, &json, &jlen), 0);
    assert_int_equal(ufrpc_frame_v2_encode(UFRPC_FRAME_V2_SERVER_HELLO, json, jlen, out, cap, &w), 0);
    uint8_t th[UFRPC_V2_TH_LEN], kc[UFRPC_AEAD_KEY_LEN], ks[UFRPC_AEAD_KEY_LEN];
    assert_int_equal(ufrpc_v2crypto_transcript_hash(chp, chlen, (const uint8_t *)json, jlen, th), 0);
    free(json);
    free(chp);
    assert_int_equal(ufrpc_v2crypto_derive_keys((const uint8_t *)s->token, strlen(s->token), th,
                                                alg, kc, ks),
                     0);
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_LOGIN_RESP);
    ufrpc_msg_set_str(&m.u.login_resp.version, "0.69.0");
    ufrpc_msg_set_str(&m.u.login_resp.run_id, run_id);
    ufrpc_msg_set_str(&m.u.login_resp.error, login_error);
    uint8_t *lr;
    size_t lrlen;
    assert_int_equal(ufrpc_v2msg_encode(&m, false, &lr, &lrlen), 0);
    ufrpc_msg_free(&m);
    assert_true(w + lrlen <= cap);
    memcpy(out + w, lr, lrlen);
    w += lrlen;
    free(lr);
    struct ufrpc_v2chan_opts co = {alg, ks, kc, NULL, test_rng, &s->seed};
    assert_int_equal(ufrpc_v2chan_new(&co, &s->chan), 0);
    return w;
}

/* Decrypts everything the client queued since into s->got. */
static void v2server_drain(struct v2server *s, struct ufrpc_ctl *ctl)
{
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(ctl, &p, &n);
    for (;;) {
        size_t used = 0;
        assert_true(s->ngot < 32);
        int rc = ufrpc_v2chan_feed(s->chan, p, n, &used, &s->got[s->ngot]);
        assert_true(rc >= 0);
        p += used;
        n -= used;
        if (rc == 0)
            break;
        s->ngot++;
    }
    ufrpc_ctl_consume(ctl, SIZE_MAX);
}

static size_t v2server_msg(struct v2server *s, const struct ufrpc_msg *m, uint8_t *out, size_t cap)
{
    uint8_t *b;
    size_t n;
    assert_int_equal(ufrpc_v2chan_encode(s->chan, m, &b, &n), 0);
    assert_true(n <= cap);
    memcpy(out, b, n);
    free(b);
    return n;
}

static void v2server_free(struct v2server *s)
{
    for (size_t i = 0; i < s->ngot; i++)
        ufrpc_msg_free(&s->got[i]);
    ufrpc_v2hello_client_free(&s->ch);
    ufrpc_v2chan_free(s->chan);
}

/* v2: magic + ClientHello + Login at once, ServerHello + LoginResp + encrypted
 * ReqWorkConn in one read, NewProxy/Ping over the AEAD channel, NewProxyResp. */
static void test_v2_login_control(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "u", 30, 90, NULL);
    ufrpc_ctl_free(fx.ctl);
    fx.cfg.transport.wire_protocol = "v2";
    struct ufrpc_ctl_opts o = {0};
    o.cfg = &fx.cfg;
    o.reg = fx.reg;
    o.token = TOKEN;
    o.hostname = "testhost";
    o.rng = test_rng;
    o.rng_ctx = &fx.seed;
    o.unix_now = fixed_unix;
    o.clock_ctx = &fx.unix_now;
    o.cb.on_login = on_login;
    o.cb.on_req_work_conn = on_req;
    o.cb_ctx = &fx;
    assert_int_equal(ufrpc_ctl_new(&o, &fx.ctl), 0);

    struct v2server s = {.token = TOKEN, .seed = 5};
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 1000), 0);
    assert_int_equal(ufrpc_ctl_next_deadline(fx.ctl), 11000);
    uint8_t buf[8192];
    size_t n = v2server_handshake(&s, fx.ctl, "runv2", NULL, buf, sizeof buf);
    check_login(&s.got[0], "u", NULL);
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN);
    n += v2server_msg(&s, &m, buf + n, sizeof buf - n);
    ufrpc_msg_free(&m);
    /* nothing before LoginResp completes changes the state; split the input */
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, 5, 1050), 0);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_LOGIN_SENT);
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf + 5, n - 5, 1100), 0);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_RUNNING);
    assert_string_equal(fx.run_id, "runv2");
    assert_int_equal(fx.req_work_conns, 1); /* AEAD bytes after LoginResp were kept */

    v2server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 4); /* Login, NewProxy x2, Ping */
    assert_int_equal(s.got[1].type, UFRPC_MSG_NEW_PROXY);
    assert_string_equal(s.got[1].u.new_proxy.proxy_name, "u.echo");
    assert_int_equal(s.got[1].u.new_proxy.remote_port, 16000);
    assert_string_equal(s.got[2].u.new_proxy.proxy_name, "u.web");
    assert_int_equal(s.got[3].type, UFRPC_MSG_PING);

    ufrpc_msg_init(&m, UFRPC_MSG_NEW_PROXY_RESP);
    ufrpc_msg_set_str(&m.u.new_proxy_resp.proxy_name, "u.echo");
    ufrpc_msg_set_str(&m.u.new_proxy_resp.remote_addr, ":16000");
    n = v2server_msg(&s, &m, buf, sizeof buf);
    ufrpc_msg_free(&m);
    ufrpc_msg_init(&m, UFRPC_MSG_PONG);
    n += v2server_msg(&s, &m, buf + n, sizeof buf - n);
    ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN);
    n += v2server_msg(&s, &m, buf + n, sizeof buf - n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf + i, 1, 1200), 0);
    struct ufrpc_tunnel *echo = ufrpc_registry_find(fx.reg, UFRPC_TUNNEL_PROXY, "echo");
    assert_int_equal(echo->state, UFRPC_TUNNEL_RUNNING);
    assert_string_equal(echo->remote_addr, ":16000");
    assert_int_equal(fx.req_work_conns, 2);

    assert_int_equal(ufrpc_ctl_close_proxies(fx.ctl, 2000), 2);
    v2server_drain(&s, fx.ctl);
    assert_int_equal(s.ngot, 6);
    assert_int_equal(s.got[4].type, UFRPC_MSG_CLOSE_PROXY);
    assert_string_equal(s.got[5].u.close_proxy.proxy_name, "u.web");

    /* a flipped bit in the server's stream ends the session */
    ufrpc_msg_init(&m, UFRPC_MSG_PONG);
    n = v2server_msg(&s, &m, buf, sizeof buf);
    buf[n - 1] ^= 1;
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 1300), UFRPC_ERR_AEAD_AUTH);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    assert_string_equal(ufrpc_ctl_error(fx.ctl), "control decryption failed");

    v2server_free(&s);
    fixture_free(&fx);
}

/* v2 failures: ServerHello error text verbatim, LoginResp error, wrong token
 * (keys differ: the first encrypted message fails authentication). */
static void v2_fail_case(const char *srv_token, const char *hello_error, const char *login_error,
                         int want_rc, const char *want_text)
{
    struct fixture fx;
    fixture_init(&fx, NULL, 30, 90, NULL);
    ufrpc_ctl_free(fx.ctl);
    fx.cfg.transport.wire_protocol = "v2";
    struct ufrpc_ctl_opts o = {0};
    o.cfg = &fx.cfg;
    o.reg = fx.reg;
    o.token = TOKEN;
    o.rng = test_rng;
    o.rng_ctx = &fx.seed;
    o.cb.on_login = on_login;
    o.cb_ctx = &fx;
    assert_int_equal(ufrpc_ctl_new(&o, &fx.ctl), 0);
    struct v2server s = {.token = srv_token, .hello_error = hello_error, .seed = 6};
    assert_int_equal(ufrpc_ctl_start(fx.ctl, 0), 0);
    uint8_t buf[8192];
    size_t n = v2server_handshake(&s, fx.ctl, "r", login_error, buf, sizeof buf);
    if (s.chan) {
        struct ufrpc_msg m;
        ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN);
        n += v2server_msg(&s, &m, buf + n, sizeof buf - n);
    }
    assert_int_equal(ufrpc_ctl_feed(fx.ctl, buf, n, 10), want_rc);
    assert_int_equal(ufrpc_ctl_state(fx.ctl), UFRPC_CTL_CLOSED);
    assert_string_equal(ufrpc_ctl_error(fx.ctl), want_text);
    assert_int_equal(fx.req_work_conns, 0);
    v2server_free(&s);
    fixture_free(&fx);
}

static void test_v2_failures(void **state)
{
    (void)state;
    v2_fail_case(TOKEN, "no supported crypto algorithm", NULL, UFRPC_ERR_V2_HELLO,
                 "no supported crypto algorithm");
    v2_fail_case(TOKEN, NULL, "token in login doesn't match token from configuration",
                 UFRPC_ERR_LOGIN, "token in login doesn't match token from configuration");
    v2_fail_case("othertoken", NULL, NULL, UFRPC_ERR_AEAD_AUTH, "control decryption failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_encrypted_control_new_proxy_req_work_conn),
        cmocka_unit_test(test_auth_scopes_and_relogin_run_id),
        cmocka_unit_test(test_login_error_text),
        cmocka_unit_test(test_login_timeout_and_eof),
        cmocka_unit_test(test_heartbeat_timeout_and_pong_error),
        cmocka_unit_test(test_corrupt_frame_closes),
        cmocka_unit_test(test_v2_login_control),
        cmocka_unit_test(test_v2_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
