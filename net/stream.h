/* ufrpc — generic byte stream (TCP, TLS over a stream, a yamux stream).
 *
 * One small vtable so that the pump, the TLS layer and the client can treat every
 * connection alike. All calls happen on the loop's thread.
 *
 * Lifetimes (libuv-style):
 * - A stream object is allocated by its constructor (ufrpc_tcp_*, ufrpc_tls_*,
 *   ufrpc_mux_*) and freed by the library right after its close callback returns.
 *   After ufrpc_stream_close() no other call is allowed on it; callbacks that
 *   were pending (write, shutdown) run with UFRPC_ERR_CANCELED (or the error that
 *   ended the stream) before the close callback, read callbacks stop at once.
 * - Streams that wrap another stream (TLS, prefix) own it: closing them closes it.
 *
 * Reads: the read callback receives a slice of a refcounted buffer (ufrpc_rbuf_t).
 * The slice is valid during the callback only, unless the consumer takes a
 * reference (ufrpc_rbuf_ref) and drops it later (ufrpc_rbuf_unref): that is how the
 * pump writes received bytes to the other side with no copy. status is 0 (data),
 * UFRPC_ERR_EOF (peer half-closed; no more reads), or another negative error (no
 * more reads; the stream should be closed). The consumer may call read_stop,
 * write, shutdown or close from inside the callback.
 *
 * Writes: the caller owns the request struct and the bytes, and keeps both valid
 * and unchanged until the write callback runs (callbacks never run from inside
 * ufrpc_stream_write). An iovec array of up to UFRPC_STREAM_WRITE_INLINE_IOV entries
 * is copied into the request, so it may be a temporary (as with uv_write); a longer
 * array must also stay valid until the callback. Writes complete in order.
 *
 * queued(): bytes accepted by write() whose callback has not run yet and which
 * still occupy memory in this stream or below it (kernel socket buffers excluded).
 */
#ifndef UFRPC_NET_STREAM_H
#define UFRPC_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- refcounted read buffers ------------------------------------------------ */
typedef struct ufrpc_rbuf {
    unsigned refs;
    /* Bytes of memory the buffer keeps alive (consumers that bound what they hold,
     * as the pump, count this). For ufrpc_rbuf_new and pool buffers: the bytes at
     * base. A buffer that describes a slice of another one (net/mux.c) may state
     * more than its payload here; a read callback's data/len say where the bytes
     * are. */
    size_t cap;
    uint8_t *base; /* cap bytes (right after the struct for ufrpc_rbuf_new) */
    /* Called instead of free() when refs drops to 0 (NULL: free(b)). Lets a
     * producer learn when the consumer is done with the bytes (yamux flow control)
     * or describe a slice of another buffer. */
    void (*release)(struct ufrpc_rbuf *b);
} ufrpc_rbuf_t;

/* Size of the read buffers of TCP and TLS streams (one read = one delivery). */
#define UFRPC_READ_BUF_SIZE (64u * 1024u)
/* Returned read buffers a TCP or TLS stream keeps for reuse (its pool's max_free,
 * see below): with the pump's two writes in flight, reads then never malloc. */
#define UFRPC_READ_POOL_FREE 2u

/* New buffer with one reference, or NULL on allocation failure. */
ufrpc_rbuf_t *ufrpc_rbuf_new(size_t cap);
void ufrpc_rbuf_ref(ufrpc_rbuf_t *b);
/* Keeps the len bytes at *data beyond a read callback: takes a reference on buf,
 * or (buf NULL: the bytes belong to someone else) copies them into a new buffer
 * and points *data at the copy. Returns the buffer the caller now holds one
 * reference on, or NULL when out of memory (nothing taken). */
ufrpc_rbuf_t *ufrpc_rbuf_hold(ufrpc_rbuf_t *buf, const uint8_t **data, size_t len);
/* Drops one reference; frees the buffer at zero. NULL is ignored. */
void ufrpc_rbuf_unref(ufrpc_rbuf_t *b);

/* ---- bounded pools of read buffers ------------------------------------------------
 * A pool hands out buffers of one capacity (refs 1, as ufrpc_rbuf_new) and takes
 * each back when its last reference is dropped, keeping at most max_free of them
 * for the next ufrpc_rbuf_pool_get and freeing the others: what a pool keeps
 * beyond the buffers in use is at most max_free * cap, and nothing at all once
 * every buffer is back (in_use 0 frees the spares), so an idle stream holds no
 * buffer. One pool per stream (no shared state, loop thread only): the stream
 * reads into pool buffers, so a read whose previous buffer is still referenced by
 * a consumer reuses a returned one instead of a fresh allocation.
 * Lifetime: the owner drops the pool with ufrpc_rbuf_pool_free() (the free
 * buffers go at once); buffers still referenced stay valid, are freed by their
 * last unref, and the pool's own small struct goes with the last of them. */
typedef struct ufrpc_rbuf_pool ufrpc_rbuf_pool_t;

