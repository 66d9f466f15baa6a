/* ufrpc-test-frps — a minimal frps for tests (test code, not product).
 *
 * One libuv loop. What it does, as frps v0.70 does (FRP-WIRE §1.2, §2, §4, §5, §6):
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
};

struct ctl;

struct peer {
    uv_loop_t *loop;
    struct peer_opts o;
    ufrpc_tcp_listener_t *listener;
    ufrpc_tls_ctx_t *tls;
    uint8_t key[UFRPC_CFB_KEY_LEN];
    struct ctl *ctls;
    uint64_t logins, work_conns, user_conns;
    uv_signal_t sigterm, sigint;
    uv_pipe_t in;
    char inbuf[256];
    size_t inlen;
};

/* Prints "EVENT name ..." (printf format for the rest) and flushes. */
void peer_event(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Random bytes for IVs and run ids (getrandom). Matches ufrpc_rng_fn. */
int peer_rng(void *ctx, unsigned char *buf, size_t len);

/* A new logical connection (TCP/TLS stream, or a yamux stream): reads its first
 * frame and dispatches it. mux is the pmux session it came from, or NULL. Takes st. */
void peer_conn_new(struct peer *p, struct ufrpc_stream *st, void *mux);

/* Faults on every live control: "drop", "corrupt", "stall". */
void peer_fault_all(struct peer *p, const char *what);

/* Writes one v1 frame of message m on st (plaintext); 0 or <0. */
int peer_write_frame(struct ufrpc_stream *st, const struct ufrpc_msg *m);

#endif
