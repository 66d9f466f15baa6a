/* ufrpc — pump: joins two streams and copies bytes both ways with backpressure.
 *
 * Each direction reads from one stream and writes the received buffers to the
 * other without copying: first with ufrpc_stream_try_write (TCP: what the kernel
 * takes at once needs no request, and the read buffer goes back at once), then
 * the rest as a write that references the read buffer until it completes. While
 * the buffers held by a direction's writes in flight reach `max_buffered` bytes
 * (counted by buffer capacity, so the bound is on memory), reading from its
 * source stops; it resumes when they drop to half of that. Towards a stream that
 * takes bytes through try_write (TCP, a yamux stream), reading stops at the first
 * write that had to be queued (its socket buffer or the session's output ring is
 * full: that is the queue), so one delivery is held at most. Towards a stream
 * that also tells when it takes bytes again (a yamux stream: write_room and
 * notify_writable, net/stream.h) from a source that can be gated (TCP), each
 * read takes no more than the destination takes now and none while it takes
 * nothing: then reading waits for notify_writable, and a direction blocked on a
 * full session or an empty send window holds no buffer at all (a read that
 * still gets only partly taken, when others took the room first, is held as
 * above). Memory held by a pump is therefore at most, per
 * direction,
 *   max_buffered + one delivery (<= 64 KiB for TCP/TLS sources)
 * plus the streams' own buffers while data waits in them (TCP and TLS hold no read
 * buffer between reads, net/tcp.h; TLS: its output chunks while a write is in
 * flight and a partial record; yamux: its window accounting, see net/mux.h).
 *
 * EOF on one side is passed on as shutdown (half-close) of the other side after
 * the bytes before it. The pump ends when both directions have passed on their
 * EOF (status 0), when an EOF marked with ufrpc_pump_end_at_eof has been passed on
 * (status 0), or on the first read/write/shutdown error (that status); it then
 * closes both streams and calls done once both are closed.
 *
 * Ownership: the pump takes both streams (and their `data` fields) and closes
 * them. It frees itself right after the done callback returns.
 */
#ifndef UFRPC_NET_PUMP_H
#define UFRPC_NET_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

#define UFRPC_PUMP_DEFAULT_MAX_BUFFERED (256u * 1024u)

typedef struct ufrpc_pump ufrpc_pump_t;

struct ufrpc_pump_stats {
    uint64_t a_to_b, b_to_a;          /* bytes written so far (completed) */
    size_t buffered_a_to_b, buffered_b_to_a;       /* held now */
    size_t max_buffered_a_to_b, max_buffered_b_to_a; /* high-water marks */
};

typedef void (*ufrpc_pump_done_cb)(ufrpc_pump_t *p, int status,
                                   const struct ufrpc_pump_stats *stats, void *data);

/* Starts pumping. max_buffered 0 = UFRPC_PUMP_DEFAULT_MAX_BUFFERED. Returns 0 and
 * *out (may be NULL), or <0: then both streams have been closed and cb never runs. */
int ufrpc_pump_start(struct ufrpc_stream *a, struct ufrpc_stream *b, size_t max_buffered,
                     ufrpc_pump_done_cb cb, void *data, ufrpc_pump_t **out);
/* Makes the EOF read from `from` (one of the pump's two streams) end the whole
 * pump once it has been passed on, instead of half-closing: the other stream is
 * then closed at once (nothing more is read from it) and `from` gets an orderly end
 * (shutdown) when no write to it is pending, else it is closed too (the bytes being
 * written to it are dropped: its peer reads no more); the pump ends with status 0
 * (also when that last shutdown fails: its peer has closed first, nothing is lost),
 * as frp's io.Join (fatedier/golib v0.7.0 io/io.go) closes both connections at the
 * first EOF. frps ends a work connection that way, so a FIN from it means nobody
 * reads what is sent after it. Call right after ufrpc_pump_start, before
 * returning to the loop. */
void ufrpc_pump_end_at_eof(ufrpc_pump_t *p, const struct ufrpc_stream *from);
/* Live counters (for the registry). */
void ufrpc_pump_get_stats(const ufrpc_pump_t *p, struct ufrpc_pump_stats *st);
/* Ends the pump now: closes both streams; done runs later with UFRPC_ERR_CANCELED.
 * No-op if the pump is already ending. */
void ufrpc_pump_abort(ufrpc_pump_t *p);

#endif
