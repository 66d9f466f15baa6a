/* config/schema.c — document tree → struct ufrpc_config, driven by the field tables
 * of schema_fields.c. Keys match like Go's encoding/json (exact name first, then
 * ASCII case-insensitively); unknown keys are errors in strict mode and warnings
 * otherwise; type mismatches are always errors. Every problem is reported, parsing
 * goes on with the next key.
 *
 * U+0000: the tree keeps keys and strings with their length, and frpc (Go) takes a
 * NUL inside a string like any other character. Every string of struct
 * ufrpc_config is a C string that ends up in a C API (a file name, a host name, an
 * HTTP header, the login JSON), which would cut it at the NUL; so a key or string
 * value that the config keeps and that holds a NUL is refused, naming the key and
 * file:line, instead of being cut silently. Keys the config does not keep (field
 * names) match only when every byte matches, so "type\u0000" is an unknown key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

#define PATH_MAX_LEN 256

static const char *const proxy_type_names[UFRPC_PROXY__COUNT] = {
    "tcp", "udp", "http", "https", "tcpmux", "stcp", "sudp", "xtcp"};
static const char *const visitor_type_names[UFRPC_VISITOR__COUNT] = {"stcp", "sudp", "xtcp"};
static const char *const plugin_type_names[UFRPC_PLUGIN__COUNT] = {
    "",           "unix_domain_socket", "http_proxy", "socks5",  "static_file", "https2http",
    "https2https", "http2https",        "http2http",  "tls2raw", "virtual_net"};

const char *ufrpc_proxy_type_name(ufrpc_proxy_type t)
{
    return (unsigned)t < UFRPC_PROXY__COUNT ? proxy_type_names[t] : NULL;
}
const char *ufrpc_visitor_type_name(ufrpc_visitor_type t)
{
    return (unsigned)t < UFRPC_VISITOR__COUNT ? visitor_type_names[t] : NULL;
}
const char *ufrpc_plugin_type_name(ufrpc_plugin_type t)
{
    return (unsigned)t < UFRPC_PLUGIN__COUNT ? plugin_type_names[t] : NULL;
}

static int find_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}
int ufrpc_schema_proxy_type(const char *s)
{
    return find_name(proxy_type_names, UFRPC_PROXY__COUNT, s);
}
int ufrpc_schema_visitor_type(const char *s)
{
    return find_name(visitor_type_names, UFRPC_VISITOR__COUNT, s);
}
int ufrpc_schema_plugin_type(const char *s)
{
    int t = find_name(plugin_type_names, UFRPC_PLUGIN__COUNT, s);
    return t == 0 ? -1 : t;
}

/* ---------------------------------------------------------------- helpers */

/* Printable excerpt of a key or string for messages (control bytes escaped). */
static void excerpt(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    if (o + 5 >= cap && cap > 4) {
        o = cap - 4;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* "prefix.key" for messages (PATH_MAX_LEN bytes): the key's first 120 bytes, all of
 * them (a NUL included) in excerpt()'s escaped form. */
static void join_path(char *out, const char *prefix, const char *key, size_t key_len)
{
    int n = 0;
    if (prefix[0] != '\0')
        n = snprintf(out, PATH_MAX_LEN, "%.120s.", prefix);
    if (n < 0 || n >= PATH_MAX_LEN - 1)
        n = 0;
    excerpt(out + n, (size_t)(PATH_MAX_LEN - n), key, key_len > 120 ? 120 : key_len);
}

/* True if s (len bytes) holds no NUL. Otherwise reports, at pos, that `what` (e.g.
 * "the value", "the key \"x\"") of `path` contains U+0000 and returns false: the
 * config keeps only C strings (see the top of this file). */
static bool no_nul(struct ufrpc_cfg_ctx *c, const char *path, const char *what, const char *s,
                   size_t len, ufrpc_cv_pos pos)
{
    const char *z = len > 0 ? memchr(s, '\0', len) : NULL;
    if (z == NULL)
        return true;
    ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, pos,
                     "%s: %s contains U+0000 (NUL) at byte %zu; ufrpc refuses it because the C "
                     "APIs it goes to (file names, host names, headers) would cut it there",
                     path, what, (size_t)(z - s));
    return false;
}

static bool is_text(const ufrpc_cv *v)
{
    return v->type == UFRPC_CV_STRING || v->type == UFRPC_CV_DATETIME ||
           v->type == UFRPC_CV_DATETIME_LOCAL || v->type == UFRPC_CV_DATE_LOCAL ||
           v->type == UFRPC_CV_TIME_LOCAL;
}

static void type_error(struct ufrpc_cfg_ctx *c, const char *path, const ufrpc_cv *v, const char *want)
{
    if (v->type == UFRPC_CV_STRING) {
        char ex[48];
        excerpt(ex, sizeof ex, v->u.s.ptr, v->u.s.len);
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, v->pos,
                         "%s: expected %s, got string \"%s\"", path, want, ex);
    } else {
        /* frpc decodes through JSON into typed Go fields: an unquoted YAML/TOML number
         * or boolean never becomes a string (not even without strict mode), so say how
         * to fix it */
        bool quote = strcmp(want, "a string") == 0 &&
                     (v->type == UFRPC_CV_INTEGER || v->type == UFRPC_CV_FLOAT || v->type == UFRPC_CV_BOOL);
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, v->pos, "%s: expected %s, got %s%s",
                         path, want, ufrpc_cv_type_name(v->type),
                         quote ? " (frpc rejects it too: put the value in quotes)" : "");
    }
}

