/* YAML config reader on libyaml's event API. See config/yaml_reader.h. */
#include "config/yaml_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "proto/error.h"

struct anchor {
    char *name;
    ufrpc_cv *node; /* NULL when the anchored value is null */
    size_t count;   /* nodes in the subtree */
    int height;     /* levels in the subtree (1 for a scalar) */
};

struct yb {
    yaml_parser_t parser;
    const char *file;
    struct ufrpc_cfg_error *err;
    const char *text;
    size_t len;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    size_t alias_nodes;
};

static int fail_at(struct yb *b, yaml_mark_t m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct yb *b, yaml_mark_t m, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ufrpc_cfg_fail(b->err, code, b->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1, "%s",
                          msg);
}

static ufrpc_cv_pos pos_of(const struct yb *b, yaml_mark_t m)
{
    ufrpc_cv_pos p = {b->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1};
    return p;
}

static int next_event(struct yb *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->parser, ev))
        return 0;
    int code = b->parser.error == YAML_MEMORY_ERROR   ? UFRPC_ERR_NOMEM
               : b->parser.error == YAML_READER_ERROR ? UFRPC_ERR_CONFIG_ENCODING
                                                      : UFRPC_ERR_CONFIG_SYNTAX;
    yaml_mark_t m = b->parser.problem_mark;
    if (b->parser.error == YAML_READER_ERROR) {
        /* reader errors carry a byte offset only */
        size_t off = b->parser.problem_offset < b->len ? b->parser.problem_offset : b->len;
        m.line = 0;
        m.column = 0;
        for (size_t k = 0; k < off; k++) {
            if (b->text[k] == '\n') {
                m.line++;
                m.column = 0;
            } else if (((unsigned char)b->text[k] & 0xC0) != 0x80) {
                m.column++;
            }
        }
    }
    const char *prob = b->parser.problem ? b->parser.problem : "syntax error";
    if (b->parser.context != NULL)
        return fail_at(b, m, code, "%s %s", prob, b->parser.context);
    return fail_at(b, m, code, "%s", prob);
}

/* ---- scalar resolution (go-yaml v2) */

enum rtype { R_NULL, R_BOOL, R_INT, R_FLOAT, R_STR, R_BIGINT };

struct resolved {
    enum rtype t;
    bool b;
    int64_t i;
    double f;
};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Go strconv.ParseInt(s, 0, 64) / ParseUint; s has no '_'. 0 ok, 1 out of
 * int64 range but a valid uint64, -1 not an integer. */
static int go_parse_int(const char *s, int64_t *out)
{
    bool neg = false;
    const char *p = s;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (*p == '\0')
        return -1;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        base = 8;
        p += 1;
    }
    if (*p == '\0')
        return -1;
    uint64_t v = 0;
    bool over = false;
    for (; *p; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : 99;
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            over = true;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (over)
        return neg ? -1 : -1; /* beyond uint64: Go falls through to float */
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        return 0;
    }
    if (v > (uint64_t)INT64_MAX)
        return 1;
    *out = (int64_t)v;
    return 0;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    } else {
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static bool parse_float_ok(const char *s, double *out)
{
    char *end;
    errno = 0;
    double f = strtod(s, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(f)))
        return false;
    *out = f;
    return true;
}

static void resolve_plain(const char *s, size_t len, struct resolved *r)
{
    static const char *const yes[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                      "on", "On", "ON", NULL};
    static const char *const no[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                     "off", "Off", "OFF", NULL};
    static const char *const nul[] = {"", "~", "null", "Null", "NULL", NULL};
    r->t = R_STR;
    if (strlen(s) != len) /* contains NUL: never special */
        return;
    if (in_list(s, nul)) {
        r->t = R_NULL;
        return;
    }
    if (in_list(s, yes) || in_list(s, no)) {
        r->t = R_BOOL;
        r->b = in_list(s, yes);
        return;
    }
    if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
        r->t = R_FLOAT;
        r->f = NAN;
        return;
    }
    const char *inf = s[0] == '+' || s[0] == '-' ? s + 1 : s;
    if (strcmp(inf, ".inf") == 0 || strcmp(inf, ".Inf") == 0 || strcmp(inf, ".INF") == 0) {
        r->t = R_FLOAT;
        r->f = s[0] == '-' ? -INFINITY : INFINITY;
        return;
    }
    char c = s[0];
    if (c == '.') {
        double f;
        if (yaml_style_float(s) && parse_float_ok(s, &f)) {
            r->t = R_FLOAT;
            r->f = f;
        }
        return;
    }
    if (!(c == '+' || c == '-' || (c >= '0' && c <= '9')))
        return;
    if (len > 400)
        return;
    char plain[401];
    size_t n = 0;
    for (size_t k = 0; k < len; k++)
        if (s[k] != '_')
            plain[n++] = s[k];
    plain[n] = '\0';
    int64_t iv;
    int ir = go_parse_int(plain, &iv);
    if (ir == 0) {
        r->t = R_INT;
        r->i = iv;
        return;
    }
    if (ir == 1) {
        r->t = R_BIGINT;
        return;
    }
    double f;
    if (yaml_style_float(plain) && parse_float_ok(plain, &f)) {
        r->t = R_FLOAT;
        r->f = f;
    }
    /* Go's extra "0b"/"-0b" fallbacks are covered by go_parse_int */
}

