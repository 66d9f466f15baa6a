/* net/tls: our client against our server (no verification, CA + hostname
 * verification, wrong CA, wrong name, mTLS, 0x17 first byte through the sniffer,
 * plaintext sniff, 8 MiB each way with close_notify, a reader that pauses after
 * almost every delivery), and interop with
 * `openssl s_server` / `openssl s_client`. Loopback only, bounded in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/dial.h"
#include "net/tcp.h"
#include "net/tls.h"
#include <mbedtls/x509.h>

#include "net/nettest.h"
#include "testutil.h"
#include "proto/error.h"
#include "proto/tlsrec.h"

/* s completed a handshake whose records our own record layer protects, with
 * the suite the CPU prefers (or the one given) */
static void assert_own_records(struct ufrpc_stream *s, const char *want)
{
    bool own = false;
    const char *suite = ufrpc_tls_suite(s, &own);
    assert_non_null(suite);
    if (want == NULL)
        want = ufrpc_tlsrec_available(UFRPC_TLSREC_AES_256_GCM) ? "AES-256-GCM" : "CHACHA20";
    if (strstr(suite, want) == NULL || !own)
        printf("suite %s, own records %d, wanted %s\n", suite, own, want);
    assert_non_null(strstr(suite, want));
    assert_true(own);
}

struct env {
    uv_loop_t loop;
    char dir[64];
    ufrpc_tls_ctx_t *sctx, *cctx;
    ufrpc_tcp_listener_t *l;
    uint16_t port;
    /* server side */
    struct ufrpc_stream *sconn; /* TLS (or plain) stream once ready */
    int sniff_kind;
    int s_hs_done, s_hs_status;
    /* client side */
    struct ufrpc_stream *cconn;
    int c_hs_done, c_hs_status;
    int dial_status, dial_done;
    struct ufrpc_tls_conn_opts copts;
    uint8_t plain[64];
    size_t plain_len;
};

static void s_hs(struct ufrpc_stream *s, int status)
{
    struct env *e = s->data;
    e->s_hs_done = 1;
    e->s_hs_status = status;
    if (status < 0) { /* as frps: drop the connection */
        ufrpc_stream_close(s, NULL);
        e->sconn = NULL;
    }
}

static void plain_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *b, const uint8_t *d,
                       size_t n)
{
    struct env *e = s->data;
    (void)b;
    if (status < 0)
        return;
    if (n > sizeof e->plain - e->plain_len)
        n = sizeof e->plain - e->plain_len;
    memcpy(e->plain + e->plain_len, d, n);
    e->plain_len += n;
}

static void on_sniffed(struct ufrpc_stream *s, int kind, void *data)
{
    struct env *e = data;
    e->sniff_kind = kind;
    if (kind < 0) {
        ufrpc_stream_close(s, NULL);
        e->s_hs_done = 1;
        e->s_hs_status = kind;
        return;
    }
    if (kind == UFRPC_SNIFF_PLAIN) {
        e->sconn = s;
        s->data = e;
        ufrpc_stream_read_start(s, plain_read);
        return;
    }
    int err;
    e->sconn = ufrpc_tls_server_new(e->sctx, s, 20000, s_hs, e, &err);
    assert_non_null(e->sconn);
}

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    struct env *e = ufrpc_tcp_listener_data(l);
    assert_int_equal(status, 0);
    assert_int_equal(ufrpc_tls_sniff(c, 20000, on_sniffed, e), 0);
}

static void c_hs(struct ufrpc_stream *s, int status)
{
    struct env *e = s->data;
    e->c_hs_done = 1;
    e->c_hs_status = status;
}

static void on_dial(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data)
{
    struct env *e = data;
    (void)d;
    e->dial_done = 1;
    e->dial_status = status;
    if (status < 0)
        return;
    if (e->cctx == NULL) {
        e->cconn = s;
        return;
    }
    int err;
    e->cconn = ufrpc_tls_client_new(e->cctx, s, &e->copts, c_hs, e, &err);
    assert_non_null(e->cconn);
}

static void run_cmd(const char *cmd)
{
    int rc = system(cmd);
    assert_int_equal(rc, 0);
}

static void env_init(struct env *e, int with_server)
{
    memset(e, 0, sizeof *e);
    uv_loop_init(&e->loop);
    snprintf(e->dir, sizeof e->dir, "/tmp/ufrpc-net-tls-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    if (with_server) {
        int err;
        e->l = ufrpc_tcp_listen(&e->loop, "127.0.0.1", 0, on_accept, e, &err);
        assert_non_null(e->l);
        e->port = ufrpc_tcp_listener_port(e->l);
    }
}

