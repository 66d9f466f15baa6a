/* KCP, kcp-go's FEC and the Reed-Solomon code: recovery of every erasure pattern,
 * two endpoints moving a byte stream through a lossy, duplicating and reordering
 * in-memory link, and garbage that must give errors, not crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/kcp.h"
#include "proto/kcp_fec.h"
#include "proto/rs.h"
#include "failmem.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* ---- GF(2^8) by shift-and-add, independent of proto/rs.c's tables ------------ */
static uint8_t slow_mul(uint8_t a, uint8_t b)
{
    unsigned r = 0, x = a;
    while (b) {
        if (b & 1)
            r ^= x;
        x <<= 1;
        if (x & 0x100)
            x ^= 0x11d;
        b >>= 1;
    }
    return (uint8_t)r;
}

static uint8_t slow_pow(uint8_t a, unsigned n)
{
    uint8_t r = 1;
    while (n--)
        r = slow_mul(r, a);
    return r;
}

/* E = V * inv(Vtop) means E * Vtop = V: check it for every parity row. */
static void test_rs_matrix_is_systematic_vandermonde(void **state)
{
    (void)state;
    struct ufrpc_rs rs;
    assert_int_equal(ufrpc_rs_init(&rs, 10, 3), 0);
    for (unsigned r = 0; r < 13; r++) {
        for (unsigned c = 0; c < 10; c++) {
            uint8_t acc = 0;
            for (unsigned k = 0; k < 10; k++)
                acc ^= slow_mul(ufrpc_rs_matrix_at(&rs, r, k), slow_pow((uint8_t)k, c));
            assert_int_equal(acc, slow_pow((uint8_t)r, c));
        }
    }
    assert_int_equal(ufrpc_rs_init(&rs, 0, 3), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_rs_init(&rs, 10, 0), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_rs_init(&rs, UFRPC_RS_MAX_DATA + 1, 1), UFRPC_ERR_INVAL);
}

#define SL 97
static void test_rs_every_erasure_pattern(void **state)
{
    (void)state;
    struct ufrpc_rs rs;
    assert_int_equal(ufrpc_rs_init(&rs, 10, 3), 0);
    uint8_t orig[13][SL], work[13][SL];
    uint8_t *sh[13];
    for (unsigned i = 0; i < 10; i++)
        for (unsigned j = 0; j < SL; j++)
            orig[i][j] = (uint8_t)rnd();
    for (unsigned i = 0; i < 13; i++)
        sh[i] = orig[i];
    ufrpc_rs_encode(&rs, sh, SL);
    /* parity is the matrix times the data, checked byte by byte the slow way */
    for (unsigned p = 0; p < 3; p++)
        for (unsigned j = 0; j < SL; j++) {
            uint8_t acc = 0;
            for (unsigned d = 0; d < 10; d++)
                acc ^= slow_mul(ufrpc_rs_matrix_at(&rs, 10 + p, d), orig[d][j]);
            assert_int_equal(acc, orig[10 + p][j]);
        }
    unsigned patterns = 0;
    for (unsigned mask = 0; mask < (1u << 13); mask++) {
        unsigned lost = (unsigned)__builtin_popcount(mask);
        if (lost > 3)
            continue;
        bool present[13];
        for (unsigned i = 0; i < 13; i++) {
            present[i] = !(mask & (1u << i));
            memcpy(work[i], present[i] ? orig[i] : (const uint8_t *)"", present[i] ? SL : 0);
            if (!present[i])
                memset(work[i], 0xa5, SL);
            sh[i] = work[i];
        }
        assert_int_equal(ufrpc_rs_reconstruct_data(&rs, sh, present, SL), 0);
        for (unsigned i = 0; i < 10; i++)
            assert_memory_equal(work[i], orig[i], SL);
        patterns++;
    }
    assert_int_equal(patterns, 1 + 13 + 78 + 286);
    /* four lost: not enough */
    bool present[13];
    for (unsigned i = 0; i < 13; i++)
        present[i] = i >= 4;
    assert_int_equal(ufrpc_rs_reconstruct_data(&rs, sh, present, SL), UFRPC_ERR_KCP_FEC);
}

