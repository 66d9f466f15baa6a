/* client/core/holepunch.c — STUN discovery and hole punching on the loop. See holepunch.h. */
#include "client/core/holepunch.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/xform_crypt.h"
#include "proto/error.h"
#include "proto/nathole.h"
#include "proto/stun.h"
#include "proto/text.h"

#define STUN_TIMEOUT_MS 3000   /* frp's responseTimeout */
#define READ_TIMEOUT_MS 5000   /* MakeHole's default */
#define MAX_LOCAL_IPS 10       /* ListLocalIPsForNatHole(10) */
#define MAX_RANGE_SENDS 2048   /* candidate port ranges, all IPs together */
#define MAX_LISTEN_RANDOM 256  /* extra sockets of a receiver (frps asks for 256) */
#define MAX_SEND_RANDOM 4096   /* random ports of a sender (frps asks for 1000) */
#define RANDOM_SEND_MS 15      /* one random port every 15 ms, as frp */
#define MAX_ERR 300

enum phase { PH_RESOLVE, PH_STUN1, PH_STUN2, PH_PREPARED, PH_DELAY, PH_WAIT, PH_DONE };

struct ufrpc_holepunch {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    char name[256];
    struct ufrpc_holepunch_cbs cbs;
    void *data;
    bool disable_assisted;
    enum phase ph;
    int handles;  /* open uv handles (udp, timer) */
    int freeing;
    int gai_busy; /* the resolver request has not called back */
    uv_getaddrinfo_t gai;
    uv_udp_t udp;
    uv_timer_t timer;
    /* frps's random-port modes: a receiver's extra sockets (each sends and listens;
     * the first to get the peer's sid wins), a sender's paced sends to random ports */
    uv_udp_t *extra;
    size_t n_extra;
    uv_udp_t *won; /* the socket that got the peer's message: &udp or an extra */
    uv_timer_t pace;
    int64_t random_left;
    uint8_t *used_ports; /* 65536-bit set of the random ports already tried */
    uint8_t tid[12];
    struct sockaddr_in stun;
    struct ufrpc_strv mapped, assisted;
    struct ufrpc_nat_feature feat;
    uint16_t lport;
    int orig_ttl; /* the socket's TTL, restored after each low-TTL packet */
    /* punching */
    struct ufrpc_msg resp; /* NatHoleResp copy (sid, addresses, behaviour) */
    uint8_t key[UFRPC_CFB_KEY_LEN];
    char ptid[UFRPC_NATHOLE_TID_LEN + 1];
    bool sender;
    struct sockaddr_storage peer;
    char peer_text[64];
    char host[256], port[8];
    uint8_t rbuf[1500];
};

static void maybe_release(ufrpc_holepunch_t *h)
{
    if (!h->freeing || h->handles > 0 || h->gai_busy)
        return;
    ufrpc_msg_free(&h->resp);
    free(h->extra);
    free(h->used_ports);
    for (size_t i = 0; i < h->mapped.n; i++)
        free(h->mapped.items[i]);
    free(h->mapped.items);
    for (size_t i = 0; i < h->assisted.n; i++)
        free(h->assisted.items[i]);
    free(h->assisted.items);
    memset(h->key, 0, sizeof h->key);
    free(h);
}

static void on_closed(uv_handle_t *hd)
{
    ufrpc_holepunch_t *h = hd->data;
    h->handles--;
    maybe_release(h);
}

void ufrpc_holepunch_free(ufrpc_holepunch_t *h)
{
    if (!h || h->freeing)
        return;
    h->freeing = 1;
    if (h->gai_busy)
        uv_cancel((uv_req_t *)&h->gai);
    if (h->handles > 0) {
        uv_close((uv_handle_t *)&h->udp, on_closed);
        uv_close((uv_handle_t *)&h->timer, on_closed);
        uv_close((uv_handle_t *)&h->pace, on_closed);
        for (size_t i = 0; i < h->n_extra; i++)
            uv_close((uv_handle_t *)&h->extra[i], on_closed);
    }
    maybe_release(h);
}

static void fail_prepare(ufrpc_holepunch_t *h, int rc, const char *err)
{
    h->ph = PH_DONE;
    uv_timer_stop(&h->timer);
    if (h->cbs.on_prepared)
        h->cbs.on_prepared(h, rc, err, h->data);
}

