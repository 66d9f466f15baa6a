/* ufrpc — client-side path router core: see proto/http_route.h. */
#include "proto/http_route.h"

#include <string.h>
#include <strings.h>

#include "proto/error.h"
#include "proto/text.h"

/* ---- targets -------------------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool has_scheme(const char *t, size_t n, size_t *skip)
{
    if (n >= 7 && strncasecmp(t, "http://", 7) == 0) {
        *skip = 7;
        return true;
    }
    if (n >= 8 && strncasecmp(t, "https://", 8) == 0) {
        *skip = 8;
        return true;
    }
    return false;
}

/* A "." or ".." segment anywhere in the (decoded) path p[0..n). */
static bool dot_segment(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1; /* p[i] == '/' */
        size_t k = j;
        while (k < n && p[k] != '/')
            k++;
        size_t sl = k - j;
        if ((sl == 1 && p[j] == '.') || (sl == 2 && p[j] == '.' && p[j + 1] == '.'))
            return true;
        i = k;
    }
    return false;
}

long ufrpc_http_route_normalize(const char *t, size_t tlen, char *out, size_t cap,
                                size_t *path_len)
{
    size_t skip = 0, i;
    if (cap == 0)
        return UFRPC_ERR_LIMIT;
    out[0] = '\0';
    if (has_scheme(t, tlen, &skip)) {
        i = skip;
        while (i < tlen && t[i] != '/' && t[i] != '?' && t[i] != '#')
            i++;
        if (i == skip)
            return UFRPC_ERR_HTTP; /* no authority */
    } else {
        i = 0;
        if (tlen == 0 || t[0] != '/')
            return UFRPC_ERR_HTTP;
    }
    size_t o = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 >= cap)                                                                          \
            return UFRPC_ERR_LIMIT;                                                                \
        out[o++] = (char)(c);                                                                      \
    } while (0)
    if (i >= tlen || t[i] != '/')
        PUT('/'); /* "http://h" or "http://h?q" */
    for (; i < tlen && t[i] != '?' && t[i] != '#'; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\0')
            return UFRPC_ERR_HTTP;
        if (c != '%') {
            PUT(c);
            continue;
        }
        if (i + 2 >= tlen)
            return UFRPC_ERR_HTTP;
        int hi = ufrpc_hexval((unsigned char)t[i + 1]), lo = ufrpc_hexval((unsigned char)t[i + 2]);
        if (hi < 0 || lo < 0)
            return UFRPC_ERR_HTTP;
        unsigned char d = (unsigned char)(hi * 16 + lo);
        if (unreserved(d)) {
            PUT(d);
        } else {
            PUT('%');
            PUT(t[i + 1]);
            PUT(t[i + 2]);
        }
        i += 2;
    }
    size_t pl = o;
    if (dot_segment(out, pl))
        return UFRPC_ERR_HTTP;
    for (; i < tlen && t[i] != '#'; i++) { /* the query, as sent; a fragment is dropped */
        if (t[i] == '\0')
            return UFRPC_ERR_HTTP;
        PUT(t[i]);
    }
#undef PUT
    out[o] = '\0';
    *path_len = pl;
    return (long)o;
}

size_t ufrpc_http_route_prefix_len(const char *loc)
{
    size_t n = strlen(loc);
    while (n > 0 && loc[n - 1] == '/')
        n--;
    return n;
}

bool ufrpc_http_route_covers(const char *loc, const char *p, size_t plen)
{
    if (loc == NULL || loc[0] != '/' || plen == 0 || p[0] != '/')
        return false;
    size_t n = ufrpc_http_route_prefix_len(loc);
    if (n == 0)
        return true;
    if (plen < n || memcmp(p, loc, n) != 0)
        return false;
    return plen == n || p[n] == '/';
}

long ufrpc_http_route_match(const char *const *locs, size_t n, const char *p, size_t plen)
{
    long best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ufrpc_http_route_covers(locs[i], p, plen))
            continue;
        size_t l = ufrpc_http_route_prefix_len(locs[i]);
        if (best < 0 || l > best_len) {
            best = (long)i;
            best_len = l;
        }
    }
    return best;
}

