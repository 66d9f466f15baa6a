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
  zsh fish                                  # the completion scripts run in their shells (tests/e2e/cli_help.sh)
  nftables iproute2                         # NATs emulated in network namespaces (tests/nat)
)

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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
