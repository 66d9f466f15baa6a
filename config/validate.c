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
#include "proto/http_route.h"

#define ERR(c, addr, code, ...) ufrpc_cfg_report(c, UFRPC_CFG_ERROR, code, ufrpc_cfg_pos_of(c, addr), __VA_ARGS__)
#define WARN(c, addr, ...)                                                                                  \
    ufrpc_cfg_report(c, UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_VALUE, ufrpc_cfg_pos_of(c, addr), __VA_ARGS__)

/* 0 in a build without the path router (UFRPC_WITH_PLUGINS=OFF, set for this file
 * by CMakeLists.txt): config/unsupported.c refuses `routes` then, and their own
 * checks are left out. */
#ifndef ROUTES_BUILT
#define ROUTES_BUILT 1
#endif

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

/* A location the router can match: a path that proto/http_route's normalisation
 * leaves as it is (so "/%61pi" and "/a/../b" are refused), without query, fragment
 * or white space. */
static bool plain_location(const char *loc)
{
    size_t n = strlen(loc), pl = 0;
    char buf[1024];
    if (n == 0 || loc[0] != '/' || strpbrk(loc, "?# \t") != NULL)
        return false;
    long r = ufrpc_http_route_normalize(loc, n, buf, sizeof buf, &pl);
    return r == (long)n && memcmp(buf, loc, n) == 0;
}

/* routes (ufrpc extension): each route is a local service of its own, so the
 * proxy's own backend (localPort, plugin) and locations (the routes register
 * theirs) must be absent. */
static void check_routes(struct ufrpc_cfg_ctx *c, const struct ufrpc_proxy_config *p)
{
    const char *n = ufrpc_cfg_str(p->name);
    if (p->local_port != 0)
        ERR(c, &p->local_port, UFRPC_ERR_CONFIG_CONFLICT,
            "proxy [%s]: localPort and routes on the same proxy: each route names its own "
            "localPort",
            n);
    if (p->plugin.type != UFRPC_PLUGIN_NONE)
        ERR(c, &p->plugin.type, UFRPC_ERR_CONFIG_CONFLICT,
            "proxy [%s]: plugin and routes on the same proxy: routes go to local services", n);
    if (!empty(p->health_check.type))
        ERR(c, &p->health_check.type, UFRPC_ERR_CONFIG_CONFLICT,
            "proxy [%s]: healthCheck and routes on the same proxy: not supported (each route "
            "has its own service)",
            n);
    if (!empty(p->transport.proxy_protocol_version))
        ERR(c, &p->transport.proxy_protocol_version, UFRPC_ERR_CONFIG_CONFLICT,
            "proxy [%s]: transport.proxyProtocolVersion and routes on the same proxy: not "
            "supported (routed requests are HTTP, with X-Forwarded-For from frps)",
            n);
    if (p->locations.len > 0)
        ERR(c, &p->locations, UFRPC_ERR_CONFIG_CONFLICT,
            "proxy [%s]: locations and routes on the same proxy: the routes register their "
            "locations",
            n);
    for (size_t i = 0; i < p->routes.len; i++) {
        const struct ufrpc_cfg_route *r = &p->routes.items[i];
        ufrpc_cv_pos rpos = {r->source_file, r->source_line, 0};
        const char *loc = r->location;
        if (empty(loc)) {
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_MISSING, rpos,
                             "proxy [%s]: routes[%zu]: location is required", n, i);
        } else if (!plain_location(loc)) {
            ERR(c, &r->location, UFRPC_ERR_CONFIG_VALUE,
                "proxy [%s]: routes[%zu]: location \"%.80s\" must start with '/' and be a plain "
                "path (no '?', '#', spaces, dot segments or escaped unreserved characters)",
                n, i, loc);
        } else {
            size_t pl = strlen(loc);
            while (pl > 0 && loc[pl - 1] == '/')
                pl--;
            for (size_t j = 0; j < i; j++) {
                const char *o = p->routes.items[j].location;
                if (empty(o))
                    continue;
                size_t ol = strlen(o);
                while (ol > 0 && o[ol - 1] == '/')
                    ol--;
                if (ol == pl && strncmp(o, loc, pl) == 0) {
                    ERR(c, &r->location, UFRPC_ERR_CONFIG_DUPLICATE,
                        "proxy [%s]: routes[%zu]: location \"%.80s\" is already routed by "
                        "routes[%zu] (line %u)",
                        n, i, loc, j, (unsigned)p->routes.items[j].source_line);
                    break;
                }
            }
        }
        if (r->local_port < 1 || r->local_port > 65535)
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR,
                             r->local_port == 0 ? UFRPC_ERR_CONFIG_MISSING : UFRPC_ERR_CONFIG_VALUE,
                             r->local_port == 0 ? rpos : ufrpc_cfg_pos_of(c, &r->local_port),
                             "proxy [%s]: routes[%zu]: localPort is required (1..65535)%s", n, i,
                             r->local_port == 0 ? "" : ", got another number");
    }
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
    if (p->routes.len > 0) {
        if (ROUTES_BUILT)
            check_routes(c, p);
    } else if (p->plugin.type == UFRPC_PLUGIN_NONE) {
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
 * proxies, except inside a load-balancing group (frps groups those). A proxy with
 * routes registers its route locations. For routes (a ufrpc extension) two more
 * cases are refused, because frps would send part of a route's paths elsewhere
 * (pkg/util/vhost/router.go v0.70.0: exact host first, then wildcard hosts, then
 * the longest location that is a string prefix of the path):
 *   - prefix: another proxy on the same domain has a location strictly under a
 *     route's location (other than "/");
 *   - wildcard: a route on "*.example.com" (or "*") and another proxy on a host
 *     that wildcard covers, with the route's location or one under it (a warning
 *     when that proxy takes the whole host, which is how frp layers hosts). */