/* Arena copy of a text node for the config; NULL (reported) when it holds a NUL,
 * NULL (c->nomem set) when out of memory. */
static const char *dup_text(struct ufrpc_cfg_ctx *c, const char *path, const ufrpc_cv *v)
{
    if (!no_nul(c, path, "the value", v->u.s.ptr, v->u.s.len, v->pos))
        return NULL;
    char *s = ufrpc_cfg_arena_strndup(c->arena, v->u.s.ptr, v->u.s.len);
    if (s == NULL)
        c->nomem = 1;
    return s;
}

static bool get_int(const ufrpc_cv *v, int64_t *out)
{
    if (v->type == UFRPC_CV_INTEGER) {
        *out = v->u.i;
        return true;
    }
    /* TOML/YAML floats reach frp through JSON, where 1.0 is written "1" and decodes
     * into an int; keep that, reject fractions. */
    if (v->type == UFRPC_CV_FLOAT && v->u.f > -9.0e15 && v->u.f < 9.0e15 &&
        (double)(int64_t)v->u.f == v->u.f) {
        *out = (int64_t)v->u.f;
        return true;
    }
    return false;
}

static const struct ufrpc_cfg_field *find_field(const struct ufrpc_cfg_field *fields, uint32_t mask,
                                                const char *key, size_t key_len)
{
    const struct ufrpc_cfg_field *fold = NULL;
    for (const struct ufrpc_cfg_field *f = fields; f->kind != UFRPC_F_END; f++) {
        if (f->mask != 0 && (f->mask & mask) == 0)
            continue;
        size_t fl = strlen(f->key);
        if (fl != key_len)
            continue;
        if (memcmp(f->key, key, fl) == 0)
            return f;
        if (fold == NULL && strncasecmp(f->key, key, fl) == 0 && memchr(key, '\0', key_len) == NULL)
            fold = f;
    }
    return fold;
}

/* The member of table t matching key like find_field does (exact, then folded). */
static const ufrpc_cv *member_fold(const ufrpc_cv *t, const char *key)
{
    const ufrpc_cv *fold = NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < t->u.t.len; i++) {
        const ufrpc_cv_member *m = &t->u.t.items[i];
        if (m->key_len != kl)
            continue;
        if (memcmp(m->key, key, kl) == 0)
            return m->value;
        if (fold == NULL && strncasecmp(m->key, key, kl) == 0)
            fold = m->value;
    }
    return fold;
}

static void read_table(struct ufrpc_cfg_ctx *c, void *base, const struct ufrpc_cfg_field *fields,
                       uint32_t mask, const ufrpc_cv *node, const char *path, int depth);

