/* ufrpc — per-proxy runtime resources that outlive single work connections:
 * the plugin instance (client/plugins/plugin.h), the client-side bandwidth limiter
 * (net/ratelimit.h, bandwidthLimitMode = "client") and the current UDPPacket
 * channel of a udp proxy (frpc keeps one; a new StartWorkConn replaces it).
 *
 * One struct ufrpc_proxy_rt hangs off each proxy's registry entry (tunnel->rt).
 *
 * Ownership: created by ufrpc_proxy_rt_new for a proxy config (borrowed: the
 * plugin keeps pointing into it, so the config must outlive the runtime until its
 * close callback). ufrpc_proxy_rt_close() closes the UDP channel, drops the limiter
 * and closes the plugin; `cb` runs once the plugin is closed (from inside this call
 * when there is no plugin); the runtime is freed before cb runs. */
#ifndef UFRPC_CLIENT_PROXY_RT_H
#define UFRPC_CLIENT_PROXY_RT_H

#include <uv.h>

#include "client/core/health.h"
#include "client/core/log.h"
#include "client/plugins/plugin.h"
#include "client/core/udp_channel.h"
#include "config/config.h"
#include "net/ratelimit.h"

struct ufrpc_proxy_rt {
    uv_loop_t *loop;
    struct ufrpc_log *log;
    char name[256];
    ufrpc_plugin_t *plugin;     /* NULL: no plugin (or it failed to start) */
    int plugin_failed;          /* the config asks for a plugin that could not start */
    ufrpc_ratelimit_t *limiter; /* NULL: unlimited or server-side limit */
    ufrpc_udp_channel_t *udp;   /* udp proxies: the live channel */
    ufrpc_health_t *health;     /* healthCheck monitor, or NULL */
    /* health changes (1 up, 0 down), reported with the proxy name */
    void (*on_health)(void *data, const char *name, int healthy);
    void *health_data;
    int closing;
    int pending;
    void (*close_cb)(void *data);
    void *close_data;
};

/* 0 and *out, or UFRPC_ERR_NOMEM. A plugin that fails to start is logged and
 * recorded (plugin_failed): its work connections are then closed. With a health
 * check configured (client/core/health.h), a monitor starts and on_health (may be NULL)
 * reports its changes; the proxy counts as failing until the first success
 * (*has_health set to 1 then, else 0). */
int ufrpc_proxy_rt_new(uv_loop_t *loop, struct ufrpc_log *log,
                       const struct ufrpc_proxy_config *pc,
                       void (*on_health)(void *data, const char *name, int healthy),
                       void *health_data, int *has_health, struct ufrpc_proxy_rt **out);

/* See above. rt may be NULL (then cb is not called). */
void ufrpc_proxy_rt_close(struct ufrpc_proxy_rt *rt, void (*cb)(void *data), void *data);

#endif
