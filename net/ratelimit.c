/* ufrpc — token bucket and the bandwidth-limiting pass-through stream. */
#include "net/ratelimit.h"

#include <stdlib.h>

#include "net/xform.h"
#include "proto/error.h"

#define PIECE_MAX 65536u

void ufrpc_tokenbucket_init(struct ufrpc_tokenbucket *tb, uint64_t rate, uint64_t burst,
                            uint64_t now_ns)
{
    tb->rate = (double)rate;
    tb->burst = (double)burst;
    tb->tokens = tb->burst;
    tb->last_ns = now_ns;
}

uint64_t ufrpc_tokenbucket_reserve(struct ufrpc_tokenbucket *tb, size_t n, uint64_t now_ns)
{
    if (now_ns > tb->last_ns) {
        double add = (double)(now_ns - tb->last_ns) * tb->rate / 1e9;
        tb->tokens += add;
        if (tb->tokens > tb->burst)
            tb->tokens = tb->burst;
        tb->last_ns = now_ns;
    }
    tb->tokens -= (double)n;
    if (tb->tokens >= 0)
        return 0;
    double ns = -tb->tokens * 1e9 / tb->rate;
    if (ns >= 1.8e19)
        return UINT64_MAX;
    uint64_t v = (uint64_t)ns;
    return (double)v < ns ? v + 1 : v;
}

struct ufrpc_ratelimit {
    unsigned refs;
    struct ufrpc_tokenbucket tb;
    ufrpc_clock_fn clock;
    void *clock_ctx;
    struct ufrpc_ratelimit_stats st;
};

static uint64_t hr_clock(void *ctx)
{
    (void)ctx;
    return uv_hrtime();
}

int ufrpc_ratelimit_new(uint64_t bytes_per_sec, ufrpc_clock_fn clock, void *clock_ctx,
                        ufrpc_ratelimit_t **out)
{
    if (bytes_per_sec == 0)
        return UFRPC_ERR_INVAL;
    ufrpc_ratelimit_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return UFRPC_ERR_NOMEM;
    l->refs = 1;
    l->clock = clock != NULL ? clock : hr_clock;
    l->clock_ctx = clock_ctx;
    ufrpc_tokenbucket_init(&l->tb, bytes_per_sec, bytes_per_sec, l->clock(l->clock_ctx));
    *out = l;
    return 0;
}

void ufrpc_ratelimit_ref(ufrpc_ratelimit_t *l)
{
    l->refs++;
}

void ufrpc_ratelimit_unref(ufrpc_ratelimit_t *l)
{
    if (l != NULL && --l->refs == 0)
        free(l);
}

uint64_t ufrpc_ratelimit_reserve(ufrpc_ratelimit_t *l, size_t n)
{
    uint64_t d = ufrpc_tokenbucket_reserve(&l->tb, n, l->clock(l->clock_ctx));
    l->st.bytes += n;
    l->st.last_delay_ns = d;
    if (d > 0)
        l->st.delays++;
    return d;
}

void ufrpc_ratelimit_get_stats(const ufrpc_ratelimit_t *l, struct ufrpc_ratelimit_stats *st)
{
    *st = l->st;
}

/* ---- the stream: a pass-through filter whose pacing hook asks the bucket ---------- */
static uint64_t rl_delay(void *ctx, int dir, size_t len)
{
    (void)dir;
    return ufrpc_ratelimit_reserve(ctx, len);
}

static size_t rl_piece_max(void *ctx)
{
    const ufrpc_ratelimit_t *l = ctx;
    return l->tb.burst < (double)PIECE_MAX ? (size_t)l->tb.burst : PIECE_MAX;
}

static void rl_free(void *ctx)
{
    ufrpc_ratelimit_unref(ctx);
}

static const struct ufrpc_xform_ops rl_ops = {
    .enc_bound = NULL,
    .encode = NULL,
    .decode = NULL,
    .delay = rl_delay,
    .piece_max = rl_piece_max,
    .finish = NULL,
    .free = rl_free,
};

struct ufrpc_stream *ufrpc_ratelimit_wrap(ufrpc_ratelimit_t *l, struct ufrpc_stream *lower,
                                          int *err)
{
    ufrpc_ratelimit_ref(l);
    return ufrpc_xform_filter_new(lower, &rl_ops, l, err);
}
