/* Test harness shared by test_yamux*.c: a yamux session plus an event log and
 * per-stream bookkeeping, and a pump that moves bytes between two sessions in
 * memory (random chunk sizes when a PRNG state is given). Test code only. */
#ifndef UFRPC_TEST_YAMUX_PAIR_H
#define UFRPC_TEST_YAMUX_PAIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/yamux.h"
#include "testutil.h"

#define YP_LOGCAP 65536
#define YP_MAXST 64

struct ypeer;

/* What the application knows about one stream. */
struct ystream {
    ufrpc_yamux_stream_t *st;
    uint32_t id;
    uint64_t rx, tx;     /* payload bytes received / accepted by write */
    uint64_t rx_target;  /* for the bulk test */
    uint64_t held;       /* received, not yet consumed (hold mode) */
    int fin, reset, acked, writable;
    int bad;             /* a byte failed verification */
    int verify;          /* check bytes against yp_pattern */
    unsigned tag;        /* pattern tag of the sender */
};

struct ypeer {
    ufrpc_yamux_session_t *s;
    char log[YP_LOGCAP];
    size_t loglen;
    int hold;           /* 1: do not consume in the data callback */
    int refuse;         /* 1: refuse peer-opened streams */
    int release_on_reset;
    int err, n_err;
    uint32_t goaway_code;
    int n_goaway;
    struct ystream sts[YP_MAXST];
    int nst;
    size_t max_unconsumed; /* largest ufrpc_yamux_stream_unconsumed() seen */
};

static inline uint8_t yp_pattern(unsigned tag, uint64_t off)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull + tag * 0x632BE59BD9B4E019ull;
    return (uint8_t)((x >> 56) ^ (off >> 9));
}

static inline void yp_log(struct ypeer *p, const char *fmt, unsigned a, unsigned long b)
{
    int n = snprintf(p->log + p->loglen, YP_LOGCAP - p->loglen, fmt, a, b);
    if (n > 0 && (size_t)n < YP_LOGCAP - p->loglen)
        p->loglen += (size_t)n;
}

static inline struct ystream *yp_add(struct ypeer *p, ufrpc_yamux_stream_t *st)
{
    if (p->nst >= YP_MAXST)
        return NULL;
    struct ystream *y = &p->sts[p->nst++];
    memset(y, 0, sizeof *y);
    y->st = st;
    y->id = ufrpc_yamux_stream_id(st);
    ufrpc_yamux_stream_set_user_data(st, y);
    return y;
}

static inline struct ystream *yp_find(struct ypeer *p, uint32_t id)
{
    for (int i = 0; i < p->nst; i++)
        if (p->sts[i].id == id)
            return &p->sts[i];
    return NULL;
}

static inline int yp_on_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    yp_log(p, "open %u;", ufrpc_yamux_stream_id(st), 0);
    if (p->refuse)
        return -1;
    return yp_add(p, st) ? 0 : -1;
}

static inline void yp_on_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                              const uint8_t *d, size_t n, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    struct ystream *y = ufrpc_yamux_stream_user_data(st);
    yp_log(p, "data %u %lu;", ufrpc_yamux_stream_id(st), (unsigned long)n);
    if (y) {
        if (y->verify) {
            for (size_t i = 0; i < n; i++)
                if (d[i] != yp_pattern(y->tag, y->rx + i)) {
                    y->bad = 1;
                    break;
                }
        }
        y->rx += n;
    }
    size_t u = ufrpc_yamux_stream_unconsumed(st);
    if (u > p->max_unconsumed)
        p->max_unconsumed = u;
    if (p->hold) {
        if (y)
            y->held += n;
    } else {
        ufrpc_yamux_stream_consume(st, n);
    }
}

static inline void yp_on_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    struct ystream *y = ufrpc_yamux_stream_user_data(st);
    yp_log(p, "fin %u;", ufrpc_yamux_stream_id(st), 0);
    if (y)
        y->fin = 1;
}

static inline void yp_on_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    struct ystream *y = ufrpc_yamux_stream_user_data(st);
    yp_log(p, "rst %u;", ufrpc_yamux_stream_id(st), 0);
    if (y)
        y->reset = 1;
    if (p->release_on_reset) {
        ufrpc_yamux_stream_release(st);
        if (y)
            y->st = NULL;
    }
}

