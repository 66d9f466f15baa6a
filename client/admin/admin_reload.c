/* client/admin/admin_reload.c — the reload helper of the admin API. See admin.h. */
#include <stdio.h>
#include <string.h>

#include "client/admin/admin.h"
#include "proto/error.h"

enum ufrpc_admin_reload_result
ufrpc_admin_reload_file(const char *path, bool strict,
                        int (*apply)(void *ctx, struct ufrpc_config *cfg), void *ctx,
                        struct ufrpc_log *log, char *msg, size_t cap)
{
    if (cap > 0)
        msg[0] = '\0';
    struct ufrpc_config_load_opts opts = {.non_strict = !strict};
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load(path, &opts, &cfg, &diag);
    size_t used = 0;
    char line[600];
    for (size_t i = 0; i < diag.len; i++) {
        const struct ufrpc_cfg_diag_item *it = &diag.items[i];
        ufrpc_cfg_error_format(&it->err, line, sizeof line);
        if (it->severity != UFRPC_CFG_ERROR) {
            if (it->severity == UFRPC_CFG_WARNING || it->severity == UFRPC_CFG_UNSUPPORTED)
                UFRPC_LOGW(log, "reload: %s", line);
            continue;
        }
        if (rc != 0 && used + 3 < cap) {
            int n = snprintf(msg + used, cap - used, "%s%s", used ? "; " : "", line);
            used = n > 0 && (size_t)n < cap - used ? used + (size_t)n : cap - 1;
        }
    }
    ufrpc_cfg_diag_free(&diag);
    if (rc != 0) {
        if (used == 0 && cap > 0)
            snprintf(msg, cap, "%s: %s", path, ufrpc_strerror(rc));
        return UFRPC_ADMIN_RELOAD_INVALID;
    }
    rc = apply != NULL ? apply(ctx, cfg) : (ufrpc_config_free(cfg), UFRPC_ERR_UNSUPPORTED);
    if (rc != 0) {
        if (cap > 0)
            snprintf(msg, cap, "%s", ufrpc_strerror(rc));
        return UFRPC_ADMIN_RELOAD_APPLY_FAILED;
    }
    (void)log; /* "success reload conf" is the client's (ufrpc_sup_reload) */
    return UFRPC_ADMIN_RELOAD_OK;
}
