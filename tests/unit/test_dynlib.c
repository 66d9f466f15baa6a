/* proto/dynlib.h: resolving a table of functions at first use. A library and
 * symbols that exist (glibc's libm: cos, sqrt) resolve to the functions themselves;
 * a missing library and a missing symbol both fail with UFRPC_ERR_UNSUPPORTED, a
 * message naming what is missing and every slot NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "proto/dynlib.h"
#include "proto/error.h"

#ifdef __GLIBC__
#define LIBM "libm.so.6"
#endif

static void test_resolves(void **state)
{
    (void)state;
#ifdef LIBM
    static const char *const libs[] = {"libufrpc-no-such-dep.so.0", NULL};
    static const char *const ok_libs[] = {LIBM, NULL};
    static const char *const names[] = {"cos", "sqrt"};
    void *slots[2] = {(void *)1, (void *)1};
    char err[128];
    const struct ufrpc_dynlib_spec spec = {.libs = ok_libs, .names = names, .n = 2};
    assert_int_equal(ufrpc_dynlib_open(&spec, slots, err, sizeof err), 0);
    assert_string_equal(err, "");
    double (*c)(double) = (double (*)(double))slots[0];
    double (*s)(double) = (double (*)(double))slots[1];
    assert_non_null(c);
    assert_true(c(0.0) == 1.0);
    assert_true(s(16.0) == 4.0);

    /* a missing library: named, nothing resolved */
    const struct ufrpc_dynlib_spec nolib = {.libs = libs, .names = names, .n = 2};
    slots[0] = slots[1] = (void *)1;
    assert_int_equal(ufrpc_dynlib_open(&nolib, slots, err, sizeof err), UFRPC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "cannot load libufrpc-no-such-dep.so.0"));
    assert_null(slots[0]);
    assert_null(slots[1]);
#else
    skip();
#endif
}

static void test_missing_symbol(void **state)
{
    (void)state;
#ifdef LIBM
    static const char *const libs[] = {LIBM, NULL};
    static const char *const names[] = {"cos", "ufrpc_no_such_function"};
    void *slots[2] = {(void *)1, (void *)1};
    char err[128];
    const struct ufrpc_dynlib_spec spec = {.libs = libs, .names = names, .n = 2};
    assert_int_equal(ufrpc_dynlib_open(&spec, slots, err, sizeof err), UFRPC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "no symbol ufrpc_no_such_function in " LIBM));
    assert_null(slots[0]); /* cos was found, but a failed table is all NULL */
    assert_null(slots[1]);
    /* a short error buffer is cut, still terminated */
    char small[8];
    assert_int_equal(ufrpc_dynlib_open(&spec, slots, small, sizeof small), UFRPC_ERR_UNSUPPORTED);
    assert_int_equal(strlen(small), sizeof small - 1);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolves),
        cmocka_unit_test(test_missing_symbol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
