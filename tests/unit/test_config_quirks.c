/* Where frpc's Go decoding path decides what a config means, ufrpc follows it:
 * - YAML (YAML -> JSON -> typed Go struct): an unquoted number or boolean given to a
 *   string field (user: 123, auth.token: 12345678) is rejected in strict mode and
 *   without it; quoted, it is a string.
 * - JSON: frpc's strict mode decodes with json.Decoder (text after the top-level
 *   object is ignored: a warning here), non-strict mode with json.Unmarshal (an
 *   error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/json_reader.h"
#include "proto/error.h"

static int load(const char *text, const char *name, bool non_strict, struct ufrpc_config **c,
                struct ufrpc_cfg_diag *d)
{
    static const char *const env[] = {"X=1", NULL};
    struct ufrpc_config_load_opts o = {.envp = env, .non_strict = non_strict};
    ufrpc_cfg_diag_init(d);
    return ufrpc_config_load_buffer(text, strlen(text), name, &o, c, d);
}

static void expect_error(const char *text, const char *name, bool non_strict, const char *needle,
                         uint32_t line)
{
    struct ufrpc_config *c = NULL;
    struct ufrpc_cfg_diag d;
    int rc = load(text, name, non_strict, &c, &d);
    const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, needle);
    if (rc == 0 || it == NULL || it->err.line != line) {
        ufrpc_cfg_diag_print(&d, stderr);
        fail_msg("expected an error \"%s\" at line %u for:\n%s", needle, (unsigned)line, text);
    }
    assert_null(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_yaml_number_into_string(void **state)
{
    (void)state;
    for (int ns = 0; ns <= 1; ns++) {
        expect_error("serverAddr: frps.example.com\nauth:\n  token: 12345678\n", "c.yaml", ns,
                     "auth.token: expected a string, got integer (frpc rejects it too", 3);
        expect_error("user: 123\n", "c.yaml", ns, "user: expected a string, got integer", 1);
        expect_error("user: true\n", "c.yaml", ns, "user: expected a string, got bool", 1);
        expect_error("user: 1.5\n", "c.yaml", ns, "user: expected a string, got float", 1);
        expect_error("metadatas:\n  id: 7\n", "c.yaml", ns, "metadatas.id: expected a string", 2);
        expect_error("proxies:\n- name: s\n  type: stcp\n  localPort: 22\n  secretKey: 0x1f\n",
                     "c.yaml", ns, "secretKey: expected a string, got integer", 5);
        /* the same in TOML and JSON (frpc: JSON number into a Go string) */
        expect_error("[auth]\ntoken = 12345678\n", "c.toml", ns, "auth.token: expected a string",
                     2);
        expect_error("{\"auth\": {\"token\": 12345678}}", "c.json", ns,
                     "auth.token: expected a string", 1);
    }
    /* quoted: a string, in YAML's every quoting style */
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    assert_int_equal(load("user: \"123\"\nauth:\n  token: '12345678'\nmetadatas:\n  id: !!str 7\n",
                          "c.yaml", false, &c, &d),
                     0);
    assert_string_equal(c->user, "123");
    assert_string_equal(c->auth.token, "12345678");
    assert_string_equal(c->metadatas.items[0].value, "7");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* and the other way round: a quoted number is not an integer */
    expect_error("serverPort: \"7000\"\n", "c.yaml", false, "serverPort: expected an integer", 1);
}

static void test_json_trailing_text(void **state)
{
    (void)state;
    const char *t = "{\"serverAddr\": \"a.example\", \"serverPort\": 7001}\n  garbage ] {\n";
    struct ufrpc_config *c;
    struct ufrpc_cfg_diag d;
    /* strict (frpc's default): json.Decoder stops after the object */
    assert_int_equal(load(t, "c.json", false, &c, &d), 0);
    assert_string_equal(c->server_addr, "a.example");
    assert_int_equal(c->server_port, 7001);
    const struct ufrpc_cfg_diag_item *w =
        ufrpc_cfg_diag_find(&d, UFRPC_CFG_WARNING, "text after the JSON object");
    assert_non_null(w);
    assert_int_equal(w->err.line, 2);
    assert_int_equal(w->err.col, 3);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* a second object is ignored the same way */
    assert_int_equal(load("{\"user\": \"a\"}{\"user\": \"b\"}", "c.json", false, &c, &d), 0);
    assert_string_equal(c->user, "a");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* without strict mode: json.Unmarshal rejects it */
    expect_error(t, "c.json", true, "unexpected text after the JSON object", 2);
    /* only whitespace after the object: no warning */
    assert_int_equal(load("{\"user\": \"a\"}\n\n \t\n", "c.json", false, &c, &d), 0);
    assert_int_equal(d.warnings, 0);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
    /* errors inside the object are errors in both modes */
    expect_error("{\"user\": \"a\",}\ntrailing", "c.json", false, "json: invalid JSON", 1);

    /* the reader's two entry points */
    ufrpc_cv *tree = NULL;
    struct ufrpc_cfg_error err = {0}, trail;
    assert_int_equal(ufrpc_json_read_first("{} x", 4, "f", &tree, &err, &trail), 0);
    assert_non_null(tree);
    assert_int_equal(trail.code, UFRPC_ERR_CONFIG_SYNTAX);
    assert_int_equal(trail.col, 4);
    ufrpc_cv_free(tree);
    tree = NULL;
    assert_int_equal(ufrpc_json_read_first("{} ", 3, "f", &tree, &err, &trail), 0);
    assert_int_equal(trail.code, 0);
    ufrpc_cv_free(tree);
    tree = NULL;
    assert_int_equal(ufrpc_json_read("{} x", 4, "f", &tree, &err), UFRPC_ERR_CONFIG_SYNTAX);
    assert_null(tree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_number_into_string),
        cmocka_unit_test(test_json_trailing_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
