/* ufrpc — yamux session glue: transport I/O, timer, yamux streams as ufrpc_streams. */
#include "net/mux.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

/* Payload below this is copied: a pin costs more than the copy. */
#define COPY_BELOW 1024u
/* A copy made while the consumer is not reading has room for at least this much,
 * so that more small payload for the stream is appended to it, not given its own
 * slice. */
#define HELD_COPY_MIN 4096u
/* Transport-buffer memory a stream may pin beyond the payload it references (see
 * slice_new): what a stream holds is at most its window plus this. */
#define PIN_SLACK (256u * 1024u)
/* Returned transport read buffers kept for reuse (2 MiB of 64 KiB buffers): a
 * stream that holds a burst of its window pins many of them at once. */
#define TRANSPORT_POOL_FREE 32u
/* Writes in flight to a transport that copies (see copy_flush). */
#define COPY_WRITES 16u
/* A direct write (direct_write) is whole 16 KiB TLS records' worth: the ring's
 * pending bytes, the frame header and as much of the caller's payload as fills
 * the last record (the transport seals all records but the first straight from
 * the caller's bytes); the rest of the payload goes into the ring. */
#define DIRECT_RECORD 16384u
/* Ring output at least this large goes to a copying transport at once; less waits
 * for the end of the loop iteration (uv_prepare), to ride along with a direct
 * write or be coalesced with other frames: one TLS chunk of four records. */
#define FLUSH_AT (4u * DIRECT_RECORD)

struct mst;

/* One transport buffer as referenced by the slices of one stream from one
 * transport delivery. It holds one reference on the buffer and charges the
 * buffer's whole capacity to the stream (ms->pinned) until its last slice goes. */
struct pin {
    ufrpc_rbuf_t *parent;
    unsigned slices;
};

/* Payload handed to a mux stream's consumer: a slice of a transport buffer
 * (pin != NULL, no copy) or a copy (the bytes follow the struct). */
struct slice {
    ufrpc_rbuf_t rb;       /* rb.base: the payload; rb.cap: memory it keeps alive */
    struct pin *pin;
    struct mst *ms;
    struct slice *next;
    size_t len;            /* payload bytes (consumed from the window on release) */
    size_t room;           /* copies: bytes the struct has room for */
};

struct mst {
    struct ufrpc_stream s;
    ufrpc_mux_t *m;
    ufrpc_yamux_stream_t *ys;
    struct mst *prev, *next;    /* all streams of the mux */
    struct mst *rnext;          /* ready list */
    int in_ready;
    int refs; /* 1 until the close callback + one per live slice + 1 while in_ready */
    int reading, fin, ended, end_status;
    struct slice *held, *held_tail;
    size_t pinned;    /* capacity of the transport buffers pinned by live slices */
    size_t ref_bytes; /* payload of the live slices that reference them */
    struct pin *cur_pin;  /* pin of the current delivery (seq cur_pin_seq), if any */
    uint64_t cur_pin_seq;
    struct ufrpc_stream_write *wq, *wq_tail;     /* not yet fully accepted */
    struct ufrpc_stream_write *done, *done_tail; /* callback pending */
    size_t queued;
    int shut_req, shut_sent, shut_cb_pending, shut_status;
    int close_pending;
    /* ufrpc_stream_notify_writable: run once write room may have opened */
    ufrpc_stream_writable_cb wake_cb;
};

/* A write to a transport that copies: the request lives until its callback. */
struct cwrite {
    struct ufrpc_stream_write w;
    ufrpc_mux_t *m;
    int busy;
};

struct ufrpc_mux {
    uv_loop_t *loop;
    struct ufrpc_stream *tr;
    ufrpc_yamux_session_t *ys;
    struct ufrpc_mux_callbacks cb;
    void *data;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_prepare_t prepare; /* flushes small output to a copying transport */
    struct ufrpc_stream_write wreq;
    uv_buf_t wbufs[2];
    size_t wlen;
    int writing;
    /* tr copies writes (TLS): output leaves the ring when handed over, and the
     * bytes tr still queues are bounded by out_limit instead (copy_flush) */
    int copying;
    size_t out_limit;
    struct cwrite cw[COPY_WRITES];
    int err;
    int closing;
    int tr_closed;
    int freeing;
    int handles;
    int nstreams;
    void (*close_cb)(void *data);
    ufrpc_rbuf_t *cur_rb;
    uint64_t seq; /* transport deliveries so far (names cur_rb for pins) */
    struct ufrpc_mux_stats stats;
    /* Session calls that may run callbacks on the stack; a session closed inside
     * one (by an owner reacting to on_error, say) is freed when the last returns. */
    int in_session;
    ufrpc_yamux_session_t *ys_dead;
    struct mst *all;
    struct mst *ready;
    /* Wakeups of writable-waiters (notify_writable) are limited to what the free
     * output space covers: each wakeup promises the woken stream up to one read
     * buffer's worth; a waiter that finds the space promised stays waiting and
     * is woken again once the promises lapse (the loop's prepare phase: by then
     * the woken ones have had their turn to read), so that a freed share of the
     * ring wakes a few streams, not every blocked one. */
    size_t promised;
    int wake_deferred; /* a waiter stayed waiting: re-run the wakeups at prepare */
};

