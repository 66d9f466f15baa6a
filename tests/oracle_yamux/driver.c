/* Oracle driver: runs our yamux session over a real loopback TCP socket against
 * hashicorp/yamux (tests/oracle_yamux/peer.go). Test code only: plain POSIX
 * sockets + poll, a child process for the Go peer.
 *
 *   driver <peer-binary> client   our CLIENT session vs a Go yamux SERVER that echoes
 *                                 every stream: 4 streams x 3 MiB each way, every byte
 *                                 checked; the Go side pings us every 500 ms (its
 *                                 keepalive plus explicit Ping()s that must succeed).
 *   driver <peer-binary> server   our SERVER session (echo) vs a Go yamux CLIENT that
 *                                 opens 4 streams x 3 MiB and verifies the echo.
 * Exit 0 on success, 1 on failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/error.h"
#include "proto/yamux.h"

#define NSTREAMS 4
#define PER_STREAM (3u * 1024u * 1024u)
#define KEEPALIVE_MS 500
#define DEADLINE_MS 60000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint8_t pattern(uint64_t tag, uint64_t off)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull + tag * 0x632BE59BD9B4E019ull;
    return (uint8_t)((x >> 56) ^ (off >> 9));
}

#define FAIL(...)                                                                          \
    do {                                                                                   \
        fprintf(stderr, "driver: " __VA_ARGS__);                                           \
        fprintf(stderr, "\n");                                                             \
        return 1;                                                                          \
    } while (0)

/* ---- application state ---- */

struct app_stream {
    ufrpc_yamux_stream_t *st;
    uint64_t tag, tx, rx;
    int fin, closed, bad;
    uint8_t *echo; /* server role: bytes received, not yet written back */
    size_t echo_len, echo_cap;
};

struct app {
    ufrpc_yamux_session_t *s;
    struct app_stream sts[64];
    int nst;
    int err;
    int server;
};

static int on_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct app *a = ud;
    (void)s;
    if (!a->server || a->nst == 64)
        return -1;
    struct app_stream *y = &a->sts[a->nst++];
    memset(y, 0, sizeof *y);
    y->st = st;
    y->echo_cap = 6u * 1024u * 1024u; /* the window bounds what we can hold */
    y->echo = malloc(y->echo_cap);
    if (!y->echo)
        return -1;
    ufrpc_yamux_stream_set_user_data(st, y);
    return 0;
}

static void echo_flush(struct app_stream *y)
{
    if (!y->echo_len || !y->st)
        return;
    ptrdiff_t w = ufrpc_yamux_stream_write(y->st, y->echo, y->echo_len);
    if (w <= 0)
        return;
    memmove(y->echo, y->echo + w, y->echo_len - (size_t)w);
    y->echo_len -= (size_t)w;
    ufrpc_yamux_stream_consume(y->st, (size_t)w);
}

static void on_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, const uint8_t *d,
                    size_t n, void *ud)
{
    struct app *a = ud;
    (void)s;
    struct app_stream *y = ufrpc_yamux_stream_user_data(st);
    if (a->server) {
        if (y->echo_len + n > y->echo_cap) { /* cannot happen: bounded by the window */
            y->bad = 1;
            return;
        }
        memcpy(y->echo + y->echo_len, d, n);
        y->echo_len += n;
        y->rx += n;
        echo_flush(y);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (d[i] != pattern(y->tag, y->rx + i)) {
            y->bad = 1;
            break;
        }
    y->rx += n;
    ufrpc_yamux_stream_consume(st, n); /* "written out" */
}

static void on_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    (void)ud;
    struct app_stream *y = ufrpc_yamux_stream_user_data(st);
    y->fin = 1;
}

static void on_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    struct app *a = ud;
    (void)st;
    a->err = UFRPC_ERR_YAMUX_RESET;
}

static void on_error(ufrpc_yamux_session_t *s, int err, void *ud)
{
    (void)s;
    struct app *a = ud;
    a->err = err;
}

/* ---- socket plumbing ---- */

/* One poll round: flush output, read input, run timers. Returns 0, 1 on EOF,
 * or -1 on error. */
