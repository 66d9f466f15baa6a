/* ufrpc — SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929)
 * message parsers, sans-I/O and shaped like picohttpparser: each function looks at
 * the bytes received so far, buf[0..len), and returns
 *   > 0               the length of one complete message at the start of buf,
 *                     with the out-parameters filled;
 *   UFRPC_ERR_AGAIN   buf holds a proper prefix of a message: read more and call
 *                     again with the longer buffer (out-parameters untouched);
 *   < 0 (other)       the bytes cannot start a valid message (see each function).
 * Pure functions: nothing is allocated or kept; pointers handed out point into buf
 * and are valid as long as buf is. Used by net/dial.c (the client side, talking to
 * a SOCKS5 proxy) and client/plugins/plugin_socks5.c (the server side, the socks5 plugin).
 */
#ifndef UFRPC_PROTO_SOCKS5_H
#define UFRPC_PROTO_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_SOCKS5_VERSION 5
#define UFRPC_SOCKS5_AUTH_VERSION 1
enum {
    UFRPC_SOCKS5_ATYP_IPV4 = 1,
    UFRPC_SOCKS5_ATYP_DOMAIN = 3,
    UFRPC_SOCKS5_ATYP_IPV6 = 4,
};

/* A two-byte message: the server's method selection (VER 5, METHOD) or the RFC
 * 1929 status reply (VER 1, STATUS). want_ver: the version byte required, or 0 for
 * any (Go's x/net/proxy does not check the status reply's version). Returns 2 and
 * *second; UFRPC_ERR_AGAIN; UFRPC_ERR_PROXY_PROTOCOL when the version differs. */
long ufrpc_socks5_parse_pair(const uint8_t *buf, size_t len, uint8_t want_ver, uint8_t *second);

/* The client's greeting: VER 5, NMETHODS, METHODS. Returns its length, *methods
 * (into buf) and *nmethods; UFRPC_ERR_AGAIN; UFRPC_ERR_PROXY_PROTOCOL when VER is
 * not 5 (known from the first byte). */
long ufrpc_socks5_parse_greeting(const uint8_t *buf, size_t len, const uint8_t **methods,
                                 size_t *nmethods);

/* The RFC 1929 request: VER 1, ULEN, UNAME, PLEN, PASSWD. Returns its length and
 * the two fields (pointers into buf, not NUL-terminated); UFRPC_ERR_AGAIN;
 * UFRPC_ERR_PROXY_PROTOCOL when VER is not 1. */
long ufrpc_socks5_parse_userpass(const uint8_t *buf, size_t len, const uint8_t **user,
                                 size_t *ulen, const uint8_t **pass, size_t *plen);

/* A request (client -> server) or a reply (server -> client): both are VER 5,
 * CMD or REP, RSV, ATYP, DST/BND.ADDR, DST/BND.PORT. */
struct ufrpc_socks5_addr_msg {
    uint8_t code;   /* CMD of a request (1 = CONNECT), REP of a reply (0 = succeeded) */
    uint8_t atyp;   /* UFRPC_SOCKS5_ATYP_* */
    char host[256]; /* IPv4 or IPv6 literal, or the domain name as sent, NUL-terminated */
    uint8_t name_len; /* ATYP_DOMAIN: the length byte; a name holding a NUL byte
                         has strlen(host) < name_len */
    uint16_t port;
};

/* Returns the message's length and *out; UFRPC_ERR_AGAIN; UFRPC_ERR_PROXY_PROTOCOL
 * when VER is not 5 (known from the first byte); UFRPC_ERR_UNSUPPORTED for an
 * unknown ATYP (known from the fourth byte: buf[3] says which). The fields are not
 * judged further: the caller checks code, an empty or NUL-holding domain name and
 * port 0 as its side of the protocol requires. */
long ufrpc_socks5_parse_addr_msg(const uint8_t *buf, size_t len,
                                 struct ufrpc_socks5_addr_msg *out);

#endif