static inline void yp_on_ack(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    struct ystream *y = ufrpc_yamux_stream_user_data(st);
    yp_log(p, "ack %u;", ufrpc_yamux_stream_id(st), 0);
    if (y)
        y->acked = 1;
}

static inline void yp_on_writable(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    struct ystream *y = ufrpc_yamux_stream_user_data(st);
    yp_log(p, "writable %u;", ufrpc_yamux_stream_id(st), 0);
    if (y)
        y->writable++;
}

static inline void yp_on_goaway(ufrpc_yamux_session_t *s, uint32_t code, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    yp_log(p, "goaway %u;", code, 0);
    p->goaway_code = code;
    p->n_goaway++;
}

static inline void yp_on_error(ufrpc_yamux_session_t *s, int err, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    yp_log(p, "error %u;", (unsigned)-err, 0);
    p->err = err;
    p->n_err++;
}

static inline int yp_init(struct ypeer *p, enum ufrpc_yamux_role role,
                          const struct ufrpc_yamux_config *cfg, uint64_t now)
{
    memset(p, 0, sizeof *p);
    struct ufrpc_yamux_callbacks cb = {
        .on_stream_open = yp_on_open,
        .on_stream_data = yp_on_data,
        .on_stream_fin = yp_on_fin,
        .on_stream_reset = yp_on_reset,
        .on_stream_ack = yp_on_ack,
        .on_stream_writable = yp_on_writable,
        .on_goaway = yp_on_goaway,
        .on_session_error = yp_on_error,
    };
    return ufrpc_yamux_session_new(&p->s, role, cfg, &cb, p, now);
}

/* Copies all pending output of p into a malloc'd buffer (and marks it sent). */
static inline size_t yp_take(struct ypeer *p, uint8_t **out)
{
    size_t total = 0, cap = 0;
    uint8_t *buf = NULL;
    for (;;) {
        struct iovec iov[2];
        int n = ufrpc_yamux_pending_output(p->s, iov, 2);
        if (n <= 0)
            break;
        size_t sum = 0;
        for (int i = 0; i < n; i++)
            sum += iov[i].iov_len;
        if (total + sum > cap) {
            cap = (total + sum) * 2;
            buf = realloc(buf, cap);
        }
        for (int i = 0; i < n; i++) {
            memcpy(buf + total, iov[i].iov_base, iov[i].iov_len);
            total += iov[i].iov_len;
        }
        ufrpc_yamux_output_sent(p->s, sum);
    }
    *out = buf;
    return total;
}

/* Moves a's pending output into b. With rng, the transport takes random amounts
 * (1 .. maxchunk) per step and b is fed in random pieces. Returns bytes moved. */
static inline size_t yp_move(struct ypeer *a, struct ypeer *b, uint64_t *rng, size_t maxchunk,
                             uint64_t now)
{
    size_t moved = 0;
    for (;;) {
        struct iovec iov[2];
        int n = ufrpc_yamux_pending_output(a->s, iov, 2);
        if (n <= 0)
            break;
        size_t take = iov[0].iov_len;
        if (rng && maxchunk) {
            size_t r = 1 + (size_t)(ufrpc_test_rand(rng) % maxchunk);
            if (r < take)
                take = r;
        }
        /* the ring bytes stay valid until output_sent: feed straight from them */
        const uint8_t *src = iov[0].iov_base;
        size_t done = 0;
        while (done < take) {
            size_t piece = take - done;
            if (rng && maxchunk) {
                size_t r = 1 + (size_t)(ufrpc_test_rand(rng) % maxchunk);
                if (r < piece)
                    piece = r;
            }
            ufrpc_yamux_feed(b->s, src + done, piece, now);
            done += piece;
        }
        ufrpc_yamux_output_sent(a->s, take);
        moved += take;
    }
    return moved;
}

/* Moves both ways until quiet. */
static inline void yp_settle(struct ypeer *a, struct ypeer *b, uint64_t *rng, size_t maxchunk,
                             uint64_t now)
{
    for (int i = 0; i < 100000; i++)
        if (yp_move(a, b, rng, maxchunk, now) + yp_move(b, a, rng, maxchunk, now) == 0)
            break;
}

#endif
