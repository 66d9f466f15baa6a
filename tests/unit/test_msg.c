/* Message JSON: vectors byte for byte, every real transcript frame re-encoded byte
 * for byte, round trips for every type, Go escaping and decoding rules, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/auth.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/frame_v2.h"
#include "proto/msg.h"
#include "testutil.h"

static char *encode(const struct ufrpc_msg *m)
{
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ufrpc_msg_encode_json(m, &json, &len), 0);
    assert_int_equal(strlen(json), len);
    return json;
}

/* Encodes m and compares with want; then decodes want and re-encodes it. */
static void check_json(const struct ufrpc_msg *m, const char *want)
{
    char *json = encode(m);
    assert_string_equal(json, want);
    free(json);
    struct ufrpc_msg d;
    assert_int_equal(ufrpc_msg_decode(m->type, want, strlen(want), &d), 0);
    json = encode(&d);
    assert_string_equal(json, want);
    free(json);
    ufrpc_msg_free(&d);
}

static void check_frame(const struct ufrpc_msg *m, const char *title)
{
    uint8_t *want, *got;
    size_t want_len, got_len;
    assert_int_equal(ufrpc_test_vector_bytes(title, &want, &want_len), 0);
    assert_int_equal(ufrpc_msg_encode_frame(m, &got, &got_len), 0);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    free(want);
}

static void build_login(struct ufrpc_msg *m)
{
    char key[UFRPC_AUTH_KEY_LEN + 1];
    assert_int_equal(ufrpc_auth_key_str("12345678", 1700000000, key), 0);
    assert_int_equal(ufrpc_msg_init(m, UFRPC_MSG_LOGIN), 0);
    struct ufrpc_msg_login *l = &m->u.login;
    assert_int_equal(ufrpc_msg_set_str(&l->version, "0.70.1"), 0);
    assert_int_equal(ufrpc_msg_set_str(&l->hostname, "myhost"), 0);
    assert_int_equal(ufrpc_msg_set_str(&l->os, "linux"), 0);
    assert_int_equal(ufrpc_msg_set_str(&l->arch, "amd64"), 0);
    assert_int_equal(ufrpc_msg_set_str(&l->user, ""), 0); /* empty: omitted */
    assert_int_equal(ufrpc_msg_set_str(&l->privilege_key, key), 0);
    l->timestamp = 1700000000;
    l->pool_count = 1;
}

static void test_vectors(void **state)
{
    (void)state;
    struct ufrpc_msg m;
    char *want;

    build_login(&m);
    want = ufrpc_test_vector_text("Login JSON: ");
    assert_non_null(want);
    check_json(&m, want);
    check_frame(&m, "v1 Login frame");
    uint8_t *v2, *v2want;
    size_t v2len, v2want_len;
    assert_int_equal(ufrpc_msg_encode_frame_v2(&m, &v2, &v2len), 0);
    assert_int_equal(ufrpc_test_vector_bytes("v2: Login message frame", &v2want, &v2want_len), 0);
    assert_int_equal(v2len, v2want_len);
    assert_memory_equal(v2, v2want, v2len);
    free(v2);
    free(v2want);
    free(want);
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_LOGIN_RESP), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.login_resp.version, "0.70.1"), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.login_resp.run_id, "a1b2c3d4e5f60718"), 0);
    check_frame(&m, "v1 LoginResp frame");
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN), 0);
    check_json(&m, "{}");
    check_frame(&m, "v1 ReqWorkConn frame");
    assert_int_equal(ufrpc_msg_encode_frame_v2(&m, &v2, &v2len), 0);
    assert_int_equal(ufrpc_test_vector_bytes("v2: ReqWorkConn message frame", &v2want, &v2want_len),
                     0);
    assert_int_equal(v2len, v2want_len);
    assert_memory_equal(v2, v2want, v2len);
    free(v2);
    free(v2want);
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_PING), 0);
    check_frame(&m, "v1 Ping frame");
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_PONG), 0);
    check_frame(&m, "v1 Pong frame");

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_NEW_WORK_CONN), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.new_work_conn.run_id, "a1b2c3d4e5f60718"), 0);
    check_frame(&m, "v1 NewWorkConn frame");
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_NEW_PROXY), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.new_proxy.proxy_name, "ssh"), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.new_proxy.proxy_type, "tcp"), 0);
    m.u.new_proxy.remote_port = 6000;
    want = ufrpc_test_vector_text("NewProxy JSON: ");
    assert_non_null(want);
    check_json(&m, want);
    check_frame(&m, "v1 NewProxy frame");
    free(want);
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_START_WORK_CONN), 0);
    struct ufrpc_msg_start_work_conn *s = &m.u.start_work_conn;
    assert_int_equal(ufrpc_msg_set_str(&s->proxy_name, "ssh"), 0);
    assert_int_equal(ufrpc_msg_set_str(&s->src_addr, "203.0.113.7"), 0);
    assert_int_equal(ufrpc_msg_set_str(&s->dst_addr, "198.51.100.1"), 0);
    s->src_port = 51234;
    s->dst_port = 6000;
    want = ufrpc_test_vector_text("StartWorkConn JSON: ");
    assert_non_null(want);
    check_json(&m, want);
    free(want);
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET), 0);
    assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, "hello", 5), 0);
    assert_int_equal(ufrpc_udp_addr_set(&m.u.udp_packet.raddr, "203.0.113.7", 53000, NULL), 0);
    want = ufrpc_test_vector_text("UDPPacket JSON: ");
    assert_non_null(want);
    check_json(&m, want);
    free(want);
    ufrpc_msg_free(&m);

    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_RESP), 0);
    want = ufrpc_test_vector_text("empty NatHoleResp JSON: ");
    assert_non_null(want);
    check_json(&m, want);
    free(want);
    ufrpc_msg_free(&m);
}

