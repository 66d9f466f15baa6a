/* ufrpc-bench: the results store and its three views (JSON, table, charts).
 *
 * A figure is one measured quantity (catalogue in results.c, documented in
 * bench/README.md) for one client ("direct", "ufrpc", "frpc", or "target" in
 * deployment mode) in one mode ("plain", "mux", "tls", "tls+mux", or "-" when the
 * figure does not depend on the mode). Each run appends one value; the views show
 * the median with min and max. The store owns everything it holds; strings passed
 * in are copied. */
#ifndef UFRPC_BENCH_RESULTS_H
#define UFRPC_BENCH_RESULTS_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "bench/progress.h"

#define UFRPC_BENCH_MAX_RUNS 64
#define UFRPC_BENCH_NAME_LEN 16
#define UFRPC_BENCH_NOTE_LEN 128

typedef struct ufrpc_bench_figure_def {
    const char *key;   /* JSON "figure" */
    const char *group; /* chart group */
    const char *unit;
    const char *label; /* table text */
    int higher_better;
} ufrpc_bench_figure_def_t;

typedef struct ufrpc_bench_entry {
    char client[UFRPC_BENCH_NAME_LEN];
    char mode[UFRPC_BENCH_NAME_LEN];
    const ufrpc_bench_figure_def_t *fig;
    double runs[UFRPC_BENCH_MAX_RUNS];
    int nruns;
    int failures; /* runs that produced no value */
    char note[UFRPC_BENCH_NOTE_LEN];
} ufrpc_bench_entry_t;

typedef struct ufrpc_bench_results {
    ufrpc_bench_entry_t *entries;
    size_t n, cap;
    char clients[8][UFRPC_BENCH_NAME_LEN]; /* column order, first seen first */
    int nclients;
    char notes[64][256]; /* run-wide messages (client crashes, skipped parts) */
    int nnotes;
} ufrpc_bench_results_t;

/* The figure catalogue: n entries in *count. Static, never freed. */
const ufrpc_bench_figure_def_t *ufrpc_bench_figures(size_t *count);
const ufrpc_bench_figure_def_t *ufrpc_bench_figure(const char *key);

void ufrpc_bench_results_init(ufrpc_bench_results_t *r);
void ufrpc_bench_results_free(ufrpc_bench_results_t *r);

/* Declares a client column (keeps the order of the table and charts). */
void ufrpc_bench_results_client(ufrpc_bench_results_t *r, const char *client);

/* Appends one run's value. Returns 0, UFRPC_ERR_NOT_FOUND (unknown key),
 * UFRPC_ERR_LIMIT (more than UFRPC_BENCH_MAX_RUNS runs) or UFRPC_ERR_NOMEM. */
int ufrpc_bench_results_add(ufrpc_bench_results_t *r, const char *client, const char *mode,
                            const char *key, double value);

/* Records a run without a value and why (the latest reason is kept). A note
 * starting with "n/a" marks a figure that does not apply rather than a failure. */
int ufrpc_bench_results_fail(ufrpc_bench_results_t *r, const char *client, const char *mode,
                             const char *key, const char *note);

/* Adds a run-wide message (printed under the table, kept in the JSON). */
void ufrpc_bench_results_note(ufrpc_bench_results_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Finds an entry (NULL if none). */
const ufrpc_bench_entry_t *ufrpc_bench_results_find(const ufrpc_bench_results_t *r,
                                                    const char *client, const char *mode,
                                                    const char *key);

/* A JSON number printed with at most 3 decimals (no float noise); NULL (JSON null)
 * for NaN or infinity. The caller owns the returned reference. */
json_object *ufrpc_bench_json_number(double v);

/* The modes figure key has entries in, ordered as modes first appear in the store;
 * the mode-less "-" is left out when other modes exist. Pointers into r. */
int ufrpc_bench_results_modes(const ufrpc_bench_results_t *r, const char *key, const char *modes[],
                              int max);

/* Writes the JSON document (schema "ufrpc-bench/1", see bench/README.md) to path;
 * meta is a JSON object of run settings, borrowed. num/den name the ratio's
 * clients (den may be NULL: no ratios). Returns 0 or UFRPC_ERR_IO. */
int ufrpc_bench_results_write_json(const ufrpc_bench_results_t *r, json_object *meta,
                                   const char *num, const char *den, const char *path);

/* Prints the side-by-side table with the num/den ratio column. */
void ufrpc_bench_results_print_table(const ufrpc_bench_results_t *r, FILE *out, const char *num,
                                     const char *den);

/* Writes one PNG per figure group into dir with gnuplot (found in PATH), using
 * workdir for data and scripts. Returns the number of charts written, or a
 * negative ufrpc error (UFRPC_ERR_NOT_FOUND when gnuplot is missing). */
int ufrpc_bench_results_charts(const ufrpc_bench_results_t *r, const char *dir,
                               const char *workdir, int runs, ufrpc_bench_progress_t *prog);

#endif