static void env_fini(struct env *e)
{
    if (e->sconn)
        ufrpc_stream_close(e->sconn, NULL);
    if (e->cconn)
        ufrpc_stream_close(e->cconn, NULL);
    if (e->l)
        ufrpc_tcp_listener_close(e->l, NULL);
    assert_true(nt_loop_drain(&e->loop));
    assert_int_equal(uv_loop_close(&e->loop), 0);
    ufrpc_tls_ctx_free(e->sctx);
    ufrpc_tls_ctx_free(e->cctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    run_cmd(cmd);
}

static int never_true(void *a)
{
    (void)a;
    return 0;
}

static int both_hs(void *a)
{
    struct env *e = a;
    return e->s_hs_done && e->c_hs_done;
}

static int client_hs(void *a)
{
    struct env *e = a;
    return e->c_hs_done || (e->dial_done && e->dial_status < 0);
}

static void connect_client(struct env *e)
{
    struct ufrpc_dial_opts o = {.host = "127.0.0.1", .port = e->port, .timeout_ms = 20000};
    assert_int_equal(ufrpc_dial(&e->loop, &o, on_dial, e, NULL), 0);
}

/* Writes the server's (generated) certificate as a PEM file; returns its path. */
static void write_pem(const ufrpc_tls_ctx_t *c, const char *path)
{
    char pem[4096];
    assert_int_equal(ufrpc_tls_ctx_cert_pem(c, pem, sizeof pem), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
}

struct xfer {
    struct nt_peer *a, *b;
};

static int xfer_done(void *arg)
{
    struct xfer *x = arg;
    return (x->a->eof && x->b->eof && x->a->shut_done && x->b->shut_done) || x->a->err ||
           x->b->err;
}

static void test_tls_self_signed_transfer(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    e.copts.server_name = "127.0.0.1";
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_string_equal(ufrpc_tls_version(e.cconn), "TLSv1.2"); /* 1.2 unless asked */
    assert_int_equal(e.s_hs_status, 0);
    assert_int_equal(e.sniff_kind, UFRPC_SNIFF_TLS);
    assert_own_records(e.cconn, NULL);
    assert_own_records(e.sconn, NULL);

    uint8_t *pat = nt_pattern();
    const uint64_t total = 8ull << 20;
    struct nt_peer pc = {.pat = pat, .to_send = total, .send_base = 5, .recv_base = 1000};
    struct nt_peer ps = {.pat = pat, .to_send = total, .send_base = 1000, .recv_base = 5,
                         .slow_every = 1 << 20};
    assert_int_equal(nt_peer_start(&pc, e.cconn), 0);
    assert_int_equal(nt_peer_start(&ps, e.sconn), 0);
    struct xfer x = {&pc, &ps};
    assert_true(nt_run_until(&e.loop, xfer_done, &x, 30000));
    assert_int_equal(pc.err, 0);
    assert_int_equal(ps.err, 0);
    assert_true(pc.received == total && ps.received == total);
    assert_int_equal(pc.mismatch + ps.mismatch, 0);
    assert_true(ufrpc_stream_queued(e.cconn) == 0);
    nt_peer_close(&pc);
    nt_peer_close(&ps);
    e.cconn = e.sconn = NULL;
    env_fini(&e);
    free(pat);
}


/* ---- writes: copied at once, completed in order ----------------------------------- */
#define WO_N 300

struct worder {
    struct ufrpc_stream_write w[WO_N + 1];
    int next, ncb, failed, canceled;
    int out_of_order, cb_after_close, closed;
    int shut_after, shut_status;
};

static void wo_cb(struct ufrpc_stream_write *w, int status)
{
    struct worder *o = w->data;
    int i = (int)(w - o->w);
    if (i != o->next)
        o->out_of_order = 1;
    o->next = i + 1;
    o->ncb++;
    if (status == UFRPC_ERR_CANCELED)
        o->canceled++;
    else if (status < 0)
        o->failed++;
    if (o->closed)
        o->cb_after_close = 1;
}

static void wo_shut(struct ufrpc_stream *s, int status)
{
    struct worder *o = s->data;
    o->shut_status = status;
    o->shut_after = o->ncb + 1; /* 1 + writes completed before it */
}

static void wo_closed(struct ufrpc_stream *s)
{
    ((struct worder *)s->data)->closed = 1;
}

struct wo_wait {
    struct worder *o;
    struct nt_peer *p;
    uint64_t total;
};

static int wo_all(void *a)
{
    struct wo_wait *w = a;
    return (w->o->ncb == WO_N && w->p->received == w->total) || w->p->err || w->p->mismatch;
}

static int wo_shut_done(void *a)
{
    return ((struct worder *)a)->shut_after > 0;
}

static int peer_eof(void *a)
{
    struct nt_peer *p = a;
    return p->eof || p->err;
}

static int wo_closed_done(void *a)
{
    return ((struct worder *)a)->closed;
}

/* A reader that stops after almost every delivery and starts again from a timer
 * (as the pump does when the local socket is full): reading resumes whether the
 * stream stopped with ciphertext still unopened or with none (then the lower
 * stream is read again at once), and every byte arrives, in order. One way
 * only: the reader writes nothing that would wake its stream up otherwise. */
static void test_tls_pause_resume(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_own_records(e.cconn, NULL);

    uint8_t *pat = nt_pattern();
    const uint64_t total = 3ull << 20;
    /* pauses every 20000 bytes: never on a record boundary for long */
    struct nt_peer pc = {.pat = pat, .to_send = 0, .recv_base = 300, .slow_every = 20000,
                         .no_shutdown = 1};
    struct nt_peer ps = {.pat = pat, .to_send = total, .send_base = 300};
    assert_int_equal(nt_peer_start(&pc, e.cconn), 0);
    assert_int_equal(nt_peer_start(&ps, e.sconn), 0);
    assert_true(nt_run_until(&e.loop, peer_eof, &pc, 30000));
    assert_int_equal(pc.err, 0);
    assert_int_equal(ps.err, 0);
    assert_true(pc.received == total);
    assert_int_equal(pc.mismatch + ps.mismatch, 0);
    nt_peer_close(&pc);
    nt_peer_close(&ps);
    e.cconn = e.sconn = NULL;
    env_fini(&e);
    free(pat);
}

/* A TLS stream is done with the caller's bytes when write returns (the pump
 * gives its read buffer back then): the buffer is overwritten right after each
 * write and the peer still gets the original bytes. Writes of all sizes, with a
 * slow reader so that some records go out at once and others wait in the queue,
 * complete in order; one that went out at once still completes (its bytes
 * did leave) before the close callback when the stream is closed right after
 * it. */
static void test_tls_writes_copied_in_order(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    e.copts.server_name = "127.0.0.1";
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_int_equal(e.s_hs_status, 0);
    assert_true(ufrpc_stream_copies_writes(e.cconn));

    uint8_t *pat = nt_pattern();
    assert_non_null(pat);
    const size_t big = 100000;
    uint8_t *scratch = malloc(big);
    assert_non_null(scratch);
    struct nt_peer ps = {.pat = pat, .no_shutdown = 1, .slow_every = 256 * 1024};
    struct worder *o = calloc(1, sizeof *o);
    assert_non_null(o);
    uint64_t total = 0;
    for (int i = 0; i < WO_N; i++) {
        size_t n = i % 3 == 0 ? big : (size_t)(1 + (i * 7919) % 3000);
        for (size_t k = 0; k < n; k++)
            scratch[k] = pat[(total + k) % NT_PAT_LEN];
        uv_buf_t b = uv_buf_init((char *)scratch, (unsigned)n);
        o->w[i].data = o;
        assert_int_equal(ufrpc_stream_write(e.cconn, &o->w[i], &b, 1, wo_cb), 0);
        memset(scratch, 0xa5, n);
        total += n;
        /* the server reads only from the second half on: the first records
         * fill the socket buffers and wait in the queue, later ones go out at
         * once or queue behind them as the reader drains */
        if (i == WO_N / 2)
            assert_int_equal(nt_peer_start(&ps, e.sconn), 0);
        if (i % 50 == 49)
            nt_run_until(&e.loop, never_true, NULL, 2);
    }
    struct wo_wait ww = {o, &ps, total};
    assert_true(nt_run_until(&e.loop, wo_all, &ww, 30000));
    /* one more write, out at once (nothing is queued now), and a half-close
     * right after it: the write's callback comes first */
    uv_buf_t last = uv_buf_init((char *)pat + total % NT_PAT_LEN, 1);
    o->w[WO_N].data = o;
    assert_int_equal(ufrpc_stream_write(e.cconn, &o->w[WO_N], &last, 1, wo_cb), 0);
    total++;
    e.cconn->data = o;
    assert_int_equal(ufrpc_stream_shutdown(e.cconn, wo_shut), 0);
    assert_true(nt_run_until(&e.loop, wo_shut_done, o, 10000));
    assert_int_equal(o->shut_status, 0);
    assert_int_equal(o->shut_after, WO_N + 2);
    assert_true(nt_run_until(&e.loop, peer_eof, &ps, 10000));
    assert_true(ps.received == total);
    assert_int_equal(ps.err, 0);
    assert_int_equal(ps.mismatch, 0);
    assert_true(ps.received == total);
    assert_int_equal(o->ncb, WO_N + 1);
    assert_int_equal(o->out_of_order, 0);
    assert_int_equal(o->failed + o->canceled, 0);
    assert_true(ufrpc_stream_queued(e.cconn) == 0);

    /* a new connection: a small write (out at once: the queue is empty) and
     * close at once */
    nt_peer_close(&ps);
    ufrpc_stream_close(e.cconn, NULL);
    e.cconn = e.sconn = NULL;
    e.c_hs_done = e.s_hs_done = 0;
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_int_equal(e.s_hs_status, 0);
    memset(o, 0, sizeof *o);
    o->w[0].data = o;
    uv_buf_t b = uv_buf_init((char *)pat + total % NT_PAT_LEN, 1);
    assert_int_equal(ufrpc_stream_write(e.cconn, &o->w[0], &b, 1, wo_cb), 0);
    assert_int_equal(o->ncb, 0); /* never from inside write */
    e.cconn->data = o;
    ufrpc_stream_close(e.cconn, wo_closed);
    e.cconn = NULL;
    assert_int_equal(o->ncb, 0); /* nor from inside close */
    assert_true(nt_run_until(&e.loop, wo_closed_done, o, 10000));
    assert_int_equal(o->ncb, 1);
    assert_int_equal(o->cb_after_close, 0);
    assert_int_equal(o->failed + o->canceled, 0);
    env_fini(&e);
    free(o);
    free(scratch);
    free(pat);
}

/* ---- session resumption ------------------------------------------------------------ */
static int got_plain5(void *a)
{
    return ((struct env *)a)->plain_len >= 5;
}

/* One handshake with the current client context to our server; sends 5 bytes
 * over it and checks that they arrive. Returns whether the client resumed. */
static int resume_case(struct env *e, const char *name)
{
    e->copts.server_name = name;
    e->c_hs_done = e->s_hs_done = 0;
    e->plain_len = 0;
    connect_client(e);
    assert_true(nt_run_until(&e->loop, both_hs, e, 30000));
    assert_int_equal(e->c_hs_status, 0);
    assert_int_equal(e->s_hs_status, 0);
    int resumed = ufrpc_tls_resumed(e->cconn);
    assert_own_records(e->cconn, NULL); /* keys are exported on resumption too */
    assert_own_records(e->sconn, NULL);
    struct ufrpc_stream_write w;
    uv_buf_t b = uv_buf_init((char *)"hello", 5);
    assert_int_equal(ufrpc_stream_write(e->cconn, &w, &b, 1, NULL), 0);
    e->sconn->data = e;
    assert_int_equal(ufrpc_stream_read_start(e->sconn, plain_read), 0);
    assert_true(nt_run_until(&e->loop, got_plain5, e, 30000));
    assert_memory_equal(e->plain, "hello", 5);
    assert_false(ufrpc_tls_resumed(e->sconn)); /* only client streams say so */
    ufrpc_stream_close(e->cconn, NULL);
    ufrpc_stream_close(e->sconn, NULL);
    e->cconn = e->sconn = NULL;
    nt_run_until(&e->loop, never_true, NULL, 20);
    return resumed;
}

/* Work connections reuse the session of the first (control) connection: the
 * second and later handshakes to the same server name are resumed (with the
 * server's session ticket), also when the first one verified the certificate; a
 * different server name, or a server that no longer accepts the ticket (frps
 * restarted: new ticket keys), gets a full handshake, whose session is then
 * resumed in turn. */
static void test_tls_session_resumption(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    char good[128];
    snprintf(good, sizeof good, "%s/good.pem", e.dir);
    write_pem(e.sctx, good);
    struct ufrpc_tls_client_opts co = {.ca_file = good};
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e.cctx), 0);

    assert_false(resume_case(&e, "localhost")); /* nothing saved yet */
    assert_true(resume_case(&e, "localhost"));
    assert_true(resume_case(&e, "localhost"));
    /* the saved session is only offered to the same server name */
    ufrpc_tls_ctx_t *noverify;
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &noverify), 0);
    ufrpc_tls_ctx_t *keep = e.cctx;
    e.cctx = noverify;
    assert_false(resume_case(&e, "127.0.0.1"));
    assert_false(resume_case(&e, "localhost")); /* replaced the 127.0.0.1 one */
    assert_true(resume_case(&e, "localhost"));
    e.cctx = keep;
    ufrpc_tls_ctx_free(noverify);
    /* the server restarts with new ticket keys: the offer is refused, a full
     * handshake (verified again) follows, and its session resumes next time */
    ufrpc_tls_ctx_free(e.sctx);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    write_pem(e.sctx, good);
    ufrpc_tls_ctx_free(e.cctx);
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e.cctx), 0);
    assert_false(resume_case(&e, "localhost"));
    assert_true(resume_case(&e, "localhost"));
    ufrpc_tls_ctx_t *other;
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &other), 0);
    ufrpc_tls_ctx_t *old = e.sctx;
    e.sctx = other; /* same certificate is not needed: no verification below */
    ufrpc_tls_ctx_free(e.cctx);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    assert_false(resume_case(&e, "localhost"));
    e.sctx = old;
    assert_false(resume_case(&e, "localhost")); /* other's ticket is refused here */
    assert_true(resume_case(&e, "localhost"));
    ufrpc_tls_ctx_free(other);
    env_fini(&e);
}

