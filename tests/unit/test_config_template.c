/* Templating ({{ .Envs }}, parseNumberRange[Pair], trimming, errors with line),
 * includes (temp dir), INI range expansion and plugin mapping, and hostile input:
 * bad UTF-8, huge and deeply nested files give clear errors and no crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/cfg_internal.h"
#include "config/config.h"
#include "proto/error.h"
#include "testutil.h"

static const char *const env[] = {"FRP_HOST=1.2.3.4", "FRP_PORT=7443", NULL};

static int load(const char *text, const char *name, struct ufrpc_config **c, struct ufrpc_cfg_diag *d)
{
    struct ufrpc_config_load_opts o = {.envp = env};
    ufrpc_cfg_diag_init(d);
    return ufrpc_config_load_buffer(text, strlen(text), name, &o, c, d);
}

static char *render(const char *in, int *rc, struct ufrpc_cfg_diag *d)
{
    char *out = NULL;
    size_t n;
    ufrpc_cfg_diag_init(d);
    *rc = ufrpc_cfg_template_render(in, strlen(in), "t", env, d, &out, &n);
    if (*rc == 0)
        assert_int_equal(strlen(out), n);
    return out;
}

static void test_template_render(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    int rc;
    char *o = render("a={{ .Envs.FRP_HOST }} b={{.Envs.FRP_PORT}}", &rc, &d);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "a=1.2.3.4 b=7443");
    free(o);
    ufrpc_cfg_diag_free(&d);

    o = render("x={{ .Envs.NOPE }}", &rc, &d);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "x=<no value>"); /* what Go's text/template prints */
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "NOPE is not set"));
    free(o);
    ufrpc_cfg_diag_free(&d);

    o = render("{{- range $i, $v := parseNumberRange \"1-3,7\" }}\n[{{ $i }}:{{ $v }}]{{ end }}|", &rc, &d);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "\n[0:1]\n[1:2]\n[2:3]\n[3:7]|");
    free(o);
    ufrpc_cfg_diag_free(&d);

    o = render("{{ range $v := parseNumberRangePair \"10-11\" \"20-21\" -}}\n"
               "{{ $v.First }}>{{ $v.Second }};{{ $.Envs.FRP_PORT }}\n{{- end }}",
               &rc, &d);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "10>20;744311>21;7443");
    free(o);
    ufrpc_cfg_diag_free(&d);

    o = render("{{/* a comment */}}{{ range parseNumberRange \"5\" }}{{ . }}{{ else }}none{{ end }}", &rc, &d);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "5");
    free(o);
    ufrpc_cfg_diag_free(&d);

    static const struct {
        const char *in, *msg;
        uint32_t line;
    } bad[] = {
        {"a\nb {{ foo }}", "function foo not defined", 2},
        {"a\n\n{{ .Envs.X", "unclosed action", 3},
        {"{{ range parseNumberRange \"1-3\" }}x", "no matching {{end}}", 1},
        {"x\n{{ end }}", "unexpected {{end}}", 2},
        {"{{ range parseNumberRange \"3-1\" }}{{ end }}", "range number is invalid", 1},
        {"{{ range parseNumberRange \"1-a\" }}{{ end }}", "range number is invalid", 1},
        {"{{ range parseNumberRangePair \"1-3\" \"1-2\" }}{{ end }}", "not in pairs", 1},
        {"{{ range parseNumberRange \"1-9999999\" }}{{ end }}", "more than 65536", 1},
        {"{{ if .Envs.X }}y{{ end }}", "not supported", 1},
        {"{{ $x }}", "undefined variable", 1},
        {"{{ .Envs.X | printf }}", "pipelines are not supported", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o = render(bad[i].in, &rc, &d);
        assert_int_equal(rc, UFRPC_ERR_CONFIG_TEMPLATE);
        assert_null(o);
        const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, bad[i].msg);
        if (it == NULL) {
            ufrpc_cfg_diag_print(&d, stderr);
            fail_msg("template case %zu", i);
        }
        assert_int_equal(it->err.line, bad[i].line);
        ufrpc_cfg_diag_free(&d);
    }
}

