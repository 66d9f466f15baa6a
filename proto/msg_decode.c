/* JSON → message, with Go encoding/json's decoding rules (see msg.h). json-c parses;
 * the field tables in msg.c say where each value goes. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "proto/base64.h"
#include "proto/error.h"
#include "proto/msg.h"
#include "proto/msg_schema.h"

static int decode_obj(const struct ufrpc_msg_schema *s, char *base, struct json_object *o);

/* Copies a JSON string value (NULL JSON = "") into a fresh NUL-terminated string. */
static int dup_string(struct json_object *v, char **out)
{
    if (v == NULL) {
        *out = strdup("");
        return *out == NULL ? UFRPC_ERR_NOMEM : 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return UFRPC_ERR_JSON_TYPE;
    int len = json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len < 0 || s == NULL)
        return UFRPC_ERR_JSON;
    if (memchr(s, '\0', (size_t)len) != NULL)
        return UFRPC_ERR_JSON_TYPE;
    char *copy = malloc((size_t)len + 1);
    if (copy == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(copy, s, (size_t)len);
    copy[len] = '\0';
    *out = copy;
    return 0;
}

/* An exact JSON integer in [min, max]. json-c saturates out-of-range literals to
 * INT64_MIN / UINT64_MAX, so INT64_MIN itself is refused as out of range. */
static int get_int(struct json_object *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return UFRPC_ERR_JSON_TYPE;
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return UFRPC_ERR_JSON_RANGE;
    if (x == INT64_MIN || x < min || x > max)
        return UFRPC_ERR_JSON_RANGE;
    *out = x;
    return 0;
}

static int decode_map(struct ufrpc_map *m, struct json_object *o)
{
    if (!json_object_is_type(o, json_type_object))
        return UFRPC_ERR_JSON_TYPE;
    /* Go keeps existing entries of a non-nil map and overwrites equal keys. */
    json_object_object_foreach(o, key, val)
    {
        char *v;
        int rc = dup_string(val, &v);
        if (rc != 0)
            return rc;
        rc = ufrpc_map_set(m, key, v);
        free(v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_strv(struct ufrpc_strv *out, struct json_object *a)
{
    if (!json_object_is_type(a, json_type_array))
        return UFRPC_ERR_JSON_TYPE;
    size_t n = json_object_array_length(a);
    struct ufrpc_strv v = {NULL, 0};
    int rc = 0;
    if (n > 0) {
        v.items = calloc(n, sizeof *v.items);
        if (v.items == NULL)
            return UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (e != NULL && json_object_is_type(e, json_type_null))
            e = NULL;
        rc = dup_string(e, &v.items[i]);
        if (rc == 0)
            v.n++;
    }
    if (rc != 0) {
        for (size_t i = 0; i < v.n; i++)
            free(v.items[i]);
        free(v.items);
        return rc;
    }
    /* Go resets a slice before filling it from a JSON array. */
    for (size_t i = 0; i < out->n; i++)
        free(out->items[i]);
    free(out->items);
    *out = v;
    return 0;
}

static int decode_bytes(struct ufrpc_bytes *out, struct json_object *v)
{
    if (!json_object_is_type(v, json_type_string))
        return UFRPC_ERR_JSON_TYPE;
    int len = json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len < 0 || s == NULL)
        return UFRPC_ERR_JSON;
    uint8_t *buf = malloc(ufrpc_base64_decoded_max((size_t)len));
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    long n = ufrpc_base64_decode(s, (size_t)len, buf);
    if (n < 0) {
        free(buf);
        return (int)n;
    }
    if (n == 0) {
        free(buf);
        buf = NULL;
    }
    free(out->data);
    out->data = buf;
    out->len = (size_t)n;
    return 0;
}

static int decode_ports(struct ufrpc_port_ranges *out, struct json_object *a)
{
    if (!json_object_is_type(a, json_type_array))
        return UFRPC_ERR_JSON_TYPE;
    size_t n = json_object_array_length(a);
    struct ufrpc_port_range *items = NULL;
    if (n > 0) {
        items = calloc(n, sizeof *items);
        if (items == NULL)
            return UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = decode_obj(ufrpc_msg_schema_port_range(), (char *)&items[i],
                            json_object_array_get_idx(a, i));
        if (rc != 0) {
            free(items);
            return rc;
        }
    }
    free(out->items);
    out->items = items;
    out->n = n;
    return 0;
}

static int decode_field(const struct ufrpc_msg_field *f, char *p, struct json_object *v)
{
    int rc;
    int64_t x;
    switch (f->kind) {
    case MSG_FK_STR: {
        char *s;
        rc = dup_string(v, &s);
        if (rc == 0) {
            char **sp = (char **)(void *)p;
            free(*sp);
            *sp = s;
        }
        return rc;
    }
    case MSG_FK_I64:
        rc = get_int(v, INT64_MIN, INT64_MAX, &x);
        if (rc == 0)
            *(int64_t *)(void *)p = x;
        return rc;
    case MSG_FK_U16:
        rc = get_int(v, 0, UINT16_MAX, &x);
        if (rc == 0)
            *(uint16_t *)(void *)p = (uint16_t)x;
        return rc;
    case MSG_FK_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return UFRPC_ERR_JSON_TYPE;
        *(bool *)(void *)p = json_object_get_boolean(v) != 0;
        return 0;
    case MSG_FK_MAP:
        return decode_map((struct ufrpc_map *)(void *)p, v);
    case MSG_FK_STRV:
        return decode_strv((struct ufrpc_strv *)(void *)p, v);
    case MSG_FK_BYTES:
        return decode_bytes((struct ufrpc_bytes *)(void *)p, v);
    case MSG_FK_OBJ:
        return decode_obj(f->sub, p, v);
    case MSG_FK_OBJ_PTR: {
        char **pp = (char **)(void *)p;
        if (!json_object_is_type(v, json_type_object))
            return UFRPC_ERR_JSON_TYPE;
        if (*pp == NULL) {
            *pp = calloc(1, f->sub->size);
            if (*pp == NULL)
                return UFRPC_ERR_NOMEM;
        }
        return decode_obj(f->sub, *pp, v);
    }
    case MSG_FK_PORTS:
        return decode_ports((struct ufrpc_port_ranges *)(void *)p, v);
    default:
        return UFRPC_ERR_INVAL;
    }
}

/* Decodes object o into the struct at base (fields already hold values: Go merges).
 * NULL or JSON null leaves everything as it is. */
static int decode_obj(const struct ufrpc_msg_schema *s, char *base, struct json_object *o)
{
    if (o == NULL || json_object_is_type(o, json_type_null))
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return UFRPC_ERR_JSON_TYPE;
    json_object_object_foreach(o, key, val)
    {
        const struct ufrpc_msg_field *f = NULL;
        for (size_t i = 0; i < s->n && f == NULL; i++)
            if (strcasecmp(s->fields[i].name, key) == 0)
                f = &s->fields[i];
        if (f == NULL || val == NULL || json_object_is_type(val, json_type_null))
            continue;
        int rc = decode_field(f, base + f->off, val);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- strict RFC 8259 syntax check (json-c alone accepts single quotes, leading
 * zeros and more that Go rejects). Nesting is capped at MAX_DEPTH. */
#define MAX_DEPTH 32

struct scan {
    const char *s;
    size_t len, pos;
};

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->pos++;
    }
}

static int peek(const struct scan *sc)
{
    return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int scan_string(struct scan *sc)
{
    sc->pos++; /* opening quote */
    while (sc->pos < sc->len) {
        unsigned char c = (unsigned char)sc->s[sc->pos++];
        if (c == '"')
            return 0;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            int e = peek(sc);
            sc->pos++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, sc->pos++)
                    if (!is_hex(peek(sc)))
                        return -1;
            } else if (e < 0 || strchr("\"\\/bfnrt", e) == NULL) {
                return -1;
            }
        }
    }
    return -1;
}

static int scan_number(struct scan *sc)
{
    if (peek(sc) == '-')
        sc->pos++;
    if (peek(sc) == '0') {
        sc->pos++;
    } else if (is_digit(peek(sc))) {
        while (is_digit(peek(sc)))
            sc->pos++;
    } else {
        return -1;
    }
    if (peek(sc) == '.') {
        sc->pos++;
        if (!is_digit(peek(sc)))
            return -1;
        while (is_digit(peek(sc)))
            sc->pos++;
    }
    if (peek(sc) == 'e' || peek(sc) == 'E') {
        sc->pos++;
        if (peek(sc) == '+' || peek(sc) == '-')
            sc->pos++;
        if (!is_digit(peek(sc)))
            return -1;
        while (is_digit(peek(sc)))
            sc->pos++;
    }
    return 0;
}

static int scan_literal(struct scan *sc, const char *lit)
{
    size_t n = strlen(lit);
    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, lit, n) != 0)
        return -1;
    sc->pos += n;
    return 0;
}

