#!/usr/bin/env bash
# cli_help.sh: ufrpc's help and command-line errors next to the real frpc's (cobra).
# For each command line below both must exit with the same status, and print the same
# text once these known differences are taken out:
#   - the program's name (frpc -> ufrpc) and the root command's description;
#   - ufrpc's own flags (marked "(ufrpc)");
#   - -c's default: frpc's "./frpc.ini"; ufrpc tries ./frpc.toml first;
#   - `completion`: frpc also offers powershell.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_cli_help
need_frpc
norm_f() {
    sed -e 's/\bfrpc\b \[/ufrpc [/g' -e 's/^\(  \)frpc\b/\1ufrpc/' -e 's/"frpc \([a-z]* \)\{0,1\}\[command\]/"ufrpc \1[command]/' \
        -e "s/'frpc --help'/'ufrpc --help'/" -e 's/for "frpc"/for "ufrpc"/' -e 's/help for frpc$/help for ufrpc/' \
        -e 's/^  frpc /  ufrpc /' -e 's/Run frpc with/Run ufrpc with/' \
        -e 's/ufrpc completion bash > \$(brew.*//' |
        grep -v -e '^  powershell ' -e '^#### ' -e '^\s*frpc completion bash > '
}
norm_u() {
    grep -v '(ufrpc)' | sed -e 's/(default "\.\/frpc\.toml", else "\.\/frpc\.ini")/(default ".\/frpc.ini")/' |
        grep -v '^\s*ufrpc completion bash > '
}
# flag columns are as wide as the widest flag: fold runs of blanks
fold() { sed -e 's/[[:space:]]\+/ /g' -e 's/ $//' | grep -v '^$'; }
n=0
check() { # ARGS... (the description block before "Usage:" is skipped)
    local ou of ru=0 rf=0
    ou=$("$UFRPC" "$@" 2>&1) || ru=$?
    of=$(timeout 10 "$UFRPC_REAL_FRPC" "$@" 2>&1) || rf=$?
    [ "$ru" = "$rf" ] || fail "ufrpc $* exits $ru, frpc $rf"
    local a b
    a=$(printf '%s\n' "$ou" | norm_u | sed -n '/^Usage:/,$p;/^Error:/p;/^Unknown help/p;/^Run /p' | fold)
    b=$(printf '%s\n' "$of" | norm_f | sed -n '/^Usage:/,$p;/^Error:/p;/^Unknown help/p;/^Run /p' | fold)
    if [ "$a" != "$b" ]; then
        diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -20
        fail "ufrpc $* differs from frpc's"
    fi
    n=$((n + 1))
}
check help
check --help
check help status
check help verify
check verify --help
check reload -h
check status --help
check help nosuch
check nosuch
check --nosuch
check status --bogus
check verify -x
check status --api-timeout soon
check help tcp
check help http
check help tcpmux
check help stcp
check stcp visitor --help
check nathole --help
check help nathole discover
check nathole discover -h
check completion --help
check help completion
check completion zsh --help
check help completion fish
log "$n command lines: the same exit status and text as frpc"
pass
