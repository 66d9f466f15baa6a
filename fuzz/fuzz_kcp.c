/* libFuzzer: kcp-go's FEC decoder and the KCP state machine (proto/kcp_fec.h,
 * proto/kcp.h). The first byte picks the mode:
 *   even: the rest is a run of packets, each a 2-byte little-endian length and
 *         its bytes, fed to the FEC decoder and what comes out to KCP (conv taken
 *         from the first 4 bytes, so segments get past the conv check), with
 *         updates and reads in between. Properties: errors are the documented
 *         ones, what is readable never exceeds the receive window, nothing waits
 *         beyond the send window, recovered shards lie inside the shard.
 *   odd:  the rest makes 10 data packets (lengths and contents) and an erasure
 *         mask; after encoding and dropping at most 3 of the 13 packets, the
 *         decoder must give back every dropped data packet byte for byte. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/kcp.h"
#include "proto/kcp_fec.h"

static void sink(uint8_t *pkt, size_t len, void *ud)
{
    (void)pkt;
    *(size_t *)ud += len;
}

static void run_packets(const uint8_t *in, size_t len)
{
    if (len < 4)
        return;
    struct ufrpc_kcp_config c;
    ufrpc_kcp_config_frpc(&c);
    c.conv = ufrpc_get_le32(in);
    c.rcv_wnd = 16;
    c.snd_wnd = 8;
    size_t out = 0;
    ufrpc_kcp_t *k;
    ufrpc_kcp_fec_dec_t *d;
    if (ufrpc_kcp_new(NULL, &c, sink, &out, &k) != 0)
        return;
    if (ufrpc_kcp_fec_dec_new(NULL, 10, 3, &d) != 0) {
        ufrpc_kcp_free(k);
        return;
    }
    size_t pos = 4;
    uint64_t now = 0;
    while (pos + 2 <= len) {
        size_t n = ufrpc_get_le16(in + pos);
        pos += 2;
        if (n > len - pos)
            n = len - pos;
        struct ufrpc_kcp_fec_out o;
        int rc = ufrpc_kcp_fec_input(d, in + pos, n, &o);
        CHECK(rc == 0 || rc == UFRPC_ERR_KCP_PACKET || rc == UFRPC_ERR_KCP_FEC);
        if (o.kcp) {
            CHECK(o.kcp >= in + pos && o.kcp + o.kcp_len <= in + pos + n);
            rc = ufrpc_kcp_input(k, o.kcp, o.kcp_len, true, now);
            CHECK(rc == 0 || rc == UFRPC_ERR_KCP_PACKET || rc == UFRPC_ERR_KCP_CONV);
        }
        for (unsigned r = 0; r < o.nrecovered; r++) {
            CHECK(o.recovered_len[r] <= UFRPC_KCP_FEC_PACKET_MAX);
            rc = ufrpc_kcp_input(k, o.recovered[r], o.recovered_len[r], false, now);
            CHECK(rc == 0 || rc == UFRPC_ERR_KCP_PACKET || rc == UFRPC_ERR_KCP_CONV);
        }
        pos += n;
        now += n % 50;
        CHECK(ufrpc_kcp_readable(k) <= (size_t)c.rcv_wnd * UFRPC_KCP_MTU_LIMIT);
        if (n & 1) {
            uint8_t buf[2048];
            ufrpc_kcp_recv(k, buf, sizeof buf);
            size_t acc = 0;
            CHECK(ufrpc_kcp_send(k, in, n < 3000 ? n : 3000, &acc) == 0);
        }
        CHECK(ufrpc_kcp_waitsnd(k) <= 2 * c.snd_wnd);
        ufrpc_kcp_update(k, now);
        CHECK(ufrpc_kcp_next_ms(k, now) >= now);
    }
    ufrpc_kcp_fec_dec_free(d);
    ufrpc_kcp_free(k);
}

static void run_recovery(const uint8_t *in, size_t len)
{
    if (len < 12)
        return;
    uint16_t mask = ufrpc_get_le16(in) & 0x1fff;
    in += 2;
    len -= 2;
    unsigned lost = 0;
    for (unsigned i = 0; i < 13; i++)
        if (mask & (1u << i)) {
            if (++lost > 3)
                mask &= (uint16_t)~(1u << i);
        }
    ufrpc_kcp_fec_enc_t *e;
    ufrpc_kcp_fec_dec_t *d;
    if (ufrpc_kcp_fec_enc_new(NULL, 10, 3, &e) != 0)
        return;
    if (ufrpc_kcp_fec_dec_new(NULL, 10, 3, &d) != 0) {
        ufrpc_kcp_fec_enc_free(e);
        return;
    }
    uint8_t pk[13][UFRPC_KCP_FEC_PACKET_MAX];
    size_t pl[13];
    const uint8_t *par[3];
    size_t parl[3];
    int np = 0;
    for (unsigned i = 0; i < 10; i++) {
        size_t n = 1 + (size_t)in[i] * 5;
        for (size_t j = 0; j < n; j++)
            pk[i][8 + j] = in[(10 + i + j) % len];
        pl[i] = 8 + n;
        np = ufrpc_kcp_fec_encode(e, pk[i], pl[i], i, par, parl);
    }
    CHECK(np == 3);
    for (unsigned p = 0; p < 3; p++) {
        memcpy(pk[10 + p], par[p], parl[p]);
        pl[10 + p] = parl[p];
    }
    bool got[10] = {false};
    for (unsigned i = 0; i < 13; i++) {
        if (mask & (1u << i))
            continue;
        struct ufrpc_kcp_fec_out o;
        CHECK(ufrpc_kcp_fec_input(d, pk[i], pl[i], &o) == 0);
        if (i < 10)
            got[i] = true;
        for (unsigned r = 0; r < o.nrecovered; r++) {
            bool ok = false;
            for (unsigned m = 0; m < 10 && !ok; m++)
                if (!got[m] && (mask & (1u << m)) && o.recovered_len[r] == pl[m] - 8 &&
                    memcmp(o.recovered[r], pk[m] + 8, pl[m] - 8) == 0)
                    got[m] = ok = true;
            CHECK(ok);
        }
    }
    for (unsigned i = 0; i < 10; i++)
        CHECK(got[i]);
    ufrpc_kcp_fec_enc_free(e);
    ufrpc_kcp_fec_dec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        run_recovery(data + 1, size - 1);
    else
        run_packets(data + 1, size - 1);
    return 0;
}
