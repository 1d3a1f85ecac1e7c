#!/usr/bin/env bash
# The demo: installs what is needed, builds steer (release), and runs the whole refusal-direction
# method on the bundled demo model (models/refusal-demo) with the bundled prompts (data/prompts):
# extraction, selection, evaluation, abliteration. Output in runs/demo/ (report: runs/demo/run/report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product steer
exec .build/release/steer demo "$@"
