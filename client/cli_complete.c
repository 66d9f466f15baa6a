/* client/cli_complete.c — the bash completion script. See cli_complete.h. */
#include "client/cli_complete.h"

#include "client/cli_flags.h"

int ufrpc_cli_complete_bash(FILE *out, bool no_descriptions)
{
    (void)no_descriptions;
    static const struct {
        const char *word;
        enum ufrpc_cli_cmd cmd;
    } subs[] = {{"verify", UFRPC_CMD_VERIFY}, {"reload", UFRPC_CMD_RELOAD},
                {"status", UFRPC_CMD_STATUS}, {"stop", UFRPC_CMD_STOP},
                {"completion", UFRPC_CMD_COMPLETION}, {"nathole", UFRPC_CMD_NATHOLE_DISCOVER}};
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
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        ufrpc_cli_flag_words(subs[i].cmd, words, sizeof words);
        fprintf(out, "        %s) flags='%s' ;;\n", subs[i].word, words);
    }
    ufrpc_cli_flag_words(UFRPC_CMD_ROOT, words, sizeof words);
    fprintf(out, "        '') flags='%s' ;;\n", words);
    fprintf(out, "        *) flags='--help' ;;\n"
                 "    esac\n"
                 "    if [[ $cur == -* ]]; then\n"
                 "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
                 "    elif [ -z \"$cmd\" ]; then\n"
                 "        COMPREPLY=($(compgen -W '");
    const char *const *names = ufrpc_cli_command_names();
    for (size_t i = 0; names[i] != NULL; i++)
        fprintf(out, "%s%s", i ? " " : "", names[i]);
    fprintf(out, "' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = nathole ]; then\n"
                 "        COMPREPLY=($(compgen -W 'discover' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = completion ]; then\n"
                 "        COMPREPLY=($(compgen -W 'bash' -- \"$cur\"))\n"
                 "    elif [ \"$cmd\" = help ]; then\n"
                 "        COMPREPLY=($(compgen -W '");
    for (size_t i = 0; names[i] != NULL; i++)
        fprintf(out, "%s%s", i ? " " : "", names[i]);
    fprintf(out, "' -- \"$cur\"))\n"
                 "    fi\n"
                 "}\n\n"
                 "complete -F _ufrpc ufrpc\n");
    return 0;
}
