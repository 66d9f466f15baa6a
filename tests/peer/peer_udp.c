/* ufrpc-test-frps — udp proxies (docs/PROTOCOL.md §8). Test code, not product.
 *
 * As frps's server/proxy/udp.go: NewProxy type udp binds a UDP socket on
 * proxy_ip:remote_port (0 = any free port; NewProxyResp remote_addr ":PORT"). 500 ms
 * later one work stream is taken (peer_get_work without addresses, so StartWorkConn
 * has none; the stream comes back wrapped per use_encryption/use_compression) and
 * becomes the proxy's message channel, v1 frames both ways:
 *   - every datagram a user sends to the port → UDPPacket{c: payload, r: user addr};
 *   - UDPPacket{c, r} from the client → the payload sent to r from the port;
 *   - Ping from the client is ignored (counted); other messages ignored (counted);
 *   - no frame for 60 s (read deadline, re-armed by every frame) → the stream is
 *     dropped and another one taken; so is a broken stream (EOF, read error,
 *     framing or JSON error). Taking one that does not come (userConnTimeout) is
 *     retried after 1 s.
 * Differences from frps, on purpose and small: a user datagram that arrives while
 * there is no channel is dropped (frps queues up to 1024 in sendCh); a datagram
 * whose UDPPacket would not fit a v1 frame (10240 bytes of JSON) is dropped with an
 * event (frps writes it, and a v1 reader refuses a frame over 10240 bytes). User
 * datagrams are read into a buffer of --udp-packet-size bytes (frps udpPacketSize,
 * 1500 by default), so longer ones are cut, as frps's ReadFromUDP cuts them.
 *
 * The environment variable UFRPC_PEER_UDP_READ_TIMEOUT_MS (100..600000) replaces the
 * 60 s read deadline, so that a test can make the peer replace a silent channel.
 *
 * Events (stdout, see peer.h): udp-listen, udp-channel (n = channel number for this
 * proxy), udp-channel-end (reason, packets both ways on that channel), udp-user-new
 * (first datagram from an address; up to MAX_USERS are remembered), udp-packet-in
 * (user → client, with the running count), udp-packet-out (client → user), udp-ping,
 * udp-drop (reason: no-channel, too-long, queue-full, bad-addr, send-error,
 * write-error, no-memory), udp-ignored, udp-bad-frame, udp-bad-message,
 * udp-recv-error, udp-closed (totals, at kind->close).
 *
 * Ownership: struct udp_proxy (px->impl) owns the UDP socket, two timers, the
 * current work stream and every send request in flight. kind->close stops them
 * all; the last close callback frees it and calls peer_proxy_free(px).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h" /* px->c->p */
#include "peer.h"
#include "proto/error.h"

#define READ_DEADLINE_MS 60000u
#define FIRST_WORK_DELAY_MS 500u
#define RETRY_MS 1000u
#define RBUF_SIZE 65536u
#define MAX_INFLIGHT_SENDS 1024u
#define MAX_QUEUED_BYTES (1024u * 1024u)
#define MAX_USERS 256u

struct udp_proxy {
    struct proxy *px;
    uv_udp_t sock;
    uv_timer_t retry;    /* the first 500 ms, and retries of peer_get_work */
    uv_timer_t deadline; /* 60 s read deadline of the channel */
    unsigned handles;    /* open uv handles + send requests in flight */
    int closing;
    int getting; /* a peer_get_work is pending */
    struct ufrpc_stream *work;
    uint16_t port;
    uint32_t deadline_ms;
    uint64_t channels;
    uint64_t ch_in, ch_out; /* on the current channel */
    uint64_t total_in, total_out, pings, drops;
    size_t nusers;
    struct sockaddr_storage users[MAX_USERS];
    struct ufrpc_frame_decoder dec;
    uint8_t rbuf[RBUF_SIZE];
    int rbuf_busy;
};

struct udp_send {
    uv_udp_send_t req;
    struct udp_proxy *u;
    size_t len;
    uint8_t data[];
};

static void request_work(struct udp_proxy *u);

static void maybe_free(struct udp_proxy *u)
{
    if (!u->closing || u->handles > 0)
        return;
    struct proxy *px = u->px;
    free(u);
    peer_proxy_free(px);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct udp_proxy *u = h->data;
    u->handles--;
    maybe_free(u);
}

