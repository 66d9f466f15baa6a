/* JSON config reader. json-c validates; a light scan builds the positioned tree.
 * See config/json_reader.h. */
#include "config/json_reader.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto/error.h"

struct jscan {
    const struct ufrpc_mem *mem; /* the parse's and the tree's allocator */
    const char *s;
    size_t n, i;
    const char *file;
    struct ufrpc_cfg_error *err;
    uint32_t line;
    size_t line_start;
    size_t cc_pos; /* column cache on the current line */
    uint32_t cc_col;
    char *buf; /* scratch for decoded strings */
    size_t blen, bcap;
};

static uint32_t col_of(struct jscan *j, size_t at)
{
    size_t from = j->line_start;
    uint32_t c = 1;
    if (j->cc_pos >= j->line_start && j->cc_pos <= at) {
        from = j->cc_pos;
        c = j->cc_col;
    }
    for (size_t k = from; k < at && k < j->n; k++)
        if (((unsigned char)j->s[k] & 0xC0) != 0x80)
            c++;
    j->cc_pos = at;
    j->cc_col = c;
    return c;
}

static int fail(struct jscan *j, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct jscan *j, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ufrpc_cfg_fail(j->err, code, j->file, j->line, col_of(j, j->i), "%s", msg);
}

static void skip_ws(struct jscan *j)
{
    while (j->i < j->n) {
        char c = j->s[j->i];
        if (c == '\n') {
            j->line++;
            j->line_start = j->i + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        j->i++;
    }
}

static int put(struct jscan *j, const char *d, size_t n)
{
    if (j->bcap - j->blen <= n) {
        size_t cap = j->bcap ? j->bcap : 64;
        while (cap - j->blen <= n)
            cap *= 2;
        char *b = ufrpc_mem_realloc(j->mem, j->buf, cap);
        if (b == NULL)
            return fail(j, UFRPC_ERR_NOMEM, "out of memory");
        j->buf = b;
        j->bcap = cap;
    }
    memcpy(j->buf + j->blen, d, n);
    j->blen += n;
    j->buf[j->blen] = '\0';
    return 0;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = (*v << 4) | (uint32_t)d;
    }
    return 0;
}

/* Decodes the string at the cursor (json-c already validated it) into j->buf. */
static int scan_string(struct jscan *j)
{
    j->blen = 0;
    if (put(j, "", 0))
        return UFRPC_ERR_NOMEM;
    if (j->i >= j->n || j->s[j->i] != '"')
        return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "expected a string");
    j->i++;
    while (j->i < j->n && j->s[j->i] != '"') {
        size_t k = j->i;
        while (k < j->n && j->s[k] != '"' && j->s[k] != '\\' && (unsigned char)j->s[k] >= 0x20)
            k++;
        if (k < j->n && (unsigned char)j->s[k] < 0x20) {
            j->i = k;
            return fail(j, UFRPC_ERR_CONFIG_SYNTAX,
                        "control character U+%04X in string (must be escaped)", j->s[k]);
        }
        if (put(j, j->s + j->i, k - j->i))
            return UFRPC_ERR_NOMEM;
        j->i = k;
        if (k >= j->n || j->s[k] == '"')
            break;
        if (k + 1 >= j->n)
            return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "bad escape");
        char e = j->s[k + 1], o;
        j->i = k + 2;
        switch (e) {
        case 'b': o = '\b'; break;
        case 'f': o = '\f'; break;
        case 'n': o = '\n'; break;
        case 'r': o = '\r'; break;
        case 't': o = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (j->n - j->i < 4 || hex4(j->s + j->i, &cp))
                return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "bad \\u escape");
            j->i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->n - j->i >= 6 && j->s[j->i] == '\\' &&
                j->s[j->i + 1] == 'u' && hex4(j->s + j->i + 2, &lo) == 0 && lo >= 0xDC00 &&
                lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* lone surrogate: Go substitutes U+FFFD */
            }
            char u[4];
            size_t un;
            if (cp < 0x80) {
                u[0] = (char)cp, un = 1;
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), un = 2;
            } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F)), un = 3;
            } else {
                u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), un = 4;
            }
            if (put(j, u, un))
                return UFRPC_ERR_NOMEM;
            continue;
        }
        default: o = e; break; /* " \ / */
        }
        if (put(j, &o, 1))
            return UFRPC_ERR_NOMEM;
    }
    if (j->i >= j->n)
        return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "unterminated string");
    j->i++;
    return 0;
}

