"""Builds the evaluator the trainer calls every ``eval_steps`` from the config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from .config import TrainConfig
from .data import DataError


def scored_pairs(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read sentence1, sentence2, score columns from a .tsv or .csv file with a header."""
    import csv
    path = Path(path)
    if not path.is_file():
        raise DataError(f"evaluation file not found: {path}")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL))
    if not rows or not {"sentence1", "sentence2", "score"} <= set(rows[0]):
        raise DataError(f"{path}: needs a header with sentence1, sentence2 and score columns")
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], np.array([float(r["score"]) for r in rows])


def build_evaluator(cfg: TrainConfig):
    if not cfg.eval_file:
        return None
    first, second, gold = scored_pairs(cfg.eval_file)
    name = Path(cfg.eval_file).stem

    def evaluate(encode_fn) -> dict[str, float]:
        a, b = encode_fn(first), encode_fn(second)
        cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
        return {f"{name}_spearman": float(spearmanr(cosine, gold).statistic * 100)}

    return evaluate
