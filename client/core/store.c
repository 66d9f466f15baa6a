/* client/core/store.c — frpc's store of proxies and visitors. See store.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "client/core/store.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/gojson.h"
#include "proto/text.h"

struct ufrpc_store {
    char *path;
    json_object *proxies;  /* array of canonical entries */
    json_object *visitors; /* array of canonical entries */
    uint64_t seq;          /* of the last snapshot taken */
    uv_mutex_t write_lock; /* ufrpc_store_write_file */
    uint64_t written_seq;  /* guarded by write_lock */
};

/* ---- Go's JSON form ------------------------------------------------------------- */

enum kind {
    K_STR,      /* omitempty string */
    K_STR_A,    /* string, always written */
    K_INT,      /* omitempty int */
    K_INT_A,    /* int, always written */
    K_BOOL,     /* omitempty bool */
    K_BOOLPTR,  /* *bool: written when given */
    K_LIST,     /* omitempty []string */
    K_ANY,      /* omitempty map/slice/pointer, copied as given */
    K_PLUGIN,   /* typed plugin options: copied, null when absent */
    K_OBJ,      /* struct: always written, fields from sub */
};

struct field {
    const char *key;
    enum kind kind;
    const struct field *sub;
};

#define END {NULL, K_ANY, NULL}

static const struct field ptransport[] = {
    {"useEncryption", K_BOOL, NULL},     {"useCompression", K_BOOL, NULL},
    {"bandwidthLimit", K_STR_A, NULL},   {"bandwidthLimitMode", K_STR, NULL},
    {"proxyProtocolVersion", K_STR, NULL}, END};
static const struct field lb[] = {{"group", K_STR_A, NULL}, {"groupKey", K_STR, NULL}, END};
static const struct field hc[] = {
    {"type", K_STR_A, NULL}, {"timeoutSeconds", K_INT, NULL}, {"maxFailed", K_INT, NULL},
    {"intervalSeconds", K_INT_A, NULL}, {"path", K_STR, NULL}, {"httpHeaders", K_ANY, NULL}, END};
static const struct field headers[] = {{"set", K_ANY, NULL}, END};
static const struct field vtransport[] = {
    {"useEncryption", K_BOOL, NULL}, {"useCompression", K_BOOL, NULL}, END};

#define PROXY_BASE                                                                              \
    {"name", K_STR_A, NULL}, {"type", K_STR_A, NULL}, {"enabled", K_BOOLPTR, NULL},            \
        {"annotations", K_ANY, NULL}, {"transport", K_OBJ, ptransport},                       \
        {"metadatas", K_ANY, NULL}, {"loadBalancer", K_OBJ, lb}, {"healthCheck", K_OBJ, hc},  \
        {"localIP", K_STR, NULL}, {"localPort", K_INT, NULL}, {"plugin", K_PLUGIN, NULL}
#define DOMAINS {"customDomains", K_LIST, NULL}, {"subdomain", K_STR, NULL}

static const struct field p_tcp[] = {PROXY_BASE, {"remotePort", K_INT, NULL}, END};
static const struct field p_http[] = {PROXY_BASE,
                                      DOMAINS,
                                      {"locations", K_LIST, NULL},
                                      {"httpUser", K_STR, NULL},
                                      {"httpPassword", K_STR, NULL},
                                      {"hostHeaderRewrite", K_STR, NULL},
                                      {"requestHeaders", K_OBJ, headers},
                                      {"responseHeaders", K_OBJ, headers},
                                      {"routeByHTTPUser", K_STR, NULL},
                                      END};
static const struct field p_https[] = {PROXY_BASE, DOMAINS, END};
static const struct field p_tcpmux[] = {PROXY_BASE,
                                        DOMAINS,
                                        {"httpUser", K_STR, NULL},
                                        {"httpPassword", K_STR, NULL},
                                        {"routeByHTTPUser", K_STR, NULL},
                                        {"multiplexer", K_STR, NULL},
                                        END};
static const struct field p_stcp[] = {PROXY_BASE, {"secretKey", K_STR, NULL},
                                      {"allowUsers", K_LIST, NULL}, END};
static const struct field p_xtcp[] = {PROXY_BASE, {"secretKey", K_STR, NULL},
                                      {"allowUsers", K_LIST, NULL},
                                      {"natTraversal", K_ANY, NULL}, END};

