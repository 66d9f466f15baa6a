/* `ufrpc tcp|udp|http|https|tcpmux|stcp|sudp|xtcp [flags]` and
 * `ufrpc stcp|sudp|xtcp visitor [flags]`: frpc's quick-run subcommands (docs/PROTOCOL.md §11.2).
 *
 * The command line is turned into a configuration TEXT in frpc's TOML form (one
 * [[proxies]] or [[visitors]] entry), which the normal loader then completes and
 * validates exactly as a file; the run path is ufrpc_cli_run_text() (client/cli/cli.h).
 *
 * Flags as frpc's (cobra/pflag): '_' and '-' are interchangeable in long names,
 * "--flag value", "--flag=value", "-x value", "-xvalue", "-x=value"; booleans take
 * no value or "=true|false"; string lists (-d, --locations, --allow_users) split at
 * commas and accumulate over repeats; --metadatas/--annotations take k=v[,k=v].
 * Per-type flags exist only for their types (e.g. -r only for tcp/udp), so a flag
 * of another type is "unknown", as in frpc. The one default that differs from the
 * file schema, serverAddr = 127.0.0.1, is always written.
 *
 * Ownership: nothing points into argv after return; the TOML text is malloc'd and
 * owned by the caller (free()). No globals. */
#ifndef UFRPC_CLIENT_CLI_QUICK_H
#define UFRPC_CLIENT_CLI_QUICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* True when argv[1] names a proxy type (the quick-run dispatch). */
bool ufrpc_cli_is_quick(int argc, char **argv);

struct ufrpc_cli_quick_result {
    char *toml;      /* malloc'd NUL-terminated configuration text, or NULL */
    size_t len;      /* strlen(toml) */
    bool help;       /* -h/--help seen: print ufrpc_cli_quick_usage(), no toml */
    bool visitor;    /* `TYPE visitor` form */
    char type[8];    /* "tcp", ... */
    char error[256]; /* why the command line was rejected */
    bool validation; /* error is frpc's validation message, printed alone (no
                      * "Error: " and no usage), e.g. "name should not be empty" */
};

/* Parses argv (argv[1] = type) into r. Returns 0 (r->toml set unless r->help),
 * UFRPC_ERR_INVAL with r->error set (unknown flag, missing or bad value), or
 * UFRPC_ERR_NOMEM. */
int ufrpc_cli_quick_build(int argc, char **argv, struct ufrpc_cli_quick_result *r);

/* Frees r->toml. */
void ufrpc_cli_quick_result_free(struct ufrpc_cli_quick_result *r);

/* Usage text for one quick-run subcommand. */
void ufrpc_cli_quick_usage(FILE *out, const char *type, bool visitor);

/* The whole quick-run program: build, then run through ufrpc_cli_run_text().
 * Returns the exit code (1 for a bad command line, printed as "Error: ..."). */
int ufrpc_cli_quick(int argc, char **argv);

#endif
