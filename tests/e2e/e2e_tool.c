/* e2e-tool — traffic helpers for the end-to-end tests (test code, not product).
 *
 *   e2e-tool echo [PORT]
 *       Echo server on 127.0.0.1:PORT (0/absent = any free port). Prints
 *       "READY port=N pid=N", then serves until killed. Backpressure: stops reading a
 *       connection while more than 1 MiB of its echo is unwritten. EOF from the client
 *       is passed on (shutdown) after the echo.
 *
 *   e2e-tool load PORT BYTES CONNS [TIMEOUT_S]
 *       Opens CONNS concurrent connections to 127.0.0.1:PORT. Each sends BYTES of its own
 *       pseudo-random stream (seeded by its index), half-closes, reads the echo until
 *       EOF, and compares length and SHA-256 of what it sent and what came back. Prints
 *       one summary line "RESULT ok=K failed=F bytes_each=B seconds=S mbps=M
 *       sha256_0=..." (mbps: MB/s of payload one way, all connections together) and
 *       exits 0 only if every connection verified. With E2E_LOAD_NO_HALF_CLOSE=1 in
 *       the environment a connection does not half-close: it is done once the whole
 *       echo came back (for relays that end both directions on the first EOF, as
 *       frps does).
 *
 *   e2e-tool expect-close PORT TIMEOUT_S
 *       Connects, sends a few bytes, and succeeds (exit 0, "CLOSED after_ms=N") if the
 *       connection is closed by the other side (EOF or reset) with no data coming
 *       back, within TIMEOUT_S; exit 1 otherwise.
 *
 *   e2e-tool freeport
 *       Prints a currently free loopback TCP port below the ephemeral range and leases
 *       it to the caller (see port_lease below) so that no other test running at the
 *       same time is handed the same number before the caller binds it.
 *
 *   e2e-tool udp-echo [PORT]
 *       UDP echo server on 127.0.0.1:PORT (0/absent = any). Prints "READY port=N pid=N",
 *       then answers every datagram with the same bytes, to its sender, except a
 *       datagram "BIG N" (N <= 65000), answered with N bytes of a fixed pattern (byte i
 *       = (i * 7 + 3) & 0xff), to make a reply larger than the request. Prints
 *       "SOURCE-NEW port=P sources=K" the first time a source port is seen (up to 4096
 *       remembered) and "ECHO from=P len=N" for every datagram.
 *
 *   e2e-tool udp-probe PORT SOCKETS TIMEOUT_S SIZE...
 *       Opens SOCKETS UDP sockets on 127.0.0.1 (each its own source port); each sends
 *       one datagram of every SIZE (distinct sizes; contents pseudo-random, seeded by
 *       socket and size, so no two sockets send the same bytes) to 127.0.0.1:PORT and
 *       expects each back, byte for byte, on that same socket, from PORT. Unanswered
 *       datagrams are sent again every 500 ms (UDP may drop); duplicates are ignored.
 *       A reply that matches nothing this socket sent fails the run. Prints
 *       "RESULT ok=K expected=E mismatched=M resent=R" and exits 0 only if every
 *       datagram came back and nothing mismatched, within TIMEOUT_S.
 *
 *   e2e-tool udp-send PORT TEXT WAIT_MS
 *       Sends TEXT as one datagram to 127.0.0.1:PORT and waits up to WAIT_MS for one
 *       reply: prints "REPLY len=N" (exit 0) or "NOREPLY" (exit 1).
 *
 *   e2e-tool tap PORT TARGET_PORT MARKER...
 *       TCP relay: accepts on 127.0.0.1:PORT (0 = any; prints "READY port=N pid=N"),
 *       connects each connection to 127.0.0.1:TARGET_PORT and copies bytes both ways
 *       unchanged (half-close passed on, 1 MiB backpressure). Every occurrence of a
 *       MARKER (up to 8, 1..64 bytes each; also across reads) in the bytes is printed
 *       as "FOUND dir=up|down marker=K conn=N" (up: client to target), so a test
 *       can tell whether a plaintext appears on the wire.
 *
 *   udp-probe and udp-send use E2E_UDP_HOST instead of 127.0.0.1 when it is set (an
 *   IP literal, e.g. ::1); their sockets are bound to that address.
 *
 * One libuv loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* SHA-256: OpenSSL's libcrypto when the build found it (SHA-NI, ~10x faster, so the
 * throughput printed is the tunnel's, not the hash's), else mbedTLS. */
#ifdef E2E_USE_OPENSSL
#include <openssl/sha.h>
typedef SHA256_CTX e2e_sha_t;
#define sha_init(c) SHA256_Init(c)
#define sha_update(c, p, n) SHA256_Update(c, p, n)
#define sha_final(c, out) SHA256_Final(out, c)
#define sha_free(c) ((void)(c))
#else
#include "proto/mbedtls_compat.h"
typedef mbedtls_sha256_context e2e_sha_t;
#define sha_init(c) (mbedtls_sha256_init(c), ufrpc_mbedtls_sha256_starts(c))
#define sha_update(c, p, n) sha_update(c, p, n)
#define sha_final(c, out) sha_final(c, out)
#define sha_free(c) mbedtls_sha256_free(c)
#endif