/* Runs one client handshake with the given CA file and name; returns its status. */
static int verify_case(struct env *e, const char *ca, const char *name, int first_byte)
{
    struct ufrpc_tls_client_opts co = {.ca_file = ca};
    ufrpc_tls_ctx_free(e->cctx);
    e->cctx = NULL;
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e->cctx), 0);
    e->copts.server_name = name;
    e->copts.first_byte_0x17 = first_byte;
    e->c_hs_done = e->s_hs_done = 0;
    connect_client(e);
    assert_true(nt_run_until(&e->loop, client_hs, e, 30000));
    int st = e->c_hs_status;
    ufrpc_stream_close(e->cconn, NULL);
    e->cconn = NULL;
    /* let the server side finish (it fails when the client aborts) */
    nt_run_until(&e->loop, both_hs, e, 2000);
    if (e->sconn != NULL) {
        ufrpc_stream_close(e->sconn, NULL);
        e->sconn = NULL;
    }
    return st;
}

static void test_tls_verify(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    char good[128], bad[128];
    snprintf(good, sizeof good, "%s/good.pem", e.dir);
    snprintf(bad, sizeof bad, "%s/bad.pem", e.dir);
    write_pem(e.sctx, good);
    ufrpc_tls_ctx_t *other;
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &other), 0);
    write_pem(other, bad);
    ufrpc_tls_ctx_free(other);

    assert_int_equal(verify_case(&e, good, "localhost", 0), 0);
    assert_int_equal(verify_case(&e, bad, "localhost", 0), UFRPC_ERR_TLS_VERIFY);
    assert_int_equal(verify_case(&e, good, "wrong.example", 0), UFRPC_ERR_TLS_VERIFY);
    /* 0x17 first byte: the sniffer consumes it and TLS proceeds */
    assert_int_equal(verify_case(&e, good, "localhost", 1), 0);
    assert_int_equal(e.sniff_kind, UFRPC_SNIFF_TLS_0x17);
    /* no CA: no verification at all, even with a foreign name */
    assert_int_equal(verify_case(&e, NULL, "wrong.example", 1), 0);
    env_fini(&e);
}

