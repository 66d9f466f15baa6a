/* client/core/heap_trim.h: when the heap is given back — after a quiet second once the
 * work connections serving users have ended, after a burst, after a session is lost — with
 * the clock passed in; and the allocator's free-byte count it is judged by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "client/core/heap_trim.h"

#define Q UFRPC_HEAP_TRIM_QUIET_MS
#define NEVER UFRPC_HEAP_TRIM_NEVER
#define BIG ((size_t)UFRPC_HEAP_TRIM_MIN_FREE * 4)

static void test_nothing_happened(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    uint64_t next = 0;
    assert_int_equal(ufrpc_heap_trim_check(&t, 5000, BIG, &next), 0);
    assert_true(next == NEVER);
}

static void test_one_connection(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    uint64_t d = ufrpc_heap_trim_closed(&t, 100);
    assert_true(d == 100 + Q);
    uint64_t next = 0;
    /* a timer that fires early is told the deadline again */
    assert_int_equal(ufrpc_heap_trim_check(&t, 600, BIG, &next), 0);
    assert_true(next == 100 + Q);
    assert_int_equal(ufrpc_heap_trim_check(&t, 100 + Q, BIG, &next), 1);
    /* once per quiet period: nothing new, nothing more */
    assert_int_equal(ufrpc_heap_trim_check(&t, 100 + 5 * Q, BIG, &next), 0);
    assert_true(next == NEVER);
}

static void test_little_free_is_not_worth_it(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    uint64_t d = ufrpc_heap_trim_closed(&t, 10);
    uint64_t next = 0;
    assert_int_equal(ufrpc_heap_trim_check(&t, d, UFRPC_HEAP_TRIM_MIN_FREE - 1, &next), 0);
    assert_true(next == NEVER);
    /* the activity counted as done: a later check with much free does not trim */
    assert_int_equal(ufrpc_heap_trim_check(&t, d + Q, BIG, &next), 0);
    assert_int_equal(ufrpc_heap_trim_check(&t, d, UFRPC_HEAP_TRIM_MIN_FREE, &next), 0);
    ufrpc_heap_trim_opened(&t, d + 10);
    d = ufrpc_heap_trim_closed(&t, d + 20);
    assert_int_equal(ufrpc_heap_trim_check(&t, d, UFRPC_HEAP_TRIM_MIN_FREE, &next), 1);
}

static void test_activity_postpones(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    assert_true(ufrpc_heap_trim_closed(&t, 100) == 100 + Q);
    ufrpc_heap_trim_opened(&t, 500);
    assert_true(ufrpc_heap_trim_closed(&t, 900) == 900 + Q);
    uint64_t next = 0;
    assert_int_equal(ufrpc_heap_trim_check(&t, 100 + Q, BIG, &next), 0);
    assert_true(next == 900 + Q);
    assert_int_equal(ufrpc_heap_trim_check(&t, 900 + Q, BIG, &next), 1);
}

static void test_busy_connections_keep_the_pad(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    ufrpc_heap_trim_opened(&t, 0);
    ufrpc_heap_trim_opened(&t, 0);
    assert_true(ufrpc_heap_trim_closed(&t, 50) == NEVER); /* two still transfer */
    uint64_t next = 0;
    /* a timer armed before (or a stray one) finds them busy and is not re-armed */
    assert_int_equal(ufrpc_heap_trim_check(&t, 10 * Q, BIG, &next), 0);
    assert_true(next == NEVER);
    assert_true(ufrpc_heap_trim_closed(&t, 60) == NEVER);
    assert_true(ufrpc_heap_trim_closed(&t, 70) == 70 + Q);
    assert_int_equal(ufrpc_heap_trim_check(&t, 70 + Q, BIG, &next), 1);
}

