/* Versions ufrpc reports. UFRPC_VERSION is ufrpc's own; UFRPC_FRP_VERSION is the frp
 * release whose wire protocol and behaviour ufrpc follows, sent in Login.version
 * (frps never checks it) and printed by `-v`, as frpc prints its version. */
#ifndef UFRPC_CLIENT_VERSION_H
#define UFRPC_CLIENT_VERSION_H

#define UFRPC_VERSION "0.1.0"
#define UFRPC_FRP_VERSION "0.70.1"

#endif
