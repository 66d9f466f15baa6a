#!/usr/bin/env bash
# cli_help.sh: the binary's help, errors and completion script (no server needed).
#  1. help on every command and flag form exits 0 and prints to stdout; an unknown
#     command or flag exits 1 with cobra's "Error: ..." on stderr;
#  2. `ufrpc completion bash|zsh|fish` are valid scripts that complete commands, flags
#     and the --allow-unsafe value (bash driven without bash-completion installed, zsh
#     with a stand-in compadd, fish with `complete -C`; zsh and fish when installed).
source "$(dirname "$0")/lib.sh"
E2E_NAME=cli_help
ok() { # ARGS...: exit 0, help on stdout, nothing on stderr
    local rc=0
    "$UFRPC" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" = 0 ] || fail "ufrpc $*: exit $rc"
    [ ! -s "$WORK/err" ] || fail "ufrpc $*: stderr: $(cat "$WORK/err")"
    grep -q '^Usage:' "$WORK/out" || fail "ufrpc $*: no usage"
}
bad() { # WANT_ERROR ARGS...
    local want=$1 rc=0
    shift
    "$UFRPC" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" = 1 ] || fail "ufrpc $*: exit $rc, want 1"
    [ ! -s "$WORK/out" ] || fail "ufrpc $*: stdout: $(cat "$WORK/out")"
    head -n 1 "$WORK/err" | grep -qF "Error: $want" || fail "ufrpc $*: $(head -n 1 "$WORK/err")"
}
for c in "" verify reload status stop completion "completion bash" "completion zsh" "completion fish" diagnose nathole "nathole discover" tcp udp http https tcpmux stcp sudp xtcp "stcp visitor"; do
    # shellcheck disable=SC2086
    ok help $c
    # shellcheck disable=SC2086
    ok $c --help
done
for c in "" verify status "nathole discover" tcp "sudp visitor"; do
    # shellcheck disable=SC2086
    ok $c -h
done
ok completion
ok nathole
grep -q '^  -h, --help *help for verify$' <("$UFRPC" verify -h) || fail "verify -h: no help line"
grep -q 'api-timeout duration *Timeout for admin API calls (default 30s)' <("$UFRPC" help reload) ||
    fail "help reload: no --api-timeout"
bad 'unknown command "nosuch" for "ufrpc"' nosuch
bad 'unknown flag: --nosuch' --nosuch
bad 'unknown flag: --bogus' status --bogus
bad "unknown shorthand flag: 'x' in -x" verify -x
bad 'invalid argument "soon" for "--api-timeout" flag: time: invalid duration "soon"' status --api-timeout soon
bad 'flag needs an argument: --config' --config
bad 'unknown flag: --nope' tcp --nope

"$UFRPC" completion bash >"$WORK/ufrpc.bash" || fail "completion bash"
bash -n "$WORK/ufrpc.bash" || fail "the completion script is not valid bash"
complete_words() { # WORDS...: what the script offers for the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ufrpc; echo "${COMPREPLY[*]}"' \
        _ "$WORK/ufrpc.bash" "$@"
}
[ "$(complete_words ufrpc ver)" = verify ] || fail "completion of 'ver': '$(complete_words ufrpc ver)'"
[ "$(complete_words ufrpc --con)" = "--config --config-dir" ] || fail "completion of '--con': '$(complete_words ufrpc --con)'"
[ "$(complete_words ufrpc status --api)" = "--api-timeout" ] || fail "completion of 'status --api'"
[ "$(complete_words ufrpc --allow-unsafe T)" = TokenSourceExec ] || fail "completion of --allow-unsafe's value"
[ "$(complete_words ufrpc completion b)" = bash ] || fail "completion of 'completion b'"
[ "$(complete_words ufrpc dia)" = diagnose ] || fail "completion of 'dia'"
"$UFRPC" help | grep -q '^  diagnose  *Check each step' || fail "help does not list diagnose"

"$UFRPC" completion zsh >"$WORK/_ufrpc" || fail "completion zsh"
if command -v zsh >/dev/null; then
    zsh -n "$WORK/_ufrpc" || fail "the zsh completion script is not valid zsh"
    zsh_words() { # WORDS...: every candidate the script hands to compadd for the last
        # word (a stand-in compadd: the real one only works inside a completion widget)
        zsh -c 'compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -r -- "$@"; };
                _files() { print -r -- FILES; }; source "$1"; shift; words=("$@"); CURRENT=$#;
                _ufrpc' _ "$WORK/_ufrpc" "$@"
    }
    zsh_words ufrpc '' | grep -qw verify || fail "zsh: no commands offered"
    zsh_words ufrpc '' | grep -qw diagnose || fail "zsh: diagnose not offered"
    zsh_words ufrpc status --api | grep -q -- '--api-timeout' || fail "zsh: status flags"
    [ "$(zsh_words ufrpc completion '')" = "bash zsh fish" ] || fail "zsh: completion shells"
    [ "$(zsh_words ufrpc -c '')" = FILES ] || fail "zsh: -c does not complete files"
else
    log "zsh not installed: the zsh script is not run"
fi
"$UFRPC" completion fish >"$WORK/ufrpc.fish" || fail "completion fish"
if command -v fish >/dev/null; then
    fish -n "$WORK/ufrpc.fish" || fail "the fish completion script is not valid fish"
    fish_words() { # COMMAND-LINE: the candidates fish offers at its end
        fish -N -c "source '$WORK/ufrpc.fish'; complete -C '$1'" | cut -f1 | tr '\n' ' ' | sed 's/ $//'
    }
    [ "$(fish_words 'ufrpc ver')" = verify ] || fail "fish: 'ver' gives '$(fish_words 'ufrpc ver')'"
    fish_words 'ufrpc status --api' | grep -q -- '--api-timeout' || fail "fish: status flags"
    [ "$(fish_words 'ufrpc completion z')" = zsh ] || fail "fish: completion shells"
    [ "$(fish_words 'ufrpc --allow-unsafe ')" = TokenSourceExec ] || fail "fish: --allow-unsafe value"
else
    log "fish not installed: the fish script is not run"
fi
pass