/* One client handshake (no CA) with keep_peer_info as given; *p gets what
 * ufrpc_tls_peer_info reported; returns its status. */
static int peer_case(struct env *e, const char *ca, bool keep, struct ufrpc_tls_peer *p,
                     bool *own_records)
{
    struct ufrpc_tls_client_opts co = {.ca_file = ca};
    ufrpc_tls_ctx_free(e->cctx);
    e->cctx = NULL;
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e->cctx), 0);
    e->copts.server_name = "localhost";
    e->copts.keep_peer_info = keep;
    e->c_hs_done = e->s_hs_done = 0;
    connect_client(e);
    assert_true(nt_run_until(&e->loop, both_hs, e, 30000));
    assert_int_equal(e->c_hs_status, 0);
    int rc = ufrpc_tls_peer_info(e->cconn, p);
    assert_non_null(ufrpc_tls_suite(e->cconn, own_records));
    ufrpc_stream_close(e->cconn, NULL);
    ufrpc_stream_close(e->sconn, NULL);
    e->cconn = e->sconn = NULL;
    e->copts.keep_peer_info = false;
    return rc;
}

/* ufrpc_tls_peer_info after the handshake, once our record layer freed Mbed TLS's
 * context (ufrpc diagnose's TLS step): the names and dates of a named certificate,
 * verified against it as CA; frps's generated one with its empty names but its
 * dates; without keep_peer_info, "not found" rather than zeros. */
