/* ufrpc — QUIC client sessions on ngtcp2 + GnuTLS (net/quic.h). */
#include "net/quic.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/error.h"

#ifndef UFRPC_HAVE_QUIC
#define UFRPC_HAVE_QUIC 0
#endif

#if !UFRPC_HAVE_QUIC

int ufrpc_quic_connect(uv_loop_t *loop, const struct ufrpc_quic_opts *o, ufrpc_quic_connect_cb cb,
                       ufrpc_quic_error_cb on_error, void *data, ufrpc_quic_t **out)
{
    (void)loop, (void)cb, (void)on_error, (void)data;
    if (o->use_fd)
        close(o->fd); /* taken, also on failure */
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_quic_open_stream(ufrpc_quic_t *q, struct ufrpc_stream **out)
{
    (void)q;
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_quic_close(ufrpc_quic_t *q, void (*cb)(void *data), void *data)
{
    (void)q, (void)cb, (void)data;
}

const char *ufrpc_quic_error_text(const ufrpc_quic_t *q)
{
    (void)q;
    return "QUIC support is not built in";
}

#else

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <stdio.h>

#define MAX_PKT 1452 /* what we send; ngtcp2 limits it further by path MTU */

struct qstream;

struct ufrpc_quic {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer;   /* ngtcp2's expiry, and the handshake deadline */
    uv_idle_t defer;    /* callbacks that must not run inside the caller's call */
    uv_getaddrinfo_t gai;
    int handles;        /* open libuv handles */
    int refs;           /* 1 for the session itself + 1 per stream object */
    bool connected, failed, closing, gai_busy, udp_open;
    uint64_t hs_deadline_ms;
    ngtcp2_conn *conn;
    ngtcp2_crypto_conn_ref conn_ref;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred;
    struct sockaddr_storage local, remote;
    struct ufrpc_quic_opts o;
    char host[256], sni[256];
    ufrpc_quic_connect_cb connect_cb;
    ufrpc_quic_error_cb on_error;
    void *data;
    void (*close_cb)(void *);
    void *close_data;
    char err[400];
    struct qstream *streams; /* open stream objects */
    size_t sbuf_total;       /* bytes in every stream's send buffer */
    /* a datagram the kernel's send buffer had no room for: sent with uv_udp_send,
     * nothing more is written until it is out (backpressure, not a loss) */
    uv_udp_send_t sreq;
    bool send_busy;
    uint8_t spkt[MAX_PKT];
    uint8_t *rxbuf; /* RX_CHUNKS datagram slots for recvmmsg */
};

/* libuv's recvmmsg gives each datagram a 64 KiB slot of the buffer: one read
 * takes up to this many datagrams (pages are touched only where data lands) */
#define RX_CHUNKS 16u
#define RX_CHUNK 65536u

#define SBLOCK_SIZE 65536

struct sblock {
    struct sblock *next;
    size_t len; /* bytes used in data */
    uint8_t data[SBLOCK_SIZE];
};

struct qstream {
    struct ufrpc_stream s;
    ufrpc_quic_t *q;
    int64_t id;
    struct qstream *next;
    /* sending: a chain of blocks holds stream bytes [acked, acked + slen), the first
     * starting at head_off in the oldest block; sent marks how far ngtcp2 has taken
     * them. ngtcp2 keeps pointers into these bytes for retransmission until they are
     * acknowledged, so they never move: blocks are appended and freed, never
     * reallocated or compacted. */
    struct sblock *head, *tail;
    size_t head_off, slen;
    uint64_t acked, sent;
    bool fin_wanted, fin_sent, shut_done;
    struct ufrpc_stream_write *wq, *wq_tail; /* writes waiting for room or completion */
    struct ufrpc_stream_write *done_q;       /* copied: callbacks due */
    /* receiving */
    struct rxq {
        ufrpc_rbuf_t *b;
        size_t len;
        struct rxq *next;
    } *rx, *rx_tail;
    bool reading, eof_seen, eof_delivered, reset;
    int err;               /* the stream failed (session or peer reset) */
    bool detached;         /* ngtcp2's stream is gone */
};

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void session_fail(ufrpc_quic_t *q, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void flush(ufrpc_quic_t *q);
static void on_timer(uv_timer_t *t);
static void arm_defer(ufrpc_quic_t *q);
static void maybe_free(ufrpc_quic_t *q);

/* ---- ngtcp2 callbacks -------------------------------------------------------------- */

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                      void *user_data)
{
    (void)conn, (void)user_data;
    if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0 ||
        gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    return 0;
}

static int handshake_done_cb(ngtcp2_conn *conn, void *user_data)
{
    ufrpc_quic_t *q = user_data;
    (void)conn;
    q->connected = true;
    arm_defer(q); /* the connect callback runs from the idle handle */
    return 0;
}

static void deliver(struct qstream *st);

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user_data, void *sud)
{
    (void)conn, (void)id, (void)offset, (void)user_data;
    struct qstream *st = sud;
    if (st == NULL)
        return 0; /* a stream its owner closed: drop */
    if (len > 0) {
        struct rxq *e = malloc(sizeof *e);
        ufrpc_rbuf_t *b = e ? ufrpc_rbuf_new(len) : NULL;
        if (b == NULL) {
            free(e);
            return NGTCP2_ERR_CALLBACK_FAILURE;
        }
        memcpy(b->base, data, len);
        e->b = b;
        e->len = len;
        e->next = NULL;
        if (st->rx_tail)
            st->rx_tail->next = e;
        else
            st->rx = e;
        st->rx_tail = e;
    }
    if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
        st->eof_seen = true;
    arm_defer(st->q);
    return 0;
}

/* Frees every send block of st (what they held is acknowledged or abandoned). */
static void free_blocks(struct qstream *st)
{
    while (st->head != NULL) {
        struct sblock *b = st->head;
        st->head = b->next;
        free(b);
    }
    st->tail = NULL;
    st->head_off = 0;
}

static int acked_cb(ngtcp2_conn *conn, int64_t id, uint64_t offset, uint64_t len, void *user_data,
                    void *sud)
{
    (void)conn, (void)id, (void)user_data;
    struct qstream *st = sud;
    if (st == NULL)
        return 0;
    uint64_t end = offset + len;
    if (end > st->acked) {
        size_t drop = (size_t)(end - st->acked);
        if (drop > st->slen)
            drop = st->slen;
        st->slen -= drop;
        st->q->sbuf_total -= drop;
        st->acked += drop;
        while (drop > 0 && st->head != NULL) {
            size_t avail = st->head->len - st->head_off;
            if (drop < avail || (drop == avail && st->head == st->tail)) {
                st->head_off += drop; /* the tail block may still take bytes */
                break;
            }
            drop -= avail;
            struct sblock *b = st->head;
            st->head = b->next;
            if (st->head == NULL)
                st->tail = NULL;
            st->head_off = 0;
            free(b);
        }
        if (st->slen == 0) /* all acknowledged: an idle stream keeps no block */
            free_blocks(st);
        arm_defer(st->q); /* room for waiting writes */
    }
    return 0;
}

/* ngtcp2 closed stream st (reset: frps reset it, no FIN to wait for): its reader
 * sees EOF unless a FIN already ended it, from the deferred step. st may be NULL
 * (a stream with no object). */
static void stream_ended(struct qstream *st, bool reset)
{
    if (st == NULL)
        return;
    if (reset)
        st->reset = true;
    else
        st->detached = true;
    if (st->err == 0 && (reset || !st->eof_seen))
        st->err = UFRPC_ERR_EOF;
    arm_defer(st->q);
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t app_error_code,
                           void *user_data, void *sud)
{
    (void)conn, (void)flags, (void)id, (void)app_error_code, (void)user_data;
    stream_ended(sud, false);
    return 0;
}

static int stream_reset_cb(ngtcp2_conn *conn, int64_t id, uint64_t final_size, uint64_t code,
                           void *user_data, void *sud)
{
    (void)conn, (void)id, (void)final_size, (void)code, (void)user_data;
    stream_ended(sud, true);
    return 0;
}

static int extend_max_stream_data_cb(ngtcp2_conn *conn, int64_t id, uint64_t max_data,
                                     void *user_data, void *sud)
{
    (void)conn, (void)id, (void)max_data, (void)sud;
    arm_defer(user_data); /* flush() sends what was blocked */
    return 0;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    ufrpc_quic_t *q = ref->user_data;
    return q->conn;
}

/* ---- the UDP side -------------------------------------------------------------------- */

static socklen_t sa_len(const struct sockaddr_storage *sa)
{
    return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* The session's one path (our socket, frps's address) as ngtcp2 takes it; it
 * points into q. */
static ngtcp2_path session_path(ufrpc_quic_t *q)
{
    return (ngtcp2_path){
        .local = {(ngtcp2_sockaddr *)&q->local, (ngtcp2_socklen)sa_len(&q->local)},
        .remote = {(ngtcp2_sockaddr *)&q->remote, (ngtcp2_socklen)sa_len(&q->remote)},
    };
}

static void on_sent(uv_udp_send_t *r, int status)
{
    (void)status; /* a failed datagram is lost: QUIC's loss recovery resends */
    ufrpc_quic_t *q = r->data;
    q->send_busy = false;
    if (!q->closing && !q->failed)
        flush(q);
}

/* Puts one datagram on the wire. False when the kernel's send buffer is full: the
 * datagram is then kept and sent once there is room (on_sent flushes again), and
 * the caller must stop writing; dropping it instead would look like congestion to
 * the congestion controller. */
static bool send_pkt(ufrpc_quic_t *q, const uint8_t *p, size_t n)
{
    if (q->send_busy)
        return false;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int rc = uv_udp_try_send(&q->udp, &b, 1, NULL);
    if (rc >= 0 || (rc != UV_EAGAIN && rc != UV_ENOBUFS) || q->closing)
        return true; /* sent, or an error: lost as on the wire */
    memcpy(q->spkt, p, n);
    b = uv_buf_init((char *)q->spkt, (unsigned)n);
    q->sreq.data = q;
    if (uv_udp_send(&q->sreq, &q->udp, &b, 1, NULL, on_sent) == 0)
        q->send_busy = true;
    return false;
}

static void arm_timer(ufrpc_quic_t *q)
{
    if (q->closing || q->conn == NULL)
        return;
    uint64_t exp = ngtcp2_conn_get_expiry(q->conn), now = now_ns();
    uint64_t ms = exp <= now ? 0 : (exp - now) / 1000000u + 1;
    if (!q->connected && q->hs_deadline_ms > uv_now(q->loop) &&
        q->hs_deadline_ms - uv_now(q->loop) < ms)
        ms = q->hs_deadline_ms - uv_now(q->loop);
    uv_timer_start(&q->timer, on_timer, ms, 0);
}

/* The bytes of st not yet taken by ngtcp2, as up to max vectors. */
static size_t unsent_vecs(const struct qstream *st, ngtcp2_vec *v, size_t max)
{
    size_t skip = (size_t)(st->sent - st->acked) + st->head_off, n = 0;
    for (const struct sblock *b = st->head; b != NULL && n < max; b = b->next) {
        if (skip >= b->len) {
            skip -= b->len;
            continue;
        }
        v[n].base = (uint8_t *)b->data + skip;
        v[n].len = b->len - skip;
        skip = 0;
        n++;
    }
    return n;
}

/* Writes the packets ngtcp2 has: stream data of each stream with something to
 * send, then acks and control frames. Paced: at most ngtcp2's send quantum goes
 * out at once; ngtcp2_conn_update_pkt_tx_time then sets when the next burst may
 * go, which ngtcp2_conn_get_expiry includes (the timer calls flush again). */
static void flush(ufrpc_quic_t *q)
{
    if (q->conn == NULL || q->failed || q->closing || q->send_busy)
        return;
    uint8_t pkt[MAX_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    uint64_t ts = now_ns();
    size_t udp_max = ngtcp2_conn_get_max_tx_udp_payload_size(q->conn);
    size_t burst = ngtcp2_conn_get_send_quantum(q->conn) / (udp_max ? udp_max : MAX_PKT);
    if (burst < 1)
        burst = 1;
    if (burst > 64)
        burst = 64;
    size_t pkts = 0;
    bool more = false; /* stopped with packets left: the burst is spent or the socket full */
    struct qstream *st = q->streams;
    for (int guard = 0; guard < 4096; guard++) {
        /* next stream with bytes or a FIN to send */
        while (st != NULL && (st->detached || st->id < 0 ||
                              (st->acked + st->slen == st->sent &&
                               !(st->fin_wanted && !st->fin_sent))))
            st = st->next;
        int64_t sid = st ? st->id : -1;
        ngtcp2_vec v[8];
        size_t vn = 0;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        if (st != NULL) {
            vn = unsent_vecs(st, v, sizeof v / sizeof v[0]);
            if (st->fin_wanted)
                flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }
        ngtcp2_ssize ndata = -1;
        ngtcp2_ssize n = ngtcp2_conn_writev_stream(q->conn, &ps.path, &pi, pkt, sizeof pkt, &ndata,
                                                   flags, sid, vn ? v : NULL, vn, ts);
        if (n < 0) {
            if (n == NGTCP2_ERR_WRITE_MORE) {
                if (st != NULL && ndata >= 0) {
                    st->sent += (uint64_t)ndata;
                    if (st->fin_wanted && st->sent == st->acked + st->slen)
                        st->fin_sent = true;
                }
                continue;
            }
            if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
                n == NGTCP2_ERR_STREAM_NOT_FOUND) {
                if (st != NULL)
                    st = st->next; /* try the others; this one waits */
                continue;
            }
            session_fail(q, UFRPC_ERR_IO, "quic: write: %s", ngtcp2_strerror((int)n));
            return;
        }
        if (st != NULL && ndata >= 0) {
            st->sent += (uint64_t)ndata;
            if (st->fin_wanted && st->sent == st->acked + st->slen)
                st->fin_sent = true;
        }
        if (n == 0) {
            if (st == NULL)
                break; /* nothing left at all */
            st = st->next; /* congestion or flow control: others may still go */
            if (st == NULL)
                break;
            continue;
        }
        if (!send_pkt(q, pkt, (size_t)n) || ++pkts >= burst) {
            more = true;
            break;
        }
    }
    ngtcp2_conn_update_pkt_tx_time(q->conn, ts);
    arm_timer(q);
    if (more && !q->send_busy)
        arm_defer(q); /* the next burst, unless the pacer says wait (the timer then) */
}

static void on_timer(uv_timer_t *t)
{
    ufrpc_quic_t *q = t->data;
    if (q->closing || q->failed)
        return;
    if (!q->connected && uv_now(q->loop) >= q->hs_deadline_ms) {
        session_fail(q, UFRPC_ERR_TIMEOUT, "quic: no handshake within %u ms",
                     q->o.handshake_timeout_ms);
        return;
    }
    int rv = ngtcp2_conn_handle_expiry(q->conn, now_ns());
    if (rv != 0) {
        session_fail(q, rv == NGTCP2_ERR_IDLE_CLOSE ? UFRPC_ERR_TIMEOUT : UFRPC_ERR_IO,
                     "quic: %s", rv == NGTCP2_ERR_IDLE_CLOSE ? "idle timeout"
                                                             : ngtcp2_strerror(rv));
        return;
    }
    flush(q);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    ufrpc_quic_t *q = h->data;
    (void)hint;
    b->base = (char *)q->rxbuf;
    b->len = RX_CHUNKS * RX_CHUNK;
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                    unsigned flags)
{
    ufrpc_quic_t *q = u->data;
    (void)flags;
    if (n == 0 || q->closing || q->failed)
        return;
    if (n < 0) {
        session_fail(q, ufrpc_net_uv_err((int)n), "quic: receive: %s", uv_strerror((int)n));
        return;
    }
    (void)from;
    ngtcp2_path path = session_path(q);
    ngtcp2_pkt_info pi = {0};
    int rv = ngtcp2_conn_read_pkt(q->conn, &path, &pi, (const uint8_t *)b->base, (size_t)n, now_ns());
    if (rv != 0) {
        const char *why = ngtcp2_strerror(rv);
        if (rv == NGTCP2_ERR_CRYPTO) {
            int alert = ngtcp2_conn_get_tls_alert(q->conn);
            session_fail(q, UFRPC_ERR_TLS, "quic: TLS handshake failed (alert %d: %s)", alert,
                         gnutls_alert_get_strname((gnutls_alert_description_t)alert));
        } else if (rv == NGTCP2_ERR_DRAINING) {
            session_fail(q, UFRPC_ERR_EOF, "quic: the server closed the connection");
        } else {
            session_fail(q, UFRPC_ERR_IO, "quic: %s", why);
        }
        return;
    }
    /* acks and what this datagram unblocked go out once per loop turn, after every
     * datagram of the turn has been read */
    arm_defer(q);
}

/* ---- streams ------------------------------------------------------------------------- */

static const struct ufrpc_stream_vt qs_vt;

/* How many bytes st's send buffer may hold now: what is in flight (kept until
 * acknowledged) plus what the peer's flow control and the congestion window let
 * go out next, at least one block (so that every stream moves) and at most
 * UFRPC_QUIC_SEND_BUF. The session's streams together keep at most twice the
 * congestion window (UFRPC_QUIC_SEND_BUF at least, UFRPC_QUIC_SESSION_SEND_BUF at
 * most) beyond their first block each. */
static size_t send_cap(const struct qstream *st)
{
    ufrpc_quic_t *q = st->q;
    if (q->conn == NULL || st->detached || q->failed)
        return UFRPC_QUIC_SEND_BUF;
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(q->conn, &cs);
    uint64_t next = ngtcp2_conn_get_max_stream_data_left(q->conn, st->id);
    if (next > cs.cwnd)
        next = cs.cwnd;
    uint64_t cap = (st->sent - st->acked) + next;
    if (cap < SBLOCK_SIZE)
        cap = SBLOCK_SIZE;
    if (cap > UFRPC_QUIC_SEND_BUF)
        cap = UFRPC_QUIC_SEND_BUF;
    if (st->slen >= SBLOCK_SIZE) {
        uint64_t all = 2 * cs.cwnd;
        if (all < UFRPC_QUIC_SEND_BUF)
            all = UFRPC_QUIC_SEND_BUF;
        if (all > UFRPC_QUIC_SESSION_SEND_BUF)
            all = UFRPC_QUIC_SESSION_SEND_BUF;
        if (q->sbuf_total >= all)
            return st->slen; /* no more now: acks of any stream make room */
    }
    return (size_t)cap;
}

/* Moves waiting writes into the send buffer; completed ones go to done_q. */
static void fill(struct qstream *st)
{
    size_t cap = send_cap(st);
    while (st->wq != NULL) {
        struct ufrpc_stream_write *w = st->wq;
        while (w->idx < w->nbufs && st->slen < cap) {
            const uv_buf_t *b = &w->bufs[w->idx];
            if (st->tail == NULL || st->tail->len == SBLOCK_SIZE) {
                struct sblock *nb = malloc(sizeof *nb);
                if (nb == NULL)
                    return; /* retried at the next defer */
                nb->next = NULL;
                nb->len = 0;
                if (st->tail)
                    st->tail->next = nb;
                else
                    st->head = nb;
                st->tail = nb;
            }
            size_t want = b->len - w->off, room = SBLOCK_SIZE - st->tail->len;
            size_t n = want < room ? want : room;
            memcpy(st->tail->data + st->tail->len, b->base + w->off, n);
            st->tail->len += n;
            st->slen += n;
            st->q->sbuf_total += n;
            w->off += n;
            if (w->off == b->len) {
                w->idx++;
                w->off = 0;
            }
        }
        if (w->idx < w->nbufs)
            return; /* no room: wait for acks */
        st->wq = w->next;
        if (st->wq == NULL)
            st->wq_tail = NULL;
        w->next = st->done_q;
        st->done_q = w; /* LIFO: reversed when run */
    }
}

static void deliver(struct qstream *st)
{
    ufrpc_quic_t *q = st->q;
    while (st->reading && st->rx != NULL && !st->s.closing) {
        struct rxq *e = st->rx;
        st->rx = e->next;
        if (st->rx == NULL)
            st->rx_tail = NULL;
        if (!st->detached && q->conn != NULL && !q->failed) {
            ngtcp2_conn_extend_max_stream_offset(q->conn, st->id, e->len);
            ngtcp2_conn_extend_max_offset(q->conn, e->len);
        }
        ufrpc_rbuf_t *b = e->b;
        size_t len = e->len;
        free(e);
        st->s.read_cb(&st->s, 0, b, b->base, len);
        ufrpc_rbuf_unref(b);
    }
    if (st->reading && st->rx == NULL && !st->eof_delivered && !st->s.closing &&
        (st->eof_seen || st->err)) {
        st->eof_delivered = true;
        st->reading = false;
        st->s.read_cb(&st->s, st->eof_seen ? UFRPC_ERR_EOF : st->err, NULL, NULL, 0);
    }
}

static void run_stream(struct qstream *st)
{
    fill(st);
    /* write callbacks, in order */
    struct ufrpc_stream_write *list = NULL;
    while (st->done_q) {
        struct ufrpc_stream_write *w = st->done_q;
        st->done_q = w->next;
        w->next = list;
        list = w;
    }
    int werr = st->err && st->err != UFRPC_ERR_EOF ? st->err : 0;
    while (list) {
        struct ufrpc_stream_write *w = list;
        list = w->next;
        if (w->cb)
            w->cb(w, st->s.closing ? UFRPC_ERR_CANCELED : werr);
    }
    if (st->fin_sent && !st->shut_done && st->s.shutdown_cb && st->slen == 0) {
        st->shut_done = true;
        ufrpc_stream_shutdown_cb cb = st->s.shutdown_cb;
        st->s.shutdown_cb = NULL;
        cb(&st->s, 0);
    }
    deliver(st);
}

static void on_defer(uv_idle_t *h)
{
    ufrpc_quic_t *q = h->data;
    uv_idle_stop(h);
    q->refs++; /* callbacks may close streams or the session */
    if (q->connected && q->connect_cb) {
        ufrpc_quic_connect_cb cb = q->connect_cb;
        q->connect_cb = NULL;
        cb(q, 0, q->data);
    } else if (q->failed && q->connect_cb) {
        ufrpc_quic_connect_cb cb = q->connect_cb;
        q->connect_cb = NULL;
        cb(q, q->failed ? UFRPC_ERR_IO : 0, q->data);
    }
    for (struct qstream *st = q->streams; st != NULL;) {
        struct qstream *next = st->next;
        if (!st->s.closing)
            run_stream(st);
        st = next;
    }
    flush(q);
    q->refs--;
    maybe_free(q);
}

static void arm_defer(ufrpc_quic_t *q)
{
    if (!uv_is_closing((uv_handle_t *)&q->defer))
        uv_idle_start(&q->defer, on_defer);
}

static int qs_read_start(struct ufrpc_stream *s)
{
    struct qstream *st = (struct qstream *)s;
    if (st->eof_delivered)
        return UFRPC_ERR_STATE;
    if (st->q->closing)
        return UFRPC_ERR_CLOSED;
    st->reading = true;
    arm_defer(st->q);
    return 0;
}

static int qs_read_stop(struct ufrpc_stream *s)
{
    ((struct qstream *)s)->reading = false;
    return 0;
}

static int qs_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct qstream *st = (struct qstream *)s;
    if (st->err && st->err != UFRPC_ERR_EOF)
        return st->err;
    if (st->fin_wanted || st->detached || st->q->failed)
        return UFRPC_ERR_CLOSED;
    req->next = NULL;
    if (st->wq_tail)
        st->wq_tail->next = req;
    else
        st->wq = req;
    st->wq_tail = req;
    arm_defer(st->q);
    return 0;
}

