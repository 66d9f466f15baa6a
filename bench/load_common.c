/* ufrpc-bench scenario base: see load_internal.h. */
#include "bench/load.h"
#include "bench/load_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bench/util.h"
#include "proto/error.h"

static void on_deadline(uv_timer_t *t)
{
    struct ufrpc_bench_scen *s = t->data;
    if (s->on_deadline)
        s->on_deadline(s);
    ufrpc_bench_scen_end(s);
}

static void on_tick(uv_timer_t *t)
{
    struct ufrpc_bench_scen *s = t->data;
    if (s->on_tick)
        s->on_tick(s);
}

int ufrpc_bench_scen_start(struct ufrpc_bench_scen *s, uv_loop_t *loop,
                           ufrpc_bench_progress_t *prog, uint64_t hard_ms, uint64_t tick_ms)
{
    s->loop = loop;
    s->prog = prog;
    s->ended = 0;
    s->timers_closed = 0;
    s->t0_ns = ufrpc_bench_now_ns();
    s->rbuf = malloc(UFRPC_BENCH_RBUF);
    if (s->rbuf == NULL)
        return UFRPC_ERR_NOMEM;
    uv_timer_init(loop, &s->deadline);
    uv_timer_init(loop, &s->tick);
    s->deadline.data = s;
    s->tick.data = s;
    uv_timer_start(&s->deadline, on_deadline, hard_ms, 0);
    uv_timer_start(&s->tick, on_tick, tick_ms, tick_ms);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct ufrpc_bench_scen *s = h->data;
    s->timers_closed++;
}

void ufrpc_bench_scen_end(struct ufrpc_bench_scen *s)
{
    if (s->ended)
        return;
    s->ended = 1;
    uv_close((uv_handle_t *)&s->deadline, on_timer_closed);
    uv_close((uv_handle_t *)&s->tick, on_timer_closed);
}

void ufrpc_bench_scen_free(struct ufrpc_bench_scen *s)
{
    /* closing handles make uv_run(ONCE) poll without blocking: bounded */
    for (int i = 0; i < 100 && s->timers_closed < 2; i++)
        uv_run(s->loop, UV_RUN_ONCE);
    free(s->rbuf);
    s->rbuf = NULL;
}

void ufrpc_bench_scen_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ufrpc_bench_conn_head *c = h->data;
    (void)suggested;
    buf->base = c->scen->rbuf;
    buf->len = UFRPC_BENCH_RBUF;
}

double ufrpc_bench_scen_elapsed(const struct ufrpc_bench_scen *s)
{
    return (double)(ufrpc_bench_now_ns() - s->t0_ns) / 1e9;
}

uint64_t ufrpc_bench_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void on_sleep_timer(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, NULL);
    uv_stop(t->loop);
}

void ufrpc_bench_loop_sleep(uv_loop_t *loop, int ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_sleep_timer, ms > 0 ? (uint64_t)ms : 0, 0);
    /* The timer callback closes the timer and stops the loop; uv_run runs the close
     * callbacks of an iteration before it looks at the stop flag, so the timer is
     * fully closed when uv_run returns. */
    uv_run(loop, UV_RUN_DEFAULT);
}
