/* ufrpc — frpc's retry schedules as pure logic (no clock, no randomness of its own).
 *
 * frpc (pkg/util/wait, client/service.go) retries with a "fast backoff manager":
 *   - the first attempt runs at once;
 *   - after a failed attempt the next delay is prev × factor (prev = 1 s if none yet),
 *     plus up to `jitter` × that value at random, capped at max (cap applied last);
 *   - after a success the delay is back to `duration`;
 *   - optionally, within a time window, the first few failures only wait a short
 *     "fast retry" delay (+ its own jitter).
 * Presets:
 *   first login:           max 10 s          → ≈ 0, 2, 4, 8, 10, 10 … s
 *   re-login after a drop: max 20 s          → ≈ 0, 2, 4, 8, 16, 20 … s
 *   session restarts:      the outer loop around re-login: 3 fast retries of 200 ms
 *                          (+≤50 %) per minute, else exponential up to 20 s.
 *
 * The random source is passed in: rand01 returns a double in [0, 1). Tests pass a
 * fixed sequence; the client passes a PRNG.
 *
 * Ownership: plain values, caller-owned, nothing to free. */
#ifndef UFRPC_CLIENT_BACKOFF_H
#define UFRPC_CLIENT_BACKOFF_H

#include <stdint.h>

typedef double (*ufrpc_rand01_fn)(void *ctx);

struct ufrpc_backoff_opts {
    uint64_t duration_ms;        /* delay after a success (and the very first call) */
    uint64_t init_if_fail_ms;    /* base of the first failure's delay; 0: previous delay */
    double factor;               /* multiplier per failure; 0: none */
    double jitter;               /* add up to jitter × delay at random; <= 0: none */
    uint64_t max_ms;             /* cap; 0: none */
    int fast_retry_count;        /* 0: no fast retries */
    uint64_t fast_retry_delay_ms;
    double fast_retry_jitter;    /* <= 0 means 1.0 (Go's Jitter default) */
    uint64_t fast_retry_window_ms;
};

struct ufrpc_backoff {
    struct ufrpc_backoff_opts opts;
    int called;                /* 0 until the first ufrpc_backoff_next */
    int consecutive_errors;
    uint64_t fast_cutoff_ms;   /* end of the current fast-retry window */
    int fast_count;            /* calls counted in the current window */
    uint64_t delay_ms;         /* the last delay returned */
};

/* Preset for frpc's login loop (loopLoginUntilSuccess): 1 s base, ×2, 10 % jitter,
 * capped at max_ms (10 000 for the first login, 20 000 after a drop). */
struct ufrpc_backoff_opts ufrpc_backoff_login_opts(uint64_t max_ms);

/* Preset for frpc's keepControllerWorking outer loop (fast retries: 3 × 200 ms within
 * a minute, then ×2 with 10 % jitter up to 20 s). */
struct ufrpc_backoff_opts ufrpc_backoff_session_opts(void);

/* Starts (or restarts) a schedule. */
void ufrpc_backoff_init(struct ufrpc_backoff *b, const struct ufrpc_backoff_opts *opts);

/* The delay before the next attempt, given whether the attempt just made failed.
 * The very first call returns opts.duration_ms (frpc's ticker set-up value, which
 * its loop does not wait for: the first attempt always runs at once). Also stored in
 * b->delay_ms. now_ms is any monotonic clock (only differences matter). */
uint64_t ufrpc_backoff_next(struct ufrpc_backoff *b, int failed, uint64_t now_ms,
                            ufrpc_rand01_fn rand01, void *rand_ctx);

/* Delay after the attempt that just failed, for a loop that retries until success:
 * the first attempt is made at once (the caller does not ask), then every failure
 * calls this. Equivalent to frpc's BackoffUntil(sliding=true). */
uint64_t ufrpc_backoff_failed(struct ufrpc_backoff *b, uint64_t now_ms, ufrpc_rand01_fn rand01,
                              void *rand_ctx);

/* Go's wait.Jitter: d + rand01 × max_factor × d (max_factor <= 0 means 1.0). */
uint64_t ufrpc_backoff_jitter(uint64_t d_ms, double max_factor, ufrpc_rand01_fn rand01,
                              void *rand_ctx);

#endif
