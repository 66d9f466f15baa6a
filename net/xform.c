/* ufrpc — filter-stream core (bounded chunked writes, buffered decoded reads) and
 * the work-stream layering helper. Contracts in net/xform.h. */
#include "net/xform.h"

#include <stdlib.h>
#include <string.h>

#include "net/layer.h"
#include "net/ratelimit.h"
#include "net/xform_crypt.h"
#include "net/xform_snappy.h"
#include "proto/error.h"

#define CHUNK_CACHE_MAX 2u

struct chunk {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    struct chunk *next;
    struct filter *f;
    struct ufrpc_stream_write *req; /* request whose last piece this is, or NULL */
    size_t cap;
    int done;     /* lower write completed (or nothing to write) */
    int status;
    uint8_t data[];
};

struct filter {
    struct ufrpc_stream s;
    struct ufrpc_layer layer; /* the lower stream, reading it, closing */
    const struct ufrpc_xform_ops *ops;
    void *ctx;
    uv_idle_t idle;      /* deferred completions and resumed reads */
    uv_timer_t wtimer;   /* paced write waiting (ops->delay) */
    uv_timer_t rtimer;   /* paced read waiting */
    struct chunk *held;  /* prepared chunk waiting for wtimer */

    /* write side */
    struct ufrpc_stream_write *rq_head, *rq_tail; /* accepted, not completed */
    struct ufrpc_stream_write *enc;              /* first not fully encoded */
    size_t enc_done;                             /* bytes of *enc encoded */
    struct chunk *fifo_head, *fifo_tail;         /* chunks in request order */
    unsigned inflight;                           /* lower writes in flight */
    struct chunk *cache;
    unsigned ncache;
    uint8_t *stage;                              /* UFRPC_XFORM_BLOCK bytes */
    size_t queued;
    int werr;
    int shut_wanted, shut_sent;

    /* read side */
    ufrpc_rbuf_t *out;                 /* decoded-output buffer */
    ufrpc_rbuf_t *pin_buf;             /* undecoded rest of a lower delivery */
    const uint8_t *pin_data;
    size_t pin_len;
    int pin_paced;                     /* pin waits for rtimer */
    size_t pin_paid;                   /* leading pin bytes already paced */
    int reading, ended;
};

static const struct ufrpc_stream_vt filter_vt;

/* Timer timeout for a wait in ns: rounded up, capped at about 31 years. */
static uint64_t ns_to_ms(uint64_t ns)
{
    uint64_t ms = ns / 1000000u + (ns % 1000000u != 0);
    return ms > (uint64_t)1e12 ? (uint64_t)1e12 : ms;
}

/* ---- write side --------------------------------------------------------------- */
/* A chunk from the small cache if one is big enough, else a new one (sizes are
 * rounded up to 16 KiB so that chunks of a busy stream are interchangeable). */
