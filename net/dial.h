/* ufrpc — dialing a TCP connection: DNS (resolved afresh on every dial), every
 * resolved address in turn, an overall timeout, optional local bind address,
 * TCP_NODELAY and keepalive, and optional HTTP CONNECT / SOCKS5 proxies.
 *
 * Lifetime: ufrpc_dial() allocates a dial object and returns it; the callback
 * runs exactly once (also after ufrpc_dial_cancel, with UFRPC_ERR_CANCELED), never
 * from inside ufrpc_dial(). The dial pointer is invalid once the callback has
 * returned. On success the callback receives a connected TCP stream (net/tcp.h)
 * that it owns; bytes the proxy sent after its reply are pushed back into it.
 * Strings in the options are copied; the options struct may be freed right away.
 */
#ifndef UFRPC_NET_DIAL_H
#define UFRPC_NET_DIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/stream.h"

struct ufrpc_dial_opts {
    const char *host;          /* name, IPv4 or IPv6 literal (no brackets) */
    uint16_t port;
    uint32_t timeout_ms;       /* whole dial incl. DNS and proxy; 0 = 10000 */
    int keepalive_s;           /* TCP keepalive idle seconds; <= 0 off */
    bool no_nodelay;           /* false: TCP_NODELAY on (Go's default) */
    const char *local_ip;      /* NULL or bind address (port 0) */
    const char *proxy_url;     /* NULL/"" or http://[user:pass@]host:port, socks5://... */
};

typedef struct ufrpc_dial ufrpc_dial_t;
/* status 0 and s != NULL, or status < 0 (UFRPC_ERR_DNS, _CONNECT_REFUSED, _CONNECT,
 * _TIMEOUT, _PROXY_PROTOCOL, _CANCELED, ...) and s == NULL. */
typedef void (*ufrpc_dial_cb)(ufrpc_dial_t *d, int status, struct ufrpc_stream *s, void *data);

/* Starts a dial. Returns 0 and *out, or <0 (bad options / out of memory; then the
 * callback never runs). out may be NULL if the caller never cancels. */
int ufrpc_dial(uv_loop_t *loop, const struct ufrpc_dial_opts *opts, ufrpc_dial_cb cb,
               void *data, ufrpc_dial_t **out);
/* Aborts a dial in progress: its callback runs with UFRPC_ERR_CANCELED before this
 * returns. No-op once the callback has run (but d is invalid after it returned). */
void ufrpc_dial_cancel(ufrpc_dial_t *d);

/* Parsed proxy URL (exposed for tests); user and password percent-decoded. */
struct ufrpc_dial_proxy_url {
    int socks5;                 /* 0 = HTTP CONNECT, 1 = SOCKS5 */
    char host[256];
    uint16_t port;
    char user[256];
    char pass[256];
    int has_auth;
};
/* 0 or UFRPC_ERR_INVAL / UFRPC_ERR_UNSUPPORTED (scheme other than http, socks5). */
int ufrpc_dial_proxy_url_parse(const char *url, struct ufrpc_dial_proxy_url *out);

#endif
