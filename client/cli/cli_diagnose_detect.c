/* client/cli/cli_diagnose_detect.c — which command line is `ufrpc diagnose`
 * (client/cli/cli_diagnose.h). Apart from cli_diagnose.c so that a build without
 * the command (UFRPC_WITH_DIAGNOSE=OFF, cli_diagnose_off.c) still recognises it and
 * refuses it by name. */
#include "client/cli/cli_diagnose.h"

#include <string.h>

#include "client/cli/cli_util.h"

int ufrpc_cli_is_diagnose(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *ln = ufrpc_cli_long_name(argv[i], name, sizeof name);
        if (strcmp(argv[i], "-c") == 0 ||
            (ln != NULL && strchr(argv[i], '=') == NULL && strcmp(ln, "config") == 0)) {
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            continue;
        return strcmp(argv[i], "diagnose") == 0;
    }
    return 0;
}