static void fail_punch(ufrpc_holepunch_t *h, int rc, const char *err)
{
    h->ph = PH_DONE;
    uv_timer_stop(&h->timer);
    uv_timer_stop(&h->pace);
    if (h->cbs.on_punched)
        h->cbs.on_punched(h, rc, err, h->data);
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        port = ntohs(s4->sin_port);
    }
    snprintf(out, cap, "%s:%u", ip, port);
}

void ufrpc_holepunch_strv_text(const struct ufrpc_strv *v, char *out, size_t cap)
{
    size_t len = 0;
    if (cap < 8) {
        if (cap)
            out[0] = '\0';
        return;
    }
    out[len++] = '[';
    for (size_t i = 0; i < v->n; i++) {
        size_t need = strlen(v->items[i]) + (i ? 1 : 0);
        if (len + need + 5 > cap) {
            memcpy(out + len, " ...", 4);
            len += 4;
            break;
        }
        if (i)
            out[len++] = ' ';
        memcpy(out + len, v->items[i], need - (i ? 1 : 0));
        len += need - (i ? 1 : 0);
    }
    out[len++] = ']';
    out[len] = '\0';
}

/* "a.b.c.d:port" -> sockaddr_in; 0 or UFRPC_ERR_INVAL. */
static int parse4(const char *s, struct sockaddr_in *sa)
{
    char ip[INET_ADDRSTRLEN];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof ip)
        return UFRPC_ERR_INVAL;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (*end != '\0' || port < 0 || port > 65535 || inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
        return UFRPC_ERR_INVAL;
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

static int send_stun(ufrpc_holepunch_t *h, const struct sockaddr_in *to)
{
    uint8_t req[UFRPC_STUN_HEADER_LEN];
    if (ufrpc_xform_getrandom(NULL, h->tid, sizeof h->tid) != 0)
        return UFRPC_ERR_CRYPTO;
    ufrpc_stun_binding_request(req, h->tid);
    uv_buf_t b = uv_buf_init((char *)req, sizeof req);
    int rc = uv_udp_try_send(&h->udp, &b, 1, (const struct sockaddr *)to);
    if (rc < 0)
        return ufrpc_net_uv_err(rc);
    return 0;
}

static void on_stun_timeout(uv_timer_t *t)
{
    ufrpc_holepunch_t *h = t->data;
    fail_prepare(h, UFRPC_ERR_TIMEOUT, "discover error: wait response from stun server timeout");
}

static int ask(ufrpc_holepunch_t *h, const struct sockaddr_in *to)
{
    int rc = send_stun(h, to);
    if (rc == 0)
        uv_timer_start(&h->timer, on_stun_timeout, STUN_TIMEOUT_MS, 0);
    return rc;
}

/* frp's ListLocalIPsForNatHole(10) with the socket's port. */
static int list_assisted(ufrpc_holepunch_t *h, const char **ips, char store[][INET_ADDRSTRLEN],
                         size_t *n)
{
    struct ifaddrs *ifs = NULL;
    *n = 0;
    if (getifaddrs(&ifs) != 0)
        return 0; /* frp ignores the error too */
    for (struct ifaddrs *i = ifs; i != NULL && *n < MAX_LOCAL_IPS; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((a >> 24) == 127 || (a >> 16) == 0xa9fe || (a >> 28) == 0xe)
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, store[*n],
                  INET_ADDRSTRLEN);
        ips[*n] = store[*n];
        (*n)++;
    }
    freeifaddrs(ifs);
    return 0;
}

static void prepared(ufrpc_holepunch_t *h)
{
    uv_timer_stop(&h->timer);
    if (h->mapped.n < 2) {
        fail_prepare(h, UFRPC_ERR_NATHOLE, "discover error: not enough addresses");
        return;
    }
    const char *ips[MAX_LOCAL_IPS];
    char store[MAX_LOCAL_IPS][INET_ADDRSTRLEN];
    size_t nips = 0;
    list_assisted(h, ips, store, &nips);
    int rc = ufrpc_nathole_classify((const char *const *)h->mapped.items, h->mapped.n, ips, nips,
                                    &h->feat);
    if (rc) {
        fail_prepare(h, rc, "classify nat feature error: bad address");
        return;
    }
    if (!h->disable_assisted) {
        for (size_t i = 0; i < nips; i++) {
            char a[64];
            snprintf(a, sizeof a, "%s:%u", ips[i], (unsigned)h->lport);
            if (ufrpc_strv_push(&h->assisted, a) != 0) {
                fail_prepare(h, UFRPC_ERR_NOMEM, "discover error: out of memory");
                return;
            }
        }
    }
    h->ph = PH_PREPARED;
    /* as frp, nothing is read until punching starts: the peer's early detect
     * packets wait in the socket's buffer */
    uv_udp_recv_stop(&h->udp);
    if (h->cbs.on_prepared)
        h->cbs.on_prepared(h, 0, NULL, h->data);
}

