/* net/dial_error: dial failures worded as Go's net package words them (what
 * frpc prints and users' scripts match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/dial_error.h"
#include "proto/error.h"

static void test_texts(void **state)
{
    (void)state;
    char b[256];
    ufrpc_dial_error_text("127.0.0.1", 8080, UFRPC_ERR_CONNECT_REFUSED, b, sizeof b);
    assert_string_equal(b, "dial tcp 127.0.0.1:8080: connect: connection refused");
    ufrpc_dial_error_text("::1", 22, UFRPC_ERR_TIMEOUT, b, sizeof b);
    assert_string_equal(b, "dial tcp [::1]:22: i/o timeout");
    ufrpc_dial_error_text("nowhere.invalid", 7000, UFRPC_ERR_DNS, b, sizeof b);
    assert_string_equal(b, "dial tcp: lookup nowhere.invalid: no such host");
    ufrpc_dial_error_text("10.0.0.1", 1, UFRPC_ERR_CONN_RESET, b, sizeof b);
    assert_string_equal(b, "dial tcp 10.0.0.1:1: connection reset");
    /* truncated, still terminated */
    char small[12];
    ufrpc_dial_error_text("127.0.0.1", 8080, UFRPC_ERR_CONNECT_REFUSED, small, sizeof small);
    assert_string_equal(small, "dial tcp 12");
    ufrpc_dial_error_text(NULL, 1, UFRPC_ERR_DNS, b, sizeof b);
    assert_string_equal(b, "dial tcp: lookup : no such host");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
