/* ufrpc entry point. Only main() may end the process; everything below returns
 * errors. Until the client lands this prints the version and runs a self-check. */
#include <stdio.h>
#include <string.h>

#include "client/cli_verify.h"
#include "client/version.h"
#include "proto/error.h"

int main(int argc, char **argv)
{
    if (ufrpc_cli_is_verify(argc, argv))
        return ufrpc_cli_verify(argc, argv, stdout);
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("%s\n", UFRPC_FRP_VERSION);
        return 0;
    }
    printf("ufrpc %s (frp %s compatible)\n", UFRPC_VERSION, UFRPC_FRP_VERSION);
    printf("self-check: %s\n", ufrpc_strerror(UFRPC_OK));
    return 0;
}
