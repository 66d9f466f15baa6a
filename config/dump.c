/* config/dump.c — the effective configuration as JSON or TOML-like text (secrets
 * masked), and deep equality (the unmasked JSON forms compared). Both walk the field
 * tables of schema_fields.c, so they cover every schema key. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

enum tctx { T_PROXY, T_VISITOR, T_PLUGIN };

static void add(json_object *o, const char *k, json_object *v, int *nomem)
{
    if (v == NULL || json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        *nomem = 1;
    }
}

static json_object *str_or_mask(const char *s, unsigned flags, bool mask)
{
    if (mask && (flags & UFRPC_FL_SECRET))
        return json_object_new_string("***");
    if (mask && (flags & UFRPC_FL_URL_SECRET)) {
        /* scheme://user:password@host → scheme://user:***@host */
        const char *sch = strstr(s, "://");
        const char *at = sch ? strchr(sch + 3, '@') : NULL;
        const char *colon = sch ? strchr(sch + 3, ':') : NULL;
        if (at != NULL && colon != NULL && colon < at) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s***%s", (int)(colon + 1 - s), s, at);
            return json_object_new_string(buf);
        }
    }
    return json_object_new_string(s);
}

static json_object *map_obj(const struct ufrpc_cfg_map *m, bool secret_values, int *nomem)
{
    json_object *o = json_object_new_object();
    if (o == NULL) {
        *nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < m->len; i++)
        add(o, m->items[i].key, json_object_new_string(secret_values ? "***" : m->items[i].value), nomem);
    return o;
}

static void dump_fields(json_object *o, const void *base, const struct ufrpc_cfg_field *fields, uint32_t mask,
                        enum tctx tc, bool m, int *nomem);

static json_object *dump_proxy_like(const void *item, const struct ufrpc_cfg_field *fields, uint32_t mask,
                                    enum tctx tc, bool m, int *nomem)
{
    json_object *o = json_object_new_object();
    if (o == NULL) {
        *nomem = 1;
        return NULL;
    }
    dump_fields(o, item, fields, mask, tc, m, nomem);
    return o;
}

static void dump_fields(json_object *o, const void *base, const struct ufrpc_cfg_field *fields, uint32_t mask,
                        enum tctx tc, bool m, int *nomem)
{
    const char *b = base;
    for (const struct ufrpc_cfg_field *f = fields; f->kind != UFRPC_F_END; f++) {
        if (f->mask != 0 && (f->mask & mask) == 0)
            continue;
        const void *p = b + f->off;
        switch (f->kind) {
        case UFRPC_F_STR:
        case UFRPC_F_BANDWIDTH: {
            const char *s = *(const char *const *)p;
            if (s != NULL && s[0] != '\0')
                add(o, f->key, str_or_mask(s, f->flags, m), nomem);
            break;
        }
        case UFRPC_F_INT:
            add(o, f->key, json_object_new_int64(*(const int64_t *)p), nomem);
            break;
        case UFRPC_F_BOOL:
            add(o, f->key, json_object_new_boolean(*(const bool *)p), nomem);
            break;
        case UFRPC_F_STRLIST: {
            const struct ufrpc_cfg_strlist *l = p;
            if (l->len == 0)
                break;
            json_object *a = json_object_new_array();
            for (size_t i = 0; a != NULL && i < l->len; i++)
                if (json_object_array_add(a, json_object_new_string(l->items[i])) != 0)
                    *nomem = 1;
            add(o, f->key, a, nomem);
            break;
        }
        case UFRPC_F_MAP: {
            const struct ufrpc_cfg_map *mp = p;
            if (mp->len > 0)
                add(o, f->key, map_obj(mp, false, nomem), nomem);
            break;
        }
        case UFRPC_F_BOOLMAP: {
            const struct ufrpc_cfg_bool_map *bm = p;
            if (bm->len == 0)
                break;
            json_object *x = json_object_new_object();
            for (size_t i = 0; x != NULL && i < bm->len; i++)
                add(x, bm->keys[i], json_object_new_boolean(bm->values[i]), nomem);
            add(o, f->key, x, nomem);
            break;
        }
        case UFRPC_F_NVLIST: {
            const struct ufrpc_cfg_map *mp = p;
            if (mp->len == 0)
                break;
            json_object *a = json_object_new_array();
            for (size_t i = 0; a != NULL && i < mp->len; i++) {
                json_object *e = json_object_new_object();
                if (e == NULL) {
                    *nomem = 1;
                    break;
                }
                add(e, "name", json_object_new_string(mp->items[i].key), nomem);
                add(e, "value", json_object_new_string(mp->items[i].value), nomem);
                if (json_object_array_add(a, e) != 0) {
                    json_object_put(e);
                    *nomem = 1;
                }
            }
            add(o, f->key, a, nomem);
            break;
        }
        case UFRPC_F_TABLE:
        case UFRPC_F_STRUCT: {
            if ((f->flags & UFRPC_FL_PRESENCE) && !*(const bool *)(b + f->aux))
                break;
            const void *sb = f->kind == UFRPC_F_STRUCT ? p : base;
            uint32_t smask = mask;
            enum tctx stc = tc;
            if (f->flags & (UFRPC_FL_PLUGIN | UFRPC_FL_VPLUGIN)) {
                const struct ufrpc_plugin_config *pl = p;
                if (pl->type == UFRPC_PLUGIN_NONE)
                    break;
                smask = 1u << pl->type;
                stc = T_PLUGIN;
            } else if (f->kind == UFRPC_F_STRUCT) {
                smask = 0;
            }
            json_object *x = json_object_new_object();
            if (x == NULL) {
                *nomem = 1;
                break;
            }
            dump_fields(x, sb, f->sub, smask, stc, m, nomem);
            if (json_object_object_length(x) > 0 || (f->flags & UFRPC_FL_PRESENCE))
                add(o, f->key, x, nomem);
            else
                json_object_put(x);
            break;
        }
        case UFRPC_F_TYPE: {
            int t = *(const int *)p;
            const char *name = tc == T_PROXY     ? ufrpc_proxy_type_name((ufrpc_proxy_type)t)
                               : tc == T_VISITOR ? ufrpc_visitor_type_name((ufrpc_visitor_type)t)
                                                 : ufrpc_plugin_type_name((ufrpc_plugin_type)t);
            add(o, f->key, json_object_new_string(name ? name : "?"), nomem);
            break;
        }
        case UFRPC_F_PROXIES:
        case UFRPC_F_VISITORS: {
            const struct ufrpc_config *g = base;
            bool vis = f->kind == UFRPC_F_VISITORS;
            size_t n = vis ? g->nvisitors : g->nproxies;
            if (n == 0)
                break;
            json_object *a = json_object_new_array();
            for (size_t i = 0; a != NULL && i < n; i++) {
                json_object *e =
                    vis ? dump_proxy_like(&g->visitors[i], ufrpc_cfg_visitor_fields, 1u << g->visitors[i].type,
                                          T_VISITOR, m, nomem)
                        : dump_proxy_like(&g->proxies[i], ufrpc_cfg_proxy_fields, 1u << g->proxies[i].type,
                                          T_PROXY, m, nomem);
                if (e == NULL || json_object_array_add(a, e) != 0) {
                    json_object_put(e);
                    *nomem = 1;
                }
            }
            add(o, f->key, a, nomem);
            break;
        }
        default:
            break;
        }
    }
}