static const char TAG_PREFIX[] = "tag:yaml.org,2002:";

static int scalar_value(struct yb *b, const yaml_event_t *ev, struct resolved *r)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag != NULL && strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1) == 0) {
        const char *t = tag + sizeof TAG_PREFIX - 1;
        if (strcmp(t, "str") == 0 || strcmp(t, "binary") == 0 || strcmp(t, "timestamp") == 0) {
            r->t = R_STR;
            return 0;
        }
        resolve_plain(s, len, r);
        bool ok = (strcmp(t, "null") == 0 && r->t == R_NULL) ||
                  (strcmp(t, "bool") == 0 && r->t == R_BOOL) ||
                  (strcmp(t, "int") == 0 && (r->t == R_INT || r->t == R_BIGINT)) ||
                  (strcmp(t, "float") == 0 && (r->t == R_FLOAT || r->t == R_INT));
        if (strcmp(t, "float") == 0 && r->t == R_INT) {
            r->t = R_FLOAT;
            r->f = (double)r->i;
        }
        if (!ok && (strcmp(t, "null") == 0 || strcmp(t, "bool") == 0 || strcmp(t, "int") == 0 ||
                    strcmp(t, "float") == 0))
            return fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_VALUE,
                           "cannot decode '%.40s' as !!%s", s, t);
        return 0;
    }
    if (!plain) {
        r->t = R_STR;
        return 0;
    }
    resolve_plain(s, len, r);
    return 0;
}

static int scalar_to_cv(struct yb *b, const yaml_event_t *ev, ufrpc_cv **out)
{
    struct resolved r;
    int rc = scalar_value(b, ev, &r);
    *out = NULL;
    if (rc)
        return rc;
    ufrpc_cv_pos pos = pos_of(b, ev->start_mark);
    switch (r.t) {
    case R_NULL:
        return 0;
    case R_BOOL:
        *out = ufrpc_cv_new_bool(NULL, r.b, pos);
        break;
    case R_INT:
        *out = ufrpc_cv_new_integer(NULL, r.i, pos);
        break;
    case R_FLOAT:
        *out = ufrpc_cv_new_float(NULL, r.f, pos);
        break;
    case R_BIGINT:
        return fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_VALUE,
                       "integer %.40s does not fit in 64 bits", (const char *)ev->data.scalar.value);
    case R_STR:
        *out = ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, (const char *)ev->data.scalar.value,
                                   ev->data.scalar.length, pos);
        break;
    }
    return *out ? 0 : fail_at(b, ev->start_mark, UFRPC_ERR_NOMEM, "out of memory");
}

/* String form of a key scalar (sigs.k8s.io/yaml: keys become JSON strings). */
static int key_text(struct yb *b, const yaml_event_t *ev, char **key, size_t *klen)
{
    struct resolved r;
    int rc = scalar_value(b, ev, &r);
    if (rc)
        return rc;
    char buf[64];
    const char *s = buf;
    size_t n;
    switch (r.t) {
    case R_NULL:
        s = "null";
        break;
    case R_BOOL:
        s = r.b ? "true" : "false";
        break;
    case R_INT:
        snprintf(buf, sizeof buf, "%" PRId64, r.i);
        break;
    case R_FLOAT:
        if (isnan(r.f))
            s = "NaN";
        else if (isinf(r.f))
            s = r.f < 0 ? "-Inf" : "+Inf";
        else
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, r.f);
                if (strtod(buf, NULL) == r.f)
                    break;
            }
        break;
    case R_BIGINT:
    case R_STR:
        s = (const char *)ev->data.scalar.value;
        break;
    }
    n = (r.t == R_STR || r.t == R_BIGINT) ? ev->data.scalar.length : strlen(s);
    *key = malloc(n + 1);
    if (*key == NULL)
        return fail_at(b, ev->start_mark, UFRPC_ERR_NOMEM, "out of memory");
    memcpy(*key, s, n);
    (*key)[n] = '\0';
    *klen = n;
    return 0;
}

