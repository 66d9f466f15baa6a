/* TOML 1.0 reader: document structure, keys, tables and the redefinition rules.
 * Lexical pieces live in toml_scalar.c. See config/toml.h. */
#include "config/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml_internal.h"
#include "proto/error.h"

#define E_SYNTAX UFRPC_ERR_CONFIG_SYNTAX

/* parser_flags bits on TABLE / ARRAY nodes */
enum {
    F_EXPLICIT = 1u << 0, /* table defined by a [header] or a [[header]] element */
    F_DOTTED = 1u << 1,   /* table created by a dotted key */
    F_PENDING = 1u << 2,  /* ...in the [section] being parsed (still extendable) */
    F_FROZEN = 1u << 3,   /* inline table or static array: never extended */
    F_AOT = 1u << 4,      /* array created by [[header]] */
};

struct toml_map_slot {
    const ufrpc_cv *parent; /* NULL = empty slot */
    const char *key;        /* borrowed from the member in the tree */
    size_t key_len;
    ufrpc_cv *child;
    uint64_t hash;
};

/* ---- small utilities */

int ufrpc__toml_buf_put(struct toml_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->cap - b->len <= len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len <= len) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *d = ufrpc_mem_realloc(b->mem, b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static uint32_t col_of(struct toml_parser *p, size_t at)
{
    size_t from;
    uint32_t c;
    if (at < p->line_start)
        at = p->line_start;
    if (at > p->n)
        at = p->n;
    if (p->cc_line == p->line && p->cc_pos >= p->line_start && p->cc_pos <= at) {
        from = p->cc_pos;
        c = p->cc_col;
    } else {
        from = p->line_start;
        c = 1;
    }
    for (size_t k = from; k < at; k++)
        if (((unsigned char)p->s[k] & 0xC0) != 0x80)
            c++;
    p->cc_pos = at;
    p->cc_col = c;
    p->cc_line = p->line;
    return c;
}

ufrpc_cv_pos ufrpc__toml_pos_at(struct toml_parser *p, size_t at)
{
    ufrpc_cv_pos pos = {p->file, p->line, col_of(p, at)};
    return pos;
}

int ufrpc__toml_fail_at(struct toml_parser *p, size_t at, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ufrpc_cfg_fail(p->err, code, p->file, p->line, col_of(p, at), "%s", msg);
}

static int nomem(struct toml_parser *p)
{
    return ufrpc__toml_fail_at(p, p->i, UFRPC_ERR_NOMEM, "out of memory");
}

int ufrpc__toml_newline(struct toml_parser *p)
{
    if (p->i < p->n && p->s[p->i] == '\n') {
        p->i++;
    } else if (p->i < p->n && p->s[p->i] == '\r') {
        if (p->i + 1 >= p->n || p->s[p->i + 1] != '\n')
            return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "carriage return not followed by a newline");
        p->i += 2;
    } else {
        return 0;
    }
    p->line++;
    p->line_start = p->i;
    return 1;
}

static void skip_ws(struct toml_parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
        p->i++;
}

/* At '#': consumes the comment up to (not including) the newline. */
static int skip_comment(struct toml_parser *p)
{
    p->i++;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '\n' || (c == '\r' && p->i + 1 < p->n && p->s[p->i + 1] == '\n'))
            return 0;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "control character U+%04X in comment", c);
        p->i++;
    }
    return 0;
}

/* Whitespace, comments and newlines (inside arrays). */
static int skip_ws_nl(struct toml_parser *p)
{
    for (;;) {
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == '#') {
            int rc = skip_comment(p);
            if (rc)
                return rc;
        }
        int rc = ufrpc__toml_newline(p);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
    }
}

/* "<what>, found X" for the character at the cursor. */
static int unexpected(struct toml_parser *p, const char *what)
{
    if (p->i >= p->n)
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "%s, found end of file", what);
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '\n' || c == '\r')
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "%s, found end of line", what);
    if (c > 0x20 && c < 0x7f)
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "%s, found '%c'", what, c);
    if (c < 0x20 || c == 0x7f)
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "%s, found control character U+%04X", what, c);
    return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "%s, found a non-ASCII character", what);
}

/* After an expression: optional whitespace and comment, then newline or EOF. */
static int end_of_line(struct toml_parser *p)
{
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '#') {
        int rc = skip_comment(p);
        if (rc)
            return rc;
    }
    if (p->i >= p->n)
        return 0;
    int rc = ufrpc__toml_newline(p);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return unexpected(p, "expected a newline after the expression");
    return 0;
}