static void test_tls_peer_info(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    char good[128];
    snprintf(good, sizeof good, "%s/good.pem", e.dir);
    write_pem(e.sctx, good);
    struct ufrpc_tls_peer p;
    bool own_records = false;
    int rc = peer_case(&e, NULL, false, &p, &own_records);
    assert_int_equal(rc, own_records ? UFRPC_ERR_NOT_FOUND : 0);
    assert_true(own_records); /* TLS 1.2 AES-GCM: the case this test is about */
    assert_int_equal(peer_case(&e, good, true, &p, &own_records), 0);
    assert_true(p.verify_on && p.verified);
    assert_non_null(strstr(p.subject, "CN="));
    assert_true(p.subject[3] != '\0');
    assert_true(p.issuer[0] != '\0');
    /* "YYYY-MM-DD hh:mm:ss", the start before the end */
    assert_int_equal(strlen(p.not_before), 19);
    assert_int_equal(strlen(p.not_after), 19);
    assert_true(strcmp(p.not_before, p.not_after) < 0);
    assert_true(strcmp(p.not_before, "2020") > 0);

    ufrpc_tls_ctx_free(e.sctx);
    struct ufrpc_tls_server_opts so = {.generate = UFRPC_TLS_GEN_FRPS};
    assert_int_equal(ufrpc_tls_server_ctx_new(&so, &e.sctx), 0);
    assert_int_equal(peer_case(&e, NULL, true, &p, &own_records), 0);
    assert_false(p.verify_on || p.verified);
    assert_string_equal(p.subject, "");
    assert_string_equal(p.issuer, "");
    assert_int_equal(strlen(p.not_before), 19);
    assert_true(strcmp(p.not_before, p.not_after) < 0);
    env_fini(&e);
}

/* Like verify_case, and hands back why the client's handshake failed. */
static int verify_case_why(struct env *e, const char *ca, const char *name,
                           struct ufrpc_tls_failure *f, char *text, size_t cap)
{
    struct ufrpc_tls_client_opts co = {.ca_file = ca};
    ufrpc_tls_ctx_free(e->cctx);
    e->cctx = NULL;
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e->cctx), 0);
    e->copts.server_name = name;
    e->copts.first_byte_0x17 = 0;
    e->c_hs_done = e->s_hs_done = 0;
    connect_client(e);
    assert_true(nt_run_until(&e->loop, client_hs, e, 30000));
    int st = e->c_hs_status;
    memset(f, 0, sizeof *f);
    text[0] = '\0';
    if (st < 0) {
        assert_int_equal(ufrpc_tls_get_failure(e->cconn, f), 0);
        ufrpc_tls_failure_text(f, text, cap);
    } else {
        assert_int_equal(ufrpc_tls_get_failure(e->cconn, f), UFRPC_ERR_STATE);
    }
    ufrpc_stream_close(e->cconn, NULL);
    e->cconn = NULL;
    nt_run_until(&e->loop, both_hs, e, 2000);
    if (e->sconn != NULL) {
        ufrpc_stream_close(e->sconn, NULL);
        e->sconn = NULL;
    }
    return st;
}

/* A server with frps's generated certificate (empty issuer and subject, RSA):
 * without a CA the handshake succeeds and data flows, as with frpc; with a CA
 * (even that very certificate, as frpc would refuse it too) it is refused at
 * the verification step, never earlier. */