static void stun_input(ufrpc_holepunch_t *h, const uint8_t *p, size_t n)
{
    struct ufrpc_stun_resp r;
    if (ufrpc_stun_parse(p, n, h->tid, &r) != 0)
        return; /* a stray datagram */
    if (h->ph == PH_STUN1 && r.mapped[0] == '\0') {
        fail_prepare(h, UFRPC_ERR_NATHOLE, "discover error: no external address found");
        return;
    }
    if (r.mapped[0] != '\0' && ufrpc_strv_push(&h->mapped, r.mapped) != 0) {
        fail_prepare(h, UFRPC_ERR_NOMEM, "discover error: out of memory");
        return;
    }
    struct sockaddr_in other;
    if (h->ph == PH_STUN1 && r.other[0] != '\0' && parse4(r.other, &other) == 0) {
        h->ph = PH_STUN2;
        int rc = ask(h, &other);
        if (rc) {
            char e[MAX_ERR];
            snprintf(e, sizeof e, "discover error: write udp4 to %s: %s", r.other,
                     ufrpc_strerror(rc));
            fail_prepare(h, rc, e);
        }
        return;
    }
    prepared(h);
}

static void send_sid(ufrpc_holepunch_t *h, uv_udp_t *u, const struct sockaddr_in *to, int ttl,
                     bool response, const char *tid)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_SID);
    uint8_t rnd[UFRPC_CFB_IV_LEN + 1];
    if (ufrpc_xform_getrandom(NULL, rnd, sizeof rnd) != 0)
        return;
    char nonce[20];
    size_t nl = rnd[UFRPC_CFB_IV_LEN] % 20; /* strings.Repeat("0", rand.IntN(20)) */
    memset(nonce, '0', nl);
    nonce[nl] = '\0';
    m.u.nat_hole_sid.response = response;
    uint8_t pkt[UFRPC_NATHOLE_MAX_PACKET];
    size_t n = 0;
    if (ufrpc_msg_set_str(&m.u.nat_hole_sid.transaction_id, tid) == 0 &&
        ufrpc_msg_set_str(&m.u.nat_hole_sid.sid, h->resp.u.nat_hole_resp.sid) == 0 &&
        ufrpc_msg_set_str(&m.u.nat_hole_sid.nonce, nonce) == 0 &&
        ufrpc_nathole_seal(h->key, rnd, &m, pkt, sizeof pkt, &n) == 0) {
        char a[64];
        addr_text((const struct sockaddr *)to, a, sizeof a);
        if (ttl > 0) {
            UFRPC_LOGT(h->log, "[%s] send sid message from 0.0.0.0:%u to %s with ttl %d", h->name,
                       (unsigned)h->lport, a, ttl);
            uv_udp_set_ttl(u, ttl);
        } else {
            UFRPC_LOGT(h->log, "[%s] send sid message from 0.0.0.0:%u to %s", h->name,
                       (unsigned)h->lport, a);
        }
        uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)n);
        int rc = uv_udp_try_send(u, &b, 1, (const struct sockaddr *)to);
        if (rc < 0)
            UFRPC_LOGT(h->log, "[%s] send sid message from 0.0.0.0:%u to %s error: %s", h->name,
                       (unsigned)h->lport, a, uv_strerror(rc));
        if (ttl > 0)
            uv_udp_set_ttl(u, h->orig_ttl);
    }
    ufrpc_msg_free(&m);
}

static void on_wait_timeout(uv_timer_t *t)
{
    ufrpc_holepunch_t *h = t->data;
    char e[MAX_ERR];
    snprintf(e, sizeof e, "wait detect message error: read udp4 0.0.0.0:%u: i/o timeout",
             (unsigned)h->lport);
    fail_punch(h, UFRPC_ERR_TIMEOUT, e);
}

