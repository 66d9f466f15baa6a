/* Quick-run subcommands: argv -> TOML text -> ufrpc_config_load_buffer -> fields,
 * for every proxy type and a visitor; unknown, misplaced and malformed flags;
 * a missing local port rejected by the loader; string escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/cli/cli_quick.h"
#include "config/config.h"
#include "proto/error.h"
#include "testutil.h"

static int argc_of(char **argv)
{
    int n = 0;
    while (argv[n])
        n++;
    return n;
}

/* Builds and loads; returns the load result, *cfg set on success. */
static int load(char **argv, struct ufrpc_config **cfg, struct ufrpc_cfg_diag *diag)
{
    struct ufrpc_cli_quick_result r;
    int rc = ufrpc_cli_quick_build(argc_of(argv), argv, &r);
    if (rc != 0)
        fail_msg("build failed: %s", r.error);
    assert_false(r.help);
    assert_non_null(r.toml);
    assert_int_equal(r.len, strlen(r.toml));
    ufrpc_cfg_diag_init(diag);
    struct ufrpc_config_load_opts o = {0};
    *cfg = NULL;
    rc = ufrpc_config_load_buffer(r.toml, r.len, "quick.toml", &o, cfg, diag);
    ufrpc_cli_quick_result_free(&r);
    return rc;
}

static struct ufrpc_config *load_ok(char **argv)
{
    struct ufrpc_config *cfg;
    struct ufrpc_cfg_diag diag;
    int rc = load(argv, &cfg, &diag);
    if (rc != 0) {
        ufrpc_cfg_diag_print(&diag, stderr);
        fail_msg("load failed: %d", rc);
    }
    ufrpc_cfg_diag_free(&diag);
    return cfg;
}

/* Expects the build to fail with a message containing needle. */
static void build_fails(char **argv, const char *needle)
{
    struct ufrpc_cli_quick_result r;
    assert_int_equal(ufrpc_cli_quick_build(argc_of(argv), argv, &r), UFRPC_ERR_INVAL);
    assert_null(r.toml);
    if (!strstr(r.error, needle))
        fail_msg("error \"%s\" lacks \"%s\"", r.error, needle);
}

static void test_dispatch(void **state)
{
    (void)state;
    char *a[] = {"ufrpc", "tcp", NULL};
    char *b[] = {"ufrpc", "verify", NULL};
    char *c[] = {"ufrpc", NULL};
    char *d[] = {"ufrpc", "-c", "tcp", NULL};
    assert_true(ufrpc_cli_is_quick(2, a));
    assert_false(ufrpc_cli_is_quick(2, b));
    assert_false(ufrpc_cli_is_quick(1, c));
    assert_false(ufrpc_cli_is_quick(3, d));
}

static void test_tcp_common(void **state)
{
    (void)state;
    char *argv[] = {"ufrpc", "tcp", "-s", "frps.example.com", "--server_port=7001", "-p", "websocket",
                    "-t", "tok", "-u", "alice", "--client-id", "c1", "--tls-enable=false",
                    "--tls_server_name", "sni.example", "--dns_server", "8.8.8.8", "--log_level",
                    "debug", "--log_file=/tmp/x.log", "--log_max_days", "7", "--disable_log_color",
                    "-n", "ssh", "-i", "10.0.0.2", "-l22", "-r=6000", "--ue", "--uc=true",
                    "--bandwidth_limit", "1MB", "--bandwidth-limit-mode", "server",
                    "--metadatas", "a=1,b=2", "--annotations=k=v", NULL};
    struct ufrpc_config *cfg = load_ok(argv);
    assert_string_equal(cfg->server_addr, "frps.example.com");
    assert_int_equal(cfg->server_port, 7001);
    assert_string_equal(cfg->transport.protocol, "websocket");
    assert_string_equal(cfg->auth.token, "tok");
    assert_string_equal(cfg->user, "alice");
    assert_string_equal(cfg->client_id, "c1");
    assert_false(cfg->transport.tls.enable);
    assert_string_equal(cfg->transport.tls.files.server_name, "sni.example");
    assert_string_equal(cfg->dns_server, "8.8.8.8");
    assert_string_equal(cfg->log.level, "debug");
    assert_string_equal(cfg->log.to, "/tmp/x.log");
    assert_int_equal(cfg->log.max_days, 7);
    assert_true(cfg->log.disable_print_color);
    assert_int_equal(cfg->nproxies, 1);
    assert_int_equal(cfg->nvisitors, 0);
    const struct ufrpc_proxy_config *p = &cfg->proxies[0];
    assert_string_equal(p->name, "ssh");
    assert_int_equal(p->type, UFRPC_PROXY_TCP);
    assert_string_equal(p->local_ip, "10.0.0.2");
    assert_int_equal(p->local_port, 22);
    assert_int_equal(p->remote_port, 6000);
    assert_true(p->transport.use_encryption);
    assert_true(p->transport.use_compression);
    assert_string_equal(p->transport.bandwidth_limit, "1MB");
    assert_int_equal(p->transport.bandwidth_limit_bytes, 1024 * 1024);
    assert_string_equal(p->transport.bandwidth_limit_mode, "server");
    assert_int_equal(p->metadatas.len, 2);
    assert_string_equal(p->metadatas.items[0].key, "a");
    assert_string_equal(p->metadatas.items[1].value, "2");
    assert_int_equal(p->annotations.len, 1);
    assert_string_equal(p->annotations.items[0].key, "k");
    assert_string_equal(p->annotations.items[0].value, "v");
    ufrpc_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    char *argv[] = {"ufrpc", "udp", "-n", "dns", "-l", "53", NULL};
    struct ufrpc_config *cfg = load_ok(argv);
    assert_string_equal(cfg->server_addr, "127.0.0.1"); /* frpc's flag default */
    assert_int_equal(cfg->server_port, 7000);
    assert_true(cfg->transport.tls.enable);
    assert_string_equal(ufrpc_cfg_str(cfg->log.level), "info");
    assert_int_equal(cfg->proxies[0].type, UFRPC_PROXY_UDP);
    assert_string_equal(cfg->proxies[0].local_ip, "127.0.0.1");
    assert_int_equal(cfg->proxies[0].local_port, 53);
    assert_int_equal(cfg->proxies[0].remote_port, 0);
    assert_false(cfg->proxies[0].transport.use_encryption);
    ufrpc_config_free(cfg);
}