static size_t qs_queued(const struct ufrpc_stream *s)
{
    const struct qstream *st = (const struct qstream *)s;
    size_t n = st->slen;
    for (const struct ufrpc_stream_write *w = st->wq; w; w = w->next)
        n += w->len;
    return n;
}

static int qs_shutdown(struct ufrpc_stream *s)
{
    struct qstream *st = (struct qstream *)s;
    if (st->fin_wanted)
        return UFRPC_ERR_STATE;
    st->fin_wanted = true;
    arm_defer(st->q);
    return 0;
}

static void qs_free(struct qstream *st)
{
    ufrpc_quic_t *q = st->q;
    while (st->rx) {
        struct rxq *e = st->rx;
        st->rx = e->next;
        ufrpc_rbuf_unref(e->b);
        free(e);
    }
    free_blocks(st);
    q->sbuf_total -= st->slen;
    free(st);
    q->refs--;
    maybe_free(q);
}

static void qs_close_later(uv_idle_t *h);

static void qs_close(struct ufrpc_stream *s)
{
    struct qstream *st = (struct qstream *)s;
    ufrpc_quic_t *q = st->q;
    for (struct qstream **pp = &q->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    if (!st->detached && q->conn != NULL && !q->failed && !q->closing) {
        ngtcp2_conn_set_stream_user_data(q->conn, st->id, NULL);
        /* reset unless both ends are done; also while bytes are unacknowledged, as
         * ngtcp2 would otherwise retransmit them from blocks freed below */
        if (!st->fin_sent || !st->eof_seen || st->slen > 0)
            ngtcp2_conn_shutdown_stream(q->conn, st->id, 0);
        arm_defer(q);
    }
    /* pending writes are canceled, then the close callback: on the next loop turn */
    uv_idle_t *h = malloc(sizeof *h);
    if (h == NULL || uv_idle_init(q->loop, h) != 0) {
        free(h);
        /* no way to defer: finish now (the caller's close callback runs late only) */
        if (s->close_cb)
            s->close_cb(s);
        qs_free(st);
        return;
    }
    h->data = st;
    uv_idle_start(h, qs_close_later);
}

static void idle_freed(uv_handle_t *h)
{
    free(h);
}

static void qs_close_later(uv_idle_t *h)
{
    struct qstream *st = h->data;
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, idle_freed);
    fill(st);
    struct ufrpc_stream_write *all = st->done_q;
    st->done_q = NULL;
    for (struct ufrpc_stream_write *w = st->wq; w;) {
        struct ufrpc_stream_write *n = w->next;
        w->next = all;
        all = w;
        w = n;
    }
    st->wq = st->wq_tail = NULL;
    while (all) {
        struct ufrpc_stream_write *w = all;
        all = w->next;
        if (w->cb)
            w->cb(w, UFRPC_ERR_CANCELED);
    }
    if (st->s.shutdown_cb && !st->shut_done) {
        ufrpc_stream_shutdown_cb cb = st->s.shutdown_cb;
        st->s.shutdown_cb = NULL;
        cb(&st->s, UFRPC_ERR_CANCELED);
    }
    if (st->s.close_cb)
        st->s.close_cb(&st->s);
    qs_free(st);
}