static void read_strlist(struct ufrpc_cfg_ctx *c, struct ufrpc_cfg_strlist *out, const ufrpc_cv *v,
                         const char *path)
{
    if (v->type != UFRPC_CV_ARRAY) {
        type_error(c, path, v, "an array of strings");
        return;
    }
    const char **items = ufrpc_cfg_arena_alloc(c->arena, (v->u.a.len + 1) * sizeof *items);
    if (items == NULL) {
        c->nomem = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < v->u.a.len; i++) {
        const ufrpc_cv *e = v->u.a.items[i];
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!is_text(e)) {
            type_error(c, p, e, "a string");
            continue;
        }
        const char *item = dup_text(c, p, e);
        if (item != NULL)
            items[n++] = item;
    }
    out->items = items;
    out->len = n;
}

/* scan: how many existing items may hold k (a table's own keys are unique, so
 * read_map checks only the items that were there before it: linear, not quadratic) */
static void map_put(struct ufrpc_cfg_ctx *c, struct ufrpc_cfg_map *m, size_t *cap, const char *k,
                    size_t kl, const char *val, size_t vl, size_t scan)
{
    /* a later key replaces an earlier one (Go map semantics) */
    for (size_t i = 0; i < m->len && i < scan; i++)
        if (strlen(m->items[i].key) == kl && memcmp(m->items[i].key, k, kl) == 0) {
            m->items[i].value = ufrpc_cfg_arena_strndup(c->arena, val, vl);
            if (m->items[i].value == NULL)
                c->nomem = 1;
            return;
        }
    if (m->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct ufrpc_cfg_kv *items = ufrpc_cfg_arena_alloc(c->arena, ncap * sizeof *items);
        if (items == NULL) {
            c->nomem = 1;
            return;
        }
        if (m->len)
            memcpy(items, m->items, m->len * sizeof *items);
        m->items = items;
        *cap = ncap;
    }
    const char *kk = ufrpc_cfg_arena_strndup(c->arena, k, kl);
    const char *vv = ufrpc_cfg_arena_strndup(c->arena, val, vl);
    if (kk == NULL || vv == NULL) {
        c->nomem = 1;
        return;
    }
    m->items[m->len++] = (struct ufrpc_cfg_kv){kk, vv};
}

static void read_map(struct ufrpc_cfg_ctx *c, struct ufrpc_cfg_map *out, const ufrpc_cv *v,
                     const char *path)
{
    if (v->type != UFRPC_CV_TABLE) {
        type_error(c, path, v, "a table of strings");
        return;
    }
    size_t cap = out->len; /* merging into an existing map reallocates */
    size_t before = out->len;
    for (size_t i = 0; i < v->u.t.len; i++) {
        const ufrpc_cv_member *m = &v->u.t.items[i];
        char p[PATH_MAX_LEN];
        join_path(p, path, m->key, m->key_len);
        if (!is_text(m->value)) {
            type_error(c, p, m->value, "a string");
            continue;
        }
        if (!no_nul(c, p, "the key", m->key, m->key_len, m->value->pos) ||
            !no_nul(c, p, "the value", m->value->u.s.ptr, m->value->u.s.len, m->value->pos))
            continue;
        map_put(c, out, &cap, m->key, m->key_len, m->value->u.s.ptr, m->value->u.s.len, before);
    }
}

static void read_boolmap(struct ufrpc_cfg_ctx *c, struct ufrpc_cfg_bool_map *out, const ufrpc_cv *v,
                         const char *path)
{
    if (v->type != UFRPC_CV_TABLE) {
        type_error(c, path, v, "a table of booleans");
        return;
    }
    size_t n = v->u.t.len;
    out->keys = ufrpc_cfg_arena_alloc(c->arena, (n + 1) * sizeof *out->keys);
    out->values = ufrpc_cfg_arena_alloc(c->arena, (n + 1) * sizeof *out->values);
    if (out->keys == NULL || out->values == NULL) {
        c->nomem = 1;
        return;
    }
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        const ufrpc_cv_member *m = &v->u.t.items[i];
        char p[PATH_MAX_LEN];
        join_path(p, path, m->key, m->key_len);
        if (m->value->type != UFRPC_CV_BOOL) {
            type_error(c, p, m->value, "a boolean");
            continue;
        }
        if (!no_nul(c, p, "the key", m->key, m->key_len, m->value->pos))
            continue;
        out->keys[out->len] = ufrpc_cfg_arena_strndup(c->arena, m->key, m->key_len);
        if (out->keys[out->len] == NULL)
            c->nomem = 1;
        out->values[out->len++] = m->value->u.b;
    }
}

