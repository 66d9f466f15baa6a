/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. `verify` is handled by client/cli_verify.c, `reload|status|stop` by
 * client/cli_admin.c, `diagnose` by client/cli_diagnose.c, the quick-run `tcp|udp|...` by client/cli_quick.c, everything else by client/cli.c (flags, configuration,
 * logging, the event loop, signals, the admin API server). */
#include <signal.h>

#include "client/cli.h"
#include "client/cli_admin.h"
#include "client/cli_diagnose.h"
#include "client/cli_quick.h"
#include "client/cli_verify.h"

int main(int argc, char **argv)
{
    /* a peer closing a socket must surface as EPIPE, not kill the process */
    signal(SIGPIPE, SIG_IGN);
    if (ufrpc_cli_is_verify(argc, argv))
        return ufrpc_cli_verify(argc, argv, stdout);
    if (ufrpc_cli_is_diagnose(argc, argv))
        return ufrpc_cli_diagnose(argc, argv, stdout);
    if (ufrpc_cli_is_admin(argc, argv)) /* reload | status | stop */
        return ufrpc_cli_admin(argc, argv, stdout);
    if (ufrpc_cli_is_quick(argc, argv)) /* tcp | udp | ... [visitor] [flags] */
        return ufrpc_cli_quick(argc, argv);
    return ufrpc_cli_main(argc, argv);
}