static void test_http_https_tcpmux(void **state)
{
    (void)state;
    char *h[] = {"ufrpc", "http", "-n", "web", "-l", "80", "-d", "a.example.com,b.example.com",
                 "--custom_domain", "c.example.com", "--sd", "sub", "--locations", "/,/api",
                 "--http_user", "u", "--http_pwd", "p", "--host_header_rewrite", "in.local", NULL};
    struct ufrpc_config *cfg = load_ok(h);
    const struct ufrpc_proxy_config *p = &cfg->proxies[0];
    assert_int_equal(p->type, UFRPC_PROXY_HTTP);
    assert_int_equal(p->custom_domains.len, 3);
    assert_string_equal(p->custom_domains.items[0], "a.example.com");
    assert_string_equal(p->custom_domains.items[2], "c.example.com");
    assert_string_equal(p->subdomain, "sub");
    assert_int_equal(p->locations.len, 2);
    assert_string_equal(p->locations.items[1], "/api");
    assert_string_equal(p->http_user, "u");
    assert_string_equal(p->http_password, "p");
    assert_string_equal(p->host_header_rewrite, "in.local");
    ufrpc_config_free(cfg);

    char *s[] = {"ufrpc", "https", "-n", "tls", "-l", "443", "-d", "s.example.com", NULL};
    cfg = load_ok(s);
    assert_int_equal(cfg->proxies[0].type, UFRPC_PROXY_HTTPS);
    assert_int_equal(cfg->proxies[0].custom_domains.len, 1);
    ufrpc_config_free(cfg);

    char *m[] = {"ufrpc", "tcpmux", "-n", "mux", "-l", "8080", "--mux", "httpconnect", "-d",
                 "m.example.com", "--http_user", "mu", NULL};
    cfg = load_ok(m);
    assert_int_equal(cfg->proxies[0].type, UFRPC_PROXY_TCPMUX);
    assert_string_equal(cfg->proxies[0].multiplexer, "httpconnect");
    assert_string_equal(cfg->proxies[0].http_user, "mu");
    ufrpc_config_free(cfg);
}

static void test_secret_types(void **state)
{
    (void)state;
    static const char *const types[] = {"stcp", "sudp", "xtcp"};
    static const ufrpc_proxy_type want[] = {UFRPC_PROXY_STCP, UFRPC_PROXY_SUDP, UFRPC_PROXY_XTCP};
    for (size_t i = 0; i < 3; i++) {
        char *argv[] = {"ufrpc", (char *)types[i], "-n", "secret", "-l", "5000", "--sk", "abc",
                        "--allow_users", "bob,carol", NULL};
        struct ufrpc_config *cfg = load_ok(argv);
        const struct ufrpc_proxy_config *p = &cfg->proxies[0];
        assert_int_equal(p->type, want[i]);
        assert_string_equal(p->secret_key, "abc");
        assert_int_equal(p->allow_users.len, 2);
        assert_string_equal(p->allow_users.items[1], "carol");
        ufrpc_config_free(cfg);
    }
}

