/* ufrpc-bench: what the load generator files (load_*.c) share. Not for other modules.
 *
 * A scenario owns two timers on the caller's loop: a hard deadline and a periodic
 * tick (progress, per-connection timeouts), plus one read buffer shared by all its
 * connections (reads are consumed inside the read callback, so one buffer per loop
 * is enough). Every connection struct begins with `struct ufrpc_bench_scen *scen`
 * and its uv_tcp_t's data points at that struct, so ufrpc_bench_scen_alloc can
 * find the buffer. */
#ifndef UFRPC_BENCH_LOAD_INTERNAL_H
#define UFRPC_BENCH_LOAD_INTERNAL_H

#include <stdint.h>

#include <uv.h>

#include "bench/progress.h"

#define UFRPC_BENCH_RBUF (256 * 1024)

struct ufrpc_bench_scen {
    uv_loop_t *loop;
    uv_timer_t deadline;
    uv_timer_t tick;
    int ended;
    int timers_closed; /* 0..2 */
    uint64_t t0_ns;
    ufrpc_bench_progress_t *prog;
    void (*on_tick)(struct ufrpc_bench_scen *s);
    void (*on_deadline)(struct ufrpc_bench_scen *s);
    char *rbuf; /* UFRPC_BENCH_RBUF bytes, owned by the scenario */
};

/* The first member of every connection struct. */
struct ufrpc_bench_conn_head {
    struct ufrpc_bench_scen *scen;
};

/* Allocates the read buffer and starts both timers (hard_ms after now; tick every
 * tick_ms). Returns 0 or UFRPC_ERR_NOMEM. */
int ufrpc_bench_scen_start(struct ufrpc_bench_scen *s, uv_loop_t *loop,
                           ufrpc_bench_progress_t *prog, uint64_t hard_ms, uint64_t tick_ms);

/* Closes both timers (idempotent). The read buffer stays until scen_free. */
void ufrpc_bench_scen_end(struct ufrpc_bench_scen *s);

/* Runs the loop until both timers are closed (they must have been ended), then
 * frees the read buffer. */
void ufrpc_bench_scen_free(struct ufrpc_bench_scen *s);

/* uv_alloc_cb handing out the scenario's shared read buffer. */
void ufrpc_bench_scen_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* Seconds since the scenario started. */
double ufrpc_bench_scen_elapsed(const struct ufrpc_bench_scen *s);

/* Big-endian helpers. */
uint64_t ufrpc_bench_get_be64(const uint8_t *p);

#endif
