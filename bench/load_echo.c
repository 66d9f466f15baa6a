/* ufrpc-bench echo-based scenarios: setup latency and held idle connections.
 * See load.h. */
#include "bench/load.h"
#include "bench/load_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bench/service.h"
#include "bench/util.h"
#include "proto/error.h"

#define CONN_TIMEOUT_NS (5ull * 1000000000ull)
#define HOLD_PARALLEL_CONNECTS 64
#define HOLD_MAX 20000

static const char ECHO_PROBE[2] = {UFRPC_BENCH_CMD_ECHO, 'x'};

/* ---- setup latency: one connection at a time */

struct lat {
    struct ufrpc_bench_scen scen;
    struct lconn {
        struct ufrpc_bench_scen *scen; /* first: see load_internal.h */
        struct lat *l;
        uv_tcp_t tcp;
        uv_connect_t creq;
        uv_write_t wreq;
        uint64_t t0;
        int connected;
    } c;
    int busy; /* c.tcp is initialised and not yet closed */
    int count, ok, failed, max_failed;
    uint64_t stop_ns;
    double *samples;
    struct sockaddr_storage target;
};

static void lat_next(struct lat *l);

static void lat_closed(uv_handle_t *h)
{
    struct lconn *c = h->data;
    c->l->busy = 0;
    lat_next(c->l);
}

static void lat_end_conn(struct lconn *c, int ok)
{
    struct lat *l = c->l;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (ok) {
        l->samples[l->ok++] = (double)(ufrpc_bench_now_ns() - c->t0) / 1000.0;
        /* reset instead of FIN: no TIME_WAIT pile-up over thousands of connections */
        if (uv_tcp_close_reset(&c->tcp, lat_closed) == 0)
            return;
    } else {
        l->failed++;
    }
    uv_close((uv_handle_t *)&c->tcp, lat_closed);
}

static void lat_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct lconn *c = s->data;
    if (nread == 0)
        return;
    lat_end_conn(c, nread > 0 && buf->base[0] == 'x');
}

static void lat_written(uv_write_t *req, int status)
{
    if (status < 0)
        lat_end_conn(req->data, 0);
}

static void lat_connected(uv_connect_t *req, int status)
{
    struct lconn *c = req->data;
    if (status < 0) {
        lat_end_conn(c, 0);
        return;
    }
    c->connected = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_buf_t b = uv_buf_init((char *)ECHO_PROBE, sizeof(ECHO_PROBE));
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, lat_written) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, ufrpc_bench_scen_alloc, lat_read) != 0)
        lat_end_conn(c, 0);
}

static void lat_next(struct lat *l)
{
    if (l->busy || l->scen.ended)
        return;
    if (l->ok + l->failed >= l->count || l->failed > l->max_failed ||
        ufrpc_bench_now_ns() >= l->stop_ns) {
        ufrpc_bench_scen_end(&l->scen);
        return;
    }
    struct lconn *c = &l->c;
    memset(c, 0, sizeof(*c));
    c->scen = &l->scen;
    c->l = l;
    uv_tcp_init(l->scen.loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    l->busy = 1;
    c->t0 = ufrpc_bench_now_ns();
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&l->target, lat_connected) != 0)
        lat_end_conn(c, 0);
}

static void lat_tick(struct ufrpc_bench_scen *s)
{
    struct lat *l = (struct lat *)s;
    if (l->busy && ufrpc_bench_now_ns() - l->c.t0 > CONN_TIMEOUT_NS)
        lat_end_conn(&l->c, 0);
    ufrpc_bench_progress_status(s->prog, "%d/%d connections  %d failed  %.1f s", l->ok,
                                l->count, l->failed, ufrpc_bench_scen_elapsed(s));
}

static void lat_deadline(struct ufrpc_bench_scen *s)
{
    struct lat *l = (struct lat *)s;
    l->stop_ns = 0;
    if (l->busy)
        lat_end_conn(&l->c, 0);
}

