/* ufrpc — the UDPPacket message channel of udp and sudp proxies (docs/PROTOCOL.md §8).
 *
 * After StartWorkConn, the work stream of a udp (or sudp) proxy carries v1 frames
 * both ways: frps sends UDPPacket{c, r=<user address>} for each datagram a user
 * sent; frpc keeps one local UDP socket per user address ("peer"), connected to
 * localIP:localPort, writes the payload to it, and sends every reply back as
 * UDPPacket{c, r=<same user address>}. frpc also sends Ping{} every 30 s (frps
 * drops a channel that is silent for 60 s). A peer closes after 30 s without
 * traffic either way (frp: a 30 s read deadline re-armed on every write).
 *
 * Limits (nothing grows without bound; every drop is counted, never fatal):
 *  - a reply whose UDPPacket JSON would exceed 10240 bytes is dropped
 *    (drop_oversize), never sent; ~7.5 KB of payload fits;
 *  - frames waiting for the work stream are bounded by max_queued bytes
 *    (drop_queue_full); writes to the local sockets use uv_udp_try_send, so a
 *    busy local socket drops (drop_local_busy) instead of queueing;
 *  - at most max_peers local sockets (drop_no_peer beyond that);
 *  - replies longer than packet_size (udpPacketSize) are cut to packet_size, as
 *    Go's ReadFromUDP does (truncated).
 *  Memory: max_queued + packet_size + ~10 KiB decoder + max_peers * ~400 B.
 *
 * Incoming frames: UDPPacket is forwarded; Ping is ignored; other known message
 * types are ignored and counted (ignored); a UDPPacket without a usable "r"
 * (absent, not an IP literal, port out of range) is dropped (drop_bad_addr).
 * A framing error (unknown type byte, bad length), malformed JSON or base64 ends
 * the channel with that error: frp drops such a connection too.
 *
 * Ownership and lifetimes:
 *  - ufrpc_udp_channel_start takes the work stream (also on failure: then it is
 *    closed). The stream must deliver every byte that follows StartWorkConn
 *    (already unwrapped: encryption/compression applied by the owner); bytes the
 *    owner already read past StartWorkConn (plaintext) can be handed over as
 *    `initial` (copied).
 *  - The channel ends on a stream error/EOF, a protocol error, or
 *    ufrpc_udp_channel_close(); it then closes every socket and the stream, calls
 *    on_close exactly once (never from inside start or close) and frees itself
 *    right after on_close returns. The channel pointer is valid until then.
 *  - The stream's `data` field belongs to the channel from start on.
 *  - A udp proxy keeps one channel: when a new StartWorkConn arrives for it, the
 *    owner calls ufrpc_udp_channel_close() on the old one before starting the new
 *    one (frpc does the same). The old channel's on_close runs later, so the
 *    owner clears its pointer there only if it still points to that channel.
 *    A sudp proxy runs one channel per visitor stream (keep a list; close them
 *    all when the proxy closes).
 *  - With useEncryption/useCompression the owner stacks, from the wire up:
 *    s = ufrpc_prefix_stream_new(work, <bytes read past StartWorkConn>) (net/
 *    prefix.h; skip when there are none), then ufrpc_xform_wrap(s, ...) keyed
 *    with the token, then hands the result here with initial = NULL.
 *  - opts strings are copied; opts may be freed after start.
 */
#ifndef UFRPC_CLIENT_UDP_CHANNEL_H
#define UFRPC_CLIENT_UDP_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"
#include "net/stream.h"
#include "proto/frame.h"
#include "proto/udp_packet.h" /* ufrpc_udp_packet_frame_bound */
#include "proto/wire.h"

#define UFRPC_UDP_DEFAULT_PACKET_SIZE 1500u
#define UFRPC_UDP_IDLE_TIMEOUT_MS 30000u
#define UFRPC_UDP_PING_INTERVAL_MS 30000u
#define UFRPC_UDP_DEFAULT_MAX_QUEUED (256u * 1024u)
#define UFRPC_UDP_DEFAULT_MAX_PEERS 1024u
/* Largest payload whose UDPPacket fits in 10240 bytes of JSON with the longest
 * address (IPv6 with a 15-char zone, port 65535). */
#define UFRPC_UDP_MAX_SAFE_PAYLOAD 7599u

/* ---- socket-address wrappers of proto/udp_packet.h (shared with client/core/visitor.c,
 * fuzzed): the codec itself is there, these convert the address. ---------------- */

/* Writes a complete v1 UDPPacket frame {"c":<base64>,"r":{"IP":..,"Port":..,"Zone":..}}
 * (key order and spelling of Go's encoding/json; "l" omitted) for payload
 * [data, len) and the address `addr` (AF_INET or AF_INET6; the IPv6 scope becomes
 * the zone as an interface name, or its number) into out[0..cap).
 * Returns 0 and *out_len, UFRPC_ERR_MSG_TOO_LONG (JSON over 10240 bytes: never
 * send it), UFRPC_ERR_LIMIT (cap too small), UFRPC_ERR_INVAL (bad family). */
int ufrpc_udp_packet_encode(const uint8_t *data, size_t len, const struct sockaddr *addr,
                            uint8_t *out, size_t cap, size_t *out_len);

/* ufrpc_udp_packet_encode for a wire version: UFRPC_WIRE_V2 writes a v2 Message
 * frame (8-byte header, message id, JSON up to 65534 bytes) needing at most
 * ufrpc_udp_packet_frame_bound(len) + 1 bytes; V1 (or 0) is ufrpc_udp_packet_encode. */
