/* ufrpc-bench: load generators, the user side of the service roles in service.h.
 *
 * Every function runs the caller's libuv loop (uv_run) until its scenario is over
 * and returns with the loop empty again (except between ufrpc_bench_hold_open and
 * ufrpc_bench_hold_close, when the held connections stay on it). Each scenario is
 * bounded in time by its own hard deadline and in count by its arguments. The
 * loop must not be used by anything else meanwhile. target must stay valid during
 * the call. prog may be NULL. Returns 0 when every connection of the scenario did
 * what it should, else a negative ufrpc error with the partial result filled in. */
#ifndef UFRPC_BENCH_LOAD_H
#define UFRPC_BENCH_LOAD_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "bench/progress.h"

enum ufrpc_bench_dir {
    UFRPC_BENCH_UP,  /* user -> service (SINK role) */
    UFRPC_BENCH_DOWN /* service -> user (SOURCE role) */
};

typedef struct ufrpc_bench_bulk_result {
    uint64_t bytes;  /* bytes counted by the receiving side */
    double seconds;  /* first command sent -> last connection finished */
    int ok;          /* connections that completed */
    int failed;      /* connections that failed (connect, reset, timeout, short count) */
} ufrpc_bench_bulk_result_t;

/* Bulk throughput: conns parallel connections (1..1024) each move data in direction
 * dir for `seconds` from its own start. For UP the bytes are those the service
 * reports at EOF (and a connection whose count differs from what was sent fails). */
int ufrpc_bench_bulk(uv_loop_t *loop, const struct sockaddr *target, enum ufrpc_bench_dir dir,
                     int conns, double seconds, ufrpc_bench_progress_t *prog,
                     ufrpc_bench_bulk_result_t *out);

/* Connection setup latency: `count` sequential connections (1..100000), each timed
 * from connect() to the first echoed byte, in microseconds, into samples[0..*n_ok)
 * (samples has room for count). Stops early after max_seconds or after too many
 * failures (more than count/10 + 10). */
int ufrpc_bench_setup_latency(uv_loop_t *loop, const struct sockaddr *target, int count,
                              double max_seconds, ufrpc_bench_progress_t *prog,
                              double *samples, int *n_ok, int *n_failed);

typedef struct ufrpc_bench_hold ufrpc_bench_hold_t;

/* Opens `count` (1..20000) echo connections, at most 64 connecting at a time, and
 * returns once each one has echoed a byte or failed, or after max_seconds; the
 * connections then stay open and idle. *out owns them (free it with
 * ufrpc_bench_hold_close even on error); *established counts the live ones. */
int ufrpc_bench_hold_open(uv_loop_t *loop, const struct sockaddr *target, int count,
                          double max_seconds, ufrpc_bench_progress_t *prog,
                          ufrpc_bench_hold_t **out, int *established);

/* Closes every held connection, runs the loop until they are gone, frees h. */
void ufrpc_bench_hold_close(ufrpc_bench_hold_t *h);

typedef struct ufrpc_bench_http_result {
    uint64_t requests; /* responses received completely */
    uint64_t errors;   /* failed connects, resets, malformed or missing responses */
    double seconds;
    double p50_us, p90_us, p99_us; /* request latency (with connect when !keepalive) */
} ufrpc_bench_http_result_t;

/* HTTP request rate: conns (1..1024) clients issue "GET /" with Host: host_header
 * back to back for `seconds`; with keepalive each client reuses its connection,
 * without it every request uses a new connection and asks "Connection: close". */
int ufrpc_bench_http(uv_loop_t *loop, const struct sockaddr *target, const char *host_header,
                     int conns, int keepalive, double seconds, ufrpc_bench_progress_t *prog,
                     ufrpc_bench_http_result_t *out);

/* Readiness probes, retried every 50 ms until success or timeout_s:
 * a TCP connect (then closed), an echo round trip, or one HTTP 200 response.
 * Return 0 or UFRPC_ERR_TIMEOUT. */
int ufrpc_bench_probe_tcp(uv_loop_t *loop, const struct sockaddr *target, double timeout_s);
int ufrpc_bench_probe_echo(uv_loop_t *loop, const struct sockaddr *target, double timeout_s);
int ufrpc_bench_probe_http(uv_loop_t *loop, const struct sockaddr *target, const char *host_header,
                           double timeout_s);

/* Runs the loop for ms milliseconds (nothing else must be pending on it). */
void ufrpc_bench_loop_sleep(uv_loop_t *loop, int ms);

#endif