static struct chunk *chunk_get(struct filter *f, size_t cap)
{
    struct chunk **pp = &f->cache, *c;
    while ((c = *pp) != NULL && c->cap < cap)
        pp = &c->next;
    if (c != NULL) {
        *pp = c->next;
        f->ncache--;
    } else {
        if (cap > 0)
            cap = (cap + 16383u) & ~(size_t)16383u;
        c = malloc(sizeof *c + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
    }
    c->next = NULL;
    c->f = f;
    c->req = NULL;
    c->done = 0;
    c->status = 0;
    c->w.data = c;
    return c;
}

static void chunk_put(struct filter *f, struct chunk *c)
{
    if (f->ncache < CHUNK_CACHE_MAX && !f->s.closing) {
        c->next = f->cache;
        f->cache = c;
        f->ncache++;
    } else {
        free(c);
    }
}

static void complete_head(struct filter *f, int status)
{
    struct ufrpc_stream_write *r = f->rq_head;
    f->rq_head = r->next;
    if (f->rq_head == NULL)
        f->rq_tail = NULL;
    f->queued -= r->len;
    r->cb(r, status);
}

/* Pops finished chunks in order and completes their requests. */
static void drain(struct filter *f)
{
    while (f->fifo_head != NULL && f->fifo_head->done) {
        struct chunk *c = f->fifo_head;
        f->fifo_head = c->next;
        if (f->fifo_head == NULL)
            f->fifo_tail = NULL;
        struct ufrpc_stream_write *req = c->req;
        int st = c->status != 0 ? c->status : f->werr;
        chunk_put(f, c);
        if (req != NULL)
            complete_head(f, st);
    }
}

static void on_lower_shutdown(struct ufrpc_stream *lower, int status)
{
    struct filter *f = (struct filter *)ufrpc_layer_up(lower);
    if (f->s.shutdown_cb != NULL)
        f->s.shutdown_cb(&f->s, status);
}

static void on_idle(uv_idle_t *h);

static void schedule(struct filter *f)
{
    if (!f->s.closing)
        uv_idle_start(&f->idle, on_idle);
}

static void on_chunk_written(struct ufrpc_stream_write *w, int status);

/* Points *in at the next `len` bytes of r (from its cursor), gathering into the
 * staging buffer when they span iovecs; advances the cursor. */
static int gather(struct filter *f, struct ufrpc_stream_write *r, size_t len, const uint8_t **in)
{
    while (r->idx < r->nbufs && r->off == r->bufs[r->idx].len) {
        r->idx++;
        r->off = 0;
    }
    if (len == 0) {
        *in = NULL;
        return 0;
    }
    const uv_buf_t *b = &r->bufs[r->idx];
    if (b->len - r->off >= len) {
        *in = (const uint8_t *)b->base + r->off;
        r->off += len;
        return 0;
    }
    if (f->stage == NULL && (f->stage = malloc(UFRPC_XFORM_BLOCK)) == NULL)
        return UFRPC_ERR_NOMEM;
    size_t got = 0;
    while (got < len) {
        b = &r->bufs[r->idx];
        size_t n = b->len - r->off;
        if (n > len - got)
            n = len - got;
        memcpy(f->stage + got, b->base + r->off, n);
        got += n;
        r->off += n;
        if (r->off == b->len && got < len) {
            r->idx++;
            r->off = 0;
        }
    }
    *in = f->stage;
    return 0;
}

static void set_werr(struct filter *f, int err)
{
    if (f->werr == 0)
        f->werr = err;
}

/* Fails every accepted request that has no chunk yet (after a write error). */
static void fail_unencoded(struct filter *f)
{
    if (f->enc == NULL)
        return;
    /* Requests before enc complete through their chunks; enc and later ones
     * have not produced their last chunk: detach them and fail them in order once
     * the chunks before them are done. A virtual chunk marks each. */
    while (f->enc != NULL) {
        struct chunk *c = chunk_get(f, 0);
        if (c == NULL)
            break; /* out of memory: the rest fails when the stream is closed */
        c->req = f->enc;
        c->done = 1;
        c->status = f->werr;
        if (f->fifo_tail != NULL)
            f->fifo_tail->next = c;
        else
            f->fifo_head = c;
        f->fifo_tail = c;
        f->enc = f->enc->next;
    }
    f->enc_done = 0;
}

static int issue(struct filter *f, struct chunk *c)
{
    int rc = ufrpc_stream_write(f->layer.lower, &c->w, &c->b, 1, on_chunk_written);
    if (rc < 0) {
        c->done = 1;
        c->status = rc;
        set_werr(f, rc);
        return rc;
    }
    f->inflight++;
    return 0;
}

static void pump_writes(struct filter *f);

static void on_wtimer(uv_timer_t *t)
{
    struct filter *f = t->data;
    struct chunk *c = f->held;
    f->held = NULL;
    if (c == NULL || f->s.closing)
        return;
    issue(f, c);
    pump_writes(f);
}

/* Encodes and issues as many pieces as the in-flight bound allows. Never calls
 * a user callback itself. */
static void pump_writes(struct filter *f)
{
    while (f->enc != NULL && f->werr == 0 && f->inflight < UFRPC_XFORM_MAX_INFLIGHT &&
           f->held == NULL && !f->s.closing) {
        struct ufrpc_stream_write *r = f->enc;
        size_t piece = r->len - f->enc_done;
        if (piece > UFRPC_XFORM_BLOCK)
            piece = UFRPC_XFORM_BLOCK;
        if (f->ops->piece_max != NULL) {
            size_t m = f->ops->piece_max(f->ctx);
            if (m > 0 && piece > m)
                piece = m;
        }
        int pass = f->ops->encode == NULL;
        if (pass && piece > 0) {
            while (r->off == r->bufs[r->idx].len) {
                r->idx++;
                r->off = 0;
            }
            if (piece > r->bufs[r->idx].len - r->off)
                piece = r->bufs[r->idx].len - r->off;
        }
        size_t cap = pass ? 0 : f->ops->enc_bound(f->ctx, piece);
        struct chunk *c = chunk_get(f, cap);
        if (c == NULL) {
            set_werr(f, UFRPC_ERR_NOMEM);
            break;
        }
        const uint8_t *in;
        size_t out_len = 0;
        int rc = gather(f, r, piece, &in);
        if (rc == 0 && !pass)
            rc = f->ops->encode(f->ctx, in, piece, c->data, c->cap, &out_len);
        if (rc < 0) {
            free(c);
            set_werr(f, rc);
            break;
        }
        if (pass)
            out_len = piece;
        f->enc_done += piece;
        if (f->enc_done == r->len) {
            c->req = r;
            f->enc = r->next;
            f->enc_done = 0;
        }
        if (f->fifo_tail != NULL)
            f->fifo_tail->next = c;
        else
            f->fifo_head = c;
        f->fifo_tail = c;
        if (out_len == 0) {
            c->done = 1;
            continue;
        }
        c->b = uv_buf_init((char *)(pass ? (uint8_t *)(uintptr_t)in : c->data),
                           (unsigned)out_len);
        uint64_t wait = f->ops->delay != NULL ? f->ops->delay(f->ctx, UFRPC_XFORM_WRITE, out_len)
                                              : 0;
        if (wait > 0) {
            f->held = c;
            uv_timer_start(&f->wtimer, on_wtimer, ns_to_ms(wait), 0);
            break;
        }
        if (issue(f, c) < 0)
            break;
    }
    if (f->werr != 0) {
        if (f->held != NULL) {
            uv_timer_stop(&f->wtimer);
            f->held->done = 1;
            f->held->status = f->werr;
            f->held = NULL;
        }
        fail_unencoded(f);
    }
    if (f->enc == NULL && f->held == NULL && f->shut_wanted && !f->shut_sent &&
        !f->s.closing) {
        f->shut_sent = 1;
        int rc = f->werr;
        if (rc == 0)
            rc = ufrpc_stream_shutdown(f->layer.lower, on_lower_shutdown);
        if (rc < 0)
            f->shut_sent = 2; /* report from the idle callback */
    }
    if ((f->fifo_head != NULL && f->fifo_head->done) || f->shut_sent == 2)
        schedule(f);
}

static void on_chunk_written(struct ufrpc_stream_write *w, int status)
{
    struct chunk *c = w->data;
    struct filter *f = c->f;
    f->inflight--;
    c->done = 1;
    c->status = status;
    if (status < 0)
        set_werr(f, status);
    drain(f);
    pump_writes(f);
}

static int filter_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct filter *f = (struct filter *)s;
    if (f->werr != 0)
        return f->werr;
    if (f->shut_wanted)
        return UFRPC_ERR_STATE;
    req->next = NULL;
    if (f->rq_tail != NULL)
        f->rq_tail->next = req;
    else
        f->rq_head = req;
    f->rq_tail = req;
    if (f->enc == NULL) {
        f->enc = req;
        f->enc_done = 0;
    }
    f->queued += req->len;
    pump_writes(f);
    return 0;
}

