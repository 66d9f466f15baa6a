/* Helpers shared by the net/ unit tests (static inline: each test is its own
 * program). A "peer" drives one end of a ufrpc_stream: it sends `to_send` bytes of
 * a repeating pseudo-random pattern (starting at `send_base`), then shuts down,
 * and checks every byte it receives against the pattern (starting at
 * `recv_base`), optionally reading slowly (a 1 ms pause every `slow_every` bytes).
 * Memory: nt_pattern() is malloc'd (caller frees); the peer struct is the
 * caller's; nt_peer_close() closes the stream and the pause timer. */
#ifndef UFRPC_TESTS_NET_NETTEST_H
#define UFRPC_TESTS_NET_NETTEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "net/stream.h"
#include "proto/error.h"

#define NT_PAT_LEN ((size_t)1048573) /* prime, so chunk boundaries drift */
#define NT_CHUNK ((size_t)65536)

static inline uint8_t *nt_pattern(void)
{
    uint8_t *p = malloc(NT_PAT_LEN + NT_CHUNK);
    if (p == NULL)
        return NULL;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < NT_PAT_LEN; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
    }
    memcpy(p + NT_PAT_LEN, p, NT_CHUNK);
    return p;
}

struct nt_peer {
    struct ufrpc_stream *s;
    const uint8_t *pat;
    /* sending */
    uint64_t to_send, sent, send_base;
    struct ufrpc_stream_write w[2];
    uv_buf_t b[2];
    int busy[2];
    int no_shutdown;
    int shut_requested, shut_done;
    /* receiving */
    uint64_t received, recv_base;
    int eof, mismatch, err;
    uint64_t slow_every, next_pause;
    uv_timer_t timer;
    int timer_init;
    int closed;
};

static inline void nt_peer_send(struct nt_peer *p);

static inline void nt_on_shut(struct ufrpc_stream *s, int status)
{
    struct nt_peer *p = s->data;
    if (status < 0 && p->err == 0)
        p->err = status;
    p->shut_done = 1;
}

static inline void nt_on_write(struct ufrpc_stream_write *w, int status)
{
    struct nt_peer *p = w->data;
    p->busy[w == &p->w[0] ? 0 : 1] = 0;
    if (status < 0) {
        if (p->err == 0 && status != UFRPC_ERR_CANCELED)
            p->err = status;
        return;
    }
    nt_peer_send(p);
}

static inline void nt_peer_send(struct nt_peer *p)
{
    if (p->closed || p->err)
        return;
    for (int i = 0; i < 2 && p->sent < p->to_send; i++) {
        if (p->busy[i])
            continue;
        size_t off = (size_t)((p->send_base + p->sent) % NT_PAT_LEN);
        size_t n = NT_CHUNK;
        if (n > p->to_send - p->sent)
            n = (size_t)(p->to_send - p->sent);
        p->b[i] = uv_buf_init((char *)(uintptr_t)(p->pat + off), (unsigned)n);
        p->w[i].data = p;
        int rc = ufrpc_stream_write(p->s, &p->w[i], &p->b[i], 1, nt_on_write);
        if (rc < 0) {
            p->err = rc;
            return;
        }
        p->busy[i] = 1;
        p->sent += n;
    }
    if (p->sent == p->to_send && !p->busy[0] && !p->busy[1] && !p->shut_requested &&
        !p->no_shutdown) {
        p->shut_requested = 1;
        int rc = ufrpc_stream_shutdown(p->s, nt_on_shut);
        if (rc < 0)
            p->err = rc;
    }
}

static inline void nt_on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                              const uint8_t *data, size_t len);

static inline void nt_resume(uv_timer_t *t)
{
    struct nt_peer *p = t->data;
    if (!p->closed && !p->eof && !p->err)
        ufrpc_stream_read_start(p->s, nt_on_read);
}

static inline void nt_on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                              const uint8_t *data, size_t len)
{
    struct nt_peer *p = s->data;
    (void)buf;
    if (status == UFRPC_ERR_EOF) {
        p->eof = 1;
        return;
    }
    if (status < 0) {
        if (p->err == 0)
            p->err = status;
        return;
    }
    while (len > 0) {
        size_t off = (size_t)((p->recv_base + p->received) % NT_PAT_LEN);
        size_t n = len < NT_CHUNK ? len : NT_CHUNK;
        if (memcmp(data, p->pat + off, n) != 0)
            p->mismatch = 1;
        p->received += n;
        data += n;
        len -= n;
    }
    if (p->slow_every && p->received >= p->next_pause) {
        p->next_pause = p->received + p->slow_every;
        ufrpc_stream_read_stop(s);
        if (!p->timer_init) {
            uv_timer_init(s->loop, &p->timer);
            p->timer.data = p;
            p->timer_init = 1;
        }
        uv_timer_start(&p->timer, nt_resume, 1, 0);
    }
}

/* Attaches p to s (s->data = p), starts reading and sending. */
static inline int nt_peer_start(struct nt_peer *p, struct ufrpc_stream *s)
{
    p->s = s;
    s->data = p;
    p->next_pause = p->slow_every;
    int rc = ufrpc_stream_read_start(s, nt_on_read);
    if (rc == 0)
        nt_peer_send(p);
    return rc;
}

static inline void nt_peer_close(struct nt_peer *p)
{
    if (p->closed)
        return;
    p->closed = 1;
    if (p->timer_init)
        uv_close((uv_handle_t *)&p->timer, NULL);
    if (p->s != NULL)
        ufrpc_stream_close(p->s, NULL);
}


static inline void nt_stop_timer(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop until pred(arg) is true or timeout_ms passes. Returns pred(arg).
 * The loop wakes at least every 50 ms, so a predicate on something outside the
 * loop (a file another process writes) is seen soon, not only at the deadline. */
static inline int nt_run_until(uv_loop_t *loop, int (*pred)(void *), void *arg,
                               uint64_t timeout_ms)
{
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + timeout_ms;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    while (!pred(arg)) {
        uint64_t now = uv_now(loop);
        if (now >= end)
            break;
        uv_timer_start(&guard, nt_stop_timer, end - now < 50 ? end - now : 50, 0);
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return pred(arg);
}

/* Closes every handle still open and runs the loop until it is empty. */
static inline void nt_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Runs the loop until no handle is left (bounded); returns 1 if it is empty. */
static inline int nt_loop_drain(uv_loop_t *loop)
{
    for (int i = 0; i < 2000 && uv_loop_alive(loop); i++)
        uv_run(loop, UV_RUN_NOWAIT);
    return !uv_loop_alive(loop);
}

#endif