static int scan_value(struct scan *sc, int depth)
{
    skip_ws(sc);
    int c = peek(sc);
    switch (c) {
    case '{':
    case '[': {
        int close = c == '{' ? '}' : ']';
        if (depth >= MAX_DEPTH)
            return -1;
        sc->pos++;
        skip_ws(sc);
        if (peek(sc) == close) {
            sc->pos++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(sc);
                if (peek(sc) != '"' || scan_string(sc) != 0)
                    return -1;
                skip_ws(sc);
                if (peek(sc) != ':')
                    return -1;
                sc->pos++;
            }
            if (scan_value(sc, depth + 1) != 0)
                return -1;
            skip_ws(sc);
            int d = peek(sc);
            sc->pos++;
            if (d == close)
                return 0;
            if (d != ',')
                return -1;
        }
    }
    case '"':
        return scan_string(sc);
    case 't':
        return scan_literal(sc, "true");
    case 'f':
        return scan_literal(sc, "false");
    case 'n':
        return scan_literal(sc, "null");
    default:
        return scan_number(sc);
    }
}

static int json_valid(const char *s, size_t len)
{
    struct scan sc = {s, len, 0};
    if (scan_value(&sc, 0) != 0)
        return 0;
    skip_ws(&sc);
    return sc.pos == len;
}