#define CHUNK 65536
#define ECHO_HIGH (1u << 20)

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    b->base = malloc(CHUNK);
    b->len = b->base ? CHUNK : 0;
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* ---- echo --------------------------------------------------------------------------- */
struct echo_conn {
    uv_tcp_t tcp;
    size_t pending;
    int eof, closing;
    uv_shutdown_t sreq;
};

struct echo_wr {
    uv_write_t w;
    struct echo_conn *c;
    char *buf;
    size_t len;
};

static void echo_close(struct echo_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, free_handle);
}

static void echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void echo_shut(uv_shutdown_t *r, int status)
{
    (void)status;
    echo_close(r->data);
}

static void echo_written(uv_write_t *w, int status)
{
    struct echo_wr *ew = (struct echo_wr *)w;
    struct echo_conn *c = ew->c;
    c->pending -= ew->len;
    free(ew->buf);
    free(ew);
    if (c->closing)
        return;
    if (status < 0) {
        echo_close(c);
        return;
    }
    if (!c->eof && c->pending <= ECHO_HIGH / 2)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, echo_read);
}

static void echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct echo_conn *c = (struct echo_conn *)s;
    if (n <= 0) {
        free(b->base);
        if (n == 0)
            return;
        uv_read_stop(s);
        if (n == UV_EOF) {
            c->eof = 1;
            c->sreq.data = c;
            if (uv_shutdown(&c->sreq, s, echo_shut) < 0)
                echo_close(c);
        } else {
            echo_close(c);
        }
        return;
    }
    struct echo_wr *ew = malloc(sizeof *ew);
    if (ew == NULL) {
        free(b->base);
        echo_close(c);
        return;
    }
    ew->c = c;
    ew->buf = b->base;
    ew->len = (size_t)n;
    uv_buf_t wb = uv_buf_init(b->base, (unsigned)n);
    c->pending += (size_t)n;
    if (uv_write(&ew->w, s, &wb, 1, echo_written) < 0) {
        c->pending -= (size_t)n;
        free(b->base);
        free(ew);
        echo_close(c);
        return;
    }
    if (c->pending > ECHO_HIGH)
        uv_read_stop(s);
}

static void echo_conn(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct echo_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        echo_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, echo_read);
}

static int listen_on(uv_loop_t *loop, uv_tcp_t *srv, int port, uv_connection_cb cb)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(loop, srv);
    int rc = uv_tcp_bind(srv, (struct sockaddr *)&a, 0);
    if (rc == 0 && cb != NULL)
        rc = uv_listen((uv_stream_t *)srv, 511, cb);
    if (rc < 0) {
        fprintf(stderr, "e2e-tool: listen 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        return -1;
    }
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(srv, (struct sockaddr *)&got, &len);
    return ntohs(got.sin_port);
}

static int cmd_echo(int port)
{
    uv_loop_t *loop = uv_default_loop();
    static uv_tcp_t srv;
    int p = listen_on(loop, &srv, port, echo_conn);
    if (p < 0)
        return 1;
    printf("READY port=%d pid=%d\n", p, (int)getpid());
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT) < 0;
}

/* ---- load ----------------------------------------------------------------------------- */
struct load_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    int idx;
    uint64_t x; /* PRNG state */
    uint64_t sent, recvd, want;
    e2e_sha_t hs, hr;
    uint8_t buf[CHUNK];
    int done, failed;
    unsigned char ds[32], dr[32];
};

static int g_ok, g_failed, g_open;
static int g_no_half_close;
static uv_timer_t g_timer;

static void fill(struct load_conn *c, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        c->x ^= c->x << 13;
        c->x ^= c->x >> 7;
        c->x ^= c->x << 17;
        uint64_t v = c->x * 0x2545f4914f6cdd1dull;
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &v, k);
        i += k;
    }
}

static void load_finish(struct load_conn *c, int failed, const char *why)
{
    if (c->done)
        return;
    c->done = 1;
    sha_final(&c->hs, c->ds);
    sha_final(&c->hr, c->dr);
    if (!failed && (c->recvd != c->want || memcmp(c->ds, c->dr, 32) != 0)) {
        failed = 1;
        why = "mismatch";
    }
    if (failed) {
        g_failed++;
        fprintf(stderr, "conn %d failed: %s (sent %llu, received %llu of %llu)\n", c->idx, why,
                (unsigned long long)c->sent, (unsigned long long)c->recvd,
                (unsigned long long)c->want);
    } else {
        g_ok++;
    }
    if (--g_open == 0)
        uv_timer_stop(&g_timer);
    uv_close((uv_handle_t *)&c->tcp, NULL);
}

static void load_send(struct load_conn *c);

static void load_shut(uv_shutdown_t *r, int status)
{
    struct load_conn *c = r->data;
    if (status < 0 && status != UV_ECANCELED)
        load_finish(c, 1, uv_strerror(status));
}

