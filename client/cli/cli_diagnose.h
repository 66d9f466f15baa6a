/* client/cli/cli_diagnose.h — `ufrpc diagnose`: the command line around client/diagnose.h.
 *
 *   ufrpc diagnose [-c FILE] [--json] [--size SIZE] [--verbose] [--strict_config]
 *
 * Loads the configuration (./frpc.toml, else ./frpc.ini, as frpc), runs every step
 * on a private libuv loop and prints the report (text, or JSON with --json) to
 * `out`. The client's own log goes to stderr with --verbose, else nowhere.
 * Nothing is retained after return. */
#ifndef UFRPC_CLIENT_CLI_DIAGNOSE_H
#define UFRPC_CLIENT_CLI_DIAGNOSE_H

#include <stdio.h>

/* True when argv's first non-flag word is "diagnose". */
int ufrpc_cli_is_diagnose(int argc, char **argv);

/* Returns the exit code: 0 when every step passed, 1 otherwise (also for a bad
 * command line or configuration). */
int ufrpc_cli_diagnose(int argc, char **argv, FILE *out);

/* The help text of the command. */
void ufrpc_cli_diagnose_usage(FILE *out);

#endif