static size_t filter_queued(const struct ufrpc_stream *s)
{
    return ((const struct filter *)s)->queued;
}

static int filter_shutdown(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    f->shut_wanted = 1;
    pump_writes(f);
    return 0;
}

/* ---- read side ------------------------------------------------------------------ */
static void on_lower_read(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len);
static void on_rtimer(uv_timer_t *t);
static void resume_lower(struct filter *f);

static void read_fail(struct filter *f, int status)
{
    f->ended = 1;
    f->reading = 0;
    ufrpc_layer_read(&f->layer, 0, NULL);
    f->s.read_cb(&f->s, status, NULL, NULL, 0);
}

static int stash(struct filter *f, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    if ((buf = ufrpc_rbuf_hold(buf, &data, len)) == NULL)
        return UFRPC_ERR_NOMEM;
    f->pin_buf = buf;
    f->pin_data = data;
    f->pin_len = len;
    ufrpc_layer_read(&f->layer, 0, NULL);
    return 0;
}

/* Decodes and delivers data; stashes what is left if the consumer stops. */
static void process(struct filter *f, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (f->s.closing)
            return;
        if (!f->reading) {
            int rc = stash(f, buf, data, len);
            if (rc < 0)
                read_fail(f, rc);
            return;
        }
        if (f->ops->decode == NULL) {
            f->s.read_cb(&f->s, 0, buf, data, len);
            return;
        }
        if (f->out != NULL && f->out->refs != 1) {
            ufrpc_rbuf_unref(f->out);
            f->out = NULL;
        }
        if (f->out == NULL && (f->out = ufrpc_rbuf_new(UFRPC_XFORM_OUT_BUF)) == NULL) {
            read_fail(f, UFRPC_ERR_NOMEM);
            return;
        }
        size_t consumed = 0, produced = 0;
        int rc = f->ops->decode(f->ctx, data, len, f->out->base, f->out->cap, &consumed,
                                &produced);
        if (rc == 0 && consumed == 0 && produced == 0)
            rc = UFRPC_ERR_STATE; /* codec made no progress: never loop */
        if (rc < 0) {
            read_fail(f, rc);
            return;
        }
        data += consumed;
        len -= consumed;
        if (produced > 0)
            f->s.read_cb(&f->s, 0, f->out, f->out->base, produced);
    }
}