static void test_tls_frps_certificate(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    struct ufrpc_tls_server_opts so = {.generate = UFRPC_TLS_GEN_FRPS};
    assert_int_equal(ufrpc_tls_server_ctx_new(&so, &e.sctx), 0);
    /* what the server sends is frps's shape: issuer and subject empty */
    char pem[4096];
    assert_int_equal(ufrpc_tls_ctx_cert_pem(e.sctx, pem, sizeof pem), 0);
    char own[128], other[128];
    snprintf(own, sizeof own, "%s/own.pem", e.dir);
    snprintf(other, sizeof other, "%s/other.pem", e.dir);
    write_pem(e.sctx, own);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in %s -noout -issuer -subject -ext subjectAltName,basicConstraints "
             "2>&1 | tr -d ' ' | grep -qx 'issuer=' && openssl x509 -in %s -noout -text | "
             "grep -q 'Public-Key: (2048 bit)' && ! openssl x509 -in %s -noout -text | "
             "grep -q 'X509v3'",
             own, own, own);
    run_cmd(cmd);
    ufrpc_tls_ctx_t *named;
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &named), 0);
    write_pem(named, other);
    ufrpc_tls_ctx_free(named);

    struct ufrpc_tls_failure f;
    char text[512];
    assert_int_equal(verify_case_why(&e, NULL, "127.0.0.1", &f, text, sizeof text), 0);
    assert_int_equal(verify_case_why(&e, NULL, "example.com", &f, text, sizeof text), 0);
    assert_int_equal(verify_case_why(&e, other, "localhost", &f, text, sizeof text),
                     UFRPC_ERR_TLS_VERIFY);
    assert_int_equal(f.step, UFRPC_TLS_STEP_VERIFY);
    assert_true(f.verify_flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
    assert_non_null(strstr(text, "certificate verification failed: "));
    assert_non_null(strstr(text, "not correctly signed by the trusted CA"));
    assert_int_equal(verify_case_why(&e, own, "localhost", &f, text, sizeof text),
                     UFRPC_ERR_TLS_VERIFY);
    assert_int_equal(f.step, UFRPC_TLS_STEP_VERIFY);

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* the same over TLS 1.3 (Mbed TLS 3.x): its Certificate message is parsed
     * through the same functions */
    ufrpc_tls_ctx_free(e.sctx);
    struct ufrpc_tls_server_opts so13 = {.generate = UFRPC_TLS_GEN_FRPS, .tls13 = true};
    assert_int_equal(ufrpc_tls_server_ctx_new(&so13, &e.sctx), 0);
    ufrpc_tls_ctx_free(e.cctx);
    struct ufrpc_tls_client_opts co13 = {.tls13 = true};
    assert_int_equal(ufrpc_tls_client_ctx_new(&co13, &e.cctx), 0);
    e.copts.server_name = "127.0.0.1";
    e.c_hs_done = e.s_hs_done = 0;
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_int_equal(e.s_hs_status, 0);
    assert_string_equal(ufrpc_tls_version(e.cconn), "TLSv1.3");
    ufrpc_stream_close(e.cconn, NULL);
    ufrpc_stream_close(e.sconn, NULL);
    e.cconn = e.sconn = NULL;
#endif
    /* a data round trip over it */
    ufrpc_tls_ctx_free(e.cctx);
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    assert_false(resume_case(&e, "127.0.0.1"));
    env_fini(&e);
}

/* Writes a self-signed EC certificate for CN=localhost (SAN DNS:localhost) valid
 * between the two dates (YYYYMMDDhhmmss) and its key, as PEM files. */
static void write_dated_cert(const char *dir, const char *from, const char *to)
{
    /* openssl ca needs a database; set one up in dir */
    char setup[512];
    snprintf(setup, sizeof setup, "cd %s && : > index.txt && echo 01 > serial", dir);
    run_cmd(setup);
    char full[2048];
    snprintf(full, sizeof full,
             "cd %s && printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nserial=serial\n"
             "new_certs_dir=.\npolicy=p\n[p]\ncommonName=supplied\n[v3]\n"
             "subjectAltName=DNS:localhost\nbasicConstraints=CA:true\n' > ca.cnf && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout dated.key -out dated.csr -subj /CN=localhost >/dev/null 2>&1 && "
             "openssl ca -batch -config ca.cnf -selfsign -keyfile dated.key -in dated.csr "
             "-out dated.pem -startdate %sZ -enddate %sZ -md sha256 -notext -extensions v3 "
             ">ca.out 2>&1",
             dir, from, to);
    run_cmd(full);
}

/* trustedCaFile verification stays real: an expired certificate, one not yet
 * valid and a wrong name are each refused at the verification step, with Mbed
 * TLS's reason in the text; an unreadable CA file is refused up front. */
static void test_tls_verify_reasons(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/dated.pem", e.dir);
    snprintf(key, sizeof key, "%s/dated.key", e.dir);
    struct ufrpc_tls_failure f;
    char text[512];
    struct {
        const char *from, *to, *name;
        uint32_t flag;
        const char *says;
    } cases[] = {
        {"20100101000000", "20110101000000", "localhost", MBEDTLS_X509_BADCERT_EXPIRED,
         "validity has expired"},
        {"20900101000000", "20910101000000", "localhost", MBEDTLS_X509_BADCERT_FUTURE,
         "validity starts in the future"},
        {"20200101000000", "20900101000000", "wrong.example", MBEDTLS_X509_BADCERT_CN_MISMATCH,
         "Common Name (CN) does not match"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -f %s/index.txt* %s/serial* %s/*.pem", e.dir, e.dir,
                 e.dir);
        run_cmd(cmd);
        write_dated_cert(e.dir, cases[i].from, cases[i].to);
        ufrpc_tls_ctx_free(e.sctx);
        struct ufrpc_tls_server_opts so = {.cert_file = cert, .key_file = key};
        assert_int_equal(ufrpc_tls_server_ctx_new(&so, &e.sctx), 0);
        assert_int_equal(verify_case_why(&e, cert, cases[i].name, &f, text, sizeof text),
                         UFRPC_ERR_TLS_VERIFY);
        assert_int_equal(f.step, UFRPC_TLS_STEP_VERIFY);
        assert_true(f.verify_flags & cases[i].flag);
        if (strstr(text, cases[i].says) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, text, cases[i].says);
    }
    /* garbage or missing CA file: the context is refused */
    char garbage[128];
    snprintf(garbage, sizeof garbage, "%s/garbage.pem", e.dir);
    FILE *g = fopen(garbage, "w");
    assert_non_null(g);
    fputs("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", g);
    fclose(g);
    ufrpc_tls_ctx_t *c = NULL;
    struct ufrpc_tls_client_opts co = {.ca_file = garbage};
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &c), UFRPC_ERR_TLS);
    co.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &c), UFRPC_ERR_TLS);
    /* a system bundle (OIDC without trustedCaFile): loads even where Mbed TLS cannot
     * parse every certificate in it; garbage alone is still refused */
    co.ca_file = garbage;
    co.ca_bundle = true;
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &c), UFRPC_ERR_TLS);
    FILE *sys = fopen("/etc/ssl/certs/ca-certificates.crt", "r");
    if (sys != NULL) {
        fclose(sys);
        co.ca_file = "/etc/ssl/certs/ca-certificates.crt";
        assert_int_equal(ufrpc_tls_client_ctx_new(&co, &c), 0);
        ufrpc_tls_ctx_free(c);
    }
    env_fini(&e);
}

