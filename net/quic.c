/* ufrpc — QUIC client sessions and a server listener on ngtcp2 + GnuTLS (net/quic.h). */
#include "net/quic.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

int ufrpc_quic_listen(uv_loop_t *loop, const struct ufrpc_quic_listen_opts *o,
                      ufrpc_quic_accept_cb on_accept, ufrpc_quic_session_end_cb on_end,
                      void *data, ufrpc_quic_listener_t **out, char *err, size_t errlen)
{
    (void)loop, (void)on_accept, (void)on_end, (void)data;
    if (o->use_fd)
        close(o->fd);
    *out = NULL;
    snprintf(err, errlen, "QUIC support is not built in");
    return UFRPC_ERR_UNSUPPORTED;
}

uint16_t ufrpc_quic_listener_port(const ufrpc_quic_listener_t *l)
{
    (void)l;
    return 0;
}

size_t ufrpc_quic_listener_sessions(const ufrpc_quic_listener_t *l)
{
    (void)l;
    return 0;
}

void ufrpc_quic_listener_close(ufrpc_quic_listener_t *l, void (*cb)(void *data), void *data)
{
    (void)l, (void)cb, (void)data;
}

#else

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include "net/quic_lib.h" /* after the libraries' headers: may redirect their functions */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#ifdef __linux__
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#endif

#define MAX_PKT 1452 /* what we send; ngtcp2 limits it further by path MTU */
/* datagrams handed to the kernel in one sendmsg (UDP_SEGMENT, where the kernel
 * has it): a stack buffer of this many packets */
#define BATCH_PKTS 32u

struct qstream;

/* An intrusive doubly linked list (a circular one with a sentinel head); a node
 * not on any list has next == NULL. */
struct qlink {
    struct qlink *prev, *next;
};

/* datagrams the kernel had no room for, sent one by one with uv_udp_send */
struct qpend;

struct ufrpc_quic {
    uv_loop_t *loop;
    uv_udp_t udp;       /* a client's own socket */
    uv_udp_t *sock;     /* where datagrams go: &udp, or the listener's */
    struct ufrpc_quic_listener *lsn; /* a server session's listener; NULL once it closed */
    struct ufrpc_quic *lsn_next;     /* in lsn->sessions */
    bool server;
    char bad_sni[128]; /* a server's: the client's server_name GnuTLS will refuse */
    uint8_t *sni_type; /* its name-type byte in the ClientHello GnuTLS is reading */
    bool sni_hidden;   /* sni_type was changed after hashing (see sni_hide_recv) */
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
    /* stream objects: every open one (oldest first), those with bytes or a FIN
     * for ngtcp2 (sendq, in the order they got them), those with deferred work
     * for on_defer (dirty), those whose writes wait for room (blocked: retried
     * after acks). A stream is on at most one of dirty and blocked. */
    struct qlink all, sendq, dirty, blocked;
    bool acks_seen;          /* acks arrived since on_defer last ran */
    size_t sbuf_total;       /* bytes in every stream's send buffer */
    /* datagrams the kernel's send buffer had no room for: sent with uv_udp_send,
     * nothing more is written until they are out (backpressure, not a loss) */
    struct qpend *pend;
    bool send_busy;
    bool no_gso;             /* the kernel refused UDP_SEGMENT: one datagram a call */
    uint8_t *rxbuf; /* RX_CHUNKS datagram slots for recvmmsg */
};

/* libuv's recvmmsg gives each datagram a 64 KiB slot of the buffer: one read
 * takes up to this many datagrams (pages are touched only where data lands) */
#define RX_CHUNKS 16u
#define RX_CHUNK 65536u
/* a stream's received bytes are gathered in buffers of this size (one delivery
 * each), not one per frame */
#define RX_COALESCE 32768u

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
    struct qlink l_all, l_send, l_dirty; /* on q->all, q->sendq, q->dirty or q->blocked */
    bool on_blocked;                     /* l_dirty is on q->blocked */
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
    bool announce;         /* opened by the peer, not yet given to the listener's owner */
};

struct ufrpc_quic_listener {
    uv_loop_t *loop;
    uv_udp_t udp;
    struct ufrpc_quic_listen_opts o;
    gnutls_certificate_credentials_t cred; /* shared by its sessions */
    struct sockaddr_storage local;
    ufrpc_quic_accept_cb on_accept;
    ufrpc_quic_session_end_cb on_end;
    void *data;
    struct ufrpc_quic *sessions;
    size_t nsessions;
    bool udp_open, closing;
    void (*close_cb)(void *);
    void *close_data;
    uint8_t *rxbuf;
};

struct qpend {
    ufrpc_quic_t *q;
    size_t left; /* requests not yet completed */
    uv_udp_send_t req[];
    /* then the datagrams' bytes */
};

#define QS_OF(link, member) ((struct qstream *)((char *)(link) - offsetof(struct qstream, member)))

static void ql_init(struct qlink *head)
{
    head->prev = head->next = head;
}

static bool ql_empty(const struct qlink *head)
{
    return head->next == head;
}

