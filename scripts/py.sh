#!/usr/bin/env bash
# Runs a Python script of this repo inside its own virtual environment, creating it on first use.
# The environment lives in scripts/.venv (ignored by git), or in $STEER_VENV when that is set.
# Usage: scripts/py.sh scripts/make_model_fixtures.py [args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${STEER_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    echo "py.sh: creating virtual environment in $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
fi
if ! "$venv/bin/python" -c "import torch, transformers, tokenizers, jinja2, safetensors, numpy" 2>/dev/null; then
    echo "py.sh: installing $here/requirements.txt into $venv" >&2
    "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
exec "$venv/bin/python" "$@"
