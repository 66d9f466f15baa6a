/* client/cli/cli_verify.c — see cli_verify.h. */
#include "client/cli/cli_verify.h"

#include <stdbool.h>
#include <string.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/text.h"

int ufrpc_cli_verify(int argc, char **argv, FILE *out)
{
    struct ufrpc_cli_opts o;
    if (ufrpc_cli_parse_opts(argc, argv, &o) != 0) {
        fprintf(out, "Error: %s\n", o.error);
        return 1;
    }
    return ufrpc_cli_verify_opts(&o, out);
}

int ufrpc_cli_verify_opts(const struct ufrpc_cli_opts *o, FILE *out)
{
    const char *file = o->config ? o->config : "./frpc.ini";
    bool strict = o->strict, print = o->print, json = o->json;
    bool allow_token_exec = o->allow_token_exec;
    struct ufrpc_config_load_opts opts = {.non_strict = !strict, .no_store = true};
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load(file, &opts, &cfg, &diag);
    ufrpc_cfg_diag_print(&diag, out);
    int code = 0;
    if (rc != 0) {
        if (diag.errors == 0)
            fprintf(out, "%s: %s\n", file, ufrpc_strerror(rc));
        code = 1;
    } else if (ufrpc_cli_needs_token_exec(cfg) && !allow_token_exec) {
        fprintf(out, "%s\n", UFRPC_CLI_UNSAFE_TOKEN_EXEC); /* frpc's verify, exit 1 */
        code = 1;
    } else if (diag.unsupported > 0) {
        /* `ufrpc -c` would refuse to run it: not "ok" (exit 1) */
        fprintf(out, "ufrpc: the configuration file %s uses %zu setting%s ufrpc does not support "
                     "yet\n",
                file, diag.unsupported, diag.unsupported == 1 ? "" : "s");
        code = 1;
    } else {
        if (print && ufrpc_config_dump(cfg, out, json) != 0)
            code = 1;
        fprintf(out, "ufrpc: the configuration file %s syntax is ok\n", file);
    }
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&diag);
    return code;
}
