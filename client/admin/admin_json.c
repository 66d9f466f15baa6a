/* client/admin/admin_json.c — small helpers of the admin API: buffers, Go-compatible JSON
 * strings, Basic auth, query and path decoding. See admin_internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "client/admin/admin_internal.h"
#include "proto/base64.h"
#include "proto/error.h"
#include "proto/text.h"

void ufrpc_admin_buf_free(struct ufrpc_admin_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static bool reserve(struct ufrpc_admin_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX / 2 - b->len || (b->limit != 0 && b->len + extra > b->limit)) {
        b->failed = true;
        return false;
    }
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void ufrpc_admin_buf_add(struct ufrpc_admin_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void ufrpc_admin_buf_str(struct ufrpc_admin_buf *b, const char *s)
{
    ufrpc_admin_buf_add(b, s, strlen(s));
}

void ufrpc_admin_buf_printf(struct ufrpc_admin_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        ufrpc_admin_buf_add(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence at s (Go's rules: no overlongs, no surrogates,
 * <= U+10FFFF), 0 if invalid; *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

void ufrpc_admin_json_str(struct ufrpc_admin_buf *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    ufrpc_admin_buf_add(b, "\"", 1);
    size_t i = 0, start = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t l = c < 0x80 ? 1 : utf8_seq(s + i, n - i, &cp);
        if (l > 1 && cp != 0x2028 && cp != 0x2029) {
            i += l;
            continue;
        }
        ufrpc_admin_buf_add(b, s + start, i - start);
        if (l == 0) {
            ufrpc_admin_buf_str(b, "\\ufffd");
            i++;
        } else if (l > 1) {
            ufrpc_admin_buf_printf(b, "\\u%04x", (unsigned)cp);
            i += l;
        } else {
            char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4],
                esc[5] = hex[c & 15];
            }
            ufrpc_admin_buf_str(b, esc);
            i++;
        }
        start = i;
    }
    ufrpc_admin_buf_add(b, s + start, n - start);
    ufrpc_admin_buf_add(b, "\"", 1);
}

/* ---- Basic auth ------------------------------------------------------------ */

static bool ct_equal(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    /* Go's ConstantTimeEqString: a length mismatch returns at once */
    if (alen != blen)
        return false;
    unsigned char d = 0;
    for (size_t i = 0; i < alen; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

bool ufrpc_admin_check_basic_auth(const char *header, const char *user, const char *password)
{
    user = user ? user : "";
    password = password ? password : "";
    if (user[0] == '\0' && password[0] == '\0')
        return true;
    if (header == NULL || strlen(header) < 6 || strncasecmp(header, "Basic ", 6) != 0)
        return false;
    const char *enc = header + 6;
    size_t elen = strlen(enc);
    size_t dcap = ufrpc_base64_decoded_max(elen);
    unsigned char *dec = malloc(dcap);
    if (dec == NULL)
        return false;
    long n = ufrpc_base64_decode(enc, elen, dec);
    bool ok = false;
    if (n >= 0) {
        const unsigned char *colon = memchr(dec, ':', (size_t)n);
        if (colon != NULL) {
            size_t ulen = (size_t)(colon - dec);
            bool u = ct_equal((const char *)dec, ulen, user);
            bool p = ct_equal((const char *)colon + 1, (size_t)n - ulen - 1, password);
            ok = u && p;
        }
    }
    /* the decoded credentials never outlive this call */
    mbedtls_platform_zeroize(dec, dcap);
    free(dec);
    return ok;
}

/* ---- query / path ------------------------------------------------------------- */

bool ufrpc_admin_query_get(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = query;
    while (p != NULL && *p != '\0') {
        const char *end = p + strcspn(p, "&");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq ? eq : end;
        char kbuf[128];
        /* Go (>= 1.17) skips a pair whose key holds ';', and one with a bad escape */
        bool bad = memchr(p, ';', (size_t)(kend - p)) != NULL;
        long kl = bad ? -1 : ufrpc_pct_decode(p, (size_t)(kend - p), true, kbuf, sizeof kbuf);
        if (kl >= 0 && (size_t)kl == klen && memcmp(kbuf, key, klen) == 0) {
            const char *v = eq ? eq + 1 : end;
            long vl = ufrpc_pct_decode(v, (size_t)(end - v), true, out, cap);
            if (vl >= 0 || vl == UFRPC_ERR_LIMIT)
                return true; /* a value too long for out is found, truncated */
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

bool ufrpc_admin_path_decode(const char *src, size_t len, char *out, size_t cap)
{
    if (cap < len + 1)
        return false;
    long ol = ufrpc_pct_decode(src, len, false, out, cap);
    return ol >= 0 && memchr(out, '\0', (size_t)ol) == NULL;
}