struct route {
    const char *domain; /* lowercased host, or "<subdomain>." for a subdomain */
    const char *location;
    const char *user;
    const char *group;
    const struct ufrpc_proxy_config *p;
    const struct ufrpc_cfg_route *rt; /* the route behind this location, or NULL */
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

static size_t n_locations(const struct ufrpc_proxy_config *p)
{
    if (p->routes.len > 0)
        return p->routes.len;
    return p->locations.len ? p->locations.len : 1;
}

static const char *location_at(const struct ufrpc_proxy_config *p, size_t l,
                               const struct ufrpc_cfg_route **rt)
{
    *rt = NULL;
    if (p->routes.len > 0) {
        *rt = &p->routes.items[l];
        return ufrpc_cfg_str(p->routes.items[l].location);
    }
    return p->locations.len ? p->locations.items[l] : "";
}

static ufrpc_cv_pos entry_pos(const struct route *e)
{
    if (e->rt != NULL)
        return (ufrpc_cv_pos){e->rt->source_file, e->rt->source_line, 0};
    return (ufrpc_cv_pos){e->p->source_file, e->p->source_line, 0};
}

/* frps's wildcard lookup: "*" covers every host; "*.b.c" covers hosts of at least
 * three labels ending in ".b.c" (frps never tries a two-label wildcard). */
static bool wildcard_covers(const char *w, const char *host)
{
    if (strcmp(w, host) == 0)
        return false;
    if (strcmp(w, "*") == 0)
        return true;
    if (strncmp(w, "*.", 2) != 0)
        return false;
    size_t labels = 1;
    for (const char *q = w; *q; q++)
        labels += *q == '.';
    if (labels < 3)
        return false;
    size_t wl = strlen(w) - 1, hl = strlen(host);
    return hl > wl && strcmp(host + hl - wl, w + 1) == 0;
}

static bool same_group(const struct route *a, const struct route *b)
{
    return a->group[0] != '\0' && strcmp(a->group, b->group) == 0;
}

/* Routes' prefix and wildcard conflicts (see above); r holds k entries. */
static void check_route_shadows(struct ufrpc_cfg_ctx *c, const struct route *r, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        const struct route *a = &r[i];
        if (a->rt == NULL)
            continue;
        size_t al = strlen(a->location);
        for (size_t j = 0; j < k; j++) {
            const struct route *b = &r[j];
            if (b->p == a->p || strcmp(a->user, b->user) != 0 || same_group(a, b))
                continue;
            const char *bl = b->location;
            bool under = ufrpc_http_route_covers(a->location, bl, strlen(bl)) &&
                         ufrpc_http_route_prefix_len(bl) > ufrpc_http_route_prefix_len(a->location);
            bool equal = ufrpc_http_route_prefix_len(bl) == ufrpc_http_route_prefix_len(a->location) &&
                         strncmp(bl, a->location, ufrpc_http_route_prefix_len(bl)) == 0 && bl[0] != '\0';
            if (strcmp(a->domain, b->domain) == 0) {
                if (under && ufrpc_http_route_prefix_len(a->location) > 0)
                    ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_CONFLICT, entry_pos(b),
                                     "http proxies [%s] and [%s] conflict on domain \"%.80s\": "
                                     "location \"%.80s\" of [%s] lies under route \"%.80s\" of "
                                     "[%s] (line %u), so frps would send part of that route's "
                                     "paths to [%s]",
                                     a->p->name, b->p->name, a->domain, bl, b->p->name, a->location,
                                     a->p->name, (unsigned)a->rt->source_line, b->p->name);
                continue;
            }
            if (!wildcard_covers(a->domain, b->domain))
                continue;
            bool whole = strlen(bl) <= al && strncmp(a->location, bl, strlen(bl)) == 0 && !equal;
            if (under || equal)
                ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_CONFLICT, entry_pos(b),
                                 "http proxies [%s] and [%s] conflict: route \"%.80s\" of [%s] on "
                                 "\"%.80s\" (line %u) is taken over for host \"%.80s\" by [%s]'s "
                                 "location \"%.80s\" (frps tries the exact host before wildcards)",
                                 a->p->name, b->p->name, a->location, a->p->name, a->domain,
                                 (unsigned)a->rt->source_line, b->domain, b->p->name,
                                 bl[0] ? bl : "/");
            else if (whole)
                ufrpc_cfg_report(c, UFRPC_CFG_WARNING, UFRPC_ERR_CONFIG_CONFLICT, entry_pos(b),
                                 "proxy [%s] takes host \"%.80s\" (location \"%.80s\"): route "
                                 "\"%.80s\" of [%s] on \"%.80s\" does not get that host's requests",
                                 b->p->name, b->domain, bl[0] ? bl : "/", a->location, a->p->name,
                                 a->domain);
        }
    }
}

