/* ufrpc — WebSocket stream over a ufrpc_stream (see ws.h). */
#include "net/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/layer.h"
#include "net/xform_crypt.h"
#include "proto/error.h"
#include "proto/ws.h"

/* Payload per frame written; a chunk holds one frame. */
#define FRAME_MAX (64u * 1024u)
#define CHUNK_CAP (FRAME_MAX + UFRPC_WS_MAX_FRAME_HEADER)
/* Frames smaller than this get a chunk of their own size instead of a pool one. */
#define SMALL_FRAME 4096u
#define MAX_PONGS 8u
#define RAND_POOL 256u
/* How long a shutdown waits for the peer's close frame (see maybe_shutdown_done). */
#define SHUTDOWN_WAIT_MS 5000u

enum { ST_HANDSHAKE, ST_OPEN, ST_DEAD };

enum fail_kind {
    FAIL_NONE = 0,
    FAIL_HEAD,    /* the answer/request head was refused: info */
    FAIL_EOF,     /* the lower stream ended before the head was complete */
    FAIL_LOWER,   /* the lower stream failed: code */
    FAIL_TIMEOUT,
    FAIL_FRAME,   /* a frame error after the handshake: code */
};

struct chunk { /* lives in the bytes of its rbuf */
    ufrpc_rbuf_t *rb;
    struct ufrpc_stream_write wr;
    struct ws *w;
    uv_buf_t b;
    size_t len;
    int pong;
    struct ufrpc_stream_write *user; /* completes with this chunk, or NULL */
    uint8_t data[];
};

struct ws {
    struct ufrpc_stream s; /* first: the public face */
    struct ufrpc_layer layer; /* the lower stream, reading it, closing */
    int server;
    int state;
    uv_timer_t timer;
    uv_idle_t idle;
    uint32_t timeout_ms;
    ufrpc_ws_handshake_cb hs_cb;
    /* handshake */
    char key[UFRPC_WS_KEY_LEN + 1]; /* client: the key sent */
    char *hs_out;                   /* the request / answer being written */
    uv_buf_t hs_buf;
    struct ufrpc_stream_write hs_req;
    int hs_writing;
    uint8_t *head; /* UFRPC_WS_MAX_HEAD bytes: the head received so far */
    size_t head_len;
    struct ufrpc_ws_hs_info info;
    /* input */
    struct ufrpc_ws_decoder dec;
    ufrpc_rbuf_t *in_buf; /* frames received, not yet decoded (a reference) */
    const uint8_t *in_data;
    size_t in_len;
    int lower_status; /* 0 while the lower stream can still deliver */
    int reading;
    int end_status; /* EOF/error waiting to be delivered */
    int ended;
    /* a data slice decoded while the owner was not reading (after shutdown, when
     * control frames are drained): points into in_buf, delivered first */
    struct ufrpc_ws_event pend;
    size_t pend_len;
    ufrpc_rbuf_pool_t *rpool; /* unmasked copies (server role) */
    /* output */
    ufrpc_rbuf_pool_t *cpool;
    size_t out_queued;
    int out_err;
    int shut;
    int shut_lower_done; /* the lower stream's shutdown completed */
    int shut_status;
    int shut_reported;   /* the owner's shutdown callback ran */
    int shut_timeout;    /* stop waiting for the peer's close */
    int close_sent;
    unsigned pongs;
    uint8_t rnd[RAND_POOL];
    unsigned rnd_off;
    /* failure */
    enum fail_kind fail;
    int fail_code;
};

static const struct ufrpc_stream_vt ws_vt;

static int random_bytes(struct ws *w, uint8_t *out, unsigned n)
{
    if (w->rnd_off + n > RAND_POOL) {
        if (ufrpc_xform_getrandom(NULL, w->rnd, RAND_POOL) != 0)
            return UFRPC_ERR_CRYPTO;
        w->rnd_off = 0;
    }
    memcpy(out, w->rnd + w->rnd_off, n);
    w->rnd_off += n;
    return 0;
}