struct ufrpc_rbuf_pool_stats {
    size_t cap;          /* capacity of every buffer */
    unsigned max_free;
    unsigned in_use;     /* handed out, not yet returned */
    unsigned nfree;      /* kept for reuse (<= max_free) */
    uint64_t allocs;     /* buffers malloc'd */
    uint64_t reuses;     /* gets served from the free list */
};

/* NULL on allocation failure. cap > 0. */
ufrpc_rbuf_pool_t *ufrpc_rbuf_pool_new(size_t cap, unsigned max_free);
/* A buffer with one reference (reused or new), or NULL when out of memory. */
ufrpc_rbuf_t *ufrpc_rbuf_pool_get(ufrpc_rbuf_pool_t *p);
void ufrpc_rbuf_pool_get_stats(const ufrpc_rbuf_pool_t *p, struct ufrpc_rbuf_pool_stats *st);
/* Changes max_free (extra free buffers are freed at once). */
void ufrpc_rbuf_pool_set_max_free(ufrpc_rbuf_pool_t *p, unsigned max_free);
/* The owner's end of the pool (see Lifetime). NULL is ignored. */
void ufrpc_rbuf_pool_free(ufrpc_rbuf_pool_t *p);

/* ---- the stream ----------------------------------------------------------- */
struct ufrpc_stream;
struct ufrpc_stream_write;

typedef void (*ufrpc_stream_read_cb)(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                                     const uint8_t *data, size_t len);
typedef void (*ufrpc_stream_write_cb)(struct ufrpc_stream_write *req, int status);
typedef void (*ufrpc_stream_shutdown_cb)(struct ufrpc_stream *s, int status);
typedef void (*ufrpc_stream_close_cb)(struct ufrpc_stream *s);
/* See ufrpc_stream_notify_writable / ufrpc_stream_set_read_gate. */
typedef void (*ufrpc_stream_writable_cb)(struct ufrpc_stream *s);
typedef size_t (*ufrpc_stream_read_gate_fn)(void *arg);

/* iovec entries a write request holds by value (see "Writes" above). */
#define UFRPC_STREAM_WRITE_INLINE_IOV 4

/* A write request: caller-owned; `data` is free for the caller. The rest is
 * private to the stream implementation while the write is in flight. */
struct ufrpc_stream_write {
    void *data;
    /* private */
    ufrpc_stream_write_cb cb;
    struct ufrpc_stream *stream;
    struct ufrpc_stream_write *next;
    const uv_buf_t *bufs;
    unsigned nbufs;
    unsigned idx;  /* first iovec not fully consumed (queued implementations) */
    size_t off;    /* offset into bufs[idx] */
    size_t len;    /* total bytes */
    uv_write_t uv; /* TCP */
    uv_buf_t inline_bufs[UFRPC_STREAM_WRITE_INLINE_IOV]; /* bufs points here when it fits */
};

struct ufrpc_stream_vt {
    int (*read_start)(struct ufrpc_stream *s);
    int (*read_stop)(struct ufrpc_stream *s);
    int (*write)(struct ufrpc_stream *s, struct ufrpc_stream_write *req);
    size_t (*queued)(const struct ufrpc_stream *s);
    int (*shutdown)(struct ufrpc_stream *s);
    void (*close)(struct ufrpc_stream *s);
    /* optional: push bytes back so that the next reads deliver them first */
    int (*unread)(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len);
    /* optional: how many returned read buffers to keep for reuse */
    int (*set_read_pool)(struct ufrpc_stream *s, unsigned max_free);
    /* optional: nonzero when write() is done with the caller's bytes when it
     * returns (see ufrpc_stream_copies_writes) */
    int (*copies_writes)(const struct ufrpc_stream *s);
    /* optional: writes what the kernel takes now, without queueing (see
     * ufrpc_stream_try_write) */
    int (*try_write)(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs);
    /* optional: see ufrpc_stream_write_room / _notify_writable / _set_read_gate */
    size_t (*write_room)(const struct ufrpc_stream *s);
    int (*notify_writable)(struct ufrpc_stream *s, ufrpc_stream_writable_cb cb);
    int (*set_read_gate)(struct ufrpc_stream *s, ufrpc_stream_read_gate_fn gate, void *arg);
};

struct ufrpc_stream {
    const struct ufrpc_stream_vt *vt;
    uv_loop_t *loop;
    void *data; /* free for the owner */
    /* private, set by the wrappers below */
    ufrpc_stream_read_cb read_cb;
    ufrpc_stream_shutdown_cb shutdown_cb;
    ufrpc_stream_close_cb close_cb;
    int closing;
};

/* Starts (or resumes) delivery to cb. 0 or <0 (UFRPC_ERR_STATE after EOF/close). */
int ufrpc_stream_read_start(struct ufrpc_stream *s, ufrpc_stream_read_cb cb);
/* Stops delivery; no read callback runs until the next read_start. Idempotent. */
int ufrpc_stream_read_stop(struct ufrpc_stream *s);
/* Queues nbufs iovecs (see the contract above). 0 or <0; on <0 cb is not called.
 * cb may be NULL. */
