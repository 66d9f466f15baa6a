/* ufrpc-bench readiness probes: see load.h. */
#include "bench/load.h"
#include "bench/load_internal.h"

#include <stdio.h>
#include <string.h>

#include "bench/service.h"
#include "bench/util.h"
#include "proto/error.h"

#define RETRY_MS 50
#define ATTEMPT_TIMEOUT_NS (2ull * 1000000000ull)

enum pkind { P_TCP, P_ECHO, P_HTTP };

struct probe {
    struct ufrpc_bench_scen scen;
    struct pconn {
        struct ufrpc_bench_scen *scen; /* first: see load_internal.h */
        struct probe *p;
        uv_tcp_t tcp;
        uv_connect_t creq;
        uv_write_t wreq;
    } c;
    enum pkind kind;
    struct sockaddr_storage target;
    uv_timer_t retry;
    int retry_live;
    int busy;     /* c.tcp live */
    int success;
    int gave_up;
    uint64_t attempt_t0;
    char msg[400];
    size_t msg_len;
    char got[16];
    size_t got_len;
};

static void attempt(struct probe *p);

static void retry_closed(uv_handle_t *h)
{
    struct probe *p = h->data;
    p->retry_live = 0;
}

static void finish_all(struct probe *p)
{
    ufrpc_bench_scen_end(&p->scen);
    if (p->retry_live && !uv_is_closing((uv_handle_t *)&p->retry))
        uv_close((uv_handle_t *)&p->retry, retry_closed);
}

static void on_retry(uv_timer_t *t)
{
    attempt(t->data);
}

static void conn_closed(uv_handle_t *h)
{
    struct pconn *c = h->data;
    struct probe *p = c->p;
    p->busy = 0;
    if (p->success || p->gave_up)
        finish_all(p);
    else
        uv_timer_start(&p->retry, on_retry, RETRY_MS, 0);
}

static void conn_end(struct pconn *c, int ok)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (ok)
        c->p->success = 1;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct pconn *c = s->data;
    struct probe *p = c->p;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_end(c, 0);
        return;
    }
    size_t take = (size_t)nread;
    if (take > sizeof(p->got) - p->got_len)
        take = sizeof(p->got) - p->got_len;
    memcpy(p->got + p->got_len, buf->base, take);
    p->got_len += take;
    if (p->kind == P_ECHO) {
        conn_end(c, p->got[0] == 'x');
    } else if (p->got_len >= 12) {
        conn_end(c, memcmp(p->got, "HTTP/1.1 200", 12) == 0 ||
                        memcmp(p->got, "HTTP/1.0 200", 12) == 0);
    }
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0)
        conn_end(req->data, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct pconn *c = req->data;
    struct probe *p = c->p;
    if (status < 0) {
        conn_end(c, 0);
        return;
    }
    if (p->kind == P_TCP) {
        conn_end(c, 1);
        return;
    }
    uv_buf_t b = uv_buf_init(p->msg, (unsigned)p->msg_len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, ufrpc_bench_scen_alloc, on_read) != 0)
        conn_end(c, 0);
}

static void attempt(struct probe *p)
{
    if (p->gave_up || p->success || p->busy) {
        if (!p->busy)
            finish_all(p);
        return;
    }
    struct pconn *c = &p->c;
    memset(c, 0, sizeof(*c));
    c->scen = &p->scen;
    c->p = p;
    p->got_len = 0;
    uv_tcp_init(p->scen.loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    p->busy = 1;
    p->attempt_t0 = ufrpc_bench_now_ns();
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&p->target, on_connect) != 0)
        conn_end(c, 0);
}

static void probe_tick(struct ufrpc_bench_scen *s)
{
    struct probe *p = (struct probe *)s;
    if (p->busy && ufrpc_bench_now_ns() - p->attempt_t0 > ATTEMPT_TIMEOUT_NS)
        conn_end(&p->c, 0);
}

static void probe_deadline(struct ufrpc_bench_scen *s)
{
    struct probe *p = (struct probe *)s;
    p->gave_up = 1;
    if (p->busy)
        conn_end(&p->c, 0);
    else
        finish_all(p);
}

static int probe_run(uv_loop_t *loop, const struct sockaddr *target, enum pkind kind,
                     const char *host_header, double timeout_s)
{
    struct probe p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    memcpy(&p.target, target, target->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in));
    if (kind == P_ECHO) {
        p.msg[0] = UFRPC_BENCH_CMD_ECHO;
        p.msg[1] = 'x';
        p.msg_len = 2;
    } else if (kind == P_HTTP) {
        if (ufrpc_bench_fmt(p.msg, sizeof(p.msg),
                            "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                            host_header) != 0)
            return UFRPC_ERR_INVAL;
        p.msg_len = strlen(p.msg);
    }
    p.scen.on_tick = probe_tick;
    p.scen.on_deadline = probe_deadline;
    int rc = ufrpc_bench_scen_start(&p.scen, loop, NULL, (uint64_t)(timeout_s * 1000), 100);
    if (rc != 0)
        return rc;
    uv_timer_init(loop, &p.retry);
    p.retry.data = &p;
    p.retry_live = 1;
    attempt(&p);
    uv_run(loop, UV_RUN_DEFAULT);
    ufrpc_bench_scen_free(&p.scen);
    return p.success ? 0 : UFRPC_ERR_TIMEOUT;
}

int ufrpc_bench_probe_tcp(uv_loop_t *loop, const struct sockaddr *target, double timeout_s)
{
    return probe_run(loop, target, P_TCP, NULL, timeout_s);
}

int ufrpc_bench_probe_echo(uv_loop_t *loop, const struct sockaddr *target, double timeout_s)
{
    return probe_run(loop, target, P_ECHO, NULL, timeout_s);
}

int ufrpc_bench_probe_http(uv_loop_t *loop, const struct sockaddr *target, const char *host_header,
                           double timeout_s)
{
    return probe_run(loop, target, P_HTTP, host_header, timeout_s);
}