/* A random unused port in [1024, 65535), 0 after 10 tries (frp's getUnusedPort). */
static uint16_t unused_port(ufrpc_holepunch_t *h)
{
    for (int i = 0; i < 10; i++) {
        uint16_t r;
        if (ufrpc_xform_getrandom(NULL, (uint8_t *)&r, sizeof r) != 0)
            return 0;
        uint16_t p = (uint16_t)(1024 + r % (65535 - 1024));
        if (!(h->used_ports[p / 8] & (1u << (p % 8)))) {
            h->used_ports[p / 8] |= (uint8_t)(1u << (p % 8));
            return p;
        }
    }
    return 0;
}

/* The sender's SendRandomPorts: one random port a tick, to every candidate IP. */
static void on_pace(uv_timer_t *t)
{
    ufrpc_holepunch_t *h = t->data;
    const struct ufrpc_msg_nat_hole_resp *r = &h->resp.u.nat_hole_resp;
    int ttl = r->detect_behavior.ttl > 0 && r->detect_behavior.ttl < 256 ? (int)r->detect_behavior.ttl : 0;
    if (h->ph != PH_WAIT || h->random_left <= 0) {
        uv_timer_stop(t);
        return;
    }
    h->random_left--;
    uint16_t port = unused_port(h);
    if (port == 0)
        return;
    for (size_t i = 0; i < r->candidate_addrs.n; i++) {
        struct sockaddr_in to;
        if (parse4(r->candidate_addrs.items[i], &to) != 0)
            continue;
        bool seen = false; /* each IP once */
        for (size_t j = 0; j < i && !seen; j++) {
            struct sockaddr_in o;
            seen = parse4(r->candidate_addrs.items[j], &o) == 0 && o.sin_addr.s_addr == to.sin_addr.s_addr;
        }
        if (seen)
            continue;
        to.sin_port = htons(port);
        send_sid(h, &h->udp, &to, ttl, false, h->ptid);
    }
}

static void send_detects(ufrpc_holepunch_t *h)
{
    const struct ufrpc_msg_nat_hole_resp *r = &h->resp.u.nat_hole_resp;
    const struct ufrpc_nat_detect_behavior *b = &r->detect_behavior;
    int ttl = b->ttl > 0 && b->ttl < 256 ? (int)b->ttl : 0;
    const char *prev = NULL;
    /* sender: assisted then candidate addresses; receiver: the candidates unless
     * port ranges are given (slices.Compact drops consecutive duplicates) */
    for (int pass = 0; pass < 2; pass++) {
        const struct ufrpc_strv *v = pass == 0 ? &r->assisted_addrs : &r->candidate_addrs;
        if (pass == 0 && !h->sender)
            continue;
        if (pass == 1 && !h->sender && b->candidate_ports.n > 0)
            continue;
        for (size_t i = 0; i < v->n; i++) {
            if (prev && strcmp(prev, v->items[i]) == 0)
                continue;
            prev = v->items[i];
            struct sockaddr_in to;
            if (parse4(v->items[i], &to) != 0) {
                UFRPC_LOGT(h->log, "[%s] send sid message to %s error: bad address", h->name,
                           v->items[i]);
                continue;
            }
            send_sid(h, &h->udp, &to, ttl, false, h->ptid);
            for (size_t k = 0; k < h->n_extra; k++)
                send_sid(h, &h->extra[k], &to, ttl, false, h->ptid);
        }
    }
    size_t budget = MAX_RANGE_SENDS;
    for (size_t i = 0; i < r->candidate_addrs.n && b->candidate_ports.n > 0; i++) {
        if (i > 0 && strcmp(r->candidate_addrs.items[i], r->candidate_addrs.items[i - 1]) == 0)
            continue;
        struct sockaddr_in to;
        if (parse4(r->candidate_addrs.items[i], &to) != 0)
            continue;
        for (size_t k = 0; k < b->candidate_ports.n; k++) {
            int64_t from = b->candidate_ports.items[k].from, end = b->candidate_ports.items[k].to;
            for (int64_t p = from < 1 ? 1 : from; p <= end && p <= 65535 && budget > 0; p++) {
                budget--;
                to.sin_port = htons((uint16_t)p);
                send_sid(h, &h->udp, &to, ttl, false, h->ptid);
            }
        }
    }
    if (b->send_random_ports > 0 && h->used_ports) {
        h->random_left = b->send_random_ports < MAX_SEND_RANDOM ? b->send_random_ports
                                                                : MAX_SEND_RANDOM;
        UFRPC_LOGD(h->log, "[%s] send sid messages to %lld random ports, one every %d ms",
                   h->name, (long long)h->random_left, RANDOM_SEND_MS);
        uv_timer_start(&h->pace, on_pace, RANDOM_SEND_MS, RANDOM_SEND_MS);
    }
    int64_t to_ms = b->read_timeout_ms > 0 ? b->read_timeout_ms : READ_TIMEOUT_MS;
    h->ph = PH_WAIT;
    uv_timer_start(&h->timer, on_wait_timeout, (uint64_t)to_ms, 0);
}

