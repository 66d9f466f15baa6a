/* Wire v2 hellos and login handshake (proto/v2hello, proto/v2msg, proto/v2chan):
 * the ClientHello and magic+ClientHello vectors byte for byte, the ServerHello vector,
 * TH and keys of docs/PROTOCOL.md §14.6, frpc's rejection texts, the server-side helpers, the
 * §14.6 AEAD records of an encrypted ReqWorkConn, and a whole in-memory v2 login
 * (client handshake object against a server built from the helpers) with the
 * server's bytes split at every boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/v2chan.h"
#include "proto/v2crypto.h"
#include "proto/v2hello.h"
#include "proto/v2msg.h"
#include "testutil.h"

/* docs/PROTOCOL.md §14.6 (not in vectors.txt). */
static const char K_C2S_HEX[] = "c025b102be766da2ee6127f0bb0c9e56b0456d3d32e3a2af7b8844d8e636471b";
static const char K_S2C_HEX[] = "93d3ca2008739a3f8ae9aa38f6580249b48caa2c4a9efd16ba5b9e21783cd7a1";
static const char RECORDS_HEX[] = "101112131415161718191a1b"
                                  "00000018a66ee78db4df8aa3a14b72081b613d2860e6c6b474d0bc37"
                                  "000000149a3e5bbe0b27d0a37ed96081566866ede482d0c1";

static const ufrpc_aead_alg_t BOTH[2] = {UFRPC_AEAD_AES_256_GCM, UFRPC_AEAD_XCHACHA20_POLY1305};

static void seq_bytes(uint8_t *b, size_t n, int start, int step)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(start + step * (int)i);
}

static void unhex_exact(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(ufrpc_test_unhex(hex, out, n), (int)n);
}

static void load_login(struct ufrpc_msg *m)
{
    char *json = ufrpc_test_vector_text("Login JSON: ");
    assert_non_null(json);
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_LOGIN, json, strlen(json), m), 0);
    free(json);
}

/* ---- hello JSON --------------------------------------------------------------- */

