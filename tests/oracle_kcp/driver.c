/* KCP oracle driver: ufrpc's KCP stream (net/kcp.h) against kcp-go (peer.go).
 *   driver client PORT BYTES   connect to 127.0.0.1:PORT (the Go server), send a
 *                              pattern, read the echo back and verify it
 *   driver server BYTES        listen on 127.0.0.1:0, print "PORT n", echo BYTES
 *                              bytes of the Go client's pattern (verified), then
 *                              wait until all is acknowledged
 * Prints "OK ..." and exits 0, or "FAIL ..." and exits 1 (90 s deadline).
 * Test code only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "net/kcp.h"
#include "proto/error.h"

#define CHUNK 65536

struct drv {
    uv_loop_t *loop;
    struct ufrpc_stream *s;
    size_t total, sent, got, echoed, inflight;
    int server, done, rc;
    uint8_t out[CHUNK];
    struct ufrpc_stream_write w;
    int writing;
};

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(((off * 2654435761u) >> 13) ^ (off >> 8));
}

static void finish(struct drv *d, int rc, const char *why)
{
    if (d->done)
        return;
    d->done = 1;
    d->rc = rc;
    struct ufrpc_kcp_stats st;
    uint64_t rec = 0;
    if (d->s)
        ufrpc_kcp_stream_stats(d->s, &st, &rec);
    else
        memset(&st, 0, sizeof st);
    printf("%s %s bytes=%zu lost_segs=%llu fast_retrans=%llu early_retrans=%llu "
           "fec_recovered=%llu in_errors=%llu\n",
           rc ? "FAIL" : "OK", why, d->server ? d->echoed : d->got,
           (unsigned long long)st.lost_segs, (unsigned long long)st.fast_retrans,
           (unsigned long long)st.early_retrans, (unsigned long long)rec,
           (unsigned long long)st.in_errors);
    fflush(stdout);
    uv_stop(d->loop);
}

static void send_more(struct drv *d);

static void on_written(struct ufrpc_stream_write *w, int status)
{
    struct drv *d = w->data;
    d->writing = 0;
    if (status < 0) {
        finish(d, 1, ufrpc_strerror(status));
        return;
    }
    send_more(d);
}

static void send_more(struct drv *d)
{
    if (d->writing || d->sent >= d->total || d->done)
        return;
    size_t n = d->total - d->sent < CHUNK ? d->total - d->sent : CHUNK;
    for (size_t i = 0; i < n; i++)
        d->out[i] = pattern(d->sent + i);
    d->w.data = d;
    uv_buf_t b = uv_buf_init((char *)d->out, (unsigned)n);
    int rc = ufrpc_stream_write(d->s, &d->w, &b, 1, on_written);
    if (rc < 0) {
        finish(d, 1, ufrpc_strerror(rc));
        return;
    }
    d->writing = 1;
    d->sent += n;
}

static void on_client_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *b, const uint8_t *p,
                           size_t n)
{
    struct drv *d = s->data;
    (void)b;
    if (status < 0) {
        finish(d, 1, ufrpc_strerror(status));
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(d->got + i)) {
            finish(d, 1, "echo differs");
            return;
        }
    d->got += n;
    if (d->got == d->total)
        finish(d, 0, "client");
}

/* ---- server: echo with bounded memory ---------------------------------------- */
struct echo_w {
    struct ufrpc_stream_write w;
    ufrpc_rbuf_t *b;
    struct drv *d;
};

static void on_server_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *b, const uint8_t *p,
                           size_t n);

static void on_shut(struct ufrpc_stream *s, int status)
{
    struct drv *d = s->data;
    finish(d, status < 0, status < 0 ? ufrpc_strerror(status) : "server");
}

static void on_echoed(struct ufrpc_stream_write *w, int status)
{
    struct echo_w *e = w->data;
    struct drv *d = e->d;
    d->inflight -= w->len;
    ufrpc_rbuf_unref(e->b);
    free(e);
    if (status < 0) {
        finish(d, 1, ufrpc_strerror(status));
        return;
    }
    if (!d->done && d->inflight < 1024 * 1024 && d->echoed < d->total)
        ufrpc_stream_read_start(d->s, on_server_read);
}

static void on_server_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *b, const uint8_t *p,
                           size_t n)
{
    struct drv *d = s->data;
    if (status < 0) {
        finish(d, 1, ufrpc_strerror(status));
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(d->echoed + i)) {
            finish(d, 1, "client bytes differ");
            return;
        }
    struct echo_w *e = calloc(1, sizeof *e);
    if (!e || !(e->b = ufrpc_rbuf_hold(b, &p, n))) {
        free(e);
        finish(d, 1, "out of memory");
        return;
    }
    e->d = d;
    e->w.data = e;
    uv_buf_t ub = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
    if (ufrpc_stream_write(s, &e->w, &ub, 1, on_echoed) < 0) {
        finish(d, 1, "write refused");
        return;
    }
    d->inflight += n;
    d->echoed += n;
    if (d->echoed >= d->total) {
        ufrpc_stream_read_stop(s);
        ufrpc_stream_shutdown(s, on_shut); /* done once everything is acknowledged */
    } else if (d->inflight >= 1024 * 1024) {
        ufrpc_stream_read_stop(s);
    }
}

static void on_accept(ufrpc_kcp_listener_t *l, struct ufrpc_stream *s)
{
    struct drv *d = ufrpc_kcp_listener_data(l);
    if (d->s) {
        ufrpc_stream_close(s, NULL);
        return;
    }
    d->s = s;
    s->data = d;
    ufrpc_stream_read_start(s, on_server_read);
}

static void on_deadline(uv_timer_t *t)
{
    finish(t->data, 1, "deadline");
}

int main(int argc, char **argv)
{
    static struct drv d;
    d.loop = uv_default_loop();
    uv_timer_t deadline;
    uv_timer_init(d.loop, &deadline);
    deadline.data = &d;
    uv_timer_start(&deadline, on_deadline, 90000, 0);
    int err = 0;
    if (argc == 4 && strcmp(argv[1], "client") == 0) {
        d.total = strtoul(argv[3], NULL, 10);
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", atoi(argv[2]), &a);
        d.s = ufrpc_kcp_connect(d.loop, (const struct sockaddr *)&a, NULL, &err);
        if (!d.s) {
            printf("FAIL connect: %s\n", ufrpc_strerror(err));
            return 1;
        }
        d.s->data = &d;
        ufrpc_stream_read_start(d.s, on_client_read);
        send_more(&d);
    } else if (argc == 3 && strcmp(argv[1], "server") == 0) {
        d.server = 1;
        d.total = strtoul(argv[2], NULL, 10);
        ufrpc_kcp_listener_t *l = ufrpc_kcp_listen(d.loop, "127.0.0.1", 0, on_accept, &d, &err);
        if (!l) {
            printf("FAIL listen: %s\n", ufrpc_strerror(err));
            return 1;
        }
        printf("PORT %u\n", ufrpc_kcp_listener_port(l));
        fflush(stdout);
    } else {
        fprintf(stderr, "usage: driver client PORT BYTES | driver server BYTES\n");
        return 2;
    }
    uv_run(d.loop, UV_RUN_DEFAULT);
    return d.rc;
}
