/* ufrpc — an HTTP request head collected from parser callbacks. See http_reqhead.h. */
#include "proto/http_reqhead.h"

#include <string.h>
#include <strings.h>

#include <mbedtls/platform_util.h>

#include "proto/error.h"

void ufrpc_http_reqhead_init(struct ufrpc_http_reqhead *h, const struct ufrpc_mem *mem,
                          size_t max_bytes, size_t max_fields, size_t field_overhead)
{
    *h = (struct ufrpc_http_reqhead){
        .mem = ufrpc_mem_or_default(mem),
        .max_bytes = max_bytes < UINT32_MAX ? max_bytes : UINT32_MAX,
        .max_fields = max_fields,
        .field_overhead = field_overhead,
    };
}

void ufrpc_http_reqhead_reset(struct ufrpc_http_reqhead *h)
{
    h->len = 0;
    h->nf = 0;
    h->url_off = h->url_len = 0;
    h->in_value = false;
}

void ufrpc_http_reqhead_wipe(struct ufrpc_http_reqhead *h)
{
    if (h->buf != NULL)
        mbedtls_platform_zeroize(h->buf, h->cap);
    ufrpc_http_reqhead_reset(h);
}

void ufrpc_http_reqhead_free(struct ufrpc_http_reqhead *h)
{
    ufrpc_http_reqhead_wipe(h);
    ufrpc_mem_free(h->mem, h->buf);
    ufrpc_mem_free(h->mem, h->f);
    h->buf = NULL;
    h->f = NULL;
    h->cap = h->fcap = 0;
}

/* Appends at[0..len) to buf, within max_bytes counting the headers' overhead. */
static int append(struct ufrpc_http_reqhead *h, const char *at, size_t len)
{
    if (len == 0)
        return 0;
    size_t counted = h->len + h->nf * h->field_overhead;
    if (counted > h->max_bytes || len > h->max_bytes - counted)
        return UFRPC_ERR_LIMIT;
    if (h->len + len > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + len)
            cap *= 2;
        if (cap > h->max_bytes)
            cap = h->max_bytes;
        uint8_t *nb = ufrpc_mem_realloc(h->mem, h->buf, cap);
        if (nb == NULL)
            return UFRPC_ERR_NOMEM;
        h->buf = nb;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, at, len);
    h->len += len;
    return 0;
}

int ufrpc_http_reqhead_url(struct ufrpc_http_reqhead *h, const char *at, size_t len)
{
    if (h->url_len == 0)
        h->url_off = (uint32_t)h->len;
    int rc = append(h, at, len);
    if (rc == 0)
        h->url_len += (uint32_t)len;
    return rc;
}

/* Starts header nf (its overhead counts from now on). */
static int new_field(struct ufrpc_http_reqhead *h)
{
    if (h->nf == h->max_fields ||
        h->len + (h->nf + 1) * h->field_overhead > h->max_bytes)
        return UFRPC_ERR_LIMIT;
    if (h->nf == h->fcap) {
        size_t cap = h->fcap ? h->fcap * 2 : 16;
        if (cap > h->max_fields)
            cap = h->max_fields;
        struct ufrpc_http_reqhead_field *nf = ufrpc_mem_realloc(h->mem, h->f, cap * sizeof *nf);
        if (nf == NULL)
            return UFRPC_ERR_NOMEM;
        h->f = nf;
        h->fcap = cap;
    }
    uint32_t at = (uint32_t)h->len;
    h->f[h->nf++] = (struct ufrpc_http_reqhead_field){.noff = at, .voff = at};
    h->in_value = false;
    return 0;
}

int ufrpc_http_reqhead_field(struct ufrpc_http_reqhead *h, const char *at, size_t len)
{
    if (h->nf == 0 || h->in_value) {
        int rc = new_field(h);
        if (rc < 0)
            return rc;
    }
    int rc = append(h, at, len);
    if (rc == 0)
        h->f[h->nf - 1].nlen += (uint32_t)len;
    return rc;
}

int ufrpc_http_reqhead_value(struct ufrpc_http_reqhead *h, const char *at, size_t len)
{
    if (h->nf == 0)
        return UFRPC_ERR_INVAL; /* a value before any name: not from a parser */
    if (!h->in_value) {
        h->f[h->nf - 1].voff = (uint32_t)h->len;
        h->in_value = true;
    }
    int rc = append(h, at, len);
    if (rc == 0)
        h->f[h->nf - 1].vlen += (uint32_t)len;
    return rc;
}

bool ufrpc_http_reqhead_is(const struct ufrpc_http_reqhead *h, size_t i, const char *name)
{
    size_t n = strlen(name);
    return i < h->nf && h->f[i].nlen == n &&
           strncasecmp(ufrpc_http_reqhead_str(h, h->f[i].noff), name, n) == 0;
}

const char *ufrpc_http_reqhead_get(const struct ufrpc_http_reqhead *h, const char *name,
                                   size_t *len)
{
    for (size_t i = 0; i < h->nf; i++) {
        if (ufrpc_http_reqhead_is(h, i, name)) {
            *len = h->f[i].vlen;
            return ufrpc_http_reqhead_str(h, h->f[i].voff);
        }
    }
    *len = 0;
    return NULL;
}
