/* frpc's fast backoff manager as a pure function of (previous delay, failed, now, rand). */
#include "client/core/backoff.h"

#include <stddef.h>

struct ufrpc_backoff_opts ufrpc_backoff_login_opts(uint64_t max_ms)
{
    struct ufrpc_backoff_opts o = {0};
    o.duration_ms = 1000;
    o.factor = 2.0;
    o.jitter = 0.1;
    o.max_ms = max_ms;
    return o;
}

struct ufrpc_backoff_opts ufrpc_backoff_session_opts(void)
{
    struct ufrpc_backoff_opts o = ufrpc_backoff_login_opts(20000);
    o.fast_retry_count = 3;
    o.fast_retry_delay_ms = 200;
    o.fast_retry_jitter = 0.5;
    o.fast_retry_window_ms = 60000;
    return o;
}

void ufrpc_backoff_init(struct ufrpc_backoff *b, const struct ufrpc_backoff_opts *opts)
{
    struct ufrpc_backoff zero = {0};
    *b = zero;
    b->opts = *opts;
    b->fast_count = 1; /* frp starts its window counter at 1 */
}

static double draw(ufrpc_rand01_fn rand01, void *ctx)
{
    if (!rand01)
        return 0.0;
    double r = rand01(ctx);
    if (!(r >= 0.0)) /* also catches NaN */
        r = 0.0;
    if (r >= 1.0)
        r = 0.999999;
    return r;
}

uint64_t ufrpc_backoff_jitter(uint64_t d_ms, double max_factor, ufrpc_rand01_fn rand01,
                              void *rand_ctx)
{
    if (max_factor <= 0.0)
        max_factor = 1.0;
    return d_ms + (uint64_t)(draw(rand01, rand_ctx) * max_factor * (double)d_ms);
}

uint64_t ufrpc_backoff_next(struct ufrpc_backoff *b, int failed, uint64_t now_ms,
                            ufrpc_rand01_fn rand01, void *rand_ctx)
{
    const struct ufrpc_backoff_opts *o = &b->opts;
    if (!b->called) {
        b->called = 1;
        return o->duration_ms;
    }
    if (failed)
        b->consecutive_errors++;
    else
        b->consecutive_errors = 0;

    if (o->fast_retry_count > 0 && failed) {
        b->fast_count++;
        if (b->fast_count <= o->fast_retry_count) {
            b->delay_ms = ufrpc_backoff_jitter(o->fast_retry_delay_ms, o->fast_retry_jitter,
                                               rand01, rand_ctx);
            return b->delay_ms;
        }
        if (now_ms > b->fast_cutoff_ms) {
            b->fast_cutoff_ms = now_ms + o->fast_retry_window_ms;
            b->fast_count = 0;
        }
    }

    if (!failed) {
        b->delay_ms = o->duration_ms;
        return b->delay_ms;
    }
    uint64_t d = b->delay_ms;
    if (b->consecutive_errors == 1 && o->init_if_fail_ms)
        d = o->init_if_fail_ms;
    if (d == 0)
        d = 1000;
    if (o->factor != 0.0)
        d = (uint64_t)((double)d * o->factor);
    if (o->jitter > 0.0)
        d = ufrpc_backoff_jitter(d, o->jitter, rand01, rand_ctx);
    if (o->max_ms > 0 && d > o->max_ms)
        d = o->max_ms;
    b->delay_ms = d;
    return d;
}

uint64_t ufrpc_backoff_failed(struct ufrpc_backoff *b, uint64_t now_ms, ufrpc_rand01_fn rand01,
                              void *rand_ctx)
{
    if (!b->called)
        (void)ufrpc_backoff_next(b, 0, now_ms, rand01, rand_ctx);
    return ufrpc_backoff_next(b, 1, now_ms, rand01, rand_ctx);
}