/* ---- transcripts */

/* Extracts the frame hex of a transcript line ("plain | HEX |" or "plain=HEX"). */
static int line_frame_hex(const char *line, char *out, size_t cap)
{
    const char *p = strstr(line, " frp ");
    if (p == NULL)
        return 0;
    const char *h = strstr(p, "plain | ");
    if (h != NULL) {
        h += 8;
    } else {
        h = strstr(p, "plain=");
        if (h == NULL)
            return 0;
        h += 6;
    }
    size_t n = strspn(h, "0123456789abcdef");
    assert_true(n > 0 && n < cap);
    memcpy(out, h, n);
    out[n] = '\0';
    return 1;
}

struct seen {
    int login, login_resp, new_work_conn, start_work_conn, total;
};

static void check_transcript(const char *name, int exact, struct seen *seen)
{
    char rel[128];
    snprintf(rel, sizeof rel, "protocol/transcripts/%s", name);
    char *path = ufrpc_test_data_path(rel);
    uint8_t *text;
    size_t text_len;
    assert_int_equal(ufrpc_test_read_file(path, &text, &text_len), 0);
    free(path);
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    static char hex[2 * 20000];
    static uint8_t bytes[20000];
    char *save = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (!line_frame_hex(line, hex, sizeof hex))
            continue;
        int n = ufrpc_test_unhex(hex, bytes, sizeof bytes);
        assert_true(n > UFRPC_FRAME_HEADER_LEN);
        /* Cut at every byte. */
        struct ufrpc_frame fr;
        for (int split = 0; split <= n; split++) {
            size_t u1, u2 = 0;
            ufrpc_frame_decoder_init(dec);
            int rc = ufrpc_frame_decoder_feed(dec, bytes, (size_t)split, &u1, &fr);
            if (split < n) {
                assert_int_equal(rc, 0);
                rc = ufrpc_frame_decoder_feed(dec, bytes + split, (size_t)(n - split), &u2, &fr);
            }
            assert_int_equal(rc, 1);
            assert_int_equal(u1 + u2, n);
        }
        struct ufrpc_msg m;
        int rc = ufrpc_msg_decode(fr.type, fr.body, fr.body_len, &m);
        if (rc != 0)
            fail_msg("%s: %s: %s", name, ufrpc_errname(rc), line);
        seen->total++;
        if (exact) {
            /* Go wrote these: our encoding must be identical. */
            char *json = encode(&m);
            assert_int_equal(strlen(json), fr.body_len);
            assert_memory_equal(json, fr.body, fr.body_len);
            free(json);
        }
        if (strcmp(name, "transcript-v0.70.0-mux-false.txt") == 0) {
            switch (fr.type) {
            case UFRPC_MSG_LOGIN:
                assert_string_equal(m.u.login.version, "0.70.0");
                assert_string_equal(m.u.login.hostname, "vm");
                assert_string_equal(m.u.login.os, "linux");
                assert_string_equal(m.u.login.arch, "amd64");
                assert_int_equal(m.u.login.timestamp, 1795450625);
                assert_int_equal(m.u.login.pool_count, 1);
                assert_null(m.u.login.user);
                assert_null(m.u.login.run_id);
                assert_true(ufrpc_auth_verify("testtoken", m.u.login.timestamp,
                                              m.u.login.privilege_key));
                seen->login++;
                break;
            case UFRPC_MSG_LOGIN_RESP:
                assert_string_equal(m.u.login_resp.version, "0.70.0");
                assert_string_equal(m.u.login_resp.run_id, "f27db3c888145bdf");
                assert_null(m.u.login_resp.error);
                seen->login_resp++;
                break;
            case UFRPC_MSG_NEW_WORK_CONN:
                assert_string_equal(m.u.new_work_conn.run_id, "f27db3c888145bdf");
                assert_null(m.u.new_work_conn.privilege_key);
                assert_int_equal(m.u.new_work_conn.timestamp, 0);
                seen->new_work_conn++;
                break;
            case UFRPC_MSG_START_WORK_CONN:
                assert_string_equal(m.u.start_work_conn.proxy_name, "echo");
                assert_string_equal(m.u.start_work_conn.src_addr, "127.0.0.1");
                assert_string_equal(m.u.start_work_conn.dst_addr, "127.0.0.1");
                assert_int_equal(m.u.start_work_conn.src_port, 33722);
                assert_int_equal(m.u.start_work_conn.dst_port, 16000);
                seen->start_work_conn++;
                break;
            case UFRPC_MSG_NEW_PROXY:
                assert_string_equal(m.u.new_proxy.proxy_name, "echo");
                assert_string_equal(m.u.new_proxy.proxy_type, "tcp");
                assert_int_equal(m.u.new_proxy.remote_port, 16000);
                break;
            case UFRPC_MSG_NEW_PROXY_RESP:
                assert_string_equal(m.u.new_proxy_resp.remote_addr, ":16000");
                break;
            default:
                break;
            }
        }
        ufrpc_msg_free(&m);
    }
    free(dec);
    free(text);
}

