/* ufrpc — QUIC sessions for transport.protocol = "quic" and xtcp (frp: one QUIC
 * connection to frps's quicBindPort, ALPN "frp", TLS 1.3; every frp connection,
 * the control first, is one bidirectional QUIC stream; no yamux, no TLS inside).
 *
 * Built on ngtcp2 with its GnuTLS crypto helper (Debian: libngtcp2-dev,
 * libngtcp2-crypto-gnutls-dev) when CMake finds them (UFRPC_QUIC); without them
 * ufrpc_quic_connect fails with UFRPC_ERR_UNSUPPORTED.
 *
 * Like frpc (Go's InsecureSkipVerify without a CA), the server certificate is
 * verified only when ca_file is set, against it and server_name.
 *
 * Memory: a stream keeps the bytes written but not yet acknowledged, up to what
 * is in flight plus what flow control and the congestion window let it send next
 * (one 64 KiB block at least, UFRPC_QUIC_SEND_BUF at most; writes wait beyond
 * that); all streams of a session together at most twice the congestion window
 * (within [UFRPC_QUIC_SEND_BUF, UFRPC_QUIC_SESSION_SEND_BUF]) beyond one block
 * each. An idle stream keeps no send block. A stream receives at most its
 * flow-control window (UFRPC_QUIC_STREAM_WINDOW, 4 MiB; quic-go grows frpc's to
 * 6 MB) while its reader is stopped, all streams together at most the session's
 * (UFRPC_QUIC_SESSION_WINDOW). Datagrams are read up to 16 at a time (recvmmsg),
 * a stream's frames of one loop turn reach its reader as one delivery, and acks
 * go out once per loop turn.
 * Sending is paced by ngtcp2 (its send quantum per burst); the packets of a burst
 * go to the kernel in one sendmsg where Linux offers UDP_SEGMENT (GSO), one by
 * one elsewhere; a full kernel send buffer holds sending back instead of dropping
 * datagrams. Work per loop turn follows the streams that have something to do
 * (data to send, to deliver, writes waiting for room), not every open stream.
 *
 * Ownership: the session is created by ufrpc_quic_connect and freed after
 * ufrpc_quic_close's callback; streams (struct ufrpc_stream, net/stream.h) are
 * the opener's and must be closed by it, also after the session failed (their
 * calls then fail with UFRPC_ERR_CLOSED). Callbacks never run from inside the
 * call that started the operation. Loop thread only. */
#ifndef UFRPC_NET_QUIC_H
#define UFRPC_NET_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/stream.h"

#define UFRPC_QUIC_SEND_BUF (1u << 20)
#define UFRPC_QUIC_SESSION_SEND_BUF (8u << 20)
#define UFRPC_QUIC_STREAM_WINDOW (4u << 20)
#define UFRPC_QUIC_SESSION_WINDOW (16u << 20)

typedef struct ufrpc_quic ufrpc_quic_t;

struct ufrpc_quic_opts {
    const char *host;         /* server address (name or IP literal) */
    uint16_t port;
    const char *server_name;  /* SNI / verification name; NULL: host */
    const char *ca_file;      /* NULL: no verification (frpc's default) */
    const char *cert_file, *key_file; /* client certificate, or NULL */
    uint32_t idle_timeout_s;  /* transport.quic.maxIdleTimeout; 0: 30 */
    uint32_t keepalive_s;     /* transport.quic.keepalivePeriod; 0: off */
    uint32_t handshake_timeout_ms; /* 0: 10000 */
    /* xtcp: run over this already bound UDP socket (the punched one; taken, also
     * on failure) instead of a fresh one; host is then the peer's IP literal. */
    bool use_fd;
    uv_os_sock_t fd;
};

/* status 0: the handshake is done and streams may be opened. <0: the session
 * failed (its memory stays until ufrpc_quic_close). */
typedef void (*ufrpc_quic_connect_cb)(ufrpc_quic_t *q, int status, void *data);
/* The session died after connecting (idle timeout, peer close, ...). */
typedef void (*ufrpc_quic_error_cb)(ufrpc_quic_t *q, int err, void *data);