static void addr_text(const struct sockaddr *sa, char *ip, size_t cap, uint16_t *port)
{
    ip[0] = 0;
    *port = 0;
    if (sa->sa_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)sa, ip, cap);
        *port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)sa, ip, cap);
        *port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
}

static int addr_same(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void note_user(struct udp_proxy *u, const struct sockaddr *from, const char *ip,
                      uint16_t port)
{
    for (size_t i = 0; i < u->nusers; i++)
        if (addr_same(&u->users[i], from))
            return;
    if (u->nusers >= MAX_USERS)
        return;
    size_t n = from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in);
    memset(&u->users[u->nusers], 0, sizeof u->users[0]);
    memcpy(&u->users[u->nusers], from, n);
    u->nusers++;
    peer_event("udp-user-new", "proxy=%s addr=%s:%u users=%zu", u->px->name, ip, port,
               u->nusers);
}

static void drop(struct udp_proxy *u, const char *reason, size_t len)
{
    u->drops++;
    peer_event("udp-drop", "proxy=%s reason=%s len=%zu drops=%llu", u->px->name, reason, len,
               (unsigned long long)u->drops);
}

/* ---- the channel ---------------------------------------------------------------------- */
static void channel_end(struct udp_proxy *u, const char *reason, int again)
{
    if (u->work == NULL)
        return;
    peer_event("udp-channel-end", "proxy=%s n=%llu reason=%s in=%llu out=%llu", u->px->name,
               (unsigned long long)u->channels, reason, (unsigned long long)u->ch_in,
               (unsigned long long)u->ch_out);
    ufrpc_stream_close(u->work, NULL);
    u->work = NULL;
    uv_timer_stop(&u->deadline);
    if (again && !u->closing)
        request_work(u);
}

static void on_deadline(uv_timer_t *t)
{
    struct udp_proxy *u = t->data;
    channel_end(u, "read-timeout", 1);
}

static void on_user_sent(uv_udp_send_t *req, int status)
{
    struct udp_send *s = req->data;
    struct udp_proxy *u = s->u;
    if (status < 0 && status != UV_ECANCELED)
        drop(u, "send-error", s->len);
    free(s);
    u->handles--;
    maybe_free(u);
}

/* A UDPPacket from the client: its payload goes to the user address r. */
static void to_user(struct udp_proxy *u, const struct ufrpc_msg_udp_packet *pk)
{
    const struct ufrpc_udp_addr *r = pk->raddr;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (r == NULL || r->ip == NULL || r->port <= 0 || r->port > 65535 ||
        (uv_ip4_addr(r->ip, (int)r->port, (struct sockaddr_in *)&ss) != 0 &&
         uv_ip6_addr(r->ip, (int)r->port, (struct sockaddr_in6 *)&ss) != 0)) {
        drop(u, "bad-addr", pk->content.len);
        return;
    }
    if (u->handles >= MAX_INFLIGHT_SENDS + 3) {
        drop(u, "queue-full", pk->content.len);
        return;
    }
    struct udp_send *s = malloc(sizeof *s + pk->content.len + 1);
    if (s == NULL) {
        drop(u, "no-memory", pk->content.len);
        return;
    }
    s->u = u;
    s->len = pk->content.len;
    if (pk->content.len > 0)
        memcpy(s->data, pk->content.data, pk->content.len);
    s->req.data = s;
    uv_buf_t b = uv_buf_init((char *)s->data, (unsigned)s->len);
    int rc = uv_udp_send(&s->req, &u->sock, &b, 1, (const struct sockaddr *)&ss, on_user_sent);
    if (rc < 0) {
        free(s);
        drop(u, "send-error", pk->content.len);
        return;
    }
    u->handles++;
    u->ch_out++;
    u->total_out++;
    peer_event("udp-packet-out", "proxy=%s to=%s:%lld len=%zu n=%llu", u->px->name, r->ip,
               (long long)r->port, pk->content.len, (unsigned long long)u->total_out);
}

