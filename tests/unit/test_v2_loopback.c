/* Wire v2 end to end over loopback TCP: the client handshake object drives a real
 * control connection, is replaced by the AEAD adapter from inside the lower stream's
 * read callback (with the bytes that came with LoginResp), and exchanges messages
 * with a server built from the sans-I/O helpers (which sends LoginResp and the first
 * ReqWorkConns in one write). A v2 work stream (magic + NewWorkConn, StartWorkConn
 * followed at once by raw payload) goes through proto/wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/dial.h"
#include "net/nettest.h"
#include "net/tcp.h"
#include "net/xform_aead.h"
#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/v2chan.h"
#include "proto/v2crypto.h"
#include "proto/v2hello.h"
#include "proto/wire.h"
#include "testutil.h"

#define TOKEN "12345678"

static int test_rng(void *ctx, unsigned char *buf, size_t len)
{
    uint64_t *st = ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(st);
    return 0;
}

/* Runs the loop until pred; a 1 ms ticker keeps UV_RUN_ONCE from sleeping when a
 * callback of a zero timer already made pred true. */
static void tick(uv_timer_t *t)
{
    (void)t;
}

static int run_until(uv_loop_t *loop, int (*pred)(void *), void *arg, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 1, 1);
    int ok = nt_run_until(loop, pred, arg, ms);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

/* ---- a write that owns its bytes ------------------------------------------------------ */

struct owned_write {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    uint8_t *p;
};

static void owned_done(struct ufrpc_stream_write *w, int status)
{
    struct owned_write *o = w->data;
    (void)status;
    free(o->p);
    free(o);
}

static void send_owned(struct ufrpc_stream *s, uint8_t *p, size_t n)
{
    struct owned_write *o = calloc(1, sizeof *o);
    assert_non_null(o);
    o->p = p;
    o->b = uv_buf_init((char *)p, (unsigned)n);
    o->w.data = o;
    assert_int_equal(ufrpc_stream_write(s, &o->w, &o->b, 1, owned_done), 0);
}

static void append(uint8_t **buf, size_t *len, const void *p, size_t n)
{
    *buf = realloc(*buf, *len + n);
    assert_non_null(*buf);
    memcpy(*buf + *len, p, n);
    *len += n;
}

/* ---- the server (control and work streams) ---------------------------------------- */

struct server {
    ufrpc_tcp_listener_t *l;
    struct ufrpc_stream *ctl, *work;
    uint64_t seed;
    /* control */
    int stage; /* 0 magic, 1 ClientHello, 2 Login, 3 encrypted */
    uint8_t magic[7];
    size_t magic_have;
    struct ufrpc_frame_v2_decoder *dec;
    struct ufrpc_wire_reader *login_rd;
    uint8_t *ch; /* ClientHello payload */
    size_t ch_len;
    struct ufrpc_v2chan *chan;
    int pings;
    /* work */
    struct ufrpc_wire_reader *work_rd;
    int new_work_conns;
    int err;
};

static void srv_fail(struct server *sv, int rc)
{
    if (sv->err == 0)
        sv->err = rc;
}

static void srv_send_msg(struct server *sv, uint8_t type)
{
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, type), 0);
    uint8_t *ct;
    size_t n;
    assert_int_equal(ufrpc_v2chan_encode(sv->chan, &m, &ct, &n), 0);
    send_owned(sv->ctl, ct, n);
}

