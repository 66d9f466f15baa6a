/* Every validation rule rejects what it should, with its message and file:line;
 * all problems are reported at once; strict vs non-strict unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "proto/error.h"
#include "testutil.h"

static const char *const no_env[] = {NULL};

struct case_ {
    const char *toml;
    const char *msg;
};

#define P(x) "[[proxies]]\nname = \"p\"\n" x
static const struct case_ cases[] = {
    {"serverPort = 70000\n", "serverPort: port number 70000 must be in the range 1..65535"},
    {"serverPort = \"7000\"\n", "serverPort: expected an integer, got string \"7000\""},
    {"webServer.port = 70000\n", "webServer.port: port number 70000"},
    {"auth.method = \"foo\"\n", "invalid auth method \"foo\""},
    {"auth.additionalScopes = [\"Pings\"]\n", "invalid auth additional scope \"Pings\""},
    {"auth.token = \"x\"\nauth.tokenSource.type = \"file\"\nauth.tokenSource.file.path = \"/t\"\n",
     "cannot specify both auth.token and auth.tokenSource"},
    {"auth.tokenSource.type = \"env\"\n", "unsupported value source type: env"},
    {"auth.tokenSource.type = \"file\"\n", "file configuration is required"},
    {"auth.method = \"oidc\"\n", "auth.oidc.clientID is required"},
    {"auth.method = \"oidc\"\nauth.oidc.clientID = \"c\"\nauth.oidc.tokenEndpointURL = \"ftp://x\"\n",
     "tokenEndpointURL must be an absolute http or https URL"},
    {"transport.protocol = \"udp\"\n", "transport.protocol: invalid value \"udp\""},
    {"transport.wireProtocol = \"v3\"\n", "transport.wireProtocol: invalid value \"v3\""},
    {"log.level = \"verbose\"\n", "invalid log level \"verbose\""},
    {"transport.heartbeatInterval = 60\ntransport.heartbeatTimeout = 30\n", "heartbeat timeout should not less"},
    {"webServer.tls.keyFile = \"k\"\n", "webServer.tls.certFile must be specified"},
    {"virtualNet.address = \"100.86.1.1/24\"\n", "VirtualNet feature is not enabled"},
    {P("type = \"tcp\"\n"), "proxy [p]: localPort is required"},
    {P("type = \"tcp\"\nlocalPort = 70000\n"), "proxy [p]: localPort: port number 70000"},
    {P("type = \"tcp\"\nlocalPort = 22\nremotePort = -1\n"), "remotePort: port number -1"},
    {P("type = \"tcp\"\nlocalPort = 22\ntransport.bandwidthLimit = \"1GB\"\n"), "invalid bandwidth \"1GB\""},
    {P("type = \"tcp\"\nlocalPort = 22\ntransport.bandwidthLimitMode = \"both\"\n"),
     "bandwidth limit mode should be client or server"},
    {P("type = \"tcp\"\nlocalPort = 22\ntransport.proxyProtocolVersion = \"v3\"\n"),
     "not support proxy protocol version: v3"},
    {P("type = \"foo\"\n"), "unknown proxy type: foo"},
    {P("localPort = 1\n"), "type is required"},
    {P("type = \"tcp\"\nlocalPort = 22\nplugin.type = \"foo\"\n"), "unknown plugin type \"foo\""},
    {P("type = \"tcp\"\nplugin.type = \"static_file\"\n"), "plugin static_file: localPath is required"},
    {P("type = \"tcp\"\nplugin.type = \"unix_domain_socket\"\n"), "unixPath is required"},
    {P("type = \"https\"\nplugin.type = \"https2http\"\ncustomDomains = [\"a\"]\n"), "localAddr is required"},
    {P("type = \"tcp\"\nlocalPort = 22\nhealthCheck.type = \"udp\"\n"), "not support health check type: udp"},
    {P("type = \"tcp\"\nlocalPort = 22\nhealthCheck.type = \"http\"\n"), "health check path should not be empty"},
    {P("type = \"http\"\nlocalPort = 80\n"), "subdomain and custom domains should not be both empty"},
    {P("type = \"https\"\nlocalPort = 80\n"), "subdomain and custom domains should not be both empty"},
    {P("type = \"tcpmux\"\nlocalPort = 80\ncustomDomains = [\"a\"]\n"), "not support multiplexer"},
    {P("type = \"http\"\nlocalPort = 80\nsubdomain = \"a\"\nlocations = [\"api\"]\n"),
     "location \"api\" must start with '/'"},
    {P("type = \"http\"\nlocalPort = 80\nsubdomain = \"a\"\nremotePort = 1\n"), "unknown key \"proxies[0] (p).remotePort\""},
    {P("type = \"tcp\"\nlocalPort = 22\nannotations.\"-bad\" = \"x\"\n"), "annotation key -bad is invalid"},
    {"[[visitors]]\nname = \"v\"\ntype = \"tcp\"\n", "unknown visitor type: tcp"},
    {"[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nbindPort = 1\n", "server name is required"},
    {"[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"s\"\n", "bind port is required"},
    {"[[visitors]]\nname = \"v\"\ntype = \"xtcp\"\nserverName = \"s\"\nbindPort = 1\nprotocol = \"tcp\"\n",
     "protocol should be kcp or quic"},
    {"[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"s\"\nbindPort = 1\nplugin.type = \"socks5\"\n",
     "unknown visitor plugin type \"socks5\""},
    {"transport.foo = 1\n", "unknown key \"transport.foo\""},
    {"proxies = 3\n", "proxies: expected an array of tables, got integer"},
    {"loginFailExit = \"yes\"\n", "loginFailExit: expected a boolean"},
    {"start = \"a\"\n", "start: expected an array of strings"},
    {"metadatas.a = 1\n", "metadatas.a: expected a string, got integer"},
};

static int load(const char *text, bool strict, struct ufrpc_config **c, struct ufrpc_cfg_diag *d)
{
    struct ufrpc_config_load_opts o = {.envp = no_env, .non_strict = !strict};
    ufrpc_cfg_diag_init(d);
    return ufrpc_config_load_buffer(text, strlen(text), "t.toml", &o, c, d);
}

static void test_each_rule(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct ufrpc_config *c = NULL;
        struct ufrpc_cfg_diag d;
        int rc = load(cases[i].toml, true, &c, &d);
        if (rc == 0 || ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, cases[i].msg) == NULL) {
            ufrpc_cfg_diag_print(&d, stderr);
            fail_msg("case %zu: expected error \"%s\" for:\n%s", i, cases[i].msg, cases[i].toml);
        }
        assert_null(c);
        const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, cases[i].msg);
        assert_string_equal(it->err.file, "t.toml");
        ufrpc_cfg_diag_free(&d);
    }
}

static void test_positions_and_all_errors(void **state)
{
    (void)state;
    const char *text = "serverPort = 70000\n"       /* 1 */
                       "log.level = \"loud\"\n"     /* 2 */
                       "\n"                         /* 3 */
                       "[[proxies]]\n"              /* 4 */
                       "name = \"a\"\n"             /* 5 */
                       "type = \"tcp\"\n"           /* 6 */
                       "localPort = 22\n"           /* 7 */
                       "remotePort = 99999\n"       /* 8 */
                       "bogus = 1\n";               /* 9 */
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    assert_int_not_equal(load(text, true, &c, &d), 0);
    assert_int_equal(d.errors, 4);
    assert_int_equal(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "serverPort")->err.line, 1);
    assert_int_equal(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "log level")->err.line, 2);
    assert_int_equal(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "remotePort")->err.line, 8);
    const struct ufrpc_cfg_diag_item *u = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "unknown key");
    assert_int_equal(u->err.line, 9);
    assert_int_equal(u->err.code, UFRPC_ERR_CONFIG_UNKNOWN_KEY);
    assert_non_null(strstr(u->err.msg, "bogus"));
    ufrpc_cfg_diag_free(&d);
}

