/* client/backoff: frpc's login and session retry schedules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "client/core/backoff.h"
#include "testutil.h"

static double zero_rand(void *ctx)
{
    (void)ctx;
    return 0.0;
}

static double max_rand(void *ctx)
{
    (void)ctx;
    return 0.9999999;
}

static double prng_rand(void *ctx)
{
    return (double)(ufrpc_test_rand((uint64_t *)ctx) >> 11) / 9007199254740992.0;
}

static void test_first_login_schedule_without_jitter(void **state)
{
    (void)state;
    struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(10000);
    struct ufrpc_backoff b;
    ufrpc_backoff_init(&b, &o);
    const uint64_t want[] = {2000, 4000, 8000, 10000, 10000, 10000};
    uint64_t now = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t d = ufrpc_backoff_failed(&b, now, zero_rand, NULL);
        assert_int_equal(d, want[i]);
        now += d;
    }
}

static void test_relogin_schedule_caps_at_20s(void **state)
{
    (void)state;
    struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(20000);
    struct ufrpc_backoff b;
    ufrpc_backoff_init(&b, &o);
    const uint64_t want[] = {2000, 4000, 8000, 16000, 20000, 20000, 20000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(ufrpc_backoff_failed(&b, i * 30000, zero_rand, NULL), want[i]);
}

static void test_max_jitter_is_ten_percent_and_compounds(void **state)
{
    (void)state;
    struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(20000);
    struct ufrpc_backoff b;
    ufrpc_backoff_init(&b, &o);
    /* Go multiplies the previous (jittered) delay: 2000*1.1=2200, 2200*2*1.1=4840, ... */
    assert_int_equal(ufrpc_backoff_failed(&b, 0, max_rand, NULL), 2199);
    assert_int_equal(ufrpc_backoff_failed(&b, 1, max_rand, NULL), 4837);
    assert_int_equal(ufrpc_backoff_failed(&b, 2, max_rand, NULL), 10641);
    assert_int_equal(ufrpc_backoff_failed(&b, 3, max_rand, NULL), 20000);
}

static void test_random_jitter_stays_in_bounds(void **state)
{
    (void)state;
    uint64_t seed = 42;
    for (int run = 0; run < 200; run++) {
        struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(20000);
        struct ufrpc_backoff b;
        ufrpc_backoff_init(&b, &o);
        uint64_t prev = 1000;
        for (int i = 0; i < 8; i++) {
            uint64_t d = ufrpc_backoff_failed(&b, (uint64_t)i, prng_rand, &seed);
            uint64_t lo = prev * 2, hi = prev * 2 + prev * 2 / 10;
            if (lo > 20000)
                lo = 20000;
            if (hi > 20000)
                hi = 20000;
            assert_true(d >= lo && d <= hi);
            prev = d;
        }
    }
}

static void test_success_resets_to_duration(void **state)
{
    (void)state;
    struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(20000);
    struct ufrpc_backoff b;
    ufrpc_backoff_init(&b, &o);
    assert_int_equal(ufrpc_backoff_next(&b, 0, 0, zero_rand, NULL), 1000); /* first call */
    assert_int_equal(ufrpc_backoff_next(&b, 1, 1, zero_rand, NULL), 2000);
    assert_int_equal(ufrpc_backoff_next(&b, 1, 2, zero_rand, NULL), 4000);
    assert_int_equal(ufrpc_backoff_next(&b, 0, 3, zero_rand, NULL), 1000);
    /* consecutive errors restart from the last delay (1 s) */
    assert_int_equal(ufrpc_backoff_next(&b, 1, 4, zero_rand, NULL), 2000);
}

static void test_session_fast_retries(void **state)
{
    (void)state;
    struct ufrpc_backoff_opts o = ufrpc_backoff_session_opts();
    struct ufrpc_backoff b;
    ufrpc_backoff_init(&b, &o);
    uint64_t now = 1000;
    /* two fast retries (the window counter starts at 1), each 200 ms + <= 50 % */
    assert_int_equal(ufrpc_backoff_failed(&b, now, zero_rand, NULL), 200);
    assert_int_equal(ufrpc_backoff_failed(&b, now + 10, max_rand, NULL), 299);
    /* third failure opens a one-minute window and backs off exponentially */
    assert_int_equal(ufrpc_backoff_failed(&b, now + 20, zero_rand, NULL), 598);
    /* inside the window the counter restarted: three more fast retries */
    assert_int_equal(ufrpc_backoff_failed(&b, now + 30, zero_rand, NULL), 200);
    assert_int_equal(ufrpc_backoff_failed(&b, now + 40, zero_rand, NULL), 200);
    assert_int_equal(ufrpc_backoff_failed(&b, now + 50, zero_rand, NULL), 200);
    /* window still open: no reset, exponential growth continues from 200 */
    assert_int_equal(ufrpc_backoff_failed(&b, now + 60, zero_rand, NULL), 400);
    assert_int_equal(ufrpc_backoff_failed(&b, now + 70, zero_rand, NULL), 800);
    for (int i = 0; i < 10; i++)
        (void)ufrpc_backoff_failed(&b, now + 80 + (uint64_t)i, zero_rand, NULL);
    assert_int_equal(b.delay_ms, 20000);
    /* after the window expires it resets and the next three are fast again */
    assert_int_equal(ufrpc_backoff_failed(&b, now + 70000, zero_rand, NULL), 20000);
    assert_int_equal(ufrpc_backoff_failed(&b, now + 70001, zero_rand, NULL), 200);
}

static void test_jitter_helper(void **state)
{
    (void)state;
    assert_int_equal(ufrpc_backoff_jitter(1000, 0.1, zero_rand, NULL), 1000);
    assert_int_equal(ufrpc_backoff_jitter(1000, 0.1, max_rand, NULL), 1099);
    assert_int_equal(ufrpc_backoff_jitter(1000, 0.0, max_rand, NULL), 1999); /* Go default 1.0 */
    assert_int_equal(ufrpc_backoff_jitter(1000, 0.5, NULL, NULL), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_login_schedule_without_jitter),
        cmocka_unit_test(test_relogin_schedule_caps_at_20s),
        cmocka_unit_test(test_max_jitter_is_ten_percent_and_compounds),
        cmocka_unit_test(test_random_jitter_stays_in_bounds),
        cmocka_unit_test(test_success_resets_to_duration),
        cmocka_unit_test(test_session_fast_retries),
        cmocka_unit_test(test_jitter_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
