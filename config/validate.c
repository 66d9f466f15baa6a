/* config/validate.c — frpc's client-side validation (frp pkg/config/v1/validation),
 * plus the checks ufrpc adds for its tunnel registry (ports 1–65535, required
 * localPort, HTTP routing conflicts). Runs on the completed, filtered proxies and
 * visitors, as frpc does; every problem is reported, not only the first. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

#define ERR(c, addr, code, ...) ufrpc_cfg_report(c, UFRPC_CFG_ERROR, code, ufrpc_cfg_pos_of(c, addr), __VA_ARGS__)
#define WARN(c, addr, ...)                                                                                  \
    ufrpc_cfg_report(c, UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_VALUE, ufrpc_cfg_pos_of(c, addr), __VA_ARGS__)

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(ufrpc_cfg_str(s), *set) == 0)
            return true;
    return false;
}

int ufrpc_config_parse_bandwidth(const char *s, int64_t *bytes)
{
    *bytes = 0;
    if (s == NULL)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return 0;
    double base;
    if (n >= 2 && memcmp(s + n - 2, "MB", 2) == 0)
        base = 1024.0 * 1024.0;
    else if (n >= 2 && memcmp(s + n - 2, "KB", 2) == 0)
        base = 1024.0;
    else
        return UFRPC_ERR_CONFIG_VALUE;
    char num[64];
    if (n - 2 == 0 || n - 2 >= sizeof num)
        return UFRPC_ERR_CONFIG_VALUE;
    memcpy(num, s, n - 2);
    num[n - 2] = '\0';
    for (size_t i = 0; num[i]; i++)
        if (!isdigit((unsigned char)num[i]) && num[i] != '.' && num[i] != '+' && num[i] != '-' &&
            num[i] != 'e' && num[i] != 'E')
            return UFRPC_ERR_CONFIG_VALUE;
    char *e;
    double f = strtod(num, &e);
    if (*e != '\0' || !(f >= 0) || f * base > 9.0e18)
        return UFRPC_ERR_CONFIG_VALUE;
    *bytes = (int64_t)(f * base);
    return 0;
}

/* ---------------------------------------------------------------- common */

static void check_value_source(struct ufrpc_cfg_ctx *c, const struct ufrpc_cfg_value_source *vs,
                               const char *what)
{
    if (!vs->present)
        return;
    if (strcmp(ufrpc_cfg_str(vs->type), "file") == 0) {
        if (!vs->file_present)
            ERR(c, &vs->type, UFRPC_ERR_CONFIG_MISSING,
                "invalid %s: file configuration is required when type is 'file'", what);
        else if (empty(vs->file_path))
            ERR(c, &vs->type, UFRPC_ERR_CONFIG_MISSING, "invalid %s: file path cannot be empty", what);
    } else if (strcmp(ufrpc_cfg_str(vs->type), "exec") == 0) {
        if (!vs->exec_present)
            ERR(c, &vs->type, UFRPC_ERR_CONFIG_MISSING,
                "invalid %s: exec configuration is required when type is 'exec'", what);
        else if (empty(vs->exec_command))
            ERR(c, &vs->type, UFRPC_ERR_CONFIG_MISSING, "invalid %s: exec command cannot be empty", what);
        for (size_t i = 0; i < vs->exec_env.len; i++) {
            const char *n = vs->exec_env.items[i].key;
            if (n[0] == '\0')
                ERR(c, &vs->exec_env, UFRPC_ERR_CONFIG_VALUE, "invalid %s: exec env name cannot be empty", what);
            else if (strchr(n, '=') != NULL)
                ERR(c, &vs->exec_env, UFRPC_ERR_CONFIG_VALUE, "invalid %s: exec env name cannot contain '='",
                    what);
        }
    } else {
        ERR(c, &vs->type, UFRPC_ERR_CONFIG_VALUE,
            "invalid %s: unsupported value source type: %.40s (only 'file' and 'exec' are supported)", what,
            ufrpc_cfg_str(vs->type));
    }
}

