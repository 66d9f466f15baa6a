/* config/ini.c — frpc's legacy INI format, mapped to the v1 document tree exactly as
 * frp's pkg/config/legacy conversion does (docs/PROTOCOL.md §12.3), so the schema layer
 * treats it like any other format.
 *
 * Parsing is config/ini_parse.c (go-ini's rules; detection with go-ini's defaults,
 * loading with frp's options IgnoreInlineComment + AllowBooleanKeys); every key keeps
 * its line number.
 * Differences from frpc, on purpose: values that do not parse as a number/boolean are
 * errors (go-ini silently keeps the default); keys frpc ignores are warnings. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "config/ini_parse.h"
#include "proto/error.h"

/* ---------------------------------------------------------------- reading */

/* go-ini's default options (DetectLegacyINIFormat) */
static const struct ufrpc_ini_opts detect_opts = {.frp = false};
/* frp's legacy loader: IgnoreInlineComment, AllowBooleanKeys */
static const struct ufrpc_ini_opts frp_opts = {.frp = true};

bool ufrpc_ini_is_legacy(const char *text, size_t len)
{
    struct ufrpc_ini_doc doc;
    bool found = ufrpc_ini_parse(text, len, &detect_opts, &doc, NULL, NULL, 0) == 0 &&
                 ufrpc_ini_section(&doc, "common") != NULL;
    ufrpc_ini_doc_free(&doc);
    return found;
}

bool ufrpc_ini_not_legacy_reason(const char *text, size_t len, uint32_t *line, char *msg, size_t cap)
{
    bool common = false;
    for (size_t i = 0; i < len && !common;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len, b = i, t = e;
        while (b < t && isspace((unsigned char)text[b]))
            b++;
        while (t > b && isspace((unsigned char)text[t - 1]))
            t--;
        common = t - b == 8 && memcmp(text + b, "[common]", 8) == 0;
        i = e + 1;
    }
    if (!common)
        return false;
    struct ufrpc_ini_doc doc;
    int rc = ufrpc_ini_parse(text, len, &detect_opts, &doc, line, msg, cap);
    ufrpc_ini_doc_free(&doc);
    return rc == UFRPC_ERR_CONFIG_SYNTAX;
}

/* ---------------------------------------------------------------- tree building */

struct mapper {
    const char *file;
    struct ufrpc_cfg_diag *diag;
    int err;    /* first error code */
    int nomem;
};

static ufrpc_cv_pos P(const struct mapper *m, uint32_t line)
{
    return (ufrpc_cv_pos){m->file, line, 0};
}

static void put(struct mapper *m, ufrpc_cv *table, const char *key, ufrpc_cv *v)
{
    if (v == NULL) {
        m->nomem = 1;
        return;
    }
    for (size_t i = 0; i < table->u.t.len; i++)
        if (strcmp(table->u.t.items[i].key, key) == 0) {
            ufrpc_cv_free(table->u.t.items[i].value);
            table->u.t.items[i].value = v;
            return;
        }
    if (ufrpc_cv_set(table, key, strlen(key), v) != 0) {
        ufrpc_cv_free(v);
        m->nomem = 1;
    }
}

/* Adds a key known to be new (prefix-mapped keys: unique because INI keys are),
 * without put's linear duplicate scan. */
static void put_new(struct mapper *m, ufrpc_cv *table, const char *key, ufrpc_cv *v)
{
    if (v == NULL) {
        m->nomem = 1;
        return;
    }
    if (ufrpc_cv_append(table, key, strlen(key), v) != 0) {
        ufrpc_cv_free(v);
        m->nomem = 1;
    }
}

static ufrpc_cv *subtable(struct mapper *m, ufrpc_cv *parent, const char *key, uint32_t line)
{
    ufrpc_cv *t = ufrpc_cv_get(parent, key);
    if (t != NULL && t->type == UFRPC_CV_TABLE)
        return t;
    t = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, P(m, line));
    put(m, parent, key, t);
    return m->nomem ? NULL : t;
}

/* Sets a dotted path ("transport.tls.enable"), creating tables on the way. */
static void set_path(struct mapper *m, ufrpc_cv *root, const char *path, ufrpc_cv *v, uint32_t line)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    ufrpc_cv *t = root;
    char *p = buf;
    for (char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
        *dot = '\0';
        t = subtable(m, t, p, line);
        if (t == NULL) {
            ufrpc_cv_free(v);
            return;
        }
    }
    put(m, t, p, v);
}

