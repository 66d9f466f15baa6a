/* ufrpc — bandwidthLimit with bandwidthLimitMode = "client": a token bucket per
 * proxy, applied to its work streams (docs/PROTOCOL.md §5.3: the limiter sits right
 * above the wire, below encryption and compression).
 *
 * Semantics follow frpc (golang.org/x/time/rate, limit.NewReader/NewWriter): one
 * bucket per proxy shared by every work stream of that proxy and by both
 * directions, rate = burst = bandwidthLimit bytes per second, the bucket starts
 * full. Writes are cut into pieces of at most `burst` bytes (and at most 64 KiB);
 * each piece reserves its tokens and is written once the reservation matures.
 * Reads hand each lower delivery up in slices of the same size, each once its
 * reservation matures; meanwhile the lower stream is paused, so at most one
 * delivery (64 KiB) is held per stream. Reservations may drive the bucket negative: later users wait
 * behind them (no starvation, FIFO in reservation order).
 *
 * Memory: the stream adapter copies nothing (pass-through filter, net/xform.h),
 * holds at most UFRPC_XFORM_MAX_INFLIGHT piece descriptors for writes, plus
 * one paused delivery.
 *
 * Lifetimes: the limiter is refcounted. ufrpc_ratelimit_new returns it with one
 * reference (the proxy's); every wrapped stream takes one and drops it when it is
 * freed; the proxy calls ufrpc_ratelimit_unref when it goes away. The wrapped
 * stream owns its lower stream (closed with it, and on failure).
 */
#ifndef UFRPC_NET_RATELIMIT_H
#define UFRPC_NET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

/* ---- pure token bucket (no clock of its own: time is passed in) ------------------ */
struct ufrpc_tokenbucket {
    double rate;     /* tokens (bytes) per second, > 0 */
    double burst;    /* bucket size, > 0 */
    double tokens;   /* may be negative (outstanding reservations) */
    uint64_t last_ns;
};

/* Starts full at now_ns. rate and burst must be > 0. */
void ufrpc_tokenbucket_init(struct ufrpc_tokenbucket *tb, uint64_t rate, uint64_t burst,
                            uint64_t now_ns);
/* Refills for the time since the last call (a clock going backwards counts as no
 * time), then reserves n tokens. Returns the nanoseconds from now_ns until the
 * reservation matures (0 = at once), rounded up. */
uint64_t ufrpc_tokenbucket_reserve(struct ufrpc_tokenbucket *tb, size_t n, uint64_t now_ns);

/* ---- the limiter ----------------------------------------------------------------- */
typedef struct ufrpc_ratelimit ufrpc_ratelimit_t;

/* Clock in nanoseconds (tests pass a fake one); NULL = uv_hrtime. */
typedef uint64_t (*ufrpc_clock_fn)(void *ctx);

/* bytes_per_sec > 0 (config's parsed bandwidthLimit). 0 and *out, or
 * UFRPC_ERR_INVAL / UFRPC_ERR_NOMEM. */
int ufrpc_ratelimit_new(uint64_t bytes_per_sec, ufrpc_clock_fn clock, void *clock_ctx,
                        ufrpc_ratelimit_t **out);
void ufrpc_ratelimit_ref(ufrpc_ratelimit_t *l);
void ufrpc_ratelimit_unref(ufrpc_ratelimit_t *l); /* NULL is fine */

/* Reserves n bytes now on the limiter's clock; returns the wait in ns. (What the
 * streams call; exposed for tests and for packet paths such as UDP.) */
uint64_t ufrpc_ratelimit_reserve(ufrpc_ratelimit_t *l, size_t n);

struct ufrpc_ratelimit_stats {
    uint64_t bytes;         /* bytes reserved so far, both directions */
    uint64_t delays;        /* reservations that had to wait */
    uint64_t last_delay_ns; /* wait of the latest reservation (0 if none) */
};
void ufrpc_ratelimit_get_stats(const ufrpc_ratelimit_t *l, struct ufrpc_ratelimit_stats *st);

/* Wraps lower (see above). Takes a reference on l. NULL with *err on failure. */
struct ufrpc_stream *ufrpc_ratelimit_wrap(ufrpc_ratelimit_t *l, struct ufrpc_stream *lower,
                                          int *err);

#endif