static const struct ufrpc_stream_vt qs_vt = {
    .read_start = qs_read_start,
    .read_stop = qs_read_stop,
    .write = qs_write,
    .queued = qs_queued,
    .shutdown = qs_shutdown,
    .close = qs_close,
};

int ufrpc_quic_open_stream(ufrpc_quic_t *q, struct ufrpc_stream **out)
{
    *out = NULL;
    if (q->failed || q->closing)
        return UFRPC_ERR_CLOSED;
    if (!q->connected)
        return UFRPC_ERR_STATE;
    struct qstream *st = calloc(1, sizeof *st);
    if (st == NULL)
        return UFRPC_ERR_NOMEM;
    int64_t id;
    int rv = ngtcp2_conn_open_bidi_stream(q->conn, &id, st);
    if (rv != 0) {
        free(st);
        return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? UFRPC_ERR_LIMIT : UFRPC_ERR_IO;
    }
    st->s.vt = &qs_vt;
    st->s.loop = q->loop;
    st->q = q;
    st->id = id;
    st->next = q->streams;
    q->streams = st;
    q->refs++;
    *out = &st->s;
    return 0;
}

/* ---- session lifecycle ------------------------------------------------------------ */

static void session_fail(ufrpc_quic_t *q, int err, const char *fmt, ...)
{
    if (q->failed)
        return;
    q->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->err, sizeof q->err, fmt, ap);
    va_end(ap);
    uv_timer_stop(&q->timer);
    for (struct qstream *st = q->streams; st; st = st->next) {
        st->detached = true;
        if (st->err == 0)
            st->err = UFRPC_ERR_CLOSED;
    }
    if (q->connect_cb) {
        ufrpc_quic_connect_cb cb = q->connect_cb;
        q->connect_cb = NULL;
        q->refs++;
        cb(q, err, q->data);
        q->refs--;
    } else if (q->on_error && !q->closing) {
        q->refs++;
        q->on_error(q, err, q->data);
        q->refs--;
    }
    arm_defer(q);
}

