/* ufrpc-bench: options and the two modes.
 *
 *   compare  starts a server (the test frps, or a real frps with --frps), the local
 *            service, and each client under test in turn (ufrpc; frpc with --frpc)
 *            plus "direct" (no tunnel) as the ceiling; see compare.c.
 *   run      deployment: serves the local service on --local-port and measures
 *            through the user's public endpoint --target; see run.c.
 * Both feed measure.c, which runs the scenarios of load.h against one endpoint and
 * stores the figures in a results store (results.h). */
#ifndef UFRPC_BENCH_BENCH_H
#define UFRPC_BENCH_BENCH_H

#include <sys/socket.h>
#include <sys/types.h>

#include <uv.h>

#include "bench/progress.h"
#include "bench/results.h"

#define UFRPC_BENCH_VERSION "0.1.0"

/* Tunnel modes: bit i of modes_mask enables UFRPC_BENCH_MODES[i]: the client's
 * transport.protocol, TLS and tcpMux (the server's tcpMux follows). */
struct ufrpc_bench_mode {
    const char *name;
    const char *protocol; /* transport.protocol */
    int tls, mux;
};
enum { UFRPC_BENCH_NMODES = 9 };
/* plain, mux, tls, tls+mux: what a run measures unless --modes says otherwise */
#define UFRPC_BENCH_DEFAULT_MODES 0x0fu

typedef struct ufrpc_bench_opts {
    const char *command;   /* "compare" or "run" */
    const char *frps;      /* real frps executable (compare), or NULL */
    const char *test_frps; /* ufrpc-test-frps executable (compare), or NULL: found */
    const char *frpc;      /* frpc executable, or NULL */
    const char *ufrpc;     /* ufrpc executable, or NULL: found */
    int no_ufrpc;          /* compare without ufrpc (direct and frpc only) */
    double duration;       /* seconds per throughput / http scenario */
    int runs;
    const char *json_path; /* or NULL */
    const char *chart_dir; /* or NULL */
    int quick;
    int latency_conns;
    int idle_conns;
    int parallel[2];
    int http_conns;
    unsigned modes_mask;
    const char *workdir; /* or NULL: a fresh one in $TMPDIR, removed unless keep */
    int keep;
    int quiet;
    /* run mode */
    const char *target;      /* host:port of the public endpoint */
    int local_port;          /* where the service listens (127.0.0.1) */
    const char *http_target; /* host:port of an http vhost endpoint, or NULL */
    const char *http_host;   /* Host header for http_target */
    int client_pid;          /* the tunnel client, for its cost figures (0: none) */
    const char *label;       /* results column name in run mode */
} ufrpc_bench_opts_t;

extern const struct ufrpc_bench_mode UFRPC_BENCH_MODES[UFRPC_BENCH_NMODES];

/* One endpoint to measure. */
typedef struct ufrpc_bench_endpoint {
    const char *client;              /* results column */
    const char *mode;                /* results mode ("-": independent of modes) */
    struct sockaddr_storage tcp;     /* echo / sink / source service through the tunnel */
    int have_http;
    struct sockaddr_storage http;    /* http endpoint, when have_http */
    const char *http_host;           /* Host header */
    const char *http_na;             /* why there is no http, when !have_http */
    pid_t pid;                       /* client process for cost figures, or 0 */
    pid_t server_pid;                /* server process (only shown in progress), or 0 */
} ufrpc_bench_endpoint_t;

/* Liveness check between scenarios: NULL while everything runs, else a static
 * text saying what ended (e.g. "server process ended"). */
typedef const char *(*ufrpc_bench_alive_fn)(void *arg);

/* Runs every scenario against ep once (one run) and appends the figures to r.
 * alive (may be NULL) is asked between scenarios; once it reports a reason the
 * rest is recorded as failed with that reason. Returns 0, or a negative ufrpc error if a scenario failed. */
int ufrpc_bench_measure(uv_loop_t *loop, const ufrpc_bench_opts_t *o,
                        const ufrpc_bench_endpoint_t *ep, ufrpc_bench_results_t *r,
                        ufrpc_bench_progress_t *prog, ufrpc_bench_alive_fn alive, void *alive_arg);

/* The modes. Return the process exit code (0 success, 1 failure). */
int ufrpc_bench_compare(const ufrpc_bench_opts_t *o);
int ufrpc_bench_run(const ufrpc_bench_opts_t *o);

/* Writes outputs shared by both modes: table on stdout, JSON, charts. */
int ufrpc_bench_report(const ufrpc_bench_opts_t *o, const ufrpc_bench_results_t *r,
                       json_object *meta, const char *num, const char *den, const char *workdir,
                       ufrpc_bench_progress_t *prog);

#endif