static void test_non_strict_unknown_is_warning(void **state)
{
    (void)state;
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    assert_int_equal(load("serverPort = 7001\nfoo.bar = 1\n", false, &c, &d), 0);
    assert_non_null(c);
    assert_int_equal(c->server_port, 7001);
    assert_int_equal(d.errors, 0);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "unknown key \"foo\""));
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_http_route_conflict_names_both(void **state)
{
    (void)state;
    const char *text = "[[proxies]]\nname = \"one\"\ntype = \"http\"\nlocalPort = 80\n"
                       "customDomains = [\"WWW.example.com\"]\nlocations = [\"/api\"]\n"
                       "[[proxies]]\nname = \"two\"\ntype = \"http\"\nlocalPort = 81\n"
                       "customDomains = [\"www.example.com\"]\nlocations = [\"/api\", \"/x\"]\n"
                       "[[proxies]]\nname = \"three\"\ntype = \"http\"\nlocalPort = 82\n"
                       "subdomain = \"s\"\n"
                       "[[proxies]]\nname = \"four\"\ntype = \"http\"\nlocalPort = 83\n"
                       "subdomain = \"s\"\n"
                       "[[proxies]]\nname = \"five\"\ntype = \"http\"\nlocalPort = 84\n"
                       "customDomains = [\"www.example.com\"]\nlocations = [\"/api\"]\nrouteByHTTPUser = \"bob\"\n";
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    assert_int_not_equal(load(text, true, &c, &d), 0);
    assert_int_equal(d.errors, 2);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "http proxies [one] and [two] conflict"));
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "http proxies [three] and [four] conflict"));
    ufrpc_cfg_diag_free(&d);
    /* a load-balancing group may share a route */
    const char *grp = "[[proxies]]\nname = \"a\"\ntype = \"http\"\nlocalPort = 80\nsubdomain = \"s\"\n"
                      "loadBalancer.group = \"g\"\n"
                      "[[proxies]]\nname = \"b\"\ntype = \"http\"\nlocalPort = 81\nsubdomain = \"s\"\n"
                      "loadBalancer.group = \"g\"\n";
    assert_int_equal(load(grp, true, &c, &d), 0);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_duplicates_start_enabled(void **state)
{
    (void)state;
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    const char *dup = "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 1\n"
                      "[[proxies]]\nname = \"a\"\ntype = \"udp\"\nlocalPort = 2\n";
    assert_int_equal(load(dup, true, &c, &d), UFRPC_ERR_CONFIG_DUPLICATE);
    const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "proxy name [a] is duplicated");
    assert_non_null(it);
    assert_int_equal(it->err.line, 5);
    ufrpc_cfg_diag_free(&d);

    const char *f = "start = [\"a\", \"v\"]\n"
                    "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 1\n"
                    "[[proxies]]\nname = \"b\"\ntype = \"tcp\"\n" /* invalid but filtered out */
                    "[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"s\"\nbindPort = 5\n"
                    "[[visitors]]\nname = \"w\"\ntype = \"stcp\"\n";
    assert_int_equal(load(f, true, &c, &d), 0);
    assert_int_equal(c->nproxies, 1);
    assert_string_equal(c->proxies[0].name, "a");
    assert_int_equal(c->nvisitors, 1);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);

    const char *e = "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 1\nenabled = false\n"
                    "[[proxies]]\nname = \"b\"\ntype = \"tcp\"\nlocalPort = 2\nenabled = true\n"
                    "[[proxies]]\nname = \"c\"\ntype = \"tcp\"\nlocalPort = 3\n";
    assert_int_equal(load(e, true, &c, &d), 0);
    assert_int_equal(c->nproxies, 2);
    assert_string_equal(c->proxies[0].name, "b");
    assert_string_equal(c->proxies[1].name, "c");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_bandwidth_parse(void **state)
{
    (void)state;
    int64_t b;
    assert_int_equal(ufrpc_config_parse_bandwidth("1MB", &b), 0);
    assert_int_equal(b, 1048576);
    assert_int_equal(ufrpc_config_parse_bandwidth("512KB", &b), 0);
    assert_int_equal(b, 524288);
    assert_int_equal(ufrpc_config_parse_bandwidth("1.5MB", &b), 0);
    assert_int_equal(b, 1572864);
    assert_int_equal(ufrpc_config_parse_bandwidth("", &b), 0);
    assert_int_equal(b, 0);
    assert_int_not_equal(ufrpc_config_parse_bandwidth("10", &b), 0);
    assert_int_not_equal(ufrpc_config_parse_bandwidth("MB", &b), 0);
    assert_int_not_equal(ufrpc_config_parse_bandwidth("1mb", &b), 0);
    assert_int_not_equal(ufrpc_config_parse_bandwidth("-1MB", &b), 0);
    assert_int_not_equal(ufrpc_config_parse_bandwidth("xKB", &b), 0);
}

