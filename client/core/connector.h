/* ufrpc — the connector: how one login session reaches frps (frp client/connector.go).
 *
 * tcpMux = true:  open() dials TCP (DNS resolved afresh), optional 0x17 + TLS, and
 *                 starts a yamux client session; every connect() opens a yamux stream
 *                 (stream 1 is the control, then work/visitor streams).
 * tcpMux = false: open() does nothing; every connect() is a fresh TCP (+TLS) dial.
 * transport.protocol "websocket" puts a websocket upgrade between TCP and TLS,
 * "wss" one after TLS (always on, no 0x17 byte), as frpc does (connector.c).
 *
 * Callbacks never run from inside the call that started the operation, except that
 * ufrpc_connector_close() cancels pending connects (their callbacks run with
 * UFRPC_ERR_CANCELED before it returns).
 *
 * Ownership: the connector borrows cfg, tls (may be NULL when TLS is off) and log,
 * which must outlive it. A stream handed to a connect callback belongs to the
 * callback's receiver (close it with ufrpc_stream_close). Mux streams fail with
 * UFRPC_ERR_YAMUX_SESSION_CLOSED once the connector is closed; their owners must
 * still close them. ufrpc_connector_close() frees the connector after its callback. */
#ifndef UFRPC_CLIENT_CONNECTOR_H
#define UFRPC_CLIENT_CONNECTOR_H

#include <uv.h>

#include "client/core/log.h"
#include "config/config.h"
#include "net/stream.h"
#include "net/tls.h"

typedef struct ufrpc_connector ufrpc_connector_t;

/* open finished: 0 or a dial/TLS/yamux error. */
typedef void (*ufrpc_connector_open_cb)(ufrpc_connector_t *c, int status, void *data);
/* connect finished: status 0 with a stream the receiver now owns, or <0 and NULL. */
typedef void (*ufrpc_connector_connect_cb)(ufrpc_connector_t *c, int status,
                                           struct ufrpc_stream *s, void *data);
/* The yamux session failed after open (the control will notice too). May be NULL. */
typedef void (*ufrpc_connector_error_cb)(ufrpc_connector_t *c, int err, void *data);

/* data is passed to every callback. 0 and *out, or <0. */
int ufrpc_connector_new(uv_loop_t *loop, const struct ufrpc_config *cfg, ufrpc_tls_ctx_t *tls,
                        struct ufrpc_log *log, ufrpc_connector_error_cb on_error, void *data,
                        ufrpc_connector_t **out);

/* Starts open(); cb runs once. 0 or <0 (then cb never runs). */
int ufrpc_connector_open(ufrpc_connector_t *c, ufrpc_connector_open_cb cb);

/* Starts a connect; cb runs once with `req_data` (never from inside this call).
 * 0 or <0 (then cb never runs). */
int ufrpc_connector_connect(ufrpc_connector_t *c, ufrpc_connector_connect_cb cb, void *req_data);

/* Cancels pending work, closes the yamux session / transport, and calls cb (may be
 * NULL) once everything is closed; then frees the connector. */
void ufrpc_connector_close(ufrpc_connector_t *c, void (*cb)(void *data));

/* A reload replaced the configuration with one whose common part is equal
 * (ufrpc_config_common_equal): cfg (borrowed like the one given to _new) is read
 * from now on instead. */
void ufrpc_connector_set_cfg(ufrpc_connector_t *c, const struct ufrpc_config *cfg);

/* After a connect or open failed with status: if the last TLS handshake of this
 * connector failed with that status, writes one line for the log, "tls: <step>
 * failed: <cause, in Mbed TLS's words> (host:port); hint: <what to change>"
 * (truncated to cap) and returns 0; the same for a failed websocket upgrade
 * (transport.protocol websocket or wss): "websocket: upgrade failed: server
 * answered 404 Not Found instead of 101 Switching Protocols (host:port); hint:
 * ..."; otherwise UFRPC_ERR_NOT_FOUND. */
int ufrpc_connector_describe_tls(const ufrpc_connector_t *c, int status, char *out, size_t cap);

/* "host:port" of the server (for messages). */
const char *ufrpc_connector_address(const ufrpc_connector_t *c);

/* With tcpMux: the yamux streams alive now and the session's window stalls so far
 * (proto/yamux.h); both 0 without a yamux session. */
void ufrpc_connector_mux_stats(const ufrpc_connector_t *c, uint64_t *streams,
                               uint64_t *window_stalls);

#endif
