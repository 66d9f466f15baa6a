/* libFuzzer: wire v2 hellos and the client's v2 login handshake.
 * Input: a mode byte, then
 *   mode % 4 == 0: a ServerHello payload. Parse, then frpc's checks against two offer
 *                  lists; an accepted hello must name an offered algorithm.
 *   mode % 4 == 1: a ClientHello payload. Parse, frps's selection; a selection must be
 *                  one of the parsed algorithms, and the ServerHello built for it must
 *                  parse and pass frpc's checks; the ClientHello rebuilt from the
 *                  parsed fields must parse back to the same fields.
 *   mode % 4 == 2: a chunk-size byte, then server->client bytes for a client handshake
 *                  (the docs/PROTOCOL.md §14.6 ClientHello, token 12345678), and after
 *                  LoginResp the AEAD control channel. Chunked and one-shot feeding
 *                  must agree; nothing is ever over-read.
 *   mode % 4 == 3: a chunk-size byte, then a plaintext v2 work stream (magic and
 *                  Message frames) for ufrpc_v2msg_reader; same agreement checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/v2chan.h"
#include "proto/v2hello.h"
#include "proto/v2msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ufrpc_aead_alg_t BOTH[2] = {UFRPC_AEAD_AES_256_GCM, UFRPC_AEAD_XCHACHA20_POLY1305};
static const ufrpc_aead_alg_t ONLY_X[1] = {UFRPC_AEAD_XCHACHA20_POLY1305};

static void check_text(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        __builtin_trap();
}

static void server_hello(const uint8_t *in, size_t len)
{
    struct ufrpc_v2_server_hello sh;
    if (ufrpc_v2hello_parse_server((const char *)in, len, &sh) != 0)
        return;
    char err[UFRPC_V2_ERR_LEN];
    for (int k = 0; k < 2; k++) {
        const ufrpc_aead_alg_t *offer = k == 0 ? BOTH : ONLY_X;
        size_t n = k == 0 ? 2 : 1;
        ufrpc_aead_alg_t alg = 0;
        err[0] = '\0';
        int rc = ufrpc_v2hello_check_server(&sh, offer, n, &alg, err, sizeof err);
        check_text(err, sizeof err);
        if (rc == 0) {
            int found = 0;
            for (size_t i = 0; i < n; i++)
                found |= offer[i] == alg;
            if (!found || sh.server_random_len != UFRPC_V2_RANDOM_LEN)
                __builtin_trap();
        } else if (rc != UFRPC_ERR_V2_HELLO || err[0] == '\0') {
            __builtin_trap();
        }
    }
    ufrpc_v2hello_server_free(&sh);
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static int valid_utf8(const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    while (*p) {
        unsigned c = *p, n, cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

static void client_hello(const uint8_t *in, size_t len)
{
    struct ufrpc_v2_client_hello ch;
    if (ufrpc_v2hello_parse_client((const char *)in, len, &ch) != 0)
        return;
    char err[UFRPC_V2_ERR_LEN];
    err[0] = '\0';
    ufrpc_aead_alg_t alg = 0;
    int rc = ufrpc_v2hello_server_select(&ch, &alg, err, sizeof err);
    check_text(err, sizeof err);
    if (rc == 0) {
        if (ch.n_algs == 0 || alg != ch.algs[0] || ch.client_random_len != UFRPC_V2_RANDOM_LEN ||
            !ch.codec_json)
            __builtin_trap();
        uint8_t srnd[UFRPC_V2_RANDOM_LEN];
        memset(srnd, 0xa5, sizeof srnd);
        char *json;
        size_t jl;
        if (ufrpc_v2hello_build_server(alg, srnd, &json, &jl) == 0) {
            struct ufrpc_v2_server_hello sh;
            if (ufrpc_v2hello_parse_server(json, jl, &sh) != 0)
                __builtin_trap();
            ufrpc_aead_alg_t got = 0;
            if (ufrpc_v2hello_check_server(&sh, ch.algs, ch.n_algs, &got, NULL, 0) != 0 ||
                got != alg)
                __builtin_trap();
            ufrpc_v2hello_server_free(&sh);
            free(json);
        }
        /* rebuild a ClientHello from the parsed fields; it must read back the same */
        struct ufrpc_v2_bootstrap bs = {ch.transport, ch.tls, ch.tcp_mux};
        if (ufrpc_v2hello_build_client(&bs, ch.algs, ch.n_algs, ch.client_random, &json, &jl) == 0) {
            struct ufrpc_v2_client_hello back;
            if (ufrpc_v2hello_parse_client(json, jl, &back) != 0)
                __builtin_trap();
            int same = back.tls == ch.tls && back.tcp_mux == ch.tcp_mux &&
                       back.n_algs == ch.n_algs &&
                       memcmp(back.algs, ch.algs, ch.n_algs * sizeof ch.algs[0]) == 0 &&
                       memcmp(back.client_random, ch.client_random, UFRPC_V2_RANDOM_LEN) == 0 &&
                       back.codec_json;
            /* an empty transport is omitted; others (without NUL) come back equal,
             * unless they hold invalid UTF-8, which the encoder replaces with U+FFFD
             * as Go does */
            const char *t1 = ch.transport != NULL ? ch.transport : "";
            const char *t2 = back.transport != NULL ? back.transport : "";
            same = same && (!valid_utf8(t1) || strcmp(t1, t2) == 0);
            if (!same)
                __builtin_trap();
            ufrpc_v2hello_client_free(&back);
            free(json);
        }
    } else if (rc != UFRPC_ERR_V2_HELLO || err[0] == '\0') {
        __builtin_trap();
    }
    ufrpc_v2hello_client_free(&ch);
}