/* After the Login: ServerHello, LoginResp and two encrypted ReqWorkConn, in one write. */
static void srv_login(struct server *sv, const struct ufrpc_frame *login)
{
    assert_int_equal(login->type, UFRPC_MSG_LOGIN);
    struct ufrpc_msg lm;
    assert_int_equal(ufrpc_msg_decode(login->type, login->body, login->body_len, &lm), 0);
    assert_int_equal(lm.u.login.pool_count, 2);
    ufrpc_msg_free(&lm);

    struct ufrpc_v2_client_hello ch;
    assert_int_equal(ufrpc_v2hello_parse_client((const char *)sv->ch, sv->ch_len, &ch), 0);
    ufrpc_aead_alg_t alg;
    assert_int_equal(ufrpc_v2hello_server_select(&ch, &alg, NULL, 0), 0);
    assert_true(ch.tcp_mux);
    assert_false(ch.tls);
    ufrpc_v2hello_client_free(&ch);
    uint8_t rnd[32];
    test_rng(&sv->seed, rnd, sizeof rnd);
    char *sh;
    size_t sh_len;
    assert_int_equal(ufrpc_v2hello_build_server(alg, rnd, &sh, &sh_len), 0);
    uint8_t th[32], kc[32], ks[32];
    assert_int_equal(ufrpc_v2crypto_transcript_hash(sv->ch, sv->ch_len, (const uint8_t *)sh,
                                                    sh_len, th),
                     0);
    assert_int_equal(ufrpc_v2crypto_derive_keys((const uint8_t *)TOKEN, strlen(TOKEN), th, alg,
                                                kc, ks),
                     0);
    struct ufrpc_v2chan_opts so = {alg, ks, kc, NULL, test_rng, &sv->seed};
    assert_int_equal(ufrpc_v2chan_new(&so, &sv->chan), 0);

    uint8_t *out = NULL;
    size_t out_len = 0;
    uint8_t hdr[8];
    assert_int_equal(ufrpc_frame_v2_encode_header(UFRPC_FRAME_V2_SERVER_HELLO, sh_len, hdr), 0);
    append(&out, &out_len, hdr, 8);
    append(&out, &out_len, sh, sh_len);
    free(sh);
    struct ufrpc_msg resp;
    assert_int_equal(ufrpc_msg_init(&resp, UFRPC_MSG_LOGIN_RESP), 0);
    assert_int_equal(ufrpc_msg_set_str(&resp.u.login_resp.run_id, "a1b2c3d4e5f60718"), 0);
    uint8_t *enc;
    size_t enc_len;
    assert_int_equal(ufrpc_wire_encode(&resp, UFRPC_WIRE_V2, false, &enc, &enc_len), 0);
    ufrpc_msg_free(&resp);
    append(&out, &out_len, enc, enc_len);
    free(enc);
    struct ufrpc_msg req;
    assert_int_equal(ufrpc_msg_init(&req, UFRPC_MSG_REQ_WORK_CONN), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ufrpc_v2chan_encode(sv->chan, &req, &enc, &enc_len), 0);
        append(&out, &out_len, enc, enc_len);
        free(enc);
    }
    send_owned(sv->ctl, out, out_len);
}

static void srv_ctl_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct server *sv = s->data;
    (void)buf;
    if (status < 0)
        return;
    while (len > 0 && sv->err == 0) {
        size_t used = 0;
        int rc = 0;
        if (sv->stage == 0) {
            while (len > 0 && sv->magic_have < 7) {
                sv->magic[sv->magic_have++] = *data++;
                len--;
            }
            if (sv->magic_have == 7) {
                if (ufrpc_frame_v2_magic_check(sv->magic, 7) != 1)
                    srv_fail(sv, UFRPC_ERR_V2_MAGIC);
                sv->stage = 1;
            }
            continue;
        }
        if (sv->stage == 1) {
            struct ufrpc_frame_v2 f;
            rc = ufrpc_frame_v2_decoder_feed(sv->dec, data, len, &used, &f);
            if (rc == 1) {
                assert_int_equal(f.type, UFRPC_FRAME_V2_CLIENT_HELLO);
                sv->ch = malloc(f.payload_len);
                assert_non_null(sv->ch);
                memcpy(sv->ch, f.payload, f.payload_len);
                sv->ch_len = f.payload_len;
                sv->stage = 2;
            }
        } else if (sv->stage == 2) {
            struct ufrpc_frame f;
            rc = ufrpc_wire_reader_feed(sv->login_rd, data, len, &used, &f);
            if (rc == 1) {
                srv_login(sv, &f);
                sv->stage = 3;
            }
        } else {
            struct ufrpc_frame f;
            rc = ufrpc_v2chan_feed_frame(sv->chan, data, len, &used, &f);
            while (rc == 1) {
                if (f.type == UFRPC_MSG_PING) {
                    sv->pings++;
                    srv_send_msg(sv, UFRPC_MSG_PONG);
                }
                size_t more;
                rc = ufrpc_v2chan_feed_frame(sv->chan, NULL, 0, &more, &f);
            }
        }
        if (rc < 0)
            srv_fail(sv, rc);
        data += used;
        len -= used;
    }
}

