/* client/visitor: stcp / sudp / xtcp visitors over real loopback sockets. The test
 * plays frps: it accepts the visitor's streams, checks NewVisitorConn byte for
 * byte, answers NewVisitorConnResp (or an error, or nothing), then echoes (stcp)
 * or answers UDPPacket frames (sudp), with and without the secret-key encryption
 * and compression layers of net/xform. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/udp_channel.h"
#include "client/core/visitor.h"
#include "net/nettest.h"
#include "net/tcp.h"
#include "net/xform.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define TS 1700000000
#define SK "abc"
/* md5("abc1700000000") */
#define SIGN "22bd6333f840eeeee03ad14f75fd96ac"

enum mode { M_OK, M_ERR, M_SILENT, M_SUDP };

struct fx;
struct sconn {
    struct fx *f;
    struct ufrpc_stream *s; /* raw, then wrapped */
    struct ufrpc_frame_decoder dec;
    int done_hs;
};

struct fx {
    uv_loop_t loop;
    ufrpc_tcp_listener_t *l; /* fake frps */
    enum mode mode;
    bool enc, comp;
    uint8_t key[16];
    struct sconn *sc[8];
    int nsc;
    uint8_t first[2048]; /* the first NewVisitorConn frame, as received */
    size_t first_len;
    int udp_frames_seen;
    int64_t last_r_port;
    int open_fail_sync;
    /* visitors */
    ufrpc_visitor_t *vis[3];
    int vclosed;
};

/* ---- small write helper ---- */
struct wr {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    uint8_t bytes[];
};
static void wr_done(struct ufrpc_stream_write *w, int status)
{
    (void)status;
    free(w->data);
}
static void swrite(struct ufrpc_stream *s, const void *p, size_t n)
{
    struct wr *x = malloc(sizeof *x + n);
    assert_non_null(x);
    memcpy(x->bytes, p, n);
    x->b = uv_buf_init((char *)x->bytes, (unsigned)n);
    x->w.data = x;
    assert_int_equal(ufrpc_stream_write(s, &x->w, &x->b, 1, wr_done), 0);
}

static void swrite_msg(struct ufrpc_stream *s, struct ufrpc_msg *m, const char *extra)
{
    uint8_t *fr;
    size_t n;
    assert_int_equal(ufrpc_msg_encode_frame(m, &fr, &n), 0);
    size_t e = extra != NULL ? strlen(extra) : 0;
    uint8_t *all = malloc(n + e);
    memcpy(all, fr, n);
    if (e > 0)
        memcpy(all + n, extra, e);
    swrite(s, all, n + e);
    free(all);
    free(fr);
}

/* ---- fake frps ---- */
static void srv_echo_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                          size_t len)
{
    (void)buf;
    if (status < 0) {
        ufrpc_stream_read_stop(s);
        return;
    }
    swrite(s, data, len);
}

static void srv_udp_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                         size_t len)
{
    struct sconn *sc = s->data;
    (void)buf;
    if (status < 0) {
        ufrpc_stream_read_stop(s);
        return;
    }
    while (len > 0) {
        size_t used;
        struct ufrpc_frame fr;
        int rc = ufrpc_frame_decoder_feed(&sc->dec, data, len, &used, &fr);
        assert_true(rc >= 0);
        data += used;
        len -= used;
        if (rc == 0)
            break;
        assert_int_equal(fr.type, UFRPC_MSG_UDP_PACKET);
        struct ufrpc_msg m;
        assert_int_equal(ufrpc_msg_decode(fr.type, fr.body, fr.body_len, &m), 0);
        struct ufrpc_msg_udp_packet *u = &m.u.udp_packet;
        assert_non_null(u->raddr);
        assert_null(u->laddr);
        assert_string_equal(u->raddr->ip, "127.0.0.1");
        sc->f->udp_frames_seen++;
        sc->f->last_r_port = u->raddr->port;
        struct ufrpc_msg r;
        ufrpc_msg_init(&r, UFRPC_MSG_UDP_PACKET);
        uint8_t tmp[2048];
        memcpy(tmp, "re:", 3);
        memcpy(tmp + 3, u->content.data, u->content.len);
        assert_int_equal(ufrpc_bytes_set(&r.u.udp_packet.content, tmp, u->content.len + 3), 0);
        assert_int_equal(ufrpc_udp_addr_set(&r.u.udp_packet.raddr, u->raddr->ip, u->raddr->port, ""), 0);
        swrite_msg(s, &r, NULL);
        ufrpc_msg_free(&r);
        ufrpc_msg_free(&m);
    }
}