static void test_visitor(void **state)
{
    (void)state;
    /* common flags may come before the `visitor` word, as with cobra */
    char *argv[] = {"ufrpc", "xtcp", "-t", "tok", "visitor", "-n", "v1", "--server_name",
                    "secret", "--server-user", "alice", "--sk", "abc", "--bind_addr", "127.0.0.2",
                    "--bind_port", "9000", "--ue", NULL};
    struct ufrpc_config *cfg = load_ok(argv);
    assert_int_equal(cfg->nproxies, 0);
    assert_int_equal(cfg->nvisitors, 1);
    assert_string_equal(cfg->auth.token, "tok");
    const struct ufrpc_visitor_config *v = &cfg->visitors[0];
    assert_int_equal(v->type, UFRPC_VISITOR_XTCP);
    assert_string_equal(v->name, "v1");
    assert_string_equal(v->server_name, "secret");
    assert_string_equal(v->server_user, "alice");
    assert_string_equal(v->secret_key, "abc");
    assert_string_equal(v->bind_addr, "127.0.0.2");
    assert_int_equal(v->bind_port, 9000);
    assert_true(v->transport.use_encryption);
    assert_false(v->transport.use_compression);
    ufrpc_config_free(cfg);

    char *s[] = {"ufrpc", "stcp", "visitor", "-n", "v2", "--server_name", "x", "--sk", "k",
                 "--bind_port", "9001", NULL};
    cfg = load_ok(s);
    assert_int_equal(cfg->visitors[0].type, UFRPC_VISITOR_STCP);
    ufrpc_config_free(cfg);
}

static void test_bad_flags(void **state)
{
    (void)state;
    char *a[] = {"ufrpc", "tcp", "--nope", "1", NULL};
    build_fails(a, "unknown flag: --nope");
    char *b[] = {"ufrpc", "http", "-r", "80", NULL}; /* remote_port is tcp/udp only */
    build_fails(b, "unknown shorthand flag: 'r'");
    char *c[] = {"ufrpc", "tcp", "--sk", "x", NULL};
    build_fails(c, "unknown flag: --sk");
    char *d[] = {"ufrpc", "tcp", "-l", "eighty", NULL};
    build_fails(d, "invalid argument \"eighty\" for \"-l, --local-port\"");
    char *e[] = {"ufrpc", "tcp", "-l", NULL};
    build_fails(e, "flag needs an argument: -l, --local-port");
    char *f[] = {"ufrpc", "tcp", "visitor", NULL};
    build_fails(f, "unexpected argument \"visitor\"");
    /* no -n: frpc's validation message, to be printed alone */
    char *noname[] = {"ufrpc", "tcp", "-P", "7000", "-l", "22", "-r", "6000", NULL};
    struct ufrpc_cli_quick_result nr;
    assert_int_equal(ufrpc_cli_quick_build(argc_of(noname), noname, &nr), UFRPC_ERR_INVAL);
    assert_string_equal(nr.error, "name should not be empty");
    assert_true(nr.validation);
    assert_null(nr.toml);
    char *novis[] = {"ufrpc", "stcp", "visitor", "--server-name", "x", "--sk", "k", NULL};
    build_fails(novis, "name is required");
    char *g[] = {"ufrpc", "stcp", "visitor", "-l", "22", NULL}; /* a proxy flag */
    build_fails(g, "unknown shorthand flag: 'l'");
    char *h[] = {"ufrpc", "tcp", "--ue=maybe", NULL};
    build_fails(h, "invalid argument \"maybe\"");
    char *i[] = {"ufrpc", "tcp", "--metadatas", "novalue", NULL};
    build_fails(i, "key=value");

    struct ufrpc_cli_quick_result r;
    char *help[] = {"ufrpc", "sudp", "visitor", "--help", NULL};
    assert_int_equal(ufrpc_cli_quick_build(4, help, &r), 0);
    assert_true(r.help);
    assert_true(r.visitor);
    assert_null(r.toml);
}

static void test_missing_local_port(void **state)
{
    (void)state;
    char *argv[] = {"ufrpc", "tcp", "-n", "ssh", "-r", "6000", NULL};
    struct ufrpc_config *cfg;
    struct ufrpc_cfg_diag diag;
    assert_int_not_equal(load(argv, &cfg, &diag), 0);
    assert_null(cfg);
    assert_non_null(ufrpc_cfg_diag_find(&diag, UFRPC_CFG_ERROR, "localPort"));
    ufrpc_cfg_diag_free(&diag);
}

static void test_escaping(void **state)
{
    (void)state;
    const char *tok = "a\"b\\c'd\ne\tf\x01g\x7f" "h\xc3\xa9]# = [x]";
    char *argv[] = {"ufrpc", "tcp", "-t", (char *)tok, "-n", "q\"n", "-l", "22",
                    "--http_user=x", NULL};
    /* --http_user is not a tcp flag: first the error, then without it */
    build_fails(argv, "unknown flag: --http_user");
    argv[8] = NULL;
    struct ufrpc_config *cfg = load_ok(argv);
    assert_string_equal(cfg->auth.token, tok);
    assert_string_equal(cfg->proxies[0].name, "q\"n");
    ufrpc_config_free(cfg);
}

static void test_usage(void **state)
{
    (void)state;
    char *out;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    ufrpc_cli_quick_usage(f, "http", false);
    fclose(f);
    assert_non_null(strstr(out, "--host-header-rewrite"));
    assert_non_null(strstr(out, "-s, --server-addr"));
    assert_null(strstr(out, "--remote-port"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),     cmocka_unit_test(test_tcp_common),
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_http_https_tcpmux),
        cmocka_unit_test(test_secret_types), cmocka_unit_test(test_visitor),
        cmocka_unit_test(test_bad_flags),    cmocka_unit_test(test_missing_local_port),
        cmocka_unit_test(test_escaping),     cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
