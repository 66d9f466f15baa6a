/* config/unsupported.c — features that parse and validate but that the ufrpc client
 * does not implement yet. Each is reported by key as "not supported yet" so that a
 * user is never surprised by a silently ignored setting. When a feature lands,
 * delete its row: this table is the only place that knows. */
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

struct unsupported {
    const char *key;  /* as the user writes it */
    const char *note; /* shown after the key */
    /* returns true when the config uses the feature; *addr = the field, for its line */
    bool (*used_common)(const struct ufrpc_config *g, const void **addr);
    bool (*used_proxy)(const struct ufrpc_proxy_config *p, const void **addr);
    bool (*used_visitor)(const struct ufrpc_visitor_config *v, const void **addr);
};

static bool nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static bool oidc_token_source(const struct ufrpc_config *g, const void **a)
{
    *a = &g->auth.oidc.token_source.type;
    return strcmp(ufrpc_cfg_str(g->auth.method), "oidc") == 0 && g->auth.oidc.token_source.present;
}
static bool gates(const struct ufrpc_config *g, const void **a)
{
    *a = &g->feature_gates;
    return g->feature_gates.len > 0;
}
static bool vnet(const struct ufrpc_config *g, const void **a)
{
    *a = &g->virtual_net.address;
    return nonempty(g->virtual_net.address);
}
static bool vnet_plugin(const struct ufrpc_proxy_config *p, const void **a)
{
    *a = &p->plugin.type;
    return p->plugin.type == UFRPC_PLUGIN_VIRTUAL_NET;
}
static bool vnet_vplugin(const struct ufrpc_visitor_config *v, const void **a)
{
    *a = &v->plugin.type;
    return v->plugin.type == UFRPC_PLUGIN_VIRTUAL_NET;
}

/* Features a size-constrained build left out (CMakeLists.txt, UFRPC_WITH_*=OFF,
 * defined 0 for this file only); their stubs refuse them at run time too. */
#if defined(UFRPC_WITH_WEBSOCKET) && !UFRPC_WITH_WEBSOCKET
static bool proto_ws(const struct ufrpc_config *g, const void **a)
{
    *a = &g->transport.protocol;
    const char *p = ufrpc_cfg_str(g->transport.protocol);
    return strcmp(p, "websocket") == 0 || strcmp(p, "wss") == 0;
}
#endif
#if defined(UFRPC_WITH_OIDC) && !UFRPC_WITH_OIDC
static bool auth_oidc(const struct ufrpc_config *g, const void **a)
{
    *a = &g->auth.method;
    return strcmp(ufrpc_cfg_str(g->auth.method), "oidc") == 0;
}
#endif
#if defined(UFRPC_WITH_PLUGINS) && !UFRPC_WITH_PLUGINS
static bool any_plugin(const struct ufrpc_proxy_config *p, const void **a)
{
    *a = &p->plugin.type;
    return p->plugin.type != UFRPC_PLUGIN_NONE && p->plugin.type != UFRPC_PLUGIN_VIRTUAL_NET;
}
/* routes run in the path router, a plugin (client/plugins/plugin_router.c) */
static bool any_routes(const struct ufrpc_proxy_config *p, const void **a)
{
    *a = &p->routes;
    return p->routes.len > 0;
}
#endif

#if defined(UFRPC_WITH_ALERTS) && !UFRPC_WITH_ALERTS
/* [alerts]: the line of its first threshold or webhook set (minConnections and
 * windowSeconds have defaults, so no line of their own) */
static bool alerts(const struct ufrpc_config *g, const void **a)
{
    const int64_t *th[] = {&g->alerts.error_rate_percent, &g->alerts.dial_latency_ms,
                           &g->alerts.max_connections, &g->alerts.down_seconds};
    *a = &g->alerts.webhook_url;
    for (size_t i = 0; i < sizeof th / sizeof th[0]; i++)
        if (*th[i] != 0) {
            *a = th[i];
            break;
        }
    return g->alerts.present;
}
#endif
#if defined(UFRPC_WITH_WIRE_V2) && !UFRPC_WITH_WIRE_V2
static bool wire_v2(const struct ufrpc_config *g, const void **a)
{
    *a = &g->transport.wire_protocol;
    return strcmp(ufrpc_cfg_str(g->transport.wire_protocol), "v2") == 0;
}
#endif
#if defined(UFRPC_WITH_KCP) && !UFRPC_WITH_KCP
static bool proto_kcp(const struct ufrpc_config *g, const void **a)
{
    *a = &g->transport.protocol;
    return strcmp(ufrpc_cfg_str(g->transport.protocol), "kcp") == 0;
}
static bool xtcp_kcp(const struct ufrpc_visitor_config *v, const void **a)
{
    *a = &v->protocol;
    return v->type == UFRPC_VISITOR_XTCP && strcmp(ufrpc_cfg_str(v->protocol), "kcp") == 0;
}
#endif
#if defined(UFRPC_WITH_QUIC) && !UFRPC_WITH_QUIC
static bool proto_quic(const struct ufrpc_config *g, const void **a)
{
    *a = &g->transport.protocol;
    return strcmp(ufrpc_cfg_str(g->transport.protocol), "quic") == 0;
}
#endif
#if defined(UFRPC_WITH_XTCP) && !UFRPC_WITH_XTCP
static bool xtcp_proxy(const struct ufrpc_proxy_config *p, const void **a)
{
    *a = &p->type;
    return p->type == UFRPC_PROXY_XTCP;
}
static bool xtcp_visitor(const struct ufrpc_visitor_config *v, const void **a)
{
    *a = &v->type;
    return v->type == UFRPC_VISITOR_XTCP;
}
#endif
#if defined(UFRPC_WITH_STORE) && !UFRPC_WITH_STORE
static bool store_path(const struct ufrpc_config *g, const void **a)
{
    *a = &g->store.path;
    return nonempty(g->store.path);
}
#endif
#if defined(UFRPC_WITH_TOKEN_EXEC) && !UFRPC_WITH_TOKEN_EXEC
static bool token_exec(const struct ufrpc_config *g, const void **a)
{
    *a = &g->auth.token_source.type;
    return g->auth.token_source.present && strcmp(ufrpc_cfg_str(g->auth.token_source.type), "exec") == 0;
}
#endif

