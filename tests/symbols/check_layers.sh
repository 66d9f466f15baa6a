#!/bin/sh
# check_layers.sh SRCDIR: every #include "..." of a project header respects the layers
# of docs/ARCHITECTURE.md: proto <- net <- client, config <- client, and inside client/
# plugins <- core <- admin <- lib <- cli (a folder includes only itself and those
# before it). Prints each offending line and exits 1 if there is one.
cd "$1" || exit 2
allowed() { # FOLDER: the include prefixes it may use
    case $1 in
    proto) echo "proto" ;;
    config) echo "config proto" ;;
    net) echo "net proto" ;;
    client/plugins) echo "client/plugins net config proto" ;;
    client/core) echo "client/core client/plugins net config proto" ;;
    client/admin) echo "client/admin client/core client/plugins net config proto" ;;
    client/lib) echo "client/lib client/admin client/core client/plugins net config proto" ;;
    client/cli) echo "client/cli client/lib client/admin client/core client/plugins net config proto" ;;
    esac
}
bad=0
for dir in proto config net client/plugins client/core client/admin client/lib client/cli; do
    ok=$(allowed "$dir")
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        grep -n '^#include "[a-z_]*/' "$f" | while IFS= read -r line; do
            inc=${line#*\"}
            inc=${inc%%\"*}
            fine=0
            for p in $ok; do
                case $inc in "$p"/*) fine=1 ;; esac
            done
            case $inc in third_party/* | llhttp*) fine=1 ;; esac
            [ "$fine" = 1 ] || echo "$f:${line%%:*}: includes $inc"
        done
    done
done >"${TMPDIR:-/tmp}/ufrpc-layers.$$"
if [ -s "${TMPDIR:-/tmp}/ufrpc-layers.$$" ]; then
    echo "includes against the layers (docs/ARCHITECTURE.md):"
    cat "${TMPDIR:-/tmp}/ufrpc-layers.$$"
    bad=1
fi
rm -f "${TMPDIR:-/tmp}/ufrpc-layers.$$"
[ "$bad" = 0 ] && echo "layers: every project include respects them"
exit "$bad"
