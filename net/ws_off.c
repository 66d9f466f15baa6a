/* net/ws_off.c — replaces net/ws.c (and so proto/ws.c) in a build with
 * UFRPC_WITH_WEBSOCKET=OFF (CMakeLists.txt): transport.protocol "websocket" and
 * "wss" fail to connect with UFRPC_ERR_UNSUPPORTED. Contract: net/ws.h. */
#include "net/ws.h"

#include "proto/error.h"

static struct ufrpc_stream *refuse(struct ufrpc_stream *lower, int *err)
{
    ufrpc_stream_close(lower, NULL); /* ownership of lower passes even on failure */
    *err = UFRPC_ERR_UNSUPPORTED;
    return NULL;
}

struct ufrpc_stream *ufrpc_ws_client_new(struct ufrpc_stream *lower,
                                         const struct ufrpc_ws_client_opts *o,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err)
{
    return refuse(lower, err);
}

struct ufrpc_stream *ufrpc_ws_server_new(struct ufrpc_stream *lower, uint32_t handshake_timeout_ms,
                                         ufrpc_ws_handshake_cb cb, void *data, int *err)
{
    return refuse(lower, err);
}

/* No websocket stream ever exists. */
int ufrpc_ws_is(const struct ufrpc_stream *s)
{
    return 0;
}

int ufrpc_ws_failure_text(const struct ufrpc_stream *s, char *buf, size_t cap)
{
    return UFRPC_ERR_STATE;
}
