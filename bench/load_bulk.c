/* ufrpc-bench bulk throughput (SINK / SOURCE roles): see load.h. */
#include "bench/load.h"
#include "bench/load_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bench/service.h"
#include "bench/util.h"
#include "proto/error.h"

#define CHUNK (256 * 1024)
#define INFLIGHT 2
#define MAX_CONNS 1024

/* DOWN connections count during their window (B_RUNNING), then drain what is
 * still on the way without counting it (B_DRAIN) until the source's EOF. */
enum bstate { B_CONNECTING, B_RUNNING, B_DRAIN, B_DONE };

struct bconn {
    struct ufrpc_bench_scen *scen; /* first: see load_internal.h */
    struct bulk *b;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t cmd_req;
    uv_write_t wreq[INFLIGHT];
    int wbusy[INFLIGHT];
    int inflight;
    uint8_t seghdr[4];  /* UP: the count announced before each chunk (always CHUNK) */
    uint8_t endmark[4]; /* UP: the zero count that ends the upload */
    uv_write_t endreq;
    int shut;           /* UP: the end marker was sent */
    enum bstate state;
    int closing;
    uint8_t cmd[5];
    uint64_t t_start, t_end, end_ns;
    uint64_t sent, received;
    uint8_t reply[UFRPC_BENCH_SINK_REPLY_LEN];
    int reply_len;
};

struct bulk {
    struct ufrpc_bench_scen scen;
    enum ufrpc_bench_dir dir;
    double seconds;
    int n;
    int open; /* handles not yet closed */
    int ok, failed;
    struct bconn *conns;
    char *pattern;
};

static void on_closed(uv_handle_t *h)
{
    struct bconn *c = h->data;
    if (--c->b->open == 0)
        ufrpc_bench_scen_end(&c->b->scen);
}

/* Ends a connection once: counts it (unless it was already counted when its
 * window ended) and closes it. */