static const struct ufrpc_stream_vt mst_vt;

static void mux_flush(ufrpc_mux_t *m);
static void mux_maybe_free(ufrpc_mux_t *m);
static void mux_fail(ufrpc_mux_t *m, int err);
static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *h);
static void copy_flush(ufrpc_mux_t *m, int force);
static size_t mst_write_room(const struct ufrpc_stream *s);
static void fire_wake(struct mst *ms);

/* ---- helpers ---------------------------------------------------------------------- */
static ufrpc_yamux_session_t *session_enter(ufrpc_mux_t *m)
{
    m->in_session++;
    return m->ys;
}

static void session_leave(ufrpc_mux_t *m)
{
    if (--m->in_session == 0 && m->ys_dead != NULL) {
        ufrpc_yamux_session_free(m->ys_dead);
        m->ys_dead = NULL;
    }
}

static void arm_timer(ufrpc_mux_t *m)
{
    if (m->ys == NULL || m->closing)
        return;
    uint64_t d = ufrpc_yamux_next_deadline(m->ys);
    if (d == UINT64_MAX) {
        uv_timer_stop(&m->timer);
        return;
    }
    uint64_t now = uv_now(m->loop);
    uv_timer_start(&m->timer, on_timer, d > now ? d - now : 0, 0);
}

static void mark_ready(struct mst *ms)
{
    ufrpc_mux_t *m = ms->m;
    if (!ms->in_ready) {
        /* the list holds a reference: a callback run from on_idle may close the
         * stream and put it back here before on_idle drops its own hold */
        ms->in_ready = 1;
        ms->refs++;
        ms->rnext = m->ready;
        m->ready = ms;
    }
    uv_idle_start(&m->idle, on_idle);
}

/* Drops n references at once (on_idle may drop two: the owner's and the ready
 * list's); the last one frees the stream. */
static void mst_unref_n(struct mst *ms, int n)
{
    ms->refs -= n;
    if (ms->refs > 0)
        return;
    ufrpc_mux_t *m = ms->m;
    if (ms->prev)
        ms->prev->next = ms->next;
    else
        m->all = ms->next;
    if (ms->next)
        ms->next->prev = ms->prev;
    m->nstreams--;
    free(ms);
    mux_maybe_free(m);
}

static void mst_unref(struct mst *ms)
{
    mst_unref_n(ms, 1);
}

/* The consumer (or the held list) dropped the slice: the window reopens for its
 * payload now, not earlier, and the transport buffer goes with its last slice. */
static void slice_release(ufrpc_rbuf_t *rb)
{
    struct slice *sl = (struct slice *)rb;
    struct mst *ms = sl->ms;
    if (ms->ys != NULL) {
        ufrpc_yamux_stream_consume(ms->ys, sl->len);
        mux_flush(ms->m);
    }
    struct pin *pn = sl->pin;
    if (pn != NULL) {
        ms->ref_bytes -= sl->len;
        if (--pn->slices == 0) {
            ms->pinned -= pn->parent->cap;
            if (ms->cur_pin == pn)
                ms->cur_pin = NULL;
            ufrpc_rbuf_unref(pn->parent);
            free(pn);
        }
    }
    free(sl);
    mst_unref(ms);
}

/* The pin for a reference to len bytes of the current transport buffer, or NULL
 * (copy instead): payload below COPY_BELOW, no refcounted buffer, or pinning
 * another whole buffer would let the stream's pinned capacity exceed the payload
 * it references plus PIN_SLACK. That invariant bounds the memory of a stream whose
 * consumer holds its data: pinned <= ref_bytes + PIN_SLACK, so with the copies
 *   pinned + copies <= unconsumed payload + PIN_SLACK <= window + PIN_SLACK,
 * however the peer interleaves streams within transport buffers. */
static struct pin *pin_for(struct mst *ms, size_t len)
{
    ufrpc_mux_t *m = ms->m;
    ufrpc_rbuf_t *parent = m->cur_rb;
    if (parent == NULL || len < COPY_BELOW)
        return NULL;
    if (ms->cur_pin != NULL && ms->cur_pin_seq == m->seq)
        return ms->cur_pin; /* same buffer: already charged */
    if (ms->pinned + parent->cap > ms->ref_bytes + len + PIN_SLACK)
        return NULL;
    struct pin *pn = malloc(sizeof *pn);
    if (pn == NULL)
        return NULL; /* a copy may still work */
    ufrpc_rbuf_ref(parent);
    pn->parent = parent;
    pn->slices = 0;
    ms->pinned += parent->cap;
    ms->cur_pin = pn;
    ms->cur_pin_seq = m->seq;
    return pn;
}

