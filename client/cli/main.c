/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. client/cli/cli.c parses the command line (client/cli/cli_flags.h) and dispatches:
 * `verify` to client/cli/cli_verify.c, `reload|status|stop` to client/cli/cli_admin.c, the
 * quick-run `tcp|udp|...` to client/cli/cli_quick.c, `completion` to
 * client/cli/cli_complete.c; the run itself (logging, the event loop, signals, the
 * admin API server, around a libufrpc client: client/lib/ufrpc.h) is client/cli/cli.c's. `diagnose` (a ufrpc command,
 * not in frpc's cobra tree) goes to client/cli/cli_diagnose.c first. */
#include <signal.h>

#include "client/cli/cli.h"
#include "client/cli/cli_diagnose.h"
#include "client/core/heap_trim.h"

int main(int argc, char **argv)
{
    /* a peer closing a socket must surface as EPIPE, not kill the process */
    signal(SIGPIPE, SIG_IGN);
    /* glibc's top pad for throughput; the supervisor trims when quiet */
    ufrpc_heap_trim_tune();
    if (ufrpc_cli_is_diagnose(argc, argv))
        return ufrpc_cli_diagnose(argc, argv, stdout);
    return ufrpc_cli_main(argc, argv);
}
