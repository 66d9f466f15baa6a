/* yamux input: frame parsing (headers parsed in place when whole), dispatch, and
 * payload delivery straight from the caller's buffer. */
#include <string.h>

#include "proto/error.h"
#include "proto/yamux_internal.h"

static int usable(const ufrpc_yamux_stream_t *st)
{
    return !(st->flags & (SF_RELEASED | SF_RESET | SF_DEAD)) && !st->s->err;
}

static void remote_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st)
{
    if (st->flags & SF_RESET)
        return;
    if (st->flags & SF_REMOTE_FIN) {
        ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_PROTOCOL, 1); /* Go: unexpected FIN flag */
        return;
    }
    st->flags |= SF_REMOTE_FIN;
    if (st->flags & SF_RELEASED)
        ufrpc__yamux_finish_check(st);
    else if (s->cb.on_stream_fin)
        s->cb.on_stream_fin(s, st, s->user_data);
}

static void remote_reset(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st)
{
    if (st->flags & SF_RESET)
        return;
    st->flags |= SF_RESET;
    st->flags &= ~(uint32_t)(SF_OWED | SF_WANT_WINDOW);
    if (st->flags & SF_RELEASED)
        ufrpc__yamux_finish_check(st);
    else if (s->cb.on_stream_reset)
        s->cb.on_stream_reset(s, st, s->user_data);
}

/* RST for a peer-opened stream we do not keep. */
static void refuse(ufrpc_yamux_session_t *s, uint32_t id)
{
    if (!ufrpc__yamux_ctl_fits(s)) {
        /* even the control reserve is full: the peer opens streams far faster
         * than we can send; refuse the session rather than buffer without end */
        ufrpc__yamux_fail(s, UFRPC_ERR_LIMIT, 0);
        return;
    }
    ufrpc__yamux_put_header(s, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_RST, id, 0);
}

/* SYN from the peer. Returns the new stream, or NULL (refused, or failed). */
static ufrpc_yamux_stream_t *incoming(ufrpc_yamux_session_t *s, uint32_t id)
{
    uint32_t peer_parity = s->role == UFRPC_YAMUX_CLIENT ? 0 : 1;
    if (id == 0 || (id & 1) != peer_parity) {
        ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_PROTOCOL, 1);
        return NULL;
    }
    if (ufrpc__yamux_lookup(s, id)) {
        ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_PROTOCOL, 1); /* duplicate stream */
        return NULL;
    }
    ufrpc_yamux_stream_t *st;
    if (s->local_goaway || !s->cb.on_stream_open || s->n_inbound >= s->cfg.accept_backlog ||
        ufrpc__yamux_stream_create(s, id, &st) != 0) {
        refuse(s, id);
        return NULL;
    }
    st->flags |= SF_INBOUND | SF_ACK_OWED;
    s->n_inbound++;
    if (s->cb.on_stream_open(s, st, s->user_data) != 0) {
        if (!(st->flags & SF_RESET)) {
            st->flags &= ~(uint32_t)SF_OWED;
            st->flags |= SF_RESET | SF_RST_OWED;
        }
        st->flags |= SF_RELEASED;
        ufrpc__yamux_stream_want_ctl(st);
        ufrpc__yamux_finish_check(st);
        return NULL;
    }
    if (!(st->flags & SF_RESET))
        ufrpc__yamux_stream_want_ctl(st); /* WindowUpdate|ACK with our window delta */
    return st;
}

static void stream_frame(ufrpc_yamux_session_t *s, const struct ufrpc_yamux_header *h)
{
    ufrpc_yamux_stream_t *st;
    if (h->flags & UFRPC_YAMUX_SYN) {
        st = incoming(s, h->stream_id);
        if (s->err)
            return;
    } else {
        st = ufrpc__yamux_lookup(s, h->stream_id);
    }
    if (!st) { /* unknown (or refused, or already forgotten): drain */
        if (h->type == UFRPC_YAMUX_DATA && h->length) {
            s->cur = NULL;
            s->cur_fin = 0;
            s->payload_left = h->length;
        }
        return;
    }
    if ((h->flags & UFRPC_YAMUX_ACK) && !(st->flags & (SF_INBOUND | SF_ESTABLISHED))) {
        st->flags |= SF_ESTABLISHED;
        if (usable(st) && s->cb.on_stream_ack)
            s->cb.on_stream_ack(s, st, s->user_data);
    }
    if (h->flags & UFRPC_YAMUX_RST)
        remote_reset(s, st);
    if (st->flags & SF_DEAD) { /* released in a callback above: drain */
        if (h->type == UFRPC_YAMUX_DATA && h->length) {
            s->cur = NULL;
            s->cur_fin = 0;
            s->payload_left = h->length;
        }
        return;
    }
    if (h->type == UFRPC_YAMUX_WINDOW_UPDATE) {
        if (h->flags & UFRPC_YAMUX_FIN)
            remote_fin(s, st);
        if (s->err)
            return;
        uint64_t w = (uint64_t)st->send_window + h->length;
        if (w > UINT32_MAX) {
            ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_PROTOCOL, 1);
            return;
        }
        st->send_window = (uint32_t)w;
        if ((st->flags & SF_WANT_WINDOW) && w > 0) {
            st->flags &= ~(uint32_t)SF_WANT_WINDOW;
            if (usable(st) && !(st->flags & SF_LOCAL_FIN) && s->cb.on_stream_writable)
                s->cb.on_stream_writable(s, st, s->user_data);
        }
        return;
    }
    /* Data */
    if (h->length > st->recv_window) {
        ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_WINDOW, 1);
        return;
    }
    st->recv_window -= h->length;
    if (h->length == 0) {
        if (h->flags & UFRPC_YAMUX_FIN)
            remote_fin(s, st);
        return;
    }
    s->cur = st;
    s->cur_fin = (h->flags & UFRPC_YAMUX_FIN) != 0;
    s->payload_left = h->length;
}