static void on_work_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct udp_proxy *u = st->data;
    (void)buf;
    if (status < 0) {
        channel_end(u, status == UFRPC_ERR_EOF ? "eof" : ufrpc_errname(status), 1);
        return;
    }
    while (len > 0 && u->work == st) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&u->dec, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc < 0) {
            peer_event("udp-bad-frame", "proxy=%s error=%s", u->px->name, ufrpc_errname(rc));
            channel_end(u, "bad-frame", 1);
            return;
        }
        if (rc == 0)
            return;
        /* every frame re-arms the read deadline, as frps's SetReadDeadline per read */
        uv_timer_start(&u->deadline, on_deadline, u->deadline_ms, 0);
        struct ufrpc_msg m;
        rc = ufrpc_msg_decode(f.type, f.body, f.body_len, &m);
        if (rc < 0) {
            peer_event("udp-bad-message", "proxy=%s type=%s error=%s", u->px->name,
                       ufrpc_frame_type_name(f.type), ufrpc_errname(rc));
            channel_end(u, "bad-message", 1);
            return;
        }
        if (f.type == UFRPC_MSG_UDP_PACKET) {
            to_user(u, &m.u.udp_packet);
        } else if (f.type == UFRPC_MSG_PING) {
            u->pings++;
            peer_event("udp-ping", "proxy=%s n=%llu", u->px->name, (unsigned long long)u->pings);
        } else {
            peer_event("udp-ignored", "proxy=%s type=%s", u->px->name,
                       ufrpc_frame_type_name(f.type));
        }
        ufrpc_msg_free(&m);
    }
}

static void on_retry(uv_timer_t *t)
{
    request_work(t->data);
}

static void on_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct udp_proxy *u = arg;
    u->getting = 0;
    if (work == NULL) {
        /* no connection in time, or the proxy / its control is closing */
        if (!px->closing && !u->closing)
            uv_timer_start(&u->retry, on_retry, RETRY_MS, 0);
        return;
    }
    if (px->closing || u->closing || u->work != NULL) {
        ufrpc_stream_close(work, NULL);
        return;
    }
    u->work = work;
    work->data = u;
    u->channels++;
    u->ch_in = u->ch_out = 0;
    ufrpc_frame_decoder_reset(&u->dec);
    int rc = ufrpc_stream_read_start(work, on_work_read);
    peer_event("udp-channel", "proxy=%s n=%llu port=%u", px->name,
               (unsigned long long)u->channels, u->port);
    if (rc < 0) {
        channel_end(u, ufrpc_errname(rc), 0);
        uv_timer_start(&u->retry, on_retry, RETRY_MS, 0);
        return;
    }
    uv_timer_start(&u->deadline, on_deadline, u->deadline_ms, 0);
}

static void request_work(struct udp_proxy *u)
{
    if (u->closing || u->getting || u->work != NULL)
        return;
    u->getting = 1;
    int rc = peer_get_work(u->px, NULL, 0, NULL, 0, on_work, u);
    if (rc < 0) {
        u->getting = 0;
        if (!u->px->closing)
            uv_timer_start(&u->retry, on_retry, RETRY_MS, 0);
    }
}

/* ---- user datagrams ------------------------------------------------------------------- */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct udp_proxy *u = h->data;
    (void)hint;
    if (u->rbuf_busy) {
        *b = uv_buf_init(NULL, 0);
        return;
    }
    u->rbuf_busy = 1;
    uint32_t size = u->px->c->p->o.udp_packet_size;
    *b = uv_buf_init((char *)u->rbuf, size > 0 && size < RBUF_SIZE ? size : RBUF_SIZE);
}

static void on_user_datagram(uv_udp_t *h, ssize_t nread, const uv_buf_t *b,
                             const struct sockaddr *from, unsigned flags)
{
    struct udp_proxy *u = h->data;
    if (b->base == (char *)u->rbuf)
        u->rbuf_busy = 0;
    if (nread < 0) {
        peer_event("udp-recv-error", "proxy=%s error=%s", u->px->name, uv_strerror((int)nread));
        return;
    }
    if (from == NULL)
        return; /* nothing more to read */
    char ip[64];
    uint16_t port;
    addr_text(from, ip, sizeof ip, &port);
    note_user(u, from, ip, port);
    size_t len = (size_t)nread;
    if (flags & UV_UDP_PARTIAL) {
        drop(u, "too-long", len);
        return;
    }
    if (u->work == NULL) {
        drop(u, "no-channel", len);
        return;
    }
    if (ufrpc_stream_queued(u->work) > MAX_QUEUED_BYTES) {
        drop(u, "queue-full", len);
        return;
    }
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_UDP_PACKET);
    int rc = ufrpc_bytes_set(&m.u.udp_packet.content, b->base, len);
    if (rc == 0)
        rc = ufrpc_udp_addr_set(&m.u.udp_packet.raddr, ip, port, "");
    if (rc == 0)
        rc = peer_write_frame(u->work, &m);
    ufrpc_msg_free(&m);
    if (rc == UFRPC_ERR_MSG_TOO_LONG) {
        drop(u, "too-long", len);
        return;
    }
    if (rc < 0) {
        drop(u, "write-error", len);
        channel_end(u, ufrpc_errname(rc), 1);
        return;
    }
    u->ch_in++;
    u->total_in++;
    peer_event("udp-packet-in", "proxy=%s from=%s:%u len=%zu n=%llu", u->px->name, ip, port,
               len, (unsigned long long)u->total_in);
}

