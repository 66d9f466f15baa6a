/* Per-proxy runtime: plugin, bandwidth limiter, current UDP channel. */
#include "client/core/proxy_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

static uint64_t loop_clock_ns(void *ctx)
{
    (void)ctx;
    return uv_hrtime();
}

static void plugin_log(void *log_data, int level, const char *proxy_name, const char *plugin_name,
                       int err, const char *reason)
{
    struct ufrpc_log *log = log_data;
    enum ufrpc_log_level l = level == UFRPC_PLUGIN_LOG_ERROR  ? UFRPC_LOG_ERROR
                             : level == UFRPC_PLUGIN_LOG_WARN ? UFRPC_LOG_WARN
                             : level == UFRPC_PLUGIN_LOG_INFO ? UFRPC_LOG_INFO
                                                              : UFRPC_LOG_DEBUG;
    if (err)
        ufrpc_log_printf(log, l, __FILE__, __LINE__, "[%s] plugin %s: %s (%s)", proxy_name,
                         plugin_name, reason ? reason : "", ufrpc_strerror(err));
    else
        ufrpc_log_printf(log, l, __FILE__, __LINE__, "[%s] plugin %s: %s", proxy_name, plugin_name,
                         reason ? reason : "");
}

/* Every failed check, as frpc: a warning each interval, also while the proxy
 * never came up (frpc's monitor starts "not OK" and logs each failure). */
static void on_health_failed(ufrpc_health_t *h, int err, void *data)
{
    struct ufrpc_proxy_rt *rt = data;
    char why[600];
    ufrpc_health_failure_text(h, err, why, sizeof why);
    UFRPC_LOGW(rt->log, "[%s] do one health check failed: %s", rt->name, why);
}

static void on_health_event(ufrpc_health_t *h, enum ufrpc_health_event ev, int err, void *data)
{
    (void)h;
    struct ufrpc_proxy_rt *rt = data;
    (void)err; /* the failure itself was logged by on_health_failed */
    if (ev == UFRPC_HEALTH_UP)
        UFRPC_LOGI(rt->log, "[%s] health check status change to success", rt->name);
    else
        UFRPC_LOGW(rt->log, "[%s] health check status change to failed", rt->name);
    if (rt->on_health && !rt->closing)
        rt->on_health(rt->health_data, rt->name, ev == UFRPC_HEALTH_UP);
}

int ufrpc_proxy_rt_new(uv_loop_t *loop, struct ufrpc_log *log,
                       const struct ufrpc_proxy_config *pc,
                       void (*on_health)(void *data, const char *name, int healthy),
                       void *health_data, int *has_health, struct ufrpc_proxy_rt **out)
{
    *out = NULL;
    *has_health = 0;
    struct ufrpc_proxy_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return UFRPC_ERR_NOMEM;
    rt->loop = loop;
    rt->log = log;
    snprintf(rt->name, sizeof rt->name, "%s", ufrpc_cfg_str(pc->name));
    const char *mode = pc->transport.bandwidth_limit_mode;
    if (pc->transport.bandwidth_limit_bytes > 0 && !(mode && strcmp(mode, "server") == 0)) {
        int rc = ufrpc_ratelimit_new((uint64_t)pc->transport.bandwidth_limit_bytes, loop_clock_ns,
                                     NULL, &rt->limiter);
        if (rc) {
            free(rt);
            return rc;
        }
    }
    if (pc->plugin.type != UFRPC_PLUGIN_NONE || pc->routes.len > 0) {
        struct ufrpc_plugin_opts o = {
            .loop = loop,
            .proxy_name = rt->name,
            .cfg = &pc->plugin,
            .log = plugin_log,
            .log_data = log,
            .routes = &pc->routes, /* used when the proxy has routes (the path router) */
        };
        char err[256] = "";
        int rc = ufrpc_plugin_create(&o, &rt->plugin, err, sizeof err);
        if (rc) {
            rt->plugin = NULL;
            rt->plugin_failed = 1;
            UFRPC_LOGE(log, "[%s] create plugin %s error: %s", rt->name,
                       pc->routes.len > 0 ? "router"
                                          : ufrpc_cfg_str(ufrpc_plugin_type_name(pc->plugin.type)),
                       err[0] ? err : ufrpc_strerror(rc));
        }
    }
    struct ufrpc_health_opts ho;
    if (ufrpc_health_opts_from_config(pc, &ho) == 0) {
        rt->on_health = on_health;
        rt->health_data = health_data;
        ho.on_fail = on_health_failed;
        int rc = ufrpc_health_start(loop, &ho, on_health_event, rt, &rt->health);
        if (rc) {
            rt->health = NULL;
            UFRPC_LOGE(log, "[%s] start health check error: %s", rt->name, ufrpc_strerror(rc));
        } else {
            *has_health = 1;
        }
    }
    *out = rt;
    return 0;
}

static void rt_maybe_done(struct ufrpc_proxy_rt *rt)
{
    if (rt->pending > 0)
        return;
    void (*cb)(void *) = rt->close_cb;
    void *data = rt->close_data;
    free(rt);
    if (cb)
        cb(data);
}

static void on_plugin_closed(void *data)
{
    struct ufrpc_proxy_rt *rt = data;
    rt->pending--;
    rt_maybe_done(rt);
}

void ufrpc_proxy_rt_close(struct ufrpc_proxy_rt *rt, void (*cb)(void *data), void *data)
{
    if (!rt || rt->closing)
        return;
    rt->closing = 1;
    rt->close_cb = cb;
    rt->close_data = data;
    if (rt->udp) {
        ufrpc_udp_channel_close(rt->udp); /* its on_close runs later; the owner's
                                              callback must not touch rt any more */
        rt->udp = NULL;
    }
    ufrpc_ratelimit_unref(rt->limiter);
    rt->limiter = NULL;
    if (rt->health) {
        rt->pending++;
        ufrpc_health_stop(rt->health, on_plugin_closed);
        rt->health = NULL;
    }
    if (rt->plugin) {
        rt->pending++;
        ufrpc_plugin_close(rt->plugin, on_plugin_closed, rt);
        rt->plugin = NULL;
    }
    if (rt->pending == 0)
        rt_maybe_done(rt);
}
