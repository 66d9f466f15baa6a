/* ufrpc — a Prometheus text exposition writer (format 0.0.4), sans I/O.
 *
 * Appends "# HELP" / "# TYPE" headers and samples to a growable buffer the caller
 * takes afterwards; nothing else (no registry of metrics, no clock, no sockets).
 * The format: https://prometheus.io/docs/instrumenting/exposition_formats/
 *   - HELP text escapes '\' and newline; label values escape '\', '"' and newline;
 *   - metric and label names must match [a-zA-Z_:][a-zA-Z0-9_:]* and
 *     [a-zA-Z_][a-zA-Z0-9_]* (checked: a bad name fails the writer);
 *   - a histogram is written as <name>_bucket{...,le="B"} (cumulative, ending with
 *     le="+Inf"), <name>_sum and <name>_count.
 * Each family's samples must follow its header without other families in between
 * (the caller's order; the writer does not reorder).
 *
 * Errors are sticky: after an allocation failure, a bad name or the byte limit,
 * every later call does nothing and ufrpc_promtext_error() returns the first error
 * (UFRPC_ERR_NOMEM, UFRPC_ERR_INVAL, UFRPC_ERR_LIMIT).
 *
 * Ownership: the writer owns `p` (malloc'd) until ufrpc_promtext_take() hands it to
 * the caller, or ufrpc_promtext_free() frees it. Label arrays and strings passed in
 * are only read during the call. */
#ifndef UFRPC_PROTO_PROMTEXT_H
#define UFRPC_PROTO_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct ufrpc_promtext {
    char *p;      /* NUL-terminated text so far (NULL when empty) */
    size_t len, cap;
    size_t limit; /* 0 = none: past it the writer fails with UFRPC_ERR_LIMIT */
    int err;
    /* private caches (a scrape writes the same names and bounds many times) */
    const char *name_ok;
    const double *le_bounds;
    size_t le_n;
    char le[24][32];
};

struct ufrpc_prom_label {
    const char *name;
    const char *value; /* NULL = "" */
};

enum ufrpc_prom_type {
    UFRPC_PROM_COUNTER,
    UFRPC_PROM_GAUGE,
    UFRPC_PROM_HISTOGRAM,
    UFRPC_PROM_UNTYPED,
};

/* Zeroes w with a byte limit (0 = none). */
void ufrpc_promtext_init(struct ufrpc_promtext *w, size_t limit);
void ufrpc_promtext_free(struct ufrpc_promtext *w);
/* Makes room for n more bytes at once (a failure fails the writer). */
void ufrpc_promtext_reserve(struct ufrpc_promtext *w, size_t n);
/* The text (malloc'd, NUL-terminated; the caller frees it) and its length; the
 * writer is empty afterwards. NULL when nothing was written or on error. */
char *ufrpc_promtext_take(struct ufrpc_promtext *w, size_t *len);
int ufrpc_promtext_error(const struct ufrpc_promtext *w);

/* "# HELP name help\n# TYPE name type\n". */
void ufrpc_promtext_family(struct ufrpc_promtext *w, const char *name, enum ufrpc_prom_type type,
                           const char *help);

/* name{labels} value: integers exactly, doubles as Go's strconv 'g' would
 * (shortest form that reads back; +Inf, -Inf, NaN). nlabels may be 0. */
void ufrpc_promtext_u64(struct ufrpc_promtext *w, const char *name,
                        const struct ufrpc_prom_label *labels, size_t nlabels, uint64_t value);
void ufrpc_promtext_double(struct ufrpc_promtext *w, const char *name,
                           const struct ufrpc_prom_label *labels, size_t nlabels, double value);

/* A histogram's samples (after its family header). bounds[0..n) strictly increasing
 * upper bounds; counts[0..n] per-bucket (NOT cumulative) observation counts, the
 * last one (counts[n]) for values above bounds[n-1]; the writer accumulates them and
 * writes _count as their total. sum: the sum of all observed values. A histogram
 * whose bounds do not increase fails the writer with UFRPC_ERR_INVAL. */
void ufrpc_promtext_histogram(struct ufrpc_promtext *w, const char *name,
                              const struct ufrpc_prom_label *labels, size_t nlabels,
                              const double *bounds, const uint64_t *counts, size_t n,
                              double sum);

/* Formats v as the exposition format writes numbers into out (cap >= 32). */
void ufrpc_promtext_format_double(double v, char *out, size_t cap);

#endif
