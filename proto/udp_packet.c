/* UDPPacket codec: see udp_packet.h. */
#include "proto/udp_packet.h"

#include <stdio.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/msg.h"

/* JSON bytes besides the base64 text: {"c":"","r":{"IP":"","Port":,"Zone":""}} */
#define JSON_FIXED 40u
#define JSON_OVERHEAD_MAX (JSON_FIXED + 45u + 5u + UFRPC_UDP_ZONE_MAX)

size_t ufrpc_udp_packet_frame_bound(size_t len)
{
    return UFRPC_FRAME_HEADER_LEN + ufrpc_base64_encoded_len(len) + JSON_OVERHEAD_MAX + 1;
}

/* JSON limit of one message frame: 10240 (v1), 65534 (v2: 65536 - message id). */
static size_t json_limit(enum ufrpc_wire_version ver)
{
    return ver == UFRPC_WIRE_V2 ? 65534u : UFRPC_FRAME_MAX_BODY;
}

int ufrpc_udp_packet_never_fits(enum ufrpc_wire_version ver, size_t len)
{
    return ufrpc_base64_encoded_len(len) > json_limit(ver);
}

int ufrpc_udp_packet_encode_text(enum ufrpc_wire_version ver, const uint8_t *data, size_t len,
                                 const char *ip, uint16_t port, const char *zone, uint8_t *out,
                                 size_t cap, size_t *out_len)
{
    const int v2 = ver == UFRPC_WIRE_V2;
    const size_t hl = v2 ? UFRPC_FRAME_V2_HEADER_LEN + 2 : UFRPC_FRAME_HEADER_LEN;
    const size_t limit = json_limit(ver);
    if (ip == NULL || out == NULL || out_len == NULL || (data == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (zone == NULL)
        zone = "";
    size_t iplen = strlen(ip), zlen = strlen(zone);
    if (iplen >= UFRPC_UDP_IP_TEXT_MAX || zlen > UFRPC_UDP_ZONE_MAX + 10)
        return UFRPC_ERR_INVAL;
    /* written into the JSON verbatim: no address text has a quote, a backslash or a
     * control character, so one that does (from a decoded peer message) is refused */
    for (const char *s = ip; *s != '\0'; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return UFRPC_ERR_INVAL;
    for (const char *s = zone; *s != '\0'; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return UFRPC_ERR_INVAL;
    size_t b64 = ufrpc_base64_encoded_len(len);
    char portbuf[8];
    int plen = snprintf(portbuf, sizeof portbuf, "%u", (unsigned)port);
    size_t json = JSON_FIXED + b64 + iplen + (size_t)plen + zlen;
    if (b64 > limit || json > limit)
        return UFRPC_ERR_MSG_TOO_LONG;
    /* +1: ufrpc_base64_encode appends a NUL */
    if (cap < hl + json + 1)
        return UFRPC_ERR_LIMIT;
    int rc;
    if (v2) {
        uint16_t id = ufrpc_frame_v2_msg_id(UFRPC_MSG_UDP_PACKET);
        rc = ufrpc_frame_v2_encode_header(UFRPC_FRAME_V2_MESSAGE, json + 2, out);
        ufrpc_put_be16(out + UFRPC_FRAME_V2_HEADER_LEN, id);
    } else {
        rc = ufrpc_frame_encode_header(UFRPC_MSG_UDP_PACKET, json, out);
    }
    if (rc < 0)
        return rc;
    char *p = (char *)out + hl;
#define PUT(s, n) (memcpy(p, (s), (n)), p += (n))
    PUT("{\"c\":\"", 6);
    p += ufrpc_base64_encode(data, len, p);
    PUT("\",\"r\":{\"IP\":\"", 13);
    PUT(ip, iplen);
    PUT("\",\"Port\":", 9);
    PUT(portbuf, (size_t)plen);
    PUT(",\"Zone\":\"", 9);
    PUT(zone, zlen);
    PUT("\"}}", 3);
#undef PUT
    *out_len = (size_t)((uint8_t *)p - out);
    return 0;
}

int ufrpc_udp_packet_decode_frame(const struct ufrpc_frame *f, struct ufrpc_udp_packet *pkt)
{
    memset(pkt, 0, sizeof *pkt);
    struct ufrpc_msg m;
    /* other types are still validated as their own type: garbage never passes */
    int rc = ufrpc_msg_decode(f->type, f->body, f->body_len, &m);
    if (rc < 0)
        return rc;
    if (f->type != UFRPC_MSG_UDP_PACKET) {
        ufrpc_msg_free(&m);
        return 0;
    }
    struct ufrpc_msg_udp_packet *u = &m.u.udp_packet;
    const struct ufrpc_udp_addr *r = u->raddr;
    if (r != NULL) {
        const char *ip = r->ip != NULL ? r->ip : "";
        const char *zone = r->zone != NULL ? r->zone : "";
        if (strlen(ip) < sizeof pkt->ip && strlen(zone) < sizeof pkt->zone) {
            memcpy(pkt->ip, ip, strlen(ip) + 1);
            memcpy(pkt->zone, zone, strlen(zone) + 1);
            pkt->port = r->port;
            pkt->has_raddr = 1;
        }
    }
    pkt->data = u->content.data; /* take it */
    pkt->len = u->content.len;
    u->content.data = NULL;
    u->content.len = 0;
    ufrpc_msg_free(&m);
    return 1;
}