static int pump(struct app *a, int fd, int wait_ms)
{
    struct iovec iov[2];
    int n = ufrpc_yamux_pending_output(a->s, iov, 2);
    struct pollfd p = {fd, POLLIN | (n > 0 ? POLLOUT : 0), 0};
    uint64_t dl = ufrpc_yamux_next_deadline(a->s), t = now_ms();
    if (dl != UINT64_MAX) {
        int until = dl <= t ? 0 : (int)(dl - t);
        if (until < wait_ms)
            wait_ms = until;
    }
    if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
        return -1;
    if (p.revents & POLLOUT) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            perror("driver: writev");
            return -1;
        }
        if (w > 0)
            ufrpc_yamux_output_sent(a->s, (size_t)w);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        static uint8_t buf[65536];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0)
            return 1;
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            perror("driver: read");
            return -1;
        }
        int rc = r > 0 ? ufrpc_yamux_feed(a->s, buf, (size_t)r, now_ms()) : 0;
        if (rc != 0) {
            fprintf(stderr, "driver: feed: %s\n", ufrpc_strerror(rc));
            return -1;
        }
    }
    if (ufrpc_yamux_next_deadline(a->s) <= now_ms() &&
        ufrpc_yamux_on_timeout(a->s, now_ms()) != 0)
        return -1;
    return 0;
}

static pid_t spawn(char *const argv[], int *out_fd)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    *out_fd = pfd[0];
    return pid;
}

/* Reads one line from fd (blocking, small). */
static int read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            break;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
    return (int)n;
}

static int session_new(struct app *a, enum ufrpc_yamux_role role)
{
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg); /* frp: 6 MiB windows */
    cfg.keepalive_interval_ms = 300;  /* our own pings, answered by Go */
    cfg.keepalive_timeout_ms = 5000;
    struct ufrpc_yamux_callbacks cb = {
        .on_stream_open = on_open,
        .on_stream_data = on_data,
        .on_stream_fin = on_fin,
        .on_stream_reset = on_reset,
        .on_session_error = on_error,
    };
    a->server = role == UFRPC_YAMUX_SERVER;
    return ufrpc_yamux_session_new(&a->s, role, &cfg, &cb, a, now_ms());
}

static int run_client(char *peer)
{
    char ka[16];
    snprintf(ka, sizeof ka, "%d", KEEPALIVE_MS);
    char *argv[] = {peer, "server", ka, NULL};
    int out;
    pid_t pid = spawn(argv, &out);
    char line[256];
    read_line(out, line, sizeof line);
    int port;
    if (sscanf(line, "PORT %d", &port) != 1)
        FAIL("peer did not report a port: '%s'", line);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        FAIL("connect: %s", strerror(errno));

    static struct app a;
    if (session_new(&a, UFRPC_YAMUX_CLIENT) != 0)
        FAIL("session_new");
    for (int i = 0; i < NSTREAMS; i++) {
        struct app_stream *y = &a.sts[a.nst++];
        if (ufrpc_yamux_stream_open(a.s, &y->st) != 0)
            FAIL("open");
        y->tag = 500 + (uint64_t)i;
        ufrpc_yamux_stream_set_user_data(y->st, y);
    }
    uint64_t rng = 42, start = now_ms(), done_at = 0;
    static uint8_t buf[200000];
    for (;;) {
        if (now_ms() - start > DEADLINE_MS)
            FAIL("timed out");
        int all_done = 1;
        for (int i = 0; i < a.nst; i++) {
            struct app_stream *y = &a.sts[i];
            if (y->tx < PER_STREAM) {
                size_t want = 1 + (size_t)(rnd(&rng) % sizeof buf);
                if (want > PER_STREAM - y->tx)
                    want = (size_t)(PER_STREAM - y->tx);
                for (size_t k = 0; k < want; k++)
                    buf[k] = pattern(y->tag, y->tx + k);
                ptrdiff_t w = ufrpc_yamux_stream_write(y->st, buf, want);
                if (w < 0)
                    FAIL("write: %s", ufrpc_strerror((int)w));
                y->tx += (uint64_t)w;
                if (y->tx == PER_STREAM)
                    ufrpc_yamux_stream_close(y->st);
            }
            if (!y->fin || y->rx != PER_STREAM)
                all_done = 0;
        }
        if (all_done && !done_at) {
            done_at = now_ms();
            fprintf(stderr, "driver: %u bytes echoed in %llu ms\n", NSTREAMS * PER_STREAM * 2,
                    (unsigned long long)(done_at - start));
            for (int i = 0; i < a.nst; i++)
                ufrpc_yamux_stream_release(a.sts[i].st);
        }
        /* idle a while after the transfer so Go's pings (500 ms) reach us */
        if (done_at && now_ms() - done_at > 3 * KEEPALIVE_MS &&
            ufrpc_yamux_pending_bytes(a.s) == 0)
            break;
        int r = pump(&a, fd, 50);
        if (r != 0 || a.err)
            FAIL("session: pump %d, err %s", r, ufrpc_strerror(a.err));
    }
    for (int i = 0; i < a.nst; i++)
        if (a.sts[i].bad)
            FAIL("stream %d: corrupted echo", i);
    if (ufrpc_yamux_session_num_streams(a.s) != 0)
        FAIL("streams left after release");
    close(fd); /* Go's AcceptStream fails; it prints its summary */
    read_line(out, line, sizeof line);
    int status;
    waitpid(pid, &status, 0);
    fprintf(stderr, "driver: peer says '%s'\n", line);
    long streams, bytes, pings;
    if (sscanf(line, "OK streams=%ld bytes=%ld pings=%ld", &streams, &bytes, &pings) != 3)
        FAIL("peer failed");
    if (streams != NSTREAMS || bytes != (long)NSTREAMS * PER_STREAM || pings < 1)
        FAIL("peer counted streams=%ld bytes=%ld pings=%ld", streams, bytes, pings);
    ufrpc_yamux_session_free(a.s);
    return 0;
}

