/* client/core/token_exec_off.c — replaces client/core/token_exec.c in a build with
 * UFRPC_WITH_TOKEN_EXEC=OFF (CMakeLists.txt): no command is ever run; config/unsupported.c
 * refuses auth.tokenSource.type = "exec" (key, file:line, the option) before this is
 * reached. Contract: client/core/token_exec.h (here: <0, nothing started, cb never runs). */
#include "client/core/token_exec.h"

#include <stdio.h>

#include "proto/error.h"

int ufrpc_token_exec_start(uv_loop_t *loop, const struct ufrpc_cfg_value_source *vs,
                           uint32_t timeout_ms, ufrpc_token_exec_cb cb, void *data, char *err,
                           size_t cap)
{
    snprintf(err, cap, "auth.tokenSource.type = \"exec\" is not supported by this build "
                       "(UFRPC_WITH_TOKEN_EXEC=OFF)");
    return UFRPC_ERR_UNSUPPORTED;
}
