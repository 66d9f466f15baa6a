/* yamux output: the ring buffer every frame is queued in, control frames that wait
 * for space, and the caller's pending_output / output_sent pair. */
#include <string.h>

#include "proto/error.h"
#include "proto/byteorder.h"
#include "proto/yamux_internal.h"

static void flush_ctl(ufrpc_yamux_session_t *s);

static size_t used_bytes(const ufrpc_yamux_session_t *s)
{
    return (size_t)(s->tail - s->head);
}

size_t ufrpc__yamux_free_data(const ufrpc_yamux_session_t *s)
{
    size_t used = used_bytes(s);
    return used >= s->data_cap ? 0 : s->data_cap - used;
}

int ufrpc__yamux_ctl_fits(const ufrpc_yamux_session_t *s)
{
    return s->cap - used_bytes(s) >= UFRPC_YAMUX_HEADER_SIZE;
}

/* Caller checked the space. */
void ufrpc__yamux_put_bytes(ufrpc_yamux_session_t *s, const uint8_t *p, size_t n)
{
    size_t pos = (size_t)(s->tail % s->cap);
    size_t first = s->cap - pos;
    if (first >= n) {
        memcpy(s->ring + pos, p, n);
    } else {
        memcpy(s->ring + pos, p, first);
        memcpy(s->ring, p + first, n - first);
    }
    s->tail += n;
}

void ufrpc__yamux_put_header(ufrpc_yamux_session_t *s, uint8_t type, uint16_t flags, uint32_t id,
                      uint32_t length)
{
    uint8_t b[UFRPC_YAMUX_HEADER_SIZE];
    struct ufrpc_yamux_header h = {0, type, flags, id, length};
    ufrpc_yamux_header_encode(b, &h);
    s->last_data_st = NULL;
    ufrpc__yamux_put_bytes(s, b, sizeof b);
}

/* Overwrites 4 bytes at absolute position pos (not yet exposed). */
void ufrpc__yamux_patch_u32(ufrpc_yamux_session_t *s, uint64_t pos, uint32_t v)
{
    uint8_t b[4];
    ufrpc_put_be32(b, v);
    for (int i = 0; i < 4; i++)
        s->ring[(pos + (uint64_t)i) % s->cap] = b[i];
}

uint32_t ufrpc__yamux_window_delta(const ufrpc_yamux_stream_t *st)
{
    const ufrpc_yamux_session_t *s = st->s;
    uint64_t held = st->unconsumed;
    if (s->cur == st)
        held += s->payload_left;
    uint64_t busy = held + st->recv_window;
    return busy >= s->cfg.max_stream_window ? 0
                                            : (uint32_t)(s->cfg.max_stream_window - busy);
}

/* Puts the one frame a stream owes (RST, or WindowUpdate with SYN/ACK/FIN and the
 * window delta). Caller checked that a header fits. */
static void emit_stream_ctl(ufrpc_yamux_stream_t *st)
{
    ufrpc_yamux_session_t *s = st->s;
    uint32_t f = st->flags;
    st->flags &= ~(uint32_t)SF_OWED;
    if (f & SF_RST_OWED) {
        if (!(f & SF_SYN_OWED)) /* the peer never heard of it: nothing to reset */
            ufrpc__yamux_put_header(s, UFRPC_YAMUX_WINDOW_UPDATE, UFRPC_YAMUX_RST, st->id, 0);
        return;
    }
    if (f & SF_RESET)
        return;
    uint16_t flags = 0;
    if (f & SF_SYN_OWED)
        flags |= UFRPC_YAMUX_SYN;
    if (f & SF_ACK_OWED)
        flags |= UFRPC_YAMUX_ACK;
    if (f & SF_FIN_OWED)
        flags |= UFRPC_YAMUX_FIN;
    uint32_t delta = ufrpc__yamux_window_delta(st);
    if (!(flags & (UFRPC_YAMUX_SYN | UFRPC_YAMUX_ACK)) && delta < s->cfg.max_stream_window / 2)
        delta = 0;
    if (flags == 0 && delta == 0)
        return;
    st->recv_window += delta;
    ufrpc__yamux_put_header(s, UFRPC_YAMUX_WINDOW_UPDATE, flags, st->id, delta);
}

void ufrpc__yamux_stream_want_ctl(ufrpc_yamux_stream_t *st)
{
    ufrpc_yamux_session_t *s = st->s;
    if (st->flags & SF_IN_CTL)
        return;
    if (!s->ctl_head && ufrpc__yamux_ctl_fits(s)) {
        emit_stream_ctl(st);
        return;
    }
    st->flags |= SF_IN_CTL;
    st->ctl_next = NULL;
    if (s->ctl_tail)
        s->ctl_tail->ctl_next = st;
    else
        s->ctl_head = st;
    s->ctl_tail = st;
}

void ufrpc__yamux_queue_goaway(ufrpc_yamux_session_t *s, uint32_t code)
{
    s->goaway_owed = 1;
    s->goaway_code = code;
    flush_ctl(s);
}

void ufrpc__yamux_queue_ping(ufrpc_yamux_session_t *s, uint32_t id)
{
    s->ping_owed = 1;
    s->ping_owed_id = id;
    flush_ctl(s);
}