#define VISITOR_BASE                                                                            \
    {"name", K_STR_A, NULL}, {"type", K_STR_A, NULL}, {"enabled", K_BOOLPTR, NULL},            \
        {"transport", K_OBJ, vtransport}, {"secretKey", K_STR, NULL},                          \
        {"serverUser", K_STR, NULL}, {"serverName", K_STR, NULL}, {"bindAddr", K_STR, NULL},   \
        {"bindPort", K_INT, NULL}, {"plugin", K_PLUGIN, NULL}
static const struct field v_base[] = {VISITOR_BASE, END};
static const struct field v_xtcp[] = {VISITOR_BASE,
                                      {"protocol", K_STR, NULL},
                                      {"keepTunnelOpen", K_BOOL, NULL},
                                      {"maxRetriesAnHour", K_INT, NULL},
                                      {"minRetryInterval", K_INT, NULL},
                                      {"fallbackTo", K_STR, NULL},
                                      {"fallbackTimeoutMs", K_INT, NULL},
                                      {"natTraversal", K_ANY, NULL},
                                      END};

static const struct {
    const char *type;
    const struct field *fields;
} proxy_types[] = {{"tcp", p_tcp},       {"udp", p_tcp},    {"http", p_http},
                   {"https", p_https},   {"tcpmux", p_tcpmux}, {"stcp", p_stcp},
                   {"sudp", p_stcp},     {"xtcp", p_xtcp}},
  visitor_types[] = {{"stcp", v_base}, {"sudp", v_base}, {"xtcp", v_xtcp}};

static const struct field *fields_of(bool visitor, const char *type)
{
    size_t n = visitor ? sizeof visitor_types / sizeof *visitor_types
                       : sizeof proxy_types / sizeof *proxy_types;
    for (size_t i = 0; i < n; i++) {
        const char *t = visitor ? visitor_types[i].type : proxy_types[i].type;
        if (type != NULL && strcmp(t, type) == 0)
            return visitor ? visitor_types[i].fields : proxy_types[i].fields;
    }
    return NULL;
}

static const char *json_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "bool";
    case json_type_double:
    case json_type_int: return "number";
    case json_type_string: return "string";
    case json_type_array: return "array";
    default: return "object";
    }
}

/* Go's encoding/json matches keys case-insensitively (an exact match first). */
static json_object *get_key(json_object *in, const char *key)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(in, key, &v))
        return v;
    json_object_object_foreach(in, k, val)
    {
        if (strcasecmp(k, key) == 0)
            return val;
    }
    return NULL;
}