static int start_conn(ufrpc_quic_t *q)
{
    ngtcp2_cid dcid, scid;
    dcid.datalen = 18;
    scid.datalen = 17;
    if (gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0 ||
        gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0)
        return UFRPC_ERR_CRYPTO;
    ngtcp2_path path = session_path(q);
    ngtcp2_callbacks cb = {
        .client_initial = ngtcp2_crypto_client_initial_cb,
        .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
        .handshake_completed = handshake_done_cb,
        .encrypt = ngtcp2_crypto_encrypt_cb,
        .decrypt = ngtcp2_crypto_decrypt_cb,
        .hp_mask = ngtcp2_crypto_hp_mask_cb,
        .recv_stream_data = recv_stream_data_cb,
        .acked_stream_data_offset = acked_cb,
        .stream_close = stream_close_cb,
        .recv_retry = ngtcp2_crypto_recv_retry_cb,
        .rand = rand_cb,
        .get_new_connection_id = new_cid_cb,
        .update_key = ngtcp2_crypto_update_key_cb,
        .stream_reset = stream_reset_cb,
        .extend_max_stream_data = extend_max_stream_data_cb,
        .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
        .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
        .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
        .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
    };
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns();
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_bidi = 0; /* frps never opens streams towards us */
    params.initial_max_streams_uni = 0;
    params.initial_max_stream_data_bidi_local = UFRPC_QUIC_STREAM_WINDOW;
    params.initial_max_data = UFRPC_QUIC_SESSION_WINDOW;
    params.max_idle_timeout = (uint64_t)(q->o.idle_timeout_s ? q->o.idle_timeout_s : 30) *
                              NGTCP2_SECONDS;
    int rv = ngtcp2_conn_client_new(&q->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                    &settings, &params, NULL, q);
    if (rv != 0)
        return UFRPC_ERR_NOMEM;
    if (q->o.keepalive_s > 0)
        ngtcp2_conn_set_keep_alive_timeout(q->conn, (uint64_t)q->o.keepalive_s * NGTCP2_SECONDS);

    if (gnutls_certificate_allocate_credentials(&q->cred) != 0)
        return UFRPC_ERR_NOMEM;
    if (q->o.ca_file && q->o.ca_file[0] &&
        gnutls_certificate_set_x509_trust_file(q->cred, q->o.ca_file, GNUTLS_X509_FMT_PEM) < 0)
        return UFRPC_ERR_TLS;
    if (q->o.cert_file && q->o.cert_file[0] && q->o.key_file &&
        gnutls_certificate_set_x509_key_file(q->cred, q->o.cert_file, q->o.key_file,
                                             GNUTLS_X509_FMT_PEM) != 0)
        return UFRPC_ERR_TLS;
    if (gnutls_init(&q->tls, GNUTLS_CLIENT | GNUTLS_ENABLE_EARLY_DATA |
                                 GNUTLS_NO_END_OF_EARLY_DATA) != 0)
        return UFRPC_ERR_NOMEM;
    if (gnutls_priority_set_direct(
            q->tls, "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) != 0 ||
        ngtcp2_crypto_gnutls_configure_client_session(q->tls) != 0 ||
        gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE, q->cred) != 0)
        return UFRPC_ERR_TLS;
    q->conn_ref.get_conn = get_conn;
    q->conn_ref.user_data = q;
    gnutls_session_set_ptr(q->tls, &q->conn_ref);
    gnutls_datum_t alpn = {(unsigned char *)"frp", 3};
    gnutls_alpn_set_protocols(q->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    struct sockaddr_in6 tmp6;
    struct sockaddr_in tmp4;
    bool literal = uv_ip4_addr(q->sni, 0, &tmp4) == 0 || uv_ip6_addr(q->sni, 0, &tmp6) == 0;
    if (!literal)
        gnutls_server_name_set(q->tls, GNUTLS_NAME_DNS, q->sni, strlen(q->sni));
    if (q->o.ca_file && q->o.ca_file[0])
        gnutls_session_set_verify_cert(q->tls, literal ? NULL : q->sni, 0);
    ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
    return 0;
}

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    ufrpc_quic_t *q = req->data;
    q->gai_busy = false;
    if (q->closing || status != 0 || res == NULL) {
        if (q->o.use_fd) { /* never adopted */
            close(q->o.fd);
            q->o.use_fd = false;
        }
    }
    if (q->closing) {
        uv_freeaddrinfo(res);
        maybe_free(q);
        return;
    }
    if (status != 0 || res == NULL) {
        uv_freeaddrinfo(res);
        session_fail(q, UFRPC_ERR_DNS, "quic: resolve %s: %s", q->host, uv_strerror(status));
        return;
    }
    memcpy(&q->remote, res->ai_addr, res->ai_addrlen);
    if (q->remote.ss_family == AF_INET)
        ((struct sockaddr_in *)&q->remote)->sin_port = htons(q->o.port);
    else
        ((struct sockaddr_in6 *)&q->remote)->sin6_port = htons(q->o.port);
    uv_freeaddrinfo(res);
    int rc = UFRPC_ERR_NOMEM;
    if (q->rxbuf == NULL && (q->rxbuf = malloc(RX_CHUNKS * RX_CHUNK)) == NULL) {
        session_fail(q, UFRPC_ERR_NOMEM, "quic: %s", ufrpc_strerror(UFRPC_ERR_NOMEM));
        return;
    }
    /* an adopted socket (xtcp's punched one) is opened below: no socket of our own
     * then, or uv_udp_open finds the handle busy */
    rc = uv_udp_init_ex(q->loop, &q->udp,
                        (q->o.use_fd ? AF_UNSPEC : q->remote.ss_family) | UV_UDP_RECVMMSG);
    if (rc != 0) {
        if (q->o.use_fd) {
            close(q->o.fd);
            q->o.use_fd = false;
        }
        session_fail(q, ufrpc_net_uv_err(rc), "quic: %s", uv_strerror(rc));
        return;
    }
    q->udp.data = q;
    q->udp_open = true;
    q->handles++;
    int len = sizeof q->local;
    if (q->o.use_fd) {
        q->o.use_fd = false;
        rc = uv_udp_open(&q->udp, q->o.fd);
        if (rc != 0)
            close(q->o.fd);
    }
    if (rc == 0)
        rc = uv_udp_connect(&q->udp, (const struct sockaddr *)&q->remote);
    int bufsz = 4 << 20; /* bursts of a full window; the kernel caps it at its maximum */
    (void)uv_send_buffer_size((uv_handle_t *)&q->udp, &bufsz);
    bufsz = 4 << 20;
    (void)uv_recv_buffer_size((uv_handle_t *)&q->udp, &bufsz);
    if (rc == 0)
        rc = uv_udp_getsockname(&q->udp, (struct sockaddr *)&q->local, &len);
    if (rc == 0)
        rc = uv_udp_recv_start(&q->udp, on_alloc, on_recv);
    if (rc != 0) {
        session_fail(q, ufrpc_net_uv_err(rc), "quic: %s:%u: %s", q->host, q->o.port,
                     uv_strerror(rc));
        return;
    }
    rc = start_conn(q);
    if (rc != 0) {
        session_fail(q, rc, "quic: %s", rc == UFRPC_ERR_TLS ? "cannot set up TLS (check the "
                                                              "transport.tls files)"
                                                            : ufrpc_strerror(rc));
        return;
    }
    flush(q);
}

