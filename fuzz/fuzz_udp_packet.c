/* libFuzzer: proto/udp_packet's codec without the socket-address layer. Input:
 * one byte (bit 0: wire version v2), then stream bytes for the wire reader; every
 * frame goes through ufrpc_udp_packet_decode_frame. Errors must be documented
 * ones; a UDPPacket whose address fits is re-encoded with the same text address
 * and must decode back to the same payload and address. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/udp_packet.h"
#include "proto/wire.h"

static uint8_t out[80000];

static void roundtrip(enum ufrpc_wire_version ver, const struct ufrpc_udp_packet *p)
{
    if (!p->has_raddr || p->port < 0 || p->port > 65535)
        return;
    size_t n = 0;
    int rc = ufrpc_udp_packet_encode_text(ver, p->data, p->len, p->ip, (uint16_t)p->port, p->zone,
                                          out, sizeof out, &n);
    if (rc == UFRPC_ERR_MSG_TOO_LONG || rc == UFRPC_ERR_INVAL)
        return; /* an address longer than frpc would send */
    CHECK(rc == 0 && n <= sizeof out);
    struct ufrpc_wire_reader r;
    ufrpc_wire_reader_init(&r, ver, false);
    size_t used = 0;
    struct ufrpc_frame f;
    CHECK(ufrpc_wire_reader_feed(&r, out, n, &used, &f) == 1 && used == n);
    struct ufrpc_udp_packet back;
    CHECK(ufrpc_udp_packet_decode_frame(&f, &back) == 1);
    CHECK(back.has_raddr && back.len == p->len && back.port == p->port &&
          strcmp(back.ip, p->ip) == 0 && strcmp(back.zone, p->zone) == 0 &&
          (p->len == 0 || memcmp(back.data, p->data, p->len) == 0));
    free(back.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum ufrpc_wire_version ver = (data[0] & 1) ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1;
    data++;
    size--;
    struct ufrpc_wire_reader *r = malloc(sizeof *r);
    if (r == NULL)
        return 0;
    ufrpc_wire_reader_init(r, ver, false);
    while (size > 0) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(r, data, size, &used, &f);
        CHECK(used <= size);
        data += used;
        size -= used;
        if (rc <= 0)
            break;
        struct ufrpc_udp_packet p;
        rc = ufrpc_udp_packet_decode_frame(&f, &p);
        CHECK(rc == 0 || rc == 1 || rc == UFRPC_ERR_JSON || rc == UFRPC_ERR_JSON_TYPE ||
              rc == UFRPC_ERR_JSON_RANGE || rc == UFRPC_ERR_BASE64 || rc == UFRPC_ERR_NOMEM ||
              rc == UFRPC_ERR_MSG_TYPE);
        if (rc < 0)
            break;
        if (rc == 1)
            roundtrip(ver, &p);
        free(p.data);
    }
    free(r);
    return 0;
}