static void frame(ufrpc_yamux_session_t *s, const uint8_t *raw)
{
    struct ufrpc_yamux_header h;
    int rc = ufrpc_yamux_header_decode(raw, &h);
    if (rc) {
        ufrpc__yamux_fail(s, rc, 1);
        return;
    }
    switch (h.type) {
    case UFRPC_YAMUX_DATA:
    case UFRPC_YAMUX_WINDOW_UPDATE:
        stream_frame(s, &h);
        break;
    case UFRPC_YAMUX_PING:
        if (h.flags & UFRPC_YAMUX_SYN) {
            if (ufrpc__yamux_queue_ping_ack(s, h.length) != 0)
                ufrpc__yamux_fail(s, UFRPC_ERR_LIMIT, 0);
        } else if ((h.flags & UFRPC_YAMUX_ACK) && s->ping_outstanding &&
                   h.length == s->ping_outstanding_id) {
            s->ping_outstanding = 0;
        }
        break;
    default: /* GoAway */
        if (s->cb.on_goaway)
            s->cb.on_goaway(s, h.length, s->user_data);
        if (h.length == UFRPC_YAMUX_GOAWAY_NORMAL)
            s->remote_goaway = 1;
        else
            ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_REMOTE_GOAWAY_ERROR, 0);
        break;
    }
}

/* n payload bytes of the current Data frame (payload_left already reduced). */
static void deliver(ufrpc_yamux_session_t *s, const uint8_t *p, size_t n)
{
    ufrpc_yamux_stream_t *st = s->cur;
    if (!st || (st->flags & (SF_RESET | SF_DEAD)))
        return;
    if ((st->flags & (SF_RELEASED | SF_REMOTE_FIN)) || !s->cb.on_stream_data) {
        /* orphan, data after FIN, or nobody listening: dispose of it ourselves so
         * the window keeps moving */
        ufrpc__yamux_auto_consume(st, (uint32_t)n);
        return;
    }
    st->unconsumed += (uint32_t)n;
    if (st->unconsumed > st->max_unconsumed)
        st->max_unconsumed = st->unconsumed;
    s->cb.on_stream_data(s, st, p, n, s->user_data);
}

int ufrpc_yamux_feed(ufrpc_yamux_session_t *s, const uint8_t *data, size_t len, uint64_t now_ms)
{
    if (s->err)
        return s->err;
    s->now = now_ms;
    s->depth++;
    const uint8_t *p = data, *end = data + len;
    while (p < end && !s->err) {
        if (s->payload_left) {
            size_t n = (size_t)(end - p);
            if (n > s->payload_left)
                n = s->payload_left;
            s->payload_left -= (uint32_t)n;
            deliver(s, p, n);
            p += n;
            if (!s->payload_left && s->cur) {
                ufrpc_yamux_stream_t *st = s->cur;
                s->cur = NULL;
                if (s->cur_fin && !s->err)
                    remote_fin(s, st);
            }
            continue;
        }
        if (s->hdr_have == 0 && (size_t)(end - p) >= UFRPC_YAMUX_HEADER_SIZE) {
            frame(s, p); /* parse in place */
            p += UFRPC_YAMUX_HEADER_SIZE;
            continue;
        }
        size_t n = UFRPC_YAMUX_HEADER_SIZE - s->hdr_have;
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        memcpy(s->hdrbuf + s->hdr_have, p, n);
        s->hdr_have = (uint8_t)(s->hdr_have + n);
        p += n;
        if (s->hdr_have == UFRPC_YAMUX_HEADER_SIZE) {
            s->hdr_have = 0;
            frame(s, s->hdrbuf);
        }
    }
    s->depth--;
    ufrpc__yamux_sweep(s);
    return s->err;
}
