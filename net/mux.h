/* ufrpc — yamux over a transport stream (TCP or TLS), each yamux stream exposed
 * as a struct ufrpc_stream (net/stream.h).
 *
 * The mux owns the proto/ yamux session and the transport stream: it feeds every
 * received transport buffer to the session, writes the session's pending output
 * with one transport write at a time (output produced meanwhile is coalesced into
 * the next write; over a transport that copies, several, see Writes), and keeps
 * one uv_timer on the session's next deadline (keepalive pings, orphan timeouts).
 *
 * Reads on a mux stream: payload is delivered as a slice of the transport's
 * read buffer (a reference, no copy), also when it arrives while the consumer has
 * stopped reading (then it waits in the stream, still referencing the buffer).
 * Payload under 1 KiB is copied instead (small copies for a stream that is not
 * reading are appended to one another), and so is payload whose reference would
 * pin a whole transport buffer for too little: the capacity of the transport
 * buffers a stream pins never exceeds the payload its slices reference plus
 * 256 KiB. The session's consume() runs only when the consumer has released the
 * delivered buffer (ufrpc_rbuf_unref after its own write completed), so a slow
 * consumer holds at most the advertised window (max_stream_window, default
 * 6 MiB) of payload per stream, in at most window + 256 KiB of memory (plus
 * ~64 bytes per slice), and the peer stops sending until it drains. A delivered
 * buffer's cap states the memory that slice keeps alive (payload or copy plus its
 * header), for consumers such as the pump that bound what they hold.
 *
 * Writes: bytes are copied into the session's output ring (bounded by
 * max_output_bytes for all streams); a write completes once all its bytes are in
 * the ring, and waits (queued() > 0) while the peer's window or the ring is full.
 * try_write (net/stream.h) copies what fits now; write_room says how much that is
 * (the send window and the free output space) and notify_writable asks to be
 * told when it may have grown (the window reopens, output space is freed, the
 * stream fails). Waiters are woken only as far as the free output space covers
 * (up to 64 KiB promised to each until the loop's next prepare phase), the
 * others in turn after that, so a freed share of the ring wakes a few streams,
 * not every blocked one. Over a transport that copies
 * what it is given (TLS: ufrpc_stream_copies_writes), ring output is handed to it
 * in several writes at once while it queues less than max_output_bytes and
 * leaves the ring then; and try_write of 16 KiB or more when nothing is queued
 * goes to the transport as one Data frame without the ring (no copy).
 * shutdown() sends FIN after earlier writes; close() sends FIN (if not sent) and
 * releases the stream (Go's Close semantics); a peer RST is reported as
 * UFRPC_ERR_CONN_RESET, a session failure as that error.
 *
 * Lifetimes: mux streams follow net/stream.h (owner closes them; freed after the
 * close callback). ufrpc_mux_close() fails every open mux stream with
 * UFRPC_ERR_YAMUX_SESSION_CLOSED (their owners must still close them), closes the
 * transport, and calls its callback once the transport and every mux stream are
 * closed; the mux is freed right after that callback.
 */
#ifndef UFRPC_NET_MUX_H
#define UFRPC_NET_MUX_H

#include <uv.h>

#include "net/stream.h"
#include "proto/yamux.h"

typedef struct ufrpc_mux ufrpc_mux_t;

struct ufrpc_mux_callbacks {
    /* The peer opened st (the receiver owns it). NULL: peer streams are refused. */
    void (*on_accept)(ufrpc_mux_t *m, struct ufrpc_stream *st, void *data);
    /* The session or the transport failed (once). Streams report it too. The
     * owner should ufrpc_mux_close(). May be NULL. */
    void (*on_error)(ufrpc_mux_t *m, int err, void *data);
};

/* Runs a session over transport (ownership passes to the mux, also on failure).
 * config NULL = yamux defaults (6 MiB window, 30 s keepalive). 0 or <0. */
int ufrpc_mux_new(uv_loop_t *loop, struct ufrpc_stream *transport, enum ufrpc_yamux_role role,
                  const struct ufrpc_yamux_config *config, const struct ufrpc_mux_callbacks *cbs,
                  void *data, ufrpc_mux_t **out);
/* Opens a stream (WindowUpdate|SYN goes out at once). 0 and *out, or <0
 * (UFRPC_ERR_YAMUX_GOAWAY, the session's error, UFRPC_ERR_NOMEM, _CLOSED). */
int ufrpc_mux_open(ufrpc_mux_t *m, struct ufrpc_stream **out);
/* The session (read-only use: counters, windows). NULL after ufrpc_mux_close. */
ufrpc_yamux_session_t *ufrpc_mux_session(ufrpc_mux_t *m);
/* The yamux stream behind a mux stream (NULL once closed or detached). */
ufrpc_yamux_stream_t *ufrpc_mux_stream_yamux(struct ufrpc_stream *st);
void *ufrpc_mux_data(const ufrpc_mux_t *m);

/* Payload delivered to mux streams so far, as references into transport buffers
 * and as copies (for tests and profiling). */
struct ufrpc_mux_stats {
    uint64_t bytes_referenced;
    uint64_t bytes_copied;
    uint64_t bytes_direct; /* written: payload handed to the transport without the ring */
};
void ufrpc_mux_get_stats(const ufrpc_mux_t *m, struct ufrpc_mux_stats *st);
/* Capacity of the transport buffers the live slices of mux stream st pin, and the
 * payload those slices reference (pinned <= ref_bytes + 256 KiB always). 0, or
 * UFRPC_ERR_INVAL when st is not a mux stream. Valid until st's close callback. */
int ufrpc_mux_stream_pinned(const struct ufrpc_stream *st, size_t *pinned, size_t *ref_bytes);
void ufrpc_mux_close(ufrpc_mux_t *m, void (*cb)(void *data));

#endif