/* *out = NULL for JSON null. */
static int scan_value(struct jscan *j, int depth, ufrpc_cv **out)
{
    *out = NULL;
    skip_ws(j);
    if (depth > UFRPC_JSON_MAX_DEPTH)
        return fail(j, UFRPC_ERR_CONFIG_DEPTH, "nesting deeper than %d levels", UFRPC_JSON_MAX_DEPTH);
    if (j->i >= j->n)
        return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "expected a value");
    ufrpc_cv_pos pos = {j->file, j->line, col_of(j, j->i)};
    char c = j->s[j->i];
    int rc;
    if (c == '{') {
        ufrpc_cv *t = ufrpc_cv_new(j->mem, UFRPC_CV_TABLE, pos);
        if (t == NULL)
            return fail(j, UFRPC_ERR_NOMEM, "out of memory");
        j->i++;
        skip_ws(j);
        if (j->i < j->n && j->s[j->i] == '}') {
            j->i++;
            *out = t;
            return 0;
        }
        for (;;) {
            skip_ws(j);
            rc = scan_string(j);
            if (rc)
                goto tfail;
            char *key = ufrpc_mem_malloc(j->mem, j->blen + 1);
            size_t klen = j->blen;
            if (key == NULL) {
                rc = fail(j, UFRPC_ERR_NOMEM, "out of memory");
                goto tfail;
            }
            memcpy(key, j->buf, klen + 1);
            skip_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':') {
                ufrpc_mem_free(j->mem, key);
                rc = fail(j, UFRPC_ERR_CONFIG_SYNTAX, "expected ':'");
                goto tfail;
            }
            j->i++;
            ufrpc_cv *v;
            rc = scan_value(j, depth + 1, &v);
            if (rc == 0 && v != NULL && ufrpc_cv_append(t, key, klen, v) != 0) {
                ufrpc_cv_free(v);
                rc = fail(j, UFRPC_ERR_NOMEM, "out of memory");
            }
            ufrpc_mem_free(j->mem, key);
            if (rc)
                goto tfail;
            skip_ws(j);
            if (j->i < j->n && j->s[j->i] == ',') {
                j->i++;
                continue;
            }
            if (j->i < j->n && j->s[j->i] == '}') {
                j->i++;
                break;
            }
            rc = fail(j, UFRPC_ERR_CONFIG_SYNTAX, "expected ',' or '}'");
            goto tfail;
        }
        if (ufrpc_cv_dedupe(t, true, NULL) != 0) {
            rc = fail(j, UFRPC_ERR_NOMEM, "out of memory");
            goto tfail;
        }
        *out = t;
        return 0;
    tfail:
        ufrpc_cv_free(t);
        return rc;
    }
    if (c == '[') {
        ufrpc_cv *a = ufrpc_cv_new(j->mem, UFRPC_CV_ARRAY, pos);
        if (a == NULL)
            return fail(j, UFRPC_ERR_NOMEM, "out of memory");
        j->i++;
        skip_ws(j);
        if (j->i < j->n && j->s[j->i] == ']') {
            j->i++;
            *out = a;
            return 0;
        }
        for (;;) {
            ufrpc_cv *v;
            skip_ws(j);
            size_t at = j->i;
            rc = scan_value(j, depth + 1, &v);
            if (rc == 0 && v == NULL) {
                j->i = at;
                rc = fail(j, UFRPC_ERR_CONFIG_VALUE, "null is not allowed in an array");
            }
            if (rc == 0 && ufrpc_cv_push(a, v) != 0) {
                ufrpc_cv_free(v);
                rc = fail(j, UFRPC_ERR_NOMEM, "out of memory");
            }
            if (rc) {
                ufrpc_cv_free(a);
                return rc;
            }
            skip_ws(j);
            if (j->i < j->n && j->s[j->i] == ',') {
                j->i++;
                continue;
            }
            if (j->i < j->n && j->s[j->i] == ']') {
                j->i++;
                break;
            }
            ufrpc_cv_free(a);
            return fail(j, UFRPC_ERR_CONFIG_SYNTAX, "expected ',' or ']'");
        }
        *out = a;
        return 0;
    }
    if (c == '"') {
        rc = scan_string(j);
        if (rc)
            return rc;
        *out = ufrpc_cv_new_string(j->mem, UFRPC_CV_STRING, j->buf, j->blen, pos);
        return *out ? 0 : fail(j, UFRPC_ERR_NOMEM, "out of memory");
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "true", 4) == 0) {
        j->i += 4;
        *out = ufrpc_cv_new_bool(j->mem, true, pos);
        return *out ? 0 : fail(j, UFRPC_ERR_NOMEM, "out of memory");
    }
    if (j->n - j->i >= 5 && memcmp(j->s + j->i, "false", 5) == 0) {
        j->i += 5;
        *out = ufrpc_cv_new_bool(j->mem, false, pos);
        return *out ? 0 : fail(j, UFRPC_ERR_NOMEM, "out of memory");
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "null", 4) == 0) {
        j->i += 4;
        return 0;
    }
    /* number: -?int frac? exp? (json-c validated the grammar) */
    size_t k = j->i;
    bool is_float = false;
    while (k < j->n && strchr("+-0123456789.eE", j->s[k]) != NULL && j->s[k] != '\0') {
        if (j->s[k] == '.' || j->s[k] == 'e' || j->s[k] == 'E')
            is_float = true;
        k++;
    }
    char num[128];
    if (k == j->i || k - j->i >= sizeof num)
        return fail(j, UFRPC_ERR_CONFIG_SYNTAX, k == j->i ? "expected a value" : "number too long");
    memcpy(num, j->s + j->i, k - j->i);
    num[k - j->i] = '\0';
    char *end;
    errno = 0;
    if (is_float) {
        double f = strtod(num, &end);
        if (*end != '\0' || (errno == ERANGE && isinf(f)))
            return fail(j, UFRPC_ERR_CONFIG_VALUE, "number %s out of range", num);
        *out = ufrpc_cv_new_float(j->mem, f, pos);
    } else {
        long long v = strtoll(num, &end, 10);
        if (*end != '\0' || errno == ERANGE)
            return fail(j, UFRPC_ERR_CONFIG_VALUE, "integer %s does not fit in 64 bits", num);
        *out = ufrpc_cv_new_integer(j->mem, (int64_t)v, pos);
    }
    j->i = k;
    return *out ? 0 : fail(j, UFRPC_ERR_NOMEM, "out of memory");
}