/* ---- output ------------------------------------------------------------------------ */
static void on_chunk_written(struct ufrpc_stream_write *wr, int status)
{
    struct chunk *c = wr->data;
    struct ws *w = c->w;
    struct ufrpc_stream_write *u = c->user;
    w->out_queued -= c->len;
    if (c->pong)
        w->pongs--;
    if (status < 0 && w->out_err == 0)
        w->out_err = status;
    ufrpc_rbuf_unref(c->rb);
    if (u != NULL)
        u->cb(u, status);
}

static struct chunk *chunk_get(struct ws *w, size_t need)
{
    ufrpc_rbuf_t *rb = need <= SMALL_FRAME ? ufrpc_rbuf_new(sizeof(struct chunk) + need)
                                           : ufrpc_rbuf_pool_get(w->cpool);
    if (rb == NULL)
        return NULL;
    struct chunk *c = (struct chunk *)rb->base;
    memset(c, 0, sizeof *c);
    c->rb = rb;
    c->w = w;
    return c;
}

static int chunk_send(struct ws *w, struct chunk *c)
{
    c->b = uv_buf_init((char *)c->data, (unsigned)c->len);
    c->wr.data = c;
    int rc = ufrpc_stream_write(w->layer.lower, &c->wr, &c->b, 1, on_chunk_written);
    if (rc < 0) {
        ufrpc_rbuf_unref(c->rb);
        if (w->out_err == 0)
            w->out_err = rc;
        return rc;
    }
    w->out_queued += c->len;
    if (c->pong)
        w->pongs++;
    return 0;
}

/* Starts a frame of n payload bytes in a new chunk: header written, c->len set to
 * it. *mask gets the key (client) for the caller to mask with. */
static struct chunk *frame_start(struct ws *w, unsigned op, size_t n, uint8_t mask[4], int *err)
{
    struct chunk *c = chunk_get(w, UFRPC_WS_MAX_FRAME_HEADER + n);
    if (c == NULL) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    if (!w->server && (*err = random_bytes(w, mask, 4)) < 0) {
        ufrpc_rbuf_unref(c->rb);
        return NULL;
    }
    c->len = ufrpc_ws_frame_header(c->data, op, true, n, w->server ? NULL : mask);
    return c;
}

static void frame_payload(struct ws *w, struct chunk *c, const uint8_t *p, size_t n,
                          const uint8_t mask[4], uint64_t phase)
{
    if (w->server)
        memcpy(c->data + c->len, p, n);
    else
        ufrpc_ws_mask(c->data + c->len, p, n, mask, phase);
    c->len += n;
}

/* A control frame (close, pong) with payload p[0..n), n <= 125. */
static int send_control(struct ws *w, unsigned op, const uint8_t *p, size_t n)
{
    uint8_t mask[4];
    int err = 0;
    struct chunk *c = frame_start(w, op, n, mask, &err);
    if (c == NULL)
        return err;
    frame_payload(w, c, p, n, mask, 0);
    c->pong = op == UFRPC_WS_OP_PONG;
    return chunk_send(w, c);
}

static int send_close(struct ws *w, unsigned code)
{
    if (w->close_sent)
        return 0;
    w->close_sent = 1;
    uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    return send_control(w, UFRPC_WS_OP_CLOSE, b, 2);
}

