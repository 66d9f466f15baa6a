/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. client/cli.c parses the command line (client/cli_flags.h) and dispatches:
 * `verify` to client/cli_verify.c, `reload|status|stop` to client/cli_admin.c, the
 * quick-run `tcp|udp|...` to client/cli_quick.c, `completion` to
 * client/cli_complete.c; the run itself (configuration, logging, the event loop,
 * signals, the admin API server) is client/cli.c's. `diagnose` (a ufrpc command,
 * not in frpc's cobra tree) goes to client/cli_diagnose.c first. */
#include <signal.h>

#include "client/cli.h"
#include "client/cli_diagnose.h"

int main(int argc, char **argv)
{
    /* a peer closing a socket must surface as EPIPE, not kill the process */
    signal(SIGPIPE, SIG_IGN);
    if (ufrpc_cli_is_diagnose(argc, argv))
        return ufrpc_cli_diagnose(argc, argv, stdout);
    return ufrpc_cli_main(argc, argv);
}