enum ikind { K_STR, K_INT, K_BOOL, K_LIST, K_IGNORE };

static void bad_value(struct mapper *m, const char *sec, const struct ufrpc_ini_key *k, const char *what)
{
    ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, m->file, k->line,
                       "[%s] %s: invalid %s \"%.60s\"", sec, k->name, what, k->value);
    if (m->err == 0)
        m->err = UFRPC_ERR_CONFIG_VALUE;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True", "YES", "yes", "Yes", "y", "ON", "on", "On"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False", "NO", "no", "No", "n", "OFF", "off", "Off"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Builds the typed node for a value, or NULL when it should be skipped (empty) or
 * is invalid (reported). */
static ufrpc_cv *typed(struct mapper *m, const char *sec, const struct ufrpc_ini_key *k, enum ikind kind)
{
    const char *v = k->value;
    ufrpc_cv_pos pos = P(m, k->line);
    if (v[0] == '\0')
        return NULL; /* go-ini: empty = the default */
    switch (kind) {
    case K_STR: {
        ufrpc_cv *n = ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, v, strlen(v), pos);
        if (n == NULL)
            m->nomem = 1;
        return n;
    }
    case K_INT: {
        char *e;
        errno = 0;
        long long x = strtoll(v, &e, 0);
        if (*e != '\0' || errno != 0) {
            bad_value(m, sec, k, "integer");
            return NULL;
        }
        ufrpc_cv *n = ufrpc_cv_new_integer(NULL, x, pos);
        if (n == NULL)
            m->nomem = 1;
        return n;
    }
    case K_BOOL: {
        bool b;
        if (!parse_bool(v, &b)) {
            bad_value(m, sec, k, "boolean");
            return NULL;
        }
        ufrpc_cv *n = ufrpc_cv_new_bool(NULL, b, pos);
        if (n == NULL)
            m->nomem = 1;
        return n;
    }
    case K_LIST: {
        ufrpc_cv *a = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, pos);
        if (a == NULL) {
            m->nomem = 1;
            return NULL;
        }
        const char *p = v;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            size_t b = 0;
            while (b < n && isspace((unsigned char)p[b]))
                b++;
            while (n > b && isspace((unsigned char)p[n - 1]))
                n--;
            ufrpc_cv *s = ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, p + b, n - b, pos);
            if (s == NULL || ufrpc_cv_push(a, s) != 0) {
                ufrpc_cv_free(s);
                ufrpc_cv_free(a);
                m->nomem = 1;
                return NULL;
            }
            if (c == NULL)
                break;
            p = c + 1;
        }
        return a;
    }
    case K_IGNORE:
        return NULL;
    }
    return NULL;
}

struct kmap {
    const char *ini;
    const char *path; /* v1 dotted path; NULL = known but ignored */
    enum ikind kind;
    uint32_t types; /* proxy-type bits where the key exists (0 = all) */
};