/* ---- tree building */

static size_t count_nodes(const ufrpc_cv *v)
{
    /* iterative bound: trees here are at most UFRPC_YAML_MAX_DEPTH deep */
    if (v == NULL)
        return 1;
    size_t c = 1;
    if (v->type == UFRPC_CV_TABLE)
        for (size_t i = 0; i < v->u.t.len; i++)
            c += count_nodes(v->u.t.items[i].value);
    else if (v->type == UFRPC_CV_ARRAY)
        for (size_t i = 0; i < v->u.a.len; i++)
            c += count_nodes(v->u.a.items[i]);
    return c;
}

static int height_of(const ufrpc_cv *v)
{
    int h = 0;
    if (v == NULL)
        return 1;
    if (v->type == UFRPC_CV_TABLE)
        for (size_t i = 0; i < v->u.t.len; i++) {
            int c = height_of(v->u.t.items[i].value);
            h = c > h ? c : h;
        }
    else if (v->type == UFRPC_CV_ARRAY)
        for (size_t i = 0; i < v->u.a.len; i++) {
            int c = height_of(v->u.a.items[i]);
            h = c > h ? c : h;
        }
    return h + 1;
}

static int remember_anchor(struct yb *b, const yaml_char_t *name, ufrpc_cv *node, yaml_mark_t m)
{
    if (name == NULL)
        return 0;
    if (b->nanchors >= UFRPC_YAML_MAX_ANCHORS)
        return fail_at(b, m, UFRPC_ERR_CONFIG_VALUE, "too many anchors (max %d)",
                       UFRPC_YAML_MAX_ANCHORS);
    if (b->nanchors == b->capanchors) {
        size_t cap = b->capanchors ? b->capanchors * 2 : 8;
        struct anchor *a = realloc(b->anchors, cap * sizeof *a);
        if (a == NULL)
            return fail_at(b, m, UFRPC_ERR_NOMEM, "out of memory");
        b->anchors = a;
        b->capanchors = cap;
    }
    ufrpc_cv *copy = NULL;
    if (node != NULL && (copy = ufrpc_cv_clone(node)) == NULL)
        return fail_at(b, m, UFRPC_ERR_NOMEM, "out of memory");
    char *nm = strdup((const char *)name);
    if (nm == NULL) {
        ufrpc_cv_free(copy);
        return fail_at(b, m, UFRPC_ERR_NOMEM, "out of memory");
    }
    b->anchors[b->nanchors++] = (struct anchor){nm, copy, count_nodes(copy), height_of(copy)};
    return 0;
}

static int build(struct yb *b, yaml_event_t *ev, int depth, ufrpc_cv **out);

static int resolve_alias(struct yb *b, yaml_event_t *ev, int depth, ufrpc_cv **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    *out = NULL;
    for (size_t k = b->nanchors; k-- > 0;) {
        if (strcmp(b->anchors[k].name, name) != 0)
            continue;
        b->alias_nodes += b->anchors[k].count;
        if (b->alias_nodes > UFRPC_YAML_MAX_ALIAS_NODES)
            return fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_VALUE,
                           "aliases expand to more than %d nodes (alias bomb?)",
                           UFRPC_YAML_MAX_ALIAS_NODES);
        if (depth - 1 + b->anchors[k].height > UFRPC_YAML_MAX_DEPTH)
            return fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_DEPTH,
                           "alias '%.60s' nests deeper than %d levels", name, UFRPC_YAML_MAX_DEPTH);
        if (b->anchors[k].node == NULL)
            return 0;
        *out = ufrpc_cv_clone(b->anchors[k].node);
        return *out ? 0 : fail_at(b, ev->start_mark, UFRPC_ERR_NOMEM, "out of memory");
    }
    return fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_SYNTAX, "unknown anchor '%.60s'", name);
}

/* Moves members of merge source `src` (a table or an array of tables) into dst
 * in YAML priority order is handled by the caller; here: append all of src. */