static void on_accept_close(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *c)
{
    (void)l;
    if (status == 0)
        ufrpc_stream_close(c, NULL);
}

/* A server that hangs up without answering: the step says so. */
static void test_tls_hangup_before_hello(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 0);
    int err;
    e.l = ufrpc_tcp_listen(&e.loop, "127.0.0.1", 0, on_accept_close, &e, &err);
    assert_non_null(e.l);
    e.port = ufrpc_tcp_listener_port(e.l);
    e.s_hs_done = 1; /* no TLS server here */
    struct ufrpc_tls_failure f;
    char text[512];
    assert_true(verify_case_why(&e, NULL, "localhost", &f, text, sizeof text) < 0);
    assert_int_equal(f.step, UFRPC_TLS_STEP_HELLO);
    assert_false(f.bytes_received);
    assert_string_equal(text, "waiting for the server's hello failed: the server closed the "
                              "connection without answering");
    env_fini(&e);
}

static void test_tls_mtls(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.pem -subj /CN=test-ca -days 2 >/dev/null 2>&1 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cl.key "
             "-out cl.csr -subj /CN=client >/dev/null 2>&1 && "
             "openssl x509 -req -in cl.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cl.pem "
             "-days 2 >/dev/null 2>&1",
             e.dir);
    run_cmd(cmd);
    char ca[128], cl[128], clk[128];
    snprintf(ca, sizeof ca, "%s/ca.pem", e.dir);
    snprintf(cl, sizeof cl, "%s/cl.pem", e.dir);
    snprintf(clk, sizeof clk, "%s/cl.key", e.dir);
    struct ufrpc_tls_server_opts so = {.client_ca_file = ca};
    assert_int_equal(ufrpc_tls_server_ctx_new(&so, &e.sctx), 0);
    /* without a client certificate the server refuses */
    assert_int_equal(ufrpc_tls_client_ctx_new(NULL, &e.cctx), 0);
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_true(e.s_hs_status < 0);
    assert_true(e.c_hs_status < 0);
    ufrpc_stream_close(e.cconn, NULL);
    e.cconn = NULL;
    ufrpc_tls_ctx_free(e.cctx);
    /* with it, both sides succeed */
    struct ufrpc_tls_client_opts co = {.cert_file = cl, .key_file = clk};
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e.cctx), 0);
    e.c_hs_done = e.s_hs_done = 0;
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.c_hs_status, 0);
    assert_int_equal(e.s_hs_status, 0);
    env_fini(&e);
}

static int got_plain(void *a)
{
    return ((struct env *)a)->plain_len >= 5;
}

static int got_plain16(void *a)
{
    return ((struct env *)a)->plain_len >= 16;
}

static int got_plain18(void *a)
{
    return ((struct env *)a)->plain_len >= 18;
}

static int dialed(void *a)
{
    return ((struct env *)a)->dial_done;
}

static void test_sniff_plaintext(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    connect_client(&e); /* cctx NULL: plain TCP */
    assert_true(nt_run_until(&e.loop, dialed, &e, 30000));
    assert_int_equal(e.dial_status, 0);
    static struct ufrpc_stream_write w;
    static uv_buf_t b;
    b = uv_buf_init("hello", 5);
    assert_int_equal(ufrpc_stream_write(e.cconn, &w, &b, 1, NULL), 0);
    assert_true(nt_run_until(&e.loop, got_plain, &e, 30000));
    assert_int_equal(e.sniff_kind, UFRPC_SNIFF_PLAIN);
    assert_memory_equal(e.plain, "hello", 5);
    env_fini(&e);
}

/* ---- openssl interop ------------------------------------------------------------- */
static uv_process_t *spawn_sh(uv_loop_t *loop, const char *script, const char *out_path)
{
    uv_process_t *p = calloc(1, sizeof *p);
    char *args[] = {"/bin/sh", "-c", (char *)script, NULL};
    uv_stdio_container_t io[3];
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = fd;
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = fd;
    uv_process_options_t o = {.file = "/bin/sh", .args = args, .stdio = io, .stdio_count = 3};
    assert_int_equal(uv_spawn(loop, p, &o), 0);
    close(fd);
    return p;
}

static int got_plain16(void *a);

static int file_contains(const char *path, const char *needle)
{
    uint8_t *buf;
    size_t len;
    if (ufrpc_test_read_file(path, &buf, &len) < 0)
        return 0;
    int r = strstr((char *)buf, needle) != NULL;
    free(buf);
    return r;
}

struct fwait {
    const char *path, *needle;
};

static int fwait_pred(void *a)
{
    struct fwait *f = a;
    return file_contains(f->path, f->needle);
}

/* ciphers: s_server's -cipher list (NULL: its default); want: part of the suite
 * name expected; own: whether our record layer takes it */
