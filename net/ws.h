/* ufrpc — WebSocket stream over any struct ufrpc_stream, client and server role
 * (frp's websocket transport, docs/PROTOCOL.md §1.3; codec in proto/ws.h).
 *
 * A websocket stream is a struct ufrpc_stream (net/stream.h) that owns its lower
 * stream: closing it closes the lower one, and the lower stream's `data` field
 * belongs to it from creation on. It is usable after its handshake callback
 * reported 0; reads and writes before that fail with UFRPC_ERR_STATE. On a
 * handshake error the owner must close it; until then ufrpc_ws_failure_text
 * tells why (e.g. "server answered 404 Not Found instead of 101 ...").
 *
 * Client: writes the upgrade request (proto/ws.h: GET /~!frp, Host as given,
 * Origin http://<host>, a random key) and checks the 101 answer. Server: reads a
 * request (it must be the first thing on the lower stream), answers 101, or 400
 * and fails with UFRPC_ERR_WS_HANDSHAKE. Both within handshake_timeout_ms
 * (UFRPC_ERR_TIMEOUT), reading at most UFRPC_WS_MAX_HEAD bytes of head.
 *
 * Data: every write request becomes binary frames (FIN set) of at most 64 KiB of
 * payload each -- one frame for writes up to that size, as Go's writer does for
 * each Write; the client masks them with a fresh key per frame. Frames are copied
 * (and masked) into 64 KiB chunks from a per-stream pool that are written to the
 * lower stream; a write request completes when the chunk with its last byte was
 * written. queued() counts framed bytes not yet written by the lower stream, so
 * a pump's backpressure sees them. Reads: payload of binary frames (and their
 * continuations) is delivered as slices of the lower stream's buffers (client
 * role, zero copy) or of unmasked copies (server role); nothing is read from the
 * lower stream while the owner does not read.
 *
 * Control: pings are answered with pongs carrying the same payload (at most 8
 * pongs unsent at once; beyond that pings are not answered, RFC 6455 allows it);
 * pongs are ignored. A close frame from the peer, or the lower stream's EOF, is
 * delivered as UFRPC_ERR_EOF (what follows a close frame is not read). shutdown()
 * sends a close frame (1000) after all earlier writes, then shuts the lower
 * stream down; the peer may still send (as Go, which only stops reading). From
 * then on the lower stream is read even while the owner does not read: control
 * frames and the peer's close frame are consumed (a data frame stops this until
 * the owner reads) and bytes after the close are discarded up to the lower EOF,
 * so that closing the socket later does not reset it with unread bytes in it
 * (which destroys data still in flight to the peer). The shutdown callback runs
 * once the close handshake is done: our close frame written (lower shutdown
 * complete) and the peer's close frame, the lower EOF or an error received --
 * or 5 s after the shutdown at the latest. A
 * text frame, an oversized frame or a protocol violation ends reads with
 * UFRPC_ERR_WS_TEXT / _WS_TOO_BIG / _WS_PROTOCOL, after a best-effort close frame
 * (1002). close() aborts: it sends nothing more and closes the lower stream.
 */
#ifndef UFRPC_NET_WS_H
#define UFRPC_NET_WS_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

typedef void (*ufrpc_ws_handshake_cb)(struct ufrpc_stream *s, int status);

struct ufrpc_ws_client_opts {
    /* Host header: "host:port" for frp's websocket ([v6]:port for IPv6 literals),
     * the bare server name for wss. Copied. */
    const char *host;
    uint32_t handshake_timeout_ms; /* 0 = 10000 */
    uint64_t max_payload;          /* largest frame accepted; 0 = the codec's default */
};

/* Starts a client handshake over lower (ownership of lower passes to the new
 * stream, even on failure: then lower is closed). `data` becomes the stream's
 * data field. NULL with *err on failure (UFRPC_ERR_NOMEM, _INVAL for a bad host).
 * cb runs once, never from inside. */
struct ufrpc_stream *ufrpc_ws_client_new(struct ufrpc_stream *lower,
                                         const struct ufrpc_ws_client_opts *o,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err);

/* Same for the server role (the test frps): reads the upgrade request from lower. */
struct ufrpc_stream *ufrpc_ws_server_new(struct ufrpc_stream *lower, uint32_t handshake_timeout_ms,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err);

/* True when s is a websocket stream. */
int ufrpc_ws_is(const struct ufrpc_stream *s);

/* After a failed handshake (or a frame error): one line, NUL-terminated and
 * truncated to cap, naming what went wrong, e.g. "server answered 404 Not Found
 * instead of 101 Switching Protocols", "connection closed before the upgrade
 * answer", "no upgrade answer within 10000 ms". Returns 0, or UFRPC_ERR_STATE
 * (buf set to "") when s is not a websocket stream that failed. */
int ufrpc_ws_failure_text(const struct ufrpc_stream *s, char *buf, size_t cap);

#endif