/* ---- the kind --------------------------------------------------------------------------- */
static void on_failed_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static int udp_open(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    struct peer *p = px->c->p;
    int64_t port = px->msg.u.new_proxy.remote_port;
    if (port < 0 || port > 65535) {
        snprintf(err, err_cap, "invalid remote port %lld", (long long)port);
        return UFRPC_ERR_INVAL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(p->o.proxy_ip, (int)port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(p->o.proxy_ip, (int)port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, err_cap, "bad proxy bind address %s", p->o.proxy_ip);
        return UFRPC_ERR_INVAL;
    }
    struct udp_proxy *u = calloc(1, sizeof *u);
    if (u == NULL)
        return UFRPC_ERR_NOMEM;
    u->px = px;
    u->deadline_ms = READ_DEADLINE_MS;
    const char *dl = getenv("UFRPC_PEER_UDP_READ_TIMEOUT_MS");
    if (dl != NULL) {
        long v = strtol(dl, NULL, 10);
        if (v >= 100 && v <= 600000)
            u->deadline_ms = (uint32_t)v;
    }
    int rc = uv_udp_init(p->loop, &u->sock);
    if (rc < 0) {
        snprintf(err, err_cap, "udp socket: %s", uv_strerror(rc));
        free(u);
        return UFRPC_ERR_INVAL;
    }
    u->sock.data = u;
    rc = uv_udp_bind(&u->sock, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&u->sock, on_alloc, on_user_datagram);
    if (rc == 0) {
        struct sockaddr_storage bound;
        int blen = sizeof bound;
        char ip[64];
        rc = uv_udp_getsockname(&u->sock, (struct sockaddr *)&bound, &blen);
        if (rc == 0)
            addr_text((const struct sockaddr *)&bound, ip, sizeof ip, &u->port);
    }
    if (rc < 0) {
        snprintf(err, err_cap, "port unavailable: listen udp %s:%lld: %s", p->o.proxy_ip,
                 (long long)port, uv_strerror(rc));
        /* the socket is closed asynchronously: px itself is freed by the caller */
        u->closing = 1;
        u->px = NULL;
        uv_close((uv_handle_t *)&u->sock, on_failed_sock_closed);
        return UFRPC_ERR_INVAL;
    }
    uv_timer_init(p->loop, &u->retry);
    uv_timer_init(p->loop, &u->deadline);
    u->retry.data = u;
    u->deadline.data = u;
    u->handles = 3;
    ufrpc_frame_decoder_init(&u->dec);
    px->impl = u;
    snprintf(ra, ra_cap, ":%u", u->port);
    peer_event("udp-listen", "proxy=%s port=%u", px->name, u->port);
    /* frps: time.Sleep(500 ms) after NewProxyResp, then the first work connection */
    uv_timer_start(&u->retry, on_retry, FIRST_WORK_DELAY_MS, 0);
    return 0;
}

static void udp_close(struct proxy *px)
{
    struct udp_proxy *u = px->impl;
    u->closing = 1;
    peer_event("udp-closed", "proxy=%s channels=%llu in=%llu out=%llu pings=%llu drops=%llu",
               px->name, (unsigned long long)u->channels, (unsigned long long)u->total_in,
               (unsigned long long)u->total_out, (unsigned long long)u->pings,
               (unsigned long long)u->drops);
    channel_end(u, "proxy-closed", 0);
    uv_close((uv_handle_t *)&u->sock, on_handle_closed);
    uv_close((uv_handle_t *)&u->retry, on_handle_closed);
    uv_close((uv_handle_t *)&u->deadline, on_handle_closed);
}

const struct proxy_kind peer_kind_udp = {"udp", udp_open, udp_close};
