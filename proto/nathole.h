/* ufrpc — xtcp hole punching, the sans-I/O parts (docs/PROTOCOL.md §9.3; frp v0.70.0
 * pkg/nathole/utils.go, classify.go, nathole.go).
 *
 * The punching packets: a NatHoleSid message in v1 framing (type '5', int64 length,
 * JSON; whatever the control's wire protocol) encrypted as golib's crypto.Encode:
 * a random 16-byte IV in clear, then AES-128-CFB of the frame with the key
 * PBKDF2(secretKey, "frp", 64) (ufrpc_cfb_derive_key). One packet, one keystream.
 *
 * The NAT classification (frp's ClassifyNATFeature) of the addresses STUN reported.
 *
 * No allocation except inside the decoded message (freed with ufrpc_msg_free). */
#ifndef UFRPC_PROTO_NATHOLE_H
#define UFRPC_PROTO_NATHOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cfb.h"
#include "proto/msg.h"

/* frp reads punching packets into 1024-byte buffers: a larger one is never valid. */
#define UFRPC_NATHOLE_MAX_PACKET 1024
/* frp's transaction ids: 8 random bytes in lowercase hex. */
#define UFRPC_NATHOLE_TID_LEN 16

/* Seals m (any message; NatHoleSid in practice) into out: IV, then the encrypted v1
 * frame. 0 and *out_len, UFRPC_ERR_LIMIT (cap too small or over
 * UFRPC_NATHOLE_MAX_PACKET), or the encoder's error. */
int ufrpc_nathole_seal(const uint8_t key[UFRPC_CFB_KEY_LEN], const uint8_t iv[UFRPC_CFB_IV_LEN],
                       const struct ufrpc_msg *m, uint8_t *out, size_t cap, size_t *out_len);

/* Opens one packet as a NatHoleSid (as frp's DecodeMessageInto: the type byte is not
 * checked). 0 with *out filled (caller frees), or UFRPC_ERR_MSG_LENGTH (shorter than
 * an IV and a header, or a length that does not match the packet: a wrong key shows
 * up as this or as a JSON error), UFRPC_ERR_LIMIT (over UFRPC_NATHOLE_MAX_PACKET),
 * the JSON decoder's error, UFRPC_ERR_CRYPTO. */
int ufrpc_nathole_open(const uint8_t key[UFRPC_CFB_KEY_LEN], const uint8_t *pkt, size_t len,
                       struct ufrpc_msg *out);

struct ufrpc_nat_feature {
    const char *nat_type; /* "EasyNAT" | "HardNAT" (static strings) */
    const char *behavior; /* "BehaviorNoChange" | "BehaviorIPChanged" |
                           * "BehaviorPortChanged" | "BehaviorBothChanged" */
    int ports_difference;
    bool regular_ports_change;
    bool public_network; /* one of the addresses is a local IP */
};

/* frp's ClassifyNATFeature: addrs are "ip:port" (IPv4, or "[ip6]:port"); local_ips
 * plain IPs. 0, or UFRPC_ERR_INVAL (fewer than 2 addresses, "not enough addresses",
 * or one that is not host:port with a numeric port). */
int ufrpc_nathole_classify(const char *const *addrs, size_t n, const char *const *local_ips,
                           size_t n_local, struct ufrpc_nat_feature *out);

#endif