static void srv_hs_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                        size_t len)
{
    struct sconn *sc = s->data;
    struct fx *f = sc->f;
    (void)buf;
    if (status < 0) {
        ufrpc_stream_read_stop(s);
        return;
    }
    size_t used;
    struct ufrpc_frame fr;
    int rc = ufrpc_frame_decoder_feed(&sc->dec, data, len, &used, &fr);
    assert_true(rc >= 0);
    if (rc == 0)
        return;
    assert_int_equal(used, len); /* the visitor waits for the answer */
    if (f->first_len == 0) {
        f->first[0] = fr.type;
        ufrpc_frame_encode_header(fr.type, fr.body_len, f->first);
        memcpy(f->first + 9, fr.body, fr.body_len);
        f->first_len = 9 + fr.body_len;
    }
    if (f->mode == M_SILENT)
        return;
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
    ufrpc_msg_set_str(&m.u.new_visitor_conn_resp.proxy_name, "alice.web");
    if (f->mode == M_ERR) {
        ufrpc_msg_set_str(&m.u.new_visitor_conn_resp.error, "authorization failed");
        swrite_msg(s, &m, NULL);
        ufrpc_msg_free(&m);
        return;
    }
    bool wrap = f->enc || f->comp;
    ufrpc_stream_read_stop(s);
    /* plain: the answer and the first payload bytes in one write, so that the
     * visitor must hand the rest of its read on (prefix stream) */
    swrite_msg(s, &m, (!wrap && f->mode == M_OK) ? "BANNER" : NULL);
    ufrpc_msg_free(&m);
    if (wrap) {
        struct ufrpc_stream *w;
        assert_int_equal(ufrpc_xform_wrap(s, f->enc, f->key, f->comp, NULL, &w), 0);
        sc->s = s = w;
        s->data = sc;
        if (f->mode == M_OK)
            swrite(s, "BANNER", 6);
    }
    ufrpc_frame_decoder_reset(&sc->dec);
    if (f->mode == M_SUDP) {
        static const uint8_t ping[] = {'h', 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
        swrite(s, ping, sizeof ping); /* the proxy side pings: ignored */
        assert_int_equal(ufrpc_stream_read_start(s, srv_udp_read), 0);
    } else {
        assert_int_equal(ufrpc_stream_read_start(s, srv_echo_read), 0);
    }
}

static void srv_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct fx *f = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    assert_true(f->nsc < 8);
    struct sconn *sc = calloc(1, sizeof *sc);
    sc->f = f;
    sc->s = c;
    ufrpc_frame_decoder_init(&sc->dec);
    c->data = sc;
    f->sc[f->nsc++] = sc;
    assert_int_equal(ufrpc_stream_read_start(c, srv_hs_read), 0);
}

/* ---- env callbacks (the owner's side) ---- */
struct opening {
    uv_connect_t req;
    struct ufrpc_stream *s;
    ufrpc_visitor_stream_cb cb;
    void *arg;
};
static void open_connected(uv_connect_t *r, int status)
{
    struct opening *o = r->data;
    if (status < 0) {
        ufrpc_stream_close(o->s, NULL);
        o->cb(o->arg, ufrpc_net_uv_err(status), NULL);
    } else {
        o->cb(o->arg, 0, o->s);
    }
    free(o);
}
static int env_open(void *data, ufrpc_visitor_stream_cb cb, void *arg)
{
    struct fx *f = data;
    if (f->open_fail_sync)
        return UFRPC_ERR_CONNECT;
    int err;
    struct opening *o = calloc(1, sizeof *o);
    o->s = ufrpc_tcp_new(&f->loop, &err);
    assert_non_null(o->s);
    o->cb = cb;
    o->arg = arg;
    o->req.data = o;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", ufrpc_tcp_listener_port(f->l), &a);
    assert_int_equal(uv_tcp_connect(&o->req, ufrpc_tcp_handle(o->s), (struct sockaddr *)&a, open_connected), 0);
    return 0;
}
static const char *env_run_id(void *data)
{
    (void)data;
    return "run-1";
}
static int64_t env_now(void *data)
{
    (void)data;
    return TS;
}
static int env_wrap(void *data, struct ufrpc_stream *s, bool enc, bool comp, const char *sk,
                    struct ufrpc_stream **out)
{
    struct fx *f = data;
    uint8_t key[16];
    assert_string_equal(sk, SK);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)sk, strlen(sk), key), 0);
    assert_memory_equal(key, f->key, 16);
    return ufrpc_xform_wrap(s, enc, key, comp, NULL, out);
}
static ufrpc_visitor_t *env_lookup(void *data, const char *name)
{
    struct fx *f = data;
    for (int i = 0; i < 3; i++)
        if (f->vis[i] != NULL && strcmp(ufrpc_visitor_name(f->vis[i]), name) == 0)
            return f->vis[i];
    return NULL;
}

