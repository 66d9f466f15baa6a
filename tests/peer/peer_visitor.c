/* ufrpc-test-frps — stcp, sudp and xtcp proxies and their visitors' NewVisitorConn
 * (FRP-WIRE §9). Test code, not product. Not implemented yet: these types are
 * refused and every NewVisitorConn gets an error. */
#include <stdio.h>

#include "peer.h"
#include "proto/error.h"

static int secret_refuse(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    (void)ra;
    (void)ra_cap;
    snprintf(err, err_cap, "proxy type [%s] is not supported by the test peer",
             px->kind->type);
    return UFRPC_ERR_UNSUPPORTED;
}

static void secret_close(struct proxy *px)
{
    peer_proxy_free(px);
}

void peer_visitor_conn(struct peer *p, struct ufrpc_stream *st, struct ufrpc_msg *m,
                       const uint8_t *rest, size_t rest_len)
{
    (void)p;
    (void)rest;
    (void)rest_len;
    const char *name = m->u.new_visitor_conn.proxy_name;
    peer_event("visitor-refused", "proxy=%s error=\"not supported\"", name ? name : "");
    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
    ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.proxy_name, name);
    ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.error, "visitors are not supported by the test peer");
    peer_refuse(st, &r);
    ufrpc_msg_free(&r);
}

const struct proxy_kind peer_kind_stcp = {"stcp", secret_refuse, secret_close};
const struct proxy_kind peer_kind_sudp = {"sudp", secret_refuse, secret_close};
const struct proxy_kind peer_kind_xtcp = {"xtcp", secret_refuse, secret_close};
