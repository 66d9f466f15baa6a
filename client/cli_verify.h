/* client/cli_verify.h — `ufrpc verify`: load and validate a frpc configuration the
 * way `frpc verify` does, optionally printing the effective (masked) config.
 *
 *   ufrpc verify [-c FILE | --config FILE] [--strict_config[=true|false]] [--print] [--json]
 *
 * Flags may also precede the subcommand (cobra persistent flags); '_' and '-' are
 * interchangeable in long flag names. The default file is ./frpc.ini, as frpc's.
 * Output goes to `out` (frpc prints to stdout); nothing is retained after return. */
#ifndef UFRPC_CLIENT_CLI_VERIFY_H
#define UFRPC_CLIENT_CLI_VERIFY_H

#include <stdio.h>

/* argv[0] is the program name; the word "verify" may appear anywhere. Returns the
 * process exit code: 0 when the file is valid, 1 otherwise (also on bad flags). */
int ufrpc_cli_verify(int argc, char **argv, FILE *out);

/* True when argv holds the "verify" subcommand (first non-flag word). */
int ufrpc_cli_is_verify(int argc, char **argv);

#endif
