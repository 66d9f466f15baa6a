/* ufrpc — kcp-go's forward error correction layer (xtaci/kcp-go v5.6.13 fec.go),
 * sans-I/O, for frp's kcp transport with 10 data and 3 parity shards and no block
 * cipher (docs/PROTOCOL.md §1.4).
 *
 * Every UDP packet starts with a 6-byte FEC header, little-endian:
 *   seqid u32 | type u16 (0xf1 data, 0xf2 parity)
 * A data packet then has size u16 = 2 + length of the KCP bytes that follow; a
 * parity packet has parity bytes. seqids count packets, data and parity alike;
 * each run of data+parity seqids (seqid / (data+parity)) is one group: its first
 * `data` packets are data shards, the rest parity shards. A shard is everything
 * after the 6-byte header (a data shard thus starts with its size field); the
 * shards of a group are zero-padded to the longest one and parity is the
 * Reed–Solomon code of them (proto/rs.h).
 *
 * Encoder: ufrpc_kcp_fec_encode stamps the header of each outgoing data packet
 * and, after the group's last data shard, returns its parity packets. As kcp-go,
 * it sends no parity for a group whose last data packet came more than 500 ms
 * after the one before (traffic that is not continuous); unlike kcp-go it still
 * spends the parity seqids, so the next group starts on a group boundary (kcp-go
 * does not, and from then on its peer's decoder stops recovering: a quirk of
 * kcp-go v5.6.13, docs/PROTOCOL.md §1.4).
 *
 * Decoder: ufrpc_kcp_fec_input returns the KCP bytes of a data packet and of any
 * data shards the packet let it rebuild. It keeps the shards of at most 3 groups
 * (the newest; kcp-go keeps 3 x 13 packets), so memory is fixed at creation. A
 * packet whose type does not match its place in the group (a data seqid from a
 * kcp-go peer after the quirk above) is passed on but not used for recovery.
 * Packets without an FEC type are plain KCP and are passed on whole, as kcp-go
 * does.
 *
 * Lifetime: _new allocates through mem (NULL: libc), _free frees. Returned
 * pointers stay valid until the next call on the same object.
 */
#ifndef UFRPC_PROTO_KCP_FEC_H
#define UFRPC_PROTO_KCP_FEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mem.h"
#include "proto/rs.h"

#define UFRPC_KCP_FEC_HEADER 6u
/* header + size field: the headroom a data packet needs before its KCP bytes */
#define UFRPC_KCP_FEC_DATA_HEADER 8u
#define UFRPC_KCP_FEC_TYPE_DATA 0xf1u
#define UFRPC_KCP_FEC_TYPE_PARITY 0xf2u
/* kcp-go's maxFECEncodeLatency */
#define UFRPC_KCP_FEC_MAX_GAP_MS 500u
#define UFRPC_KCP_FEC_GROUPS 3u
/* largest packet either side handles (kcp-go's mtuLimit) */
#define UFRPC_KCP_FEC_PACKET_MAX 1500u

typedef struct ufrpc_kcp_fec_enc ufrpc_kcp_fec_enc_t;
typedef struct ufrpc_kcp_fec_dec ufrpc_kcp_fec_dec_t;

/* 0 and *out, UFRPC_ERR_INVAL (shard counts, see proto/rs.h) or UFRPC_ERR_NOMEM. */
int ufrpc_kcp_fec_enc_new(const struct ufrpc_mem *mem, unsigned data, unsigned parity,
                          ufrpc_kcp_fec_enc_t **out);
void ufrpc_kcp_fec_enc_free(ufrpc_kcp_fec_enc_t *e);

/* pkt holds UFRPC_KCP_FEC_DATA_HEADER free bytes and then KCP bytes, len in all
 * (8 < len <= UFRPC_KCP_FEC_PACKET_MAX); the header is written into it. Returns
 * the number of parity packets now due (0 or `parity`) and points parity[i] /
 * parity_len[i] at them (valid until the next call). UFRPC_ERR_INVAL for a bad
 * length. */
int ufrpc_kcp_fec_encode(ufrpc_kcp_fec_enc_t *e, uint8_t *pkt, size_t len, uint64_t now_ms,
                         const uint8_t **parity, size_t *parity_len);

struct ufrpc_kcp_fec_out {
    /* KCP bytes of the packet itself (a data packet or a plain KCP packet), or
     * NULL (parity) */
    const uint8_t *kcp;
    size_t kcp_len;
    /* KCP bytes of data shards rebuilt by this packet */
    unsigned nrecovered;
    const uint8_t *recovered[UFRPC_RS_MAX_DATA];
    size_t recovered_len[UFRPC_RS_MAX_DATA];
    /* rebuilt shards whose size field did not fit (shards that do not add up) */
    unsigned bad_shards;
};

/* 0 with *out filled, UFRPC_ERR_KCP_PACKET (shorter than 8 bytes or longer than
 * UFRPC_KCP_FEC_PACKET_MAX) or UFRPC_ERR_KCP_FEC (recovery was possible but the
 * rebuilt shards were inconsistent: out->kcp is still set for a data packet). */
int ufrpc_kcp_fec_input(ufrpc_kcp_fec_dec_t *d, const uint8_t *pkt, size_t len,
                        struct ufrpc_kcp_fec_out *out);

int ufrpc_kcp_fec_dec_new(const struct ufrpc_mem *mem, unsigned data, unsigned parity,
                          ufrpc_kcp_fec_dec_t **out);
void ufrpc_kcp_fec_dec_free(ufrpc_kcp_fec_dec_t *d);

/* shards rebuilt and groups given up so far */
void ufrpc_kcp_fec_dec_stats(const ufrpc_kcp_fec_dec_t *d, uint64_t *recovered,
                             uint64_t *bad_shards);

#endif
