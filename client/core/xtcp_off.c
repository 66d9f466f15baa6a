/* client/core/xtcp_off.c — replaces client/core/holepunch.c, xtcp_proxy.c and
 * xtcp_tunnel.c in a build with UFRPC_WITH_XTCP=OFF (CMakeLists.txt): no P2P session
 * or tunnel is ever made. config/unsupported.c refuses xtcp proxies and visitors
 * (type, file:line, the option) first; should one run anyway (libufrpc given a
 * configuration that skipped validation), its work connections are closed and its
 * visitor's connections go to fallbackTo or are closed, as when punching fails.
 * Contracts: client/core/xtcp_proxy.h, client/core/xtcp_tunnel.h. */
#include "client/core/xtcp_proxy.h"
#include "client/core/xtcp_tunnel.h"

#include "proto/error.h"

int ufrpc_xtcp_proxy_start(const struct ufrpc_xtcp_env *env, struct ufrpc_stream *s,
                           const struct ufrpc_proxy_config *pc, const char *name,
                           ufrpc_xtcp_proxy_t **out)
{
    *out = NULL;
    ufrpc_stream_close(s, NULL); /* taken, also on failure */
    return UFRPC_ERR_UNSUPPORTED;
}

/* No session exists: these are never reached with one. */
int ufrpc_xtcp_proxy_on_resp(ufrpc_xtcp_proxy_t *x, const struct ufrpc_msg_nat_hole_resp *r)
{
    return 0;
}

void ufrpc_xtcp_proxy_abort(ufrpc_xtcp_proxy_t *x)
{
}

ufrpc_xtcp_proxy_t *ufrpc_xtcp_proxy_next(const ufrpc_xtcp_proxy_t *x)
{
    return NULL;
}

void ufrpc_xtcp_proxy_set_next(ufrpc_xtcp_proxy_t *x, ufrpc_xtcp_proxy_t *next)
{
}

void ufrpc_xtcp_proxy_unlink(ufrpc_xtcp_proxy_t **head, ufrpc_xtcp_proxy_t *x)
{
}

int ufrpc_xtcp_tunnel_new(const struct ufrpc_xtcp_tunnel_env *env, ufrpc_xtcp_tunnel_t **out)
{
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_xtcp_tunnel_kick(ufrpc_xtcp_tunnel_t *t)
{
}

int ufrpc_xtcp_tunnel_open(ufrpc_xtcp_tunnel_t *t, struct ufrpc_stream **out)
{
    *out = NULL;
    return UFRPC_ERR_STATE;
}

bool ufrpc_xtcp_tunnel_up(const ufrpc_xtcp_tunnel_t *t)
{
    return false;
}

int ufrpc_xtcp_tunnel_on_resp(ufrpc_xtcp_tunnel_t *t, const struct ufrpc_msg_nat_hole_resp *r)
{
    return 0;
}

void ufrpc_xtcp_tunnel_free(ufrpc_xtcp_tunnel_t *t, void (*cb)(void *data), void *data)
{
}
