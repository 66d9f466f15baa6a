/* ufrpc — the frpc-like command line (docs/PROTOCOL.md §11.2) and the program's run loop.
 *
 *   ufrpc [-c FILE] [--strict_config[=bool]] [--allow-unsafe TokenSourceExec] [--log_json]
 *   ufrpc -v | --version
 *   ufrpc help [command] | COMMAND --help
 *   ufrpc verify | reload | status | stop | completion bash | tcp|...|xtcp [visitor] ...
 *
 * The commands and flags are one table, client/cli/cli_flags.h (parser and help).
 * Without -c, ./frpc.toml is used when it exists, else ./frpc.ini.
 *
 * Exit codes as frpc's: 0 after a clean stop (SIGINT/SIGTERM) and for help, 1 for a bad
 * command line, an invalid configuration, or a failed first login with loginFailExit. */
#ifndef UFRPC_CLIENT_CLI_H
#define UFRPC_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The configuration path to use: config (the -c value), else "./frpc.toml" when
 * exists("./frpc.toml"), else "./frpc.ini". exists may be NULL (access(2)). */
const char *ufrpc_cli_config_path(const char *config, int (*exists)(const char *path));

/* frpc's refusal of auth.tokenSource exec without --allow-unsafe TokenSourceExec. */
#define UFRPC_CLI_UNSAFE_TOKEN_EXEC                                                          \
    "unsafe feature \"TokenSourceExec\" is not enabled. To enable it, ensure it is allowed " \
    "in the configuration or command line flags"

/* Whether cfg needs --allow-unsafe TokenSourceExec (auth.tokenSource or
 * auth.oidc.tokenSource of type exec). */
struct ufrpc_config;
bool ufrpc_cli_needs_token_exec(const struct ufrpc_config *cfg);

/* The whole program: parse (client/cli/cli_flags.h), dispatch help, verify,
 * reload|status|stop, completion and the quick-run commands; else load, log and run
 * the client (a libufrpc ufrpc_client) on a fresh libuv loop with signal handling.
 * Returns the exit code. */
int ufrpc_cli_main(int argc, char **argv);

/* The run part of ufrpc_cli_main() for a configuration held in memory (quick-run,
 * client/cli/cli_quick.h): text[0..len) is loaded strictly with ufrpc_client_load_string
 * under the name `label` (which also hints the format by its extension); reloads
 * (SIGHUP, admin API) re-read the same text. text and label must stay valid until
 * the call returns. Returns the exit code. */
int ufrpc_cli_run_text(const char *text, size_t len, const char *label);

#endif