static const struct kmap common_keys[] = {
    {"server_addr", "serverAddr", K_STR, 0},
    {"server_port", "serverPort", K_INT, 0},
    {"nat_hole_stun_server", "natHoleStunServer", K_STR, 0},
    {"dial_server_timeout", "transport.dialServerTimeout", K_INT, 0},
    {"dial_server_keepalive", "transport.dialServerKeepalive", K_INT, 0},
    {"connect_server_local_ip", "transport.connectServerLocalIP", K_STR, 0},
    {"http_proxy", "transport.proxyURL", K_STR, 0},
    {"log_file", "log.to", K_STR, 0},
    {"log_way", NULL, K_IGNORE, 0},
    {"log_level", "log.level", K_STR, 0},
    {"log_max_days", "log.maxDays", K_INT, 0},
    {"disable_log_color", "log.disablePrintColor", K_BOOL, 0},
    {"admin_addr", "webServer.addr", K_STR, 0},
    {"admin_port", "webServer.port", K_INT, 0},
    {"admin_user", "webServer.user", K_STR, 0},
    {"admin_pwd", "webServer.password", K_STR, 0},
    {"assets_dir", "webServer.assetsDir", K_STR, 0},
    {"pprof_enable", "webServer.pprofEnable", K_BOOL, 0},
    {"pool_count", "transport.poolCount", K_INT, 0},
    {"tcp_mux", "transport.tcpMux", K_BOOL, 0},
    {"tcp_mux_keepalive_interval", "transport.tcpMuxKeepaliveInterval", K_INT, 0},
    {"user", "user", K_STR, 0},
    {"dns_server", "dnsServer", K_STR, 0},
    {"login_fail_exit", "loginFailExit", K_BOOL, 0},
    {"start", "start", K_LIST, 0},
    {"protocol", "transport.protocol", K_STR, 0},
    {"quic_keepalive_period", "transport.quic.keepalivePeriod", K_INT, 0},
    {"quic_max_idle_timeout", "transport.quic.maxIdleTimeout", K_INT, 0},
    {"quic_max_incoming_streams", "transport.quic.maxIncomingStreams", K_INT, 0},
    {"tls_enable", "transport.tls.enable", K_BOOL, 0},
    {"tls_cert_file", "transport.tls.certFile", K_STR, 0},
    {"tls_key_file", "transport.tls.keyFile", K_STR, 0},
    {"tls_trusted_ca_file", "transport.tls.trustedCaFile", K_STR, 0},
    {"tls_server_name", "transport.tls.serverName", K_STR, 0},
    {"disable_custom_tls_first_byte", "transport.tls.disableCustomTLSFirstByte", K_BOOL, 0},
    {"heartbeat_interval", "transport.heartbeatInterval", K_INT, 0},
    {"heartbeat_timeout", "transport.heartbeatTimeout", K_INT, 0},
    {"udp_packet_size", "udpPacketSize", K_INT, 0},
    {"includes", "includes", K_LIST, 0},
    {"authentication_method", "auth.method", K_STR, 0},
    {"token", "auth.token", K_STR, 0},
    {"authenticate_heartbeats", NULL, K_BOOL, 0},     /* → auth.additionalScopes */
    {"authenticate_new_work_conns", NULL, K_BOOL, 0}, /* → auth.additionalScopes */
    {"oidc_client_id", "auth.oidc.clientID", K_STR, 0},
    {"oidc_client_secret", "auth.oidc.clientSecret", K_STR, 0},
    {"oidc_audience", "auth.oidc.audience", K_STR, 0},
    {"oidc_scope", "auth.oidc.scope", K_STR, 0},
    {"oidc_token_endpoint_url", "auth.oidc.tokenEndpointURL", K_STR, 0},
    {NULL, NULL, K_IGNORE, 0},
};

#define T(x) (1u << UFRPC_PROXY_##x)
#define DOM (T(HTTP) | T(HTTPS) | T(TCPMUX))
#define SEC (T(STCP) | T(SUDP) | T(XTCP))
static const struct kmap proxy_keys[] = {
    {"type", NULL, K_IGNORE, 0},
    {"name", NULL, K_IGNORE, 0},
    {"role", NULL, K_IGNORE, 0},
    {"local_ip", "localIP", K_STR, 0},
    {"local_port", "localPort", K_INT, 0},
    {"use_encryption", "transport.useEncryption", K_BOOL, 0},
    {"use_compression", "transport.useCompression", K_BOOL, 0},
    {"bandwidth_limit", "transport.bandwidthLimit", K_STR, 0},
    {"bandwidth_limit_mode", "transport.bandwidthLimitMode", K_STR, 0},
    {"proxy_protocol_version", "transport.proxyProtocolVersion", K_STR, 0},
    {"group", "loadBalancer.group", K_STR, 0},
    {"group_key", "loadBalancer.groupKey", K_STR, 0},
    {"health_check_type", "healthCheck.type", K_STR, 0},
    {"health_check_timeout_s", "healthCheck.timeoutSeconds", K_INT, 0},
    {"health_check_max_failed", "healthCheck.maxFailed", K_INT, 0},
    {"health_check_interval_s", "healthCheck.intervalSeconds", K_INT, 0},
    {"health_check_url", "healthCheck.path", K_STR, 0},
    {"plugin", NULL, K_IGNORE, 0},
    {"remote_port", "remotePort", K_INT, T(TCP) | T(UDP)},
    {"custom_domains", "customDomains", K_LIST, DOM},
    {"subdomain", "subdomain", K_STR, DOM},
    {"locations", "locations", K_LIST, T(HTTP)},
    {"http_user", "httpUser", K_STR, T(HTTP) | T(TCPMUX)},
    {"http_pwd", "httpPassword", K_STR, T(HTTP) | T(TCPMUX)},
    {"host_header_rewrite", "hostHeaderRewrite", K_STR, T(HTTP)},
    {"route_by_http_user", "routeByHTTPUser", K_STR, T(HTTP) | T(TCPMUX)},
    {"multiplexer", "multiplexer", K_STR, T(TCPMUX)},
    {"sk", "secretKey", K_STR, SEC},
    {"allow_users", "allowUsers", K_LIST, SEC},
    {NULL, NULL, K_IGNORE, 0},
};