int ufrpc_udp_packet_encode_wire(enum ufrpc_wire_version ver, const uint8_t *data, size_t len,
                                 const struct sockaddr *addr, uint8_t *out, size_t cap,
                                 size_t *out_len);

/* A decoded incoming UDPPacket: payload (malloc'd, caller frees with free()) and
 * the "r" address. */
struct ufrpc_udp_in {
    uint8_t *data;
    size_t len;
    int has_addr;                 /* 0: "r" absent or unusable */
    struct sockaddr_storage addr; /* valid when has_addr */
};

/* Decodes a frame from the channel. Returns 1 (UDPPacket: *in filled), 0 (Ping or
 * another known type: nothing to do, *in zeroed), or <0 (UFRPC_ERR_JSON,
 * _JSON_TYPE, _JSON_RANGE, _BASE64, _NOMEM: the channel must end). */
int ufrpc_udp_packet_decode(const struct ufrpc_frame *f, struct ufrpc_udp_in *in);

/* "r" of a UDPPacket → socket address: IP must be an IPv4/IPv6 literal, Port in
 * 0..65535, Zone (IPv6 only) an interface name or number. 0 or UFRPC_ERR_INVAL. */
int ufrpc_udp_addr_parse(const char *ip, int64_t port, const char *zone,
                         struct sockaddr_storage *out);

/* The address a udp proxy sends to when localIP is a host name: the first IPv4
 * address of the resolver's list, else the first IPv6 one, as Go's ResolveUDPAddr
 * ("udp") picks it for frpc (glibc lists ::1 before 127.0.0.1 for "localhost" when
 * /etc/hosts has both, and a service on 127.0.0.1 would never get a datagram).
 * NULL when the list has neither. */
struct addrinfo;
const struct addrinfo *ufrpc_udp_pick_resolved(const struct addrinfo *list);

/* ---- the channel ---------------------------------------------------------------- */
typedef struct ufrpc_udp_channel ufrpc_udp_channel_t;

struct ufrpc_udp_channel_stats {
    uint64_t packets_in, bytes_in;   /* frps → local service (payload bytes) */
    uint64_t packets_out, bytes_out; /* local service → frps (payload bytes) */
    uint64_t pings_sent;
    uint64_t peers_opened, peers_closed_idle, peers_active;
    uint64_t drop_oversize;   /* reply too large for a v1 frame */
    uint64_t drop_queue_full; /* work stream backlog at max_queued */
    uint64_t drop_local_busy; /* local socket refused the datagram (EAGAIN, error) */
    uint64_t drop_no_peer;    /* max_peers reached or local socket setup failed */
    uint64_t drop_bad_addr;   /* UDPPacket without a usable "r" */
    uint64_t truncated;       /* replies cut to packet_size */
    uint64_t ignored;         /* frames of other types */
};

/* reason: UFRPC_ERR_EOF (frps closed the stream), UFRPC_ERR_CANCELED
 * (ufrpc_udp_channel_close), a stream error, or a protocol error. */
typedef void (*ufrpc_udp_channel_close_cb)(ufrpc_udp_channel_t *ch, int reason,
                                           const struct ufrpc_udp_channel_stats *st,
                                           void *data);

/* Optional: bytes to put in front of the first datagram sent to the local service
 * for a new user address (frp's PROXY protocol header for udp). Writes at most cap
 * bytes into out and returns the length, 0 for none, or <0 (then none). */
typedef int (*ufrpc_udp_first_prefix_fn)(void *data, const struct sockaddr *user,
                                         const struct sockaddr *local, uint8_t *out,
                                         size_t cap);

struct ufrpc_udp_channel_opts {
    uv_loop_t *loop;
    struct ufrpc_log *log;     /* may be NULL; must outlive the channel */
    const char *name;          /* proxy name, for logs (copied) */
    const char *local_ip;      /* IP literal or host name (resolved once, at start) */
    uint16_t local_port;
    size_t packet_size;        /* udpPacketSize; 0 = 1500 */
    uint32_t idle_timeout_ms;  /* 0 = 30000 */
    uint32_t ping_interval_ms; /* 0 = 30000 */
    size_t max_queued;         /* 0 = 256 KiB */
    size_t max_peers;          /* 0 = 1024 */
    ufrpc_udp_first_prefix_fn first_prefix; /* NULL: none */
    ufrpc_udp_channel_close_cb on_close;    /* may be NULL */
    void *data;                /* for on_close and first_prefix */
    enum ufrpc_wire_version wire; /* framing on the work stream; 0 = UFRPC_WIRE_V1 */
};

/* Starts the channel on `work` (taken; see above). Returns 0 and *out (may be
 * NULL), or <0 (UFRPC_ERR_INVAL, _DNS for an unresolvable local_ip, _NOMEM, libuv
 * errors mapped): then the stream is closed and on_close never runs. */
int ufrpc_udp_channel_start(const struct ufrpc_udp_channel_opts *opts,
                            struct ufrpc_stream *work, const uint8_t *initial,
                            size_t initial_len, ufrpc_udp_channel_t **out);

/* Ends the channel now (on_close runs later with UFRPC_ERR_CANCELED). No-op if it
 * is already ending. */
void ufrpc_udp_channel_close(ufrpc_udp_channel_t *ch);

void ufrpc_udp_channel_get_stats(const ufrpc_udp_channel_t *ch,
                                 struct ufrpc_udp_channel_stats *st);

#endif