/* A slice for the len bytes at data (inside m->cur_rb when that is set): a
 * reference when pin_for allows, else a copy. held: the slice goes to the held
 * list, so a copy gets room for more (see HELD_COPY_MIN). */
static struct slice *slice_new(struct mst *ms, const uint8_t *data, size_t len, int held)
{
    struct pin *pn = pin_for(ms, len);
    size_t room = 0;
    if (pn == NULL)
        room = held && len < HELD_COPY_MIN ? HELD_COPY_MIN : len;
    struct slice *sl = malloc(sizeof *sl + room);
    if (sl == NULL) {
        if (pn != NULL && pn->slices == 0) { /* new and unused */
            ms->pinned -= pn->parent->cap;
            ms->cur_pin = NULL;
            ufrpc_rbuf_unref(pn->parent);
            free(pn);
        }
        return NULL;
    }
    if (pn != NULL) {
        pn->slices++;
        ms->ref_bytes += len;
        sl->rb.base = (uint8_t *)(uintptr_t)data;
        ms->m->stats.bytes_referenced += len;
    } else {
        sl->rb.base = (uint8_t *)(sl + 1);
        memcpy(sl->rb.base, data, len);
        ms->m->stats.bytes_copied += len;
    }
    sl->pin = pn;
    sl->len = len;
    sl->room = room;
    sl->rb.refs = 1;
    sl->rb.cap = sizeof *sl + (pn != NULL ? len : room);
    sl->rb.release = slice_release;
    sl->ms = ms;
    sl->next = NULL;
    ms->refs++;
    return sl;
}

static void complete_later(struct mst *ms, struct ufrpc_stream_write *req)
{
    req->next = NULL;
    if (ms->done_tail)
        ms->done_tail->next = req;
    else
        ms->done = req;
    ms->done_tail = req;
    mark_ready(ms);
}

/* Fails every queued write with err (callbacks deferred). */
static void fail_writes(struct mst *ms, int err)
{
    while (ms->wq != NULL) {
        struct ufrpc_stream_write *r = ms->wq;
        ms->wq = r->next;
        ms->queued -= r->len;
        r->off = (size_t)-1; /* marks failure */
        r->idx = (unsigned)(-err);
        complete_later(ms, r);
    }
    ms->wq_tail = NULL;
}

/* Moves as many queued bytes into the session as it accepts. */
static void process_wq(struct mst *ms)
{
    while (ms->wq != NULL && ms->ys != NULL) {
        struct ufrpc_stream_write *r = ms->wq;
        while (r->idx < r->nbufs) {
            const uv_buf_t *b = &r->bufs[r->idx];
            if (r->off == b->len) {
                r->idx++;
                r->off = 0;
                continue;
            }
            ptrdiff_t n = ufrpc_yamux_stream_write(ms->ys, (const uint8_t *)b->base + r->off,
                                                   b->len - r->off);
            if (n < 0) {
                fail_writes(ms, (int)n == UFRPC_ERR_YAMUX_RESET ? UFRPC_ERR_CONN_RESET : (int)n);
                return;
            }
            if (n == 0)
                goto out;
            r->off += (size_t)n;
            ms->queued -= (size_t)n;
        }
        ms->wq = r->next;
        if (ms->wq == NULL)
            ms->wq_tail = NULL;
        r->off = 0;
        complete_later(ms, r);
    }
out:
    if (ms->wq == NULL && ms->shut_req && !ms->shut_sent && ms->ys != NULL) {
        ms->shut_sent = 1;
        ms->shut_status = ufrpc_yamux_stream_close(ms->ys);
        ms->shut_cb_pending = 1;
        mark_ready(ms);
    }
    mux_flush(ms->m);
}

static void deliver(struct mst *ms, struct slice *sl)
{
    ms->s.read_cb(&ms->s, 0, &sl->rb, sl->rb.base, sl->len);
    ufrpc_rbuf_unref(&sl->rb);
}

/* Delivers held data and a pending end while the consumer reads. */
static void drain_held(struct mst *ms)
{
    while (ms->reading && !ms->s.closing && ms->held != NULL) {
        struct slice *sl = ms->held;
        ms->held = sl->next;
        if (ms->held == NULL)
            ms->held_tail = NULL;
        deliver(ms, sl);
    }
    if (ms->reading && !ms->s.closing && ms->held == NULL && !ms->ended &&
        (ms->fin || ms->end_status != 0)) {
        ms->ended = 1;
        ms->reading = 0;
        ms->s.read_cb(&ms->s, ms->end_status != 0 ? ms->end_status : UFRPC_ERR_EOF, NULL, NULL, 0);
    }
}

static void drop_held(struct mst *ms)
{
    while (ms->held != NULL) {
        struct slice *sl = ms->held;
        ms->held = sl->next;
        ufrpc_rbuf_unref(&sl->rb);
    }
    ms->held_tail = NULL;
}

