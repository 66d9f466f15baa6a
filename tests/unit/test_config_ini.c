/* The go-ini compatible INI reader (config/ini_parse.c) and the legacy loader on top
 * of it: long lines, comments, quotes, multi-line and continued values, BOM, CRLF,
 * duplicate keys and sections, odd section names, boolean keys, syntax errors with
 * their line, detection with go-ini's default options, [range:] expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/cfg_internal.h"
#include "config/config.h"
#include "config/ini_parse.h"
#include "proto/error.h"

static const struct ufrpc_ini_opts frp = {.frp = true}, plain = {.frp = false};

static const char *val(const struct ufrpc_ini_doc *d, const char *sec, const char *key)
{
    const struct ufrpc_ini_section *s = ufrpc_ini_section(d, sec);
    if (s == NULL)
        return NULL;
    const struct ufrpc_ini_key *k = ufrpc_ini_key(s, key);
    return k ? k->value : NULL;
}

static uint32_t line_of(const struct ufrpc_ini_doc *d, const char *sec, const char *key)
{
    const struct ufrpc_ini_key *k = ufrpc_ini_key(ufrpc_ini_section(d, sec), key);
    assert_non_null(k);
    return k->line;
}

static void parse_ok(const char *t, const struct ufrpc_ini_opts *o, struct ufrpc_ini_doc *d)
{
    char err[160];
    uint32_t line;
    int rc = ufrpc_ini_parse(t, strlen(t), o, d, &line, err, sizeof err);
    if (rc != 0)
        fail_msg("line %u: %s", (unsigned)line, err);
}

static int load(const char *text, size_t len, struct ufrpc_config **c, struct ufrpc_cfg_diag *d)
{
    ufrpc_cfg_diag_init(d);
    static const char *const env[] = {"X=1", NULL};
    struct ufrpc_config_load_opts o = {.envp = env};
    return ufrpc_config_load_buffer(text, len, "t.ini", &o, c, d);
}

static void test_values(void **state)
{
    (void)state;
    struct ufrpc_ini_doc d;
    parse_ok("# comment\n"
             "; another\n"
             "top = 1\n"
             "[s]\n"
             "   ; indented comment\n"
             "a = x ; y # z\n"
             "b: colon:value=1\n"
             "c = \"quoted value\"\n"
             "d = 'single'\n"
             "e = \"in\"side\"\n"
             "f = \"\"\"multi\nline\nvalue\"\"\" trailing\n"
             "g = `back`tick`\n"
             "h = abc\\\n"
             "    def\\\n"
             "  ghi\n"
             "i =\n"
             "\"quoted key\" = q\n"
             "`tick key`: t\n"
             "bare\n"
             "- = one\n"
             "- = two\n"
             "spaced key   =   v  \n"
             "nb = \xc2\xa0v\xc2\xa0\n",
             &frp, &d);
    assert_string_equal(val(&d, "DEFAULT", "top"), "1");
    assert_string_equal(val(&d, "s", "a"), "x ; y # z"); /* IgnoreInlineComment */
    assert_string_equal(val(&d, "s", "b"), "colon:value=1");
    assert_string_equal(val(&d, "s", "c"), "quoted value");
    assert_string_equal(val(&d, "s", "d"), "single");
    assert_string_equal(val(&d, "s", "e"), "\"in\"side\"");
    assert_string_equal(val(&d, "s", "f"), "multi\nline\nvalue");
    assert_string_equal(val(&d, "s", "g"), "back`tick");
    assert_string_equal(val(&d, "s", "h"), "abcdefghi");
    assert_string_equal(val(&d, "s", "i"), "");
    assert_string_equal(val(&d, "s", "quoted key"), "q");
    assert_string_equal(val(&d, "s", "tick key"), "t");
    assert_string_equal(val(&d, "s", "bare"), "true"); /* AllowBooleanKeys */
    assert_string_equal(val(&d, "s", "#1"), "one");
    assert_string_equal(val(&d, "s", "#2"), "two");
    assert_string_equal(val(&d, "s", "spaced key"), "v");
    assert_string_equal(val(&d, "s", "nb"), "v"); /* Go trims U+00A0 too */
    assert_int_equal(line_of(&d, "s", "g"), 14);
    assert_int_equal(line_of(&d, "s", "i"), 18); /* after 3 + 3 joined lines */
    assert_int_equal(line_of(&d, "s", "nb"), 25);
    ufrpc_ini_doc_free(&d);

    /* go-ini's defaults (detection): inline comments cut the value */
    parse_ok("[s]\na = x ; y\nb = p#q\nc = \"v\" # c\n", &plain, &d);
    assert_string_equal(val(&d, "s", "a"), "x");
    assert_string_equal(val(&d, "s", "b"), "p");
    assert_string_equal(val(&d, "s", "c"), "v");
    ufrpc_ini_doc_free(&d);
}

