/* Replays the frps side of the real frp v0.70.0 captures
 * (tests/data/protocol/transcripts/transcript-v0.70.0-mux-{false,true}-raw.txt) into
 * ufrpc's control session, chunk by chunk as they were received and at the times
 * they were received, and checks that ufrpc answers with the same control messages
 * as the real frpc did (apart from run ids, timestamps, IVs, the hostname and the
 * version string). The real frpc's encrypted messages are decrypted with the IV in
 * the capture, so both sides are compared as decoded messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "client/core/control.h"
#include "proto/auth.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "testutil.h"

#define TOKEN "testtoken"
#define MAXMSG 64

/* ---- capture parsing ------------------------------------------------------- */
struct chunk {
    uint64_t t_ms;
    int conn;
    int c2s;
    uint8_t *data;
    size_t len;
};

struct capture {
    struct chunk c[256];
    size_t n;
    uint64_t end_ms;
};

static void capture_load(const char *rel, struct capture *cap)
{
    char *path = ufrpc_test_data_path(rel);
    assert_non_null(path);
    uint8_t *text;
    size_t len;
    assert_int_equal(ufrpc_test_read_file(path, &text, &len), 0);
    free(path);
    memset(cap, 0, sizeof *cap);
    char *save = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        double t;
        int conn;
        char dir[8];
        int off = 0;
        if (sscanf(line, " %lf c%d %7s%n", &t, &conn, dir, &off) != 3)
            continue;
        uint64_t ms = (uint64_t)(t * 1000.0 + 0.5);
        if (ms > cap->end_ms)
            cap->end_ms = ms;
        size_t n;
        char hex[20000];
        if (strcmp(dir, "C->S") != 0 && strcmp(dir, "S->C") != 0)
            continue;
        if (sscanf(line + off, " len=%zu %19999s", &n, hex) != 2)
            continue; /* eof lines */
        assert_true(cap->n < 256);
        struct chunk *c = &cap->c[cap->n++];
        c->t_ms = ms;
        c->conn = conn;
        c->c2s = strcmp(dir, "C->S") == 0;
        c->data = malloc(n);
        assert_int_equal(ufrpc_test_unhex(hex, c->data, n), (int)n);
        c->len = n;
    }
    free(text);
}

static void capture_free(struct capture *cap)
{
    for (size_t i = 0; i < cap->n; i++)
        free(cap->c[i].data);
}

/* ---- yamux deframing (test-local, independent of proto/yamux) ------------- */
struct deframer {
    uint8_t hdr[12];
    size_t have;
    uint32_t remaining; /* payload bytes left of the current Data frame */
    uint32_t sid;
};

/* Appends the payload of stream `want` found in data to out. */
static void deframe(struct deframer *d, const uint8_t *data, size_t len, uint32_t want,
                    uint8_t *out, size_t *olen)
{
    while (len > 0) {
        if (d->remaining > 0) {
            size_t k = len < d->remaining ? len : d->remaining;
            if (d->sid == want) {
                memcpy(out + *olen, data, k);
                *olen += k;
            }
            data += k, len -= k, d->remaining -= (uint32_t)k;
            continue;
        }
        d->hdr[d->have++] = *data++;
        len--;
        if (d->have == 12) {
            d->have = 0;
            uint8_t type = d->hdr[1];
            d->sid = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                     (uint32_t)d->hdr[6] << 8 | d->hdr[7];
            uint32_t l = (uint32_t)d->hdr[8] << 24 | (uint32_t)d->hdr[9] << 16 |
                         (uint32_t)d->hdr[10] << 8 | d->hdr[11];
            if (type == 0) /* Data: payload follows */
                d->remaining = l;
        }
    }
}

/* ---- decoding one direction of a control stream ---------------------------- */
struct side {
    struct ufrpc_frame_decoder dec;
    int encrypted;
    ufrpc_cfb_reader_t rd;
    uint8_t key[16];
    struct ufrpc_msg msgs[MAXMSG];
    size_t n;
};

static void side_init(struct side *s)
{
    memset(s, 0, sizeof *s);
    ufrpc_frame_decoder_init(&s->dec);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), s->key), 0);
}

static void side_free(struct side *s)
{
    for (size_t i = 0; i < s->n; i++)
        ufrpc_msg_free(&s->msgs[i]);
    if (s->encrypted)
        ufrpc_cfb_reader_free(&s->rd);
}

/* The client side: Login in clear, then everything through CFB. */
static void push_frame(struct side *s, const struct ufrpc_frame *f)
{
    assert_true(s->n < MAXMSG);
    assert_int_equal(ufrpc_msg_decode(f->type, f->body, f->body_len, &s->msgs[s->n]), 0);
    s->n++;
}