static void on_idle(uv_idle_t *h)
{
    ufrpc_mux_t *m = h->data;
    uv_idle_stop(h);
    while (m->ready != NULL) {
        struct mst *ms = m->ready;
        m->ready = ms->rnext;
        ms->in_ready = 0; /* its reference is held until the end of this round */
        while (ms->done != NULL) {
            struct ufrpc_stream_write *r = ms->done;
            ms->done = r->next;
            if (ms->done == NULL)
                ms->done_tail = NULL;
            int st = r->off == (size_t)-1 ? -(int)r->idx : 0;
            r->cb(r, st);
        }
        if (ms->shut_cb_pending) {
            ms->shut_cb_pending = 0;
            ms->s.shutdown_cb(&ms->s, ms->shut_status);
        }
        if (!ms->s.closing)
            drain_held(ms);
        if (ms->wake_cb != NULL && !ms->s.closing && mst_write_room(&ms->s) > 0)
            fire_wake(ms);
        int drop = 1; /* the ready list's reference, held for this round */
        if (ms->close_pending) {
            ms->close_pending = 0;
            if (ms->s.close_cb != NULL)
                ms->s.close_cb(&ms->s);
            drop++; /* and the owner's */
        }
        mst_unref_n(ms, drop);
    }
}

/* ---- mux stream vtable ------------------------------------------------------------ */
static int mst_read_start(struct ufrpc_stream *s)
{
    struct mst *ms = (struct mst *)s;
    if (ms->ended)
        return UFRPC_ERR_STATE;
    ms->reading = 1;
    if (ms->held != NULL || ms->fin || ms->end_status != 0)
        mark_ready(ms);
    return 0;
}

static int mst_read_stop(struct ufrpc_stream *s)
{
    ((struct mst *)s)->reading = 0;
    return 0;
}

static int mst_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct mst *ms = (struct mst *)s;
    if (ms->end_status != 0 && ms->end_status != UFRPC_ERR_EOF)
        return ms->end_status;
    if (ms->ys == NULL)
        return UFRPC_ERR_CLOSED;
    if (ms->shut_req)
        return UFRPC_ERR_STATE;
    req->next = NULL;
    if (ms->wq_tail)
        ms->wq_tail->next = req;
    else
        ms->wq = req;
    ms->wq_tail = req;
    ms->queued += req->len;
    if (ms->wq == req)
        process_wq(ms);
    return 0;
}

static struct cwrite *free_cwrite(ufrpc_mux_t *m)
{
    if (ufrpc_stream_queued(m->tr) >= m->out_limit)
        return NULL;
    for (unsigned i = 0; i < COPY_WRITES; i++)
        if (!m->cw[i].busy)
            return &m->cw[i];
    return NULL;
}

static void on_copy_written(struct ufrpc_stream_write *w, int status);
static void on_prepare(uv_prepare_t *h);

/* The zero-copy path: towards a transport that copies, a Data frame of p goes
 * to the transport behind the ring's pending bytes in one write, never into the
 * ring (the ring's memmove was ~6% of the client's CPU at 128 streams), sized so
 * that the write is whole records. Not inside a session call (output_sent runs
 * callbacks). Returns the payload bytes sent that way (0: none), or (size_t)-1
 * when the transport write failed (the mux has failed). */