static void on_delay(uv_timer_t *t)
{
    send_detects(t->data);
}

static void punch_input(ufrpc_holepunch_t *h, uv_udp_t *u, const uint8_t *p, size_t n,
                        const struct sockaddr *from)
{
    char a[64];
    addr_text(from, a, sizeof a);
    UFRPC_LOGD(h->log, "[%s] get udp message local 0.0.0.0:%u, from %s", h->name,
               (unsigned)h->lport, a);
    struct ufrpc_msg m;
    int rc = ufrpc_nathole_open(h->key, p, n, &m);
    if (rc) {
        UFRPC_LOGW(h->log, "[%s] decode sid message error: %s", h->name, ufrpc_strerror(rc));
        return;
    }
    const struct ufrpc_msg_nat_hole_sid *s = &m.u.nat_hole_sid;
    const char *want = h->resp.u.nat_hole_resp.sid ? h->resp.u.nat_hole_resp.sid : "";
    if (strcmp(s->sid ? s->sid : "", want) != 0) {
        UFRPC_LOGW(h->log, "[%s] get sid message with wrong sid: %s, expect: %s", h->name,
                   s->sid ? s->sid : "", want);
        ufrpc_msg_free(&m);
        return;
    }
    if (!s->response) {
        if (h->sender) { /* a sender only waits for answers */
            ufrpc_msg_free(&m);
            return;
        }
        send_sid(h, u, (const struct sockaddr_in *)from, 0, true,
                 s->transaction_id ? s->transaction_id : "");
    }
    ufrpc_msg_free(&m);
    memcpy(&h->peer, from, sizeof(struct sockaddr_in));
    snprintf(h->peer_text, sizeof h->peer_text, "%s", a);
    h->won = u;
    h->ph = PH_DONE;
    uv_timer_stop(&h->timer);
    uv_timer_stop(&h->pace);
    if (h->cbs.on_punched)
        h->cbs.on_punched(h, 0, NULL, h->data);
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    ufrpc_holepunch_t *h = hd->data;
    buf->base = (char *)h->rbuf;
    buf->len = sizeof h->rbuf;
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    ufrpc_holepunch_t *h = u->data;
    if (h->freeing || n <= 0 || !addr || addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL))
        return; /* ICMP errors (n < 0) and truncated datagrams are skipped */
    if (h->ph == PH_STUN1 || h->ph == PH_STUN2)
        stun_input(h, (const uint8_t *)buf->base, (size_t)n);
    else if (h->ph == PH_WAIT || h->ph == PH_DELAY)
        punch_input(h, u, (const uint8_t *)buf->base, (size_t)n, addr);
}

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res)
{
    ufrpc_holepunch_t *h = r->data;
    h->gai_busy = 0;
    if (h->freeing) {
        if (res)
            uv_freeaddrinfo(res);
        maybe_release(h);
        return;
    }
    if (status < 0 || !res) {
        char e[MAX_ERR];
        snprintf(e, sizeof e, "discover error: lookup %s: no such host", h->host);
        fail_prepare(h, UFRPC_ERR_DNS, e);
        return;
    }
    memcpy(&h->stun, res->ai_addr, sizeof h->stun);
    uv_freeaddrinfo(res);
    h->ph = PH_STUN1;
    int rc = ask(h, &h->stun);
    if (rc) {
        char e[MAX_ERR];
        snprintf(e, sizeof e, "discover error: write udp4 to %s:%s: %s", h->host, h->port,
                 ufrpc_strerror(rc));
        fail_prepare(h, rc, e);
    }
}

