#!/bin/sh
# Fails when a layer library exports a symbol outside the project's namespace.
# Public names are ufrpc_*, private ones shared between files ufrpc__*; anything
# else must be static. The only exceptions are the Mbed TLS certificate parsers
# that net/x509_fill.c interposes on purpose (and their --wrap twins). ASan's ODR
# indicators (__odr_asan.<name>) stand for <name> and are checked as such.
# Usage: check_symbols.sh NM LIB.a...
nm_cmd=$1
shift
bad=$("$nm_cmd" -g --defined-only "$@" | awk 'NF == 3 && $2 ~ /^[TDBRVWCG]$/ { print $3 }' |
      sed 's/^__odr_asan\.//' |
      grep -v -E '^(ufrpc_|__wrap_mbedtls_x509_crt_parse(_der|_der_nocopy|_file)?$|mbedtls_x509_crt_parse_der(_nocopy)?$)' |
      sort -u)
if [ -n "$bad" ]; then
    echo "exported symbols without the ufrpc_ prefix:"
    echo "$bad"
    exit 1
fi
echo "all exported symbols are ufrpc_-prefixed"
