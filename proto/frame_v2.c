/* v2 frame codec: see frame_v2.h for the contract. */
#include "proto/frame_v2.h"

#include <stdlib.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/frame.h"

/* v2 message ids (frp pkg/msg/wire_v2.go), indexed by id - 1. */
static const uint8_t v2_ids[] = {
    UFRPC_MSG_LOGIN,
    UFRPC_MSG_LOGIN_RESP,
    UFRPC_MSG_NEW_PROXY,
    UFRPC_MSG_NEW_PROXY_RESP,
    UFRPC_MSG_CLOSE_PROXY,
    UFRPC_MSG_NEW_WORK_CONN,
    UFRPC_MSG_REQ_WORK_CONN,
    UFRPC_MSG_START_WORK_CONN,
    UFRPC_MSG_NEW_VISITOR_CONN,
    UFRPC_MSG_NEW_VISITOR_CONN_RESP,
    UFRPC_MSG_PING,
    UFRPC_MSG_PONG,
    UFRPC_MSG_UDP_PACKET,
    UFRPC_MSG_NAT_HOLE_VISITOR,
    UFRPC_MSG_NAT_HOLE_CLIENT,
    UFRPC_MSG_NAT_HOLE_RESP,
    UFRPC_MSG_NAT_HOLE_SID,
    UFRPC_MSG_NAT_HOLE_REPORT,
};
#define N_IDS (sizeof v2_ids / sizeof v2_ids[0])

uint16_t ufrpc_frame_v2_msg_id(uint8_t v1_type)
{
    for (size_t i = 0; i < N_IDS; i++)
        if (v2_ids[i] == v1_type)
            return (uint16_t)(i + 1);
    return 0;
}

uint8_t ufrpc_frame_v2_msg_type(uint16_t msg_id)
{
    if (msg_id == 0 || msg_id > N_IDS)
        return 0;
    return v2_ids[msg_id - 1];
}

int ufrpc_frame_v2_magic_check(const uint8_t *in, size_t len)
{
    static const uint8_t magic[UFRPC_FRAME_V2_MAGIC_LEN] = {'F', 'R', 'P', 0, 2, '\r', '\n'};
    size_t n = len < UFRPC_FRAME_V2_MAGIC_LEN ? len : UFRPC_FRAME_V2_MAGIC_LEN;
    if (n > 0 && in == NULL)
        return UFRPC_ERR_INVAL;
    if (n > 0 && memcmp(in, magic, n) != 0)
        return UFRPC_ERR_V2_MAGIC;
    return n == UFRPC_FRAME_V2_MAGIC_LEN ? 1 : 0;
}

void ufrpc_frame_v2_decoder_init(struct ufrpc_frame_v2_decoder *dec)
{
    dec->hdr_have = 0;
    dec->payload_len = 0;
    dec->payload_have = 0;
    dec->err = 0;
    dec->payload[0] = 0;
}

void ufrpc_frame_v2_decoder_reset(struct ufrpc_frame_v2_decoder *dec)
{
    ufrpc_frame_v2_decoder_init(dec);
}

int ufrpc_frame_v2_decoder_pending(const struct ufrpc_frame_v2_decoder *dec)
{
    return dec->hdr_have > 0;
}

