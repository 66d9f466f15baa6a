/* KCP ARQ in stream mode, after kcp-go v5.6.13 kcp.go (see proto/kcp.h). */
#include "proto/kcp.h"

#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"

#define RTO_NDL 30u
#define RTO_MIN 100u
#define RTO_DEF 200u
#define RTO_MAX 60000u
#define ASK_SEND 1u
#define ASK_TELL 2u
#define THRESH_INIT 2u
#define THRESH_MIN 2u
#define PROBE_INIT 7000u
#define PROBE_LIMIT 120000u
#define ACK_SLACK 64u

struct seg {
    uint32_t sn, ts, resendts, rto, xmit, fastack;
    uint16_t len;
    uint8_t acked;
    uint8_t *data; /* mss bytes */
};

struct ack {
    uint32_t sn, ts;
};

/* a ring of segments */
struct ring {
    struct seg *v;
    uint32_t cap, head, n;
};

struct ufrpc_kcp {
    const struct ufrpc_mem *mem;
    struct ufrpc_kcp_config cfg;
    ufrpc_kcp_output_cb output;
    void *ud;
    uint32_t mss;
    uint32_t snd_una, snd_nxt, rcv_nxt;
    uint32_t ssthresh, cwnd, incr, rmt_wnd, probe;
    int32_t rx_srtt, rx_rttvar;
    uint32_t rx_rto, rx_minrto;
    uint32_t ts_probe, probe_wait;
    uint64_t next_flush;
    int updated;
    uint64_t last_input;

    struct ring snd_queue; /* accepted, no sn yet */
    struct ring snd_buf;   /* sn snd_una.. snd_nxt-1, in order */
    struct ring rcv_queue; /* in order, to be read */
    size_t rcv_off;        /* bytes of the first rcv_queue segment already read */
    size_t rcv_bytes;      /* unread bytes in rcv_queue */
    struct seg *rcv_buf;   /* out of order, slot sn % rcv_wnd */
    uint8_t *rcv_have;
    struct ack *acks;
    uint32_t nacks, acks_cap;
    uint8_t *buf; /* headroom + mtu */
    size_t blen;  /* bytes of KCP data in buf */
    uint64_t now;
    struct ufrpc_kcp_stats st;
};

static int32_t tdiff(uint32_t later, uint32_t earlier)
{
    return (int32_t)(later - earlier);
}