int ufrpc_holepunch_start(uv_loop_t *loop, struct ufrpc_log *log, const char *name,
                          const char *stun_server, bool disable_assisted,
                          const struct ufrpc_holepunch_cbs *cbs, void *data,
                          ufrpc_holepunch_t **out)
{
    *out = NULL;
    const char *colon = stun_server ? strrchr(stun_server, ':') : NULL;
    if (!colon || colon == stun_server || strlen(colon + 1) >= 8 ||
        (size_t)(colon - stun_server) >= 256)
        return UFRPC_ERR_INVAL;
    ufrpc_holepunch_t *h = calloc(1, sizeof *h);
    if (!h)
        return UFRPC_ERR_NOMEM;
    h->loop = loop;
    h->log = log;
    h->cbs = *cbs;
    h->data = data;
    h->disable_assisted = disable_assisted;
    snprintf(h->name, sizeof h->name, "%s", name ? name : "");
    memcpy(h->host, stun_server, (size_t)(colon - stun_server));
    snprintf(h->port, sizeof h->port, "%s", colon + 1);
    ufrpc_msg_init(&h->resp, UFRPC_MSG_NAT_HOLE_RESP);
    int rc = uv_udp_init_ex(loop, &h->udp, AF_INET);
    if (rc < 0) {
        free(h);
        return ufrpc_net_uv_err(rc);
    }
    h->udp.data = h;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_timer_init(loop, &h->pace);
    h->pace.data = h;
    h->won = &h->udp;
    h->handles = 3;
    struct sockaddr_in any = {.sin_family = AF_INET};
    rc = uv_udp_bind(&h->udp, (const struct sockaddr *)&any, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&h->udp, on_alloc, on_recv);
    if (rc == 0) {
        struct sockaddr_in la;
        int len = sizeof la;
        if (uv_udp_getsockname(&h->udp, (struct sockaddr *)&la, &len) == 0)
            h->lport = ntohs(la.sin_port);
        uv_os_fd_t fd;
        int ttl = 64;
        socklen_t tl = sizeof ttl;
        if (uv_fileno((uv_handle_t *)&h->udp, &fd) == 0)
            getsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, &tl);
        h->orig_ttl = ttl > 0 && ttl < 256 ? ttl : 64;
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
        h->gai.data = h;
        rc = uv_getaddrinfo(loop, &h->gai, on_resolved, h->host, h->port, &hints);
        if (rc == 0)
            h->gai_busy = 1;
    }
    if (rc < 0) {
        ufrpc_holepunch_free(h);
        return ufrpc_net_uv_err(rc);
    }
    *out = h;
    return 0;
}

const struct ufrpc_strv *ufrpc_holepunch_mapped(const ufrpc_holepunch_t *h)
{
    return &h->mapped;
}

const struct ufrpc_strv *ufrpc_holepunch_assisted(const ufrpc_holepunch_t *h)
{
    return &h->assisted;
}

const char *ufrpc_holepunch_nat_type(const ufrpc_holepunch_t *h)
{
    return h->feat.nat_type ? h->feat.nat_type : "";
}

const char *ufrpc_holepunch_behavior(const ufrpc_holepunch_t *h)
{
    return h->feat.behavior ? h->feat.behavior : "";
}

const char *ufrpc_holepunch_peer_text(const ufrpc_holepunch_t *h)
{
    return h->peer_text;
}

static int copy_strv(struct ufrpc_strv *dst, const struct ufrpc_strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (ufrpc_strv_push(dst, src->items[i]) != 0)
            return UFRPC_ERR_NOMEM;
    return 0;
}

