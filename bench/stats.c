/* ufrpc-bench statistics: see stats.h. */
#include "bench/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

void ufrpc_bench_sort(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_double);
}

double ufrpc_bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0)
        return sorted[0];
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void ufrpc_bench_summary(const double *v, size_t n, double *median, double *min, double *max)
{
    double tmp[64];
    if (n > 64)
        n = 64;
    if (n == 0) {
        *median = *min = *max = 0;
        return;
    }
    memcpy(tmp, v, n * sizeof(*v));
    ufrpc_bench_sort(tmp, n);
    *min = tmp[0];
    *max = tmp[n - 1];
    *median = (n % 2) ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
}
