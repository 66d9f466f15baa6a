/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. `verify` is handled by client/cli_verify.c, `reload|status|stop` by
 * client/cli_admin.c, the quick-run `tcp|udp|...` by client/cli_quick.c, everything else by client/cli.c (flags, configuration,
 * logging, the event loop, signals, the admin API server). */
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "client/cli.h"
#include "client/cli_admin.h"
#include "client/cli_quick.h"
#include "client/cli_verify.h"

int main(int argc, char **argv)
{
    /* a peer closing a socket must surface as EPIPE, not kill the process */
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    /* Read buffers (64 KiB) are taken and returned around every read; glibc would
     * give the top of its heap back to the system above 128 KiB free and fault
     * the pages in again at the next read. Up to 1 MiB free stays; what a burst
     * of connections leaves is returned after it (client/supervisor.c). */
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
    if (ufrpc_cli_is_verify(argc, argv))
        return ufrpc_cli_verify(argc, argv, stdout);
    if (ufrpc_cli_is_admin(argc, argv)) /* reload | status | stop */
        return ufrpc_cli_admin(argc, argv, stdout);
    if (ufrpc_cli_is_quick(argc, argv)) /* tcp | udp | ... [visitor] [flags] */
        return ufrpc_cli_quick(argc, argv);
    return ufrpc_cli_main(argc, argv);
}
