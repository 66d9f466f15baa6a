/* Unit tests for config/json_reader.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/json_reader.h"
#include "proto/error.h"

static ufrpc_cv *read_ok(const char *s)
{
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_json_read(s, strlen(s), "c.json", &root, &err);
    if (rc != 0)
        fail_msg("unexpected error %d at %u:%u: %s", rc, err.line, err.col, err.msg);
    return root;
}

static void expect_err(const char *s, size_t len, int code, uint32_t line, uint32_t col,
                       const char *part)
{
    ufrpc_cv *root = (ufrpc_cv *)1;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_json_read(s, len, "c.json", &root, &err);
    assert_null(root);
    if (rc != code || err.line != line || (col && err.col != col) ||
        (part && strstr(err.msg, part) == NULL))
        fail_msg("input %.60s: got %d %u:%u '%s', want %d %u:%u", s, rc, err.line, err.col, err.msg,
                 code, line, col);
    assert_ptr_equal(err.file, "c.json");
}

static void test_values_and_positions(void **state)
{
    (void)state;
    ufrpc_cv *r = read_ok("{\n"
                          "  \"serverAddr\": \"a\\u00e9\\ud83d\\ude00\",\n"
                          "  \"serverPort\": 9223372036854775807,\n"
                          "  \"neg\": -9223372036854775808,\n"
                          "  \"f\": 1.5e2, \"t\": true, \"n\": null,\n"
                          "  \"proxies\": [ {\"name\": \"ssh\"}, {\"name\": \"web\"} ]\n"
                          "}\n");
    ufrpc_cv *v = ufrpc_cv_get(r, "serverAddr");
    assert_string_equal(v->u.s.ptr, "a\xC3\xA9\xF0\x9F\x98\x80");
    assert_int_equal(v->pos.line, 2);
    assert_int_equal(v->pos.col, 17);
    v = ufrpc_cv_get(r, "serverPort");
    assert_int_equal(v->type, UFRPC_CV_INTEGER);
    assert_true(v->u.i == INT64_MAX);
    assert_true(ufrpc_cv_get(r, "neg")->u.i == INT64_MIN);
    v = ufrpc_cv_get(r, "f");
    assert_int_equal(v->type, UFRPC_CV_FLOAT);
    assert_true(v->u.f == 150.0);
    assert_int_equal(v->pos.line, 5);
    assert_int_equal(v->pos.col, 8);
    assert_true(ufrpc_cv_get(r, "t")->u.b);
    assert_null(ufrpc_cv_get(r, "n")); /* null member dropped */
    v = ufrpc_cv_get(r, "proxies");
    assert_int_equal(v->u.a.len, 2);
    assert_string_equal(ufrpc_cv_get(v->u.a.items[1], "name")->u.s.ptr, "web");
    assert_int_equal(v->u.a.items[1]->pos.col, 33);
    ufrpc_cv_free(r);
}

static void test_duplicates_last_wins(void **state)
{
    (void)state;
    ufrpc_cv *r = read_ok("{\"a\": 1, \"b\": 2, \"a\": {\"x\": [1]}, \"a\": 3}");
    assert_int_equal(r->u.t.len, 2);
    assert_int_equal(ufrpc_cv_get(r, "a")->u.i, 3);
    ufrpc_cv_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    const char *s = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 3, 0, "invalid JSON");
    s = "{\"a\": 1,}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 0, NULL);
    s = "{\"a\": 1} x";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 0, NULL);
    s = "[1, 2]";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 1, "object");
    s = "{\n\"p\": 9223372036854775808}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 2, 6, "64 bits");
    s = "{\"a\": [1, null]}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 11, "null");
    s = "{\"a\": \"\xC3\x28\"}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_ENCODING, 1, 0, NULL);
    s = "{\"a\": 1 /* c */}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 0, NULL);
    s = "{\"a\": ";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 0, NULL);
    expect_err("", 0, UFRPC_ERR_CONFIG_SYNTAX, 1, 0, NULL);
    s = "{\"a\":\n \"x\ty\"}";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 2, 4, "control character");
}

static void test_deep_and_big(void **state)
{
    (void)state;
    size_t n = 100000;
    char *s = malloc(n * 2 + 16);
    assert_non_null(s);
    size_t o = 0;
    s[o++] = '{';
    memcpy(s + o, "\"a\":", 4), o += 4;
    for (size_t i = 0; i < n; i++)
        s[o++] = '[';
    s[o] = '\0';
    expect_err(s, o, UFRPC_ERR_CONFIG_DEPTH, 1, 0, "deeper");
    free(s);
    /* one long line with many members: linear, exact columns */
    s = malloc(n * 32 + 16);
    assert_non_null(s);
    o = 0;
    s[o++] = '{';
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    s[o++] = '}';
    s[o] = '\0';
    ufrpc_cv *r = read_ok(s);
    assert_int_equal(r->u.t.len, n);
    ufrpc_cv *last = ufrpc_cv_get(r, "k99999");
    assert_int_equal(last->u.i, 99999);
    assert_int_equal(last->pos.col, o - 5);
    ufrpc_cv_free(r);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_positions),
        cmocka_unit_test(test_duplicates_last_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deep_and_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