/* Validates UTF-8 (no overlongs, surrogates or > U+10FFFF). Returns the offset of
 * the first invalid sequence, or n. */
static size_t utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

/* ---- (parent, key) -> child hash index */

static uint64_t key_hash(const ufrpc_cv *parent, const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    return h;
}

static ufrpc_cv *map_get(struct toml_parser *p, const ufrpc_cv *parent, const char *k, size_t n)
{
    if (p->map_cap == 0)
        return NULL;
    uint64_t h = key_hash(parent, k, n);
    size_t mask = p->map_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct toml_map_slot *s = &p->map[i];
        if (s->parent == NULL)
            return NULL;
        if (s->hash == h && s->parent == parent && s->key_len == n && memcmp(s->key, k, n) == 0)
            return s->child;
    }
}

static void map_insert_slot(struct toml_map_slot *map, size_t cap, struct toml_map_slot s)
{
    size_t mask = cap - 1;
    size_t i = (size_t)s.hash & mask;
    while (map[i].parent != NULL)
        i = (i + 1) & mask;
    map[i] = s;
}

static int map_put(struct toml_parser *p, const ufrpc_cv *parent, const char *k, size_t n,
                   ufrpc_cv *child)
{
    if ((p->map_len + 1) * 2 > p->map_cap) {
        size_t cap = p->map_cap ? p->map_cap * 2 : 64;
        struct toml_map_slot *m = ufrpc_mem_calloc(p->mem, cap, sizeof *m);
        if (m == NULL)
            return -1;
        for (size_t i = 0; i < p->map_cap; i++)
            if (p->map[i].parent != NULL)
                map_insert_slot(m, cap, p->map[i]);
        ufrpc_mem_free(p->mem, p->map);
        p->map = m;
        p->map_cap = cap;
    }
    struct toml_map_slot s = {parent, k, n, child, key_hash(parent, k, n)};
    map_insert_slot(p->map, p->map_cap, s);
    p->map_len++;
    return 0;
}

/* Appends key -> child to table t (the caller checked it is absent). On success
 * t owns child; on failure the caller still does. */
static int table_add(struct toml_parser *p, ufrpc_cv *t, const char *k, size_t n, ufrpc_cv *child)
{
    if (t->u.t.len == t->u.t.cap) {
        size_t cap = t->u.t.cap ? t->u.t.cap * 2 : 8;
        ufrpc_cv_member *items = ufrpc_mem_realloc(t->mem, t->u.t.items, cap * sizeof *items);
        if (items == NULL)
            return nomem(p);
        t->u.t.items = items;
        t->u.t.cap = cap;
    }
    char *kc = ufrpc_mem_malloc(t->mem, n + 1);
    if (kc == NULL)
        return nomem(p);
    if (n)
        memcpy(kc, k, n);
    kc[n] = '\0';
    if (map_put(p, t, kc, n, child)) {
        ufrpc_mem_free(t->mem, kc);
        return nomem(p);
    }
    t->u.t.items[t->u.t.len++] = (ufrpc_cv_member){kc, n, child};
    return 0;
}

static int pending_add(struct toml_parser *p, ufrpc_cv *t)
{
    if (p->npending == p->cappending) {
        size_t cap = p->cappending ? p->cappending * 2 : 16;
        ufrpc_cv **v = ufrpc_mem_realloc(p->mem, p->pending, cap * sizeof *v);
        if (v == NULL)
            return nomem(p);
        p->pending = v;
        p->cappending = cap;
    }
    p->pending[p->npending++] = t;
    return 0;
}

/* ---- keys */