static void test_client_hello_vector(void **state)
{
    (void)state;
    char *want = ufrpc_test_vector_text("ClientHello JSON: ");
    assert_non_null(want);
    uint8_t rnd[32];
    seq_bytes(rnd, 32, 0, 1);
    struct ufrpc_v2_bootstrap bs = {"tcp", true, true};
    char *json;
    size_t len;
    assert_int_equal(ufrpc_v2hello_build_client(&bs, BOTH, 2, rnd, &json, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_string_equal(json, want);
    free(json);

    /* false booleans and an empty transport are omitted, the object stays */
    struct ufrpc_v2_bootstrap bs2 = {NULL, false, false};
    const ufrpc_aead_alg_t x[1] = {UFRPC_AEAD_XCHACHA20_POLY1305};
    assert_int_equal(ufrpc_v2hello_build_client(&bs2, x, 1, rnd, &json, &len), 0);
    assert_string_equal(json, "{\"bootstrap\":{},\"capabilities\":{\"message\":{\"codecs\":"
                              "[\"json\"]},\"crypto\":{\"algorithms\":[\"xchacha20-poly1305\"],"
                              "\"clientRandom\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}}}");
    free(json);
    struct ufrpc_v2_bootstrap bs3 = {"w\"s<", false, true};
    assert_int_equal(ufrpc_v2hello_build_client(&bs3, x, 1, rnd, &json, &len), 0);
    assert_non_null(strstr(json, "{\"bootstrap\":{\"transport\":\"w\\\"s\\u003c\",\"tcpMux\":true}"));
    free(json);
    const ufrpc_aead_alg_t bad[1] = {(ufrpc_aead_alg_t)7};
    assert_int_equal(ufrpc_v2hello_build_client(&bs, bad, 1, rnd, &json, &len), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_v2hello_build_client(&bs, BOTH, 0, rnd, &json, &len), UFRPC_ERR_INVAL);
    free(want);
}

static void test_default_algs(void **state)
{
    (void)state;
    ufrpc_aead_alg_t a[2];
    ufrpc_v2hello_default_algs(a);
    assert_true(a[0] != a[1]);
    assert_non_null(ufrpc_aead_alg_name(a[0]));
    assert_non_null(ufrpc_aead_alg_name(a[1]));
}

static void test_server_hello_vector(void **state)
{
    (void)state;
    char *json = ufrpc_test_vector_text("ServerHello JSON: ");
    assert_non_null(json);
    struct ufrpc_v2_server_hello sh;
    assert_int_equal(ufrpc_v2hello_parse_server(json, strlen(json), &sh), 0);
    assert_string_equal(sh.codec, "json");
    assert_string_equal(sh.algorithm, "aes-256-gcm");
    assert_null(sh.error);
    uint8_t want[32];
    seq_bytes(want, 32, 0xff, -1);
    assert_int_equal(sh.server_random_len, 32);
    assert_memory_equal(sh.server_random, want, 32);
    ufrpc_aead_alg_t alg = 0;
    char err[UFRPC_V2_ERR_LEN];
    assert_int_equal(ufrpc_v2hello_check_server(&sh, BOTH, 2, &alg, err, sizeof err), 0);
    assert_int_equal(alg, UFRPC_AEAD_AES_256_GCM);
    ufrpc_v2hello_server_free(&sh);

    /* our builder reproduces it */
    char *built;
    size_t len;
    assert_int_equal(ufrpc_v2hello_build_server(UFRPC_AEAD_AES_256_GCM, want, &built, &len), 0);
    assert_string_equal(built, json);
    free(built);
    free(json);
}

static void test_transcript_and_keys(void **state)
{
    (void)state;
    char *ch = ufrpc_test_vector_text("ClientHello JSON: ");
    char *sh = ufrpc_test_vector_text("ServerHello JSON: ");
    char *th_hex = ufrpc_test_vector_text("transcript hash: ");
    assert_non_null(ch);
    assert_non_null(sh);
    assert_non_null(th_hex);
    uint8_t th[32], want_th[32], k1[32], k2[32], w1[32], w2[32];
    assert_int_equal(ufrpc_v2crypto_transcript_hash((const uint8_t *)ch, strlen(ch),
                                                    (const uint8_t *)sh, strlen(sh), th),
                     0);
    unhex_exact(th_hex, want_th, 32);
    assert_memory_equal(th, want_th, 32);
    assert_int_equal(ufrpc_v2crypto_derive_keys((const uint8_t *)"12345678", 8, th,
                                                UFRPC_AEAD_AES_256_GCM, k1, k2),
                     0);
    unhex_exact(K_C2S_HEX, w1, 32);
    unhex_exact(K_S2C_HEX, w2, 32);
    assert_memory_equal(k1, w1, 32);
    assert_memory_equal(k2, w2, 32);
    free(ch);
    free(sh);
    free(th_hex);
}

/* Parses json as a ServerHello and checks it against `offered`; returns the code and
 * leaves the text in err. */
static int check_sh(const char *json, const ufrpc_aead_alg_t *offered, size_t n, char *err,
                    size_t cap)
{
    struct ufrpc_v2_server_hello sh;
    err[0] = '\0';
    int rc = ufrpc_v2hello_parse_server(json, strlen(json), &sh);
    if (rc != 0)
        return rc;
    ufrpc_aead_alg_t alg;
    rc = ufrpc_v2hello_check_server(&sh, offered, n, &alg, err, cap);
    ufrpc_v2hello_server_free(&sh);
    return rc;
}

#define RND32 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="

static void test_bad_server_hellos(void **state)
{
    (void)state;
    char err[UFRPC_V2_ERR_LEN];
    const ufrpc_aead_alg_t only_x[1] = {UFRPC_AEAD_XCHACHA20_POLY1305};
    assert_int_equal(
        check_sh("{\"selected\":{\"message\":{\"codec\":\"protobuf\"},\"crypto\":{\"algorithm\":"
                 "\"aes-256-gcm\",\"serverRandom\":\"" RND32 "\"}}}",
                 BOTH, 2, err, sizeof err),
        UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "unsupported selected message codec: protobuf");
    assert_int_equal(check_sh("{\"selected\":{\"crypto\":{\"algorithm\":\"aes-256-gcm\"}}}", BOTH,
                              2, err, sizeof err),
                     UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "unsupported selected message codec: ");
    assert_int_equal(
        check_sh("{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{\"algorithm\":"
                 "\"aes-256-gcm\",\"serverRandom\":\"" RND32 "\"}}}",
                 only_x, 1, err, sizeof err),
        UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "selected crypto algorithm was not advertised by client: aes-256-gcm");
    assert_int_equal(
        check_sh("{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{\"algorithm\":"
                 "\"chacha20-poly1305\",\"serverRandom\":\"" RND32 "\"}}}",
                 BOTH, 2, err, sizeof err),
        UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "unknown selected crypto algorithm: chacha20-poly1305");
    assert_int_equal(
        check_sh("{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{\"algorithm\":"
                 "\"aes-256-gcm\",\"serverRandom\":\"AAECAwQFBgcICQoLDA0ODw==\"}}}",
                 BOTH, 2, err, sizeof err),
        UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "invalid crypto server random length 16, want 32");
    assert_int_equal(check_sh("{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{"
                              "\"algorithm\":\"aes-256-gcm\"}}}",
                              BOTH, 2, err, sizeof err),
                     UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "invalid crypto server random length 0, want 32");
    /* the error field wins over everything else */
    assert_int_equal(check_sh("{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{}},"
                              "\"error\":\"no supported crypto algorithm\"}",
                              BOTH, 2, err, sizeof err),
                     UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "no supported crypto algorithm");
    /* Go decoding: case-insensitive keys, unknown keys, null, later duplicates */
    assert_int_equal(check_sh("{\"SELECTED\":{\"Message\":{\"CODEC\":\"json\"},\"x\":[1,{}],"
                              "\"crypto\":{\"algorithm\":null,\"Algorithm\":\"xchacha20-poly1305\","
                              "\"serverrandom\":\"" RND32 "\"}},\"error\":null}",
                              BOTH, 2, err, sizeof err),
                     0);
    /* type errors and malformed JSON are decode errors */
    assert_int_equal(check_sh("{\"selected\":{\"message\":{\"codec\":5}}}", BOTH, 2, err,
                              sizeof err),
                     UFRPC_ERR_JSON_TYPE);
    assert_int_equal(check_sh("{\"selected\":[]}", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON_TYPE);
    assert_int_equal(check_sh("{\"selected\":{\"crypto\":{\"algorithm\":\"aes-256-gcm\\u0000x\"}}}",
                              BOTH, 2, err, sizeof err),
                     UFRPC_ERR_JSON_TYPE);
    assert_int_equal(check_sh("[]", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON_TYPE);
    assert_int_equal(check_sh("{\"error\":true}", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON_TYPE);
    assert_int_equal(check_sh("{\"selected\":{\"crypto\":{\"serverRandom\":\"!!\"}}}", BOTH, 2,
                              err, sizeof err),
                     UFRPC_ERR_BASE64);
    assert_int_equal(check_sh("{\"selected\":", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON);
    assert_int_equal(check_sh("{} x", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON);
    assert_int_equal(check_sh("", BOTH, 2, err, sizeof err), UFRPC_ERR_JSON);
    /* null is an empty hello: decodes, then fails the codec check */
    assert_int_equal(check_sh("null", BOTH, 2, err, sizeof err), UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "unsupported selected message codec: ");
}

static void test_server_side_helpers(void **state)
{
    (void)state;
    char *json = ufrpc_test_vector_text("ClientHello JSON: ");
    assert_non_null(json);
    struct ufrpc_v2_client_hello ch;
    assert_int_equal(ufrpc_v2hello_parse_client(json, strlen(json), &ch), 0);
    assert_string_equal(ch.transport, "tcp");
    assert_true(ch.tls);
    assert_true(ch.tcp_mux);
    assert_true(ch.codec_json);
    assert_int_equal(ch.n_algs_total, 2);
    assert_int_equal(ch.n_algs, 2);
    assert_int_equal(ch.algs[0], UFRPC_AEAD_AES_256_GCM);
    assert_int_equal(ch.client_random_len, 32);
    uint8_t rnd[32];
    seq_bytes(rnd, 32, 0, 1);
    assert_memory_equal(ch.client_random, rnd, 32);
    ufrpc_aead_alg_t alg = 0;
    char err[UFRPC_V2_ERR_LEN];
    assert_int_equal(ufrpc_v2hello_server_select(&ch, &alg, err, sizeof err), 0);
    assert_int_equal(alg, UFRPC_AEAD_AES_256_GCM);
    ufrpc_v2hello_client_free(&ch);
    free(json);

    struct {
        const char *json;
        int rc;
        ufrpc_aead_alg_t alg;
        const char *err;
    } cases[] = {
        {"{\"capabilities\":{\"message\":{\"codecs\":[\"json\"]},\"crypto\":{\"algorithms\":"
         "[\"rot13\",\"xchacha20-poly1305\",\"aes-256-gcm\"],\"clientRandom\":\"" RND32 "\"}}}",
         0, UFRPC_AEAD_XCHACHA20_POLY1305, ""},
        {"{\"capabilities\":{\"message\":{\"codecs\":[\"protobuf\"]},\"crypto\":{\"algorithms\":"
         "[\"aes-256-gcm\"],\"clientRandom\":\"" RND32 "\"}}}",
         UFRPC_ERR_V2_HELLO, 0, "unsupported message codec"},
        {"{\"capabilities\":{\"message\":{\"codecs\":[\"json\"]},\"crypto\":{\"algorithms\":"
         "[\"aes-256-gcm\"],\"clientRandom\":\"AAAA\"}}}",
         UFRPC_ERR_V2_HELLO, 0, "invalid crypto client random length 3, want 32"},
        {"{\"capabilities\":{\"message\":{\"codecs\":[\"json\"]},\"crypto\":{\"algorithms\":"
         "[\"rot13\"],\"clientRandom\":\"" RND32 "\"}}}",
         UFRPC_ERR_V2_HELLO, 0, "no supported crypto algorithm"},
        {"{}", UFRPC_ERR_V2_HELLO, 0, "unsupported message codec"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ufrpc_v2hello_parse_client(cases[i].json, strlen(cases[i].json), &ch), 0);
        err[0] = '\0';
        alg = 0;
        assert_int_equal(ufrpc_v2hello_server_select(&ch, &alg, err, sizeof err), cases[i].rc);
        assert_string_equal(err, cases[i].err);
        if (cases[i].rc == 0)
            assert_int_equal(alg, cases[i].alg);
        ufrpc_v2hello_client_free(&ch);
    }
    static const char *bad_types[] = {
        "{\"bootstrap\":{\"tls\":1}}",
        "{\"capabilities\":{\"crypto\":{\"algorithms\":\"aes-256-gcm\"}}}",
        "{\"capabilities\":{\"crypto\":{\"algorithms\":[1]}}}",
        "{\"capabilities\":{\"message\":{\"codecs\":{}}}}",
        "{\"capabilities\":{\"crypto\":{\"clientRandom\":[]}}}",
        "{\"bootstrap\":{\"transport\":false}}",
        "\"x\"",
    };
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++)
        assert_int_equal(ufrpc_v2hello_parse_client(bad_types[i], strlen(bad_types[i]), &ch),
                         UFRPC_ERR_JSON_TYPE);

    /* error ServerHello: frps's shape, and frpc reports its text */
    char *sh;
    size_t len;
    assert_int_equal(ufrpc_v2hello_build_server_error("no supported crypto algorithm", &sh, &len), 0);
    assert_string_equal(sh, "{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{}},"
                            "\"error\":\"no supported crypto algorithm\"}");
    assert_int_equal(check_sh(sh, BOTH, 2, err, sizeof err), UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "no supported crypto algorithm");
    free(sh);
}

/* ---- v2 frames ------------------------------------------------------------------ */

static void test_records_vector(void **state)
{
    (void)state;
    uint8_t ks2c[32], kc2s[32], nonce[12], want[80];
    unhex_exact(K_S2C_HEX, ks2c, 32);
    unhex_exact(K_C2S_HEX, kc2s, 32);
    seq_bytes(nonce, 12, 0x10, 1);
    int want_len = ufrpc_test_unhex(RECORDS_HEX, want, sizeof want);
    assert_int_equal(want_len, 12 + 28 + 24);
    struct ufrpc_v2chan_opts so = {UFRPC_AEAD_AES_256_GCM, ks2c, kc2s, nonce, NULL, NULL};
    struct ufrpc_v2chan *srv;
    assert_int_equal(ufrpc_v2chan_new(&so, &srv), 0);
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_REQ_WORK_CONN), 0);
    uint8_t *out;
    size_t len;
    assert_int_equal(ufrpc_v2chan_encode(srv, &m, &out, &len), 0);
    assert_int_equal(len, (size_t)want_len);
    assert_memory_equal(out, want, len);
    free(out);
    ufrpc_v2chan_free(srv);

    /* the client channel decodes it at every split */
    for (size_t cut = 0; cut <= (size_t)want_len; cut++) {
        struct ufrpc_v2chan_opts co = {UFRPC_AEAD_AES_256_GCM, kc2s, ks2c, nonce, NULL, NULL};
        struct ufrpc_v2chan *cli;
        assert_int_equal(ufrpc_v2chan_new(&co, &cli), 0);
        size_t used = 0;
        struct ufrpc_msg got;
        int rc = ufrpc_v2chan_feed(cli, want, cut, &used, &got);
        if (rc == 0) {
            assert_int_equal(used, cut);
            rc = ufrpc_v2chan_feed(cli, want + cut, (size_t)want_len - cut, &used, &got);
            assert_int_equal(used, (size_t)want_len - cut);
        }
        assert_int_equal(rc, 1);
        assert_int_equal(got.type, UFRPC_MSG_REQ_WORK_CONN);
        ufrpc_msg_free(&got);
        assert_int_equal(ufrpc_v2chan_feed(cli, NULL, 0, &used, &got), 0);
        assert_int_equal(ufrpc_v2chan_finish(cli), 0);
        ufrpc_v2chan_free(cli);
    }
}

static void test_v2msg_stream(void **state)
{
    (void)state;
    /* NewWorkConn with magic, then raw bytes that the reader must not take */
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_init(&m, UFRPC_MSG_NEW_WORK_CONN), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.new_work_conn.run_id, "a1b2c3d4e5f60718"), 0);
    uint8_t *enc;
    size_t len;
    assert_int_equal(ufrpc_v2msg_encode(&m, true, &enc, &len), 0);
    ufrpc_msg_free(&m);
    assert_int_equal(len, 7 + 8 + 2 + 29);
    assert_memory_equal(enc, "FRP\0\2\r\n\0\x10\0\0\0\0\0\x1f\0\x06{\"run_id\"", 26);
    uint8_t *buf = malloc(len + 5);
    assert_non_null(buf);
    memcpy(buf, enc, len);
    memcpy(buf + len, "HELLO", 5);
    for (size_t cut = 0; cut <= len + 5; cut++) {
        struct ufrpc_v2msg_reader *r = malloc(sizeof *r);
        assert_non_null(r);
        ufrpc_v2msg_reader_init(r, true);
        size_t used = 0, total = 0;
        struct ufrpc_msg got;
        int rc = ufrpc_v2msg_reader_feed(r, buf, cut, &used, &got);
        total = used;
        if (rc == 0) {
            assert_int_equal(used, cut);
            rc = ufrpc_v2msg_reader_feed(r, buf + cut, len + 5 - cut, &used, &got);
            total += used;
        }
        assert_int_equal(rc, 1);
        assert_int_equal(total, len);
        assert_int_equal(got.type, UFRPC_MSG_NEW_WORK_CONN);
        assert_string_equal(got.u.new_work_conn.run_id, "a1b2c3d4e5f60718");
        ufrpc_msg_free(&got);
        free(r);
    }
    /* raw variant on the client side (no magic): StartWorkConn, then payload bytes */
    {
        char *sj = ufrpc_test_vector_text("StartWorkConn JSON: ");
        assert_non_null(sj);
        struct ufrpc_msg sw;
        assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_START_WORK_CONN, sj, strlen(sj), &sw), 0);
        uint8_t *e2;
        size_t l2;
        assert_int_equal(ufrpc_v2msg_encode(&sw, false, &e2, &l2), 0);
        ufrpc_msg_free(&sw);
        assert_int_equal(l2, 10 + strlen(sj));
        e2 = realloc(e2, l2 + 3);
        assert_non_null(e2);
        memcpy(e2 + l2, "RAW", 3);
        struct ufrpc_v2msg_reader *rr = malloc(sizeof *rr);
        assert_non_null(rr);
        ufrpc_v2msg_reader_init(rr, false);
        size_t u = 0;
        struct ufrpc_frame fr;
        assert_int_equal(ufrpc_v2msg_reader_feed_frame(rr, e2, l2 - 1, &u, &fr), 0);
        assert_int_equal(u, l2 - 1);
        assert_int_equal(ufrpc_v2msg_reader_pending(rr), 1);
        assert_int_equal(ufrpc_v2msg_reader_feed_frame(rr, e2 + l2 - 1, 4, &u, &fr), 1);
        assert_int_equal(u, 1);
        assert_int_equal(fr.type, UFRPC_MSG_START_WORK_CONN);
        assert_int_equal(fr.body_len, strlen(sj));
        assert_string_equal(fr.body, sj);
        assert_int_equal(ufrpc_v2msg_reader_pending(rr), 0);
        free(rr);
        free(e2);
        free(sj);
    }
    /* a v1 frame where the magic belongs; a hello frame where a message belongs */
    struct ufrpc_v2msg_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    ufrpc_v2msg_reader_init(r, true);
    size_t used;
    struct ufrpc_msg got;
    assert_int_equal(ufrpc_v2msg_reader_feed(r, (const uint8_t *)"FRP\0w", 5, &used, &got),
                     UFRPC_ERR_V2_MAGIC);
    assert_int_equal(used, 4);
    ufrpc_v2msg_reader_init(r, false);
    assert_int_equal(ufrpc_v2msg_reader_feed(r, (const uint8_t *)"\0\x02\0\0\0\0\0\x02{}", 10,
                                             &used, &got),
                     UFRPC_ERR_V2_FRAME);
    ufrpc_v2msg_reader_init(r, false);
    assert_int_equal(ufrpc_v2msg_reader_feed(r, (const uint8_t *)"\0\x10\0\0\0\0\0\x04\0\x63{}",
                                             12, &used, &got),
                     UFRPC_ERR_MSG_TYPE);
    free(r);
    free(buf);
    free(enc);
}

