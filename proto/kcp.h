/* ufrpc — sans-I/O KCP (the ARQ protocol of skywind3000/kcp as xtaci/kcp-go v5.6
 * runs it), stream mode, for frp's kcp transport (docs/PROTOCOL.md §1.4).
 *
 * Wire format of one segment (all little-endian), several per packet:
 *   conv u32 | cmd u8 (81 push, 82 ack, 83 window ask, 84 window tell) | frg u8 |
 *   wnd u16 (free receive slots) | ts u32 | sn u32 | una u32 | len u32 | len bytes
 *
 * The object is driven from outside: packets are pushed in with ufrpc_kcp_input,
 * bytes to send with ufrpc_kcp_send, and packets to put on the wire come out
 * through the output callback given at creation (only from inside
 * ufrpc_kcp_input, _flush and _update). Time is a parameter (milliseconds of any
 * monotonic clock); ufrpc_kcp_next_ms says when ufrpc_kcp_update must run next.
 *
 * Only stream mode is implemented (frp turns it on at both ends): every segment
 * has frg 0, sent bytes are packed into segments of up to mss = mtu - 24 bytes,
 * and received segments are read back as one byte stream.
 *
 * Timing follows kcp-go: a flush every `interval` ms sends the acknowledgements
 * gathered since the last one (acks are not sent at once), new segments that the
 * window allows and retransmissions (timeout, fast resend after `fastresend`
 * duplicate acks, and kcp-go's "early retransmit" of a segment that any later ack
 * skipped over when no new segment goes out). An input that slides the send
 * window flushes at once.
 *
 * Memory is bounded: at most snd_wnd segments are in flight and snd_wnd more
 * wait behind them (ufrpc_kcp_send takes only what fits), at most rcv_wnd segments wait to be read
 * and at most rcv_wnd out of order ones are kept, and at most rcv_wnd + 64
 * acknowledgements wait for the next flush (more are dropped: the peer resends).
 * Each segment is one allocation of at most mss bytes through the ufrpc_mem.
 *
 * Lifetime: ufrpc_kcp_new allocates; ufrpc_kcp_free frees everything. The output
 * callback must not call back into the object.
 */
#ifndef UFRPC_PROTO_KCP_H
#define UFRPC_PROTO_KCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mem.h"

#define UFRPC_KCP_OVERHEAD 24u
#define UFRPC_KCP_CMD_PUSH 81u
#define UFRPC_KCP_CMD_ACK 82u
#define UFRPC_KCP_CMD_WASK 83u
#define UFRPC_KCP_CMD_WINS 84u
/* A packet kcp-go accepts is at most this long (its mtuLimit). */
#define UFRPC_KCP_MTU_LIMIT 1500u

struct ufrpc_kcp_config {
    uint32_t conv;
    uint32_t mtu;        /* KCP packet size limit (FEC header excluded), 50..1500 */
    uint32_t snd_wnd;    /* segments, >= 1 */
    uint32_t rcv_wnd;    /* segments, >= 1, <= 65535 */
    int nodelay;         /* 1: minimum rto 30 ms and rto grows by half on resend */
    uint32_t interval;   /* flush interval, 10..5000 ms */
    uint32_t fastresend; /* duplicate acks that trigger a resend; 0 off */
    int nocwnd;          /* 1: no congestion window */
    uint32_t headroom;   /* bytes left free before each output packet */
    uint32_t dead_link;  /* transmissions of one segment after which the link is dead */
};

/* frpc's settings when it dials frps (fatedier/golib v0.7.0 net/dial.go):
 * stream mode, nodelay 1, interval 20, resend 2, nc 1, send window 128, receive
 * window 512, mtu 1350; conv 0 (the caller picks a random one). frps's listener
 * uses windows 1024/1024 (frp v0.70.0 pkg/util/net/kcp.go). */
void ufrpc_kcp_config_frpc(struct ufrpc_kcp_config *c);

/* pkt has headroom + KCP bytes; len counts both. The bytes are valid during the
 * call only; the callee may write into the headroom. */
typedef void (*ufrpc_kcp_output_cb)(uint8_t *pkt, size_t len, void *user_data);

typedef struct ufrpc_kcp ufrpc_kcp_t;

struct ufrpc_kcp_stats {
    uint64_t in_segs, out_segs, out_pkts;
    uint64_t repeat_segs; /* pushes already received */
    uint64_t lost_segs, fast_retrans, early_retrans;
    uint64_t in_errors;   /* packets refused by ufrpc_kcp_input */
    uint64_t acks_dropped;
    uint32_t srtt_ms, rto_ms;
};

/* 0 and *out, or UFRPC_ERR_INVAL (bad config) / UFRPC_ERR_NOMEM. mem may be NULL. */
int ufrpc_kcp_new(const struct ufrpc_mem *mem, const struct ufrpc_kcp_config *cfg,
                  ufrpc_kcp_output_cb output, void *user_data, ufrpc_kcp_t **out);
void ufrpc_kcp_free(ufrpc_kcp_t *k);

/* Feeds the KCP part of one packet. regular: false for a packet rebuilt by FEC
 * (its window and timestamps are not trusted, as in kcp-go). Segments before an
 * error are kept. 0, UFRPC_ERR_KCP_CONV (another conversation), UFRPC_ERR_KCP_PACKET
 * (short, truncated or unknown command) or UFRPC_ERR_NOMEM. */
int ufrpc_kcp_input(ufrpc_kcp_t *k, const uint8_t *data, size_t len, bool regular,
                    uint64_t now_ms);

/* Queues up to len bytes; *accepted says how many were taken (0 when the send
 * window is full: wait until ufrpc_kcp_writable). 0 or UFRPC_ERR_NOMEM. */
int ufrpc_kcp_send(ufrpc_kcp_t *k, const uint8_t *data, size_t len, size_t *accepted);
/* True when ufrpc_kcp_send would take bytes and the peer's window is open, as
 * kcp-go's writers wait for (waiting segments below both windows). */
bool ufrpc_kcp_writable(const ufrpc_kcp_t *k);
/* Segments queued or in flight, not yet acknowledged. */
uint32_t ufrpc_kcp_waitsnd(const ufrpc_kcp_t *k);

/* Copies up to cap received bytes in order; returns how many (0: none yet). */
size_t ufrpc_kcp_recv(ufrpc_kcp_t *k, uint8_t *buf, size_t cap);
/* Bytes ufrpc_kcp_recv would return now. */
size_t ufrpc_kcp_readable(const ufrpc_kcp_t *k);

/* Sends what is due now: acks, window probes, new and retransmitted segments. */
void ufrpc_kcp_flush(ufrpc_kcp_t *k, uint64_t now_ms);
/* Flushes when the interval has passed since the last flush. */
void ufrpc_kcp_update(ufrpc_kcp_t *k, uint64_t now_ms);
/* When update must run next: now_ms or later, or UINT64_MAX when nothing is
 * pending (no ack, no segment in flight or queued, no window probe). */
uint64_t ufrpc_kcp_next_ms(const ufrpc_kcp_t *k, uint64_t now_ms);

/* True once a segment was sent dead_link times without an ack and nothing came
 * from the peer for idle_ms (kcp-go only marks its state and keeps going; frp
 * then relies on yamux keepalives or heartbeats). */
bool ufrpc_kcp_dead(const ufrpc_kcp_t *k, uint64_t now_ms, uint64_t idle_ms);

uint32_t ufrpc_kcp_mss(const ufrpc_kcp_t *k);
void ufrpc_kcp_get_stats(const ufrpc_kcp_t *k, struct ufrpc_kcp_stats *st);

#endif