int ufrpc_stream_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req,
                       const uv_buf_t *bufs, unsigned nbufs, ufrpc_stream_write_cb cb);
size_t ufrpc_stream_queued(const struct ufrpc_stream *s);
/* Half-close after every queued write; cb (may be NULL) runs once. One shutdown
 * per stream: a second call fails with UFRPC_ERR_STATE. */
int ufrpc_stream_shutdown(struct ufrpc_stream *s, ufrpc_stream_shutdown_cb cb);
/* Closes (aborts) the stream; cb (may be NULL) runs later, then the memory is freed. */
void ufrpc_stream_close(struct ufrpc_stream *s, ufrpc_stream_close_cb cb);
/* Pushes back bytes (takes a reference on buf, which may be NULL: then the bytes
 * are copied) that the next read deliveries return first. UFRPC_ERR_UNSUPPORTED for
 * stream types without it (only TCP streams have it). */
int ufrpc_stream_unread(struct ufrpc_stream *s, ufrpc_rbuf_t *buf, const uint8_t *data, size_t len);

/* Lets a stream keep up to max_free returned read buffers for reuse (its pool's
 * max_free; the default is UFRPC_READ_POOL_FREE) -- for a consumer that holds many
 * deliveries at once, as a yamux session does with a slow stream: then a burst
 * reuses buffers instead of a malloc (and fresh pages) per read. Memory kept
 * beyond what consumers hold: max_free read buffers. UFRPC_ERR_UNSUPPORTED for
 * stream types without read buffers of their own (only TCP and TLS streams). */
int ufrpc_stream_set_read_pool(struct ufrpc_stream *s, unsigned max_free);

/* True when the stream has copied (or sent) the bytes of a write by the time
 * ufrpc_stream_write returns 0 (TLS seals them into its own records): the caller
 * may then reuse or free its buffers at once, while the request struct stays
 * in use and the callback still says when the bytes have left (flow control).
 * False for the others (the bytes are read until the callback). */
bool ufrpc_stream_copies_writes(const struct ufrpc_stream *s);

/* Writes as much of bufs as the stream takes right now, without queueing and
 * without a callback: TCP what the kernel accepts (uv_try_write), a yamux stream
 * what its send window and the session's output ring accept (copied there).
 * Returns the bytes taken (possibly fewer than given), 0 when nothing can be
 * taken now -- writes queued before are still pending, or the socket buffer /
 * ring / window is full -- or <0 on an error. Stream kinds without it (the
 * others) return 0, so a caller falls back to ufrpc_stream_write for the rest;
 * order is kept because a stream with queued writes takes nothing here.
 * nbufs 0 is a probe: 0 when the stream has it, UFRPC_ERR_UNSUPPORTED if not. */
int ufrpc_stream_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs);

/* Bytes a try_write would take right now: 0 while flow control (a yamux stream's
 * send window, its session's output space, or writes still queued) holds it back;
 * otherwise an upper bound, SIZE_MAX for streams without such a bound (the kinds
 * without write_room) and for a stream whose write would fail at once (so that the
 * caller writes and learns the error). */
size_t ufrpc_stream_write_room(const struct ufrpc_stream *s);

/* Asks for cb(s) once, later from the loop (never from inside this call), when
 * write_room may have become nonzero or the stream has failed; a new call
 * replaces the callback. Only a stream whose write_room is 0 needs it: with room
 * now, cb runs from the next loop iteration. Memory: none beyond the stream.
 * The request is dropped when the stream is closed. 0, or UFRPC_ERR_UNSUPPORTED
 * for kinds without it (only yamux streams, net/mux.h, have it). */
int ufrpc_stream_notify_writable(struct ufrpc_stream *s, ufrpc_stream_writable_cb cb);

/* Bounds each later read of s by gate(arg), asked right before the read's buffer
 * is taken (gate NULL: no bound). A gate of 0 takes no buffer: the stream stops
 * reading and delivers UFRPC_ERR_AGAIN to the read callback (no bytes; reading may
 * be started again). A consumer that gates on what its destination takes now
 * (ufrpc_stream_write_room) then holds no read buffer while the destination is
 * blocked. 0, or UFRPC_ERR_UNSUPPORTED (only TCP and unix-socket streams have it;
 * pushed-back bytes are delivered ungated). */
int ufrpc_stream_set_read_gate(struct ufrpc_stream *s, ufrpc_stream_read_gate_fn gate, void *arg);

/* Helpers for implementations. */
size_t ufrpc_iov_total(const uv_buf_t *bufs, unsigned nbufs);
/* Maps a libuv error code to a ufrpc error (0 stays 0). */
int ufrpc_net_uv_err(int uverr);

#endif
