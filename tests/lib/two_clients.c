/* lib-two-clients PEER_PORT TOKEN ECHO_PORT R1 R2 R3 VISITOR_PORT
 *
 * Two libufrpc clients in one process against the test frps (tests/lib/two_clients.sh):
 *   A: built in code, on this thread's loop, maxProxies = 2, names generated
 *      ("app-1", "app-2"). When app-1 runs, app-2 is added at run time; a third
 *      proxy is refused (maxProxies) and so is a duplicate name. When app-2 runs, a
 *      payload crosses app-1 (echo, checked) and its byte counters must show it;
 *      then app-2 is removed (its "closed" must be reported). A visitor added at
 *      run time ("visitor-1", listening on VISITOR_PORT) must run, then is removed.
 *      Last, a proxy on app-1's remote port must report "start error" with frps's text.
 *   B: from a TOML string, on its own thread; its proxy must be running (asked from
 *      A's thread: the call is marshalled to B's loop).
 * Then both stop; each close callback must come once. Prints "PASS" at the end;
 * any failed check prints "FAIL: ..." and exits 1. Only <ufrpc.h> is used. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ufrpc.h"

#define PAYLOAD 5000

static struct {
    uv_loop_t loop;
    uv_timer_t deadline, poll;
    uv_work_t work;
    ufrpc_client *a, *b;
    int echo_port, r1, r2, r3, vport;
    int app2_added, app2_removed, app2_closed, traffic_started;
    int vis_running, vis_closed, clash_error;
    int a_closed, b_closed; /* b_closed: written on B's thread, read after the join */
    int traffic_ok;
} T;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static void check(int rc, const char *what, ufrpc_client *c)
{
    if (rc != 0)
        die("%s: %s (%s)", what, ufrpc_strerror(rc), c ? ufrpc_client_last_error(c) : "");
}

static ufrpc_spec *tcp_spec(int local, int remote, const char *name)
{
    ufrpc_spec *s;
    check(ufrpc_spec_new(UFRPC_PROXY, "tcp", &s), "spec_new", NULL);
    check(ufrpc_spec_set_int(s, "localPort", local), "localPort", NULL);
    check(ufrpc_spec_set_int(s, "remotePort", remote), "remotePort", NULL);
    if (name)
        check(ufrpc_spec_set_str(s, "name", name), "name", NULL);
    return s;
}

/* Thread pool: one connection to R1, PAYLOAD bytes out, the same back. */
static void traffic(uv_work_t *w)
{
    (void)w;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)T.r1)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return;
    static char out[PAYLOAD], in[PAYLOAD];
    for (int i = 0; i < PAYLOAD; i++)
        out[i] = (char)('a' + i % 26);
    if (write(fd, out, sizeof out) != (ssize_t)sizeof out) {
        close(fd);
        return;
    }
    size_t got = 0;
    while (got < sizeof in) {
        ssize_t n = read(fd, in + got, sizeof in - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    T.traffic_ok = got == sizeof in && memcmp(in, out, sizeof in) == 0;
}

static void on_a_closed(ufrpc_client *c, int status, const char *msg, void *data)
{
    (void)c;
    (void)data;
    if (status != 0)
        die("A closed with %s: %s", ufrpc_strerror(status), msg ? msg : "");
    T.a_closed++;
    printf("A closed\n");
    uv_close((uv_handle_t *)&T.deadline, NULL);
}

static void on_b_closed(ufrpc_client *c, int status, const char *msg, void *data)
{
    (void)c;
    (void)data;
    (void)msg;
    if (status == 0)
        T.b_closed++;
}

/* The counters are added when the work connection ends, just after the user's
 * connection closed: checked every 50 ms until they show it (or the deadline). */
static void on_poll(uv_timer_t *t)
{
    uint64_t in = 0, active = 1;
    check(ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "bytes_in", &in), "counter", T.a);
    check(ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "conns_active", &active), "counter", T.a);
    if (in < PAYLOAD || active != 0)
        return;
    uv_close((uv_handle_t *)t, NULL);
    uint64_t out = 0, total = 0;
    check(ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "bytes_in", &in), "counter", T.a);
    check(ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "bytes_out", &out), "counter", T.a);
    check(ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "conns_total", &total), "counter", T.a);
    printf("app-1 counters: bytes_in=%llu bytes_out=%llu conns_total=%llu\n", (unsigned long long)in,
           (unsigned long long)out, (unsigned long long)total);
    if (in < PAYLOAD || out < PAYLOAD || total < 1)
        die("app-1's counters do not show the payload");
    uint64_t v;
    if (ufrpc_client_counter(T.a, UFRPC_PROXY, "app-1", "nonsense", &v) != UFRPC_E_INVAL)
        die("an unknown counter was accepted");
    if (ufrpc_client_counter(T.a, UFRPC_PROXY, "nope", "bytes_in", &v) != UFRPC_E_NOT_FOUND)
        die("an unknown tunnel was found");
    T.app2_removed = 1;
    check(ufrpc_client_remove(T.a, UFRPC_PROXY, "app-2"), "remove app-2", T.a);
    if (ufrpc_client_remove(T.a, UFRPC_PROXY, "app-2") != UFRPC_E_NOT_FOUND)
        die("app-2 removed twice");
}