static void test_transcripts(void **state)
{
    (void)state;
    struct seen s = {0};
    check_transcript("transcript-v0.70.0-mux-false.txt", 1, &s);
    assert_int_equal(s.login, 1);
    assert_int_equal(s.login_resp, 1);
    assert_int_equal(s.new_work_conn, 2);
    assert_int_equal(s.start_work_conn, 1);
    assert_int_equal(s.total, 17);
    check_transcript("transcript-v0.70.0-mux-true.txt", 1, &s);
    /* v0.31.2 writes fields that no longer exist and empty values: decode only. */
    check_transcript("transcript-v0.31.2-mux-false.txt", 0, &s);
    check_transcript("transcript-v0.31.2-mux-true.txt", 0, &s);
    assert_int_equal(s.total, 17 + 17 + 15 + 15);
}

/* ---- round trips: every type with every field set */

static void fill(struct ufrpc_msg *m, uint8_t type)
{
    assert_int_equal(ufrpc_msg_init(m, type), 0);
#define S(field, v) assert_int_equal(ufrpc_msg_set_str(&(field), v), 0)
#define V(field, v) assert_int_equal(ufrpc_strv_push(&(field), v), 0)
#define M(field, k, v) assert_int_equal(ufrpc_map_set(&(field), k, v), 0)
    switch (type) {
    case UFRPC_MSG_LOGIN: {
        struct ufrpc_msg_login *x = &m->u.login;
        S(x->version, "0.70.1"); S(x->hostname, "h"); S(x->os, "linux"); S(x->arch, "arm64");
        S(x->user, "alice"); S(x->privilege_key, "k"); x->timestamp = -1; S(x->run_id, "r");
        S(x->client_id, "cid"); M(x->metas, "z", "1"); M(x->metas, "a", "2");
        S(x->client_spec.type, "ssh-tunnel"); x->client_spec.always_auth_pass = true;
        x->pool_count = 5;
        break;
    }
    case UFRPC_MSG_LOGIN_RESP:
        S(m->u.login_resp.version, "v"); S(m->u.login_resp.run_id, "r");
        S(m->u.login_resp.error, "bad token");
        break;
    case UFRPC_MSG_NEW_PROXY: {
        struct ufrpc_msg_new_proxy *x = &m->u.new_proxy;
        S(x->proxy_name, "alice.web"); S(x->proxy_type, "http"); x->use_encryption = true;
        x->use_compression = true; S(x->bandwidth_limit, "1MB"); S(x->bandwidth_limit_mode, "server");
        S(x->group, "g"); S(x->group_key, "gk"); M(x->metas, "m", "1");
        M(x->annotations, "an", "x"); x->remote_port = 65535; V(x->custom_domains, "a.example");
        V(x->custom_domains, "b.example"); S(x->subdomain, "sub"); V(x->locations, "/");
        V(x->locations, "/api"); S(x->http_user, "u"); S(x->http_pwd, "p");
        S(x->host_header_rewrite, "h"); M(x->headers, "X-From", "frp");
        M(x->response_headers, "X-Resp", "1"); S(x->route_by_http_user, "u"); S(x->sk, "secret");
        V(x->allow_users, "*"); S(x->multiplexer, "httpconnect");
        break;
    }
    case UFRPC_MSG_NEW_PROXY_RESP:
        S(m->u.new_proxy_resp.proxy_name, "p"); S(m->u.new_proxy_resp.remote_addr, ":6000");
        S(m->u.new_proxy_resp.error, "port in use");
        break;
    case UFRPC_MSG_CLOSE_PROXY:
        S(m->u.close_proxy.proxy_name, "p");
        break;
    case UFRPC_MSG_NEW_WORK_CONN:
        S(m->u.new_work_conn.run_id, "r"); S(m->u.new_work_conn.privilege_key, "k");
        m->u.new_work_conn.timestamp = INT64_MAX;
        break;
    case UFRPC_MSG_REQ_WORK_CONN:
        break;
    case UFRPC_MSG_START_WORK_CONN: {
        struct ufrpc_msg_start_work_conn *x = &m->u.start_work_conn;
        S(x->proxy_name, "p"); S(x->src_addr, "::1"); S(x->dst_addr, "fe80::1");
        x->src_port = 65535; x->dst_port = 1; S(x->error, "e");
        break;
    }
    case UFRPC_MSG_NEW_VISITOR_CONN: {
        struct ufrpc_msg_new_visitor_conn *x = &m->u.new_visitor_conn;
        S(x->run_id, "r"); S(x->proxy_name, "bob.secret"); S(x->sign_key, "sk");
        x->timestamp = 1; x->use_encryption = true; x->use_compression = true;
        break;
    }
    case UFRPC_MSG_NEW_VISITOR_CONN_RESP:
        S(m->u.new_visitor_conn_resp.proxy_name, "p"); S(m->u.new_visitor_conn_resp.error, "e");
        break;
    case UFRPC_MSG_PING:
        S(m->u.ping.privilege_key, "k"); m->u.ping.timestamp = 42;
        break;
    case UFRPC_MSG_PONG:
        S(m->u.pong.error, "auth failed");
        break;
    case UFRPC_MSG_UDP_PACKET: {
        uint8_t bin[256];
        for (int i = 0; i < 256; i++)
            bin[i] = (uint8_t)i;
        assert_int_equal(ufrpc_bytes_set(&m->u.udp_packet.content, bin, sizeof bin), 0);
        assert_int_equal(ufrpc_udp_addr_set(&m->u.udp_packet.laddr, "fe80::1", 1, "eth0"), 0);
        assert_int_equal(ufrpc_udp_addr_set(&m->u.udp_packet.raddr, "10.0.0.1", 0, ""), 0);
        break;
    }
    case UFRPC_MSG_NAT_HOLE_VISITOR: {
        struct ufrpc_msg_nat_hole_visitor *x = &m->u.nat_hole_visitor;
        S(x->transaction_id, "t"); S(x->proxy_name, "p"); x->pre_check = true;
        S(x->protocol, "quic"); S(x->sign_key, "s"); x->timestamp = 7;
        V(x->mapped_addrs, "1.2.3.4:5"); V(x->assisted_addrs, "10.0.0.2:6");
        break;
    }
    case UFRPC_MSG_NAT_HOLE_CLIENT: {
        struct ufrpc_msg_nat_hole_client *x = &m->u.nat_hole_client;
        S(x->transaction_id, "t"); S(x->proxy_name, "p"); S(x->sid, "sid");
        V(x->mapped_addrs, "a"); V(x->assisted_addrs, "b"); V(x->assisted_addrs, "");
        break;
    }
    case UFRPC_MSG_NAT_HOLE_RESP: {
        struct ufrpc_msg_nat_hole_resp *x = &m->u.nat_hole_resp;
        S(x->transaction_id, "t"); S(x->sid, "s"); S(x->protocol, "kcp");
        V(x->candidate_addrs, "c"); V(x->assisted_addrs, "a");
        struct ufrpc_nat_detect_behavior *d = &x->detect_behavior;
        S(d->role, "sender"); d->mode = 2; d->ttl = 7; d->send_delay_ms = 10; d->read_timeout_ms = 5000;
        d->candidate_ports.items = calloc(2, sizeof *d->candidate_ports.items);
        assert_non_null(d->candidate_ports.items);
        d->candidate_ports.n = 2;
        d->candidate_ports.items[0].from = 1000;
        d->candidate_ports.items[0].to = 2000;
        d->candidate_ports.items[1].to = 3; /* from = 0 is omitted */
        d->send_random_ports = 4; d->listen_random_ports = 5;
        S(x->error, "e");
        break;
    }
    case UFRPC_MSG_NAT_HOLE_SID:
        S(m->u.nat_hole_sid.transaction_id, "t"); S(m->u.nat_hole_sid.sid, "s");
        m->u.nat_hole_sid.response = true; S(m->u.nat_hole_sid.nonce, "n");
        break;
    case UFRPC_MSG_NAT_HOLE_REPORT:
        S(m->u.nat_hole_report.sid, "s"); m->u.nat_hole_report.success = true;
        break;
    default:
        fail();
    }
#undef S
#undef V
#undef M
}