static void ql_add_tail(struct qlink *head, struct qlink *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

/* Takes n off its list; nothing when it is on none. */
static void ql_del(struct qlink *n)
{
    if (n->next == NULL)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

static void session_lists_init(struct ufrpc_quic *q)
{
    ql_init(&q->all);
    ql_init(&q->sendq);
    ql_init(&q->dirty);
    ql_init(&q->blocked);
}

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static socklen_t sa_len(const struct sockaddr_storage *sa)
{
    return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void session_fail(ufrpc_quic_t *q, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void flush(ufrpc_quic_t *q);
static void on_timer(uv_timer_t *t);
static void arm_defer(ufrpc_quic_t *q);
static void maybe_free(ufrpc_quic_t *q);

/* st has work for on_defer (data or an error to deliver, room for writes, a
 * FIN, a new stream to announce): queued once, run at the next defer. */
static void mark(struct qstream *st)
{
    if (st->l_dirty.next == NULL || st->on_blocked) {
        ql_del(&st->l_dirty);
        st->on_blocked = false;
        ql_add_tail(&st->q->dirty, &st->l_dirty);
    }
    arm_defer(st->q);
}

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
    struct rxq *t = st->rx_tail;
    if (len > 0 && t != NULL && t->b->cap - t->len >= len) {
        /* the frames of one loop turn go to the reader as one delivery */
        memcpy(t->b->base + t->len, data, len);
        t->len += len;
    } else if (len > 0) {
        struct rxq *e = malloc(sizeof *e);
        ufrpc_rbuf_t *b = e ? ufrpc_rbuf_new(len > RX_COALESCE ? len : RX_COALESCE) : NULL;
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
    mark(st);
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
        st->q->acks_seen = true; /* room for every stream's waiting writes */
        mark(st);
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
    ql_del(&st->l_send);
    mark(st);
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t app_error_code,
                           void *user_data, void *sud)
{
    (void)flags, (void)app_error_code;
    ufrpc_quic_t *q = user_data;
    /* ngtcp2 never raises the peer's stream limit by itself: one closed, one more */
    if (q->server && !ngtcp2_conn_is_local_stream(conn, id) && ngtcp2_is_bidi_stream(id))
        (void)ngtcp2_conn_extend_max_streams_bidi(conn, 1);
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
    (void)conn, (void)id, (void)max_data, (void)user_data;
    if (sud != NULL)
        mark(sud); /* back on sendq with what flow control held back */
    return 0;
}

static const struct ufrpc_stream_vt qs_vt;

/* A server session: the client opened a stream (its first frame arrived). It is
 * handed to the listener's owner from the defer (never from inside ngtcp2), in the
 * order they came. */
static int stream_open_cb(ngtcp2_conn *conn, int64_t id, void *user_data)
{
    ufrpc_quic_t *q = user_data;
    if (!ngtcp2_is_bidi_stream(id) || q->lsn == NULL)
        return 0; /* uni streams are not frp's; data on them is dropped */
    struct qstream *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    st->s.vt = &qs_vt;
    st->s.loop = q->loop;
    st->q = q;
    st->id = id;
    st->announce = true;
    ql_add_tail(&q->all, &st->l_all);
    q->refs++;
    ngtcp2_conn_set_stream_user_data(conn, id, st);
    mark(st);
    return 0;
}

/* frpc's xtcp visitor puts "IP:port" in the ClientHello's server_name; GnuTLS
 * (3.7) refuses any host_name but letters, digits, '-' and '.' with
 * ILLEGAL_PARAMETER, and its server_name handling can be neither overridden nor
 * turned off. The server does not use the name, so it is hidden from GnuTLS:
 *   1. client_hello_hook (GNUTLS_HOOK_PRE, before GnuTLS hashes the message into
 *      the transcript) finds such a name and notes where its name-type byte is;
 *   2. sni_hide_recv, registered for an extension every Go client sends
 *      (signed_certificate_timestamp, 18) at the version-negotiation parse point,
 *      runs after the hashing and before GnuTLS parses server_name: it changes the
 *      name type from host_name (0) to one GnuTLS skips.
 * The transcript keeps the bytes the client sent, so the handshake stays valid.
 * Without extension 18 (or if GnuTLS changes its order) the handshake fails as
 * before, and the error names the server name. */
static int sni_scan(void *ctx, unsigned tls_id, const unsigned char *d, unsigned n)
{
    ufrpc_quic_t *q = ctx;
    if (tls_id != 0 || n < 5 || d[2] != 0) /* list length, type host_name, length */
        return 0;
    unsigned len = (unsigned)d[3] << 8 | d[4];
    if (len > n - 5)
        return 0;
    for (unsigned i = 0; i < len; i++) {
        unsigned char c = d[5 + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.')) {
            int shown = len < sizeof q->bad_sni - 1 ? (int)len : (int)sizeof q->bad_sni - 1;
            for (int k = 0; k < shown; k++) /* printable only: it goes to logs */
                q->bad_sni[k] = d[5 + k] >= 0x20 && d[5 + k] < 0x7f ? (char)d[5 + k] : '?';
            q->bad_sni[shown] = '\0';
            q->sni_type = (uint8_t *)(uintptr_t)(d + 2);
            break;
        }
    }
    return 0;
}

static int client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when,
                             unsigned incoming, const gnutls_datum_t *msg)
{
    (void)when;
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
    if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming && ref != NULL) {
        ufrpc_quic_t *q = ref->user_data;
        q->sni_type = NULL;
        (void)gnutls_ext_raw_parse(q, sni_scan, msg, GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO);
        if (q->sni_type != NULL &&
            (q->sni_type < msg->data || q->sni_type >= msg->data + msg->size))
            q->sni_type = NULL; /* not inside the message GnuTLS will parse: leave it */
    }
    return 0;
}

static int sni_hide_recv(gnutls_session_t s, const unsigned char *d, size_t n)
{
    (void)d, (void)n;
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
    ufrpc_quic_t *q = ref != NULL ? ref->user_data : NULL;
    if (q != NULL && q->sni_type != NULL && *q->sni_type == 0) {
        *q->sni_type = 0xff; /* no defined name type: GnuTLS steps over it */
        q->sni_hidden = true;
    }
    if (q != NULL)
        q->sni_type = NULL; /* the message is GnuTLS's again */
    return 0;
}

static int sni_hide_send(gnutls_session_t s, gnutls_buffer_t b)
{
    (void)s, (void)b;
    return 0; /* nothing in the answer */
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    ufrpc_quic_t *q = ref->user_data;
    return q->conn;
}

/* ---- the UDP side -------------------------------------------------------------------- */

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
    struct qpend *p = r->data;
    ufrpc_quic_t *q = p->q;
    if (--p->left > 0)
        return;
    free(p);
    q->pend = NULL;
    q->send_busy = false;
    if (q->closing)
        maybe_free(q);
    else if (!q->failed)
        flush(q);
}

/* Queues the datagrams of p (len bytes, seg each but the last) behind a full
 * kernel send buffer: copied, sent in order by libuv once there is room. */
static void send_later(ufrpc_quic_t *q, const uint8_t *p, size_t len, size_t seg)
{
    size_t n = (len + seg - 1) / seg;
    const struct sockaddr *to = q->server ? (const struct sockaddr *)&q->remote : NULL;
    struct qpend *pd = malloc(sizeof *pd + n * sizeof pd->req[0] + len);
    if (pd == NULL)
        return; /* lost, as on the wire */
    uint8_t *data = (uint8_t *)&pd->req[n];
    memcpy(data, p, len);
    pd->q = q;
    pd->left = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = i * seg, sz = len - off < seg ? len - off : seg;
        uv_buf_t b = uv_buf_init((char *)data + off, (unsigned)sz);
        pd->req[i].data = pd;
        if (uv_udp_send(&pd->req[i], q->sock, &b, 1, to, on_sent) == 0)
            pd->left++;
    }
    if (pd->left == 0) {
        free(pd);
        return;
    }
    q->pend = pd;
    q->send_busy = true;
}