static void srv_work_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct server *sv = s->data;
    (void)buf;
    if (status < 0)
        return;
    size_t used;
    struct ufrpc_frame f;
    int rc = ufrpc_wire_reader_feed(sv->work_rd, data, len, &used, &f);
    if (rc < 0) {
        srv_fail(sv, rc);
        return;
    }
    if (rc == 0)
        return;
    assert_int_equal(used, len); /* nothing follows NewWorkConn yet */
    assert_int_equal(f.type, UFRPC_MSG_NEW_WORK_CONN);
    sv->new_work_conns++;
    struct ufrpc_msg swc;
    char *sj = ufrpc_test_vector_text("StartWorkConn JSON: ");
    assert_non_null(sj);
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_START_WORK_CONN, sj, strlen(sj), &swc), 0);
    free(sj);
    uint8_t *enc;
    size_t n;
    assert_int_equal(ufrpc_wire_encode(&swc, UFRPC_WIRE_V2, false, &enc, &n), 0);
    ufrpc_msg_free(&swc);
    append(&enc, &n, "PAYLOAD", 7); /* raw bytes right behind StartWorkConn */
    send_owned(s, enc, n);
}

static void srv_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct server *sv = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    c->data = sv;
    if (sv->ctl == NULL) {
        sv->ctl = c;
        assert_int_equal(ufrpc_stream_read_start(c, srv_ctl_read), 0);
    } else {
        assert_null(sv->work);
        sv->work = c;
        assert_int_equal(ufrpc_stream_read_start(c, srv_work_read), 0);
    }
}

/* ---- the client ------------------------------------------------------------------------ */

struct client {
    uv_loop_t *loop;
    uint64_t seed;
    struct ufrpc_v2hs *hs;
    struct ufrpc_stream *raw, *ctl; /* ctl = the AEAD adapter once logged in */
    struct ufrpc_wire_reader *rd;   /* plaintext v2 frames on the control stream */
    size_t initial_len;
    int reqs, pongs, err;
    char run_id[32];
    /* work stream */
    struct ufrpc_stream *work;
    struct ufrpc_wire_reader *work_rd;
    int started;
    uint8_t payload[16];
    size_t payload_len;
};

static void cli_fail(struct client *c, int rc)
{
    if (c->err == 0)
        c->err = rc;
}

static void cli_send(struct client *c, uint8_t type)
{
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, type), 0);
    uint8_t *enc;
    size_t n;
    assert_int_equal(ufrpc_wire_encode(&m, UFRPC_WIRE_V2, false, &enc, &n), 0);
    send_owned(c->ctl, enc, n);
}

static void cli_plain_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                           const uint8_t *data, size_t len)
{
    struct client *c = s->data;
    (void)buf;
    if (status < 0) {
        if (status != UFRPC_ERR_EOF)
            cli_fail(c, status);
        return;
    }
    while (len > 0) {
        size_t used;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(c->rd, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc < 0) {
            cli_fail(c, rc);
            return;
        }
        if (rc == 0)
            break;
        if (f.type == UFRPC_MSG_REQ_WORK_CONN && ++c->reqs == 2)
            cli_send(c, UFRPC_MSG_PING);
        else if (f.type == UFRPC_MSG_PONG)
            c->pongs++;
    }
}