static void fx_setup(struct fx *f, struct ufrpc_visitor_env *env)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    int err;
    f->l = ufrpc_tcp_listen(&f->loop, "127.0.0.1", 0, srv_accept, f, &err);
    assert_non_null(f->l);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)SK, 3, f->key), 0);
    memset(env, 0, sizeof *env);
    env->loop = &f->loop;
    env->user = "alice";
    env->open_stream = env_open;
    env->run_id = env_run_id;
    env->wrap = env_wrap;
    env->lookup = env_lookup;
    env->now_s = env_now;
    env->data = f;
}

static void vis_closed(void *data)
{
    ((struct fx *)data)->vclosed++;
}

static void fx_teardown(struct fx *f)
{
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (f->vis[i] != NULL) {
            ufrpc_visitor_close(f->vis[i], vis_closed, f);
            n++;
        }
    for (int i = 0; i < 200 && f->vclosed < n; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->vclosed, n);
    for (int i = 0; i < f->nsc; i++) {
        ufrpc_stream_close(f->sc[i]->s, NULL);
        free(f->sc[i]);
    }
    ufrpc_tcp_listener_close(f->l, NULL);
    assert_true(nt_loop_drain(&f->loop));
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void vcfg(struct ufrpc_visitor_config *c, const char *name, ufrpc_visitor_type t)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->type = t;
    c->secret_key = SK;
    c->server_name = "web";
    c->bind_addr = "127.0.0.1";
    c->bind_port = 0;
}

/* ---- a local user (TCP) ---- */
struct user {
    struct ufrpc_stream *s;
    uv_connect_t req;
    int connected, eof, err;
    char in[256];
    size_t in_len;
};
static void user_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    struct user *u = s->data;
    (void)buf;
    if (status == UFRPC_ERR_EOF) {
        u->eof = 1;
        return;
    }
    if (status < 0) {
        u->err = status;
        return;
    }
    assert_true(u->in_len + len < sizeof u->in);
    memcpy(u->in + u->in_len, data, len);
    u->in_len += len;
}
static void user_connected(uv_connect_t *r, int status)
{
    struct user *u = r->data;
    assert_int_equal(status, 0);
    u->connected = 1;
    assert_int_equal(ufrpc_stream_read_start(u->s, user_read), 0);
}
static void user_connect(struct fx *f, struct user *u, uint16_t port)
{
    int err;
    memset(u, 0, sizeof *u);
    u->s = ufrpc_tcp_new(&f->loop, &err);
    u->s->data = u;
    u->req.data = u;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    assert_int_equal(uv_tcp_connect(&u->req, ufrpc_tcp_handle(u->s), (struct sockaddr *)&a, user_connected), 0);
}
struct uwant {
    struct user *u;
    const char *text;
};
static int p_user_has(void *a)
{
    struct uwant *w = a;
    return w->u->in_len >= strlen(w->text) || w->u->eof || w->u->err;
}
static void user_expect(struct fx *f, struct user *u, const char *text)
{
    struct uwant w = {u, text};
    assert_true(nt_run_until(&f->loop, p_user_has, &w, 3000));
    assert_int_equal(u->in_len, strlen(text));
    assert_memory_equal(u->in, text, u->in_len);
}
static int p_user_closed(void *a)
{
    struct user *u = a;
    return u->eof || u->err;
}