#define V(x) (1u << UFRPC_VISITOR_##x)
static const struct kmap visitor_keys[] = {
    {"type", NULL, K_IGNORE, 0},
    {"name", NULL, K_IGNORE, 0},
    {"role", NULL, K_IGNORE, 0},
    {"use_encryption", "transport.useEncryption", K_BOOL, 0},
    {"use_compression", "transport.useCompression", K_BOOL, 0},
    {"sk", "secretKey", K_STR, 0},
    {"server_user", "serverUser", K_STR, 0},
    {"server_name", "serverName", K_STR, 0},
    {"bind_addr", "bindAddr", K_STR, 0},
    {"bind_port", "bindPort", K_INT, 0},
    {"protocol", "protocol", K_STR, V(XTCP)},
    {"keep_tunnel_open", "keepTunnelOpen", K_BOOL, V(XTCP)},
    {"max_retries_an_hour", "maxRetriesAnHour", K_INT, V(XTCP)},
    {"min_retry_interval", "minRetryInterval", K_INT, V(XTCP)},
    {"fallback_to", "fallbackTo", K_STR, V(XTCP)},
    {"fallback_timeout_ms", "fallbackTimeoutMs", K_INT, V(XTCP)},
    {NULL, NULL, K_IGNORE, 0},
};

/* plugin_* parameter → plugin option, per plugin type (legacy conversion.go) */
struct pmap {
    const char *plugin;
    const char *param;
    const char *key;
};
static const struct pmap plugin_params[] = {
    {"http2https", "plugin_local_addr", "localAddr"},
    {"http2https", "plugin_host_header_rewrite", "hostHeaderRewrite"},
    {"http_proxy", "plugin_http_user", "httpUser"},
    {"http_proxy", "plugin_http_passwd", "httpPassword"},
    {"https2http", "plugin_local_addr", "localAddr"},
    {"https2http", "plugin_host_header_rewrite", "hostHeaderRewrite"},
    {"https2http", "plugin_crt_path", "crtPath"},
    {"https2http", "plugin_key_path", "keyPath"},
    {"https2https", "plugin_local_addr", "localAddr"},
    {"https2https", "plugin_host_header_rewrite", "hostHeaderRewrite"},
    {"https2https", "plugin_crt_path", "crtPath"},
    {"https2https", "plugin_key_path", "keyPath"},
    {"socks5", "plugin_user", "username"},
    {"socks5", "plugin_passwd", "password"},
    {"static_file", "plugin_local_path", "localPath"},
    {"static_file", "plugin_strip_prefix", "stripPrefix"},
    {"static_file", "plugin_http_user", "httpUser"},
    {"static_file", "plugin_http_passwd", "httpPassword"},
    {"unix_domain_socket", "plugin_unix_path", "unixPath"},
    {NULL, NULL, NULL},
};

static const struct kmap *kfind(const struct kmap *t, const char *k)
{
    for (; t->ini != NULL; t++)
        if (strcmp(t->ini, k) == 0)
            return t;
    return NULL;
}

static const char *sec_get(const struct ufrpc_ini_section *s, const char *k)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i].name, k) == 0)
            return s->keys[i].value;
    return NULL;
}

static void ignored(struct mapper *m, const char *sec, const struct ufrpc_ini_key *k, const char *why)
{
    if (ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_UNKNOWN_KEY, m->file, k->line,
                           "[%.80s] unknown key \"%.80s\" ignored%s", sec, k->name, why) != 0)
        m->nomem = 1;
}

/* Maps key k of proxy or visitor section s into its table t through keys; tbit is
 * the bit of the section's type. An unknown key, or one the type does not use
 * (`unused` says so), is warned about and ignored. */
