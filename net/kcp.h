/* ufrpc — KCP streams over UDP (frp's kcp transport, docs/PROTOCOL.md §1.4):
 * proto/kcp.h's ARQ behind kcp-go's FEC layer (proto/kcp_fec.h, 10 data + 3
 * parity shards, no block cipher), client and server role.
 *
 * A KCP stream is a struct ufrpc_stream (net/stream.h). Writes are taken into
 * KCP's send buffer as its window allows and complete when their last byte is
 * in it; queued() counts the bytes of writes not yet taken, so a pump stops
 * reading while the peer's window is closed. Reads deliver what KCP has put in
 * order, in 64 KiB buffers from the stream's pool; nothing is taken out of KCP
 * while the owner does not read, so the advertised window closes and the peer
 * stops. One uv timer per stream runs KCP at the deadline it asks for
 * (ufrpc_kcp_next_ms), none while idle. Packets go out with uv_udp_try_send; a
 * packet the kernel does not take at once is dropped and KCP resends it.
 *
 * KCP has no end of stream: reads end only with an error (UFRPC_ERR_KCP_DEAD_LINK
 * when a segment was sent 20 times unacknowledged and nothing came back for 30 s;
 * UFRPC_ERR_KCP_REFUSED when the kernel reports the UDP port closed; or
 * UFRPC_ERR_CONN_RESET when a server sees the peer start a new conversation from
 * the same address). shutdown() completes once everything written has been
 * acknowledged; it sends nothing, as kcp-go's Close does not.
 *
 * Lifetimes as net/stream.h. A client stream owns its UDP socket; the sessions
 * of a listener share the listener's socket and must be closed before it
 * (ufrpc_kcp_listener_close makes the open ones fail with UFRPC_ERR_CLOSED).
 */
#ifndef UFRPC_NET_KCP_H
#define UFRPC_NET_KCP_H

#include <stdint.h>
#include <uv.h>

#include "net/stream.h"
#include "proto/kcp.h"

typedef struct ufrpc_kcp_dial ufrpc_kcp_dial_t;
/* status 0 with a stream the callee owns, or <0 (UFRPC_ERR_DNS, _CANCELED, ...). */
typedef void (*ufrpc_kcp_dial_cb)(ufrpc_kcp_dial_t *d, int status, struct ufrpc_stream *s,
                                  void *data);

/* Resolves host (the first IPv4 address, else the first one, as Go's
 * ResolveUDPAddr) and opens a KCP stream to host:port from a fresh UDP socket with
 * frpc's settings (ufrpc_kcp_config_frpc) and a random conversation id. Nothing is
 * sent until the first write. cb runs once, never from inside; 0 or <0. */
int ufrpc_kcp_dial(uv_loop_t *loop, const char *host, uint16_t port, ufrpc_kcp_dial_cb cb,
                   void *data, ufrpc_kcp_dial_t **out);
/* The callback runs with UFRPC_ERR_CANCELED before this returns (no-op once run). */
void ufrpc_kcp_dial_cancel(ufrpc_kcp_dial_t *d);

/* Opens a client stream to addr at once (what ufrpc_kcp_dial does after DNS). cfg
 * NULL: frpc's settings. conv 0 in cfg: a random one. */
struct ufrpc_stream *ufrpc_kcp_connect(uv_loop_t *loop, const struct sockaddr *addr,
                                       const struct ufrpc_kcp_config *cfg, int *err);

/* Same over an already bound UDP socket (xtcp: the one the NAT hole was punched
 * with), which the stream takes, also on failure. The socket is connected to addr
 * (datagrams from elsewhere are dropped), as frp's DialUDP from the punched port.
 * An ICMP "port unreachable" does not end such a stream (the peer may be swapping
 * its socket, as frp does); a peer that is really gone ends it as a dead link. */
struct ufrpc_stream *ufrpc_kcp_connect_fd(uv_loop_t *loop, uv_os_sock_t fd,
                                          const struct sockaddr *addr,
                                          const struct ufrpc_kcp_config *cfg, int *err);

bool ufrpc_stream_is_kcp(const struct ufrpc_stream *s);
/* KCP counters of a KCP stream (zeros for another stream). */
void ufrpc_kcp_stream_stats(const struct ufrpc_stream *s, struct ufrpc_kcp_stats *st,
                            uint64_t *fec_recovered);

/* ---- listener (the test frps) ------------------------------------------------- */
typedef struct ufrpc_kcp_listener ufrpc_kcp_listener_t;
typedef void (*ufrpc_kcp_accept_cb)(ufrpc_kcp_listener_t *l, struct ufrpc_stream *conn);

/* Listens on ip:port (port 0: any). A data packet from a new address starts a
 * session with its conversation id and frps's settings (windows 1024/1024) and is
 * handed to cb, which owns the stream. NULL with *err on failure. */
ufrpc_kcp_listener_t *ufrpc_kcp_listen(uv_loop_t *loop, const char *ip, uint16_t port,
                                       ufrpc_kcp_accept_cb cb, void *data, int *err);
uint16_t ufrpc_kcp_listener_port(const ufrpc_kcp_listener_t *l);
void *ufrpc_kcp_listener_data(const ufrpc_kcp_listener_t *l);
void ufrpc_kcp_listener_close(ufrpc_kcp_listener_t *l, void (*cb)(void *data));

#endif
