/* ufrpc — PROXY protocol header builder (HAProxy proxy-protocol.txt, v1 text and
 * v2 binary), sans-I/O: what frpc writes to the local service before any payload
 * when a proxy sets transport.proxyProtocolVersion (docs/PROTOCOL.md §5.1 point 7).
 *
 * frpc's rules, reproduced here:
 *  - a header is written only when StartWorkConn carried a source (src_addr
 *    non-empty and src_port != 0): see ufrpc_proxyproto_wanted();
 *  - an empty dst_addr stands for "127.0.0.1";
 *  - "v1" selects the text form, any other non-empty version the binary form;
 *  - family: TCP4 when both addresses are IPv4 (an IPv4-mapped IPv6 address
 *    counts as IPv4), otherwise TCP6 with the IPv4 side written as ::ffff:a.b.c.d;
 *  - v1 addresses are printed like Go's netip (RFC 5952: lowercase, the longest run
 *    of two or more zero groups compressed, IPv4-mapped as ::ffff:a.b.c.d);
 *  - v2: command PROXY (0x21), family 0x11 / 0x21, no TLVs.
 * Addresses are IP literals as frps sends them (IPv6 without brackets, no zone).
 * Ownership: nothing is allocated or kept; inputs are only read during the call
 * and the header is written into the caller's buffer.
 */
#ifndef UFRPC_PROTO_PROXYPROTO_H
#define UFRPC_PROTO_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ufrpc_pp_version { UFRPC_PP_NONE = 0, UFRPC_PP_V1 = 1, UFRPC_PP_V2 = 2 };

/* Longest header this module produces: v1 TCP6 is at most 104 bytes, v2 52. */
#define UFRPC_PP_MAX_LEN 108

/* Maps transport.proxyProtocolVersion: NULL or "" -> NONE, "v1" -> V1, anything
 * else -> V2 (as frpc). */
enum ufrpc_pp_version ufrpc_proxyproto_version(const char *cfg_value);

/* True if frpc would write a header for this StartWorkConn. */
bool ufrpc_proxyproto_wanted(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port);

/* Builds the header into out[0..cap). *out_len = its length. 0, or
 * UFRPC_ERR_INVAL (version NONE, a missing or unparsable address),
 * UFRPC_ERR_LIMIT (cap too small; UFRPC_PP_MAX_LEN always suffices). */
int ufrpc_proxyproto_build(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port,
                           const char *dst_addr, uint16_t dst_port, uint8_t *out, size_t cap,
                           size_t *out_len);

/* The header frpc puts in front of the first datagram it sends to the local
 * service for a new user address of a udp proxy (frp pkg/proto/udp Forwarder,
 * through go-proxyproto with UDP addresses): src = the user's address, dst = the
 * local service's. v1 has no UDP form: "PROXY UNKNOWN\r\n". v2: command PROXY,
 * family UDP4 (0x12) when the source is IPv4 (then the destination must be IPv4 or
 * IPv4-mapped, else UFRPC_ERR_INVAL: frpc sends no header), else UDP6 (0x22).
 * 0 and *out_len, UFRPC_ERR_INVAL, UFRPC_ERR_LIMIT (UFRPC_PP_MAX_LEN suffices). */
int ufrpc_proxyproto_build_udp(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port,
                               const char *dst_addr, uint16_t dst_port, uint8_t *out,
                               size_t cap, size_t *out_len);

#endif
