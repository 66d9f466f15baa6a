/* client/cli_verify.c — see cli_verify.h. */
#include "client/cli_verify.h"

#include <stdbool.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_util.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/text.h"

int ufrpc_cli_is_verify(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            continue;
        return strcmp(argv[i], "verify") == 0;
    }
    return 0;
}

int ufrpc_cli_verify(int argc, char **argv, FILE *out)
{
    const char *file = "./frpc.ini";
    bool strict = true, print = false, json = false, allow_token_exec = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char name[64];
        if (strcmp(a, "verify") == 0)
            continue;
        if (strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf(out, "Error: flag needs an argument: 'c' in -c\n");
                return 1;
            }
            file = argv[++i];
            continue;
        }
        if (strncmp(a, "-c", 2) == 0 && a[2] != '\0' && a[1] != '-') {
            file = a[2] == '=' ? a + 3 : a + 2;
            continue;
        }
        const char *ln = ufrpc_cli_long_name(a, name, sizeof name);
        const char *eq = strchr(a, '=');
        if (ln != NULL && strcmp(ln, "config") == 0) {
            if (eq != NULL)
                file = eq + 1;
            else if (i + 1 < argc)
                file = argv[++i];
            else {
                fprintf(out, "Error: flag needs an argument: --config\n");
                return 1;
            }
            continue;
        }
        if (ln != NULL && strcmp(ln, "allow-unsafe") == 0) {
            if (eq != NULL)
                ufrpc_cli_allow_unsafe(eq + 1, &allow_token_exec);
            else if (i + 1 < argc)
                ufrpc_cli_allow_unsafe(argv[++i], &allow_token_exec);
            else {
                fprintf(out, "Error: flag needs an argument: --allow-unsafe\n");
                return 1;
            }
            continue;
        }
        bool *target = NULL;
        if (ln != NULL && strcmp(ln, "strict-config") == 0)
            target = &strict;
        else if (ln != NULL && strcmp(ln, "print") == 0)
            target = &print;
        else if (ln != NULL && strcmp(ln, "json") == 0)
            target = &json;
        if (target != NULL) {
            if (eq == NULL)
                *target = true;
            else if (!ufrpc_parse_go_bool(eq + 1, strlen(eq + 1), target)) {
                fprintf(out, "Error: invalid argument \"%s\" for \"%s\" flag\n", eq + 1, a);
                return 1;
            }
            continue;
        }
        fprintf(out, "Error: unknown flag or argument: %s\n", a);
        return 1;
    }

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
