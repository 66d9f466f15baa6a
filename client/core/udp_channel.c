/* ufrpc — UDPPacket message channel of udp/sudp proxies (see udp_channel.h). */
#include "client/core/udp_channel.h"

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/msg.h"
#include "proto/frame_v2.h"
#include "proto/udp_packet.h"

#define ZONE_MAX UFRPC_UDP_ZONE_MAX
#define IP_TEXT_MAX UFRPC_UDP_IP_TEXT_MAX

/* ---- sans-I/O helpers ------------------------------------------------------------ */
static int zone_ok(const char *z)
{
    size_t n = strlen(z);
    if (n > ZONE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = z[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int ufrpc_udp_addr_parse(const char *ip, int64_t port, const char *zone,
                         struct sockaddr_storage *out)
{
    if (ip == NULL || out == NULL || port < 0 || port > 65535)
        return UFRPC_ERR_INVAL;
    memset(out, 0, sizeof *out);
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    if (uv_inet_pton(AF_INET, ip, &a4->sin_addr) == 0) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return 0;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    if (uv_inet_pton(AF_INET6, ip, &a6->sin6_addr) != 0)
        return UFRPC_ERR_INVAL;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (zone != NULL && zone[0] != '\0') {
        if (!zone_ok(zone))
            return UFRPC_ERR_INVAL;
        char *end = NULL;
        unsigned long idx = strtoul(zone, &end, 10);
        if (end != zone && *end == '\0' && idx <= 0xffffffffUL)
            a6->sin6_scope_id = (uint32_t)idx;
        else if ((a6->sin6_scope_id = if_nametoindex(zone)) == 0)
            return UFRPC_ERR_INVAL;
    }
    return 0;
}

int ufrpc_udp_packet_encode(const uint8_t *data, size_t len, const struct sockaddr *addr,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    return ufrpc_udp_packet_encode_wire(UFRPC_WIRE_V1, data, len, addr, out, cap, out_len);
}

/* The socket address as UDPPacket's "r" wants it: IP text, port, zone (the
 * interface name of an IPv6 scope, or its number). */
static int addr_text(const struct sockaddr *addr, char ip[IP_TEXT_MAX], unsigned *port,
                     char zone[ZONE_MAX + 11])
{
    zone[0] = '\0';
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
        if (uv_ip4_name(a4, ip, IP_TEXT_MAX) != 0)
            return UFRPC_ERR_INVAL;
        *port = ntohs(a4->sin_port);
        return 0;
    }
    if (addr->sa_family != AF_INET6)
        return UFRPC_ERR_INVAL;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
    if (uv_inet_ntop(AF_INET6, &a6->sin6_addr, ip, IP_TEXT_MAX) != 0)
        return UFRPC_ERR_INVAL;
    *port = ntohs(a6->sin6_port);
    if (a6->sin6_scope_id != 0) {
        char name[IF_NAMESIZE];
        if (if_indextoname(a6->sin6_scope_id, name) != NULL && zone_ok(name))
            snprintf(zone, ZONE_MAX + 11, "%s", name);
        else
            snprintf(zone, ZONE_MAX + 11, "%u", (unsigned)a6->sin6_scope_id);
    }
    return 0;
}

int ufrpc_udp_packet_encode_wire(enum ufrpc_wire_version ver, const uint8_t *data, size_t len,
                                 const struct sockaddr *addr, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    char ip[IP_TEXT_MAX];
    char zone[ZONE_MAX + 11];
    unsigned port = 0;
    if (addr == NULL || addr_text(addr, ip, &port, zone) != 0)
        return UFRPC_ERR_INVAL;
    return ufrpc_udp_packet_encode_text(ver, data, len, ip, (uint16_t)port, zone, out, cap,
                                        out_len);
}

int ufrpc_udp_packet_decode(const struct ufrpc_frame *f, struct ufrpc_udp_in *in)
{
    memset(in, 0, sizeof *in);
    struct ufrpc_udp_packet pkt;
    int rc = ufrpc_udp_packet_decode_frame(f, &pkt);
    if (rc <= 0)
        return rc;
    if (pkt.has_raddr && ufrpc_udp_addr_parse(pkt.ip, pkt.port, pkt.zone, &in->addr) == 0)
        in->has_addr = 1;
    in->data = pkt.data; /* take it */
    in->len = pkt.len;
    return 1;
}

/* ---- the channel ------------------------------------------------------------------ */
#define NBUCKETS 64

struct peer {
    struct ufrpc_udp_channel *ch;
    struct peer *next; /* bucket chain */
    struct sockaddr_storage user;
    uv_udp_t udp;
    uv_timer_t idle;
    int closing;
};

struct wreq {
    struct ufrpc_stream_write req;
    uv_buf_t buf;
    struct ufrpc_udp_channel *ch;
    size_t len;
    uint8_t bytes[];
};

struct ufrpc_udp_channel {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    char *name;
    struct sockaddr_storage local;
    size_t packet_size, max_queued, max_peers;
    uint32_t idle_ms, ping_ms;
    ufrpc_udp_first_prefix_fn first_prefix;
    ufrpc_udp_channel_close_cb on_close;
    void *data;

    struct ufrpc_stream *work;
    enum ufrpc_wire_version wire;
    struct ufrpc_wire_reader dec;
    struct peer *buckets[NBUCKETS];
    uv_timer_t ping;
    uv_idle_t kick; /* delivers `initial` bytes after start returns */
    uint8_t *initial;
    size_t initial_len;

    size_t queued; /* frame bytes accepted by the work stream, not yet written */
    unsigned handles;   /* open uv handles + the stream + write requests */
    int ending;
    int reason;
    struct ufrpc_udp_channel_stats st;
    uint8_t *rbuf; /* packet_size bytes, receive buffer shared by every peer */
    int rbuf_busy;
};

static void channel_end(struct ufrpc_udp_channel *ch, int reason);

static size_t addr_hash(const struct sockaddr_storage *a)
{
    uint32_t h = 2166136261u;
    const uint8_t *p;
    size_t n;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
        p = (const uint8_t *)&a4->sin_addr;
        n = 4;
        h = (h ^ a4->sin_port) * 16777619u;
    } else {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        p = (const uint8_t *)&a6->sin6_addr;
        n = 16;
        h = (h ^ a6->sin6_port) * 16777619u;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h % NBUCKETS;
}

static int addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void maybe_free(struct ufrpc_udp_channel *ch)
{
    if (!ch->ending || ch->handles > 0)
        return;
    if (ch->on_close != NULL)
        ch->on_close(ch, ch->reason, &ch->st, ch->data);
    free(ch->rbuf);
    free(ch->initial);
    free(ch->name);
    free(ch);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ufrpc_udp_channel *ch = h->data;
    ch->handles--;
    maybe_free(ch);
}

/* ---- peers ---- */
static void on_peer_part_closed(uv_handle_t *h)
{
    struct peer *p = h->data;
    struct ufrpc_udp_channel *ch = p->ch;
    /* both handles share data = p; the second close frees it */
    if (p->closing == 1) {
        p->closing = 2;
        return;
    }
    free(p);
    ch->handles -= 2;
    maybe_free(ch);
}

static void peer_close(struct peer *p)
{
    struct ufrpc_udp_channel *ch = p->ch;
    if (p->closing)
        return;
    struct peer **pp = &ch->buckets[addr_hash(&p->user)];
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    p->closing = 1;
    ch->st.peers_active--;
    uv_close((uv_handle_t *)&p->udp, on_peer_part_closed);
    uv_close((uv_handle_t *)&p->idle, on_peer_part_closed);
}

static void on_peer_idle(uv_timer_t *t)
{
    struct peer *p = t->data;
    p->ch->st.peers_closed_idle++;
    UFRPC_LOGD(p->ch->log, "[%s] udp: local socket idle for %u ms, closed", p->ch->name,
               (unsigned)p->ch->idle_ms);
    peer_close(p);
}

static void peer_touch(struct peer *p)
{
    uv_timer_start(&p->idle, on_peer_idle, p->ch->idle_ms, 0);
}

static void queue_frame_free(struct wreq *w)
{
    struct ufrpc_udp_channel *ch = w->ch;
    ch->queued -= w->len;
    free(w);
    ch->handles--;
    maybe_free(ch);
}

static void on_frame_written(struct ufrpc_stream_write *req, int status)
{
    struct wreq *w = req->data;
    struct ufrpc_udp_channel *ch = w->ch;
    if (status < 0 && !ch->ending)
        channel_end(ch, status);
    queue_frame_free(w);
}

/* Queues a UDPPacket (or Ping) frame on the work stream. 0, or 1 if dropped. */
static int send_frame(struct ufrpc_udp_channel *ch, const uint8_t *data, size_t len,
                      const struct sockaddr *user, int is_ping)
{
    static const uint8_t ping_frame[] = {UFRPC_MSG_PING, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
    if (ch->ending)
        return 1;
    uint8_t *v2ping = NULL;
    size_t v2ping_len = 0;
    if (is_ping && ch->wire == UFRPC_WIRE_V2) {
        struct ufrpc_msg pm;
        ufrpc_msg_init(&pm, UFRPC_MSG_PING);
        int prc = ufrpc_wire_encode(&pm, UFRPC_WIRE_V2, false, &v2ping, &v2ping_len);
        ufrpc_msg_free(&pm);
        if (prc < 0) {
            ch->st.drop_queue_full++;
            return 1;
        }
    }
    size_t bound = v2ping ? v2ping_len
                   : is_ping ? sizeof ping_frame
                             : ufrpc_udp_packet_frame_bound(len) + 1;
    if (!is_ping && ufrpc_udp_packet_never_fits(ch->wire, len)) {
        free(v2ping);
        ch->st.drop_oversize++;
        return 1;
    }
    struct wreq *w = malloc(sizeof *w + bound);
    if (w == NULL) {
        free(v2ping);
        ch->st.drop_queue_full++;
        return 1;
    }
    size_t n;
    if (v2ping) {
        memcpy(w->bytes, v2ping, v2ping_len);
        n = v2ping_len;
        free(v2ping);
    } else if (is_ping) {
        memcpy(w->bytes, ping_frame, sizeof ping_frame);
        n = sizeof ping_frame;
    } else {
        int rc = ufrpc_udp_packet_encode_wire(ch->wire, data, len, user, w->bytes, bound, &n);
        if (rc < 0) {
            free(w);
            if (rc == UFRPC_ERR_MSG_TOO_LONG)
                ch->st.drop_oversize++;
            else
                ch->st.drop_bad_addr++;
            return 1;
        }
    }
    if (ch->queued + n > ch->max_queued) {
        free(w);
        ch->st.drop_queue_full++;
        return 1;
    }
    w->ch = ch;
    w->len = n;
    w->buf = uv_buf_init((char *)w->bytes, (unsigned)n);
    w->req.data = w;
    int rc = ufrpc_stream_write(ch->work, &w->req, &w->buf, 1, on_frame_written);
    if (rc < 0) {
        free(w);
        channel_end(ch, rc);
        return 1;
    }
    ch->queued += n;
    ch->handles++;
    return 0;
}

static void on_peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct peer *p = h->data;
    (void)suggested;
    if (p->ch->rbuf_busy) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    p->ch->rbuf_busy = 1;
    *buf = uv_buf_init((char *)p->ch->rbuf, (unsigned)p->ch->packet_size);
}

static void on_peer_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *from, unsigned flags)
{
    struct peer *p = u->data;
    struct ufrpc_udp_channel *ch = p->ch;
    if (buf->base == (char *)ch->rbuf)
        ch->rbuf_busy = 0;
    if (nread < 0) {
        /* e.g. ECONNREFUSED: nothing listens on the local port; frp ends the
         * forwarder for this address too. */
        UFRPC_LOGD(ch->log, "[%s] udp: local socket error: %s", ch->name, uv_strerror((int)nread));
        peer_close(p);
        return;
    }
    if (nread == 0 && from == NULL)
        return;
    if (flags & UV_UDP_PARTIAL)
        ch->st.truncated++;
    peer_touch(p);
    uint64_t oversize = ch->st.drop_oversize;
    if (send_frame(ch, (const uint8_t *)buf->base, (size_t)nread,
                   (const struct sockaddr *)&p->user, 0) == 0) {
        ch->st.packets_out++;
        ch->st.bytes_out += (uint64_t)nread;
    } else if (ch->st.drop_oversize != oversize &&
               (ch->st.drop_oversize <= 10 || ch->st.drop_oversize % 1000 == 0)) {
        /* the local service decides the size: say why, but not for every datagram */
        UFRPC_LOGW(ch->log, "[%s] udp: reply of %zd bytes dropped: its UDPPacket would exceed "
                   "the %s frame limit (%llu dropped so far)", ch->name, nread,
                   ch->wire == UFRPC_WIRE_V2 ? "65534-byte v2" : "10240-byte v1",
                   (unsigned long long)ch->st.drop_oversize);
    }
}

static struct peer *peer_get(struct ufrpc_udp_channel *ch, const struct sockaddr_storage *user,
                             int *is_new)
{
    size_t b = addr_hash(user);
    *is_new = 0;
    for (struct peer *p = ch->buckets[b]; p != NULL; p = p->next)
        if (addr_eq(&p->user, user))
            return p;
    if (ch->st.peers_active >= ch->max_peers)
        return NULL;
    struct peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->ch = ch;
    p->user = *user;
    int rc = uv_udp_init(ch->loop, &p->udp);
    if (rc < 0) {
        free(p);
        return NULL;
    }
    p->udp.data = p;
    uv_timer_init(ch->loop, &p->idle); /* cannot fail */
    p->idle.data = p;
    ch->handles += 2;
    p->next = ch->buckets[b];
    ch->buckets[b] = p;
    ch->st.peers_active++;
    rc = uv_udp_connect(&p->udp, (const struct sockaddr *)&ch->local);
    if (rc == 0)
        rc = uv_udp_recv_start(&p->udp, on_peer_alloc, on_peer_recv);
    if (rc < 0) {
        UFRPC_LOGW(ch->log, "[%s] udp: cannot open a local socket: %s", ch->name, uv_strerror(rc));
        peer_close(p);
        return NULL;
    }
    ch->st.peers_opened++;
    *is_new = 1;
    return p;
}

static void deliver(struct ufrpc_udp_channel *ch, struct ufrpc_udp_in *in)
{
    if (!in->has_addr) {
        ch->st.drop_bad_addr++;
        return;
    }
    int is_new;
    struct peer *p = peer_get(ch, &in->addr, &is_new);
    if (p == NULL) {
        ch->st.drop_no_peer++;
        return;
    }
    uv_buf_t bufs[2];
    unsigned nb = 0;
    uint8_t pre[256];
    if (is_new && ch->first_prefix != NULL) {
        int n = ch->first_prefix(ch->data, (const struct sockaddr *)&in->addr,
                                 (const struct sockaddr *)&ch->local, pre, sizeof pre);
        if (n > 0 && (size_t)n <= sizeof pre)
            bufs[nb++] = uv_buf_init((char *)pre, (unsigned)n);
    }
    /* several iovecs still make one datagram (sendmsg) */
    bufs[nb++] = uv_buf_init((char *)in->data, (unsigned)in->len);
    int rc = uv_udp_try_send(&p->udp, bufs, nb, NULL);
    peer_touch(p);
    if (rc < 0) {
        ch->st.drop_local_busy++;
        if (rc != UV_EAGAIN && rc != UV_ENOBUFS)
            peer_close(p); /* frp closes the socket on a write error */
        return;
    }
    ch->st.packets_in++;
    ch->st.bytes_in += in->len;
}

static void feed(struct ufrpc_udp_channel *ch, const uint8_t *data, size_t len)
{
    while (len > 0 && !ch->ending) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(&ch->dec, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc < 0) {
            UFRPC_LOGW(ch->log, "[%s] udp: bad frame on the work connection: %s", ch->name,
                       ufrpc_strerror(rc));
            channel_end(ch, rc);
            return;
        }
        if (rc == 0)
            return;
        struct ufrpc_udp_in in;
        rc = ufrpc_udp_packet_decode(&f, &in);
        if (rc < 0) {
            UFRPC_LOGW(ch->log, "[%s] udp: bad %s message on the work connection: %s", ch->name,
                       ufrpc_frame_type_name(f.type), ufrpc_strerror(rc));
            channel_end(ch, rc);
            return;
        }
        if (rc == 0) {
            if (f.type != UFRPC_MSG_PING)
                ch->st.ignored++;
            continue;
        }
        deliver(ch, &in);
        free(in.data);
    }
}

