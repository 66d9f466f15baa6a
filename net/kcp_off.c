/* net/kcp_off.c — replaces net/kcp.c (and so proto/kcp.c, kcp_fec.c, rs.c) in a
 * build with UFRPC_WITH_KCP=OFF (CMakeLists.txt): no KCP stream or listener can be
 * made; every constructor fails with UFRPC_ERR_UNSUPPORTED, synchronously, without
 * calling back. config/unsupported.c refuses transport.protocol = "kcp" first.
 * Contract: net/kcp.h. */
#include "net/kcp.h"

#include <unistd.h>

#include "proto/error.h"

int ufrpc_kcp_dial(uv_loop_t *loop, const char *host, uint16_t port, ufrpc_kcp_dial_cb cb,
                   void *data, ufrpc_kcp_dial_t **out)
{
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_kcp_dial_cancel(ufrpc_kcp_dial_t *d)
{
}

struct ufrpc_stream *ufrpc_kcp_connect(uv_loop_t *loop, const struct sockaddr *addr,
                                       const struct ufrpc_kcp_config *cfg, int *err)
{
    *err = UFRPC_ERR_UNSUPPORTED;
    return NULL;
}

struct ufrpc_stream *ufrpc_kcp_connect_fd(uv_loop_t *loop, uv_os_sock_t fd,
                                          const struct sockaddr *addr,
                                          const struct ufrpc_kcp_config *cfg, int *err)
{
    close(fd); /* taken, also on failure */
    *err = UFRPC_ERR_UNSUPPORTED;
    return NULL;
}

/* No KCP stream ever exists. */
bool ufrpc_stream_is_kcp(const struct ufrpc_stream *s)
{
    return false;
}

void ufrpc_kcp_stream_stats(const struct ufrpc_stream *s, struct ufrpc_kcp_stats *st,
                            uint64_t *fec_recovered)
{
    *st = (struct ufrpc_kcp_stats){0};
    *fec_recovered = 0;
}

ufrpc_kcp_listener_t *ufrpc_kcp_listen(uv_loop_t *loop, const char *ip, uint16_t port,
                                       ufrpc_kcp_accept_cb cb, void *data, int *err)
{
    *err = UFRPC_ERR_UNSUPPORTED;
    return NULL;
}

uint16_t ufrpc_kcp_listener_port(const ufrpc_kcp_listener_t *l)
{
    return 0;
}

void *ufrpc_kcp_listener_data(const ufrpc_kcp_listener_t *l)
{
    return NULL;
}

void ufrpc_kcp_listener_close(ufrpc_kcp_listener_t *l, void (*cb)(void *data))
{
}