/* ---- tests ---- */
static void test_new_conn_frame_bytes(void **state)
{
    (void)state;
    uint8_t *fr;
    size_t n;
    static const char want[] = "{\"run_id\":\"run-1\",\"proxy_name\":\"alice.web\",\"sign_key\":\"" SIGN
                               "\",\"timestamp\":1700000000,\"use_encryption\":true,\"use_compression\":true}";
    assert_int_equal(ufrpc_visitor_new_conn_frame("run-1", "alice", NULL, "web", SK, TS, true, true, &fr, &n), 0);
    assert_int_equal(n, 9 + sizeof want - 1);
    static const uint8_t hdr[9] = {'v', 0, 0, 0, 0, 0, 0, 0, sizeof want - 1};
    assert_memory_equal(fr, hdr, 9);
    assert_memory_equal(fr + 9, want, sizeof want - 1);
    free(fr);
    /* serverUser wins over the own user; no user at all: no prefix; false omitted */
    assert_int_equal(ufrpc_visitor_new_conn_frame("", "alice", "bob", "web", SK, TS, false, false, &fr, &n), 0);
    static const char want2[] = "{\"proxy_name\":\"bob.web\",\"sign_key\":\"" SIGN "\",\"timestamp\":1700000000}";
    assert_int_equal(n, 9 + sizeof want2 - 1);
    assert_memory_equal(fr + 9, want2, sizeof want2 - 1);
    free(fr);
    assert_int_equal(ufrpc_visitor_new_conn_frame("r", NULL, "", "web", SK, TS, false, false, &fr, &n), 0);
    assert_non_null(memmem(fr, n, "\"proxy_name\":\"web\"", 18));
    free(fr);
}

static void run_stcp(bool enc, bool comp)
{
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_OK;
    f.enc = enc;
    f.comp = comp;
    struct ufrpc_visitor_config c;
    vcfg(&c, "s1", UFRPC_VISITOR_STCP);
    c.transport.use_encryption = enc;
    c.transport.use_compression = comp;
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    assert_true(ufrpc_visitor_port(f.vis[0]) > 0);
    struct user u;
    user_connect(&f, &u, ufrpc_visitor_port(f.vis[0]));
    user_expect(&f, &u, "BANNER");
    /* NewVisitorConn as received by frps, byte for byte */
    uint8_t *want;
    size_t wn;
    assert_int_equal(ufrpc_visitor_new_conn_frame("run-1", "alice", NULL, "web", SK, TS, enc, comp, &want, &wn), 0);
    assert_int_equal(f.first_len, wn);
    assert_memory_equal(f.first, want, wn);
    assert_non_null(memmem(f.first, f.first_len, SIGN, 32));
    free(want);
    /* data both ways */
    swrite(u.s, "hello through the tunnel", 24);
    user_expect(&f, &u, "BANNERhello through the tunnel");
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_int_equal(st.conns_total, 1);
    assert_int_equal(st.conns_active, 1);
    assert_int_equal(st.conns_failed, 0);
    ufrpc_stream_close(u.s, NULL);
    fx_teardown(&f);
}

static void test_stcp_plain(void **state)
{
    (void)state;
    run_stcp(false, false);
}

static void test_stcp_encrypted_compressed(void **state)
{
    (void)state;
    run_stcp(true, false);
    run_stcp(false, true);
    run_stcp(true, true);
}

static void run_failure(enum mode mode, int open_fail_sync)
{
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = mode;
    f.open_fail_sync = open_fail_sync;
    env.resp_timeout_ms = 150;
    struct ufrpc_visitor_config c;
    vcfg(&c, "s1", UFRPC_VISITOR_STCP);
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    struct user u;
    uv_update_time(&f.loop);
    uint64_t t0 = uv_now(&f.loop);
    user_connect(&f, &u, ufrpc_visitor_port(f.vis[0]));
    assert_true(nt_run_until(&f.loop, p_user_closed, &u, 3000));
    uint64_t dt = uv_now(&f.loop) - t0;
    if (mode == M_SILENT)
        assert_true(dt >= 140);
    assert_int_equal(u.in_len, 0);
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_int_equal(st.conns_failed, 1);
    /* the visitor keeps working for the next user: frps answers this time */
    f.mode = M_OK;
    f.open_fail_sync = 0;
    struct user u2;
    user_connect(&f, &u2, ufrpc_visitor_port(f.vis[0]));
    user_expect(&f, &u2, "BANNER");
    ufrpc_stream_close(u.s, NULL);
    ufrpc_stream_close(u2.s, NULL);
    fx_teardown(&f);
}

static void test_resp_error(void **state)
{
    (void)state;
    run_failure(M_ERR, 0);
}

static void test_resp_timeout(void **state)
{
    (void)state;
    run_failure(M_SILENT, 0);
}

static void test_open_fails(void **state)
{
    (void)state;
    run_failure(M_OK, 1);
}