static void side_feed(struct side *s, const uint8_t *data, size_t len)
{
    while (len > 0 && !s->encrypted) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&s->dec, data, len, &used, &f);
        assert_true(rc >= 0);
        data += used, len -= used;
        if (rc == 1) { /* the Login: everything after it is ciphertext */
            push_frame(s, &f);
            assert_int_equal(ufrpc_cfb_reader_init(&s->rd, s->key), 0);
            s->encrypted = 1;
        }
    }
    if (len == 0)
        return;
    uint8_t *plain = malloc(len);
    size_t plen = 0;
    assert_int_equal(ufrpc_cfb_reader_decrypt(&s->rd, data, len, plain, &plen), 0);
    const uint8_t *in = plain;
    while (plen > 0) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&s->dec, in, plen, &used, &f);
        assert_true(rc >= 0);
        in += used, plen -= used;
        if (rc == 1)
            push_frame(s, &f);
    }
    free(plain);
}

/* ---- the replay ------------------------------------------------------------ */
struct fx {
    int logins;
    int reqs;
    uint64_t seed;
    int64_t unix_now;
};

static void on_login(void *ctx, const char *run_id)
{
    (void)run_id;
    ((struct fx *)ctx)->logins++;
}

static void on_req(void *ctx)
{
    ((struct fx *)ctx)->reqs++;
}

static int rng(void *ctx, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(ctx);
    return 0;
}

static int64_t unix_now(void *ctx)
{
    return ((struct fx *)ctx)->unix_now;
}

static const char *json_of(const struct ufrpc_msg *m, char *buf, size_t cap)
{
    char *j;
    size_t n;
    assert_int_equal(ufrpc_msg_encode_json(m, &j, &n), 0);
    snprintf(buf, cap, "%s", j);
    free(j);
    return buf;
}

static void replay(const char *rel, int mux, int strict)
{
    struct capture cap;
    capture_load(rel, &cap);

    struct ufrpc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct ufrpc_proxy_config px;
    memset(&px, 0, sizeof px);
    cfg.auth.token = TOKEN;
    cfg.transport.pool_count = 1;
    cfg.transport.tcp_mux = mux;
    cfg.transport.heartbeat_interval = 3; /* as in conf/frpc-transcript-mux-*.toml */
    cfg.transport.heartbeat_timeout = 30;
    px.name = "echo";
    px.type = UFRPC_PROXY_TCP;
    px.local_ip = "127.0.0.1";
    px.local_port = 18080;
    px.remote_port = 16000;
    px.transport.bandwidth_limit_mode = "client";
    cfg.proxies = &px;
    cfg.nproxies = 1;
    struct ufrpc_registry *reg;
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &reg), 0);
    assert_int_equal(ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "echo", "tcp", &px, 0, NULL), 0);

    struct fx fx = {0, 0, 5, 1795450625};
    struct ufrpc_ctl_opts o = {0};
    o.cfg = &cfg;
    o.reg = reg;
    o.token = TOKEN;
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)TOKEN, strlen(TOKEN), o.key), 0);
    o.hostname = "ufrpc-test";
    o.rng = rng;
    o.rng_ctx = &fx.seed;
    o.unix_now = unix_now;
    o.clock_ctx = &fx;
    o.cb.on_login = on_login;
    o.cb.on_req_work_conn = on_req;
    o.cb_ctx = &fx;
    struct ufrpc_ctl *ctl;
    assert_int_equal(ufrpc_ctl_new(&o, &ctl), 0);

    struct side ours, theirs;
    side_init(&ours);
    side_init(&theirs);
    struct deframer dfs = {0}, dfc = {0};
    uint8_t *buf = malloc(65536);

    /* the control starts when frpc wrote its first byte on conn 1 */
    size_t first = 0;
    while (!(cap.c[first].conn == 1 && cap.c[first].c2s))
        first++;
    assert_int_equal(ufrpc_ctl_start(ctl, cap.c[first].t_ms), 0);
    uint64_t now = cap.c[first].t_ms;
    for (size_t i = first; i < cap.n; i++) {
        const struct chunk *c = &cap.c[i];
        /* timers up to this chunk's time, in 10 ms steps */
        for (; now < c->t_ms; now += 10)
            assert_int_equal(ufrpc_ctl_tick(ctl, now), 0);
        now = c->t_ms;
        assert_int_equal(ufrpc_ctl_tick(ctl, now), 0);
        if (c->conn != 1)
            continue;
        size_t blen = 0;
        if (mux)
            deframe(c->c2s ? &dfc : &dfs, c->data, c->len, 1, buf, &blen);
        else
            memcpy(buf, c->data, blen = c->len);
        if (c->c2s)
            side_feed(&theirs, buf, blen);
        else if (blen)
            assert_int_equal(ufrpc_ctl_feed(ctl, buf, blen, now), 0);
        const uint8_t *p;
        size_t n;
        ufrpc_ctl_pending(ctl, &p, &n);
        side_feed(&ours, p, n);
        ufrpc_ctl_consume(ctl, n);
    }
    /* until frpc was stopped */
    for (; now < cap.end_ms; now += 10)
        assert_int_equal(ufrpc_ctl_tick(ctl, now), 0);
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(ctl, &p, &n);
    side_feed(&ours, p, n);
    ufrpc_ctl_consume(ctl, n);

    assert_int_equal(fx.logins, 1);
    /* frps sent ReqWorkConn once at login and once after the user connection */
    assert_int_equal(fx.reqs, 2);
    struct ufrpc_tunnel *t = ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, "echo");
    assert_int_equal(t->state, UFRPC_TUNNEL_RUNNING);
    assert_string_equal(t->remote_addr, ":16000");
    assert_int_equal(ufrpc_ctl_state(ctl), UFRPC_CTL_RUNNING);

    print_message("%s: frpc sent %zu control messages, ufrpc %zu\n", rel, theirs.n, ours.n);
    assert_true(theirs.n >= 5); /* Login, NewProxy, Pings every 3 s */
    if (!strict) {
        /* an old frps: ufrpc speaks today's frpc, so only the essentials must agree */
        assert_int_equal(ours.msgs[0].type, UFRPC_MSG_LOGIN);
        assert_int_equal(ours.msgs[1].type, UFRPC_MSG_NEW_PROXY);
        const struct ufrpc_msg_new_proxy *a = &ours.msgs[1].u.new_proxy;
        const struct ufrpc_msg_new_proxy *b = &theirs.msgs[1].u.new_proxy;
        assert_string_equal(a->proxy_name, b->proxy_name);
        assert_string_equal(a->proxy_type, b->proxy_type);
        assert_int_equal(a->remote_port, b->remote_port);
        size_t pings = 0;
        for (size_t i = 2; i < ours.n; i++) {
            assert_int_equal(ours.msgs[i].type, UFRPC_MSG_PING);
            pings++;
        }
        assert_true(pings >= 3);
        goto done;
    }
    /* same message sequence */
    assert_int_equal(ours.n, theirs.n);
    for (size_t i = 0; i < ours.n; i++)
        assert_int_equal(ours.msgs[i].type, theirs.msgs[i].type);
    /* Login: every field equal except version, hostname, timestamp, privilege_key */
    struct ufrpc_msg_login *a = &ours.msgs[0].u.login, *b = &theirs.msgs[0].u.login;
    assert_string_equal(a->os, b->os);
    if (strcmp(ufrpc_ctl_build_arch(), "amd64") == 0)
        assert_string_equal(a->arch, b->arch);
    assert_int_equal(a->pool_count, b->pool_count);
    assert_null(a->user);
    assert_null(b->user);
    assert_null(a->run_id);
    assert_null(b->run_id);
    char key[33];
    ufrpc_auth_key_str(TOKEN, b->timestamp, key);
    assert_string_equal(b->privilege_key, key); /* the capture agrees with our key rule */
    ufrpc_auth_key_str(TOKEN, a->timestamp, key);
    assert_string_equal(a->privilege_key, key);
    ufrpc_msg_set_str(&a->version, NULL), ufrpc_msg_set_str(&b->version, NULL);
    ufrpc_msg_set_str(&a->hostname, NULL), ufrpc_msg_set_str(&b->hostname, NULL);
    ufrpc_msg_set_str(&a->privilege_key, NULL), ufrpc_msg_set_str(&b->privilege_key, NULL);