static bool http_url(const char *u)
{
    const char *rest;
    if (strncmp(u, "http://", 7) == 0)
        rest = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        rest = u + 8;
    else
        return false;
    return rest[0] != '\0' && rest[0] != '/';
}

static bool map_has(const struct ufrpc_cfg_map *m, const char *k)
{
    for (size_t i = 0; i < m->len; i++)
        if (strcmp(m->items[i].key, k) == 0)
            return true;
    return false;
}

static void check_auth(struct ufrpc_cfg_ctx *c)
{
    struct ufrpc_config *g = c->cfg;
    static const char *const methods[] = {"token", "oidc", NULL};
    static const char *const scopes[] = {"HeartBeats", "NewWorkConns", NULL};
    if (!one_of(g->auth.method, methods))
        ERR(c, &g->auth.method, UFRPC_ERR_CONFIG_VALUE,
            "auth.method: invalid auth method \"%.40s\", optional values are [token oidc]", g->auth.method);
    for (size_t i = 0; i < g->auth.additional_scopes.len; i++)
        if (!one_of(g->auth.additional_scopes.items[i], scopes))
            ERR(c, &g->auth.additional_scopes, UFRPC_ERR_CONFIG_VALUE,
                "auth.additionalScopes: invalid auth additional scope \"%.40s\", optional values are "
                "[HeartBeats NewWorkConns]",
                g->auth.additional_scopes.items[i]);
    if (!empty(g->auth.token) && g->auth.token_source.present)
        ERR(c, &g->auth.token, UFRPC_ERR_CONFIG_CONFLICT, "cannot specify both auth.token and auth.tokenSource");
    check_value_source(c, &g->auth.token_source, "auth.tokenSource");

    const __typeof__(g->auth.oidc) *o = &g->auth.oidc;
    if (o->token_source.present) {
        if (!empty(o->client_id) || !empty(o->client_secret) || !empty(o->audience) || !empty(o->scope) ||
            !empty(o->token_endpoint_url) || o->additional_endpoint_params.len > 0 ||
            !empty(o->trusted_ca_file) || o->insecure_skip_verify || !empty(o->proxy_url))
            ERR(c, &o->token_source.type, UFRPC_ERR_CONFIG_CONFLICT,
                "cannot specify both auth.oidc.tokenSource and any other field of auth.oidc");
        check_value_source(c, &o->token_source, "auth.oidc.tokenSource");
    } else if (strcmp(ufrpc_cfg_str(g->auth.method), "oidc") == 0) {
        if (empty(o->client_id))
            ERR(c, &g->auth.method, UFRPC_ERR_CONFIG_MISSING, "auth.oidc.clientID is required");
        if (empty(o->token_endpoint_url))
            ERR(c, &g->auth.method, UFRPC_ERR_CONFIG_MISSING, "auth.oidc.tokenEndpointURL is required");
        else if (!http_url(o->token_endpoint_url))
            ERR(c, &o->token_endpoint_url, UFRPC_ERR_CONFIG_VALUE,
                "auth.oidc.tokenEndpointURL must be an absolute http or https URL");
        if (map_has(&o->additional_endpoint_params, "scope"))
            ERR(c, &o->additional_endpoint_params, UFRPC_ERR_CONFIG_VALUE,
                "auth.oidc.additionalEndpointParams.scope is not allowed; use auth.oidc.scope instead");
        if (!empty(o->audience) && map_has(&o->additional_endpoint_params, "audience"))
            ERR(c, &o->audience, UFRPC_ERR_CONFIG_CONFLICT,
                "cannot specify both auth.oidc.audience and auth.oidc.additionalEndpointParams.audience");
    }
}

