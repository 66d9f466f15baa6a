/* proto/ws: RFC 6455 vectors (§1.3 handshake, §5.7 frames), the request and
 * answer checks, and the incremental decoder fed at every split point and byte
 * by byte, which must give the same bytes, control events and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/error.h"
#include "proto/ws.h"

/* ---- handshake ----------------------------------------------------------------- */
static void test_accept_vector(void **state)
{
    (void)state;
    char out[UFRPC_WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(ufrpc_ws_accept(key, strlen(key), out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* the key is base64 of the 16 bytes "the sample nonce" */
    char k[UFRPC_WS_KEY_LEN + 1];
    ufrpc_ws_key((const uint8_t *)"the sample nonce", k);
    assert_string_equal(k, key);
}

static void test_request_as_go(void **state)
{
    (void)state;
    char buf[512];
    size_t n = 0;
    assert_int_equal(ufrpc_ws_build_request("Frps.Example:7000", "dGhlIHNhbXBsZSBub25jZQ==", buf,
                                            sizeof buf, &n),
                     0);
    const char *want = "GET /~!frp HTTP/1.1\r\n"
                       "Host: Frps.Example:7000\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Origin: http://frps.example:7000\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
    /* the server side accepts it and finds the key */
    struct ufrpc_ws_hs_info info;
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(ufrpc_ws_parse_request((const uint8_t *)buf, cut, &info), UFRPC_ERR_AGAIN);
    assert_int_equal(ufrpc_ws_parse_request((const uint8_t *)buf, n, &info), 0);
    assert_int_equal(info.head_len, n);
    assert_string_equal(info.key, "dGhlIHNhbXBsZSBub25jZQ==");
    /* too small a buffer, bad hosts */
    assert_int_equal(ufrpc_ws_build_request("h", "k", buf, 40, &n), UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_ws_build_request("", "k", buf, sizeof buf, &n), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_ws_build_request("a b", "k", buf, sizeof buf, &n), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_ws_build_request("a\r\nX: y", "k", buf, sizeof buf, &n), UFRPC_ERR_INVAL);
}

static int check(const char *resp, struct ufrpc_ws_hs_info *info)
{
    return ufrpc_ws_check_response((const uint8_t *)resp, strlen(resp), "dGhlIHNhbXBsZSBub25jZQ==",
                                   info);
}

static void test_response_checks(void **state)
{
    (void)state;
    struct ufrpc_ws_hs_info info;
    char buf[512];
    size_t n;
    assert_int_equal(ufrpc_ws_build_response("dGhlIHNhbXBsZSBub25jZQ==", buf, sizeof buf, &n), 0);
    buf[n] = '\0';
    /* with frame bytes after the head, at every cut */
    char both[600];
    memcpy(both, buf, n);
    memcpy(both + n, "\x82\x01Z", 3);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(ufrpc_ws_check_response((const uint8_t *)both, cut,
                                                 "dGhlIHNhbXBsZSBub25jZQ==", &info),
                         UFRPC_ERR_AGAIN);
    assert_int_equal(ufrpc_ws_check_response((const uint8_t *)both, n + 3,
                                             "dGhlIHNhbXBsZSBub25jZQ==", &info),
                     0);
    assert_int_equal(info.head_len, n);
    assert_int_equal(info.status, 101);

    /* LF-only lines and header case do not matter, as with Go's reader */
    assert_int_equal(check("HTTP/1.1 101 Switching Protocols\nupgrade: WebSocket\nCONNECTION: "
                           "upgrade\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n\n",
                           &info),
                     0);
    /* a 404 */
    assert_int_equal(check("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &info),
                     UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_STATUS);
    assert_int_equal(info.status, 404);
    assert_string_equal(info.reason, "Not Found");
    ufrpc_ws_hs_text(&info, buf, sizeof buf);
    assert_string_equal(buf, "server answered 404 Not Found instead of 101 Switching Protocols");
    /* 101 without the upgrade headers */
    assert_int_equal(check("HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", &info),
                     UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_UPGRADE);
    /* a wrong accept */
    assert_int_equal(check("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                           "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
                           &info),
                     UFRPC_ERR_WS_ACCEPT);
    assert_int_equal(info.fail, UFRPC_WS_HS_ACCEPT);
    /* an extension that was never offered */
    assert_int_equal(check("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                           "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                           "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                           &info),
                     UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_EXTENSIONS);
    /* not HTTP at all (e.g. frps's frp port answering TLS) */
    assert_int_equal(check("\x15\x03\x03", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_MALFORMED);
    assert_int_equal(check("HTTP/1.1 1010 x\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(check("HTTP/1.1 101 x\r\n bad fold\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(check("HTTP/1.1 101 x\r\nNo colon\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    /* more than 100 header lines */
    size_t big = UFRPC_WS_MAX_HEAD + 10;
    uint8_t *p = malloc(big);
    assert_non_null(p);
    size_t off = 0;
    memcpy(p, "HTTP/1.1 101 x\r\n", 16);
    off = 16;
    for (int i = 0; i < 120; i++, off += 8)
        memcpy(p + off, "X-A: b\r\n", 8);
    memcpy(p + off, "\r\n", 2);
    assert_int_equal(ufrpc_ws_check_response(p, off + 2, "k", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_MALFORMED);
    /* a head that never ends is cut at UFRPC_WS_MAX_HEAD */
    memset(p + 16, 'a', big - 16);
    assert_int_equal(ufrpc_ws_check_response(p, UFRPC_WS_MAX_HEAD - 1, "k", &info), UFRPC_ERR_AGAIN);
    assert_int_equal(ufrpc_ws_check_response(p, big, "k", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_TOO_LONG);
    free(p);
}

static int parse(const char *req, struct ufrpc_ws_hs_info *info)
{
    return ufrpc_ws_parse_request((const uint8_t *)req, strlen(req), info);
}

static void test_request_checks(void **state)
{
    (void)state;
    struct ufrpc_ws_hs_info info;
    assert_int_equal(parse("GET /~!frp?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
                           "keep-alive, Upgrade\r\nSec-WebSocket-Key: abc\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n",
                           &info),
                     0);
    assert_string_equal(info.key, "abc");
    assert_int_equal(parse("GET /other HTTP/1.1\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_METHOD);
    assert_int_equal(parse("POST /~!frp HTTP/1.1\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(parse("GET /~!frpx HTTP/1.1\r\n\r\n", &info), UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(parse("GET /~!frp HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n",
                           &info),
                     UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_KEY);
    assert_int_equal(parse("GET /~!frp HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: a\r\nSec-WebSocket-Version: 8\r\n\r\n",
                           &info),
                     UFRPC_ERR_WS_HANDSHAKE);
    assert_int_equal(info.fail, UFRPC_WS_HS_VERSION);
}

/* ---- frames ------------------------------------------------------------------------ */
static void test_frame_vectors(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t h[UFRPC_WS_MAX_FRAME_HEADER];
    /* RFC 6455 §5.7: masked "Hello" */
    assert_int_equal(ufrpc_ws_frame_header(h, UFRPC_WS_OP_TEXT, true, 5, key), 6);
    assert_memory_equal(h, "\x81\x85\x37\xfa\x21\x3d", 6);
    uint8_t m[5];
    ufrpc_ws_mask(m, (const uint8_t *)"Hello", 5, key, 0);
    assert_memory_equal(m, "\x7f\x9f\x4d\x51\x58", 5);
    /* masking from an offset continues the key phase; in place works */
    uint8_t long_in[37], long_out[37];
    for (unsigned i = 0; i < sizeof long_in; i++)
        long_in[i] = (uint8_t)(i * 7);
    ufrpc_ws_mask(long_out, long_in, 37, key, 0);
    uint8_t part[37];
    memcpy(part, long_in, 37);
    ufrpc_ws_mask(part, part, 13, key, 0);
    ufrpc_ws_mask(part + 13, part + 13, 24, key, 13);
    assert_memory_equal(part, long_out, 37);
    for (unsigned i = 0; i < 37; i++)
        assert_int_equal(long_out[i], long_in[i] ^ key[i % 4]);
    /* unmasked "Hello" ping; 256 and 65536 byte binary lengths */
    assert_int_equal(ufrpc_ws_frame_header(h, UFRPC_WS_OP_PING, true, 5, NULL), 2);
    assert_memory_equal(h, "\x89\x05", 2);
    assert_int_equal(ufrpc_ws_frame_header(h, UFRPC_WS_OP_BINARY, true, 256, NULL), 4);
    assert_memory_equal(h, "\x82\x7e\x01\x00", 4);
    assert_int_equal(ufrpc_ws_frame_header(h, UFRPC_WS_OP_BINARY, true, 65536, NULL), 10);
    assert_memory_equal(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(ufrpc_ws_frame_header(h, UFRPC_WS_OP_BINARY, false, 65535, key), 8);
    assert_memory_equal(h, "\x02\xfe\xff\xff\x37\xfa\x21\x3d", 8);
}

/* What a decode run produced: payload bytes, control events, the final result. */
struct run {
    uint8_t data[200000];
    size_t data_len;
    char ctl[512]; /* "P:Hello;O:;C1000:bye;" */
    size_t ctl_len;
    int result; /* AGAIN (all consumed), or the first error/EOF */
};

static void ev_record(struct run *r, const struct ufrpc_ws_event *ev)
{
    if (ev->type == UFRPC_WS_EV_DATA) {
        assert_true(r->data_len + ev->len <= sizeof r->data);
        if (ev->masked)
            ufrpc_ws_mask(r->data + r->data_len, ev->data, ev->len, ev->mask, ev->phase);
        else
            memcpy(r->data + r->data_len, ev->data, ev->len);
        r->data_len += ev->len;
        return;
    }
    char tmp[200];
    const char *t = ev->type == UFRPC_WS_EV_PING ? "P" : ev->type == UFRPC_WS_EV_PONG ? "O" : "C";
    int n = snprintf(tmp, sizeof tmp, "%s%u:%.*s;", t,
                     ev->type == UFRPC_WS_EV_CLOSE ? (unsigned)ev->close_code : 0u, (int)ev->len,
                     (const char *)ev->data);
    assert_true(r->ctl_len + (size_t)n < sizeof r->ctl);
    memcpy(r->ctl + r->ctl_len, tmp, (size_t)n);
    r->ctl_len += (size_t)n;
    r->ctl[r->ctl_len] = '\0';
}

/* Feeds in[0..len) in pieces cut at the given points (sorted, ncuts of them). */
static void run_split(bool server, const uint8_t *in, size_t len, const size_t *cuts,
                      size_t ncuts, struct run *r)
{
    struct ufrpc_ws_decoder d;
    ufrpc_ws_decoder_init(&d, server, 100000);
    memset(r, 0, sizeof *r);
    r->result = UFRPC_ERR_AGAIN;
    size_t start = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        const uint8_t *p = in + start;
        size_t n = end - start;
        start = end;
        for (;;) {
            size_t used = 0;
            struct ufrpc_ws_event ev;
            int rc = ufrpc_ws_decode(&d, p, n, &used, &ev);
            assert_true(used <= n);
            p += used;
            n -= used;
            if (rc == UFRPC_ERR_AGAIN) {
                assert_int_equal(n, 0);
                break;
            }
            if (rc < 0) {
                r->result = rc;
                /* sticky */
                assert_int_equal(ufrpc_ws_decode(&d, p, n, &used, &ev), rc);
                assert_int_equal(used, 0);
                return;
            }
            ev_record(r, &ev);
        }
    }
}

static void check_all_splits(bool server, const uint8_t *in, size_t len, struct run *want)
{
    struct run *r = malloc(sizeof *r);
    assert_non_null(r);
    run_split(server, in, len, NULL, 0, want);
    /* every cut near both ends and around frame headers; a sample in long payloads */
    for (size_t c = 0; c <= len; c += (c < 1200 || len - c < 1200) ? 1 : 97) {
        run_split(server, in, len, &c, 1, r);
        assert_int_equal(r->result, want->result);
        assert_int_equal(r->data_len, want->data_len);
        assert_memory_equal(r->data, want->data, want->data_len);
        assert_string_equal(r->ctl, want->ctl);
    }
    /* byte by byte */
    size_t *cuts = malloc(len * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i;
    run_split(server, in, len, cuts, len, r);
    assert_int_equal(r->result, want->result);
    assert_int_equal(r->data_len, want->data_len);
    assert_memory_equal(r->data, want->data, want->data_len);
    assert_string_equal(r->ctl, want->ctl);
    free(cuts);
    free(r);
}

/* Appends a frame (masked when key != NULL). */
static size_t put(uint8_t *out, unsigned op, bool fin, const void *p, size_t n, const uint8_t *key)
{
    size_t h = ufrpc_ws_frame_header(out, op, fin, n, key);
    if (key != NULL)
        ufrpc_ws_mask(out + h, p, n, key, 0);
    else if (n > 0)
        memcpy(out + h, p, n);
    return h + n;
}

static void build_stream(uint8_t *buf, size_t *len, const uint8_t *key, uint8_t *payload,
                         size_t *plen)
{
    size_t n = 0, pl = 0;
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    n += put(buf + n, UFRPC_WS_OP_BINARY, true, payload, 5, key); /* 7-bit */
    pl += 5;
    n += put(buf + n, UFRPC_WS_OP_PING, true, "Hello", 5, key);
    n += put(buf + n, UFRPC_WS_OP_BINARY, false, payload + pl, 300, key); /* 16-bit, fragment */
    pl += 300;
    n += put(buf + n, UFRPC_WS_OP_PONG, true, "", 0, key); /* control inside a message */
    n += put(buf + n, UFRPC_WS_OP_CONT, false, payload + pl, 0, key); /* empty continuation */
    n += put(buf + n, UFRPC_WS_OP_CONT, true, payload + pl, 66000, key); /* 64-bit */
    pl += 66000;
    n += put(buf + n, UFRPC_WS_OP_BINARY, true, "", 0, key); /* empty message */
    n += put(buf + n, UFRPC_WS_OP_BINARY, true, payload + pl, 125, key);
    pl += 125;
    n += put(buf + n, UFRPC_WS_OP_CLOSE, true, "\x03\xe8" "bye", 5, key);
    n += put(buf + n, UFRPC_WS_OP_BINARY, true, "after", 5, key); /* never read */
    *len = n;
    *plen = pl;
}

static void test_decode_every_split(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x01, 0x80, 0xfe, 0x5a};
    uint8_t *buf = malloc(80000), *payload = malloc(70000);
    struct run *want = malloc(sizeof *want);
    assert_non_null(buf);
    assert_non_null(payload);
    assert_non_null(want);
    size_t len, pl;
    for (int server = 0; server < 2; server++) {
        build_stream(buf, &len, server ? key : NULL, payload, &pl);
        run_split(server, buf, len, NULL, 0, want);
        assert_int_equal(want->result, UFRPC_ERR_EOF);
        assert_int_equal(want->data_len, pl);
        assert_memory_equal(want->data, payload, pl);
        assert_string_equal(want->ctl, "P0:Hello;O0:;C1000:bye;");
        /* every split point in the frames before the big one, and around it */
        check_all_splits(server, buf, len, want);
    }
    free(buf);
    free(payload);
    free(want);
}

static int decode_all(bool server, const uint8_t *in, size_t len)
{
    struct run *r = malloc(sizeof *r);
    assert_non_null(r);
    check_all_splits(server, in, len, r);
    int rc = r->result;
    free(r);
    return rc;
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t b[300];
    size_t n;
    /* RFC 6455 §5.7 single-frame text messages: frp sends binary */
    assert_int_equal(decode_all(false, (const uint8_t *)"\x81\x05Hello", 7), UFRPC_ERR_WS_TEXT);
    assert_int_equal(decode_all(true, (const uint8_t *)"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11),
                     UFRPC_ERR_WS_TEXT);
    /* ... but the same bytes as binary decode to "Hello" */
    struct run *r = malloc(sizeof *r);
    assert_non_null(r);
    run_split(true, (const uint8_t *)"\x82\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11, NULL, 0, r);
    assert_int_equal(r->result, UFRPC_ERR_AGAIN);
    assert_int_equal(r->data_len, 5);
    assert_memory_equal(r->data, "Hello", 5);
    /* §5.7 unmasked ping from a server, then fragments of a binary message */
    run_split(false, (const uint8_t *)"\x89\x05Hello\x02\x03Hel\x80\x02lo", 16, NULL, 0, r);
    assert_int_equal(r->result, UFRPC_ERR_AGAIN);
    assert_string_equal(r->ctl, "P0:Hello;");
    assert_memory_equal(r->data, "Hello", 5);
    free(r);
    /* masking the wrong way round */
    assert_int_equal(decode_all(true, (const uint8_t *)"\x82\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    n = put(b, UFRPC_WS_OP_BINARY, true, "x", 1, key);
    assert_int_equal(decode_all(false, b, n), UFRPC_ERR_WS_PROTOCOL);
    /* reserved bits, reserved opcodes */
    assert_int_equal(decode_all(false, (const uint8_t *)"\xc2\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x92\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x83\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x8b\x00", 2), UFRPC_ERR_WS_PROTOCOL);
    /* control frames: over 125 bytes, fragmented, a 1-byte close, a bad close code */
    memset(b, 'p', sizeof b);
    n = ufrpc_ws_frame_header(b, UFRPC_WS_OP_PING, true, 126, NULL);
    assert_int_equal(decode_all(false, b, n + 126), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x09\x00", 2), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x88\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x88\x02\x03\xed", 4), UFRPC_ERR_WS_PROTOCOL);
    /* a close without a code: 1005; then EOF */
    assert_int_equal(decode_all(false, (const uint8_t *)"\x88\x00", 2), UFRPC_ERR_EOF);
    /* continuation without a message; a new message inside one */
    assert_int_equal(decode_all(false, (const uint8_t *)"\x80\x01x", 3), UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x02\x01x\x82\x01y", 6), UFRPC_ERR_WS_PROTOCOL);
    /* 64-bit length with the top bit set; over the limit (100000 here) */
    assert_int_equal(decode_all(false, (const uint8_t *)"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10),
                     UFRPC_ERR_WS_PROTOCOL);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x82\x7f\x00\x00\x00\x00\x00\x01\x86\xa1", 10),
                     UFRPC_ERR_WS_TOO_BIG);
    assert_int_equal(decode_all(false, (const uint8_t *)"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10),
                     UFRPC_ERR_WS_TOO_BIG);
    /* the default limit */
    struct ufrpc_ws_decoder d;
    ufrpc_ws_decoder_init(&d, false, 0);
    assert_int_equal(d.max_payload, UFRPC_WS_DEFAULT_MAX_PAYLOAD);
    size_t used;
    struct ufrpc_ws_event ev;
    assert_int_equal(ufrpc_ws_decode(&d, NULL, 0, &used, &ev), UFRPC_ERR_AGAIN);
    assert_int_equal(used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_vector),     cmocka_unit_test(test_request_as_go),
        cmocka_unit_test(test_response_checks),   cmocka_unit_test(test_request_checks),
        cmocka_unit_test(test_frame_vectors),     cmocka_unit_test(test_decode_every_split),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