static void test_defaults(void **state)
{
    (void)state;
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    const char *env[] = {"http_proxy=http://u:pw@proxy:3128", NULL};
    struct ufrpc_config_load_opts o = {.envp = env};
    ufrpc_cfg_diag_init(&d);
    const char *t = "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 1\nhealthCheck.type = \"tcp\"\n"
                    "[[visitors]]\nname = \"v\"\ntype = \"xtcp\"\nserverName = \"s\"\nbindPort = 5\n";
    assert_int_equal(ufrpc_config_load_buffer(t, strlen(t), "d.toml", &o, &c, &d), 0);
    assert_string_equal(c->server_addr, "0.0.0.0");
    assert_int_equal(c->server_port, 7000);
    assert_true(c->login_fail_exit);
    assert_true(c->transport.tls.enable);
    assert_true(c->transport.tls.disable_custom_tls_first_byte);
    assert_true(c->transport.tcp_mux);
    assert_int_equal(c->transport.heartbeat_interval, -1);
    assert_int_equal(c->transport.pool_count, 1);
    assert_int_equal(c->transport.dial_server_timeout, 10);
    assert_int_equal(c->transport.dial_server_keepalive, 7200);
    assert_string_equal(c->transport.proxy_url, "http://u:pw@proxy:3128");
    assert_string_equal(c->web_server.addr, "127.0.0.1");
    assert_string_equal(c->log.level, "info");
    assert_string_equal(c->log.to, "console");
    assert_int_equal(c->log.max_days, 3);
    assert_int_equal(c->udp_packet_size, 1500);
    assert_string_equal(c->proxies[0].local_ip, "127.0.0.1");
    assert_int_equal(c->proxies[0].health_check.interval_seconds, 10);
    assert_int_equal(c->proxies[0].health_check.timeout_seconds, 3);
    assert_int_equal(c->proxies[0].health_check.max_failed, 1);
    assert_string_equal(c->visitors[0].bind_addr, "127.0.0.1");
    assert_string_equal(c->visitors[0].protocol, "quic");
    /* the proxy URL's password is masked in dumps */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ufrpc_config_dump(c, f, false);
    fclose(f);
    assert_null(strstr(buf, ":pw@"));
    assert_non_null(strstr(buf, "http://u:***@proxy:3128"));
    free(buf);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_rule),
        cmocka_unit_test(test_positions_and_all_errors),
        cmocka_unit_test(test_non_strict_unknown_is_warning),
        cmocka_unit_test(test_http_route_conflict_names_both),
        cmocka_unit_test(test_duplicates_start_enabled),
        cmocka_unit_test(test_bandwidth_parse),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