/* End of the first top-level value when it is an object or array (one past its
 * closing bracket), by bracket depth outside strings; len when it does not close.
 * Only used to hide what follows from json-c, which validates the value itself. */
static size_t first_value_end(const char *s, size_t len)
{
    size_t depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (depth <= 1)
                return i + 1;
            depth--;
        }
    }
    return len;
}

static int json_read(const struct ufrpc_mem *mem, const char *text, size_t len,
                     const char *file_name, ufrpc_cv **out, struct ufrpc_cfg_error *err,
                     struct ufrpc_cfg_error *trailing)
{
    struct jscan j = {.mem = ufrpc_mem_or_default(mem), .s = text, .n = len, .file = file_name, .err = err, .line = 1, .cc_col = 1};
    *out = NULL;
    if (len > INT_MAX)
        return ufrpc_cfg_fail(err, UFRPC_ERR_CONFIG_VALUE, file_name, 0, 0, "file too large");
    if (text == NULL)
        text = j.s = "";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 BOM */
        text += 3;
        len -= 3;
        j.s = text;
        j.n = len;
    }

    /* 1. json-c decides validity and the error location. */
    struct json_tokener *tok = json_tokener_new_ex(UFRPC_JSON_MAX_DEPTH);
    if (tok == NULL)
        return ufrpc_cfg_fail(err, UFRPC_ERR_NOMEM, file_name, 0, 0, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    size_t jlen = first_value_end(text, len);
    json_object *o = json_tokener_parse_ex(tok, text, (int)jlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (o == NULL && jerr == json_tokener_continue) {
        /* incomplete at EOF: feed a terminator so json-c finishes a bare number */
        o = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (o == NULL)
            end = jlen;
        if (jerr == json_tokener_continue)
            jerr = json_tokener_error_parse_eof;
    }
    json_tokener_free(tok);
    int is_obj = o != NULL && json_object_is_type(o, json_type_object);
    json_object_put(o);
    if (jerr != json_tokener_success) {
        if (end > len)
            end = len;
        for (size_t k = 0; k < end; k++)
            if (text[k] == '\n') {
                j.line++;
                j.line_start = k + 1;
            }
        j.i = end;
        int code = jerr == json_tokener_error_depth ? UFRPC_ERR_CONFIG_DEPTH
                   : jerr == json_tokener_error_parse_utf8_string ? UFRPC_ERR_CONFIG_ENCODING
                                                                   : UFRPC_ERR_CONFIG_SYNTAX;
        if (jerr == json_tokener_error_depth)
            return fail(&j, code, "nesting deeper than %d levels", UFRPC_JSON_MAX_DEPTH);
        return fail(&j, code, "invalid JSON: %s", json_tokener_error_desc(jerr));
    }
    /* trailing non-whitespace */
    j.i = 0;
    skip_ws(&j);
    if (!is_obj) {
        return fail(&j, UFRPC_ERR_CONFIG_SYNTAX, "the top-level JSON value must be an object");
    }

    /* 2. build the positioned tree */
    ufrpc_cv *root = NULL;
    int rc = scan_value(&j, 1, &root);
    if (rc == 0) {
        skip_ws(&j);
        if (j.i < j.n) {
            if (trailing == NULL)
                rc = fail(&j, UFRPC_ERR_CONFIG_SYNTAX, "unexpected text after the JSON object");
            else
                ufrpc_cfg_fail(trailing, UFRPC_ERR_CONFIG_SYNTAX, file_name, j.line, col_of(&j, j.i),
                               "text after the JSON object ignored");
        }
    }
    ufrpc_mem_free(j.mem, j.buf);
    if (rc) {
        ufrpc_cv_free(root);
        return rc;
    }
    *out = root;
    return 0;
}

int ufrpc_json_read(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                    struct ufrpc_cfg_error *err)
{
    return json_read(NULL, text, len, file_name, out, err, NULL);
}

int ufrpc_json_read_mem(const struct ufrpc_mem *mem, const char *text, size_t len,
                        const char *file_name, ufrpc_cv **out, struct ufrpc_cfg_error *err,
                        struct ufrpc_cfg_error *trailing)
{
    if (trailing != NULL)
        trailing->code = 0;
    return json_read(mem, text, len, file_name, out, err, trailing);
}

int ufrpc_json_read_first(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                          struct ufrpc_cfg_error *err, struct ufrpc_cfg_error *trailing)
{
    trailing->code = 0;
    return json_read(NULL, text, len, file_name, out, err, trailing);
}
