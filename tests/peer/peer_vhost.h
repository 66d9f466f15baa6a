/* ufrpc-test-frps — what peer_vhost.c (routes, https, tcpmux) and peer_vhost_http.c
 * (the HTTP reverse proxy) share. Test code, not product (see peer_vhost.c). */
#ifndef UFRPC_TESTS_PEER_PEER_VHOST_H
#define UFRPC_TESTS_PEER_PEER_VHOST_H

#include <stddef.h>

#include "peer.h"

enum { VH_HTTP = 0, VH_HTTPS = 1, VH_TCPMUX = 2, VH_KINDS = 3 };

/* One (domain, location, routeByHTTPUser) entry of a router, as frps's vhost.Routers.
 * Owned by the vhost state; px is borrowed (the route is removed before px goes). */
struct vh_route {
    struct vh_route *next;
    int kind;
    char *domain;   /* lower-cased */
    char *location; /* "" matches every path */
    char *user;     /* routeByHTTPUser, "" = any user */
    struct proxy *px;
};

struct vh_http_conn;

/* The vhost state (p->vhost). Lives as long as the process. */
struct vhost {
    struct peer *p;
    ufrpc_tcp_listener_t *l[VH_KINDS];
    uint16_t port[VH_KINDS];
    struct vh_route *routes;
    struct vh_http_conn *hconns; /* live HTTP user connections (peer_vhost_http.c) */
};

/* frps's getByRoute: exact host (user, then any user), then wildcards *.rest for hosts
 * of 3+ labels, then "*"; within one (host, user) the route with the greatest
 * location that prefixes path. host must be canonical (vh_canonical_host). Returns the
 * route or NULL. */
const struct vh_route *vh_route_find(const struct vhost *vh, int kind, const char *host,
                                     const char *path, const char *user);

/* httppkg.CanonicalHost: lower-case, strip ":port" (also "[v6]:port"), strip one
 * trailing dot. Writes a NUL-terminated string; 0, or <0 when it does not fit or is
 * malformed. */
int vh_canonical_host(const char *in, size_t len, char *out, size_t cap);

/* Parses "Basic base64(user:pass)" (scheme case-insensitive) as Go's ParseBasicAuth.
 * 1 with user/pwd filled (NUL-terminated), 0 when not valid basic auth. */
int vh_basic_auth(const char *v, size_t len, char *user, size_t ucap, char *pwd, size_t pcap);

/* Writes a copy of data on st; cb(arg, status) (may be NULL) runs when done. 0 or <0
 * (nothing written, cb not called). */
typedef void (*vh_write_done)(void *arg, int status, size_t len);
int vh_write_copy(struct ufrpc_stream *st, const void *data, size_t len, vh_write_done cb,
                  void *arg);

/* The frps 404 page (pkg/util/vhost/resource.go NotFound). */
extern const char vh_not_found_page[];

/* Shuts st (taken) down after its queued writes and closes it once the user has
 * closed too (reads dropped meanwhile), or after 5 s. */
void vh_close_after_writes(struct peer *p, struct ufrpc_stream *st);

/* peer_vhost_http.c: takes a user connection accepted on the HTTP vhost port. */
void vh_http_accept(struct vhost *vh, struct ufrpc_stream *user);
/* px is closing: every HTTP user connection using it right now is ended. */
void vh_http_proxy_closed(struct vhost *vh, struct proxy *px);

#endif