static bool is_bare(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* key = simple-key *( ws '.' ws simple-key ); the parts land in p->kb. */
static int parse_key(struct toml_parser *p)
{
    p->kb.len = 0;
    p->nkparts = 0;
    for (;;) {
        skip_ws(p);
        if (p->nkparts >= UFRPC_TOML_MAX_DEPTH)
            return ufrpc__toml_fail_at(p, p->i, UFRPC_ERR_CONFIG_DEPTH, "key has too many parts (max %d)",
                                UFRPC_TOML_MAX_DEPTH);
        size_t at = p->i;
        size_t off = p->kb.len;
        if (p->i < p->n && (p->s[p->i] == '"' || p->s[p->i] == '\'')) {
            int rc = ufrpc__toml_parse_string(p, &p->kb, false);
            if (rc)
                return rc;
        } else {
            size_t k = p->i;
            while (k < p->n && is_bare((unsigned char)p->s[k]))
                k++;
            if (k == p->i) {
                if (p->i >= p->n)
                    return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "expected a key, found end of file");
                return unexpected(p, "expected a key");
            }
            if (ufrpc__toml_buf_put(&p->kb, p->s + p->i, k - p->i))
                return nomem(p);
            p->i = k;
        }
        p->kpart_off[p->nkparts] = off;
        p->kpart_len[p->nkparts] = p->kb.len - off;
        p->kpart_pos[p->nkparts] = at;
        p->nkparts++;
        /* the buffer may hold NUL bytes inside keys: parts are tracked by offset */
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == '.') {
            p->i++;
            continue;
        }
        return 0;
    }
}

static void key_part(const struct toml_parser *p, size_t k, const char **s, size_t *n)
{
    *s = p->kb.data ? p->kb.data + p->kpart_off[k] : "";
    *n = p->kpart_len[k];
}

/* For messages: the part as printable text, every byte of it (a U+0000 or another
 * control character is written as the TOML escape \uXXXX, so that the key "a\u0000"
 * is not shown as "a"); cut with "..." when longer than the buffer. */