int ufrpc_quic_connect(uv_loop_t *loop, const struct ufrpc_quic_opts *o, ufrpc_quic_connect_cb cb,
                       ufrpc_quic_error_cb on_error, void *data, ufrpc_quic_t **out)
{
    *out = NULL;
    ufrpc_quic_t *q = o->host != NULL && strlen(o->host) < 256 ? calloc(1, sizeof *q) : NULL;
    if (q == NULL) {
        if (o->use_fd)
            close(o->fd);
        return o->host != NULL && strlen(o->host) < 256 ? UFRPC_ERR_NOMEM : UFRPC_ERR_INVAL;
    }
    q->loop = loop;
    q->o = *o;
    if (q->o.handshake_timeout_ms == 0)
        q->o.handshake_timeout_ms = 10000;
    snprintf(q->host, sizeof q->host, "%s", o->host);
    snprintf(q->sni, sizeof q->sni, "%s", o->server_name && o->server_name[0] ? o->server_name
                                                                              : o->host);
    q->o.host = q->host;
    q->connect_cb = cb;
    q->on_error = on_error;
    q->data = data;
    q->refs = 1;
    uv_timer_init(loop, &q->timer);
    uv_idle_init(loop, &q->defer);
    q->timer.data = q->defer.data = q;
    q->handles = 2;
    q->hs_deadline_ms = uv_now(loop) + q->o.handshake_timeout_ms;
    uv_timer_start(&q->timer, on_timer, q->o.handshake_timeout_ms, 0);
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM};
    q->gai.data = q;
    int rc = uv_getaddrinfo(loop, &q->gai, on_gai, q->host, NULL, &hints);
    if (rc != 0) {
        if (q->o.use_fd) {
            close(q->o.fd);
            q->o.use_fd = false;
        }
        q->failed = true;
        snprintf(q->err, sizeof q->err, "quic: resolve %s: %s", q->host, uv_strerror(rc));
        q->connect_cb = NULL;
        ufrpc_quic_close(q, NULL, NULL);
        return ufrpc_net_uv_err(rc);
    }
    q->gai_busy = true;
    *out = q;
    return 0;
}

