/* ufrpc — the STUN Binding exchange frpc's `nathole discover` makes (RFC 5389, with
 * RFC 3489's CHANGED-ADDRESS as frp reads it: pkg/nathole/discovery.go of v0.70.0).
 * Sans I/O: builds the request, parses the answer. IPv4 addresses only (frp's
 * discovery is udp4). */
#ifndef UFRPC_PROTO_STUN_H
#define UFRPC_PROTO_STUN_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_STUN_HEADER_LEN 20
#define UFRPC_STUN_MAGIC 0x2112A442u

/* Writes a Binding Request without attributes (20 bytes) with transaction id tid. */
void ufrpc_stun_binding_request(uint8_t out[UFRPC_STUN_HEADER_LEN], const uint8_t tid[12]);

struct ufrpc_stun_resp {
    char mapped[24]; /* "a.b.c.d:port": XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS; "" none */
    char other[24];  /* OTHER-ADDRESS, else CHANGED-ADDRESS; "" none */
};

/* Parses a Binding response (success or error class) to the request tid: 0 with r
 * filled, or UFRPC_ERR_INVAL (not STUN: short, bad cookie or length, another
 * transaction, a truncated attribute). Unknown attributes are skipped. */
int ufrpc_stun_parse(const uint8_t *msg, size_t len, const uint8_t tid[12],
                     struct ufrpc_stun_resp *r);

#endif
