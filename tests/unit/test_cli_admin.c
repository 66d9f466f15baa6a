/* `ufrpc reload|status|stop` against the admin server running in-process (its libuv
 * loop on a second thread): outputs, exit codes, auth, transport errors, timeouts. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "client/admin/admin.h"
#include "client/cli/cli_admin.h"
#include "client/core/registry.h"
#include "config/config.h"
#include "proto/error.h"
#include "testutil.h"

struct srv {
    uv_loop_t loop;
    uv_async_t quit;
    pthread_t th;
    struct ufrpc_admin *admin;
    struct ufrpc_config *cfg;
    struct ufrpc_registry *reg;
    uint16_t port;
    char cfg_path[128];
    atomic_int reloads, stops, last_strict, hide_registry;
    enum ufrpc_admin_reload_result reload_result;
};

static struct ufrpc_registry *h_registry(void *ctx)
{
    struct srv *s = ctx;
    return atomic_load(&s->hide_registry) ? NULL : s->reg;
}
static const struct ufrpc_config *h_config(void *ctx) { return ((struct srv *)ctx)->cfg; }
static const char *h_path(void *ctx) { return ((struct srv *)ctx)->cfg_path; }
static enum ufrpc_admin_reload_result h_reload(void *ctx, bool strict, char *msg, size_t cap)
{
    struct srv *s = ctx;
    atomic_fetch_add(&s->reloads, 1);
    atomic_store(&s->last_strict, strict);
    snprintf(msg, cap, "bad config");
    return s->reload_result;
}
static void h_stop(void *ctx) { atomic_fetch_add(&((struct srv *)ctx)->stops, 1); }

static void on_quit(uv_async_t *a)
{
    struct srv *s = a->data;
    ufrpc_admin_close(s->admin, NULL, NULL);
    uv_close((uv_handle_t *)&s->quit, NULL);
}

static void *loop_thread(void *arg)
{
    uv_run(&((struct srv *)arg)->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Server with user admin / password "p@ss word"; the config file the CLI reads points
 * at it (webServer.password as given, to test failures). */
static void srv_start(struct srv *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(uv_loop_init(&s->loop), 0);
    struct ufrpc_admin_opts o = {.addr = "127.0.0.1", .user = "admin", .password = "p@ss word"};
    struct ufrpc_admin_hooks h = {.ctx = s,
                                  .registry = h_registry,
                                  .config = h_config,
                                  .config_path = h_path,
                                  .reload = h_reload,
                                  .stop = h_stop};
    assert_int_equal(ufrpc_admin_start(&s->loop, &o, &h, &s->admin), 0);
    s->port = ufrpc_admin_port(s->admin);
    snprintf(s->cfg_path, sizeof s->cfg_path, "/tmp/ufrpc-cli-admin-%d.toml", (int)getpid());
    char text[1024];
    snprintf(text, sizeof text,
             "serverAddr = \"203.0.113.5\"\n"
             "webServer.addr = \"127.0.0.1\"\nwebServer.port = %u\n"
             "webServer.user = \"admin\"\nwebServer.password = \"p@ss word\"\n"
             "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6000\n"
             "[[proxies]]\nname = \"sock\"\ntype = \"tcp\"\nlocalPort = 3000\nremotePort = 6001\n"
             "[[proxies]]\nname = \"web\"\ntype = \"http\"\nlocalPort = 80\ncustomDomains = "
             "[\"w.example.com\"]\n",
             (unsigned)s->port);
    write_file(s->cfg_path, text);
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    assert_int_equal(ufrpc_config_load(s->cfg_path, NULL, &s->cfg, &d), 0);
    ufrpc_cfg_diag_free(&d);
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &s->reg), 0);
    for (size_t i = 0; i < s->cfg->nproxies; i++) {
        const char *n = s->cfg->proxies[i].name;
        struct ufrpc_tunnel *t = NULL;
        assert_int_equal(ufrpc_registry_add(s->reg, UFRPC_TUNNEL_PROXY, n,
                                            ufrpc_proxy_type_name(s->cfg->proxies[i].type), NULL, 0,
                                            &t),
                         0);
        ufrpc_registry_set_state(s->reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 1);
    }
    ufrpc_registry_on_new_proxy_resp(s->reg, "ssh", ":6000", NULL, 2);
    ufrpc_registry_on_new_proxy_resp(s->reg, "sock", ":6001", "port already used", 2);
    ufrpc_registry_on_new_proxy_resp(s->reg, "web", "http://w.example.com", NULL, 2);
    uv_async_init(&s->loop, &s->quit, on_quit);
    s->quit.data = s;
    assert_int_equal(pthread_create(&s->th, NULL, loop_thread, s), 0);
}

