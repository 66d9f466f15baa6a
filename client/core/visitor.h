/* ufrpc — stcp, sudp and xtcp visitors (docs/PROTOCOL.md §9).
 *
 * stcp: a TCP listener on bindAddr:bindPort. For each user connection the visitor
 *   asks the owner for a new stream to frps (env->open_stream: a yamux stream, or a
 *   new TCP/TLS connection when tcpMux is off), writes NewVisitorConn{run_id,
 *   proxy_name = "<serverUser or own user>.<serverName>" (no prefix when that user
 *   is empty), sign_key = md5(secretKey + timestamp), timestamp, use_encryption,
 *   use_compression} in plaintext v1 framing, reads NewVisitorConnResp within
 *   resp_timeout_ms (10 s; the body is read whatever its type byte, as frp's
 *   ReadMsgInto), closes with a logged reason on an error text, a bad frame or the
 *   timeout, then wraps the stream (env->wrap: encryption keyed by the SECRET KEY,
 *   compression) and pumps it with the user connection.
 * sudp: a UDP socket on bindAddr:bindPort. The first datagram opens one stream
 *   (same handshake); datagrams from local users go out as UDPPacket{c, r=<user
 *   addr>}, UDPPacket frames coming back are sent to their "r" address; Ping
 *   frames are ignored. As in frpc the stream is dropped after sudp_read_timeout_ms
 *   (60 s) without a message (the proxy side pings every 30 s) and reopened by the
 *   next datagram. The visitor itself sends no Ping by default: frp's visitor does
 *   not, and a v1 sudp proxy reads every frame as a UDPPacket, so a Ping would
 *   reach its local service as an empty datagram (sudp_ping_interval_ms enables
 *   it anyway). Datagrams waiting for the stream and frames waiting to be written
 *   are bounded by sudp_max_queued bytes; beyond that they are dropped and counted.
 * xtcp: the visitor listens like stcp. Each user connection gets a stream of the
 *   P2P tunnel (client/core/xtcp_tunnel.h: kcp + yamux, or quic), wrapped as stcp's
 *   (secret key) and pumped. Without a tunnel the connection waits (at most
 *   UFRPC_VISITOR_XTCP_MAX_WAITING of them) while one is made: fallbackTimeoutMs
 *   with fallbackTo, else 20 s (frp's openTunnel); then "open tunnel error: open
 *   tunnel timeout" and the connection goes to the fallbackTo visitor
 *   (env->lookup(), an stcp visitor: ufrpc_visitor_accept_conn) or is closed.
 *   Without env->send_msg (no control) every connection goes to fallbackTo at
 *   once (or is closed).
 *
 * Ownership and lifetimes:
 *  - env is copied; env->data and env->log must outlive the visitor. The config's
 *    strings are copied at start (a reload may free the config).
 *  - open_stream(data, cb, arg): the owner must call cb(arg, status, stream)
 *    exactly once (it may do so before returning), with a stream it hands over
 *    (status 0) or NULL (status < 0). If open_stream returns < 0 the callback
 *    must not run. The visitor stays allocated until every such callback came.
 *  - wrap(data, s, enc, comp, secret_key, &out): like ufrpc_xform_wrap (takes s;
 *    on failure s is closed). Called only when enc or comp is set; NULL then makes
 *    such visitors fail their connections with UFRPC_ERR_UNSUPPORTED. Typical
 *    owner: derive the key with ufrpc_cfb_derive_key(secret_key) (cache it) and
 *    call ufrpc_xform_wrap(s, enc, key, comp, NULL, out).
 *  - ufrpc_visitor_close() ends every connection, closes the listener and calls
 *    cb(data) once all is closed; the visitor is freed right after cb returns.
 */
#ifndef UFRPC_CLIENT_VISITOR_H
#define UFRPC_CLIENT_VISITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"
#include "config/config.h"
#include "net/stream.h"
#include "proto/msg.h"
#include "proto/wire.h"

#define UFRPC_VISITOR_RESP_TIMEOUT_MS 10000u
#define UFRPC_VISITOR_SUDP_READ_TIMEOUT_MS 60000u
#define UFRPC_VISITOR_XTCP_OPEN_TIMEOUT_MS 20000u
#define UFRPC_VISITOR_XTCP_MAX_WAITING 64

typedef struct ufrpc_visitor ufrpc_visitor_t;

typedef void (*ufrpc_visitor_stream_cb)(void *arg, int status, struct ufrpc_stream *s);

