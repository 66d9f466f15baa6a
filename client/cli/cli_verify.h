/* client/cli/cli_verify.h — `ufrpc verify`: load and validate a frpc configuration the
 * way `frpc verify` does, optionally printing the effective (masked) config.
 *
 *   ufrpc verify [-c FILE | --config FILE] [--strict_config[=true|false]] [--print] [--json]
 *                [--allow-unsafe TokenSourceExec]
 *
 * Flags (client/cli/cli_flags.h) may also precede the subcommand (cobra persistent flags). The default file is ./frpc.ini, as frpc's.
 * Output goes to `out` (frpc prints to stdout); nothing is retained after return. */
#ifndef UFRPC_CLIENT_CLI_VERIFY_H
#define UFRPC_CLIENT_CLI_VERIFY_H

#include <stdio.h>

struct ufrpc_cli_opts;

/* argv[0] is the program name, argv holds "verify" (client/cli/cli_flags.h parses it).
 * Returns the process exit code: 0 when the file is valid, 1 otherwise (also on bad
 * flags, "Error: ..." written to out). */
int ufrpc_cli_verify(int argc, char **argv, FILE *out);

/* The same with the command line already parsed. */
int ufrpc_cli_verify_opts(const struct ufrpc_cli_opts *o, FILE *out);

#endif