static void load_written(uv_write_t *w, int status)
{
    struct load_conn *c = w->data;
    if (c->done)
        return;
    if (status < 0) {
        load_finish(c, 1, uv_strerror(status));
        return;
    }
    load_send(c);
}

static void load_send(struct load_conn *c)
{
    if (c->sent == c->want) {
        if (g_no_half_close)
            return;
        c->sreq.data = c;
        if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, load_shut) < 0)
            load_finish(c, 1, "shutdown");
        return;
    }
    size_t n = c->want - c->sent < CHUNK ? (size_t)(c->want - c->sent) : CHUNK;
    fill(c, c->buf, n);
    sha_update(&c->hs, c->buf, n);
    c->sent += n;
    uv_buf_t b = uv_buf_init((char *)c->buf, (unsigned)n);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, load_written) < 0)
        load_finish(c, 1, "write");
}

static void load_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct load_conn *c = s->data;
    if (n > 0 && !c->done) {
        sha_update(&c->hr, (const unsigned char *)b->base, (size_t)n);
        c->recvd += (size_t)n;
        if (c->recvd > c->want)
            load_finish(c, 1, "too much data");
        else if (g_no_half_close && c->recvd == c->want)
            load_finish(c, 0, NULL);
    } else if (n < 0 && !c->done) {
        load_finish(c, n != UV_EOF, n == UV_EOF ? NULL : uv_strerror((int)n));
    }
    free(b->base);
}

static void load_connected(uv_connect_t *r, int status)
{
    struct load_conn *c = r->data;
    if (status < 0) {
        load_finish(c, 1, uv_strerror(status));
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, load_read);
    load_send(c);
}

static struct load_conn *g_conns;
static int g_nconns;

static void on_load_timeout(uv_timer_t *t)
{
    (void)t;
    for (int i = 0; i < g_nconns; i++)
        if (!g_conns[i].done)
            load_finish(&g_conns[i], 1, "timeout");
}

static int cmd_load(int port, uint64_t bytes, int conns, int timeout_s)
{
    uv_loop_t *loop = uv_default_loop();
    g_conns = calloc((size_t)conns, sizeof *g_conns);
    if (g_conns == NULL)
        return 1;
    g_nconns = conns;
    const char *nohc = getenv("E2E_LOAD_NO_HALF_CLOSE");
    g_no_half_close = nohc != NULL && strcmp(nohc, "1") == 0;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_timer_init(loop, &g_timer);
    uv_timer_start(&g_timer, on_load_timeout, (uint64_t)timeout_s * 1000, 0);
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < conns; i++) {
        struct load_conn *c = &g_conns[i];
        c->idx = i;
        c->x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(i + 1) * 0x2545f4914f6cdd1dull);
        c->want = bytes;
        sha_init(&c->hs);
        sha_init(&c->hr);
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        c->creq.data = c;
        g_open++;
        if (uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&a, load_connected) < 0)
            load_finish(c, 1, "connect");
    }
    uv_run(loop, UV_RUN_DEFAULT);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    char hex[65] = "";
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", g_conns[0].dr[i]);
    double mb = (double)bytes * conns / (1024.0 * 1024.0);
    printf("RESULT ok=%d failed=%d bytes_each=%llu seconds=%.3f mbps=%.1f sha256_0=%s\n", g_ok,
           g_failed, (unsigned long long)bytes, secs, secs > 0 ? mb / secs : 0.0, hex);
    fflush(stdout);
    for (int i = 0; i < conns; i++) {
        sha_free(&g_conns[i].hs);
        sha_free(&g_conns[i].hr);
    }
    uv_close((uv_handle_t *)&g_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    free(g_conns);
    return g_failed == 0 && g_ok == conns ? 0 : 1;
}

/* ---- expect-close ----------------------------------------------------------------------- */
static int g_closed_ok;
static uint64_t g_t0;
static uv_tcp_t g_tcp;
static uv_connect_t g_creq;
static uv_write_t g_wreq;

static void xc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    free(b->base);
    if (n > 0) {
        fprintf(stderr, "expect-close: got %zd bytes of data\n", n);
        uv_close((uv_handle_t *)s, NULL);
        uv_timer_stop(&g_timer);
        return;
    }
    if (n < 0) {
        g_closed_ok = 1;
        printf("CLOSED after_ms=%llu how=%s\n",
               (unsigned long long)((uv_hrtime() - g_t0) / 1000000), uv_err_name((int)n));
        uv_close((uv_handle_t *)s, NULL);
        uv_timer_stop(&g_timer);
    }
}

static void xc_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status;
}

static void xc_connected(uv_connect_t *r, int status)
{
    (void)r;
    if (status < 0) {
        fprintf(stderr, "expect-close: connect: %s\n", uv_strerror(status));
        uv_close((uv_handle_t *)&g_tcp, NULL);
        uv_timer_stop(&g_timer);
        return;
    }
    static char hello[] = "hello?\n";
    uv_buf_t b = uv_buf_init(hello, sizeof hello - 1);
    uv_write(&g_wreq, (uv_stream_t *)&g_tcp, &b, 1, xc_written);
    uv_read_start((uv_stream_t *)&g_tcp, on_alloc, xc_read);
}

