/* U+0000 in configuration strings: the readers keep it (TOML/JSON/YAML escapes),
 * and config/schema.c refuses every key or value with a NUL that the config would
 * hand on as a C string, naming the key and file:line, instead of cutting it (a
 * cut "tcp\u0000x" would have been read as "tcp", "1MB\u0000x" as 1 MB). Keys the
 * config does not keep only have to match whole. */
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

static const char *const no_env[] = {NULL};

static int load_as(const char *name, const char *text, bool strict, struct ufrpc_config **c,
                   struct ufrpc_cfg_diag *d)
{
    struct ufrpc_config_load_opts o = {.envp = no_env, .non_strict = !strict};
    ufrpc_cfg_diag_init(d);
    return ufrpc_config_load_buffer(text, strlen(text), name, &o, c, d);
}

struct nul_case {
    const char *toml;
    uint32_t line;
    const char *msg;
};

#define P(x) "[[proxies]]\nname = \"p\"\ntype = \"tcp\"\nlocalPort = 22\n" x
#define NUL_MSG ": the value contains U+0000 (NUL) at byte "
static const struct nul_case cases[] = {
    {"serverAddr = \"example.com\\u0000.evil\"\n", 1, "serverAddr" NUL_MSG "11;"},
    {"user = \"u\"\nauth.token = \"a\\u0000\"\n", 2, "auth.token" NUL_MSG "1;"},
    {"includes = [\"a.toml\", \"\\u0000b.toml\"]\n", 1, "includes[1]" NUL_MSG "0;"},
    {"metadatas.\"k\\u0000\" = \"v\"\n", 1, "metadatas.k\\x00: the key contains U+0000 (NUL) at byte 1"},
    {"metadatas.k = \"v\\u0000\"\n", 1, "metadatas.k" NUL_MSG "1;"},
    {"featureGates.\"VirtualNet\\u0000\" = true\n", 1, "featureGates.VirtualNet\\x00: the key contains"},
    {"log.to = \"\"\"\n/var/log/\\u0000frpc.log\"\"\"\n", 1, "log.to" NUL_MSG "9;"},
    {"[[proxies]]\nname = \"p\"\ntype = \"tcp\\u0000x\"\n", 3, "proxies[0] (p).type" NUL_MSG "3;"},
    {"[[proxies]]\nname = \"p\\u0000\"\ntype = \"tcp\"\nlocalPort = 22\n", 2,
     "proxies[0] (p\\x00).name" NUL_MSG "1;"},
    {P("localIP = \"127.0.0.1\\u0000\"\n"), 5, "proxies[0] (p).localIP" NUL_MSG "9;"},
    {P("transport.bandwidthLimit = \"1MB\\u0000x\"\n"), 5, "transport.bandwidthLimit" NUL_MSG "3;"},
    {P("plugin.type = \"http_proxy\\u0000\"\n"), 5, "plugin.type" NUL_MSG "10;"},
    {P("plugin.type = \"unix_domain_socket\"\nplugin.unixPath = \"/tmp/s\\u0000\"\n"), 6,
     "plugin.unixPath" NUL_MSG "6;"},
    {P("healthCheck.type = \"http\"\nhealthCheck.path = \"/\"\n"
       "healthCheck.httpHeaders = [{name = \"X\", value = \"v\\u0000\"}]\n"),
     7, "healthCheck.httpHeaders[0].value" NUL_MSG "1;"},
    {"[[proxies]]\nname = \"w\"\ntype = \"http\"\nlocalPort = 80\ncustomDomains = [\"a.example\"]\n"
     "requestHeaders.set.\"X-A\\u0000\" = \"1\"\n",
     6, "requestHeaders.set.X-A\\x00: the key contains"},
    {"[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"s\\u0000\"\nbindPort = 9000\n", 4,
     "visitors[0] (v).serverName" NUL_MSG "1;"},
};

static void test_nul_refused_with_key_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct ufrpc_config *c = (struct ufrpc_config *)1;
        struct ufrpc_cfg_diag d;
        int rc = load_as("nul.toml", cases[i].toml, true, &c, &d);
        const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, cases[i].msg);
        if (rc >= 0 || it == NULL || it->err.line != cases[i].line) {
            ufrpc_cfg_diag_print(&d, stderr);
            fail_msg("case %zu: want error at line %u \"%s\" for:\n%s", i, cases[i].line,
                     cases[i].msg, cases[i].toml);
        }
        assert_null(c);
        assert_int_equal(it->err.code, UFRPC_ERR_CONFIG_VALUE);
        assert_string_equal(it->err.file, "nul.toml");
        assert_non_null(strstr(it->err.msg, "would cut it there"));
        ufrpc_cfg_diag_free(&d);
    }
}

/* The same refusal for the other readers that decode \u0000 (JSON, YAML). */
static void test_nul_refused_in_json_and_yaml(void **state)
{
    (void)state;
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    int rc = load_as("nul.json", "{\n  \"user\": \"u\",\n  \"serverAddr\": \"a\\u0000b\"\n}\n", true,
                     &c, &d);
    const struct ufrpc_cfg_diag_item *it =
        ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "serverAddr" NUL_MSG "1;");
    assert_true(rc < 0);
    assert_null(c);
    assert_non_null(it);
    assert_int_equal(it->err.line, 3);
    assert_string_equal(it->err.file, "nul.json");
    ufrpc_cfg_diag_free(&d);

    rc = load_as("nul.yaml", "user: u\nmetadatas:\n  \"a\\0\": b\n", true, &c, &d);
    it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "metadatas.a\\x00: the key contains U+0000");
    assert_true(rc < 0);
    assert_null(c);
    assert_non_null(it);
    assert_int_equal(it->err.line, 3);
    ufrpc_cfg_diag_free(&d);
}

/* A key with a NUL is not the field it would be when cut, and a NUL that the
 * config never keeps (under an ignored unknown key) is no error. */
static void test_nul_key_is_not_the_field(void **state)
{
    (void)state;
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    const char *text = "\"serverAddr\\u0000\" = \"10.0.0.1\"\nserverPort = 7001\n";
    int rc = load_as("nul.toml", text, true, &c, &d);
    assert_true(rc < 0);
    assert_null(c);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "unknown key \"serverAddr\\x00\""));
    ufrpc_cfg_diag_free(&d);

    text = "\"serverAddr\\u0000\" = \"10.0.0.1\"\nserverPort = 7001\nunknownThing = \"a\\u0000b\"\n";
    rc = load_as("nul.toml", text, false, &c, &d);
    if (rc != 0) {
        ufrpc_cfg_diag_print(&d, stderr);
        fail_msg("non-strict load failed: %d", rc);
    }
    assert_non_null(c);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 2);
    assert_string_equal(ufrpc_cfg_str(c->server_addr), "0.0.0.0"); /* frpc's default */
    assert_int_equal(c->server_port, 7001);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_refused_with_key_and_line),
        cmocka_unit_test(test_nul_refused_in_json_and_yaml),
        cmocka_unit_test(test_nul_key_is_not_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
