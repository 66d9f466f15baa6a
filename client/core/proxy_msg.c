/* NewProxy per proxy type, as frpc's MarshalToMsg. */
#include "client/core/proxy_msg.h"

#include <stdbool.h>
#include <string.h>

#include "proto/error.h"

static int copy_map(struct ufrpc_map *dst, const struct ufrpc_cfg_map *src)
{
    for (size_t i = 0; i < src->len; i++) {
        int rc = ufrpc_map_set(dst, ufrpc_cfg_str(src->items[i].key),
                               ufrpc_cfg_str(src->items[i].value));
        if (rc)
            return rc;
    }
    return 0;
}

static int copy_list(struct ufrpc_strv *dst, const struct ufrpc_cfg_strlist *src)
{
    for (size_t i = 0; i < src->len; i++) {
        int rc = ufrpc_strv_push(dst, ufrpc_cfg_str(src->items[i]));
        if (rc)
            return rc;
    }
    return 0;
}

/* routes (ufrpc extension): frps is told the union of the route locations, so
 * that it sends those paths here; the router picks the route per request. */
static int copy_route_locations(struct ufrpc_strv *dst, const struct ufrpc_cfg_routes *routes)
{
    for (size_t i = 0; i < routes->len; i++) {
        const char *loc = ufrpc_cfg_str(routes->items[i].location);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(ufrpc_cfg_str(routes->items[j].location), loc) == 0;
        int rc = seen ? 0 : ufrpc_strv_push(dst, loc);
        if (rc)
            return rc;
    }
    return 0;
}

/* A string field: left NULL (omitted) when the config has nothing. */
static int set(char **field, const char *s)
{
    return s && s[0] ? ufrpc_msg_set_str(field, s) : 0;
}

static int fill(const struct ufrpc_proxy_config *pc, const char *wire_name,
                struct ufrpc_msg_new_proxy *np)
{
    int rc = 0;
    const char *type = ufrpc_proxy_type_name(pc->type);
    if (!type)
        return UFRPC_ERR_INVAL;
    /* base: every type */
    if ((rc = ufrpc_msg_set_str(&np->proxy_name, wire_name)) ||
        (rc = ufrpc_msg_set_str(&np->proxy_type, type)))
        return rc;
    np->use_encryption = pc->transport.use_encryption;
    np->use_compression = pc->transport.use_compression;
    if ((rc = set(&np->bandwidth_limit, pc->transport.bandwidth_limit)))
        return rc;
    const char *mode = pc->transport.bandwidth_limit_mode;
    if (mode && mode[0] && strcmp(mode, "client") != 0 && (rc = set(&np->bandwidth_limit_mode, mode)))
        return rc;
    if ((rc = set(&np->group, pc->load_balancer.group)) ||
        (rc = set(&np->group_key, pc->load_balancer.group_key)) ||
        (rc = copy_map(&np->metas, &pc->metadatas)) ||
        (rc = copy_map(&np->annotations, &pc->annotations)))
        return rc;

    switch (pc->type) {
    case UFRPC_PROXY_TCP:
    case UFRPC_PROXY_UDP:
        np->remote_port = pc->remote_port;
        break;
    case UFRPC_PROXY_HTTP:
        if ((rc = copy_list(&np->custom_domains, &pc->custom_domains)) ||
            (rc = set(&np->subdomain, pc->subdomain)) ||
            (rc = pc->routes.len > 0 ? copy_route_locations(&np->locations, &pc->routes)
                                     : copy_list(&np->locations, &pc->locations)) ||
            (rc = set(&np->host_header_rewrite, pc->host_header_rewrite)) ||
            (rc = set(&np->http_user, pc->http_user)) ||
            (rc = set(&np->http_pwd, pc->http_password)) ||
            (rc = copy_map(&np->headers, &pc->request_headers)) ||
            (rc = copy_map(&np->response_headers, &pc->response_headers)) ||
            (rc = set(&np->route_by_http_user, pc->route_by_http_user)))
            return rc;
        break;
    case UFRPC_PROXY_HTTPS:
        if ((rc = copy_list(&np->custom_domains, &pc->custom_domains)) ||
            (rc = set(&np->subdomain, pc->subdomain)))
            return rc;
        break;
    case UFRPC_PROXY_TCPMUX:
        if ((rc = copy_list(&np->custom_domains, &pc->custom_domains)) ||
            (rc = set(&np->subdomain, pc->subdomain)) ||
            (rc = set(&np->multiplexer, pc->multiplexer)) ||
            (rc = set(&np->http_user, pc->http_user)) ||
            (rc = set(&np->http_pwd, pc->http_password)) ||
            (rc = set(&np->route_by_http_user, pc->route_by_http_user)))
            return rc;
        break;
    case UFRPC_PROXY_STCP:
    case UFRPC_PROXY_SUDP:
    case UFRPC_PROXY_XTCP:
        if ((rc = set(&np->sk, pc->secret_key)) ||
            (rc = copy_list(&np->allow_users, &pc->allow_users)))
            return rc;
        break;
    default:
        return UFRPC_ERR_INVAL;
    }
    return 0;
}

int ufrpc_proxy_msg_new_proxy(const struct ufrpc_proxy_config *pc, const char *wire_name,
                                struct ufrpc_msg *out)
{
    if (!pc || !wire_name || !out)
        return UFRPC_ERR_INVAL;
    ufrpc_msg_init(out, UFRPC_MSG_NEW_PROXY);
    int rc = fill(pc, wire_name, &out->u.new_proxy);
    if (rc)
        ufrpc_msg_free(out);
    return rc;
}

int ufrpc_proxy_msg_close_proxy(const char *wire_name, struct ufrpc_msg *out)
{
    if (!wire_name || !out)
        return UFRPC_ERR_INVAL;
    ufrpc_msg_init(out, UFRPC_MSG_CLOSE_PROXY);
    int rc = ufrpc_msg_set_str(&out->u.close_proxy.proxy_name, wire_name);
    if (rc)
        ufrpc_msg_free(out);
    return rc;
}
