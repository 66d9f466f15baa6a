/* yamux frame header codec: 12 bytes, big-endian (version, type, flags, id, length). */
#include "proto/error.h"
#include "proto/yamux.h"

void ufrpc_yamux_header_encode(uint8_t out[UFRPC_YAMUX_HEADER_SIZE],
                               const struct ufrpc_yamux_header *h)
{
    out[0] = h->version;
    out[1] = h->type;
    out[2] = (uint8_t)(h->flags >> 8);
    out[3] = (uint8_t)h->flags;
    out[4] = (uint8_t)(h->stream_id >> 24);
    out[5] = (uint8_t)(h->stream_id >> 16);
    out[6] = (uint8_t)(h->stream_id >> 8);
    out[7] = (uint8_t)h->stream_id;
    out[8] = (uint8_t)(h->length >> 24);
    out[9] = (uint8_t)(h->length >> 16);
    out[10] = (uint8_t)(h->length >> 8);
    out[11] = (uint8_t)h->length;
}

int ufrpc_yamux_header_decode(const uint8_t in[UFRPC_YAMUX_HEADER_SIZE],
                              struct ufrpc_yamux_header *h)
{
    h->version = in[0];
    h->type = in[1];
    h->flags = (uint16_t)((in[2] << 8) | in[3]);
    h->stream_id = ((uint32_t)in[4] << 24) | ((uint32_t)in[5] << 16) |
                   ((uint32_t)in[6] << 8) | in[7];
    h->length = ((uint32_t)in[8] << 24) | ((uint32_t)in[9] << 16) |
                ((uint32_t)in[10] << 8) | in[11];
    if (h->version != 0)
        return UFRPC_ERR_YAMUX_VERSION;
    if (h->type > UFRPC_YAMUX_GO_AWAY)
        return UFRPC_ERR_YAMUX_TYPE;
    return 0;
}
