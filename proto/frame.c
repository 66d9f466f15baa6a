/* v1 frame codec: see frame.h for the contract. */
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

static const struct {
    uint8_t type;
    const char *name;
} types[] = {
    {UFRPC_MSG_LOGIN, "Login"},
    {UFRPC_MSG_LOGIN_RESP, "LoginResp"},
    {UFRPC_MSG_NEW_PROXY, "NewProxy"},
    {UFRPC_MSG_NEW_PROXY_RESP, "NewProxyResp"},
    {UFRPC_MSG_CLOSE_PROXY, "CloseProxy"},
    {UFRPC_MSG_NEW_WORK_CONN, "NewWorkConn"},
    {UFRPC_MSG_REQ_WORK_CONN, "ReqWorkConn"},
    {UFRPC_MSG_START_WORK_CONN, "StartWorkConn"},
    {UFRPC_MSG_NEW_VISITOR_CONN, "NewVisitorConn"},
    {UFRPC_MSG_NEW_VISITOR_CONN_RESP, "NewVisitorConnResp"},
    {UFRPC_MSG_PING, "Ping"},
    {UFRPC_MSG_PONG, "Pong"},
    {UFRPC_MSG_UDP_PACKET, "UDPPacket"},
    {UFRPC_MSG_NAT_HOLE_VISITOR, "NatHoleVisitor"},
    {UFRPC_MSG_NAT_HOLE_CLIENT, "NatHoleClient"},
    {UFRPC_MSG_NAT_HOLE_RESP, "NatHoleResp"},
    {UFRPC_MSG_NAT_HOLE_SID, "NatHoleSid"},
    {UFRPC_MSG_NAT_HOLE_REPORT, "NatHoleReport"},
};

const char *ufrpc_frame_type_name(uint8_t type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return types[i].name;
    return "unknown";
}

int ufrpc_frame_type_known(uint8_t type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return 1;
    return 0;
}

void ufrpc_frame_decoder_init(struct ufrpc_frame_decoder *dec)
{
    dec->hdr_have = 0;
    dec->body_len = 0;
    dec->body_have = 0;
    dec->err = 0;
    dec->body[0] = '\0';
}

void ufrpc_frame_decoder_reset(struct ufrpc_frame_decoder *dec)
{
    ufrpc_frame_decoder_init(dec);
}

int ufrpc_frame_decoder_pending(const struct ufrpc_frame_decoder *dec)
{
    return dec->hdr_have > 0;
}

/* Validates the 8 length bytes of a full header; sets dec->body_len. */
static int parse_length(struct ufrpc_frame_decoder *dec)
{
    uint64_t v = 0;
    for (int i = 1; i < UFRPC_FRAME_HEADER_LEN; i++)
        v = (v << 8) | dec->hdr[i];
    if (v & (UINT64_C(1) << 63))
        return UFRPC_ERR_MSG_LENGTH;
    if (v > UFRPC_FRAME_MAX_BODY)
        return UFRPC_ERR_MSG_TOO_LONG;
    dec->body_len = (size_t)v;
    return 0;
}

int ufrpc_frame_decoder_feed(struct ufrpc_frame_decoder *dec, const uint8_t *in, size_t len,
                             size_t *consumed, struct ufrpc_frame *frame)
{
    size_t used = 0;
    if (consumed != NULL)
        *consumed = 0;
    if (dec == NULL || consumed == NULL || frame == NULL || (in == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (dec->err != 0)
        return dec->err;

    while (dec->hdr_have < UFRPC_FRAME_HEADER_LEN && used < len) {
        dec->hdr[dec->hdr_have++] = in[used++];
        if (dec->hdr_have == 1 && !ufrpc_frame_type_known(dec->hdr[0])) {
            dec->err = UFRPC_ERR_MSG_TYPE;
            break;
        }
        if (dec->hdr_have == UFRPC_FRAME_HEADER_LEN) {
            dec->err = parse_length(dec);
            break;
        }
    }
    if (dec->err != 0) {
        *consumed = used;
        return dec->err;
    }
    if (dec->hdr_have < UFRPC_FRAME_HEADER_LEN) {
        *consumed = used;
        return 0;
    }

    size_t want = dec->body_len - dec->body_have;
    size_t take = len - used < want ? len - used : want;
    if (take > 0) {
        memcpy(dec->body + dec->body_have, in + used, take);
        dec->body_have += take;
        used += take;
    }
    *consumed = used;
    if (dec->body_have < dec->body_len)
        return 0;

    dec->body[dec->body_len] = '\0';
    frame->type = dec->hdr[0];
    frame->body = dec->body;
    frame->body_len = dec->body_len;
    /* Ready for the next frame; the body stays in place until the next feed. */
    dec->hdr_have = 0;
    dec->body_have = 0;
    return 1;
}

int ufrpc_frame_encode_header(uint8_t type, size_t body_len, uint8_t out[UFRPC_FRAME_HEADER_LEN])
{
    if (!ufrpc_frame_type_known(type))
        return UFRPC_ERR_MSG_TYPE;
    if (body_len > UFRPC_FRAME_MAX_BODY)
        return UFRPC_ERR_MSG_TOO_LONG;
    out[0] = type;
    uint64_t v = body_len;
    for (int i = 8; i >= 1; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return 0;
}

int ufrpc_frame_encode(uint8_t type, const void *body, size_t body_len, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    uint8_t hdr[UFRPC_FRAME_HEADER_LEN];
    if ((body == NULL && body_len > 0) || out == NULL || out_len == NULL)
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_frame_encode_header(type, body_len, hdr);
    if (rc != 0)
        return rc;
    if (cap < UFRPC_FRAME_HEADER_LEN + body_len)
        return UFRPC_ERR_LIMIT;
    memcpy(out, hdr, UFRPC_FRAME_HEADER_LEN);
    if (body_len > 0)
        memcpy(out + UFRPC_FRAME_HEADER_LEN, body, body_len);
    *out_len = UFRPC_FRAME_HEADER_LEN + body_len;
    return 0;
}

int ufrpc_frame_encode_alloc(uint8_t type, const void *body, size_t body_len, uint8_t **out,
                             size_t *out_len)
{
    uint8_t hdr[UFRPC_FRAME_HEADER_LEN];
    if (out == NULL || out_len == NULL || (body == NULL && body_len > 0))
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_frame_encode_header(type, body_len, hdr);
    if (rc != 0)
        return rc;
    uint8_t *buf = malloc(UFRPC_FRAME_HEADER_LEN + body_len);
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(buf, hdr, UFRPC_FRAME_HEADER_LEN);
    if (body_len > 0)
        memcpy(buf + UFRPC_FRAME_HEADER_LEN, body, body_len);
    *out = buf;
    *out_len = UFRPC_FRAME_HEADER_LEN + body_len;
    return 0;
}
