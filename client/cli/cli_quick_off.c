/* client/cli/cli_quick_off.c — replaces client/cli/cli_quick.c in a build with
 * UFRPC_WITH_QUICK=OFF (CMakeLists.txt): `ufrpc tcp|udp|... [flags]` says that
 * the quick-run commands are not built in (exit status 1). Contract:
 * client/cli_quick.h. */
#include <stdio.h>
#include <string.h>

#include "client/cli/cli_quick.h"

bool ufrpc_cli_is_quick(int argc, char **argv)
{
    static const char *const types[] = {"tcp", "udp", "http", "https", "tcpmux", "stcp", "sudp", "xtcp"};
    if (argc < 2 || argv[1] == NULL)
        return false;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i], argv[1]) == 0)
            return true;
    return false;
}

int ufrpc_cli_quick(int argc, char **argv)
{
    printf("Error: the command \"%s\" is not supported by this build (built with UFRPC_WITH_QUICK=OFF); "
           "use a configuration file (-c)\n", argv[1]);
    return 1;
}

void ufrpc_cli_quick_usage(FILE *out, const char *type, bool visitor)
{
    (void)visitor;
    fprintf(out, "the command \"%s\" is not supported by this build (built with UFRPC_WITH_QUICK=OFF); "
                 "use a configuration file (-c)\n", type);
}
