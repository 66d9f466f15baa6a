/* v2 message codec for streams, see v2msg.h. */
#include "proto/v2msg.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

int ufrpc_v2msg_encode(const struct ufrpc_msg *m, bool with_magic, uint8_t **out, size_t *len)
{
    if (m == NULL || out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    uint8_t *frame;
    size_t frame_len;
    int rc = ufrpc_msg_encode_frame_v2(m, &frame, &frame_len);
    if (rc != 0)
        return rc;
    if (!with_magic) {
        *out = frame;
        *len = frame_len;
        return 0;
    }
    uint8_t *buf = malloc(UFRPC_FRAME_V2_MAGIC_LEN + frame_len);
    if (buf == NULL) {
        free(frame);
        return UFRPC_ERR_NOMEM;
    }
    memcpy(buf, UFRPC_FRAME_V2_MAGIC, UFRPC_FRAME_V2_MAGIC_LEN);
    memcpy(buf + UFRPC_FRAME_V2_MAGIC_LEN, frame, frame_len);
    free(frame);
    *out = buf;
    *len = UFRPC_FRAME_V2_MAGIC_LEN + frame_len;
    return 0;
}

void ufrpc_v2msg_reader_init(struct ufrpc_v2msg_reader *r, bool expect_magic)
{
    r->expect_magic = expect_magic;
    r->magic_have = 0;
    r->err = 0;
    ufrpc_frame_v2_decoder_init(&r->dec);
}

int ufrpc_v2msg_reader_pending(const struct ufrpc_v2msg_reader *r)
{
    return (r->expect_magic && r->magic_have > 0) || ufrpc_frame_v2_decoder_pending(&r->dec);
}

static int fail(struct ufrpc_v2msg_reader *r, int rc)
{
    r->err = rc;
    return rc;
}

int ufrpc_v2msg_reader_feed_frame(struct ufrpc_v2msg_reader *r, const uint8_t *in, size_t len,
                                  size_t *consumed, struct ufrpc_frame *out)
{
    if (consumed != NULL)
        *consumed = 0;
    if (r == NULL || consumed == NULL || out == NULL || (in == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (r->err != 0)
        return r->err;
    size_t off = 0;
    static const uint8_t magic[] = UFRPC_FRAME_V2_MAGIC;
    while (r->expect_magic && off < len) {
        if (in[off] != magic[r->magic_have])
            return fail(r, UFRPC_ERR_V2_MAGIC);
        off++;
        *consumed = off;
        if (++r->magic_have == UFRPC_FRAME_V2_MAGIC_LEN)
            r->expect_magic = false;
    }
    if (r->expect_magic)
        return 0;
    size_t used = 0;
    struct ufrpc_frame_v2 f;
    int rc = ufrpc_frame_v2_decoder_feed(&r->dec, in + off, len - off, &used, &f);
    *consumed = off + used;
    if (rc <= 0)
        return rc < 0 ? fail(r, rc) : 0;
    if (f.type != UFRPC_FRAME_V2_MESSAGE)
        return fail(r, UFRPC_ERR_V2_FRAME);
    rc = ufrpc_frame_v2_split_message(&f, &out->type, &out->body, &out->body_len);
    if (rc != 0)
        return fail(r, rc);
    return 1;
}

int ufrpc_v2msg_reader_feed(struct ufrpc_v2msg_reader *r, const uint8_t *in, size_t len,
                            size_t *consumed, struct ufrpc_msg *out)
{
    if (out == NULL) {
        if (consumed != NULL)
            *consumed = 0;
        return UFRPC_ERR_INVAL;
    }
    struct ufrpc_frame f;
    int rc = ufrpc_v2msg_reader_feed_frame(r, in, len, consumed, &f);
    if (rc != 1)
        return rc;
    rc = ufrpc_msg_decode(f.type, f.body, f.body_len, out);
    if (rc != 0)
        return fail(r, rc);
    return 1;
}