static const char *const expect_full[] = {
    "o{\"version\":\"0.70.1\",\"hostname\":\"h\",\"os\":\"linux\",\"arch\":\"arm64\",\"user\":\"alice\","
    "\"privilege_key\":\"k\",\"timestamp\":-1,\"run_id\":\"r\",\"client_id\":\"cid\","
    "\"metas\":{\"a\":\"2\",\"z\":\"1\"},\"client_spec\":{\"type\":\"ssh-tunnel\","
    "\"always_auth_pass\":true},\"pool_count\":5}",
    "1{\"version\":\"v\",\"run_id\":\"r\",\"error\":\"bad token\"}",
    "p{\"proxy_name\":\"alice.web\",\"proxy_type\":\"http\",\"use_encryption\":true,"
    "\"use_compression\":true,\"bandwidth_limit\":\"1MB\",\"bandwidth_limit_mode\":\"server\","
    "\"group\":\"g\",\"group_key\":\"gk\",\"metas\":{\"m\":\"1\"},\"annotations\":{\"an\":\"x\"},"
    "\"remote_port\":65535,\"custom_domains\":[\"a.example\",\"b.example\"],\"subdomain\":\"sub\","
    "\"locations\":[\"/\",\"/api\"],\"http_user\":\"u\",\"http_pwd\":\"p\","
    "\"host_header_rewrite\":\"h\",\"headers\":{\"X-From\":\"frp\"},"
    "\"response_headers\":{\"X-Resp\":\"1\"},\"route_by_http_user\":\"u\",\"sk\":\"secret\","
    "\"allow_users\":[\"*\"],\"multiplexer\":\"httpconnect\"}",
    "2{\"proxy_name\":\"p\",\"remote_addr\":\":6000\",\"error\":\"port in use\"}",
    "c{\"proxy_name\":\"p\"}",
    "w{\"run_id\":\"r\",\"privilege_key\":\"k\",\"timestamp\":9223372036854775807}",
    "r{}",
    "s{\"proxy_name\":\"p\",\"src_addr\":\"::1\",\"dst_addr\":\"fe80::1\",\"src_port\":65535,"
    "\"dst_port\":1,\"error\":\"e\"}",
    "v{\"run_id\":\"r\",\"proxy_name\":\"bob.secret\",\"sign_key\":\"sk\",\"timestamp\":1,"
    "\"use_encryption\":true,\"use_compression\":true}",
    "3{\"proxy_name\":\"p\",\"error\":\"e\"}",
    "h{\"privilege_key\":\"k\",\"timestamp\":42}",
    "4{\"error\":\"auth failed\"}",
    "u{\"c\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
    "P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKD"
    "hIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfI"
    "ycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\","
    "\"l\":{\"IP\":\"fe80::1\",\"Port\":1,\"Zone\":\"eth0\"},"
    "\"r\":{\"IP\":\"10.0.0.1\",\"Port\":0,\"Zone\":\"\"}}",
    "i{\"transaction_id\":\"t\",\"proxy_name\":\"p\",\"pre_check\":true,\"protocol\":\"quic\","
    "\"sign_key\":\"s\",\"timestamp\":7,\"mapped_addrs\":[\"1.2.3.4:5\"],"
    "\"assisted_addrs\":[\"10.0.0.2:6\"]}",
    "n{\"transaction_id\":\"t\",\"proxy_name\":\"p\",\"sid\":\"sid\",\"mapped_addrs\":[\"a\"],"
    "\"assisted_addrs\":[\"b\",\"\"]}",
    "m{\"transaction_id\":\"t\",\"sid\":\"s\",\"protocol\":\"kcp\",\"candidate_addrs\":[\"c\"],"
    "\"assisted_addrs\":[\"a\"],\"detect_behavior\":{\"role\":\"sender\",\"mode\":2,\"ttl\":7,"
    "\"send_delay_ms\":10,\"read_timeout\":5000,\"candidate_ports\":[{\"from\":1000,\"to\":2000},"
    "{\"to\":3}],\"send_random_ports\":4,\"listen_random_ports\":5},\"error\":\"e\"}",
    "5{\"transaction_id\":\"t\",\"sid\":\"s\",\"response\":true,\"nonce\":\"n\"}",
    "6{\"sid\":\"s\",\"success\":true}",
};

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    assert_int_equal(sizeof expect_full / sizeof expect_full[0], 18);
    for (size_t i = 0; i < 18; i++) {
        uint8_t type = (uint8_t)expect_full[i][0];
        const char *want = expect_full[i] + 1;
        struct ufrpc_msg m;
        fill(&m, type);
        check_json(&m, want);

        /* Through v1 and v2 frames and back. */
        uint8_t *frame;
        size_t flen;
        assert_int_equal(ufrpc_msg_encode_frame(&m, &frame, &flen), 0);
        struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
        assert_non_null(dec);
        ufrpc_frame_decoder_init(dec);
        struct ufrpc_frame fr;
        size_t used;
        assert_int_equal(ufrpc_frame_decoder_feed(dec, frame, flen, &used, &fr), 1);
        struct ufrpc_msg d;
        assert_int_equal(ufrpc_msg_decode(fr.type, fr.body, fr.body_len, &d), 0);
        assert_int_equal(d.type, type);
        char *json = encode(&d);
        assert_string_equal(json, want);
        free(json);
        ufrpc_msg_free(&d);
        free(frame);
        free(dec);

        assert_int_equal(ufrpc_msg_encode_frame_v2(&m, &frame, &flen), 0);
        struct ufrpc_frame_v2_decoder *dec2 = malloc(sizeof *dec2);
        assert_non_null(dec2);
        ufrpc_frame_v2_decoder_init(dec2);
        struct ufrpc_frame_v2 fr2;
        assert_int_equal(ufrpc_frame_v2_decoder_feed(dec2, frame, flen, &used, &fr2), 1);
        uint8_t t;
        const char *body;
        size_t blen;
        assert_int_equal(ufrpc_frame_v2_split_message(&fr2, &t, &body, &blen), 0);
        assert_int_equal(t, type);
        assert_int_equal(ufrpc_msg_decode(t, body, blen, &d), 0);
        json = encode(&d);
        assert_string_equal(json, want);
        free(json);
        ufrpc_msg_free(&d);
        free(frame);
        free(dec2);

        ufrpc_msg_free(&m);
        ufrpc_msg_free(&m); /* twice is harmless */
        /* A freed message encodes as the empty message. */
        json = encode(&m);
        assert_string_equal(json, type == UFRPC_MSG_LOGIN      ? "{\"client_spec\":{}}"
                                  : type == UFRPC_MSG_NAT_HOLE_RESP ? "{\"detect_behavior\":{}}"
                                                                     : "{}");
        free(json);
    }
}

