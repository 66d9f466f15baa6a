#!/bin/sh
# Builds the Debian package from a copy of this tree (dpkg-buildpackage -b -us
# -uc; several minutes, so run by hand, not by CTest) and checks the .deb:
# unpacked with dpkg -x into a temporary root, it holds the stripped ufrpc
# (which runs and reads the example), the man page, the example and the units;
# its dependencies name the shared libraries. Exit 77 without debhelper.
# Usage: tests/packaging/deb.sh [OUT_DIR]   (OUT_DIR keeps the .deb files)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v dpkg-buildpackage >/dev/null 2>&1 || { echo "dpkg-buildpackage missing: skipped"; exit 77; }
command -v dh >/dev/null 2>&1 || { echo "debhelper missing (apt-get install debhelper): skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$T/ufrpc"
(cd "$SRC" && tar --exclude='./build*' --exclude=./.git --exclude='./obj-*' -cf - .) | tar -C "$T/ufrpc" -xf -
start=$(date +%s)
(cd "$T/ufrpc" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$T/build.log" 2>&1 ||
	{ tail -40 "$T/build.log"; fail "dpkg-buildpackage"; }
echo "dpkg-buildpackage: $(($(date +%s) - start)) s"
deb=$(ls "$T"/ufrpc_*.deb)
dpkg-deb -I "$deb" | sed -n '/Package:/,$p'
dpkg-deb -I "$deb" | grep -q "Depends:.*libuv1.*" || fail "Depends lacks libuv1"
dpkg-deb -I "$deb" | grep -q "Depends:.*libmbedtls" || fail "Depends lacks libmbedtls"
# loaded at first use (dlopen), so named by debian/control, not found by dh_shlibdeps
for p in libssl3 libngtcp2-crypto-gnutls2 libgnutls30; do
	dpkg-deb -I "$deb" | grep -q "Depends:.*$p" || fail "Depends lacks $p"
done
R="$T/root"
dpkg -x "$deb" "$R"
for f in usr/bin/ufrpc usr/share/man/man1/ufrpc.1.gz usr/share/doc/ufrpc/examples/ufrpc.toml \
	lib/systemd/system/ufrpc.service lib/systemd/system/ufrpc@.service usr/share/doc/ufrpc/copyright; do
	[ -e "$R/$f" ] || fail "missing $f"
done
[ -d "$R/etc/ufrpc" ] || fail "missing /etc/ufrpc"
[ ! -e "$R/usr/bin/ufrpc-bench" ] || fail "the bench is packaged"
if readelf -S "$R/usr/bin/ufrpc" | grep -E '\.symtab|\.debug_' >/dev/null; then fail "ufrpc not stripped"; fi
"$R/usr/bin/ufrpc" -v >/dev/null || fail "ufrpc -v"
"$R/usr/bin/ufrpc" verify -c "$R/usr/share/doc/ufrpc/examples/ufrpc.toml" || fail "verify the example"
grep -qx "ExecStart=/usr/bin/ufrpc -c /etc/ufrpc/%i.toml" "$R/lib/systemd/system/ufrpc@.service" || fail "ufrpc@.service ExecStart"
dpkg-deb -e "$deb" "$T/ctl"
grep -q "deb-systemd-helper" "$T/ctl/postinst" || fail "postinst does not register the units"
echo "deb: ok: $(basename "$deb"), $(stat -c %s "$deb") bytes, ufrpc $(stat -c %s "$R/usr/bin/ufrpc") bytes"
if [ $# -ge 1 ]; then mkdir -p "$1" && cp "$T"/*.deb "$1"/; fi