static void unknown_key(struct ufrpc_cfg_ctx *c, const char *path, const ufrpc_cv *v)
{
    ufrpc_cfg_report(c, c->strict ? UFRPC_CFG_ERROR : UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_UNKNOWN_KEY,
                     v->pos, "unknown key \"%s\"", path);
}

static void read_nvlist(struct ufrpc_cfg_ctx *c, struct ufrpc_cfg_map *out, const ufrpc_cv *v,
                        const char *path)
{
    if (v->type != UFRPC_CV_ARRAY) {
        type_error(c, path, v, "an array of {name, value} tables");
        return;
    }
    size_t cap = 0;
    out->len = 0;
    out->items = NULL;
    for (size_t i = 0; i < v->u.a.len; i++) {
        const ufrpc_cv *e = v->u.a.items[i];
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (e->type != UFRPC_CV_TABLE) {
            type_error(c, p, e, "a table");
            continue;
        }
        const ufrpc_cv *name = NULL, *value = NULL;
        bool bad = false;
        for (size_t j = 0; j < e->u.t.len; j++) {
            const ufrpc_cv_member *m = &e->u.t.items[j];
            char kp[PATH_MAX_LEN];
            join_path(kp, p, m->key, m->key_len);
            if (m->key_len == 4 && strncasecmp(m->key, "name", 4) == 0)
                name = m->value;
            else if (m->key_len == 5 && strncasecmp(m->key, "value", 5) == 0)
                value = m->value;
            else {
                unknown_key(c, kp, m->value);
                continue;
            }
            if (!is_text(m->value)) {
                type_error(c, kp, m->value, "a string");
                bad = true;
            } else if (!no_nul(c, kp, "the value", m->value->u.s.ptr, m->value->u.s.len,
                               m->value->pos)) {
                bad = true;
            }
        }
        if (bad)
            continue;
        static const char empty[] = "";
        /* ordered list semantics: keep duplicates' order, but map_put merges equal
         * names, which frp's header setter does too */
        map_put(c, out, &cap, name ? name->u.s.ptr : empty, name ? name->u.s.len : 0,
                value ? value->u.s.ptr : empty, value ? value->u.s.len : 0, SIZE_MAX);
    }
}

static void read_bandwidth(struct ufrpc_cfg_ctx *c, const struct ufrpc_cfg_field *f, void *base,
                           const ufrpc_cv *v, const char *path)
{
    if (v->type != UFRPC_CV_STRING) {
        type_error(c, path, v, "a string like \"1MB\" or \"512KB\"");
        return;
    }
    if (!no_nul(c, path, "the value", v->u.s.ptr, v->u.s.len, v->pos))
        return;
    int64_t bytes = 0;
    if (ufrpc_config_parse_bandwidth(v->u.s.ptr, &bytes) != 0) {
        char ex[48];
        excerpt(ex, sizeof ex, v->u.s.ptr, v->u.s.len);
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, v->pos,
                         "%s: invalid bandwidth \"%s\" (expected a number followed by MB or KB, "
                         "e.g. \"1MB\" or \"512KB\")",
                         path, ex);
        return;
    }
    *(const char **)((char *)base + f->off) = dup_text(c, path, v);
    *(int64_t *)((char *)base + f->aux) = bytes;
    ufrpc_cfg_pos_record(c, (char *)base + f->off, v->pos);
}

