/* v1/v2 message framing on plaintext streams, see wire.h. */
#include "proto/wire.h"

#include <stddef.h>
#include <string.h>

#include "proto/error.h"

int ufrpc_wire_parse(const char *s, enum ufrpc_wire_version *out)
{
    if (out == NULL)
        return UFRPC_ERR_INVAL;
    if (s == NULL || s[0] == '\0' || strcmp(s, "v1") == 0)
        *out = UFRPC_WIRE_V1;
    else if (strcmp(s, "v2") == 0)
        *out = UFRPC_WIRE_V2;
    else
        return UFRPC_ERR_INVAL;
    return 0;
}

size_t ufrpc_wire_reader_size(enum ufrpc_wire_version ver)
{
    size_t member = ver == UFRPC_WIRE_V2 ? sizeof(struct ufrpc_v2msg_reader)
                                         : sizeof(struct ufrpc_frame_decoder);
    return offsetof(struct ufrpc_wire_reader, u) + member;
}

void ufrpc_wire_reader_init(struct ufrpc_wire_reader *r, enum ufrpc_wire_version ver,
                            bool expect_magic)
{
    r->ver = ver == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1;
    if (r->ver == UFRPC_WIRE_V2)
        ufrpc_v2msg_reader_init(&r->u.v2, expect_magic);
    else
        ufrpc_frame_decoder_init(&r->u.v1);
}

int ufrpc_wire_reader_feed(struct ufrpc_wire_reader *r, const uint8_t *in, size_t len,
                           size_t *consumed, struct ufrpc_frame *out)
{
    if (r == NULL) {
        if (consumed != NULL)
            *consumed = 0;
        return UFRPC_ERR_INVAL;
    }
    if (r->ver == UFRPC_WIRE_V2)
        return ufrpc_v2msg_reader_feed_frame(&r->u.v2, in, len, consumed, out);
    return ufrpc_frame_decoder_feed(&r->u.v1, in, len, consumed, out);
}

int ufrpc_wire_reader_pending(const struct ufrpc_wire_reader *r)
{
    return r->ver == UFRPC_WIRE_V2 ? ufrpc_v2msg_reader_pending(&r->u.v2)
                                   : ufrpc_frame_decoder_pending(&r->u.v1);
}

int ufrpc_wire_encode(const struct ufrpc_msg *m, enum ufrpc_wire_version ver, bool stream_start,
                      uint8_t **out, size_t *len)
{
    if (ver == UFRPC_WIRE_V2)
        return ufrpc_v2msg_encode(m, stream_start, out, len);
    if (m == NULL || out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    return ufrpc_msg_encode_frame(m, out, len);
}

int ufrpc_wire_check_type(enum ufrpc_wire_version ver, uint8_t got, uint8_t want)
{
    if (ver == UFRPC_WIRE_V2 && got != want)
        return UFRPC_ERR_MSG_TYPE;
    return 0;
}
