/* ufrpc-test-frps — a minimal frps for tests (test code, not product).
 *
 * One libuv loop. What it does, as frps v0.70 does (docs/PROTOCOL.md §1.2, §2, §4, §5, §6):
 * accept on bindPort, sniff the first byte (0x17 consumed / 0x16 / plaintext), TLS
 * server if asked, yamux server session when tcpMux is on, read the first v1 frame of
 * every connection/stream (Login, NewWorkConn; anything else is dropped), token check,
 * LoginResp with a run id, AES-128-CFB control, ReqWorkConn pool, tcp proxies,
 * StartWorkConn + splice, Ping/Pong; plus fault switches.
 *
 * Every notable event is printed on stdout as one line "EVENT <name> key=value ...",
 * flushed at once, so tests can wait for them (see main.c for the list).
 *
 * Ownership: one struct peer (main.c) owns the listener, the TLS context, and every
 * control (list); a control owns its stream, its proxies (listeners) and its pooled
 * work connections. Streams handed to a pump belong to the pump.
 */
#ifndef UFRPC_TESTS_PEER_PEER_H
#define UFRPC_TESTS_PEER_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/stream.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "proto/cfb.h"
#include "proto/frame.h"
#include "proto/msg.h"

struct peer_opts {
    char bind_ip[64];
    uint16_t bind_port;
    char proxy_ip[64];     /* where remote ports listen (default bind_ip) */
    const char *token;
    const char *oidc_token; /* non-NULL: Login's privilege_key must be exactly this */
    int tls;               /* 0 off (plaintext only), 1 auto (both), 2 force */
    const char *tls_cert, *tls_key, *tls_client_ca, *cert_out;
    int mux;               /* tcpMux */
    uint32_t mux_keepalive_ms;
    int max_pool_count;
    int heartbeat_timeout_s; /* <= 0: off */
    int user_conn_timeout_ms; /* frps userConnTimeout (default 10 s) */
    int auth_heartbeats, auth_work_conns;
    /* faults */
    int refuse_login;
    int drop_after_ms, corrupt_after_ms, stall_after_ms; /* after login; 0 = never */
    int close_without_resp; /* refuse login by closing without LoginResp */
    int commands;           /* read commands from stdin */
    int quiet;
    /* frps vhost / multiplexer ports (0 = off) and subDomainHost (peer_vhost.c) */
    uint16_t vhost_http_port, vhost_https_port, tcpmux_httpconnect_port;
    char subdomain_host[128];
    int kcp_port;          /* frps kcpBindPort: -1 off, 0 any free port */
    int quic_port;         /* frps quicBindPort: -1 off, 0 any free port */
    uint32_t udp_packet_size; /* frps udpPacketSize: user datagrams are read into a */
                              /* buffer this size (longer ones cut; default 1500) */
};

struct ctl;

struct nh_session;
struct peer {
    uv_loop_t *loop;
    struct peer_opts o;
    ufrpc_tcp_listener_t *listener;
    struct ufrpc_kcp_listener *kcp; /* --kcp-bind-port */
    struct ufrpc_quic_listener *quic; /* --quic-bind-port */
    ufrpc_tls_ctx_t *tls;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    struct ctl *ctls;
    struct nh_session *nh_sessions; /* xtcp nathole sessions (peer_nathole.c) */
    size_t nh_count;
    uint64_t logins, work_conns, user_conns;
    uv_signal_t sigterm, sigint;
    uv_pipe_t in;
    char inbuf[256];
    size_t inlen;
    void *vhost; /* peer_vhost.c's state, or NULL */
};