static void after_traffic(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
    if (!T.traffic_ok)
        die("the payload did not come back through app-1");
    uv_timer_init(&T.loop, &T.poll);
    uv_timer_start(&T.poll, on_poll, 50, 50);
}

static void finish(void)
{
    /* B runs on its own thread: these calls are marshalled to its loop */
    int st = -1;
    char err[256];
    check(ufrpc_client_state(T.b, UFRPC_PROXY, "b-echo", &st, err, sizeof err), "B state", T.b);
    if (st != UFRPC_STATE_RUNNING)
        die("B's proxy is %s, not running", ufrpc_state_name(st));
    printf("B's proxy b-echo: %s\n", ufrpc_state_name(st));
    check(ufrpc_client_stop(T.b, NULL, NULL), "stop B", T.b);
    check(ufrpc_client_stop(T.a, on_a_closed, NULL), "stop A", T.a);
    if (ufrpc_client_stop(T.a, NULL, NULL) != UFRPC_E_STATE)
        die("a second stop was accepted");
}

static void on_a_state(ufrpc_client *c, int kind, const char *name, int state, const char *error,
                       void *data)
{
    (void)data;
    printf("A %s %s: %s%s%s\n", kind == UFRPC_PROXY ? "proxy" : "visitor", name,
           ufrpc_state_name(state), error ? ": " : "", error ? error : "");
    fflush(stdout);
    if (strcmp(name, "app-1") == 0 && state == UFRPC_STATE_RUNNING && !T.app2_added) {
        T.app2_added = 1;
        ufrpc_spec *s = tcp_spec(T.echo_port, T.r2, NULL);
        char got[32] = "";
        check(ufrpc_client_add(c, s, got, sizeof got), "add app-2", c);
        if (strcmp(got, "app-2") != 0)
            die("generated name %s, not app-2", got);
        ufrpc_spec *v;
        check(ufrpc_spec_new(UFRPC_VISITOR, "stcp", &v), "visitor spec", NULL);
        check(ufrpc_spec_set_str(v, "serverName", "app-1"), "serverName", NULL);
        check(ufrpc_spec_set_str(v, "secretKey", "k"), "secretKey", NULL);
        check(ufrpc_spec_set_str(v, "bindAddr", "127.0.0.1"), "bindAddr", NULL);
        check(ufrpc_spec_set_int(v, "bindPort", T.vport), "bindPort", NULL);
        check(ufrpc_client_add(c, v, got, sizeof got), "add visitor", c);
        ufrpc_spec_free(v);
        if (strcmp(got, "visitor-1") != 0)
            die("generated visitor name %s, not visitor-1", got);
        int rc = ufrpc_client_add(c, s, NULL, 0); /* a third: over maxProxies */
        if (rc != UFRPC_E_LIMIT || !strstr(ufrpc_client_last_error(c), "maxProxies (2)"))
            die("a third proxy: %s (%s)", ufrpc_strerror(rc), ufrpc_client_last_error(c));
        printf("third proxy refused: %s\n", ufrpc_client_last_error(c));
        ufrpc_spec_free(s);
        s = tcp_spec(T.echo_port, T.r3 + 1, "app-1");
        if (ufrpc_client_update(c, s) != 0) /* equal but for the port: a change */
            die("update app-1 failed: %s", ufrpc_client_last_error(c));
        ufrpc_spec_free(s);
        s = tcp_spec(T.echo_port, T.r1, "app-1");
        check(ufrpc_client_update(c, s), "update app-1 back", c);
        if ((rc = ufrpc_client_add(c, s, NULL, 0)) != UFRPC_E_CONFIG_DUPLICATE)
            die("a duplicate name: %s", ufrpc_strerror(rc));
        ufrpc_spec_free(s);
    }
    if (strcmp(name, "app-2") == 0 && state == UFRPC_STATE_RUNNING && !T.traffic_started) {
        T.traffic_started = 1;
        /* app-1 was restarted by the updates: wait for it too */
    }
    if (T.traffic_started && !T.work.data && state == UFRPC_STATE_RUNNING) {
        int st1 = -1, st2 = -1;
        ufrpc_client_state(c, UFRPC_PROXY, "app-1", &st1, NULL, 0);
        ufrpc_client_state(c, UFRPC_PROXY, "app-2", &st2, NULL, 0);
        if (st1 == UFRPC_STATE_RUNNING && st2 == UFRPC_STATE_RUNNING) {
            T.work.data = &T;
            uv_queue_work(&T.loop, &T.work, traffic, after_traffic);
        }
    }
    if (kind == UFRPC_VISITOR && strcmp(name, "visitor-1") == 0) {
        if (state == UFRPC_STATE_RUNNING && !T.vis_running) {
            T.vis_running = 1;
            check(ufrpc_client_remove(c, UFRPC_VISITOR, "visitor-1"), "remove visitor-1", c);
        } else if (state == UFRPC_STATE_CLOSED && T.vis_running) {
            T.vis_closed = 1;
        }
    }
    if (strcmp(name, "app-2") == 0 && state == UFRPC_STATE_CLOSED && T.app2_removed && !T.app2_closed)
        T.app2_closed = 1;
    if (T.app2_closed == 1 && T.vis_closed) {
        T.app2_closed = 2; /* once: a proxy on app-1's remote port, which frps refuses */
        ufrpc_spec *s = tcp_spec(T.echo_port, T.r1, "clash");
        check(ufrpc_client_add(c, s, NULL, 0), "add clash", c);
        ufrpc_spec_free(s);
    }
    if (strcmp(name, "clash") == 0 && state == UFRPC_STATE_START_ERROR && !T.clash_error) {
        if (!error || !error[0])
            die("start error without its text");
        T.clash_error = 1;
        char err[256];
        int st = -1;
        check(ufrpc_client_state(c, UFRPC_PROXY, "clash", &st, err, sizeof err), "state", c);
        if (st != UFRPC_STATE_START_ERROR || strcmp(err, error) != 0)
            die("clash: state %s, error [%s] vs [%s]", ufrpc_state_name(st), err, error);
        finish();
    }
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    die("deadline passed (app-2 added %d, traffic %d, removed %d, closed %d; visitor %d %d; "
        "clash %d)",
        T.app2_added, T.traffic_started, T.app2_removed, T.app2_closed, T.vis_running, T.vis_closed,
        T.clash_error);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: lib-two-clients PEER_PORT TOKEN ECHO_PORT R1 R2 R3 VISITOR_PORT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int peer = atoi(argv[1]);
    T.echo_port = atoi(argv[3]);
    T.r1 = atoi(argv[4]);
    T.r2 = atoi(argv[5]);
    T.r3 = atoi(argv[6]);
    T.vport = atoi(argv[7]);
    uv_loop_init(&T.loop);

    /* A: built in code */
    check(ufrpc_client_new(&T.a), "new A", NULL);
    check(ufrpc_client_set_str(T.a, "serverAddr", "127.0.0.1"), "serverAddr", T.a);
    check(ufrpc_client_set_int(T.a, "serverPort", peer), "serverPort", T.a);
    check(ufrpc_client_set_str(T.a, "auth.token", argv[2]), "token", T.a);
    check(ufrpc_client_set_bool(T.a, "loginFailExit", 1), "loginFailExit", T.a);
    check(ufrpc_client_set_max_proxies(T.a, 2), "maxProxies", T.a);
    check(ufrpc_client_set_name_prefix(T.a, UFRPC_PROXY, "app"), "prefix", T.a);
    check(ufrpc_client_on_state(T.a, on_a_state, NULL), "on_state", T.a);
    check(ufrpc_client_on_close(T.a, on_a_closed, NULL), "on_close", T.a); /* a failed login */
    ufrpc_spec *s = tcp_spec(T.echo_port, T.r1, NULL);
    char got[32] = "";
    check(ufrpc_client_add(T.a, s, got, sizeof got), "add app-1", T.a);
    ufrpc_spec_free(s);
    if (strcmp(got, "app-1") != 0)
        die("generated name %s, not app-1", got);
    /* a bad value is refused with the key named */
    s = tcp_spec(T.echo_port, T.r1, "bad");
    check(ufrpc_spec_set_str(s, "localIP", ""), "localIP", NULL);
    check(ufrpc_spec_set_str(s, "transport.bandwidthLimit", "lots"), "bandwidthLimit", NULL);
    int rc = ufrpc_client_add(T.a, s, NULL, 0);
    ufrpc_spec_free(s);
    if (rc == 0 || !strstr(ufrpc_client_last_error(T.a), "bandwidthLimit"))
        die("a bad bandwidthLimit: %s [%s]", ufrpc_strerror(rc), ufrpc_client_last_error(T.a));
    printf("bad spec refused: %s", ufrpc_client_last_error(T.a));

    /* B: from a TOML string, on its own thread */
    char toml[512];
    snprintf(toml, sizeof toml,
             "serverAddr = \"127.0.0.1\"\nserverPort = %d\nauth.token = \"%s\"\n"
             "log.level = \"warn\"\n[[proxies]]\nname = \"b-echo\"\ntype = \"tcp\"\n"
             "localPort = %d\nremotePort = %d\n",
             peer, argv[2], T.echo_port, T.r3);
    check(ufrpc_client_new(&T.b), "new B", NULL);
    check(ufrpc_client_load_string(T.b, toml, strlen(toml), "b.toml"), "load B", T.b);
    check(ufrpc_client_on_close(T.b, on_b_closed, NULL), "on_close B", T.b);
    check(ufrpc_client_start_thread(T.b), "start B", T.b);
    if (ufrpc_client_start(T.b, &T.loop) != UFRPC_E_STATE)
        die("B started twice");

    check(ufrpc_client_start(T.a, &T.loop), "start A", T.a);
    if (ufrpc_client_set_str(T.a, "serverPort", "1") != UFRPC_E_STATE)
        die("a client-wide key changed after start");
    uv_timer_init(&T.loop, &T.deadline);
    uv_timer_start(&T.deadline, on_deadline, 90000, 0);
    uv_run(&T.loop, UV_RUN_DEFAULT);

    ufrpc_client_free(T.b); /* joins B's thread */
    ufrpc_client_free(T.a);
    if (T.a_closed != 1 || T.b_closed != 1)
        die("close callbacks: A %d, B %d (want 1 each)", T.a_closed, T.b_closed);
    if (uv_loop_close(&T.loop) != 0)
        die("handles left on the loop");
    printf("PASS\n");
    return 0;
}