static size_t direct_write(struct mst *ms, const uint8_t *p, size_t len)
{
    ufrpc_mux_t *m = ms->m;
    if (!m->copying || m->tr_closed || m->in_session > 0)
        return 0;
    struct cwrite *c = free_cwrite(m);
    if (c == NULL)
        return 0;
    uv_buf_t b[4];
    struct iovec iov[2];
    int k = ufrpc_yamux_pending_output(m->ys, iov, 2);
    size_t pend = 0;
    for (int i = 0; i < k; i++) {
        b[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
        pend += iov[i].iov_len;
    }
    size_t whole = pend + UFRPC_YAMUX_HEADER_SIZE + len;
    if (pend >= DIRECT_RECORD || whole < DIRECT_RECORD)
        return 0;
    size_t want = whole / DIRECT_RECORD * DIRECT_RECORD - pend - UFRPC_YAMUX_HEADER_SIZE;
    uint8_t hdr[UFRPC_YAMUX_HEADER_SIZE];
    ptrdiff_t n = ufrpc_yamux_stream_write_direct(ms->ys, want, hdr);
    if (n <= 0)
        return 0;
    b[k] = uv_buf_init((char *)hdr, sizeof hdr);
    b[k + 1] = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
    c->busy = 1;
    c->m = m;
    c->w.data = c;
    int rc = ufrpc_stream_write(m->tr, &c->w, b, (unsigned)k + 2, on_copy_written);
    if (rc < 0) {
        c->busy = 0;
        mux_fail(m, rc);
        return (size_t)-1;
    }
    m->stats.bytes_direct += (size_t)n;
    if (pend > 0) {
        ufrpc_yamux_output_sent(session_enter(m), pend);
        session_leave(m);
    }
    return (size_t)n;
}

/* Copies into the session what it takes now (send window, output space), so a
 * caller's read buffer goes back at once instead of waiting in wq: a pump towards a
 * mux stream then holds one delivery per stream while the session is full, not
 * max_buffered. Nothing is taken while writes are queued (order) or after
 * shutdown or an error: write() queues or reports those. */
static int mst_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs)
{
    struct mst *ms = (struct mst *)s;
    if (ms->wq != NULL || ms->ys == NULL || ms->shut_req || ms->end_status != 0)
        return 0;
    size_t total = 0;
    for (unsigned i = 0; i < nbufs && total < INT_MAX; i++) {
        size_t len = bufs[i].len;
        if (len > (size_t)INT_MAX - total)
            len = (size_t)INT_MAX - total;
        const uint8_t *p = (const uint8_t *)bufs[i].base;
        size_t d = direct_write(ms, p, len);
        if (d == (size_t)-1)
            break; /* the transport failed: the mux has failed the streams */
        total += d;
        p += d;
        len -= d;
        if (len == 0)
            continue;
        ptrdiff_t n = ufrpc_yamux_stream_write(ms->ys, p, len);
        if (n <= 0)
            break;
        total += (size_t)n;
        if ((size_t)n < len)
            break;
    }
    if (total > 0)
        mux_flush(ms->m);
    return (int)total;
}

/* write_room (net/stream.h): what the session's write takes now. */
static size_t mst_write_room(const struct ufrpc_stream *s)
{
    const struct mst *ms = (const struct mst *)s;
    if (ms->ys == NULL || ms->shut_req || ms->end_status != 0)
        return SIZE_MAX; /* a write fails or queues at once: let the caller see */
    if (ms->wq != NULL)
        return 0;
    ptrdiff_t n = ufrpc_yamux_stream_write_room(ms->ys);
    return n < 0 ? SIZE_MAX : (size_t)n;
}

static void fire_wake(struct mst *ms)
{
    ufrpc_stream_writable_cb cb = ms->wake_cb;
    ms->wake_cb = NULL;
    cb(&ms->s);
}

/* A writable-waiter may be woken now: there is room, and (unless the stream
 * failed) the room is not all promised to streams woken before it. */
static int may_wake(struct mst *ms)
{
    ufrpc_mux_t *m = ms->m;
    size_t room = mst_write_room(&ms->s);
    if (room == 0)
        return 0;
    if (room != SIZE_MAX) {
        if (m->promised > 0 && room <= m->promised) {
            m->wake_deferred = 1;
            uv_prepare_start(&m->prepare, on_prepare);
            return 0;
        }
        m->promised += room < UFRPC_READ_BUF_SIZE ? room : UFRPC_READ_BUF_SIZE;
        uv_prepare_start(&m->prepare, on_prepare);
    }
    return 1;
}

static int mst_notify_writable(struct ufrpc_stream *s, ufrpc_stream_writable_cb cb)
{
    struct mst *ms = (struct mst *)s;
    ms->wake_cb = cb;
    if (mst_write_room(s) > 0)
        mark_ready(ms); /* on_idle runs it */
    else if (ms->wq == NULL && ms->ys != NULL)
        ufrpc_yamux_stream_want_writable(ms->ys); /* cb_writable runs it */
    /* else the queued write's progress (cb_writable) runs it */
    return 0;
}

static size_t mst_queued(const struct ufrpc_stream *s)
{
    return ((const struct mst *)s)->queued;
}

static int mst_shutdown(struct ufrpc_stream *s)
{
    struct mst *ms = (struct mst *)s;
    if (ms->ys == NULL)
        return ms->end_status != 0 ? ms->end_status : UFRPC_ERR_CLOSED;
    ms->shut_req = 1;
    process_wq(ms);
    return 0;
}

static void mst_detach(struct mst *ms)
{
    drop_held(ms);
    if (ms->ys != NULL) {
        ufrpc_yamux_stream_set_user_data(ms->ys, NULL);
        ufrpc_yamux_stream_release(ms->ys);
        ms->ys = NULL;
    }
}

static void mst_close(struct ufrpc_stream *s)
{
    struct mst *ms = (struct mst *)s;
    ms->reading = 0;
    ms->wake_cb = NULL;
    fail_writes(ms, UFRPC_ERR_CANCELED);
    drop_held(ms);
    if (ms->ys != NULL && !ms->shut_sent) {
        ms->shut_sent = 1;
        ufrpc_yamux_stream_close(ms->ys);
    }
    mst_detach(ms);
    ms->close_pending = 1;
    mark_ready(ms);
    mux_flush(ms->m);
}