static void map_key(struct mapper *m, const struct ufrpc_ini_section *s,
                    const struct ufrpc_ini_key *k, ufrpc_cv *t, const struct kmap *keys,
                    uint32_t tbit, const char *unused)
{
    const struct kmap *km = kfind(keys, k->name);
    if (km == NULL || (km->types != 0 && (km->types & tbit) == 0)) {
        ignored(m, s->name, k, km ? unused : "");
        return;
    }
    if (km->path == NULL)
        return;
    ufrpc_cv *v = typed(m, s->name, k, km->kind);
    if (v != NULL)
        set_path(m, t, km->path, v, k->line);
}

static bool starts(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

static void map_common(struct mapper *m, const struct ufrpc_ini_section *s, ufrpc_cv *root)
{
    bool hb = false, nwc = false;
    uint32_t scope_line = 0;
    for (size_t i = 0; i < s->nkeys && !m->nomem; i++) {
        const struct ufrpc_ini_key *k = &s->keys[i];
        const char *rest;
        if (starts(k->name, "meta_", &rest)) {
            ufrpc_cv *t = subtable(m, root, "metadatas", k->line);
            if (t != NULL)
                put_new(m, t, rest, ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, k->value, strlen(k->value), P(m, k->line)));
            continue;
        }
        if (starts(k->name, "oidc_additional_", &rest)) {
            ufrpc_cv *a = subtable(m, root, "auth", k->line);
            ufrpc_cv *o = a ? subtable(m, a, "oidc", k->line) : NULL;
            ufrpc_cv *t = o ? subtable(m, o, "additionalEndpointParams", k->line) : NULL;
            if (t != NULL)
                put_new(m, t, rest, ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, k->value, strlen(k->value), P(m, k->line)));
            continue;
        }
        const struct kmap *km = kfind(common_keys, k->name);
        if (km == NULL) {
            ignored(m, "common", k, "");
            continue;
        }
        if (strcmp(k->name, "authenticate_heartbeats") == 0 ||
            strcmp(k->name, "authenticate_new_work_conns") == 0) {
            bool b = false;
            if (k->value[0] != '\0' && !parse_bool(k->value, &b)) {
                bad_value(m, "common", k, "boolean");
                continue;
            }
            if (k->name[13] == 'h')
                hb = b;
            else
                nwc = b;
            scope_line = k->line;
            continue;
        }
        if (km->path == NULL)
            continue;
        ufrpc_cv *v = typed(m, "common", k, km->kind);
        if (v != NULL)
            set_path(m, root, km->path, v, k->line);
    }
    if (hb || nwc) {
        ufrpc_cv *a = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, P(m, scope_line));
        if (a == NULL) {
            m->nomem = 1;
            return;
        }
        if (hb)
            ufrpc_cv_push(a, ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, "HeartBeats", 10, P(m, scope_line)));
        if (nwc)
            ufrpc_cv_push(a, ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, "NewWorkConns", 12, P(m, scope_line)));
        set_path(m, root, "auth.additionalScopes", a, scope_line);
    }
}

static ufrpc_cv *new_str(struct mapper *m, const char *s, uint32_t line)
{
    ufrpc_cv *v = ufrpc_cv_new_string(NULL, UFRPC_CV_STRING, s, strlen(s), P(m, line));
    if (v == NULL)
        m->nomem = 1;
    return v;
}

