/* yamux streams: open, write (Data frames into the output ring), consume (window
 * updates), close, reset, release, accessors. */
#include "proto/error.h"
#include "proto/yamux_internal.h"

int ufrpc_yamux_stream_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t **out)
{
    if (!s || !out)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    if (s->err)
        return s->err;
    if (s->local_goaway || s->remote_goaway)
        return UFRPC_ERR_YAMUX_GOAWAY;
    if (s->next_id > UINT32_MAX)
        return UFRPC_ERR_YAMUX_STREAMS_EXHAUSTED;
    ufrpc_yamux_stream_t *st;
    int rc = ufrpc__yamux_stream_create(s, (uint32_t)s->next_id, &st);
    if (rc)
        return rc;
    s->next_id += 2;
    st->flags |= SF_SYN_OWED;
    ufrpc__yamux_stream_want_ctl(st); /* WindowUpdate|SYN, delta max - 256 KiB */
    *out = st;
    return 0;
}

static int write_check(const ufrpc_yamux_stream_t *st)
{
    if (st->s->err)
        return st->s->err;
    if (st->flags & (SF_RELEASED | SF_DEAD))
        return UFRPC_ERR_INVAL;
    if (st->flags & SF_RESET)
        return UFRPC_ERR_YAMUX_RESET;
    if (st->flags & SF_LOCAL_FIN)
        return UFRPC_ERR_CLOSED;
    return 0;
}

static void want_space(ufrpc_yamux_stream_t *st)
{
    if (!(st->flags & SF_WANT_SPACE)) {
        st->flags |= SF_WANT_SPACE;
        st->s->n_want_space++;
    }
}

ptrdiff_t ufrpc_yamux_stream_write(ufrpc_yamux_stream_t *st, const uint8_t *data, size_t len)
{
    int rc = write_check(st);
    if (rc)
        return rc;
    ufrpc_yamux_session_t *s = st->s;
    if (len == 0)
        return 0;
    if (st->flags & SF_SYN_OWED) { /* the SYN must go first */
        want_space(st);
        return 0;
    }
    size_t total = 0;
    while (total < len) {
        if (st->send_window == 0) {
            if (!(st->flags & SF_WANT_WINDOW))
                s->window_stalls++;
            st->flags |= SF_WANT_WINDOW;
            break;
        }
        size_t room = ufrpc__yamux_free_data(s);
        int extend = s->last_data_st == st && s->last_data_hdr >= s->exposed &&
                     s->last_data_hdr + UFRPC_YAMUX_HEADER_SIZE + s->last_data_len == s->tail;
        size_t overhead = extend ? 0 : UFRPC_YAMUX_HEADER_SIZE;
        if (room <= overhead) {
            want_space(st);
            break;
        }
        size_t n = len - total;
        if (n > st->send_window)
            n = st->send_window;
        if (n > room - overhead)
            n = room - overhead;
        if (extend && (uint64_t)s->last_data_len + n > UINT32_MAX)
            extend = 0, n = 0; /* cannot happen with ring sizes <= 1 GiB; be safe */
        if (n == 0)
            break;
        if (extend) {
            s->last_data_len += (uint32_t)n;
            ufrpc__yamux_patch_u32(s, s->last_data_hdr + 8, s->last_data_len);
        } else {
            uint64_t at = s->tail;
            ufrpc__yamux_put_header(s, UFRPC_YAMUX_DATA, 0, st->id, (uint32_t)n);
            s->last_data_st = st;
            s->last_data_hdr = at;
            s->last_data_len = (uint32_t)n;
        }
        ufrpc__yamux_put_bytes(s, data + total, n);
        st->send_window -= (uint32_t)n;
        total += n;
    }
    return (ptrdiff_t)total;
}

ptrdiff_t ufrpc_yamux_stream_write_direct(ufrpc_yamux_stream_t *st, size_t len,
                                          uint8_t hdr[UFRPC_YAMUX_HEADER_SIZE])
{
    int rc = write_check(st);
    if (rc)
        return rc;
    ufrpc_yamux_session_t *s = st->s;
    /* every queued byte must be in the ring, which the caller sends first */
    if (len == 0 || (st->flags & SF_SYN_OWED) || st->send_window == 0 || s->ctl_head != NULL ||
        ufrpc_yamux_pending_bytes(s) != (size_t)(s->tail - s->head))
        return 0;
    size_t n = len < st->send_window ? len : st->send_window;
    struct ufrpc_yamux_header h = {0, UFRPC_YAMUX_DATA, 0, st->id, (uint32_t)n};
    ufrpc_yamux_header_encode(hdr, &h);
    s->last_data_st = NULL; /* the frame is not in the ring: nothing to extend */
    st->send_window -= (uint32_t)n;
    return (ptrdiff_t)n;
}

ptrdiff_t ufrpc_yamux_stream_write_room(const ufrpc_yamux_stream_t *st)
{
    int rc = write_check(st);
    if (rc)
        return rc;
    if ((st->flags & SF_SYN_OWED) || st->send_window == 0)
        return 0;
    size_t room = ufrpc__yamux_free_data(st->s);
    room = room > UFRPC_YAMUX_HEADER_SIZE ? room - UFRPC_YAMUX_HEADER_SIZE : 0;
    if (room > st->send_window)
        room = st->send_window;
    return room > PTRDIFF_MAX ? PTRDIFF_MAX : (ptrdiff_t)room;
}