static void cli_raw_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct client *c = s->data;
    (void)buf;
    if (status < 0) {
        cli_fail(c, status);
        return;
    }
    size_t used;
    int rc = ufrpc_v2hs_feed(c->hs, data, len, &used);
    if (rc < 0) {
        cli_fail(c, rc);
        return;
    }
    if (rc == 0)
        return;
    const struct ufrpc_msg *lr = ufrpc_v2hs_login_resp(c->hs);
    assert_null(lr->u.login_resp.error);
    snprintf(c->run_id, sizeof c->run_id, "%s", lr->u.login_resp.run_id);
    /* switch to the AEAD stream right here, handing over what came with LoginResp */
    c->initial_len = len - used;
    int err;
    c->ctl = ufrpc_xform_aead_client(s, c->hs, test_rng, &c->seed, data + used, len - used, &err);
    assert_non_null(c->ctl);
    ufrpc_v2hs_free(c->hs);
    c->hs = NULL;
    c->raw = NULL; /* owned by the adapter now */
    c->ctl->data = c;
    assert_int_equal(ufrpc_stream_read_start(c->ctl, cli_plain_read), 0);
}

static void cli_work_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct client *c = s->data;
    (void)buf;
    if (status < 0)
        return;
    if (!c->started) {
        size_t used;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(c->work_rd, data, len, &used, &f);
        if (rc < 0) {
            cli_fail(c, rc);
            return;
        }
        if (rc == 0)
            return;
        assert_int_equal(ufrpc_wire_check_type(UFRPC_WIRE_V2, f.type, UFRPC_MSG_START_WORK_CONN), 0);
        struct ufrpc_msg m;
        assert_int_equal(ufrpc_msg_decode(f.type, f.body, f.body_len, &m), 0);
        assert_string_equal(m.u.start_work_conn.proxy_name, "ssh");
        ufrpc_msg_free(&m);
        c->started = 1;
        data += used;
        len -= used;
    }
    assert_true(c->payload_len + len <= sizeof c->payload);
    memcpy(c->payload + c->payload_len, data, len);
    c->payload_len += len;
}

static int logged_in_and_pong(void *arg)
{
    struct client *c = arg;
    return c->err != 0 || c->pongs == 1;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct ufrpc_stream **out = data;
    (void)d;
    assert_int_equal(status, 0);
    *out = s;
}

static int dialed(void *arg)
{
    return *(struct ufrpc_stream **)arg != NULL;
}

static int work_done(void *arg)
{
    struct client *c = arg;
    return c->err != 0 || c->payload_len == 7;
}

