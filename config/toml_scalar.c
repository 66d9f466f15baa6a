/* TOML lexical pieces: strings, integers, floats, booleans, date/times.
 * See config/toml_internal.h for the contracts. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "config/toml_internal.h"
#include "proto/error.h"
#include "proto/text.h"

#define E_SYNTAX UFRPC_ERR_CONFIG_SYNTAX

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Control characters TOML forbids in strings and comments (tab is allowed). */
static bool is_forbidden_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int put_utf8(struct toml_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return ufrpc__toml_buf_put(b, u, n);
}

static int nomem(struct toml_parser *p)
{
    return ufrpc__toml_fail_at(p, p->i, UFRPC_ERR_NOMEM, "out of memory");
}

/* Escape after a backslash (cursor on the char after '\'). */
static int parse_escape(struct toml_parser *p, struct toml_buf *b)
{
    const char *s = p->s;
    size_t at = p->i - 1;
    if (p->i >= p->n)
        return ufrpc__toml_fail_at(p, at, E_SYNTAX, "unterminated escape sequence");
    char c = s[p->i++];
    char lit;
    switch (c) {
    case 'b':
        lit = '\b';
        break;
    case 't':
        lit = '\t';
        break;
    case 'n':
        lit = '\n';
        break;
    case 'f':
        lit = '\f';
        break;
    case 'r':
        lit = '\r';
        break;
    case '"':
        lit = '"';
        break;
    case '\\':
        lit = '\\';
        break;
    case 'u':
    case 'U': {
        int nd = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < nd; k++) {
            int h = p->i < p->n ? ufrpc_hexval((unsigned char)s[p->i]) : -1;
            if (h < 0)
                return ufrpc__toml_fail_at(p, at, E_SYNTAX, "\\%c escape needs %d hex digits", c, nd);
            cp = (cp << 4) | (uint32_t)h;
            p->i++;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return ufrpc__toml_fail_at(p, at, E_SYNTAX, "\\%c escape U+%X is not a Unicode scalar value",
                                c, (unsigned)cp);
        return put_utf8(b, cp) ? nomem(p) : 0;
    }
    default:
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            return ufrpc__toml_fail_at(p, at, E_SYNTAX, "invalid escape sequence '\\%c'", c);
        return ufrpc__toml_fail_at(p, at, E_SYNTAX, "invalid escape sequence");
    }
    return ufrpc__toml_buf_put(b, &lit, 1) ? nomem(p) : 0;
}

/* Counts a run of `q` quote characters at the cursor (without consuming). */
static size_t quote_run(const struct toml_parser *p, char q)
{
    size_t k = p->i;
    while (k < p->n && p->s[k] == q)
        k++;
    return k - p->i;
}

int ufrpc__toml_parse_string(struct toml_parser *p, struct toml_buf *b, bool allow_multi)
{
    const char *s = p->s;
    size_t start = p->i;
    char q = s[p->i];
    bool literal = q == '\'';
    bool multi = false;
    int rc;

    if (quote_run(p, q) >= 3) {
        if (!allow_multi)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "multi-line string cannot be a key");
        multi = true;
        p->i += 3;
        /* a newline right after the opening delimiter is trimmed */
        rc = ufrpc__toml_newline(p);
        if (rc < 0)
            return rc;
    } else {
        p->i++;
    }

    for (;;) {
        if (p->i >= p->n)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "unterminated string");
        unsigned char c = (unsigned char)s[p->i];
        if ((char)c == q) {
            if (!multi) {
                p->i++;
                return 0;
            }
            size_t run = quote_run(p, q);
            if (run < 3) {
                if (ufrpc__toml_buf_put(b, s + p->i, run))
                    return nomem(p);
                p->i += run;
                continue;
            }
            if (run > 5)
                return ufrpc__toml_fail_at(p, p->i + 5, E_SYNTAX,
                                    "too many quotes at the end of a multi-line string");
            if (ufrpc__toml_buf_put(b, s + p->i, run - 3))
                return nomem(p);
            p->i += run;
            return 0;
        }
        if (c == '\\' && !literal) {
            p->i++;
            if (multi && p->i < p->n &&
                (s[p->i] == ' ' || s[p->i] == '\t' || s[p->i] == '\n' || s[p->i] == '\r')) {
                /* line-ending backslash: only whitespace may follow on this line */
                /* then every blank line and the next line's indent are trimmed */
                size_t at = p->i - 1;
                for (int lines = 0;; lines++) {
                    while (p->i < p->n && (s[p->i] == ' ' || s[p->i] == '\t'))
                        p->i++;
                    rc = ufrpc__toml_newline(p);
                    if (rc < 0)
                        return rc;
                    if (rc == 0 && lines == 0)
                        return ufrpc__toml_fail_at(
                            p, at, E_SYNTAX,
                            "backslash at end of line must be followed by a newline");
                    if (rc == 0)
                        break;
                }
                continue;
            }
            rc = parse_escape(p, b);
            if (rc)
                return rc;
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (!multi)
                return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "newline in single-line string");
            rc = ufrpc__toml_newline(p);
            if (rc < 0)
                return rc;
            if (ufrpc__toml_buf_put(b, "\n", 1))
                return nomem(p);
            continue;
        }
        if (is_forbidden_ctl(c))
            return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "control character U+%04X in string", c);
        /* copy a run of ordinary bytes (input is already valid UTF-8) */
        size_t k = p->i + 1;
        while (k < p->n) {
            unsigned char d = (unsigned char)s[k];
            if (d == (unsigned char)q || d == '\\' || d == '\n' || d == '\r' || is_forbidden_ctl(d))
                break;
            k++;
        }
        if (ufrpc__toml_buf_put(b, s + p->i, k - p->i))
            return nomem(p);
        p->i = k;
    }
}