static json_object *to_json(const struct ufrpc_config *cfg, bool mask, int *nomem)
{
    json_object *o = json_object_new_object();
    if (o == NULL) {
        *nomem = 1;
        return NULL;
    }
    dump_fields(o, cfg, ufrpc_cfg_common_fields, 0, T_PROXY, mask, nomem);
    return o;
}

int ufrpc_cfg_dump_json_string(const struct ufrpc_config *cfg, bool mask, char **out)
{
    int nomem = 0;
    *out = NULL;
    json_object *o = to_json(cfg, mask, &nomem);
    if (o == NULL || nomem) {
        json_object_put(o);
        return UFRPC_ERR_NOMEM;
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    *out = s ? strdup(s) : NULL;
    json_object_put(o);
    return *out ? 0 : UFRPC_ERR_NOMEM;
}

int ufrpc_config_to_json(const struct ufrpc_config *cfg, char **out)
{
    return ufrpc_cfg_dump_json_string(cfg, false, out);
}

bool ufrpc_config_equal(const struct ufrpc_config *a, const struct ufrpc_config *b)
{
    char *x = NULL, *y = NULL;
    bool eq = ufrpc_cfg_dump_json_string(a, false, &x) == 0 && ufrpc_cfg_dump_json_string(b, false, &y) == 0 &&
              strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

/* Compares two dumps made by `dump` (NULL: an allocation failed, counted as different). */
static bool json_equal_or_false(json_object *x, json_object *y, int nomem)
{
    bool eq = false;
    if (x != NULL && y != NULL && !nomem) {
        const char *a = json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN);
        /* the first string lives in x, the second in y: both valid until put */
        const char *b = json_object_to_json_string_ext(y, JSON_C_TO_STRING_PLAIN);
        eq = a != NULL && b != NULL && strcmp(a, b) == 0;
    }
    json_object_put(x);
    json_object_put(y);
    return eq;
}

bool ufrpc_config_common_equal(const struct ufrpc_config *a, const struct ufrpc_config *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    /* shallow copies without their proxies and visitors (read-only views) */
    struct ufrpc_config ca = *a, cb = *b;
    ca.nproxies = cb.nproxies = 0;
    ca.nvisitors = cb.nvisitors = 0;
    int nomem = 0;
    json_object *x = to_json(&ca, false, &nomem);
    json_object *y = to_json(&cb, false, &nomem);
    /* log is applied on reload by itself and webServer is read at start only (as
     * frpc): neither needs a new session */
    static const char *const session_free[] = {"log", "webServer"};
    for (size_t i = 0; i < sizeof session_free / sizeof session_free[0]; i++) {
        if (x != NULL)
            json_object_object_del(x, session_free[i]);
        if (y != NULL)
            json_object_object_del(y, session_free[i]);
    }
    return json_equal_or_false(x, y, nomem);
}

bool ufrpc_proxy_config_equal(const struct ufrpc_proxy_config *a, const struct ufrpc_proxy_config *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    int nomem = 0;
    json_object *x = dump_proxy_like(a, ufrpc_cfg_proxy_fields, 1u << a->type, T_PROXY, false, &nomem);
    json_object *y = dump_proxy_like(b, ufrpc_cfg_proxy_fields, 1u << b->type, T_PROXY, false, &nomem);
    return json_equal_or_false(x, y, nomem);
}

bool ufrpc_visitor_config_equal(const struct ufrpc_visitor_config *a, const struct ufrpc_visitor_config *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    int nomem = 0;
    json_object *x = dump_proxy_like(a, ufrpc_cfg_visitor_fields, 1u << a->type, T_VISITOR, false, &nomem);
    json_object *y = dump_proxy_like(b, ufrpc_cfg_visitor_fields, 1u << b->type, T_VISITOR, false, &nomem);
    return json_equal_or_false(x, y, nomem);
}

/* ---- TOML-like output -------------------------------------------------------- */

static void toml_key(FILE *out, const char *k)
{
    bool bare = k[0] != '\0';
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            bare = false;
    if (bare)
        fputs(k, out);
    else {
        json_object *s = json_object_new_string(k);
        if (s != NULL)
            fputs(json_object_to_json_string_ext(s, JSON_C_TO_STRING_NOSLASHESCAPE), out);
        json_object_put(s);
    }
}

static void toml_value(FILE *out, json_object *v)
{
    if (json_object_is_type(v, json_type_object)) { /* inline table */
        fputs("{ ", out);
        bool first = true;
        json_object_object_foreach(v, k, x)
        {
            fputs(first ? "" : ", ", out);
            first = false;
            toml_key(out, k);
            fputs(" = ", out);
            toml_value(out, x);
        }
        fputs(" }", out);
    } else if (json_object_is_type(v, json_type_array)) {
        fputs("[", out);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            fputs(i ? ", " : "", out);
            toml_value(out, json_object_array_get_idx(v, i));
        }
        fputs("]", out);
    } else {
        fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE), out);
    }
}