static bool canon_into(const struct field *fs, json_object *in, json_object *out, const char *where,
                       char *msg, size_t cap)
{
    for (const struct field *f = fs; f->key != NULL; f++) {
        json_object *v = in != NULL ? get_key(in, f->key) : NULL;
        bool null = v == NULL || json_object_is_type(v, json_type_null);
        const char *want = NULL;
        json_object *o = NULL;
        switch (f->kind) {
        case K_STR:
        case K_STR_A:
            if (!null && !json_object_is_type(v, json_type_string))
                want = "string";
            else if (!null && json_object_get_string_len(v) > 0)
                o = json_object_new_string(json_object_get_string(v));
            else if (f->kind == K_STR_A)
                o = json_object_new_string("");
            else
                continue;
            break;
        case K_INT:
        case K_INT_A:
            if (!null && !json_object_is_type(v, json_type_int))
                want = "int";
            else if (!null && json_object_get_int64(v) != 0)
                o = json_object_new_int64(json_object_get_int64(v));
            else if (f->kind == K_INT_A)
                o = json_object_new_int64(0);
            else
                continue;
            break;
        case K_BOOL:
        case K_BOOLPTR:
            if (!null && !json_object_is_type(v, json_type_boolean))
                want = "bool";
            else if (!null && (f->kind == K_BOOLPTR || json_object_get_boolean(v)))
                o = json_object_new_boolean(json_object_get_boolean(v));
            else
                continue;
            break;
        case K_LIST:
            if (!null && !json_object_is_type(v, json_type_array))
                want = "[]string";
            else if (!null && json_object_array_length(v) > 0) {
                for (size_t i = 0; i < json_object_array_length(v); i++)
                    if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                        want = "[]string";
                if (want == NULL)
                    json_object_deep_copy(v, &o, NULL);
            } else
                continue;
            break;
        case K_ANY:
            if (null || (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0) ||
                (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0))
                continue;
            json_object_deep_copy(v, &o, NULL);
            break;
        case K_PLUGIN:
            if (!null && !json_object_is_type(v, json_type_object))
                want = "object";
            else if (!null)
                json_object_deep_copy(v, &o, NULL);
            else
                o = NULL; /* written as null */
            if (want == NULL) {
                json_object_object_add(out, f->key, o);
                continue;
            }
            break;
        case K_OBJ:
            if (!null && !json_object_is_type(v, json_type_object)) {
                want = "object";
                break;
            }
            o = json_object_new_object();
            if (o == NULL)
                break;
            char sub[128];
            snprintf(sub, sizeof sub, "%s.%s", where, f->key);
            if (!canon_into(f->sub, null ? NULL : v, o, sub, msg, cap)) {
                json_object_put(o);
                return false;
            }
            break;
        }
        if (want != NULL) {
            snprintf(msg, cap,
                     "parse JSON error: json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                     json_kind(v), where, f->key, want);
            return false;
        }
        if (o == NULL) {
            snprintf(msg, cap, "out of memory");
            return false;
        }
        json_object_object_add(out, f->key, o);
    }
    return true;
}

json_object *ufrpc_store_canonical(bool visitor, const char *type, json_object *in, char *msg,
                                   size_t cap)
{
    const struct field *fs = fields_of(visitor, type);
    if (fs == NULL) {
        snprintf(msg, cap, "invalid %s type: %s", visitor ? "visitor" : "proxy", type ? type : "");
        return NULL;
    }
    json_object *out = json_object_new_object();
    if (out == NULL) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    if (!canon_into(fs, in, out, type, msg, cap)) {
        json_object_put(out);
        return NULL;
    }
    return out;
}

/* ---- the store -------------------------------------------------------------------- */

static const char *entry_name(json_object *e)
{
    json_object *n = NULL;
    return json_object_object_get_ex(e, "name", &n) ? json_object_get_string(n) : "";
}

static const char *entry_type(json_object *e)
{
    json_object *n = NULL;
    return json_object_object_get_ex(e, "type", &n) ? json_object_get_string(n) : "";
}

static json_object *list_of(const struct ufrpc_store *s, bool visitor)
{
    return visitor ? s->visitors : s->proxies;
}

static size_t find(const struct ufrpc_store *s, bool visitor, const char *name)
{
    json_object *a = list_of(s, visitor);
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++)
        if (strcmp(entry_name(json_object_array_get_idx(a, i)), name) == 0)
            return i;
    return SIZE_MAX;
}

/* One array of the file into canonical entries (frpc: decode errors name the index). */
static int load_list(json_object *root, bool visitor, json_object *dst, char *err, size_t cap)
{
    json_object *arr = NULL;
    const char *key = visitor ? "visitors" : "proxies";
    if (!json_object_object_get_ex(root, key, &arr) || json_object_is_type(arr, json_type_null))
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        snprintf(err, cap, "failed to load existing data: failed to parse JSON: %s is not an array", key);
        return UFRPC_ERR_CONFIG_SYNTAX;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        char why[300] = "";
        json_object *c = json_object_is_type(e, json_type_object)
                             ? ufrpc_store_canonical(visitor, entry_type(e), e, why, sizeof why)
                             : NULL;
        if (c == NULL) {
            snprintf(err, cap, "failed to load existing data: failed to decode %s at index %zu: %s",
                     visitor ? "visitor" : "proxy", i, why[0] ? why : "not an object");
            return UFRPC_ERR_CONFIG_SYNTAX;
        }
        if (entry_name(c)[0] == '\0') {
            json_object_put(c);
            snprintf(err, cap, "failed to load existing data: %s name cannot be empty",
                     visitor ? "visitor" : "proxy");
            return UFRPC_ERR_CONFIG_SYNTAX;
        }
        /* frpc keeps them in a map: a later entry of the same name wins */
        size_t at = SIZE_MAX, n = json_object_array_length(dst);
        for (size_t k = 0; k < n && at == SIZE_MAX; k++)
            if (strcmp(entry_name(json_object_array_get_idx(dst, k)), entry_name(c)) == 0)
                at = k;
        if (at != SIZE_MAX)
            json_object_array_put_idx(dst, at, c);
        else if (json_object_array_add(dst, c) != 0) {
            json_object_put(c);
            return UFRPC_ERR_NOMEM;
        }
    }
    return 0;
}

