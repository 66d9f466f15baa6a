/* proto/stun.c — STUN Binding request and response. See stun.h. */
#include "proto/stun.h"

#include <stdio.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"

enum {
    ATTR_MAPPED = 0x0001,
    ATTR_CHANGED = 0x0005,
    ATTR_XOR_MAPPED = 0x0020,
    ATTR_OTHER = 0x802C,
};

void ufrpc_stun_binding_request(uint8_t out[UFRPC_STUN_HEADER_LEN], const uint8_t tid[12])
{
    ufrpc_put_be16(out, 0x0001);
    ufrpc_put_be16(out + 2, 0);
    ufrpc_put_be32(out + 4, UFRPC_STUN_MAGIC);
    memcpy(out + 8, tid, 12);
}

/* An IPv4 address attribute (family 1); xor: XOR-MAPPED-ADDRESS's encoding. */
static void addr_of(const uint8_t *v, size_t len, int xor, char out[24])
{
    if (len < 8 || v[1] != 0x01)
        return; /* IPv6 or malformed: frp's discovery is IPv4 */
    uint16_t port = ufrpc_get_be16(v + 2);
    uint32_t ip = ufrpc_get_be32(v + 4);
    if (xor) {
        port ^= (uint16_t)(UFRPC_STUN_MAGIC >> 16);
        ip ^= UFRPC_STUN_MAGIC;
    }
    snprintf(out, 24, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             port);
}

int ufrpc_stun_parse(const uint8_t *msg, size_t len, const uint8_t tid[12],
                     struct ufrpc_stun_resp *r)
{
    memset(r, 0, sizeof *r);
    if (len < UFRPC_STUN_HEADER_LEN || (msg[0] & 0xc0) != 0 ||
        ufrpc_get_be32(msg + 4) != UFRPC_STUN_MAGIC || memcmp(msg + 8, tid, 12) != 0)
        return UFRPC_ERR_INVAL;
    size_t body = ufrpc_get_be16(msg + 2);
    if ((body & 3) != 0 || body > len - UFRPC_STUN_HEADER_LEN)
        return UFRPC_ERR_INVAL;
    char mapped[24] = "", xmapped[24] = "", changed[24] = "", other[24] = "";
    for (size_t off = UFRPC_STUN_HEADER_LEN; off < UFRPC_STUN_HEADER_LEN + body;) {
        if (UFRPC_STUN_HEADER_LEN + body - off < 4)
            return UFRPC_ERR_INVAL;
        uint16_t type = ufrpc_get_be16(msg + off), alen = ufrpc_get_be16(msg + off + 2);
        const uint8_t *v = msg + off + 4;
        if (alen > UFRPC_STUN_HEADER_LEN + body - off - 4)
            return UFRPC_ERR_INVAL;
        if (type == ATTR_MAPPED)
            addr_of(v, alen, 0, mapped);
        else if (type == ATTR_XOR_MAPPED)
            addr_of(v, alen, 1, xmapped);
        else if (type == ATTR_CHANGED)
            addr_of(v, alen, 0, changed);
        else if (type == ATTR_OTHER)
            addr_of(v, alen, 0, other);
        off += 4 + (((size_t)alen + 3) & ~(size_t)3);
    }
    memcpy(r->mapped, xmapped[0] ? xmapped : mapped, sizeof r->mapped);
    memcpy(r->other, other[0] ? other : changed, sizeof r->other);
    return 0;
}
