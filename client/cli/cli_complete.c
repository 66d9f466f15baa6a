/* client/cli/cli_complete.c — the bash, zsh and fish completion scripts. See cli_complete.h. */
#include "client/cli/cli_complete.h"

#include <string.h>

#include "client/cli/cli_flags.h"

/* The commands whose own flags are completed (nathole's are discover's). */
static const struct {
    const char *word;
    enum ufrpc_cli_cmd cmd;
} SUBS[] = {{"verify", UFRPC_CMD_VERIFY},         {"reload", UFRPC_CMD_RELOAD},
            {"status", UFRPC_CMD_STATUS},         {"stop", UFRPC_CMD_STOP},
            {"completion", UFRPC_CMD_COMPLETION}, {"nathole", UFRPC_CMD_NATHOLE_DISCOVER}};
#define NSUBS (sizeof SUBS / sizeof SUBS[0])

#define SHELLS "bash zsh fish"

static void print_names(FILE *out)
{
    const char *const *names = ufrpc_cli_command_names();
    for (size_t i = 0; names[i] != NULL; i++)
        fprintf(out, "%s%s", i ? " " : "", names[i]);
}

int ufrpc_cli_complete_bash(FILE *out, bool no_descriptions)
{
    (void)no_descriptions;
    char words[1024];
    fprintf(out, "# bash completion for ufrpc                                -*- shell-script -*-\n"
                 "# source <(ufrpc completion bash)\n\n"
                 "_ufrpc()\n{\n"
                 "    local cur prev words cword\n"
                 "    _init_completion -n =: 2>/dev/null || {\n"
                 "        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                 "        words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD\n"
                 "    }\n"
                 "    case $prev in\n"
                 "        -c|--config|--config_dir|--config-dir)\n"
                 "            compopt -o filenames 2>/dev/null\n"
                 "            COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
                 "        --allow-unsafe|--allow_unsafe)\n"
                 "            COMPREPLY=($(compgen -W 'TokenSourceExec' -- \"$cur\")); return ;;\n"
                 "    esac\n"
                 "    local cmd='' w\n"
                 "    for w in \"${words[@]:1:cword-1}\"; do\n"
                 "        case $w in -*) ;; *) [ -z \"$cmd\" ] && cmd=$w ;; esac\n"
                 "    done\n"
                 "    local flags\n"
                 "    case $cmd in\n");
    for (size_t i = 0; i < NSUBS; i++) {
        ufrpc_cli_flag_words(SUBS[i].cmd, words, sizeof words);
        fprintf(out, "        %s) flags='%s' ;;\n", SUBS[i].word, words);
    }
    ufrpc_cli_flag_words(UFRPC_CMD_ROOT, words, sizeof words);
    fprintf(out, "        '') flags='%s' ;;\n", words);
    fprintf(out, "        *) flags='--help' ;;\n"
                 "    esac\n"
                 "    if [[ $cur == -* ]]; then\n"
                 "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
                 "    elif [ -z \"$cmd\" ]; then\n"
                 "        COMPREPLY=($(compgen -W '");
    print_names(out);
    fprintf(out, "' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = nathole ]; then\n"
                 "        COMPREPLY=($(compgen -W 'discover' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = completion ]; then\n"
                 "        COMPREPLY=($(compgen -W '" SHELLS "' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = help ]; then\n"
                 "        COMPREPLY=($(compgen -W '");
    print_names(out);
    fprintf(out, "' -- \"$cur\"))\n"
                 "    fi\n"
                 "}\n\n"
                 "complete -F _ufrpc ufrpc\n");
    return 0;
}

/* Writes each flag word of cmd's (as ufrpc_cli_flag_words: "-c --config --json ...")
 * through emit, which gets the word without its dashes and whether it is a short one. */
static void each_flag(enum ufrpc_cli_cmd cmd, FILE *out, const char *pre,
                      void (*emit)(FILE *, const char *pre, const char *w, size_t n, bool shrt))
{
    char words[1024];
    ufrpc_cli_flag_words(cmd, words, sizeof words);
    for (const char *p = words; *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n > 1 && p[0] == '-') {
            bool shrt = p[1] != '-';
            size_t skip = shrt ? 1 : 2;
            if (n > skip)
                emit(out, pre, p + skip, n - skip, shrt);
        }
        p += n;
    }
}