/* ---- whole login ----------------------------------------------------------------- */

struct server {
    struct ufrpc_v2msg_reader *msgs; /* magic, then Message frames */
    struct ufrpc_frame_v2_decoder *dec;
    uint8_t th[32];
    ufrpc_aead_alg_t alg;
    struct ufrpc_v2chan *chan;
};

static int fixed_rng(void *ctx, unsigned char *buf, size_t len)
{
    uint64_t *st = ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)ufrpc_test_rand(st);
    return 0;
}

static void append(uint8_t **buf, size_t *len, const void *p, size_t n)
{
    *buf = realloc(*buf, *len + n);
    assert_non_null(*buf);
    memcpy(*buf + *len, p, n);
    *len += n;
}

static void append_frame(uint8_t **buf, size_t *len, uint16_t type, const void *p, size_t n)
{
    uint8_t hdr[8];
    assert_int_equal(ufrpc_frame_v2_encode_header(type, n, hdr), 0);
    append(buf, len, hdr, 8);
    append(buf, len, p, n);
}

/* Plays frps on the client's first flight; returns the server->client bytes:
 * ServerHello frame, LoginResp frame, then AEAD(ReqWorkConn) x n_req. */
static void server_answer(const uint8_t *in, size_t in_len, const char *token, size_t n_req,
                          uint8_t **out, size_t *out_len, struct ufrpc_v2chan **chan_out)
{
    uint64_t seed = 99;
    assert_int_equal(ufrpc_frame_v2_magic_check(in, in_len), 1);
    in += 7;
    in_len -= 7;
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    ufrpc_frame_v2_decoder_init(dec);
    struct ufrpc_frame_v2 f;
    size_t used;
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, in, in_len, &used, &f), 1);
    assert_int_equal(f.type, UFRPC_FRAME_V2_CLIENT_HELLO);
    struct ufrpc_v2_client_hello ch;
    assert_int_equal(ufrpc_v2hello_parse_client((const char *)f.payload, f.payload_len, &ch), 0);
    ufrpc_aead_alg_t alg;
    assert_int_equal(ufrpc_v2hello_server_select(&ch, &alg, NULL, 0), 0);
    ufrpc_v2hello_client_free(&ch);
    uint8_t srnd[32];
    fixed_rng(&seed, srnd, 32);
    char *sh;
    size_t sh_len;
    assert_int_equal(ufrpc_v2hello_build_server(alg, srnd, &sh, &sh_len), 0);
    uint8_t th[32], kc2s[32], ks2c[32];
    assert_int_equal(ufrpc_v2crypto_transcript_hash(f.payload, f.payload_len, (uint8_t *)sh,
                                                    sh_len, th),
                     0);
    assert_int_equal(ufrpc_v2crypto_derive_keys((const uint8_t *)token, strlen(token), th, alg,
                                                kc2s, ks2c),
                     0);
    /* the Login that follows in the same flight */
    struct ufrpc_v2msg_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    ufrpc_v2msg_reader_init(r, false);
    struct ufrpc_msg login;
    size_t used2;
    assert_int_equal(ufrpc_v2msg_reader_feed(r, in + used, in_len - used, &used2, &login), 1);
    assert_int_equal(used + used2, in_len);
    assert_int_equal(login.type, UFRPC_MSG_LOGIN);
    assert_string_equal(login.u.login.privilege_key, "3d8aac6cc09d79da303be74c311e5808");
    ufrpc_msg_free(&login);
    free(r);
    free(dec);

    *out = NULL;
    *out_len = 0;
    append_frame(out, out_len, UFRPC_FRAME_V2_SERVER_HELLO, sh, sh_len);
    free(sh);
    struct ufrpc_msg resp;
    assert_int_equal(ufrpc_msg_init(&resp, UFRPC_MSG_LOGIN_RESP), 0);
    assert_int_equal(ufrpc_msg_set_str(&resp.u.login_resp.version, "0.70.1"), 0);
    assert_int_equal(ufrpc_msg_set_str(&resp.u.login_resp.run_id, "a1b2c3d4e5f60718"), 0);
    uint8_t *lr;
    size_t lr_len;
    assert_int_equal(ufrpc_v2msg_encode(&resp, false, &lr, &lr_len), 0);
    ufrpc_msg_free(&resp);
    append(out, out_len, lr, lr_len);
    free(lr);
    struct ufrpc_v2chan_opts so = {alg, ks2c, kc2s, NULL, fixed_rng, &seed};
    struct ufrpc_v2chan *chan;
    assert_int_equal(ufrpc_v2chan_new(&so, &chan), 0);
    struct ufrpc_msg req;
    assert_int_equal(ufrpc_msg_init(&req, UFRPC_MSG_REQ_WORK_CONN), 0);
    for (size_t i = 0; i < n_req; i++) {
        uint8_t *ct;
        size_t ct_len;
        assert_int_equal(ufrpc_v2chan_encode(chan, &req, &ct, &ct_len), 0);
        append(out, out_len, ct, ct_len);
        free(ct);
    }
    *chan_out = chan;
}