static void test_template_in_config(void **state)
{
    (void)state;
    const char *t = "serverAddr = \"{{ .Envs.FRP_HOST }}\"\n"
                    "serverPort = {{ .Envs.FRP_PORT }}\n"
                    "{{- range $_, $v := parseNumberRangePair \"6000-6002\" \"7000-7002\" }}\n"
                    "[[proxies]]\n"
                    "name = \"tcp-{{ $v.First }}\"\n"
                    "type = \"tcp\"\n"
                    "localPort = {{ $v.First }}\n"
                    "remotePort = {{ $v.Second }}\n"
                    "{{- end }}\n";
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    assert_int_equal(load(t, "tpl.toml", &c, &d), 0);
    assert_string_equal(c->server_addr, "1.2.3.4");
    assert_int_equal(c->server_port, 7443);
    assert_int_equal(c->nproxies, 3);
    assert_string_equal(c->proxies[2].name, "tcp-6002");
    assert_int_equal(c->proxies[2].remote_port, 7002);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_includes(void **state)
{
    (void)state;
    char dir[] = "/tmp/ufrpc_inc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[300], p[400], main_text[1024];
    snprintf(sub, sizeof sub, "%s/confd", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(p, sizeof p, "%s/b.toml", sub);
    write_file(p, "[[proxies]]\nname = \"inc-b\"\ntype = \"tcp\"\nlocalPort = 2\n");
    snprintf(p, sizeof p, "%s/a.yaml.toml", sub);
    write_file(p, "proxies:\n  - {name: inc-a, type: udp, localPort: 1}\n");
    snprintf(p, sizeof p, "%s/skip.txt", sub);
    write_file(p, "garbage = [\n");
    snprintf(main_text, sizeof main_text,
             "includes = [\"%s/*.toml\"]\n[[proxies]]\nname = \"main\"\ntype = \"tcp\"\nlocalPort = 3\n", sub);
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    /* a.yaml.toml is YAML in a .toml file: frp's hint makes that a TOML error */
    assert_int_not_equal(load(main_text, "main.toml", &c, &d), 0);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "toml:"));
    ufrpc_cfg_diag_free(&d);
    snprintf(p, sizeof p, "%s/a.yaml.toml", sub);
    write_file(p, "[[visitors]]\nname = \"inc-v\"\ntype = \"stcp\"\nserverName = \"x\"\nbindPort = 9\n");
    assert_int_equal(load(main_text, "main.toml", &c, &d), 0);
    assert_int_equal(c->nproxies, 2);
    assert_string_equal(c->proxies[0].name, "main");
    assert_string_equal(c->proxies[1].name, "inc-b");
    assert_int_equal(c->nvisitors, 1);
    assert_non_null(strstr(c->proxies[1].source_file, "confd/b.toml"));
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* an included file may only hold proxies and visitors */
    snprintf(p, sizeof p, "%s/c.toml", sub);
    write_file(p, "serverPort = 1\n");
    assert_int_not_equal(load(main_text, "main.toml", &c, &d), 0);
    const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "not allowed in an included file");
    assert_non_null(it);
    assert_non_null(strstr(it->err.file, "c.toml"));
    assert_int_equal(it->err.line, 1);
    ufrpc_cfg_diag_free(&d);
    /* duplicate across files */
    write_file(p, "[[proxies]]\nname = \"main\"\ntype = \"tcp\"\nlocalPort = 1\n");
    assert_int_equal(load(main_text, "main.toml", &c, &d), UFRPC_ERR_CONFIG_DUPLICATE);
    ufrpc_cfg_diag_free(&d);
    unlink(p);
    /* missing directory */
    assert_int_not_equal(load("includes = [\"/nonexistent-ufrpc/*.toml\"]\n", "m.toml", &c, &d), 0);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "include: directory of"));
    ufrpc_cfg_diag_free(&d);
    /* legacy INI includes hold INI proxy sections */
    snprintf(p, sizeof p, "%s/x.ini", sub);
    write_file(p, "[common]\nserver_port = 1\n[inc_ini]\nlocal_port = 5\n");
    char ini[600];
    snprintf(ini, sizeof ini, "[common]\nincludes = %s/*.ini\n[m]\nlocal_port = 1\n", sub);
    assert_int_equal(load(ini, "m.ini", &c, &d), 0);
    assert_int_equal(c->nproxies, 2);
    assert_string_equal(c->proxies[1].name, "inc_ini");
    assert_int_equal(c->server_port, 7000); /* [common] of an included file is ignored */
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    unlink(p);
    snprintf(p, sizeof p, "%s/b.toml", sub);
    unlink(p);
    snprintf(p, sizeof p, "%s/a.yaml.toml", sub);
    unlink(p);
    snprintf(p, sizeof p, "%s/skip.txt", sub);
    unlink(p);
    rmdir(sub);
    rmdir(dir);
}

static void test_ini_details(void **state)
{
    (void)state;
    const char *t = "[common]\n"
                    "token = a;b # not a comment\n"
                    "  server_port = \"7001\"\n"
                    "unknown_key = 1\n"
                    "[range:r]\n"
                    "local_port = 100-101\n"
                    "remote_port = 200-201\n"
                    "[s]\n"
                    "type = stcp\n"
                    "sk = k\n"
                    "local_port = 1\n"
                    "plugin = socks5\n"
                    "plugin_user = u\n"
                    "plugin_bogus = x\n"
                    "remote_port = 9\n";
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    assert_int_equal(load(t, "x.ini", &c, &d), 0);
    assert_string_equal(c->auth.token, "a;b # not a comment");
    assert_int_equal(c->server_port, 7001);
    assert_int_equal(c->nproxies, 3);
    assert_string_equal(c->proxies[1].name, "r_0");
    assert_int_equal(c->proxies[2].local_port, 101);
    assert_int_equal(c->proxies[2].remote_port, 201);
    assert_string_equal(c->proxies[0].plugin.username, "u");
    const struct ufrpc_cfg_diag_item *w = ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "unknown_key");
    assert_non_null(w);
    assert_int_equal(w->err.line, 4);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "plugin_bogus"));
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "remote_port")); /* not for stcp */
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);

    static const struct {
        const char *ini, *msg;
    } bad[] = {
        {"[common]\nserver_port = abc\n", "server_port: invalid integer \"abc\""},
        {"[common]\ntcp_mux = maybe\n", "tcp_mux: invalid boolean"},
        {"[common]\n[range:r]\nlocal_port = 1-3\nremote_port = 1-2\n", "local ports number should be same"},
        {"[common]\n[range:r]\nlocal_port = 1-3\n", "local_port or remote_port is empty"},
        {"[common]\n[v]\nrole = visitor\n", "visitor type shouldn't be empty"},
        {"[common]\n[v]\nrole = boss\n", "role should be 'server' or 'visitor'"},
        {"[common]\n[p]\ntype = ftp\n", "unknown proxy type: ftp"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(load(bad[i].ini, "b.ini", &c, &d), 0);
        if (ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, bad[i].msg) == NULL) {
            ufrpc_cfg_diag_print(&d, stderr);
            fail_msg("ini case %zu", i);
        }
        ufrpc_cfg_diag_free(&d);
    }
}