static const struct unsupported table[] = {
#if defined(UFRPC_WITH_WEBSOCKET) && !UFRPC_WITH_WEBSOCKET
    {"transport.protocol = \"websocket\" or \"wss\"", "left out of this build: UFRPC_WITH_WEBSOCKET=OFF",
     proto_ws, NULL, NULL},
#endif
#if defined(UFRPC_WITH_OIDC) && !UFRPC_WITH_OIDC
    {"auth.method = \"oidc\"", "left out of this build: UFRPC_WITH_OIDC=OFF", auth_oidc, NULL, NULL},
#endif
#if defined(UFRPC_WITH_PLUGINS) && !UFRPC_WITH_PLUGINS
    {"plugin.type", "client plugins, left out of this build: UFRPC_WITH_PLUGINS=OFF", NULL, any_plugin, NULL},
    {"routes", "the path router, left out of this build: UFRPC_WITH_PLUGINS=OFF", NULL, any_routes, NULL},
#endif
#if defined(UFRPC_WITH_ALERTS) && !UFRPC_WITH_ALERTS
    {"[alerts]", "alerts and their webhook, left out of this build: UFRPC_WITH_ALERTS=OFF", alerts, NULL, NULL},
#endif
#if defined(UFRPC_WITH_WIRE_V2) && !UFRPC_WITH_WIRE_V2
    {"transport.wireProtocol = \"v2\"", "left out of this build: UFRPC_WITH_WIRE_V2=OFF", wire_v2, NULL, NULL},
#endif
#if defined(UFRPC_WITH_KCP) && !UFRPC_WITH_KCP
    {"transport.protocol = \"kcp\"", "left out of this build: UFRPC_WITH_KCP=OFF", proto_kcp, NULL, NULL},
    {"protocol = \"kcp\"", "xtcp over kcp, left out of this build: UFRPC_WITH_KCP=OFF", NULL, NULL, xtcp_kcp},
#endif
#if defined(UFRPC_WITH_QUIC) && !UFRPC_WITH_QUIC
    {"transport.protocol = \"quic\"", "left out of this build: UFRPC_QUIC=OFF", proto_quic, NULL, NULL},
#endif
#if defined(UFRPC_WITH_XTCP) && !UFRPC_WITH_XTCP
    {"type = \"xtcp\"", "left out of this build: UFRPC_WITH_XTCP=OFF", NULL, xtcp_proxy, xtcp_visitor},
#endif
#if defined(UFRPC_WITH_STORE) && !UFRPC_WITH_STORE
    {"store.path", "the store, left out of this build: UFRPC_WITH_STORE=OFF", store_path, NULL, NULL},
#endif
#if defined(UFRPC_WITH_TOKEN_EXEC) && !UFRPC_WITH_TOKEN_EXEC
    {"auth.tokenSource.type = \"exec\"", "left out of this build: UFRPC_WITH_TOKEN_EXEC=OFF", token_exec, NULL,
     NULL},
#endif
    {"auth.oidc.tokenSource", "OIDC token from a file or command", oidc_token_source, NULL, NULL},
    {"featureGates", "feature gates", gates, NULL, NULL},
    {"virtualNet.address", "virtual network", vnet, NULL, NULL},
    {"plugin.type = \"virtual_net\"", "virtual_net plugin", NULL, vnet_plugin, NULL},
    {"plugin.type = \"virtual_net\"", "virtual_net visitor plugin", NULL, NULL, vnet_vplugin},
};

void ufrpc_config_report_unsupported(struct ufrpc_cfg_ctx *c)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        const struct unsupported *u = &table[i];
        const void *addr = NULL;
        if (u->used_common != NULL && u->used_common(c->cfg, &addr))
            ufrpc_cfg_report(c, UFRPC_CFG_UNSUPPORTED, UFRPC_ERR_UNSUPPORTED, ufrpc_cfg_pos_of(c, addr),
                             "%s (%s)", u->key, u->note);
        if (u->used_proxy != NULL)
            for (size_t k = 0; k < c->nproxies; k++)
                if (u->used_proxy(c->proxies[k], &addr))
                    ufrpc_cfg_report(c, UFRPC_CFG_UNSUPPORTED, UFRPC_ERR_UNSUPPORTED, ufrpc_cfg_pos_of(c, addr),
                                     "proxy [%s]: %s (%s)", ufrpc_cfg_str(c->proxies[k]->name), u->key, u->note);
        if (u->used_visitor != NULL)
            for (size_t k = 0; k < c->nvisitors; k++)
                if (u->used_visitor(c->visitors[k], &addr))
                    ufrpc_cfg_report(c, UFRPC_CFG_UNSUPPORTED, UFRPC_ERR_UNSUPPORTED, ufrpc_cfg_pos_of(c, addr),
                                     "visitor [%s]: %s (%s)", ufrpc_cfg_str(c->visitors[k]->name), u->key,
                                     u->note);
    }
}