/* ---- FEC ------------------------------------------------------------------------ */

/* builds a data packet with 8 bytes of headroom and n KCP-ish bytes tagged i */
static size_t make_pkt(uint8_t *p, unsigned i, size_t n)
{
    for (size_t j = 0; j < n; j++)
        p[8 + j] = (uint8_t)(i * 31 + j);
    return 8 + n;
}

static void test_fec_recovers_lost_data(void **state)
{
    (void)state;
    ufrpc_kcp_fec_enc_t *e;
    ufrpc_kcp_fec_dec_t *d;
    assert_int_equal(ufrpc_kcp_fec_enc_new(NULL, 10, 3, &e), 0);
    assert_int_equal(ufrpc_kcp_fec_dec_new(NULL, 10, 3, &d), 0);
    for (unsigned round = 0; round < 40; round++) {
        uint8_t pkts[13][1500];
        size_t lens[13];
        const uint8_t *par[3];
        size_t plen[3];
        int np = 0;
        for (unsigned i = 0; i < 10; i++) {
            lens[i] = make_pkt(pkts[i], round * 10 + i, 1 + rnd() % 1300);
            np = ufrpc_kcp_fec_encode(e, pkts[i], lens[i], round * 100 + i, par, plen);
            assert_int_equal(np, i == 9 ? 3 : 0);
            assert_int_equal(ufrpc_get_le32(pkts[i]), round * 13 + i);
            assert_int_equal(ufrpc_get_le16(pkts[i] + 4), 0xf1);
            assert_int_equal(ufrpc_get_le16(pkts[i] + 6), lens[i] - 6);
        }
        for (unsigned p = 0; p < 3; p++) {
            memcpy(pkts[10 + p], par[p], plen[p]);
            lens[10 + p] = plen[p];
            assert_int_equal(ufrpc_get_le32(pkts[10 + p]), round * 13 + 10 + p);
            assert_int_equal(ufrpc_get_le16(pkts[10 + p] + 4), 0xf2);
        }
        /* lose up to 3 random packets, deliver the rest in a shuffled order */
        unsigned order[13];
        for (unsigned i = 0; i < 13; i++)
            order[i] = i;
        for (unsigned i = 12; i > 0; i--) {
            unsigned j = rnd() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        unsigned lost = round % 4;
        bool got[10] = {false};
        for (unsigned k = lost; k < 13; k++) {
            unsigned i = order[k];
            struct ufrpc_kcp_fec_out out;
            assert_int_equal(ufrpc_kcp_fec_input(d, pkts[i], lens[i], &out), 0);
            if (i < 10) {
                assert_ptr_equal(out.kcp, pkts[i] + 8);
                assert_int_equal(out.kcp_len, lens[i] - 8);
                got[i] = true;
            } else {
                assert_null(out.kcp);
            }
            for (unsigned r = 0; r < out.nrecovered; r++) {
                /* find which one: compare against the lost packets */
                bool match = false;
                for (unsigned m = 0; m < 10; m++) {
                    if (!got[m] && out.recovered_len[r] == lens[m] - 8 &&
                        memcmp(out.recovered[r], pkts[m] + 8, lens[m] - 8) == 0) {
                        got[m] = true;
                        match = true;
                        break;
                    }
                }
                assert_true(match);
            }
        }
        for (unsigned i = 0; i < 10; i++)
            assert_true(got[i]);
    }
    uint64_t rec, bad;
    ufrpc_kcp_fec_dec_stats(d, &rec, &bad);
    assert_true(rec > 0);
    assert_int_equal(bad, 0);
    ufrpc_kcp_fec_enc_free(e);
    ufrpc_kcp_fec_dec_free(d);
}

/* A group whose 10th data packet comes > 500 ms after the 9th gets no parity,
 * and the next group still starts on a multiple of 13. */
static void test_fec_gap_skips_parity(void **state)
{
    (void)state;
    ufrpc_kcp_fec_enc_t *e;
    assert_int_equal(ufrpc_kcp_fec_enc_new(NULL, 10, 3, &e), 0);
    uint8_t p[100];
    const uint8_t *par[3];
    size_t plen[3];
    for (unsigned i = 0; i < 9; i++)
        assert_int_equal(ufrpc_kcp_fec_encode(e, p, make_pkt(p, i, 20), 1000, par, plen), 0);
    assert_int_equal(ufrpc_kcp_fec_encode(e, p, make_pkt(p, 9, 20), 1501, par, plen), 0);
    assert_int_equal(ufrpc_kcp_fec_encode(e, p, make_pkt(p, 10, 20), 1502, par, plen), 0);
    assert_int_equal(ufrpc_get_le32(p), 13);
    assert_int_equal(ufrpc_kcp_fec_encode(e, p, 8, 1502, par, plen), UFRPC_ERR_INVAL);
    ufrpc_kcp_fec_enc_free(e);
}

static void test_fec_garbage(void **state)
{
    (void)state;
    ufrpc_kcp_fec_dec_t *d;
    assert_int_equal(ufrpc_kcp_fec_dec_new(NULL, 10, 3, &d), 0);
    struct ufrpc_kcp_fec_out out;
    uint8_t b[1600];
    memset(b, 0, sizeof b);
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 7, &out), UFRPC_ERR_KCP_PACKET);
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 1501, &out), UFRPC_ERR_KCP_PACKET);
    /* no FEC type: passed on whole as plain KCP */
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 30, &out), 0);
    assert_int_equal(out.kcp_len, 30);
    /* a data packet in a parity slot, parity in a data slot: passed / ignored */
    ufrpc_put_le32(b, 11);
    ufrpc_put_le16(b + 4, 0xf1);
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 40, &out), 0);
    assert_int_equal(out.kcp_len, 32);
    ufrpc_put_le32(b, 2);
    ufrpc_put_le16(b + 4, 0xf2);
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 40, &out), 0);
    assert_null(out.kcp);
    /* shards that do not add up: 9 data shards and a random parity rebuild a
     * shard whose size field lies; an error, counted, and nothing delivered */
    unsigned errors = 0;
    for (unsigned round = 0; round < 50; round++) {
        uint32_t base = 13 * (100 + round);
        for (unsigned i = 0; i < 13; i++) {
            if (i == 3 || i == 11 || i == 12)
                continue;
            for (size_t j = 0; j < 60; j++)
                b[j] = (uint8_t)rnd();
            ufrpc_put_le32(b, base + i);
            ufrpc_put_le16(b + 4, i < 10 ? 0xf1 : 0xf2);
            if (i < 10)
                ufrpc_put_le16(b + 6, 54);
            int rc = ufrpc_kcp_fec_input(d, b, 60, &out);
            assert_true(rc == 0 || rc == UFRPC_ERR_KCP_FEC);
            if (rc == UFRPC_ERR_KCP_FEC) {
                errors++;
                assert_int_equal(out.nrecovered, 0);
                assert_int_equal(out.bad_shards, 1);
            }
            for (unsigned r = 0; r < out.nrecovered; r++)
                assert_true(out.recovered_len[r] <= 52);
        }
    }
    assert_true(errors > 30); /* a random size field fits 2..54 rarely */
    /* old groups, duplicates: ignored */
    ufrpc_put_le32(b, 0);
    ufrpc_put_le16(b + 4, 0xf1);
    assert_int_equal(ufrpc_kcp_fec_input(d, b, 40, &out), 0);
    assert_int_equal(out.nrecovered, 0);
    ufrpc_kcp_fec_dec_free(d);
}

