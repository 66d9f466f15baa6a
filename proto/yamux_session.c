/* yamux session: creation, the stream table, stream lifetime, timers, GoAway. */
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/yamux_internal.h"

#define INITIAL_BUCKETS 64u

void ufrpc_yamux_config_default(struct ufrpc_yamux_config *c)
{
    c->max_stream_window = 6u * 1024u * 1024u;
    c->enable_keepalive = 1;
    c->keepalive_interval_ms = 30000;
    c->keepalive_timeout_ms = 10000;
    c->max_output_bytes = 256u * 1024u;
    c->accept_backlog = 1024;
    c->stream_close_timeout_ms = 300000;
    c->mem = NULL;
}

int ufrpc_yamux_session_new(ufrpc_yamux_session_t **out, enum ufrpc_yamux_role role,
                            const struct ufrpc_yamux_config *config,
                            const struct ufrpc_yamux_callbacks *callbacks, void *user_data,
                            uint64_t now_ms)
{
    if (!out || (role != UFRPC_YAMUX_CLIENT && role != UFRPC_YAMUX_SERVER))
        return UFRPC_ERR_INVAL;
    *out = NULL;
    struct ufrpc_yamux_config cfg;
    if (config)
        cfg = *config;
    else
        ufrpc_yamux_config_default(&cfg);
    if (cfg.max_stream_window < UFRPC_YAMUX_INITIAL_WINDOW || cfg.max_output_bytes < 1024 ||
        cfg.max_output_bytes > ((size_t)1 << 30) ||
        (cfg.enable_keepalive && (cfg.keepalive_interval_ms == 0 || cfg.keepalive_timeout_ms == 0)))
        return UFRPC_ERR_INVAL;
    const struct ufrpc_mem *mem = ufrpc_mem_or_default(cfg.mem);
    ufrpc_yamux_session_t *s = ufrpc_mem_calloc(mem, 1, sizeof *s);
    if (!s)
        return UFRPC_ERR_NOMEM;
    s->mem = mem;
    s->cfg = cfg;
    if (callbacks)
        s->cb = *callbacks;
    s->user_data = user_data;
    s->role = role;
    s->now = now_ms;
    s->data_cap = cfg.max_output_bytes;
    s->cap = cfg.max_output_bytes + YAMUX_CTL_RESERVE;
    s->ring = ufrpc_mem_malloc(mem, s->cap);
    s->nbuckets = INITIAL_BUCKETS;
    s->buckets = ufrpc_mem_calloc(mem, s->nbuckets, sizeof *s->buckets);
    if (!s->ring || !s->buckets) {
        ufrpc_mem_free(mem, s->ring);
        ufrpc_mem_free(mem, s->buckets);
        ufrpc_mem_free(mem, s);
        return UFRPC_ERR_NOMEM;
    }
    s->next_id = role == UFRPC_YAMUX_CLIENT ? 1 : 2;
    s->next_ping_at = now_ms + cfg.keepalive_interval_ms;
    s->orphan_next = UINT64_MAX;
    *out = s;
    return 0;
}

void ufrpc_yamux_session_free(ufrpc_yamux_session_t *s)
{
    if (!s)
        return;
    ufrpc_yamux_stream_t *st = s->all;
    while (st) {
        ufrpc_yamux_stream_t *next = st->next;
        ufrpc_mem_free(s->mem, st);
        st = next;
    }
    const struct ufrpc_mem *mem = s->mem;
    ufrpc_mem_free(mem, s->buckets);
    ufrpc_mem_free(mem, s->ring);
    ufrpc_mem_free(mem, s);
}

/* ---- stream table: chained hash on id/2 ---- */

static uint32_t bucket_of(const ufrpc_yamux_session_t *s, uint32_t id)
{
    return (id >> 1) & (s->nbuckets - 1);
}

ufrpc_yamux_stream_t *ufrpc__yamux_lookup(const ufrpc_yamux_session_t *s, uint32_t id)
{
    for (ufrpc_yamux_stream_t *st = s->buckets[bucket_of(s, id)]; st; st = st->hnext)
        if (st->id == id)
            return st;
    return NULL;
}

