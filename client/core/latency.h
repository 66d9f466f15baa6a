/* ufrpc — a fixed-bucket latency histogram: plain integers, no allocation, for
 * counters kept on the loop (local dial time, login time, Ping round trip) and
 * written out as Prometheus histograms in seconds (client/core/metrics.h).
 *
 * Buckets (upper bounds, seconds): UFRPC_LATENCY_BOUNDS below, plus one for
 * everything above the last. Values are recorded in microseconds. */
#ifndef UFRPC_CLIENT_LATENCY_H
#define UFRPC_CLIENT_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_LATENCY_NBOUNDS 14

struct ufrpc_latency {
    uint64_t counts[UFRPC_LATENCY_NBOUNDS + 1]; /* per bucket, not cumulative */
    uint64_t sum_us;
    uint64_t count;
    uint64_t last_us; /* the latest observation */
};

/* The bucket bounds in seconds (static, UFRPC_LATENCY_NBOUNDS values). */
const double *ufrpc_latency_bounds(void);

void ufrpc_latency_observe(struct ufrpc_latency *h, uint64_t us);

/* The value below which a fraction q (0..1) of the observations fall, in seconds,
 * interpolated inside its bucket as Prometheus's histogram_quantile does; 0 when
 * empty; the last bound when it falls in the open bucket. */
double ufrpc_latency_quantile(const struct ufrpc_latency *h, double q);

#endif
