/* yamux frame header codec: 12 bytes, big-endian (version, type, flags, id, length). */
#include "proto/error.h"
#include "proto/byteorder.h"
#include "proto/yamux.h"

void ufrpc_yamux_header_encode(uint8_t out[UFRPC_YAMUX_HEADER_SIZE],
                               const struct ufrpc_yamux_header *h)
{
    out[0] = h->version;
    out[1] = h->type;
    ufrpc_put_be16(out + 2, h->flags);
    ufrpc_put_be32(out + 4, h->stream_id);
    ufrpc_put_be32(out + 8, h->length);
}

int ufrpc_yamux_header_decode(const uint8_t in[UFRPC_YAMUX_HEADER_SIZE],
                              struct ufrpc_yamux_header *h)
{
    h->version = in[0];
    h->type = in[1];
    h->flags = ufrpc_get_be16(in + 2);
    h->stream_id = ufrpc_get_be32(in + 4);
    h->length = ufrpc_get_be32(in + 8);
    if (h->version != 0)
        return UFRPC_ERR_YAMUX_VERSION;
    if (h->type > UFRPC_YAMUX_GO_AWAY)
        return UFRPC_ERR_YAMUX_TYPE;
    return 0;
}