/* process() with pacing: the bytes go up in slices of at most piece_max, each
 * paid for (ops->delay) before it is delivered; while a slice waits, the rest
 * is stashed and the lower stream paused. */
static void paced_process(struct filter *f, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    if (f->ops->delay == NULL) {
        process(f, buf, data, len);
        return;
    }
    size_t max = f->ops->piece_max != NULL ? f->ops->piece_max(f->ctx) : 0;
    if (max == 0 || max > UFRPC_XFORM_BLOCK)
        max = UFRPC_XFORM_BLOCK;
    while (len > 0 && !f->s.closing) {
        if (!f->reading) {
            int rc = stash(f, buf, data, len);
            if (rc < 0)
                read_fail(f, rc);
            return;
        }
        size_t n = len < max ? len : max;
        uint64_t wait = f->ops->delay(f->ctx, UFRPC_XFORM_READ, n);
        if (wait > 0) {
            int rc = stash(f, buf, data, len);
            if (rc < 0) {
                read_fail(f, rc);
                return;
            }
            f->pin_paced = 1;
            f->pin_paid = n;
            uv_timer_start(&f->rtimer, on_rtimer, ns_to_ms(wait), 0);
            return;
        }
        process(f, buf, data, n);
        data += n;
        len -= n;
    }
}

static void on_lower_read(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct filter *f = (struct filter *)ufrpc_layer_up(lower);
    if (f->s.closing || f->ended)
        return;
    if (status == UFRPC_ERR_EOF) {
        f->layer.lower_reading = 0;
        int rc = f->ops->finish != NULL ? f->ops->finish(f->ctx) : 0;
        f->ended = 1;
        f->reading = 0;
        f->s.read_cb(&f->s, rc < 0 ? rc : UFRPC_ERR_EOF, NULL, NULL, 0);
        return;
    }
    if (status < 0) {
        f->layer.lower_reading = 0;
        f->ended = 1;
        f->reading = 0;
        f->s.read_cb(&f->s, status, NULL, NULL, 0);
        return;
    }
    paced_process(f, buf, data, len);
}

static void resume_reads(struct filter *f)
{
    if (f->reading && f->pin_len > 0 && !f->pin_paced && !f->s.closing) {
        ufrpc_rbuf_t *b = f->pin_buf;
        const uint8_t *d = f->pin_data;
        size_t n = f->pin_len;
        size_t paid = f->pin_paid;
        f->pin_buf = NULL;
        f->pin_data = NULL;
        f->pin_len = 0;
        f->pin_paid = 0;
        if (paid > 0) {
            process(f, b, d, paid);
            d += paid;
            n -= paid;
        }
        /* pass-through delivery never leaves a partial stash behind (pacing
         * requires decode == NULL), so the rest can be paced from here */
        if (n > 0)
            paced_process(f, b, d, n);
        ufrpc_rbuf_unref(b);
    }
    resume_lower(f);
}

static void on_rtimer(uv_timer_t *t)
{
    struct filter *f = t->data;
    f->pin_paced = 0;
    if (!f->s.closing)
        resume_reads(f);
}

static void resume_lower(struct filter *f)
{
    if (f->reading && !f->ended && !f->s.closing && f->pin_len == 0) {
        int rc = ufrpc_layer_read(&f->layer, 1, on_lower_read);
        if (rc < 0)
            read_fail(f, rc);
    }
}

static void on_idle(uv_idle_t *h)
{
    struct filter *f = h->data;
    uv_idle_stop(h);
    if (f->s.closing)
        return;
    /* deferred write completions and shutdown result */
    drain(f);
    if (f->shut_sent == 2) {
        f->shut_sent = 1;
        if (f->s.shutdown_cb != NULL)
            f->s.shutdown_cb(&f->s, f->werr != 0 ? f->werr : UFRPC_ERR_STATE);
    }
    if (f->s.closing)
        return;
    resume_reads(f);
}

