/* ufrpc — the one table of commands and flags of the command line (frpc's cobra tree:
 * cmd/frpc/sub of frp v0.70.0), shared by the parser and by the help text.
 *
 *   ufrpc [flags]                          run the client (client/cli/cli.c)
 *   ufrpc verify [flags]                   client/cli/cli_verify.c
 *   ufrpc reload|status|stop [flags]       client/cli/cli_admin.c
 *   ufrpc completion bash                  a bash completion script (client/cli/cli_complete.c)
 *   ufrpc help [command]                   help
 *   ufrpc tcp|udp|...|xtcp [visitor] ...   quick run: its own per-type flags
 *                                          (client/cli/cli_quick.c), these global ones too
 *
 * Parsing follows pflag: '_' and '-' are interchangeable in long names, "--f v" and
 * "--f=v", "-c v", "-cv" and "-c=v"; booleans take no value or "=true|false";
 * --allow-unsafe splits at commas and accumulates. The persistent flags (-c,
 * --config-dir, --strict-config, --allow-unsafe, -v, --log-json) are accepted by
 * every command, as cobra's; -h/--help by every command.
 *
 * Help and errors have cobra's layout: the description, "Usage:", "Available
 * Commands:", "Flags:", "Global Flags:" with pflag's column alignment; help goes to
 * stdout (exit 0); errors ("Error: unknown flag: --x") and the usage after them to
 * stderr (exit 1).
 *
 * Ownership: parsed strings point into argv. No globals. */
#ifndef UFRPC_CLIENT_CLI_FLAGS_H
#define UFRPC_CLIENT_CLI_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

enum ufrpc_cli_cmd {
    UFRPC_CMD_ROOT,
    UFRPC_CMD_VERIFY,
    UFRPC_CMD_RELOAD,
    UFRPC_CMD_STATUS,
    UFRPC_CMD_STOP,
    UFRPC_CMD_COMPLETION,
    UFRPC_CMD_COMPLETION_BASH,
    UFRPC_CMD_HELP,
    UFRPC_CMD_NATHOLE,
    UFRPC_CMD_NATHOLE_DISCOVER,
    UFRPC_CMD_DIAGNOSE, /* ufrpc's own: client/cli/cli_diagnose.c parses it */
    UFRPC_CMD_COMPLETION_ZSH,
    UFRPC_CMD_COMPLETION_FISH,
    UFRPC_CMD_QUICK, /* a proxy type: client/cli/cli_quick.c parses it */
    UFRPC_CMD_COUNT,
};

struct ufrpc_cli_opts {
    enum ufrpc_cli_cmd cmd;
    const char *config;     /* -c; NULL: ./frpc.toml, else ./frpc.ini */
    const char *config_dir; /* --config-dir */
    bool version, help;
    bool strict;   /* --strict-config, default true */
    bool log_json; /* ufrpc: JSON log lines */
    bool allow_token_exec;
    int64_t api_timeout_ms; /* reload|status|stop, default 30000 */
    bool print, json;       /* verify (ufrpc): print the effective configuration */
    int metrics;            /* status --metrics (ufrpc): 1 Prometheus text, 2 JSON */
    bool no_descriptions;   /* completion bash */
    const char *stun_server; /* nathole: --nat-hole-stun-server */
    const char *nat_local_addr; /* nathole: -l, --nat-hole-local-addr */
    const char *args[4];    /* positional arguments after the command (help topics) */
    int nargs;
    char error[400];       /* cobra's text without "Error: " */
    bool error_usage;      /* print the usage after the error (cobra does for flags) */
};

/* Adds the features named in a --allow-unsafe value (comma-separated, as cobra's
 * StringSlice; unknown names are accepted and ignored, as frpc) to *token_exec. */
void ufrpc_cli_allow_unsafe(const char *value, bool *token_exec);

/* Parses argv[1..]. 0, or -1 with o->error set. */
int ufrpc_cli_parse_opts(int argc, char **argv, struct ufrpc_cli_opts *o);

/* The command's full help (description, usage, commands, flags). */
void ufrpc_cli_help(FILE *out, enum ufrpc_cli_cmd cmd);

/* The usage part only (from "Usage:"), as cobra prints after an error. */
void ufrpc_cli_usage_of(FILE *out, enum ufrpc_cli_cmd cmd);

/* For the quick-run commands' help: pflag's flag lines, each "LEFT\tUSAGE" (LEFT as
 * "  -c, --config string"), sorted by long name and aligned at the widest + 3. */
void ufrpc_cli_print_flag_lines(FILE *out, const char **lines, size_t n);

/* The global flags as such lines, into buf[0..max) (each up to 200 bytes); returns
 * how many. */
size_t ufrpc_cli_global_flag_lines(char (*buf)[200], size_t max);

/* `ufrpc help [topic...]`: prints the help of the topic (a command, or `completion
 * bash`), or cobra's "Unknown help topic" and the root usage. Returns 0. */
int ufrpc_cli_help_topic(FILE *out, int n, const char *const *topic);

/* Error text then usage to stderr, as cobra; returns 1 (the exit code). */
int ufrpc_cli_fail(const struct ufrpc_cli_opts *o);

/* Whether `name` is a long flag of cmd (normalised form), and whether it takes a
 * value; for dispatchers that skip flag values. */
bool ufrpc_cli_flag_takes_value(const char *arg);

/* For completion: the names of the commands (NULL-terminated) and the long flags of
 * cmd written space-separated into buf. */
const char *const *ufrpc_cli_command_names(void);
void ufrpc_cli_flag_words(enum ufrpc_cli_cmd cmd, char *buf, size_t cap);

#endif