/* Reads the "type" member of a plugin table; returns the plugin mask or 0. */
static uint32_t read_plugin_type(struct ufrpc_cfg_ctx *c, struct ufrpc_plugin_config *pl,
                                 const ufrpc_cv *node, const char *path, bool visitor)
{
    const ufrpc_cv *t = member_fold(node, "type");
    char p[PATH_MAX_LEN];
    join_path(p, path, "type", 4);
    if (t == NULL) {
        /* frp: an empty plugin table (no type) means no plugin, if nothing else is set */
        if (node->u.t.len != 0)
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, node->pos,
                             "%s: plugin type is required", path);
        return 0;
    }
    if (t->type != UFRPC_CV_STRING) {
        type_error(c, p, t, "a string");
        return 0;
    }
    if (!no_nul(c, p, "the value", t->u.s.ptr, t->u.s.len, t->pos))
        return 0;
    int pt = ufrpc_schema_plugin_type(t->u.s.ptr);
    if (pt < 0 || (visitor && pt != UFRPC_PLUGIN_VIRTUAL_NET)) {
        char ex[48];
        excerpt(ex, sizeof ex, t->u.s.ptr, t->u.s.len);
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, t->pos,
                         "%s: unknown %splugin type \"%s\"", p, visitor ? "visitor " : "", ex);
        return 0;
    }
    pl->type = (ufrpc_plugin_type)pt;
    ufrpc_cfg_pos_record(c, &pl->type, t->pos);
    return 1u << pt;
}

static void *grow(struct ufrpc_cfg_ctx *c, void **arr, size_t *n, size_t *cap, size_t elem)
{
    void *obj = ufrpc_cfg_arena_alloc(c->arena, elem);
    if (obj == NULL) {
        c->nomem = 1;
        return NULL;
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **a = ufrpc_cfg_arena_alloc(c->arena, ncap * sizeof *a);
        if (a == NULL) {
            c->nomem = 1;
            return NULL;
        }
        if (*n)
            memcpy(a, *arr, *n * sizeof *a);
        *arr = a;
        *cap = ncap;
    }
    ((void **)*arr)[(*n)++] = obj;
    return obj;
}

struct ufrpc_proxy_config *ufrpc_schema_add_proxy(struct ufrpc_cfg_ctx *c)
{
    void *arr = c->proxies;
    struct ufrpc_proxy_config *p =
        grow(c, &arr, &c->nproxies, &c->proxies_cap, sizeof(struct ufrpc_proxy_config));
    c->proxies = arr;
    if (p != NULL)
        p->enabled = true;
    return p;
}

struct ufrpc_visitor_config *ufrpc_schema_add_visitor(struct ufrpc_cfg_ctx *c)
{
    void *arr = c->visitors;
    struct ufrpc_visitor_config *v =
        grow(c, &arr, &c->nvisitors, &c->visitors_cap, sizeof(struct ufrpc_visitor_config));
    c->visitors = arr;
    if (v != NULL)
        v->enabled = true;
    return v;
}

static void read_proxies(struct ufrpc_cfg_ctx *c, const ufrpc_cv *v, const char *path, bool visitors,
                         int depth)
{
    if (v->type != UFRPC_CV_ARRAY) {
        type_error(c, path, v, "an array of tables");
        return;
    }
    for (size_t i = 0; i < v->u.a.len && !c->nomem; i++) {
        const ufrpc_cv *e = v->u.a.items[i];
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (e->type != UFRPC_CV_TABLE) {
            type_error(c, p, e, "a table");
            continue;
        }
        const ufrpc_cv *t = member_fold(e, "type");
        const ufrpc_cv *nm = member_fold(e, "name");
        if (nm != NULL && nm->type == UFRPC_CV_STRING) {
            char ex[80];
            excerpt(ex, sizeof ex, nm->u.s.ptr, nm->u.s.len);
            snprintf(p, sizeof p, "%s[%zu] (%s)", path, i, ex);
        }
        int type = -1;
        if (t != NULL && t->type == UFRPC_CV_STRING) {
            char tp[PATH_MAX_LEN];
            join_path(tp, p, "type", 4);
            if (!no_nul(c, tp, "the value", t->u.s.ptr, t->u.s.len, t->pos))
                continue;
            type = visitors ? ufrpc_schema_visitor_type(t->u.s.ptr) : ufrpc_schema_proxy_type(t->u.s.ptr);
        }
        if (type < 0) {
            char ex[48] = "";
            if (t != NULL && t->type == UFRPC_CV_STRING)
                excerpt(ex, sizeof ex, t->u.s.ptr, t->u.s.len);
            if (t == NULL)
                ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, e->pos,
                                 "%s: type is required", p);
            else if (t->type != UFRPC_CV_STRING)
                type_error(c, p, t, "a string");
            else
                ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, t->pos,
                                 "%s: unknown %s type: %s", p, visitors ? "visitor" : "proxy", ex);
            continue;
        }
        if (visitors) {
            struct ufrpc_visitor_config *vc = ufrpc_schema_add_visitor(c);
            if (vc == NULL)
                return;
            vc->type = (ufrpc_visitor_type)type;
            ufrpc_cfg_pos_record(c, &vc->type, t->pos);
            vc->source_file = e->pos.file;
            vc->source_line = e->pos.line;
            read_table(c, vc, ufrpc_cfg_visitor_fields, 1u << type, e, p, depth + 1);
        } else {
            struct ufrpc_proxy_config *pc = ufrpc_schema_add_proxy(c);
            if (pc == NULL)
                return;
            pc->type = (ufrpc_proxy_type)type;
            ufrpc_cfg_pos_record(c, &pc->type, t->pos);
            pc->source_file = e->pos.file;
            pc->source_line = e->pos.line;
            read_table(c, pc, ufrpc_cfg_proxy_fields, 1u << type, e, p, depth + 1);
        }
    }
}

