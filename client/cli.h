/* ufrpc — the frpc-like command line (docs/PROTOCOL.md §11.2) and the program's run loop.
 *
 *   ufrpc [-c FILE | --config FILE] [--strict_config[=true|false]] [--log_json]
 *   ufrpc -v | --version
 *   ufrpc verify [-c FILE] ...            (client/cli_verify.h)
 *   ufrpc tcp|...|xtcp [visitor] [flags]  (client/cli_quick.h)
 *
 * As in cobra, '_' and '-' are interchangeable in long flags and "--flag=value" works.
 * Without -c, ./frpc.toml is used when it exists, else ./frpc.ini (frpc's default).
 *
 * Exit codes as frpc's: 0 after a clean stop (SIGINT/SIGTERM), 1 for a bad command
 * line, an invalid configuration, or a failed first login with loginFailExit.
 *
 * Ownership: the parsed arguments point into argv (no allocation). */
#ifndef UFRPC_CLIENT_CLI_H
#define UFRPC_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ufrpc_cli_args {
    const char *config; /* NULL: default (see above) */
    bool version;
    bool help;
    bool strict;   /* default true */
    bool log_json; /* ufrpc extension: JSON-lines logging */
    bool allow_token_exec; /* --allow-unsafe TokenSourceExec */
    char error[256]; /* why parsing failed */
};

/* Parses argv[1..]. Returns 0, or -1 with args->error set (e.g. "unknown flag: --x"). */
int ufrpc_cli_parse(int argc, char **argv, struct ufrpc_cli_args *args);

/* The configuration path to use: args->config, else "./frpc.toml" when
 * exists("./frpc.toml"), else "./frpc.ini". exists may be NULL (access(2)). */
const char *ufrpc_cli_config_path(const struct ufrpc_cli_args *args,
                                  int (*exists)(const char *path));

/* frpc's refusal of auth.tokenSource exec without --allow-unsafe TokenSourceExec. */
#define UFRPC_CLI_UNSAFE_TOKEN_EXEC                                                          \
    "unsafe feature \"TokenSourceExec\" is not enabled. To enable it, ensure it is allowed " \
    "in the configuration or command line flags"

/* Adds the features named in a --allow-unsafe value (comma-separated, as cobra's
 * StringSlice; unknown names are accepted and ignored, as frpc) to *token_exec. */
void ufrpc_cli_allow_unsafe(const char *value, bool *token_exec);

/* Whether cfg needs --allow-unsafe TokenSourceExec (auth.tokenSource or
 * auth.oidc.tokenSource of type exec). */
struct ufrpc_config;
bool ufrpc_cli_needs_token_exec(const struct ufrpc_config *cfg);

/* Prints the usage text. */
void ufrpc_cli_usage(FILE *out);

/* The whole program after the `verify` dispatch: parse, load, log, run the client
 * on a fresh libuv loop with signal handling. Returns the exit code. */
int ufrpc_cli_main(int argc, char **argv);

/* The run part of ufrpc_cli_main() for a configuration held in memory (quick-run,
 * client/cli_quick.h): text[0..len) is loaded strictly with ufrpc_config_load_buffer
 * under the name `label` (which also hints the format by its extension); reloads
 * (SIGHUP, admin API) re-read the same text. text and label must stay valid until
 * the call returns. Returns the exit code. */
int ufrpc_cli_run_text(const char *text, size_t len, const char *label);

#endif
