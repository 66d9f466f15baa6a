/* client/plugins/plugin_off.c — replaces client/plugin*.c in a build with
 * UFRPC_WITH_PLUGINS=OFF (CMakeLists.txt): a proxy with a plugin fails to start
 * ("[NAME] start error: ...") with a reason. Contract: client/plugin.h. */
#include <stdio.h>

#include "client/plugins/plugin.h"
#include "proto/error.h"

int ufrpc_plugin_create(const struct ufrpc_plugin_opts *o, ufrpc_plugin_t **out, char *errbuf,
                        size_t errcap)
{
    *out = NULL;
    if (errbuf != NULL && errcap > 0)
        snprintf(errbuf, errcap, "plugin %s is not supported by this build (built with UFRPC_WITH_PLUGINS=OFF)",
                 ufrpc_plugin_type_name(o->cfg->type));
    return UFRPC_ERR_UNSUPPORTED;
}

/* Unreachable: no plugin is ever created. */
int ufrpc_plugin_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work,
                        const struct ufrpc_plugin_conn_info *info)
{
    return UFRPC_ERR_STATE;
}

size_t ufrpc_plugin_active(const ufrpc_plugin_t *p)
{
    return 0;
}

void ufrpc_plugin_counters(const ufrpc_plugin_t *p, uint64_t *handled, uint64_t *failed)
{
    *handled = 0;
    *failed = 0;
}

const char *ufrpc_plugin_name(const ufrpc_plugin_t *p)
{
    return "";
}

void ufrpc_plugin_close(ufrpc_plugin_t *p, ufrpc_plugin_close_cb cb, void *data)
{
}

int ufrpc_plugin_supported(ufrpc_plugin_type t)
{
    return 0;
}

ufrpc_plugin_type ufrpc_plugin_type_from_name(const char *name)
{
    return UFRPC_PLUGIN__COUNT;
}
