/* client/cli/cli_util.h — helpers shared by the command-line files (cli_flags.c,
 * cli_quick.c, cli_admin.c, cli_diagnose.c). Boolean flag values go through
 * ufrpc_parse_go_bool() (proto/text.h), as cobra's do. */
#ifndef UFRPC_CLIENT_CLI_UTIL_H
#define UFRPC_CLIENT_CLI_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/* The long flag name of arg, normalised as cobra's WordSepNormalizeFunc does
 * ("--strict_config=x" -> "strict-config": the part after "--" and before any
 * '=', '_' turned into '-'), written NUL-terminated into buf[0..cap). Returns buf,
 * or NULL when arg is not "--" followed by at least one character, or when the
 * name does not fit in cap (no known flag is that long). */
const char *ufrpc_cli_long_name(const char *arg, char *buf, size_t cap);

/* Loads the configuration file for a command that reads it once and does not run it
 * (status, reload, stop, diagnose). A failed load is reported on out as frpc reports
 * it: the file's errors, or "<file>: <reason>" when it has none to show; a good
 * load's warnings are not printed. Returns the configuration (the caller frees it
 * with ufrpc_config_free), or NULL after the report. */
struct ufrpc_config *ufrpc_cli_load_config(const char *file,
                                           const struct ufrpc_config_load_opts *opts, FILE *out);

#endif
