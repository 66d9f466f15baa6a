/* libFuzzer: websocket codec (proto/ws.h). The first byte picks the target and a
 * chunk size:
 *   bits 0-1: 0 decoder, client role (server frames); 1 decoder, server role
 *             (masked client frames); 2 the client's answer check; 3 the server's
 *             request parse;
 *   bits 2-7: chunk size - 1 for the chunked run.
 * Decoder: feeding the rest at once and in chunks must give the same payload
 * bytes, the same control events and the same final result; a decode never
 * claims more than it was given, "need more" means everything was taken, and
 * errors are sticky. Heads: the result at the full length equals the result at
 * the head's own length, and an accepted head is re-checked as a prefix. Then the
 * first bytes are framed with the encoder and decoded back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    uint32_t data_sum;
    uint64_t data_len;
    uint32_t ctl_sum;
    unsigned nctl;
    int rc;
};

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void run(bool server, const uint8_t *in, size_t len, size_t chunk, struct result *r)
{
    struct ufrpc_ws_decoder d;
    ufrpc_ws_decoder_init(&d, server, 1u << 20);
    memset(r, 0, sizeof *r);
    r->data_sum = r->ctl_sum = 2166136261u;
    r->rc = UFRPC_ERR_AGAIN;
    uint8_t tmp[4096];
    size_t pos = 0;
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        const uint8_t *p = in + pos;
        pos += n;
        for (;;) {
            size_t used = 0;
            struct ufrpc_ws_event ev;
            int rc = ufrpc_ws_decode(&d, p, n, &used, &ev);
            if (used > n)
                __builtin_trap();
            p += used;
            n -= used;
            if (rc == UFRPC_ERR_AGAIN) {
                if (n != 0)
                    __builtin_trap();
                break;
            }
            if (rc < 0) {
                size_t u2 = 1;
                if (ufrpc_ws_decode(&d, p, n, &u2, &ev) != rc || u2 != 0)
                    __builtin_trap();
                r->rc = rc;
                return;
            }
            if (ev.type == UFRPC_WS_EV_DATA) {
                if (ev.len == 0 || ev.data < in || ev.data + ev.len > in + len)
                    __builtin_trap();
                for (size_t off = 0; off < ev.len; off += sizeof tmp) {
                    size_t k = ev.len - off < sizeof tmp ? ev.len - off : sizeof tmp;
                    if (ev.masked)
                        ufrpc_ws_mask(tmp, ev.data + off, k, ev.mask, ev.phase + off);
                    else
                        memcpy(tmp, ev.data + off, k);
                    r->data_sum = mix(r->data_sum, tmp, k);
                }
                r->data_len += ev.len;
            } else {
                if (ev.len > UFRPC_WS_MAX_CONTROL)
                    __builtin_trap();
                uint8_t t[3] = {(uint8_t)ev.type, (uint8_t)(ev.close_code >> 8),
                                (uint8_t)ev.close_code};
                r->ctl_sum = mix(mix(r->ctl_sum, t, 3), ev.data, ev.len);
                r->nctl++;
            }
        }
    }
}

static void decoder(bool server, const uint8_t *in, size_t len, size_t chunk)
{
    struct result a, b;
    run(server, in, len, len ? len : 1, &a);
    run(server, in, len, chunk, &b);
    if (a.rc != b.rc || a.data_len != b.data_len || a.data_sum != b.data_sum ||
        a.nctl != b.nctl || a.ctl_sum != b.ctl_sum)
        __builtin_trap();
}

static void heads(bool server, const uint8_t *in, size_t len)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    struct ufrpc_ws_hs_info info, again;
    int rc = server ? ufrpc_ws_parse_request(in, len, &info)
                    : ufrpc_ws_check_response(in, len, key, &info);
    if (rc == 0) {
        if (info.head_len == 0 || info.head_len > len || info.head_len > UFRPC_WS_MAX_HEAD)
            __builtin_trap();
        int rc2 = server ? ufrpc_ws_parse_request(in, info.head_len, &again)
                         : ufrpc_ws_check_response(in, info.head_len, key, &again);
        if (rc2 != 0 || again.head_len != info.head_len)
            __builtin_trap();
        if (server && (strlen(info.key) == 0 || strlen(info.key) >= sizeof info.key))
            __builtin_trap();
    }
    if (memchr(info.reason, '\0', sizeof info.reason) == NULL)
        __builtin_trap();
    char text[256];
    ufrpc_ws_hs_text(&info, text, sizeof text);
    if (server && rc == 0) { /* the answer for its key checks as a client would */
        char resp[512];
        size_t n;
        if (ufrpc_ws_build_response(info.key, resp, sizeof resp, &n) == 0 &&
            ufrpc_ws_check_response((const uint8_t *)resp, n, info.key, &again) != 0)
            __builtin_trap();
    }
}

/* Frames the first bytes with the encoder (masked or not) and decodes them back. */
static void roundtrip(const uint8_t *in, size_t len)
{
    size_t n = len < 300 ? len : 300;
    uint8_t buf[UFRPC_WS_MAX_FRAME_HEADER + 300];
    static const uint8_t key[4] = {0xa5, 0x01, 0x7e, 0x80};
    for (int server = 0; server < 2; server++) {
        const uint8_t *m = server ? key : NULL;
        size_t h = ufrpc_ws_frame_header(buf, UFRPC_WS_OP_BINARY, true, n, m);
        if (m != NULL)
            ufrpc_ws_mask(buf + h, in, n, m, 0);
        else if (n > 0)
            memcpy(buf + h, in, n);
        struct ufrpc_ws_decoder d;
        ufrpc_ws_decoder_init(&d, server != 0, 0);
        size_t off = 0, got = 0;
        uint8_t out[300];
        for (;;) {
            size_t used;
            struct ufrpc_ws_event ev;
            int rc = ufrpc_ws_decode(&d, buf + off, h + n - off, &used, &ev);
            off += used;
            if (rc == UFRPC_ERR_AGAIN)
                break;
            if (rc != 0 || ev.type != UFRPC_WS_EV_DATA || got + ev.len > n)
                __builtin_trap();
            if (ev.masked)
                ufrpc_ws_mask(out + got, ev.data, ev.len, ev.mask, ev.phase);
            else
                memcpy(out + got, ev.data, ev.len);
            got += ev.len;
        }
        if (got != n || off != h + n || (n > 0 && memcmp(out, in, n) != 0))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] & 3u;
    size_t chunk = (size_t)(data[0] >> 2) + 1;
    data++;
    size--;
    if (sel < 2)
        decoder(sel == 1, data, size, chunk);
    else
        heads(sel == 3, data, size);
    roundtrip(data, size);
    return 0;
}