static void xc_timeout(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "expect-close: still open after the timeout\n");
    uv_close((uv_handle_t *)&g_tcp, NULL);
}

static int cmd_expect_close(int port, int timeout_s)
{
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_timer_init(loop, &g_timer);
    uv_timer_start(&g_timer, xc_timeout, (uint64_t)timeout_s * 1000, 0);
    uv_tcp_init(loop, &g_tcp);
    g_t0 = uv_hrtime();
    uv_tcp_connect(&g_creq, &g_tcp, (struct sockaddr *)&a, xc_connected);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&g_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return g_closed_ok ? 0 : 1;
}

/* Leases shared by every test on the machine: a port handed out is a directory
 * $UFRPC_PORT_LEASES/<port> (default ${TMPDIR:-/tmp}/ufrpc-port-leases), made with
 * mkdir, which is atomic, so two tests running at once never get the same number
 * between one's check and its bind. tests/e2e/lib.sh removes a test's leases when it
 * exits; a lease older than PORT_LEASE_TTL_S (a test killed before its cleanup) is
 * taken over. Returns 1 if the port is now leased to the caller. */
#define PORT_LEASE_TTL_S (20 * 60)

static int port_lease(int port)
{
    const char *dir = getenv("UFRPC_PORT_LEASES");
    char def[512], path[600];
    if (dir == NULL || dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(def, sizeof def, "%s/ufrpc-port-leases",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        dir = def;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return 1; /* no shared directory: fall back to the bind check alone */
    snprintf(path, sizeof path, "%s/%d", dir, port);
    if (mkdir(path, 0777) == 0)
        return 1;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 &&
        time(NULL) - st.st_mtime > PORT_LEASE_TTL_S && rmdir(path) == 0 &&
        mkdir(path, 0777) == 0)
        return 1;
    return 0;
}

/* A free port below the kernel's ephemeral range, so that outgoing connections of
 * tests running in parallel cannot take it between this check and its use (or
 * between a peer's kill and its restart on the same port). */
static void on_never(uv_stream_t *s, int status)
{
    (void)s;
    (void)status;
}

static int cmd_freeport(void)
{
    uv_loop_t *loop = uv_default_loop();
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &lo) != 1)
            lo = 32768;
        fclose(f);
    }
    int base = 10000, span = lo - base;
    if (span < 1000) {
        base = 1024;
        span = lo - base;
    }
    uint64_t x = uv_hrtime() ^ ((uint64_t)getpid() << 20);
    for (int tries = 0; tries < 200 && span > 0; tries++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int port = base + (int)(x % (uint64_t)span);
        uv_tcp_t srv;
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", port, &a);
        uv_tcp_init(loop, &srv);
        int rc = uv_tcp_bind(&srv, (struct sockaddr *)&a, 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&srv, 1, on_never);
        uv_close((uv_handle_t *)&srv, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        if (rc == 0 && port_lease(port)) {
            printf("%d\n", port);
            return 0;
        }
    }
    fprintf(stderr, "e2e-tool: no free port found\n");
    return 1;
}

/* ---- udp: echo, probe, send ------------------------------------------------------------ */
#define UDP_BUF 65536
#define UDP_MAX_SOURCES 4096

static uint8_t g_udp_rbuf[UDP_BUF];
static int g_udp_rbuf_busy;

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    if (g_udp_rbuf_busy) {
        *b = uv_buf_init(NULL, 0);
        return;
    }
    g_udp_rbuf_busy = 1;
    *b = uv_buf_init((char *)g_udp_rbuf, UDP_BUF);
}

/* E2E_UDP_HOST (default 127.0.0.1) and port as a socket address. 0 or a uv error. */
static int udp_host_addr(int port, struct sockaddr_storage *ss)
{
    const char *h = getenv("E2E_UDP_HOST");
    if (h == NULL || h[0] == 0)
        h = "127.0.0.1";
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(h, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    return uv_ip6_addr(h, port, (struct sockaddr_in6 *)ss);
}

static int udp_port_of_addr(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return -1;
}

/* Binds u to E2E_UDP_HOST:port (udp-echo: always 127.0.0.1, host_env = 0). */
static int udp_bind_on(uv_loop_t *loop, uv_udp_t *u, int port, int host_env)
{
    struct sockaddr_storage a;
    int rc = 0;
    if (host_env)
        rc = udp_host_addr(port, &a);
    else
        rc = uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&a);
    if (rc == 0)
        rc = uv_udp_init(loop, u);
    if (rc == 0)
        rc = uv_udp_bind(u, (const struct sockaddr *)&a, 0);
    return rc;
}

static int udp_port_of(uv_udp_t *u)
{
    struct sockaddr_in a;
    int len = sizeof a;
    if (uv_udp_getsockname(u, (struct sockaddr *)&a, &len) != 0)
        return -1;
    return ntohs(a.sin_port);
}

static uint16_t g_sources[UDP_MAX_SOURCES];
static size_t g_nsources;

