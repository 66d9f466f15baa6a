/* https2http, https2https, http2https, tls2raw plugins, driven by curl (TLS
 * client) and with socat as TLS terminator in front of the test origin where an
 * HTTPS backend is needed. Skipped when curl/socat/openssl are missing. */
#include <signal.h>
#include <sys/wait.h>

#include "test_plugin_harness.h"

static char dir[128], crt[200], key[200];
static char out[65536];
static char resp[65536];

static int setup(void **state)
{
    (void)state;
    if (!have_tool("curl") || !have_tool("openssl") || !have_tool("socat"))
        return 0;
    snprintf(dir, sizeof dir, "/tmp/ufrpc-plugin-tls-%d", (int)getpid());
    snprintf(crt, sizeof crt, "%s/c.pem", dir);
    snprintf(key, sizeof key, "%s/k.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout %s -out %s -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             dir, key, crt);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown_files(void **state)
{
    (void)state;
    if (dir[0] != '\0') {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static bool tools(void)
{
    return dir[0] != '\0';
}

/* socat TLS listener on a free port forwarding to 127.0.0.1:to. */
static pid_t start_socat(uint16_t *port, uint16_t to)
{
    *port = free_port();
    pid_t pid = fork();
    if (pid == 0) {
        char l[512], r[64];
        snprintf(l, sizeof l,
                 "OPENSSL-LISTEN:%u,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,verify=0", *port,
                 crt, key);
        snprintf(r, sizeof r, "TCP:127.0.0.1:%u", to);
        execlp("socat", "socat", l, r, (char *)NULL);
        _exit(127);
    }
    assert_true(wait_port(*port));
    return pid;
}

static void stop_socat(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_https2http(void **state)
{
    (void)state;
    if (!tools())
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", o.port);
    struct ufrpc_cfg_kv kv[] = {{"X-Set", "v"}};
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTPS2HTTP,
                                      .local_addr = la,
                                      .host_header_rewrite = "inner",
                                      .request_headers = {kv, 1}};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    h.src_addr = "10.1.2.3:5678";
    int rc = run_cmd(out, sizeof out,
                     "curl -sk --max-time 10 -H 'X-Forwarded-For: 1.1.1.1' -d 'posted' "
                     "https://127.0.0.1:%u/x/y 2>&1",
                     h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:posted");
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "POST /x/y HTTP/1.1\r\nHost: inner\r\n", 33) == 0);
    assert_non_null(strstr(head, "\r\nX-Forwarded-For: 1.1.1.1, 10.1.2.3\r\n"));
    assert_non_null(strstr(head, "\r\nX-Forwarded-Proto: https\r\n"));
    char xfh[64];
    snprintf(xfh, sizeof xfh, "\r\nX-Forwarded-Host: 127.0.0.1:%u\r\n", h.port);
    assert_non_null(strstr(head, xfh));
    assert_non_null(strstr(head, "\r\nX-Set: v\r\n"));
    /* two requests on one TLS connection */
    rc = run_cmd(out, sizeof out,
                 "curl -sk --max-time 10 https://127.0.0.1:%u/1 https://127.0.0.1:%u/2 2>&1",
                 h.port, h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:echo:");
    /* plain HTTP at a TLS plugin: handshake failure, logged */
    int fd = tcp_connect(h.port);
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "TLS handshake with the user failed"));
    ph_stop(&h);
    origin_stop(&o);
}

static void test_https2http_own_cert(void **state)
{
    (void)state;
    if (!tools())
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", o.port);
    struct ufrpc_plugin_config cfg = {
        .type = UFRPC_PLUGIN_HTTPS2HTTP, .local_addr = la, .crt_path = crt, .key_path = key};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    /* verification against our certificate succeeds only if the plugin serves it */
    int rc = run_cmd(out, sizeof out,
                     "curl -s --max-time 10 --cacert %s --resolve localhost:%u:127.0.0.1 "
                     "https://localhost:%u/ok 2>&1",
                     crt, h.port, h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:");
    ph_stop(&h);
    origin_stop(&o);
}

static void test_https2https_and_http2https(void **state)
{
    (void)state;
    if (!tools())
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    uint16_t sport;
    pid_t sp = start_socat(&sport, o.port);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", sport);

    struct ufrpc_plugin_config cfg = {
        .type = UFRPC_PLUGIN_HTTPS2HTTPS, .local_addr = la, .host_header_rewrite = "tls-backend"};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int rc = run_cmd(out, sizeof out, "curl -sk --max-time 10 -d abc https://127.0.0.1:%u/s 2>&1",
                     h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:abc");
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "POST /s HTTP/1.1\r\nHost: tls-backend\r\n", 37) == 0);
    ph_stop(&h);

    cfg.type = UFRPC_PLUGIN_HTTP2HTTPS;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /plain-in HTTP/1.1\r\nHost: outer\r\nX-Forwarded-Proto: http\r\n\r\n");
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:");
    /* big body through the TLS upstream */
    static char big[6000];
    memset(big, 'z', sizeof big);
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr,
                     "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", sizeof big);
    send_all(fd, hdr, (size_t)n);
    send_all(fd, big, sizeof big);
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_int_equal(strlen(b), 5 + sizeof big);
    close(fd);
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "POST /big HTTP/1.1\r\nHost: tls-backend\r\n", 39) == 0);
    ph_stop(&h);
    stop_socat(sp);
    origin_stop(&o);
}

static void test_http2https_keeps_forwarded_headers(void **state)
{
    (void)state;
    if (!tools())
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    uint16_t sport;
    pid_t sp = start_socat(&sport, o.port);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", sport);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTPS, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /f HTTP/1.1\r\nHost: outer\r\nX-Forwarded-For: 7.7.7.7\r\n\r\n");
    assert_non_null(recv_response(fd, resp, sizeof resp));
    close(fd);
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_non_null(strstr(head, "\r\nHost: outer\r\n"));
    assert_non_null(strstr(head, "\r\nX-Forwarded-For: 7.7.7.7\r\n"));
    ph_stop(&h);
    stop_socat(sp);
    origin_stop(&o);
}

static void test_tls2raw(void **state)
{
    (void)state;
    if (!tools())
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", o.port);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_TLS2RAW, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int rc = run_cmd(out, sizeof out,
                     "curl -sk --max-time 10 -H 'Host: untouched' https://127.0.0.1:%u/raw 2>&1",
                     h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:");
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /raw HTTP/1.1\r\nHost: untouched\r\n", 36) == 0);
    ph_stop(&h);
    origin_stop(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https2http),
        cmocka_unit_test(test_https2http_own_cert),
        cmocka_unit_test(test_https2https_and_http2https),
        cmocka_unit_test(test_http2https_keeps_forwarded_headers),
        cmocka_unit_test(test_tls2raw),
    };
    return cmocka_run_group_tests(tests, setup, teardown_files);
}
