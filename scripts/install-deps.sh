#!/usr/bin/env bash
# Installs, from Debian packages, whatever ufrpc's build, tests and demo need and the
# machine lacks. Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config          # toolchain
  libuv1-dev libmbedtls-dev libjson-c-dev   # runtime libraries
  libssl-dev libsodium-dev                  # AEADs of the TLS record layer (libcrypto; libsodium: routers, ASan build)
  libyaml-dev                               # config formats
  libngtcp2-dev libngtcp2-crypto-gnutls-dev # QUIC transport (ngtcp2 + GnuTLS)
  libcmocka-dev                             # unit tests
  clang libclang-rt-14-dev                  # fuzzers (libFuzzer) and sanitizers
  golang-go golang-github-hashicorp-yamux-dev golang-github-golang-snappy-dev  # test oracles
  golang-github-xtaci-kcp-dev               # KCP oracle (kcp-go and reedsolomon)
  libsnappy-dev                             # snappy oracle (C API)
  openssl curl python3 socat                # TLS oracle, e2e tools
  python3-cryptography                      # independent AES-CFB check (tests/visitors)
  gnuplot-nox                               # bench charts
  chromium nodejs                           # the dashboard test (headless Chromium, driven by node)
  prometheus                                # promtool check metrics: an independent check of /metrics
  zsh fish                                  # the completion scripts run in their shells (tests/e2e/cli_help.sh)
  nftables iproute2                         # NATs emulated in network namespaces (tests/nat)
)
# The cross build scripts/test.sh runs (one of arm64, armhf, mipsel by the commit's hash:
# tests/cross/run.sh, scripts/build-cross.sh): Debian's cross compilers, qemu-user and
# each architecture's own -dev packages (multiarch; the architectures are added to dpkg
# below). Download on bookworm: the three compilers with their cross libc 112 MB
# (arm64 44, armhf 37, mipsel 31), qemu-user 12 MB, ninja-build 0.1 MB (build-cross.sh's
# generator: make rescans every dependency per test program), the -dev packages with their
# libraries and libc6:ARCH 13 MB (4.2-4.6 MB an architecture): 137 MB. QUIC stays off
# in those builds (libgnutls28-dev:ARCH would add 26 MB an architecture and cannot be
# installed for mipsel). UFRPC_SKIP_CROSS=1 leaves all of it out, as it does in test.sh.
CROSS_ARCHS=(arm64 armhf mipsel)
if [ "${UFRPC_SKIP_CROSS:-0}" != 1 ]; then
  PKGS+=(qemu-user ninja-build gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu)
  for a in "${CROSS_ARCHS[@]}"; do
    PKGS+=("libc6-dev-$a-cross" "libuv1-dev:$a" "libmbedtls-dev:$a" "libsodium-dev:$a"
      "libjson-c-dev:$a" "libyaml-dev:$a" "libcmocka-dev:$a")
  done
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ "${UFRPC_SKIP_CROSS:-0}" != 1 ]; then
  for a in "${CROSS_ARCHS[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
  done
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
