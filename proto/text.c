/* Small text helpers: see text.h. */
#include "proto/text.h"

#include <stdio.h>
#include <string.h>

#include "proto/error.h"

int ufrpc_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long ufrpc_pct_decode(const char *s, size_t n, bool plus, char *out, size_t cap)
{
    size_t o = 0;
    long rc = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? ufrpc_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? ufrpc_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rc = UFRPC_ERR_INVAL;
                break;
            }
            c = hi << 4 | lo;
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        if (o + 1 >= cap)
            rc = UFRPC_ERR_LIMIT; /* keep scanning: a bad escape wins */
        else
            out[o++] = (char)c;
    }
    if (cap > 0)
        out[o] = '\0';
    else if (rc == 0)
        rc = UFRPC_ERR_LIMIT; /* not even the NUL fits */
    return rc < 0 ? rc : (long)o;
}

bool ufrpc_parse_go_bool(const char *s, size_t len, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strlen(t[i]) == len && memcmp(s, t[i], len) == 0)
            return *out = true, true;
        if (strlen(f[i]) == len && memcmp(s, f[i], len) == 0)
            return *out = false, true;
    }
    return false;
}

void ufrpc_go_quote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (cap < 3)
        return;
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p == '\n') {
            out[o++] = '\\', out[o++] = 'n';
        } else if (*p == '\t') {
            out[o++] = '\\', out[o++] = 't';
        } else if (*p == '\r') {
            out[o++] = '\\', out[o++] = 'r';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

const char *ufrpc_go_strerror(int err, char *out, size_t cap)
{
    char tmp[128];
    const char *t = tmp;
    tmp[0] = '\0';
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    t = strerror_r(err, tmp, sizeof tmp); /* GNU: returns the text */
#else
    if (strerror_r(err, tmp, sizeof tmp) != 0) /* XSI: fills tmp */
        tmp[0] = '\0';
#endif
    if (t == NULL || t[0] == '\0' || strncmp(t, "Unknown error", 13) == 0 ||
        strncmp(t, "No error information", 20) == 0)
        snprintf(out, cap, "errno %d", err);
    else
        snprintf(out, cap, "%s", t);
    if (out[0] >= 'A' && out[0] <= 'Z' && !(out[0] == 'I' && out[1] == '/'))
        out[0] = (char)(out[0] - 'A' + 'a');
    return out;
}

/* Go's utf8.DecodeRuneInString on s[0..n): the code point and its length; an
 * invalid or short sequence is U+FFFD of length 1. n > 0. */
static long decode_rune(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t need = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (need == 0 || s[0] > 0xF4 || need > n)
        return 0xFFFD;
    long r = s[0] & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        r = r << 6 | (s[i] & 0x3F);
    }
    static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (r < min[need] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return 0xFFFD;
    *len = need;
    return r;
}

/* One class bound of a "[...]" (Go's getEsc): *p moves past it. */
static int class_char(const char **p, const char *end, long *r)
{
    const char *c = *p;
    if (c >= end || *c == '-' || *c == ']')
        return UFRPC_ERR_INVAL;
    if (*c == '\\' && ++c >= end)
        return UFRPC_ERR_INVAL;
    size_t n;
    *r = decode_rune((const unsigned char *)c, (size_t)(end - c), &n);
    if (*r == 0xFFFD && n == 1) /* not UTF-8 (a real U+FFFD is 3 bytes) */
        return UFRPC_ERR_INVAL;
    c += n;
    if (c >= end) /* a class must be closed */
        return UFRPC_ERR_INVAL;
    *p = c;
    return 0;
}

/* Go's matchChunk: matches chunk[0..cend) (no unescaped '*' outside a class) at
 * the start of s[0..send). Returns 1 with *rest after what matched, 0 for no
 * match, UFRPC_ERR_INVAL for a malformed chunk (checked even after a mismatch). */
static int match_chunk(const char *chunk, const char *cend, const char *s, const char *send,
                       const char **rest)
{
    bool failed = false;
    while (chunk < cend) {
        if (!failed && s == send)
            failed = true;
        size_t n;
        switch (*chunk) {
        case '[': {
            long r = 0;
            if (!failed) {
                r = decode_rune((const unsigned char *)s, (size_t)(send - s), &n);
                s += n;
            }
            chunk++;
            bool negated = chunk < cend && *chunk == '^';
            chunk += negated;
            bool match = false;
            for (int nrange = 0;; nrange++) {
                if (chunk < cend && *chunk == ']' && nrange > 0) {
                    chunk++;
                    break;
                }
                long lo = 0, hi;
                if (class_char(&chunk, cend, &lo) != 0)
                    return UFRPC_ERR_INVAL;
                hi = lo;
                if (*chunk == '-') {
                    chunk++;
                    if (class_char(&chunk, cend, &hi) != 0)
                        return UFRPC_ERR_INVAL;
                }
                match |= lo <= r && r <= hi;
            }
            failed |= match == negated;
            break;
        }
        case '?':
            if (!failed) {
                failed = *s == '/';
                decode_rune((const unsigned char *)s, (size_t)(send - s), &n);
                s += n;
            }
            chunk++;
            break;
        case '\\':
            if (++chunk == cend)
                return UFRPC_ERR_INVAL;
            /* fall through */
        default:
            if (!failed)
                failed = *chunk != *s++;
            chunk++;
            break;
        }
    }
    if (failed)
        return 0;
    *rest = s;
    return 1;
}

/* Go's scanChunk: skips leading stars (*star), then returns the end of the chunk
 * that follows (the next '*' outside a class, or the end). */
static const char *scan_chunk(const char **p, bool *star)
{
    const char *c = *p;
    *star = false;
    while (*c == '*') {
        c++;
        *star = true;
    }
    *p = c;
    bool inrange = false;
    for (; *c != '\0'; c++) {
        if (*c == '\\') {
            if (c[1] != '\0')
                c++;
        } else if (*c == '[') {
            inrange = true;
        } else if (*c == ']') {
            inrange = false;
        } else if (*c == '*' && !inrange) {
            break;
        }
    }
    return c;
}

int ufrpc_go_path_match(const char *pattern, const char *name)
{
    const char *p = pattern, *s = name, *send = name + strlen(name);
    while (*p != '\0') {
        bool star;
        const char *chunk = p;
        const char *cend = scan_chunk(&chunk, &star);
        p = cend;
        if (star && chunk == cend) /* a trailing star: the rest unless it has a '/' */
            return strchr(s, '/') == NULL;
        const char *t = NULL;
        int rc = match_chunk(chunk, cend, s, send, &t);
        if (rc == 1 && (t == send || *p != '\0')) {
            s = t;
            continue;
        }
        if (rc < 0)
            return rc;
        if (star) {
            bool next = false;
            for (const char *i = s; i < send && *i != '/' && !next; i++) {
                rc = match_chunk(chunk, cend, i + 1, send, &t);
                if (rc == 1) {
                    if (*p == '\0' && t != send)
                        continue;
                    s = t;
                    next = true;
                } else if (rc < 0) {
                    return rc;
                }
            }
            if (next)
                continue;
        }
        while (*p != '\0') { /* no match: still report a malformed rest */
            chunk = p;
            cend = scan_chunk(&chunk, &star);
            p = cend;
            if (match_chunk(chunk, cend, "", "", &t) < 0)
                return UFRPC_ERR_INVAL;
        }
        return 0;
    }
    return s == send;
}
