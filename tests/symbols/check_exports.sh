#!/bin/sh
# Checks libufrpc.so's dynamic symbol table: it must export exactly the functions
# declared in client/lib/ufrpc.h, plus the two Mbed TLS certificate parsers that
# net/x509_fill.c interposes (see CMakeLists.txt) — nothing internal.
# Usage: check_exports.sh NM LIBUFRPC.so UFRPC_H
nm_cmd=$1
lib=$2
header=$3
got=$("$nm_cmd" -D --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRVWGi]$/ { print $3 }' |
      sed 's/@.*//' | sort -u)
want=$( (sed -n 's/^[a-z].*[ *]\(ufrpc_[a-z0-9_]*\)(.*/\1/p' "$header"
         printf '%s\n' mbedtls_x509_crt_parse_der mbedtls_x509_crt_parse_der_nocopy) | sort -u)
if [ -z "$got" ]; then
    echo "no exported symbols read from $lib"
    exit 1
fi
if [ "$got" != "$want" ]; then
    echo "libufrpc.so exports differ from client/lib/ufrpc.h (< exported only, > declared only):"
    tmp=$(mktemp -d)
    printf '%s\n' "$got" >"$tmp/got"
    printf '%s\n' "$want" >"$tmp/want"
    diff "$tmp/got" "$tmp/want"
    rm -rf "$tmp"
    exit 1
fi
echo "libufrpc.so exports the $(echo "$want" | wc -l) names of ufrpc.h and x509_fill.c, nothing else"