static void check_common(struct ufrpc_cfg_ctx *c)
{
    struct ufrpc_config *g = c->cfg;
    static const char *const levels[] = {"trace", "debug", "info", "warn", "error", NULL};
    static const char *const protocols[] = {"tcp", "kcp", "quic", "websocket", "wss", NULL};
    static const char *const wires[] = {"v1", "v2", NULL};

    if (g->server_port < 1 || g->server_port > 65535)
        ERR(c, &g->server_port, UFRPC_ERR_CONFIG_VALUE,
            "serverPort: port number %lld must be in the range 1..65535", (long long)g->server_port);
    if (g->web_server.port < 0 || g->web_server.port > 65535)
        ERR(c, &g->web_server.port, UFRPC_ERR_CONFIG_VALUE,
            "webServer.port: port number %lld must be in the range 0..65535", (long long)g->web_server.port);
    if (g->web_server.tls_present) {
        if (empty(g->web_server.tls.cert_file))
            ERR(c, &g->web_server.port, UFRPC_ERR_CONFIG_MISSING,
                "webServer.tls.certFile must be specified when tls is enabled");
        if (empty(g->web_server.tls.key_file))
            ERR(c, &g->web_server.port, UFRPC_ERR_CONFIG_MISSING,
                "webServer.tls.keyFile must be specified when tls is enabled");
    }
    check_auth(c);
    const struct {
        const int64_t *v;
        const char *key;
        int64_t max;
    } al[] = {
        {&g->alerts.error_rate_percent, "errorRatePercent", 100},
        {&g->alerts.min_connections, "minConnections", INT32_MAX},
        {&g->alerts.dial_latency_ms, "dialLatencyMs", 3600000},
        {&g->alerts.max_connections, "maxConnections", INT32_MAX},
        {&g->alerts.down_seconds, "downSeconds", 86400 * 365},
        {&g->alerts.window_seconds, "windowSeconds", 86400},
    };
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
        if (*al[i].v < 0 || *al[i].v > al[i].max)
            ERR(c, al[i].v, UFRPC_ERR_CONFIG_VALUE, "alerts.%s: %lld must be in the range 0..%lld",
                al[i].key, (long long)*al[i].v, (long long)al[i].max);
    if (!empty(g->alerts.webhook_url) && !http_url(g->alerts.webhook_url))
        ERR(c, &g->alerts.webhook_url, UFRPC_ERR_CONFIG_VALUE,
            "alerts.webhookURL: not an http:// or https:// URL");
    if (!one_of(g->log.level, levels))
        ERR(c, &g->log.level, UFRPC_ERR_CONFIG_VALUE,
            "log.level: invalid log level \"%.40s\", optional values are [trace debug info warn error]",
            g->log.level);
    if (g->transport.heartbeat_timeout > 0 && g->transport.heartbeat_interval > 0 &&
        g->transport.heartbeat_timeout < g->transport.heartbeat_interval)
        ERR(c, &g->transport.heartbeat_timeout, UFRPC_ERR_CONFIG_VALUE,
            "invalid transport.heartbeatTimeout, heartbeat timeout should not less than heartbeat interval");
    if (!g->transport.tls.enable) {
        if (!empty(g->transport.tls.files.cert_file))
            WARN(c, &g->transport.tls.files.cert_file,
                 "transport.tls.certFile is invalid when transport.tls.enable is false");
        if (!empty(g->transport.tls.files.key_file))
            WARN(c, &g->transport.tls.files.key_file,
                 "transport.tls.keyFile is invalid when transport.tls.enable is false");
        if (!empty(g->transport.tls.files.trusted_ca_file))
            WARN(c, &g->transport.tls.files.trusted_ca_file,
                 "transport.tls.trustedCaFile is invalid when transport.tls.enable is false");
    }
    if (!one_of(g->transport.protocol, protocols))
        ERR(c, &g->transport.protocol, UFRPC_ERR_CONFIG_VALUE,
            "transport.protocol: invalid value \"%.40s\", optional values are [tcp kcp quic websocket wss]",
            g->transport.protocol);
    if (!one_of(g->transport.wire_protocol, wires))
        ERR(c, &g->transport.wire_protocol, UFRPC_ERR_CONFIG_VALUE,
            "transport.wireProtocol: invalid value \"%.40s\", optional values are [v1 v2]",
            g->transport.wire_protocol);
    if (!empty(g->virtual_net.address)) {
        bool on = false;
        for (size_t i = 0; i < g->feature_gates.len; i++)
            if (strcmp(g->feature_gates.keys[i], "VirtualNet") == 0)
                on = g->feature_gates.values[i];
        if (!on)
            ERR(c, &g->virtual_net.address, UFRPC_ERR_CONFIG_CONFLICT,
                "VirtualNet feature is not enabled; enable it by setting the appropriate feature gate flag "
                "(featureGates = { VirtualNet = true })");
    }
}

