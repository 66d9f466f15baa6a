/* Unit tests for config/toml.c beyond the toml-test suite: error positions and
 * messages, node positions, limits and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/toml.h"
#include "proto/error.h"

static ufrpc_cv *parse_ok(const char *s)
{
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_toml_parse(s, strlen(s), "t.toml", &root, &err);
    if (rc != 0)
        fail_msg("unexpected error %d at %u:%u: %s", rc, err.line, err.col, err.msg);
    assert_non_null(root);
    return root;
}

static void expect_err(const char *s, size_t len, int code, uint32_t line, uint32_t col,
                       const char *msg_part)
{
    ufrpc_cv *root = (ufrpc_cv *)1;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_toml_parse(s, len, "t.toml", &root, &err);
    assert_null(root);
    if (rc != code || err.line != line || (col && err.col != col) ||
        (msg_part && strstr(err.msg, msg_part) == NULL))
        fail_msg("input %.60s: got %d %u:%u '%s', want %d %u:%u '%s'", s, rc, err.line, err.col,
                 err.msg, code, line, col, msg_part ? msg_part : "");
    assert_ptr_equal(err.file, "t.toml");
    char buf[400];
    ufrpc_cfg_error_format(&err, buf, sizeof buf);
    assert_true(strncmp(buf, "t.toml:", 7) == 0);
}

static void test_basic_values_and_positions(void **state)
{
    (void)state;
    ufrpc_cv *r = parse_ok("serverAddr = \"x.example\"\n"
                           "serverPort = 7000\n"
                           "\n"
                           "[auth]\n"
                           "  token = 'abc'\n"
                           "[[proxies]]\n"
                           "name = \"ssh\"\n"
                           "localPort = 0x16\n"
                           "[[proxies]]\n"
                           "name = \"web\"\n"
                           "ratio = 1.5e3\n"
                           "when = 1979-05-27 07:32:00Z\n");
    ufrpc_cv *v = ufrpc_cv_get(r, "serverPort");
    assert_non_null(v);
    assert_int_equal(v->type, UFRPC_CV_INTEGER);
    assert_int_equal(v->u.i, 7000);
    assert_int_equal(v->pos.line, 2);
    assert_int_equal(v->pos.col, 14);
    assert_string_equal(v->pos.file, "t.toml");
    v = ufrpc_cv_get(ufrpc_cv_get(r, "auth"), "token");
    assert_string_equal(v->u.s.ptr, "abc");
    assert_int_equal(v->pos.line, 5);
    assert_int_equal(v->pos.col, 11);
    ufrpc_cv *px = ufrpc_cv_get(r, "proxies");
    assert_int_equal(px->type, UFRPC_CV_ARRAY);
    assert_int_equal(px->u.a.len, 2);
    assert_int_equal(ufrpc_cv_get(px->u.a.items[0], "localPort")->u.i, 22);
    assert_int_equal(px->u.a.items[1]->pos.line, 9);
    assert_true(ufrpc_cv_get(px->u.a.items[1], "ratio")->u.f == 1500.0);
    v = ufrpc_cv_get(px->u.a.items[1], "when");
    assert_int_equal(v->type, UFRPC_CV_DATETIME);
    assert_string_equal(v->u.s.ptr, "1979-05-27T07:32:00Z");
    ufrpc_cv_free(r);
}

static void test_column_counts_characters(void **state)
{
    (void)state;
    /* "é" is two bytes but one column */
    const char *s = "a = \"\xC3\xA9\" = 1\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 9, "expected a newline");
}

static void test_error_messages(void **state)
{
    (void)state;
    const char *s;
    s = "a = 1\nb 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 2, 3, "expected '=' after key");
    s = "x = 1\n\nx = 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 3, 1, "duplicate key 'x'");
    s = "[a]\n[b]\n[a]\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 3, 1, "defined twice");
    s = "n = 9223372036854775808\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 5, "64 bits");
    s = "s = \"abc\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 9, "newline in single-line string");
    s = "t = {a = 1}\nt.b = 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 2, 1, "inline table");
    s = "a.b = 1\n[a]\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 2, 1, NULL);
    s = "d = 2021-02-29\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 5, "date");
    s = "c = 1 # bell \x07\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 14, "control character");
}