static void test_sections_and_duplicates(void **state)
{
    (void)state;
    struct ufrpc_ini_doc d;
    parse_ok("\xef\xbb\xbf[common]\r\n"
             "server_addr = h\r\n"
             "token = first\r\n"
             "[ spaced ]\r\n"
             "k = 1\r\n"
             "[a]]] tail text\r\n"
             "[x.y:z/\xe5\xb8\xb8]\r\n"
             "[common]\r\n"
             "token = second\r\n"
             "user = u",
             &frp, &d);
    assert_int_equal(d.nsecs, 5);
    assert_string_equal(d.secs[0].name, "DEFAULT");
    assert_string_equal(d.secs[1].name, "common"); /* BOM skipped */
    assert_string_equal(d.secs[2].name, " spaced ");
    assert_string_equal(d.secs[3].name, "a]]");
    assert_string_equal(d.secs[4].name, "x.y:z/\xe5\xb8\xb8");
    assert_int_equal(d.secs[1].line, 1);
    assert_string_equal(val(&d, "common", "server_addr"), "h"); /* no '\r' */
    /* duplicate key: first position, last value and line; reopened section merges */
    assert_int_equal(d.secs[1].nkeys, 3);
    assert_string_equal(d.secs[1].keys[1].name, "token");
    assert_string_equal(d.secs[1].keys[1].value, "second");
    assert_int_equal(d.secs[1].keys[1].line, 9);
    assert_string_equal(val(&d, "common", "user"), "u");
    assert_null(ufrpc_ini_section(&d, "spaced"));
    assert_null(ufrpc_ini_section(&d, "Common")); /* case-sensitive */
    ufrpc_ini_doc_free(&d);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool frp_ok; /* accepted with frp's options */
        uint32_t line;
        const char *msg;
    } cases[] = {
        {"[common]\nkey\n", true, 2, "delimiter not found"},
        {"[common]\na = 1\n[abc\n", false, 3, "unclosed section"},
        {"[common]\n[]\n", false, 2, "empty section name"},
        {"[common]\n= v\n", false, 2, "empty key name"},
        {"[common]\n\"k = v\n", false, 2, "missing closing key quote"},
        {"[common]\nk = \"\"\"open\nmore\n", false, 2, "missing closing quote"},
        {"[common]\n\"\" = v\n", false, 2, "empty key name"},
        {"[common]\nk = a\0b\n", false, 2, "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].text);
        if (i == 7)
            len = 17;
        struct ufrpc_ini_doc d;
        char err[160];
        uint32_t line = 0;
        assert_int_equal(ufrpc_ini_parse(cases[i].text, len, &plain, &d, &line, err, sizeof err),
                         UFRPC_ERR_CONFIG_SYNTAX);
        ufrpc_ini_doc_free(&d);
        if (line != cases[i].line || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: line %u: %s", i, (unsigned)line, err);
        assert_false(ufrpc_ini_is_legacy(cases[i].text, len)); /* go-ini's Load fails */
        int rc = ufrpc_ini_parse(cases[i].text, len, &frp, &d, &line, err, sizeof err);
        ufrpc_ini_doc_free(&d);
        assert_int_equal(rc == 0, cases[i].frp_ok);
        if (!cases[i].frp_ok) {
            /* the loader names file:line */
            struct ufrpc_cfg_diag dg;
            ufrpc_cv *tree = NULL;
            ufrpc_cfg_diag_init(&dg);
            assert_int_equal(ufrpc_ini_to_tree(cases[i].text, len, "t.ini", false, &dg, &tree),
                             UFRPC_ERR_CONFIG_SYNTAX);
            assert_null(tree);
            const struct ufrpc_cfg_diag_item *it =
                ufrpc_cfg_diag_find(&dg, UFRPC_CFG_ERROR, cases[i].msg);
            assert_non_null(it);
            assert_int_equal(it->err.line, cases[i].line);
            assert_string_equal(it->err.file, "t.ini");
            ufrpc_cfg_diag_free(&dg);
        }
    }
    assert_true(ufrpc_ini_is_legacy("\xef\xbb\xbf[common]\r\n", 13));
    assert_false(ufrpc_ini_is_legacy("[ common ]\n", 11));
    assert_false(ufrpc_ini_is_legacy("serverAddr = \"x\"\n", 17));
    assert_true(ufrpc_ini_is_legacy("a = 1\n[common]", 14));
}

/* A real frpc.ini with very long lines (custom_domains, allow_users) loads. */
static void test_long_lines(void **state)
{
    (void)state;
    size_t ndom = 500;
    size_t cap = 32 * 1024;
    char *t = malloc(cap), *w = t;
    w += sprintf(w,
                 "[common]\nserver_addr = frps.example.com\ntoken = %s\n[web]\ntype = "
                 "http\nlocal_port = 80\n"
                 "custom_domains = ",
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    for (size_t i = 0; i < ndom; i++)
        w += sprintf(w, "%shost%03zu.example.com", i ? ", " : "", i);
    w += sprintf(w, "\n[secret]\ntype = stcp\nsk = k\nlocal_port = 22\nallow_users = ");
    for (size_t i = 0; i < 300; i++)
        w += sprintf(w, "%suser%03zu", i ? "," : "", i);
    w += sprintf(w, "\n");
    assert_true(w - t > 10 * 1024);
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    int rc = load(t, (size_t)(w - t), &c, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_true(c->legacy_ini);
    assert_int_equal(strlen(c->auth.token), 192);
    assert_int_equal(c->nproxies, 2);
    assert_int_equal(c->proxies[0].custom_domains.len, ndom);
    assert_string_equal(c->proxies[0].custom_domains.items[ndom - 1], "host499.example.com");
    assert_int_equal(c->proxies[1].allow_users.len, 300);
    assert_string_equal(c->proxies[1].allow_users.items[299], "user299");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    free(t);
}

static void test_loader_details(void **state)
{
    (void)state;
    const char *t = "\xef\xbb\xbf"
                    "; frpc.ini written on Windows\r\n"
                    "[common]\r\n"
                    "server_addr = \"frps.example.com\"\r\n"
                    "server_port = 7000\r\n"
                    "server_port = 7001\r\n"
                    "user = 'me'\r\n"
                    "token = a;b#c\r\n"
                    "login_fail_exit = false\r\n"
                    "[range:game ports]\r\n"
                    "type = udp\r\n"
                    "local_port = 6000-6002,6010\r\n"
                    "remote_port = 16000-16003\r\n"
                    "[ssh.home]\r\n"
                    "local_port = 22\r\n"
                    "remote_port = 6022\r\n"
                    "meta_owner = \"\"\"a\r\nb\"\"\"\r\n"
                    "[DEFAULT]\r\n"
                    "stray = 1\r\n";
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    int rc = load(t, strlen(t), &c, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_true(c->legacy_ini);
    assert_string_equal(c->server_addr, "frps.example.com");
    assert_int_equal(c->server_port, 7001);
    assert_string_equal(c->user, "me");
    assert_string_equal(c->auth.token, "a;b#c");
    assert_false(c->login_fail_exit);
    assert_int_equal(c->nproxies, 5);
    /* frp names proxies "<user>.<name>" on the wire; the config keeps the name */
    assert_string_equal(c->proxies[0].name, "ssh.home");
    assert_int_equal(c->proxies[0].local_port, 22);
    assert_string_equal(c->proxies[0].metadatas.items[0].value, "a\r\nb");
    assert_string_equal(c->proxies[1].name, "game ports_0");
    assert_int_equal(c->proxies[1].type, UFRPC_PROXY_UDP);
    assert_int_equal(c->proxies[4].local_port, 6010);
    assert_int_equal(c->proxies[4].remote_port, 16003);
    const struct ufrpc_cfg_diag_item *w = ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "stray");
    assert_non_null(w);
    assert_int_equal(w->err.line, 19);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);

    /* a [common] file that go-ini's defaults reject is not legacy INI for frpc:
     * it goes to TOML/YAML and fails there */
    const char *bare = "[common]\nserver_addr = x\ntls_enable\n";
    assert_int_not_equal(load(bare, strlen(bare), &c, &d), 0);
    assert_null(c);
    const struct ufrpc_cfg_diag_item *why =
        ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "not read as legacy INI");
    assert_non_null(why);
    assert_int_equal(why->err.line, 3);
    assert_non_null(strstr(why->err.msg, "key-value delimiter not found: tls_enable"));
    ufrpc_cfg_diag_free(&d);
}

/* go-ini's GetKey falls back to the nearest existing parent section ("a.b.c" ->
 * "a.b" -> "a") for the typed keys frp reads through it, not for prefix maps. */
static void test_child_sections(void **state)
{
    (void)state;
    const char *t = "[common]\n"
                    "[web]\n"
                    "type = http\n"
                    "local_port = 8080\n"
                    "custom_domains = a.example\n"
                    "use_encryption = true\n"
                    "meta_owner = me\n"
                    "[web.v2.beta]\n"
                    "custom_domains = b.example\n"
                    "[web.v2]\n"
                    "local_port = 8082\n"
                    "custom_domains = c.example\n"
                    "[solo.x]\n"
                    "local_port = 9\n"
                    "remote_port = 10\n";
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    int rc = load(t, strlen(t), &c, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(c->nproxies, 4);
    const struct ufrpc_proxy_config *beta = &c->proxies[1], *v2 = &c->proxies[2];
    assert_string_equal(beta->name, "web.v2.beta");
    assert_int_equal(beta->type, UFRPC_PROXY_HTTP);
    assert_int_equal(beta->local_port, 8082); /* from [web.v2], the nearest parent */
    assert_string_equal(beta->custom_domains.items[0], "b.example");
    assert_true(beta->transport.use_encryption); /* from [web] through [web.v2] */
    assert_int_equal(beta->metadatas.len, 0);    /* KeysHash: not inherited */
    assert_string_equal(v2->name, "web.v2");
    assert_int_equal(v2->local_port, 8082);
    assert_string_equal(v2->custom_domains.items[0], "c.example");
    assert_int_equal(c->proxies[3].type, UFRPC_PROXY_TCP); /* no [solo]: nothing inherited */
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

/* Many sections and keys: the index keeps parsing linear. */
static void test_many(void **state)
{
    (void)state;
    size_t n = 100000;
    char *t = malloc(n * 32 + 16), *w = t;
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "[s%zu]\nk%zu = %zu\n", i % 50000, i, i);
    struct ufrpc_ini_doc d;
    assert_int_equal(ufrpc_ini_parse(t, (size_t)(w - t), &frp, &d, NULL, NULL, 0), 0);
    assert_int_equal(d.nsecs, 50001);
    assert_int_equal(d.secs[1].nkeys, 2);
    assert_string_equal(val(&d, "s49999", "k99999"), "99999");
    ufrpc_ini_doc_free(&d);
    free(t);

    /* 60000 meta_ keys through the whole loader (was quadratic in the mapper and
     * the schema's map reader: minutes) */
    size_t nm = 60000;
    t = malloc(nm * 40 + 64);
    w = t + sprintf(t, "[common]\nserver_addr = x\n");
    for (size_t i = 0; i < nm; i++)
        w += sprintf(w, "meta_k%zu = v%zu\n", i, i);
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag dg;
    assert_int_equal(load(t, (size_t)(w - t), &c, &dg), 0);
    assert_int_equal(c->metadatas.len, nm);
    assert_string_equal(c->metadatas.items[nm - 1].key, "k59999");
    assert_string_equal(c->metadatas.items[nm - 1].value, "v59999");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&dg);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),         cmocka_unit_test(test_sections_and_duplicates),
        cmocka_unit_test(test_syntax_errors),  cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_loader_details), cmocka_unit_test(test_child_sections),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
