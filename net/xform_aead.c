/* ufrpc — AEAD stream adapter over a ufrpc_stream, see xform_aead.h. */
#include "net/xform_aead.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "proto/error.h"
#include "proto/v2hello.h"

#define REC_PLAIN UFRPC_AEAD_MAX_PLAINTEXT
#define CHUNK_CAP (UFRPC_AEAD_MAX_NONCE_LEN + UFRPC_AEAD_RECORD_HDR + REC_PLAIN + UFRPC_AEAD_TAG_LEN)
#define OUT_BUF 65536u

/* One record in flight to the lower stream. */
struct chunk {
    struct ufrpc_stream_write req;
    uv_buf_t buf;
    uint8_t *mem; /* CHUNK_CAP bytes, allocated on first use */
    struct ufrpc_stream_write *owner; /* upper request, NULL once it was completed */
    int busy;
};

/* Upper write requests use two private fields of struct ufrpc_stream_write:
 *   idx = records of the request still in flight to the lower stream,
 *   off = 1 once all its bytes have been encoded. */
struct xa {
    struct ufrpc_stream s;
    struct ufrpc_stream *lower;
    ufrpc_aead_writer_t w;
    ufrpc_aead_reader_t r;
    uv_timer_t kick; /* deferred work: completions, resumed reads */
    int kick_armed;
    int closes_pending;
    /* write side */
    struct ufrpc_stream_write *head, *tail; /* requests not completed, in order */
    struct ufrpc_stream_write *enc;         /* first request not fully encoded */
    unsigned enc_idx;                       /* cursor inside enc */
    size_t enc_off, enc_done;
    struct chunk chunks[UFRPC_XFORM_AEAD_INFLIGHT];
    uint8_t *stage; /* gather buffer for records spanning iovecs */
    size_t queued;
    int werr;
    int shut_req, shut_sent, shut_done, shut_pending, shut_status;
    /* read side */
    int reading, ended, lower_reading;
    ufrpc_rbuf_t *out;
    ufrpc_rbuf_t *left; /* undecoded input kept while paused */
    const uint8_t *left_data;
    size_t left_len;
};

static void kick_cb(uv_timer_t *t);

static void arm_kick(struct xa *x)
{
    if (!x->kick_armed && !x->s.closing) {
        x->kick_armed = 1;
        uv_timer_start(&x->kick, kick_cb, 0, 0);
    }
}

/* ---- write side ------------------------------------------------------------------ */

static void chunk_cb(struct ufrpc_stream_write *w, int status);

static struct chunk *free_chunk(struct xa *x)
{
    for (unsigned i = 0; i < UFRPC_XFORM_AEAD_INFLIGHT; i++)
        if (!x->chunks[i].busy)
            return &x->chunks[i];
    return NULL;
}

/* Copies n bytes of the current request from the cursor into x->stage. */
static void gather(struct xa *x, size_t n)
{
    struct ufrpc_stream_write *req = x->enc;
    size_t got = 0;
    while (got < n) {
        const uv_buf_t *b = &req->bufs[x->enc_idx];
        size_t take = b->len - x->enc_off;
        if (take > n - got)
            take = n - got;
        memcpy(x->stage + got, (const uint8_t *)b->base + x->enc_off, take);
        got += take;
        x->enc_off += take;
        if (x->enc_off == b->len) {
            x->enc_idx++;
            x->enc_off = 0;
        }
    }
}

static void maybe_shutdown(struct xa *x);

/* Encodes pending requests into free chunks and writes them to the lower stream. */
static void pump(struct xa *x)
{
    while (x->werr == 0 && x->enc != NULL) {
        struct ufrpc_stream_write *req = x->enc;
        if (x->enc_done == req->len) {
            req->off = 1;
            x->enc = req->next;
            x->enc_idx = 0;
            x->enc_off = 0;
            x->enc_done = 0;
            continue;
        }
        struct chunk *c = free_chunk(x);
        if (c == NULL)
            break;
        if (c->mem == NULL && (c->mem = malloc(CHUNK_CAP)) == NULL) {
            x->werr = UFRPC_ERR_NOMEM;
            break;
        }
        size_t piece = req->len - x->enc_done;
        if (piece > REC_PLAIN)
            piece = REC_PLAIN;
        while (req->bufs[x->enc_idx].len == x->enc_off) {
            x->enc_idx++;
            x->enc_off = 0;
        }
        const uint8_t *src;
        const uv_buf_t *b = &req->bufs[x->enc_idx];
        if (b->len - x->enc_off >= piece) {
            src = (const uint8_t *)b->base + x->enc_off;
            x->enc_off += piece;
        } else {
            if (x->stage == NULL && (x->stage = malloc(REC_PLAIN)) == NULL) {
                x->werr = UFRPC_ERR_NOMEM;
                break;
            }
            gather(x, piece);
            src = x->stage;
        }
        size_t n = 0;
        int rc = ufrpc_aead_writer_write(&x->w, src, piece, c->mem, CHUNK_CAP, &n);
        if (rc != 0) {
            x->werr = rc;
            break;
        }
        x->enc_done += piece;
        c->buf = uv_buf_init((char *)c->mem, (unsigned)n);
        c->owner = req;
        c->busy = 1;
        c->req.data = x;
        req->idx++;
        rc = ufrpc_stream_write(x->lower, &c->req, &c->buf, 1, chunk_cb);
        if (rc < 0) {
            c->busy = 0;
            c->owner = NULL;
            req->idx--;
            x->werr = rc;
            break;
        }
    }
    if (x->werr != 0)
        arm_kick(x);
    maybe_shutdown(x);
}

