/* yamux session (hashicorp/yamux wire format, as frp uses it), sans-I/O.
 *
 * Modelled on nghttp2's session: the caller feeds received bytes in, events come
 * out through callbacks, and every byte to send is queued inside the session where
 * the caller picks it up as iovecs. Time is an argument; the session says when it
 * next wants to be woken. No sockets, clocks, threads or logging.
 *
 * Wire facts (docs/PROTOCOL.md §2): 12-byte big-endian header
 * (version 0, type, flags, stream id, length); client streams odd, server even;
 * every stream starts with 256 KiB windows both ways and the opener/acceptor raise
 * them with WindowUpdate|SYN / WindowUpdate|ACK carrying max_stream_window - 256 KiB.
 *
 * ---- Input ---------------------------------------------------------------------
 * ufrpc_yamux_feed() consumes all bytes given (split anywhere). Stream payload is
 * handed to on_stream_data as a slice of the caller's input buffer (zero copy),
 * valid only during the callback. Those bytes count against the stream's receive
 * window until the application calls ufrpc_yamux_stream_consume() for them (after
 * it has really disposed of them, e.g. written them to a socket). A WindowUpdate
 * is queued once consumed-but-unadvertised bytes reach half the max window (Go's
 * rule: delta = max - held - recv_window, sent if delta >= max/2). So what the
 * application holds per stream never exceeds the window we advertised
 * (ufrpc_yamux_stream_unconsumed() <= max_stream_window). A peer that sends more
 * than the window gets GoAway(1) and the session fails with UFRPC_ERR_YAMUX_WINDOW.
 *
 * ---- Output --------------------------------------------------------------------
 * All frames go into one fixed ring buffer allocated at creation:
 * max_output_bytes for stream data plus a small reserve that only control frames
 * (WindowUpdate, Ping, GoAway, RST) may use, so they can always jump in. A control
 * frame that does not even fit the reserve is remembered (per stream / per session)
 * and queued as soon as space frees up; it is never lost. Frames are coalesced in
 * the ring (and consecutive small writes on one stream extend one Data frame).
 * ufrpc_yamux_pending_output() describes the unsent bytes (at most 2 iovecs);
 * the memory they point to stays valid and unchanged until those bytes are
 * acknowledged with ufrpc_yamux_output_sent() or the session is freed (so it can
 * be handed to an asynchronous write directly).
 *
 * ---- Stream lifetime -------------------------------------------------------------
 * A stream object is owned jointly by the session and the application. The
 * application gets its reference from ufrpc_yamux_stream_open() or from the
 * on_stream_open callback (when it accepts), and gives it up with
 * ufrpc_yamux_stream_release(); after that call the pointer must not be used and no
 * more callbacks name that stream. The session frees the object once it is
 * released AND finished:
 *   - finished = both sides sent FIN, or either side sent RST, or the session failed;
 *   - release() of a stream on which the application has not called close() sends
 *     RST first (abort);
 *   - release() after close() but before the peer's FIN leaves an "orphan": further
 *     payload is discarded and its window reopened automatically, and it is freed
 *     on the peer's FIN/RST, or reset after stream_close_timeout_ms (Go: 5 min).
 * A stream that is released inside a callback is freed only when the outermost
 * session call returns, so callbacks never see a freed stream. ufrpc_yamux_session_free()
 * frees every stream, released or not.
 *
 * Callbacks may call any stream function (write, consume, close, reset, release)
 * and ufrpc_yamux_session_goaway(); they must not call ufrpc_yamux_feed(),
 * ufrpc_yamux_on_timeout(), ufrpc_yamux_output_sent() or ufrpc_yamux_session_free().
 *
 * ---- Peer-opened streams ---------------------------------------------------------
 * Accepted in both roles when on_stream_open is set (Go's client also accepts
 * server-opened streams); without the callback, or when it returns non-zero, or
 * when accept_backlog peer-opened streams are already alive, or after we sent
 * GoAway, the SYN is answered with WindowUpdate|RST. A SYN with the wrong parity
 * for the peer's role, or for a stream id already in use, is a protocol error.
 *
 * ---- Interop note ------------------------------------------------------------------
 * Our close() is a true half-close: we keep delivering data after sending FIN.
 * The hashicorp/yamux version frp vendors is not: after its own Close() its Reads
 * return EOF as soon as its buffer is empty, so a Go peer that half-closes stops
 * reading (tests/oracle_yamux/peer.go works around it).
 *
 * ---- Errors ------------------------------------------------------------------------
 * Fatal errors (bad version -> UFRPC_ERR_YAMUX_VERSION, bad type ->
 * UFRPC_ERR_YAMUX_TYPE, window overrun -> UFRPC_ERR_YAMUX_WINDOW, other violations ->
 * UFRPC_ERR_YAMUX_PROTOCOL, GoAway with a non-zero code ->
 * UFRPC_ERR_YAMUX_REMOTE_GOAWAY_ERROR, missing Ping ACK -> UFRPC_ERR_YAMUX_KEEPALIVE)
 * are returned by the call that detected them, reported once to on_session_error,
 * and returned again by every later feed/on_timeout. For protocol violations a
 * GoAway(1) is queued first; the caller should flush pending output and close the
 * transport. After a fatal error no more stream callbacks happen.
 */