struct udp_echo_send {
    uv_udp_send_t req;
    size_t len;
    uint8_t data[];
};

static void udp_echo_sent(uv_udp_send_t *r, int status)
{
    (void)status;
    free(r->data);
}

static void udp_echo_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                          unsigned flags)
{
    (void)flags;
    g_udp_rbuf_busy = 0;
    if (n < 0 || from == NULL || from->sa_family != AF_INET)
        return;
    uint16_t sport = ntohs(((const struct sockaddr_in *)from)->sin_port);
    size_t i;
    for (i = 0; i < g_nsources && g_sources[i] != sport; i++)
        ;
    if (i == g_nsources && g_nsources < UDP_MAX_SOURCES) {
        g_sources[g_nsources++] = sport;
        printf("SOURCE-NEW port=%u sources=%zu\n", sport, g_nsources);
    }
    printf("ECHO from=%u len=%zd\n", sport, n);
    size_t len = (size_t)n;
    int big = 0;
    if (len > 4 && len < 16 && memcmp(b->base, "BIG ", 4) == 0) {
        char num[16];
        memcpy(num, b->base + 4, len - 4);
        num[len - 4] = 0;
        long v = strtol(num, NULL, 10);
        if (v > 0 && v <= 65000) {
            len = (size_t)v;
            big = 1;
        }
    }
    struct udp_echo_send *s = malloc(sizeof *s + len + 1);
    if (s == NULL)
        return;
    s->len = len;
    if (big)
        for (size_t k = 0; k < len; k++)
            s->data[k] = (uint8_t)((k * 7 + 3) & 0xff);
    else if (len > 0)
        memcpy(s->data, b->base, len);
    s->req.data = s;
    uv_buf_t out = uv_buf_init((char *)s->data, (unsigned)len);
    if (uv_udp_send(&s->req, u, &out, 1, from, udp_echo_sent) != 0)
        free(s);
}

static int cmd_udp_echo(int port)
{
    uv_loop_t *loop = uv_default_loop();
    static uv_udp_t u;
    int rc = udp_bind_on(loop, &u, port, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&u, udp_alloc, udp_echo_recv);
    if (rc != 0) {
        fprintf(stderr, "e2e-tool udp-echo: %s\n", uv_strerror(rc));
        return 1;
    }
    printf("READY port=%d pid=%d\n", udp_port_of(&u), (int)getpid());
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

struct probe_sock {
    uv_udp_t u;
    int idx;
    uint8_t *done; /* per size */
};

static struct probe_sock *g_psocks;
static int g_npsocks, g_nsizes, g_probe_port;
static size_t *g_sizes;
static long g_p_ok, g_p_expected, g_p_mismatch, g_p_resent, g_p_dups;
static uv_timer_t g_p_resend, g_p_deadline;
static int g_p_timed_out;

static void probe_fill(int sock, int k, uint8_t *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(sock * 1000 + k + 1);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
    if (n > 0)
        p[0] = (uint8_t)(sock & 0xff); /* distinct first bytes across the first 256 sockets */
}

static void probe_stop(void)
{
    uv_timer_stop(&g_p_resend);
    uv_timer_stop(&g_p_deadline);
    for (int i = 0; i < g_npsocks; i++)
        uv_udp_recv_stop(&g_psocks[i].u);
}

static void probe_send(struct probe_sock *ps, int k)
{
    static uint8_t buf[UDP_BUF];
    size_t n = g_sizes[k];
    probe_fill(ps->idx, k, buf, n);
    struct sockaddr_storage a;
    if (udp_host_addr(g_probe_port, &a) != 0)
        return;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)n);
    /* synchronous; a full socket buffer is retried by the resend timer */
    (void)uv_udp_try_send(&ps->u, &b, 1, (const struct sockaddr *)&a);
}

static void probe_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                       unsigned flags)
{
    struct probe_sock *ps = u->data;
    static uint8_t want[UDP_BUF];
    (void)flags;
    g_udp_rbuf_busy = 0;
    if (n < 0 || from == NULL)
        return;
    if (udp_port_of_addr(from) != g_probe_port) {
        printf("MISMATCH sock=%d reply from another address\n", ps->idx);
        g_p_mismatch++;
        return;
    }
    int k;
    for (k = 0; k < g_nsizes && g_sizes[k] != (size_t)n; k++)
        ;
    if (k == g_nsizes) {
        printf("MISMATCH sock=%d len=%zd (no datagram of that size was sent)\n", ps->idx, n);
        g_p_mismatch++;
        return;
    }
    probe_fill(ps->idx, k, want, (size_t)n);
    if (n > 0 && memcmp(want, b->base, (size_t)n) != 0) {
        printf("MISMATCH sock=%d len=%zd (content differs)\n", ps->idx, n);
        g_p_mismatch++;
        return;
    }
    if (ps->done[k]) {
        g_p_dups++;
        return;
    }
    ps->done[k] = 1;
    g_p_ok++;
    if (g_p_ok == g_p_expected)
        probe_stop();
}

