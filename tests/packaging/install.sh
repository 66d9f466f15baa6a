#!/bin/sh
# packaging_install: `cmake --install` of the build tree into a temporary prefix
# installs the stripped ufrpc, the man page, the example configuration and the
# two systemd units (naming the installed binary), and not the benchmark, which
# only its component installs. Usage: [CMAKE=cmake] install.sh BUILD_DIR
set -eu
B=$1
CMAKE=${CMAKE:-cmake}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
P="$T/prefix"
"$CMAKE" --install "$B" --prefix "$P" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "cmake --install"; }
(cd "$P" && find . -type f -o -type l | sort) >"$T/files"
cat >"$T/want" <<'LIST'
./bin/ufrpc
./include/ufrpc.h
./lib/cmake/ufrpc/ufrpcConfig.cmake
./lib/libufrpc.a
./lib/pkgconfig/ufrpc.pc
./lib/systemd/system/ufrpc.service
./lib/systemd/system/ufrpc@.service
./share/doc/ufrpc/examples/ufrpc.toml
./share/man/man1/ufrpc.1
LIST
diff -u "$T/want" "$T/files" || fail "installed files differ from the list"
# stripped: no symbol table, no debug sections
if readelf -S "$P/bin/ufrpc" | grep -E '\.symtab|\.debug_' >/dev/null; then fail "bin/ufrpc is not stripped"; fi
[ -x "$P/bin/ufrpc" ] || fail "bin/ufrpc not executable"
"$P/bin/ufrpc" -v >/dev/null || fail "installed ufrpc -v"
"$P/bin/ufrpc" verify -c "$P/share/doc/ufrpc/examples/ufrpc.toml" >/dev/null || fail "the example does not verify"
for u in ufrpc.service ufrpc@.service; do
	grep -qx "ExecStart=$P/bin/ufrpc -c /etc/ufrpc/[%a-z]*.toml" "$P/lib/systemd/system/$u" || fail "$u: ExecStart"
	grep -q "ExecReload=/bin/kill -HUP \$MAINPID" "$P/lib/systemd/system/$u" || fail "$u: ExecReload"
done
grep -qx "ExecStart=$P/bin/ufrpc -c /etc/ufrpc/%i.toml" "$P/lib/systemd/system/ufrpc@.service" || fail "ufrpc@: %i"
if command -v systemd-analyze >/dev/null 2>&1; then
	cp "$P/lib/systemd/system/ufrpc.service" "$T/ufrpc.service"
	cp "$P/lib/systemd/system/ufrpc@.service" "$T/ufrpc@test.service"
	# any remark (an unknown key, a bad value: "FILE:LINE: ...") fails; MANPATH
	# lets it find the Documentation= page
	MANPATH="$P/share/man" systemd-analyze verify "$T/ufrpc.service" "$T/ufrpc@test.service" \
		>"$T/sa.log" 2>&1 || { cat "$T/sa.log"; fail "systemd-analyze verify"; }
	if [ -s "$T/sa.log" ]; then cat "$T/sa.log"; fail "systemd-analyze verify remarks"; fi
fi
# the benchmark: only with its component
if [ -f "$B/bench/ufrpc-bench" ]; then
	"$CMAKE" --install "$B" --prefix "$T/bench" --component bench >/dev/null
	[ -x "$T/bench/bin/ufrpc-bench" ] || fail "--component bench did not install ufrpc-bench"
fi
echo "packaging_install: ok ($(stat -c %s "$P/bin/ufrpc") bytes stripped)"