static void zsh_word(FILE *out, const char *pre, const char *w, size_t n, bool shrt)
{
    (void)pre;
    fprintf(out, " %s%.*s", shrt ? "-" : "--", (int)n, w);
}

int ufrpc_cli_complete_zsh(FILE *out, bool no_descriptions)
{
    (void)no_descriptions;
    fprintf(out, "#compdef ufrpc\ncompdef _ufrpc ufrpc\n\n"
                 "# zsh completion for ufrpc                                 -*- shell-script -*-\n"
                 "# source <(ufrpc completion zsh)\n\n"
                 "_ufrpc()\n{\n"
                 "    case ${words[CURRENT-1]} in\n"
                 "        -c|--config|--config_dir|--config-dir) _files; return ;;\n"
                 "        --allow-unsafe|--allow_unsafe) compadd -- TokenSourceExec; return ;;\n"
                 "    esac\n"
                 "    local cmd='' i\n"
                 "    for (( i = 2; i < CURRENT; i++ )); do\n"
                 "        case ${words[i]} in -*) ;; *) [[ -z $cmd ]] && cmd=${words[i]} ;; esac\n"
                 "    done\n"
                 "    local -a flags\n"
                 "    case $cmd in\n");
    for (size_t i = 0; i < NSUBS; i++) {
        fprintf(out, "        %s) flags=(", SUBS[i].word);
        each_flag(SUBS[i].cmd, out, NULL, zsh_word);
        fprintf(out, " ) ;;\n");
    }
    fprintf(out, "        '') flags=(");
    each_flag(UFRPC_CMD_ROOT, out, NULL, zsh_word);
    fprintf(out, " ) ;;\n"
                 "        *) flags=(--help) ;;\n"
                 "    esac\n"
                 "    if [[ ${words[CURRENT]} == -* ]]; then\n"
                 "        compadd -- $flags\n"
                 "    elif [[ -z $cmd ]]; then\n"
                 "        compadd -- ");
    print_names(out);
    fprintf(out, "\n"
                 "    elif [[ $cmd == nathole ]]; then\n"
                 "        compadd -- discover\n"
                 "    elif [[ $cmd == completion ]]; then\n"
                 "        compadd -- " SHELLS "\n"
                 "    elif [[ $cmd == help ]]; then\n"
                 "        compadd -- ");
    print_names(out);
    fprintf(out, "\n"
                 "    fi\n"
                 "}\n\n"
                 "if [[ $funcstack[1] == _ufrpc ]]; then\n"
                 "    _ufrpc \"$@\"\n"
                 "fi\n");
    return 0;
}

static void fish_word(FILE *out, const char *pre, const char *w, size_t n, bool shrt)
{
    fprintf(out, "complete -c ufrpc %s %s %.*s\n", pre, shrt ? "-s" : "-l", (int)n, w);
}

int ufrpc_cli_complete_fish(FILE *out, bool no_descriptions)
{
    (void)no_descriptions;
    const char *const *names = ufrpc_cli_command_names();
    fprintf(out, "# fish completion for ufrpc                                 -*- shell-script -*-\n"
                 "# ufrpc completion fish | source\n\n"
                 "complete -c ufrpc -f\n"
                 "complete -c ufrpc -s c -l config -r -F\n"
                 "complete -c ufrpc -l config-dir -r -F\n"
                 "complete -c ufrpc -l allow-unsafe -x -a TokenSourceExec\n");
    for (size_t i = 0; names[i] != NULL; i++)
        fprintf(out, "complete -c ufrpc -n __fish_use_subcommand -a %s\n", names[i]);
    each_flag(UFRPC_CMD_ROOT, out, "-n __fish_use_subcommand", fish_word);
    char pre[96];
    for (size_t i = 0; i < NSUBS; i++) {
        snprintf(pre, sizeof pre, "-n '__fish_seen_subcommand_from %s'", SUBS[i].word);
        each_flag(SUBS[i].cmd, out, pre, fish_word);
    }
    fprintf(out, "complete -c ufrpc -n '__fish_seen_subcommand_from nathole' -a discover\n"
                 "complete -c ufrpc -n '__fish_seen_subcommand_from completion' -a '" SHELLS "'\n"
                 "complete -c ufrpc -n '__fish_seen_subcommand_from help' -a '");
    print_names(out);
    fprintf(out, "'\n");
    return 0;
}