/* routes: an array of tables, each read with f->sub into one struct ufrpc_cfg_route */
static void read_routes(struct ufrpc_cfg_ctx *c, const struct ufrpc_cfg_field *f,
                        struct ufrpc_cfg_routes *out, const ufrpc_cv *v, const char *path, int depth)
{
    if (v->type != UFRPC_CV_ARRAY) {
        type_error(c, path, v, "an array of tables");
        return;
    }
    struct ufrpc_cfg_route *items =
        ufrpc_cfg_arena_alloc(c->arena, (v->u.a.len + 1) * sizeof *items);
    if (items == NULL) {
        c->nomem = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < v->u.a.len && !c->nomem; i++) {
        const ufrpc_cv *e = v->u.a.items[i];
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (e->type != UFRPC_CV_TABLE) {
            type_error(c, p, e, "a table");
            continue;
        }
        struct ufrpc_cfg_route *r = &items[n++];
        r->source_file = e->pos.file;
        r->source_line = e->pos.line;
        read_table(c, r, f->sub, 0, e, p, depth + 1);
    }
    out->items = items;
    out->len = n;
}

static void read_field(struct ufrpc_cfg_ctx *c, void *base, const struct ufrpc_cfg_field *f,
                       const ufrpc_cv *v, const char *path, int depth)
{
    void *dst = (char *)base + f->off;
    switch (f->kind) {
    case UFRPC_F_STR:
        if (!is_text(v)) {
            type_error(c, path, v, "a string");
            return;
        }
        *(const char **)dst = dup_text(c, path, v);
        if (*(const char **)dst == NULL)
            return;
        break;
    case UFRPC_F_INT: {
        int64_t i;
        if (!get_int(v, &i)) {
            type_error(c, path, v, "an integer");
            return;
        }
        *(int64_t *)dst = i;
        break;
    }
    case UFRPC_F_BOOL:
        if (v->type != UFRPC_CV_BOOL) {
            type_error(c, path, v, "a boolean");
            return;
        }
        *(bool *)dst = v->u.b;
        break;
    case UFRPC_F_STRLIST:
        read_strlist(c, dst, v, path);
        break;
    case UFRPC_F_MAP:
        read_map(c, dst, v, path);
        break;
    case UFRPC_F_BOOLMAP:
        read_boolmap(c, dst, v, path);
        break;
    case UFRPC_F_NVLIST:
        read_nvlist(c, dst, v, path);
        break;
    case UFRPC_F_BANDWIDTH:
        read_bandwidth(c, f, base, v, path);
        return;
    case UFRPC_F_TABLE:
        if (v->type != UFRPC_CV_TABLE) {
            type_error(c, path, v, "a table");
            return;
        }
        if (f->flags & UFRPC_FL_PRESENCE)
            *(bool *)((char *)base + f->aux) = true;
        read_table(c, base, f->sub, 0, v, path, depth + 1);
        break;
    case UFRPC_F_STRUCT: {
        if (v->type != UFRPC_CV_TABLE) {
            type_error(c, path, v, "a table");
            return;
        }
        uint32_t mask = 0;
        if (f->flags & (UFRPC_FL_PLUGIN | UFRPC_FL_VPLUGIN)) {
            mask = read_plugin_type(c, dst, v, path, (f->flags & UFRPC_FL_VPLUGIN) != 0);
            if (mask == 0)
                return;
            if (mask & (1u << UFRPC_PLUGIN_HTTPS2HTTP | 1u << UFRPC_PLUGIN_HTTPS2HTTPS))
                ((struct ufrpc_plugin_config *)dst)->enable_http2 = true; /* *bool default */
        }
        if (f->flags & UFRPC_FL_PRESENCE)
            *(bool *)((char *)base + f->aux) = true;
        read_table(c, dst, f->sub, mask, v, path, depth + 1);
        break;
    }
    case UFRPC_F_TYPE:
        return;
    case UFRPC_F_ROUTES:
        read_routes(c, f, dst, v, path, depth);
        break;
    case UFRPC_F_PROXIES:
    case UFRPC_F_VISITORS:
        read_proxies(c, v, path, f->kind == UFRPC_F_VISITORS, depth);
        return;
    default:
        return;
    }
    ufrpc_cfg_pos_record(c, dst, v->pos);
}

