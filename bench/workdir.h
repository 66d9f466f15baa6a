/* ufrpc-bench: the work directory holding generated configs, logs and chart data. */
#ifndef UFRPC_BENCH_WORKDIR_H
#define UFRPC_BENCH_WORKDIR_H

#include <stddef.h>

/* Uses dir when given (created if missing), else creates a fresh
 * $TMPDIR/ufrpc-bench.XXXXXX. The path goes to out. Returns 0 or UFRPC_ERR_IO. */
int ufrpc_bench_workdir_create(const char *dir, char *out, size_t len);

/* Removes the regular files directly inside dir (at most 10000), then dir itself. */
void ufrpc_bench_workdir_remove(const char *dir);

#endif
