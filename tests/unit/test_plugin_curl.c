/* End-to-end checks with curl as the user: `curl --socks5-hostname` and
 * `curl -x` (plain and CONNECT tunnel, with and without proxy credentials)
 * through the socks5 and http_proxy plugins, and curl against static_file.
 * Loopback only; skipped when curl is missing. */
#include <sys/stat.h>

#include "test_plugin_harness.h"

static char out[65536];

static void test_curl_socks5(void **state)
{
    (void)state;
    if (!have_tool("curl"))
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_SOCKS5};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int rc = run_cmd(out, sizeof out,
                     "curl -s --max-time 10 --socks5-hostname 127.0.0.1:%u -d via-socks "
                     "http://localhost:%u/s5 2>&1",
                     h.port, o.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:via-socks");
    /* socks5 with local resolution (IPv4 address in the request) */
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 --socks5 127.0.0.1:%u http://127.0.0.1:%u/s5b 2>&1", h.port,
                 o.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:");
    ph_stop(&h);

    cfg.username = "bob";
    cfg.password = "pw";
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 -x socks5h://bob:pw@127.0.0.1:%u http://localhost:%u/a "
                 "2>&1",
                 h.port, o.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:");
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 -x socks5h://bob:bad@127.0.0.1:%u http://localhost:%u/a",
                 h.port, o.port);
    assert_int_not_equal(rc, 0);
    assert_true(ph_logged(&h, "wrong username or password"));
    ph_stop(&h);
    origin_stop(&o);
}

static void test_curl_http_proxy(void **state)
{
    (void)state;
    if (!have_tool("curl"))
        skip();
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    struct ufrpc_plugin_config cfg = {
        .type = UFRPC_PLUGIN_HTTP_PROXY, .http_user = "u", .http_password = "p"};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    /* plain absolute-URI request */
    int rc = run_cmd(out, sizeof out,
                     "curl -s --max-time 10 -x http://127.0.0.1:%u -U u:p -d plain "
                     "http://127.0.0.1:%u/p 2>&1",
                     h.port, o.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:plain");
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "POST /p HTTP/1.1\r\n", 18) == 0);
    assert_null(strcasestr(head, "Proxy-Authorization"));
    /* CONNECT tunnel (-p) */
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 -p -x http://127.0.0.1:%u -U u:p http://127.0.0.1:%u/t "
                 "2>&1",
                 h.port, o.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "echo:");
    /* no credentials: 407 */
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 -o /dev/null -w '%%{http_code}' -x http://127.0.0.1:%u "
                 "http://127.0.0.1:%u/n",
                 h.port, o.port);
    assert_string_equal(out, "407");
    ph_stop(&h);
    origin_stop(&o);
}

static void test_curl_static_file(void **state)
{
    (void)state;
    if (!have_tool("curl"))
        skip();
    char root[128], p[200];
    snprintf(root, sizeof root, "/tmp/ufrpc-curl-static-%d", (int)getpid());
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/index.html", root);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("<h1>index</h1>", f);
    fclose(f);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_STATIC_FILE, .local_path = root};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int rc = run_cmd(out, sizeof out,
                     "curl -s --max-time 10 http://127.0.0.1:%u/ http://127.0.0.1:%u/index.html",
                     h.port, h.port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "<h1>index</h1><h1>index</h1>");
    rc = run_cmd(out, sizeof out,
                 "curl -s --max-time 10 --path-as-is -o /dev/null -w '%%{http_code}' "
                 "http://127.0.0.1:%u/../../etc/passwd",
                 h.port);
    assert_string_equal(out, "400");
    ph_stop(&h);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_socks5),
        cmocka_unit_test(test_curl_http_proxy),
        cmocka_unit_test(test_curl_static_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