static void read_table(struct ufrpc_cfg_ctx *c, void *base, const struct ufrpc_cfg_field *fields,
                       uint32_t mask, const ufrpc_cv *node, const char *path, int depth)
{
    if (depth > 16 || c->nomem)
        return;
    for (size_t i = 0; i < node->u.t.len && !c->nomem; i++) {
        const ufrpc_cv_member *m = &node->u.t.items[i];
        char p[PATH_MAX_LEN];
        join_path(p, path, m->key, m->key_len);
        const struct ufrpc_cfg_field *f = find_field(fields, mask, m->key, m->key_len);
        if (f == NULL) {
            char ex[PATH_MAX_LEN];
            excerpt(ex, sizeof ex, p, strlen(p));
            unknown_key(c, ex, m->value);
            continue;
        }
        read_field(c, base, f, m->value, p, depth);
    }
}

void ufrpc_schema_init_common(struct ufrpc_config *cfg)
{
    cfg->login_fail_exit = true;
    cfg->transport.tcp_mux = true;
    cfg->transport.tls.enable = true;
    cfg->transport.tls.disable_custom_tls_first_byte = true;
}

int ufrpc_schema_read(struct ufrpc_cfg_ctx *c, const ufrpc_cv *root, bool included)
{
    if (root == NULL || root->type != UFRPC_CV_TABLE) {
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_SYNTAX,
                         root ? root->pos : (ufrpc_cv_pos){0}, "the document must be a table/mapping");
        return c->nomem ? UFRPC_ERR_NOMEM : 0;
    }
    if (!included) {
        read_table(c, c->cfg, ufrpc_cfg_common_fields, 0, root, "", 0);
    } else {
        for (size_t i = 0; i < root->u.t.len && !c->nomem; i++) {
            const ufrpc_cv_member *m = &root->u.t.items[i];
            const struct ufrpc_cfg_field *f =
                find_field(ufrpc_cfg_common_fields, 0, m->key, m->key_len);
            char p[PATH_MAX_LEN];
            join_path(p, "", m->key, m->key_len);
            if (f != NULL && (f->kind == UFRPC_F_PROXIES || f->kind == UFRPC_F_VISITORS)) {
                read_field(c, c->cfg, f, m->value, p, 0);
            } else {
                char ex[PATH_MAX_LEN];
                excerpt(ex, sizeof ex, p, strlen(p));
                ufrpc_cfg_report(c, c->strict ? UFRPC_CFG_ERROR : UFRPC_CFG_WARNING,
                                 UFRPC_ERR_CONFIG_UNKNOWN_KEY, m->value->pos,
                                 "key \"%s\" is not allowed in an included file (only proxies and "
                                 "visitors)",
                                 ex);
            }
        }
    }
    return c->nomem ? UFRPC_ERR_NOMEM : 0;
}

/* ---------------------------------------------------------------- defaults */