static void map_proxy(struct mapper *m, const struct ufrpc_ini_section *s, const char *name, ufrpc_cv *list)
{
    ufrpc_cv *t = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, P(m, s->line));
    if (t == NULL || ufrpc_cv_push(list, t) != 0) {
        ufrpc_cv_free(t);
        m->nomem = 1;
        return;
    }
    put(m, t, "name", new_str(m, name, s->line));
    const char *type = sec_get(s, "type");
    if (type == NULL || type[0] == '\0')
        type = "tcp"; /* legacy default */
    put(m, t, "type", new_str(m, type, s->line));
    int pt = ufrpc_schema_proxy_type(type);
    uint32_t tbit = pt >= 0 ? 1u << pt : 0;
    const char *plugin = sec_get(s, "plugin");
    ufrpc_cv *pl = NULL;
    if (plugin != NULL && plugin[0] != '\0') {
        pl = subtable(m, t, "plugin", s->line);
        if (pl != NULL)
            put(m, pl, "type", new_str(m, plugin, s->line));
    }
    for (size_t i = 0; i < s->nkeys && !m->nomem; i++) {
        const struct ufrpc_ini_key *k = &s->keys[i];
        const char *rest;
        if (starts(k->name, "meta_", &rest)) {
            ufrpc_cv *mt = subtable(m, t, "metadatas", k->line);
            if (mt != NULL)
                put_new(m, mt, rest, new_str(m, k->value, k->line));
            continue;
        }
        if (starts(k->name, "header_", &rest)) {
            if (pt != UFRPC_PROXY_HTTP) {
                ignored(m, s->name, k, " (header_* applies to http proxies)");
                continue;
            }
            ufrpc_cv *rh = subtable(m, t, "requestHeaders", k->line);
            ufrpc_cv *set = rh ? subtable(m, rh, "set", k->line) : NULL;
            if (set != NULL)
                put_new(m, set, rest, new_str(m, k->value, k->line));
            continue;
        }
        if (starts(k->name, "plugin_", &rest)) {
            if (pl == NULL) {
                ignored(m, s->name, k, " (no plugin set)");
                continue;
            }
            if (starts(k->name, "plugin_header_", &rest) && rest[0] != '\0' &&
                (strcmp(plugin, "http2https") == 0 || strcmp(plugin, "https2http") == 0 ||
                 strcmp(plugin, "https2https") == 0)) {
                ufrpc_cv *rh = subtable(m, pl, "requestHeaders", k->line);
                ufrpc_cv *set = rh ? subtable(m, rh, "set", k->line) : NULL;
                if (set != NULL)
                    put_new(m, set, rest, new_str(m, k->value, k->line));
                continue;
            }
            const struct pmap *pm = plugin_params;
            while (pm->plugin != NULL && !(strcmp(pm->plugin, plugin) == 0 && strcmp(pm->param, k->name) == 0))
                pm++;
            if (pm->plugin == NULL) {
                ignored(m, s->name, k, " (not a parameter of this plugin)");
                continue;
            }
            if (k->value[0] != '\0')
                put(m, pl, pm->key, new_str(m, k->value, k->line));
            continue;
        }
        if (strcmp(k->name, "routes") == 0) {
            /* ufrpc's client-side path routes are tables: not expressible here */
            if (ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, m->file,
                                   k->line,
                                   "[%.80s] routes (ufrpc's path routes) cannot be written in the "
                                   "legacy INI format: use TOML, YAML or JSON",
                                   s->name) != 0)
                m->nomem = 1;
            continue;
        }
        map_key(m, s, k, t, proxy_keys, tbit, " (not used by this proxy type)");
    }
}

static void map_visitor(struct mapper *m, const struct ufrpc_ini_section *s, const char *name, ufrpc_cv *list)
{
    const char *type = sec_get(s, "type");
    if (type == NULL || type[0] == '\0') {
        ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, m->file, s->line,
                           "[%.80s] visitor type shouldn't be empty", name);
        if (m->err == 0)
            m->err = UFRPC_ERR_CONFIG_MISSING;
        return;
    }
    ufrpc_cv *t = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, P(m, s->line));
    if (t == NULL || ufrpc_cv_push(list, t) != 0) {
        ufrpc_cv_free(t);
        m->nomem = 1;
        return;
    }
    put(m, t, "name", new_str(m, name, s->line));
    put(m, t, "type", new_str(m, type, s->line));
    int vt = ufrpc_schema_visitor_type(type);
    uint32_t tbit = vt >= 0 ? 1u << vt : 0;
    for (size_t i = 0; i < s->nkeys && !m->nomem; i++) {
        const struct ufrpc_ini_key *k = &s->keys[i];
        map_key(m, s, k, t, visitor_keys, tbit, " (not used by this visitor type)");
    }
}

static void map_section(struct mapper *m, const struct ufrpc_ini_section *s, const char *name, ufrpc_cv *proxies,
                        ufrpc_cv *visitors)
{
    const char *role = sec_get(s, "role");
    if (role == NULL || role[0] == '\0' || strcmp(role, "server") == 0)
        map_proxy(m, s, name, proxies);
    else if (strcmp(role, "visitor") == 0)
        map_visitor(m, s, name, visitors);
    else {
        ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, m->file, s->line,
                           "proxy %.80s role should be 'server' or 'visitor'", name);
        if (m->err == 0)
            m->err = UFRPC_ERR_CONFIG_VALUE;
    }
}

