/* tls_go_driver PORT_ALL PORT_CHACHA PORT_TAMPER_S2C PORT_TAMPER_C2S: our TLS
 * client against go/tls_oracle.go (Go crypto/tls echo servers on 127.0.0.1).
 *  1. 8 MiB echoed (Go re-cuts it into records of 1 .. 65536 bytes), the suite the
 *     CPU prefers, on our record layer; close_notify both ways -> EOF;
 *  2. a second connection resumes the session (Go's ticket), still our records;
 *  3. a ChaCha20-Poly1305-only server: 4 MiB echoed on our records;
 *  4. a bit flipped in a server record -> our read fails with UFRPC_ERR_TLS;
 *  5. a bit flipped in one of our records -> Go's bad_record_mac alert -> our
 *     read fails with UFRPC_ERR_TLS (or a reset, when the relay's close overtakes
 *     the alert; run_go_oracle.sh checks that Go saw the bad record MAC).
 * Exit 0 when all hold; prints what went wrong otherwise. Bounded in time. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dial.h"
#include "net/nettest.h"
#include "net/tls.h"
#include "proto/error.h"
#include "proto/tlsrec.h"

struct conn {
    uv_loop_t *loop;
    ufrpc_tls_ctx_t *ctx;
    struct ufrpc_stream *s;
    int hs_done, hs_status;
};

static int failures;

#define CHECK(c, ...)                                                                       \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);                             \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

static void on_hs(struct ufrpc_stream *s, int status)
{
    struct conn *c = s->data;
    c->hs_done = 1;
    c->hs_status = status;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct conn *c = data;
    (void)d;
    if (status < 0) {
        c->hs_done = 1;
        c->hs_status = status;
        return;
    }
    struct ufrpc_tls_conn_opts o = {.server_name = "localhost"};
    int err;
    c->s = ufrpc_tls_client_new(c->ctx, s, &o, on_hs, c, &err);
    if (c->s == NULL) {
        c->hs_done = 1;
        c->hs_status = err;
    }
}

static int hs_pred(void *a)
{
    return ((struct conn *)a)->hs_done;
}

static int peer_pred(void *a)
{
    struct nt_peer *p = a;
    return (p->eof && p->shut_done) || p->err != 0;
}

/* Connects to port, echoes total bytes; tamper: expect a failure instead. */
static void echo_case(const char *name, uv_loop_t *loop, ufrpc_tls_ctx_t *ctx, int port,
                      uint64_t total, const char *want_suite, int want_resumed, int tamper)
{
    printf("-- %s\n", name);
    struct conn c = {.loop = loop, .ctx = ctx};
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = (uint16_t)port, .timeout_ms = 3000};
    if (ufrpc_dial(loop, &o, on_dial, &c, NULL) != 0) {
        CHECK(0, "dial");
        return;
    }
    nt_run_until(loop, hs_pred, &c, 10000);
    CHECK(c.hs_done && c.hs_status == 0, "handshake %d", c.hs_status);
    if (!c.hs_done || c.hs_status != 0) {
        if (c.s != NULL)
            ufrpc_stream_close(c.s, NULL);
        nt_run_until(loop, hs_pred, &c, 100);
        return;
    }
    bool own = false;
    const char *suite = ufrpc_tls_suite(c.s, &own);
    printf("   suite %s, %s records, resumed %d\n", suite, own ? "our" : "Mbed TLS's",
           ufrpc_tls_resumed(c.s));
    CHECK(suite != NULL && strstr(suite, want_suite) != NULL, "suite %s, want %s", suite,
          want_suite);
    CHECK(own, "not on our record layer");
    if (want_resumed >= 0)
        CHECK(ufrpc_tls_resumed(c.s) == (want_resumed != 0), "resumed %d",
              ufrpc_tls_resumed(c.s));
    uint8_t *pat = nt_pattern();
    if (pat == NULL) {
        CHECK(0, "no memory");
        return;
    }
    struct nt_peer p = {.pat = pat, .to_send = total, .send_base = 0, .recv_base = 0};
    CHECK(nt_peer_start(&p, c.s) == 0, "start");
    nt_run_until(loop, peer_pred, &p, 60000);
    printf("   sent %llu, received %llu, eof %d, err %d (%s)\n", (unsigned long long)p.sent,
           (unsigned long long)p.received, p.eof, p.err, p.err ? ufrpc_strerror(p.err) : "-");
    CHECK(!p.mismatch, "received bytes differ from what was sent");
    if (tamper == 1) { /* we detect it */
        CHECK(p.err == UFRPC_ERR_TLS, "want UFRPC_ERR_TLS, got %d", p.err);
        CHECK(p.received < total, "all bytes came back");
    } else if (tamper == 2) {
        /* Go detects it and sends bad_record_mac; the relay in front then closes
         * our socket while we may still be sending, and the reset can overtake
         * the alert: either ends the stream */
        CHECK(p.err == UFRPC_ERR_TLS || p.err == UFRPC_ERR_CONN_RESET,
              "want UFRPC_ERR_TLS or _CONN_RESET, got %d", p.err);
        CHECK(p.received < total, "all bytes came back");
    } else {
        CHECK(p.err == 0 && p.eof && p.received == total, "echo incomplete");
    }
    nt_peer_close(&p);
    nt_run_until(loop, hs_pred, &c, 50); /* let the close run */
    free(pat);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT_ALL PORT_CHACHA PORT_TAMPER_S2C PORT_TAMPER_C2S\n",
                argv[0]);
        return 2;
    }
    int p_all = atoi(argv[1]), p_chacha = atoi(argv[2]), p_s2c = atoi(argv[3]),
        p_c2s = atoi(argv[4]);
    const char *pref =
        ufrpc_tlsrec_available(UFRPC_TLSREC_AES_256_GCM) ? "AES-256-GCM" : "CHACHA20-POLY1305";
    /* a peer that gave up (the tamper cases) must be a write error, not SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ufrpc_tls_ctx_t *ctx = NULL, *ctx2 = NULL;
    if (ufrpc_tls_client_ctx_new(NULL, &ctx) != 0 || ufrpc_tls_client_ctx_new(NULL, &ctx2) != 0) {
        printf("FAIL: client contexts\n");
        return 1;
    }
    echo_case("echo, full handshake", &loop, ctx, p_all, 8u << 20, pref, 0, 0);
    echo_case("echo, resumed", &loop, ctx, p_all, 1u << 20, pref, 1, 0);
    echo_case("echo, ChaCha20-Poly1305 only", &loop, ctx2, p_chacha, 4u << 20,
              "CHACHA20-POLY1305", 0, 0);
    echo_case("server record tampered", &loop, ctx, p_s2c, 1u << 20, pref, -1, 1);
    echo_case("client record tampered", &loop, ctx, p_c2s, 1u << 20, pref, -1, 2);
    ufrpc_tls_ctx_free(ctx);
    ufrpc_tls_ctx_free(ctx2);
    uv_walk(&loop, nt_walk_close, NULL);
    nt_loop_drain(&loop);
    uv_loop_close(&loop);
    printf("%s\n", failures ? "tls go oracle: FAILED" : "tls go driver: all cases held");
    return failures ? 1 : 0;
}
