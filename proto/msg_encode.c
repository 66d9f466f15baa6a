/* Message → JSON exactly as Go's encoding/json writes frp's structs (see msg.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/frame_v2.h"
#include "proto/msg.h"
#include "proto/msg_schema.h"

static void jb_reserve(struct ufrpc_jbuf *b, size_t extra)
{
    if (b->err != 0)
        return;
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->err = UFRPC_ERR_NOMEM;
            return;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->err = UFRPC_ERR_NOMEM;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void jb_put(struct ufrpc_jbuf *b, const char *s, size_t n)
{
    jb_reserve(b, n);
    if (b->err != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_puts(struct ufrpc_jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

static void jb_putc(struct ufrpc_jbuf *b, char c)
{
    jb_put(b, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point, or 0
 * if the bytes there are not valid UTF-8 (Go's utf8.DecodeRuneInString rules). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static void jb_str(struct ufrpc_jbuf *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *)(str == NULL ? "" : str);
    size_t n = strlen((const char *)s);
    jb_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            size_t j = i + 1;
            while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\' &&
                   s[j] != '<' && s[j] != '>' && s[j] != '&')
                j++;
            jb_put(b, (const char *)s + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            switch (c) {
            case '"':
                jb_put(b, "\\\"", 2);
                break;
            case '\\':
                jb_put(b, "\\\\", 2);
                break;
            case '\n':
                jb_put(b, "\\n", 2);
                break;
            case '\r':
                jb_put(b, "\\r", 2);
                break;
            case '\t':
                jb_put(b, "\\t", 2);
                break;
            case '\b':
                jb_put(b, "\\b", 2);
                break;
            case '\f':
                jb_put(b, "\\f", 2);
                break;
            default: /* other controls and < > & */
                jb_put(b, esc, 6);
                break;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0) {
            jb_put(b, "\\ufffd", 6);
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            jb_put(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += len;
        } else {
            jb_put(b, (const char *)s + i, len);
            i += len;
        }
    }
    jb_putc(b, '"');
}

void ufrpc_jbuf_put(struct ufrpc_jbuf *b, const char *s, size_t n)
{
    jb_put(b, s, n);
}

void ufrpc_jbuf_str(struct ufrpc_jbuf *b, const char *s)
{
    jb_str(b, s);
}

static void jb_i64(struct ufrpc_jbuf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    jb_put(b, tmp, (size_t)n);
}

static int cmp_kv(const void *a, const void *b)
{
    const struct ufrpc_kv *x = *(const struct ufrpc_kv *const *)a;
    const struct ufrpc_kv *y = *(const struct ufrpc_kv *const *)b;
    return strcmp(x->key, y->key);
}