int ufrpc_quic_connect(uv_loop_t *loop, const struct ufrpc_quic_opts *o, ufrpc_quic_connect_cb cb,
                       ufrpc_quic_error_cb on_error, void *data, ufrpc_quic_t **out);

/* Opens a bidirectional stream: 0 and *out, UFRPC_ERR_STATE (not connected),
 * UFRPC_ERR_CLOSED (the session failed), UFRPC_ERR_LIMIT (the peer's stream
 * limit), UFRPC_ERR_NOMEM. */
int ufrpc_quic_open_stream(ufrpc_quic_t *q, struct ufrpc_stream **out);

/* Sends CONNECTION_CLOSE (when connected), closes the socket and timers; cb runs
 * once everything is closed, then the session is freed. Open streams fail with
 * UFRPC_ERR_CLOSED and stay for their owners to close. */
void ufrpc_quic_close(ufrpc_quic_t *q, void (*cb)(void *data), void *data);

/* Why the session failed, in words ("" while fine). */
const char *ufrpc_quic_error_text(const ufrpc_quic_t *q);

/* ---- the server side ----------------------------------------------------------------
 * A listener on one UDP socket (bound here, or adopted: xtcp's punched one) serves
 * QUIC as frps's quic-go listener does: TLS 1.3, ALPN "frp" (mandatory), one session
 * per client address (up to max_sessions), every bidirectional stream a client
 * opens handed to on_accept as a struct ufrpc_stream (the same stream code as a
 * client's: the same buffers and limits) once its first frame arrived; up to
 * max_streams open at once per session (quic-go's MaxIncomingStreams). No Retry,
 * no stateless reset, no migration; version negotiation answers v1 only.
 *
 * Ownership: accepted streams are the owner's and must be closed by it (they fail
 * with UFRPC_ERR_CLOSED / UFRPC_ERR_EOF when their session ends). A session that
 * fails is reported once to on_end (with the reason in words) and closed. Callbacks
 * never run from inside a call of the owner. ufrpc_quic_listener_close closes
 * every session (CONNECTION_CLOSE) and the socket; cb runs once the socket is
 * closed, and then the listener is freed (sessions kept alive by accepted streams
 * stay until those are closed, sending nothing). */
typedef struct ufrpc_quic_listener ufrpc_quic_listener_t;

struct ufrpc_quic_listen_opts {
    const char *bind_ip;      /* IPv4 or IPv6 literal; NULL/"": 0.0.0.0 */
    uint16_t port;            /* 0: any free port (ufrpc_quic_listener_port) */
    bool use_fd;              /* serve on this bound UDP socket instead (taken, also */
    uv_os_sock_t fd;          /* on failure) */
    const char *cert_file, *key_file; /* PEM; NULL: a generated self-signed one (frp's) */
    uint32_t idle_timeout_s;  /* 0: 30 */
    uint32_t keepalive_s;     /* 0: off */
    uint32_t max_streams;     /* 0: 100000 (frp's default maxIncomingStreams) */
    uint32_t max_sessions;    /* 0: 64 */
};

typedef void (*ufrpc_quic_accept_cb)(ufrpc_quic_listener_t *l, struct ufrpc_stream *s,
                                     void *data);
typedef void (*ufrpc_quic_session_end_cb)(ufrpc_quic_listener_t *l, int err, const char *why,
                                          void *data);

/* 0 and *out, or <0 with err (errlen bytes) saying why. on_end may be NULL. */
int ufrpc_quic_listen(uv_loop_t *loop, const struct ufrpc_quic_listen_opts *o,
                      ufrpc_quic_accept_cb on_accept, ufrpc_quic_session_end_cb on_end,
                      void *data, ufrpc_quic_listener_t **out, char *err, size_t errlen);

uint16_t ufrpc_quic_listener_port(const ufrpc_quic_listener_t *l);

/* Sessions open now (handshaking or connected, not yet failed and closed). */
size_t ufrpc_quic_listener_sessions(const ufrpc_quic_listener_t *l);

void ufrpc_quic_listener_close(ufrpc_quic_listener_t *l, void (*cb)(void *data), void *data);

#endif