static void finish_at(struct bconn *c, int ok, uint64_t t_end)
{
    if (c->state == B_DONE)
        return;
    if (c->state != B_DRAIN) {
        c->t_end = t_end;
        if (ok)
            c->b->ok++;
        else
            c->b->failed++;
    }
    c->state = B_DONE;
    if (!c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
}

static void finish(struct bconn *c, int ok)
{
    finish_at(c, ok, ufrpc_bench_now_ns());
}

/* DOWN: the receiver counts what arrives during `seconds` from its first byte
 * (connection setup stays out of the figure), then drains the rest uncounted
 * until the source's EOF: closing with unread data would reset the tunnel's side
 * mid-write. */
static void down_check_end(struct bconn *c)
{
    if (c->state != B_RUNNING || c->b->dir != UFRPC_BENCH_DOWN || c->received == 0 ||
        ufrpc_bench_now_ns() < c->end_ns)
        return;
    c->t_end = c->end_ns;
    c->b->ok++;
    c->state = B_DRAIN;
}

static void on_end_written(uv_write_t *req, int status)
{
    struct bconn *c = req->data;
    if (status < 0)
        finish(c, 0);
}

static void on_write(uv_write_t *req, int status);

static void up_pump(struct bconn *c)
{
    if (c->state != B_RUNNING || c->shut)
        return;
    if (ufrpc_bench_now_ns() >= c->end_ns) {
        if (c->inflight == 0) {
            /* no half-close (frps would end both directions): a zero count ends */
            c->shut = 1;
            c->endreq.data = c;
            memset(c->endmark, 0, sizeof c->endmark);
            uv_buf_t e = uv_buf_init((char *)c->endmark, sizeof c->endmark);
            if (uv_write(&c->endreq, (uv_stream_t *)&c->tcp, &e, 1, on_end_written) != 0)
                finish(c, 0);
        }
        return;
    }
    for (int i = 0; i < INFLIGHT; i++) {
        if (c->wbusy[i])
            continue;
        /* each chunk is a segment: its byte count first (see bench/service.h) */
        c->seghdr[0] = (uint8_t)(CHUNK >> 24);
        c->seghdr[1] = (uint8_t)(CHUNK >> 16);
        c->seghdr[2] = (uint8_t)(CHUNK >> 8);
        c->seghdr[3] = (uint8_t)CHUNK;
        uv_buf_t b[2] = {uv_buf_init((char *)c->seghdr, sizeof c->seghdr),
                         uv_buf_init(c->b->pattern, CHUNK)};
        c->wreq[i].data = c;
        if (uv_write(&c->wreq[i], (uv_stream_t *)&c->tcp, b, 2, on_write) != 0) {
            finish(c, 0);
            return;
        }
        c->wbusy[i] = 1;
        c->inflight++;
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct bconn *c = req->data;
    c->wbusy[req - c->wreq] = 0;
    c->inflight--;
    if (status < 0) {
        finish(c, 0);
        return;
    }
    c->sent += CHUNK;
    up_pump(c);
}

static void on_cmd_written(uv_write_t *req, int status)
{
    if (status < 0)
        finish(req->data, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct bconn *c = s->data;
    if (nread == 0 || c->state == B_DONE)
        return;
    if (nread > 0) {
        if (c->b->dir == UFRPC_BENCH_DOWN) {
            if (c->state == B_RUNNING) {
                if (c->received == 0) {
                    /* the window opens with the first byte */
                    c->t_start = ufrpc_bench_now_ns();
                    c->end_ns = c->t_start + (uint64_t)(c->b->seconds * 1e9);
                }
                c->received += (uint64_t)nread;
                down_check_end(c);
            }
            return;
        }
        /* UP: only the 16-byte sink report may arrive */
        if ((size_t)nread > sizeof(c->reply) - (size_t)c->reply_len) {
            finish(c, 0);
            return;
        }
        memcpy(c->reply + c->reply_len, buf->base, (size_t)nread);
        c->reply_len += (int)nread;
        if (c->reply_len == (int)sizeof(c->reply) && c->shut) {
            /* the service counted up to our end marker: it must be all we sent */
            c->received = ufrpc_bench_get_be64(c->reply);
            finish(c, c->received == c->sent);
        }
        return;
    }
    if (nread != UV_EOF) {
        finish(c, 0);
        return;
    }
    if (c->b->dir == UFRPC_BENCH_DOWN) {
        /* in B_DRAIN the normal end; in B_RUNNING the source ended before our window
         * did (little buffering on the way): fine if data came */
        finish(c, c->received > 0);
        return;
    }
    if (c->reply_len != (int)sizeof(c->reply) || !c->shut) {
        finish(c, 0);
        return;
    }
    c->received = ufrpc_bench_get_be64(c->reply);
    /* the service must have counted exactly what we sent: anything else is loss */
    finish(c, c->received == c->sent);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct bconn *c = req->data;
    if (status < 0 || c->state == B_DONE) {
        finish(c, 0);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = B_RUNNING;
    c->t_start = ufrpc_bench_now_ns();
    c->end_ns = c->t_start + (uint64_t)(c->b->seconds * 1e9);
    size_t cmd_len = 1;
    if (c->b->dir == UFRPC_BENCH_UP) {
        c->cmd[0] = UFRPC_BENCH_CMD_SINK;
    } else {
        uint32_t ms = (uint32_t)(c->b->seconds * 1000.0 + 0.5);
        c->cmd[0] = UFRPC_BENCH_CMD_SOURCE;
        c->cmd[1] = (uint8_t)(ms >> 24);
        c->cmd[2] = (uint8_t)(ms >> 16);
        c->cmd[3] = (uint8_t)(ms >> 8);
        c->cmd[4] = (uint8_t)ms;
        cmd_len = 5;
    }
    uv_buf_t b = uv_buf_init((char *)c->cmd, (unsigned)cmd_len);
    c->cmd_req.data = c;
    if (uv_write(&c->cmd_req, (uv_stream_t *)&c->tcp, &b, 1, on_cmd_written) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, ufrpc_bench_scen_alloc, on_read) != 0) {
        finish(c, 0);
        return;
    }
    if (c->b->dir == UFRPC_BENCH_UP)
        up_pump(c);
}

static void bulk_tick(struct ufrpc_bench_scen *s)
{
    struct bulk *b = (struct bulk *)s;
    uint64_t bytes = 0;
    for (int i = 0; i < b->n; i++)
        down_check_end(&b->conns[i]); /* a stalled connection ends here */
    for (int i = 0; i < b->n; i++)
        bytes += b->dir == UFRPC_BENCH_UP ? b->conns[i].sent : b->conns[i].received;
    double el = ufrpc_bench_scen_elapsed(s);
    ufrpc_bench_progress_status(s->prog, "%.1f MB  %.1f MB/s  %.1f/%.1f s", (double)bytes / 1e6,
                                el > 0 ? (double)bytes / 1e6 / el : 0.0, el, b->seconds);
}

static void bulk_deadline(struct ufrpc_bench_scen *s)
{
    struct bulk *b = (struct bulk *)s;
    for (int i = 0; i < b->n; i++)
        finish(&b->conns[i], 0);
}

int ufrpc_bench_bulk(uv_loop_t *loop, const struct sockaddr *target, enum ufrpc_bench_dir dir,
                     int conns, double seconds, ufrpc_bench_progress_t *prog,
                     ufrpc_bench_bulk_result_t *out)
{
    memset(out, 0, sizeof(*out));
    if (conns < 1 || conns > MAX_CONNS || !(seconds > 0) || seconds > 3600)
        return UFRPC_ERR_INVAL;
    struct bulk b;
    memset(&b, 0, sizeof(b));
    b.dir = dir;
    b.seconds = seconds;
    b.n = conns;
    b.conns = calloc((size_t)conns, sizeof(*b.conns));
    b.pattern = malloc(CHUNK);
    if (b.conns == NULL || b.pattern == NULL) {
        free(b.conns);
        free(b.pattern);
        return UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i < CHUNK; i++)
        b.pattern[i] = (char)('A' + (i * 13) % 26);
    b.scen.on_tick = bulk_tick;
    b.scen.on_deadline = bulk_deadline;
    /* hard bound: the run itself, as long again for draining, plus connect time */
    uint64_t hard_ms = (uint64_t)(seconds * 2000.0) + 15000;
    int rc = ufrpc_bench_scen_start(&b.scen, loop, prog, hard_ms, 250);
    if (rc != 0) {
        free(b.conns);
        free(b.pattern);
        return rc;
    }
    for (int i = 0; i < conns; i++) {
        struct bconn *c = &b.conns[i];
        c->scen = &b.scen;
        c->b = &b;
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        c->creq.data = c;
        b.open++;
        if (uv_tcp_connect(&c->creq, &c->tcp, target, on_connect) != 0)
            finish(c, 0);
    }
    uv_run(loop, UV_RUN_DEFAULT);

    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < conns; i++) {
        struct bconn *c = &b.conns[i];
        if (c->t_start == 0)
            continue;
        if (c->t_start < first)
            first = c->t_start;
        if (c->t_end > last)
            last = c->t_end;
        out->bytes += c->received;
    }
    out->ok = b.ok;
    out->failed = b.failed;
    out->seconds = (first != UINT64_MAX && last > first) ? (double)(last - first) / 1e9 : 0;
    ufrpc_bench_scen_free(&b.scen);
    free(b.conns);
    free(b.pattern);
    if (b.failed > 0 || out->seconds <= 0)
        return out->failed > 0 ? UFRPC_ERR_NET : UFRPC_ERR_IO;
    return 0;
}
