#!/usr/bin/env bash
# The demo: until the client and the test frps land, print the version and run the
# protocol self-check.
set -euo pipefail
cd "$(dirname "$0")/.."
./build/ufrpc --version
./build/ufrpc
