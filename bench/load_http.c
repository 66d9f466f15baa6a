/* ufrpc-bench HTTP request rate and latency: see load.h. */
#include "bench/load.h"
#include "bench/load_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "bench/stats.h"
#include "bench/util.h"
#include "proto/error.h"

#define MAX_CLIENTS 1024
#define MAX_SAMPLES (1u << 20)
#define MAX_ERRORS 10000
#define REQ_TIMEOUT_NS (5ull * 1000000000ull)

struct hclient {
    struct ufrpc_bench_scen *scen; /* first: see load_internal.h */
    struct httpb *hb;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    llhttp_t parser;
    int live;      /* tcp initialised and not yet closed */
    int complete;  /* a response finished in the current read */
    int waiting;   /* a request is outstanding */
    uint64_t t_req;
};

struct httpb {
    struct ufrpc_bench_scen scen;
    struct sockaddr_storage target;
    llhttp_settings_t settings;
    struct hclient *cl;
    int n;
    int keepalive;
    uint64_t end_ns;
    uint64_t requests, errors;
    uint64_t t_last; /* when the last response completed */
    double *samples;
    size_t nsamples;
    char req[512];
    size_t req_len;
    int open;
};

static void client_start(struct hclient *c);

static void client_closed(uv_handle_t *h)
{
    struct hclient *c = h->data;
    struct httpb *hb = c->hb;
    c->live = 0;
    hb->open--;
    if (!hb->scen.ended && ufrpc_bench_now_ns() < hb->end_ns && hb->errors < MAX_ERRORS)
        client_start(c);
    else if (hb->open == 0)
        ufrpc_bench_scen_end(&hb->scen);
}

static void client_close(struct hclient *c, int error, int reset)
{
    if (!c->live || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (error)
        c->hb->errors++;
    c->waiting = 0;
    if (reset && uv_tcp_close_reset(&c->tcp, client_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0)
        client_close(req->data, 1, 0);
}

static int send_request(struct hclient *c, int fresh_connection)
{
    uv_buf_t b = uv_buf_init(c->hb->req, (unsigned)c->hb->req_len);
    c->wreq.data = c;
    if (!fresh_connection || c->hb->keepalive)
        c->t_req = ufrpc_bench_now_ns();
    c->waiting = 1;
    return uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static int on_complete(llhttp_t *p)
{
    struct hclient *c = p->data;
    struct httpb *hb = c->hb;
    if (!c->waiting || p->status_code != 200) {
        hb->errors++;
        return HPE_USER;
    }
    c->waiting = 0;
    c->complete = 1;
    hb->requests++;
    hb->t_last = ufrpc_bench_now_ns();
    if (hb->nsamples < MAX_SAMPLES)
        hb->samples[hb->nsamples++] = (double)(ufrpc_bench_now_ns() - c->t_req) / 1000.0;
    return HPE_OK;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct hclient *c = s->data;
    struct httpb *hb = c->hb;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* a keep-alive connection the server closed between requests is no error */
        client_close(c, c->waiting, 0);
        return;
    }
    c->complete = 0;
    llhttp_errno_t err = llhttp_execute(&c->parser, buf->base, (size_t)nread);
    if (err != HPE_OK) {
        client_close(c, err != HPE_USER, 0);
        return;
    }
    if (!c->complete)
        return;
    if (hb->keepalive && ufrpc_bench_now_ns() < hb->end_ns && !hb->scen.ended) {
        if (send_request(c, 0) != 0)
            client_close(c, 1, 0);
        return;
    }
    /* one request per connection: reset, or thousands of TIME_WAIT sockets pile up */
    client_close(c, 0, 1);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct hclient *c = req->data;
    if (status < 0) {
        client_close(c, 1, 0);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_RESPONSE, &c->hb->settings);
    c->parser.data = c;
    if (send_request(c, 1) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, ufrpc_bench_scen_alloc, on_read) != 0)
        client_close(c, 1, 0);
}

static void client_start(struct hclient *c)
{
    struct httpb *hb = c->hb;
    if (uv_tcp_init(hb->scen.loop, &c->tcp) != 0)
        return;
    c->live = 1;
    c->waiting = 0;
    hb->open++;
    c->tcp.data = c;
    c->creq.data = c;
    c->t_req = ufrpc_bench_now_ns();
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&hb->target, on_connect) != 0)
        client_close(c, 1, 0);
}