static void test_bad_utf8(void **state)
{
    (void)state;
    const char *s = "a = 1\nb = \"x\xC0\xAFy\"\n"; /* overlong '/' */
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_ENCODING, 2, 7, "UTF-8");
    s = "k = \"\xED\xA0\x80\"\n"; /* surrogate */
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_ENCODING, 1, 6, "UTF-8");
    s = "k = \"\xF0\x9F\x98\""; /* truncated at EOF */
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_ENCODING, 1, 6, "UTF-8");
    char nul[] = "a = \"x\0y\"\n";
    expect_err(nul, sizeof nul - 1, UFRPC_ERR_CONFIG_SYNTAX, 1, 7, "control character");
}

static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = malloc(pl + ul * n + sl + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * n, suffix, sl + 1);
    return s;
}

static void test_depth_limits(void **state)
{
    (void)state;
    /* 126 nested arrays under one key: within the limit */
    char *s = repeat("a = ", "[", 126, "");
    char *t = repeat(s, "]", 126, "\n");
    ufrpc_cv *r = parse_ok(t);
    ufrpc_cv_free(r);
    free(s);
    free(t);
    /* 100000 '[' : clear depth error, no stack overflow */
    s = repeat("a = ", "[", 100000, "");
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DEPTH, 1, 0, "deeper");
    free(s);
    s = repeat("a = ", "{b=", 100000, "");
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DEPTH, 1, 0, "deeper");
    free(s);
    s = repeat("[x", ".x", 5000, "]\n");
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DEPTH, 1, 0, NULL);
    free(s);
    s = repeat("x", ".x", 5000, " = 1\n");
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DEPTH, 1, 0, NULL);
    free(s);
    /* many levels of [[aot]] nesting count too */
    s = repeat("[[a", ".a", 200, "]]\n");
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DEPTH, 1, 0, NULL);
    free(s);
}

static void test_big_flat_input_is_linear(void **state)
{
    (void)state;
    /* 200k keys in one table and a 200k-element one-line array: must be fast */
    size_t n = 200000;
    char *s = malloc(n * 24 + 64);
    assert_non_null(s);
    size_t o = 0;
    o += (size_t)sprintf(s + o, "arr = [");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "%zu,", i);
    o += (size_t)sprintf(s + o, "]\n[t]\n");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "k%zu = %zu\n", i, i);
    ufrpc_cv *r = parse_ok(s);
    ufrpc_cv *t = ufrpc_cv_get(r, "t");
    assert_int_equal(t->u.t.len, n);
    assert_int_equal(ufrpc_cv_get(r, "arr")->u.a.len, n);
    ufrpc_cv *last = ufrpc_cv_get(r, "arr")->u.a.items[n - 1];
    assert_int_equal(last->u.i, (int64_t)n - 1);
    assert_true(last->pos.col > 1000000);
    ufrpc_cv_free(r);
    /* duplicate at the very end is still found */
    o += (size_t)sprintf(s + o, "k7 = 1\n");
    expect_err(s, o, UFRPC_ERR_CONFIG_DUPLICATE, (uint32_t)n + 3, 1, "duplicate key 'k7'");
    free(s);
}

static void test_partial_structures(void **state)
{
    (void)state;
    const char *cases[] = {"a = [1, 2", "a = {b = 1", "[a", "[[a]", "a = \"\"\"x", "a =", "a",
                           "a = 1979-05-27T", "a = 0x", "a = {b = 1,}", "a = [1,,]", "= 1",
                           "a.b. = 1", "a = 'x", "a = 1.", "a = +", "[a.]", "a = {,}"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ufrpc_cv *r = (ufrpc_cv *)1;
        struct ufrpc_cfg_error err = {0};
        int rc = ufrpc_toml_parse(cases[i], strlen(cases[i]), "p.toml", &r, &err);
        if (rc >= 0)
            fail_msg("accepted '%s'", cases[i]);
        assert_null(r);
        assert_int_equal(err.line, 1);
        assert_true(err.col >= 1);
        assert_true(err.msg[0] != '\0');
    }
    /* prefixes of a valid document never crash, and the full one parses */
    const char *doc = "a = [1, {x = \"\"\"m\nl\"\"\"}]\n[t.u]\nk = 2021-01-01T00:00:00.5+01:00\n"
                      "[[arr]]\nv = -inf\n";
    for (size_t n = 0; n <= strlen(doc); n++) {
        ufrpc_cv *r = NULL;
        struct ufrpc_cfg_error err = {0};
        (void)ufrpc_toml_parse(doc, n, "p.toml", &r, &err);
        ufrpc_cv_free(r);
    }
}

