/* libFuzzer: what a udp/sudp work stream carries into client/udp_channel. Input:
 * one byte choosing the chunk size, then the stream bytes, fed to the v1 frame
 * decoder in chunks; every complete frame goes through ufrpc_udp_packet_decode.
 * Errors must be one of the documented codes; a UDPPacket with a usable "r" that
 * we re-encode must decode back to the same payload and address. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/udp_channel.h"
#include "proto/error.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
    return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
}

static void roundtrip(const struct ufrpc_udp_in *in)
{
    static uint8_t out[UFRPC_FRAME_HEADER_LEN + UFRPC_FRAME_MAX_BODY + 64];
    size_t n = 0;
    int rc = ufrpc_udp_packet_encode(in->data, in->len, (const struct sockaddr *)&in->addr, out,
                                     sizeof out, &n);
    if (rc == UFRPC_ERR_MSG_TOO_LONG)
        return; /* a longer zone/address form than the input had: dropped, never sent */
    if (rc != 0 || n > sizeof out || n > ufrpc_udp_packet_frame_bound(in->len))
        __builtin_trap();
    struct ufrpc_frame f = {out[0], (const char *)out + UFRPC_FRAME_HEADER_LEN,
                            n - UFRPC_FRAME_HEADER_LEN};
    struct ufrpc_udp_in back;
    if (ufrpc_udp_packet_decode(&f, &back) != 1 || !back.has_addr || back.len != in->len ||
        (in->len > 0 && memcmp(back.data, in->data, in->len) != 0) ||
        !addr_same(&back.addr, &in->addr))
        __builtin_trap();
    free(back.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    if (dec == NULL)
        return 0;
    ufrpc_frame_decoder_init(dec);
    while (size > 0) {
        size_t n = size < chunk ? size : chunk, used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(dec, data, n, &used, &f);
        if (used > n)
            __builtin_trap();
        data += used;
        size -= used;
        if (rc < 0) {
            if (rc != UFRPC_ERR_MSG_TYPE && rc != UFRPC_ERR_MSG_LENGTH && rc != UFRPC_ERR_MSG_TOO_LONG)
                __builtin_trap();
            break;
        }
        if (rc == 0)
            continue;
        struct ufrpc_udp_in in;
        rc = ufrpc_udp_packet_decode(&f, &in);
        if (rc < 0) {
            if (rc != UFRPC_ERR_JSON && rc != UFRPC_ERR_JSON_TYPE && rc != UFRPC_ERR_JSON_RANGE &&
                rc != UFRPC_ERR_BASE64 && rc != UFRPC_ERR_NOMEM && rc != UFRPC_ERR_MSG_TYPE)
                __builtin_trap();
            break;
        }
        if (rc == 1) {
            if (in.has_addr)
                roundtrip(&in);
            free(in.data);
        }
    }
    free(dec);
    return 0;
}
