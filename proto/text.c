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