static const struct ufrpc_stream_vt mst_vt = {
    .read_start = mst_read_start,
    .read_stop = mst_read_stop,
    .write = mst_write,
    .queued = mst_queued,
    .shutdown = mst_shutdown,
    .close = mst_close,
    .unread = NULL,
    .try_write = mst_try_write,
    .write_room = mst_write_room,
    .notify_writable = mst_notify_writable,
};

static struct mst *mst_new(ufrpc_mux_t *m, ufrpc_yamux_stream_t *ys)
{
    struct mst *ms = calloc(1, sizeof *ms);
    if (ms == NULL)
        return NULL;
    ms->s.vt = &mst_vt;
    ms->s.loop = m->loop;
    ms->m = m;
    ms->ys = ys;
    ms->refs = 1;
    ms->next = m->all;
    if (m->all)
        m->all->prev = ms;
    m->all = ms;
    m->nstreams++;
    ufrpc_yamux_stream_set_user_data(ys, ms);
    return ms;
}

/* ---- session callbacks ------------------------------------------------------------ */
static int cb_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    ufrpc_mux_t *m = ud;
    (void)s;
    if (m->cb.on_accept == NULL || m->closing)
        return -1;
    struct mst *ms = mst_new(m, st);
    if (ms == NULL)
        return -1;
    m->cb.on_accept(m, &ms->s, m->data);
    return 0;
}

static void cb_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, const uint8_t *data,
                    size_t len, void *ud)
{
    ufrpc_mux_t *m = ud;
    (void)s;
    if (m->closing)
        return;
    struct mst *ms = ufrpc_yamux_stream_user_data(st);
    if (ms == NULL || len == 0)
        return;
    int direct = ms->reading && ms->held == NULL && !ms->s.closing;
    struct slice *tail = ms->held_tail;
    if (!direct && tail != NULL && tail->pin == NULL && tail->room - tail->len >= len) {
        /* small payload for a stream that is not reading: append to the held copy */
        memcpy(tail->rb.base + tail->len, data, len);
        tail->len += len;
        m->stats.bytes_copied += len;
        return;
    }
    struct slice *sl = slice_new(ms, data, len, !direct);
    if (sl == NULL) {
        ufrpc_yamux_stream_reset(st);
        ms->end_status = UFRPC_ERR_NOMEM;
        mark_ready(ms);
        return;
    }
    if (direct) {
        deliver(ms, sl);
        return;
    }
    if (ms->held_tail)
        ms->held_tail->next = sl;
    else
        ms->held = sl;
    ms->held_tail = sl;
}

/* The stream object a yamux callback is about: NULL while the session closes (its
 * streams are being ended) or when st has none. */
static struct mst *cb_stream(void *ud, ufrpc_yamux_stream_t *st)
{
    if (((ufrpc_mux_t *)ud)->closing)
        return NULL;
    return ufrpc_yamux_stream_user_data(st);
}

static void cb_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    struct mst *ms = cb_stream(ud, st);
    if (ms == NULL)
        return;
    ms->fin = 1;
    mark_ready(ms);
}

static void cb_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    struct mst *ms = cb_stream(ud, st);
    if (ms == NULL)
        return;
    if (ms->end_status == 0)
        ms->end_status = UFRPC_ERR_CONN_RESET;
    fail_writes(ms, UFRPC_ERR_CONN_RESET);
    mark_ready(ms);
}

static void cb_writable(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    (void)s;
    struct mst *ms = cb_stream(ud, st);
    if (ms == NULL)
        return;
    process_wq(ms);
    if (ms->wake_cb != NULL && !ms->s.closing) {
        if (may_wake(ms))
            fire_wake(ms);
        else if (ms->wq == NULL && ms->ys != NULL)
            ufrpc_yamux_stream_want_writable(ms->ys); /* its turn comes later */
    }
}

static void cb_error(ufrpc_yamux_session_t *s, int err, void *ud)
{
    (void)s;
    mux_fail(ud, err);
}

/* ---- transport -------------------------------------------------------------------- */
static void on_tr_write(struct ufrpc_stream_write *w, int status)
{
    ufrpc_mux_t *m = w->data;
    m->writing = 0;
    if (m->ys == NULL)
        return;
    if (status < 0) {
        mux_fail(m, status);
        return;
    }
    ufrpc_yamux_output_sent(session_enter(m), m->wlen);
    session_leave(m);
    mux_flush(m);
    arm_timer(m);
}

static void on_copy_written(struct ufrpc_stream_write *w, int status)
{
    struct cwrite *c = w->data;
    ufrpc_mux_t *m = c->m;
    c->busy = 0;
    if (m->ys == NULL)
        return;
    if (status < 0) {
        mux_fail(m, status);
        return;
    }
    mux_flush(m);
    arm_timer(m);
}