#ifndef UFRPC_PROTO_YAMUX_H
#define UFRPC_PROTO_YAMUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto/mem.h"

/* ---- frame header ---------------------------------------------------------------- */

#define UFRPC_YAMUX_HEADER_SIZE 12
#define UFRPC_YAMUX_INITIAL_WINDOW (256u * 1024u)

enum ufrpc_yamux_type {
    UFRPC_YAMUX_DATA = 0,
    UFRPC_YAMUX_WINDOW_UPDATE = 1,
    UFRPC_YAMUX_PING = 2,
    UFRPC_YAMUX_GO_AWAY = 3,
};

enum ufrpc_yamux_flag {
    UFRPC_YAMUX_SYN = 0x1,
    UFRPC_YAMUX_ACK = 0x2,
    UFRPC_YAMUX_FIN = 0x4,
    UFRPC_YAMUX_RST = 0x8,
};

enum ufrpc_yamux_goaway_code {
    UFRPC_YAMUX_GOAWAY_NORMAL = 0,
    UFRPC_YAMUX_GOAWAY_PROTOCOL_ERROR = 1,
    UFRPC_YAMUX_GOAWAY_INTERNAL_ERROR = 2,
};

struct ufrpc_yamux_header {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t stream_id;
    uint32_t length; /* Data: payload bytes; WindowUpdate: delta; Ping: id; GoAway: code */
};

/* Writes the 12-byte big-endian encoding of h into out. */
void ufrpc_yamux_header_encode(uint8_t out[UFRPC_YAMUX_HEADER_SIZE],
                               const struct ufrpc_yamux_header *h);

/* Decodes 12 bytes. Fills *h and returns 0, or UFRPC_ERR_YAMUX_VERSION (version != 0)
 * or UFRPC_ERR_YAMUX_TYPE (type > 3); *h is filled in every case. */
int ufrpc_yamux_header_decode(const uint8_t in[UFRPC_YAMUX_HEADER_SIZE],
                              struct ufrpc_yamux_header *h);

/* ---- session --------------------------------------------------------------------- */

typedef struct ufrpc_yamux_session ufrpc_yamux_session_t;
typedef struct ufrpc_yamux_stream ufrpc_yamux_stream_t;

enum ufrpc_yamux_role {
    UFRPC_YAMUX_CLIENT = 0, /* opens odd stream ids (frpc) */
    UFRPC_YAMUX_SERVER = 1, /* opens even stream ids (frps) */
};

struct ufrpc_yamux_config {
    uint32_t max_stream_window;      /* >= 256 KiB; default 6 MiB (frp) */
    int enable_keepalive;            /* default 1 */
    uint32_t keepalive_interval_ms;  /* default 30000 (frp) */
    uint32_t keepalive_timeout_ms;   /* no Ping ACK within this -> error; default 10000 */
    size_t max_output_bytes;         /* bound on queued stream data; default 256 KiB */
    uint32_t accept_backlog;         /* max live peer-opened streams; default 1024 */
    uint32_t stream_close_timeout_ms; /* orphan (closed+released) stream -> RST; 300000 */
    /* Every allocation of the session and its streams goes through mem (NULL =
     * libc; default NULL). It must outlive the session (proto/mem.h). */
    const struct ufrpc_mem *mem;
};

/* Fills *c with the defaults above. */
void ufrpc_yamux_config_default(struct ufrpc_yamux_config *c);

