/* client/cli/cli_util.h — helpers shared by the command-line files (cli_flags.c,
 * cli_quick.c). Pure functions on caller buffers. Boolean flag
 * values go through ufrpc_parse_go_bool() (proto/text.h), as cobra's do. */
#ifndef UFRPC_CLIENT_CLI_UTIL_H
#define UFRPC_CLIENT_CLI_UTIL_H

#include <stddef.h>

/* The long flag name of arg, normalised as cobra's WordSepNormalizeFunc does
 * ("--strict_config=x" -> "strict-config": the part after "--" and before any
 * '=', '_' turned into '-'), written NUL-terminated into buf[0..cap). Returns buf,
 * or NULL when arg is not "--" followed by at least one character, or when the
 * name does not fit in cap (no known flag is that long). */
const char *ufrpc_cli_long_name(const char *arg, char *buf, size_t cap);

#endif