int ufrpc_store_open(const char *path, struct ufrpc_store **out, char *err, size_t cap)
{
    *out = NULL;
    if (cap > 0)
        err[0] = '\0';
    struct ufrpc_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return UFRPC_ERR_NOMEM;
    s->path = strdup(path);
    s->proxies = json_object_new_array();
    s->visitors = json_object_new_array();
    if (s->path == NULL || s->proxies == NULL || s->visitors == NULL ||
        uv_mutex_init(&s->write_lock) != 0) {
        json_object_put(s->proxies);
        json_object_put(s->visitors);
        free(s->path);
        free(s);
        return UFRPC_ERR_NOMEM;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            *out = s;
            return 0;
        }
        snprintf(err, cap, "failed to load existing data: open %s: %s", path, strerror(errno));
        ufrpc_store_free(s);
        return UFRPC_ERR_CONFIG_IO;
    }
    char *text = malloc(UFRPC_STORE_MAX_FILE + 1);
    size_t n = text ? fread(text, 1, UFRPC_STORE_MAX_FILE + 1, f) : 0;
    bool rerr = text != NULL && ferror(f);
    fclose(f);
    int rc = 0;
    if (text == NULL) {
        rc = UFRPC_ERR_NOMEM;
    } else if (rerr || n > UFRPC_STORE_MAX_FILE) {
        snprintf(err, cap, "failed to load existing data: read %s: %s", path,
                 rerr ? "read error" : "file too large");
        rc = UFRPC_ERR_CONFIG_IO;
    } else {
        json_tokener *tok = json_tokener_new();
        json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)n) : NULL;
        enum json_tokener_error je = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
        if (tok == NULL) {
            rc = UFRPC_ERR_NOMEM;
        } else if (root == NULL || je != json_tokener_success ||
                   !json_object_is_type(root, json_type_object)) {
            snprintf(err, cap, "failed to load existing data: failed to parse JSON: %s",
                     root == NULL || je != json_tokener_success ? json_tokener_error_desc(je)
                                                                : "not a JSON object");
            rc = UFRPC_ERR_CONFIG_SYNTAX;
        } else {
            rc = load_list(root, false, s->proxies, err, cap);
            if (rc == 0)
                rc = load_list(root, true, s->visitors, err, cap);
        }
        json_object_put(root);
        if (tok)
            json_tokener_free(tok);
    }
    free(text);
    if (rc != 0) {
        ufrpc_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ufrpc_store_free(struct ufrpc_store *s)
{
    if (s == NULL)
        return;
    json_object_put(s->proxies);
    json_object_put(s->visitors);
    uv_mutex_destroy(&s->write_lock);
    free(s->path);
    free(s);
}

const char *ufrpc_store_path(const struct ufrpc_store *s)
{
    return s->path;
}

size_t ufrpc_store_count(const struct ufrpc_store *s, bool visitor)
{
    return json_object_array_length(list_of(s, visitor));
}

static char *dup_json(json_object *o)
{
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    return t ? strdup(t) : NULL;
}

static json_object *definition(json_object *entry)
{
    json_object *d = json_object_new_object();
    if (d == NULL)
        return NULL;
    const char *type = entry_type(entry);
    json_object_object_add(d, "name", json_object_new_string(entry_name(entry)));
    json_object_object_add(d, "type", json_object_new_string(type));
    json_object_object_add(d, type, json_object_get(entry));
    return d;
}

char *ufrpc_store_definition_json(json_object *entry)
{
    json_object *d = definition(entry);
    char *t = d ? dup_json(d) : NULL;
    json_object_put(d);
    return t;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(entry_name(*(json_object *const *)a), entry_name(*(json_object *const *)b));
}

char *ufrpc_store_list_json(const struct ufrpc_store *s, bool visitor)
{
    json_object *src = list_of(s, visitor);
    size_t n = json_object_array_length(src);
    json_object **v = calloc(n ? n : 1, sizeof *v);
    json_object *root = json_object_new_object(), *arr = json_object_new_array();
    char *text = NULL;
    if (v != NULL && root != NULL && arr != NULL) {
        for (size_t i = 0; i < n; i++)
            v[i] = json_object_array_get_idx(src, i);
        qsort(v, n, sizeof *v, by_name);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            json_object *d = definition(v[i]);
            ok = d != NULL && json_object_array_add(arr, d) == 0;
        }
        json_object_object_add(root, visitor ? "visitors" : "proxies", arr);
        arr = NULL;
        if (ok)
            text = dup_json(root);
    }
    json_object_put(arr);
    json_object_put(root);
    free(v);
    return text;
}