static void probe_resend(uv_timer_t *t)
{
    (void)t;
    for (int i = 0; i < g_npsocks; i++)
        for (int k = 0; k < g_nsizes; k++)
            if (!g_psocks[i].done[k]) {
                probe_send(&g_psocks[i], k);
                g_p_resent++;
            }
}

static void probe_timeout(uv_timer_t *t)
{
    (void)t;
    g_p_timed_out = 1;
    for (int i = 0; i < g_npsocks; i++)
        for (int k = 0; k < g_nsizes; k++)
            if (!g_psocks[i].done[k])
                printf("MISSING sock=%d size=%zu\n", i, g_sizes[k]);
    probe_stop();
}

static int cmd_udp_probe(int port, int nsock, int timeout_s, int nsizes, char **sizes)
{
    uv_loop_t *loop = uv_default_loop();
    if (nsock <= 0 || nsock > 1000 || nsizes <= 0) {
        fprintf(stderr, "e2e-tool udp-probe: bad arguments\n");
        return 2;
    }
    g_probe_port = port;
    g_npsocks = nsock;
    g_nsizes = nsizes;
    g_sizes = calloc((size_t)nsizes, sizeof *g_sizes);
    g_psocks = calloc((size_t)nsock, sizeof *g_psocks);
    if (g_sizes == NULL || g_psocks == NULL) {
        fprintf(stderr, "e2e-tool udp-probe: out of memory\n");
        return 1;
    }
    for (int k = 0; k < nsizes; k++) {
        long v = strtol(sizes[k], NULL, 10);
        if (v < 0 || v > 65000) {
            fprintf(stderr, "e2e-tool udp-probe: bad size %s\n", sizes[k]);
            return 2;
        }
        g_sizes[k] = (size_t)v;
        for (int j = 0; j < k; j++)
            if (g_sizes[j] == g_sizes[k]) {
                fprintf(stderr, "e2e-tool udp-probe: sizes must be distinct\n");
                return 2;
            }
    }
    g_p_expected = (long)nsock * nsizes;
    int opened = 0, rc = 0;
    for (int i = 0; i < nsock && rc == 0; i++) {
        struct probe_sock *ps = &g_psocks[i];
        ps->idx = i;
        ps->done = calloc((size_t)nsizes, 1);
        if (ps->done == NULL) {
            rc = UV_ENOMEM;
            break;
        }
        rc = udp_bind_on(loop, &ps->u, 0, 1);
        opened++;
        ps->u.data = ps;
        if (rc == 0)
            rc = uv_udp_recv_start(&ps->u, udp_alloc, probe_recv);
    }
    uv_timer_init(loop, &g_p_resend);
    uv_timer_init(loop, &g_p_deadline);
    if (rc != 0) {
        fprintf(stderr, "e2e-tool udp-probe: %s\n", uv_strerror(rc));
    } else {
        for (int i = 0; i < nsock; i++)
            for (int k = 0; k < nsizes; k++)
                probe_send(&g_psocks[i], k);
        uv_timer_start(&g_p_resend, probe_resend, 500, 500);
        uv_timer_start(&g_p_deadline, probe_timeout, (uint64_t)timeout_s * 1000u, 0);
        uv_run(loop, UV_RUN_DEFAULT);
    }
    for (int i = 0; i < opened; i++)
        uv_close((uv_handle_t *)&g_psocks[i].u, NULL);
    uv_close((uv_handle_t *)&g_p_resend, NULL);
    uv_close((uv_handle_t *)&g_p_deadline, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    printf("RESULT ok=%ld expected=%ld mismatched=%ld resent=%ld duplicates=%ld%s\n", g_p_ok,
           g_p_expected, g_p_mismatch, g_p_resent, g_p_dups, g_p_timed_out ? " timeout" : "");
    for (int i = 0; i < nsock; i++)
        free(g_psocks[i].done);
    free(g_psocks);
    free(g_sizes);
    return rc == 0 && g_p_ok == g_p_expected && g_p_mismatch == 0 ? 0 : 1;
}

static long g_s_reply = -1;
static uv_timer_t g_s_timer;

static void send_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                      unsigned flags)
{
    (void)b;
    (void)flags;
    g_udp_rbuf_busy = 0;
    if (n < 0 || from == NULL)
        return;
    g_s_reply = (long)n;
    uv_udp_recv_stop(u);
    uv_timer_stop(&g_s_timer);
}

static void send_timeout(uv_timer_t *t)
{
    uv_udp_recv_stop(t->data);
}

static int cmd_udp_send(int port, const char *text, int wait_ms)
{
    uv_loop_t *loop = uv_default_loop();
    static uv_udp_t u;
    struct sockaddr_storage a;
    int rc = udp_host_addr(port, &a);
    if (rc == 0)
        rc = udp_bind_on(loop, &u, 0, 1);
    if (rc == 0)
        rc = uv_udp_recv_start(&u, udp_alloc, send_recv);
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)strlen(text));
    if (rc == 0) {
        rc = uv_udp_try_send(&u, &b, 1, (const struct sockaddr *)&a);
        rc = rc < 0 ? rc : 0;
    }
    if (rc != 0) {
        fprintf(stderr, "e2e-tool udp-send: %s\n", uv_strerror(rc));
        return 2;
    }
    uv_timer_init(loop, &g_s_timer);
    g_s_timer.data = &u;
    uv_timer_start(&g_s_timer, send_timeout, (uint64_t)wait_ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&u, NULL);
    uv_close((uv_handle_t *)&g_s_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (g_s_reply < 0) {
        printf("NOREPLY\n");
        return 1;
    }
    printf("REPLY len=%ld\n", g_s_reply);
    return 0;
}