static void s_server_case(const char *ciphers, const char *want, bool own)
{
    struct env e;
    env_init(&e, 1);
    /* take a free port from our listener, then hand it to s_server */
    uint16_t port = e.port;
    ufrpc_tcp_listener_close(e.l, NULL);
    e.l = NULL;
    nt_loop_drain(&e.loop);
    char cmd[1024], out[128];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout s.key -out s.pem "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost -days 2 >/dev/null 2>&1",
             e.dir);
    run_cmd(cmd);
    snprintf(out, sizeof out, "%s/s_server.out", e.dir);
    snprintf(cmd, sizeof cmd,
             "cd %s && exec openssl s_server -accept 127.0.0.1:%u -cert s.pem -key s.key -naccept 1 "
             "-tls1_2 -rev %s%s",
             e.dir, port, ciphers ? "-cipher " : "", ciphers ? ciphers : "");
    uv_process_t *proc = spawn_sh(&e.loop, cmd, out);
    struct fwait fw = {out, "ACCEPT"};
    assert_true(nt_run_until(&e.loop, fwait_pred, &fw, 30000));

    char ca[128];
    snprintf(ca, sizeof ca, "%s/s.pem", e.dir);
    struct ufrpc_tls_client_opts co = {.ca_file = ca};
    assert_int_equal(ufrpc_tls_client_ctx_new(&co, &e.cctx), 0);
    e.copts.server_name = "localhost";
    e.port = port;
    connect_client(&e);
    assert_true(nt_run_until(&e.loop, client_hs, &e, 30000));
    if (e.c_hs_status != 0) {
        struct ufrpc_tls_failure f;
        char why[512] = "";
        if (ufrpc_tls_get_failure(e.cconn, &f) == 0)
            ufrpc_tls_failure_text(&f, why, sizeof why);
        fprintf(stderr, "client handshake: %s\n", why);
        snprintf(cmd, sizeof cmd, "cat %s", out);
        run_cmd(cmd);
    }
    assert_int_equal(e.c_hs_status, 0);
    if (own) {
        assert_own_records(e.cconn, want);
    } else {
        bool o = true;
        const char *suite = ufrpc_tls_suite(e.cconn, &o);
        assert_non_null(suite);
        assert_non_null(strstr(suite, want));
        assert_false(o);
    }
    static struct ufrpc_stream_write w;
    static uv_buf_t b;
    b = uv_buf_init("hello-from-ufrpc\n", 17);
    assert_int_equal(ufrpc_stream_write(e.cconn, &w, &b, 1, NULL), 0);
    /* s_server -rev answers each line reversed */
    e.cconn->data = &e;
    assert_int_equal(ufrpc_stream_read_start(e.cconn, plain_read), 0);
    assert_true(nt_run_until(&e.loop, got_plain16, &e, 30000));
    assert_memory_equal(e.plain, "cprfu-morf-olleh", 16);
    uv_process_kill(proc, SIGTERM);
    uv_close((uv_handle_t *)proc, NULL);
    env_fini(&e);
    free(proc);
}

/* OpenSSL follows the client's order: the suite the CPU prefers, on our
 * records; ChaCha20-Poly1305 when that is all it allows; a CBC suite stays on
 * Mbed TLS's records */
static void test_openssl_s_server(void **state)
{
    (void)state;
    s_server_case(NULL, NULL, true);
    s_server_case("ECDHE-RSA-CHACHA20-POLY1305", "CHACHA20-POLY1305", true);
    s_server_case("ECDHE-RSA-AES256-SHA384", "AES-256-CBC", false);
}

static void test_openssl_s_client(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 1);
    assert_int_equal(ufrpc_tls_server_ctx_new(NULL, &e.sctx), 0);
    char cmd[512], out[128];
    snprintf(out, sizeof out, "%s/s_client.out", e.dir);
    snprintf(cmd, sizeof cmd,
             "printf 'hello-from-openssl' | exec openssl s_client -connect 127.0.0.1:%u "
             "-servername localhost -quiet -no_ign_eof",
             e.port);
    uv_process_t *proc = spawn_sh(&e.loop, cmd, out);
    e.c_hs_done = 1; /* no client of ours here */
    assert_true(nt_run_until(&e.loop, both_hs, &e, 30000));
    assert_int_equal(e.s_hs_status, 0);
    e.sconn->data = &e;
    assert_own_records(e.sconn, NULL);
    assert_int_equal(ufrpc_stream_read_start(e.sconn, plain_read), 0);
    assert_true(nt_run_until(&e.loop, got_plain18, &e, 30000));
    assert_memory_equal(e.plain, "hello-from-openssl", 18);
    uv_process_kill(proc, SIGTERM);
    uv_close((uv_handle_t *)proc, NULL);
    env_fini(&e);
    free(proc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_self_signed_transfer),
        cmocka_unit_test(test_tls_pause_resume),
        cmocka_unit_test(test_tls_writes_copied_in_order),
        cmocka_unit_test(test_tls_verify),
        cmocka_unit_test(test_tls_peer_info),
        cmocka_unit_test(test_tls_mtls),
        cmocka_unit_test(test_tls_frps_certificate),
        cmocka_unit_test(test_tls_verify_reasons),
        cmocka_unit_test(test_tls_hangup_before_hello),
        cmocka_unit_test(test_tls_session_resumption),
        cmocka_unit_test(test_sniff_plaintext),
        cmocka_unit_test(test_openssl_s_server),
        cmocka_unit_test(test_openssl_s_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