static void test_hostile_input(void **state)
{
    (void)state;
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    /* bad UTF-8, in every format */
    static const char *const utf[] = {"a = 1\nuser = \"\xff\xfe\"\n", "[common]\nuser = \xc3\x28\n",
                                      "{\"user\": \"\xed\xa0\x80\"}", "user: \xf8\x88\x80\x80\x80\n"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(load(utf[i], "u", &c, &d), UFRPC_ERR_CONFIG_ENCODING);
        assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "invalid UTF-8"));
        ufrpc_cfg_diag_free(&d);
    }
    /* deep nesting in TOML, JSON and YAML */
    size_t n = 100000;
    char *deep = malloc(2 * n + 16);
    memcpy(deep, "a = ", 4);
    memset(deep + 4, '[', n);
    memset(deep + 4 + n, ']', n);
    deep[4 + 2 * n] = '\0';
    assert_int_not_equal(load(deep, "deep.toml", &c, &d), 0);
    assert_true(d.errors > 0);
    ufrpc_cfg_diag_free(&d);
    deep[0] = '{';
    memcpy(deep + 1, "\"a\":", 4);
    memset(deep + 5, '[', n - 1);
    memset(deep + 4 + n, ']', n);
    deep[4 + 2 * n] = '}';
    deep[5 + 2 * n] = '\0';
    assert_int_not_equal(load(deep, "deep.json", &c, &d), 0);
    assert_true(d.errors > 0);
    ufrpc_cfg_diag_free(&d);
    memcpy(deep, "a: ", 3);
    memset(deep + 3, '[', n);
    deep[3 + n] = '\0';
    assert_int_not_equal(load(deep, "deep.yaml", &c, &d), 0);
    ufrpc_cfg_diag_free(&d);
    free(deep);
    /* many unknown keys: every one reported up to the cap, no crash */
    size_t keys = 5000;
    char *big = malloc(keys * 16 + 1), *w = big;
    for (size_t i = 0; i < keys; i++)
        w += sprintf(w, "k%zu = 1\n", i);
    assert_int_equal(load(big, "big.toml", &c, &d), UFRPC_ERR_CONFIG_UNKNOWN_KEY);
    assert_int_equal(d.errors, keys);
    assert_int_equal(d.len, UFRPC_CFG_DIAG_MAX);
    assert_true(d.truncated);
    ufrpc_cfg_diag_free(&d);
    free(big);
    /* 20000 proxies load quickly */
    size_t np = 20000;
    big = malloc(np * 80 + 1);
    w = big;
    for (size_t i = 0; i < np; i++)
        w += sprintf(w, "[[proxies]]\nname = \"p%zu\"\ntype = \"tcp\"\nlocalPort = %zu\n", i, i % 60000 + 1);
    assert_int_equal(load(big, "many.toml", &c, &d), 0);
    assert_int_equal(c->nproxies, np);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    free(big);
    /* oversized input */
    struct ufrpc_config_load_opts o = {.max_file_size = 10};
    ufrpc_cfg_diag_init(&d);
    assert_int_equal(ufrpc_config_load_buffer("serverPort = 7000\n", 18, "s", &o, &c, &d), UFRPC_ERR_LIMIT);
    ufrpc_cfg_diag_free(&d);
    /* a long INI line (beyond libinih's old 200-byte limit) loads whole */
    char longline[1200];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "[common]\nuser = ", 16);
    longline[sizeof longline - 1] = '\0';
    assert_int_equal(load(longline, "l.ini", &c, &d), 0);
    assert_int_equal(strlen(c->user), sizeof longline - 1 - 16);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* missing file */
    ufrpc_cfg_diag_init(&d);
    assert_int_equal(ufrpc_config_load("/nonexistent/frpc.toml", NULL, &c, &d), UFRPC_ERR_CONFIG_IO);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "cannot open"));
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_render), cmocka_unit_test(test_template_in_config),
        cmocka_unit_test(test_includes),        cmocka_unit_test(test_ini_details),
        cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