int ufrpc_bench_setup_latency(uv_loop_t *loop, const struct sockaddr *target, int count,
                              double max_seconds, ufrpc_bench_progress_t *prog,
                              double *samples, int *n_ok, int *n_failed)
{
    *n_ok = *n_failed = 0;
    if (count < 1 || count > 100000 || !(max_seconds > 0) || max_seconds > 3600)
        return UFRPC_ERR_INVAL;
    struct lat l;
    memset(&l, 0, sizeof(l));
    l.count = count;
    l.max_failed = count / 10 + 10;
    l.samples = samples;
    l.scen.on_tick = lat_tick;
    l.scen.on_deadline = lat_deadline;
    l.stop_ns = ufrpc_bench_now_ns() + (uint64_t)(max_seconds * 1e9);
    memcpy(&l.target, target, target->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in));
    int rc = ufrpc_bench_scen_start(&l.scen, loop, prog, (uint64_t)(max_seconds * 1000) + 10000, 100);
    if (rc != 0)
        return rc;
    lat_next(&l);
    uv_run(loop, UV_RUN_DEFAULT);
    ufrpc_bench_scen_free(&l.scen);
    *n_ok = l.ok;
    *n_failed = l.failed;
    return l.failed == 0 && l.ok == count ? 0 : (l.ok > 0 ? UFRPC_ERR_NET : UFRPC_ERR_CONNECT);
}

/* ---- held idle connections */

enum hstate { H_IDLE, H_CONNECTING, H_UP, H_FAILED };

struct hconn {
    struct ufrpc_bench_scen *scen; /* first: see load_internal.h */
    struct ufrpc_bench_hold *h;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    enum hstate state;
    int inited;
    uint64_t t0;
};

struct ufrpc_bench_hold {
    struct ufrpc_bench_scen scen;
    struct sockaddr_storage target;
    struct hconn *conns;
    int count;
    int next;       /* next connection to start */
    int connecting; /* in flight */
    int established, failed;
    int open;       /* initialised handles not yet closed */
    int opening;    /* still in the open phase */
    int running;    /* inside hold_open's uv_run: uv_stop is allowed */
};

static void hold_closed(uv_handle_t *hd)
{
    struct hconn *c = hd->data;
    c->h->open--;
}

static void hold_fill(struct ufrpc_bench_hold *h);

static void hold_settle(struct hconn *c, int ok)
{
    struct ufrpc_bench_hold *h = c->h;
    if (c->state != H_CONNECTING)
        return;
    h->connecting--;
    if (ok) {
        c->state = H_UP;
        h->established++;
    } else {
        c->state = H_FAILED;
        h->failed++;
        uv_close((uv_handle_t *)&c->tcp, hold_closed);
    }
    hold_fill(h);
}

static void hold_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct hconn *c = s->data;
    if (nread == 0)
        return;
    if (c->state == H_CONNECTING) {
        hold_settle(c, nread > 0 && buf->base[0] == 'x');
        return;
    }
    if (nread < 0 && c->state == H_UP) {
        /* dropped while held */
        c->state = H_FAILED;
        c->h->established--;
        c->h->failed++;
        uv_close((uv_handle_t *)&c->tcp, hold_closed);
    }
}

static void hold_written(uv_write_t *req, int status)
{
    if (status < 0)
        hold_settle(req->data, 0);
}

static void hold_connected(uv_connect_t *req, int status)
{
    struct hconn *c = req->data;
    if (status < 0 || c->state != H_CONNECTING) {
        hold_settle(c, 0);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)ECHO_PROBE, sizeof(ECHO_PROBE));
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, hold_written) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, ufrpc_bench_scen_alloc, hold_read) != 0)
        hold_settle(c, 0);
}