struct client_result {
    int reqs;
    struct ufrpc_v2chan *chan;
    int use_frames; /* decode through the *_frame variants */
};

/* Feeds the client handshake, then its channel, one piece; counts ReqWorkConns. */
static void client_feed(struct ufrpc_v2hs *hs, struct client_result *cr, const uint8_t *p,
                        size_t n)
{
    if (cr->chan == NULL) {
        size_t used = 0;
        int rc = ufrpc_v2hs_feed(hs, p, n, &used);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0) {
            assert_int_equal(used, n);
            return;
        }
        const struct ufrpc_msg *lr = ufrpc_v2hs_login_resp(hs);
        assert_non_null(lr);
        assert_string_equal(lr->u.login_resp.run_id, "a1b2c3d4e5f60718");
        assert_null(lr->u.login_resp.error);
        struct ufrpc_frame lf;
        assert_int_equal(ufrpc_v2hs_login_resp_frame(hs, &lf), 0);
        assert_int_equal(lf.type, UFRPC_MSG_LOGIN_RESP);
        assert_string_equal(lf.body, "{\"version\":\"0.70.1\",\"run_id\":\"a1b2c3d4e5f60718\"}");
        assert_int_equal(lf.body_len, strlen(lf.body));
        ufrpc_aead_alg_t alg;
        uint8_t kc2s[32], ks2c[32];
        assert_int_equal(ufrpc_v2hs_keys(hs, &alg, NULL, kc2s, ks2c), 0);
        uint64_t seed = 5;
        struct ufrpc_v2chan_opts co = {alg, kc2s, ks2c, NULL, fixed_rng, &seed};
        assert_int_equal(ufrpc_v2chan_new(&co, &cr->chan), 0);
        p += used;
        n -= used;
    }
    for (;;) {
        size_t used = 0;
        struct ufrpc_msg m;
        struct ufrpc_frame f;
        int rc = cr->use_frames ? ufrpc_v2chan_feed_frame(cr->chan, p, n, &used, &f)
                                : ufrpc_v2chan_feed(cr->chan, p, n, &used, &m);
        assert_true(rc == 0 || rc == 1);
        p += used;
        n -= used;
        if (rc == 0) {
            assert_int_equal(n, 0);
            return;
        }
        if (cr->use_frames) {
            assert_int_equal(f.type, UFRPC_MSG_REQ_WORK_CONN);
            assert_int_equal(f.body_len, 2);
            assert_string_equal(f.body, "{}");
        } else {
            assert_int_equal(m.type, UFRPC_MSG_REQ_WORK_CONN);
            ufrpc_msg_free(&m);
        }
        cr->reqs++;
    }
}