static int append_merge_source(struct yb *b, ufrpc_cv *dst, ufrpc_cv *src, yaml_mark_t m)
{
    if (src == NULL || src->type != UFRPC_CV_TABLE)
        return fail_at(b, m, UFRPC_ERR_CONFIG_VALUE, "'<<' needs a mapping or a list of mappings");
    for (size_t i = 0; i < src->u.t.len; i++) {
        ufrpc_cv_member *mb = &src->u.t.items[i];
        if (ufrpc_cv_append(dst, mb->key, mb->key_len, mb->value) != 0)
            return fail_at(b, m, UFRPC_ERR_NOMEM, "out of memory");
        free(mb->key);
    }
    src->u.t.len = 0;
    return 0;
}

static int build_mapping(struct yb *b, yaml_event_t *start, int depth, ufrpc_cv **out)
{
    ufrpc_cv *t = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, pos_of(b, start->start_mark));
    ufrpc_cv *merges = NULL; /* array of merge-source tables, in order */
    yaml_mark_t merge_mark = start->start_mark;
    int rc = 0;
    if (t == NULL)
        return fail_at(b, start->start_mark, UFRPC_ERR_NOMEM, "out of memory");
    for (;;) {
        yaml_event_t kev;
        rc = next_event(b, &kev);
        if (rc)
            goto fail;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        char *key = NULL;
        size_t klen = 0;
        bool is_merge = false;
        yaml_mark_t kmark = kev.start_mark;
        if (kev.type == YAML_SCALAR_EVENT) {
            is_merge = kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       kev.data.scalar.tag == NULL && kev.data.scalar.length == 2 &&
                       memcmp(kev.data.scalar.value, "<<", 2) == 0;
            rc = is_merge ? 0 : key_text(b, &kev, &key, &klen);
            if (rc == 0 && kev.data.scalar.anchor != NULL) {
                ufrpc_cv *kv = NULL;
                rc = scalar_to_cv(b, &kev, &kv);
                if (rc == 0)
                    rc = remember_anchor(b, kev.data.scalar.anchor, kv, kev.start_mark);
                ufrpc_cv_free(kv);
            }
        } else if (kev.type == YAML_ALIAS_EVENT) {
            ufrpc_cv *kv = NULL;
            rc = resolve_alias(b, &kev, 1, &kv);
            if (rc == 0 && kv != NULL && kv->type != UFRPC_CV_STRING &&
                kv->type != UFRPC_CV_INTEGER && kv->type != UFRPC_CV_BOOL &&
                kv->type != UFRPC_CV_FLOAT)
                rc = fail_at(b, kmark, UFRPC_ERR_CONFIG_VALUE, "mapping keys must be scalars");
            if (rc == 0) {
                char buf[64];
                const char *s = buf;
                size_t n;
                if (kv == NULL)
                    s = "null";
                else if (kv->type == UFRPC_CV_STRING)
                    s = kv->u.s.ptr;
                else if (kv->type == UFRPC_CV_INTEGER)
                    snprintf(buf, sizeof buf, "%" PRId64, kv->u.i);
                else if (kv->type == UFRPC_CV_BOOL)
                    s = kv->u.b ? "true" : "false";
                else
                    snprintf(buf, sizeof buf, "%.17g", kv->u.f);
                n = kv != NULL && kv->type == UFRPC_CV_STRING ? kv->u.s.len : strlen(s);
                key = malloc(n + 1);
                if (key == NULL) {
                    rc = fail_at(b, kmark, UFRPC_ERR_NOMEM, "out of memory");
                } else {
                    memcpy(key, s, n);
                    key[n] = '\0';
                    klen = n;
                }
            }
            ufrpc_cv_free(kv);
        } else {
            rc = fail_at(b, kmark, UFRPC_ERR_CONFIG_VALUE, "mapping keys must be scalars");
        }
        yaml_event_delete(&kev);
        if (rc) {
            free(key);
            goto fail;
        }
        yaml_event_t vev;
        rc = next_event(b, &vev);
        if (rc) {
            free(key);
            goto fail;
        }
        yaml_mark_t vmark = vev.start_mark;
        ufrpc_cv *v = NULL;
        rc = build(b, &vev, depth + 1, &v);
        if (rc) {
            free(key);
            goto fail;
        }
        if (is_merge) {
            merge_mark = vmark;
            if (merges == NULL && (merges = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, pos_of(b, vmark))) == NULL) {
                ufrpc_cv_free(v);
                rc = fail_at(b, vmark, UFRPC_ERR_NOMEM, "out of memory");
                goto fail;
            }
            if (v != NULL && v->type == UFRPC_CV_ARRAY) {
                for (size_t i = 0; i < v->u.a.len; i++) {
                    if (ufrpc_cv_push(merges, v->u.a.items[i]) != 0) {
                        for (size_t k = i; k < v->u.a.len; k++)
                            ufrpc_cv_free(v->u.a.items[k]);
                        v->u.a.len = 0;
                        ufrpc_cv_free(v);
                        rc = fail_at(b, vmark, UFRPC_ERR_NOMEM, "out of memory");
                        goto fail;
                    }
                }
                v->u.a.len = 0;
                ufrpc_cv_free(v);
            } else if (v != NULL && v->type == UFRPC_CV_TABLE) {
                if (ufrpc_cv_push(merges, v) != 0) {
                    ufrpc_cv_free(v);
                    rc = fail_at(b, vmark, UFRPC_ERR_NOMEM, "out of memory");
                    goto fail;
                }
            } else {
                ufrpc_cv_free(v);
                rc = fail_at(b, vmark, UFRPC_ERR_CONFIG_VALUE,
                             "'<<' needs a mapping or a list of mappings");
                goto fail;
            }
            continue;
        }
        if (v == NULL) {
            /* null member: dropped, but still counts for the duplicate check */
            v = ufrpc_cv_new(NULL, UFRPC_CV_BOOL, pos_of(b, kmark));
            if (v == NULL) {
                free(key);
                rc = fail_at(b, kmark, UFRPC_ERR_NOMEM, "out of memory");
                goto fail;
            }
            v->parser_flags = 1; /* placeholder for null, removed below */
        } else {
            v->parser_flags = 0;
        }
        if (ufrpc_cv_append(t, key, klen, v) != 0) {
            ufrpc_cv_free(v);
            free(key);
            rc = fail_at(b, kmark, UFRPC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        free(key);
    }
    size_t dup;
    rc = ufrpc_cv_dedupe(t, false, &dup);
    if (rc == UFRPC_ERR_CONFIG_DUPLICATE) {
        const ufrpc_cv_member *m = &t->u.t.items[dup];
        char kt[64];
        snprintf(kt, sizeof kt, "%s", m->key);
        rc = ufrpc_cfg_fail(b->err, rc, b->file, m->value->pos.line, m->value->pos.col,
                            "duplicate key '%s' in mapping", kt);
        goto fail;
    } else if (rc) {
        rc = fail_at(b, start->start_mark, rc, "out of memory");
        goto fail;
    }
    /* drop null placeholders */
    size_t o = 0;
    for (size_t i = 0; i < t->u.t.len; i++) {
        ufrpc_cv_member m = t->u.t.items[i];
        if (m.value->type == UFRPC_CV_BOOL && m.value->parser_flags == 1) {
            free(m.key);
            ufrpc_cv_free(m.value);
        } else {
            t->u.t.items[o++] = m;
        }
    }
    t->u.t.len = o;
    if (merges != NULL) {
        /* lowest priority first, then last-wins dedupe: later merge sources lose to
         * earlier ones, every merge source loses to explicit keys */
        ufrpc_cv *m = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, t->pos);
        if (m == NULL) {
            rc = fail_at(b, merge_mark, UFRPC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t k = merges->u.a.len; k-- > 0 && rc == 0;)
            rc = append_merge_source(b, m, merges->u.a.items[k], merge_mark);
        if (rc == 0)
            rc = append_merge_source(b, m, t, merge_mark);
        if (rc == 0 && ufrpc_cv_dedupe(m, true, NULL) != 0)
            rc = fail_at(b, merge_mark, UFRPC_ERR_NOMEM, "out of memory");
        if (rc) {
            ufrpc_cv_free(m);
            goto fail;
        }
        ufrpc_cv_free(t);
        t = m;
        ufrpc_cv_free(merges);
        merges = NULL;
    }
    *out = t;
    return 0;
fail:
    ufrpc_cv_free(merges);
    ufrpc_cv_free(t);
    return rc;
}