/* go-ini's GetKey (used by frp for every typed field, "type" and "role", but not
 * for the meta_/header_/plugin_ prefixes read from KeysHash) falls back to the
 * nearest existing "parent" section, cutting the name at its last '.': [web.v2]
 * takes local_port from [web] unless it sets its own. */
static bool inheritable(const char *k)
{
    return kfind(proxy_keys, k) != NULL || kfind(visitor_keys, k) != NULL;
}

static int collect_keys(const struct ufrpc_ini_doc *doc, const struct ufrpc_ini_section *sec, bool own,
                        struct ufrpc_ini_key **out, size_t *n, size_t *cap, int depth)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const struct ufrpc_ini_key *k = &sec->keys[i];
        if (!own) {
            if (!inheritable(k->name))
                continue;
            bool have = false;
            for (size_t j = 0; j < *n && !have; j++)
                have = strcmp((*out)[j].name, k->name) == 0;
            if (have)
                continue;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            struct ufrpc_ini_key *o = realloc(*out, nc * sizeof *o);
            if (o == NULL)
                return UFRPC_ERR_NOMEM;
            *out = o;
            *cap = nc;
        }
        (*out)[(*n)++] = *k; /* shallow: strings stay the doc's */
    }
    /* the nearest existing ancestor, then its own ancestors */
    size_t len = strlen(sec->name);
    char *name = malloc(len + 1);
    if (name == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(name, sec->name, len + 1);
    int rc = 0;
    for (char *dot; depth < 64 && (dot = strrchr(name, '.')) != NULL;) {
        *dot = '\0';
        const struct ufrpc_ini_section *parent = ufrpc_ini_section(doc, name);
        if (parent != NULL) {
            rc = collect_keys(doc, parent, false, out, n, cap, depth + 1);
            break;
        }
    }
    free(name);
    return rc;
}

static void map_child_section(struct mapper *m, const struct ufrpc_ini_doc *doc,
                              const struct ufrpc_ini_section *sec, ufrpc_cv *proxies, ufrpc_cv *visitors)
{
    if (strchr(sec->name, '.') == NULL) {
        map_section(m, sec, sec->name, proxies, visitors);
        return;
    }
    struct ufrpc_ini_section eff = {.name = sec->name, .line = sec->line};
    if (collect_keys(doc, sec, true, &eff.keys, &eff.nkeys, &eff.cap, 0) != 0)
        m->nomem = 1;
    else
        map_section(m, &eff, sec->name, proxies, visitors);
    free(eff.keys);
}

/* [range:prefix]: one proxy per local/remote port pair, named prefix_<index>. */
static void map_range(struct mapper *m, struct ufrpc_ini_section *s, ufrpc_cv *proxies, ufrpc_cv *visitors)
{
    const char *prefix = s->name + 6;
    while (isspace((unsigned char)*prefix))
        prefix++;
    const char *lp = sec_get(s, "local_port"), *rp = sec_get(s, "remote_port");
    char em[160];
    if (lp == NULL || rp == NULL || lp[0] == '\0' || rp[0] == '\0') {
        ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, m->file, s->line,
                           "failed to render template for proxy %.80s: local_port or remote_port is "
                           "empty",
                           s->name);
        if (m->err == 0)
            m->err = UFRPC_ERR_CONFIG_MISSING;
        return;
    }
    int64_t *l = NULL, *r = NULL;
    size_t nl = 0, nr = 0;
    int rc = ufrpc_cfg_parse_range_numbers(lp, strlen(lp), 65536, &l, &nl, em, sizeof em);
    if (rc == 0)
        rc = ufrpc_cfg_parse_range_numbers(rp, strlen(rp), 65536, &r, &nr, em, sizeof em);
    if (rc == 0 && nl != nr) {
        snprintf(em, sizeof em, "local ports number should be same with remote ports number");
        rc = UFRPC_ERR_CONFIG_VALUE;
    }
    if (rc != 0) {
        if (rc == UFRPC_ERR_NOMEM)
            m->nomem = 1;
        else {
            ufrpc_cfg_diag_add(m->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, m->file, s->line,
                               "failed to render template for proxy %.80s: %s", s->name, em);
            if (m->err == 0)
                m->err = UFRPC_ERR_CONFIG_VALUE;
        }
        free(l);
        free(r);
        return;
    }
    /* substitute the ports in place (restored afterwards) */
    size_t li = 0, ri = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        if (strcmp(s->keys[i].name, "local_port") == 0)
            li = i;
        if (strcmp(s->keys[i].name, "remote_port") == 0)
            ri = i;
    }
    char *ol = s->keys[li].value, *orr = s->keys[ri].value;
    char lb[32], rb[32], name[200];
    for (size_t i = 0; i < nl && !m->nomem; i++) {
        snprintf(lb, sizeof lb, "%lld", (long long)l[i]);
        snprintf(rb, sizeof rb, "%lld", (long long)r[i]);
        snprintf(name, sizeof name, "%.150s_%zu", prefix, i);
        s->keys[li].value = lb;
        s->keys[ri].value = rb;
        map_section(m, s, name, proxies, visitors);
    }
    s->keys[li].value = ol;
    s->keys[ri].value = orr;
    free(l);
    free(r);
}

