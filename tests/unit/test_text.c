/* proto/text.h and proto/byteorder.h: the small helpers shared across layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/text.h"

static void test_hexval(void **state)
{
    (void)state;
    const char *digits = "0123456789abcdefABCDEF";
    const int want[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
    for (size_t i = 0; digits[i] != '\0'; i++)
        assert_int_equal(ufrpc_hexval((unsigned char)digits[i]), want[i]);
    int others = 0;
    for (int c = -1; c < 256; c++)
        if (strchr(digits, c) == NULL || c == 0)
            others += ufrpc_hexval(c) == -1;
    assert_int_equal(others, 257 - 22);
}

static void test_decode(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(ufrpc_pct_decode("a%41%2fb+c", 10, false, out, sizeof out), 6);
    assert_string_equal(out, "aA/b+c");
    assert_int_equal(ufrpc_pct_decode("a%41%2fb+c", 10, true, out, sizeof out), 6);
    assert_string_equal(out, "aA/b c");
    /* only n bytes are read */
    assert_int_equal(ufrpc_pct_decode("abc%4", 3, false, out, sizeof out), 3);
    assert_string_equal(out, "abc");
    /* %00 decodes to a NUL inside the result */
    assert_int_equal(ufrpc_pct_decode("x%00y", 5, false, out, sizeof out), 3);
    assert_memory_equal(out, "x\0y", 4);
    assert_int_equal(ufrpc_pct_decode("", 0, false, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void test_decode_errors(void **state)
{
    (void)state;
    char out[8];
    const char *bad[] = {"%", "%4", "a%4", "%g0", "%0g", "%%41"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ufrpc_pct_decode(bad[i], strlen(bad[i]), false, out, sizeof out),
                         UFRPC_ERR_INVAL);
    /* exactly cap - 1 bytes fit; one more is LIMIT with a NUL-terminated prefix */
    assert_int_equal(ufrpc_pct_decode("1234567", 7, false, out, sizeof out), 7);
    assert_int_equal(ufrpc_pct_decode("12345678", 8, false, out, sizeof out), UFRPC_ERR_LIMIT);
    assert_string_equal(out, "1234567");
    /* a bad escape after the overflow still reports INVAL */
    assert_int_equal(ufrpc_pct_decode("12345678%zz", 11, false, out, sizeof out),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_pct_decode("a", 1, false, out, 0), UFRPC_ERR_LIMIT);
    /* not even the NUL fits: an empty text too (found by fuzz_text) */
    assert_int_equal(ufrpc_pct_decode("", 0, false, out, 0), UFRPC_ERR_LIMIT);
}

/* strconv.ParseBool's exact set; nothing else, no partial matches. */
static void test_go_bool(void **state)
{
    (void)state;
    const char *t[] = {"1", "t", "T", "true", "TRUE", "True"};
    const char *f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        bool v = false;
        assert_true(ufrpc_parse_go_bool(t[i], strlen(t[i]), &v));
        assert_true(v);
        assert_true(ufrpc_parse_go_bool(f[i], strlen(f[i]), &v));
        assert_false(v);
    }
    const char *bad[] = {"", "yes", "tRUE", "truex", "tru", "on", "2", " true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool v = true;
        assert_false(ufrpc_parse_go_bool(bad[i], strlen(bad[i]), &v));
        assert_true(v); /* untouched */
    }
    /* only len bytes count */
    bool v = false;
    assert_true(ufrpc_parse_go_bool("true&x", 4, &v));
    assert_true(v);
}

/* proto/byteorder.h: the byte layout of every width and order, and round trips. */
static void test_byteorder(void **state)
{
    (void)state;
    uint8_t b[4];
    ufrpc_put_be16(b, 0x1234);
    assert_memory_equal(b, "\x12\x34", 2);
    assert_int_equal(ufrpc_get_be16(b), 0x1234);
    ufrpc_put_be32(b, 0x89abcdefu);
    assert_memory_equal(b, "\x89\xab\xcd\xef", 4);
    assert_int_equal(ufrpc_get_be32(b), 0x89abcdefu);
    ufrpc_put_le32(b, 0x89abcdefu);
    assert_memory_equal(b, "\xef\xcd\xab\x89", 4);
    assert_int_equal(ufrpc_get_le32(b), 0x89abcdefu);
    const uint8_t ff[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ufrpc_get_be16(ff), 0xffff);
    assert_int_equal(ufrpc_get_be32(ff), 0xffffffffu);
}

static void test_go_quote(void **state)
{
    (void)state;
    char b[32];
    ufrpc_go_quote(b, sizeof b, "a\"b\\c\n\x01");
    assert_string_equal(b, "\"a\\\"b\\\\c\\n\\x01\"");
    ufrpc_go_quote(b, 8, "abcdefghij"); /* cut, still quoted and terminated */
    assert_true(strlen(b) < 8 && b[0] == '"' && b[strlen(b) - 1] == '"');
}

/* errno texts as Go prints them, with glibc's GNU strerror_r and musl's XSI one */
static void test_go_strerror(void **state)
{
    (void)state;
    char b[64];
    assert_ptr_equal(ufrpc_go_strerror(ENOENT, b, sizeof b), b);
    assert_string_equal(b, "no such file or directory");
    ufrpc_go_strerror(EACCES, b, sizeof b);
    assert_string_equal(b, "permission denied");
    ufrpc_go_strerror(EIO, b, sizeof b); /* glibc "Input/output error", musl "I/O error" */
    assert_true(strcmp(b, "input/output error") == 0 || strcmp(b, "I/O error") == 0);
    ufrpc_go_strerror(99999, b, sizeof b); /* no text in either library */
    assert_string_equal(b, "errno 99999");
    ufrpc_go_strerror(ENOENT, b, 4); /* cut, terminated */
    assert_string_equal(b, "no ");
}

/* Go's path.Match, which frp uses for `includes`: cases from Go's match_test.go
 * and the ones where C's fnmatch differs ('!' is no negation, no [[:classes:]],
 * a malformed pattern is an error even after a mismatch). The implementation
 * agreed with Go 1.19's path.Match on 200 000 random patterns (bench/README.md). */
static void test_go_path_match(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *name;
        int want;
    } cases[] = {
        {"abc", "abc", 1}, {"*", "abc", 1}, {"*c", "abc", 1}, {"a*", "a", 1},
        {"a*", "abc", 1}, {"a*", "ab/c", 0}, {"a*/b", "abc/b", 1}, {"a*/b", "a/c/b", 0},
        {"a*b*c*d*e*/f", "axbxcxdxe/f", 1}, {"a*b*c*d*e*/f", "axbxcxdxexxx/f", 1},
        {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0}, {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0},
        {"a*b?c*x", "abxbbxdbxebxczzx", 1}, {"a*b?c*x", "abxbbxdbxebxczzy", 0},
        {"ab[c]", "abc", 1}, {"ab[b-d]", "abc", 1}, {"ab[e-g]", "abc", 0},
        {"ab[^c]", "abc", 0}, {"ab[^b-d]", "abc", 0}, {"ab[^e-g]", "abc", 1},
        {"a\\*b", "a*b", 1}, {"a\\*b", "ab", 0}, {"a?b", "a\u263ab", 1},
        {"a[^a]b", "a\u263ab", 1}, {"a???b", "a\u263ab", 0}, {"[a-\u03b6]*", "\u03b1", 1},
        {"*[a-\u03b6]", "A", 0}, {"a?b", "a/b", 0}, {"a*b", "a/b", 0},
        {"[\\]a]", "]", 1}, {"[\\-]", "-", 1}, {"[x\\-]", "z", 0}, {"*x", "xxx", 1},
        {"*.toml", "web.toml", 1}, {"*.toml", ".hidden.toml", 1}, {"*.toml", "web.yaml", 0},
        {"[!a]", "b", 0}, {"[!a]", "!", 1}, {"[[:alpha:]]", "a", 0}, {"", "", 1}, {"", "a", 0},
        {"[]a]", "]", UFRPC_ERR_INVAL}, {"[-]", "-", UFRPC_ERR_INVAL}, {"[x-]", "x", UFRPC_ERR_INVAL},
        {"[-x]", "x", UFRPC_ERR_INVAL}, {"\\", "a", UFRPC_ERR_INVAL}, {"[a-b-c]", "a", UFRPC_ERR_INVAL},
        {"[", "a", UFRPC_ERR_INVAL}, {"[^bc", "a", UFRPC_ERR_INVAL}, {"a[", "a", UFRPC_ERR_INVAL},
        {"a[", "x", UFRPC_ERR_INVAL}, {"a/b[", "x", UFRPC_ERR_INVAL}, {"[\xff]", "a", UFRPC_ERR_INVAL},
        {"a\xff" "b", "a\xff" "b", 1}, {"a?b", "a\xff" "b", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = ufrpc_go_path_match(cases[i].pattern, cases[i].name);
        if (got != cases[i].want)
            fail_msg("Match(%s, %s) = %d, want %d", cases[i].pattern, cases[i].name, got,
                     cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_quote),
        cmocka_unit_test(test_go_strerror),
        cmocka_unit_test(test_go_path_match),
        cmocka_unit_test(test_hexval),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_go_bool),
        cmocka_unit_test(test_byteorder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