/* ---- numbers */

static bool is_tok_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c == '+' || c == '-' || c == '.';
}

/* Digits of `base` with single underscores between digits; at least one digit.
 * Appends the digits (without '_') to out (cap bytes incl. NUL). Returns digits
 * consumed count or -1. */
static int scan_digits(const char *t, size_t n, size_t *k, int base, char *out, size_t *olen,
                       size_t ocap)
{
    size_t j = *k;
    int nd = 0;
    bool prev_digit = false;
    while (j < n) {
        int c = (unsigned char)t[j];
        int v = ufrpc_hexval(c);
        if (c == '_') {
            if (!prev_digit || j + 1 >= n || ufrpc_hexval((unsigned char)t[j + 1]) < 0 ||
                ufrpc_hexval((unsigned char)t[j + 1]) >= base)
                return -1;
            prev_digit = false;
            j++;
            continue;
        }
        if (v < 0 || v >= base)
            break;
        if (*olen + 1 >= ocap)
            return -1;
        out[(*olen)++] = (char)c;
        nd++;
        prev_digit = true;
        j++;
    }
    out[*olen] = '\0';
    *k = j;
    return nd > 0 ? nd : -1;
}

static int parse_number(struct toml_parser *p, size_t start, size_t end, ufrpc_cv **out)
{
    const char *t = p->s + start;
    size_t n = end - start;
    ufrpc_cv_pos pos = ufrpc__toml_pos_at(p, start);
    char buf[512];
    size_t bl = 0, k = 0;
    bool neg = false, has_sign = false;

    if (n >= sizeof buf - 8)
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "number too long");
    if (t[0] == '+' || t[0] == '-') {
        neg = t[0] == '-';
        has_sign = true;
        k = 1;
    }
    if (n - k == 3 && (memcmp(t + k, "inf", 3) == 0 || memcmp(t + k, "nan", 3) == 0)) {
        double f = t[k] == 'i' ? INFINITY : NAN;
        *out = ufrpc_cv_new_float(p->mem, neg ? -f : f, pos);
        return *out ? 0 : nomem(p);
    }
    if (n - k >= 2 && t[k] == '0' && (t[k + 1] == 'x' || t[k + 1] == 'o' || t[k + 1] == 'b')) {
        int base = t[k + 1] == 'x' ? 16 : t[k + 1] == 'o' ? 8 : 2;
        if (has_sign)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "sign not allowed on %s integer",
                                base == 16 ? "a hexadecimal" : base == 8 ? "an octal" : "a binary");
        k += 2;
        if (scan_digits(t, n, &k, base, buf, &bl, sizeof buf) < 0 || k != n)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid %s integer",
                                base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary");
        uint64_t v = 0;
        for (size_t j = 0; j < bl; j++) {
            uint64_t d = (uint64_t)ufrpc_hexval((unsigned char)buf[j]);
            if (v > (UINT64_MAX - d) / (uint64_t)base || v * (uint64_t)base + d > (uint64_t)INT64_MAX)
                return ufrpc__toml_fail_at(p, start, UFRPC_ERR_CONFIG_VALUE,
                                    "integer does not fit in 64 bits");
            v = v * (uint64_t)base + d;
        }
        *out = ufrpc_cv_new_integer(p->mem, (int64_t)v, pos);
        return *out ? 0 : nomem(p);
    }

    /* decimal integer or float */
    size_t int_start = k;
    if (has_sign)
        buf[bl++] = neg ? '-' : '+';
    size_t dig0 = bl;
    if (scan_digits(t, n, &k, 10, buf, &bl, sizeof buf) < 0)
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid number");
    if (t[int_start] == '0' && bl - dig0 > 1)
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "leading zeros are not allowed");
    bool is_float = false;
    if (k < n && t[k] == '.') {
        is_float = true;
        buf[bl++] = '.';
        k++;
        if (scan_digits(t, n, &k, 10, buf, &bl, sizeof buf) < 0)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "a decimal point must be followed by digits");
    }
    if (k < n && (t[k] == 'e' || t[k] == 'E')) {
        is_float = true;
        buf[bl++] = 'e';
        k++;
        if (k < n && (t[k] == '+' || t[k] == '-'))
            buf[bl++] = t[k++];
        if (scan_digits(t, n, &k, 10, buf, &bl, sizeof buf) < 0)
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid exponent");
    }
    if (k != n)
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid number '%.*s'", (int)(n > 40 ? 40 : n),
                            t);
    buf[bl] = '\0';
    if (is_float) {
        char *endp;
        errno = 0;
        double f = strtod(buf, &endp);
        if (*endp != '\0')
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid float");
        if (isinf(f))
            return ufrpc__toml_fail_at(p, start, UFRPC_ERR_CONFIG_VALUE, "float out of range");
        *out = ufrpc_cv_new_float(p->mem, f, pos);
        return *out ? 0 : nomem(p);
    }
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t j = dig0; j < bl; j++) {
        uint64_t d = (uint64_t)(buf[j] - '0');
        if (v > (lim - d) / 10)
            return ufrpc__toml_fail_at(p, start, UFRPC_ERR_CONFIG_VALUE,
                                "integer does not fit in 64 bits");
        v = v * 10 + d;
    }
    int64_t iv = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    *out = ufrpc_cv_new_integer(p->mem, iv, pos);
    return *out ? 0 : nomem(p);
}

