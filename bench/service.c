/* ufrpc-bench service thread: see service.h for the wire roles. */
#include "bench/service.h"

#include <stdlib.h>
#include <string.h>

#include <llhttp.h>
#include <uv.h>

#include "bench/util.h"
#include "proto/error.h"

#define MAX_CONNS 4096
#define READ_BUF 65536
#define PATTERN_LEN (256 * 1024 + 4096)
#define SOURCE_CHUNK (256 * 1024)
#define SOURCE_INFLIGHT 2
#define SOURCE_SNDBUF (512 * 1024)
#define ECHO_HIGH_WATER (1024 * 1024)
#define ECHO_LOW_WATER (256 * 1024)
#define HTTP_MAX_PENDING 64
#define MAX_CONN_AGE_NS (7200ull * 1000000000ull)
#define SOURCE_GRACE_NS (60ull * 1000000000ull)

enum role { ROLE_SNIFF, ROLE_SINK, ROLE_SOURCE_HDR, ROLE_SOURCE, ROLE_ECHO, ROLE_HTTP };

static const char HTTP_OK_KEEP[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
static const char HTTP_OK_CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 2\r\nConnection: close\r\n\r\nok";

struct conn;

struct ufrpc_bench_service {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop_async;
    uv_timer_t sweep;
    uv_thread_t thread;
    llhttp_settings_t http_settings;
    struct conn *conns; /* doubly linked list of open connections */
    int nconns;
    int stopping;
    char pattern[PATTERN_LEN];
};

/* An owned write: freed in its callback. For echo it carries a copy of the data;
 * for HTTP it points at a static response. */
struct owned_write {
    uv_write_t req;
    size_t len;
    char data[];
};

struct conn {
    uv_tcp_t tcp;
    struct ufrpc_bench_service *svc;
    struct conn *prev, *next;
    enum role role;
    int closing;
    int reading;
    uint64_t created_ns;
    uint64_t cmd_ns;
    uint64_t count;
    uint8_t hdr[4];
    int hdr_len;
    uint32_t seg_left;  /* sink: bytes of the current segment still to count */
    int sink_done;      /* sink: the end marker came, the report is on its way */
    uint64_t source_end_ns;
    int source_inflight;
    int source_finished;
    int source_busy[SOURCE_INFLIGHT];
    uint64_t source_writes;
    uv_write_t source_req[SOURCE_INFLIGHT];
    uv_write_t reply_req;
    uint8_t reply[UFRPC_BENCH_SINK_REPLY_LEN];
    uv_shutdown_t shut_req;
    size_t pending_bytes; /* echo / http bytes queued, for backpressure */
    int pending_writes;
    int close_after_writes;
    llhttp_t parser;
    char rbuf[READ_BUF];
};

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct ufrpc_bench_service *svc = c->svc;
    if (c->prev)
        c->prev->next = c->next;
    else
        svc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    svc->nconns--;
    free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    buf->base = c->rbuf;
    buf->len = sizeof(c->rbuf);
}

static void read_start(struct conn *c)
{
    if (!c->reading && !c->closing && uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
        c->reading = 1;
}

static void read_stop(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* ---- owned writes (echo, http) with backpressure */

static void on_owned_write(uv_write_t *req, int status)
{
    struct owned_write *w = (struct owned_write *)req;
    struct conn *c = req->data;
    c->pending_bytes -= w->len;
    c->pending_writes--;
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->close_after_writes && c->pending_writes == 0) {
        conn_close(c);
        return;
    }
    if (!c->close_after_writes && c->pending_bytes < ECHO_LOW_WATER &&
        c->pending_writes < HTTP_MAX_PENDING / 2)
        read_start(c);
}

/* Queues len bytes; copies them when copy is set, else they must be static. */
static int owned_write(struct conn *c, const char *data, size_t len, int copy)
{
    struct owned_write *w = malloc(sizeof(*w) + (copy ? len : 0));
    if (w == NULL)
        return UFRPC_ERR_NOMEM;
    uv_buf_t b;
    if (copy) {
        memcpy(w->data, data, len);
        b = uv_buf_init(w->data, (unsigned)len);
    } else {
        b = uv_buf_init((char *)data, (unsigned)len);
    }
    w->len = len;
    w->req.data = c;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_owned_write) != 0) {
        free(w);
        return UFRPC_ERR_NET;
    }
    c->pending_bytes += len;
    c->pending_writes++;
    if (c->pending_bytes > ECHO_HIGH_WATER || c->pending_writes >= HTTP_MAX_PENDING)
        read_stop(c);
    return 0;
}