static uint32_t bound(uint32_t lo, uint32_t v, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static struct seg *ring_at(struct ring *r, uint32_t i)
{
    return &r->v[(r->head + i) % r->cap];
}

static struct seg *ring_push(struct ring *r)
{
    struct seg *s = &r->v[(r->head + r->n) % r->cap];
    r->n++;
    return s;
}

static void ring_pop(struct ring *r)
{
    r->head = (r->head + 1) % r->cap;
    r->n--;
}

void ufrpc_kcp_config_frpc(struct ufrpc_kcp_config *c)
{
    memset(c, 0, sizeof *c);
    c->mtu = 1350;
    c->snd_wnd = 128;
    c->rcv_wnd = 512;
    c->nodelay = 1;
    c->interval = 20;
    c->fastresend = 2;
    c->nocwnd = 1;
    c->dead_link = 20;
}

int ufrpc_kcp_new(const struct ufrpc_mem *mem, const struct ufrpc_kcp_config *cfg,
                  ufrpc_kcp_output_cb output, void *user_data, ufrpc_kcp_t **out)
{
    if (!cfg || !output || !out || cfg->mtu < 50 || cfg->mtu > UFRPC_KCP_MTU_LIMIT ||
        cfg->snd_wnd == 0 || cfg->rcv_wnd == 0 || cfg->rcv_wnd > 65535u ||
        cfg->snd_wnd > 65535u || cfg->headroom > 64u)
        return UFRPC_ERR_INVAL;
    mem = ufrpc_mem_or_default(mem);
    ufrpc_kcp_t *k = ufrpc_mem_calloc(mem, 1, sizeof *k);
    if (!k)
        return UFRPC_ERR_NOMEM;
    k->mem = mem;
    k->cfg = *cfg;
    if (k->cfg.interval < 10)
        k->cfg.interval = 10;
    if (k->cfg.interval > 5000)
        k->cfg.interval = 5000;
    if (k->cfg.dead_link == 0)
        k->cfg.dead_link = 20;
    k->output = output;
    k->ud = user_data;
    k->mss = cfg->mtu - UFRPC_KCP_OVERHEAD;
    k->rmt_wnd = 32; /* kcp-go's IKCP_WND_RCV until the peer tells */
    k->rx_rto = RTO_DEF;
    k->rx_minrto = cfg->nodelay ? RTO_NDL : RTO_MIN;
    k->ssthresh = THRESH_INIT;
    k->cwnd = 0;
    k->snd_queue.cap = cfg->snd_wnd;
    k->snd_buf.cap = cfg->snd_wnd;
    k->rcv_queue.cap = cfg->rcv_wnd;
    k->acks_cap = cfg->rcv_wnd + ACK_SLACK;
    k->snd_queue.v = ufrpc_mem_calloc(mem, cfg->snd_wnd, sizeof(struct seg));
    k->snd_buf.v = ufrpc_mem_calloc(mem, cfg->snd_wnd, sizeof(struct seg));
    k->rcv_queue.v = ufrpc_mem_calloc(mem, cfg->rcv_wnd, sizeof(struct seg));
    k->rcv_buf = ufrpc_mem_calloc(mem, cfg->rcv_wnd, sizeof(struct seg));
    k->rcv_have = ufrpc_mem_calloc(mem, cfg->rcv_wnd, 1);
    k->acks = ufrpc_mem_calloc(mem, k->acks_cap, sizeof(struct ack));
    k->buf = ufrpc_mem_malloc(mem, (size_t)cfg->headroom + cfg->mtu);
    if (!k->snd_queue.v || !k->snd_buf.v || !k->rcv_queue.v || !k->rcv_buf || !k->rcv_have ||
        !k->acks || !k->buf) {
        ufrpc_kcp_free(k);
        return UFRPC_ERR_NOMEM;
    }
    *out = k;
    return 0;
}

static void ring_free(const struct ufrpc_mem *mem, struct ring *r)
{
    if (!r->v)
        return;
    for (uint32_t i = 0; i < r->n; i++)
        ufrpc_mem_free(mem, ring_at(r, i)->data);
    ufrpc_mem_free(mem, r->v);
}

void ufrpc_kcp_free(ufrpc_kcp_t *k)
{
    if (!k)
        return;
    const struct ufrpc_mem *mem = k->mem;
    ring_free(mem, &k->snd_queue);
    ring_free(mem, &k->snd_buf);
    ring_free(mem, &k->rcv_queue);
    if (k->rcv_buf && k->rcv_have)
        for (uint32_t i = 0; i < k->cfg.rcv_wnd; i++)
            if (k->rcv_have[i])
                ufrpc_mem_free(mem, k->rcv_buf[i].data);
    ufrpc_mem_free(mem, k->rcv_buf);
    ufrpc_mem_free(mem, k->rcv_have);
    ufrpc_mem_free(mem, k->acks);
    ufrpc_mem_free(mem, k->buf);
    ufrpc_mem_free(mem, k);
}

uint32_t ufrpc_kcp_mss(const ufrpc_kcp_t *k)
{
    return k->mss;
}

uint32_t ufrpc_kcp_waitsnd(const ufrpc_kcp_t *k)
{
    return k->snd_queue.n + k->snd_buf.n;
}

bool ufrpc_kcp_writable(const ufrpc_kcp_t *k)
{
    uint32_t w = ufrpc_kcp_waitsnd(k);
    return w < k->cfg.snd_wnd && w < k->rmt_wnd;
}

int ufrpc_kcp_send(ufrpc_kcp_t *k, const uint8_t *data, size_t len, size_t *accepted)
{
    size_t done = 0;
    /* stream mode: fill the last queued segment first */
    if (len > 0 && k->snd_queue.n > 0) {
        struct seg *last = ring_at(&k->snd_queue, k->snd_queue.n - 1);
        size_t room = k->mss - last->len;
        size_t n = len < room ? len : room;
        memcpy(last->data + last->len, data, n);
        last->len = (uint16_t)(last->len + n);
        done = n;
    }
    /* up to snd_wnd segments queued behind the snd_wnd in flight, so that the flush an
     * ack triggers has new segments to send at once (kcp-go takes whole writes) */
    while (done < len && k->snd_queue.n < k->snd_queue.cap) {
        size_t n = len - done < k->mss ? len - done : k->mss;
        uint8_t *d = ufrpc_mem_malloc(k->mem, k->mss);
        if (!d) {
            *accepted = done;
            return UFRPC_ERR_NOMEM;
        }
        memcpy(d, data + done, n);
        struct seg *s = ring_push(&k->snd_queue);
        memset(s, 0, sizeof *s);
        s->data = d;
        s->len = (uint16_t)n;
        done += n;
    }
    *accepted = done;
    return 0;
}

size_t ufrpc_kcp_readable(const ufrpc_kcp_t *k)
{
    return k->rcv_bytes;
}

static uint16_t wnd_unused(const ufrpc_kcp_t *k)
{
    return k->rcv_queue.n < k->cfg.rcv_wnd ? (uint16_t)(k->cfg.rcv_wnd - k->rcv_queue.n) : 0;
}

/* moves in-order segments from rcv_buf to rcv_queue while there is room */
static void rcv_advance(ufrpc_kcp_t *k)
{
    uint32_t w = k->cfg.rcv_wnd;
    while (k->rcv_queue.n < w && k->rcv_have[k->rcv_nxt % w]) {
        uint32_t slot = k->rcv_nxt % w;
        struct seg *q = ring_push(&k->rcv_queue);
        *q = k->rcv_buf[slot];
        k->rcv_bytes += q->len;
        k->rcv_have[slot] = 0;
        k->rcv_nxt++;
    }
}

size_t ufrpc_kcp_recv(ufrpc_kcp_t *k, uint8_t *buf, size_t cap)
{
    bool was_full = k->rcv_queue.n >= k->cfg.rcv_wnd;
    size_t done = 0;
    while (done < cap && k->rcv_queue.n > 0) {
        struct seg *s = ring_at(&k->rcv_queue, 0);
        size_t n = s->len - k->rcv_off;
        if (n > cap - done)
            n = cap - done;
        memcpy(buf + done, s->data + k->rcv_off, n);
        done += n;
        k->rcv_off += n;
        if (k->rcv_off == s->len) {
            ufrpc_mem_free(k->mem, s->data);
            ring_pop(&k->rcv_queue);
            k->rcv_off = 0;
        }
    }
    k->rcv_bytes -= done;
    rcv_advance(k);
    if (was_full && k->rcv_queue.n < k->cfg.rcv_wnd)
        k->probe |= ASK_TELL; /* tell the peer the window opened */
    return done;
}

static void update_ack(ufrpc_kcp_t *k, int32_t rtt)
{
    if (k->rx_srtt == 0) {
        k->rx_srtt = rtt;
        k->rx_rttvar = rtt >> 1;
    } else {
        int32_t delta = rtt - k->rx_srtt;
        k->rx_srtt += delta >> 3;
        if (delta < 0)
            delta = -delta;
        if (rtt < k->rx_srtt - k->rx_rttvar)
            k->rx_rttvar += (delta - k->rx_rttvar) >> 5;
        else
            k->rx_rttvar += (delta - k->rx_rttvar) >> 2;
    }
    uint32_t var4 = (uint32_t)k->rx_rttvar << 2;
    uint32_t rto = (uint32_t)k->rx_srtt + (k->cfg.interval > var4 ? k->cfg.interval : var4);
    k->rx_rto = bound(k->rx_minrto, rto, RTO_MAX);
}

static void shrink_buf(ufrpc_kcp_t *k)
{
    k->snd_una = k->snd_buf.n ? ring_at(&k->snd_buf, 0)->sn : k->snd_nxt;
}

static void parse_ack(ufrpc_kcp_t *k, uint32_t sn)
{
    if (tdiff(sn, k->snd_una) < 0 || tdiff(sn, k->snd_nxt) >= 0 || k->snd_buf.n == 0)
        return;
    uint32_t i = sn - ring_at(&k->snd_buf, 0)->sn;
    if (i >= k->snd_buf.n)
        return;
    struct seg *s = ring_at(&k->snd_buf, i);
    if (!s->acked) {
        s->acked = 1;
        ufrpc_mem_free(k->mem, s->data);
        s->data = NULL;
    }
}

static void parse_fastack(ufrpc_kcp_t *k, uint32_t sn, uint32_t ts)
{
    if (tdiff(sn, k->snd_una) < 0 || tdiff(sn, k->snd_nxt) >= 0)
        return;
    for (uint32_t i = 0; i < k->snd_buf.n; i++) {
        struct seg *s = ring_at(&k->snd_buf, i);
        if (tdiff(sn, s->sn) < 0)
            break;
        if (sn != s->sn && tdiff(s->ts, ts) <= 0)
            s->fastack++;
    }
}

static int parse_una(ufrpc_kcp_t *k, uint32_t una)
{
    int count = 0;
    while (k->snd_buf.n > 0) {
        struct seg *s = ring_at(&k->snd_buf, 0);
        if (tdiff(una, s->sn) <= 0)
            break;
        ufrpc_mem_free(k->mem, s->data);
        s->data = NULL;
        ring_pop(&k->snd_buf);
        count++;
    }
    return count;
}

static void ack_push(ufrpc_kcp_t *k, uint32_t sn, uint32_t ts)
{
    if (k->nacks >= k->acks_cap) {
        k->st.acks_dropped++;
        return;
    }
    k->acks[k->nacks].sn = sn;
    k->acks[k->nacks].ts = ts;
    k->nacks++;
}

/* stores a pushed segment; false on allocation failure */
static bool parse_data(ufrpc_kcp_t *k, uint32_t sn, const uint8_t *data, uint32_t len)
{
    uint32_t w = k->cfg.rcv_wnd;
    if (tdiff(sn, k->rcv_nxt + w) >= 0 || tdiff(sn, k->rcv_nxt) < 0)
        return true;
    uint32_t slot = sn % w;
    if (k->rcv_have[slot]) {
        k->st.repeat_segs++;
    } else {
        uint8_t *d = ufrpc_mem_malloc(k->mem, len ? len : 1);
        if (!d)
            return false;
        memcpy(d, data, len);
        struct seg *s = &k->rcv_buf[slot];
        memset(s, 0, sizeof *s);
        s->sn = sn;
        s->len = (uint16_t)len;
        s->data = d;
        k->rcv_have[slot] = 1;
    }
    rcv_advance(k);
    return true;
}

int ufrpc_kcp_input(ufrpc_kcp_t *k, const uint8_t *data, size_t len, bool regular,
                    uint64_t now_ms)
{
    k->now = now_ms;
    uint32_t prev_una = k->snd_una;
    if (len < UFRPC_KCP_OVERHEAD) {
        k->st.in_errors++;
        return UFRPC_ERR_KCP_PACKET;
    }
    uint32_t latest = 0;
    bool got_ack = false, slides = false;
    int rc = 0;
    while (len >= UFRPC_KCP_OVERHEAD) {
        uint32_t conv = ufrpc_get_le32(data);
        if (conv != k->cfg.conv) {
            rc = UFRPC_ERR_KCP_CONV;
            break;
        }
        uint8_t cmd = data[4];
        uint16_t wnd = ufrpc_get_le16(data + 6);
        uint32_t ts = ufrpc_get_le32(data + 8);
        uint32_t sn = ufrpc_get_le32(data + 12);
        uint32_t una = ufrpc_get_le32(data + 16);
        uint32_t slen = ufrpc_get_le32(data + 20);
        data += UFRPC_KCP_OVERHEAD;
        len -= UFRPC_KCP_OVERHEAD;
        if (slen > len || slen > UFRPC_KCP_MTU_LIMIT || cmd < UFRPC_KCP_CMD_PUSH ||
            cmd > UFRPC_KCP_CMD_WINS) {
            rc = UFRPC_ERR_KCP_PACKET;
            break;
        }
        k->last_input = now_ms;
        if (regular)
            k->rmt_wnd = wnd;
        if (parse_una(k, una) > 0)
            slides = true;
        shrink_buf(k);
        if (cmd == UFRPC_KCP_CMD_ACK) {
            parse_ack(k, sn);
            parse_fastack(k, sn, ts);
            got_ack = true;
            latest = ts;
        } else if (cmd == UFRPC_KCP_CMD_PUSH) {
            if (tdiff(sn, k->rcv_nxt + k->cfg.rcv_wnd) < 0) {
                ack_push(k, sn, ts);
                if (tdiff(sn, k->rcv_nxt) >= 0) {
                    if (!parse_data(k, sn, data, slen)) {
                        rc = UFRPC_ERR_NOMEM;
                        break;
                    }
                } else {
                    k->st.repeat_segs++;
                }
            }
        } else if (cmd == UFRPC_KCP_CMD_WASK) {
            k->probe |= ASK_TELL;
        }
        k->st.in_segs++;
        data += slen;
        len -= slen;
    }
    if (rc == UFRPC_ERR_KCP_PACKET || rc == UFRPC_ERR_KCP_CONV)
        k->st.in_errors++;

    if (got_ack && regular) {
        int32_t rtt = tdiff((uint32_t)now_ms, latest);
        if (rtt >= 0)
            update_ack(k, rtt);
    }
    if (!k->cfg.nocwnd && tdiff(k->snd_una, prev_una) > 0 && k->cwnd < k->rmt_wnd) {
        uint32_t mss = k->mss;
        if (k->cwnd < k->ssthresh) {
            k->cwnd++;
            k->incr += mss;
        } else {
            if (k->incr < mss)
                k->incr = mss;
            k->incr += (mss * mss) / k->incr + (mss / 16);
            if ((k->cwnd + 1) * mss <= k->incr)
                k->cwnd = (k->incr + mss - 1) / mss;
        }
        if (k->cwnd > k->rmt_wnd) {
            k->cwnd = k->rmt_wnd;
            k->incr = k->rmt_wnd * mss;
        }
    }
    if (slides)
        ufrpc_kcp_flush(k, now_ms);
    return rc;
}

/* ---- output ------------------------------------------------------------------- */

static void out_flush(ufrpc_kcp_t *k)
{
    if (k->blen > 0) {
        k->st.out_pkts++;
        k->output(k->buf, k->cfg.headroom + k->blen, k->ud);
        k->blen = 0;
    }
}

static void out_space(ufrpc_kcp_t *k, size_t need)
{
    if (k->blen + need > k->cfg.mtu)
        out_flush(k);
}

static void out_seg(ufrpc_kcp_t *k, uint8_t cmd, uint16_t wnd, uint32_t ts, uint32_t sn,
                    uint32_t una, const uint8_t *data, uint32_t len)
{
    out_space(k, UFRPC_KCP_OVERHEAD + (size_t)len);
    uint8_t *p = k->buf + k->cfg.headroom + k->blen;
    ufrpc_put_le32(p, k->cfg.conv);
    p[4] = cmd;
    p[5] = 0; /* frg: stream mode */
    ufrpc_put_le16(p + 6, wnd);
    ufrpc_put_le32(p + 8, ts);
    ufrpc_put_le32(p + 12, sn);
    ufrpc_put_le32(p + 16, una);
    ufrpc_put_le32(p + 20, len);
    if (len)
        memcpy(p + UFRPC_KCP_OVERHEAD, data, len);
    k->blen += UFRPC_KCP_OVERHEAD + (size_t)len;
    k->st.out_segs++;
}

void ufrpc_kcp_flush(ufrpc_kcp_t *k, uint64_t now_ms)
{
    k->now = now_ms;
    uint32_t current = (uint32_t)now_ms;
    uint16_t wnd = wnd_unused(k);
    uint32_t una = k->rcv_nxt;

    for (uint32_t i = 0; i < k->nacks; i++) {
        /* acks below rcv_nxt are covered by una, except the last one */
        if (tdiff(k->acks[i].sn, k->rcv_nxt) >= 0 || i == k->nacks - 1)
            out_seg(k, UFRPC_KCP_CMD_ACK, wnd, k->acks[i].ts, k->acks[i].sn, una, NULL, 0);
    }
    k->nacks = 0;

    if (k->rmt_wnd == 0) {
        if (k->probe_wait == 0) {
            k->probe_wait = PROBE_INIT;
            k->ts_probe = current + k->probe_wait;
        } else if (tdiff(current, k->ts_probe) >= 0) {
            if (k->probe_wait < PROBE_INIT)
                k->probe_wait = PROBE_INIT;
            k->probe_wait += k->probe_wait / 2;
            if (k->probe_wait > PROBE_LIMIT)
                k->probe_wait = PROBE_LIMIT;
            k->ts_probe = current + k->probe_wait;
            k->probe |= ASK_SEND;
        }
    } else {
        k->ts_probe = 0;
        k->probe_wait = 0;
    }
    if (k->probe & ASK_SEND)
        out_seg(k, UFRPC_KCP_CMD_WASK, wnd, 0, 0, una, NULL, 0);
    if (k->probe & ASK_TELL)
        out_seg(k, UFRPC_KCP_CMD_WINS, wnd, 0, 0, una, NULL, 0);
    k->probe = 0;

    uint32_t cwnd = k->cfg.snd_wnd < k->rmt_wnd ? k->cfg.snd_wnd : k->rmt_wnd;
    if (!k->cfg.nocwnd && k->cwnd < cwnd)
        cwnd = k->cwnd;
    uint32_t new_segs = 0;
    while (k->snd_queue.n > 0 && tdiff(k->snd_nxt, k->snd_una + cwnd) < 0 &&
           k->snd_buf.n < k->snd_buf.cap) {
        struct seg *q = ring_at(&k->snd_queue, 0);
        struct seg *s = ring_push(&k->snd_buf);
        *s = *q;
        s->sn = k->snd_nxt++;
        ring_pop(&k->snd_queue);
        new_segs++;
    }

    uint32_t resent = k->cfg.fastresend > 0 ? k->cfg.fastresend : 0xffffffffu;
    uint64_t change = 0, lost = 0;
    for (uint32_t i = 0; i < k->snd_buf.n; i++) {
        struct seg *s = ring_at(&k->snd_buf, i);
        bool send = false;
        if (s->acked)
            continue;
        if (s->xmit == 0) {
            send = true;
            s->rto = k->rx_rto;
            s->resendts = current + s->rto;
        } else if (s->fastack >= resent) {
            send = true;
            s->fastack = 0;
            s->rto = k->rx_rto;
            s->resendts = current + s->rto;
            change++;
            k->st.fast_retrans++;
        } else if (s->fastack > 0 && new_segs == 0) {
            send = true;
            s->fastack = 0;
            s->rto = k->rx_rto;
            s->resendts = current + s->rto;
            change++;
            k->st.early_retrans++;
        } else if (tdiff(current, s->resendts) >= 0) {
            send = true;
            s->rto += k->cfg.nodelay ? k->rx_rto / 2 : k->rx_rto;
            s->fastack = 0;
            s->resendts = current + s->rto;
            lost++;
            k->st.lost_segs++;
        }
        if (send) {
            s->xmit++;
            s->ts = current;
            out_seg(k, UFRPC_KCP_CMD_PUSH, wnd, s->ts, s->sn, una, s->data, s->len);
        }
    }
    out_flush(k);

    if (!k->cfg.nocwnd) {
        if (change > 0) {
            uint32_t inflight = k->snd_nxt - k->snd_una;
            k->ssthresh = inflight / 2;
            if (k->ssthresh < THRESH_MIN)
                k->ssthresh = THRESH_MIN;
            k->cwnd = k->ssthresh + resent;
            k->incr = k->cwnd * k->mss;
        }
        if (lost > 0) {
            k->ssthresh = cwnd / 2;
            if (k->ssthresh < THRESH_MIN)
                k->ssthresh = THRESH_MIN;
            k->cwnd = 1;
            k->incr = k->mss;
        }
        if (k->cwnd < 1) {
            k->cwnd = 1;
            k->incr = k->mss;
        }
    }
}

void ufrpc_kcp_update(ufrpc_kcp_t *k, uint64_t now_ms)
{
    if (!k->updated) {
        k->updated = 1;
        k->next_flush = now_ms;
    }
    if (now_ms >= k->next_flush) {
        k->next_flush += k->cfg.interval;
        if (now_ms >= k->next_flush)
            k->next_flush = now_ms + k->cfg.interval;
        ufrpc_kcp_flush(k, now_ms);
    }
}

uint64_t ufrpc_kcp_next_ms(const ufrpc_kcp_t *k, uint64_t now_ms)
{
    bool pending = k->nacks > 0 || k->probe != 0 || k->snd_queue.n > 0 || k->snd_buf.n > 0 ||
                   k->rmt_wnd == 0;
    if (!pending)
        return UINT64_MAX;
    if (!k->updated || k->next_flush <= now_ms)
        return now_ms;
    return k->next_flush;
}

bool ufrpc_kcp_dead(const ufrpc_kcp_t *k, uint64_t now_ms, uint64_t idle_ms)
{
    if (now_ms - k->last_input < idle_ms)
        return false;
    for (uint32_t i = 0; i < k->snd_buf.n; i++) {
        const struct seg *s = &k->snd_buf.v[(k->snd_buf.head + i) % k->snd_buf.cap];
        if (!s->acked && s->xmit >= k->cfg.dead_link)
            return true;
    }
    return false;
}

void ufrpc_kcp_get_stats(const ufrpc_kcp_t *k, struct ufrpc_kcp_stats *st)
{
    *st = k->st;
    st->srtt_ms = (uint32_t)(k->rx_srtt < 0 ? 0 : k->rx_srtt);
    st->rto_ms = k->rx_rto;
}
