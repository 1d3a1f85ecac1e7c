#!/usr/bin/env bash
# The test command: installs what is needed, then runs the whole suite, optimised
# (the numeric tests run forward passes; debug builds would be far slower), then the fuzzing
# harness's short seeded budget (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test -c release -Xswiftc -enable-testing "$@"
# The whole suite (no arguments) also runs the fuzzing harness's CI budget (about two minutes).
if [ $# -eq 0 ]; then bash scripts/fuzz.sh --no-build; fi