long ufrpc_http_route_strip(const char *loc, const char *t, size_t tlen, char *out, size_t cap)
{
    size_t plen = 0;
    while (plen < tlen && t[plen] != '?')
        plen++;
    if (!ufrpc_http_route_covers(loc, t, plen))
        return UFRPC_ERR_INVAL;
    size_t n = ufrpc_http_route_prefix_len(loc);
    const char *rest = t + n;
    size_t rlen = tlen - n;
    bool slash = rlen == 0 || rest[0] != '/';
    size_t need = rlen + (slash ? 1 : 0);
    if (need + 1 > cap)
        return UFRPC_ERR_LIMIT;
    size_t o = 0;
    if (slash)
        out[o++] = '/';
    memcpy(out + o, rest, rlen);
    o += rlen;
    out[o] = '\0';
    return (long)o;
}

/* ---- head reader --------------------------------------------------------------- */

void ufrpc_http_head_reader_init(struct ufrpc_http_head_reader *r, const struct ufrpc_mem *mem,
                                 size_t max)
{
    memset(r, 0, sizeof *r);
    r->mem = ufrpc_mem_or_default(mem);
    r->max = max;
}

void ufrpc_http_head_reader_reset(struct ufrpc_http_head_reader *r)
{
    r->len = 0;
    r->nl = 0;
    r->started = false;
    r->done = false;
}