/* ---- sink */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void on_reply_written(uv_write_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void sink_finish(struct conn *c)
{
    read_stop(c);
    put_be64(c->reply, c->count);
    put_be64(c->reply + 8, ufrpc_bench_now_ns() - c->cmd_ns);
    uv_buf_t b = uv_buf_init((char *)c->reply, sizeof(c->reply));
    c->reply_req.data = c;
    if (uv_write(&c->reply_req, (uv_stream_t *)&c->tcp, &b, 1, on_reply_written) != 0)
        conn_close(c);
}

/* ---- source */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void source_pump(struct conn *c);

static void on_source_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    c->source_busy[req - c->source_req] = 0;
    c->source_inflight--;
    if (status < 0) {
        conn_close(c);
        return;
    }
    source_pump(c);
}

static void source_pump(struct conn *c)
{
    if (c->closing || c->source_finished)
        return;
    if (ufrpc_bench_now_ns() >= c->source_end_ns) {
        if (c->source_inflight == 0) {
            c->source_finished = 1;
            c->shut_req.data = c;
            if (uv_shutdown(&c->shut_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
                conn_close(c);
        }
        return;
    }
    for (int i = 0; i < SOURCE_INFLIGHT; i++) {
        if (c->source_busy[i])
            continue;
        uv_write_t *req = &c->source_req[i];
        uv_buf_t b = uv_buf_init(c->svc->pattern + (c->source_writes % 4096), SOURCE_CHUNK);
        req->data = c;
        if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_source_write) != 0) {
            conn_close(c);
            return;
        }
        c->source_busy[i] = 1;
        c->source_inflight++;
        c->source_writes++;
    }
}

/* ---- http */

static int on_http_message_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    int keep = llhttp_should_keep_alive(p);
    const char *resp = keep ? HTTP_OK_KEEP : HTTP_OK_CLOSE;
    size_t len = keep ? sizeof(HTTP_OK_KEEP) - 1 : sizeof(HTTP_OK_CLOSE) - 1;
    if (owned_write(c, resp, len, 0) != 0)
        return HPE_USER;
    if (!keep) {
        c->close_after_writes = 1;
        read_stop(c);
        return HPE_PAUSED;
    }
    return HPE_OK;
}

static void http_feed(struct conn *c, const char *data, size_t len)
{
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    if (err == HPE_PAUSED)
        return; /* closing after the response; ignore the rest */
    if (err != HPE_OK)
        conn_close(c);
}

/* ---- dispatch */