static struct ufrpc_v2hs *new_client(const struct ufrpc_msg *login, const ufrpc_aead_alg_t *algs,
                                     size_t n_algs)
{
    uint8_t rnd[32];
    seq_bytes(rnd, 32, 0, 1);
    struct ufrpc_v2hs_opts o = {
        .bootstrap = {"tcp", true, true},
        .algs = algs,
        .n_algs = n_algs,
        .client_random = rnd,
        .token = (const uint8_t *)"12345678",
        .token_len = 8,
        .login = login,
    };
    struct ufrpc_v2hs *hs;
    assert_int_equal(ufrpc_v2hs_new(&o, &hs), 0);
    assert_int_equal(ufrpc_v2hs_state(hs), UFRPC_V2HS_WAIT_SERVER_HELLO);
    return hs;
}

static void test_client_first_flight_vectors(void **state)
{
    (void)state;
    struct ufrpc_msg login;
    load_login(&login);
    struct ufrpc_v2hs *hs = new_client(&login, BOTH, 2);
    const uint8_t *out;
    size_t len;
    ufrpc_v2hs_output(hs, &out, &len);
    uint8_t *v_ch, *v_login;
    size_t v_ch_len, v_login_len;
    assert_int_equal(ufrpc_test_vector_bytes("v2: magic + ClientHello frame", &v_ch, &v_ch_len), 0);
    assert_int_equal(ufrpc_test_vector_bytes("v2: Login message frame", &v_login, &v_login_len), 0);
    assert_int_equal(len, v_ch_len + v_login_len);
    assert_memory_equal(out, v_ch, v_ch_len);
    assert_memory_equal(out + v_ch_len, v_login, v_login_len);
    const uint8_t *chp;
    size_t ch_len;
    ufrpc_v2hs_client_hello(hs, &chp, &ch_len);
    assert_int_equal(ch_len, v_ch_len - 15);
    assert_memory_equal(chp, v_ch + 15, ch_len);
    assert_int_equal(ufrpc_v2hs_keys(hs, NULL, NULL, NULL, NULL), UFRPC_ERR_STATE);

    /* the vector ServerHello gives the §14.6 TH and keys */
    char *sh = ufrpc_test_vector_text("ServerHello JSON: ");
    assert_non_null(sh);
    uint8_t *in = NULL;
    size_t in_len = 0;
    append_frame(&in, &in_len, UFRPC_FRAME_V2_SERVER_HELLO, sh, strlen(sh));
    size_t used;
    assert_int_equal(ufrpc_v2hs_feed(hs, in, in_len, &used), 0);
    assert_int_equal(used, in_len);
    assert_int_equal(ufrpc_v2hs_state(hs), UFRPC_V2HS_WAIT_LOGIN_RESP);
    ufrpc_aead_alg_t alg;
    uint8_t th[32], k1[32], k2[32], w[32];
    assert_int_equal(ufrpc_v2hs_keys(hs, &alg, th, k1, k2), 0);
    assert_int_equal(alg, UFRPC_AEAD_AES_256_GCM);
    char *th_hex = ufrpc_test_vector_text("transcript hash: ");
    assert_non_null(th_hex);
    unhex_exact(th_hex, w, 32);
    assert_memory_equal(th, w, 32);
    unhex_exact(K_C2S_HEX, w, 32);
    assert_memory_equal(k1, w, 32);
    unhex_exact(K_S2C_HEX, w, 32);
    assert_memory_equal(k2, w, 32);
    free(th_hex);
    free(sh);
    free(in);
    free(v_ch);
    free(v_login);
    ufrpc_v2hs_free(hs);
    ufrpc_msg_free(&login);
}