static void test_decoded_fields(void **state)
{
    (void)state;
    struct ufrpc_msg m;
    const char *j = expect_full[12] + 1; /* UDPPacket */
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_UDP_PACKET, j, strlen(j), &m), 0);
    assert_int_equal(m.u.udp_packet.content.len, 256);
    for (int i = 0; i < 256; i++)
        assert_int_equal(m.u.udp_packet.content.data[i], i);
    assert_non_null(m.u.udp_packet.laddr);
    assert_string_equal(m.u.udp_packet.laddr->ip, "fe80::1");
    assert_string_equal(m.u.udp_packet.laddr->zone, "eth0");
    assert_int_equal(m.u.udp_packet.raddr->port, 0);
    ufrpc_msg_free(&m);

    j = expect_full[15] + 1; /* NatHoleResp */
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_NAT_HOLE_RESP, j, strlen(j), &m), 0);
    const struct ufrpc_nat_detect_behavior *d = &m.u.nat_hole_resp.detect_behavior;
    assert_string_equal(d->role, "sender");
    assert_int_equal(d->read_timeout_ms, 5000);
    assert_int_equal(d->candidate_ports.n, 2);
    assert_int_equal(d->candidate_ports.items[0].from, 1000);
    assert_int_equal(d->candidate_ports.items[1].from, 0);
    assert_int_equal(d->candidate_ports.items[1].to, 3);
    ufrpc_msg_free(&m);

    j = expect_full[2] + 1; /* NewProxy */
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_NEW_PROXY, j, strlen(j), &m), 0);
    assert_string_equal(ufrpc_map_get(&m.u.new_proxy.headers, "X-From"), "frp");
    assert_null(ufrpc_map_get(&m.u.new_proxy.headers, "x-from"));
    assert_int_equal(m.u.new_proxy.locations.n, 2);
    assert_string_equal(m.u.new_proxy.locations.items[1], "/api");
    assert_true(m.u.new_proxy.use_encryption);
    ufrpc_msg_free(&m);
}

