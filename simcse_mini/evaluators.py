"""Builds the evaluator the trainer calls every ``eval_steps`` from the config.

STS-B dev (and optionally SICK-R trial) as SimCSE selects models, from ``eval_data_dir`` or the hub,
and/or the user's own scored pairs in ``eval_file``. Metrics are Spearman x100 and friends; the first
one reported (``stsb_dev_spearman`` when STS is on) selects the best model unless
``metric_for_best_model`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .config import TrainConfig
from .data import DataError
from .evaluation.data import STSTaskData, read_scored_pairs
from .evaluation.sts import STSEvaluator, evaluate_sts


def build_evaluator(cfg: TrainConfig) -> Callable | None:
    parts = []
    if cfg.eval_data_dir or cfg.eval_source == "hub":
        tasks = [task.strip() for task in cfg.eval_tasks.split(",") if task.strip()]
        try:
            parts.append(STSEvaluator(source=cfg.eval_source, data_dir=cfg.eval_data_dir, tasks=tasks, split="dev",
                                      show_progress_bar=True))  # sentences/s while a large encoder evaluates
        except (OSError, ValueError) as err:
            raise DataError(f"evaluation data ({cfg.eval_source}, {cfg.eval_data_dir}): {err}") from None
    if cfg.eval_file:
        try:
            pairs = read_scored_pairs(cfg.eval_file)
        except (OSError, ValueError) as err:
            raise DataError(str(err)) from None
        own = STSTaskData(task=Path(cfg.eval_file).stem, split="dev", subsets={"all": pairs})
        parts.append(lambda encode_fn: {f"{own.task}_spearman": evaluate_sts(encode_fn, [own])[own.task]["spearman"]})
    if not parts:
        return None

    def evaluate(encode_fn) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for part in parts:
            metrics.update(part(encode_fn))
        return metrics

    return evaluate
