/* net/stream: bounded pools of read buffers (ufrpc_rbuf_pool_*): returned buffers
 * are reused, at most max_free are kept and none once every buffer is back (an idle
 * stream holds no buffer), and buffers that outlive the pool's owner
 * stay valid and take the pool with the last of them (ASan checks the frees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/stream.h"

static void test_pool_reuse_bounded(void **state)
{
    (void)state;
    ufrpc_rbuf_pool_t *p = ufrpc_rbuf_pool_new(4096, 2);
    assert_non_null(p);
    struct ufrpc_rbuf_pool_stats st;
    /* two buffers in flight at a time, as a stream whose consumer writes each
     * delivery and drops it when the write completes: no malloc after the first two */
    ufrpc_rbuf_t *prev = NULL;
    for (int i = 0; i < 1000; i++) {
        ufrpc_rbuf_t *b = ufrpc_rbuf_pool_get(p);
        assert_non_null(b);
        assert_int_equal(b->refs, 1);
        assert_int_equal(b->cap, 4096);
        assert_true(((uintptr_t)b->base % _Alignof(max_align_t)) == 0);
        memset(b->base, i & 0xff, b->cap);
        ufrpc_rbuf_ref(b);   /* the consumer's reference */
        ufrpc_rbuf_unref(b); /* the stream moves on */
        ufrpc_rbuf_unref(prev); /* the previous write completed */
        prev = b;
    }
    ufrpc_rbuf_unref(prev);
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_true(st.allocs <= 2);
    assert_true(st.reuses >= 998);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.nfree, 0); /* idle: no spare kept */

    /* a burst of 10 in use: only max_free of them are kept while one is still
     * out, and none once all are back */
    ufrpc_rbuf_t *many[10];
    for (int i = 0; i < 10; i++)
        assert_non_null(many[i] = ufrpc_rbuf_pool_get(p));
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 10);
    assert_int_equal(st.nfree, 0);
    for (int i = 0; i < 9; i++)
        ufrpc_rbuf_unref(many[i]);
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.nfree, 2);
    ufrpc_rbuf_unref(many[9]);
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.nfree, 0);

    /* a consumer that holds many deliveries (a yamux transport) raises max_free;
     * lowering it again frees the extra ones at once */
    ufrpc_rbuf_pool_set_max_free(p, 8);
    for (int i = 0; i < 10; i++)
        assert_non_null(many[i] = ufrpc_rbuf_pool_get(p));
    for (int i = 0; i < 9; i++)
        ufrpc_rbuf_unref(many[i]);
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_int_equal(st.nfree, 8);
    ufrpc_rbuf_pool_set_max_free(p, 1);
    ufrpc_rbuf_pool_get_stats(p, &st);
    assert_int_equal(st.nfree, 1);
    ufrpc_rbuf_unref(many[9]);
    ufrpc_rbuf_pool_free(p);
}

static void test_pool_outlives_owner(void **state)
{
    (void)state;
    ufrpc_rbuf_pool_t *p = ufrpc_rbuf_pool_new(100, 1);
    assert_non_null(p);
    ufrpc_rbuf_t *a = ufrpc_rbuf_pool_get(p);
    ufrpc_rbuf_t *b = ufrpc_rbuf_pool_get(p);
    ufrpc_rbuf_t *c = ufrpc_rbuf_pool_get(p);
    ufrpc_rbuf_unref(c); /* kept as the free one */
    ufrpc_rbuf_pool_free(p); /* the owner (a stream) is gone; a and b are still held */
    memset(a->base, 1, a->cap);
    memset(b->base, 2, b->cap);
    ufrpc_rbuf_unref(a);
    assert_int_equal(b->base[99], 2);
    ufrpc_rbuf_unref(b); /* frees b and the pool */
    ufrpc_rbuf_pool_free(NULL);
    /* a pool that never handed out a buffer */
    ufrpc_rbuf_pool_free(ufrpc_rbuf_pool_new(10, 0));
    assert_null(ufrpc_rbuf_pool_new(0, 1));
}

/* Read-buffer-sized pools: a burst of
 * many connections' worth of buffers leaves nothing behind once all are back, and
 * the spares never exceed the cap meanwhile, whatever the order of returns. */
static void test_pool_big_buffers_released(void **state)
{
    (void)state;
    ufrpc_rbuf_pool_t *p = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, UFRPC_READ_POOL_FREE);
    assert_non_null(p);
    enum { N = 64 };
    ufrpc_rbuf_t *bufs[N];
    struct ufrpc_rbuf_pool_stats st;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            assert_non_null(bufs[i] = ufrpc_rbuf_pool_get(p));
            bufs[i]->base[0] = (uint8_t)i;
            bufs[i]->base[bufs[i]->cap - 1] = (uint8_t)i;
        }
        for (int i = 0; i < N; i++) { /* returned out of order */
            int k = (i * 37) % N;
            assert_int_equal(bufs[k]->base[bufs[k]->cap - 1], (uint8_t)k);
            ufrpc_rbuf_unref(bufs[k]);
            ufrpc_rbuf_pool_get_stats(p, &st);
            assert_true(st.nfree <= UFRPC_READ_POOL_FREE);
            assert_int_equal(st.in_use, (unsigned)(N - 1 - i));
        }
        ufrpc_rbuf_pool_get_stats(p, &st);
        assert_int_equal(st.nfree, 0);
    }
    ufrpc_rbuf_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_reuse_bounded),
        cmocka_unit_test(test_pool_outlives_owner),
        cmocka_unit_test(test_pool_big_buffers_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
