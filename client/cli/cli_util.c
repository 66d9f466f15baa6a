/* client/cli/cli_util.c — see cli_util.h. */
#include "client/cli/cli_util.h"

#include <string.h>

#include "proto/error.h"

const char *ufrpc_cli_long_name(const char *arg, char *buf, size_t cap)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || cap == 0)
        return NULL;
    size_t i = 0;
    for (const char *p = arg + 2; *p != '\0' && *p != '='; p++) {
        if (i + 1 >= cap)
            return NULL;
        buf[i++] = *p == '_' ? '-' : *p;
    }
    buf[i] = '\0';
    return buf;
}

struct ufrpc_config *ufrpc_cli_load_config(const char *file,
                                           const struct ufrpc_config_load_opts *opts, FILE *out)
{
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load(file, opts, &cfg, &diag);
    if (rc != 0) {
        if (diag.errors > 0)
            ufrpc_cfg_diag_print(&diag, out);
        else
            fprintf(out, "%s: %s\n", file, ufrpc_strerror(rc));
        cfg = NULL;
    }
    ufrpc_cfg_diag_free(&diag);
    return cfg;
}
