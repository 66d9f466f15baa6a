/* ufrpc — `ufrpc completion bash|zsh|fish`: completion scripts for ufrpc's commands and
 * flags, made from the command line's one table (client/cli/cli_flags.h). frpc prints
 * cobra's script, which asks the program itself (a hidden __complete command);
 * ufrpc's is self-contained: the words are written into it. Needs bash-completion
 * (_init_completion), as cobra's. */
#ifndef UFRPC_CLIENT_CLI_COMPLETE_H
#define UFRPC_CLIENT_CLI_COMPLETE_H

#include <stdbool.h>
#include <stdio.h>

/* Writes the script to out. Returns the exit code (0). no_descriptions: accepted, as
 * cobra's flag (the script carries no descriptions anyway). */
int ufrpc_cli_complete_bash(FILE *out, bool no_descriptions);

/* The same for zsh (compadd; load with `source <(ufrpc completion zsh)` or as _ufrpc
 * in $fpath) and fish (complete -c ufrpc ...). */
int ufrpc_cli_complete_zsh(FILE *out, bool no_descriptions);
int ufrpc_cli_complete_fish(FILE *out, bool no_descriptions);

#endif