/* ---------------------------------------------------------------- proxies */

/* Kubernetes qualified name, as frp checks annotation keys: [prefix/]name, name
 * 1–63 of [A-Za-z0-9-_.] starting and ending alphanumeric, prefix a DNS subdomain. */
static bool qualified_name(const char *k)
{
    const char *slash = strrchr(k, '/');
    const char *name = slash ? slash + 1 : k;
    size_t n = strlen(name);
    if (n == 0 || n > 63 || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
            return false;
    if (slash != NULL) {
        size_t pl = (size_t)(slash - k);
        if (pl == 0 || pl > 253)
            return false;
        for (size_t i = 0; i < pl; i++) {
            char ch = (char)tolower((unsigned char)k[i]);
            if (!(isdigit((unsigned char)ch) || (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '.'))
                return false;
        }
        if (!isalnum((unsigned char)k[0]) || !isalnum((unsigned char)k[pl - 1]))
            return false;
    }
    return true;
}

static void check_plugin(struct ufrpc_cfg_ctx *c, const struct ufrpc_plugin_config *pl, const char *who,
                         const char *name)
{
    const char *pn = ufrpc_plugin_type_name(pl->type);
    switch (pl->type) {
    case UFRPC_PLUGIN_HTTP2HTTPS:
    case UFRPC_PLUGIN_HTTPS2HTTP:
    case UFRPC_PLUGIN_HTTPS2HTTPS:
    case UFRPC_PLUGIN_TLS2RAW:
        if (empty(pl->local_addr))
            ERR(c, &pl->type, UFRPC_ERR_CONFIG_MISSING, "%s [%s]: plugin %s: localAddr is required", who, name, pn);
        break;
    case UFRPC_PLUGIN_STATIC_FILE:
        if (empty(pl->local_path))
            ERR(c, &pl->type, UFRPC_ERR_CONFIG_MISSING, "%s [%s]: plugin %s: localPath is required", who, name, pn);
        break;
    case UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET:
        if (empty(pl->unix_path))
            ERR(c, &pl->type, UFRPC_ERR_CONFIG_MISSING, "%s [%s]: plugin %s: unixPath is required", who, name, pn);
        break;
    default:
        break;
    }
}

static void check_port(struct ufrpc_cfg_ctx *c, const struct ufrpc_proxy_config *p, const int64_t *port,
                       const char *field, int64_t min)
{
    if (*port < min || *port > 65535)
        ERR(c, port, UFRPC_ERR_CONFIG_VALUE, "proxy [%s]: %s: port number %lld must be in the range %lld..65535",
            p->name, field, (long long)*port, (long long)min);
}

static void check_proxy(struct ufrpc_cfg_ctx *c, const struct ufrpc_proxy_config *p)
{
    static const char *const ppv[] = {"", "v1", "v2", NULL};
    static const char *const bwm[] = {"client", "server", NULL};
    static const char *const hct[] = {"", "tcp", "http", NULL};
    const char *n = ufrpc_cfg_str(p->name);
    ufrpc_cv_pos ppos = {p->source_file, p->source_line, 0};

    if (empty(p->name))
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, ppos, "proxy name should not be empty");
    for (size_t i = 0; i < p->annotations.len; i++)
        if (!qualified_name(p->annotations.items[i].key))
            ERR(c, &p->annotations, UFRPC_ERR_CONFIG_VALUE,
                "proxy [%s]: annotation key %.80s is invalid: must be [prefix/]name with alphanumerics, '-', "
                "'_' or '.'",
                n, p->annotations.items[i].key);
    if (!one_of(p->transport.proxy_protocol_version, ppv))
        ERR(c, &p->transport.proxy_protocol_version, UFRPC_ERR_CONFIG_VALUE,
            "proxy [%s]: not support proxy protocol version: %.40s (v1 or v2)", n,
            p->transport.proxy_protocol_version);
    if (!one_of(p->transport.bandwidth_limit_mode, bwm))
        ERR(c, &p->transport.bandwidth_limit_mode, UFRPC_ERR_CONFIG_VALUE,
            "proxy [%s]: bandwidth limit mode should be client or server", n);
    if (p->plugin.type == UFRPC_PLUGIN_NONE) {
        if (p->local_port == 0)
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, ppos,
                             "proxy [%s]: localPort is required (1..65535) unless a plugin is set", n);
        else
            check_port(c, p, &p->local_port, "localPort", 1);
    }
    if (!one_of(p->health_check.type, hct))
        ERR(c, &p->health_check.type, UFRPC_ERR_CONFIG_VALUE, "proxy [%s]: not support health check type: %.40s",
            n, p->health_check.type);
    else if (strcmp(ufrpc_cfg_str(p->health_check.type), "http") == 0 && empty(p->health_check.path))
        ERR(c, &p->health_check.type, UFRPC_ERR_CONFIG_MISSING, "proxy [%s]: health check path should not be empty",
            n);
    check_plugin(c, &p->plugin, "proxy", n);

    switch (p->type) {
    case UFRPC_PROXY_TCP:
    case UFRPC_PROXY_UDP:
        check_port(c, p, &p->remote_port, "remotePort", 0);
        break;
    case UFRPC_PROXY_TCPMUX:
        if (strcmp(ufrpc_cfg_str(p->multiplexer), "httpconnect") != 0)
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE,
                             p->multiplexer ? ufrpc_cfg_pos_of(c, &p->multiplexer) : ppos,
                             "proxy [%s]: not support multiplexer: %.40s (only httpconnect)", n,
                             ufrpc_cfg_str(p->multiplexer));
        /* fall through */
    case UFRPC_PROXY_HTTP:
    case UFRPC_PROXY_HTTPS:
        if (empty(p->subdomain) && p->custom_domains.len == 0)
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, ppos,
                             "proxy [%s]: subdomain and custom domains should not be both empty", n);
        break;
    default:
        break;
    }
    if (p->type == UFRPC_PROXY_HTTP)
        for (size_t i = 0; i < p->locations.len; i++)
            if (p->locations.items[i][0] != '/')
                ERR(c, &p->locations, UFRPC_ERR_CONFIG_VALUE, "proxy [%s]: location \"%.80s\" must start with '/'",
                    n, p->locations.items[i]);
}