static int completable(const struct xa *x)
{
    return x->head != NULL && x->head->off == 1 && x->head->idx == 0;
}

static struct ufrpc_stream_write *pop_head(struct xa *x)
{
    struct ufrpc_stream_write *req = x->head;
    x->head = req->next;
    if (x->head == NULL)
        x->tail = NULL;
    x->queued -= req->len;
    return req;
}

/* Completes, in order, the requests whose records have all been written. */
static void sweep(struct xa *x)
{
    while (!x->s.closing && completable(x)) {
        struct ufrpc_stream_write *req = pop_head(x);
        req->cb(req, 0);
    }
}

/* After a write error: every pending request fails with it, in order. */
static void fail_all(struct xa *x, int err)
{
    x->enc = NULL;
    for (unsigned i = 0; i < UFRPC_XFORM_AEAD_INFLIGHT; i++)
        x->chunks[i].owner = NULL;
    while (!x->s.closing && x->head != NULL) {
        struct ufrpc_stream_write *req = pop_head(x);
        req->cb(req, err);
    }
}

static void chunk_cb(struct ufrpc_stream_write *w, int status)
{
    struct chunk *c = (struct chunk *)(void *)((char *)w - offsetof(struct chunk, req));
    struct xa *x = w->data;
    c->busy = 0;
    if (c->owner != NULL)
        c->owner->idx--;
    c->owner = NULL;
    if (x->s.closing)
        return;
    if (status < 0 && x->werr == 0)
        x->werr = status;
    if (x->werr != 0) {
        fail_all(x, x->werr);
        maybe_shutdown(x);
        return;
    }
    sweep(x);
    if (!x->s.closing)
        pump(x);
}

static void lower_shut_cb(struct ufrpc_stream *lower, int status)
{
    struct xa *x = lower->data;
    if (x->shut_done)
        return;
    x->shut_done = 1;
    if (x->s.shutdown_cb != NULL)
        x->s.shutdown_cb(&x->s, status);
}

static void maybe_shutdown(struct xa *x)
{
    if (!x->shut_req || x->shut_sent || x->s.closing)
        return;
    if (x->werr != 0) {
        x->shut_sent = 1;
        x->shut_pending = 1;
        x->shut_status = x->werr;
        arm_kick(x);
        return;
    }
    if (x->enc != NULL)
        return;
    x->shut_sent = 1;
    int rc = ufrpc_stream_shutdown(x->lower, lower_shut_cb);
    if (rc < 0) {
        x->shut_pending = 1;
        x->shut_status = rc;
        arm_kick(x);
    }
}

static int xa_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct xa *x = (struct xa *)s;
    if (x->werr != 0)
        return x->werr;
    if (x->shut_req)
        return UFRPC_ERR_STATE;
    req->idx = 0;
    req->off = 0;
    if (x->tail != NULL)
        x->tail->next = req;
    else
        x->head = req;
    x->tail = req;
    x->queued += req->len;
    if (x->enc == NULL) {
        x->enc = req;
        x->enc_idx = 0;
        x->enc_off = 0;
        x->enc_done = 0;
    }
    pump(x);
    if (completable(x))
        arm_kick(x); /* e.g. an empty request: complete it from the loop */
    return 0;
}

static size_t xa_queued(const struct ufrpc_stream *s)
{
    return ((const struct xa *)s)->queued;
}

static int xa_shutdown(struct ufrpc_stream *s)
{
    struct xa *x = (struct xa *)s;
    x->shut_req = 1;
    maybe_shutdown(x);
    return 0;
}

/* ---- read side ------------------------------------------------------------------- */

static void lower_read_cb(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len);

static int lower_start(struct xa *x)
{
    if (x->lower_reading || x->ended)
        return 0;
    int rc = ufrpc_stream_read_start(x->lower, lower_read_cb);
    if (rc == 0)
        x->lower_reading = 1;
    return rc;
}