static const char *part_text(const struct toml_parser *p, size_t k, char *buf, size_t cap)
{
    const char *s;
    size_t n;
    key_part(p, k, &s, &n);
    size_t o = 0, i = 0;
    for (; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04X", c);
        else
            buf[o++] = (char)c;
    }
    if (i < n && cap > 4) {
        if (o > cap - 4) {
            o = cap - 4;
            while (o > 0 && ((unsigned char)buf[o] & 0xC0) == 0x80) /* not inside a character */
                o--;
        }
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* ---- values */

static int parse_value(struct toml_parser *p, int depth, ufrpc_cv **out);

/* Walks the first nkparts-1 parts of the current key from table t, creating
 * tables as needed, and returns the table that receives the last part.
 * inline_mode: inside an inline table, where every table reached by a dotted key
 * is one created by a dotted key of the same inline table. */
static int walk_dotted(struct toml_parser *p, ufrpc_cv *t, bool inline_mode, ufrpc_cv **parent)
{
    char kt[80];
    for (size_t k = 0; k + 1 < p->nkparts; k++) {
        const char *s;
        size_t n;
        key_part(p, k, &s, &n);
        ufrpc_cv *c = map_get(p, t, s, n);
        if (c == NULL) {
            c = ufrpc_cv_new(p->mem, UFRPC_CV_TABLE, ufrpc__toml_pos_at(p, p->kpart_pos[k]));
            if (c == NULL)
                return nomem(p);
            c->parser_flags = F_DOTTED | (inline_mode ? 0 : F_PENDING);
            if (table_add(p, t, s, n, c)) {
                ufrpc_cv_free(c);
                return UFRPC_ERR_NOMEM;
            }
            if (!inline_mode && pending_add(p, c))
                return UFRPC_ERR_NOMEM;
        } else if (c->type != UFRPC_CV_TABLE) {
            return ufrpc__toml_fail_at(p, p->kpart_pos[k], E_SYNTAX,
                                "key '%s' is already defined as %s and cannot hold keys",
                                part_text(p, k, kt, sizeof kt), ufrpc_cv_type_name(c->type));
        } else if (c->parser_flags & F_FROZEN) {
            return ufrpc__toml_fail_at(p, p->kpart_pos[k], E_SYNTAX,
                                "cannot add keys to inline table '%s'",
                                part_text(p, k, kt, sizeof kt));
        } else if (!inline_mode &&
                   ((c->parser_flags & F_EXPLICIT) ||
                    ((c->parser_flags & F_DOTTED) && !(c->parser_flags & F_PENDING)))) {
            return ufrpc__toml_fail_at(p, p->kpart_pos[k], UFRPC_ERR_CONFIG_DUPLICATE,
                                "table '%s' was defined elsewhere; dotted keys cannot extend it",
                                part_text(p, k, kt, sizeof kt));
        }
        t = c;
    }
    *parent = t;
    return 0;
}

/* key = value, with the key already parsed into p->kb; the cursor is after the
 * key. Inserts into table t. depth is t's depth. */
static int parse_keyval_into(struct toml_parser *p, ufrpc_cv *t, int depth, bool inline_mode)
{
    char kt[80];
    ufrpc_cv *parent = NULL;
    if (depth + (int)p->nkparts > UFRPC_TOML_MAX_DEPTH)
        return ufrpc__toml_fail_at(p, p->kpart_pos[0], UFRPC_ERR_CONFIG_DEPTH,
                            "nesting deeper than %d levels", UFRPC_TOML_MAX_DEPTH);
    if (p->i >= p->n || p->s[p->i] != '=')
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "expected '=' after key");
    int rc = walk_dotted(p, t, inline_mode, &parent);
    if (rc)
        return rc;
    size_t last = p->nkparts - 1;
    const char *s;
    size_t n;
    key_part(p, last, &s, &n);
    if (map_get(p, parent, s, n) != NULL)
        return ufrpc__toml_fail_at(p, p->kpart_pos[last], UFRPC_ERR_CONFIG_DUPLICATE,
                            "duplicate key '%s'", part_text(p, last, kt, sizeof kt));
    /* the value may parse other keys into p->kb: keep this one */
    char *key = ufrpc_mem_malloc(p->mem, n + 1);
    if (key == NULL)
        return nomem(p);
    if (n)
        memcpy(key, s, n);
    key[n] = '\0';
    int vdepth = depth + (int)p->nkparts;
    p->i++; /* '=' */
    skip_ws(p);
    ufrpc_cv *v = NULL;
    rc = parse_value(p, vdepth, &v);
    if (rc == 0) {
        rc = table_add(p, parent, key, n, v);
        if (rc)
            ufrpc_cv_free(v);
    }
    ufrpc_mem_free(p->mem, key);
    return rc;
}

static int parse_array(struct toml_parser *p, int depth, ufrpc_cv **out)
{
    ufrpc_cv *a = ufrpc_cv_new(p->mem, UFRPC_CV_ARRAY, ufrpc__toml_pos_at(p, p->i));
    if (a == NULL)
        return nomem(p);
    a->parser_flags = F_FROZEN;
    p->i++; /* '[' */
    int rc;
    for (;;) {
        rc = skip_ws_nl(p);
        if (rc)
            goto fail;
        if (p->i < p->n && p->s[p->i] == ']')
            break;
        ufrpc_cv *v = NULL;
        rc = parse_value(p, depth + 1, &v);
        if (rc)
            goto fail;
        if (ufrpc_cv_push(a, v)) {
            ufrpc_cv_free(v);
            rc = nomem(p);
            goto fail;
        }
        rc = skip_ws_nl(p);
        if (rc)
            goto fail;
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ']')
            break;
        rc = ufrpc__toml_fail_at(p, p->i, E_SYNTAX,
                          p->i >= p->n ? "unterminated array" : "expected ',' or ']' in array");
        goto fail;
    }
    p->i++; /* ']' */
    *out = a;
    return 0;
fail:
    ufrpc_cv_free(a);
    return rc;
}

static int parse_inline_table(struct toml_parser *p, int depth, ufrpc_cv **out)
{
    ufrpc_cv *t = ufrpc_cv_new(p->mem, UFRPC_CV_TABLE, ufrpc__toml_pos_at(p, p->i));
    if (t == NULL)
        return nomem(p);
    p->i++; /* '{' */
    int rc;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        goto done;
    }
    for (;;) {
        rc = parse_key(p);
        if (rc)
            goto fail;
        rc = parse_keyval_into(p, t, depth, true);
        if (rc)
            goto fail;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            skip_ws(p);
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            break;
        }
        if (p->i >= p->n)
            rc = ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "unterminated inline table");
        else if (p->s[p->i] == '\n' || p->s[p->i] == '\r')
            rc = ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "newline inside an inline table");
        else
            rc = ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "expected ',' or '}' in inline table");
        goto fail;
    }
done:
    t->parser_flags = F_FROZEN;
    *out = t;
    return 0;
fail:
    ufrpc_cv_free(t);
    return rc;
}