#if !defined(__x86_64__)
    /* the capture is from an amd64 frpc; elsewhere ufrpc names its own CPU */
    ufrpc_msg_set_str(&a->arch, NULL), ufrpc_msg_set_str(&b->arch, NULL);
#endif
    a->timestamp = b->timestamp = 0;
    /* every message's JSON is then byte-identical */
    for (size_t i = 0; i < ours.n; i++) {
        char ja[2048], jb[2048];
        assert_string_equal(json_of(&ours.msgs[i], ja, sizeof ja),
                            json_of(&theirs.msgs[i], jb, sizeof jb));
    }

done:
    free(buf);
    side_free(&ours);
    side_free(&theirs);
    ufrpc_ctl_free(ctl);
    ufrpc_registry_free(reg);
    capture_free(&cap);
}

static void test_replay_v0_70_0_mux_false(void **state)
{
    (void)state;
    replay("protocol/transcripts/transcript-v0.70.0-mux-false-raw.txt", 0, 1);
}

static void test_replay_v0_70_0_mux_true(void **state)
{
    (void)state;
    replay("protocol/transcripts/transcript-v0.70.0-mux-true-raw.txt", 1, 1);
}

/* frp v0.31.2 (frps from 2020): LoginResp with server_udp_port, NewProxyResp with an
 * empty "error", Pong every 3 s: ufrpc logs in, runs the proxy and keeps pinging. */
static void test_replay_v0_31_2_lenient(void **state)
{
    (void)state;
    replay("protocol/transcripts/transcript-v0.31.2-mux-false-raw.txt", 0, 0);
    replay("protocol/transcripts/transcript-v0.31.2-mux-true-raw.txt", 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_v0_70_0_mux_false),
        cmocka_unit_test(test_replay_v0_70_0_mux_true),
        cmocka_unit_test(test_replay_v0_31_2_lenient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
