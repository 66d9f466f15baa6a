/* ufrpc — the control session as a sans-I/O state machine (docs/PROTOCOL.md §4, §5.1, §6, §7.1).
 *
 * One object per login attempt / control stream. The caller moves bytes:
 *   - ufrpc_ctl_start() queues the plaintext v1 Login;
 *   - ufrpc_ctl_feed() takes bytes read from the control stream (any split);
 *   - ufrpc_ctl_pending()/ufrpc_ctl_consume() hand out bytes to write;
 *   - ufrpc_ctl_next_deadline()/ufrpc_ctl_tick() drive the timers.
 * Time is passed in (now_ms, any monotonic clock in ms); wall-clock seconds for
 * timestamps and random bytes for the CFB IV come from callbacks in the options.
 *
 * Behaviour, as frpc:
 *   - LoginResp must arrive within 10 s; LoginResp.error ends the session with the
 *     server's text (UFRPC_ERR_LOGIN). The body is read as LoginResp whatever its
 *     type byte (frp's ReadMsgInto does not check it).
 *   - right after LoginResp both directions switch to AES-128-CFB (key given in the
 *     options); bytes that arrived with LoginResp are decrypted, not dropped.
 *   - transport.wireProtocol = "v2" (frps >= 0.69, docs/PROTOCOL.md §13.2): ufrpc_ctl_start
 *     queues magic + ClientHello + Login at once (proto/v2hello.h); ServerHello and
 *     the plaintext LoginResp must arrive within the same 10 s; then both directions
 *     are the AEAD channel of proto/v2chan.h (keys from auth.token; the CFB key in
 *     the options is unused). A ServerHello error is reported verbatim
 *     (UFRPC_ERR_V2_HELLO); bytes after LoginResp are kept for the channel.
 *   - then every proxy of the registry is announced with NewProxy (wire name
 *     "user.name"), re-checked every 3 s (resend after 20 s without answer, 30 s after
 *     a start error); NewProxyResp updates the registry and logs
 *     "[name] start proxy success" / "[name] start error: ...".
 *   - Ping: with heartbeatInterval > 0 the first at once, then every interval; a
 *     heartbeat timeout (> 0) without Pong ends the session ("heartbeat timeout").
 *     With heartbeats disabled (the tcpMux default) a Ping still goes out every 30 s,
 *     which old frps (< 0.58) need and newer ones answer harmlessly. Pong.error ends
 *     the session (UFRPC_ERR_PONG). Auth scope HeartBeats adds privilege_key and
 *     timestamp to each Ping; scope NewWorkConns to each NewWorkConn.
 *   - ReqWorkConn is reported through on_req_work_conn; the caller opens a work stream
 *     and sends ufrpc_ctl_build_new_work_conn()'s message on it.
 *
 * Ownership: the control copies what it needs from the options except `cfg`, `reg`
 * and `log`, which must outlive it. Strings returned by accessors live as long as
 * the control. Output returned by ufrpc_ctl_pending() stays valid until the next
 * call that may queue output or consume. */
#ifndef UFRPC_CLIENT_CONTROL_H
#define UFRPC_CLIENT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "client/core/log.h"
#include "client/core/registry.h"
#include "config/config.h"
#include "proto/cfb.h"
#include "proto/msg.h"

#define UFRPC_CTL_LOGIN_TIMEOUT_MS 10000
#define UFRPC_CTL_KEEPALIVE_PING_MS 30000
/* Output queued beyond this is an error (the peer stopped reading). */
#define UFRPC_CTL_MAX_OUTPUT (4u << 20)

enum ufrpc_ctl_state {
    UFRPC_CTL_IDLE = 0,   /* created, Login not yet queued */
    UFRPC_CTL_LOGIN_SENT, /* waiting for LoginResp */
    UFRPC_CTL_RUNNING,    /* logged in, encrypted */
    UFRPC_CTL_CLOSED,     /* failed or closed: see ufrpc_ctl_error() */
};

struct ufrpc_ctl_callbacks {
    /* LoginResp without error: run_id is valid for the control's lifetime. */
    void (*on_login)(void *ctx, const char *run_id);
    /* frps asks for one work connection. */
    void (*on_req_work_conn)(void *ctx);
    /* A Pong answered the oldest unanswered Ping after rtt_ms (the caller's clock,
     * as passed to the control). May be NULL. */
    void (*on_pong)(void *ctx, uint64_t rtt_ms);
    /* A NatHoleResp (xtcp): r is valid during the call. May be NULL. */
    void (*on_nat_hole_resp)(void *ctx, const struct ufrpc_msg_nat_hole_resp *r);
};

struct ufrpc_ctl_opts {
    const struct ufrpc_config *cfg; /* user, clientID, metadatas, poolCount, heartbeat, scopes */
    struct ufrpc_registry *reg;     /* proxies to announce; may be NULL */
    struct ufrpc_log *log;          /* may be NULL */
    const char *token;              /* resolved auth token (privilege keys); NULL = "" */
    uint8_t key[UFRPC_CFB_KEY_LEN]; /* ufrpc_cfb_derive_key(token) */
    const char *hostname;           /* Login.hostname */
    const char *arch;               /* NULL: the build's (amd64, arm64, ...) */
    const char *prev_run_id;        /* Login.run_id on re-login; NULL on the first */
    ufrpc_rng_fn rng;               /* IV source */
    void *rng_ctx;
    int64_t (*unix_now)(void *ctx); /* wall-clock seconds; NULL: time() */
    void *clock_ctx;
    struct ufrpc_ctl_callbacks cb;
    void *cb_ctx;
    /* The control's own allocations (the object, its strings, its output queue)
     * go through mem (proto/mem.h; NULL = libc); it must outlive the control. The
     * message codecs below it (proto/msg, json-c, v2 handshake) use libc. */
    const struct ufrpc_mem *mem;
};