static int parse_value(struct toml_parser *p, int depth, ufrpc_cv **out)
{
    *out = NULL;
    if (depth > UFRPC_TOML_MAX_DEPTH)
        return ufrpc__toml_fail_at(p, p->i, UFRPC_ERR_CONFIG_DEPTH, "nesting deeper than %d levels",
                            UFRPC_TOML_MAX_DEPTH);
    if (p->i >= p->n)
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "expected a value, found end of file");
    char c = p->s[p->i];
    if (c == '"' || c == '\'') {
        ufrpc_cv_pos pos = ufrpc__toml_pos_at(p, p->i);
        p->sb.len = 0;
        int rc = ufrpc__toml_parse_string(p, &p->sb, true);
        if (rc)
            return rc;
        *out = ufrpc_cv_new_string(p->mem, UFRPC_CV_STRING, p->sb.data ? p->sb.data : "", p->sb.len, pos);
        return *out ? 0 : nomem(p);
    }
    if (c == '[')
        return parse_array(p, depth, out);
    if (c == '{')
        return parse_inline_table(p, depth, out);
    if (c == '\n' || c == '\r' || c == '#')
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, "expected a value after '='");
    return ufrpc__toml_parse_scalar(p, out);
}

/* ---- [table] and [[array of tables]] headers */

static void seal_pending(struct toml_parser *p)
{
    for (size_t k = 0; k < p->npending; k++)
        p->pending[k]->parser_flags &= ~(uint32_t)F_PENDING;
    p->npending = 0;
}

static int parse_header(struct toml_parser *p)
{
    char kt[80];
    size_t at = p->i;
    bool aot = p->i + 1 < p->n && p->s[p->i + 1] == '[';
    p->i += aot ? 2 : 1;
    int rc = parse_key(p);
    if (rc)
        return rc;
    if (p->i >= p->n || p->s[p->i] != ']' ||
        (aot && (p->i + 1 >= p->n || p->s[p->i + 1] != ']')))
        return ufrpc__toml_fail_at(p, p->i, E_SYNTAX, aot ? "expected ']]' after table name"
                                                   : "expected ']' after table name");
    p->i += aot ? 2 : 1;
    seal_pending(p);

    ufrpc_cv_pos hpos = ufrpc__toml_pos_at(p, at);
    ufrpc_cv *t = p->root;
    int depth = 0;
    for (size_t k = 0; k < p->nkparts; k++) {
        const char *s;
        size_t n;
        key_part(p, k, &s, &n);
        bool last = k + 1 == p->nkparts;
        ufrpc_cv *c = map_get(p, t, s, n);
        depth++;
        if (depth > UFRPC_TOML_MAX_DEPTH)
            return ufrpc__toml_fail_at(p, at, UFRPC_ERR_CONFIG_DEPTH, "nesting deeper than %d levels",
                                UFRPC_TOML_MAX_DEPTH);
        if (last && aot) {
            if (c == NULL) {
                c = ufrpc_cv_new(p->mem, UFRPC_CV_ARRAY, hpos);
                if (c == NULL)
                    return nomem(p);
                c->parser_flags = F_AOT;
                if (table_add(p, t, s, n, c)) {
                    ufrpc_cv_free(c);
                    return UFRPC_ERR_NOMEM;
                }
            } else if (c->type != UFRPC_CV_ARRAY || !(c->parser_flags & F_AOT)) {
                return ufrpc__toml_fail_at(p, p->kpart_pos[k], UFRPC_ERR_CONFIG_DUPLICATE,
                                    "'%s' is already defined as %s, not an array of tables",
                                    part_text(p, k, kt, sizeof kt),
                                    c->type == UFRPC_CV_ARRAY ? "an array" : ufrpc_cv_type_name(c->type));
            }
            ufrpc_cv *e = ufrpc_cv_new(p->mem, UFRPC_CV_TABLE, hpos);
            if (e == NULL)
                return nomem(p);
            e->parser_flags = F_EXPLICIT;
            if (ufrpc_cv_push(c, e)) {
                ufrpc_cv_free(e);
                return nomem(p);
            }
            t = e;
            depth++;
            break;
        }
        if (c == NULL) {
            c = ufrpc_cv_new(p->mem, UFRPC_CV_TABLE, last ? hpos : ufrpc__toml_pos_at(p, p->kpart_pos[k]));
            if (c == NULL)
                return nomem(p);
            c->parser_flags = last ? F_EXPLICIT : 0;
            if (table_add(p, t, s, n, c)) {
                ufrpc_cv_free(c);
                return UFRPC_ERR_NOMEM;
            }
            t = c;
            continue;
        }
        if (c->type == UFRPC_CV_ARRAY && (c->parser_flags & F_AOT) && !last) {
            if (c->u.a.len == 0) /* cannot happen: [[x]] always adds one */
                return ufrpc__toml_fail_at(p, at, E_SYNTAX, "empty array of tables");
            t = c->u.a.items[c->u.a.len - 1];
            depth++;
            continue;
        }
        if (c->type != UFRPC_CV_TABLE)
            return ufrpc__toml_fail_at(p, p->kpart_pos[k], UFRPC_ERR_CONFIG_DUPLICATE,
                                "'%s' is already defined as %s, not a table",
                                part_text(p, k, kt, sizeof kt),
                                (c->parser_flags & F_AOT) ? "an array of tables"
                                                          : ufrpc_cv_type_name(c->type));
        if (c->parser_flags & F_FROZEN)
            return ufrpc__toml_fail_at(p, p->kpart_pos[k], UFRPC_ERR_CONFIG_DUPLICATE,
                                "inline table '%s' cannot be extended",
                                part_text(p, k, kt, sizeof kt));
        if (last) {
            if (c->parser_flags & (F_EXPLICIT | F_DOTTED))
                return ufrpc__toml_fail_at(p, at, UFRPC_ERR_CONFIG_DUPLICATE,
                                    "table '%s' is defined twice", part_text(p, k, kt, sizeof kt));
            c->parser_flags |= F_EXPLICIT;
            c->pos = hpos;
        }
        t = c;
    }
    p->cur = t;
    p->cur_depth = depth;
    return end_of_line(p);
}