static void lower_pause(struct xa *x)
{
    if (x->lower_reading) {
        ufrpc_stream_read_stop(x->lower);
        x->lower_reading = 0;
    }
}

static int save_left(struct xa *x, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    if ((x->left = ufrpc_rbuf_hold(buf, &data, len)) == NULL)
        return UFRPC_ERR_NOMEM;
    x->left_data = data;
    x->left_len = len;
    return 0;
}

static void deliver_end(struct xa *x, int status)
{
    x->ended = 1;
    x->reading = 0;
    lower_pause(x);
    x->s.read_cb(&x->s, status, NULL, NULL, 0);
}

/* Decrypts and delivers input until it is used up or the consumer pauses. */
static void process(struct xa *x, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    while (len > 0 && !x->s.closing && !x->ended) {
        if (!x->reading) {
            lower_pause(x);
            if (save_left(x, buf, data, len) != 0)
                x->ended = 1; /* reported at the next read_start */
            return;
        }
        size_t used = 0, plain_len = 0;
        const uint8_t *plain = NULL;
        int rc = ufrpc_aead_reader_feed(&x->r, data, len, &used, &plain, &plain_len);
        data += used;
        len -= used;
        if (rc < 0) {
            deliver_end(x, rc);
            return;
        }
        if (plain_len == 0)
            continue;
        if (x->out != NULL && x->out->refs != 1) {
            ufrpc_rbuf_unref(x->out);
            x->out = NULL;
        }
        if (x->out == NULL && (x->out = ufrpc_rbuf_new(OUT_BUF)) == NULL) {
            deliver_end(x, UFRPC_ERR_NOMEM);
            return;
        }
        memcpy(x->out->base, plain, plain_len);
        x->s.read_cb(&x->s, 0, x->out, x->out->base, plain_len);
    }
}

static void lower_read_cb(struct ufrpc_stream *lower, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct xa *x = lower->data;
    if (x->s.closing || x->ended)
        return;
    if (status < 0) {
        x->lower_reading = 0;
        if (status == UFRPC_ERR_EOF) {
            int rc = ufrpc_aead_reader_finish(&x->r);
            if (rc != 0)
                status = rc;
        }
        deliver_end(x, status);
        return;
    }
    process(x, buf, data, len);
}

static int xa_read_start(struct ufrpc_stream *s)
{
    struct xa *x = (struct xa *)s;
    if (x->ended)
        return UFRPC_ERR_STATE;
    x->reading = 1;
    if (x->left_len > 0) {
        arm_kick(x);
        return 0;
    }
    return lower_start(x);
}

static int xa_read_stop(struct ufrpc_stream *s)
{
    struct xa *x = (struct xa *)s;
    x->reading = 0;
    lower_pause(x);
    return 0;
}

static void kick_cb(uv_timer_t *t)
{
    struct xa *x = t->data;
    x->kick_armed = 0;
    if (x->s.closing)
        return;
    if (x->werr != 0)
        fail_all(x, x->werr);
    else
        sweep(x);
    if (x->s.closing)
        return;
    if (x->shut_pending && !x->shut_done) {
        x->shut_pending = 0;
        x->shut_done = 1;
        if (x->s.shutdown_cb != NULL)
            x->s.shutdown_cb(&x->s, x->shut_status);
        if (x->s.closing)
            return;
    }
    if (x->reading && x->left_len > 0) {
        ufrpc_rbuf_t *b = x->left;
        const uint8_t *d = x->left_data;
        size_t n = x->left_len;
        x->left = NULL;
        x->left_data = NULL;
        x->left_len = 0;
        process(x, b, d, n);
        ufrpc_rbuf_unref(b);
    }
    if (!x->s.closing && x->reading && x->left_len == 0 && !x->ended) {
        int rc = lower_start(x);
        if (rc < 0)
            deliver_end(x, rc);
    }
}

/* ---- close ------------------------------------------------------------------------ */

static void xa_free(struct xa *x)
{
    ufrpc_aead_writer_free(&x->w);
    ufrpc_aead_reader_free(&x->r);
    for (unsigned i = 0; i < UFRPC_XFORM_AEAD_INFLIGHT; i++)
        free(x->chunks[i].mem);
    free(x->stage);
    ufrpc_rbuf_unref(x->out);
    ufrpc_rbuf_unref(x->left);
    free(x);
}

static void one_closed(struct xa *x)
{
    if (--x->closes_pending > 0)
        return;
    if (x->s.close_cb != NULL)
        x->s.close_cb(&x->s);
    xa_free(x);
}

static void kick_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