int ufrpc_frame_v2_decoder_feed(struct ufrpc_frame_v2_decoder *dec, const uint8_t *in, size_t len,
                                size_t *consumed, struct ufrpc_frame_v2 *frame)
{
    size_t used = 0;
    if (consumed != NULL)
        *consumed = 0;
    if (dec == NULL || consumed == NULL || frame == NULL || (in == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (dec->err != 0)
        return dec->err;

    if (dec->hdr_have < UFRPC_FRAME_V2_HEADER_LEN) {
        size_t take = UFRPC_FRAME_V2_HEADER_LEN - dec->hdr_have;
        if (take > len)
            take = len;
        memcpy(dec->hdr + dec->hdr_have, in, take);
        dec->hdr_have += take;
        used = take;
        if (dec->hdr_have < UFRPC_FRAME_V2_HEADER_LEN) {
            *consumed = used;
            return 0;
        }
        uint32_t plen = ufrpc_get_be32(dec->hdr + 4);
        if (ufrpc_get_be16(dec->hdr + 2) != 0 || plen > UFRPC_FRAME_V2_MAX_PAYLOAD) {
            dec->err = UFRPC_ERR_V2_FRAME;
            *consumed = used;
            return dec->err;
        }
        dec->payload_len = plen;
        dec->payload_have = 0;
    }

    size_t want = dec->payload_len - dec->payload_have;
    size_t take = len - used < want ? len - used : want;
    if (take > 0) {
        memcpy(dec->payload + dec->payload_have, in + used, take);
        dec->payload_have += take;
        used += take;
    }
    *consumed = used;
    if (dec->payload_have < dec->payload_len)
        return 0;

    dec->payload[dec->payload_len] = 0;
    frame->type = ufrpc_get_be16(dec->hdr);
    frame->payload = dec->payload;
    frame->payload_len = dec->payload_len;
    dec->hdr_have = 0;
    dec->payload_have = 0;
    return 1;
}

int ufrpc_frame_v2_split_message(const struct ufrpc_frame_v2 *frame, uint8_t *v1_type,
                                 const char **json, size_t *json_len)
{
    if (frame == NULL || v1_type == NULL || json == NULL || json_len == NULL)
        return UFRPC_ERR_INVAL;
    if (frame->type != UFRPC_FRAME_V2_MESSAGE || frame->payload_len < 2)
        return UFRPC_ERR_V2_FRAME;
    uint8_t t = ufrpc_frame_v2_msg_type(ufrpc_get_be16(frame->payload));
    if (t == 0)
        return UFRPC_ERR_MSG_TYPE;
    *v1_type = t;
    *json = (const char *)frame->payload + 2;
    *json_len = frame->payload_len - 2;
    return 0;
}

int ufrpc_frame_v2_encode_header(uint16_t type, size_t payload_len,
                                 uint8_t out[UFRPC_FRAME_V2_HEADER_LEN])
{
    if (payload_len > UFRPC_FRAME_V2_MAX_PAYLOAD)
        return UFRPC_ERR_V2_FRAME;
    ufrpc_put_be16(out, type);
    ufrpc_put_be16(out + 2, 0);
    ufrpc_put_be32(out + 4, (uint32_t)payload_len);
    return 0;
}

int ufrpc_frame_v2_encode(uint16_t type, const void *payload, size_t payload_len, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    uint8_t hdr[UFRPC_FRAME_V2_HEADER_LEN];
    if ((payload == NULL && payload_len > 0) || out == NULL || out_len == NULL)
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_frame_v2_encode_header(type, payload_len, hdr);
    if (rc != 0)
        return rc;
    if (cap < UFRPC_FRAME_V2_HEADER_LEN + payload_len)
        return UFRPC_ERR_LIMIT;
    memcpy(out, hdr, sizeof hdr);
    if (payload_len > 0)
        memcpy(out + UFRPC_FRAME_V2_HEADER_LEN, payload, payload_len);
    *out_len = UFRPC_FRAME_V2_HEADER_LEN + payload_len;
    return 0;
}

int ufrpc_frame_v2_encode_message_alloc(uint8_t v1_type, const void *json, size_t json_len,
                                        uint8_t **out, size_t *out_len)
{
    uint8_t hdr[UFRPC_FRAME_V2_HEADER_LEN];
    if ((json == NULL && json_len > 0) || out == NULL || out_len == NULL)
        return UFRPC_ERR_INVAL;
    uint16_t id = ufrpc_frame_v2_msg_id(v1_type);
    if (id == 0)
        return UFRPC_ERR_MSG_TYPE;
    if (json_len > UFRPC_FRAME_V2_MAX_PAYLOAD - 2)
        return UFRPC_ERR_V2_FRAME;
    ufrpc_frame_v2_encode_header(UFRPC_FRAME_V2_MESSAGE, json_len + 2, hdr);
    size_t total = UFRPC_FRAME_V2_HEADER_LEN + 2 + json_len;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(buf, hdr, sizeof hdr);
    ufrpc_put_be16(buf + 8, id);
    if (json_len > 0)
        memcpy(buf + 10, json, json_len);
    *out = buf;
    *out_len = total;
    return 0;
}