static void check_http_routes(struct ufrpc_cfg_ctx *c, struct ufrpc_proxy_config **ps, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ps[i]->type == UFRPC_PROXY_HTTP) {
            size_t nd = ps[i]->custom_domains.len + (empty(ps[i]->subdomain) ? 0 : 1);
            size_t nl = n_locations(ps[i]);
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
    bool any_routes = false;
    for (size_t i = 0; i < n; i++) {
        const struct ufrpc_proxy_config *p = ps[i];
        if (p->type != UFRPC_PROXY_HTTP)
            continue;
        any_routes = any_routes || p->routes.len > 0;
        size_t nd = p->custom_domains.len + (empty(p->subdomain) ? 0 : 1);
        size_t nl = n_locations(p);
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
            for (size_t l = 0; l < nl; l++) {
                const struct ufrpc_cfg_route *rt;
                const char *loc = location_at(p, l, &rt);
                r[k++] = (struct route){dom, loc, ufrpc_cfg_str(p->route_by_http_user),
                                        ufrpc_cfg_str(p->load_balancer.group), p, rt};
            }
        }
    }
    qsort(r, k, sizeof *r, route_cmp);
    for (size_t i = 1; i < k; i++) {
        if (route_cmp(&r[i - 1], &r[i]) != 0 || r[i - 1].p == r[i].p)
            continue;
        if (same_group(&r[i], &r[i - 1]))
            continue; /* same load-balancing group */
        const struct route *ea = &r[i - 1], *eb = &r[i];
        ufrpc_cv_pos pa = entry_pos(ea), pb = entry_pos(eb);
        if (pa.line > pb.line && pa.file == pb.file) {
            const struct route *t = ea;
            ea = eb;
            eb = t;
            pb = pa;
        }
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_CONFLICT, pb,
                         "http proxies [%s] and [%s] conflict: both route domain \"%.80s\" location \"%.80s\"%s%.40s",
                         ea->p->name, eb->p->name, r[i].domain, r[i].location[0] ? r[i].location : "/",
                         r[i].user[0] ? " for http user " : "", r[i].user);
    }
    if (ROUTES_BUILT && any_routes)
        check_route_shadows(c, r, k);
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
