/* client/core/latency.c — see latency.h. */
#include "client/core/latency.h"

static const double bounds[UFRPC_LATENCY_NBOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,  0.1,    0.25,  0.5,
                                                     1,      2.5,   5,      10};

const double *ufrpc_latency_bounds(void)
{
    return bounds;
}

void ufrpc_latency_observe(struct ufrpc_latency *h, uint64_t us)
{
    size_t i = 0;
    while (i < UFRPC_LATENCY_NBOUNDS && (double)us > bounds[i] * 1e6)
        i++;
    h->counts[i]++;
    h->count++;
    h->sum_us += us;
    h->last_us = us;
}

double ufrpc_latency_quantile(const struct ufrpc_latency *h, double q)
{
    if (h->count == 0)
        return 0;
    double rank = q * (double)h->count, cum = 0;
    for (size_t i = 0; i <= UFRPC_LATENCY_NBOUNDS; i++) {
        double prev = cum;
        cum += (double)h->counts[i];
        if (cum >= rank && h->counts[i] > 0) {
            if (i == UFRPC_LATENCY_NBOUNDS)
                return bounds[UFRPC_LATENCY_NBOUNDS - 1];
            double lo = i == 0 ? 0 : bounds[i - 1];
            return lo + (bounds[i] - lo) * (rank - prev) / (double)h->counts[i];
        }
    }
    return bounds[UFRPC_LATENCY_NBOUNDS - 1];
}
