/* ufrpc — one work connection (docs/PROTOCOL.md §5.1), from a freshly opened stream to frps
 * until the splice with the local service ends.
 *
 *   1. write NewWorkConn (plaintext v1 frame) on the stream;
 *   2. read StartWorkConn (no timeout, as frpc); an error text closes the stream;
 *      the body is read as StartWorkConn whatever its type byte (frp's ReadMsgInto);
 *   3. strip the user prefix, find the proxy in the registry; unknown or not
 *      running -> close this stream only;
 *   4. put the bytes that arrived after StartWorkConn back in front of the stream
 *      (net/prefix) and wrap it as frpc does (bandwidth limiter, AES-128-CFB with
 *      the token key, snappy: net/xform);
 *   5. by proxy: a plugin takes the stream; a udp/sudp proxy turns it into a
 *      UDPPacket channel (client/udp_channel; a udp proxy keeps only the newest);
 *      otherwise dial localIP:localPort (10 s; failure closes this stream only),
 *      write the PROXY protocol header if configured, and pump both ways
 *      (net/pump) until either side ends; counters go to the registry.
 *
 * The StartWorkConn parsing is also available on its own (sans-I/O) for tests.
 *
 * Ownership: ufrpc_workconn_start takes the stream. A work connection frees itself
 * when it ends and then calls env->on_done (which must unlink it from any list).
 * env and everything it points to must outlive every work connection started with
 * it. The proxy's configuration is copied at dispatch time, so a reload may free
 * the old configuration while work connections still run. */
#ifndef UFRPC_CLIENT_WORKCONN_H
#define UFRPC_CLIENT_WORKCONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"
#include "client/core/registry.h"
#include "client/core/udp_channel.h"
#include "net/stream.h"
#include "proto/frame.h"
#include "proto/cfb.h"
#include "proto/msg.h"
#include "proto/wire.h"

typedef struct ufrpc_workconn ufrpc_workconn_t;
struct ufrpc_proxy_config;

struct ufrpc_workconn_env {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    struct ufrpc_registry *reg; /* its user is stripped from StartWorkConn.proxy_name */
    size_t pump_max_buffered;   /* 0: net/pump default */
    const uint8_t *key;         /* 16-byte work-stream encryption key (token); may change */
    size_t udp_packet_size;     /* udpPacketSize; 0 = 1500 */
    uint32_t local_dial_timeout_ms; /* 0: 10000 */
    /* transport.wireProtocol; 0 = UFRPC_WIRE_V1. With UFRPC_WIRE_V2 NewWorkConn is
     * magic + v2 Message frame and StartWorkConn a v2 Message frame (the id must be
     * StartWorkConn); the payload after it is raw either way. */
    enum ufrpc_wire_version wire;
    void (*on_done)(ufrpc_workconn_t *w, void *data);
    /* StartWorkConn arrived: the connection has left frps's pool and serves a user
     * until on_done (ufrpc_workconn_dispatched is 1 from then on). May be NULL. */
    void (*on_dispatch)(ufrpc_workconn_t *w, void *data);
    /* A udp/sudp message channel was started / has ended (the owner closes live
     * channels at shutdown and waits for their end). May be NULL. */
    void (*on_channel_start)(ufrpc_udp_channel_t *ch, void *data);
    void (*on_channel_end)(ufrpc_udp_channel_t *ch, void *data);
    /* An xtcp proxy's work stream after StartWorkConn (frps writes NatHoleSid on it
     * next): the callee takes s (client/core/xtcp_proxy.h). m and pc are borrowed for the
     * call; name is the proxy's name without the user prefix. NULL: such streams are
     * closed with a logged reason. */
    void (*on_xtcp)(void *data, struct ufrpc_stream *s, const struct ufrpc_msg_start_work_conn *m,
                    const struct ufrpc_proxy_config *pc, const char *name);
    void *data;
};

/* ---- sans-I/O: waiting for StartWorkConn ---------------------------------- */
struct ufrpc_start_reader {
    struct ufrpc_wire_reader rd;
};

/* v1 reader (same as ufrpc_start_reader_init_wire(r, UFRPC_WIRE_V1)). */
void ufrpc_start_reader_init(struct ufrpc_start_reader *r);
/* ver: UFRPC_WIRE_V1 or _V2 (0 = v1). v1 takes the body whatever its type byte, v2
 * rejects another message id (UFRPC_ERR_MSG_TYPE), as frp's ReadMsgInto. */
void ufrpc_start_reader_init_wire(struct ufrpc_start_reader *r, enum ufrpc_wire_version ver);
/* Feeds bytes; returns 0 (need more; all consumed), 1 (StartWorkConn decoded into
 * *out, which the caller frees; *consumed marks where the payload starts), or <0
 * (frame or JSON error). */
int ufrpc_start_reader_feed(struct ufrpc_start_reader *r, const uint8_t *data, size_t len,
                            size_t *consumed, struct ufrpc_msg *out);

/* ---- the I/O object ------------------------------------------------------- */
/* Starts a work connection on stream s (taken) with the given NewWorkConn message
 * (encoded here; the caller keeps and frees its message). 0 and *out (may be NULL),
 * or <0 (then s has been closed and on_done is not called). */
int ufrpc_workconn_start(const struct ufrpc_workconn_env *env, struct ufrpc_stream *s,
                         const struct ufrpc_msg *new_work_conn, ufrpc_workconn_t **out);

/* Serves one stream of an xtcp P2P tunnel as a work connection that already has its
 * StartWorkConn m (proxy name with user prefix): wrapped with key (the proxy's
 * secretKey, ufrpc_cfb_derive_key) when it uses encryption, then the local service
 * or plugin as any work connection. Takes s. 0 and *out (may be NULL), or <0 (s
 * closed, on_done not called). */
int ufrpc_workconn_serve(const struct ufrpc_workconn_env *env, struct ufrpc_stream *s,
                         const struct ufrpc_msg_start_work_conn *m,
                         const uint8_t key[UFRPC_CFB_KEY_LEN], ufrpc_workconn_t **out);

/* Ends it now (closes every stream); on_done runs later. No-op if already ending. */
void ufrpc_workconn_abort(ufrpc_workconn_t *w);

/* For the owner's intrusive list. */
ufrpc_workconn_t *ufrpc_workconn_next(const ufrpc_workconn_t *w);
/* 1 while the work connection waits for StartWorkConn (the pool frps draws from). */
int ufrpc_workconn_idle(const ufrpc_workconn_t *w);
/* 1 once StartWorkConn arrived (also inside on_done): it served a user. */
int ufrpc_workconn_dispatched(const ufrpc_workconn_t *w);
/* Adds the bytes a pumping connection moved since the last call (or its start) to
 * its tunnel's counters, so that long connections show traffic before they end
 * (the metrics snapshot calls it). */
void ufrpc_workconn_flush_bytes(ufrpc_workconn_t *w);
void ufrpc_workconn_set_next(ufrpc_workconn_t *w, ufrpc_workconn_t *next);
/* Takes w out of the owner's list at *head (no-op when it is not there). */
void ufrpc_workconn_unlink(ufrpc_workconn_t **head, ufrpc_workconn_t *w);

#endif
