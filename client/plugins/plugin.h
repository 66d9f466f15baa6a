/* ufrpc — client plugins: in-process handlers of a proxy's work connections
 * (frpc's pkg/plugin/client), instead of dialing localIP:localPort.
 *
 * Types (by frp name): unix_domain_socket, http_proxy, socks5, static_file,
 * https2http, https2https, http2https, http2http, tls2raw. virtual_net is
 * recognised and refused at creation ("plugin virtual_net is not supported").
 *
 * Usage (client/): for each proxy whose config has plugin.type != NONE,
 *   ufrpc_plugin_create() once when the proxy starts; for every work connection
 *   after StartWorkConn (and after the client's own encryption/compression
 *   wrapping), ufrpc_plugin_handle(plugin, work_stream, &info); when the proxy
 *   stops, ufrpc_plugin_close(plugin, cb, data).
 *
 * Threading: everything runs on the loop given at creation, in its thread.
 *
 * Ownership and lifetimes:
 * - The plugin borrows `cfg` (struct ufrpc_plugin_config inside the immutable
 *   struct ufrpc_config): the config must outlive the plugin (until the close
 *   callback). proxy_name is copied.
 * - ufrpc_plugin_handle() takes ownership of the work stream in every case (on
 *   an error return it has already been closed). The stream's `data` field
 *   belongs to the plugin from then on. The conn info is copied.
 * - ufrpc_plugin_close() aborts every connection still being handled (their
 *   streams are closed) and frees the plugin once all of them are gone; cb (may
 *   be NULL) runs then, never from inside ufrpc_plugin_close. No call on the
 *   plugin is allowed after ufrpc_plugin_close.
 * - The log callback is called for every connection that ends because of an
 *   error or bad input (reason text valid during the call only), and at
 *   creation failures. A NULL log function silences the plugin.
 *
 * Bounds: every per-connection buffer is bounded: request heads 64 KiB and 128
 * fields (UFRPC_PLUGIN_MAX_HEAD/_HEADERS; more: 431), responses are streamed
 * through without buffering, at most 256 KiB queued per direction (pump and
 * forwarder) plus one 64 KiB read delivery, SOCKS5 negotiation 600 bytes. A
 * request head must arrive within idle_timeout_ms, like frpc's 60 s
 * ReadHeaderTimeout; idle keep-alive connections close after it too.
 *
 * Behaviour (as frpc, checked against frp's pkg/plugin/client):
 * - http_proxy: CONNECT answers "HTTP/1.1 200 OK\r\n\r\n" then pumps (frp's
 *   current source; older releases said "Connection established"); a failed
 *   dial answers 400. Plain absolute-URI requests are forwarded with the target
 *   in origin form, Proxy-* and hop-by-hop headers dropped. Auth failure: 407 +
 *   "Proxy-Authenticate: Basic" after 200 ms, connection closed.
 * - http2http / http2https / https2http / https2https: Host kept unless
 *   hostHeaderRewrite; requestHeaders.set replaces same-named headers;
 *   X-Forwarded-*: dropped (http2http), kept (http2https), set from the user
 *   address with Proto https (https2*). Upstream TLS is not verified (frpc:
 *   InsecureSkipVerify). Upgrade requests are forwarded and a 101 becomes a
 *   tunnel (websockets). Only HTTP/1.1 is spoken (enableHTTP2 is ignored).
 * - https2*, tls2raw: crtPath/keyPath, or a generated self-signed certificate.
 * - static_file: GET/HEAD under "/<stripPrefix>/", 401 after 200 ms on bad
 *   basic auth, listings, index.html, byte ranges, no path outside localPath.
 * - socks5: RFC 1928 CONNECT (IPv4, IPv6, domain), RFC 1929 when
 *   username/password are set; other commands/address types get the RFC reply
 *   code and are closed.
 * - unix_domain_socket, tls2raw: the PROXY header (if any) goes first.
 *
 * The path router (`routes` on an http proxy, a ufrpc extension) is built on the
 * same machinery: ufrpc_plugin_create with opts.routes set (and cfg->type NONE)
 * makes a plugin named "router" that parses each request of a work connection
 * (keep-alive, pipelined requests one after the other, responses in order), picks
 * the longest matching route (proto/http_route.h) and forwards the request to that
 * route's local service, re-dialing when a request on the same connection goes to
 * another route. stripPrefix removes the location from the target, adds
 * X-Forwarded-Prefix and puts the prefix back into Location, Content-Location and
 * Set-Cookie Path. No matching route: 404; a bad target (dot segments, bad
 * escapes): 400; local service down: 502. Upgrade requests are routed, then
 * spliced after the 101. Per-route counters: ufrpc_plugin_route_stats.
 */
#ifndef UFRPC_CLIENT_PLUGIN_H
#define UFRPC_CLIENT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "net/stream.h"

#define UFRPC_PLUGIN_MAX_HEAD (64u * 1024u)
#define UFRPC_PLUGIN_MAX_HEADERS 128u

typedef struct ufrpc_plugin ufrpc_plugin_t;

enum ufrpc_plugin_log_level {
    UFRPC_PLUGIN_LOG_ERROR = 0, /* creation failed */
    UFRPC_PLUGIN_LOG_WARN = 1,  /* a connection was closed because of bad input/errors */
    UFRPC_PLUGIN_LOG_INFO = 2,
    UFRPC_PLUGIN_LOG_DEBUG = 3,
};