/* ---- KCP between two endpoints ------------------------------------------------ */

#define MAXQ 8192
struct wire_pkt {
    uint64_t at;
    size_t len;
    uint8_t b[1500];
};

struct link {
    unsigned loss_pct, dup_pct, reorder_pct;
    struct wire_pkt *q;
    unsigned n;
};

struct end {
    ufrpc_kcp_t *k;
    ufrpc_kcp_fec_enc_t *enc;
    ufrpc_kcp_fec_dec_t *dec;
    struct link *out; /* toward the peer */
    uint64_t now;
    uint8_t *src;
    size_t src_len, sent;
    uint8_t *dst;
    size_t got, dst_cap;
};

static void link_put(struct link *l, const uint8_t *p, size_t len, uint64_t now)
{
    if (rnd() % 100 < l->loss_pct)
        return;
    unsigned copies = rnd() % 100 < l->dup_pct ? 2 : 1;
    for (unsigned c = 0; c < copies && l->n < MAXQ; c++) {
        struct wire_pkt *w = &l->q[l->n++];
        w->at = now + 5 + (rnd() % 100 < l->reorder_pct ? rnd() % 40 : 0);
        w->len = len;
        memcpy(w->b, p, len);
    }
}

static void on_output(uint8_t *pkt, size_t len, void *ud)
{
    struct end *e = ud;
    const uint8_t *par[3];
    size_t plen[3];
    int np = ufrpc_kcp_fec_encode(e->enc, pkt, len, e->now, par, plen);
    assert_true(np >= 0);
    link_put(e->out, pkt, len, e->now);
    for (int i = 0; i < np; i++)
        link_put(e->out, par[i], plen[i], e->now);
}

