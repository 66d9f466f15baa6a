/* Unit tests for config/yaml_reader.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/yaml_reader.h"
#include "proto/error.h"

static ufrpc_cv *read_ok(const char *s)
{
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_yaml_read(s, strlen(s), "c.yaml", &root, &err);
    if (rc != 0)
        fail_msg("unexpected error %d at %u:%u: %s", rc, err.line, err.col, err.msg);
    return root;
}

static void expect_err(const char *s, size_t len, int code, uint32_t line, uint32_t col,
                       const char *part)
{
    ufrpc_cv *root = (ufrpc_cv *)1;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_yaml_read(s, len, "c.yaml", &root, &err);
    assert_null(root);
    if (rc != code || (line && err.line != line) || (col && err.col != col) ||
        (part && strstr(err.msg, part) == NULL))
        fail_msg("input %.60s: got %d %u:%u '%s', want %d %u:%u", s, rc, err.line, err.col, err.msg,
                 code, line, col);
}

static void test_scalar_typing(void **state)
{
    (void)state;
    ufrpc_cv *r = read_ok("i: 42\n"
                          "hex: 0x1F\n"
                          "oct: 0755\n"
                          "oct2: 0o17\n"
                          "bin: 0b101\n"
                          "under: 1_000\n"
                          "eight: 08\n"
                          "neg: -17\n"
                          "f: 1.5\n"
                          "exp: 1e3\n"
                          "dot: .5\n"
                          "inf: -.inf\n"
                          "yes: yes\n"
                          "off: Off\n"
                          "t: true\n"
                          "q: \"42\"\n"
                          "sq: 'true'\n"
                          "str: !!str 7\n"
                          "s: hello world\n"
                          "ts: 2001-12-14\n"
                          "huge: 1e400\n"
                          "nul: ~\n"
                          "empty:\n"
                          "ver: 1.2.3\n");
    struct {
        const char *k;
        ufrpc_cv_type t;
        int64_t i;
        double f;
        const char *s;
    } want[] = {
        {"i", UFRPC_CV_INTEGER, 42, 0, NULL},      {"hex", UFRPC_CV_INTEGER, 31, 0, NULL},
        {"oct", UFRPC_CV_INTEGER, 493, 0, NULL},   {"oct2", UFRPC_CV_INTEGER, 15, 0, NULL},
        {"bin", UFRPC_CV_INTEGER, 5, 0, NULL},     {"under", UFRPC_CV_INTEGER, 1000, 0, NULL},
        {"eight", UFRPC_CV_FLOAT, 0, 8.0, NULL},   {"neg", UFRPC_CV_INTEGER, -17, 0, NULL},
        {"f", UFRPC_CV_FLOAT, 0, 1.5, NULL},       {"exp", UFRPC_CV_FLOAT, 0, 1000.0, NULL},
        {"dot", UFRPC_CV_FLOAT, 0, 0.5, NULL},     {"true", UFRPC_CV_BOOL, 1, 0, NULL},
        {"false", UFRPC_CV_BOOL, 0, 0, NULL},      {"t", UFRPC_CV_BOOL, 1, 0, NULL},
        {"q", UFRPC_CV_STRING, 0, 0, "42"},        {"sq", UFRPC_CV_STRING, 0, 0, "true"},
        {"str", UFRPC_CV_STRING, 0, 0, "7"},       {"s", UFRPC_CV_STRING, 0, 0, "hello world"},
        {"ts", UFRPC_CV_STRING, 0, 0, "2001-12-14"}, {"huge", UFRPC_CV_STRING, 0, 0, "1e400"},
        {"ver", UFRPC_CV_STRING, 0, 0, "1.2.3"},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        ufrpc_cv *v = ufrpc_cv_get(r, want[k].k);
        if (v == NULL)
            fail_msg("missing %s", want[k].k);
        if (v->type != want[k].t)
            fail_msg("%s: type %s", want[k].k, ufrpc_cv_type_name(v->type));
        if (v->type == UFRPC_CV_INTEGER || v->type == UFRPC_CV_BOOL)
            assert_true(v->type == UFRPC_CV_BOOL ? v->u.b == (want[k].i != 0) : v->u.i == want[k].i);
        if (v->type == UFRPC_CV_FLOAT)
            assert_true(v->u.f == want[k].f);
        if (v->type == UFRPC_CV_STRING)
            assert_string_equal(v->u.s.ptr, want[k].s);
    }
    /* keys "yes"/"off" are bools too: they became "true"/"false" */
    assert_null(ufrpc_cv_get(r, "yes"));
    assert_true(isinf(ufrpc_cv_get(r, "inf")->u.f) && ufrpc_cv_get(r, "inf")->u.f < 0);
    assert_null(ufrpc_cv_get(r, "nul"));
    assert_null(ufrpc_cv_get(r, "empty"));
    ufrpc_cv *v = ufrpc_cv_get(r, "hex");
    assert_int_equal(v->pos.line, 2);
    assert_int_equal(v->pos.col, 6);
    ufrpc_cv_free(r);
}