#if defined(__linux__) && defined(UDP_SEGMENT)
/* One sendmsg for every datagram of p (UDP generic segmentation offload): 1 when
 * the kernel took them, 0 when its send buffer is full, -2 when the network said
 * no (lost, as on the wire), -1 on any other error: segmentation is then taken
 * as unsupported (an old kernel, a device without checksum offload, an emulator
 * that does not pass the option on) and never asked for again. */
static int send_gso(ufrpc_quic_t *q, const uint8_t *p, size_t len, size_t seg)
{
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)q->sock, &fd) != 0)
        return -1;
    struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    if (q->server) {
        m.msg_name = &q->remote;
        m.msg_namelen = sa_len(&q->remote);
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t s16 = (uint16_t)seg;
    memcpy(CMSG_DATA(c), &s16, sizeof s16);
    ssize_t rc;
    do
        rc = sendmsg(fd, &m, 0);
    while (rc < 0 && errno == EINTR);
    if (rc >= 0)
        return 1;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        return 0;
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ||
        errno == ENETDOWN || errno == EPERM || errno == EACCES || errno == EADDRNOTAVAIL)
        return -2;
    q->no_gso = true;
    return -1;
}
#endif

/* Puts datagrams on the wire: len bytes at p, each seg bytes but the last. False
 * when the kernel's send buffer is full: what it did not take is then kept and
 * sent once there is room (on_sent flushes again), and the caller must stop
 * writing; dropping it instead would look like congestion to the congestion
 * controller. */
static bool send_pkts(ufrpc_quic_t *q, const uint8_t *p, size_t len, size_t seg)
{
    if (q->send_busy)
        return false;
    if (q->sock == NULL)
        return true; /* the listener closed: lost */
#if defined(__linux__) && defined(UDP_SEGMENT)
    if (len > seg && !q->no_gso) {
        int rc = send_gso(q, p, len, seg);
        if (rc == 1 || rc == -2 || (rc == 0 && q->closing))
            return true;
        if (rc == 0) {
            send_later(q, p, len, seg);
            return false;
        }
    }
#endif
    /* a client's socket is connected; a listener's is shared: address each datagram */
    const struct sockaddr *to = q->server ? (const struct sockaddr *)&q->remote : NULL;
    for (size_t off = 0; off < len; off += seg) {
        size_t sz = len - off < seg ? len - off : seg;
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)p + off, (unsigned)sz);
        int rc = uv_udp_try_send(q->sock, &b, 1, to);
        if (rc >= 0 || (rc != UV_EAGAIN && rc != UV_ENOBUFS) || q->closing)
            continue; /* sent, or an error: lost as on the wire */
        send_later(q, p + off, len - off, seg);
        return false;
    }
    return true;
}

