/* ufrpc-bench: order statistics over caller-owned arrays of doubles. */
#ifndef UFRPC_BENCH_STATS_H
#define UFRPC_BENCH_STATS_H

#include <stddef.h>

/* Sorts v[0..n) ascending in place. */
void ufrpc_bench_sort(double *v, size_t n);

/* Nearest-rank percentile (p in [0,100]) of an ascending array; 0 when n == 0. */
double ufrpc_bench_percentile(const double *sorted, size_t n, double p);

/* Median (mean of the two middle values for even n), min and max of v[0..n);
 * v is not modified (at most 64 values are considered). Outputs are 0 for n == 0. */
void ufrpc_bench_summary(const double *v, size_t n, double *median, double *min, double *max);

#endif
