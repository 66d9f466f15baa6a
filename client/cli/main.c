/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. client/cli/cli.c parses the command line (client/cli/cli_flags.h) and dispatches:
 * `verify` to client/cli/cli_verify.c, `reload|status|stop` to client/cli/cli_admin.c, the
 * quick-run `tcp|udp|...` to client/cli/cli_quick.c, `completion` to
 * client/cli/cli_complete.c; the run itself (logging, the event loop, signals, the
 * admin API server, around a libufrpc client: client/lib/ufrpc.h) is client/cli/cli.c's. `diagnose` (a ufrpc command,
 * not in frpc's cobra tree) goes to client/cli/cli_diagnose.c first. */
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "client/cli/cli.h"
#include "client/cli/cli_diagnose.h"

int main(int argc, char **argv)
{
    /* a peer closing a socket must surface as EPIPE, not kill the process */
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    /* Read buffers (64 KiB) are taken and returned around every read; glibc would
     * give the top of its heap back to the system above 128 KiB free and fault
     * the pages in again at the next read. Many connections take and return
     * megabytes per loop turn in no order (128 connections: 134 000 page faults
     * and 3 800 brk in 17 s with 1 MiB kept, 7 900 and 60 with 16 MiB), so up to
     * 16 MiB that a burst touched stays free at the top (pages never touched
     * cost nothing); what a burst of connections leaves is returned a second
     * after it (malloc_trim, client/core/supervisor.c). */
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
    if (ufrpc_cli_is_diagnose(argc, argv))
        return ufrpc_cli_diagnose(argc, argv, stdout);
    return ufrpc_cli_main(argc, argv);
}
