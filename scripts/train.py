"""Thin entry point: ``python scripts/train.py --config configs/X.yaml [--key value ...]``
(also under ``accelerate launch scripts/train.py ...``). Same as ``simcse-mini train``."""

import sys

from simcse_mini.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
