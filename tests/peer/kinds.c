/* ufrpc-test-frps — the proxy kinds it knows, by proxy_type. Test code, not product. */
#include <stddef.h>

#include "peer.h"

extern const struct proxy_kind peer_kind_tcp;          /* work.c */
extern const struct proxy_kind peer_kind_udp;          /* peer_udp.c */
extern const struct proxy_kind peer_kind_http, peer_kind_https, peer_kind_tcpmux; /* peer_vhost.c */
extern const struct proxy_kind peer_kind_stcp, peer_kind_sudp, peer_kind_xtcp; /* peer_visitor.c */

const struct proxy_kind *const peer_kinds[] = {
    &peer_kind_tcp,   &peer_kind_udp,  &peer_kind_http, &peer_kind_https, &peer_kind_tcpmux,
    &peer_kind_stcp,  &peer_kind_sudp, &peer_kind_xtcp, NULL,
};