static void maybe_free(ufrpc_quic_t *q)
{
    if (!q->closing || q->refs > 0 || q->handles > 0 || q->gai_busy)
        return;
    if (q->close_cb) {
        void (*cb)(void *) = q->close_cb;
        q->close_cb = NULL;
        cb(q->close_data);
    }
    if (q->conn)
        ngtcp2_conn_del(q->conn);
    if (q->tls)
        gnutls_deinit(q->tls);
    if (q->cred)
        gnutls_certificate_free_credentials(q->cred);
    free(q->rxbuf);
    free(q);
}

static void on_handle_closed(uv_handle_t *h)
{
    ufrpc_quic_t *q = h->data;
    q->handles--;
    maybe_free(q);
}

void ufrpc_quic_close(ufrpc_quic_t *q, void (*cb)(void *data), void *data)
{
    if (q == NULL || q->closing)
        return;
    if (q->conn != NULL && q->connected && !q->failed) {
        uint8_t pkt[MAX_PKT];
        ngtcp2_path_storage ps;
        ngtcp2_path_storage_zero(&ps);
        ngtcp2_pkt_info pi;
        ngtcp2_connection_close_error ce;
        ngtcp2_connection_close_error_default(&ce);
        ngtcp2_ssize n = ngtcp2_conn_write_connection_close(q->conn, &ps.path, &pi, pkt, sizeof pkt,
                                                            &ce, now_ns());
        if (n > 0)
            send_pkt(q, pkt, (size_t)n);
    }
    q->closing = true;
    q->close_cb = cb;
    q->close_data = data;
    for (struct qstream *st = q->streams; st; st = st->next) {
        st->detached = true;
        if (st->err == 0)
            st->err = UFRPC_ERR_CLOSED;
        if (st->reading && !st->eof_delivered)
            arm_defer(q); /* not after the idle handle closes: streams learn on next use */
    }
    if (q->gai_busy)
        uv_cancel((uv_req_t *)&q->gai);
    uv_close((uv_handle_t *)&q->timer, on_handle_closed);
    uv_close((uv_handle_t *)&q->defer, on_handle_closed);
    if (q->udp_open)
        uv_close((uv_handle_t *)&q->udp, on_handle_closed);
    q->refs--; /* the session's own reference */
    maybe_free(q);
}

const char *ufrpc_quic_error_text(const ufrpc_quic_t *q)
{
    return q->err;
}

#endif