static bool send_pkt(ufrpc_quic_t *q, const uint8_t *p, size_t n)
{
    return send_pkts(q, p, n, n);
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

/* Whether st has bytes or a FIN for ngtcp2. The FIN goes after every queued
 * write (ufrpc_stream_shutdown): none may wait outside the send buffer. */
static bool has_unsent(const struct qstream *st)
{
    return !st->detached && st->id >= 0 &&
           (st->acked + st->slen > st->sent || (st->fin_wanted && !st->fin_sent && st->wq == NULL));
}

/* The bytes of st not yet taken by ngtcp2, as up to max vectors; *all: they are
 * every such byte. */
static size_t unsent_vecs(const struct qstream *st, ngtcp2_vec *v, size_t max, bool *all)
{
    size_t skip = (size_t)(st->sent - st->acked) + st->head_off, n = 0;
    const struct sblock *b = st->head;
    for (; b != NULL && n < max; b = b->next) {
        if (skip >= b->len) {
            skip -= b->len;
            continue;
        }
        v[n].base = (uint8_t *)b->data + skip;
        v[n].len = b->len - skip;
        skip = 0;
        n++;
    }
    *all = b == NULL;
    return n;
}

/* Drops the first n bytes of the vectors v[0..*vn). */
static void vecs_consume(ngtcp2_vec *v, size_t *vn, size_t n)
{
    size_t i = 0;
    while (i < *vn && n >= v[i].len)
        n -= v[i++].len;
    if (i < *vn && n > 0) {
        v[i].base += n;
        v[i].len -= n;
    }
    memmove(v, v + i, (*vn - i) * sizeof *v);
    *vn -= i;
}

/* Writes the packets ngtcp2 has: stream data of the streams on sendq (in turn),
 * then acks and control frames. Packets of one size go to the kernel together
 * (send_pkts). Paced: at most ngtcp2's send quantum goes out at once;
 * ngtcp2_conn_update_pkt_tx_time then sets when the next burst may go, which
 * ngtcp2_conn_get_expiry includes (the timer calls flush again). */
static void flush(ufrpc_quic_t *q)
{
    if (q->conn == NULL || q->failed || q->closing || q->send_busy)
        return;
    uint8_t buf[BATCH_PKTS * MAX_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    uint64_t ts = now_ns();
    /* full packets are seg bytes: a batch is a run of those, ended by a shorter one */
    size_t seg = ngtcp2_conn_get_path_max_tx_udp_payload_size(q->conn), off = 0;
    if (seg == 0 || seg > MAX_PKT)
        seg = MAX_PKT;
    size_t burst = ngtcp2_conn_get_send_quantum(q->conn) / seg;
    if (burst < 1)
        burst = 1;
    if (burst > 64)
        burst = 64;
    size_t pkts = 0;
    bool more = false;     /* stopped with packets left: the burst is spent or the socket full */
    bool streams = true;   /* false: ngtcp2 took no stream data; acks and control only */
    struct qstream *st = NULL;
    ngtcp2_vec v[20];
    size_t vn = 0;
    bool fin = false;
    for (int guard = 0; guard < 4096; guard++) {
        if (st == NULL && streams && !ql_empty(&q->sendq)) {
            st = QS_OF(q->sendq.next, l_send);
            if (!has_unsent(st)) {
                ql_del(&st->l_send);
                st = NULL;
                continue;
            }
            bool all;
            vn = unsent_vecs(st, v, sizeof v / sizeof v[0], &all);
            fin = st->fin_wanted && st->wq == NULL && all;
        }
        int64_t sid = st ? st->id : -1;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
        ngtcp2_ssize ndata = -1;
        /* a batch's first packet may be larger (ngtcp2's path MTU probes) */
        ngtcp2_ssize n = ngtcp2_conn_writev_stream(q->conn, &ps.path, &pi, buf + off,
                                                   off == 0 ? MAX_PKT : seg, &ndata, flags, sid,
                                                   vn ? v : NULL, vn, ts);
        if (st != NULL && ndata >= 0) {
            st->sent += (uint64_t)ndata;
            vecs_consume(v, &vn, (size_t)ndata);
            if (fin && st->sent == st->acked + st->slen)
                st->fin_sent = true;
            if (!has_unsent(st)) {
                ql_del(&st->l_send);
                st = NULL;
            } else if (vn == 0) {
                bool all;
                vn = unsent_vecs(st, v, sizeof v / sizeof v[0], &all);
                fin = st->fin_wanted && st->wq == NULL && all;
            }
        }
        if (n < 0) {
            if (n == NGTCP2_ERR_WRITE_MORE)
                continue; /* the packet has room: the next stream's bytes go in it */
            if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
                n == NGTCP2_ERR_STREAM_NOT_FOUND) {
                if (st != NULL) { /* waits for MAX_STREAM_DATA (extend_max_stream_data_cb) */
                    ql_del(&st->l_send);
                    st = NULL;
                }
                continue;
            }
            session_fail(q, UFRPC_ERR_IO, "quic: write: %s", ngtcp2_strerror((int)n));
            return;
        }
        if (n == 0) {
            if (st == NULL)
                break; /* nothing left at all */
            /* congestion, pacing or the connection's flow control: no stream may
             * send now; acks and control frames still may */
            st = NULL;
            vn = 0;
            fin = false;
            streams = false;
            continue;
        }
        off += (size_t)n;
        pkts++;
        /* a packet of another size ends a batch, as does a full buffer or the burst */
        if ((size_t)n != seg || off + seg > sizeof buf || pkts >= burst) {
            bool ok = send_pkts(q, buf, off, off == (size_t)n ? off : seg);
            off = 0;
            if (!ok || pkts >= burst) {
                more = true;
                break;
            }
        }
    }
    if (off > 0 && !send_pkts(q, buf, off, seg))
        more = true;
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

/* Sends one CONNECTION_CLOSE carrying ce (best effort, as any datagram). */
static void send_close(ufrpc_quic_t *q, const ngtcp2_connection_close_error *ce)
{
    uint8_t pkt[MAX_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(q->conn, &ps.path, &pi, pkt, sizeof pkt,
                                                        ce, now_ns());
    if (n > 0)
        send_pkt(q, pkt, (size_t)n);
}

/* Feeds one datagram of q's peer to ngtcp2; what it triggers goes out at the next
 * defer. A datagram that breaks the connection ends it with a CONNECTION_CLOSE
 * telling the peer why (a TLS alert during the handshake), unless the peer closed
 * it or ngtcp2 says to drop it silently. */
static void session_input(ufrpc_quic_t *q, const uint8_t *p, size_t n)
{
    ngtcp2_path path = session_path(q);
    ngtcp2_pkt_info pi = {0};
    int rv = ngtcp2_conn_read_pkt(q->conn, &path, &pi, p, n, now_ns());
    if (rv != 0) {
        const char *why = ngtcp2_strerror(rv);
        if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_DROP_CONN &&
            rv != NGTCP2_ERR_CLOSING && rv != NGTCP2_ERR_IDLE_CLOSE) {
            ngtcp2_connection_close_error ce;
            if (rv == NGTCP2_ERR_CRYPTO)
                ngtcp2_connection_close_error_set_transport_error_tls_alert(
                    &ce, ngtcp2_conn_get_tls_alert(q->conn), NULL, 0);
            else
                ngtcp2_connection_close_error_set_transport_error_liberr(&ce, rv, NULL, 0);
            send_close(q, &ce);
        }
        if (rv == NGTCP2_ERR_CRYPTO && q->bad_sni[0] && !q->sni_hidden) {
            session_fail(q, UFRPC_ERR_TLS, "quic: TLS handshake failed: the client's server name "
                                           "\"%s\" is not a DNS name, which GnuTLS refuses "
                                           "(and it could not be hidden from it)", q->bad_sni);
        } else if (rv == NGTCP2_ERR_CRYPTO) {
            int alert = ngtcp2_conn_get_tls_alert(q->conn);
            session_fail(q, UFRPC_ERR_TLS, "quic: TLS handshake failed (alert %d: %s)", alert,
                         gnutls_alert_get_strname((gnutls_alert_description_t)alert));
        } else if (rv == NGTCP2_ERR_DRAINING) {
            ngtcp2_connection_close_error ce;
            ngtcp2_conn_get_connection_close_error(q->conn, &ce);
            const char *peer = q->server ? "client" : "server";
            if (ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
                ce.error_code > NGTCP2_CRYPTO_ERROR && ce.error_code <= NGTCP2_CRYPTO_ERROR + 0xff) {
                unsigned alert = (unsigned)(ce.error_code - NGTCP2_CRYPTO_ERROR);
                session_fail(q, UFRPC_ERR_TLS, "quic: the %s ended the TLS handshake (alert %u: %s)",
                             peer, alert,
                             gnutls_alert_get_strname((gnutls_alert_description_t)alert));
            } else {
                session_fail(q, UFRPC_ERR_EOF, "quic: the %s closed the connection", peer);
            }
        } else {
            session_fail(q, UFRPC_ERR_IO, "quic: %s", why);
        }
        return;
    }
    /* acks and what this datagram unblocked go out once per loop turn, after every
     * datagram of the turn has been read */
    arm_defer(q);
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                    unsigned flags)
{
    ufrpc_quic_t *q = u->data;
    (void)flags, (void)from; /* the socket is connected: only the server's datagrams */
    if (n == 0 || q->closing || q->failed)
        return;
    if (n < 0) {
        session_fail(q, ufrpc_net_uv_err((int)n), "quic: receive: %s", uv_strerror((int)n));
        return;
    }
    session_input(q, (const uint8_t *)b->base, (size_t)n);
}

/* ---- streams ------------------------------------------------------------------------- */

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
/* Copies up to len bytes of p into st's send buffer while it holds less than
 * cap; returns how many (fewer also when a block cannot be allocated). */
static size_t copy_in(struct qstream *st, const uint8_t *p, size_t len, size_t cap)
{
    size_t done = 0;
    while (done < len && st->slen < cap) {
        if (st->tail == NULL || st->tail->len == SBLOCK_SIZE) {
            struct sblock *nb = malloc(sizeof *nb);
            if (nb == NULL)
                break;
            nb->next = NULL;
            nb->len = 0;
            if (st->tail)
                st->tail->next = nb;
            else
                st->head = nb;
            st->tail = nb;
        }
        size_t room = SBLOCK_SIZE - st->tail->len, n = len - done;
        if (n > room)
            n = room;
        if (n > cap - st->slen)
            n = cap - st->slen;
        memcpy(st->tail->data + st->tail->len, p + done, n);
        st->tail->len += n;
        st->slen += n;
        st->q->sbuf_total += n;
        done += n;
    }
    return done;
}

static void fill(struct qstream *st)
{
    size_t cap = send_cap(st);
    while (st->wq != NULL) {
        struct ufrpc_stream_write *w = st->wq;
        while (w->idx < w->nbufs && st->slen < cap) {
            const uv_buf_t *b = &w->bufs[w->idx];
            size_t want = b->len - w->off;
            size_t n = copy_in(st, (const uint8_t *)b->base + w->off, want, cap);
            if (n == 0)
                return; /* out of memory: retried after the next acks */
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
        if (q->conn != NULL && !q->failed) {
            if (!st->detached)
                ngtcp2_conn_extend_max_stream_offset(q->conn, st->id, e->len);
            /* the session's credit comes back also for a stream ngtcp2 has
             * closed meanwhile: else every such stream would shrink the window
             * for good, and a small one soon stalls the session */
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
    ufrpc_quic_t *q = st->q;
    fill(st);
    if (has_unsent(st) && st->l_send.next == NULL)
        ql_add_tail(&q->sendq, &st->l_send);
    if (st->wq != NULL && st->l_dirty.next == NULL) { /* no room: tried again after acks */
        ql_add_tail(&q->blocked, &st->l_dirty);
        st->on_blocked = true;
    }
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
    if (q->acks_seen) { /* acks made room: writes that waited for it try again */
        q->acks_seen = false;
        while (!ql_empty(&q->blocked))
            mark(QS_OF(q->blocked.next, l_dirty));
    }
    /* the streams marked before this pass; those marked while it runs (by the
     * callbacks) go to the next one. A stream closed meanwhile leaves the list. */
    struct qlink work;
    ql_init(&work);
    if (!ql_empty(&q->dirty)) {
        work.next = q->dirty.next;
        work.prev = q->dirty.prev;
        work.next->prev = work.prev->next = &work;
        ql_init(&q->dirty);
    }
    while (!ql_empty(&work)) {
        struct qstream *st = QS_OF(work.next, l_dirty);
        ql_del(&st->l_dirty);
        if (st->announce) {
            st->announce = false;
            struct ufrpc_quic_listener *l = q->lsn;
            if (l != NULL && !l->closing && l->on_accept != NULL)
                l->on_accept(l, &st->s, l->data);
            else
                ufrpc_stream_close(&st->s, NULL);
        }
        if (!st->s.closing)
            run_stream(st);
    }
    flush(q);
    q->refs--;
    if (q->server && q->failed && !q->closing)
        ufrpc_quic_close(q, NULL, NULL); /* lsn_on_session_error left it to us */
    else
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
    mark(st);
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
    mark(st);
    return 0;
}

/* What the send buffer takes now (ufrpc_stream_try_write): the pump's read
 * buffer then goes back at once instead of waiting in a queued write, and the
 * pump reads on only when this stream has room. */
static int qs_try_write(struct ufrpc_stream *s, const uv_buf_t *bufs, unsigned nbufs)
{
    struct qstream *st = (struct qstream *)s;
    if (st->err && st->err != UFRPC_ERR_EOF)
        return st->err;
    if (st->fin_wanted || st->detached || st->q->failed)
        return UFRPC_ERR_CLOSED;
    if (st->wq != NULL)
        return 0; /* behind queued writes */
    size_t cap = send_cap(st), done = 0;
    for (unsigned i = 0; i < nbufs; i++) {
        size_t n = copy_in(st, (const uint8_t *)bufs[i].base, bufs[i].len, cap);
        done += n;
        if (n < bufs[i].len)
            break;
    }
    if (done > 0)
        mark(st); /* on sendq at the next defer */
    return done > INT_MAX ? INT_MAX : (int)done;
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
    mark(st);
    return 0;
}

static void qs_free(struct qstream *st)
{
    ufrpc_quic_t *q = st->q;
    while (st->rx) {
        struct rxq *e = st->rx;
        st->rx = e->next;
        if (q->conn != NULL && !q->failed) /* never delivered: the credit comes back */
            ngtcp2_conn_extend_max_offset(q->conn, e->len);
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
    ql_del(&st->l_all);
    ql_del(&st->l_send);
    ql_del(&st->l_dirty);
    st->on_blocked = false;
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
    .try_write = qs_try_write,
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
    ql_add_tail(&q->all, &st->l_all);
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
    for (struct qlink *n = q->all.next; n != &q->all; n = n->next) {
        struct qstream *st = QS_OF(n, l_all);
        st->detached = true;
        if (st->err == 0)
            st->err = UFRPC_ERR_CLOSED;
        ql_del(&st->l_send);
        mark(st); /* its reader and writers learn it */
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

/* The ngtcp2 connection and its TLS session: a client's, or (hd: the client's
 * first Initial) a server session's of q->lsn. */
static int start_conn(ufrpc_quic_t *q, const ngtcp2_pkt_hd *hd)
{
    ngtcp2_cid dcid, scid;
    dcid.datalen = 18;
    scid.datalen = 17;
    if (gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0 ||
        gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0)
        return UFRPC_ERR_CRYPTO;
    if (hd != NULL)
        dcid = hd->scid;
    ngtcp2_path path = session_path(q);
    ngtcp2_callbacks cb = {
        .client_initial = hd ? NULL : ngtcp2_crypto_client_initial_cb,
        .recv_client_initial = hd ? ngtcp2_crypto_recv_client_initial_cb : NULL,
        .stream_open = hd ? stream_open_cb : NULL,
        .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
        .handshake_completed = handshake_done_cb,
        .encrypt = ngtcp2_crypto_encrypt_cb,
        .decrypt = ngtcp2_crypto_decrypt_cb,
        .hp_mask = ngtcp2_crypto_hp_mask_cb,
        .recv_stream_data = recv_stream_data_cb,
        .acked_stream_data_offset = acked_cb,
        .stream_close = stream_close_cb,
        .recv_retry = hd ? NULL : ngtcp2_crypto_recv_retry_cb,
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
    /* a client never gets streams from frps; a server takes max_streams at a time */
    params.initial_max_streams_bidi = hd ? q->lsn->o.max_streams : 0;
    params.initial_max_streams_uni = 0;
    params.initial_max_stream_data_bidi_local = UFRPC_QUIC_STREAM_WINDOW;
    params.initial_max_stream_data_bidi_remote = UFRPC_QUIC_STREAM_WINDOW;
    params.initial_max_data = UFRPC_QUIC_SESSION_WINDOW;
    params.max_idle_timeout = (uint64_t)(q->o.idle_timeout_s ? q->o.idle_timeout_s : 30) *
                              NGTCP2_SECONDS;
    int rv;
    if (hd != NULL) {
        params.original_dcid = hd->dcid;
        rv = ngtcp2_conn_server_new(&q->conn, &dcid, &scid, &path, hd->version, &cb, &settings,
                                    &params, NULL, q);
    } else {
        rv = ngtcp2_conn_client_new(&q->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                    &settings, &params, NULL, q);
    }
    if (rv != 0)
        return UFRPC_ERR_NOMEM;
    if (q->o.keepalive_s > 0)
        ngtcp2_conn_set_keep_alive_timeout(q->conn, (uint64_t)q->o.keepalive_s * NGTCP2_SECONDS);
    q->conn_ref.get_conn = get_conn;
    q->conn_ref.user_data = q;
    gnutls_datum_t alpn = {(unsigned char *)"frp", 3};
    if (hd != NULL) {
        if (gnutls_init(&q->tls, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET |
                                     GNUTLS_NO_END_OF_EARLY_DATA) != 0)
            return UFRPC_ERR_NOMEM;
        if (gnutls_priority_set_direct(
                q->tls, "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) != 0 ||
            ngtcp2_crypto_gnutls_configure_server_session(q->tls) != 0 ||
            gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE, q->lsn->cred) != 0 ||
            gnutls_alpn_set_protocols(q->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0)
            return UFRPC_ERR_TLS;
        gnutls_session_set_ptr(q->tls, &q->conn_ref);
        gnutls_handshake_set_hook_function(q->tls, GNUTLS_HANDSHAKE_CLIENT_HELLO,
                                           GNUTLS_HOOK_PRE, client_hello_hook);
        /* best effort: without it such names fail the handshake, with a clear error */
        (void)gnutls_session_ext_register(q->tls, "ufrpc-sni-hide", 18, GNUTLS_EXT_VERSION_NEG,
                                          sni_hide_recv, sni_hide_send, NULL, NULL, NULL,
                                          GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_TLS);
        ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
        return 0;
    }

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
    gnutls_session_set_ptr(q->tls, &q->conn_ref);
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
    q->sock = &q->udp;
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
    rc = start_conn(q, NULL);
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
    if (ufrpc_quic_lib_load() != 0) { /* the reason: ufrpc_quic_lib_error() */
        if (o->use_fd)
            close(o->fd);
        return UFRPC_ERR_UNSUPPORTED;
    }
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
    session_lists_init(q);
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

static void lsn_unlink(ufrpc_quic_t *q);

static void maybe_free(ufrpc_quic_t *q)
{
    if (!q->closing || q->refs > 0 || q->handles > 0 || q->gai_busy || q->send_busy)
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
        ngtcp2_connection_close_error ce;
        ngtcp2_connection_close_error_default(&ce);
        send_close(q, &ce);
    }
    q->closing = true;
    q->close_cb = cb;
    q->close_data = data;
    /* a server session leaves its listener now (a new session from the same address
     * may come); a datagram still queued on the listener's socket keeps q alive */
    if (q->lsn != NULL)
        lsn_unlink(q);
    q->sock = NULL;
    for (struct qlink *n = q->all.next; n != &q->all; n = n->next) {
        struct qstream *st = QS_OF(n, l_all);
        st->detached = true;
        ql_del(&st->l_send);
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

/* ---- the server side: a listener and its sessions ---------------------------------- */

static void lsn_maybe_free(struct ufrpc_quic_listener *l)
{
    if (!l->closing || l->udp_open)
        return;
    if (l->close_cb)
        l->close_cb(l->close_data);
    if (l->cred)
        gnutls_certificate_free_credentials(l->cred);
    free(l->rxbuf);
    free(l);
}

static void lsn_unlink(ufrpc_quic_t *q)
{
    struct ufrpc_quic_listener *l = q->lsn;
    for (ufrpc_quic_t **pp = &l->sessions; *pp; pp = &(*pp)->lsn_next)
        if (*pp == q) {
            *pp = q->lsn_next;
            l->nsessions--;
            break;
        }
    q->lsn = NULL;
}

/* A server session failed: its owner learns it; the session closes at the end of
 * the next defer, once its accepted streams' readers have had their error (their
 * owners still close them). */
static void lsn_on_session_error(ufrpc_quic_t *q, int err, void *data)
{
    struct ufrpc_quic_listener *l = data;
    if (l->on_end != NULL && !l->closing)
        l->on_end(l, err, q->err, l->data);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Version negotiation, minimal: a long-header packet of a version ngtcp2 does not
 * speak, in a datagram of a client's first size (1200 bytes at least: never an
 * answer to small stray datagrams such as xtcp's punching), gets the list of those
 * it does. */
static void lsn_version_negotiation(struct ufrpc_quic_listener *l, const uint8_t *p, size_t n,
                                    const struct sockaddr *from)
{
    ngtcp2_version_cid vc;
    if (n < 1200 ||
        ngtcp2_pkt_decode_version_cid(&vc, p, n, 17) != NGTCP2_ERR_VERSION_NEGOTIATION)
        return;
    uint8_t out[256], unused;
    uint32_t sv[] = {NGTCP2_PROTO_VER_V1};
    if (gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1) != 0)
        return;
    ngtcp2_ssize w = ngtcp2_pkt_write_version_negotiation(out, sizeof out, unused, vc.scid,
                                                          vc.scidlen, vc.dcid, vc.dcidlen, sv, 1);
    if (w > 0) {
        uv_buf_t b = uv_buf_init((char *)out, (unsigned)w);
        (void)uv_udp_try_send(&l->udp, &b, 1, from); /* best effort, as any datagram */
    }
}

/* A datagram from an address without a session: a client's first Initial opens
 * one (up to max_sessions), anything else is dropped. */
static void lsn_new_session(struct ufrpc_quic_listener *l, const uint8_t *p, size_t n,
                            const struct sockaddr *from)
{
    ngtcp2_pkt_hd hd;
    int rv = ngtcp2_accept(&hd, p, n);
    if (rv != 0) {
        if (rv == NGTCP2_ERR_INVALID_ARGUMENT)
            lsn_version_negotiation(l, p, n, from);
        return;
    }
    if (l->nsessions >= l->o.max_sessions ||
        (from->sa_family != AF_INET && from->sa_family != AF_INET6))
        return;
    ufrpc_quic_t *q = calloc(1, sizeof *q);
    if (q == NULL)
        return; /* the client retries its Initial */
    q->loop = l->loop;
    q->server = true;
    q->lsn = l;
    q->sock = &l->udp;
    q->o.idle_timeout_s = l->o.idle_timeout_s;
    q->o.keepalive_s = l->o.keepalive_s;
    q->o.handshake_timeout_ms = 10000;
    memcpy(&q->remote, from,
           from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    q->local = l->local;
    (void)uv_ip_name(from, q->host, sizeof q->host);
    q->on_error = lsn_on_session_error;
    q->data = l;
    q->refs = 1;
    session_lists_init(q);
    uv_timer_init(l->loop, &q->timer);
    uv_idle_init(l->loop, &q->defer);
    q->timer.data = q->defer.data = q;
    q->handles = 2;
    q->hs_deadline_ms = uv_now(l->loop) + q->o.handshake_timeout_ms;
    q->lsn_next = l->sessions;
    l->sessions = q;
    l->nsessions++;
    int rc = start_conn(q, &hd);
    if (rc != 0) {
        q->failed = true; /* nobody to tell: the client times out */
        ufrpc_quic_close(q, NULL, NULL);
        return;
    }
    session_input(q, p, n);
    arm_timer(q);
}

static void lsn_on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                        unsigned flags)
{
    struct ufrpc_quic_listener *l = u->data;
    (void)flags;
    if (n <= 0 || from == NULL || l->closing)
        return; /* errors on an unconnected socket are some peer's ICMP: not ours to end */
    for (ufrpc_quic_t *q = l->sessions; q != NULL; q = q->lsn_next)
        if (same_addr(&q->remote, from)) {
            if (!q->closing && !q->failed)
                session_input(q, (const uint8_t *)b->base, (size_t)n);
            return;
        }
    lsn_new_session(l, (const uint8_t *)b->base, (size_t)n, from);
}

static void lsn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct ufrpc_quic_listener *l = h->data;
    (void)hint;
    b->base = (char *)l->rxbuf;
    b->len = RX_CHUNKS * RX_CHUNK;
}

/* frp's newRandomTLSKeyPair, in GnuTLS: a fresh self-signed certificate (ECDSA
 * P-256 here; clients do not verify it). */
static int lsn_gen_cert(gnutls_certificate_credentials_t cred)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    unsigned char serial[8];
    time_t now = time(NULL);
    int rc = UFRPC_ERR_CRYPTO;
    if (gnutls_x509_privkey_init(&key) != 0 || gnutls_x509_crt_init(&crt) != 0)
        goto out;
    if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) != 0 ||
        gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial) != 0)
        goto out;
    serial[0] &= 0x7f; /* a positive serial */
    if (gnutls_x509_crt_set_version(crt, 3) != 0 ||
        gnutls_x509_crt_set_serial(crt, serial, sizeof serial) != 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 3600) != 0 ||
        gnutls_x509_crt_set_expiration_time(crt, now + 10 * 365 * 86400) != 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "ufrpc", 5) != 0 ||
        gnutls_x509_crt_set_key(crt, key) != 0 ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) != 0 ||
        gnutls_certificate_set_x509_key(cred, &crt, 1, key) != 0)
        goto out;
    rc = 0;
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

static void lsn_udp_closed(uv_handle_t *h)
{
    struct ufrpc_quic_listener *l = h->data;
    l->udp_open = false;
    lsn_maybe_free(l);
}

/* The credentials of o: its certificate files, or a generated certificate. */
static int lsn_load_cred(struct ufrpc_quic_listener *l, const struct ufrpc_quic_listen_opts *o,
                         char *err, size_t errlen)
{
    if (gnutls_certificate_allocate_credentials(&l->cred) != 0) {
        l->cred = NULL;
        snprintf(err, errlen, "quic: %s", ufrpc_strerror(UFRPC_ERR_NOMEM));
        return UFRPC_ERR_NOMEM;
    }
    if (o->cert_file && o->cert_file[0]) {
        if (gnutls_certificate_set_x509_key_file(l->cred, o->cert_file,
                                                 o->key_file ? o->key_file : "",
                                                 GNUTLS_X509_FMT_PEM) != 0) {
            snprintf(err, errlen, "quic: cannot load the certificate %s with the key %s",
                     o->cert_file, o->key_file ? o->key_file : "(none)");
            return UFRPC_ERR_TLS;
        }
        return 0;
    }
    if (lsn_gen_cert(l->cred) != 0) {
        snprintf(err, errlen, "quic: cannot generate a certificate");
        return UFRPC_ERR_CRYPTO;
    }
    return 0;
}

int ufrpc_quic_listen(uv_loop_t *loop, const struct ufrpc_quic_listen_opts *o,
                      ufrpc_quic_accept_cb on_accept, ufrpc_quic_session_end_cb on_end,
                      void *data, ufrpc_quic_listener_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (ufrpc_quic_lib_load() != 0) {
        if (o->use_fd)
            close(o->fd);
        snprintf(err, errlen, "quic: %s", ufrpc_quic_lib_error());
        return UFRPC_ERR_UNSUPPORTED;
    }
    struct sockaddr_storage sa;
    const char *ip = o->bind_ip && o->bind_ip[0] ? o->bind_ip : "0.0.0.0";
    if (!o->use_fd && uv_ip4_addr(ip, o->port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(ip, o->port, (struct sockaddr_in6 *)&sa) != 0) {
        snprintf(err, errlen, "quic: bad bind address %s", ip);
        return UFRPC_ERR_INVAL;
    }
    struct ufrpc_quic_listener *l = calloc(1, sizeof *l);
    if (l == NULL || (l->rxbuf = malloc(RX_CHUNKS * RX_CHUNK)) == NULL) {
        if (o->use_fd)
            close(o->fd);
        free(l);
        snprintf(err, errlen, "quic: %s", ufrpc_strerror(UFRPC_ERR_NOMEM));
        return UFRPC_ERR_NOMEM;
    }
    l->loop = loop;
    l->o = *o;
    l->o.bind_ip = l->o.cert_file = l->o.key_file = NULL; /* not kept */
    if (l->o.max_streams == 0)
        l->o.max_streams = 100000;
    if (l->o.max_sessions == 0)
        l->o.max_sessions = 64;
    l->on_accept = on_accept;
    l->on_end = on_end;
    l->data = data;
    l->closing = true; /* until set up: a failure below frees through lsn_udp_closed */
    int rc = uv_udp_init_ex(loop, &l->udp,
                            (o->use_fd ? AF_UNSPEC : sa.ss_family) | UV_UDP_RECVMMSG);
    if (rc != 0) {
        if (o->use_fd)
            close(o->fd);
        snprintf(err, errlen, "quic: %s", uv_strerror(rc));
        free(l->rxbuf);
        free(l);
        return ufrpc_net_uv_err(rc);
    }
    l->udp.data = l;
    l->udp_open = true;
    if (o->use_fd) {
        rc = uv_udp_open(&l->udp, o->fd);
        if (rc != 0)
            close(o->fd);
    } else {
        rc = uv_udp_bind(&l->udp, (const struct sockaddr *)&sa, 0);
    }
    int len = sizeof l->local;
    if (rc == 0)
        rc = uv_udp_getsockname(&l->udp, (struct sockaddr *)&l->local, &len);
    if (rc != 0) {
        snprintf(err, errlen, "quic: listen %s:%u: %s", o->use_fd ? "(socket)" : ip, o->port,
                 uv_strerror(rc));
        uv_close((uv_handle_t *)&l->udp, lsn_udp_closed);
        return ufrpc_net_uv_err(rc);
    }
    int bufsz = 4 << 20; /* as a client's socket */
    (void)uv_send_buffer_size((uv_handle_t *)&l->udp, &bufsz);
    bufsz = 4 << 20;
    (void)uv_recv_buffer_size((uv_handle_t *)&l->udp, &bufsz);
    rc = lsn_load_cred(l, o, err, errlen);
    if (rc == 0 && (rc = uv_udp_recv_start(&l->udp, lsn_on_alloc, lsn_on_recv)) != 0) {
        snprintf(err, errlen, "quic: receive: %s", uv_strerror(rc));
        rc = ufrpc_net_uv_err(rc);
    }
    if (rc != 0) {
        uv_close((uv_handle_t *)&l->udp, lsn_udp_closed);
        return rc;
    }
    l->closing = false;
    *out = l;
    return 0;
}

uint16_t ufrpc_quic_listener_port(const ufrpc_quic_listener_t *l)
{
    const struct sockaddr_storage *sa = &l->local;
    return ntohs(sa->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
                                           : ((const struct sockaddr_in *)sa)->sin_port);
}

size_t ufrpc_quic_listener_sessions(const ufrpc_quic_listener_t *l)
{
    return l->nsessions;
}

void ufrpc_quic_listener_close(ufrpc_quic_listener_t *l, void (*cb)(void *data), void *data)
{
    if (l == NULL || l->closing)
        return;
    l->closing = true;
    l->close_cb = cb;
    l->close_data = data;
    /* every session says CONNECTION_CLOSE and stops sending; they outlive the
     * listener only as long as their owners keep accepted streams */
    while (l->sessions != NULL)
        ufrpc_quic_close(l->sessions, NULL, NULL); /* unlinks it */
    uv_close((uv_handle_t *)&l->udp, lsn_udp_closed);
}

#endif