/* ---- tap: a TCP relay that looks for markers ------------------------------------------ */
#define TAP_MAX_MARKERS 8
#define TAP_MARKER_MAX 64
#define TAP_HIGH (1u << 20)

static const char *g_markers[TAP_MAX_MARKERS];
static size_t g_marker_len[TAP_MAX_MARKERS];
static int g_nmarkers, g_tap_target;
static unsigned g_tap_conns;

struct tap_conn;
struct tap_side {
    uv_tcp_t tcp;
    struct tap_conn *c;
    int eof;         /* read EOF from this side */
    size_t pending;  /* bytes being written to this side */
    uv_shutdown_t sreq;
};

struct tap_conn {
    struct tap_side s[2]; /* 0: the accepted client, 1: the target */
    unsigned id;
    int handles, closing, connected, shut_done;
    uv_connect_t creq;
    uint8_t carry[2][TAP_MARKER_MAX];
    size_t carry_len[2];
};

struct tap_wr {
    uv_write_t w;
    struct tap_side *to;
    size_t len;
    uint8_t data[];
};

static void tap_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void tap_handle_closed(uv_handle_t *h)
{
    struct tap_side *sd = h->data;
    struct tap_conn *c = sd->c;
    if (--c->handles == 0)
        free(c);
}

static void tap_close(struct tap_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->s[0].tcp, tap_handle_closed);
    uv_close((uv_handle_t *)&c->s[1].tcp, tap_handle_closed);
}

/* Occurrences of every marker in carry + data (dir 0 = up). */
static void tap_scan(struct tap_conn *c, int dir, const uint8_t *data, size_t n)
{
    for (int k = 0; k < g_nmarkers; k++) {
        size_t m = g_marker_len[k];
        /* starting in the carried tail and ending in data */
        uint8_t edge[2 * TAP_MARKER_MAX];
        size_t cl = c->carry_len[dir] < m - 1 ? c->carry_len[dir] : m - 1;
        const uint8_t *tail = c->carry[dir] + c->carry_len[dir] - cl;
        size_t take = n < m - 1 ? n : m - 1;
        memcpy(edge, tail, cl);
        memcpy(edge + cl, data, take);
        for (size_t i = 0; i < cl && i + m <= cl + take; i++)
            if (memcmp(edge + i, g_markers[k], m) == 0)
                printf("FOUND dir=%s marker=%d conn=%u\n", dir ? "down" : "up", k, c->id);
        for (const uint8_t *p = data; (size_t)(data + n - p) >= m;) {
            const uint8_t *hit = memmem(p, (size_t)(data + n - p), g_markers[k], m);
            if (hit == NULL)
                break;
            printf("FOUND dir=%s marker=%d conn=%u\n", dir ? "down" : "up", k, c->id);
            p = hit + 1;
        }
    }
    /* keep the last TAP_MARKER_MAX - 1 bytes of everything seen */
    size_t keep = TAP_MARKER_MAX - 1;
    if (n >= keep) {
        memcpy(c->carry[dir], data + n - keep, keep);
        c->carry_len[dir] = keep;
    } else {
        size_t old = c->carry_len[dir];
        size_t drop = old + n > keep ? old + n - keep : 0;
        memmove(c->carry[dir], c->carry[dir] + drop, old - drop);
        memcpy(c->carry[dir] + old - drop, data, n);
        c->carry_len[dir] = old - drop + n;
    }
}

static void tap_maybe_end(struct tap_conn *c)
{
    if (c->s[0].eof && c->s[1].eof && c->shut_done == 2)
        tap_close(c);
}

static void tap_shut(uv_shutdown_t *r, int status)
{
    struct tap_side *sd = r->data;
    struct tap_conn *c = sd->c;
    if (c->closing)
        return;
    c->shut_done++;
    if (status < 0)
        tap_close(c);
    else
        tap_maybe_end(c);
}

static void tap_written(uv_write_t *w, int status)
{
    struct tap_wr *tw = (struct tap_wr *)w;
    struct tap_side *to = tw->to;
    struct tap_conn *c = to->c;
    to->pending -= tw->len;
    free(tw);
    if (c->closing)
        return;
    if (status < 0) {
        tap_close(c);
        return;
    }
    struct tap_side *from = &c->s[to == &c->s[0] ? 1 : 0];
    if (!from->eof && to->pending <= TAP_HIGH / 2)
        uv_read_start((uv_stream_t *)&from->tcp, on_alloc, tap_read);
}