char *ufrpc_store_get_json(const struct ufrpc_store *s, bool visitor, const char *name, bool *nomem)
{
    *nomem = false;
    size_t i = find(s, visitor, name);
    if (i == SIZE_MAX)
        return NULL;
    char *t = ufrpc_store_definition_json(json_object_array_get_idx(list_of(s, visitor), i));
    *nomem = t == NULL;
    return t;
}

/* The entry as a one-proxy config, through the loader: frpc's Complete + validation. */
static bool validate_entry(bool visitor, json_object *entry, char *msg, size_t cap)
{
    json_object *doc = json_object_new_object(), *arr = json_object_new_array();
    if (doc == NULL || arr == NULL) {
        json_object_put(doc);
        json_object_put(arr);
        snprintf(msg, cap, "out of memory");
        return false;
    }
    json_object_array_add(arr, json_object_get(entry));
    json_object_object_add(doc, visitor ? "visitors" : "proxies", arr);
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    struct ufrpc_config_load_opts opts = {.non_strict = true, .no_store = true};
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = text ? ufrpc_config_load_buffer(text, strlen(text), "store.json", &opts, &cfg, &diag)
                  : UFRPC_ERR_NOMEM;
    const char *why = NULL;
    for (size_t i = 0; i < diag.len && why == NULL; i++)
        if (diag.items[i].severity == UFRPC_CFG_ERROR ||
            diag.items[i].severity == UFRPC_CFG_UNSUPPORTED)
            why = diag.items[i].err.msg;
    bool ok = rc == 0 && why == NULL;
    /* frpc's message has no "proxy [name]: " in front */
    const char *pfx = visitor ? "visitor [" : "proxy [";
    if (why != NULL && strncmp(why, pfx, strlen(pfx)) == 0 && strstr(why, "]: ") != NULL)
        why = strstr(why, "]: ") + 3;
    if (!ok)
        snprintf(msg, cap, "invalid argument: validation error: %s",
                 why ? why : ufrpc_strerror(rc));
    ufrpc_cfg_diag_free(&diag);
    ufrpc_config_free(cfg);
    json_object_put(doc);
    return ok;
}

