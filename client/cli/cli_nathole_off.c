/* client/cli/cli_nathole_off.c — replaces client/cli/cli_nathole.c in a build with
 * UFRPC_WITH_XTCP=OFF (CMakeLists.txt): `ufrpc nathole discover` says that NAT
 * discovery is not built in, exit status 1. Contract: client/cli/cli_nathole.h. */
#include "client/cli/cli_nathole.h"

int ufrpc_cli_nathole_discover(const struct ufrpc_cli_opts *o, FILE *out)
{
    fputs("Error: the command \"nathole discover\" is not supported by this build "
          "(built with UFRPC_WITH_XTCP=OFF)\n", out);
    return 1;
}