static int build_sequence(struct yb *b, yaml_event_t *start, int depth, ufrpc_cv **out)
{
    ufrpc_cv *a = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, pos_of(b, start->start_mark));
    int rc;
    if (a == NULL)
        return fail_at(b, start->start_mark, UFRPC_ERR_NOMEM, "out of memory");
    for (;;) {
        yaml_event_t ev;
        rc = next_event(b, &ev);
        if (rc)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_mark_t m = ev.start_mark;
        ufrpc_cv *v = NULL;
        rc = build(b, &ev, depth + 1, &v);
        if (rc)
            goto fail;
        if (v == NULL) {
            rc = fail_at(b, m, UFRPC_ERR_CONFIG_VALUE, "null is not allowed in a list");
            goto fail;
        }
        if (ufrpc_cv_push(a, v) != 0) {
            ufrpc_cv_free(v);
            rc = fail_at(b, m, UFRPC_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    *out = a;
    return 0;
fail:
    ufrpc_cv_free(a);
    return rc;
}

/* Builds the node that starts with *ev (consumed: deleted here). *out NULL = null. */
static int build(struct yb *b, yaml_event_t *ev, int depth, ufrpc_cv **out)
{
    int rc;
    const yaml_char_t *anchor = NULL;
    *out = NULL;
    if (depth > UFRPC_YAML_MAX_DEPTH) {
        rc = fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_DEPTH, "nesting deeper than %d levels",
                     UFRPC_YAML_MAX_DEPTH);
        yaml_event_delete(ev);
        return rc;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        rc = scalar_to_cv(b, ev, out);
        break;
    case YAML_ALIAS_EVENT:
        rc = resolve_alias(b, ev, depth, out);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        rc = build_mapping(b, ev, depth, out);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        rc = build_sequence(b, ev, depth, out);
        break;
    default:
        rc = fail_at(b, ev->start_mark, UFRPC_ERR_CONFIG_SYNTAX, "unexpected YAML event");
        break;
    }
    if (rc == 0 && anchor != NULL) {
        rc = remember_anchor(b, anchor, *out, ev->start_mark);
        if (rc) {
            ufrpc_cv_free(*out);
            *out = NULL;
        }
    }
    yaml_event_delete(ev);
    return rc;
}

int ufrpc_yaml_read(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                    struct ufrpc_cfg_error *err)
{
    struct yb b;
    int rc;
    *out = NULL;
    memset(&b, 0, sizeof b);
    b.file = file_name;
    b.err = err;
    b.text = text ? text : "";
    b.len = len;
    if (!yaml_parser_initialize(&b.parser))
        return ufrpc_cfg_fail(err, UFRPC_ERR_NOMEM, file_name, 0, 0, "out of memory");
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)(text ? text : ""), len);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);

    ufrpc_cv *root = NULL;
    yaml_event_t ev;
    bool have_doc = false;
    /* STREAM-START, then DOCUMENT-START or STREAM-END */
    for (;;) {
        rc = next_event(&b, &ev);
        if (rc)
            goto out;
        yaml_event_type_t t = ev.type;
        yaml_mark_t m = ev.start_mark;
        if (t == YAML_STREAM_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            rc = next_event(&b, &ev);
            if (rc)
                goto out;
            m = ev.start_mark;
            rc = build(&b, &ev, 1, &root);
            if (rc)
                goto out;
            have_doc = true;
            if (root != NULL && root->type != UFRPC_CV_TABLE) {
                rc = fail_at(&b, m, UFRPC_ERR_CONFIG_VALUE,
                             "the top-level YAML value must be a mapping, not %s",
                             root->type == UFRPC_CV_ARRAY ? "a list" : "a scalar");
                goto out;
            }
            break; /* only the first document counts */
        }
        yaml_event_delete(&ev);
        rc = fail_at(&b, m, UFRPC_ERR_CONFIG_SYNTAX, "unexpected YAML event");
        goto out;
    }
    (void)have_doc;
    if (root == NULL) {
        root = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, (ufrpc_cv_pos){file_name, 1, 1});
        if (root == NULL) {
            rc = ufrpc_cfg_fail(err, UFRPC_ERR_NOMEM, file_name, 0, 0, "out of memory");
            goto out;
        }
    }
    /* frp convention: top-level ".name" keys only hold anchors */
    size_t o = 0;
    for (size_t i = 0; i < root->u.t.len; i++) {
        ufrpc_cv_member m = root->u.t.items[i];
        if (m.key_len > 0 && m.key[0] == '.') {
            free(m.key);
            ufrpc_cv_free(m.value);
        } else {
            root->u.t.items[o++] = m;
        }
    }
    root->u.t.len = o;
    *out = root;
    root = NULL;
    rc = 0;
out:
    ufrpc_cv_free(root);
    for (size_t k = 0; k < b.nanchors; k++) {
        free(b.anchors[k].name);
        ufrpc_cv_free(b.anchors[k].node);
    }
    free(b.anchors);
    yaml_parser_delete(&b.parser);
    return rc;
}