struct ufrpc_visitor_env {
    uv_loop_t *loop;
    struct ufrpc_log *log;   /* may be NULL */
    const char *user;        /* the client's own user (copied; NULL = none) */
    int (*open_stream)(void *data, ufrpc_visitor_stream_cb cb, void *arg);
    /* The current run id (read at each NewVisitorConn; NULL = ""). */
    const char *(*run_id)(void *data);
    int (*wrap)(void *data, struct ufrpc_stream *s, bool use_encryption,
                bool use_compression, const char *secret_key, struct ufrpc_stream **out);
    /* xtcp fallbackTo: the visitor with that name, or NULL. May be NULL. */
    ufrpc_visitor_t *(*lookup)(void *data, const char *name);
    /* Unix seconds for NewVisitorConn.timestamp; NULL = the real clock. */
    int64_t (*now_s)(void *data);
    size_t udp_packet_size;         /* 0 = 1500 */
    /* transport.wireProtocol (0 = UFRPC_WIRE_V1). V2: NewVisitorConn is magic + v2
     * Message frame, NewVisitorConnResp and sudp UDPPacket/Ping are v2 frames. */
    enum ufrpc_wire_version wire;
    uint32_t resp_timeout_ms;       /* 0 = 10000 */
    uint32_t sudp_read_timeout_ms;  /* 0 = 60000 */
    uint32_t sudp_ping_interval_ms; /* 0 = never (frp's behaviour) */
    size_t sudp_max_queued;         /* 0 = 256 KiB */
    size_t pump_max_buffered;       /* 0 = net/pump default */
    /* xtcp P2P: messages on the control (NatHoleVisitor), and natHoleStunServer
     * (copied). Without send_msg an xtcp visitor only falls back. */
    int (*send_msg)(void *data, const struct ufrpc_msg *m);
    const char *stun_server;
    void *data;
};

struct ufrpc_visitor_stats {
    uint64_t conns_total, conns_active, conns_failed; /* streams to frps */
    uint64_t bytes_to_server, bytes_from_server;      /* stcp: pump totals; sudp: payload */
    uint64_t packets_to_server, packets_from_server;  /* sudp */
    uint64_t drop_queue_full, drop_oversize, drop_bad_addr; /* sudp */
    uint64_t fallback_conns, rejected_conns;          /* xtcp */
    uint64_t p2p_conns;                               /* xtcp: over the P2P tunnel */
};

/* ---- sans-I/O: the NewVisitorConn frame ---------------------------------------- */
/* Builds the v1 frame (malloc'd into *out, caller frees). proxy name as described
 * above; sign_key = lowercase hex md5(secret_key + decimal(timestamp)). 0 or <0. */
int ufrpc_visitor_new_conn_frame(const char *run_id, const char *user, const char *server_user,
                                 const char *server_name, const char *secret_key,
                                 int64_t timestamp, bool use_encryption, bool use_compression,
                                 uint8_t **out, size_t *out_len);

/* ---- the visitor --------------------------------------------------------------- */
/* Starts listening (bind_port < 0: no listener, only ufrpc_visitor_accept_conn;
 * 0: any free port, for tests). Returns 0 and *out, or <0 (UFRPC_ERR_ADDR_IN_USE,
 * UFRPC_ERR_INVAL, _NOMEM, mapped libuv errors); on failure nothing is left for
 * the caller to close (a UDP socket that failed to bind is released by the loop). */
int ufrpc_visitor_start(const struct ufrpc_visitor_env *env, const struct ufrpc_visitor_config *cfg,
                        ufrpc_visitor_t **out);

/* The bound port (0 without a listener). */
uint16_t ufrpc_visitor_port(const ufrpc_visitor_t *v);
const char *ufrpc_visitor_name(const ufrpc_visitor_t *v);
ufrpc_visitor_type ufrpc_visitor_get_type(const ufrpc_visitor_t *v);

/* A NatHoleResp from the control: 1 if this (xtcp) visitor's tunnel took it. */
int ufrpc_visitor_on_nat_hole_resp(ufrpc_visitor_t *v, const struct ufrpc_msg_nat_hole_resp *r);

/* Hands a user connection to an stcp visitor (xtcp: forwards to its fallback).
 * Takes user (closed on failure). 0 or UFRPC_ERR_UNSUPPORTED (sudp), _CLOSED. */
int ufrpc_visitor_accept_conn(ufrpc_visitor_t *v, struct ufrpc_stream *user);

void ufrpc_visitor_get_stats(const ufrpc_visitor_t *v, struct ufrpc_visitor_stats *st);

void ufrpc_visitor_close(ufrpc_visitor_t *v, void (*cb)(void *data), void *data);

#endif
