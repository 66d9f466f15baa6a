/* ufrpc — the head of an HTTP/1.1 request collected from a parser's callbacks,
 * sans-I/O: the one store for the two llhttp servers of the client (the admin API,
 * client/admin/admin_session.c, and the HTTP plugins, client/plugins/hs.c).
 *
 * An incremental parser (llhttp) hands the request target and each header name and
 * value in pieces, split wherever its input was; ufrpc_http_reqhead_url/_field/_value
 * append those pieces to one buffer and keep, per header, where its name and value
 * stand in it. A name piece after a value starts the next header.
 *
 * Limits, fixed at init: max_bytes bounds the bytes counted, which are the bytes
 * kept plus field_overhead for each header (the ": " and CRLF a caller may want to
 * count as on the wire); max_fields bounds the headers. Beyond either, the call
 * returns UFRPC_ERR_LIMIT (answer 431) and keeps nothing more. The buffer grows by
 * doubling from 4 KiB and never past max_bytes.
 *
 * Ownership and lifetime: the struct is the caller's (embedded, zeroed by init);
 * buf and f are allocated with mem (NULL = libc) and freed by ufrpc_http_reqhead_free.
 * Pointers into buf (ufrpc_http_reqhead_str, _get) stay valid until the next call that
 * adds to the head, ufrpc_http_reqhead_reset or _free. */
#ifndef UFRPC_PROTO_HTTP_REQHEAD_H
#define UFRPC_PROTO_HTTP_REQHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mem.h"

struct ufrpc_http_reqhead_field {
    uint32_t noff, nlen, voff, vlen; /* into buf */
};

struct ufrpc_http_reqhead {
    const struct ufrpc_mem *mem;
    size_t max_bytes, max_fields, field_overhead;
    uint8_t *buf;
    size_t len, cap; /* bytes kept; allocated */
    struct ufrpc_http_reqhead_field *f;
    size_t nf, fcap;
    uint32_t url_off, url_len; /* the request target, into buf */
    bool in_value;             /* the last piece was a value */
};

void ufrpc_http_reqhead_init(struct ufrpc_http_reqhead *h, const struct ufrpc_mem *mem,
                          size_t max_bytes, size_t max_fields, size_t field_overhead);
/* Forgets the head (keeps the allocations) for the next request. */
void ufrpc_http_reqhead_reset(struct ufrpc_http_reqhead *h);
/* Zeroes every byte of buf that was allocated (credentials are not kept beyond their
 * request), then frees buf and f. */
void ufrpc_http_reqhead_free(struct ufrpc_http_reqhead *h);
/* Zeroes the bytes of buf (Authorization values) and forgets the head. */
void ufrpc_http_reqhead_wipe(struct ufrpc_http_reqhead *h);

/* Pieces of the request target, a header name, a header value. 0, or
 * UFRPC_ERR_LIMIT (max_bytes or max_fields passed), UFRPC_ERR_NOMEM. */
int ufrpc_http_reqhead_url(struct ufrpc_http_reqhead *h, const char *at, size_t len);
int ufrpc_http_reqhead_field(struct ufrpc_http_reqhead *h, const char *at, size_t len);
int ufrpc_http_reqhead_value(struct ufrpc_http_reqhead *h, const char *at, size_t len);

static inline const char *ufrpc_http_reqhead_str(const struct ufrpc_http_reqhead *h, uint32_t off)
{
    return (const char *)h->buf + off;
}

/* The value of the first header called name (ASCII case-insensitive) and its length
 * in *len (not NUL-terminated); NULL and *len = 0 when there is none. */
const char *ufrpc_http_reqhead_get(const struct ufrpc_http_reqhead *h, const char *name,
                                   size_t *len);

/* True when header i is called name (ASCII case-insensitive). */
bool ufrpc_http_reqhead_is(const struct ufrpc_http_reqhead *h, size_t i, const char *name);

#endif