static void test_v2_login_and_work_stream(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct server sv;
    memset(&sv, 0, sizeof sv);
    sv.seed = 77;
    sv.dec = malloc(sizeof *sv.dec);
    sv.login_rd = malloc(sizeof *sv.login_rd);
    sv.work_rd = malloc(sizeof *sv.work_rd);
    assert_non_null(sv.dec);
    assert_non_null(sv.login_rd);
    assert_non_null(sv.work_rd);
    ufrpc_frame_v2_decoder_init(sv.dec);
    ufrpc_wire_reader_init(sv.login_rd, UFRPC_WIRE_V2, false);
    ufrpc_wire_reader_init(sv.work_rd, UFRPC_WIRE_V2, true);
    int err;
    sv.l = ufrpc_tcp_listen(&loop, "127.0.0.1", 0, srv_accept, &sv, &err);
    assert_non_null(sv.l);
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = ufrpc_tcp_listener_port(sv.l)};

    struct client c;
    memset(&c, 0, sizeof c);
    c.loop = &loop;
    c.seed = 5;
    c.rd = malloc(sizeof *c.rd);
    c.work_rd = malloc(sizeof *c.work_rd);
    assert_non_null(c.rd);
    assert_non_null(c.work_rd);
    ufrpc_wire_reader_init(c.rd, UFRPC_WIRE_V2, false);
    ufrpc_wire_reader_init(c.work_rd, UFRPC_WIRE_V2, false);
    assert_int_equal(ufrpc_dial(&loop, &o, on_dial, &c.raw, NULL), 0);
    assert_true(run_until(&loop, dialed, &c.raw, 5000));

    struct ufrpc_msg login;
    assert_int_equal(ufrpc_msg_init(&login, UFRPC_MSG_LOGIN), 0);
    assert_int_equal(ufrpc_msg_set_str(&login.u.login.version, "0.70.1"), 0);
    login.u.login.pool_count = 2;
    struct ufrpc_v2hs_opts ho = {.bootstrap = {"tcp", false, true},
                                 .rng = test_rng,
                                 .rng_ctx = &c.seed,
                                 .token = (const uint8_t *)TOKEN,
                                 .token_len = strlen(TOKEN),
                                 .login = &login};
    assert_int_equal(ufrpc_v2hs_new(&ho, &c.hs), 0);
    ufrpc_msg_free(&login);
    const uint8_t *first;
    size_t first_len;
    ufrpc_v2hs_output(c.hs, &first, &first_len);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)first, (unsigned)first_len);
    w.data = NULL;
    c.raw->data = &c;
    assert_int_equal(ufrpc_stream_write(c.raw, &w, &b, 1, NULL), 0);
    assert_int_equal(ufrpc_stream_read_start(c.raw, cli_raw_read), 0);

    assert_true(run_until(&loop, logged_in_and_pong, &c, 5000));
    assert_int_equal(c.err, 0);
    assert_int_equal(sv.err, 0);
    assert_string_equal(c.run_id, "a1b2c3d4e5f60718");
    assert_int_equal(c.reqs, 2);
    /* one small loopback write arrives in one read: the ReqWorkConns came with it */
    assert_true(c.initial_len > 0);
    assert_int_equal(sv.pings, 1);
    assert_int_equal(c.pongs, 1);

    /* a work stream */
    assert_int_equal(ufrpc_dial(&loop, &o, on_dial, &c.work, NULL), 0);
    assert_true(run_until(&loop, dialed, &c.work, 5000));
    struct ufrpc_msg nwc;
    assert_int_equal(ufrpc_msg_init(&nwc, UFRPC_MSG_NEW_WORK_CONN), 0);
    assert_int_equal(ufrpc_msg_set_str(&nwc.u.new_work_conn.run_id, c.run_id), 0);
    uint8_t *enc;
    size_t n;
    assert_int_equal(ufrpc_wire_encode(&nwc, UFRPC_WIRE_V2, true, &enc, &n), 0);
    ufrpc_msg_free(&nwc);
    assert_memory_equal(enc, UFRPC_FRAME_V2_MAGIC, 7);
    c.work->data = &c;
    send_owned(c.work, enc, n);
    assert_int_equal(ufrpc_stream_read_start(c.work, cli_work_read), 0);
    assert_true(run_until(&loop, work_done, &c, 5000));
    assert_int_equal(c.err, 0);
    assert_int_equal(sv.err, 0);
    assert_int_equal(sv.new_work_conns, 1);
    assert_true(c.started);
    assert_memory_equal(c.payload, "PAYLOAD", 7);

    ufrpc_stream_close(c.ctl, NULL);
    ufrpc_stream_close(c.work, NULL);
    ufrpc_stream_close(sv.ctl, NULL);
    ufrpc_stream_close(sv.work, NULL);
    ufrpc_tcp_listener_close(sv.l, NULL);
    assert_true(nt_loop_drain(&loop));
    assert_int_equal(uv_loop_close(&loop), 0);
    ufrpc_v2chan_free(sv.chan);
    free(sv.ch);
    free(sv.dec);
    free(sv.login_rd);
    free(sv.work_rd);
    free(c.rd);
    free(c.work_rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_login_and_work_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