/* HTTP routing: (domain, location, routeByHTTPUser) must be unique among http
 * proxies, except inside a load-balancing group (frps groups those). */
struct route {
    const char *domain; /* lowercased host, or "<subdomain>." for a subdomain */
    const char *location;
    const char *user;
    const char *group;
    const struct ufrpc_proxy_config *p;
};

static int route_cmp(const void *a, const void *b)
{
    const struct route *x = a, *y = b;
    int r = strcmp(x->domain, y->domain);
    if (r == 0)
        r = strcmp(x->location, y->location);
    if (r == 0)
        r = strcmp(x->user, y->user);
    return r;
}

static void check_http_routes(struct ufrpc_cfg_ctx *c, struct ufrpc_proxy_config **ps, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ps[i]->type == UFRPC_PROXY_HTTP) {
            size_t nd = ps[i]->custom_domains.len + (empty(ps[i]->subdomain) ? 0 : 1);
            size_t nl = ps[i]->locations.len ? ps[i]->locations.len : 1;
            if (nd != 0 && nl > SIZE_MAX / nd / 2)
                return;
            total += nd * nl;
        }
    if (total < 2)
        return;
    struct route *r = ufrpc_mem_calloc(c->mem, total, sizeof *r);
    if (r == NULL) {
        c->nomem = 1;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ufrpc_proxy_config *p = ps[i];
        if (p->type != UFRPC_PROXY_HTTP)
            continue;
        size_t nd = p->custom_domains.len + (empty(p->subdomain) ? 0 : 1);
        size_t nl = p->locations.len ? p->locations.len : 1;
        for (size_t d = 0; d < nd; d++) {
            const char *dom;
            if (d < p->custom_domains.len) {
                size_t dl = strlen(p->custom_domains.items[d]);
                char *lc = ufrpc_cfg_arena_alloc(c->arena, dl + 1);
                if (lc == NULL) {
                    c->nomem = 1;
                    ufrpc_mem_free(c->mem, r);
                    return;
                }
                for (size_t j = 0; j < dl; j++)
                    lc[j] = (char)tolower((unsigned char)p->custom_domains.items[d][j]);
                dom = lc;
            } else {
                size_t sl = strlen(p->subdomain);
                char *sd = ufrpc_cfg_arena_alloc(c->arena, sl + 16);
                if (sd == NULL) {
                    c->nomem = 1;
                    ufrpc_mem_free(c->mem, r);
                    return;
                }
                snprintf(sd, sl + 16, "%s.<subdomainHost>", p->subdomain);
                for (char *q = sd; *q; q++)
                    *q = (char)tolower((unsigned char)*q);
                dom = sd;
            }
            for (size_t l = 0; l < nl; l++)
                r[k++] = (struct route){dom, p->locations.len ? p->locations.items[l] : "",
                                        ufrpc_cfg_str(p->route_by_http_user),
                                        ufrpc_cfg_str(p->load_balancer.group), p};
        }
    }
    qsort(r, k, sizeof *r, route_cmp);
    for (size_t i = 1; i < k; i++) {
        if (route_cmp(&r[i - 1], &r[i]) != 0 || r[i - 1].p == r[i].p)
            continue;
        if (r[i].group[0] != '\0' && strcmp(r[i].group, r[i - 1].group) == 0)
            continue; /* same load-balancing group */
        const struct ufrpc_proxy_config *a = r[i - 1].p, *b = r[i].p;
        if (a->source_line > b->source_line && a->source_file == b->source_file) {
            const struct ufrpc_proxy_config *t = a;
            a = b;
            b = t;
        }
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_CONFLICT,
                         (ufrpc_cv_pos){b->source_file, b->source_line, 0},
                         "http proxies [%s] and [%s] conflict: both route domain \"%.80s\" location \"%.80s\"%s%.40s",
                         a->name, b->name, r[i].domain, r[i].location[0] ? r[i].location : "/",
                         r[i].user[0] ? " for http user " : "", r[i].user);
    }
    ufrpc_mem_free(c->mem, r);
}

