/* ufrpc-test-frps — udp proxies (FRP-WIRE §8). Test code, not product.
 * Not implemented yet: NewProxy of type udp is refused. */
#include <stdio.h>

#include "peer.h"
#include "proto/error.h"

static int udp_open(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    (void)px;
    (void)ra;
    (void)ra_cap;
    snprintf(err, err_cap, "proxy type [udp] is not supported by the test peer");
    return UFRPC_ERR_UNSUPPORTED;
}

static void udp_close(struct proxy *px)
{
    peer_proxy_free(px);
}

const struct proxy_kind peer_kind_udp = {"udp", udp_open, udp_close};