/* ---- sudp ---- */
struct uuser {
    uv_udp_t u;
    char tmp[256];
    char in[256];
    ssize_t in_len;
};
static void uu_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct uuser *x = h->data;
    (void)s;
    *b = uv_buf_init(x->tmp, sizeof x->tmp);
}
static void uu_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
    struct uuser *x = u->data;
    (void)flags;
    /* datagrams are collected as "a|b|" */
    if (n > 0 && from != NULL && x->in_len + n + 1 < (ssize_t)sizeof x->in) {
        memmove(x->in + x->in_len, b->base, (size_t)n);
        x->in_len += n;
        x->in[x->in_len++] = '|';
    }
}
static void uu_open(struct fx *f, struct uuser *x)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(uv_udp_init(&f->loop, &x->u), 0);
    x->u.data = x;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_bind(&x->u, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_udp_recv_start(&x->u, uu_alloc, uu_recv), 0);
}
static uint16_t uu_port(struct uuser *x)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_udp_getsockname(&x->u, (struct sockaddr *)&ss, &len);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
static void uu_send(struct uuser *x, uint16_t port, const char *text)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)strlen(text));
    assert_int_equal(uv_udp_try_send(&x->u, &b, 1, (struct sockaddr *)&a), (int)strlen(text));
}
struct uuwant {
    struct uuser *x;
    const char *text;
};
static int p_uu_has(void *a)
{
    struct uuwant *w = a;
    return w->x->in_len >= (ssize_t)strlen(w->text);
}
static void uu_expect(struct fx *f, struct uuser *x, const char *text)
{
    struct uuwant w = {x, text};
    assert_true(nt_run_until(&f->loop, p_uu_has, &w, 3000));
    assert_int_equal(x->in_len, strlen(text));
    assert_memory_equal(x->in, text, strlen(text));
}

static void run_sudp(bool enc, bool comp)
{
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_SUDP;
    f.enc = enc;
    f.comp = comp;
    struct ufrpc_visitor_config c;
    vcfg(&c, "u1", UFRPC_VISITOR_SUDP);
    c.transport.use_encryption = enc;
    c.transport.use_compression = comp;
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    uint16_t port = ufrpc_visitor_port(f.vis[0]);
    assert_true(port > 0);
    struct uuser a, b;
    uu_open(&f, &a);
    uu_open(&f, &b);
    /* two datagrams before the stream exists: both wait and go out in order */
    uu_send(&a, port, "first");
    uu_send(&a, port, "second");
    uu_expect(&f, &a, "re:first|re:second|");
    /* another local user shares the stream; replies go to the right address */
    uu_send(&b, port, "bee");
    uu_expect(&f, &b, "re:bee|");
    assert_int_equal(f.last_r_port, uu_port(&b));
    assert_int_equal(f.udp_frames_seen, 3);
    assert_int_equal(f.nsc, 1); /* one stream for everything */
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_int_equal(st.packets_to_server, 3);
    assert_int_equal(st.packets_from_server, 3);
    assert_int_equal(st.bytes_to_server, 14);
    /* NewVisitorConn for sudp, byte for byte */
    uint8_t *want;
    size_t wn;
    assert_int_equal(ufrpc_visitor_new_conn_frame("run-1", "alice", NULL, "web", SK, TS, enc, comp, &want, &wn), 0);
    assert_int_equal(f.first_len, wn);
    assert_memory_equal(f.first, want, wn);
    free(want);
    uv_close((uv_handle_t *)&a.u, NULL);
    uv_close((uv_handle_t *)&b.u, NULL);
    fx_teardown(&f);
}

static void test_sudp_round_trip(void **state)
{
    (void)state;
    run_sudp(false, false);
    run_sudp(true, true);
}

static int p_nsc2(void *a)
{
    return ((struct fx *)a)->nsc >= 2;
}

static void test_sudp_read_timeout_reopens(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_SUDP;
    env.sudp_read_timeout_ms = 120;
    struct ufrpc_visitor_config c;
    vcfg(&c, "u1", UFRPC_VISITOR_SUDP);
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    uint16_t port = ufrpc_visitor_port(f.vis[0]);
    struct uuser a;
    uu_open(&f, &a);
    uu_send(&a, port, "x");
    uu_expect(&f, &a, "re:x|");
    /* silence: the stream is dropped; the next datagram opens a new one */
    struct ufrpc_visitor_stats st;
    for (int i = 0; i < 100; i++) {
        ufrpc_visitor_get_stats(f.vis[0], &st);
        if (st.conns_active == 0)
            break;
        uv_run(&f.loop, UV_RUN_ONCE);
    }
    assert_int_equal(st.conns_active, 0);
    a.in_len = 0;
    uu_send(&a, port, "y");
    assert_true(nt_run_until(&f.loop, p_nsc2, &f, 3000));
    uu_expect(&f, &a, "re:y|");
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_int_equal(st.conns_total, 2);
    assert_int_equal(st.conns_failed, 0);
    uv_close((uv_handle_t *)&a.u, NULL);
    fx_teardown(&f);
}