static void on_work_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct ufrpc_udp_channel *ch = s->data;
    (void)buf;
    if (status < 0) {
        if (status == UFRPC_ERR_EOF)
            UFRPC_LOGI(ch->log, "[%s] udp: work connection closed by the server", ch->name);
        else
            UFRPC_LOGW(ch->log, "[%s] udp: work connection error: %s", ch->name,
                       ufrpc_strerror(status));
        channel_end(ch, status);
        return;
    }
    feed(ch, data, len);
}

static void on_ping(uv_timer_t *t)
{
    struct ufrpc_udp_channel *ch = t->data;
    if (send_frame(ch, NULL, 0, NULL, 1) == 0)
        ch->st.pings_sent++;
}

static void on_kick(uv_idle_t *h)
{
    struct ufrpc_udp_channel *ch = h->data;
    uv_idle_stop(h);
    uint8_t *init = ch->initial;
    size_t n = ch->initial_len;
    ch->initial = NULL;
    ch->initial_len = 0;
    if (init != NULL)
        feed(ch, init, n);
    free(init);
    if (!ch->ending) {
        int rc = ufrpc_stream_read_start(ch->work, on_work_read);
        if (rc < 0)
            channel_end(ch, rc);
    }
}

static void on_work_closed(struct ufrpc_stream *s)
{
    struct ufrpc_udp_channel *ch = s->data;
    ch->handles--;
    maybe_free(ch);
}