int ufrpc_ini_to_tree(const char *text, size_t len, const char *file, bool included,
                      struct ufrpc_cfg_diag *diag, ufrpc_cv **tree)
{
    *tree = NULL;
    struct mapper m = {.file = file, .diag = diag};
    struct ufrpc_ini_doc s;
    uint32_t eline = 0;
    char emsg[160];
    int rc = ufrpc_ini_parse(text, len, &frp_opts, &s, &eline, emsg, sizeof emsg);
    if (rc != 0) {
        ufrpc_ini_doc_free(&s);
        if (rc == UFRPC_ERR_NOMEM)
            return rc;
        ufrpc_cfg_diag_add(diag, UFRPC_CFG_ERROR, rc, file, eline, "ini: %s", emsg);
        return rc;
    }
    ufrpc_cv *root = ufrpc_cv_new(NULL, UFRPC_CV_TABLE, (ufrpc_cv_pos){file, 1, 0});
    ufrpc_cv *proxies = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, (ufrpc_cv_pos){file, 1, 0});
    ufrpc_cv *visitors = ufrpc_cv_new(NULL, UFRPC_CV_ARRAY, (ufrpc_cv_pos){file, 1, 0});
    if (root == NULL || proxies == NULL || visitors == NULL) {
        ufrpc_cv_free(root);
        ufrpc_cv_free(proxies);
        ufrpc_cv_free(visitors);
        ufrpc_ini_doc_free(&s);
        return UFRPC_ERR_NOMEM;
    }
    bool have_common = false;
    for (size_t i = 0; i < s.nsecs && !m.nomem; i++) {
        struct ufrpc_ini_section *sec = &s.secs[i];
        if (strcmp(sec->name, "common") == 0) {
            have_common = true;
            if (!included)
                map_common(&m, sec, root);
        } else if (i == 0 || strcmp(sec->name, "DEFAULT") == 0) {
            for (size_t j = 0; j < sec->nkeys; j++)
                ignored(&m, "DEFAULT", &sec->keys[j], " (outside a proxy section)");
        } else if (strncmp(sec->name, "range:", 6) != 0) {
            map_child_section(&m, &s, sec, proxies, visitors);
        }
    }
    /* go-ini appends the generated sections after the others */
    for (size_t i = 0; i < s.nsecs && !m.nomem; i++)
        if (strncmp(s.secs[i].name, "range:", 6) == 0)
            map_range(&m, &s.secs[i], proxies, visitors);
    ufrpc_ini_doc_free(&s);
    if (!included && !have_common) {
        ufrpc_cfg_diag_add(diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_SYNTAX, file, 0,
                           "invalid configuration file, not found [common] section");
        if (m.err == 0)
            m.err = UFRPC_ERR_CONFIG_SYNTAX;
    }
    if (proxies->u.a.len)
        put(&m, root, "proxies", proxies);
    else
        ufrpc_cv_free(proxies);
    if (visitors->u.a.len)
        put(&m, root, "visitors", visitors);
    else
        ufrpc_cv_free(visitors);
    if (m.nomem) {
        ufrpc_cv_free(root);
        return UFRPC_ERR_NOMEM;
    }
    *tree = root;
    return m.err;
}