static void toml_body(FILE *out, json_object *o, const char *prefix, bool top)
{
    json_object_object_foreach(o, k, v)
    {
        if (top && (strcmp(k, "proxies") == 0 || strcmp(k, "visitors") == 0))
            continue;
        if (json_object_is_type(v, json_type_object)) {
            char p[512];
            snprintf(p, sizeof p, "%s%s.", prefix, k);
            /* keys of maps may need quoting: print them dotted with quoting */
            json_object_object_foreach(v, k2, v2)
            {
                if (json_object_is_type(v2, json_type_object)) {
                    json_object *wrap = json_object_new_object();
                    json_object_object_add(wrap, k2, json_object_get(v2));
                    toml_body(out, wrap, p, false);
                    json_object_put(wrap);
                } else {
                    fputs(p, out);
                    toml_key(out, k2);
                    fputs(" = ", out);
                    toml_value(out, v2);
                    fputs("\n", out);
                }
            }
            continue;
        }
        fputs(prefix, out);
        toml_key(out, k);
        fputs(" = ", out);
        toml_value(out, v);
        fputs("\n", out);
    }
}

int ufrpc_config_dump(const struct ufrpc_config *cfg, FILE *out, bool json)
{
    int nomem = 0;
    json_object *o = to_json(cfg, true, &nomem);
    if (o == NULL || nomem) {
        json_object_put(o);
        return UFRPC_ERR_NOMEM;
    }
    if (json) {
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE), out);
        fputs("\n", out);
    } else {
        toml_body(out, o, "", true);
        static const char *const lists[] = {"proxies", "visitors"};
        for (int l = 0; l < 2; l++) {
            json_object *a;
            if (!json_object_object_get_ex(o, lists[l], &a))
                continue;
            for (size_t i = 0; i < json_object_array_length(a); i++) {
                fprintf(out, "\n[[%s]]\n", lists[l]);
                toml_body(out, json_object_array_get_idx(a, i), "", false);
            }
        }
    }
    json_object_put(o);
    return ferror(out) ? UFRPC_ERR_IO : 0;
}