static void channel_end(struct ufrpc_udp_channel *ch, int reason)
{
    if (ch->ending)
        return;
    ch->ending = 1;
    ch->reason = reason;
    for (size_t b = 0; b < NBUCKETS; b++)
        while (ch->buckets[b] != NULL)
            peer_close(ch->buckets[b]);
    uv_close((uv_handle_t *)&ch->ping, on_handle_closed);
    uv_close((uv_handle_t *)&ch->kick, on_handle_closed);
    ufrpc_stream_close(ch->work, on_work_closed);
}

void ufrpc_udp_channel_close(ufrpc_udp_channel_t *ch)
{
    if (ch != NULL && !ch->ending) {
        UFRPC_LOGD(ch->log, "[%s] udp: work connection closed by the client", ch->name);
        channel_end(ch, UFRPC_ERR_CANCELED);
    }
}

void ufrpc_udp_channel_get_stats(const ufrpc_udp_channel_t *ch, struct ufrpc_udp_channel_stats *st)
{
    *st = ch->st;
}

static int resolve_local(uv_loop_t *loop, const char *ip, uint16_t port,
                         struct sockaddr_storage *out)
{
    if (ufrpc_udp_addr_parse(ip, port, NULL, out) == 0)
        return 0;
    /* A host name ("localhost"): resolved once, synchronously (libuv runs
     * getaddrinfo inline without a callback). */
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    char svc[8];
    snprintf(svc, sizeof svc, "%u", (unsigned)port);
    int rc = uv_getaddrinfo(loop, &req, NULL, ip, svc, &hints);
    if (rc < 0)
        return UFRPC_ERR_DNS;
    const struct addrinfo *ai = ufrpc_udp_pick_resolved(req.addrinfo);
    rc = UFRPC_ERR_DNS;
    if (ai != NULL) {
        memset(out, 0, sizeof *out);
        memcpy(out, ai->ai_addr, ai->ai_addrlen);
        rc = 0;
    }
    uv_freeaddrinfo(req.addrinfo);
    return rc;
}

