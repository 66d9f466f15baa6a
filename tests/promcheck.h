/* tests/promcheck — an independent checker of Prometheus text exposition 0.0.4
 * (what `promtool check metrics` refuses as syntax): HELP/TYPE lines, names, label
 * syntax and escapes, numbers, TYPE before a family's samples, families not
 * interleaved, no duplicate series, histograms with le labels, cumulative buckets
 * ending in +Inf equal to _count, counters not negative.
 * Returns 0, or -1 with "line N: why" in err. Also: the value of one series. */
#ifndef UFRPC_TESTS_PROMCHECK_H
#define UFRPC_TESTS_PROMCHECK_H

#include <stddef.h>

int promcheck_validate(const char *text, size_t len, char *err, size_t cap);

/* The value of the sample whose line starts with `series` followed by a space
 * (e.g. "ufrpc_proxy_bytes_in_total{name=\"a\",type=\"tcp\"}"); 0 when found. */
int promcheck_value(const char *text, const char *series, double *out);

#endif
