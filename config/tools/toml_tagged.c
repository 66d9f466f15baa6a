#include "config/tools/toml_tagged.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

/* Output buffer; rc keeps the first error, later writes are no-ops. */
struct tbuf {
    char *data;
    size_t len, cap;
    int rc;
};

static void put(struct tbuf *b, const char *s, size_t n)
{
    if (b->rc != 0 || n == 0)
        return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2) {
                b->rc = UFRPC_ERR_NOMEM;
                return;
            }
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->rc = UFRPC_ERR_NOMEM;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_(struct tbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct tbuf *b, int depth)
{
    static const char spaces[] = "                                ";
    size_t n = (size_t)depth * 2;
    put(b, "\n", 1);
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        put(b, spaces, k);
        n -= k;
    }
}

/* A JSON string of exactly len bytes: quotes, backslashes and every control
 * character (U+0000 included) escaped; other bytes (UTF-8) as they are. */
static void put_json_string(struct tbuf *b, const char *s, size_t len)
{
    put(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
            break;
        }
        if (esc == NULL)
            continue;
        put(b, s + run, i - run);
        puts_(b, esc);
        run = i + 1;
    }
    put(b, s + run, len - run);
    put(b, "\"", 1);
}

static void put_tagged(struct tbuf *b, const char *type, const char *value, size_t len, int depth)
{
    put(b, "{", 1);
    indent(b, depth + 1);
    puts_(b, "\"type\": ");
    put_json_string(b, type, strlen(type));
    put(b, ",", 1);
    indent(b, depth + 1);
    puts_(b, "\"value\": ");
    put_json_string(b, value, len);
    indent(b, depth);
    put(b, "}", 1);
}

static void put_value(struct tbuf *b, const ufrpc_cv *v, int depth)
{
    char num[64];
    if (b->rc != 0)
        return;
    if (depth > UFRPC_TOML_TAGGED_MAX_DEPTH) {
        b->rc = UFRPC_ERR_LIMIT;
        return;
    }
    switch (v->type) {
    case UFRPC_CV_TABLE:
        put(b, "{", 1);
        for (size_t i = 0; i < v->u.t.len; i++) {
            const ufrpc_cv_member *m = &v->u.t.items[i];
            if (i > 0)
                put(b, ",", 1);
            indent(b, depth + 1);
            put_json_string(b, m->key, m->key_len);
            puts_(b, ": ");
            put_value(b, m->value, depth + 1);
        }
        if (v->u.t.len > 0)
            indent(b, depth);
        put(b, "}", 1);
        return;
    case UFRPC_CV_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < v->u.a.len; i++) {
            if (i > 0)
                put(b, ",", 1);
            indent(b, depth + 1);
            put_value(b, v->u.a.items[i], depth + 1);
        }
        if (v->u.a.len > 0)
            indent(b, depth);
        put(b, "]", 1);
        return;
    case UFRPC_CV_INTEGER:
        snprintf(num, sizeof num, "%" PRId64, v->u.i);
        put_tagged(b, "integer", num, strlen(num), depth);
        return;
    case UFRPC_CV_FLOAT:
        if (isnan(v->u.f))
            snprintf(num, sizeof num, "nan");
        else if (isinf(v->u.f))
            snprintf(num, sizeof num, "%sinf", v->u.f < 0 ? "-" : "");
        else
            snprintf(num, sizeof num, "%.17g", v->u.f);
        put_tagged(b, "float", num, strlen(num), depth);
        return;
    case UFRPC_CV_BOOL:
        put_tagged(b, "bool", v->u.b ? "true" : "false", v->u.b ? 4 : 5, depth);
        return;
    case UFRPC_CV_STRING:
    case UFRPC_CV_DATETIME:
    case UFRPC_CV_DATETIME_LOCAL:
    case UFRPC_CV_DATE_LOCAL:
    case UFRPC_CV_TIME_LOCAL:
        put_tagged(b, ufrpc_cv_type_name(v->type), v->u.s.ptr != NULL ? v->u.s.ptr : "",
                   v->u.s.ptr != NULL ? v->u.s.len : 0, depth);
        return;
    }
    b->rc = UFRPC_ERR_INVAL;
}

int ufrpc_toml_tagged_json(const ufrpc_cv *v, char **out, size_t *out_len)
{
    struct tbuf b = {0};
    *out = NULL;
    *out_len = 0;
    if (v == NULL)
        return UFRPC_ERR_INVAL;
    put_value(&b, v, 0);
    put(&b, "\n", 1);
    if (b.rc != 0) {
        free(b.data);
        return b.rc;
    }
    *out = b.data;
    *out_len = b.len;
    return 0;
}