static int filter_read_start(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    if (f->ended)
        return UFRPC_ERR_STATE;
    f->reading = 1;
    if (f->pin_len > 0) {
        if (!f->pin_paced)
            uv_idle_start(&f->idle, on_idle);
        return 0;
    }
    int rc = ufrpc_layer_read(&f->layer, 1, on_lower_read);
    if (rc < 0)
        f->reading = 0;
    return rc;
}

static int filter_read_stop(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    f->reading = 0;
    ufrpc_layer_read(&f->layer, 0, NULL);
    return 0;
}

/* ---- close ----------------------------------------------------------------------- */
static void filter_free(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    while (f->cache != NULL) {
        struct chunk *c = f->cache;
        f->cache = c->next;
        free(c);
    }
    ufrpc_rbuf_unref(f->out);
    ufrpc_rbuf_unref(f->pin_buf);
    free(f->stage);
    if (f->ops->free != NULL)
        f->ops->free(f->ctx);
    free(f);
}

static void filter_lower_closed(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    /* Every lower write callback has run (with an error) by now. Chunks that never
     * reached the lower stream, and requests never encoded, fail here, in order. */
    set_werr(f, UFRPC_ERR_CANCELED);
    while (f->fifo_head != NULL) {
        struct chunk *c = f->fifo_head;
        f->fifo_head = c->next;
        struct ufrpc_stream_write *req = c->req;
        int st = c->status != 0 ? c->status : UFRPC_ERR_CANCELED;
        free(c);
        if (req != NULL)
            complete_head(f, st);
    }
    f->fifo_tail = NULL;
    while (f->rq_head != NULL)
        complete_head(f, UFRPC_ERR_CANCELED);
    if (f->shut_wanted && f->shut_sent != 1 && f->s.shutdown_cb != NULL)
        f->s.shutdown_cb(&f->s, UFRPC_ERR_CANCELED);
}

static void filter_close(struct ufrpc_stream *s)
{
    struct filter *f = (struct filter *)s;
    f->reading = 0;
    uv_handle_t *const hs[] = {(uv_handle_t *)&f->idle, (uv_handle_t *)&f->wtimer,
                               (uv_handle_t *)&f->rtimer};
    ufrpc_layer_close(&f->layer, hs, 3);
}

static const struct ufrpc_stream_vt filter_vt = {
    .read_start = filter_read_start,
    .read_stop = filter_read_stop,
    .write = filter_write,
    .queued = filter_queued,
    .shutdown = filter_shutdown,
    .close = filter_close,
    .unread = NULL,
};

struct ufrpc_stream *ufrpc_xform_filter_new(struct ufrpc_stream *lower,
                                            const struct ufrpc_xform_ops *ops, void *ctx,
                                            int *err)
{
    struct filter *f = NULL;
    if (ops->delay != NULL && ops->decode != NULL) {
        *err = UFRPC_ERR_INVAL; /* pacing is for pass-through streams only */
        goto fail;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL) {
        *err = UFRPC_ERR_NOMEM;
        goto fail;
    }
    int rc = uv_idle_init(lower->loop, &f->idle);
    if (rc < 0) {
        free(f);
        *err = ufrpc_net_uv_err(rc);
        goto fail;
    }
    uv_timer_init(lower->loop, &f->wtimer);
    uv_timer_init(lower->loop, &f->rtimer);
    f->idle.data = f;
    f->wtimer.data = f;
    f->rtimer.data = f;
    f->ops = ops;
    f->ctx = ctx;
    ufrpc_layer_init(&f->layer, &f->s, &filter_vt, NULL, lower, filter_lower_closed, filter_free);
    *err = 0;
    return &f->s;
fail:
    if (ops->free != NULL)
        ops->free(ctx);
    ufrpc_stream_close(lower, NULL);
    return NULL;
}

/* ---- layering helper -------------------------------------------------------------- */
int ufrpc_xform_wrap(struct ufrpc_stream *stream, bool use_encryption, const uint8_t key[16],
                     bool use_compression, struct ufrpc_ratelimit *limiter,
                     struct ufrpc_stream **out)
{
    int err = 0;
    struct ufrpc_stream *s = stream;
    if (use_encryption && key == NULL) {
        ufrpc_stream_close(stream, NULL);
        return UFRPC_ERR_INVAL;
    }
    if (limiter != NULL && (s = ufrpc_ratelimit_wrap(limiter, s, &err)) == NULL)
        return err;
    if (use_encryption && (s = ufrpc_xform_crypt_new(s, key, NULL, NULL, &err)) == NULL)
        return err;
    if (use_compression && (s = ufrpc_xform_snappy_new(s, &err)) == NULL)
        return err;
    *out = s;
    return 0;
}