/* ---- Go encoding details */
static void test_escaping(void **state)
{
    (void)state;
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_PONG), 0);
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"<a href=\"x\">&amp;</a>", "\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e"},
        {"back\\slash/", "back\\\\slash/"},
        {"\n\r\t\b\f\x01\x1f\x7f", "\\n\\r\\t\\b\\f\\u0001\\u001f\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029"},
        {"bad\xff\xc3(\xed\xa0\x80!", "bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd!"},
        {"\xc0\xaf\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"},
        {"trunc\xe2\x82", "trunc\\ufffd\\ufffd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ufrpc_msg_set_str(&m.u.pong.error, cases[i].in), 0);
        char want[256];
        snprintf(want, sizeof want, "{\"error\":\"%s\"}", cases[i].out);
        char *json = encode(&m);
        assert_string_equal(json, want);
        /* Valid UTF-8 input survives a decode of our output unchanged. */
        struct ufrpc_msg d;
        assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_PONG, json, strlen(json), &d), 0);
        if (i < 5)
            assert_string_equal(d.u.pong.error, cases[i].in);
        ufrpc_msg_free(&d);
        free(json);
    }
    ufrpc_msg_free(&m);

    /* Map keys sorted bytewise (uppercase first), values escaped too. */
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_LOGIN), 0);
    assert_int_equal(ufrpc_map_set(&m.u.login.metas, "b", "<"), 0);
    assert_int_equal(ufrpc_map_set(&m.u.login.metas, "a", "1"), 0);
    assert_int_equal(ufrpc_map_set(&m.u.login.metas, "B", "2"), 0);
    assert_int_equal(ufrpc_map_set(&m.u.login.metas, "a", "3"), 0); /* replaces */
    char *json = encode(&m);
    assert_string_equal(json,
                        "{\"metas\":{\"B\":\"2\",\"a\":\"3\",\"b\":\"\\u003c\"},\"client_spec\":{}}");
    free(json);
    ufrpc_msg_free(&m);
}