static void jb_map(struct ufrpc_jbuf *b, const struct ufrpc_map *m)
{
    const struct ufrpc_kv **sorted = malloc(m->n * sizeof *sorted);
    if (sorted == NULL) {
        b->err = UFRPC_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        sorted[i] = &m->items[i];
    qsort(sorted, m->n, sizeof *sorted, cmp_kv);
    jb_putc(b, '{');
    for (size_t i = 0; i < m->n; i++) {
        if (i > 0)
            jb_putc(b, ',');
        jb_str(b, sorted[i]->key);
        jb_putc(b, ':');
        jb_str(b, sorted[i]->value);
    }
    jb_putc(b, '}');
    free(sorted);
}

static void jb_bytes(struct ufrpc_jbuf *b, const struct ufrpc_bytes *v)
{
    size_t n = ufrpc_base64_encoded_len(v->len);
    jb_reserve(b, n + 2);
    if (b->err != 0)
        return;
    b->p[b->len++] = '"';
    b->len += ufrpc_base64_encode(v->data, v->len, b->p + b->len);
    b->p[b->len++] = '"';
    b->p[b->len] = '\0';
}

static bool field_empty(const struct ufrpc_msg_field *f, const char *p)
{
    switch (f->kind) {
    case MSG_FK_STR: {
        const char *s = *(char *const *)(const void *)p;
        return s == NULL || *s == '\0';
    }
    case MSG_FK_I64:
        return *(const int64_t *)(const void *)p == 0;
    case MSG_FK_U16:
        return *(const uint16_t *)(const void *)p == 0;
    case MSG_FK_BOOL:
        return !*(const bool *)(const void *)p;
    case MSG_FK_MAP:
        return ((const struct ufrpc_map *)(const void *)p)->n == 0;
    case MSG_FK_STRV:
        return ((const struct ufrpc_strv *)(const void *)p)->n == 0;
    case MSG_FK_BYTES:
        return ((const struct ufrpc_bytes *)(const void *)p)->len == 0;
    case MSG_FK_PORTS:
        return ((const struct ufrpc_port_ranges *)(const void *)p)->n == 0;
    case MSG_FK_OBJ_PTR:
        return *(char *const *)(const void *)p == NULL;
    default: /* Go never omits struct values */
        return false;
    }
}

void ufrpc_msg_schema_encode(struct ufrpc_jbuf *b, const struct ufrpc_msg_schema *s,
                             const char *base)
{
    bool first = true;
    jb_putc(b, '{');
    for (size_t i = 0; i < s->n; i++) {
        const struct ufrpc_msg_field *f = &s->fields[i];
        const char *p = base + f->off;
        if (f->kind == MSG_FK_OBJ_PTR && *(char *const *)(const void *)p == NULL)
            continue; /* a nil pointer is "null"; every pointer field is omitempty */
        if (f->omitempty && field_empty(f, p))
            continue;
        if (!first)
            jb_putc(b, ',');
        first = false;
        jb_str(b, f->name);
        jb_putc(b, ':');
        switch (f->kind) {
        case MSG_FK_STR:
            jb_str(b, *(char *const *)(const void *)p);
            break;
        case MSG_FK_I64:
            jb_i64(b, *(const int64_t *)(const void *)p);
            break;
        case MSG_FK_U16:
            jb_i64(b, *(const uint16_t *)(const void *)p);
            break;
        case MSG_FK_BOOL:
            jb_puts(b, *(const bool *)(const void *)p ? "true" : "false");
            break;
        case MSG_FK_MAP:
            jb_map(b, (const struct ufrpc_map *)(const void *)p);
            break;
        case MSG_FK_STRV: {
            const struct ufrpc_strv *v = (const struct ufrpc_strv *)(const void *)p;
            jb_putc(b, '[');
            for (size_t k = 0; k < v->n; k++) {
                if (k > 0)
                    jb_putc(b, ',');
                jb_str(b, v->items[k]);
            }
            jb_putc(b, ']');
            break;
        }
        case MSG_FK_BYTES:
            jb_bytes(b, (const struct ufrpc_bytes *)(const void *)p);
            break;
        case MSG_FK_OBJ:
            ufrpc_msg_schema_encode(b, f->sub, p);
            break;
        case MSG_FK_OBJ_PTR:
            ufrpc_msg_schema_encode(b, f->sub, *(char *const *)(const void *)p);
            break;
        case MSG_FK_PORTS: {
            const struct ufrpc_port_ranges *r = (const struct ufrpc_port_ranges *)(const void *)p;
            jb_putc(b, '[');
            for (size_t k = 0; k < r->n; k++) {
                if (k > 0)
                    jb_putc(b, ',');
                ufrpc_msg_schema_encode(b, ufrpc_msg_schema_port_range(),
                                        (const char *)&r->items[k]);
            }
            jb_putc(b, ']');
            break;
        }
        default:
            break;
        }
    }
    jb_putc(b, '}');
}

int ufrpc_msg_encode_json(const struct ufrpc_msg *m, char **out, size_t *len)
{
    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (m == NULL || out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    const struct ufrpc_msg_schema *s = ufrpc_msg_schema_of(m->type);
    if (s == NULL)
        return UFRPC_ERR_MSG_TYPE;
    struct ufrpc_jbuf b = {NULL, 0, 0, 0};
    ufrpc_msg_schema_encode(&b, s, (const char *)&m->u);
    if (b.err != 0) {
        free(b.p);
        return b.err;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

int ufrpc_msg_encode_frame(const struct ufrpc_msg *m, uint8_t **out, size_t *len)
{
    char *json = NULL;
    size_t jlen = 0;
    if (out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_msg_encode_json(m, &json, &jlen);
    if (rc != 0)
        return rc;
    rc = ufrpc_frame_encode_alloc(m->type, json, jlen, out, len);
    free(json);
    return rc;
}

int ufrpc_msg_encode_frame_v2(const struct ufrpc_msg *m, uint8_t **out, size_t *len)
{
    char *json = NULL;
    size_t jlen = 0;
    if (out == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_msg_encode_json(m, &json, &jlen);
    if (rc != 0)
        return rc;
    rc = ufrpc_frame_v2_encode_message_alloc(m->type, json, jlen, out, len);
    free(json);
    return rc;
}