static void deliver(struct end *e, const uint8_t *p, size_t len)
{
    struct ufrpc_kcp_fec_out out;
    int rc = ufrpc_kcp_fec_input(e->dec, p, len, &out);
    assert_true(rc == 0);
    if (out.kcp)
        assert_int_equal(ufrpc_kcp_input(e->k, out.kcp, out.kcp_len, true, e->now), 0);
    for (unsigned r = 0; r < out.nrecovered; r++)
        assert_int_equal(
            ufrpc_kcp_input(e->k, out.recovered[r], out.recovered_len[r], false, e->now), 0);
}

static void pump(struct end *e)
{
    while (e->sent < e->src_len && ufrpc_kcp_writable(e->k)) {
        size_t n = e->src_len - e->sent, acc = 0;
        if (n > 3000)
            n = 3000;
        assert_int_equal(ufrpc_kcp_send(e->k, e->src + e->sent, n, &acc), 0);
        if (acc == 0)
            break;
        e->sent += acc;
    }
    /* a slow reader: 40 KiB per turn at most */
    size_t cap = e->dst_cap - e->got < 40000 ? e->dst_cap - e->got : 40000;
    size_t n = ufrpc_kcp_recv(e->k, e->dst + e->got, cap);
    e->got += n;
}

static void init_end(struct end *e, const struct ufrpc_kcp_config *cfg, struct link *out,
                     size_t n)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ufrpc_kcp_new(NULL, cfg, on_output, e, &e->k), 0);
    assert_int_equal(ufrpc_kcp_fec_enc_new(NULL, 10, 3, &e->enc), 0);
    assert_int_equal(ufrpc_kcp_fec_dec_new(NULL, 10, 3, &e->dec), 0);
    e->out = out;
    e->src = malloc(n);
    e->dst = malloc(1000000);
    e->dst_cap = 1000000;
    assert_non_null(e->src);
    assert_non_null(e->dst);
    for (size_t i = 0; i < n; i++)
        e->src[i] = (uint8_t)rnd();
    e->src_len = n;
}

static void free_end(struct end *e)
{
    ufrpc_kcp_free(e->k);
    ufrpc_kcp_fec_enc_free(e->enc);
    ufrpc_kcp_fec_dec_free(e->dec);
    free(e->src);
    free(e->dst);
}

/* takes every packet due at now from l into e */
static void arrive(struct link *l, struct end *e, uint64_t now)
{
    unsigned k = 0;
    for (unsigned i = 0; i < l->n; i++) {
        if (l->q[i].at <= now)
            deliver(e, l->q[i].b, l->q[i].len);
        else
            l->q[k++] = l->q[i];
    }
    l->n = k;
}