static void run_login(const ufrpc_aead_alg_t *algs, size_t n_algs, ufrpc_aead_alg_t want_alg)
{
    struct ufrpc_msg login;
    load_login(&login);
    struct ufrpc_v2hs *hs0 = new_client(&login, algs, n_algs);
    const uint8_t *flight;
    size_t flight_len;
    ufrpc_v2hs_output(hs0, &flight, &flight_len);
    uint8_t *s2c;
    size_t s2c_len;
    struct ufrpc_v2chan *srv;
    server_answer(flight, flight_len, "12345678", 2, &s2c, &s2c_len, &srv);
    ufrpc_v2hs_free(hs0);

    /* every split in two, then byte by byte */
    for (size_t cut = 0; cut <= s2c_len + 1; cut++) {
        struct ufrpc_v2hs *hs = new_client(&login, algs, n_algs);
        struct client_result cr = {0, NULL, (int)(cut % 2)};
        assert_int_equal(ufrpc_v2hs_login_resp_frame(hs, &(struct ufrpc_frame){0}), UFRPC_ERR_STATE);
        if (cut <= s2c_len) {
            client_feed(hs, &cr, s2c, cut);
            client_feed(hs, &cr, s2c + cut, s2c_len - cut);
        } else {
            for (size_t i = 0; i < s2c_len; i++)
                client_feed(hs, &cr, s2c + i, 1);
        }
        assert_int_equal(ufrpc_v2hs_state(hs), UFRPC_V2HS_DONE);
        ufrpc_aead_alg_t alg;
        assert_int_equal(ufrpc_v2hs_keys(hs, &alg, NULL, NULL, NULL), 0);
        assert_int_equal(alg, want_alg);
        assert_int_equal(cr.reqs, 2);
        assert_non_null(cr.chan);
        assert_int_equal(ufrpc_v2chan_finish(cr.chan), 0);
        size_t used;
        assert_int_equal(ufrpc_v2hs_feed(hs, s2c, 1, &used), UFRPC_ERR_STATE);
        assert_int_equal(used, 0);

        if (cut == 0) {
            /* client -> server: a Ping the server's channel decodes */
            struct ufrpc_msg ping;
            assert_int_equal(ufrpc_msg_init(&ping, UFRPC_MSG_PING), 0);
            uint8_t *ct;
            size_t ct_len;
            assert_int_equal(ufrpc_v2chan_encode(cr.chan, &ping, &ct, &ct_len), 0);
            struct ufrpc_msg got;
            assert_int_equal(ufrpc_v2chan_feed(srv, ct, ct_len, &used, &got), 1);
            assert_int_equal(used, ct_len);
            assert_int_equal(got.type, UFRPC_MSG_PING);
            ufrpc_msg_free(&got);
            free(ct);
        }
        ufrpc_v2chan_free(cr.chan);
        ufrpc_v2hs_free(hs);
    }
    /* a cut inside the AEAD stream is an unclean end; a wrong token fails the tag */
    {
        struct ufrpc_v2hs *hs = new_client(&login, algs, n_algs);
        struct client_result cr = {0, NULL, 0};
        client_feed(hs, &cr, s2c, s2c_len - 1);
        assert_int_equal(ufrpc_v2chan_finish(cr.chan), UFRPC_ERR_AEAD_RECORD);
        ufrpc_v2chan_free(cr.chan);
        ufrpc_v2hs_free(hs);
    }
    {
        uint8_t rnd[32];
        seq_bytes(rnd, 32, 0, 1);
        struct ufrpc_v2hs_opts o = {.bootstrap = {"tcp", true, true}, .algs = algs,
                                    .n_algs = n_algs, .client_random = rnd,
                                    .token = (const uint8_t *)"wrong", .token_len = 5,
                                    .login = &login};
        struct ufrpc_v2hs *hs;
        assert_int_equal(ufrpc_v2hs_new(&o, &hs), 0);
        size_t used;
        assert_int_equal(ufrpc_v2hs_feed(hs, s2c, s2c_len, &used), 1);
        uint8_t kc2s[32], ks2c[32];
        ufrpc_aead_alg_t alg;
        assert_int_equal(ufrpc_v2hs_keys(hs, &alg, NULL, kc2s, ks2c), 0);
        uint64_t seed = 1;
        struct ufrpc_v2chan_opts co = {alg, kc2s, ks2c, NULL, fixed_rng, &seed};
        struct ufrpc_v2chan *ch;
        assert_int_equal(ufrpc_v2chan_new(&co, &ch), 0);
        struct ufrpc_msg m;
        size_t used2;
        assert_int_equal(ufrpc_v2chan_feed(ch, s2c + used, s2c_len - used, &used2, &m),
                         UFRPC_ERR_AEAD_AUTH);
        ufrpc_v2chan_free(ch);
        ufrpc_v2hs_free(hs);
    }
    ufrpc_v2chan_free(srv);
    free(s2c);
    ufrpc_msg_free(&login);
}