static void handle_data(struct conn *c, const char *data, size_t len)
{
    if (c->role == ROLE_SNIFF) {
        uint8_t b = (uint8_t)data[0];
        c->cmd_ns = ufrpc_bench_now_ns();
        if (b == UFRPC_BENCH_CMD_SINK) {
            c->role = ROLE_SINK;
            data++, len--;
        } else if (b == UFRPC_BENCH_CMD_SOURCE) {
            c->role = ROLE_SOURCE_HDR;
            data++, len--;
        } else if (b == UFRPC_BENCH_CMD_ECHO) {
            c->role = ROLE_ECHO;
            data++, len--;
        } else if (b >= 'A' && b <= 'Z') {
            c->role = ROLE_HTTP;
            llhttp_init(&c->parser, HTTP_REQUEST, &c->svc->http_settings);
            c->parser.data = c;
        } else {
            conn_close(c);
            return;
        }
    }
    switch (c->role) {
    case ROLE_SINK:
        /* segments: 4-byte big-endian length, then that many bytes; length 0 ends */
        while (len > 0 && !c->sink_done) {
            if (c->seg_left > 0) {
                size_t n = len < c->seg_left ? len : c->seg_left;
                c->count += n;
                c->seg_left -= (uint32_t)n;
                data += n;
                len -= n;
                continue;
            }
            c->hdr[c->hdr_len++] = (uint8_t)*data++;
            len--;
            if (c->hdr_len < 4)
                continue;
            c->hdr_len = 0;
            c->seg_left = ((uint32_t)c->hdr[0] << 24) | ((uint32_t)c->hdr[1] << 16) |
                          ((uint32_t)c->hdr[2] << 8) | c->hdr[3];
            if (c->seg_left == 0) {
                c->sink_done = 1;
                sink_finish(c);
            }
        }
        break;
    case ROLE_SOURCE_HDR:
        while (len > 0 && c->hdr_len < 4) {
            c->hdr[c->hdr_len++] = (uint8_t)*data++;
            len--;
        }
        if (c->hdr_len == 4) {
            uint32_t ms = ((uint32_t)c->hdr[0] << 24) | ((uint32_t)c->hdr[1] << 16) |
                          ((uint32_t)c->hdr[2] << 8) | c->hdr[3];
            if (ms > UFRPC_BENCH_SOURCE_MAX_MS) {
                conn_close(c);
                return;
            }
            c->role = ROLE_SOURCE;
            /* a bounded send buffer: what the source wrote but the tunnel has not
             * taken yet stays small, so the reader's drain after the end is short */
            int sndbuf = SOURCE_SNDBUF;
            uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
            c->source_end_ns = ufrpc_bench_now_ns() + (uint64_t)ms * 1000000ull;
            source_pump(c);
        }
        break;
    case ROLE_SOURCE:
        break; /* the peer should send nothing more; ignore it */
    case ROLE_ECHO:
        if (len > 0 && owned_write(c, data, len, 1) != 0)
            conn_close(c);
        break;
    case ROLE_HTTP:
        http_feed(c, data, len);
        break;
    case ROLE_SNIFF:
        break;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        read_stop(c);
        if (c->role == ROLE_SINK && c->sink_done)
            ; /* the report is being written; it closes the connection */
        else if (nread == UV_EOF && c->role == ROLE_SOURCE && !c->source_finished)
            conn_close(c); /* the reader went away early */
        else if (nread == UV_EOF && (c->role == ROLE_ECHO || c->role == ROLE_HTTP) &&
                 c->pending_writes > 0)
            c->close_after_writes = 1;
        else
            conn_close(c);
        return;
    }
    handle_data(c, buf->base, (size_t)nread);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct ufrpc_bench_service *svc = server->data;
    if (status < 0 || svc->stopping)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->svc = svc;
    if (uv_tcp_init(&svc->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    c->created_ns = ufrpc_bench_now_ns();
    c->next = svc->conns;
    if (svc->conns)
        svc->conns->prev = c;
    svc->conns = c;
    svc->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || svc->nconns > MAX_CONNS) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    read_start(c);
}

static void on_sweep(uv_timer_t *t)
{
    struct ufrpc_bench_service *svc = t->data;
    uint64_t now = ufrpc_bench_now_ns();
    for (struct conn *c = svc->conns; c != NULL; c = c->next) {
        if (now - c->created_ns > MAX_CONN_AGE_NS ||
            (c->role == ROLE_SOURCE && now > c->source_end_ns + SOURCE_GRACE_NS))
            conn_close(c);
    }
}

static void on_stop(uv_async_t *a)
{
    struct ufrpc_bench_service *svc = a->data;
    svc->stopping = 1;
    uv_close((uv_handle_t *)&svc->listener, NULL);
    uv_close((uv_handle_t *)&svc->sweep, NULL);
    uv_close((uv_handle_t *)&svc->stop_async, NULL);
    for (struct conn *c = svc->conns; c != NULL; c = c->next)
        conn_close(c);
}

static void service_thread(void *arg)
{
    struct ufrpc_bench_service *svc = arg;
    uv_run(&svc->loop, UV_RUN_DEFAULT);
}

static int map_uv(int rc)
{
    if (rc == UV_EADDRINUSE)
        return UFRPC_ERR_ADDR_IN_USE;
    if (rc == UV_ENOMEM)
        return UFRPC_ERR_NOMEM;
    return UFRPC_ERR_NET;
}

int ufrpc_bench_service_start(const char *ip, int port, ufrpc_bench_service_t **out,
                              int *bound_port)
{
    struct sockaddr_storage ss;
    int rc;
    *out = NULL;
    if (ufrpc_bench_resolve(ip, port == 0 ? 1 : port, &ss) != 0)
        return UFRPC_ERR_INVAL;
    if (port == 0) {
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&ss)->sin_port = 0;
    }
    struct ufrpc_bench_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < sizeof(svc->pattern); i++)
        svc->pattern[i] = (char)('a' + (i * 7) % 26);
    llhttp_settings_init(&svc->http_settings);
    svc->http_settings.on_message_complete = on_http_message_complete;
    if ((rc = uv_loop_init(&svc->loop)) != 0) {
        free(svc);
        return map_uv(rc);
    }
    uv_tcp_init(&svc->loop, &svc->listener);
    svc->listener.data = svc;
    uv_timer_init(&svc->loop, &svc->sweep);
    svc->sweep.data = svc;
    uv_async_init(&svc->loop, &svc->stop_async, on_stop);
    svc->stop_async.data = svc;
    rc = uv_tcp_bind(&svc->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&svc->listener, 4096, on_connection);
    if (rc == 0) {
        int len = sizeof(ss);
        rc = uv_tcp_getsockname(&svc->listener, (struct sockaddr *)&ss, &len);
    }
    if (rc == 0)
        rc = uv_timer_start(&svc->sweep, on_sweep, 1000, 1000);
    if (rc == 0)
        rc = uv_thread_create(&svc->thread, service_thread, svc);
    if (rc != 0) {
        on_stop(&svc->stop_async);
        uv_run(&svc->loop, UV_RUN_DEFAULT);
        uv_loop_close(&svc->loop);
        free(svc);
        return map_uv(rc);
    }
    *bound_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = svc;
    return 0;
}

void ufrpc_bench_service_stop(ufrpc_bench_service_t *svc)
{
    if (svc == NULL)
        return;
    uv_async_send(&svc->stop_async);
    uv_thread_join(&svc->thread);
    uv_loop_close(&svc->loop);
    free(svc);
}