/* ---- document */

static int parse_document(struct toml_parser *p)
{
    int rc;
    for (;;) {
        rc = skip_ws_nl(p);
        if (rc)
            return rc;
        if (p->i >= p->n)
            return 0;
        if (p->s[p->i] == '[') {
            rc = parse_header(p);
        } else {
            rc = parse_key(p);
            if (rc == 0) {
                rc = parse_keyval_into(p, p->cur, p->cur_depth, false);
                if (rc == 0)
                    rc = end_of_line(p);
            }
        }
        if (rc)
            return rc;
    }
}

int ufrpc_toml_parse(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                     struct ufrpc_cfg_error *err)
{
    return ufrpc_toml_parse_mem(NULL, text, len, file_name, out, err);
}

int ufrpc_toml_parse_mem(const struct ufrpc_mem *mem, const char *text, size_t len,
                         const char *file_name, ufrpc_cv **out, struct ufrpc_cfg_error *err)
{
    struct toml_parser *p;
    mem = ufrpc_mem_or_default(mem);
    int rc;
    *out = NULL;
    if (text == NULL && len > 0)
        return ufrpc_cfg_fail(err, UFRPC_ERR_INVAL, file_name, 0, 0, "no input");
    p = ufrpc_mem_calloc(mem, 1, sizeof *p);
    if (p == NULL)
        return ufrpc_cfg_fail(err, UFRPC_ERR_NOMEM, file_name, 0, 0, "out of memory");
    p->mem = p->sb.mem = p->kb.mem = mem;
    p->s = text ? text : "";
    p->n = len;
    p->file = file_name;
    p->err = err;
    p->line = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p->i = p->line_start = 3;

    size_t bad = utf8_check((const unsigned char *)p->s, p->n);
    if (bad < p->n) {
        for (size_t k = p->i; k < bad; k++) {
            if (p->s[k] == '\n') {
                p->line++;
                p->line_start = k + 1;
            }
        }
        rc = ufrpc__toml_fail_at(p, bad, UFRPC_ERR_CONFIG_ENCODING, "invalid UTF-8 (byte 0x%02X)",
                          (unsigned char)p->s[bad]);
        goto out;
    }
    p->root = ufrpc_cv_new(p->mem, UFRPC_CV_TABLE, (ufrpc_cv_pos){file_name, 1, 1});
    if (p->root == NULL) {
        rc = nomem(p);
        goto out;
    }
    p->cur = p->root;
    rc = parse_document(p);
    if (rc == 0) {
        *out = p->root;
        p->root = NULL;
    }
out:
    ufrpc_cv_free(p->root);
    ufrpc_mem_free(mem, p->sb.data);
    ufrpc_mem_free(mem, p->kb.data);
    ufrpc_mem_free(mem, p->map);
    ufrpc_mem_free(mem, p->pending);
    ufrpc_mem_free(mem, p);
    return rc;
}
