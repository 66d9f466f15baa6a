/* The error convention: every code has a distinct text and name, and the vectors
 * file the other tests depend on can be found and parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/error.h"
#include "testutil.h"

static const int all_codes[] = {
#define X(name, value, text) value,
    UFRPC_ERRORS(X)
#undef X
};

static void test_codes_negative_unique_and_named(void **state)
{
    (void)state;
    size_t n = sizeof all_codes / sizeof all_codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(all_codes[i] < 0);
        assert_string_not_equal(ufrpc_strerror(all_codes[i]), "unknown error");
        assert_string_not_equal(ufrpc_errname(all_codes[i]), "UFRPC_ERR_UNKNOWN");
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(all_codes[i], all_codes[j]);
    }
    assert_string_equal(ufrpc_strerror(0), "success");
    assert_string_equal(ufrpc_strerror(-9999), "unknown error");
    assert_string_equal(ufrpc_errname(UFRPC_ERR_NOMEM), "UFRPC_ERR_NOMEM");
}

static void test_vectors_file_parses(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ufrpc_test_vector_bytes("v1 Login frame", &buf, &len), 0);
    assert_int_equal(len, 183);
    assert_int_equal(buf[0], 0x6f);
    assert_int_equal(buf[182], '}');
    free(buf);
    char *t = ufrpc_test_vector_text("authKey(12345678,1700000000) = ");
    assert_non_null(t);
    assert_string_equal(t, "3d8aac6cc09d79da303be74c311e5808");
    free(t);
    assert_int_equal(ufrpc_test_vector_bytes("no such vector", &buf, &len), UFRPC_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_negative_unique_and_named),
        cmocka_unit_test(test_vectors_file_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