/* Parses exactly len bytes as one JSON value (surrounding whitespace allowed). The
 * result may be NULL for the literal null. */
static int parse_json(const char *json, size_t len, struct json_object **out)
{
    if (len > INT32_MAX - 1)
        return UFRPC_ERR_LIMIT;
    if (!json_valid(json, len))
        return UFRPC_ERR_JSON;
    if (len == 4 && memcmp(json, "null", 4) == 0) {
        *out = NULL; /* json-c would wait for more input after a bare literal */
        return 0;
    }
    struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH + 2);
    if (tok == NULL)
        return UFRPC_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        /* A NUL byte tells json-c the input has ended (e.g. "null " at top level). */
        o = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        json_object_put(o);
        return UFRPC_ERR_JSON;
    }
    *out = o;
    return 0;
}

int ufrpc_msg_decode(uint8_t type, const char *json, size_t len, struct ufrpc_msg *out)
{
    if (out == NULL || (json == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_msg_init(out, type);
    if (rc != 0)
        return rc;
    struct json_object *o = NULL;
    rc = parse_json(json == NULL ? "" : json, len, &o);
    if (rc != 0)
        return rc;
    rc = decode_obj(ufrpc_msg_schema_of(type), (char *)&out->u, o);
    json_object_put(o);
    if (rc != 0)
        ufrpc_msg_free(out);
    return rc;
}
