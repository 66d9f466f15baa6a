/* ufrpc — an xtcp visitor's P2P tunnel (frp v0.70.0 client/visitor/xtcp.go
 * makeNatHole and KCPTunnelSession; docs/PROTOCOL.md §9.3).
 *
 * One tunnel per xtcp visitor. ufrpc_xtcp_tunnel_kick starts an attempt unless one
 * runs or the tunnel is up; attempts start at least 10 s apart (frp's "avoid too
 * frequently"; a kick meanwhile is remembered and runs when the 10 s are over):
 *   0. NatHoleVisitor{transaction_id, proxy_name, pre_check = true}, NatHoleResp
 *      within 5 s ("nathole precheck error: ...");
 *   1. STUN discovery (client/core/holepunch.h);
 *   2. NatHoleVisitor{transaction_id, proxy_name, protocol, sign_key =
 *      md5(secretKey + timestamp), timestamp, mapped_addrs, assisted_addrs},
 *      NatHoleResp within 5 s;
 *   3. punching; 4. protocol "kcp": KCP (conversation 1) over the punched socket
 *      and a yamux client on it (keepalive 10 s, 6 MiB windows); any other protocol
 *      (frpc's default "quic"): a QUIC connection (net/quic.h, ALPN "frp", no
 *      certificate check, idle 30 s, keepalive 10 s) from the punched socket, one
 *      QUIC stream per user connection.
 * Streams are opened on the tunnel with ufrpc_xtcp_tunnel_open. A failing tunnel
 * (dead link, keepalive) is dropped; the next kick makes a new one.
 * keepTunnelOpen: an attempt at start, then every minRetryInterval s a check that
 * makes a new attempt when the tunnel is down, at most maxRetriesAnHour an hour
 * (a token bucket, as frp's rate.Limiter).
 *
 * Ownership: env is copied with its strings; env->log and env->data must outlive
 * the tunnel. on_up runs (never from inside a call) each time a tunnel is ready.
 * ufrpc_xtcp_tunnel_free closes everything (streams opened on the tunnel fail with
 * UFRPC_ERR_YAMUX_SESSION_CLOSED; their owners still close them) and calls cb once
 * done; no other callback follows. */
#ifndef UFRPC_CLIENT_XTCP_TUNNEL_H
#define UFRPC_CLIENT_XTCP_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"
#include "net/stream.h"
#include "proto/msg.h"

typedef struct ufrpc_xtcp_tunnel ufrpc_xtcp_tunnel_t;

struct ufrpc_xtcp_tunnel_env {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    const char *name;        /* visitor name, for "[name] " */
    const char *stun_server; /* natHoleStunServer */
    const char *proxy_name;  /* target on the wire: "serverUser.serverName" or as frp builds it */
    const char *secret_key;
    const char *protocol;    /* "kcp", else quic */
    bool disable_assisted;
    bool keep_open;
    int64_t max_retries_an_hour; /* keepTunnelOpen (default 8) */
    int64_t min_retry_interval_s; /* keepTunnelOpen (default 90) */
    int (*send_msg)(void *send_data, const struct ufrpc_msg *m);
    void *send_data;
    int64_t (*now_s)(void *send_data); /* NULL: the real clock */
    void (*on_up)(ufrpc_xtcp_tunnel_t *t, void *data);
    /* After a failed attempt: true when connections still wait for a tunnel (then
     * another attempt follows, 10 s after the last one, as frp's openTunnel keeps
     * asking). May be NULL. */
    bool (*wanted)(void *data);
    void *data;
};

int ufrpc_xtcp_tunnel_new(const struct ufrpc_xtcp_tunnel_env *env, ufrpc_xtcp_tunnel_t **out);

/* Asks for a tunnel (see above). */
void ufrpc_xtcp_tunnel_kick(ufrpc_xtcp_tunnel_t *t);

/* Opens a stream on the tunnel: 0 and *out (owned by the caller), or
 * UFRPC_ERR_STATE when there is no tunnel (then a kick follows), or the mux's error. */
int ufrpc_xtcp_tunnel_open(ufrpc_xtcp_tunnel_t *t, struct ufrpc_stream **out);

bool ufrpc_xtcp_tunnel_up(const ufrpc_xtcp_tunnel_t *t);

/* Taken (1) when r answers this tunnel's pending NatHoleVisitor, else 0. */
int ufrpc_xtcp_tunnel_on_resp(ufrpc_xtcp_tunnel_t *t, const struct ufrpc_msg_nat_hole_resp *r);

void ufrpc_xtcp_tunnel_free(ufrpc_xtcp_tunnel_t *t, void (*cb)(void *data), void *data);

#endif
