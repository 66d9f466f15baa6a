/* ufrpc — the UDPPacket message codec of udp/sudp work streams and xtcp/sudp
 * visitors (docs/PROTOCOL.md §8), sans-I/O. The address is handled as text, as it
 * travels: converting it to and from a socket address (and an IPv6 zone to an
 * interface index) is the caller's business (client/core/udp_channel.c).
 *
 * Encoding writes one whole frame, v1 or v2, into the caller's buffer; decoding
 * takes one frame already cut by the frame decoder (proto/wire.h, which says "need
 * more" while a frame is incomplete) and hands out its payload. */
#ifndef UFRPC_PROTO_UDP_PACKET_H
#define UFRPC_PROTO_UDP_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/wire.h"

#define UFRPC_UDP_ZONE_MAX 15    /* IF_NAMESIZE - 1 */
#define UFRPC_UDP_IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* An upper bound of the frame ufrpc_udp_packet_encode writes for len payload
 * bytes over all addresses, both wire versions (v2 needs one byte more: ask for
 * bound + 1). */
size_t ufrpc_udp_packet_frame_bound(size_t len);

/* 1 when len payload bytes cannot fit one frame of version ver whatever the
 * address (their base64 alone is over the JSON limit): a cheap check before
 * allocating; 0 does not promise that the encoding fits. */
int ufrpc_udp_packet_never_fits(enum ufrpc_wire_version ver, size_t len);

/* Writes one UDPPacket frame {"c":<base64>,"r":{"IP":..,"Port":..,"Zone":..}} (key
 * order and spelling of Go's encoding/json; "l" omitted) for the payload
 * [data, len) and the address ip (an IP literal, at most UFRPC_UDP_IP_TEXT_MAX - 1
 * characters, written as given), port and zone (NULL or "" for none; at most
 * UFRPC_UDP_ZONE_MAX + 10 characters, written as given) into out[0..cap). ver
 * UFRPC_WIRE_V2 writes a v2 Message frame (JSON up to 65534 bytes), anything else
 * a v1 frame (JSON up to 10240 bytes). Returns 0 and *out_len;
 * UFRPC_ERR_MSG_TOO_LONG (the JSON would exceed the limit: never send it);
 * UFRPC_ERR_LIMIT (cap too small; ufrpc_udp_packet_frame_bound(len) + 1 always
 * suffices for a valid address); UFRPC_ERR_INVAL (a NULL argument, an address
 * longer than allowed). */
int ufrpc_udp_packet_encode_text(enum ufrpc_wire_version ver, const uint8_t *data, size_t len,
                                 const char *ip, uint16_t port, const char *zone, uint8_t *out,
                                 size_t cap, size_t *out_len);

/* One incoming UDPPacket. data is malloc'd (NULL when len is 0) and belongs to the
 * caller, who frees it with free(). The address is "r" as sent. */
struct ufrpc_udp_packet {
    uint8_t *data;
    size_t len;
    int has_raddr;                   /* 0: "r" absent, or its IP or zone too long */
    char ip[UFRPC_UDP_IP_TEXT_MAX];  /* may be empty (a nil IP) */
    int64_t port;                    /* not range-checked */
    char zone[UFRPC_UDP_ZONE_MAX + 11];
};

/* Decodes one v1 frame (a v2 frame is split into this form by the wire reader).
 * Returns 1 (a UDPPacket: *pkt filled), 0 (Ping or another known type: valid,
 * nothing to do, *pkt zeroed), or <0 (UFRPC_ERR_JSON, _JSON_TYPE, _JSON_RANGE,
 * _BASE64, _MSG_TYPE, _NOMEM: the channel must end; *pkt zeroed). */
int ufrpc_udp_packet_decode_frame(const struct ufrpc_frame *f, struct ufrpc_udp_packet *pkt);

#endif
