/* client/core/oidc_off.c — replaces client/core/oidc.c in a build with UFRPC_WITH_OIDC=OFF
 * (CMakeLists.txt): auth.method = "oidc" fails at startup with a reason. Contract:
 * client/oidc.h. */
#include <stdio.h>

#include "client/core/oidc.h"
#include "proto/error.h"

int ufrpc_oidc_new(uv_loop_t *loop, const struct ufrpc_config *cfg, ufrpc_oidc_t **out,
                   char *err, size_t errcap)
{
    *out = NULL;
    if (err != NULL && errcap > 0)
        snprintf(err, errcap, "auth.method = \"oidc\" is not supported by this build "
                              "(built with UFRPC_WITH_OIDC=OFF)");
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_oidc_get(ufrpc_oidc_t *o, ufrpc_oidc_cb cb, void *data)
{
    return UFRPC_ERR_STATE;
}

const char *ufrpc_oidc_cached(const ufrpc_oidc_t *o)
{
    return NULL;
}

void ufrpc_oidc_free(ufrpc_oidc_t *o)
{
}