static void hold_fill(struct ufrpc_bench_hold *h)
{
    if (!h->opening)
        return;
    while (h->next < h->count && h->connecting < HOLD_PARALLEL_CONNECTS) {
        struct hconn *c = &h->conns[h->next++];
        c->scen = &h->scen;
        c->h = h;
        uv_tcp_init(h->scen.loop, &c->tcp);
        c->inited = 1;
        h->open++;
        c->tcp.data = c;
        c->creq.data = c;
        c->state = H_CONNECTING;
        c->t0 = ufrpc_bench_now_ns();
        h->connecting++;
        if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&h->target,
                           hold_connected) != 0)
            hold_settle(c, 0);
    }
    if (h->established + h->failed >= h->count) {
        h->opening = 0;
        ufrpc_bench_scen_end(&h->scen);
        if (h->running)
            uv_stop(h->scen.loop);
    }
}

static void hold_tick(struct ufrpc_bench_scen *s)
{
    struct ufrpc_bench_hold *h = (struct ufrpc_bench_hold *)s;
    uint64_t now = ufrpc_bench_now_ns();
    for (int i = 0; i < h->next; i++) {
        if (h->conns[i].state == H_CONNECTING && now - h->conns[i].t0 > CONN_TIMEOUT_NS)
            hold_settle(&h->conns[i], 0);
    }
    ufrpc_bench_progress_status(s->prog, "%d/%d connections held  %d failed", h->established,
                                h->count, h->failed);
}

static void hold_deadline(struct ufrpc_bench_scen *s)
{
    struct ufrpc_bench_hold *h = (struct ufrpc_bench_hold *)s;
    h->failed += h->count - h->next; /* never started */
    h->next = h->count;
    for (int i = 0; i < h->count; i++) {
        struct hconn *c = &h->conns[i];
        if (c->state == H_CONNECTING) {
            h->connecting--;
            h->failed++;
            c->state = H_FAILED;
            uv_close((uv_handle_t *)&c->tcp, hold_closed);
        }
    }
    h->opening = 0;
    if (h->running)
        uv_stop(s->loop);
}

int ufrpc_bench_hold_open(uv_loop_t *loop, const struct sockaddr *target, int count,
                          double max_seconds, ufrpc_bench_progress_t *prog,
                          ufrpc_bench_hold_t **out, int *established)
{
    *out = NULL;
    *established = 0;
    if (count < 1 || count > HOLD_MAX || !(max_seconds > 0) || max_seconds > 3600)
        return UFRPC_ERR_INVAL;
    struct ufrpc_bench_hold *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return UFRPC_ERR_NOMEM;
    h->conns = calloc((size_t)count, sizeof(*h->conns));
    if (h->conns == NULL) {
        free(h);
        return UFRPC_ERR_NOMEM;
    }
    h->count = count;
    memcpy(&h->target, target, target->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in));
    h->scen.on_tick = hold_tick;
    h->scen.on_deadline = hold_deadline;
    int rc = ufrpc_bench_scen_start(&h->scen, loop, prog, (uint64_t)(max_seconds * 1000), 250);
    if (rc != 0) {
        free(h->conns);
        free(h);
        return rc;
    }
    *out = h;
    h->opening = 1;
    hold_fill(h);
    if (h->opening) {
        h->running = 1;
        uv_run(loop, UV_RUN_DEFAULT);
        h->running = 0;
    }
    *established = h->established;
    return h->established == count ? 0 : UFRPC_ERR_NET;
}

void ufrpc_bench_hold_close(ufrpc_bench_hold_t *h)
{
    if (h == NULL)
        return;
    ufrpc_bench_scen_end(&h->scen);
    for (int i = 0; i < h->count; i++) {
        struct hconn *c = &h->conns[i];
        if (c->inited && !uv_is_closing((uv_handle_t *)&c->tcp)) {
            /* reset: 1000 FINs would leave 1000 TIME_WAIT sockets behind */
            if (c->state != H_UP || uv_tcp_close_reset(&c->tcp, hold_closed) != 0)
                uv_close((uv_handle_t *)&c->tcp, hold_closed);
        }
    }
    /* every handle is closing, so uv_run(ONCE) never blocks: bounded */
    for (int i = 0; i < 1000 && h->open > 0; i++)
        uv_run(h->scen.loop, UV_RUN_ONCE);
    ufrpc_bench_scen_free(&h->scen);
    free(h->conns);
    free(h);
}