static void tap_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct tap_side *from = st->data;
    struct tap_conn *c = from->c;
    int dir = from == &c->s[0] ? 0 : 1;
    struct tap_side *to = &c->s[1 - dir];
    if (n <= 0) {
        free(b->base);
        if (n == 0)
            return;
        uv_read_stop(st);
        if (n != UV_EOF) {
            tap_close(c);
            return;
        }
        from->eof = 1;
        to->sreq.data = to;
        if (uv_shutdown(&to->sreq, (uv_stream_t *)&to->tcp, tap_shut) < 0)
            tap_close(c);
        return;
    }
    tap_scan(c, dir, (const uint8_t *)b->base, (size_t)n);
    struct tap_wr *tw = malloc(sizeof *tw + (size_t)n);
    if (tw == NULL) {
        free(b->base);
        tap_close(c);
        return;
    }
    memcpy(tw->data, b->base, (size_t)n);
    free(b->base);
    tw->to = to;
    tw->len = (size_t)n;
    uv_buf_t wb = uv_buf_init((char *)tw->data, (unsigned)n);
    to->pending += (size_t)n;
    if (uv_write(&tw->w, (uv_stream_t *)&to->tcp, &wb, 1, tap_written) < 0) {
        to->pending -= (size_t)n;
        free(tw);
        tap_close(c);
        return;
    }
    if (to->pending > TAP_HIGH)
        uv_read_stop(st);
}

static void tap_connected(uv_connect_t *r, int status)
{
    struct tap_conn *c = r->data;
    if (c->closing)
        return;
    if (status < 0) {
        tap_close(c);
        return;
    }
    c->connected = 1;
    uv_read_start((uv_stream_t *)&c->s[0].tcp, on_alloc, tap_read);
    uv_read_start((uv_stream_t *)&c->s[1].tcp, on_alloc, tap_read);
}

static void tap_accept(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct tap_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->id = ++g_tap_conns;
    for (int i = 0; i < 2; i++) {
        uv_tcp_init(server->loop, &c->s[i].tcp);
        c->s[i].c = c;
        c->s[i].tcp.data = &c->s[i];
    }
    c->handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->s[0].tcp) < 0) {
        tap_close(c);
        return;
    }
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", g_tap_target, &a);
    c->creq.data = c;
    if (uv_tcp_connect(&c->creq, &c->s[1].tcp, (const struct sockaddr *)&a, tap_connected) < 0)
        tap_close(c);
}

static int cmd_tap(int port, int target, int nmarkers, char **markers)
{
    if (nmarkers > TAP_MAX_MARKERS) {
        fprintf(stderr, "e2e-tool tap: at most %d markers\n", TAP_MAX_MARKERS);
        return 2;
    }
    for (int k = 0; k < nmarkers; k++) {
        size_t m = strlen(markers[k]);
        if (m == 0 || m > TAP_MARKER_MAX) {
            fprintf(stderr, "e2e-tool tap: a marker has 1..%d bytes\n", TAP_MARKER_MAX);
            return 2;
        }
        g_markers[k] = markers[k];
        g_marker_len[k] = m;
    }
    g_nmarkers = nmarkers;
    g_tap_target = target;
    uv_loop_t *loop = uv_default_loop();
    static uv_tcp_t srv;
    int got = listen_on(loop, &srv, port, tap_accept);
    if (got < 0)
        return 1;
    printf("READY port=%d pid=%d\n", got, (int)getpid());
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* a write to a connection the other side has closed must fail that connection
     * (EPIPE, reported), not kill the tool before it prints its RESULT line */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "echo") == 0)
        return cmd_echo(argc >= 3 ? atoi(argv[2]) : 0);
    if (argc >= 5 && strcmp(argv[1], "load") == 0)
        return cmd_load(atoi(argv[2]), strtoull(argv[3], NULL, 0), atoi(argv[4]),
                        argc >= 6 ? atoi(argv[5]) : 60);
    if (argc >= 4 && strcmp(argv[1], "expect-close") == 0)
        return cmd_expect_close(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 2 && strcmp(argv[1], "freeport") == 0)
        return cmd_freeport();
    if (argc >= 5 && strcmp(argv[1], "tap") == 0)
        return cmd_tap(atoi(argv[2]), atoi(argv[3]), argc - 4, argv + 4);
    if (argc >= 2 && strcmp(argv[1], "udp-echo") == 0)
        return cmd_udp_echo(argc >= 3 ? atoi(argv[2]) : 0);
    if (argc >= 6 && strcmp(argv[1], "udp-probe") == 0)
        return cmd_udp_probe(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
    if (argc >= 5 && strcmp(argv[1], "udp-send") == 0)
        return cmd_udp_send(atoi(argv[2]), argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: e2e-tool echo [PORT] | load PORT BYTES CONNS [TIMEOUT_S] | "
                    "expect-close PORT TIMEOUT_S | freeport | udp-echo [PORT] | "
                    "udp-probe PORT SOCKETS TIMEOUT_S SIZE... | udp-send PORT TEXT WAIT_MS | "
                    "tap PORT TARGET_PORT MARKER...\n");
    return 2;
}