static void check_visitor(struct ufrpc_cfg_ctx *c, const struct ufrpc_visitor_config *v)
{
    const char *n = ufrpc_cfg_str(v->name);
    ufrpc_cv_pos vpos = {v->source_file, v->source_line, 0};
    if (empty(v->name))
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, vpos, "visitor name is required");
    if (empty(v->server_name))
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, vpos, "visitor [%s]: server name is required", n);
    if (v->bind_port == 0)
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, vpos, "visitor [%s]: bind port is required", n);
    else if (v->bind_port > 65535)
        ERR(c, &v->bind_port, UFRPC_ERR_CONFIG_VALUE,
            "visitor [%s]: bindPort: port number %lld must be in the range 1..65535 (or negative: no listener)", n,
            (long long)v->bind_port);
    if (v->type == UFRPC_VISITOR_XTCP) {
        static const char *const protos[] = {"kcp", "quic", NULL};
        if (!one_of(v->protocol, protos))
            ERR(c, &v->protocol, UFRPC_ERR_CONFIG_VALUE, "visitor [%s]: protocol should be kcp or quic", n);
    }
    if (v->plugin.type == UFRPC_PLUGIN_VIRTUAL_NET && empty(v->plugin.destination_ip))
        ERR(c, &v->plugin.type, UFRPC_ERR_CONFIG_MISSING, "visitor [%s]: plugin virtual_net: destinationIP is required",
            n);
}

void ufrpc_config_validate(struct ufrpc_cfg_ctx *c)
{
    check_common(c);
    for (size_t i = 0; i < c->nproxies; i++)
        check_proxy(c, c->proxies[i]);
    check_http_routes(c, c->proxies, c->nproxies);
    for (size_t i = 0; i < c->nvisitors; i++)
        check_visitor(c, c->visitors[i]);
}