struct ufrpc_ctl;

/* Go's runtime.GOARCH for this build ("amd64", "arm64", "386", "arm", ...). Static. */
const char *ufrpc_ctl_build_arch(void);

int ufrpc_ctl_new(const struct ufrpc_ctl_opts *opts, struct ufrpc_ctl **out);
void ufrpc_ctl_free(struct ufrpc_ctl *ctl);

/* auth.method = "oidc": privilege_key of Login (and of Ping / NewWorkConn with
 * additionalScopes) is this token as is, not MD5(token + timestamp); NULL goes
 * back to the token's. Copied. 0 or UFRPC_ERR_NOMEM. */
int ufrpc_ctl_set_oidc_token(struct ufrpc_ctl *ctl, const char *token);

/* Queues the Login frame and arms the 10 s LoginResp timer. 0 or <0. */
int ufrpc_ctl_start(struct ufrpc_ctl *ctl, uint64_t now_ms);

/* Consumes all len bytes from the control stream. Returns 0, or <0 when the session
 * is over (state CLOSED; text in ufrpc_ctl_error()): UFRPC_ERR_LOGIN, UFRPC_ERR_PONG,
 * frame/JSON errors, UFRPC_ERR_LIMIT, UFRPC_ERR_NOMEM. */
int ufrpc_ctl_feed(struct ufrpc_ctl *ctl, const uint8_t *data, size_t len, uint64_t now_ms);

/* The control stream reached EOF or failed: marks the control closed. */
void ufrpc_ctl_on_eof(struct ufrpc_ctl *ctl, int err);

/* Runs due timers (login timeout, Ping, heartbeat timeout, proxy checks). 0 or <0 as
 * feed (UFRPC_ERR_TIMEOUT for the login, UFRPC_ERR_HEARTBEAT). */
int ufrpc_ctl_tick(struct ufrpc_ctl *ctl, uint64_t now_ms);

/* Earliest time ufrpc_ctl_tick must run; UINT64_MAX when nothing is armed. */
uint64_t ufrpc_ctl_next_deadline(const struct ufrpc_ctl *ctl);

/* Bytes waiting to be written (possibly 0). */
void ufrpc_ctl_pending(const struct ufrpc_ctl *ctl, const uint8_t **data, size_t *len);
/* n bytes of the pending output were written. */
void ufrpc_ctl_consume(struct ufrpc_ctl *ctl, size_t n);

/* Sends CloseProxy for every proxy of the registry and marks them closed (shutdown).
 * Only while RUNNING. Returns how many, or <0. */
int ufrpc_ctl_close_proxies(struct ufrpc_ctl *ctl, uint64_t now_ms);

/* Runs the proxy check now (frpc wakes its check worker on a health change):
 * NewProxy / CloseProxy as the registry decides. Only while RUNNING; 0 or <0. */
int ufrpc_ctl_check_proxies(struct ufrpc_ctl *ctl, uint64_t now_ms);

/* Sends CloseProxy for one proxy (a reload removed or changed it); the caller
 * updates the registry. Only while RUNNING (else UFRPC_ERR_STATE); 0 or <0. */
int ufrpc_ctl_close_proxy(struct ufrpc_ctl *ctl, struct ufrpc_tunnel *t);

/* A reload replaced the configuration with one whose common part is equal
 * (ufrpc_config_common_equal): cfg (borrowed, as in the options) is used from now on.
 * Nothing already computed from the old one changes. */
void ufrpc_ctl_set_cfg(struct ufrpc_ctl *ctl, const struct ufrpc_config *cfg);

/* Sends one message on the (encrypted) control stream. Only while RUNNING. */
int ufrpc_ctl_send(struct ufrpc_ctl *ctl, const struct ufrpc_msg *m);

/* Builds the NewWorkConn for a work stream: run_id, plus privilege_key/timestamp with
 * auth scope NewWorkConns. Caller frees with ufrpc_msg_free. 0 or <0. */
int ufrpc_ctl_build_new_work_conn(struct ufrpc_ctl *ctl, struct ufrpc_msg *out);

enum ufrpc_ctl_state ufrpc_ctl_state(const struct ufrpc_ctl *ctl);
/* Run id from LoginResp ("" before). */
const char *ufrpc_ctl_run_id(const struct ufrpc_ctl *ctl);
/* Why the control closed: the server's LoginResp/Pong error text, "heartbeat timeout",
 * or a description of the local error. "" while open. */
const char *ufrpc_ctl_error(const struct ufrpc_ctl *ctl);
/* The error code that closed it (0 while open). */
int ufrpc_ctl_error_code(const struct ufrpc_ctl *ctl);

#endif
