/* Token auth keys: the vectors.txt authKey, independent MD5 known answers, verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/auth.h"
#include "proto/error.h"
#include "testutil.h"

static void test_vector(void **state)
{
    (void)state;
    char *want = ufrpc_test_vector_text("authKey(12345678,1700000000) = ");
    assert_non_null(want);
    char key[UFRPC_AUTH_KEY_LEN + 1];
    assert_int_equal(ufrpc_auth_key_str("12345678", 1700000000, key), 0);
    assert_string_equal(key, want);
    assert_int_equal(ufrpc_auth_key("12345678xyz", 8, 1700000000, key), 0);
    assert_string_equal(key, want);
    /* The Login JSON vector carries the same key. */
    char *login = ufrpc_test_vector_text("Login JSON: ");
    assert_non_null(login);
    assert_non_null(strstr(login, want));
    free(login);
    free(want);
}

static void test_known_answers(void **state)
{
    (void)state;
    char key[UFRPC_AUTH_KEY_LEN + 1];
    /* md5("1700000000"): empty token (RFC 1321 MD5, computed with coreutils md5sum). */
    assert_int_equal(ufrpc_auth_key_str(NULL, 1700000000, key), 0);
    char key2[UFRPC_AUTH_KEY_LEN + 1];
    assert_int_equal(ufrpc_auth_key_str("", 1700000000, key2), 0);
    assert_string_equal(key, key2);
    assert_string_equal(key, "24920decf83f6960b80f737a28eeafc1");
    /* md5("0") and a negative timestamp md5("-5"). */
    assert_int_equal(ufrpc_auth_key_str("", 0, key), 0);
    assert_string_equal(key, "cfcd208495d565ef66e7dff9f98764da");
    assert_int_equal(ufrpc_auth_key_str("", -5, key), 0);
    assert_string_equal(key, "47c1b025fa18ea96c33fbb6718688c0f");
    /* md5("abc" "123"). */
    assert_int_equal(ufrpc_auth_key_str("abc", 123, key), 0);
    assert_string_equal(key, "e99a18c428cb38d5f260853678922e03");
    /* The transcript's Login: token "testtoken", ts 1795450625. */
    assert_int_equal(ufrpc_auth_key_str("testtoken", 1795450625, key), 0);
    assert_string_equal(key, "9a9e30005c4f0870d64f686486396d6b");
}

static void test_verify(void **state)
{
    (void)state;
    assert_true(ufrpc_auth_verify("12345678", 1700000000, "3d8aac6cc09d79da303be74c311e5808"));
    assert_false(ufrpc_auth_verify("12345678", 1700000001, "3d8aac6cc09d79da303be74c311e5808"));
    assert_false(ufrpc_auth_verify("1234567", 1700000000, "3d8aac6cc09d79da303be74c311e5808"));
    assert_false(ufrpc_auth_verify("12345678", 1700000000, "3d8aac6cc09d79da303be74c311e580"));
    assert_false(ufrpc_auth_verify("12345678", 1700000000, "3d8aac6cc09d79da303be74c311e58080"));
    assert_false(ufrpc_auth_verify("12345678", 1700000000, "3D8AAC6CC09D79DA303BE74C311E5808"));
    assert_false(ufrpc_auth_verify("12345678", 1700000000, NULL));
    assert_false(ufrpc_auth_verify("12345678", 1700000000, ""));
    char key[UFRPC_AUTH_KEY_LEN + 1];
    assert_int_equal(ufrpc_auth_key(NULL, 3, 1, key), UFRPC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