/* ---- Go decoding rules */
static void test_decode_rules(void **state)
{
    (void)state;
    struct ufrpc_msg m;
    const char *j;

    /* Unknown keys ignored, keys case-insensitive, null ignored, whitespace ok. */
    j = " {\"PROXY_NAME\":\"a\",\"Src_Port\":1,\"unknown\":{\"x\":[1,2,{}]},\"dst_addr\":null,"
        "\"error\":\"\\u003c\\/\"}\r\n\t";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_START_WORK_CONN, j, strlen(j), &m), 0);
    assert_string_equal(m.u.start_work_conn.proxy_name, "a");
    assert_int_equal(m.u.start_work_conn.src_port, 1);
    assert_null(m.u.start_work_conn.dst_addr);
    assert_string_equal(m.u.start_work_conn.error, "</");
    ufrpc_msg_free(&m);

    /* Later duplicates (any case) win. */
    j = "{\"run_id\":\"a\",\"RUN_ID\":\"b\"}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_NEW_WORK_CONN, j, strlen(j), &m), 0);
    assert_string_equal(m.u.new_work_conn.run_id, "b");
    ufrpc_msg_free(&m);

    /* Top-level null is an empty message (as in Go); an empty string present is "". */
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_PING, "null", 4, &m), 0);
    assert_null(m.u.ping.privilege_key);
    j = "{\"privilege_key\":\"\"}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_PING, j, strlen(j), &m), 0);
    assert_string_equal(m.u.ping.privilege_key, "");
    ufrpc_msg_free(&m);

    /* Integer limits. */
    j = "{\"timestamp\":9223372036854775807}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_PING, j, strlen(j), &m), 0);
    assert_int_equal(m.u.ping.timestamp, INT64_MAX);
    j = "{\"timestamp\":-9223372036854775807}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_PING, j, strlen(j), &m), 0);
    assert_int_equal(m.u.ping.timestamp, -INT64_MAX);
    j = "{\"src_port\":65535,\"dst_port\":0}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_START_WORK_CONN, j, strlen(j), &m), 0);
    assert_int_equal(m.u.start_work_conn.src_port, 65535);

    /* Null array elements and map values become "" (Go zero values). */
    j = "{\"allow_users\":[null,\"x\"],\"metas\":{\"k\":null}}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_NEW_PROXY, j, strlen(j), &m), 0);
    assert_int_equal(m.u.new_proxy.allow_users.n, 2);
    assert_string_equal(m.u.new_proxy.allow_users.items[0], "");
    assert_string_equal(ufrpc_map_get(&m.u.new_proxy.metas, "k"), "");
    ufrpc_msg_free(&m);

    /* Empty "c" and empty arrays. */
    j = "{\"c\":\"\",\"l\":{}}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_UDP_PACKET, j, strlen(j), &m), 0);
    assert_int_equal(m.u.udp_packet.content.len, 0);
    assert_non_null(m.u.udp_packet.laddr);
    assert_null(m.u.udp_packet.raddr);
    char *json = encode(&m);
    assert_string_equal(json, "{\"l\":{\"IP\":\"\",\"Port\":0,\"Zone\":\"\"}}");
    free(json);
    ufrpc_msg_free(&m);
}

static void expect_err(uint8_t type, const char *j, int err)
{
    struct ufrpc_msg m;
    int rc = ufrpc_msg_decode(type, j, strlen(j), &m);
    if (rc != err)
        fail_msg("decode %c %s: got %s, want %s", type, j, ufrpc_errname(rc), ufrpc_errname(err));
    /* Nothing is left to free, and the message reads as empty. */
    char *json = encode(&m);
    assert_true(strcmp(json, "{}") == 0 || strcmp(json, "{\"client_spec\":{}}") == 0 ||
                strcmp(json, "{\"detect_behavior\":{}}") == 0);
    free(json);
}