static void hash_grow(ufrpc_yamux_session_t *s)
{
    if (s->nbuckets >= (1u << 24))
        return;
    uint32_t n = s->nbuckets * 2;
    ufrpc_yamux_stream_t **b = ufrpc_mem_calloc(s->mem, n, sizeof *b);
    if (!b)
        return; /* keep the longer chains; still correct */
    for (uint32_t i = 0; i < s->nbuckets; i++) {
        ufrpc_yamux_stream_t *st = s->buckets[i];
        while (st) {
            ufrpc_yamux_stream_t *next = st->hnext;
            uint32_t k = (st->id >> 1) & (n - 1);
            st->hnext = b[k];
            b[k] = st;
            st = next;
        }
    }
    ufrpc_mem_free(s->mem, s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

static void hash_remove(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st)
{
    ufrpc_yamux_stream_t **pp = &s->buckets[bucket_of(s, st->id)];
    while (*pp && *pp != st)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = st->hnext;
        s->nhashed--;
    }
    st->hnext = NULL;
}

int ufrpc__yamux_stream_create(ufrpc_yamux_session_t *s, uint32_t id, ufrpc_yamux_stream_t **out)
{
    ufrpc_yamux_stream_t *st = ufrpc_mem_calloc(s->mem, 1, sizeof *st);
    if (!st)
        return UFRPC_ERR_NOMEM;
    st->s = s;
    st->id = id;
    st->send_window = UFRPC_YAMUX_INITIAL_WINDOW;
    st->recv_window = UFRPC_YAMUX_INITIAL_WINDOW;
    if (s->nhashed >= s->nbuckets)
        hash_grow(s);
    uint32_t k = bucket_of(s, id);
    st->hnext = s->buckets[k];
    s->buckets[k] = st;
    s->nhashed++;
    st->next = s->all;
    if (s->all)
        s->all->prev = st;
    s->all = st;
    s->nstreams++;
    *out = st;
    return 0;
}

/* A stream whose application reference is gone and that is finished (and owes no
 * control frame) leaves the table; it is freed by ufrpc__yamux_sweep() when no callback
 * is running. */
void ufrpc__yamux_finish_check(ufrpc_yamux_stream_t *st)
{
    ufrpc_yamux_session_t *s = st->s;
    uint32_t f = st->flags;
    if (!(f & SF_RELEASED) || (f & SF_DEAD))
        return;
    int finished = (f & SF_RESET) || ((f & SF_LOCAL_FIN) && (f & SF_REMOTE_FIN)) || s->err;
    if (!finished || ((f & SF_IN_CTL) && !s->err))
        return;
    st->flags |= SF_DEAD;
    hash_remove(s, st);
    if (s->cur == st)
        s->cur = NULL;
    if (s->last_data_st == st)
        s->last_data_st = NULL;
    if (f & SF_ORPHAN)
        s->n_orphans--;
    if (f & SF_INBOUND)
        s->n_inbound--;
    if (f & SF_WANT_SPACE) {
        st->flags &= ~(uint32_t)SF_WANT_SPACE;
        s->n_want_space--;
    }
    s->n_dead++;
}

void ufrpc__yamux_sweep(ufrpc_yamux_session_t *s)
{
    if (s->depth || !s->n_dead)
        return;
    ufrpc_yamux_stream_t *st = s->all;
    while (st && s->n_dead) {
        ufrpc_yamux_stream_t *next = st->next;
        if (st->flags & SF_DEAD) {
            if (st->flags & SF_IN_CTL) { /* only after a session error */
                ufrpc_yamux_stream_t **pp = &s->ctl_head;
                ufrpc_yamux_stream_t *prev = NULL;
                while (*pp && *pp != st) {
                    prev = *pp;
                    pp = &(*pp)->ctl_next;
                }
                if (*pp)
                    *pp = st->ctl_next;
                if (s->ctl_tail == st)
                    s->ctl_tail = prev;
            }
            if (st->prev)
                st->prev->next = st->next;
            else
                s->all = st->next;
            if (st->next)
                st->next->prev = st->prev;
            s->n_dead--;
            s->nstreams--;
            ufrpc_mem_free(s->mem, st);
        }
        st = next;
    }
}

void ufrpc__yamux_fail(ufrpc_yamux_session_t *s, int err, int send_goaway)
{
    if (s->err)
        return;
    s->err = err;
    if (send_goaway)
        ufrpc__yamux_queue_goaway(s, UFRPC_YAMUX_GOAWAY_PROTOCOL_ERROR);
    /* every released stream can go now */
    for (ufrpc_yamux_stream_t *st = s->all; st; st = st->next)
        ufrpc__yamux_finish_check(st);
    if (s->cb.on_session_error)
        s->cb.on_session_error(s, err, s->user_data);
}

/* ---- timers ---- */

uint64_t ufrpc_yamux_next_deadline(const ufrpc_yamux_session_t *s)
{
    if (s->err)
        return UINT64_MAX;
    uint64_t d = UINT64_MAX;
    if (s->cfg.enable_keepalive)
        d = s->ping_outstanding ? s->ping_deadline : s->next_ping_at;
    if (s->n_orphans && s->orphan_next < d)
        d = s->orphan_next;
    return d;
}

static void expire_orphans(ufrpc_yamux_session_t *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (ufrpc_yamux_stream_t *st = s->all; st; st = st->next) {
        if (!(st->flags & SF_ORPHAN) || (st->flags & SF_DEAD))
            continue;
        if (st->orphan_deadline <= now) {
            st->flags |= SF_RESET | SF_RST_OWED;
            ufrpc__yamux_stream_want_ctl(st);
            ufrpc__yamux_finish_check(st);
        } else if (st->orphan_deadline < next) {
            next = st->orphan_deadline;
        }
    }
    s->orphan_next = next;
}

int ufrpc_yamux_on_timeout(ufrpc_yamux_session_t *s, uint64_t now_ms)
{
    if (s->err)
        return s->err;
    s->now = now_ms;
    s->depth++;
    if (s->cfg.enable_keepalive) {
        if (s->ping_outstanding && now_ms >= s->ping_deadline) {
            ufrpc__yamux_fail(s, UFRPC_ERR_YAMUX_KEEPALIVE, 0);
        } else if (!s->ping_outstanding && now_ms >= s->next_ping_at) {
            s->ping_outstanding = 1;
            s->ping_outstanding_id = s->ping_next_id++;
            s->ping_deadline = now_ms + s->cfg.keepalive_timeout_ms;
            s->next_ping_at = now_ms + s->cfg.keepalive_interval_ms;
            ufrpc__yamux_queue_ping(s, s->ping_outstanding_id);
        }
    }
    if (!s->err && s->n_orphans && now_ms >= s->orphan_next)
        expire_orphans(s, now_ms);
    s->depth--;
    ufrpc__yamux_sweep(s);
    return s->err;
}

/* ---- session-level API ---- */

int ufrpc_yamux_session_goaway(ufrpc_yamux_session_t *s, uint32_t code)
{
    if (s->err)
        return s->err;
    s->local_goaway = 1;
    ufrpc__yamux_queue_goaway(s, code);
    return 0;
}

int ufrpc_yamux_session_error(const ufrpc_yamux_session_t *s)
{
    return s->err;
}

int ufrpc_yamux_session_remote_goaway(const ufrpc_yamux_session_t *s)
{
    return s->remote_goaway;
}

size_t ufrpc_yamux_session_num_streams(const ufrpc_yamux_session_t *s)
{
    return s->nstreams - s->n_dead;
}

uint64_t ufrpc_yamux_session_window_stalls(const ufrpc_yamux_session_t *s)
{
    return s->window_stalls;
}

void *ufrpc_yamux_session_user_data(const ufrpc_yamux_session_t *s)
{
    return s->user_data;
}