/* err: a negative ufrpc error (proto/error.h) or 0; reason: human-readable, e.g.
 * "socks5: bad greeting (version 4)". plugin_name is frp's name of the type. */
typedef void (*ufrpc_plugin_log_fn)(void *log_data, int level, const char *proxy_name,
                                    const char *plugin_name, int err, const char *reason);

struct ufrpc_plugin_opts {
    uv_loop_t *loop;
    const char *proxy_name;                /* for log lines; copied */
    const struct ufrpc_plugin_config *cfg; /* borrowed, see above */
    ufrpc_plugin_log_fn log;               /* may be NULL */
    void *log_data;
    uint32_t dial_timeout_ms; /* local dials; 0 = 10000 */
    uint32_t idle_timeout_ms; /* HTTP keep-alive idle / head read; 0 = 60000 */
    /* The path router's routes (borrowed like cfg; NULL or empty: not a router). */
    const struct ufrpc_cfg_routes *routes;
};

/* Per work connection information (from StartWorkConn). All fields optional;
 * strings and bytes are copied by ufrpc_plugin_handle. */
struct ufrpc_plugin_conn_info {
    const char *src_addr; /* user address "ip:port" / "[ip6]:port" (X-Forwarded-For) */
    const char *dst_addr;
    /* PROXY protocol header (transport.proxyProtocolVersion) the client built for
     * this connection: written first to the local connection by
     * unix_domain_socket and tls2raw, as frpc does. */
    const uint8_t *proxy_protocol_header;
    size_t proxy_protocol_header_len;
};

/* Creates the plugin described by o->cfg. Returns 0 and *out, or <0:
 * UFRPC_ERR_UNSUPPORTED (virtual_net, NONE), UFRPC_ERR_INVAL (missing option),
 * UFRPC_ERR_TLS (unreadable crtPath/keyPath), UFRPC_ERR_NOMEM. On failure a
 * reason is written to errbuf (if non-NULL, NUL-terminated, truncated to errcap)
 * and also sent to the log callback. */
int ufrpc_plugin_create(const struct ufrpc_plugin_opts *o, ufrpc_plugin_t **out, char *errbuf,
                        size_t errcap);

/* Hands one work connection to the plugin (see ownership above). 0, or <0
 * (UFRPC_ERR_STATE after close, UFRPC_ERR_NOMEM): the stream is closed then. */
int ufrpc_plugin_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work,
                        const struct ufrpc_plugin_conn_info *info);

/* Connections being handled now. */
size_t ufrpc_plugin_active(const ufrpc_plugin_t *p);
/* Totals since creation: connections handed over, and those that ended with a
 * logged error/bad input. */
void ufrpc_plugin_counters(const ufrpc_plugin_t *p, uint64_t *handled, uint64_t *failed);
/* frp's name of the plugin's type ("socks5"…). */
const char *ufrpc_plugin_name(const ufrpc_plugin_t *p);

/* Per-route counters of the path router, kept on the loop (read them there). */
#define UFRPC_ROUTE_LATENCY_BUCKETS 8
struct ufrpc_route_stats {
    uint64_t requests;          /* exchanges forwarded to the route (or refused: 502) */
    uint64_t bytes_in;          /* request bytes as forwarded (head and body) */
    uint64_t bytes_out;         /* response bytes sent back to the user */
    uint64_t status[5];         /* final status classes 1xx..5xx (101 counts as 1xx) */
    uint64_t no_status;         /* exchanges cut short before any status */
    uint64_t latency_count;     /* exchanges timed: head in → response complete (or 101) */
    uint64_t latency_sum_us;
    /* latency histogram, upper bounds in ms: 1, 5, 25, 100, 500, 2500, 10000, +inf */
    uint64_t latency_le_ms[UFRPC_ROUTE_LATENCY_BUCKETS];
};
extern const uint32_t ufrpc_route_latency_bounds_ms[UFRPC_ROUTE_LATENCY_BUCKETS - 1];

/* Routes of a router plugin (0 for any other plugin). */
size_t ufrpc_plugin_route_count(const ufrpc_plugin_t *p);
/* Counters of route i (its location in *location, borrowed from the config; may
 * be NULL), or of requests no route matched when i == ufrpc_plugin_route_count()
 * (*location = NULL then; only requests and the 4xx class move). 0, or
 * UFRPC_ERR_INVAL when i is out of range or p is not a router. */
int ufrpc_plugin_route_stats(const ufrpc_plugin_t *p, size_t i, const char **location,
                             struct ufrpc_route_stats *out);

typedef void (*ufrpc_plugin_close_cb)(void *data);
/* See above. */
void ufrpc_plugin_close(ufrpc_plugin_t *p, ufrpc_plugin_close_cb cb, void *data);

/* Registry: whether a type has an implementation (false for NONE, VIRTUAL_NET). */
int ufrpc_plugin_supported(ufrpc_plugin_type t);
/* Type by frp name, or UFRPC_PLUGIN__COUNT when unknown. */
ufrpc_plugin_type ufrpc_plugin_type_from_name(const char *name);

#endif