/* ---- date/time */

static bool digits_at(const struct toml_parser *p, size_t at, size_t count)
{
    if (at + count > p->n)
        return false;
    for (size_t k = 0; k < count; k++)
        if (!is_digit((unsigned char)p->s[at + k]))
            return false;
    return true;
}

static int num_at(const struct toml_parser *p, size_t at, size_t count)
{
    int v = 0;
    for (size_t k = 0; k < count; k++)
        v = v * 10 + (p->s[at + k] - '0');
    return v;
}

static bool looks_like_date(const struct toml_parser *p, size_t at)
{
    return digits_at(p, at, 4) && at + 4 < p->n && p->s[at + 4] == '-';
}

static bool looks_like_time(const struct toml_parser *p, size_t at)
{
    return digits_at(p, at, 2) && at + 2 < p->n && p->s[at + 2] == ':';
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* HH:MM:SS[.frac] at the cursor; appends the canonical text to b. */
static int parse_time(struct toml_parser *p, struct toml_buf *b)
{
    size_t at = p->i;
    if (!digits_at(p, at, 2) || at + 2 >= p->n || p->s[at + 2] != ':' || !digits_at(p, at + 3, 2) ||
        at + 5 >= p->n || p->s[at + 5] != ':' || !digits_at(p, at + 6, 2))
        return ufrpc__toml_fail_at(p, at, E_SYNTAX, "invalid time (expected HH:MM:SS)");
    int hh = num_at(p, at, 2), mm = num_at(p, at + 3, 2), ss = num_at(p, at + 6, 2);
    if (hh > 23 || mm > 59 || ss > 60)
        return ufrpc__toml_fail_at(p, at, UFRPC_ERR_CONFIG_VALUE, "time out of range");
    size_t k = at + 8;
    if (k < p->n && p->s[k] == '.') {
        k++;
        size_t f0 = k;
        while (k < p->n && is_digit((unsigned char)p->s[k]))
            k++;
        if (k == f0)
            return ufrpc__toml_fail_at(p, at, E_SYNTAX, "fractional seconds need digits");
    }
    if (ufrpc__toml_buf_put(b, p->s + at, k - at))
        return nomem(p);
    p->i = k;
    return 0;
}

static int parse_datetime(struct toml_parser *p, ufrpc_cv **out)
{
    size_t start = p->i;
    ufrpc_cv_pos pos = ufrpc__toml_pos_at(p, start);
    ufrpc_cv_type type;
    struct toml_buf *b = &p->sb;
    int rc;
    b->len = 0;

    if (looks_like_time(p, start)) {
        rc = parse_time(p, b);
        if (rc)
            return rc;
        type = UFRPC_CV_TIME_LOCAL;
    } else {
        if (!digits_at(p, start, 4) || p->s[start + 4] != '-' || !digits_at(p, start + 5, 2) ||
            start + 7 >= p->n || p->s[start + 7] != '-' || !digits_at(p, start + 8, 2))
            return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid date (expected YYYY-MM-DD)");
        int y = num_at(p, start, 4), m = num_at(p, start + 5, 2), d = num_at(p, start + 8, 2);
        if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
            return ufrpc__toml_fail_at(p, start, UFRPC_ERR_CONFIG_VALUE, "date out of range");
        if (ufrpc__toml_buf_put(b, p->s + start, 10))
            return nomem(p);
        p->i = start + 10;
        type = UFRPC_CV_DATE_LOCAL;
        bool has_time = false;
        if (p->i < p->n && (p->s[p->i] == 'T' || p->s[p->i] == 't')) {
            has_time = true;
        } else if (p->i < p->n && p->s[p->i] == ' ' && looks_like_time(p, p->i + 1)) {
            has_time = true;
        }
        if (has_time) {
            p->i++;
            if (ufrpc__toml_buf_put(b, "T", 1))
                return nomem(p);
            rc = parse_time(p, b);
            if (rc)
                return rc;
            type = UFRPC_CV_DATETIME_LOCAL;
            if (p->i < p->n && (p->s[p->i] == 'Z' || p->s[p->i] == 'z')) {
                p->i++;
                if (ufrpc__toml_buf_put(b, "Z", 1))
                    return nomem(p);
                type = UFRPC_CV_DATETIME;
            } else if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) {
                size_t o = p->i;
                if (!digits_at(p, o + 1, 2) || o + 3 >= p->n || p->s[o + 3] != ':' ||
                    !digits_at(p, o + 4, 2))
                    return ufrpc__toml_fail_at(p, o, E_SYNTAX, "invalid time offset (expected +HH:MM)");
                if (num_at(p, o + 1, 2) > 23 || num_at(p, o + 4, 2) > 59)
                    return ufrpc__toml_fail_at(p, o, UFRPC_ERR_CONFIG_VALUE, "time offset out of range");
                if (ufrpc__toml_buf_put(b, p->s + o, 6))
                    return nomem(p);
                p->i = o + 6;
                type = UFRPC_CV_DATETIME;
            }
        }
    }
    *out = ufrpc_cv_new_string(p->mem, type, b->data, b->len, pos);
    return *out ? 0 : nomem(p);
}

int ufrpc__toml_parse_scalar(struct toml_parser *p, ufrpc_cv **out)
{
    size_t start = p->i;
    const char *s = p->s;
    *out = NULL;
    if (looks_like_date(p, start) || looks_like_time(p, start))
        return parse_datetime(p, out);
    size_t k = start;
    while (k < p->n && is_tok_char((unsigned char)s[k]))
        k++;
    if (k == start)
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "expected a value");
    if ((k - start == 4 && memcmp(s + start, "true", 4) == 0) ||
        (k - start == 5 && memcmp(s + start, "false", 5) == 0)) {
        p->i = k;
        *out = ufrpc_cv_new_bool(p->mem, s[start] == 't', ufrpc__toml_pos_at(p, start));
        return *out ? 0 : nomem(p);
    }
    if (!is_digit((unsigned char)s[start]) && s[start] != '+' && s[start] != '-' &&
        s[start] != 'i' && s[start] != 'n')
        return ufrpc__toml_fail_at(p, start, E_SYNTAX, "invalid value '%.*s'",
                            (int)(k - start > 40 ? 40 : k - start), s + start);
    int rc = parse_number(p, start, k, out);
    if (rc == 0)
        p->i = k;
    return rc;
}
