/* ufrpc-test-frps — http, https and tcpmux proxies behind the vhost ports
 * (--vhost-http-port, --vhost-https-port, --tcpmux-httpconnect-port). Test code, not
 * product. Not implemented yet: these types are refused. */
#include <stdio.h>

#include "peer.h"
#include "proto/error.h"

static int vhost_refuse(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    (void)ra;
    (void)ra_cap;
    snprintf(err, err_cap, "proxy type [%s] is not supported by the test peer",
             px->kind->type);
    return UFRPC_ERR_UNSUPPORTED;
}

static void vhost_close(struct proxy *px)
{
    peer_proxy_free(px);
}

int peer_vhost_start(struct peer *p)
{
    (void)p;
    return 0;
}

const struct proxy_kind peer_kind_http = {"http", vhost_refuse, vhost_close};
const struct proxy_kind peer_kind_https = {"https", vhost_refuse, vhost_close};
const struct proxy_kind peer_kind_tcpmux = {"tcpmux", vhost_refuse, vhost_close};
