#!/usr/bin/env bash
# Sets up .venv (see setup_env.sh) and trains the built-in demo model offline (configs/demo.yaml):
# a tiny encoder learns from generated sentences and is scored on held-out sentence pairs.
# Extra arguments override the config, e.g. --max_steps 50.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false
simcse-mini train --config configs/demo.yaml --overwrite_output_dir true "$@"