static void srv_stop(struct srv *s)
{
    uv_async_send(&s->quit);
    pthread_join(s->th, NULL);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    ufrpc_registry_free(s->reg);
    ufrpc_config_free(s->cfg);
    unlink(s->cfg_path);
}

/* Runs the CLI; returns its output (caller frees) and *code. */
static char *run(int *code, int argc, const char **argv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    *code = ufrpc_cli_admin(argc, (char **)argv, out);
    fclose(out);
    return buf;
}

static void test_status_table(void **st)
{
    struct srv s;
    srv_start(&s);
    int code = -1;
    const char *argv[] = {"ufrpc", "status", "-c", s.cfg_path};
    char *out = run(&code, 4, argv);
    const char *want =
        "Proxy Status...\n\n"
        "TCP\n"
        "Name  Status       LocalAddr       Plugin  RemoteAddr        Error              \n"
        "sock  start error  127.0.0.1:3000                            port already used  \n"
        "ssh   running      127.0.0.1:22            203.0.113.5:6000                     \n"
        "\n"
        "HTTP\n"
        "Name  Status   LocalAddr     Plugin  RemoteAddr            Error  \n"
        "web   running  127.0.0.1:80          http://w.example.com         \n"
        "\n";
    assert_string_equal(out, want);
    assert_int_equal(code, 0);
    assert_null(strstr(out, "p@ss"));
    free(out);
    srv_stop(&s);
}

static void test_reload_stop(void **st)
{
    struct srv s;
    srv_start(&s);
    int code = -1;
    const char *a1[] = {"ufrpc", "reload", "--config", s.cfg_path};
    char *out = run(&code, 4, a1);
    assert_string_equal(out, "reload success\n");
    assert_int_equal(code, 0);
    assert_int_equal(atomic_load(&s.reloads), 1);
    assert_int_equal(atomic_load(&s.last_strict), 1);
    free(out);
    const char *a2[] = {"ufrpc", "--strict_config=false", "reload", "-c", s.cfg_path};
    out = run(&code, 5, a2);
    assert_string_equal(out, "reload success\n");
    assert_int_equal(atomic_load(&s.last_strict), 0);
    free(out);
    s.reload_result = UFRPC_ADMIN_RELOAD_INVALID;
    out = run(&code, 4, a1);
    assert_string_equal(out, "api status code [400]\n");
    assert_int_equal(code, 1);
    free(out);

    const char *a3[] = {"ufrpc", "stop", "-c", s.cfg_path, "--api-timeout", "5s"};
    out = run(&code, 6, a3);
    assert_string_equal(out, "stop success\n");
    assert_int_equal(code, 0);
    free(out);
    for (int i = 0; i < 300 && atomic_load(&s.stops) == 0; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&s.stops), 1);
    srv_stop(&s);
}

static void test_auth_failure_and_no_port(void **st)
{
    struct srv s;
    srv_start(&s);
    char path[160], text[512];
    snprintf(path, sizeof path, "%s.bad.toml", s.cfg_path);
    snprintf(text, sizeof text,
             "webServer.port = %u\nwebServer.user = \"admin\"\nwebServer.password = \"wrong\"\n",
             (unsigned)s.port);
    write_file(path, text);
    int code = -1;
    const char *a1[] = {"ufrpc", "status", "-c", path};
    char *out = run(&code, 4, a1);
    assert_string_equal(out, "api status code [401]\n");
    assert_int_equal(code, 1);
    free(out);
    write_file(path, "serverPort = 7000\n");
    out = run(&code, 4, a1);
    assert_string_equal(out, "web server port should be set if you want to use this feature\n");
    assert_int_equal(code, 1);
    free(out);
    write_file(path, "serverPort = \"nope\"\n");
    out = run(&code, 4, a1);
    assert_int_equal(code, 1);
    assert_true(strlen(out) > 0);
    free(out);
    unlink(path);
    srv_stop(&s);
}

