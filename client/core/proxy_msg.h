/* ufrpc — NewProxy / CloseProxy messages built from a proxy's configuration, with
 * exactly the fields frpc puts on the wire per proxy type (frp pkg/config/v1/proxy.go
 * MarshalToMsg; docs/PROTOCOL.md §7.2). Client-local settings (localIP/localPort, plugin,
 * health check, proxy protocol) never go on the wire.
 *
 * Ownership: the message is initialised here and owned by the caller, who frees it
 * with ufrpc_msg_free(); nothing points back into the config. */
#ifndef UFRPC_CLIENT_PROXY_MSG_H
#define UFRPC_CLIENT_PROXY_MSG_H

#include "config/config.h"
#include "proto/msg.h"

/* Fills *out (a NewProxy) for proxy pc under the given wire name ("user.name" or
 * name). Returns 0, UFRPC_ERR_INVAL, UFRPC_ERR_NOMEM (then *out holds nothing). */
int ufrpc_proxy_msg_new_proxy(const struct ufrpc_proxy_config *pc, const char *wire_name,
                                struct ufrpc_msg *out);

/* Fills *out (a CloseProxy) for wire_name. 0 or UFRPC_ERR_NOMEM. */
int ufrpc_proxy_msg_close_proxy(const char *wire_name, struct ufrpc_msg *out);

#endif