int ufrpc_store_parse_body(bool visitor, const char *path_name, const uint8_t *body, size_t len,
                           json_object **entry, char *msg, size_t cap)
{
    *entry = NULL;
    const char *what = visitor ? "visitor" : "proxy";
    /* frpc: jsonx.Unmarshal (encoding/json): one value, nothing after it; null
     * leaves the definition empty */
    enum json_tokener_error je;
    json_object *root;
    int rc = ufrpc_gojson_parse((const char *)body, len, &root, &je);
    if (rc == 0 && root == NULL && (root = json_object_new_object()) == NULL)
        rc = UFRPC_ERR_NOMEM;
    if (rc == UFRPC_ERR_NOMEM) {
        snprintf(msg, cap, "out of memory");
        return 500;
    }
    if (rc < 0) {
        snprintf(msg, cap, "parse JSON error: %s",
                 je == json_tokener_error_parse_eof ? "unexpected end of JSON input"
                                                    : json_tokener_error_desc(je));
        return 400;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(msg, cap, "parse JSON error: json: cannot unmarshal %s into Go value of type model.%s",
                 json_kind(root), visitor ? "VisitorDefinition" : "ProxyDefinition");
        json_object_put(root);
        return 400;
    }
    json_object *nv = get_key(root, "name"), *tv = get_key(root, "type");
    if ((nv && !json_object_is_type(nv, json_type_string) && !json_object_is_type(nv, json_type_null)) ||
        (tv && !json_object_is_type(tv, json_type_string) && !json_object_is_type(tv, json_type_null))) {
        snprintf(msg, cap,
                 "parse JSON error: json: cannot unmarshal %s into Go struct field %sDefinition.%s of type string",
                 json_kind(nv && !json_object_is_type(nv, json_type_string) ? nv : tv),
                 visitor ? "Visitor" : "Proxy",
                 nv && !json_object_is_type(nv, json_type_string) ? "name" : "type");
        json_object_put(root);
        return 400;
    }
    const char *name = nv && json_object_is_type(nv, json_type_string) ? json_object_get_string(nv) : "";
    const char *type = tv && json_object_is_type(tv, json_type_string) ? json_object_get_string(tv) : "";
    bool blank = true;
    for (const char *p = name; *p && blank; p++)
        blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f';
    int status = 400;
    const char *block_type = NULL;
    size_t blocks = 0;
    size_t ntypes = visitor ? sizeof visitor_types / sizeof *visitor_types
                            : sizeof proxy_types / sizeof *proxy_types;
    json_object *block = NULL;
    for (size_t i = 0; i < ntypes; i++) {
        const char *t = visitor ? visitor_types[i].type : proxy_types[i].type;
        json_object *b = get_key(root, t);
        if (b != NULL && !json_object_is_type(b, json_type_null)) {
            blocks++;
            block_type = t;
            block = b;
        }
    }
    if (blank)
        snprintf(msg, cap, "%s name is required", what);
    else if (fields_of(visitor, type) == NULL)
        snprintf(msg, cap, "invalid %s type: %s", what, type);
    else if (path_name != NULL && strcmp(path_name, name) != 0)
        snprintf(msg, cap, "%s name in URL must match name in body", what);
    else if (blocks != 1)
        snprintf(msg, cap, "exactly one %s type block is required", what);
    else if (strcmp(block_type, type) != 0)
        snprintf(msg, cap, "%s type block \"%s\" does not match type \"%s\"", what, block_type, type);
    else if (!json_object_is_type(block, json_type_object))
        snprintf(msg, cap,
                 "parse JSON error: json: cannot unmarshal %s into Go struct field %sDefinition.%s of type v1.%s",
                 json_kind(block), visitor ? "Visitor" : "Proxy", type, "config");
    else {
        json_object *c = ufrpc_store_canonical(visitor, type, block, msg, cap);
        if (c != NULL) {
            /* ToConfigurer: the body's name and type win over the block's */
            json_object_object_add(c, "name", json_object_new_string(name));
            json_object_object_add(c, "type", json_object_new_string(type));
            if (validate_entry(visitor, c, msg, cap)) {
                *entry = c;
                status = 200;
            } else {
                json_object_put(c);
            }
        }
    }
    json_object_put(root);
    return status;
}

int ufrpc_store_create(struct ufrpc_store *s, bool visitor, json_object *entry, char *msg,
                       size_t cap)
{
    const char *name = entry_name(entry);
    if (find(s, visitor, name) != SIZE_MAX) {
        char q[300];
        ufrpc_go_quote(q, sizeof q, name);
        snprintf(msg, cap, "conflict: already exists: %s %s", visitor ? "visitor" : "proxy", q);
        return 409;
    }
    if (json_object_array_add(list_of(s, visitor), json_object_get(entry)) != 0) {
        json_object_put(entry);
        snprintf(msg, cap, "out of memory");
        return 500;
    }
    return 200;
}

static int not_found(bool visitor, const char *name, char *msg, size_t cap)
{
    char q[300];
    ufrpc_go_quote(q, sizeof q, name);
    snprintf(msg, cap, "not found: not found: %s %s", visitor ? "visitor" : "proxy", q);
    return 404;
}

int ufrpc_store_update(struct ufrpc_store *s, bool visitor, json_object *entry,
                       json_object **undo, char *msg, size_t cap)
{
    *undo = NULL;
    size_t i = find(s, visitor, entry_name(entry));
    if (i == SIZE_MAX)
        return not_found(visitor, entry_name(entry), msg, cap);
    json_object *a = list_of(s, visitor);
    *undo = json_object_get(json_object_array_get_idx(a, i));
    json_object_array_put_idx(a, i, json_object_get(entry));
    return 200;
}