int ufrpc_holepunch_punch(ufrpc_holepunch_t *h, const struct ufrpc_msg_nat_hole_resp *resp,
                          const uint8_t key[UFRPC_CFB_KEY_LEN])
{
    if (h->ph != PH_PREPARED || h->freeing)
        return UFRPC_ERR_STATE;
    struct ufrpc_msg_nat_hole_resp *r = &h->resp.u.nat_hole_resp;
    uint8_t t[UFRPC_NATHOLE_TID_LEN / 2];
    if (ufrpc_xform_getrandom(NULL, t, sizeof t) != 0)
        return UFRPC_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof t; i++)
        snprintf(h->ptid + 2 * i, 3, "%02x", t[i]);
    if (ufrpc_msg_set_str(&r->sid, resp->sid) != 0 || ufrpc_msg_set_str(&r->protocol, resp->protocol) ||
        copy_strv(&r->candidate_addrs, &resp->candidate_addrs) != 0 ||
        copy_strv(&r->assisted_addrs, &resp->assisted_addrs) != 0)
        return UFRPC_ERR_NOMEM;
    r->detect_behavior.mode = resp->detect_behavior.mode;
    r->detect_behavior.ttl = resp->detect_behavior.ttl;
    r->detect_behavior.send_delay_ms = resp->detect_behavior.send_delay_ms;
    r->detect_behavior.read_timeout_ms = resp->detect_behavior.read_timeout_ms;
    r->detect_behavior.send_random_ports = resp->detect_behavior.send_random_ports;
    r->detect_behavior.listen_random_ports = resp->detect_behavior.listen_random_ports;
    size_t np = resp->detect_behavior.candidate_ports.n;
    if (np > 0) {
        r->detect_behavior.candidate_ports.items = calloc(np, sizeof(struct ufrpc_port_range));
        if (!r->detect_behavior.candidate_ports.items)
            return UFRPC_ERR_NOMEM;
        memcpy(r->detect_behavior.candidate_ports.items, resp->detect_behavior.candidate_ports.items,
               np * sizeof(struct ufrpc_port_range));
        r->detect_behavior.candidate_ports.n = np;
    }
    memcpy(h->key, key, sizeof h->key);
    int rc = uv_udp_recv_start(&h->udp, on_alloc, on_recv);
    if (rc < 0)
        return ufrpc_net_uv_err(rc);
    h->sender = resp->detect_behavior.role && strcmp(resp->detect_behavior.role, "sender") == 0;
    if (resp->detect_behavior.send_random_ports > 0 && !(h->used_ports = calloc(65536 / 8, 1)))
        return UFRPC_ERR_NOMEM;
    if (!h->sender && resp->detect_behavior.listen_random_ports > 0) {
        int64_t want = resp->detect_behavior.listen_random_ports;
        if (want > MAX_LISTEN_RANDOM)
            want = MAX_LISTEN_RANDOM;
        if (!(h->extra = calloc((size_t)want, sizeof *h->extra)))
            return UFRPC_ERR_NOMEM;
        struct sockaddr_in any = {.sin_family = AF_INET};
        for (int64_t i = 0; i < want; i++) {
            uv_udp_t *x = &h->extra[h->n_extra];
            int e = uv_udp_init_ex(h->loop, x, AF_INET);
            if (e < 0) {
                UFRPC_LOGW(h->log, "[%s] listen random udp addr error: %s", h->name, uv_strerror(e));
                break;
            }
            x->data = h;
            h->n_extra++;
            h->handles++;
            e = uv_udp_bind(x, (const struct sockaddr *)&any, 0);
            if (e == 0)
                e = uv_udp_recv_start(x, on_alloc, on_recv);
            if (e < 0) { /* stays in extra[] to be closed; sending on it just fails */
                UFRPC_LOGW(h->log, "[%s] listen random udp addr error: %s", h->name, uv_strerror(e));
                break;
            }
        }
    }
    if (h->n_extra > 0)
        UFRPC_LOGD(h->log, "[%s] listen on %zu more random ports", h->name, h->n_extra);
    if (h->sender && resp->detect_behavior.send_delay_ms > 0) {
        h->ph = PH_DELAY;
        uv_timer_start(&h->timer, on_delay, (uint64_t)resp->detect_behavior.send_delay_ms, 0);
        return 0;
    }
    send_detects(h);
    return 0;
}

int ufrpc_holepunch_take(ufrpc_holepunch_t *h, uv_os_sock_t *fd, struct sockaddr_storage *peer)
{
    uv_os_fd_t cur;
    if (h->peer_text[0] == '\0' || uv_fileno((uv_handle_t *)h->won, &cur) != 0)
        return UFRPC_ERR_STATE;
    int d = dup(cur);
    if (d < 0)
        return UFRPC_ERR_IO;
    *fd = d;
    *peer = h->peer;
    return 0;
}
