/* client/cli/cli_complete_off.c — replaces client/cli/cli_complete.c in a build with
 * UFRPC_WITH_COMPLETION=OFF (CMakeLists.txt): `ufrpc completion bash|zsh|fish` says
 * that completion scripts are not built in (exit status 1) and writes no script.
 * Contract: client/cli/cli_complete.h. */
#include "client/cli/cli_complete.h"

static int refuse(FILE *out, const char *shell)
{
    (void)out; /* the script's stream: nothing of a script goes there */
    printf("Error: the command \"completion %s\" is not supported by this build "
           "(built with UFRPC_WITH_COMPLETION=OFF)\n", shell);
    return 1;
}

int ufrpc_cli_complete_bash(FILE *out, bool no_descriptions)
{
    return refuse(out, "bash");
}

int ufrpc_cli_complete_zsh(FILE *out, bool no_descriptions)
{
    return refuse(out, "zsh");
}

int ufrpc_cli_complete_fish(FILE *out, bool no_descriptions)
{
    return refuse(out, "fish");
}
