/* ufrpc — the xtcp proxy's side of one P2P session (frp v0.70.0 client/proxy/xtcp.go;
 * docs/PROTOCOL.md §9.3).
 *
 * frps picks a work stream from the pool, writes StartWorkConn and then NatHoleSid
 * on it (v1 or v2 framing as the control) when a visitor asks for the proxy. The
 * session then, as frpc's InWorkConn:
 *   1. reads NatHoleSid (10 s) and closes the work stream;
 *   2. STUN discovery (client/core/holepunch.h), "nathole prepare success, ..." ;
 *   3. sends NatHoleClient{transaction_id, proxy_name, sid, mapped_addrs,
 *      assisted_addrs} on the control and waits 5 s for the NatHoleResp with that
 *      transaction id (the owner routes every NatHoleResp to
 *      ufrpc_xtcp_proxy_on_resp);
 *   4. punches, sends NatHoleReport{sid, success} either way;
 *   5. protocol "kcp": KCP (conversation 1, frp's settings, windows 1024) over the
 *      punched socket, yamux server over it (keepalive 10 s, 6 MiB windows); every
 *      stream the visitor opens is served as a work connection
 *      (ufrpc_workconn_serve, encryption keyed by the proxy's secretKey). The session
 *      ends when the tunnel fails (dead link, keepalive) or is aborted.
 *      Any other protocol (frpc's visitor default "quic"): a QUIC server
 *      (net/quic.h's listener: ALPN "frp", a generated certificate, the client's
 *      transport.quic settings) on the punched socket for one connection from the
 *      visitor; each stream it opens is served as above. The session ends when that
 *      connection ends, or when none came within 30 s.
 *
 * Ownership: env is copied (its strings too); env->data and env->log must outlive
 * the session. The session frees itself and then calls env->on_end (unlink it from
 * any list there). */
#ifndef UFRPC_CLIENT_XTCP_PROXY_H
#define UFRPC_CLIENT_XTCP_PROXY_H

#include <uv.h>

#include "client/core/log.h"
#include "client/core/workconn.h"
#include "config/config.h"
#include "net/stream.h"
#include "proto/msg.h"

typedef struct ufrpc_xtcp_proxy ufrpc_xtcp_proxy_t;

struct ufrpc_xtcp_env {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    const char *stun_server; /* natHoleStunServer */
    const char *user;        /* the client's user (proxy name prefix); NULL = none */
    enum ufrpc_wire_version wire;
    /* Sends a message on the control; 0 or <0. */
    int (*send_msg)(void *data, const struct ufrpc_msg *m);
    void (*on_end)(ufrpc_xtcp_proxy_t *x, void *data);
    /* transport.quic: maxIdleTimeout, keepalivePeriod, maxIncomingStreams (0: frp's
     * defaults) for a quic tunnel */
    uint32_t quic_idle_s, quic_keepalive_s, quic_max_streams;
    /* for the streams of the tunnel (its on_done is replaced) */
    struct ufrpc_workconn_env wenv;
    void *data;
};

/* Takes s. pc and name are copied. 0 and *out, or <0 (s closed, on_end not called). */
int ufrpc_xtcp_proxy_start(const struct ufrpc_xtcp_env *env, struct ufrpc_stream *s,
                           const struct ufrpc_proxy_config *pc, const char *name,
                           ufrpc_xtcp_proxy_t **out);

/* A NatHoleResp from the control: taken if its transaction id is this session's
 * (returns 1), else 0. */
int ufrpc_xtcp_proxy_on_resp(ufrpc_xtcp_proxy_t *x, const struct ufrpc_msg_nat_hole_resp *r);

/* Ends the session (tunnel, its work connections); on_end follows. */
void ufrpc_xtcp_proxy_abort(ufrpc_xtcp_proxy_t *x);

ufrpc_xtcp_proxy_t *ufrpc_xtcp_proxy_next(const ufrpc_xtcp_proxy_t *x);
void ufrpc_xtcp_proxy_set_next(ufrpc_xtcp_proxy_t *x, ufrpc_xtcp_proxy_t *next);
/* Takes x out of the owner's list at *head (no-op when it is not there). */
void ufrpc_xtcp_proxy_unlink(ufrpc_xtcp_proxy_t **head, ufrpc_xtcp_proxy_t *x);

/* frp's NewTransactionID: 8 random bytes in hex into out[17]. 0 or UFRPC_ERR_CRYPTO. */
int ufrpc_xtcp_new_tid(char out[17]);

/* Go's %+v of the detect behaviour, for the "get natHoleRespMsg" line. */
void ufrpc_xtcp_behavior_text(const struct ufrpc_nat_detect_behavior *b, char *out, size_t cap);

/* KCP settings of an xtcp tunnel (frp's NewKCPConnFromUDP): conversation 1, windows
 * 1024/1024, otherwise frpc's. */
struct ufrpc_kcp_config;
void ufrpc_xtcp_kcp_config(struct ufrpc_kcp_config *c);

#endif