/* Event callbacks; every one may be NULL. user_data is the session's. */
struct ufrpc_yamux_callbacks {
    /* The peer opened st. Return 0 to accept (the application now holds a
     * reference: see "Stream lifetime"), non-zero to refuse (RST is sent and st
     * must not be used after the callback). NULL callback = refuse all. */
    int (*on_stream_open)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                          void *user_data);
    /* Payload for st; data is valid only during the call. The bytes count as held
     * until ufrpc_yamux_stream_consume(). */
    void (*on_stream_data)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                           const uint8_t *data, size_t len, void *user_data);
    /* The peer half-closed st (FIN): no more data will arrive. */
    void (*on_stream_fin)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                          void *user_data);
    /* The peer reset st (RST). Writes fail from now on; release it. */
    void (*on_stream_reset)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                            void *user_data);
    /* The peer acknowledged a stream we opened (WindowUpdate|ACK). Informative. */
    void (*on_stream_ack)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                          void *user_data);
    /* A write on st returned less than asked; the send window has reopened or
     * output space has been freed: try again. */
    void (*on_stream_writable)(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st,
                               void *user_data);
    /* The peer sent GoAway with this code. Code 0: no new streams may be opened,
     * existing ones continue. Other codes are followed by on_session_error. */
    void (*on_goaway)(ufrpc_yamux_session_t *s, uint32_t code, void *user_data);
    /* The session failed (err < 0); called once. */
    void (*on_session_error)(ufrpc_yamux_session_t *s, int err, void *user_data);
};

/* Creates a session. config NULL = defaults; config and callbacks are copied.
 * now_ms is the caller's monotonic clock (keepalive starts counting from it).
 * Returns 0, UFRPC_ERR_INVAL (bad config) or UFRPC_ERR_NOMEM. Free with
 * ufrpc_yamux_session_free(). */
int ufrpc_yamux_session_new(ufrpc_yamux_session_t **out, enum ufrpc_yamux_role role,
                            const struct ufrpc_yamux_config *config,
                            const struct ufrpc_yamux_callbacks *callbacks, void *user_data,
                            uint64_t now_ms);

/* Frees the session, its buffers and every stream (all stream pointers die). NULL ok. */
void ufrpc_yamux_session_free(ufrpc_yamux_session_t *s);

/* Consumes len received bytes (any split). Returns 0 or the session's fatal error. */
int ufrpc_yamux_feed(ufrpc_yamux_session_t *s, const uint8_t *data, size_t len,
                     uint64_t now_ms);

/* Fills up to iovcnt iovecs (at most 2 are ever needed) with queued output and
 * returns how many were filled (0 = nothing to send). See "Output" for validity. */
int ufrpc_yamux_pending_output(ufrpc_yamux_session_t *s, struct iovec *iov, int iovcnt);

/* Bytes queued and not yet acknowledged with ufrpc_yamux_output_sent(). */
size_t ufrpc_yamux_pending_bytes(const ufrpc_yamux_session_t *s);

/* The transport took the first n pending bytes. May fire on_stream_writable
 * (also with n 0: then it only wakes the streams waiting for output space, if
 * there is space).
 * Returns 0, or UFRPC_ERR_INVAL if n exceeds the pending bytes. */
int ufrpc_yamux_output_sent(ufrpc_yamux_session_t *s, size_t n);

/* Absolute time (ms, same clock as now_ms) at which ufrpc_yamux_on_timeout() must
 * be called, or UINT64_MAX if none. */
uint64_t ufrpc_yamux_next_deadline(const ufrpc_yamux_session_t *s);

/* Runs timers due at now_ms: sends keepalive pings, detects a missing Ping ACK
 * (UFRPC_ERR_YAMUX_KEEPALIVE), resets timed-out orphans. Returns 0 or the error. */
int ufrpc_yamux_on_timeout(ufrpc_yamux_session_t *s, uint64_t now_ms);

/* Queues GoAway(code). We then refuse peer-opened streams (RST) and
 * ufrpc_yamux_stream_open() fails. Existing streams continue. Returns 0 or error. */
int ufrpc_yamux_session_goaway(ufrpc_yamux_session_t *s, uint32_t code);

/* 0 while healthy, else the fatal error. */
int ufrpc_yamux_session_error(const ufrpc_yamux_session_t *s);

/* 1 once the peer sent GoAway(0) (no new streams). */
int ufrpc_yamux_session_remote_goaway(const ufrpc_yamux_session_t *s);

/* Number of stream objects alive in the session (for tests and metrics). */
size_t ufrpc_yamux_session_num_streams(const ufrpc_yamux_session_t *s);
/* How many times a stream's write stopped on an empty send window (each wait for a
 * window update counts once). */
uint64_t ufrpc_yamux_session_window_stalls(const ufrpc_yamux_session_t *s);

void *ufrpc_yamux_session_user_data(const ufrpc_yamux_session_t *s);

/* ---- streams --------------------------------------------------------------------- */