/* U+0000 in keys and strings: every key and string keeps its length, "\u0000" and
 * "" are two keys, duplicates are found by the full key and messages show the NUL
 * as \u0000. A raw NUL byte in the text stays an error (a control character). */
static void test_nul_in_keys_and_strings(void **state)
{
    (void)state;
    ufrpc_cv *r = parse_ok("\"\\u0000\" = 1\n"
                           "\"\" = 2\n"
                           "'\\u0000' = 3\n"
                           "\"a\\u0000b\" = 4\n"
                           "\"a\" = 5\n"
                           "s = \"x\\u0000y\"\n"
                           "m = \"\"\"\n\\U00000000\"\"\"\n"
                           "l = 'a\\u0000'\n"
                           "[t.\"\\u0000\"]\n"
                           "k = 6\n"
                           "[t.\"\"]\n"
                           "k = 7\n");
    assert_int_equal(r->u.t.len, 9);
    assert_int_equal(r->u.t.items[0].key_len, 1);
    assert_int_equal(r->u.t.items[0].key[0], '\0');
    assert_int_equal(ufrpc_cv_getn(r, "\0", 1)->u.i, 1);
    assert_int_equal(ufrpc_cv_getn(r, "", 0)->u.i, 2);
    assert_int_equal(ufrpc_cv_getn(r, "\\u0000", 6)->u.i, 3);
    assert_int_equal(ufrpc_cv_getn(r, "a\0b", 3)->u.i, 4);
    assert_int_equal(ufrpc_cv_get(r, "a")->u.i, 5);
    ufrpc_cv *v = ufrpc_cv_get(r, "s");
    assert_int_equal(v->u.s.len, 3);
    assert_memory_equal(v->u.s.ptr, "x\0y", 4);
    v = ufrpc_cv_get(r, "m");
    assert_int_equal(v->u.s.len, 1);
    assert_int_equal(v->u.s.ptr[0], '\0');
    v = ufrpc_cv_get(r, "l");
    assert_int_equal(v->u.s.len, 7);
    assert_string_equal(v->u.s.ptr, "a\\u0000");
    ufrpc_cv *t = ufrpc_cv_get(r, "t");
    assert_int_equal(t->u.t.len, 2);
    assert_int_equal(ufrpc_cv_get(ufrpc_cv_getn(t, "\0", 1), "k")->u.i, 6);
    assert_int_equal(ufrpc_cv_get(ufrpc_cv_getn(t, "", 0), "k")->u.i, 7);
    ufrpc_cv_free(r);

    const char *s;
    s = "\"\\u0000\" = 1\n\"\\u0000\" = 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 2, 1, "duplicate key '\\u0000'");
    s = "\"a\\u0000\" = 1\n'a' = 2\n\"a\\u0000\" = 3\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 3, 1, "duplicate key 'a\\u0000'");
    s = "[x.\"\\u0000\"]\n[x.\"\\u0000\"]\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 2, 1, "table '\\u0000' is defined twice");
    s = "\"\\u0000\" = 1\n\"\\u0000\".b = 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 2, 1, "key '\\u0000' is already defined");
    /* raw NUL bytes: in a string, in a quoted key, in a comment */
    expect_err("s = \"a\0b\"\n", 10, UFRPC_ERR_CONFIG_SYNTAX, 1, 7, "control character U+0000");
    expect_err("\"k\0\" = 1\n", 9, UFRPC_ERR_CONFIG_SYNTAX, 1, 3, "control character U+0000");
    expect_err("a = 1 # \0\n", 10, UFRPC_ERR_CONFIG_SYNTAX, 1, 9, "control character U+0000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_values_and_positions),
        cmocka_unit_test(test_column_counts_characters),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_depth_limits),
        cmocka_unit_test(test_big_flat_input_is_linear),
        cmocka_unit_test(test_partial_structures),
        cmocka_unit_test(test_nul_in_keys_and_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
