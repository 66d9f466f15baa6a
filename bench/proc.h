/* ufrpc-bench: child processes (servers and clients under test) and what /proc
 * tells about them.
 *
 * Children are started with fork/exec, stdin from /dev/null and stdout+stderr
 * appended to a log file; each one gets PR_SET_PDEATHSIG(SIGKILL) so that none
 * outlives the bench even if it crashes. The ufrpc_bench_child_t is caller-owned. */
#ifndef UFRPC_BENCH_PROC_H
#define UFRPC_BENCH_PROC_H

#include <sys/types.h>

typedef struct ufrpc_bench_child {
    pid_t pid;      /* 0 when not running */
    int exited;     /* reaped */
    int status;     /* waitpid status once exited */
} ufrpc_bench_child_t;

/* Starts argv[0] (a path) with argv; output to log_path. Returns 0 or
 * UFRPC_ERR_IO (fork/open failed). An exec failure shows as exit status 127. */
int ufrpc_bench_child_spawn(ufrpc_bench_child_t *c, char *const argv[], const char *log_path);

/* Reaps without blocking; returns 1 while the child is still running. */
int ufrpc_bench_child_alive(ufrpc_bench_child_t *c);

/* SIGTERM, up to timeout_ms for it to exit, then SIGKILL and reap. Idempotent. */
void ufrpc_bench_child_stop(ufrpc_bench_child_t *c, int timeout_ms);

/* Describes how a reaped child ended ("exit 1", "signal 11") into buf. */
void ufrpc_bench_child_describe(const ufrpc_bench_child_t *c, char *buf, size_t len);

/* utime+stime of the whole process (all threads) in seconds. Returns 0 or
 * UFRPC_ERR_IO. */
int ufrpc_bench_proc_cpu(pid_t pid, double *seconds);

/* VmRSS and VmHWM (peak RSS) in KiB. Returns 0 or UFRPC_ERR_IO. */
int ufrpc_bench_proc_mem(pid_t pid, long *rss_kib, long *hwm_kib);

/* Size in bytes of a stripped copy of the executable at path: copies it into dir,
 * runs `strip` on the copy, stats it and removes it. Returns 0, UFRPC_ERR_UNSUPPORTED
 * when path is not an ELF file (a wrapper script: no size to compare), or
 * UFRPC_ERR_IO. */
int ufrpc_bench_stripped_size(const char *path, const char *dir, long long *size);

/* Runs argv (a path in argv[0]) to completion with output to log_path, bounded by
 * timeout_ms. Returns its exit status (0..255), or a negative ufrpc error. */
int ufrpc_bench_run_command(char *const argv[], const char *log_path, int timeout_ms);

#endif