/* Prints "EVENT name ..." (printf format for the rest) and flushes. */
void peer_event(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Random bytes for IVs and run ids (getrandom). Matches ufrpc_rng_fn. */
int peer_rng(void *ctx, unsigned char *buf, size_t len);

/* A new logical connection (TCP/TLS stream, or a yamux stream): reads its first
 * frame and dispatches it. mux is the pmux session it came from, or NULL. Takes st. */
void peer_conn_new(struct peer *p, struct ufrpc_stream *st, void *mux);

/* Websocket on the bind port (peer_ws.c). peer_ws_sniff reads the first bytes
 * of a fresh TCP stream (which must come from net/tcp.h: it puts them back with
 * unread) and calls cb(p, st, is_ws) once (not on read errors: then st is
 * closed); 0 or <0 (then cb never runs and the caller still owns st).
 * peer_ws_accept takes st, upgrades it and calls ready(p, inner, kind) with
 * kind UFRPC_SNIFF_* from the first byte inside the websocket (PLAIN when the
 * peer runs --tls=off); on failure it closes st. */
int peer_ws_sniff(struct peer *p, struct ufrpc_stream *st,
                  void (*cb)(struct peer *p, struct ufrpc_stream *st, int is_ws));
void peer_ws_accept(struct peer *p, struct ufrpc_stream *st,
                    void (*ready)(struct peer *p, struct ufrpc_stream *st, int kind));
/* The first-byte sniff of a stream that carries frp's connection inside it (a
 * websocket after its upgrade, a KCP stream): ready(p, st', kind) as above; on a
 * read error st is closed. */
void peer_sniff_inner(struct peer *p, struct ufrpc_stream *st,
                      void (*ready)(struct peer *p, struct ufrpc_stream *st, int kind));

/* Faults on every live control: "drop", "corrupt", "stall". */
void peer_fault_all(struct peer *p, const char *what);

/* Writes one v1 frame of message m on st (plaintext); 0 or <0. */
int peer_write_frame(struct ufrpc_stream *st, const struct ufrpc_msg *m);

/* Writes an error message frame m on st, then shuts st down and closes it once the
 * frame is out (the way frps answers a refused login, work or visitor connection). */
void peer_refuse(struct ufrpc_stream *st, const struct ufrpc_msg *m);

/* IP and port of st's remote (peer != 0) or local end; "" / 0 when st is not TCP. */
void peer_addr_of(struct ufrpc_stream *st, int peer, char *ip, size_t cap, uint16_t *port);

/* ---- controls and proxies (ctl.c, work.c) ---------------------------------------------
 *
 * A proxy is created for every NewProxy the test frps accepts. Its kind (one per
 * proxy_type, see peer_kinds[] in kinds.c) sets it up and tears it down; the generic
 * part (work.c) owns the name, the NewProxy message and the work-connection
 * requests. Lifetime: created by the control on NewProxy; closed on CloseProxy or when
 * its control closes: kind->close(px) must stop every activity of the proxy and then,
 * possibly later (after handle close callbacks), call peer_proxy_free(px) exactly once.
 * After kind->close has been called, peer_get_work refuses px. */
struct proxy_kind;

struct proxy {
    struct ctl *c;
    struct proxy *next;
    char *name;                    /* the wire proxy name (user prefix included) */
    struct ufrpc_msg msg;          /* the NewProxy, owned (msg.u.new_proxy) */
    const struct proxy_kind *kind;
    void *impl;                    /* the kind's state */
    int closing;
};

struct proxy_kind {
    const char *type; /* proxy_type, e.g. "tcp" */
    /* Sets px up from px->msg.u.new_proxy. Returns 0 with ra (NewProxyResp
     * remote_addr, e.g. ":6000") filled, or <0 with err filled (NewProxyResp error;
     * px is then freed by the caller, kind->close is not called). */
    int (*open)(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap);
    /* See above: ends with peer_proxy_free(px), now or later. */
    void (*close)(struct proxy *px);
};

/* NULL-terminated list of the kinds the test frps knows (kinds.c). */
extern const struct proxy_kind *const peer_kinds[];

/* Frees the generic part of px (name, message, px itself). */
void peer_proxy_free(struct proxy *px);

/* The live control with that run id, or NULL. */
struct ctl *peer_find_ctl(struct peer *p, const char *run_id);
/* The login user of control c ("" if none) and its run id. */
const char *peer_ctl_user(const struct ctl *c);
const char *peer_ctl_run_id(const struct ctl *c);
/* The open (not closing) proxy of that wire name on any control, or NULL. */
struct proxy *peer_find_proxy(struct peer *p, const char *name);

/* Gets a work connection for px, as frps's GetWorkConn does: a pooled one at once
 * (a ReqWorkConn replenishes the pool), or, with the pool empty, a ReqWorkConn and a
 * wait of up to userConnTimeout. Then StartWorkConn{proxy_name, src, dst} is written
 * on it and it is wrapped per px's use_encryption (key = the token) and
 * use_compression, as frps does; cb(px, work, arg) receives it (owned by cb from then
 * on). cb gets work == NULL when no connection came in time, the proxy or its
 * control closed, or the wrapping failed: arg is then still cb's to release. cb may
 * run before peer_get_work returns. src/dst may be NULL (empty, as for udp).
 * Returns 0, or <0 (px closing, no memory) without calling cb. */
typedef void (*peer_work_cb)(struct proxy *px, struct ufrpc_stream *work, void *arg);
int peer_get_work(struct proxy *px, const char *src_ip, uint16_t src_port, const char *dst_ip,
                  uint16_t dst_port, peer_work_cb cb, void *arg);

/* Splices a user stream with a work stream (both owned from then on), printing
 * "user-conn" now and "user-conn-done" with byte counts at the end. join: the
 * first EOF either way ends both, as frps's io.Join (server/proxy/proxy.go) does
 * for every user connection; false passes half-close on (the model the tcp and
 * vhost tests were written against; frps itself never does). */
void peer_splice(struct proxy *px, struct ufrpc_stream *user, struct ufrpc_stream *work,
                 bool join);

/* ---- hooks of the kinds' files ---------------------------------------------------------- */
/* First frame NewVisitorConn on a new connection or stream (peer_visitor.c): takes st
 * and the message's contents (m is freed by the caller); rest = bytes after the frame. */
void peer_visitor_conn(struct peer *p, struct ufrpc_stream *st, struct ufrpc_msg *m,
                       const uint8_t *rest, size_t rest_len);
/* Starts the vhost HTTP/HTTPS and tcpmux listeners named in p->o (peer_vhost.c).
 * 0 or <0 (printed by the caller). */
int peer_vhost_start(struct peer *p);

#endif
