/* ufrpc-bench: the outputs both modes share (table, JSON, charts). See bench.h. */
#include "bench/bench.h"

#include <stdio.h>

#include "proto/error.h"

int ufrpc_bench_report(const ufrpc_bench_opts_t *o, const ufrpc_bench_results_t *r,
                       json_object *meta, const char *num, const char *den, const char *workdir,
                       ufrpc_bench_progress_t *prog)
{
    int rc = 0;
    ufrpc_bench_progress_note(prog, "%s", "");
    ufrpc_bench_results_print_table(r, stdout, num, den);
    fflush(stdout);
    if (o->json_path != NULL) {
        if (ufrpc_bench_results_write_json(r, meta, num, den, o->json_path) != 0) {
            ufrpc_bench_progress_note(prog, "ufrpc-bench: cannot write %s", o->json_path);
            rc = UFRPC_ERR_IO;
        } else {
            ufrpc_bench_progress_note(prog, "results: %s", o->json_path);
        }
    }
    if (o->chart_dir != NULL) {
        int n = ufrpc_bench_results_charts(r, o->chart_dir, workdir, o->runs, prog);
        if (n > 0)
            ufrpc_bench_progress_note(prog, "charts: %d PNG files in %s", n, o->chart_dir);
    }
    return rc;
}
