#!/usr/bin/env bash
# Creates (or reuses) the virtual environment and installs simcse-mini into it. Sourced by the
# other scripts. torch 2.13.0 is installed first: this machine holds its CPU build on disk, and a
# plain "torch" requirement would otherwise pull a multi-GB CUDA build.
set -euo pipefail
VENV="${SIMCSE_MINI_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check --upgrade pip
"$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
"$PY" -m pip install -q --disable-pip-version-check -e ".[dev,faiss]"
export PATH="$(cd "$VENV/bin" && pwd):$PATH"