struct dwant {
    struct fx *f;
    uint64_t n;
};
static int p_drops(void *a)
{
    struct dwant *w = a;
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(w->f->vis[0], &st);
    return st.packets_to_server + st.drop_queue_full >= w->n;
}

static void test_sudp_flood_bounded(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_SILENT; /* the stream never becomes ready: datagrams wait */
    env.sudp_max_queued = 200;
    struct ufrpc_visitor_config c;
    vcfg(&c, "u1", UFRPC_VISITOR_SUDP);
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    uint16_t port = ufrpc_visitor_port(f.vis[0]);
    struct uuser a;
    uu_open(&f, &a);
    for (int i = 0; i < 20; i++) {
        char m[16];
        snprintf(m, sizeof m, "dgram-%02d", i);
        uu_send(&a, port, m);
    }
    struct dwant w = {&f, 20};
    assert_true(nt_run_until(&f.loop, p_drops, &w, 3000));
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_true(st.drop_queue_full >= 15);
    assert_true(st.packets_to_server >= 1);
    assert_int_equal(st.packets_to_server + st.drop_queue_full, 20);
    assert_int_equal(st.conns_total, 1);
    uv_close((uv_handle_t *)&a.u, NULL);
    fx_teardown(&f);
}

/* ---- xtcp ---- */
static void test_xtcp_fallback(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_OK;
    struct ufrpc_visitor_config c;
    vcfg(&c, "s1", UFRPC_VISITOR_STCP);
    c.bind_port = -1; /* reachable only as a fallback */
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    assert_int_equal(ufrpc_visitor_port(f.vis[0]), 0);
    vcfg(&c, "x1", UFRPC_VISITOR_XTCP);
    c.fallback_to = "s1";
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[1]), 0);
    vcfg(&c, "x2", UFRPC_VISITOR_XTCP);
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[2]), 0);

    struct user u;
    user_connect(&f, &u, ufrpc_visitor_port(f.vis[1]));
    user_expect(&f, &u, "BANNER");
    swrite(u.s, "via fallback", 12);
    user_expect(&f, &u, "BANNERvia fallback");
    struct ufrpc_visitor_stats st;
    ufrpc_visitor_get_stats(f.vis[1], &st);
    assert_int_equal(st.fallback_conns, 1);
    ufrpc_visitor_get_stats(f.vis[0], &st);
    assert_int_equal(st.conns_total, 1);

    /* no fallback: closed, never a silent hang */
    struct user u2;
    user_connect(&f, &u2, ufrpc_visitor_port(f.vis[2]));
    assert_true(nt_run_until(&f.loop, p_user_closed, &u2, 3000));
    ufrpc_visitor_get_stats(f.vis[2], &st);
    assert_int_equal(st.rejected_conns, 1);
    assert_int_equal(f.nsc, 1);
    ufrpc_stream_close(u.s, NULL);
    ufrpc_stream_close(u2.s, NULL);
    fx_teardown(&f);
}

static void test_close_while_opening(void **state)
{
    (void)state;
    struct fx f;
    struct ufrpc_visitor_env env;
    fx_setup(&f, &env);
    f.mode = M_SILENT;
    struct ufrpc_visitor_config c;
    vcfg(&c, "s1", UFRPC_VISITOR_STCP);
    assert_int_equal(ufrpc_visitor_start(&env, &c, &f.vis[0]), 0);
    struct user u;
    user_connect(&f, &u, ufrpc_visitor_port(f.vis[0]));
    /* run until the visitor asked for a stream, then close everything */
    for (int i = 0; i < 50 && f.nsc == 0; i++)
        uv_run(&f.loop, UV_RUN_ONCE);
    ufrpc_stream_close(u.s, NULL);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_conn_frame_bytes),
        cmocka_unit_test(test_stcp_plain),
        cmocka_unit_test(test_stcp_encrypted_compressed),
        cmocka_unit_test(test_resp_error),
        cmocka_unit_test(test_resp_timeout),
        cmocka_unit_test(test_open_fails),
        cmocka_unit_test(test_sudp_round_trip),
        cmocka_unit_test(test_sudp_read_timeout_reopens),
        cmocka_unit_test(test_sudp_flood_bounded),
        cmocka_unit_test(test_xtcp_fallback),
        cmocka_unit_test(test_close_while_opening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
