/* libFuzzer target: the HTTP server side of the plugins (client/plugins/hs.c via
 * static_file and http2http) fed arbitrary bytes through an in-memory stream.
 *
 * Input: byte 0 picks the plugin (even: static_file over a small temporary
 * directory (no auth: its 200 ms failure delay would stall the fuzzer), odd: http2http whose
 * localAddr 127.0.0.1:1 refuses at once, so no traffic leaves the machine); byte 1 is the delivery
 * size (1..256); the rest is what the user sends, followed by EOF. Responses are discarded. Checks:
 * no crash, no leak, every connection ends and the plugin closes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "client/plugins/plugin.h"
#include "proto/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
    struct ufrpc_stream s;
    uv_idle_t idle;
    const uint8_t *in;
    size_t len, off, chunk;
    bool reading, eof_sent, shut_pending;
    struct ufrpc_stream_write *wq; /* pending write callbacks */
};

static void fake_idle(uv_idle_t *i)
{
    struct fake *f = i->data;
    while (f->wq != NULL) {
        struct ufrpc_stream_write *w = f->wq;
        f->wq = w->next;
        w->cb(w, 0);
        if (f->s.closing)
            return;
    }
    if (f->shut_pending) {
        f->shut_pending = false;
        f->s.shutdown_cb(&f->s, 0);
        if (f->s.closing)
            return;
    }
    if (f->reading && f->off < f->len) {
        size_t n = f->len - f->off < f->chunk ? f->len - f->off : f->chunk;
        ufrpc_rbuf_t *b = ufrpc_rbuf_new(n);
        if (b == NULL)
            return;
        memcpy(b->base, f->in + f->off, n);
        f->off += n;
        f->s.read_cb(&f->s, 0, b, b->base, n);
        ufrpc_rbuf_unref(b);
        return;
    }
    if (f->reading && !f->eof_sent) {
        f->eof_sent = true;
        f->reading = false;
        f->s.read_cb(&f->s, UFRPC_ERR_EOF, NULL, NULL, 0);
        return;
    }
    if (f->wq == NULL && !f->shut_pending && !(f->reading && !f->eof_sent))
        uv_idle_stop(i);
}

static int fake_read_start(struct ufrpc_stream *s)
{
    struct fake *f = (struct fake *)s;
    if (f->eof_sent)
        return UFRPC_ERR_STATE;
    f->reading = true;
    uv_idle_start(&f->idle, fake_idle);
    return 0;
}

static int fake_read_stop(struct ufrpc_stream *s)
{
    ((struct fake *)s)->reading = false;
    return 0;
}

static int fake_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct fake *f = (struct fake *)s;
    struct ufrpc_stream_write **pp = &f->wq;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = req;
    uv_idle_start(&f->idle, fake_idle);
    return 0;
}

static size_t fake_queued(const struct ufrpc_stream *s)
{
    (void)s;
    return 0;
}

static int fake_shutdown(struct ufrpc_stream *s)
{
    struct fake *f = (struct fake *)s;
    f->shut_pending = true;
    uv_idle_start(&f->idle, fake_idle);
    return 0;
}

static void fake_closed(uv_handle_t *h)
{
    struct fake *f = h->data;
    while (f->wq != NULL) {
        struct ufrpc_stream_write *w = f->wq;
        f->wq = w->next;
        w->cb(w, UFRPC_ERR_CANCELED);
    }
    if (f->shut_pending)
        f->s.shutdown_cb(&f->s, UFRPC_ERR_CANCELED);
    if (f->s.close_cb != NULL)
        f->s.close_cb(&f->s);
    free(f);
}

static void fake_close(struct ufrpc_stream *s)
{
    struct fake *f = (struct fake *)s;
    f->reading = false;
    uv_close((uv_handle_t *)&f->idle, fake_closed);
}

static const struct ufrpc_stream_vt fake_vt = {
    .read_start = fake_read_start,
    .read_stop = fake_read_stop,
    .write = fake_write,
    .queued = fake_queued,
    .shutdown = fake_shutdown,
    .close = fake_close,
    .unread = NULL,
};

static char root[64];

static void make_root(void)
{
    if (root[0] != '\0')
        return;
    /* same fixed contents for every process: created idempotently, left in place */
    snprintf(root, sizeof root, "/tmp/ufrpc-fuzz-static");
    mkdir(root, 0755);
    char p[128];
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/index.html", root);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fputs("<p>hi</p>", f);
        fclose(f);
    }
}

static void on_plugin_closed(void *data)
{
    *(bool *)data = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    make_root();
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return 0;
    struct ufrpc_plugin_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (data[0] % 2 == 0) {
        cfg.type = UFRPC_PLUGIN_STATIC_FILE;
        cfg.local_path = root;
        cfg.strip_prefix = data[0] & 2 ? "s" : NULL;
    } else {
        cfg.type = UFRPC_PLUGIN_HTTP2HTTP;
        cfg.local_addr = "127.0.0.1:1";
    }
    struct ufrpc_plugin_opts o = {.loop = &loop,
                                  .proxy_name = "fuzz",
                                  .cfg = &cfg,
                                  .idle_timeout_ms = 50,
                                  .dial_timeout_ms = 200};
    ufrpc_plugin_t *p = NULL;
    if (ufrpc_plugin_create(&o, &p, NULL, 0) != 0) {
        uv_loop_close(&loop);
        return 0;
    }
    struct fake *f = calloc(1, sizeof *f);
    if (f != NULL) {
        f->s.vt = &fake_vt;
        f->s.loop = &loop;
        f->in = data + 2;
        f->len = size - 2;
        f->chunk = (size_t)data[1] + 1;
        uv_idle_init(&loop, &f->idle);
        f->idle.data = f;
        ufrpc_plugin_handle(p, &f->s, NULL);
    }
    for (int i = 0; i < 100000 && ufrpc_plugin_active(p) > 0; i++)
        uv_run(&loop, UV_RUN_ONCE);
    bool closed = false;
    ufrpc_plugin_close(p, on_plugin_closed, &closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!closed || uv_loop_close(&loop) != 0)
        abort();
    return 0;
}