static void test_anchors_merge_and_dot_keys(void **state)
{
    (void)state;
    ufrpc_cv *r = read_ok(".common: &common\n"
                          "  type: tcp\n"
                          "  localIP: 127.0.0.1\n"
                          ".more: &more\n"
                          "  type: udp\n"
                          "  extra: 1\n"
                          "proxies:\n"
                          "  - <<: *common\n"
                          "    name: ssh\n"
                          "  - name: web\n"
                          "    <<: [*common, *more]\n"
                          "    type: http\n"
                          "ref: &r [1, 2]\n"
                          "copy: *r\n");
    assert_null(ufrpc_cv_get(r, ".common"));
    ufrpc_cv *p = ufrpc_cv_get(r, "proxies");
    assert_int_equal(p->u.a.len, 2);
    ufrpc_cv *a = p->u.a.items[0], *b = p->u.a.items[1];
    assert_string_equal(ufrpc_cv_get(a, "type")->u.s.ptr, "tcp");
    assert_string_equal(ufrpc_cv_get(a, "localIP")->u.s.ptr, "127.0.0.1");
    assert_string_equal(ufrpc_cv_get(a, "name")->u.s.ptr, "ssh");
    assert_string_equal(ufrpc_cv_get(b, "type")->u.s.ptr, "http"); /* explicit wins */
    assert_int_equal(ufrpc_cv_get(b, "extra")->u.i, 1);
    assert_int_equal(b->u.t.len, 4);
    assert_int_equal(ufrpc_cv_get(r, "copy")->u.a.len, 2);
    ufrpc_cv_free(r);

    /* first merge source wins over later ones */
    r = read_ok("a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc:\n  <<: [*a, *b]\n");
    ufrpc_cv *c = ufrpc_cv_get(r, "c");
    assert_int_equal(ufrpc_cv_get(c, "x")->u.i, 1);
    assert_int_equal(ufrpc_cv_get(c, "z")->u.i, 3);
    ufrpc_cv_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    const char *s = "a: 1\nb: [1, 2\nc: 3\n";
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_yaml_read(s, strlen(s), "c.yaml", &root, &err);
    assert_int_equal(rc, UFRPC_ERR_CONFIG_SYNTAX);
    assert_null(root);
    assert_true(err.line >= 2 && err.col >= 1);
    s = "a: 1\nb: 2\na: 3\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_DUPLICATE, 3, 4, "duplicate key 'a'");
    s = "a: *nope\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_SYNTAX, 1, 4, "anchor");
    s = "- 1\n- 2\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 1, "mapping");
    s = "a: [1, ~]\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 8, "null");
    s = "a: 18446744073709551615\n"; /* uint64: Go yields an unsigned int */
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_VALUE, 1, 4, "64 bits");
}

static void test_bad_utf8(void **state)
{
    (void)state;
    const char *s = "a: 1\nb: \"x\xC3\x28\"\n";
    expect_err(s, strlen(s), UFRPC_ERR_CONFIG_ENCODING, 2, 0, NULL);
}

static void test_alias_bomb_and_depth(void **state)
{
    (void)state;
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    expect_err(bomb, strlen(bomb), UFRPC_ERR_CONFIG_VALUE, 0, 0, "alias");
    size_t n = 100000;
    char *s = malloc(n + 8);
    assert_non_null(s);
    memcpy(s, "a: ", 3);
    memset(s + 3, '[', n);
    s[n + 3] = '\0';
    expect_err(s, n + 3, UFRPC_ERR_CONFIG_DEPTH, 1, 0, "deeper");
    free(s);
    /* depth through aliases is bounded too */
    char doc[20000];
    size_t o = 0;
    for (int k = 0; k < 5; k++) {
        o += (size_t)sprintf(doc + o, "k%d: &a%d ", k, k);
        for (int d = 0; d < 60; d++)
            doc[o++] = '[';
        if (k)
            o += (size_t)sprintf(doc + o, "*a%d", k - 1);
        else
            o += (size_t)sprintf(doc + o, "1");
        for (int d = 0; d < 60; d++)
            doc[o++] = ']';
        doc[o++] = '\n';
    }
    doc[o] = '\0';
    expect_err(doc, o, UFRPC_ERR_CONFIG_DEPTH, 0, 0, "alias");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_typing),
        cmocka_unit_test(test_anchors_merge_and_dot_keys),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_alias_bomb_and_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