static uint16_t free_port(int *keep_fd, bool listen_it)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    if (listen_it) {
        assert_int_equal(listen(fd, 8), 0);
        *keep_fd = fd;
    } else {
        close(fd);
    }
    return ntohs(sa.sin_port);
}

static void test_transport_errors(void **st)
{
    char path[128], text[256], want[256];
    snprintf(path, sizeof path, "/tmp/ufrpc-cli-admin-t-%d.toml", (int)getpid());
    /* refused */
    uint16_t port = free_port(NULL, false);
    snprintf(text, sizeof text, "webServer.port = %u\n", (unsigned)port);
    write_file(path, text);
    int code = -1;
    const char *a1[] = {"ufrpc", "status", "-c", path};
    char *out = run(&code, 4, a1);
    snprintf(want, sizeof want,
             "Get \"http://127.0.0.1:%u/api/status\": dial tcp 127.0.0.1:%u: connect: connection "
             "refused\n",
             (unsigned)port, (unsigned)port);
    /* qemu-user for mips(el) reports the host errno (testutil.h) */
    if (!ufrpc_test_so_error_untranslated())
        assert_string_equal(out, want);
    assert_int_equal(code, 1);
    free(out);
    /* a server that accepts (backlog) but never answers: the deadline */
    int lfd = -1;
    port = free_port(&lfd, true);
    snprintf(text, sizeof text, "webServer.port = %u\n", (unsigned)port);
    write_file(path, text);
    const char *a2[] = {"ufrpc", "stop", "-c", path, "--api_timeout=300ms"};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    out = run(&code, 5, a2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    snprintf(want, sizeof want,
             "Post \"http://127.0.0.1:%u/api/stop\": context deadline exceeded\n", (unsigned)port);
    assert_string_equal(out, want);
    assert_int_equal(code, 1);
    assert_true(ms >= 280 && ms < 3000);
    free(out);
    close(lfd);
    unlink(path);
}

static void test_flags_and_durations(void **st)
{
    int64_t ms = 0;
    assert_int_equal(ufrpc_cli_admin_parse_duration("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(ufrpc_cli_admin_parse_duration("1m30s", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(ufrpc_cli_admin_parse_duration("1.5h", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(ufrpc_cli_admin_parse_duration("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(ufrpc_cli_admin_parse_duration("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ufrpc_cli_admin_parse_duration("-2s", &ms), 0);
    assert_int_equal(ms, -2000);
    const char *bad[] = {"", "s", "1", "1x", "1e3s", "ms", "1..2s", "-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ufrpc_cli_admin_parse_duration(bad[i], &ms), UFRPC_ERR_INVAL);


    int code = -1;
    const char *b1[] = {"ufrpc", "status", "--bogus"};
    char *out = run(&code, 3, b1);
    assert_int_equal(code, 1);
    assert_non_null(strstr(out, "unknown flag: --bogus"));
    free(out);
    const char *b2[] = {"ufrpc", "status", "--api-timeout", "soon"};
    out = run(&code, 4, b2);
    assert_int_equal(code, 1);
    assert_non_null(strstr(out, "invalid duration \"soon\""));
    free(out);
    const char *b3[] = {"ufrpc", "status", "-c", "/nonexistent/frpc.toml"};
    out = run(&code, 4, b3);
    assert_int_equal(code, 1);
    free(out);
}

static void test_http_client_direct(void **st)
{
    struct srv s;
    srv_start(&s);
    int status = 0;
    char *body = NULL, err[512];
    size_t len = 0;
    /* PUT then GET /api/config through the client helper */
    const char *text = "serverPort = 7000\n";
    assert_int_equal(ufrpc_cli_admin_http("127.0.0.1", s.port, "admin", "p@ss word", "PUT",
                                          "/api/config", text, strlen(text), 5000, &status, &body,
                                          &len, err, sizeof err),
                     0);
    assert_int_equal(status, 200);
    free(body);
    assert_int_equal(ufrpc_cli_admin_http("127.0.0.1", s.port, "admin", "p@ss word", "GET",
                                          "/api/config", NULL, 0, 5000, &status, &body, &len, err,
                                          sizeof err),
                     0);
    assert_int_equal(status, 200);
    assert_string_equal(body, text);
    assert_int_equal(len, strlen(text));
    free(body);
    assert_int_equal(ufrpc_cli_admin_http("127.0.0.1", s.port, NULL, NULL, "GET", "/healthz", NULL,
                                          0, 5000, &status, &body, &len, err, sizeof err),
                     0);
    assert_int_equal(status, 200);
    assert_int_equal(len, 0);
    free(body);
    srv_stop(&s);
}

/* A one-shot raw HTTP server answering with canned bytes (as a Go frpc might: chunked). */
struct canned {
    int lfd;
    const char *answer;
    pthread_t th;
};

static void *canned_thread(void *arg)
{
    struct canned *c = arg;
    int fd = accept(c->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) { /* read the request head */
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    send(fd, c->answer, strlen(c->answer), MSG_NOSIGNAL);
    close(fd);
    return NULL;
}

static char *status_from_canned(const char *answer, int *code)
{
    struct canned c = {.answer = answer};
    uint16_t port = free_port(&c.lfd, true);
    assert_int_equal(pthread_create(&c.th, NULL, canned_thread, &c), 0);
    char path[128], text[64];
    snprintf(path, sizeof path, "/tmp/ufrpc-cli-admin-c-%d.toml", (int)getpid());
    snprintf(text, sizeof text, "webServer.port = %u\n", (unsigned)port);
    write_file(path, text);
    const char *argv[] = {"ufrpc", "status", "-c", path};
    char *out = run(code, 4, argv);
    pthread_join(c.th, NULL);
    close(c.lfd);
    unlink(path);
    return out;
}

static void test_status_edge_answers(void **st)
{
    int code = -1;
    /* chunked JSON (Go's server for larger bodies), with a multi-line error cell */
    const char *json =
        "{\"udp\":[{\"name\":\"d\",\"type\":\"udp\",\"status\":\"start error\",\"err\":"
        "\"a\\nbc\",\"local_addr\":\"\",\"plugin\":\"\",\"remote_addr\":\"\"}]}\n";
    char answer[1024];
    size_t jl = strlen(json), half = jl / 2;
    snprintf(
        answer, sizeof answer,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
        half, (int)half, json, jl - half, json + half);
    char *out = status_from_canned(answer, &code);
    const char *want = "Proxy Status...\n\n"
                       "UDP\n"
                       "Name  Status       LocalAddr  Plugin  RemoteAddr  Error  \n"
                       "d     start error                                 a      \n"
                       "                                                  bc     \n"
                       "\n";
    assert_string_equal(out, want);
    assert_int_equal(code, 0);
    free(out);
    /* not JSON */
    out = status_from_canned("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n  not json", &code);
    assert_string_equal(out, "unmarshal http response error: not json\n");
    assert_int_equal(code, 1);
    free(out);
    /* closed without an answer */
    out = status_from_canned("", &code);
    assert_non_null(strstr(out, "/api/status\": EOF\n"));
    assert_int_equal(code, 1);
    free(out);
    /* a body delimited by the close */
    out = status_from_canned("HTTP/1.0 200 OK\r\n\r\n{}", &code);
    assert_string_equal(out, "Proxy Status...\n\n");
    assert_int_equal(code, 0);
    free(out);
}

static void test_status_empty(void **st)
{
    struct srv s;
    srv_start(&s);
    atomic_store(&s.hide_registry, 1); /* not connected: {} */
    int code = -1;
    const char *argv[] = {"ufrpc", "status", "-c", s.cfg_path};
    char *out = run(&code, 4, argv);
    assert_string_equal(out, "Proxy Status...\n\n");
    assert_int_equal(code, 0);
    free(out);
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_reload_stop),
        cmocka_unit_test(test_auth_failure_and_no_port),
        cmocka_unit_test(test_transport_errors),
        cmocka_unit_test(test_flags_and_durations),
        cmocka_unit_test(test_http_client_direct),
        cmocka_unit_test(test_status_edge_answers),
        cmocka_unit_test(test_status_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