void ufrpc_yamux_stream_want_writable(ufrpc_yamux_stream_t *st)
{
    if (write_check(st) != 0)
        return;
    if (!(st->flags & SF_SYN_OWED) && st->send_window == 0) {
        if (!(st->flags & SF_WANT_WINDOW))
            st->s->window_stalls++;
        st->flags |= SF_WANT_WINDOW;
        return;
    }
    want_space(st);
}

static void maybe_window_update(ufrpc_yamux_stream_t *st)
{
    /* after the peer's FIN nothing more can arrive: no point reopening */
    if ((st->flags & (SF_RESET | SF_REMOTE_FIN)) || st->s->err)
        return;
    if (ufrpc__yamux_window_delta(st) >= st->s->cfg.max_stream_window / 2) {
        st->flags |= SF_WU_OWED;
        ufrpc__yamux_stream_want_ctl(st);
    }
}

void ufrpc__yamux_auto_consume(ufrpc_yamux_stream_t *st, uint32_t n)
{
    (void)n; /* never counted as unconsumed: the window delta already frees it */
    maybe_window_update(st);
}

int ufrpc_yamux_stream_consume(ufrpc_yamux_stream_t *st, size_t n)
{
    if (!st || n > st->unconsumed)
        return UFRPC_ERR_INVAL;
    st->unconsumed -= (uint32_t)n;
    maybe_window_update(st);
    return 0;
}

int ufrpc_yamux_stream_close(ufrpc_yamux_stream_t *st)
{
    if (!st || (st->flags & (SF_RELEASED | SF_DEAD)))
        return UFRPC_ERR_INVAL;
    if (st->s->err)
        return st->s->err;
    if (st->flags & (SF_LOCAL_FIN | SF_RESET))
        return 0;
    st->flags |= SF_LOCAL_FIN | SF_FIN_OWED;
    if (st->flags & SF_WANT_WINDOW)
        st->flags &= ~(uint32_t)SF_WANT_WINDOW;
    ufrpc__yamux_stream_want_ctl(st);
    return 0;
}

int ufrpc_yamux_stream_reset(ufrpc_yamux_stream_t *st)
{
    if (!st || (st->flags & (SF_RELEASED | SF_DEAD)))
        return UFRPC_ERR_INVAL;
    if (st->s->err)
        return st->s->err;
    if (st->flags & SF_RESET)
        return 0;
    uint32_t syn = st->flags & SF_SYN_OWED;
    st->flags &= ~(uint32_t)(SF_OWED | SF_WANT_WINDOW);
    st->flags |= SF_RESET | SF_RST_OWED | syn;
    ufrpc__yamux_stream_want_ctl(st);
    return 0;
}

void ufrpc_yamux_stream_release(ufrpc_yamux_stream_t *st)
{
    if (!st || (st->flags & (SF_RELEASED | SF_DEAD)))
        return;
    ufrpc_yamux_session_t *s = st->s;
    if (!s->err) {
        if (!(st->flags & (SF_LOCAL_FIN | SF_RESET))) {
            ufrpc_yamux_stream_reset(st);
        } else if (!(st->flags & (SF_RESET | SF_REMOTE_FIN))) {
            st->flags |= SF_ORPHAN;
            s->n_orphans++;
            st->orphan_deadline = s->now + s->cfg.stream_close_timeout_ms;
            if (st->orphan_deadline < s->orphan_next)
                s->orphan_next = st->orphan_deadline;
        }
    }
    st->flags |= SF_RELEASED;
    /* what the application still held is disposed of */
    st->unconsumed = 0;
    maybe_window_update(st);
    ufrpc__yamux_finish_check(st);
    ufrpc__yamux_sweep(s);
}

uint32_t ufrpc_yamux_stream_id(const ufrpc_yamux_stream_t *st)
{
    return st->id;
}

void ufrpc_yamux_stream_set_user_data(ufrpc_yamux_stream_t *st, void *user_data)
{
    st->user_data = user_data;
}

void *ufrpc_yamux_stream_user_data(const ufrpc_yamux_stream_t *st)
{
    return st->user_data;
}

ufrpc_yamux_session_t *ufrpc_yamux_stream_session(const ufrpc_yamux_stream_t *st)
{
    return st->s;
}

size_t ufrpc_yamux_stream_unconsumed(const ufrpc_yamux_stream_t *st)
{
    return st->unconsumed;
}

size_t ufrpc_yamux_stream_max_unconsumed(const ufrpc_yamux_stream_t *st)
{
    return st->max_unconsumed;
}

uint32_t ufrpc_yamux_stream_recv_window(const ufrpc_yamux_stream_t *st)
{
    return st->recv_window;
}

uint32_t ufrpc_yamux_stream_send_window(const ufrpc_yamux_stream_t *st)
{
    return st->send_window;
}

int ufrpc_yamux_stream_remote_closed(const ufrpc_yamux_stream_t *st)
{
    return (st->flags & SF_REMOTE_FIN) != 0;
}

int ufrpc_yamux_stream_is_reset(const ufrpc_yamux_stream_t *st)
{
    return (st->flags & SF_RESET) != 0;
}