static uint64_t run_pair(unsigned loss, unsigned dup, unsigned reorder, size_t bytes,
                         struct ufrpc_kcp_stats *sa)
{
    struct link ab = {loss, dup, reorder, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    struct link ba = {loss, dup, reorder, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    assert_non_null(ab.q);
    assert_non_null(ba.q);
    struct ufrpc_kcp_config ca, cb;
    ufrpc_kcp_config_frpc(&ca);
    ca.conv = 0x12345678;
    ca.headroom = 8;
    cb = ca;
    cb.snd_wnd = 1024; /* frps's listener */
    cb.rcv_wnd = 1024;
    struct end a, b;
    init_end(&a, &ca, &ab, bytes);
    init_end(&b, &cb, &ba, bytes / 2);
    uint64_t now = 1000;
    unsigned steps = 0;
    while ((a.got < b.src_len || b.got < a.src_len) && steps < 200000) {
        a.now = b.now = now;
        arrive(&ba, &a, now);
        arrive(&ab, &b, now);
        pump(&a);
        pump(&b);
        ufrpc_kcp_update(a.k, now);
        ufrpc_kcp_update(b.k, now);
        uint64_t next = ufrpc_kcp_next_ms(a.k, now);
        uint64_t nb = ufrpc_kcp_next_ms(b.k, now);
        if (nb < next)
            next = nb;
        for (unsigned i = 0; i < ab.n; i++)
            if (ab.q[i].at < next)
                next = ab.q[i].at;
        for (unsigned i = 0; i < ba.n; i++)
            if (ba.q[i].at < next)
                next = ba.q[i].at;
        if (next == UINT64_MAX || next <= now)
            next = now + 1;
        now = next;
        steps++;
    }
    assert_int_equal(a.got, b.src_len);
    assert_int_equal(b.got, a.src_len);
    assert_memory_equal(a.dst, b.src, b.src_len);
    assert_memory_equal(b.dst, a.src, a.src_len);
    /* everything acknowledged: both go idle, no timer needed */
    for (unsigned i = 0; i < 2000 && (ufrpc_kcp_waitsnd(a.k) || ufrpc_kcp_waitsnd(b.k)); i++) {
        now += 10;
        a.now = b.now = now;
        arrive(&ba, &a, now);
        arrive(&ab, &b, now);
        ufrpc_kcp_update(a.k, now);
        ufrpc_kcp_update(b.k, now);
    }
    assert_int_equal(ufrpc_kcp_waitsnd(a.k), 0);
    assert_int_equal(ufrpc_kcp_waitsnd(b.k), 0);
    ufrpc_kcp_get_stats(a.k, sa);
    free_end(&a);
    free_end(&b);
    free(ab.q);
    free(ba.q);
    return now;
}

static void test_kcp_clean_link(void **state)
{
    (void)state;
    struct ufrpc_kcp_stats st;
    run_pair(0, 0, 0, 300000, &st);
    assert_int_equal(st.lost_segs, 0);
    assert_int_equal(st.in_errors, 0);
}

static void test_kcp_lossy_link(void **state)
{
    (void)state;
    struct ufrpc_kcp_stats st;
    run_pair(10, 5, 20, 400000, &st);
    assert_true(st.lost_segs + st.fast_retrans + st.early_retrans > 0);
}

static void test_kcp_very_lossy_link(void **state)
{
    (void)state;
    struct ufrpc_kcp_stats st;
    run_pair(30, 10, 50, 100000, &st);
}

/* Keep-alive request/response on one session, driven as net/kcp.c drives it: a
 * write only queues (kcp-go's write delay), the next update at ufrpc_kcp_next_ms
 * sends it, the peer answers as soon as the whole request is readable. With the
 * link's 5 ms one way and the 20 ms interval each exchange takes at most two
 * intervals and two trips; any delayed-ack, window or timer stall (a resend after
 * an RTO, a window probe, an update not asked for) shows as more virtual time. */
static void test_kcp_request_response_rounds(void **state)
{
    (void)state;
    enum { ROUNDS = 400, INTERVAL = 20, TRIP = 5 };
    struct link ab = {0, 0, 0, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    struct link ba = {0, 0, 0, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    assert_non_null(ab.q);
    assert_non_null(ba.q);
    struct ufrpc_kcp_config ca, cb;
    ufrpc_kcp_config_frpc(&ca);
    ca.conv = 0x5eed;
    ca.headroom = 8;
    cb = ca;
    cb.snd_wnd = 1024;
    cb.rcv_wnd = 1024;
    struct end a, b;
    init_end(&a, &ca, &ab, 8000);
    init_end(&b, &cb, &ba, 8000);
    uint64_t start = 1000, now = start;
    unsigned rounds = 0, updates = 0;
    size_t want = 0; /* bytes of the exchange in flight: request, then response */
    int phase = 0;   /* 0: a sends a request, 1: b waits for it, 2: a waits for the answer */
    while (rounds < ROUNDS && now - start < 600000) {
        a.now = b.now = now;
        arrive(&ba, &a, now);
        arrive(&ab, &b, now);
        size_t acc = 0;
        if (phase == 0) {
            want = 40 + rnd() % 3000; /* one to three segments */
            assert_int_equal(ufrpc_kcp_send(a.k, a.src, want, &acc), 0);
            assert_int_equal(acc, want);
            b.got = 0;
            phase = 1;
        }
        if (phase == 1) {
            b.got += ufrpc_kcp_recv(b.k, b.dst + b.got, b.dst_cap - b.got);
            if (b.got == want) {
                assert_memory_equal(b.dst, a.src, want);
                want = 20 + rnd() % 4000;
                assert_int_equal(ufrpc_kcp_send(b.k, b.src, want, &acc), 0);
                assert_int_equal(acc, want);
                a.got = 0;
                phase = 2;
            }
        }
        if (phase == 2) {
            a.got += ufrpc_kcp_recv(a.k, a.dst + a.got, a.dst_cap - a.got);
            if (a.got == want) {
                assert_memory_equal(a.dst, b.src, want);
                rounds++;
                phase = 0;
                continue; /* the next request goes out at this same time */
            }
        }
        uint64_t next = UINT64_MAX;
        uint64_t na = ufrpc_kcp_next_ms(a.k, now), nb = ufrpc_kcp_next_ms(b.k, now);
        if (na <= now || nb <= now) {
            ufrpc_kcp_update(a.k, now);
            ufrpc_kcp_update(b.k, now);
            updates++;
            na = ufrpc_kcp_next_ms(a.k, now);
            nb = ufrpc_kcp_next_ms(b.k, now);
        }
        next = na < nb ? na : nb;
        for (unsigned i = 0; i < ab.n; i++)
            if (ab.q[i].at < next)
                next = ab.q[i].at;
        for (unsigned i = 0; i < ba.n; i++)
            if (ba.q[i].at < next)
                next = ba.q[i].at;
        /* something must be pending while an exchange is open: nothing would ever
         * move it otherwise (a session that needs no timer while data waits) */
        assert_true(next != UINT64_MAX);
        now = next > now ? next : now + 1;
    }
    assert_int_equal(rounds, ROUNDS);
    uint64_t per_round = (now - start) / ROUNDS;
    assert_true(per_round <= 2 * (INTERVAL + TRIP));
    assert_true(updates <= 3 * ROUNDS); /* about one flush per direction: no busy timer */
    struct ufrpc_kcp_stats sa, sb;
    ufrpc_kcp_get_stats(a.k, &sa);
    ufrpc_kcp_get_stats(b.k, &sb);
    assert_int_equal(sa.lost_segs + sb.lost_segs, 0); /* no RTO fired: acks came in time */
    assert_int_equal(sa.fast_retrans + sb.fast_retrans, 0);
    free_end(&a);
    free_end(&b);
    free(ab.q);
    free(ba.q);
}

static void out_capture(uint8_t *pkt, size_t len, void *ud)
{
    size_t *n = ud;
    (void)pkt;
    *n += len;
}

static void test_kcp_garbage(void **state)
{
    (void)state;
    struct ufrpc_kcp_config c;
    ufrpc_kcp_config_frpc(&c);
    c.conv = 7;
    size_t outn = 0;
    ufrpc_kcp_t *k;
    assert_int_equal(ufrpc_kcp_new(NULL, &c, out_capture, &outn, &k), 0);
    uint8_t b[200];
    memset(b, 0, sizeof b);
    assert_int_equal(ufrpc_kcp_input(k, b, 10, true, 1), UFRPC_ERR_KCP_PACKET);
    assert_int_equal(ufrpc_kcp_input(k, b, 24, true, 1), UFRPC_ERR_KCP_CONV);
    ufrpc_put_le32(b, 7);
    b[4] = 99; /* unknown command */
    assert_int_equal(ufrpc_kcp_input(k, b, 24, true, 1), UFRPC_ERR_KCP_PACKET);
    b[4] = UFRPC_KCP_CMD_PUSH;
    ufrpc_put_le32(b + 20, 1000); /* longer than the packet */
    assert_int_equal(ufrpc_kcp_input(k, b, 60, true, 1), UFRPC_ERR_KCP_PACKET);
    /* random bytes with the right conv: never a crash, bounded state */
    for (unsigned i = 0; i < 20000; i++) {
        size_t n = 24 + rnd() % 170;
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)rnd();
        ufrpc_put_le32(b, 7);
        b[4] = (uint8_t)(81 + rnd() % 4);
        ufrpc_put_le32(b + 20, rnd() % (uint32_t)(n - 23));
        int rc = ufrpc_kcp_input(k, b, n, true, i);
        assert_true(rc == 0 || rc == UFRPC_ERR_KCP_PACKET || rc == UFRPC_ERR_KCP_CONV);
        ufrpc_kcp_update(k, i);
        uint8_t sink[4096];
        ufrpc_kcp_recv(k, sink, sizeof sink);
    }
    /* a valid push gets acknowledged at the next flush, not at once */
    ufrpc_kcp_free(k);
    assert_int_equal(ufrpc_kcp_new(NULL, &c, out_capture, &outn, &k), 0);
    memset(b, 0, sizeof b);
    ufrpc_put_le32(b, 7);
    b[4] = UFRPC_KCP_CMD_PUSH;
    ufrpc_put_le16(b + 6, 32);
    ufrpc_put_le32(b + 20, 5);
    memcpy(b + 24, "hello", 5);
    outn = 0;
    assert_int_equal(ufrpc_kcp_input(k, b, 29, true, 100), 0);
    assert_int_equal(outn, 0);
    assert_int_equal(ufrpc_kcp_readable(k), 5);
    assert_int_equal(ufrpc_kcp_next_ms(k, 100), 100);
    ufrpc_kcp_update(k, 100);
    assert_int_equal(outn, 24);
    assert_int_equal(ufrpc_kcp_next_ms(k, 100), UINT64_MAX);
    uint8_t r[8];
    assert_int_equal(ufrpc_kcp_recv(k, r, sizeof r), 5);
    assert_memory_equal(r, "hello", 5);
    ufrpc_kcp_free(k);
}

/* A receiver that never reads: the sender stops at the window, memory stays
 * bounded, and the window reopens once the receiver reads. */
static void test_kcp_window_backpressure(void **state)
{
    (void)state;
    struct link ab = {0, 0, 0, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    struct link ba = {0, 0, 0, calloc(MAXQ, sizeof(struct wire_pkt)), 0};
    struct ufrpc_kcp_config c;
    ufrpc_kcp_config_frpc(&c);
    c.headroom = 8;
    c.rcv_wnd = 32;
    struct end a, b;
    init_end(&a, &c, &ab, 900000);
    init_end(&b, &c, &ba, 10);
    uint64_t now = 0;
    for (unsigned i = 0; i < 3000; i++, now += 5) {
        a.now = b.now = now;
        arrive(&ba, &a, now);
        arrive(&ab, &b, now);
        pump(&a); /* b does not read */
        ufrpc_kcp_update(a.k, now);
        ufrpc_kcp_update(b.k, now);
    }
    assert_true(a.sent <= (size_t)(2 * c.snd_wnd + 2 * c.rcv_wnd) * ufrpc_kcp_mss(a.k));
    assert_true(ufrpc_kcp_readable(b.k) <= 32 * ufrpc_kcp_mss(b.k));
    assert_true(ufrpc_kcp_waitsnd(a.k) <= 2 * c.snd_wnd);
    size_t before = a.sent;
    for (unsigned i = 0; i < 20000 && b.got < a.src_len; i++, now += 5) {
        a.now = b.now = now;
        arrive(&ba, &a, now);
        arrive(&ab, &b, now);
        pump(&a);
        pump(&b);
        ufrpc_kcp_update(a.k, now);
        ufrpc_kcp_update(b.k, now);
    }
    assert_true(a.sent > before);
    assert_int_equal(b.got, a.src_len);
    assert_memory_equal(b.dst, a.src, a.src_len);
    free_end(&a);
    free_end(&b);
    free(ab.q);
    free(ba.q);
}

/* Every allocation of KCP and FEC objects failing in turn: an error, no leak. */
static void test_kcp_alloc_failures(void **state)
{
    (void)state;
    bool completed = false;
    for (long at = 1; at < 10000 && !completed; at++) {
        struct failmem f;
        failmem_init(&f, at);
        size_t outn = 0;
        struct ufrpc_kcp_config c;
        ufrpc_kcp_config_frpc(&c);
        c.conv = 9;
        ufrpc_kcp_t *k = NULL;
        ufrpc_kcp_fec_enc_t *e = NULL;
        ufrpc_kcp_fec_dec_t *d = NULL;
        int rc = ufrpc_kcp_new(&f.mem, &c, out_capture, &outn, &k);
        if (rc == 0)
            rc = ufrpc_kcp_fec_enc_new(&f.mem, 10, 3, &e);
        if (rc == 0)
            rc = ufrpc_kcp_fec_dec_new(&f.mem, 10, 3, &d);
        if (rc == 0) {
            uint8_t data[5000];
            memset(data, 'x', sizeof data);
            size_t acc = 0;
            rc = ufrpc_kcp_send(k, data, sizeof data, &acc);
            assert_true(rc == 0 || rc == UFRPC_ERR_NOMEM);
            ufrpc_kcp_flush(k, 10);
            uint8_t b[64];
            memset(b, 0, sizeof b);
            ufrpc_put_le32(b, 9);
            b[4] = UFRPC_KCP_CMD_PUSH;
            ufrpc_put_le16(b + 6, 32);
            ufrpc_put_le32(b + 20, 3);
            int rc2 = ufrpc_kcp_input(k, b, 27, true, 11);
            assert_true(rc2 == 0 || rc2 == UFRPC_ERR_NOMEM);
            uint8_t r[8];
            ufrpc_kcp_recv(k, r, sizeof r);
        } else {
            assert_int_equal(rc, UFRPC_ERR_NOMEM);
        }
        ufrpc_kcp_free(k);
        ufrpc_kcp_fec_enc_free(e);
        ufrpc_kcp_fec_dec_free(d);
        assert_int_equal(f.live, 0);
        completed = !f.failed;
    }
    assert_true(completed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs_matrix_is_systematic_vandermonde),
        cmocka_unit_test(test_rs_every_erasure_pattern),
        cmocka_unit_test(test_fec_recovers_lost_data),
        cmocka_unit_test(test_fec_gap_skips_parity),
        cmocka_unit_test(test_fec_garbage),
        cmocka_unit_test(test_kcp_clean_link),
        cmocka_unit_test(test_kcp_lossy_link),
        cmocka_unit_test(test_kcp_very_lossy_link),
        cmocka_unit_test(test_kcp_request_response_rounds),
        cmocka_unit_test(test_kcp_garbage),
        cmocka_unit_test(test_kcp_window_backpressure),
        cmocka_unit_test(test_kcp_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