/* Opens a stream (client odd ids 1,3,5...; server even 2,4,...) and queues
 * WindowUpdate|SYN with delta max_stream_window - 256 KiB; data may be written at
 * once. Returns 0, UFRPC_ERR_YAMUX_GOAWAY (either side sent GoAway),
 * UFRPC_ERR_YAMUX_STREAMS_EXHAUSTED, UFRPC_ERR_NOMEM or the session's error. */
int ufrpc_yamux_stream_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t **out);

/* Queues up to len bytes as Data frames; returns how many were accepted
 * (<= the peer's send window and the free output space; 0 = blocked: wait for
 * on_stream_writable), or UFRPC_ERR_CLOSED (after close), UFRPC_ERR_YAMUX_RESET,
 * or the session's error. The bytes are copied once into the output ring. */
ptrdiff_t ufrpc_yamux_stream_write(ufrpc_yamux_stream_t *st, const uint8_t *data, size_t len);

/* Zero-copy write, for a caller whose transport copies what it is given (TLS
 * seals it into records): when every queued byte is in the ring (no control frame
 * waits for ring space), takes up to len bytes of st's send window and encodes
 * the Data frame header for them into hdr, without touching the ring. The caller
 * must then hand the transport, in this order and before any other output of the
 * session, the pending output (ufrpc_yamux_pending_output, taken right before
 * this call), hdr, and those n bytes of its own, and acknowledge the pending
 * output with ufrpc_yamux_output_sent. Returns n, 0 when not possible now (a
 * control frame waits, SYN not sent yet, window empty: use
 * ufrpc_yamux_stream_write), or the errors of stream_write. */
ptrdiff_t ufrpc_yamux_stream_write_direct(ufrpc_yamux_stream_t *st, size_t len,
                                          uint8_t hdr[UFRPC_YAMUX_HEADER_SIZE]);

/* Payload bytes ufrpc_yamux_stream_write would take now (<= the send window and
 * the free output space less a frame header), 0 when it would take none (then
 * ufrpc_yamux_stream_want_writable asks to be told), or the error it would
 * return. */
ptrdiff_t ufrpc_yamux_stream_write_room(const ufrpc_yamux_stream_t *st);

/* Asks for on_stream_writable when st's send window reopens (if it is empty) or
 * else when output space is freed (at least 16 KiB free, as for a write that took
 * less than asked; also ufrpc_yamux_output_sent with n 0 then), for a caller that
 * checks ufrpc_yamux_stream_write_room before it has bytes to write, or that
 * wants its turn later. No-op when the write would fail. */
void ufrpc_yamux_stream_want_writable(ufrpc_yamux_stream_t *st);

/* The application has disposed of n delivered bytes; may queue a WindowUpdate.
 * Returns 0 or UFRPC_ERR_INVAL (n > unconsumed). */
int ufrpc_yamux_stream_consume(ufrpc_yamux_stream_t *st, size_t n);

/* Half-close: queues WindowUpdate|FIN (after any data already written). 0 or error;
 * closing twice is a no-op. */
int ufrpc_yamux_stream_close(ufrpc_yamux_stream_t *st);

/* Aborts: queues WindowUpdate|RST; later peer frames for it are dropped. */
int ufrpc_yamux_stream_reset(ufrpc_yamux_stream_t *st);

/* Gives up the application's reference (see "Stream lifetime"). */
void ufrpc_yamux_stream_release(ufrpc_yamux_stream_t *st);

uint32_t ufrpc_yamux_stream_id(const ufrpc_yamux_stream_t *st);
void ufrpc_yamux_stream_set_user_data(ufrpc_yamux_stream_t *st, void *user_data);
void *ufrpc_yamux_stream_user_data(const ufrpc_yamux_stream_t *st);
ufrpc_yamux_session_t *ufrpc_yamux_stream_session(const ufrpc_yamux_stream_t *st);

/* Bytes delivered to on_stream_data and not yet consumed (<= max_stream_window). */
size_t ufrpc_yamux_stream_unconsumed(const ufrpc_yamux_stream_t *st);
/* The most bytes ever unconsumed at once on this stream (its high-water mark). */
size_t ufrpc_yamux_stream_max_unconsumed(const ufrpc_yamux_stream_t *st);
/* How many more payload bytes the peer may send us / we may send the peer. */
uint32_t ufrpc_yamux_stream_recv_window(const ufrpc_yamux_stream_t *st);
uint32_t ufrpc_yamux_stream_send_window(const ufrpc_yamux_stream_t *st);
/* 1 once the peer sent FIN / either side reset the stream. */
int ufrpc_yamux_stream_remote_closed(const ufrpc_yamux_stream_t *st);
int ufrpc_yamux_stream_is_reset(const ufrpc_yamux_stream_t *st);

#endif
