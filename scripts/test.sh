#!/usr/bin/env bash
# The test command: installs what is needed, then runs the whole suite, optimised
# (the numeric tests run forward passes; debug builds would be far slower).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test -c release -Xswiftc -enable-testing "$@"