static void lower_closed(struct ufrpc_stream *lower)
{
    struct xa *x = lower->data;
    /* every lower callback has run: cancel what is left above, in order */
    x->enc = NULL;
    while (x->head != NULL) {
        struct ufrpc_stream_write *req = pop_head(x);
        req->cb(req, UFRPC_ERR_CANCELED);
    }
    if (x->shut_req && !x->shut_done) {
        x->shut_done = 1;
        if (x->s.shutdown_cb != NULL)
            x->s.shutdown_cb(&x->s, UFRPC_ERR_CANCELED);
    }
    one_closed(x);
}

static void xa_close(struct ufrpc_stream *s)
{
    struct xa *x = (struct xa *)s;
    x->closes_pending = 2;
    /* drop the kept lower buffer while the lower stream still exists (a yamux
     * buffer's release touches its stream) */
    ufrpc_rbuf_unref(x->left);
    x->left = NULL;
    x->left_data = NULL;
    x->left_len = 0;
    uv_timer_stop(&x->kick);
    uv_close((uv_handle_t *)&x->kick, kick_closed);
    ufrpc_stream_close(x->lower, lower_closed);
}

static const struct ufrpc_stream_vt xa_vt = {
    .read_start = xa_read_start,
    .read_stop = xa_read_stop,
    .write = xa_write,
    .queued = xa_queued,
    .shutdown = xa_shutdown,
    .close = xa_close,
    .unread = NULL,
};

struct ufrpc_stream *ufrpc_xform_aead_new(struct ufrpc_stream *lower,
                                          const struct ufrpc_xform_aead_opts *o, int *err)
{
    int dummy;
    if (err == NULL)
        err = &dummy;
    *err = UFRPC_ERR_INVAL;
    if (lower == NULL)
        return NULL;
    struct xa *x = NULL;
    if (o == NULL || o->write_key == NULL || o->read_key == NULL ||
        (o->write_nonce == NULL && o->rng == NULL) || ufrpc_aead_nonce_len(o->alg) == 0 ||
        (o->initial == NULL && o->initial_len > 0))
        goto fail;
    x = calloc(1, sizeof *x);
    if (x == NULL) {
        *err = UFRPC_ERR_NOMEM;
        goto fail;
    }
    int rc = o->write_nonce != NULL
                 ? ufrpc_aead_writer_init(&x->w, o->alg, o->write_key, o->write_nonce)
                 : ufrpc_aead_writer_init_rng(&x->w, o->alg, o->write_key, o->rng, o->rng_ctx);
    if (rc != 0) {
        *err = rc;
        free(x);
        x = NULL;
        goto fail;
    }
    rc = ufrpc_aead_reader_init(&x->r, o->alg, o->read_key);
    if (rc == 0 && o->initial_len > 0)
        rc = save_left(x, NULL, o->initial, o->initial_len);
    if (rc == 0)
        rc = uv_timer_init(lower->loop, &x->kick) == 0 ? 0 : UFRPC_ERR_NOMEM;
    if (rc != 0) {
        *err = rc;
        ufrpc_aead_writer_free(&x->w);
        ufrpc_aead_reader_free(&x->r); /* safe after a failed init: zeroed */
        ufrpc_rbuf_unref(x->left);
        free(x);
        x = NULL;
        goto fail;
    }
    x->kick.data = x;
    x->s.vt = &xa_vt;
    x->s.loop = lower->loop;
    x->lower = lower;
    ufrpc_stream_read_stop(lower);
    lower->data = x;
    *err = 0;
    return &x->s;
fail:
    ufrpc_stream_close(lower, NULL);
    return NULL;
}

struct ufrpc_stream *ufrpc_xform_aead_client(struct ufrpc_stream *lower,
                                             const struct ufrpc_v2hs *hs,
                                             int (*rng)(void *, unsigned char *, size_t),
                                             void *rng_ctx, const uint8_t *initial,
                                             size_t initial_len, int *err)
{
    ufrpc_aead_alg_t alg;
    uint8_t k_c2s[UFRPC_AEAD_KEY_LEN], k_s2c[UFRPC_AEAD_KEY_LEN];
    if (hs == NULL || ufrpc_v2hs_state(hs) != UFRPC_V2HS_DONE ||
        ufrpc_v2hs_keys(hs, &alg, NULL, k_c2s, k_s2c) != 0) {
        if (err != NULL)
            *err = UFRPC_ERR_STATE;
        if (lower != NULL)
            ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    struct ufrpc_xform_aead_opts o = {
        .alg = alg,
        .write_key = k_c2s,
        .read_key = k_s2c,
        .rng = rng,
        .rng_ctx = rng_ctx,
        .initial = initial,
        .initial_len = initial_len,
    };
    struct ufrpc_stream *s = ufrpc_xform_aead_new(lower, &o, err);
    mbedtls_platform_zeroize(k_c2s, sizeof k_c2s);
    mbedtls_platform_zeroize(k_s2c, sizeof k_s2c);
    return s;
}
