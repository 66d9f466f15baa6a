/* yamux bulk transfer between two in-memory sessions: 50 MiB over 8 streams, both
 * directions, random write sizes, random transport chunking, consumers that hold
 * data for a while; every byte verified and the per-stream buffering bounded by
 * the advertised window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_yamux_pair.h"

#define MiB (1024u * 1024u)
#define NSTREAMS 8

/* Consumes a random part of what each stream holds (a slow application). */
static void lazy_consume(struct ypeer *p, uint64_t *rng)
{
    for (int i = 0; i < p->nst; i++) {
        struct ystream *y = &p->sts[i];
        if (!y->st || !y->held)
            continue;
        uint64_t n = ufrpc_test_rand(rng) % (y->held + 1);
        if (ufrpc_test_rand(rng) % 4 == 0)
            n = y->held;
        assert_int_equal(ufrpc_yamux_stream_consume(y->st, (size_t)n), 0);
        y->held -= n;
    }
}

static void run_bulk(uint32_t window, uint64_t total, size_t max_output, uint64_t seed)
{
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.max_stream_window = window;
    cfg.max_output_bytes = max_output;
    cfg.enable_keepalive = 0;
    struct ypeer *c = calloc(1, sizeof *c), *sv = calloc(1, sizeof *sv);
    assert_int_equal(yp_init(c, UFRPC_YAMUX_CLIENT, &cfg, 0), 0);
    assert_int_equal(yp_init(sv, UFRPC_YAMUX_SERVER, &cfg, 0), 0);
    c->hold = sv->hold = 1;
    uint64_t rng = seed;
    uint64_t per_dir = total / (2 * NSTREAMS);

    for (int i = 0; i < NSTREAMS; i++) {
        ufrpc_yamux_stream_t *st;
        assert_int_equal(ufrpc_yamux_stream_open(c->s, &st), 0);
        struct ystream *y = yp_add(c, st);
        y->verify = 1;
        y->rx_target = per_dir;
    }
    yp_settle(c, sv, &rng, 70000, 0);
    assert_int_equal(sv->nst, NSTREAMS);
    for (int i = 0; i < NSTREAMS; i++) {
        struct ystream *ry = &sv->sts[i];
        ry->tag = 100 + (ry->id - 1) / 2;
        ry->verify = 1;
        ry->rx_target = per_dir;
    }
    /* ystream.tag is the pattern a side expects to RECEIVE; the sending tags:
     * client -> server 100 + n, server -> client 200 + n, n = (id - 1) / 2 */
    unsigned send_tag_c[NSTREAMS], send_tag_s[NSTREAMS];
    for (int i = 0; i < NSTREAMS; i++) {
        send_tag_c[i] = 100 + (unsigned)i;
        send_tag_s[i] = 200 + (sv->sts[i].id - 1) / 2;
        c->sts[i].tag = 200 + (c->sts[i].id - 1) / 2;
    }

    static uint8_t buf[300000];
    uint64_t guard = 0;
    for (;;) {
        int busy = 0;
        for (int side = 0; side < 2; side++) {
            struct ypeer *p = side ? sv : c;
            for (int i = 0; i < NSTREAMS; i++) {
                struct ystream *y = &p->sts[i];
                if (y->tx >= per_dir)
                    continue;
                busy = 1;
                size_t want = 1 + (size_t)(ufrpc_test_rand(&rng) % 3 == 0
                                               ? ufrpc_test_rand(&rng) % 64
                                               : ufrpc_test_rand(&rng) % sizeof buf);
                if (want > per_dir - y->tx)
                    want = (size_t)(per_dir - y->tx);
                unsigned tag = side ? send_tag_s[i] : send_tag_c[i];
                for (size_t k = 0; k < want; k++)
                    buf[k] = yp_pattern(tag, y->tx + k);
                ptrdiff_t w = ufrpc_yamux_stream_write(y->st, buf, want);
                assert_true(w >= 0);
                y->tx += (uint64_t)w;
                if (y->tx == per_dir)
                    assert_int_equal(ufrpc_yamux_stream_close(y->st), 0);
            }
        }
        size_t moved = yp_move(c, sv, &rng, 70000, 0) + yp_move(sv, c, &rng, 70000, 0);
        lazy_consume(c, &rng);
        lazy_consume(sv, &rng);
        for (int i = 0; i < NSTREAMS; i++) {
            assert_true(ufrpc_yamux_stream_unconsumed(c->sts[i].st) <= window);
            assert_true(ufrpc_yamux_stream_unconsumed(sv->sts[i].st) <= window);
        }
        int done = 1;
        for (int i = 0; i < NSTREAMS; i++)
            if (!c->sts[i].fin || !sv->sts[i].fin)
                done = 0;
        if (done && !busy)
            break;
        (void)moved;
        assert_true(++guard < 10000000);
    }
    uint64_t got = 0;
    for (int i = 0; i < NSTREAMS; i++) {
        assert_int_equal(c->sts[i].bad, 0);
        assert_int_equal(sv->sts[i].bad, 0);
        assert_int_equal(c->sts[i].rx, per_dir);
        assert_int_equal(sv->sts[i].rx, per_dir);
        got += c->sts[i].rx + sv->sts[i].rx;
    }
    assert_int_equal(got, per_dir * 2 * NSTREAMS);
    assert_true(c->max_unconsumed <= window && sv->max_unconsumed <= window);
    assert_int_equal(c->n_err + sv->n_err, 0);
    /* all finished: releasing frees every stream without further frames */
    for (int i = 0; i < NSTREAMS; i++) {
        ufrpc_yamux_stream_release(c->sts[i].st);
        ufrpc_yamux_stream_release(sv->sts[i].st);
    }
    assert_int_equal(ufrpc_yamux_session_num_streams(c->s), 0);
    assert_int_equal(ufrpc_yamux_session_num_streams(sv->s), 0);
    ufrpc_yamux_session_free(c->s);
    ufrpc_yamux_session_free(sv->s);
    free(c);
    free(sv);
}

static void test_bulk_50mib_frp_window(void **state)
{
    (void)state;
    run_bulk(6 * MiB, 50ull * MiB, 256 * 1024, 1);
}

static void test_bulk_small_window_small_ring(void **state)
{
    (void)state;
    /* 256 KiB windows (no SYN delta) and a 4 KiB ring: many WindowUpdates and
     * constant output-space backpressure */
    run_bulk(256 * 1024, 8ull * MiB, 4096, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_50mib_frp_window),
        cmocka_unit_test(test_bulk_small_window_small_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
