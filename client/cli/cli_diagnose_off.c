/* client/cli/cli_diagnose_off.c — replaces client/cli/cli_diagnose.c and
 * client/cli/diagnose.c in a build with UFRPC_WITH_DIAGNOSE=OFF (CMakeLists.txt):
 * `ufrpc diagnose` (recognised by cli_diagnose_detect.c) says that the command is
 * not built in, exit status 1. Contract: client/cli/cli_diagnose.h. */
#include "client/cli/cli_diagnose.h"

#define REFUSAL "the command \"diagnose\" is not supported by this build (built with UFRPC_WITH_DIAGNOSE=OFF)\n"

int ufrpc_cli_diagnose(int argc, char **argv, FILE *out)
{
    (void)argc, (void)argv;
    fputs("Error: " REFUSAL, out);
    return 1;
}

void ufrpc_cli_diagnose_usage(FILE *out)
{
    fputs(REFUSAL, out);
}