#define EMPTY_OR(field, dflt)                                                                  \
    do {                                                                                       \
        if ((field) == NULL || (field)[0] == '\0')                                             \
            (field) = (dflt);                                                                  \
    } while (0)
#define ZERO_OR(field, dflt)                                                                   \
    do {                                                                                       \
        if ((field) == 0)                                                                      \
            (field) = (dflt);                                                                  \
    } while (0)

void ufrpc_schema_complete_proxy(struct ufrpc_proxy_config *p)
{
    EMPTY_OR(p->local_ip, "127.0.0.1");
    EMPTY_OR(p->transport.bandwidth_limit_mode, "client");
    for (size_t i = 0; i < p->routes.len; i++)
        EMPTY_OR(p->routes.items[i].local_ip, "127.0.0.1");
    if (p->health_check.type != NULL && p->health_check.type[0] != '\0') {
        if (p->health_check.interval_seconds <= 0)
            p->health_check.interval_seconds = 10;
        if (p->health_check.timeout_seconds <= 0)
            p->health_check.timeout_seconds = 3;
        if (p->health_check.max_failed <= 0)
            p->health_check.max_failed = 1;
    }
}

void ufrpc_schema_complete_visitor(struct ufrpc_visitor_config *v)
{
    EMPTY_OR(v->bind_addr, "127.0.0.1");
    if (v->type == UFRPC_VISITOR_XTCP) {
        EMPTY_OR(v->protocol, "quic");
        ZERO_OR(v->max_retries_an_hour, 8);
        ZERO_OR(v->min_retry_interval, 90);
        ZERO_OR(v->fallback_timeout_ms, 1000);
    }
}

void ufrpc_schema_complete(struct ufrpc_cfg_ctx *c)
{
    struct ufrpc_config *g = c->cfg;
    EMPTY_OR(g->server_addr, "0.0.0.0");
    ZERO_OR(g->server_port, 7000);
    EMPTY_OR(g->nat_hole_stun_server, "stun.easyvoip.com:3478");
    EMPTY_OR(g->auth.method, "token");
    EMPTY_OR(g->log.to, "console");
    EMPTY_OR(g->log.level, "info");
    ZERO_OR(g->log.max_days, 3);
    EMPTY_OR(g->transport.protocol, "tcp");
    EMPTY_OR(g->transport.wire_protocol, "v1");
    ZERO_OR(g->transport.dial_server_timeout, 10);
    ZERO_OR(g->transport.dial_server_keepalive, 7200);
    if (g->transport.proxy_url == NULL || g->transport.proxy_url[0] == '\0') {
        const char *hp = ufrpc_cfg_getenv(c->envp, "http_proxy", 10);
        if (hp != NULL && hp[0] != '\0') {
            g->transport.proxy_url = ufrpc_cfg_arena_strndup(c->arena, hp, strlen(hp));
            if (g->transport.proxy_url == NULL)
                c->nomem = 1;
        }
    }
    ZERO_OR(g->transport.pool_count, 1);
    ZERO_OR(g->transport.tcp_mux_keepalive_interval, 30);
    if (g->transport.tcp_mux) {
        ZERO_OR(g->transport.heartbeat_interval, -1);
        ZERO_OR(g->transport.heartbeat_timeout, -1);
    } else {
        ZERO_OR(g->transport.heartbeat_interval, 30);
        ZERO_OR(g->transport.heartbeat_timeout, 90);
    }
    ZERO_OR(g->transport.quic.keepalive_period, 10);
    ZERO_OR(g->transport.quic.max_idle_timeout, 30);
    ZERO_OR(g->transport.quic.max_incoming_streams, 100000);
    EMPTY_OR(g->web_server.addr, "127.0.0.1");
    ZERO_OR(g->udp_packet_size, 1500);
    ZERO_OR(g->alerts.min_connections, 5);
    ZERO_OR(g->alerts.window_seconds, 60);
    for (size_t i = 0; i < c->nproxies; i++)
        ufrpc_schema_complete_proxy(c->proxies[i]);
    for (size_t i = 0; i < c->nvisitors; i++)
        ufrpc_schema_complete_visitor(c->visitors[i]);
}
