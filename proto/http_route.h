/* ufrpc — the sans-I/O core of the client-side HTTP path router (`routes` on an
 * http proxy, a ufrpc extension): which route a request goes to, the request
 * target the local service sees when the route strips its prefix, and the
 * response head rewrite that puts the prefix back where the answer points into
 * the app (Location, Content-Location, Set-Cookie Path).
 *
 * Matching is on path-segment boundaries: location "/api" covers "/api",
 * "/api/", "/api/x" and "/api?x", never "/apiary"; "/" covers everything; the
 * longest covering location wins. (frps itself matches locations as plain string
 * prefixes, pkg/util/vhost/router.go v0.70.0, so it may hand "/apiary" to the
 * "/api" registration: the router decides again, per request.)
 *
 * Targets are normalised before matching (ufrpc_http_route_normalize):
 * absolute-form loses its scheme and authority, percent-encoded unreserved
 * characters (RFC 3986 §2.3) are decoded in the path, and a path holding a "."
 * or ".." segment (also as %2e) is refused, so "/api/../admin" can never reach
 * one app under another's prefix.
 *
 * Pure functions on caller buffers, except the head reader and the head rewrite,
 * which allocate through the given struct ufrpc_mem (NULL = libc). Nothing here
 * keeps a pointer to its inputs after returning.
 */
#ifndef UFRPC_PROTO_HTTP_ROUTE_H
#define UFRPC_PROTO_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mem.h"

/* Longest normalised target kept (longer: UFRPC_ERR_LIMIT, answered 414). */
#define UFRPC_HTTP_ROUTE_MAX_TARGET 8192u

/* Normalises the request target t[0..tlen) (see above) into out (cap bytes, NUL
 * terminated). *path_len: bytes of the path part (before '?'). Returns the
 * length, or UFRPC_ERR_HTTP (not origin/absolute form, bad %-escape, NUL, dot
 * segment), UFRPC_ERR_LIMIT (does not fit). */
long ufrpc_http_route_normalize(const char *t, size_t tlen, char *out, size_t cap,
                                size_t *path_len);

/* True when location loc (starting with '/') covers the path p[0..plen) on a
 * segment boundary. */
bool ufrpc_http_route_covers(const char *loc, const char *p, size_t plen);

/* Index of the longest of the n locations that covers the path p[0..plen), or
 * -1 when none does. */
long ufrpc_http_route_match(const char *const *locs, size_t n, const char *p, size_t plen);

/* The prefix a stripping route removes: loc without its trailing slashes ("/api/"
 * → "/api", "/" → ""). Its length. */
size_t ufrpc_http_route_prefix_len(const char *loc);

/* Strips the prefix of loc (which must cover it) from the normalised target
 * t[0..tlen): "/api/users?id=1" → "/users?id=1", "/api" → "/", "/api?x" → "/?x".
 * Writes into out (cap bytes, NUL terminated); returns the length or
 * UFRPC_ERR_LIMIT / UFRPC_ERR_INVAL (loc does not cover t). */
long ufrpc_http_route_strip(const char *loc, const char *t, size_t tlen, char *out, size_t cap);

/* ---- response heads ---------------------------------------------------------- */

/* Collects one HTTP/1.x message head (status line and fields up to the empty
 * line: CRLF CRLF, or bare LF LF as llhttp's lenient mode accepts) from input
 * pushed in any pieces, at most `max` bytes. Caller-owned struct; the buffer is
 * allocated through mem and released by _free. */
struct ufrpc_http_head_reader {
    const struct ufrpc_mem *mem;
    uint8_t *buf;
    size_t len, cap, max;
    unsigned nl;  /* consecutive line ends seen */
    bool started; /* a byte other than CR/LF seen */
    bool done;
};

void ufrpc_http_head_reader_init(struct ufrpc_http_head_reader *r, const struct ufrpc_mem *mem,
                                 size_t max);
/* Takes bytes up to and including the end of the head. Returns how many of the
 * len bytes were taken (all of them while the head is incomplete; r->done tells
 * when it is), or UFRPC_ERR_LIMIT (over max) / UFRPC_ERR_NOMEM. Once done, takes
 * nothing until _reset. */
long ufrpc_http_head_reader_feed(struct ufrpc_http_head_reader *r, const uint8_t *data, size_t len);
/* Forgets the head (keeps the buffer) for the next one. */
void ufrpc_http_head_reader_reset(struct ufrpc_http_head_reader *r);
void ufrpc_http_head_reader_free(struct ufrpc_http_head_reader *r);

/* What the rewrite puts back. */
struct ufrpc_http_rewrite {
    const char *prefix; /* the stripped prefix ("/api"); NULL or "" = nothing to do */
    /* authorities ("host[:port]", compared case-insensitively) that count as the
     * app's own in absolute URLs: the Host the user sent, the Host the app got */
    const char *const *hosts;
    size_t nhosts;
};

/* Rewrites a complete response head (as collected by the reader): in Location and
 * Content-Location, an absolute path ("/x" → "/api/x") or an absolute http(s) URL
 * on one of rw->hosts gets the prefix in front of its path; in each Set-Cookie, a
 * Path attribute starting with '/' gets it too ("Path=/" → "Path=/api").
 * Relative references, other hosts and other fields are copied unchanged. *out
 * (allocated through mem, caller frees with it) holds the new head, *changed
 * whether anything was rewritten. 0, UFRPC_ERR_NOMEM or UFRPC_ERR_HTTP (not a
 * head). */
int ufrpc_http_route_rewrite_head(const struct ufrpc_http_rewrite *rw, const uint8_t *head,
                                  size_t len, const struct ufrpc_mem *mem, uint8_t **out,
                                  size_t *out_len, bool *changed);

#endif