int ufrpc__yamux_queue_ping_ack(ufrpc_yamux_session_t *s, uint32_t id)
{
    if (s->n_owed_ping_acks == YAMUX_MAX_OWED_PING_ACKS)
        return UFRPC_ERR_LIMIT;
    s->owed_ping_acks[s->n_owed_ping_acks++] = id;
    flush_ctl(s);
    return 0;
}

/* Moves owed control frames into the ring while they fit: session-level first,
 * then streams in the order they asked. */
static void flush_ctl(ufrpc_yamux_session_t *s)
{
    int i = 0;
    while (i < s->n_owed_ping_acks && ufrpc__yamux_ctl_fits(s))
        ufrpc__yamux_put_header(s, UFRPC_YAMUX_PING, UFRPC_YAMUX_ACK, 0, s->owed_ping_acks[i++]);
    if (i) {
        memmove(s->owed_ping_acks, s->owed_ping_acks + i,
                (size_t)(s->n_owed_ping_acks - i) * sizeof s->owed_ping_acks[0]);
        s->n_owed_ping_acks -= i;
    }
    if (s->ping_owed && ufrpc__yamux_ctl_fits(s)) {
        s->ping_owed = 0;
        ufrpc__yamux_put_header(s, UFRPC_YAMUX_PING, UFRPC_YAMUX_SYN, 0, s->ping_owed_id);
    }
    if (s->goaway_owed && ufrpc__yamux_ctl_fits(s)) {
        s->goaway_owed = 0;
        ufrpc__yamux_put_header(s, UFRPC_YAMUX_GO_AWAY, 0, 0, s->goaway_code);
    }
    while (s->ctl_head && ufrpc__yamux_ctl_fits(s)) {
        ufrpc_yamux_stream_t *st = s->ctl_head;
        s->ctl_head = st->ctl_next;
        if (!s->ctl_head)
            s->ctl_tail = NULL;
        st->flags &= ~(uint32_t)SF_IN_CTL;
        if (!s->err)
            emit_stream_ctl(st);
        ufrpc__yamux_finish_check(st);
    }
}

int ufrpc_yamux_pending_output(ufrpc_yamux_session_t *s, struct iovec *iov, int iovcnt)
{
    flush_ctl(s);
    size_t used = used_bytes(s);
    if (used == 0 || iovcnt <= 0)
        return 0;
    size_t pos = (size_t)(s->head % s->cap);
    size_t first = s->cap - pos;
    if (first >= used) {
        iov[0].iov_base = s->ring + pos;
        iov[0].iov_len = used;
        s->exposed = s->tail;
        return 1;
    }
    iov[0].iov_base = s->ring + pos;
    iov[0].iov_len = first;
    if (iovcnt < 2) {
        s->exposed = s->head + first > s->exposed ? s->head + first : s->exposed;
        return 1;
    }
    iov[1].iov_base = s->ring;
    iov[1].iov_len = used - first;
    s->exposed = s->tail;
    return 2;
}

size_t ufrpc_yamux_pending_bytes(const ufrpc_yamux_session_t *s)
{
    return used_bytes(s) + (size_t)s->n_owed_ping_acks * UFRPC_YAMUX_HEADER_SIZE +
           (s->ping_owed ? UFRPC_YAMUX_HEADER_SIZE : 0) +
           (s->goaway_owed ? UFRPC_YAMUX_HEADER_SIZE : 0);
}

int ufrpc_yamux_output_sent(ufrpc_yamux_session_t *s, size_t n)
{
    if (n > used_bytes(s))
        return UFRPC_ERR_INVAL;
    s->head += n;
    if (s->exposed < s->head)
        s->exposed = s->head;
    if (s->last_data_st && s->last_data_hdr < s->head)
        s->last_data_st = NULL;
    s->depth++;
    flush_ctl(s);
    size_t threshold = s->data_cap / 2 < 16384 ? s->data_cap / 2 : 16384;
    /* Streams waiting for output space are woken in turn while space lasts, the
     * turn going on from the stream woken last time (ids below it first, then
     * from the top), so that on a slow transport, where each freed share of the
     * ring fills again at once, no stream waits for ever behind the ones before
     * it in the list. */
    for (int pass = 0; pass < 2; pass++) {
        for (ufrpc_yamux_stream_t *st = s->all; st && s->n_want_space; st = st->next) {
            if (s->err || s->ctl_head || ufrpc__yamux_free_data(s) < threshold)
                goto woken;
            int after = s->space_rr_id == 0 || st->id < s->space_rr_id;
            if (!(st->flags & SF_WANT_SPACE) || after != (pass == 0))
                continue;
            st->flags &= ~(uint32_t)SF_WANT_SPACE;
            s->n_want_space--;
            uint32_t rr = s->space_rr_id;
            size_t free_before = ufrpc__yamux_free_data(s);
            s->space_rr_id = st->id;
            if (!(st->flags & (SF_DEAD | SF_RELEASED | SF_RESET)) && s->cb.on_stream_writable)
                s->cb.on_stream_writable(s, st, s->user_data);
            /* a stream that asked again without writing (ufrpc_yamux_stream_
             * want_writable: its caller lets others go first) has not had its
             * turn: the next round starts where this one would have */
            if ((st->flags & SF_WANT_SPACE) && ufrpc__yamux_free_data(s) >= free_before)
                s->space_rr_id = rr;
        }
    }
woken:
    s->depth--;
    ufrpc__yamux_sweep(s);
    return 0;
}