/* Towards a transport that copies, pending output is handed over while the
 * transport queues less than out_limit, and leaves the ring at once (so the ring
 * is mostly empty and direct_write can run); less than FLUSH_AT waits for the
 * loop's prepare phase unless force. output_sent may run stream callbacks, which
 * a session call on the stack forbids: then the prepare phase flushes. */
static void copy_flush(ufrpc_mux_t *m, int force)
{
    while (m->ys != NULL && !m->tr_closed) {
        if (m->in_session > 0) {
            uv_prepare_start(&m->prepare, on_prepare);
            return;
        }
        struct cwrite *c = free_cwrite(m);
        if (c == NULL)
            return; /* on_copy_written flushes */
        struct iovec iov[2];
        int n = ufrpc_yamux_pending_output(m->ys, iov, 2);
        if (n <= 0)
            return;
        uv_buf_t b[2];
        size_t len = 0;
        for (int i = 0; i < n; i++) {
            b[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
            len += iov[i].iov_len;
        }
        if (!force && len < FLUSH_AT) {
            uv_prepare_start(&m->prepare, on_prepare);
            return;
        }
        c->busy = 1;
        c->m = m;
        c->w.data = c;
        int rc = ufrpc_stream_write(m->tr, &c->w, b, (unsigned)n, on_copy_written);
        if (rc < 0) {
            c->busy = 0;
            mux_fail(m, rc);
            return;
        }
        ufrpc_yamux_output_sent(session_enter(m), len);
        session_leave(m);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    ufrpc_mux_t *m = h->data;
    uv_prepare_stop(h);
    if (m->copying)
        copy_flush(m, 1); /* else mux_flush's one write goes on by itself */
    m->promised = 0;
    if (m->wake_deferred && m->ys != NULL && m->in_session == 0) {
        /* the promises have lapsed: wake the waiters the space now covers */
        m->wake_deferred = 0;
        ufrpc_yamux_output_sent(session_enter(m), 0);
        session_leave(m);
    }
    arm_timer(m);
}

static void mux_flush(ufrpc_mux_t *m)
{
    if (m->copying) {
        copy_flush(m, 0);
        return;
    }
    if (m->writing || m->ys == NULL || m->tr_closed)
        return;
    struct iovec iov[2];
    int n = ufrpc_yamux_pending_output(m->ys, iov, 2);
    if (n <= 0)
        return;
    m->wlen = 0;
    for (int i = 0; i < n; i++) {
        m->wbufs[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
        m->wlen += iov[i].iov_len;
    }
    m->wreq.data = m;
    int rc = ufrpc_stream_write(m->tr, &m->wreq, m->wbufs, (unsigned)n, on_tr_write);
    if (rc < 0) {
        mux_fail(m, rc);
        return;
    }
    m->writing = 1;
}

static void on_tr_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                       const uint8_t *data, size_t len)
{
    ufrpc_mux_t *m = s->data;
    if (m->ys == NULL)
        return;
    if (status < 0) {
        mux_fail(m, status == UFRPC_ERR_EOF ? UFRPC_ERR_YAMUX_SESSION_CLOSED : status);
        return;
    }
    m->cur_rb = buf;
    m->seq++;
    int rc = ufrpc_yamux_feed(session_enter(m), data, len, uv_now(m->loop));
    session_leave(m);
    m->cur_rb = NULL;
    if (rc < 0) {
        mux_flush(m); /* GoAway */
        mux_fail(m, rc);
        return;
    }
    mux_flush(m);
    arm_timer(m);
}

static void on_timer(uv_timer_t *t)
{
    ufrpc_mux_t *m = t->data;
    if (m->ys == NULL)
        return;
    int rc = ufrpc_yamux_on_timeout(session_enter(m), uv_now(m->loop));
    session_leave(m);
    mux_flush(m);
    if (rc < 0) {
        mux_fail(m, rc);
        return;
    }
    arm_timer(m);
}

/* The session is dead: every stream learns err; the owner is told once. */
static void mux_fail(ufrpc_mux_t *m, int err)
{
    if (m->err != 0)
        return;
    m->err = err;
    for (struct mst *ms = m->all; ms != NULL; ms = ms->next) {
        if (ms->end_status == 0)
            ms->end_status = err;
        fail_writes(ms, err);
        mark_ready(ms);
    }
    if (m->cb.on_error != NULL && !m->closing)
        m->cb.on_error(m, err, m->data);
}

/* ---- lifetime --------------------------------------------------------------------- */
static void on_handle_closed(uv_handle_t *h)
{
    ufrpc_mux_t *m = h->data;
    if (--m->handles > 0)
        return;
    if (m->close_cb != NULL)
        m->close_cb(m->data);
    free(m);
}

static void mux_maybe_free(ufrpc_mux_t *m)
{
    if (!m->closing || !m->tr_closed || m->nstreams > 0 || m->freeing)
        return;
    m->freeing = 1;
    uv_close((uv_handle_t *)&m->timer, on_handle_closed);
    uv_close((uv_handle_t *)&m->idle, on_handle_closed);
    uv_close((uv_handle_t *)&m->prepare, on_handle_closed);
}

static void on_tr_closed(struct ufrpc_stream *s)
{
    ufrpc_mux_t *m = s->data;
    m->tr_closed = 1;
    mux_maybe_free(m);
}

void ufrpc_mux_close(ufrpc_mux_t *m, void (*cb)(void *data))
{
    if (m->closing)
        return;
    m->closing = 1;
    m->close_cb = cb;
    mux_fail(m, UFRPC_ERR_YAMUX_SESSION_CLOSED);
    for (struct mst *ms = m->all; ms != NULL; ms = ms->next) {
        drop_held(ms);
        ms->ys = NULL;
    }
    if (m->in_session > 0)
        m->ys_dead = m->ys; /* callbacks below check m->closing */
    else
        ufrpc_yamux_session_free(m->ys);
    m->ys = NULL;
    uv_timer_stop(&m->timer);
    ufrpc_stream_close(m->tr, on_tr_closed);
}

int ufrpc_mux_new(uv_loop_t *loop, struct ufrpc_stream *tr, enum ufrpc_yamux_role role,
                  const struct ufrpc_yamux_config *config, const struct ufrpc_mux_callbacks *cbs,
                  void *data, ufrpc_mux_t **out)
{
    ufrpc_mux_t *m = calloc(1, sizeof *m);
    if (m == NULL) {
        ufrpc_stream_close(tr, NULL);
        return UFRPC_ERR_NOMEM;
    }
    struct ufrpc_yamux_callbacks ycb = {
        .on_stream_open = cb_open,
        .on_stream_data = cb_data,
        .on_stream_fin = cb_fin,
        .on_stream_reset = cb_reset,
        .on_stream_writable = cb_writable,
        .on_session_error = cb_error,
    };
    int rc = ufrpc_yamux_session_new(&m->ys, role, config, &ycb, m, uv_now(loop));
    if (rc < 0) {
        free(m);
        ufrpc_stream_close(tr, NULL);
        return rc;
    }
    m->loop = loop;
    m->tr = tr;
    tr->data = m;
    if (cbs != NULL)
        m->cb = *cbs;
    m->data = data;
    uv_timer_init(loop, &m->timer);
    uv_idle_init(loop, &m->idle);
    uv_prepare_init(loop, &m->prepare);
    m->timer.data = m;
    m->idle.data = m;
    m->prepare.data = m;
    m->handles = 3;
    m->copying = ufrpc_stream_copies_writes(tr);
    struct ufrpc_yamux_config dc;
    ufrpc_yamux_config_default(&dc);
    m->out_limit = config != NULL ? config->max_output_bytes : dc.max_output_bytes;
    (void)ufrpc_stream_set_read_pool(tr, TRANSPORT_POOL_FREE); /* a hint: other kinds lack it */
    rc = ufrpc_stream_read_start(tr, on_tr_read);
    if (rc < 0) {
        m->closing = 1;
        ufrpc_yamux_session_free(m->ys);
        m->ys = NULL;
        ufrpc_stream_close(tr, on_tr_closed);
        return rc;
    }
    arm_timer(m);
    *out = m;
    return 0;
}

int ufrpc_mux_open(ufrpc_mux_t *m, struct ufrpc_stream **out)
{
    if (m->ys == NULL || m->closing)
        return UFRPC_ERR_CLOSED;
    ufrpc_yamux_stream_t *ys;
    int rc = ufrpc_yamux_stream_open(m->ys, &ys);
    if (rc < 0)
        return rc;
    struct mst *ms = mst_new(m, ys);
    if (ms == NULL) {
        ufrpc_yamux_stream_reset(ys);
        ufrpc_yamux_stream_release(ys);
        mux_flush(m);
        return UFRPC_ERR_NOMEM;
    }
    mux_flush(m);
    *out = &ms->s;
    return 0;
}

ufrpc_yamux_session_t *ufrpc_mux_session(ufrpc_mux_t *m)
{
    return m->ys;
}

ufrpc_yamux_stream_t *ufrpc_mux_stream_yamux(struct ufrpc_stream *st)
{
    return st->vt == &mst_vt ? ((struct mst *)st)->ys : NULL;
}

void *ufrpc_mux_data(const ufrpc_mux_t *m)
{
    return m->data;
}

void ufrpc_mux_get_stats(const ufrpc_mux_t *m, struct ufrpc_mux_stats *st)
{
    *st = m->stats;
}

int ufrpc_mux_stream_pinned(const struct ufrpc_stream *st, size_t *pinned, size_t *ref_bytes)
{
    if (st->vt != &mst_vt)
        return UFRPC_ERR_INVAL;
    const struct mst *ms = (const struct mst *)st;
    *pinned = ms->pinned;
    *ref_bytes = ms->ref_bytes;
    return 0;
}