static void test_burst(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    for (int i = 0; i < 100; i++)
        ufrpc_heap_trim_opened(&t, (uint64_t)i);
    uint64_t d = NEVER;
    for (int i = 0; i < 87; i++) /* 13 left: more than an eighth of 100 */
        d = ufrpc_heap_trim_closed(&t, 1000 + (uint64_t)i);
    assert_true(d == NEVER);
    d = ufrpc_heap_trim_closed(&t, 2000); /* 12 left */
    assert_true(d == 2000 + Q);
    /* the rest trickling out does not put it off */
    assert_true(ufrpc_heap_trim_closed(&t, 2000 + Q / 2) == d);
    uint64_t next = 0;
    assert_int_equal(ufrpc_heap_trim_check(&t, d, BIG, &next), 1);
    /* the policy starts over from the 11 left: they are the new peak, not a burst */
    for (int i = 0; i < 10; i++)
        assert_true(ufrpc_heap_trim_closed(&t, d + 1) == NEVER);
    uint64_t last = ufrpc_heap_trim_closed(&t, d + 3);
    assert_true(last == d + 3 + Q);
    assert_int_equal(ufrpc_heap_trim_check(&t, last, BIG, &next), 1);
}

static void test_session_lost(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    ufrpc_heap_trim_opened(&t, 0);
    uint64_t d = ufrpc_heap_trim_session_lost(&t, 300);
    assert_true(d == 300 + Q);
    uint64_t next = 0;
    /* connections still open (plain: they outlive the control) do not hold it off */
    assert_int_equal(ufrpc_heap_trim_check(&t, d, BIG, &next), 1);
    /* ... once: afterwards they are busy again */
    assert_true(ufrpc_heap_trim_closed(&t, d + 10) == NEVER);
    assert_int_equal(ufrpc_heap_trim_check(&t, d + 10 + Q, BIG, &next), 0);
    assert_true(next == NEVER);
}

static void test_session_lost_when_quiet(void **state)
{
    (void)state;
    struct ufrpc_heap_trim t;
    ufrpc_heap_trim_init(&t);
    ufrpc_heap_trim_opened(&t, 0);
    uint64_t d = ufrpc_heap_trim_closed(&t, 10);
    uint64_t next = 0;
    assert_int_equal(ufrpc_heap_trim_check(&t, d, BIG, &next), 1);
    /* long quiet before: the lost session's buffers still get their second to go */
    d = ufrpc_heap_trim_session_lost(&t, 5000);
    assert_true(d == 5000 + Q);
    assert_int_equal(ufrpc_heap_trim_check(&t, 5500, BIG, &next), 0);
    assert_true(next == d);
    assert_int_equal(ufrpc_heap_trim_check(&t, d, BIG, &next), 1);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void test_allocator(void **state)
{
    (void)state;
#if defined(__GLIBC__) && !defined(UNDER_ASAN)
    enum { N = 4096 };
    void **p = malloc(N * sizeof *p);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(1024);
        assert_non_null(p[i]);
    }
    void *keep = malloc(64); /* above them: their space cannot merge into the top */
    assert_non_null(keep);
    size_t before = ufrpc_heap_trim_free_bytes();
    for (int i = 0; i < N; i++)
        free(p[i]);
    size_t after = ufrpc_heap_trim_free_bytes();
    assert_true(after >= before + (size_t)N * 1024);
    assert_true(after >= UFRPC_HEAP_TRIM_MIN_FREE);
    ufrpc_heap_trim_now(); /* hands pages back; the heap stays usable */
    void *q = malloc(1 << 20);
    assert_non_null(q);
    free(q);
    free(keep);
    free(p);
#else
    /* elsewhere no count, so no trim */
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_happened),
        cmocka_unit_test(test_one_connection),
        cmocka_unit_test(test_little_free_is_not_worth_it),
        cmocka_unit_test(test_activity_postpones),
        cmocka_unit_test(test_busy_connections_keep_the_pad),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_session_lost),
        cmocka_unit_test(test_session_lost_when_quiet),
        cmocka_unit_test(test_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
