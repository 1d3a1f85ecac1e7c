#!/usr/bin/env bash
# Installs the one system library Steer needs on Debian/Ubuntu: OpenBLAS (libopenblas-dev).
# Does nothing when it is already there, or on macOS (Accelerate is used instead).
set -euo pipefail
if [ "$(uname)" = "Darwin" ]; then exit 0; fi
if dpkg -s libopenblas-dev >/dev/null 2>&1; then exit 0; fi
echo "setup: installing libopenblas-dev" >&2
sudo=""
if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq libopenblas-dev >/dev/null