static void test_decode_errors(void **state)
{
    (void)state;
    struct ufrpc_msg m;
    /* Malformed. */
    const char *bad[] = {"", " ", "{", "{}x", "{} {}", "{'a':1}", "{\"a\":1,}", "[1",
                         "{\"run_id\":\"a\"", "{\"run_id\":\"\\x\"}", "nul", "{\"a\":01}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_err(UFRPC_MSG_NEW_WORK_CONN, bad[i], UFRPC_ERR_JSON);
    /* Wrong types. */
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "[]", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "\"x\"", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "{\"run_id\":1}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "{\"run_id\":\"a\",\"timestamp\":\"1\"}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "{\"timestamp\":1.0}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "{\"timestamp\":1e3}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_WORK_CONN, "{\"timestamp\":true}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_VISITOR_CONN, "{\"use_encryption\":1}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_VISITOR_CONN, "{\"use_encryption\":\"true\"}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_PROXY, "{\"metas\":[]}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_PROXY, "{\"metas\":{\"a\":1}}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_PROXY, "{\"custom_domains\":\"a\"}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NEW_PROXY, "{\"proxy_name\":\"x\",\"locations\":[\"/\",2]}",
               UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_LOGIN, "{\"client_spec\":\"x\"}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_LOGIN, "{\"client_spec\":{\"always_auth_pass\":\"yes\"}}",
               UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_UDP_PACKET, "{\"c\":5}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_UDP_PACKET, "{\"r\":\"1.2.3.4:5\"}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_UDP_PACKET, "{\"r\":{\"Port\":\"5\"}}", UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NAT_HOLE_RESP, "{\"detect_behavior\":{\"candidate_ports\":[1]}}",
               UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_NAT_HOLE_RESP, "{\"detect_behavior\":{\"candidate_ports\":{}}}",
               UFRPC_ERR_JSON_TYPE);
    expect_err(UFRPC_MSG_PONG, "{\"error\":\"a\\u0000b\"}", UFRPC_ERR_JSON_TYPE);
    /* Ranges. */
    expect_err(UFRPC_MSG_START_WORK_CONN, "{\"src_port\":65536}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_START_WORK_CONN, "{\"dst_port\":-1}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_PING, "{\"timestamp\":9223372036854775808}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_PING, "{\"timestamp\":18446744073709551615}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_PING, "{\"timestamp\":99999999999999999999999}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_PING, "{\"timestamp\":-99999999999999999999999}", UFRPC_ERR_JSON_RANGE);
    expect_err(UFRPC_MSG_NAT_HOLE_RESP,
               "{\"sid\":\"x\",\"detect_behavior\":{\"candidate_ports\":[{\"from\":1e2}]}}",
               UFRPC_ERR_JSON_TYPE);
    /* Base64. */
    const char *b64[] = {"{\"c\":\"aGVsbG8\"}", "{\"c\":\"aGVsbG8==\"}", "{\"c\":\"a\"}",
                         "{\"c\":\"aGVs bG8=\"}", "{\"c\":\"aGVsbG9=\"}", "{\"c\":\"aGVsbG8=aGVs\"}",
                         "{\"c\":\"aGVsbG8-\"}", "{\"c\":\"====\"}"};
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++)
        expect_err(UFRPC_MSG_UDP_PACKET, b64[i], UFRPC_ERR_BASE64);
    /* Accepted base64 forms: with \r\n inside (Go skips them), all lengths. */
    const char *ok = "{\"c\":\"aGVs\\r\\nbG8=\"}";
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_UDP_PACKET, ok, strlen(ok), &m), 0);
    assert_int_equal(m.u.udp_packet.content.len, 5);
    assert_memory_equal(m.u.udp_packet.content.data, "hello", 5);
    ufrpc_msg_free(&m);
    /* Unknown type. */
    assert_int_equal(ufrpc_msg_decode('x', "{}", 2, &m), UFRPC_ERR_MSG_TYPE);
    assert_int_equal(ufrpc_msg_init(&m, 'x'), UFRPC_ERR_MSG_TYPE);
    char *json;
    size_t len;
    m.type = 'x';
    assert_int_equal(ufrpc_msg_encode_json(&m, &json, &len), UFRPC_ERR_MSG_TYPE);
}

static void test_base64_lengths(void **state)
{
    (void)state;
    /* Every payload length 0..40 round-trips through UDPPacket JSON. */
    uint64_t seed = 7;
    for (size_t n = 0; n <= 40; n++) {
        uint8_t data[40];
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)ufrpc_test_rand(&seed);
        struct ufrpc_msg m, d;
        assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET), 0);
        assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, data, n), 0);
        char *json = encode(&m);
        assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_UDP_PACKET, json, strlen(json), &d), 0);
        assert_int_equal(d.u.udp_packet.content.len, n);
        if (n > 0)
            assert_memory_equal(d.u.udp_packet.content.data, data, n);
        else
            assert_string_equal(json, "{}");
        free(json);
        ufrpc_msg_free(&m);
        ufrpc_msg_free(&d);
    }
}

static void test_frame_too_long(void **state)
{
    (void)state;
    /* A UDPPacket whose JSON exceeds 10240 bytes cannot be v1-framed but fits v2. */
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET), 0);
    uint8_t *payload = calloc(1, 8000);
    assert_non_null(payload);
    assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, payload, 8000), 0);
    uint8_t *out = NULL;
    size_t len;
    assert_int_equal(ufrpc_msg_encode_frame(&m, &out, &len), UFRPC_ERR_MSG_TOO_LONG);
    assert_null(out);
    assert_int_equal(ufrpc_msg_encode_frame_v2(&m, &out, &len), 0);
    free(out);
    assert_int_equal(ufrpc_bytes_set(&m.u.udp_packet.content, payload, 7000), 0);
    assert_int_equal(ufrpc_msg_encode_frame(&m, &out, &len), 0);
    free(out);
    free(payload);
    ufrpc_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),         cmocka_unit_test(test_transcripts),
        cmocka_unit_test(test_roundtrip_all_types), cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_escaping),        cmocka_unit_test(test_decode_rules),
        cmocka_unit_test(test_decode_errors),   cmocka_unit_test(test_base64_lengths),
        cmocka_unit_test(test_frame_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