static void http_tick(struct ufrpc_bench_scen *s)
{
    struct httpb *hb = (struct httpb *)s;
    uint64_t now = ufrpc_bench_now_ns();
    for (int i = 0; i < hb->n; i++) {
        struct hclient *c = &hb->cl[i];
        if (c->live && now - c->t_req > REQ_TIMEOUT_NS)
            client_close(c, 1, 0);
    }
    double el = ufrpc_bench_scen_elapsed(s);
    ufrpc_bench_progress_status(s->prog, "%llu requests  %.0f req/s  %llu errors  %.1f s",
                                (unsigned long long)hb->requests,
                                el > 0 ? (double)hb->requests / el : 0.0,
                                (unsigned long long)hb->errors, el);
    if (now >= hb->end_ns) {
        /* stop idle keep-alive clients: they only wait for a response or nothing */
        for (int i = 0; i < hb->n; i++)
            if (hb->cl[i].live && !hb->cl[i].waiting)
                client_close(&hb->cl[i], 0, 0);
    }
}

static void http_deadline(struct ufrpc_bench_scen *s)
{
    struct httpb *hb = (struct httpb *)s;
    hb->end_ns = 0;
    for (int i = 0; i < hb->n; i++)
        client_close(&hb->cl[i], hb->cl[i].waiting, 0);
}

int ufrpc_bench_http(uv_loop_t *loop, const struct sockaddr *target, const char *host_header,
                     int conns, int keepalive, double seconds, ufrpc_bench_progress_t *prog,
                     ufrpc_bench_http_result_t *out)
{
    memset(out, 0, sizeof(*out));
    if (conns < 1 || conns > MAX_CLIENTS || !(seconds > 0) || seconds > 3600 ||
        strlen(host_header) > 256)
        return UFRPC_ERR_INVAL;
    struct httpb *hb = calloc(1, sizeof(*hb));
    if (hb == NULL)
        return UFRPC_ERR_NOMEM;
    hb->cl = calloc((size_t)conns, sizeof(*hb->cl));
    hb->samples = malloc(MAX_SAMPLES * sizeof(double));
    if (hb->cl == NULL || hb->samples == NULL) {
        free(hb->cl);
        free(hb->samples);
        free(hb);
        return UFRPC_ERR_NOMEM;
    }
    memcpy(&hb->target, target, target->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in));
    hb->n = conns;
    hb->keepalive = keepalive;
    snprintf(hb->req, sizeof(hb->req), "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: ufrpc-bench\r\n%s\r\n",
             host_header, keepalive ? "" : "Connection: close\r\n");
    hb->req_len = strlen(hb->req);
    llhttp_settings_init(&hb->settings);
    hb->settings.on_message_complete = on_complete;
    hb->scen.on_tick = http_tick;
    hb->scen.on_deadline = http_deadline;
    int rc = ufrpc_bench_scen_start(&hb->scen, loop, prog, (uint64_t)(seconds * 1000) + 15000, 250);
    if (rc != 0) {
        free(hb->cl);
        free(hb->samples);
        free(hb);
        return rc;
    }
    hb->end_ns = ufrpc_bench_now_ns() + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++) {
        hb->cl[i].scen = &hb->scen;
        hb->cl[i].hb = hb;
        client_start(&hb->cl[i]);
    }
    if (hb->open == 0)
        ufrpc_bench_scen_end(&hb->scen);
    uv_run(loop, UV_RUN_DEFAULT);
    out->requests = hb->requests;
    out->errors = hb->errors;
    out->seconds = hb->t_last > hb->scen.t0_ns ? (double)(hb->t_last - hb->scen.t0_ns) / 1e9 : 0;
    ufrpc_bench_sort(hb->samples, hb->nsamples);
    out->p50_us = ufrpc_bench_percentile(hb->samples, hb->nsamples, 50);
    out->p90_us = ufrpc_bench_percentile(hb->samples, hb->nsamples, 90);
    out->p99_us = ufrpc_bench_percentile(hb->samples, hb->nsamples, 99);
    ufrpc_bench_scen_free(&hb->scen);
    free(hb->cl);
    free(hb->samples);
    free(hb);
    return out->errors == 0 && out->requests > 0 ? 0 : UFRPC_ERR_NET;
}