static int ws_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct ws *w = (struct ws *)s;
    if (w->state != ST_OPEN || w->shut || w->close_sent)
        return UFRPC_ERR_STATE;
    if (w->out_err != 0)
        return w->out_err;
    if (req->len == 0)
        return UFRPC_ERR_INVAL;
    size_t left = req->len;
    unsigned idx = 0;
    size_t off = 0;
    while (left > 0) {
        size_t n = left < FRAME_MAX ? left : FRAME_MAX;
        uint8_t mask[4];
        int err = 0;
        struct chunk *c = frame_start(w, UFRPC_WS_OP_BINARY, n, mask, &err);
        if (c == NULL) {
            if (w->out_err == 0 && req->len != left)
                w->out_err = err; /* part of the request went out: the stream is broken */
            return err;
        }
        size_t done = 0;
        while (done < n) {
            const uv_buf_t *b = &req->bufs[idx];
            size_t k = b->len - off;
            if (k > n - done)
                k = n - done;
            frame_payload(w, c, (const uint8_t *)b->base + off, k, mask, done);
            done += k;
            off += k;
            if (off == b->len) {
                idx++;
                off = 0;
            }
        }
        left -= n;
        if (left == 0)
            c->user = req;
        int rc = chunk_send(w, c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void on_idle(uv_idle_t *i);
static void on_timer(uv_timer_t *tm);
static void update_lower_reading(struct ws *w);

static size_t ws_queued(const struct ufrpc_stream *s)
{
    return ((const struct ws *)s)->out_queued;
}

/* The owner's shutdown completes with the close handshake: our close frame is
 * written (the lower shutdown is done) and the peer's close frame, the lower
 * EOF or an error came in (or SHUTDOWN_WAIT_MS passed). Until then the lower
 * stream is read (drained), so that the owner, who typically closes the stream
 * right after, never closes a socket with the peer's close frame unread in it:
 * that resets the connection and destroys data still in flight to the peer. */
static void maybe_shutdown_done(struct ws *w)
{
    if (!w->shut || w->shut_reported || !w->shut_lower_done)
        return;
    if (!w->dec.closed && w->lower_status == 0 && w->end_status == 0 && !w->shut_timeout)
        return;
    w->shut_reported = 1;
    uv_timer_stop(&w->timer);
    w->s.shutdown_cb(&w->s, w->shut_status);
}

static void on_lower_shutdown(struct ufrpc_stream *l, int status)
{
    struct ws *w = (struct ws *)ufrpc_layer_up(l);
    w->shut_lower_done = 1;
    w->shut_status = status;
    if (status < 0) /* nothing to wait for */
        w->shut_timeout = 1;
    maybe_shutdown_done(w);
}

static int ws_shutdown(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    if (w->state != ST_OPEN || w->shut)
        return UFRPC_ERR_STATE;
    w->shut = 1;
    int rc = send_close(w, UFRPC_WS_CLOSE_NORMAL);
    if (rc < 0)
        return rc;
    rc = ufrpc_stream_shutdown(w->layer.lower, on_lower_shutdown);
    if (rc == 0) {
        uv_timer_start(&w->timer, on_timer, SHUTDOWN_WAIT_MS, 0);
        /* drain: the lower stream is read from now on; frames already buffered
         * are decoded from the loop (no read callback from in here) */
        update_lower_reading(w);
        if (w->in_len > 0)
            uv_idle_start(&w->idle, on_idle);
    }
    return rc;
}

/* ---- input ------------------------------------------------------------------------- */
static void on_lower_read(struct ufrpc_stream *l, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len);

static void update_lower_reading(struct ws *w)
{
    if (w->s.closing || w->state == ST_DEAD)
        return;
    /* After our close frame the lower stream is read even when the owner does not
     * read: control frames and the peer's close are consumed (data stops it), and
     * what follows the close is discarded up to the lower EOF. Closing a TCP socket
     * with unread bytes in it resets the connection, which can destroy data the
     * peer has not read yet. */
    int want = w->lower_status == 0 && w->in_len == 0 && w->pend_len == 0 &&
               (w->state == ST_HANDSHAKE || (w->reading && !w->ended && w->end_status == 0) ||
                (w->state == ST_OPEN && w->shut));
    int rc = ufrpc_layer_read(&w->layer, want, on_lower_read);
    if (rc < 0)
        w->lower_status = rc;
}

static void drop_input(struct ws *w)
{
    w->in_data = NULL;
    w->in_len = 0;
    w->pend_len = 0;
    ufrpc_rbuf_unref(w->in_buf);
    w->in_buf = NULL;
}

static void frame_error(struct ws *w, int err)
{
    w->end_status = err;
    if (w->fail == FAIL_NONE) {
        w->fail = FAIL_FRAME;
        w->fail_code = err;
    }
    if (!w->shut)
        send_close(w, UFRPC_WS_CLOSE_PROTOCOL); /* best effort */
    drop_input(w);
}

/* Delivers a data slice (unmasked into a copy in the server role). */
static void deliver_data(struct ws *w, const struct ufrpc_ws_event *ev)
{
    if (!ev->masked) {
        w->s.read_cb(&w->s, 0, w->in_buf, ev->data, ev->len);
        return;
    }
    ufrpc_rbuf_t *rb = ev->len <= UFRPC_READ_BUF_SIZE ? ufrpc_rbuf_pool_get(w->rpool)
                                                      : ufrpc_rbuf_new(ev->len);
    if (rb == NULL) {
        w->end_status = UFRPC_ERR_NOMEM;
        drop_input(w);
        return;
    }
    ufrpc_ws_mask(rb->base, ev->data, ev->len, ev->mask, ev->phase);
    w->s.read_cb(&w->s, 0, rb, rb->base, ev->len);
    ufrpc_rbuf_unref(rb);
}

/* Decodes and delivers while the owner reads; after shutdown also consumes
 * control frames while the owner does not (a data slice then waits in pend). */
static void pump_in(struct ws *w)
{
    while (!w->s.closing && !w->ended && w->state == ST_OPEN) {
        if (w->pend_len > 0) {
            if (!w->reading)
                break;
            struct ufrpc_ws_event ev = w->pend;
            w->pend_len = 0;
            deliver_data(w, &ev);
            continue;
        }
        if (w->end_status == 0 && w->in_len == 0 && w->lower_status < 0)
            w->end_status = w->lower_status;
        if (w->end_status != 0) {
            if (!w->reading)
                break;
            w->ended = 1;
            w->reading = 0;
            w->s.read_cb(&w->s, w->end_status, NULL, NULL, 0);
            return;
        }
        if (w->in_len == 0 || (!w->reading && !w->shut))
            break;
        size_t used = 0;
        struct ufrpc_ws_event ev;
        int rc = ufrpc_ws_decode(&w->dec, w->in_data, w->in_len, &used, &ev);
        w->in_data += used;
        w->in_len -= used;
        if (rc == UFRPC_ERR_AGAIN)
            continue;
        if (rc == UFRPC_ERR_EOF) {
            w->end_status = UFRPC_ERR_EOF;
            drop_input(w);
            continue;
        }
        if (rc < 0) {
            frame_error(w, rc);
            continue;
        }
        switch (ev.type) {
        case UFRPC_WS_EV_DATA:
            if (!w->reading) {
                w->pend = ev;
                w->pend_len = ev.len;
            } else {
                deliver_data(w, &ev);
            }
            break;
        case UFRPC_WS_EV_PING:
            if (w->pongs < MAX_PONGS && !w->close_sent)
                send_control(w, UFRPC_WS_OP_PONG, ev.data, ev.len);
            break;
        case UFRPC_WS_EV_PONG:
            break;
        case UFRPC_WS_EV_CLOSE:
            w->end_status = UFRPC_ERR_EOF;
            drop_input(w);
            break;
        }
    }
    if (w->in_len == 0 && w->pend_len == 0 && w->in_buf != NULL) {
        ufrpc_rbuf_unref(w->in_buf);
        w->in_buf = NULL;
    }
}

static void hs_finish(struct ws *w, int status)
{
    uv_timer_stop(&w->timer);
    free(w->head);
    w->head = NULL;
    if (status < 0) {
        w->state = ST_DEAD;
        drop_input(w);
        ufrpc_layer_read(&w->layer, 0, NULL);
    } else {
        w->state = ST_OPEN;
        update_lower_reading(w);
    }
    w->hs_cb(&w->s, status);
}

static void hs_fail(struct ws *w, enum fail_kind kind, int code)
{
    w->fail = kind;
    w->fail_code = code;
    hs_finish(w, code);
}

static void on_hs_written(struct ufrpc_stream_write *wr, int status)
{
    struct ws *w = wr->data;
    w->hs_writing = 0;
    free(w->hs_out);
    w->hs_out = NULL;
    if (status < 0 && w->out_err == 0)
        w->out_err = status;
}

static int send_head(struct ws *w, char *text, size_t len)
{
    w->hs_out = text;
    w->hs_buf = uv_buf_init(text, (unsigned)len);
    w->hs_req.data = w;
    int rc = ufrpc_stream_write(w->layer.lower, &w->hs_req, &w->hs_buf, 1, on_hs_written);
    if (rc < 0) {
        free(text);
        w->hs_out = NULL;
        return rc;
    }
    w->hs_writing = 1;
    return 0;
}

/* Server: answers the parsed request. 0 or <0. */
static int server_answer(struct ws *w, int parse_rc)
{
    char *text = malloc(512);
    if (text == NULL)
        return UFRPC_ERR_NOMEM;
    size_t n = 0;
    int rc = parse_rc;
    if (rc == 0)
        rc = ufrpc_ws_build_response(w->info.key, text, 512, &n);
    if (rc < 0) {
        n = (size_t)snprintf(text, 512, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        send_head(w, text, n); /* best effort */
        return rc;
    }
    return send_head(w, text, n);
}

/* Handshake bytes arrived: data[0..len) of buf. */
static void hs_input(struct ws *w, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len)
{
    size_t room = UFRPC_WS_MAX_HEAD - w->head_len;
    size_t take = len < room ? len : room;
    size_t prev = w->head_len;
    memcpy(w->head + w->head_len, data, take);
    w->head_len += take;
    int rc = w->server ? ufrpc_ws_parse_request(w->head, w->head_len, &w->info)
                       : ufrpc_ws_check_response(w->head, w->head_len, w->key, &w->info);
    if (rc == UFRPC_ERR_AGAIN)
        return;
    if (w->server) {
        int arc = server_answer(w, rc);
        if (rc == 0 && arc < 0) {
            hs_fail(w, FAIL_LOWER, arc);
            return;
        }
    }
    if (rc < 0) {
        hs_fail(w, FAIL_HEAD, rc);
        return;
    }
    size_t used = w->info.head_len - prev; /* of this delivery */
    if (used < len) {
        ufrpc_rbuf_ref(buf);
        w->in_buf = buf;
        w->in_data = data + used;
        w->in_len = len - used;
    }
    hs_finish(w, 0);
}

static void on_lower_read(struct ufrpc_stream *l, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct ws *w = (struct ws *)ufrpc_layer_up(l);
    if (status < 0) {
        w->layer.lower_reading = 0;
        w->lower_status = status;
        if (w->state == ST_HANDSHAKE) {
            hs_fail(w, status == UFRPC_ERR_EOF ? FAIL_EOF : FAIL_LOWER,
                    status == UFRPC_ERR_EOF ? UFRPC_ERR_WS_HANDSHAKE : status);
            return;
        }
        pump_in(w);
        maybe_shutdown_done(w);
        return;
    }
    if (w->state == ST_HANDSHAKE) {
        hs_input(w, buf, data, len);
        return;
    }
    if (w->state != ST_OPEN || len == 0)
        return;
    if (w->end_status != 0) /* after the close (or an error): drained, discarded */
        return;
    ufrpc_rbuf_unref(w->in_buf);
    ufrpc_rbuf_ref(buf);
    w->in_buf = buf;
    w->in_data = data;
    w->in_len = len;
    pump_in(w);
    update_lower_reading(w);
    maybe_shutdown_done(w);
}

static void on_idle(uv_idle_t *i)
{
    struct ws *w = i->data;
    uv_idle_stop(i);
    if (w->s.closing)
        return;
    if (w->state == ST_HANDSHAKE) {
        if (w->out_err != 0) {
            hs_fail(w, FAIL_LOWER, w->out_err);
            return;
        }
        update_lower_reading(w);
        if (w->lower_status < 0)
            hs_fail(w, FAIL_LOWER, w->lower_status);
        return;
    }
    if (w->state != ST_OPEN)
        return;
    pump_in(w);
    update_lower_reading(w);
    maybe_shutdown_done(w);
}

static void on_timer(uv_timer_t *tm)
{
    struct ws *w = tm->data;
    if (w->state == ST_HANDSHAKE) {
        hs_fail(w, FAIL_TIMEOUT, UFRPC_ERR_TIMEOUT);
    } else if (w->shut) {
        w->shut_timeout = 1;
        maybe_shutdown_done(w);
    }
}

static int ws_read_start(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    if (w->state != ST_OPEN || w->ended)
        return UFRPC_ERR_STATE;
    if (w->reading)
        return 0;
    w->reading = 1;
    /* buffered frames or a pending end are delivered from the loop */
    uv_idle_start(&w->idle, on_idle);
    return 0;
}

static int ws_read_stop(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    w->reading = 0;
    if (!w->shut || w->in_len == 0) /* (after shutdown the idle may be draining) */
        uv_idle_stop(&w->idle);
    if (w->state == ST_OPEN)
        update_lower_reading(w);
    return 0;
}

static void ws_lower_closed(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    if (w->shut && !w->shut_reported) { /* closed while waiting for the peer's close */
        w->shut_reported = 1;
        w->s.shutdown_cb(&w->s, UFRPC_ERR_CANCELED);
    }
}

static void ws_destroy(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    ufrpc_rbuf_unref(w->in_buf);
    ufrpc_rbuf_pool_free(w->rpool);
    ufrpc_rbuf_pool_free(w->cpool);
    free(w->head);
    free(w->hs_out);
    free(w);
}

static void ws_close(struct ufrpc_stream *s)
{
    struct ws *w = (struct ws *)s;
    w->state = ST_DEAD;
    w->reading = 0;
    uv_handle_t *const hs[] = {(uv_handle_t *)&w->timer, (uv_handle_t *)&w->idle};
    ufrpc_layer_close(&w->layer, hs, 2);
}

/* Deliveries are slices of the lower stream's buffers (client) or copies from our
 * own pool (server): the hint goes to whichever holds them. */
static int ws_set_read_pool(struct ufrpc_stream *s, unsigned max_free)
{
    struct ws *w = (struct ws *)s;
    if (w->rpool != NULL)
        ufrpc_rbuf_pool_set_max_free(w->rpool, max_free);
    int rc = ufrpc_stream_set_read_pool(w->layer.lower, max_free);
    return w->rpool != NULL ? 0 : rc;
}

static const struct ufrpc_stream_vt ws_vt = {
    .read_start = ws_read_start,
    .read_stop = ws_read_stop,
    .write = ws_write,
    .queued = ws_queued,
    .shutdown = ws_shutdown,
    .close = ws_close,
    .unread = NULL,
    .set_read_pool = ws_set_read_pool,
};

/* ---- construction ------------------------------------------------------------------- */
static struct ws *ws_new(struct ufrpc_stream *lower, int server, uint32_t timeout_ms,
                         uint64_t max_payload, ufrpc_ws_handshake_cb cb, void *data, int *err)
{
    struct ws *w = calloc(1, sizeof *w);
    if (w != NULL) {
        w->head = malloc(UFRPC_WS_MAX_HEAD);
        w->cpool = ufrpc_rbuf_pool_new(sizeof(struct chunk) + CHUNK_CAP, UFRPC_READ_POOL_FREE);
        if (server)
            w->rpool = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, UFRPC_READ_POOL_FREE);
    }
    if (w == NULL || w->head == NULL || w->cpool == NULL || (server && w->rpool == NULL)) {
        if (w != NULL) {
            free(w->head);
            ufrpc_rbuf_pool_free(w->cpool);
            ufrpc_rbuf_pool_free(w->rpool);
            free(w);
        }
        *err = UFRPC_ERR_NOMEM;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    w->server = server;
    w->rnd_off = RAND_POOL; /* empty: filled on first use */
    ufrpc_layer_init(&w->layer, &w->s, &ws_vt, data, lower, ws_lower_closed, ws_destroy);
    w->hs_cb = cb;
    w->timeout_ms = timeout_ms ? timeout_ms : 10000;
    ufrpc_ws_decoder_init(&w->dec, server != 0, max_payload);
    uv_timer_init(lower->loop, &w->timer);
    uv_idle_init(lower->loop, &w->idle);
    w->timer.data = w;
    w->idle.data = w;
    *err = 0;
    return w;
}

static void ws_start(struct ws *w)
{
    uv_timer_start(&w->timer, on_timer, w->timeout_ms, 0);
    /* reading starts from the loop, so that cb never runs from the constructor */
    uv_idle_start(&w->idle, on_idle);
}

struct ufrpc_stream *ufrpc_ws_client_new(struct ufrpc_stream *lower,
                                         const struct ufrpc_ws_client_opts *o,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err)
{
    if (o == NULL || o->host == NULL || o->host[0] == '\0') {
        *err = UFRPC_ERR_INVAL;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    struct ws *w = ws_new(lower, 0, o->handshake_timeout_ms, o->max_payload, cb, data, err);
    if (w == NULL)
        return NULL;
    uint8_t nonce[16];
    int rc = random_bytes(w, nonce, sizeof nonce);
    size_t n = 0;
    char *text = NULL;
    if (rc == 0) {
        ufrpc_ws_key(nonce, w->key);
        size_t cap = strlen(o->host) * 2 + 256;
        text = malloc(cap);
        rc = text == NULL ? UFRPC_ERR_NOMEM : ufrpc_ws_build_request(o->host, w->key, text, cap, &n);
    }
    if (rc == 0) {
        rc = send_head(w, text, n);
        if (rc < 0)
            w->out_err = rc; /* reported by the handshake callback */
        rc = 0;
    } else {
        free(text);
    }
    if (rc < 0) {
        *err = rc;
        w->s.close_cb = NULL;
        ws_close(&w->s);
        return NULL;
    }
    ws_start(w);
    return &w->s;
}

struct ufrpc_stream *ufrpc_ws_server_new(struct ufrpc_stream *lower, uint32_t handshake_timeout_ms,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err)
{
    struct ws *w = ws_new(lower, 1, handshake_timeout_ms, 0, cb, data, err);
    if (w == NULL)
        return NULL;
    ws_start(w);
    return &w->s;
}

int ufrpc_ws_is(const struct ufrpc_stream *s)
{
    return s != NULL && s->vt == &ws_vt;
}

int ufrpc_ws_failure_text(const struct ufrpc_stream *s, char *buf, size_t cap)
{
    if (cap == 0)
        return UFRPC_ERR_INVAL;
    buf[0] = '\0';
    if (!ufrpc_ws_is(s))
        return UFRPC_ERR_STATE;
    const struct ws *w = (const struct ws *)s;
    const char *what = w->server ? "request" : "answer";
    switch (w->fail) {
    case FAIL_NONE:
        return UFRPC_ERR_STATE;
    case FAIL_HEAD:
        ufrpc_ws_hs_text(&w->info, buf, cap);
        break;
    case FAIL_EOF:
        if (w->head_len == 0)
            snprintf(buf, cap, "connection closed before the upgrade %s", what);
        else
            snprintf(buf, cap, "connection closed in the middle of the upgrade %s (%zu bytes)",
                     what, w->head_len);
        break;
    case FAIL_LOWER:
        snprintf(buf, cap, "%s", ufrpc_strerror(w->fail_code));
        break;
    case FAIL_TIMEOUT:
        snprintf(buf, cap, "no upgrade %s within %u ms", what, (unsigned)w->timeout_ms);
        break;
    case FAIL_FRAME:
        snprintf(buf, cap, "%s", ufrpc_strerror(w->fail_code));
        break;
    }
    return 0;
}
