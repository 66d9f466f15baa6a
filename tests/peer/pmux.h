/* ufrpc-test-frps — a yamux server session over a transport stream, with every
 * accepted yamux stream exposed as a struct ufrpc_stream (net/stream.h), so the
 * rest of the test peer (and net/pump) treats tcpMux on and off alike.
 *
 * Test code, not product. Built on proto/yamux.h in the server role.
 *
 * Lifetimes:
 * - pmux_new() takes the transport stream (TCP or TLS) and owns it from then on.
 * - Every accepted stream is handed to on_accept; the receiver owns it and closes
 *   it with ufrpc_stream_close() like any stream. The session object lives until
 *   the transport has ended AND every stream handed out has been closed; then it
 *   frees itself (on_end runs once, when the transport has ended).
 * - Read deliveries are refcounted buffers holding a copy of the payload; the yamux
 *   receive window is reopened when the consumer drops its reference, so memory
 *   per stream stays below the advertised window (6 MiB).
 * - Write requests complete once their bytes are in the session's output ring
 *   (bounded); callbacks run from an idle handle, never from inside a call.
 */
#ifndef UFRPC_TESTS_PEER_PMUX_H
#define UFRPC_TESTS_PEER_PMUX_H

#include <stdint.h>
#include <uv.h>

#include "net/stream.h"

typedef struct pmux pmux_t;

typedef void (*pmux_accept_cb)(pmux_t *m, struct ufrpc_stream *st, void *data);
/* The transport ended (status < 0 or UFRPC_ERR_EOF); accepted streams get errors. */
typedef void (*pmux_end_cb)(pmux_t *m, int status, void *data);

struct pmux_opts {
    uint32_t keepalive_ms; /* our own yamux pings; 0 = 30000 */
    /* optional: sees every transport byte received, before yamux parses it */
    void (*tap)(void *tap_ctx, const uint8_t *data, size_t len);
    void *tap_ctx;
};

/* Starts a server session on tr (owned from now on, even on failure). NULL on
 * failure (tr closed then). */
pmux_t *pmux_new(uv_loop_t *loop, struct ufrpc_stream *tr, const struct pmux_opts *o,
                 pmux_accept_cb on_accept, pmux_end_cb on_end, void *data);

/* Fault injection: stop reading the transport and stop writing to it. */
void pmux_stall(pmux_t *m);
/* Closes the transport now (all streams fail). */
void pmux_kill(pmux_t *m);
/* 1 if st was handed out by a pmux session (so pmux_of() may be called). */
int pmux_is_stream(const struct ufrpc_stream *st);
pmux_t *pmux_of(struct ufrpc_stream *st);

#endif