static void test_login_gcm_every_split(void **state)
{
    (void)state;
    run_login(BOTH, 2, UFRPC_AEAD_AES_256_GCM);
}

static void test_login_xchacha_every_split(void **state)
{
    (void)state;
    const ufrpc_aead_alg_t x_first[2] = {UFRPC_AEAD_XCHACHA20_POLY1305, UFRPC_AEAD_AES_256_GCM};
    run_login(x_first, 2, UFRPC_AEAD_XCHACHA20_POLY1305);
}

/* Feeds s2c to a fresh client and returns the code and text. */
static int client_against(const uint8_t *s2c, size_t len, char *err, size_t cap)
{
    struct ufrpc_msg login;
    load_login(&login);
    struct ufrpc_v2hs *hs = new_client(&login, BOTH, 2);
    size_t used;
    int rc = ufrpc_v2hs_feed(hs, s2c, len, &used);
    if (rc == 0)
        rc = ufrpc_v2hs_on_eof(hs, 0);
    snprintf(err, cap, "%s", ufrpc_v2hs_error(hs));
    if (rc < 0) {
        assert_int_equal(ufrpc_v2hs_state(hs), UFRPC_V2HS_FAILED);
        assert_int_equal(ufrpc_v2hs_feed(hs, s2c, len, &used), rc); /* sticky */
        assert_null(ufrpc_v2hs_login_resp(hs));
    }
    ufrpc_v2hs_free(hs);
    ufrpc_msg_free(&login);
    return rc;
}

