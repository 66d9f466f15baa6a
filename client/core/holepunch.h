/* ufrpc — one xtcp hole-punching attempt on the loop, both sides (frp v0.70.0
 * pkg/nathole/nathole.go Prepare and MakeHole, discovery.go; docs/PROTOCOL.md §9.3).
 *
 *   1. ufrpc_holepunch_start: one UDP socket (IPv4, any port) asks the STUN server
 *      (natHoleStunServer, "host:port") for its mapped address, then asks the
 *      answer's OTHER-/CHANGED-ADDRESS again (3 s each). Fewer than two addresses
 *      fail ("discover error: not enough addresses"). The NAT is classified
 *      (proto/nathole.h) and the assisted addresses are the host's IPv4 addresses
 *      (not loopback or link-local, at most 10) with the socket's port, unless
 *      disabled. on_prepared reports it.
 *   2. the owner exchanges the addresses through frps (NatHoleVisitor/NatHoleClient,
 *      NatHoleResp) and calls ufrpc_holepunch_punch with the answer and the secret
 *      key. As frp's MakeHole: a sender waits
 *      send_delay_ms, then sends an encrypted NatHoleSid to the assisted and
 *      candidate addresses; a receiver sends to the candidate addresses (or, with
 *      candidate_ports, to each port of those ranges on the candidates' IPs) with
 *      the given TTL. Both then wait read_timeout (default 5 s) for a NatHoleSid of
 *      this sid: a receiver answers a request with response = true; a sender waits
 *      for that answer. on_punched reports the peer's address.
 *      frps's random-port modes (one side behind a port-randomizing NAT):
 *      listen_random_ports (a receiver; at most 256) more sockets on random ports
 *      each send to the candidates with the TTL and wait too, the first to get this
 *      sid wins; send_random_ports (at most 4096) distinct random ports in
 *      [1024, 65535) get one NatHoleSid each on every candidate IP, one port every
 *      15 ms (frp's pace), until the punching ends.
 *   3. ufrpc_holepunch_take hands out the socket that got the peer's message (a
 *      duplicate descriptor) and the peer.
 *
 * Every buffer is fixed (one 1500-byte datagram shared by the sockets; an 8 KiB
 * port set for random sends); sends are uv_udp_try_send (a
 * datagram the kernel refuses is simply lost, as punching tolerates).
 *
 * Callbacks never run from inside start/punch/free. ufrpc_holepunch_free may be
 * called anywhere, also from a callback: no callback follows; the memory goes once
 * the handles are closed. name (copied) prefixes log lines as "[name] ". log and
 * loop must outlive the object. */
#ifndef UFRPC_CLIENT_HOLEPUNCH_H
#define UFRPC_CLIENT_HOLEPUNCH_H

#include <stdbool.h>
#include <uv.h>

#include "client/core/log.h"
#include "proto/cfb.h"
#include "proto/msg.h"

typedef struct ufrpc_holepunch ufrpc_holepunch_t;

struct ufrpc_holepunch_cbs {
    /* status 0, or <0 with err: frp's text ("discover error: ..."). */
    void (*on_prepared)(ufrpc_holepunch_t *h, int status, const char *err, void *data);
    /* status 0 (take the socket), or <0 with err ("wait detect message error: ..."). */
    void (*on_punched)(ufrpc_holepunch_t *h, int status, const char *err, void *data);
};

/* 0 and *out, or <0 (nothing to free). */
int ufrpc_holepunch_start(uv_loop_t *loop, struct ufrpc_log *log, const char *name,
                          const char *stun_server, bool disable_assisted,
                          const struct ufrpc_holepunch_cbs *cbs, void *data,
                          ufrpc_holepunch_t **out);

/* After on_prepared(0): the STUN addresses and the assisted ones (valid until free),
 * and the classification. */
const struct ufrpc_strv *ufrpc_holepunch_mapped(const ufrpc_holepunch_t *h);
const struct ufrpc_strv *ufrpc_holepunch_assisted(const ufrpc_holepunch_t *h);
const char *ufrpc_holepunch_nat_type(const ufrpc_holepunch_t *h);
const char *ufrpc_holepunch_behavior(const ufrpc_holepunch_t *h);

/* Starts punching after on_prepared(0) (once). resp and key are copied. 0 or <0. */
int ufrpc_holepunch_punch(ufrpc_holepunch_t *h, const struct ufrpc_msg_nat_hole_resp *resp,
                          const uint8_t key[UFRPC_CFB_KEY_LEN]);

/* After on_punched(0): a duplicate of the socket (the caller owns it) and the peer.
 * 0 or <0. */
int ufrpc_holepunch_take(ufrpc_holepunch_t *h, uv_os_sock_t *fd, struct sockaddr_storage *peer);

/* "a.b.c.d:port" of the peer after on_punched(0). */
const char *ufrpc_holepunch_peer_text(const ufrpc_holepunch_t *h);

void ufrpc_holepunch_free(ufrpc_holepunch_t *h);

/* Go's %v of a []string: "[a b c]", bounded (truncated with "..."). */
void ufrpc_holepunch_strv_text(const struct ufrpc_strv *v, char *out, size_t cap);

#endif