void ufrpc_http_head_reader_free(struct ufrpc_http_head_reader *r)
{
    if (r->buf != NULL)
        ufrpc_mem_free(r->mem, r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
    r->done = false;
}

long ufrpc_http_head_reader_feed(struct ufrpc_http_head_reader *r, const uint8_t *data, size_t len)
{
    if (r->done)
        return 0;
    size_t take = 0;
    while (take < len && !r->done) {
        uint8_t c = data[take++];
        if (c == '\n') {
            /* blank lines before the first line do not end anything */
            if (r->started && ++r->nl == 2)
                r->done = true;
        } else if (c != '\r') {
            r->started = true;
            r->nl = 0;
        }
    }
    /* take now counts bytes consumed; copy them (none: buf may still be NULL) */
    if (take == 0)
        return 0;
    if (r->len + take > r->max)
        return UFRPC_ERR_LIMIT;
    if (r->len + take > r->cap) {
        size_t ncap = r->cap ? r->cap : 512;
        while (ncap < r->len + take)
            ncap *= 2;
        if (ncap > r->max)
            ncap = r->max;
        uint8_t *nb = ufrpc_mem_realloc(r->mem, r->buf, ncap);
        if (nb == NULL)
            return UFRPC_ERR_NOMEM;
        r->buf = nb;
        r->cap = ncap;
    }
    memcpy(r->buf + r->len, data, take);
    r->len += take;
    return (long)take;
}

/* ---- head rewrite ----------------------------------------------------------------- */

struct obuf {
    uint8_t *b;
    size_t len, cap;
};

static void put(struct obuf *o, const void *d, size_t n)
{
    /* capacity computed up front by the caller */
    memcpy(o->b + o->len, d, n);
    o->len += n;
}

static bool host_is_ours(const struct ufrpc_http_rewrite *rw, const char *a, size_t n)
{
    for (size_t i = 0; i < rw->nhosts; i++) {
        const char *h = rw->hosts[i];
        if (h != NULL && h[0] != '\0' && strlen(h) == n && strncasecmp(h, a, n) == 0)
            return true;
    }
    return false;
}

/* Location / Content-Location value v[0..n): writes it, prefixed when it points
 * into the app. */
static bool rewrite_uri(const struct ufrpc_http_rewrite *rw, struct obuf *o, const char *v, size_t n)
{
    size_t pl = strlen(rw->prefix);
    if (n >= 1 && v[0] == '/' && (n == 1 || v[1] != '/')) {
        put(o, rw->prefix, pl);
        put(o, v, n);
        return true;
    }
    size_t skip = 0;
    if (!has_scheme(v, n, &skip)) {
        if (n >= 2 && v[0] == '/' && v[1] == '/')
            skip = 2; /* scheme-relative */
        else {
            put(o, v, n);
            return false;
        }
    }
    size_t a = skip;
    while (a < n && v[a] != '/' && v[a] != '?' && v[a] != '#')
        a++;
    if (a == skip || !host_is_ours(rw, v + skip, a - skip)) {
        put(o, v, n);
        return false;
    }
    put(o, v, a);
    put(o, rw->prefix, pl); /* "http://h/x" → "http://h/api/x", "http://h?q" → "http://h/api?q" */
    put(o, v + a, n - a);
    return true;
}

/* Set-Cookie value v[0..n): Path attribute prefixed. */
static bool rewrite_cookie(const struct ufrpc_http_rewrite *rw, struct obuf *o, const char *v,
                           size_t n)
{
    size_t pl = strlen(rw->prefix);
    bool changed = false;
    size_t i = 0;
    /* the name=value pair first, then ;-separated attributes */
    while (i < n) {
        size_t s = i;
        while (i < n && v[i] != ';')
            i++;
        /* segment v[s..i) */
        size_t k = s;
        while (k < i && (v[k] == ' ' || v[k] == '\t'))
            k++;
        size_t nm = k;
        while (nm < i && v[nm] != '=')
            nm++;
        size_t name_end = nm;
        while (name_end > k && (v[name_end - 1] == ' ' || v[name_end - 1] == '\t'))
            name_end--;
        bool is_path = s > 0 && name_end - k == 4 && strncasecmp(v + k, "path", 4) == 0 && nm < i;
        size_t vs = nm + 1;
        while (is_path && vs < i && (v[vs] == ' ' || v[vs] == '\t'))
            vs++;
        if (is_path && vs < i && v[vs] == '/') {
            size_t ve = i;
            while (ve > vs && (v[ve - 1] == ' ' || v[ve - 1] == '\t'))
                ve--;
            put(o, v + s, vs - s);
            put(o, rw->prefix, pl);
            if (!(ve - vs == 1))
                put(o, v + vs, i - vs);
            else
                put(o, v + vs + 1, i - vs - 1); /* "Path=/" → "Path=/api" */
            changed = true;
        } else {
            put(o, v + s, i - s);
        }
        if (i < n) {
            put(o, ";", 1);
            i++;
        }
    }
    return changed;
}

int ufrpc_http_route_rewrite_head(const struct ufrpc_http_rewrite *rw, const uint8_t *head,
                                  size_t len, const struct ufrpc_mem *mem, uint8_t **out,
                                  size_t *out_len, bool *changed)
{
    mem = ufrpc_mem_or_default(mem);
    *out = NULL;
    *out_len = 0;
    *changed = false;
    const char *h = (const char *)head;
    if (len == 0 || memchr(h, '\n', len) == NULL)
        return UFRPC_ERR_HTTP;
    size_t pl = rw->prefix != NULL ? strlen(rw->prefix) : 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += h[i] == '\n';
    /* each line grows by at most one prefix (+1 for a '/'); a Set-Cookie line by
     * one per ';' — bound that by the line's length */
    size_t bound = len + lines * (pl + 1);
    if (pl > 0)
        for (size_t i = 0; i < len; i++)
            bound += h[i] == ';' ? pl : 0;
    struct obuf o = {ufrpc_mem_malloc(mem, bound + 1), 0, bound + 1};
    if (o.b == NULL)
        return UFRPC_ERR_NOMEM;
    size_t i = 0;
    bool first = true;
    while (i < len) {
        size_t s = i;
        while (i < len && h[i] != '\n')
            i++;
        size_t e = i < len ? i + 1 : i; /* line with its LF */
        size_t ce = i;                  /* content end (before CR LF) */
        if (ce > s && h[ce - 1] == '\r')
            ce--;
        i = e;
        const char *colon = first || pl == 0 ? NULL : memchr(h + s, ':', ce - s);
        first = false;
        if (colon == NULL || h[s] == ' ' || h[s] == '\t') {
            put(&o, h + s, e - s);
            continue;
        }
        size_t nl = (size_t)(colon - (h + s));
        int kind = 0;
        if ((nl == 8 && strncasecmp(h + s, "Location", 8) == 0) ||
            (nl == 16 && strncasecmp(h + s, "Content-Location", 16) == 0))
            kind = 1;
        else if (nl == 10 && strncasecmp(h + s, "Set-Cookie", 10) == 0)
            kind = 2;
        if (kind == 0) {
            put(&o, h + s, e - s);
            continue;
        }
        size_t vs = nl + 1 + s;
        while (vs < ce && (h[vs] == ' ' || h[vs] == '\t'))
            vs++;
        size_t ve = ce;
        while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t'))
            ve--;
        put(&o, h + s, vs - s);
        bool c = kind == 1 ? rewrite_uri(rw, &o, h + vs, ve - vs) : rewrite_cookie(rw, &o, h + vs, ve - vs);
        *changed = *changed || c;
        put(&o, h + ve, e - ve);
    }
    *out = o.b;
    *out_len = o.len;
    return 0;
}