static void test_handshake_failures(void **state)
{
    (void)state;
    char err[UFRPC_V2_ERR_LEN];
    uint8_t *b = NULL;
    size_t n = 0;
    char *sh;
    size_t sh_len;

    /* frps refuses: the ServerHello error text is the error */
    assert_int_equal(ufrpc_v2hello_build_server_error("invalid crypto client random length 0, want 32",
                                                      &sh, &sh_len),
                     0);
    append_frame(&b, &n, UFRPC_FRAME_V2_SERVER_HELLO, sh, sh_len);
    free(sh);
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_V2_HELLO);
    assert_string_equal(err, "invalid crypto client random length 0, want 32");
    free(b);

    /* a Message frame where the ServerHello belongs */
    b = NULL;
    n = 0;
    append_frame(&b, &n, UFRPC_FRAME_V2_MESSAGE, "\0\x02{}", 4);
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_V2_FRAME);
    assert_string_equal(err, "unexpected frame type 16, want 2");
    free(b);

    /* a good ServerHello, then not a LoginResp */
    uint8_t rnd[32];
    seq_bytes(rnd, 32, 1, 3);
    assert_int_equal(ufrpc_v2hello_build_server(UFRPC_AEAD_AES_256_GCM, rnd, &sh, &sh_len), 0);
    b = NULL;
    n = 0;
    append_frame(&b, &n, UFRPC_FRAME_V2_SERVER_HELLO, sh, sh_len);
    size_t hello_only = n;
    append_frame(&b, &n, UFRPC_FRAME_V2_MESSAGE, "\0\x07{}", 4);
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_MSG_TYPE);
    assert_string_equal(err, "unexpected message type ReqWorkConn, want LoginResp");
    n = hello_only;
    append_frame(&b, &n, UFRPC_FRAME_V2_SERVER_HELLO, sh, sh_len);
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_V2_FRAME);
    n = hello_only;
    append_frame(&b, &n, UFRPC_FRAME_V2_MESSAGE, "\0\x02{\"run_id\":5}", 14);
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_JSON_TYPE);
    /* EOF before LoginResp (an old frps closes after the unknown first byte) */
    assert_int_equal(client_against(b, hello_only, err, sizeof err), UFRPC_ERR_EOF);
    assert_int_equal(client_against(b, 0, err, sizeof err), UFRPC_ERR_EOF);
    /* non-zero flags */
    b[2] = 1;
    assert_int_equal(client_against(b, n, err, sizeof err), UFRPC_ERR_V2_FRAME);
    free(b);
    free(sh);

    /* a LoginResp with an error is delivered (the caller reports it) */
    assert_int_equal(ufrpc_v2hello_build_server(UFRPC_AEAD_AES_256_GCM, rnd, &sh, &sh_len), 0);
    b = NULL;
    n = 0;
    append_frame(&b, &n, UFRPC_FRAME_V2_SERVER_HELLO, sh, sh_len);
    free(sh);
    static const char lr[] = "\0\x02{\"error\":\"token in login doesn't match token from configuration\"}";
    append_frame(&b, &n, UFRPC_FRAME_V2_MESSAGE, lr, sizeof lr - 1);
    struct ufrpc_msg login;
    load_login(&login);
    struct ufrpc_v2hs *hs = new_client(&login, BOTH, 2);
    size_t used;
    assert_int_equal(ufrpc_v2hs_feed(hs, b, n, &used), 1);
    assert_int_equal(used, n);
    assert_string_equal(ufrpc_v2hs_login_resp(hs)->u.login_resp.error,
                        "token in login doesn't match token from configuration");
    ufrpc_v2hs_free(hs);
    ufrpc_msg_free(&login);
    free(b);

    /* creation: a non-Login message, no random source */
    struct ufrpc_msg ping;
    assert_int_equal(ufrpc_msg_init(&ping, UFRPC_MSG_PING), 0);
    struct ufrpc_v2hs_opts o = {.login = &ping, .client_random = rnd};
    assert_int_equal(ufrpc_v2hs_new(&o, &hs), UFRPC_ERR_INVAL);
    load_login(&login);
    struct ufrpc_v2hs_opts o2 = {.login = &login};
    assert_int_equal(ufrpc_v2hs_new(&o2, &hs), UFRPC_ERR_INVAL);
    /* rng-drawn random and default algorithms */
    uint64_t seed = 3;
    struct ufrpc_v2hs_opts o3 = {.login = &login, .rng = fixed_rng, .rng_ctx = &seed};
    assert_int_equal(ufrpc_v2hs_new(&o3, &hs), 0);
    const uint8_t *chp;
    size_t ch_len;
    ufrpc_v2hs_client_hello(hs, &chp, &ch_len);
    struct ufrpc_v2_client_hello ch;
    assert_int_equal(ufrpc_v2hello_parse_client((const char *)chp, ch_len, &ch), 0);
    assert_int_equal(ch.n_algs, 2);
    assert_int_equal(ch.client_random_len, 32);
    assert_null(ch.transport);
    ufrpc_v2hello_client_free(&ch);
    ufrpc_v2hs_free(hs);
    ufrpc_msg_free(&login);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_hello_vector),
        cmocka_unit_test(test_default_algs),
        cmocka_unit_test(test_server_hello_vector),
        cmocka_unit_test(test_transcript_and_keys),
        cmocka_unit_test(test_bad_server_hellos),
        cmocka_unit_test(test_server_side_helpers),
        cmocka_unit_test(test_records_vector),
        cmocka_unit_test(test_v2msg_stream),
        cmocka_unit_test(test_client_first_flight_vectors),
        cmocka_unit_test(test_login_gcm_every_split),
        cmocka_unit_test(test_login_xchacha_every_split),
        cmocka_unit_test(test_handshake_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