static int run_server(char *peer)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        FAIL("listen: %s", strerror(errno));
    char addr[64], per[32], ns[8], ka[16];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    snprintf(per, sizeof per, "%u", PER_STREAM);
    snprintf(ns, sizeof ns, "%d", NSTREAMS);
    snprintf(ka, sizeof ka, "%d", KEEPALIVE_MS);
    char *argv[] = {peer, "client", addr, ns, per, ka, NULL};
    int out;
    pid_t pid = spawn(argv, &out);
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        FAIL("accept: %s", strerror(errno));
    static struct app a;
    if (session_new(&a, UFRPC_YAMUX_SERVER) != 0)
        FAIL("session_new");
    uint64_t start = now_ms();
    for (;;) {
        if (now_ms() - start > DEADLINE_MS)
            FAIL("timed out");
        for (int i = 0; i < a.nst; i++) {
            struct app_stream *y = &a.sts[i];
            if (!y->st)
                continue;
            echo_flush(y);
            if (y->fin && !y->echo_len && !y->closed) {
                ufrpc_yamux_stream_close(y->st);
                ufrpc_yamux_stream_release(y->st);
                y->closed = 1;
                y->st = NULL;
            }
        }
        int r = pump(&a, fd, 50);
        if (r == 1)
            break; /* the Go client closed the connection */
        if (r != 0 || a.err) {
            char l[256];
            read_line(out, l, sizeof l);
            fprintf(stderr, "driver: peer says '%s'\n", l);
            FAIL("session: pump %d, err %s", r, ufrpc_strerror(a.err));
        }
    }
    uint64_t total = 0;
    for (int i = 0; i < a.nst; i++) {
        if (a.sts[i].bad)
            FAIL("stream %d: echo overflow", i);
        total += a.sts[i].rx;
        free(a.sts[i].echo);
    }
    char line[256];
    read_line(out, line, sizeof line);
    int status;
    waitpid(pid, &status, 0);
    fprintf(stderr, "driver: echoed %llu bytes on %d streams; peer says '%s'\n",
            (unsigned long long)total, a.nst, line);
    long streams, bytes;
    if (sscanf(line, "OK streams=%ld bytes=%ld", &streams, &bytes) != 2)
        FAIL("peer failed");
    if (streams != NSTREAMS || bytes != (long)NSTREAMS * PER_STREAM || a.nst != NSTREAMS)
        FAIL("peer counted streams=%ld bytes=%ld", streams, bytes);
    close(fd);
    close(lfd);
    ufrpc_yamux_session_free(a.s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        FAIL("usage: driver <peer-binary> client|server");
    signal(SIGPIPE, SIG_IGN);
    if (access(argv[1], X_OK) != 0) {
        fprintf(stderr, "driver: no Go peer (%s): skipped\n", argv[1]);
        return 77;
    }
    if (strcmp(argv[2], "client") == 0)
        return run_client(argv[1]);
    if (strcmp(argv[2], "server") == 0)
        return run_server(argv[1]);
    FAIL("unknown mode %s", argv[2]);
}
