/* Fuzz target for the yamux session: arbitrary peer bytes into a client or server
 * session, interleaved with application actions (open, write, consume, close,
 * reset, release, timers, partial output drains). Checks the bounds the header
 * promises: buffered data never above the advertised window, pending output
 * bounded, stream objects only freed after release.
 *
 * Input: byte 0 = options (bit 0 server role, bit 1 small ring + 256 KiB window,
 * bit 2 command mode). Raw mode: the rest is wire input, fed in pieces whose sizes
 * come from a simple PRNG seeded by the length. Command mode: a sequence of
 * (op, arg) pairs; op 0 feeds the next arg bytes as wire input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/yamux.h"

#define MAXST 16

struct fz {
    ufrpc_yamux_session_t *s;
    ufrpc_yamux_stream_t *st[MAXST];
    size_t held[MAXST];
    int n;
    int hold;
    uint32_t window;
    uint64_t now;
};

static int slot_of(struct fz *f, ufrpc_yamux_stream_t *st)
{
    for (int i = 0; i < f->n; i++)
        if (f->st[i] == st)
            return i;
    return -1;
}

static int on_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct fz *f = ud;
    (void)s;
    if (f->n == MAXST)
        return -1;
    f->held[f->n] = 0;
    f->st[f->n++] = st;
    return 0;
}

static void on_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, const uint8_t *d,
                    size_t len, void *ud)
{
    struct fz *f = ud;
    (void)s;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i += 4096)
        sink ^= d[i];
    (void)sink;
    if (ufrpc_yamux_stream_unconsumed(st) > f->window)
        __builtin_trap();
    int i = slot_of(f, st);
    if (i < 0)
        __builtin_trap(); /* data for a stream the application does not hold */
    if (f->hold)
        f->held[i] += len;
    else
        ufrpc_yamux_stream_consume(st, len);
}

static void on_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct fz *f = ud;
    (void)s;
    int i = slot_of(f, st);
    if (i < 0)
        __builtin_trap();
    /* release inside the callback: must be safe */
    ufrpc_yamux_stream_release(st);
    f->st[i] = f->st[--f->n];
    f->held[i] = f->held[f->n];
}

static void drain(struct fz *f, size_t max)
{
    struct iovec iov[2];
    int n = ufrpc_yamux_pending_output(f->s, iov, 2);
    if (n <= 0)
        return;
    size_t len = iov[0].iov_len;
    if (len > max)
        len = max;
    ufrpc_yamux_output_sent(f->s, len);
}

static void act(struct fz *f, uint8_t op, uint8_t arg)
{
    static const uint8_t payload[4096];
    ufrpc_yamux_stream_t *st = f->n ? f->st[arg % f->n] : NULL;
    int i = f->n ? arg % f->n : -1;
    switch (op % 10) {
    case 1:
        if (f->n < MAXST && ufrpc_yamux_stream_open(f->s, &f->st[f->n]) == 0)
            f->held[f->n++] = 0;
        break;
    case 2:
        if (st)
            ufrpc_yamux_stream_write(st, payload, (size_t)arg * 16);
        break;
    case 3:
        if (st && f->held[i]) {
            size_t n = f->held[i] / 2 + 1;
            ufrpc_yamux_stream_consume(st, n);
            f->held[i] -= n;
        }
        break;
    case 4:
        if (st)
            ufrpc_yamux_stream_close(st);
        break;
    case 5:
        if (st)
            ufrpc_yamux_stream_reset(st);
        break;
    case 6:
        if (st) {
            ufrpc_yamux_stream_release(st);
            f->st[i] = f->st[--f->n];
            f->held[i] = f->held[f->n];
        }
        break;
    case 7:
        f->now += (uint64_t)arg * 100;
        ufrpc_yamux_on_timeout(f->s, f->now);
        break;
    case 8:
        drain(f, (size_t)arg * 64 + 1);
        break;
    default:
        ufrpc_yamux_session_goaway(f->s, arg & 3);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    data++, size--;
    struct fz f;
    memset(&f, 0, sizeof f);
    struct ufrpc_yamux_config cfg;
    ufrpc_yamux_config_default(&cfg);
    cfg.keepalive_interval_ms = 1000;
    cfg.keepalive_timeout_ms = 500;
    cfg.stream_close_timeout_ms = 2000;
    cfg.accept_backlog = 8;
    cfg.max_output_bytes = 16384; /* keeps each run cheap */
    if (opt & 2) {
        cfg.max_output_bytes = 1024;
        cfg.max_stream_window = 256 * 1024;
    }
    f.window = cfg.max_stream_window;
    f.hold = (opt & 8) != 0;
    struct ufrpc_yamux_callbacks cb = {
        .on_stream_open = on_open,
        .on_stream_data = on_data,
        .on_stream_reset = on_reset,
    };
    if (ufrpc_yamux_session_new(&f.s, (opt & 1) ? UFRPC_YAMUX_SERVER : UFRPC_YAMUX_CLIENT, &cfg,
                                &cb, &f, 0) != 0)
        return 0;
    if (opt & 4) {
        size_t p = 0;
        while (p + 2 <= size) {
            uint8_t op = data[p], arg = data[p + 1];
            p += 2;
            if (op % 10 == 0) {
                size_t n = arg;
                if (n > size - p)
                    n = size - p;
                ufrpc_yamux_feed(f.s, data + p, n, f.now);
                p += n;
            } else {
                act(&f, op, arg);
            }
            if (ufrpc_yamux_pending_bytes(f.s) > cfg.max_output_bytes + 4096 + 16 * 12)
                __builtin_trap();
        }
    } else {
        uint64_t x = size * 0x9E3779B97F4A7C15ull + 1;
        size_t p = 0;
        while (p < size) {
            x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
            size_t n = 1 + (size_t)((x * 0x2545F4914F6CDD1Dull) >> 58) * 3;
            if (n > size - p)
                n = size - p;
            ufrpc_yamux_feed(f.s, data + p, n, f.now);
            p += n;
            drain(&f, SIZE_MAX);
        }
    }
    for (int i = 0; i < f.n; i++)
        if (ufrpc_yamux_stream_unconsumed(f.st[i]) > f.window)
            __builtin_trap();
    /* release everything, drain, and the session must hold no stream objects
     * except orphans waiting for the peer's FIN */
    while (f.n)
        ufrpc_yamux_stream_release(f.st[--f.n]);
    drain(&f, SIZE_MAX);
    ufrpc_yamux_session_free(f.s);
    return 0;
}