int ufrpc_store_delete(struct ufrpc_store *s, bool visitor, const char *name, json_object **undo,
                       char *msg, size_t cap)
{
    *undo = NULL;
    size_t i = find(s, visitor, name);
    if (i == SIZE_MAX)
        return not_found(visitor, name, msg, cap);
    json_object *a = list_of(s, visitor);
    *undo = json_object_get(json_object_array_get_idx(a, i));
    json_object_array_del_idx(a, i, 1);
    return 200;
}

void ufrpc_store_undo(struct ufrpc_store *s, bool visitor, const char *name, json_object *prev)
{
    json_object *a = list_of(s, visitor);
    size_t i = find(s, visitor, name);
    if (i != SIZE_MAX) {
        if (prev != NULL)
            json_object_array_put_idx(a, i, prev);
        else
            json_object_array_del_idx(a, i, 1);
    } else if (prev != NULL && json_object_array_add(a, prev) != 0) {
        json_object_put(prev);
    }
}

char *ufrpc_store_snapshot(struct ufrpc_store *s, size_t *len, uint64_t *seq)
{
    json_object *root = json_object_new_object();
    if (root == NULL)
        return NULL;
    /* frpc's storeData: both lists omitempty */
    if (json_object_array_length(s->proxies) > 0)
        json_object_object_add(root, "proxies", json_object_get(s->proxies));
    if (json_object_array_length(s->visitors) > 0)
        json_object_object_add(root, "visitors", json_object_get(s->visitors));
    const char *t = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = t ? strdup(t) : NULL;
    json_object_put(root);
    if (out != NULL) { /* Go writes an empty object as {} where json-c breaks the line */
        char *w = out;
        for (const char *r = out; *r;) {
            const char *k = r + 1;
            while (*r == '{' && (*k == '\n' || *k == ' '))
                k++;
            if (*r == '{' && *k == '}' && k > r + 1)
                *w++ = '{', *w++ = '}', r = k + 1;
            else
                *w++ = *r++;
        }
        *w = '\0';
        *len = strlen(out);
        *seq = ++s->seq;
    }
    return out;
}

static int mkdir1(const char *d)
{
    struct stat st;
    if (mkdir(d, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return errno;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* MkdirAll for the store's directory. */
static int mkdirs(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int e = mkdir1(buf);
        if (e != 0)
            return e;
        *p = '/';
    }
    return mkdir1(buf);
}

static int write_locked(const char *path, const char *data, size_t len, char *err, size_t cap)
{
    char dir[4096], tmp[4200], eb[128];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int e = mkdirs(dir);
    if (e != 0) {
        snprintf(err, cap, "failed to persist: failed to create directory: mkdir %s: %s", dir,
                 ufrpc_go_strerror(e, eb, sizeof eb));
        return UFRPC_ERR_IO;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, cap, "failed to persist: failed to create temp file: open %s: %s", tmp,
                 ufrpc_go_strerror(errno, eb, sizeof eb));
        return UFRPC_ERR_IO;
    }
    const char *step = NULL;
    for (size_t off = 0; off < len && step == NULL;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            step = "write temp file";
        else
            off += (size_t)w;
    }
    if (step == NULL && fsync(fd) != 0)
        step = "sync temp file";
    e = errno;
    if (close(fd) != 0 && step == NULL)
        step = "close temp file", e = errno;
    if (step == NULL && rename(tmp, path) != 0)
        step = "rename temp file", e = errno;
    if (step != NULL) {
        unlink(tmp);
        snprintf(err, cap, "failed to persist: failed to %s: %s", step, ufrpc_go_strerror(e, eb, sizeof eb));
        return UFRPC_ERR_IO;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename itself survives a crash */
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int ufrpc_store_write_file(struct ufrpc_store *s, const char *data, size_t len, uint64_t seq,
                           char *err, size_t cap)
{
    if (cap > 0)
        err[0] = '\0';
    uv_mutex_lock(&s->write_lock);
    int rc = 0;
    if (seq > s->written_seq) {
        rc = write_locked(s->path, data, len, err, cap);
        if (rc == 0)
            s->written_seq = seq;
    }
    uv_mutex_unlock(&s->write_lock);
    return rc;
}