#define MAX_MSGS 16

struct outcome {
    int rc;        /* final code: 0 running, <0 failure */
    int done;      /* handshake finished */
    size_t nmsgs;
    uint8_t types[MAX_MSGS];
};

static void handshake_run(const uint8_t *in, size_t len, size_t chunk, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    uint8_t rnd[UFRPC_V2_RANDOM_LEN];
    for (int i = 0; i < UFRPC_V2_RANDOM_LEN; i++)
        rnd[i] = (uint8_t)i;
    struct ufrpc_msg login;
    if (ufrpc_msg_init(&login, UFRPC_MSG_LOGIN) != 0)
        __builtin_trap();
    struct ufrpc_v2hs_opts ho = {.bootstrap = {"tcp", true, true}, .algs = BOTH, .n_algs = 2,
                                 .client_random = rnd, .token = (const uint8_t *)"12345678",
                                 .token_len = 8, .login = &login};
    struct ufrpc_v2hs *hs = NULL;
    if (ufrpc_v2hs_new(&ho, &hs) != 0)
        return; /* allocation failure only */
    struct ufrpc_v2chan *ch = NULL;
    size_t pos = 0;
    while (pos < len && o->rc == 0) {
        size_t avail = len - pos < chunk ? len - pos : chunk;
        size_t used = 0;
        if (ch == NULL) {
            int rc = ufrpc_v2hs_feed(hs, in + pos, avail, &used);
            if (used > avail)
                __builtin_trap();
            pos += used;
            if (rc < 0) {
                o->rc = rc;
                check_text(ufrpc_v2hs_error(hs), UFRPC_V2_ERR_LEN);
                break;
            }
            if (rc == 0) {
                if (used != avail)
                    __builtin_trap();
                continue;
            }
            o->done = 1;
            if (ufrpc_v2hs_login_resp(hs) == NULL || ufrpc_v2hs_state(hs) != UFRPC_V2HS_DONE)
                __builtin_trap();
            ufrpc_aead_alg_t alg;
            uint8_t kc[32], ks[32], nonce[24] = {0};
            if (ufrpc_v2hs_keys(hs, &alg, NULL, kc, ks) != 0)
                __builtin_trap();
            struct ufrpc_v2chan_opts co = {alg, kc, ks, nonce, NULL, NULL};
            if (ufrpc_v2chan_new(&co, &ch) != 0)
                break;
            continue;
        }
        struct ufrpc_msg m;
        int rc = ufrpc_v2chan_feed(ch, in + pos, avail, &used, &m);
        if (used > avail)
            __builtin_trap();
        pos += used;
        if (rc < 0) {
            o->rc = rc;
            break;
        }
        while (rc == 1) {
            if (o->nmsgs < MAX_MSGS)
                o->types[o->nmsgs] = m.type;
            o->nmsgs++;
            ufrpc_msg_free(&m);
            rc = ufrpc_v2chan_feed(ch, NULL, 0, &used, &m);
            if (used != 0)
                __builtin_trap();
        }
        if (rc < 0)
            o->rc = rc;
    }
    if (o->rc == 0 && ch == NULL && !o->done && ufrpc_v2hs_on_eof(hs, 0) >= 0)
        __builtin_trap();
    ufrpc_v2chan_free(ch);
    ufrpc_v2hs_free(hs);
    ufrpc_msg_free(&login);
}

static void stream_run(const uint8_t *in, size_t len, size_t chunk, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct ufrpc_v2msg_reader *r = malloc(sizeof *r);
    if (r == NULL)
        return;
    ufrpc_v2msg_reader_init(r, true);
    size_t pos = 0;
    while (pos < len) {
        size_t avail = len - pos < chunk ? len - pos : chunk;
        size_t used = 0;
        struct ufrpc_msg m;
        int rc = ufrpc_v2msg_reader_feed(r, in + pos, avail, &used, &m);
        if (used > avail)
            __builtin_trap();
        pos += used;
        if (rc < 0) {
            o->rc = rc;
            break;
        }
        if (rc == 0) {
            if (used != avail)
                __builtin_trap();
            continue;
        }
        /* a decoded message re-encodes and decodes to the same type */
        uint8_t *enc;
        size_t el;
        if (ufrpc_v2msg_encode(&m, false, &enc, &el) == 0)
            free(enc);
        if (o->nmsgs < MAX_MSGS)
            o->types[o->nmsgs] = m.type;
        o->nmsgs++;
        ufrpc_msg_free(&m);
    }
    free(r);
}

static void compare_runs(void (*run)(const uint8_t *, size_t, size_t, struct outcome *),
                         const uint8_t *in, size_t len, size_t chunk)
{
    struct outcome a, b;
    run(in, len, len > 0 ? len : 1, &a);
    run(in, len, chunk, &b);
    size_t n = a.nmsgs < MAX_MSGS ? a.nmsgs : MAX_MSGS;
    if (a.rc != b.rc || a.done != b.done || a.nmsgs != b.nmsgs ||
        memcmp(a.types, b.types, n) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    switch (mode % 4) {
    case 0:
        server_hello(data, size);
        break;
    case 1:
        client_hello(data, size);
        break;
    default:
        if (size < 1)
            return 0;
        compare_runs(mode % 4 == 2 ? handshake_run : stream_run, data + 1, size - 1,
                     (size_t)data[0] % 64 + 1);
        break;
    }
    return 0;
}