const struct addrinfo *ufrpc_udp_pick_resolved(const struct addrinfo *list)
{
    const struct addrinfo *v6 = NULL;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_addr == NULL || ai->ai_addrlen > sizeof(struct sockaddr_storage))
            continue;
        if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
            return ai;
        if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6) &&
            v6 == NULL)
            v6 = ai;
    }
    return v6;
}

int ufrpc_udp_channel_start(const struct ufrpc_udp_channel_opts *opts,
                            struct ufrpc_stream *work, const uint8_t *initial,
                            size_t initial_len, ufrpc_udp_channel_t **out)
{
    int rc = UFRPC_ERR_NOMEM;
    struct ufrpc_udp_channel *ch = NULL;
    if (opts == NULL || work == NULL || opts->loop == NULL || opts->local_ip == NULL ||
        (initial == NULL && initial_len > 0)) {
        rc = UFRPC_ERR_INVAL;
        goto fail;
    }
    ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        goto fail;
    ch->loop = opts->loop;
    ch->log = opts->log;
    ch->packet_size = opts->packet_size ? opts->packet_size : UFRPC_UDP_DEFAULT_PACKET_SIZE;
    if (ch->packet_size > 65536)
        ch->packet_size = 65536;
    ch->idle_ms = opts->idle_timeout_ms ? opts->idle_timeout_ms : UFRPC_UDP_IDLE_TIMEOUT_MS;
    ch->ping_ms = opts->ping_interval_ms ? opts->ping_interval_ms : UFRPC_UDP_PING_INTERVAL_MS;
    ch->max_queued = opts->max_queued ? opts->max_queued : UFRPC_UDP_DEFAULT_MAX_QUEUED;
    ch->max_peers = opts->max_peers ? opts->max_peers : UFRPC_UDP_DEFAULT_MAX_PEERS;
    ch->first_prefix = opts->first_prefix;
    ch->on_close = opts->on_close;
    ch->data = opts->data;
    ch->name = strdup(opts->name != NULL ? opts->name : "");
    ch->rbuf = malloc(ch->packet_size);
    if (ch->name == NULL || ch->rbuf == NULL)
        goto fail;
    if (initial_len > 0) {
        if ((ch->initial = malloc(initial_len)) == NULL)
            goto fail;
        memcpy(ch->initial, initial, initial_len);
        ch->initial_len = initial_len;
    }
    rc = resolve_local(opts->loop, opts->local_ip, opts->local_port, &ch->local);
    if (rc < 0)
        goto fail;
    rc = uv_idle_init(ch->loop, &ch->kick);
    if (rc < 0) {
        rc = ufrpc_net_uv_err(rc);
        goto fail;
    }
    uv_timer_init(ch->loop, &ch->ping);
    ch->kick.data = ch;
    ch->ping.data = ch;
    ch->handles = 3; /* kick, ping, work stream */
    ch->wire = opts->wire == UFRPC_WIRE_V2 ? UFRPC_WIRE_V2 : UFRPC_WIRE_V1;
    ufrpc_wire_reader_init(&ch->dec, ch->wire, false);
    ch->work = work;
    work->data = ch;
    uv_timer_start(&ch->ping, on_ping, ch->ping_ms, ch->ping_ms);
    uv_idle_start(&ch->kick, on_kick);
    if (out != NULL)
        *out = ch;
    return 0;
fail:
    if (ch != NULL) {
        free(ch->rbuf);
        free(ch->initial);
        free(ch->name);
        free(ch);
    }
    if (work != NULL)
        ufrpc_stream_close(work, NULL);
    return rc;
}
