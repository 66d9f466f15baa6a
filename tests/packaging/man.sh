#!/bin/sh
# packaging_man: docs/ufrpc.1 renders without a single groff warning, and through
# man -l, with the sections a manual page of this program must have.
# Skipped (77) without groff or man. Usage: man.sh SOURCE_DIR
set -eu
PAGE="$1/docs/ufrpc.1"
command -v groff >/dev/null 2>&1 || { echo "groff missing: skipped"; exit 77; }
command -v man >/dev/null 2>&1 || { echo "man missing: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
groff -man -Tutf8 -ww -z "$PAGE" 2>"$T/groff.err"
if [ -s "$T/groff.err" ]; then cat "$T/groff.err" >&2; echo "FAIL: groff warnings" >&2; exit 1; fi
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$PAGE" >"$T/page.txt" 2>"$T/man.err"
if [ -s "$T/man.err" ]; then cat "$T/man.err" >&2; echo "FAIL: man -l warnings" >&2; exit 1; fi
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS CONFIGURATION SIGNALS "EXIT STATUS" FILES EXAMPLES; do
	grep -q "^$s\$" "$T/page.txt" || { echo "FAIL: no section $s" >&2; exit 1; }
done
# every flag of `ufrpc --help` is documented
for f in --config --strict_config --log_json --version --help; do
	grep -q -- "$f" "$T/page.txt" || { echo "FAIL: $f undocumented" >&2; exit 1; }
done
echo "packaging_man: ok ($(wc -l <"$T/page.txt") lines)"
